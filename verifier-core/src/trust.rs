//! The trust descriptor `chain.json` (SPEC §1.6): what a user pins to say which chain they
//! trust — the patent's `b0`, `K_S+` and `K_T+`.
//!
//! ```json
//! {
//!   "zipchain_chain": 1,
//!   "genesis": "<hex H(b0)>",
//!   "sequencer_key": "<hex K_S+>",
//!   "timestamp": { "issuer": "…", "token_use": "id", "username_domain": "bky.sh",
//!                  "jwks": { "keys": [ … ] } },
//!   "nitro": { "root_pem": "…", "pcrs": { "0": "<hex>" }, "allow_debug": false }
//! }
//! ```
//!
//! Parsing is strict: unknown fields are rejected at every level of the descriptor (the
//! JWKS follows RFC 7517, whose keys may carry other members), duplicate member names are
//! rejected anywhere, `zipchain_chain` must be 1, and every value is checked when the
//! descriptor is read (hex, the Ed25519 key, every JWK, the PEM, the PCRs), so a descriptor
//! that parses yields verifiers that build.
//!
//! Choices where SPEC §1.6 is silent: `timestamp.username_domain` is required (a chain's
//! timestamps must attest block hashes); every key of `timestamp.jwks` has a `kid` (a
//! timestamp names its key by `kid`, SPEC §1.3), and a `kid` of Cognito's form (the
//! standard base64 of 32 bytes) must be `base64(SHA-256(DER SubjectPublicKeyInfo))` of
//! its key, as every real Cognito key's is (research `jwt-FINDINGS.md` §1.3), so a
//! descriptor cannot pin a key under another key's Cognito kid; errors quote what they
//! reject boundedly (a prefix and its length), whatever its size; the `nitro` section may
//! be omitted, meaning the
//! AWS Nitro Enclaves Root-G1 root, no PCR allow-list and no debug documents; PCR values are
//! 32, 48 or 64 bytes (the NSM's PCR sizes); hex is accepted in either case and written in
//! lowercase.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::Hash32;
use crate::json::parse_strict_json;
use crate::nsm::NsmPolicy;
use crate::sequence::{SequenceError, SequencerKey};
use crate::text::{bounded, bounded_reason};
use crate::timestamp::{Jwks, TimestampError, TimestampPolicy, TimestampVerifier, TokenUse};
use crate::tlog::checkpoint::origin;
use crate::tlog::note::{ALG_ED25519, VerifierKey};
use crate::tlog::policy::{PolicyError, WitnessPolicy};

/// The descriptor format version this crate writes for a chain without a log key
/// or witnesses.
pub const TRUST_DESCRIPTOR_VERSION: u64 = 1;

/// The descriptor format version with `log_key` and `witnesses` (SPEC §9.4).
pub const TRUST_DESCRIPTOR_VERSION_2: u64 = 2;

/// The `witnesses` section of a descriptor v2, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessesTrust {
    /// The witnesses' verifier keys (cosignature/v1, 0x04).
    pub keys: Vec<String>,
    /// How many distinct witnesses must vouch.
    pub quorum: u64,
}

/// The number of PCRs an NSM reports (indices `0..=31`).
pub const PCR_COUNT: usize = 32;

/// The descriptor's `timestamp` section: the Cognito pool whose JWTs timestamp blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampTrust {
    /// The exact `iss` of the pool, `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    pub issuer: String,
    /// `"id"` or `"access"`: which kind of token the pool's timestamps are.
    pub token_use: TokenUse,
    /// The username domain: a timestamp's username is `hex(y)@<domain>`.
    pub username_domain: String,
    /// The pool's JWK Set (RFC 7517), as written in the descriptor.
    pub jwks: Value,
}

/// The descriptor's `nitro` section: what an enclave attestation must chain to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NitroTrust {
    /// The trusted root certificate as one PEM `CERTIFICATE` block; `None` means the AWS
    /// Nitro Enclaves Root-G1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_pem: Option<String>,
    /// An optional allow-list: PCR index (`"0"`..`"31"`) → the hex value it must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcrs: Option<BTreeMap<String, String>>,
    /// Whether debug-mode documents (PCR0 all zero) are accepted.
    #[serde(default)]
    pub allow_debug: bool,
}

