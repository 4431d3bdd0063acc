//! What a witness promises (SPEC §9.3), as one decision: whether a witness that audited
//! the chain itself may cosign a checkpoint, given the latest checkpoint it cosigned.
//!
//! The witness cosigns only a checkpoint of its own origin, after an audit without
//! equivocation, whose size is at most its own main chain's and whose root is the tree of
//! that many of its own entries; and never two inconsistent checkpoints of one origin: a
//! smaller size than its state is refused, the same size needs the same root, and a
//! larger one must be consistent with the state (the witness computes the RFC 9162
//! consistency proof itself, from its own log). A signature by the log key, when the
//! note carries one, must verify. A face reads the note and the state, reads the clock
//! and writes the state and the output; [`cosign`] decides and signs.
//!
//! The witness's own log is a [`LogTree`], so every rule costs O(log² n) hashes however
//! long the chain: a daemon that keeps the tree answers each request without rehashing
//! its main chain ([`super::add_checkpoint`], the C2SP tlog-witness protocol, applies
//! the same rules).

use super::checkpoint::{Checkpoint, CheckpointError};
use super::note::{
    ALG_COSIGNATURE_V1, ALG_ED25519, Note, NoteError, SignatureLine, VerifierKey, cosign_v1,
};
use super::tree::{self, LogTree, ProofError};

/// What a witness knows from its own audit of the chain.
#[derive(Clone, Copy, Debug)]
pub struct WitnessView<'a> {
    /// The chain's origin line, `zipchain/<hex genesis>` of the witness's own `chain.json`.
    pub origin: &'a str,
    /// Its own main chain's log ([`super::log::leaves`] of the audit's main chain).
    pub tree: &'a LogTree,
    /// How many equivocations its audit found.
    pub equivocations: usize,
    /// The descriptor's log key, if it names one.
    pub log_key: Option<&'a VerifierKey>,
}

/// Why a witness does not cosign. [`CosignError::is_refusal`] tells a refusal under
/// SPEC §9.3 (the input was read and the rules forbid it) from input that cannot be used.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    /// The note is neither a checkpoint body nor a signed note.
    #[error("the note is neither a checkpoint body ({body}) nor a signed note ({note})")]
    Unreadable {
        /// Why it is not a body.
        body: CheckpointError,
        /// Why it is not a signed note.
        note: NoteError,
    },
    /// The signed note's text is not a checkpoint body.
    #[error("the note's text is not a checkpoint body: {0}")]
    Body(CheckpointError),
    /// The witness's name and key do not make a verifier key.
    #[error("the witness key: {0}")]
    Key(NoteError),
    /// The key to sign with is not a cosignature/v1 key.
    #[error("the witness key is not a cosignature/v1 key (algorithm 0x04), got 0x{algorithm:02x}")]
    KeyAlgorithm {
        /// Its algorithm byte.
        algorithm: u8,
    },
    /// The state holds a checkpoint of another origin: it is another chain's state.
    #[error("the state holds a checkpoint of {got:?}, not of {expected:?}")]
    StateOrigin {
        /// The state's origin.
        got: String,
        /// The witness's.
        expected: String,
    },
    /// Refused: the checkpoint is of another chain.
    #[error("refused (same origin): the checkpoint's origin is {got:?}, not {expected:?}")]
    Origin {
        /// The checkpoint's origin.
        got: String,
        /// The witness's.
        expected: String,
    },
    /// Refused: a signature by the log key does not verify, or the log key signed twice.
    #[error("refused (log signature): {0}")]
    LogSignature(NoteError),
    /// Refused: the note already carries this witness's signature line.
    #[error("refused (already cosigned): the note already carries a signature of {name}")]
    AlreadySigned {
        /// The witness key's name.
        name: String,
    },
    /// Refused: the witness's audit found that the sequencer equivocated.
    #[error("refused (no equivocation): the audit found {count} equivocation(s)")]
    Equivocation {
        /// How many.
        count: usize,
    },
    /// Refused: the checkpoint is larger than the witness's own main chain.
    #[error(
        "refused (own main chain): the checkpoint's size is {size}, but the audited main chain has {entries} entries"
    )]
    AboveChain {
        /// The checkpoint's size.
        size: u64,
        /// The witness's main-chain entries.
        entries: u64,
    },
    /// Refused: the tree of the witness's first `size` entries has another root.
    #[error(
        "refused (own root): the checkpoint's root is not the root of the tree of the audited main chain's first {size} entries"
    )]
    Root {
        /// The checkpoint's size.
        size: u64,
    },
    /// Refused: the witness already cosigned a larger checkpoint.
    #[error(
        "refused (never go back): the checkpoint's size is {size}, below the size {state} of the latest checkpoint cosigned"
    )]
    BelowState {
        /// The checkpoint's size.
        size: u64,
        /// The state's size.
        state: u64,
    },
    /// Refused: the witness cosigned a checkpoint of this size with another root.
    #[error(
        "refused (consistency): a checkpoint of size {size} with another root was cosigned before"
    )]
    OtherRoot {
        /// The size of both.
        size: u64,
    },
    /// Refused: the checkpoint's tree does not extend the latest one cosigned.
    #[error(
        "refused (consistency): the checkpoint of size {size} is not consistent with the one of size {state} cosigned before: {reason}"
    )]
    Inconsistent {
        /// The checkpoint's size.
        size: u64,
        /// The state's size.
        state: u64,
        /// Why the consistency proof fails.
        reason: ProofError,
    },
}

