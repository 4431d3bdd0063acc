//! The sequencer: the enclave application's core (SPEC §1.4, §1.5, §7.3), kept small so
//! that an auditor can read it and relate it to its measurement.
//!
//! [`Sequencer::sequence`] gives each new `y` the next number `k` (the first is 0),
//! signs `g = Ed25519(K_S-, "zipchain/seq/v1" ++ y ++ be64(k))`, and returns an NSM
//! document with `public_key = K_S+` and `user_data` the 121-byte sequence attestation,
//! issued by its [`AttestationSource`]: the stand-in test CA ([`StandInNsm`] over
//! [`nsm_issuer::TestCa`], the default), whose root a trust descriptor names, or, with the
//! `enclave` feature in a real Nitro enclave, `/dev/nsm` (`crate::enclave::NsmDevice`).
//!
//! A repeated `y` gets the same `k` and, Ed25519 being deterministic, the same `g`. The
//! document is issued afresh (same `public_key` and `user_data`, a fresh `timestamp` and
//! possibly a newer leaf certificate) rather than stored: the sequencer keeps 48 bytes per
//! block, not a document, and a writer asking again after a restart gets a document that
//! verifies at its own, current time.
//!
//! The key pair and counter live in memory. [`Sequencer::save_state`] and
//! [`Sequencer::load_state`] exist for the writer's embedded stand-in only (SPEC §7.3),
//! so that a restarted demo continues its chain; the standalone enclave program does not
//! use them (a restart there is a new chain).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey};
use nsm_issuer::{PayloadEncoding, TestCa};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha384};
use snapshot_fs::atomic::{self, Options};
use verifier_core::sequence::SequenceAttestation;
use verifier_core::time::UnixMillis;

use crate::ServiceError;
use crate::attestation::{AttestationRequest, AttestationSource, StandInNsm};

/// The state file's name inside the directory given to [`Sequencer::save_state`].
pub const STATE_FILE: &str = "sequencer-state.json";

/// The state file format version.
const STATE_VERSION: u64 = 1;

/// What [`self_measurement`] hashes when the running program cannot be read: PCR0 is then
/// SHA-384 of this label (never all zero, so never a debug-mode document).
pub const FALLBACK_MEASUREMENT_LABEL: &[u8] = b"zipchain stand-in sequencer: program unreadable";

/// PCR0 of the stand-in: SHA-384 of the running program's file
/// (`std::env::current_exe()`), as SPEC §1.5 asks; if it cannot be read, SHA-384 of
/// [`FALLBACK_MEASUREMENT_LABEL`].
pub fn self_measurement() -> [u8; 48] {
    let program = std::env::current_exe().and_then(std::fs::read);
    match program {
        Ok(bytes) => Sha384::digest(&bytes).into(),
        Err(_) => Sha384::digest(FALLBACK_MEASUREMENT_LABEL).into(),
    }
}

/// One answer of the sequencer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequencedDocument {
    /// The sequence number given to `y`.
    pub k: u64,
    /// The sequence attestation `⟨y, k, g⟩` carried in the document's `user_data`.
    pub attestation: SequenceAttestation,
    /// The NSM document (untagged COSE_Sign1), to be stored under `H(a)`.
    pub document: Vec<u8>,
}

/// The sequencer: an Ed25519 key pair, the `y → k` map, and the [`AttestationSource`]
/// that issues its NSM documents: by default the stand-in test CA ([`StandInNsm`]); any
/// other source (`/dev/nsm`, or a `Box<dyn AttestationSource>`) through
/// [`Sequencer::with_source`].
pub struct Sequencer<S = StandInNsm> {
    key: SigningKey,
    /// Issues the documents: module id and PCRs are its own; `public_key` is `K_S+`.
    source: S,
    /// `ys[k]` is the `y` numbered `k`.
    ys: Vec<[u8; 48]>,
    /// The inverse of `ys`.
    index: HashMap<[u8; 48], u64>,
}

impl<S: AttestationSource> std::fmt::Debug for Sequencer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("public_key", &hex::encode(self.public_key()))
            .field("module_id", &self.source.module_id())
            .field("count", &self.ys.len())
            .finish_non_exhaustive()
    }
}