/// The document as it is written: strings to be checked.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    zipchain_chain: u64,
    genesis: String,
    sequencer_key: String,
    timestamp: TimestampTrust,
    #[serde(default)]
    nitro: NitroTrust,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    witnesses: Option<WitnessesTrust>,
}

/// A checked trust descriptor (SPEC §1.6). Read one with [`TrustDescriptor::from_json`],
/// make one with [`TrustDescriptor::new`], then build the verifiers it pins with
/// [`TrustDescriptor::timestamp_verifier`] and [`TrustDescriptor::nsm_policy`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub struct TrustDescriptor {
    genesis: Hash32,
    sequencer_key: SequencerKey,
    timestamp: TimestampTrust,
    nitro: NitroTrust,
    /// `timestamp.jwks`, parsed.
    jwks: Jwks,
    /// `nitro.root_pem`, decoded.
    root_der: Option<Vec<u8>>,
    /// `nitro.pcrs`, decoded.
    pcrs: BTreeMap<u8, Vec<u8>>,
    /// The v2 fields (SPEC §9.4), `None` in a v1 descriptor.
    v2: Option<V2>,
}

/// What `"zipchain_chain": 2` adds: the log key and the witness policy, as written and
/// as read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct V2 {
    log_key: Option<(String, VerifierKey)>,
    witnesses: Option<(WitnessesTrust, WitnessPolicy)>,
}

impl PartialEq for TrustDescriptor {
    fn eq(&self, other: &Self) -> bool {
        // The parsed fields are functions of the written ones.
        self.genesis == other.genesis
            && self.sequencer_key == other.sequencer_key
            && self.timestamp == other.timestamp
            && self.nitro == other.nitro
            && self.v2 == other.v2
    }
}

impl TrustDescriptor {
    /// Checks and assembles a descriptor (e.g. for a writer about to publish `chain.json`).
    ///
    /// # Errors
    /// A [`TrustError`] naming the first unusable value.
    pub fn new(
        genesis: Hash32,
        sequencer_key: SequencerKey,
        timestamp: TimestampTrust,
        nitro: NitroTrust,
    ) -> Result<Self, TrustError> {
        let jwks = Jwks::from_value(&timestamp.jwks).map_err(TrustError::Timestamp)?;
        check_kids(&timestamp.jwks, &jwks).map_err(TrustError::Timestamp)?;
        let root_der = nitro
            .root_pem
            .as_deref()
            .map(decode_pem_certificate)
            .transpose()?;
        let pcrs = match &nitro.pcrs {
            None => BTreeMap::new(),
            Some(pcrs) => decode_pcrs(pcrs)?,
        };
        let descriptor = Self {
            genesis,
            sequencer_key,
            timestamp,
            nitro,
            jwks,
            root_der,
            pcrs,
            v2: None,
        };
        // Fail now, not at first use, if the timestamp policy is unusable.
        descriptor.timestamp_verifier()?;
        Ok(descriptor)
    }

    /// The same descriptor as a v2 (SPEC §9.4) with the writer's log key (a signed-note
    /// verifier key of algorithm 0x01 named by the chain's origin, `zipchain/<genesis>`)
    /// and, optionally, a witness policy.
    ///
    /// # Errors
    /// [`TrustError::LogKey`] or [`TrustError::Witnesses`].
    pub fn with_checkpoints(
        self,
        log_key: Option<String>,
        witnesses: Option<WitnessesTrust>,
    ) -> Result<Self, TrustError> {
        let origin = origin(&self.genesis);
        let log_key = log_key
            .map(|text| {
                let key = VerifierKey::parse(&text).map_err(|e| TrustError::LogKey {
                    reason: e.to_string(),
                })?;
                if key.algorithm() != ALG_ED25519 {
                    return Err(TrustError::LogKey {
                        reason: "not an Ed25519 note key (algorithm 0x01)".to_owned(),
                    });
                }
                if key.name() != origin {
                    return Err(TrustError::LogKey {
                        reason: format!(
                            "named {:?}, not the chain's origin {origin:?}",
                            key.name()
                        ),
                    });
                }
                Ok((text, key))
            })
            .transpose()?;
        let witnesses = witnesses
            .map(|w| {
                WitnessPolicy::new(&w.keys, w.quorum)
                    .map(|policy| (w, policy))
                    .map_err(TrustError::Witnesses)
            })
            .transpose()?;
        Ok(Self {
            v2: Some(V2 { log_key, witnesses }),
            ..self
        })
    }

