//! The writer's main-chain log and its checkpoints (SPEC §9): the log key, the latest
//! checkpoint it signed, the cosignatures witnesses posted, and the largest checkpoint a
//! quorum of the descriptor's witnesses cosigned, from which certificates v2 are made.
//!
//! Kept in `DIR/checkpoints/`: `latest.note` (the latest signed checkpoint with the
//! cosignatures it holds) and `cosigned.note` (the largest one with a quorum), both
//! written atomically and checked again at every start (docs/DECISIONS.md, "The writer's
//! checkpoints").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use verifier_core::certificate::{Certificate, CertificateMainChain};
use verifier_core::hash::Hash32;
use verifier_core::tlog::checkpoint::{Checkpoint, origin};
use verifier_core::tlog::note::{ALG_COSIGNATURE_V1, ALG_ED25519, Note, SignatureLine};
use verifier_core::tlog::policy::WitnessPolicy;
use verifier_core::tlog::signer::SignerKey;
use verifier_core::tlog::tree::LogTree;

use crate::fsio;
use crate::health::Component;

/// The most signed checkpoints whose cosignatures are gathered at once (the latest and
/// those just before it); a cosignature for an older one is checked and dropped.
pub const HELD_CHECKPOINTS: usize = 64;

/// Reads the log key in `path`, or makes one named by the origin of `genesis` (mode 0600).
///
/// # Errors
/// A message when the file cannot be read or written, or holds another chain's key.
pub fn load_or_create_log_key(path: &Path, genesis: &Hash32) -> Result<SignerKey, String> {
    let name = origin(genesis);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = SignerKey::parse(&text, ALG_ED25519)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if key.name() != name {
                return Err(format!(
                    "{}: the log key is named {:?}, not this chain's origin {name:?}",
                    path.display(),
                    key.name()
                ));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_log_key(path, genesis),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Makes a new log key named by the origin of `genesis` in `path` (mode 0600), replacing
/// any there (a genesis that never finished left it).
///
/// # Errors
/// A message when the random source or the file fails.
pub fn create_log_key(path: &Path, genesis: &Hash32) -> Result<SignerKey, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("the random source failed: {e}"))?;
    let key = SignerKey::new(&origin(genesis), ALG_ED25519, seed).map_err(|e| e.to_string())?;
    fsio::write_atomic_with(
        path,
        key.to_text().as_bytes(),
        fsio::Options {
            private: true,
            ..fsio::Options::default()
        },
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(key)
}

/// A checkpoint this writer signed, with the cosignatures gathered for it.
#[derive(Clone, Debug)]
struct Held {
    checkpoint: Checkpoint,
    body: String,
    log_line: SignatureLine,
    /// Cosignature lines by index in the witness policy.
    cosignatures: BTreeMap<usize, SignatureLine>,
}

impl Held {
    /// The checkpoint with the log's signature alone, signed at `at`.
    fn signed(&self, at: SystemTime) -> Signed {
        Signed {
            size: self.checkpoint.size,
            note: Note {
                text: self.body.clone(),
                signatures: vec![self.log_line.clone()],
            }
            .to_text(),
            at,
        }
    }

    fn note(&self) -> String {
        let mut note = Note {
            text: self.body.clone(),
            signatures: vec![self.log_line.clone()],
        };
        note.signatures.extend(self.cosignatures.values().cloned());
        note.to_text()
    }
}

/// The latest checkpoint this writer signed, as it is sent to witnesses: the signed note
/// with the log's signature alone, and when it was signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The checkpoint's size.
    pub size: u64,
    /// The note: the checkpoint body and the log key's signature line.
    pub note: String,
    /// When it was signed (for a checkpoint read back at start, when `latest.note` was
    /// last written).
    pub at: SystemTime,
}

/// What a posted note gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The checkpoint's size.
    pub size: u64,
    /// The names of the witnesses whose cosignatures it kept from this note.
    pub accepted: Vec<String>,
    /// How many distinct witnesses have cosigned this checkpoint now.
    pub witnesses: usize,
    /// The quorum.
    pub quorum: usize,
    /// Whether certificates are now made under this checkpoint.
    pub cosigned: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// Signed checkpoints by size, the latest last; at most [`HELD_CHECKPOINTS`].
    held: BTreeMap<u64, Held>,
    /// The largest checkpoint a quorum cosigned.
    cosigned: Option<Held>,
}