impl Sequencer {
    /// A sequencer with a fresh key pair (from the OS random source) and no attestations
    /// yet, whose documents carry `module_id` and PCR0 `pcr0` (other PCRs as
    /// [`nsm_issuer::DocumentRequest::default_pcrs`]) and are issued by `ca`
    /// (through [`StandInNsm`]).
    ///
    /// # Errors
    /// [`ServiceError::Random`] if the random source fails.
    pub fn new(
        ca: TestCa,
        module_id: impl Into<String>,
        pcr0: [u8; 48],
    ) -> Result<Self, ServiceError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ServiceError::Random {
            reason: e.to_string(),
        })?;
        Ok(Self::from_seed(seed, ca, module_id, pcr0))
    }

    /// As [`Sequencer::new`] with the Ed25519 secret key `seed` (for reproducible tests).
    pub fn from_seed(
        seed: [u8; 32],
        ca: TestCa,
        module_id: impl Into<String>,
        pcr0: [u8; 48],
    ) -> Self {
        Self::from_seed_with(seed, StandInNsm::new(ca, module_id, pcr0))
    }

    /// Sets how the outer payload map of the next documents is encoded:
    /// indefinite-length by default, as AWS's NSM writes it since 2025-09
    /// ([`PayloadEncoding`]); `Definite` gives the earlier form, so tests can make the
    /// chains of either era, or one that changes encoding midway, as real ones did.
    pub fn set_payload_encoding(&mut self, encoding: PayloadEncoding) {
        self.source.set_payload_encoding(encoding);
    }

    /// The test CA (its root is what the trust descriptor pins).
    pub fn ca(&self) -> &TestCa {
        self.source.ca()
    }

    /// A sequencer with the Ed25519 secret key `seed` that has already numbered `ys`
    /// (`ys[k]` got `k`), as [`Sequencer::from_seed`] otherwise. No document is issued:
    /// this restores a sequencer whose `y` list was kept elsewhere (the writer's embedded
    /// stand-in keeps an append-only log of it).
    ///
    /// # Errors
    /// [`ServiceError::Config`] when a `y` is listed twice (it would get two numbers).
    pub fn restore(
        seed: [u8; 32],
        ca: TestCa,
        module_id: impl Into<String>,
        pcr0: [u8; 48],
        ys: impl IntoIterator<Item = [u8; 48]>,
    ) -> Result<Self, ServiceError> {
        let mut sequencer = Self::from_seed(seed, ca, module_id, pcr0);
        for y in ys {
            if sequencer.lookup(&y).is_some() {
                return Err(ServiceError::Config {
                    what: "restored y",
                    got: hex::encode(y),
                    reason: "it is listed twice",
                });
            }
            sequencer.reserve(y)?;
        }
        Ok(sequencer)
    }

    /// Whether `dir` holds a state written by [`Sequencer::save_state`].
    pub fn state_exists(dir: &Path) -> bool {
        dir.join(STATE_FILE).is_file()
    }

    /// Restores a sequencer saved by [`Sequencer::save_state`] (key, module id, PCR0 and
    /// `y → k` map) with `ca` issuing its documents; it continues the counter.
    ///
    /// # Errors
    /// [`ServiceError::Io`] when the file is missing or unreadable,
    /// [`ServiceError::BadStateFile`] when it does not hold a consistent state.
    pub fn load_state(dir: &Path, ca: TestCa) -> Result<Self, ServiceError> {
        let path = dir.join(STATE_FILE);
        let bytes = atomic::read_if_exists(&path)
            .map_err(|e| ServiceError::io(&path, &e))?
            .ok_or_else(|| ServiceError::Io {
                path: path.clone(),
                reason: "no saved sequencer state".to_string(),
            })?;
        let bad = |reason: String| ServiceError::BadStateFile {
            path: PathBuf::from(&path),
            reason,
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if state.zipchain_sequencer_state != STATE_VERSION {
            return Err(bad(format!(
                "got version {}, expected {STATE_VERSION}",
                state.zipchain_sequencer_state
            )));
        }
        let seed: [u8; 32] = decode_hex(&state.seed, "seed").map_err(&bad)?;
        let pcr0: [u8; 48] = decode_hex(&state.pcr0, "pcr0").map_err(&bad)?;
        let mut sequencer = Self::from_seed(seed, ca, state.module_id, pcr0);
        let public_key = hex::encode(sequencer.public_key());
        if public_key != state.public_key.to_ascii_lowercase() {
            return Err(bad(format!(
                "the seed's public key is {public_key}, the file says {}",
                state.public_key
            )));
        }
        for (k, y) in state.ys.iter().enumerate() {
            let y: [u8; 48] = decode_hex(y, "y").map_err(&bad)?;
            if let Some(earlier) = sequencer.index.insert(y, k as u64) {
                return Err(bad(format!(
                    "y {} is listed at k = {earlier} and again at k = {k}",
                    hex::encode(y)
                )));
            }
            sequencer.ys.push(y);
        }
        Ok(sequencer)
    }
}