    /// The descriptor's version: 2 when it has the v2 fields (even if both are absent,
    /// as written), else 1.
    pub fn version(&self) -> u64 {
        if self.v2.is_some() {
            TRUST_DESCRIPTOR_VERSION_2
        } else {
            TRUST_DESCRIPTOR_VERSION
        }
    }

    /// The writer's log key (SPEC §9.4), when the descriptor names it.
    pub fn log_key(&self) -> Option<&VerifierKey> {
        self.v2.as_ref()?.log_key.as_ref().map(|(_, k)| k)
    }

    /// The witness policy (SPEC §9.4), when the descriptor names witnesses.
    pub fn witnesses(&self) -> Option<&WitnessPolicy> {
        self.v2.as_ref()?.witnesses.as_ref().map(|(_, p)| p)
    }

    /// Reads `chain.json`: strict JSON (no duplicate member names), no unknown fields,
    /// `zipchain_chain` 1 or 2 (only 2 may carry `log_key` and `witnesses`), every value
    /// checked.
    ///
    /// # Errors
    /// A [`TrustError`] naming the first problem.
    pub fn from_json(text: &str) -> Result<Self, TrustError> {
        let value =
            parse_strict_json(text.as_bytes()).map_err(|reason| TrustError::Json { reason })?;
        let wire: Wire = serde_json::from_value(value).map_err(|e| TrustError::Json {
            reason: bounded_reason(&e.to_string()),
        })?;
        Self::try_from(wire)
    }

    /// The descriptor as pretty-printed JSON (two-space indent, lowercase hex), readable
    /// again by [`TrustDescriptor::from_json`].
    pub fn to_json_pretty(&self) -> String {
        // Serializing strings, booleans, numbers and a JSON value cannot fail.
        serde_json::to_string_pretty(&Wire::from(self.clone())).unwrap_or_default()
    }

    /// SHA-256 over what an audit's verdicts depend on: the genesis hash, `K_S+`, the
    /// `timestamp` section and the `nitro` section (not the SPEC §9.4 log key and
    /// witnesses, which no object's verdict depends on). Facts kept by a resumed audit
    /// ([`crate::chain::ResumableAudit`]) hold only under the descriptor they were
    /// verified under: the same fingerprint.
    pub fn audit_fingerprint(&self) -> [u8; 32] {
        // The NSM policy of a descriptor whose root cannot be parsed is the default one;
        // no auditor can be made of such a descriptor anyway.
        let nsm = self.nsm_policy().unwrap_or_default();
        audit_fingerprint(
            &self.genesis,
            &self.sequencer_key,
            &self.timestamp_policy(),
            &nsm,
        )
    }

    /// `H(b0)`: the hash of the chain's genesis block.
    pub fn genesis(&self) -> Hash32 {
        self.genesis
    }

    /// `K_S+`: the sequencer's Ed25519 public key.
    pub fn sequencer_key(&self) -> SequencerKey {
        self.sequencer_key
    }

    /// The `timestamp` section as written.
    pub fn timestamp(&self) -> &TimestampTrust {
        &self.timestamp
    }

    /// The `nitro` section as written.
    pub fn nitro(&self) -> &NitroTrust {
        &self.nitro
    }

    /// `nitro.root_pem` decoded to DER, or `None` for the AWS Nitro Enclaves Root-G1.
    pub fn root_der(&self) -> Option<&[u8]> {
        self.root_der.as_deref()
    }