impl CosignError {
    /// Whether this is a refusal under SPEC §9.3 (input read, cosigning forbidden), not
    /// input that cannot be used (an unreadable note, a key of the wrong kind, a state of
    /// another chain).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Self::Unreadable { .. }
                | Self::Body(_)
                | Self::Key(_)
                | Self::KeyAlgorithm { .. }
                | Self::StateOrigin { .. }
        )
    }
}

/// A checkpoint the witness may cosign, and the note it came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignable {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The note as received, as a note (a body alone has no signatures).
    pub note: Note,
}

/// Reads `note` (a checkpoint body, or a signed note whose text is one) and decides
/// whether the witness `own` (its verifier key) may cosign it under SPEC §9.3, given
/// `view` of its own audit and `state`, the latest checkpoint it cosigned.
///
/// # Errors
/// [`CosignError`] naming the first rule that forbids it, in this order: the note and the
/// state are readable and the state is the witness's chain's, same origin, the log
/// signature (if any) verifies, not already cosigned by `own`, no equivocation, size
/// within its main chain, its own root, then the state: not smaller, same root at the
/// same size, consistent when larger.
pub fn check_cosignable(
    note: &str,
    view: &WitnessView<'_>,
    state: Option<&Checkpoint>,
    own: &VerifierKey,
) -> Result<Cosignable, CosignError> {
    if own.algorithm() != ALG_COSIGNATURE_V1 {
        return Err(CosignError::KeyAlgorithm {
            algorithm: own.algorithm(),
        });
    }
    let note = read_note(note)?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(CosignError::Body)?;
    if let Some(state) = state.filter(|s| s.origin != view.origin) {
        return Err(CosignError::StateOrigin {
            got: state.origin_shown(),
            expected: view.origin.to_owned(),
        });
    }
    if checkpoint.origin != view.origin {
        return Err(CosignError::Origin {
            got: checkpoint.origin_shown(),
            expected: view.origin.to_owned(),
        });
    }
    check_log_signature(&note, view)?;
    if note
        .signatures
        .iter()
        .any(|s| s.name == own.name() && s.id == own.id())
    {
        return Err(CosignError::AlreadySigned {
            name: own.name().to_owned(),
        });
    }
    check_own_chain(&checkpoint, view)?;
    if let Some(state) = state {
        check_state(&checkpoint, state, view.tree)?;
    }
    Ok(Cosignable { checkpoint, note })
}

/// Whether the descriptor's log key signed `note`: `Some(true)` when its signature is
/// there and verifies, `Some(false)` when the note has none, `None` when the descriptor
/// names no Ed25519 log key.
///
/// # Errors
/// [`CosignError::LogSignature`] when the log key's signature does not verify or is
/// there twice.
pub(super) fn check_log_signature(
    note: &Note,
    view: &WitnessView<'_>,
) -> Result<Option<bool>, CosignError> {
    let Some(log_key) = view.log_key.filter(|k| k.algorithm() == ALG_ED25519) else {
        return Ok(None);
    };
    let signed = note
        .verify(std::slice::from_ref(log_key))
        .map_err(CosignError::LogSignature)?;
    Ok(Some(signed.first().is_some_and(Option::is_some)))
}

/// The rules of the witness's own audit: no equivocation, the size within its main
/// chain, and the root of that many of its own entries.
pub(super) fn check_own_chain(
    checkpoint: &Checkpoint,
    view: &WitnessView<'_>,
) -> Result<(), CosignError> {
    if view.equivocations > 0 {
        return Err(CosignError::Equivocation {
            count: view.equivocations,
        });
    }
    let entries = view.tree.len();
    if checkpoint.size > entries {
        return Err(CosignError::AboveChain {
            size: checkpoint.size,
            entries,
        });
    }
    let root_error = || CosignError::Root {
        size: checkpoint.size,
    };
    let own_root = view.tree.root(checkpoint.size).map_err(|_| root_error())?;
    if own_root != checkpoint.root {
        return Err(root_error());
    }
    Ok(())
}