/// The writer's checkpoints.
#[derive(Debug)]
pub struct Checkpoints {
    key: SignerKey,
    genesis: Hash32,
    policy: Option<WitnessPolicy>,
    dir: PathBuf,
    inner: Mutex<Inner>,
    /// The latest signed checkpoint, watched by the witness pushers.
    latest: tokio::sync::watch::Sender<Option<Arc<Signed>>>,
}

impl Checkpoints {
    /// The checkpoints of the chain `genesis` signed with `key`, kept in `dir`, whose
    /// cosignatures count under `policy`; [`Checkpoints::restore`] reads back what `dir`
    /// holds.
    ///
    /// # Errors
    /// A message when `dir` cannot be made.
    pub fn open(
        key: SignerKey,
        genesis: Hash32,
        policy: Option<WitnessPolicy>,
        dir: PathBuf,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self {
            key,
            genesis,
            policy,
            dir,
            inner: Mutex::new(Inner::default()),
            latest: tokio::sync::watch::Sender::new(None),
        })
    }

    /// Watches the latest signed checkpoint: the value changes with each new one.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Option<Arc<Signed>>> {
        self.latest.subscribe()
    }

    /// The latest signed checkpoint.
    pub fn latest_signed(&self) -> Option<Arc<Signed>> {
        self.latest.borrow().clone()
    }

    /// The size of the largest checkpoint a quorum cosigned (0 when none has).
    pub fn cosigned_size(&self) -> u64 {
        self.lock()
            .cosigned
            .as_ref()
            .map_or(0, |c| c.checkpoint.size)
    }

    /// Reads back the checkpoints kept in the directory, checked against the main
    /// chain's log and the current witness policy (anything that does not check is
    /// dropped, with a warning).
    pub fn restore(&self, log: &LogTree) {
        let mut inner = Inner::default();
        for file in ["latest.note", "cosigned.note"] {
            let path = self.dir.join(file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            match self.read_held(&text, log) {
                Ok(held) => {
                    if self.has_quorum(&held)
                        && inner
                            .cosigned
                            .as_ref()
                            .is_none_or(|c| c.checkpoint.size < held.checkpoint.size)
                    {
                        inner.cosigned = Some(held.clone());
                    }
                    inner.held.insert(held.checkpoint.size, held);
                }
                Err(e) => tracing::warn!(file = %path.display(), "checkpoint dropped: {e}"),
            }
        }
        let latest = inner.held.last_key_value().map(|(_, held)| {
            let at = std::fs::metadata(self.dir.join("latest.note"))
                .and_then(|m| m.modified())
                .unwrap_or_else(|_| SystemTime::now());
            Arc::new(held.signed(at))
        });
        *self.lock() = inner;
        self.latest.send_replace(latest);
    }

    /// Signs the checkpoint of `log` (the main chain's) unless the latest one already
    /// has that size. Returns whether it signed.
    ///
    /// # Errors
    /// A message when the checkpoint cannot be kept.
    pub fn sign(&self, log: &LogTree) -> Result<bool, String> {
        let size = log.len();
        if size == 0 || self.lock().held.contains_key(&size) {
            return Ok(false);
        }
        let checkpoint = verifier_core::tlog::log::checkpoint_of(&self.genesis, log);
        let body = checkpoint.to_body();
        let held = Held {
            log_line: self.key.sign(&body, 0),
            checkpoint,
            body,
            cosignatures: BTreeMap::new(),
        };
        let note = held.note();
        let signed = Arc::new(held.signed(SystemTime::now()));
        let mut inner = self.lock();
        inner.held.insert(size, held);
        while inner.held.len() > HELD_CHECKPOINTS {
            inner.held.pop_first();
        }
        // Under the lock, so that the files are written in the order of the changes.
        self.persist("latest.note", &note)?;
        drop(inner);
        crate::failpoint::failpoint(crate::failpoint::Stage::AfterCheckpointSigned);
        self.latest.send_replace(Some(signed));
        tracing::debug!(size, "signed a checkpoint");
        Ok(true)
    }

    /// The latest checkpoint as a signed note, with every cosignature it holds.
    pub fn latest(&self) -> Option<String> {
        self.lock().held.last_key_value().map(|(_, h)| h.note())
    }

    /// Takes the cosignatures of `note` (SPEC §9.6 `POST /v1/checkpoint/cosignatures`): it
    /// must be a checkpoint this writer signed (one it holds, or one carrying its log
    /// signature whose root is its main chain's: `log`), and every signature by the
    /// log key or a witness key of the policy must verify.
    ///
    /// # Errors
    /// The reason, for a `400`.
    pub fn add_cosignatures(&self, note: &str, log: &LogTree) -> Result<Accepted, String> {
        let Some(policy) = &self.policy else {
            return Err(
                "chain.json names no witnesses, so the writer keeps no cosignatures".to_owned(),
            );
        };
        let parsed = Note::parse(note).map_err(|e| e.to_string())?;
        let checkpoint = Checkpoint::parse(&parsed.text).map_err(|e| e.to_string())?;
        let expected = origin(&self.genesis);
        if checkpoint.origin != expected {
            return Err(format!(
                "the checkpoint's origin is {:?}, not this chain's {expected:?}",
                checkpoint.origin_shown()
            ));
        }
        let mut known = policy.keys().to_vec();
        known.push(self.key.verifier_key());
        let signed = parsed.verify(&known).map_err(|e| e.to_string())?;
        let witness_lines: Vec<(usize, SignatureLine)> = policy
            .keys()
            .iter()
            .enumerate()
            .filter(|(i, _)| signed[*i].is_some())
            .filter_map(|(i, k)| {
                parsed
                    .signatures
                    .iter()
                    .find(|s| s.name == k.name() && s.id == k.id())
                    .map(|s| (i, s.clone()))
            })
            .collect();
        if witness_lines.is_empty() {
            return Err(
                "the note has no cosignature/v1 line of a witness that chain.json names".to_owned(),
            );
        }
        let mut inner = self.lock();
        let held = match inner.held.get(&checkpoint.size) {
            Some(h) if h.body == parsed.text => h.clone(),
            Some(_) => return Err("not a checkpoint this writer signed".to_owned()),
            None => {
                drop(inner);
                // Authenticated before the tree is hashed: the note must carry the log's
                // own signature.
                let held = self.read_held(note, log)?;
                inner = self.lock();
                held
            }
        };
        let mut held = held;
        let accepted = witness_lines
            .iter()
            .map(|(i, _)| policy.keys()[*i].name().to_owned())
            .collect();
        for (i, line) in witness_lines {
            held.cosignatures.entry(i).or_insert(line);
        }
        let size = held.checkpoint.size;
        let witnesses = held.cosignatures.len();
        let quorum = self.has_quorum(&held)
            && inner
                .cosigned
                .as_ref()
                .is_none_or(|c| c.checkpoint.size <= size);
        let latest = inner.held.last_key_value().map(|(s, _)| *s);
        let is_held = latest.is_some_and(|l| size >= l)
            || inner.held.len() < HELD_CHECKPOINTS
            || inner.held.first_key_value().is_some_and(|(s, _)| size > *s);
        let note_text = held.note();
        if quorum {
            inner.cosigned = Some(held.clone());
        }
        if is_held {
            inner.held.insert(size, held);
            while inner.held.len() > HELD_CHECKPOINTS {
                inner.held.pop_first();
            }
        }
        let is_latest = inner.held.last_key_value().map(|(s, _)| *s) == Some(size);
        if is_latest {
            self.persist("latest.note", &note_text)?;
        }
        if quorum {
            self.persist("cosigned.note", &note_text)?;
        }
        drop(inner);
        Ok(Accepted {
            size,
            accepted,
            witnesses,
            quorum: policy.quorum(),
            cosigned: quorum,
        })
    }

    /// Makes `cert` a certificate v2 when a checkpoint a quorum cosigned covers its
    /// block; `log` is the main chain's.
    pub fn attach(&self, cert: &mut Certificate, log: &LogTree) {
        let Some(held) = self.lock().cosigned.clone() else {
            return;
        };
        let size = held.checkpoint.size;
        if cert.height >= size || size > log.len() {
            return;
        }
        match log.inclusion_proof(cert.height, size) {
            Ok(path) => {
                cert.zipchain_certificate = 2;
                cert.main_chain = Some(CertificateMainChain {
                    checkpoint: held.note(),
                    leaf_index: cert.height,
                    path: path.iter().map(hex::encode).collect(),
                });
            }
            Err(e) => tracing::error!("no inclusion proof: {e}"),
        }
    }

    /// Reads a note this writer signed: its log signature verifies, its size is within
    /// the main chain and its root is the main chain's; the cosignatures of the policy's
    /// keys that verify are kept, the others dropped.
    fn read_held(&self, note: &str, log: &LogTree) -> Result<Held, String> {
        let parsed = Note::parse(note).map_err(|e| e.to_string())?;
        let checkpoint = Checkpoint::parse(&parsed.text).map_err(|e| e.to_string())?;
        let own = self.key.verifier_key();
        let log_line = parsed
            .signatures
            .iter()
            .find(|s| s.name == own.name() && s.id == own.id())
            .cloned()
            .ok_or("the note carries no signature of this writer's log key")?;
        let keys: Vec<_> = self
            .policy
            .as_ref()
            .map(|p| p.keys().to_vec())
            .unwrap_or_default();
        let mut known = keys.clone();
        known.push(own);
        let signed = parsed.verify(&known).map_err(|e| e.to_string())?;
        if signed.last().is_none_or(Option::is_none) {
            return Err("the log key's signature does not verify".to_owned());
        }
        let size = Some(checkpoint.size)
            .filter(|&n| n >= 1 && n <= log.len())
            .ok_or_else(|| {
                format!(
                    "its size {} is not within the main chain's {} entries",
                    checkpoint.size,
                    log.len()
                )
            })?;
        if log.root(size).ok() != Some(checkpoint.root) {
            return Err("its root is not the tree of this writer's main chain".to_owned());
        }
        let mut cosignatures = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            if signed[i].is_some() && k.algorithm() == ALG_COSIGNATURE_V1 {
                if let Some(line) = parsed
                    .signatures
                    .iter()
                    .find(|s| s.name == k.name() && s.id == k.id())
                {
                    cosignatures.insert(i, line.clone());
                }
            }
        }
        Ok(Held {
            checkpoint,
            body: parsed.text,
            log_line,
            cosignatures,
        })
    }

    fn has_quorum(&self, held: &Held) -> bool {
        self.policy
            .as_ref()
            .is_some_and(|p| held.cosignatures.len() >= p.quorum())
    }

    fn persist(&self, file: &str, note: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        fsio::write_atomic(&path, note.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Signs a checkpoint of the main chain at start and after each new final block (at once
/// when none was signed in the last `period`), at most once per `period` (the seal
/// period); failures mark the `checkpoints` component unhealthy.
pub async fn sign_loop(shared: std::sync::Arc<crate::state::Shared>, period: std::time::Duration) {
    loop {
        let s = std::sync::Arc::clone(&shared);
        match tokio::task::spawn_blocking(move || s.sign_checkpoint()).await {
            Ok(Ok(_)) => shared.set_healthy(Component::Checkpoints),
            Ok(Err(e)) => shared.set_unhealthy(Component::Checkpoints, e),
            Err(e) => shared.set_unhealthy(Component::Checkpoints, e.to_string()),
        }
        // At most one checkpoint a period, but the first final block after a quiet spell
        // is signed at once: waiting out the period after the news (as before) added up
        // to a seal period to every certificate's way to witnesses. A block made final
        // during the sleep left a permit, so `notified` then returns at once.
        tokio::time::sleep(period).await;
        shared.finalized.notified().await;
    }
}