    /// `nitro.pcrs` decoded: PCR index → the value it must have (empty: no allow-list).
    pub fn pcrs(&self) -> &BTreeMap<u8, Vec<u8>> {
        &self.pcrs
    }

    /// The timestamp policy the descriptor pins (the username domain is always set).
    pub fn timestamp_policy(&self) -> TimestampPolicy {
        TimestampPolicy {
            issuer: self.timestamp.issuer.clone(),
            token_use: self.timestamp.token_use,
            username_domain: Some(self.timestamp.username_domain.clone()),
            jwks: self.jwks.clone(),
        }
    }

    /// A verifier for the chain's timestamp JWTs (SPEC §1.3).
    ///
    /// # Errors
    /// [`TrustError::Timestamp`] if the policy is unusable (checked already when the
    /// descriptor was made, so not expected).
    pub fn timestamp_verifier(&self) -> Result<TimestampVerifier, TrustError> {
        TimestampVerifier::new(self.timestamp_policy()).map_err(TrustError::Timestamp)
    }

    /// The NSM policy the descriptor pins: its root (AWS Nitro Enclaves Root-G1 when
    /// `root_pem` is absent), PCR allow-list and debug rule.
    ///
    /// # Errors
    /// None at present; a `Result` so that checks of the root can be added.
    pub fn nsm_policy(&self) -> Result<NsmPolicy, TrustError> {
        let mut policy = NsmPolicy::default();
        if let Some(der) = &self.root_der {
            policy.root_der = der.clone();
        }
        policy.pcrs = self.pcrs.clone();
        policy.allow_debug = self.nitro.allow_debug;
        Ok(policy)
    }
}

impl TryFrom<Wire> for TrustDescriptor {
    type Error = TrustError;

    fn try_from(wire: Wire) -> Result<Self, TrustError> {
        let v2 = match wire.zipchain_chain {
            TRUST_DESCRIPTOR_VERSION => {
                if wire.log_key.is_some() || wire.witnesses.is_some() {
                    return Err(TrustError::Json {
                        reason: "log_key and witnesses need \"zipchain_chain\": 2".to_owned(),
                    });
                }
                false
            }
            TRUST_DESCRIPTOR_VERSION_2 => true,
            got => {
                return Err(TrustError::Version {
                    got,
                    expected: TRUST_DESCRIPTOR_VERSION,
                });
            }
        };
        let genesis = Hash32::from_hex(&wire.genesis).map_err(|_| TrustError::Genesis {
            got: bounded(&wire.genesis),
        })?;
        let sequencer_key = SequencerKey::from_hex(&wire.sequencer_key).map_err(|e| {
            TrustError::SequencerKey(match e {
                // It quotes up to 80 characters; quote as every other error does.
                SequenceError::Key { reason, .. } => SequenceError::Key {
                    got: bounded(&wire.sequencer_key),
                    reason,
                },
                other => other,
            })
        })?;
        let descriptor = Self::new(genesis, sequencer_key, wire.timestamp, wire.nitro)?;
        if v2 {
            descriptor.with_checkpoints(wire.log_key, wire.witnesses)
        } else {
            Ok(descriptor)
        }
    }
}

impl From<TrustDescriptor> for Wire {
    fn from(d: TrustDescriptor) -> Self {
        let version = d.version();
        let (log_key, witnesses) = match d.v2 {
            Some(v2) => (
                v2.log_key.map(|(text, _)| text),
                v2.witnesses.map(|(written, _)| written),
            ),
            None => (None, None),
        };
        Self {
            zipchain_chain: version,
            genesis: d.genesis.to_hex(),
            sequencer_key: d.sequencer_key.to_hex(),
            timestamp: d.timestamp,
            nitro: d.nitro,
            log_key,
            witnesses,
        }
    }
}

