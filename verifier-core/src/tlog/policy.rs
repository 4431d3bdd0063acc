//! The witness policy of a trust descriptor v2 (SPEC §9.4) and the check of a cosigned
//! checkpoint under it (SPEC §9.5): at least `quorum` distinct known witness keys have
//! valid cosignatures, and a signature by the log key, when present, verifies.

use super::checkpoint::{Checkpoint, CheckpointError};
use super::note::{ALG_COSIGNATURE_V1, ALG_ED25519, Note, NoteError, VerifierKey};

/// Why a witness policy cannot be used.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A key is not a cosignature/v1 verifier key.
    #[error("witnesses.keys[{index}]: {reason}")]
    Key {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: NoteError,
    },
    /// Two keys are the same key, or share a name and key id.
    #[error("witnesses.keys[{index}] repeats an earlier key")]
    Duplicate {
        /// The position of the repeat.
        index: usize,
    },
    /// The quorum is 0 or above the number of keys.
    #[error("witnesses.quorum is {quorum}, expected 1 to {keys} (the number of keys)")]
    Quorum {
        /// The quorum written.
        quorum: u64,
        /// The number of keys.
        keys: usize,
    },
}

/// Whose cosignatures make a checkpoint count, and how many must vouch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    keys: Vec<VerifierKey>,
    quorum: usize,
}

impl WitnessPolicy {
    /// A policy of the verifier keys `keys` (cosignature/v1, distinct) and `quorum`
    /// (at least 1, at most the number of keys).
    ///
    /// # Errors
    /// [`PolicyError`] naming the first unusable value.
    pub fn new(keys: &[String], quorum: u64) -> Result<Self, PolicyError> {
        let mut parsed: Vec<VerifierKey> = Vec::with_capacity(keys.len());
        for (index, text) in keys.iter().enumerate() {
            let key =
                VerifierKey::parse(text).map_err(|reason| PolicyError::Key { index, reason })?;
            if key.algorithm() != ALG_COSIGNATURE_V1 {
                return Err(PolicyError::Key {
                    index,
                    reason: NoteError::Key("not a cosignature/v1 key (algorithm 0x04)"),
                });
            }
            if parsed.iter().any(|k| {
                k.public_key() == key.public_key() || (k.name() == key.name() && k.id() == key.id())
            }) {
                return Err(PolicyError::Duplicate { index });
            }
            parsed.push(key);
        }
        let count = parsed.len();
        let quorum_ok = usize::try_from(quorum)
            .ok()
            .filter(|&q| q >= 1 && q <= count);
        let Some(quorum) = quorum_ok else {
            return Err(PolicyError::Quorum {
                quorum,
                keys: count,
            });
        };
        Ok(Self {
            keys: parsed,
            quorum,
        })
    }

    /// The witness keys.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }

    /// How many distinct witnesses must vouch.
    pub fn quorum(&self) -> usize {
        self.quorum
    }
}

/// Why a cosigned checkpoint does not count.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CosignedError {
    /// The note cannot be read, or a known key's signature is bad or repeated.
    #[error("{0}")]
    Note(NoteError),
    /// The note's text is not a checkpoint body.
    #[error("{0}")]
    Body(CheckpointError),
    /// The checkpoint is of another log.
    #[error("the checkpoint's origin is {got:?}, not {expected:?}")]
    Origin {
        /// Its origin line.
        got: String,
        /// The chain's.
        expected: String,
    },
    /// Fewer than `quorum` known witnesses cosigned.
    #[error("{witnesses} of the descriptor's witnesses cosigned, the quorum is {quorum}")]
    Quorum {
        /// How many did.
        witnesses: usize,
        /// How many must.
        quorum: usize,
    },
}

/// A checkpoint that a quorum of witnesses cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The names of the witnesses whose cosignatures verified, in the policy's order.
    pub witnesses: Vec<String>,
    /// The policy's quorum.
    pub quorum: usize,
}

/// Checks the signed note `note` as a checkpoint of the log `origin`: every signature by
/// `log_key` or a policy key must verify (others are ignored), and at least
/// `policy.quorum()` distinct policy keys must have cosigned.
///
/// # Errors
/// [`CosignedError`] naming what does not hold.
pub fn check_cosigned(
    note: &str,
    origin: &str,
    log_key: Option<&VerifierKey>,
    policy: &WitnessPolicy,
) -> Result<Cosigned, CosignedError> {
    let note = Note::parse(note).map_err(CosignedError::Note)?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(CosignedError::Body)?;
    if checkpoint.origin != origin {
        return Err(CosignedError::Origin {
            got: checkpoint.origin_shown(),
            expected: origin.to_owned(),
        });
    }
    let mut known: Vec<VerifierKey> = policy.keys.clone();
    if let Some(key) = log_key.filter(|k| k.algorithm() == ALG_ED25519) {
        known.push(key.clone());
    }
    let signed = note.verify(&known).map_err(CosignedError::Note)?;
    let witnesses: Vec<String> = policy
        .keys
        .iter()
        .zip(&signed)
        .filter(|(_, s)| s.is_some())
        .map(|(k, _)| k.name().to_owned())
        .collect();
    if witnesses.len() < policy.quorum {
        return Err(CosignedError::Quorum {
            witnesses: witnesses.len(),
            quorum: policy.quorum,
        });
    }
    Ok(Cosigned {
        checkpoint,
        witnesses,
        quorum: policy.quorum,
    })
}