/// The state rules: never smaller, the same root at the same size, and a larger tree
/// consistent with the state's by a proof made from the witness's own log (whose first
/// `checkpoint.size` entries have the checkpoint's root: [`check_own_chain`]).
pub(super) fn check_state(
    checkpoint: &Checkpoint,
    state: &Checkpoint,
    own: &LogTree,
) -> Result<(), CosignError> {
    let (size, old) = (checkpoint.size, state.size);
    if size < old {
        return Err(CosignError::BelowState { size, state: old });
    }
    if size == old {
        if checkpoint.root != state.root {
            return Err(CosignError::OtherRoot { size });
        }
        return Ok(());
    }
    let inconsistent = |reason| CosignError::Inconsistent {
        size,
        state: old,
        reason,
    };
    let proof = own.consistency_proof(old, size).map_err(inconsistent)?;
    tree::verify_consistency(old, size, &state.root, &checkpoint.root, &proof).map_err(inconsistent)
}

/// A body alone, or a signed note.
fn read_note(text: &str) -> Result<Note, CosignError> {
    match Checkpoint::parse(text) {
        Ok(_) => Ok(Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        }),
        Err(body) => Note::parse(text).map_err(|note| CosignError::Unreadable { body, note }),
    }
}

/// A cosigned checkpoint: the output and the new state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The note with the witness's cosignature line appended after any it had (a body
    /// alone becomes the body, an empty line and the line).
    pub note: String,
    /// The witness's line.
    pub line: SignatureLine,
    /// The checkpoint, the witness's new state.
    pub checkpoint: Checkpoint,
}