/// The descriptor's rules for its JWKS beyond [`Jwks::from_value`]'s (which already
/// requires RSA keys, `alg` RS256 and `use` sig when present, and distinct kids): every
/// key has a `kid`, and Cognito-style kids are the SHA-256 of their key's SPKI
/// ([`Jwks::check_cognito_kids`]).
fn check_kids(written: &Value, jwks: &Jwks) -> Result<(), TimestampError> {
    let keys = written
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if let Some(at) = keys.iter().position(|key| key.get("kid").is_none()) {
        return Err(TimestampError::Jwks {
            kid: None,
            reason: format!(
                "keys[{at}] has no kid; a trust descriptor names each key by kid, as a timestamp's header does"
            ),
        });
    }
    jwks.check_cognito_kids().map(|_| ())
}

/// `"0"`..`"31"` (canonical decimal) → 32, 48 or 64 bytes of hex.
fn decode_pcrs(pcrs: &BTreeMap<String, String>) -> Result<BTreeMap<u8, Vec<u8>>, TrustError> {
    let mut out = BTreeMap::new();
    for (index, value) in pcrs {
        let pcr_error = |reason: &'static str| TrustError::Pcr {
            index: bounded(index),
            reason,
        };
        let canonical = !index.is_empty()
            && index.bytes().all(|b| b.is_ascii_digit())
            && (index == "0" || !index.starts_with('0'));
        let number = index
            .parse::<u8>()
            .ok()
            .filter(|n| canonical && usize::from(*n) < PCR_COUNT)
            .ok_or_else(|| pcr_error("the index is not a decimal number from 0 to 31"))?;
        let bytes = hex::decode(value).map_err(|_| pcr_error("the value is not hex"))?;
        if ![32, 48, 64].contains(&bytes.len()) {
            return Err(pcr_error("the value is not 32, 48 or 64 bytes"));
        }
        out.insert(number, bytes);
    }
    Ok(out)
}

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// Decodes exactly one PEM `CERTIFICATE` block into DER (RFC 7468 §5.1, strict form):
/// whitespace may surround the block; inside it only base64 lines (standard alphabet,
/// padded, LF or CRLF endings); no headers, no second block.
///
/// # Errors
/// [`TrustError`] when the text is not exactly one well-formed block.
pub fn decode_pem_certificate(pem: &str) -> Result<Vec<u8>, TrustError> {
    let pem_error = |reason: &'static str| TrustError::RootPem { reason };
    let body = pem
        .trim()
        .strip_prefix(PEM_BEGIN)
        .ok_or_else(|| pem_error("it does not begin with -----BEGIN CERTIFICATE-----"))?
        .strip_suffix(PEM_END)
        .ok_or_else(|| pem_error("it does not end with -----END CERTIFICATE-----"))?;
    let mut base64_text = String::with_capacity(body.len());
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if !line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        {
            return Err(pem_error(
                "a line between the markers is not base64 (headers and second blocks are not accepted)",
            ));
        }
        base64_text.push_str(line);
    }
    let der = STANDARD
        .decode(base64_text.as_bytes())
        .map_err(|_| pem_error("the base64 between the markers does not decode"))?;
    if der.first() != Some(&0x30) {
        return Err(pem_error("the decoded bytes are not a DER SEQUENCE"));
    }
    Ok(der)
}