impl<S: AttestationSource> Sequencer<S> {
    /// A sequencer with a fresh key pair (from the OS random source) and no attestations
    /// yet, whose documents `source` issues (with its own module id and PCRs).
    ///
    /// # Errors
    /// [`ServiceError::Random`] if the random source fails.
    pub fn with_source(source: S) -> Result<Self, ServiceError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ServiceError::Random {
            reason: e.to_string(),
        })?;
        Ok(Self::from_seed_with(seed, source))
    }

    /// As [`Sequencer::with_source`] with the Ed25519 secret key `seed`.
    pub fn from_seed_with(seed: [u8; 32], source: S) -> Self {
        Self {
            key: SigningKey::from_bytes(&seed),
            source,
            ys: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The source that issues the documents.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// This sequencer with its source boxed, so that code serving either source (the
    /// stand-in or `/dev/nsm`) holds one type.
    pub fn boxed(self) -> Sequencer<Box<dyn AttestationSource>>
    where
        S: 'static,
    {
        Sequencer {
            key: self.key,
            source: Box::new(self.source),
            ys: self.ys,
            index: self.index,
        }
    }

    /// `K_S+`: the Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The module id written in every document.
    pub fn module_id(&self) -> &str {
        self.source.module_id()
    }

    /// The PCR0 written in every document.
    pub fn pcr0(&self) -> &[u8] {
        self.source.pcr0()
    }

    /// How many distinct `y` have been sequenced: the next new `y` gets this `k`.
    pub fn count(&self) -> u64 {
        self.ys.len() as u64
    }

    /// The `k` already given to `y`, if any.
    pub fn lookup(&self, y: &[u8; 48]) -> Option<u64> {
        self.index.get(y).copied()
    }

    /// Numbers `y` without issuing a document: a new `y` gets the next `k`, a known one
    /// its `k`. A later [`Sequencer::sequence`] of `y` issues the document for that `k`.
    /// The writer's embedded stand-in logs `y` durably, then reserves, then sequences, so
    /// that no crash can give one `k` to two `y`.
    ///
    /// # Errors
    /// [`ServiceError::CounterExhausted`] after `u64::MAX` attestations.
    pub fn reserve(&mut self, y: [u8; 48]) -> Result<u64, ServiceError> {
        if let Some(k) = self.lookup(&y) {
            return Ok(k);
        }
        let k = self.count();
        if k == u64::MAX {
            return Err(ServiceError::CounterExhausted {
                count: k,
                max: u64::MAX,
            });
        }
        self.ys.push(y);
        self.index.insert(y, k);
        Ok(k)
    }

    /// Sequences `y = b.u ++ H(t)` at `now`: a new `y` gets the next `k`, a repeated `y`
    /// its earlier `k` (and the same `g`) in a freshly issued document. The stand-in's test
    /// CA renews its certificates first when they would not last (`TestCa::renew_if_needed`).
    /// A new `y` is numbered only once its document has been issued, so a failure uses up
    /// no `k`.
    ///
    /// # Errors
    /// The source's error: [`ServiceError::Issuer`] when the test CA cannot issue at `now`
    /// (e.g. outside its root's validity); [`ServiceError::CounterExhausted`] after
    /// `u64::MAX` attestations.
    pub fn sequence(
        &mut self,
        y: [u8; 48],
        now: UnixMillis,
    ) -> Result<SequencedDocument, ServiceError> {
        let (k, new) = match self.index.get(&y) {
            Some(k) => (*k, false),
            None => (self.count(), true),
        };
        if new && k == u64::MAX {
            return Err(ServiceError::CounterExhausted {
                count: k,
                max: u64::MAX,
            });
        }
        let g = self
            .key
            .sign(&SequenceAttestation::signed_message(&y, k))
            .to_bytes();
        let attestation = SequenceAttestation { y, k, g };
        let public_key = self.public_key();
        let user_data = attestation.encode();
        let request = AttestationRequest {
            public_key: &public_key,
            user_data: &user_data,
            nonce: None,
        };
        let document = self.source.attest(request, now)?;
        if new {
            self.ys.push(y);
            self.index.insert(y, k);
        }
        Ok(SequencedDocument {
            k,
            attestation,
            document,
        })
    }

    /// Writes the key, module id, PCR0 and every sequenced `y` to `dir/`[`STATE_FILE`]
    /// (directory created if needed; JSON, mode 0600, atomically: temporary file, fsync,
    /// rename, fsync of the directory). For the writer's embedded stand-in only. The
    /// whole file is rewritten each time: about 100 bytes per sequenced block.
    ///
    /// # Errors
    /// [`ServiceError::Io`] when the directory or file cannot be written.
    pub fn save_state(&self, dir: &Path) -> Result<(), ServiceError> {
        let state = State {
            zipchain_sequencer_state: STATE_VERSION,
            seed: hex::encode(self.key.to_bytes()),
            public_key: hex::encode(self.public_key()),
            module_id: self.module_id().to_string(),
            pcr0: hex::encode(self.pcr0()),
            ys: self.ys.iter().map(hex::encode).collect(),
        };
        let json = serde_json::to_vec_pretty(&state).map_err(|e| ServiceError::Io {
            path: dir.join(STATE_FILE),
            reason: format!("cannot encode the state: {e}"),
        })?;
        atomic::create_dir(dir).map_err(|e| ServiceError::io(dir, &e))?;
        let path = dir.join(STATE_FILE);
        let private = Options {
            private: true,
            ..Options::default()
        };
        atomic::write_atomic_with(&path, &json, private)
            .map_err(|e| ServiceError::io(&path, &e))?;
        Ok(())
    }
}

/// The saved state: `ys[k]` is the `y` numbered `k`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    zipchain_sequencer_state: u64,
    seed: String,
    public_key: String,
    module_id: String,
    pcr0: String,
    ys: Vec<String>,
}

fn decode_hex<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let bytes = hex::decode(text).map_err(|e| format!("{what} is not hex: {e}"))?;
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| format!("{what} has {len} bytes, expected {N}"))
}