/// Decides as [`check_cosignable`] and, when allowed, cosigns with `key` (whose
/// cosignature/v1 verifier key under `name` is the witness's) at `time` (Unix seconds).
///
/// # Errors
/// [`CosignError`] as [`check_cosignable`], and [`CosignError::Key`] when `name` is not a
/// key name.
pub fn cosign(
    note: &str,
    view: &WitnessView<'_>,
    state: Option<&Checkpoint>,
    name: &str,
    key: &ed25519_dalek::SigningKey,
    time: u64,
) -> Result<Cosigned, CosignError> {
    let own = VerifierKey::new(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes())
        .map_err(CosignError::Key)?;
    let Cosignable {
        checkpoint,
        mut note,
    } = check_cosignable(note, view, state, &own)?;
    let line = cosign_v1(&note.text, name, key, time);
    note.signatures.push(line.clone());
    Ok(Cosigned {
        note: note.to_text(),
        line,
        checkpoint,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::tlog::note::sign_ed25519;
    use crate::tlog::tree::{LogHash, leaf_hash};

    const ORIGIN: &str = "zipchain/abab";

    fn leaves(n: u8) -> Vec<LogHash> {
        (0..n).map(|i| leaf_hash(&[i; 64])).collect()
    }

    fn body(size: usize, leaves: &[LogHash]) -> String {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size: size as u64,
            root: tree::root(&leaves[..size]),
        }
        .to_body()
    }

    fn witness() -> (SigningKey, VerifierKey) {
        let key = SigningKey::from_bytes(&[7; 32]);
        let vkey = VerifierKey::new(
            "w.example",
            ALG_COSIGNATURE_V1,
            key.verifying_key().as_bytes(),
        )
        .unwrap();
        (key, vkey)
    }

    fn tree_of(leaves: &[LogHash]) -> LogTree {
        LogTree::from_leaves(leaves.iter().copied())
    }

    fn view(tree: &LogTree) -> WitnessView<'_> {
        WitnessView {
            origin: ORIGIN,
            tree,
            equivocations: 0,
            log_key: None,
        }
    }

    fn run(
        note: &str,
        view: &WitnessView<'_>,
        state: Option<&str>,
    ) -> Result<Cosigned, CosignError> {
        let state = state.map(|s| Checkpoint::parse(s).unwrap());
        let (key, _) = witness();
        cosign(note, view, state.as_ref(), "w.example", &key, 1_800_000_000)
    }

    #[test]
    fn a_body_of_its_own_chain_is_cosigned_and_the_line_verifies() {
        let l = leaves(5);
        let t = tree_of(&l);
        let b = body(5, &l);
        let out = run(&b, &view(&t), None).unwrap();
        assert!(out.note.starts_with(&format!("{b}\n\u{2014} w.example ")));
        assert_eq!(out.checkpoint, Checkpoint::parse(&b).unwrap());
        let (_, vkey) = witness();
        let note = Note::parse(&out.note).unwrap();
        assert_eq!(
            note.verify(&[vkey]).unwrap(),
            vec![Some(Some(1_800_000_000))]
        );
        // A prefix of its chain, and the same checkpoint again, are cosigned too.
        let state = body(3, &l);
        assert!(run(&body(5, &l), &view(&t), Some(&state)).is_ok());
        assert!(run(&b, &view(&t), Some(&b)).is_ok());
        assert!(run(&body(0, &l), &view(&t), None).is_ok());
    }

    #[test]
    fn the_line_is_appended_after_the_signatures_the_note_had() {
        let l = leaves(4);
        let t = tree_of(&l);
        let b = body(4, &l);
        let log = SigningKey::from_bytes(&[1; 32]);
        let log_vkey =
            VerifierKey::new(ORIGIN, ALG_ED25519, log.verifying_key().as_bytes()).unwrap();
        let other = SigningKey::from_bytes(&[2; 32]);
        let signed = Note {
            text: b.clone(),
            signatures: vec![
                sign_ed25519(&b, ORIGIN, &log),
                cosign_v1(&b, "other.example", &other, 5),
            ],
        }
        .to_text();
        let v = WitnessView {
            log_key: Some(&log_vkey),
            ..view(&t)
        };
        let out = run(&signed, &v, None).unwrap();
        assert_eq!(out.note, format!("{signed}{}", out.line.to_line()));
        // Once cosigned, the same note is not cosigned twice.
        assert!(matches!(
            run(&out.note, &v, None),
            Err(CosignError::AlreadySigned { .. })
        ));
        // A bad log signature is refused.
        let mut bad = Note::parse(&signed).unwrap();
        bad.signatures[0].signature[0] ^= 1;
        let err = run(&bad.to_text(), &v, None).unwrap_err();
        assert!(
            matches!(err, CosignError::LogSignature(_)) && err.is_refusal(),
            "{err}"
        );
    }

    #[test]
    fn every_rule_of_spec_9_3_refuses() {
        let l = leaves(6);
        let t = tree_of(&l);
        let v = view(&t);
        let mut other = body(6, &l).replacen(ORIGIN, "zipchain/cdcd", 1);
        let err = run(&other, &v, None).unwrap_err();
        assert!(
            matches!(err, CosignError::Origin { .. }) && err.is_refusal(),
            "{err}"
        );
        other = body(6, &l).replacen("\n6\n", "\n7\n", 1);
        assert_eq!(
            run(&other, &v, None),
            Err(CosignError::AboveChain {
                size: 7,
                entries: 6
            })
        );
        let wrong_root = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: 6,
            root: [9; 32],
        }
        .to_body();
        assert_eq!(
            run(&wrong_root, &v, None),
            Err(CosignError::Root { size: 6 })
        );
        let equivocated = WitnessView {
            equivocations: 1,
            ..v
        };
        assert_eq!(
            run(&body(6, &l), &equivocated, None),
            Err(CosignError::Equivocation { count: 1 })
        );
        // The state: smaller, the same size with another root, an inconsistent larger one.
        assert_eq!(
            run(&body(4, &l), &v, Some(&body(5, &l))),
            Err(CosignError::BelowState { size: 4, state: 5 })
        );
        let other_root = |size| {
            Checkpoint {
                origin: ORIGIN.to_owned(),
                size,
                root: [3; 32],
            }
            .to_body()
        };
        assert_eq!(
            run(&body(6, &l), &v, Some(&other_root(6))),
            Err(CosignError::OtherRoot { size: 6 })
        );
        let err = run(&body(6, &l), &v, Some(&other_root(3))).unwrap_err();
        assert!(
            matches!(
                err,
                CosignError::Inconsistent {
                    size: 6,
                    state: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.is_refusal());
    }

    #[test]
    fn unusable_input_is_not_a_refusal() {
        let l = leaves(2);
        let t = tree_of(&l);
        let v = view(&t);
        let mut state = body(2, &l).replacen(ORIGIN, "zipchain/cdcd", 1);
        let err = run(&body(2, &l), &v, Some(&state)).unwrap_err();
        assert!(matches!(err, CosignError::StateOrigin { .. }) && !err.is_refusal());
        state = format!("{}ext\n", body(2, &l));
        let err = run(&state, &v, None).unwrap_err();
        assert!(
            matches!(err, CosignError::Unreadable { .. }) && !err.is_refusal(),
            "{err}"
        );
        let err = run("not a note", &v, None).unwrap_err();
        assert!(!err.is_refusal(), "{err}");
        let ext = Note {
            text: format!("{}ext\n", body(2, &l)),
            signatures: vec![cosign_v1("x", "o", &SigningKey::from_bytes(&[2; 32]), 1)],
        };
        let err = run(&ext.to_text(), &v, None).unwrap_err();
        assert!(
            matches!(err, CosignError::Body(_)) && !err.is_refusal(),
            "{err}"
        );
        let (_, vkey) = witness();
        let note_key = VerifierKey::new("w", ALG_ED25519, &vkey.public_key()).unwrap();
        let err = check_cosignable(&body(2, &l), &v, None, &note_key).unwrap_err();
        assert!(matches!(err, CosignError::KeyAlgorithm { algorithm: 1 }));
    }
}