/// Why a trust descriptor was rejected.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The `nitro` section cannot be used by the NSM verifier (e.g. its root).
    #[error("nitro: {0}")]
    Nitro(crate::nsm::NsmError),
    /// Not strict JSON of the descriptor's shape (syntax, duplicate or unknown members,
    /// a missing field or a wrong type).
    #[error("not a trust descriptor: {reason}")]
    Json {
        /// What the parser found.
        reason: String,
    },
    /// `log_key` is not the chain's Ed25519 note verifier key.
    #[error("log_key: {reason}")]
    LogKey {
        /// What is wrong.
        reason: String,
    },
    /// `witnesses` is unusable.
    #[error("{0}")]
    Witnesses(PolicyError),
    /// `zipchain_chain` is not a supported version.
    #[error("zipchain_chain is {got}, expected {expected} or 2")]
    Version {
        /// The version written.
        got: u64,
        /// Always [`TRUST_DESCRIPTOR_VERSION`].
        expected: u64,
    },
    /// `genesis` is not 64 hex digits.
    #[error("genesis is {got:?}, expected 64 hex digits")]
    Genesis {
        /// The value written (bounded as every quoted input: a prefix and its length
        /// when long).
        got: String,
    },
    /// `sequencer_key` is not a valid Ed25519 key in hex.
    #[error("sequencer_key: {0}")]
    SequencerKey(SequenceError),
    /// The `timestamp` section (its JWKS, issuer or domain) is unusable.
    #[error("timestamp: {0}")]
    Timestamp(TimestampError),
    /// `nitro.root_pem` is not one PEM certificate.
    #[error("nitro.root_pem is not one PEM certificate: {reason}")]
    RootPem {
        /// What is wrong.
        reason: &'static str,
    },
    /// An entry of `nitro.pcrs` is unusable.
    #[error("nitro.pcrs[{index:?}]: {reason}")]
    Pcr {
        /// The index as written (bounded).
        index: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// [`TrustDescriptor::audit_fingerprint`] from the parsed policies (what an
/// [`crate::chain::Auditor`] holds): each value length-prefixed, so the same descriptor
/// written otherwise has the same print, and no JSON is written for it.
pub(crate) fn audit_fingerprint(
    genesis: &Hash32,
    sequencer_key: &SequencerKey,
    timestamps: &TimestampPolicy,
    nsm: &NsmPolicy,
) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    let mut text = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    text(b"zipchain audit fingerprint 1");
    text(genesis.as_bytes());
    text(sequencer_key.as_bytes());
    text(timestamps.issuer.as_bytes());
    text(timestamps.token_use.as_str().as_bytes());
    text(
        timestamps
            .username_domain
            .as_deref()
            .unwrap_or("")
            .as_bytes(),
    );
    text(&nsm.root_der);
    text(&[u8::from(nsm.allow_debug)]);
    for (index, value) in &nsm.pcrs {
        text(&[*index]);
        text(value);
    }
    timestamps.jwks.digest_into(&mut h);
    h.finalize().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn pem_decoder_is_strict() {
        let der = [0x30u8, 0x03, 0x02, 0x01, 0x05];
        let pem = format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", STANDARD.encode(der));
        assert_eq!(decode_pem_certificate(&pem), Ok(der.to_vec()));
        let crlf = pem.replace('\n', "\r\n");
        assert_eq!(decode_pem_certificate(&crlf), Ok(der.to_vec()));
        assert!(decode_pem_certificate(&pem.replace("CERTIFICATE", "PUBLIC KEY")).is_err());
        assert!(decode_pem_certificate(&format!("{pem}{pem}")).is_err());
        assert!(decode_pem_certificate(&format!("x{pem}")).is_err());
        let header = pem.replace(PEM_BEGIN, &format!("{PEM_BEGIN}\nProc-Type: 4,ENCRYPTED\n"));
        assert!(decode_pem_certificate(&header).is_err());
        let not_der = format!("{PEM_BEGIN}\n{}\n{PEM_END}", STANDARD.encode([1u8, 2]));
        assert!(decode_pem_certificate(&not_der).is_err());
        let unpadded = format!("{PEM_BEGIN}\nMAMCAQU\n{PEM_END}");
        assert!(decode_pem_certificate(&unpadded).is_err());
    }

    #[test]
    fn pcr_indices_and_values() {
        let ok =
            |i: &str, len: usize| decode_pcrs(&BTreeMap::from([(i.to_string(), "ab".repeat(len))]));
        assert_eq!(ok("0", 48).unwrap().get(&0).map(Vec::len), Some(48));
        assert!(ok("31", 32).is_ok());
        assert!(ok("8", 64).is_ok());
        for bad in ["32", "00", "01", "-1", "+1", "", " 1", "x"] {
            assert!(ok(bad, 48).is_err(), "{bad:?}");
        }
        assert!(ok("0", 47).is_err());
        assert!(decode_pcrs(&BTreeMap::from([("0".to_string(), "zz".repeat(48))])).is_err());
    }
}
