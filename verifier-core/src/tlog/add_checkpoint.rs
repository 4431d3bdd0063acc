//! C2SP tlog-witness `add-checkpoint` (SPEC §9.6): the request body, read strictly, and
//! the witness's answer to it, the C2SP checks first and then SPEC §9.3's, each refusal
//! with the HTTP status C2SP (or this project, where C2SP is silent) gives it.
//!
//! The body is `old <size>\n`, at most [`MAX_PROOF_LINES`] lines of one standard base64
//! hash each, an empty line, then the checkpoint as a signed note. The order of the
//! checks is C2SP's: the origin (`404`), the log's signature (`403`), the old size
//! against the checkpoint's (`400`) and against the size the witness holds (`409`, whose
//! body is the held size), the consistency proof (`422`) or, at the held size, the same
//! root (`409`); then the witness's own audit: no equivocation (`422`), caught up to the
//! checkpoint's size (`503`: the face pulls, audits and asks again), and its own root at
//! that size (`422`). [`add_checkpoint`] decides and cosigns; the face reads the body,
//! keeps the held checkpoint (persisted before it answers `200`) and one request of an
//! origin at a time, reads the clock, and renders the answer.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::checkpoint::{Checkpoint, CheckpointError, parse_size};
use super::note::{MAX_NOTE_LEN, Note, NoteError, SignatureLine, cosign_v1};
use super::tree::{self, LogHash, ProofError};
use super::witness::{CosignError, WitnessView, check_log_signature, check_own_chain, check_state};

/// The most consistency-proof lines a request may carry (C2SP: a client sends at most 63).
pub const MAX_PROOF_LINES: usize = 63;

/// The most bytes of a request body: a note of [`MAX_NOTE_LEN`], the old-size line and
/// [`MAX_PROOF_LINES`] proof lines (45 bytes each) with room to spare.
pub const MAX_REQUEST_LEN: usize = MAX_NOTE_LEN + 4096;

/// Why a request body is not an `add-checkpoint` request (`400`).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is longer than [`MAX_REQUEST_LEN`].
    #[error("the body has {len} bytes, more than {MAX_REQUEST_LEN}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The body is not UTF-8.
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    /// The first line is not `old <size>` (decimal, no leading zeros).
    #[error("the first line is not \"old <size>\" with a decimal size without leading zeros")]
    OldLine,
    /// A proof line is not the standard padded base64 of 32 bytes.
    #[error("consistency proof line {line} is not the standard base64 of a 32-byte hash")]
    ProofLine {
        /// Its number among the proof lines, from 1.
        line: usize,
    },
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// No empty line ends the proof.
    #[error("no empty line between the consistency proof and the checkpoint")]
    NoEmptyLine,
    /// What follows the empty line is not a signed note.
    #[error("the checkpoint is not a signed note: {0}")]
    Note(NoteError),
    /// The note's text is not a checkpoint body (SPEC §9.2: no extension lines).
    #[error("the note's text is not a checkpoint body: {0}")]
    Body(CheckpointError),
    /// The old size is above the checkpoint's size.
    #[error("the old size {old} is above the checkpoint's size {size}")]
    OldAboveSize {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
}

/// An `add-checkpoint` request, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the latest checkpoint the client believes the witness cosigned.
    pub old: u64,
    /// The RFC 9162 consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<LogHash>,
    /// The signed note.
    pub note: Note,
    /// Its text, read as a checkpoint.
    pub checkpoint: Checkpoint,
}

impl AddCheckpoint {
    /// Reads a request body strictly (C2SP tlog-witness): every line ends in `\n`.
    ///
    /// # Errors
    /// [`RequestError`] naming the first thing wrong.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(RequestError::TooLong { len: body.len() });
        }
        let text = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
        let (first, mut rest) = text.split_once('\n').ok_or(RequestError::OldLine)?;
        let old = first
            .strip_prefix("old ")
            .and_then(parse_size)
            .ok_or(RequestError::OldLine)?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(RequestError::NoEmptyLine)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let hash: LogHash = STANDARD
                .decode(line)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(RequestError::ProofLine {
                    line: proof.len() + 1,
                })?;
            proof.push(hash);
        }
        let note = Note::parse(rest).map_err(RequestError::Note)?;
        let checkpoint = Checkpoint::parse(&note.text).map_err(RequestError::Body)?;
        // An old size above the checkpoint's is refused by `check_add_checkpoint`, after
        // the origin and the signature, in C2SP's order.
        Ok(Self {
            old,
            proof,
            note,
            checkpoint,
        })
    }

    /// The request body: `old <size>`, the proof lines, an empty line, the note.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old);
        for hash in &self.proof {
            body.push_str(&STANDARD.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.note.to_text());
        body
    }
}

/// Why the witness does not cosign, with the status it answers ([`Refusal::status`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `400`: the body is not a request.
    #[error("malformed request: {0}")]
    Malformed(RequestError),
    /// `404`: the witness does not witness this origin.
    #[error("unknown origin {origin:?}")]
    UnknownOrigin {
        /// The checkpoint's origin.
        origin: String,
    },
    /// `403`: the log key's signature is not on the note.
    #[error("the checkpoint is not signed by the log key {name}")]
    NotSignedByLog {
        /// The log key's name.
        name: String,
    },
    /// `403`: the log key's signature does not verify (or is there twice).
    #[error("the log signature does not verify: {0}")]
    LogSignature(NoteError),
    /// `409`: the old size is not the size of the latest checkpoint cosigned.
    #[error("the old size {old} is not {held}, the size of the latest checkpoint cosigned")]
    OldSize {
        /// The request's old size.
        old: u64,
        /// The size the witness holds.
        held: u64,
    },
    /// `409`: a checkpoint of this size with another root was cosigned.
    #[error("a checkpoint of size {size} with another root was cosigned")]
    OtherRoot {
        /// The size of both.
        size: u64,
    },
    /// `422`: the consistency proof does not verify.
    #[error("the consistency proof from size {old} to {size} does not verify: {reason}")]
    Proof {
        /// The old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
        /// Why.
        reason: ProofError,
    },
    /// `422`: the witness's audit found that the sequencer equivocated.
    #[error("the witness's audit found {count} equivocation(s)")]
    Equivocation {
        /// How many.
        count: usize,
    },
    /// `503`: the witness's audited main chain is shorter than the checkpoint.
    #[error(
        "the witness has audited {entries} main-chain entries, fewer than the checkpoint's {size}"
    )]
    Behind {
        /// The checkpoint's size.
        size: u64,
        /// The witness's main-chain entries.
        entries: u64,
    },
    /// `422`: the checkpoint's root is not the root of the witness's own main chain.
    #[error(
        "the checkpoint's root is not the root of the witness's audited main chain of {size} entries"
    )]
    Root {
        /// The checkpoint's size.
        size: u64,
    },
    /// `422`: the checkpoint is not consistent with the one held, by the witness's own
    /// log (only when the held checkpoint is not of the witness's own chain).
    #[error("{0}")]
    State(CosignError),
}

impl Refusal {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::UnknownOrigin { .. } => 404,
            Self::NotSignedByLog { .. } | Self::LogSignature(_) => 403,
            Self::OldSize { .. } | Self::OtherRoot { .. } => 409,
            Self::Behind { .. } => 503,
            Self::Proof { .. } | Self::Equivocation { .. } | Self::Root { .. } | Self::State(_) => {
                422
            }
        }
    }

    /// A short stable name of the reason (a metrics label).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnknownOrigin { .. } => "unknown_origin",
            Self::NotSignedByLog { .. } => "not_signed_by_log",
            Self::LogSignature(_) => "log_signature",
            Self::OldSize { .. } => "old_size",
            Self::OtherRoot { .. } => "other_root",
            Self::Proof { .. } => "consistency_proof",
            Self::Equivocation { .. } => "equivocation",
            Self::Behind { .. } => "behind",
            Self::Root { .. } => "root",
            Self::State(_) => "inconsistent_with_held",
        }
    }

    /// For a `409`, the size the witness holds (the answer's body).
    pub fn held_size(&self) -> Option<u64> {
        match self {
            Self::OldSize { held, .. } => Some(*held),
            Self::OtherRoot { size } => Some(*size),
            _ => None,
        }
    }
}

/// Decides whether the witness with `view` of its own audit, holding `held` (the latest
/// checkpoint of `view.origin` it cosigned, `None` before the first), may cosign the
/// request's checkpoint.
///
/// The descriptor's log key, when it names one, must have signed the note; a descriptor
/// without one (v1) leaves the witness's own audit as the only check of the checkpoint
/// (docs/DECISIONS.md).
///
/// # Errors
/// The first [`Refusal`], in the order of the module docs.
pub fn check_add_checkpoint(
    request: &AddCheckpoint,
    view: &WitnessView<'_>,
    held: Option<&Checkpoint>,
) -> Result<(), Refusal> {
    let AddCheckpoint {
        old,
        proof,
        note,
        checkpoint,
    } = request;
    if checkpoint.origin != view.origin {
        return Err(Refusal::UnknownOrigin {
            origin: checkpoint.origin_shown(),
        });
    }
    match check_log_signature(note, view) {
        Ok(Some(false)) => {
            return Err(Refusal::NotSignedByLog {
                name: view
                    .log_key
                    .map(|k| k.name().to_owned())
                    .unwrap_or_default(),
            });
        }
        Ok(_) => {}
        Err(CosignError::LogSignature(e)) => return Err(Refusal::LogSignature(e)),
        Err(e) => return Err(Refusal::State(e)),
    }
    if *old > checkpoint.size {
        return Err(Refusal::Malformed(RequestError::OldAboveSize {
            old: *old,
            size: checkpoint.size,
        }));
    }
    let (held_size, held_root) = match held {
        Some(h) => (h.size, h.root),
        None => (0, tree::root(&[])),
    };
    if *old != held_size {
        return Err(Refusal::OldSize {
            old: *old,
            held: held_size,
        });
    }
    if checkpoint.size == held_size && checkpoint.root != held_root {
        return Err(Refusal::OtherRoot {
            size: checkpoint.size,
        });
    }
    tree::verify_consistency(*old, checkpoint.size, &held_root, &checkpoint.root, proof).map_err(
        |reason| Refusal::Proof {
            old: *old,
            size: checkpoint.size,
            reason,
        },
    )?;
    check_own_chain(checkpoint, view).map_err(|e| match e {
        CosignError::Equivocation { count } => Refusal::Equivocation { count },
        CosignError::AboveChain { size, entries } => Refusal::Behind { size, entries },
        CosignError::Root { size } => Refusal::Root { size },
        other => Refusal::State(other),
    })?;
    if let Some(held) = held {
        check_state(checkpoint, held, view.tree).map_err(Refusal::State)?;
    }
    Ok(())
}

/// Decides as [`check_add_checkpoint`] and, when allowed, returns the witness's
/// tlog-cosignature/v1 line on the checkpoint (the `200` answer's body is
/// [`SignatureLine::to_line`]), signed with `key` under `name` at `time` (Unix seconds).
/// The caller persists the checkpoint as the one it holds before it answers.
///
/// # Errors
/// The first [`Refusal`].
pub fn add_checkpoint(
    request: &AddCheckpoint,
    view: &WitnessView<'_>,
    held: Option<&Checkpoint>,
    name: &str,
    key: &ed25519_dalek::SigningKey,
    time: u64,
) -> Result<SignatureLine, Refusal> {
    check_add_checkpoint(request, view, held)?;
    Ok(cosign_v1(&request.note.text, name, key, time))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::tlog::note::{ALG_COSIGNATURE_V1, ALG_ED25519, VerifierKey, sign_ed25519};
    use crate::tlog::tree::{LogTree, leaf_hash};

    const ORIGIN: &str = "zipchain/abab";

    fn log_key() -> SigningKey {
        SigningKey::from_bytes(&[1; 32])
    }

    fn log_vkey() -> VerifierKey {
        VerifierKey::new(ORIGIN, ALG_ED25519, log_key().verifying_key().as_bytes()).unwrap()
    }

    fn tree(n: u8) -> LogTree {
        LogTree::from_leaves((0..n).map(|i| leaf_hash(&[i; 64])))
    }

    fn checkpoint(tree: &LogTree, size: u64) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root: tree.root(size).unwrap(),
        }
    }

    /// The request from `old` to `size` of `tree`, signed by the log key.
    fn request(tree: &LogTree, old: u64, size: u64) -> AddCheckpoint {
        let text = checkpoint(tree, size).to_body();
        let note = Note {
            signatures: vec![sign_ed25519(&text, ORIGIN, &log_key())],
            text,
        };
        AddCheckpoint {
            old,
            proof: tree.consistency_proof(old, size).unwrap(),
            checkpoint: Checkpoint::parse(&note.text).unwrap(),
            note,
        }
    }

    /// The view of a witness whose audit of `own` found `equivocations`.
    fn view<'a>(
        own: &'a LogTree,
        log_key: Option<&'a VerifierKey>,
        equivocations: usize,
    ) -> WitnessView<'a> {
        WitnessView {
            origin: ORIGIN,
            tree: own,
            equivocations,
            log_key,
        }
    }

    fn decide(
        request: &AddCheckpoint,
        own: &LogTree,
        held: Option<&Checkpoint>,
    ) -> Result<(), Refusal> {
        let key = log_vkey();
        check_add_checkpoint(request, &view(own, Some(&key), 0), held)
    }

    #[test]
    fn the_c2sp_example_body_is_read_and_written_back() {
        // The example request of C2SP tlog-witness, byte for byte.
        let body = "old 20852014\n\
            PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
            jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
            5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
            /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
            \n\
            example.com/behind-the-sofa\n\
            20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
            \n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
            \u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
        let r = AddCheckpoint::parse(body.as_bytes()).unwrap();
        assert_eq!((r.old, r.proof.len()), (20_852_014, 4));
        assert_eq!(r.checkpoint.size, 20_852_163);
        assert_eq!(r.note.signatures.len(), 2);
        assert_eq!(r.to_body(), body);
        // Without a proof (old 0): the empty line follows the old-size line at once.
        let t = tree(3);
        let r = request(&t, 0, 3);
        let body = r.to_body();
        assert!(
            body.starts_with(&format!("old 0\n\n{ORIGIN}\n3\n")),
            "{body}"
        );
        assert_eq!(AddCheckpoint::parse(body.as_bytes()), Ok(r));
    }

    #[test]
    fn malformed_bodies_are_named() {
        let t = tree(8);
        let good = request(&t, 3, 8).to_body();
        let proof_line = STANDARD.encode([5u8; 32]);
        let cases: Vec<(Vec<u8>, RequestError)> = vec![
            (
                vec![b'x'; MAX_REQUEST_LEN + 1],
                RequestError::TooLong {
                    len: MAX_REQUEST_LEN + 1,
                },
            ),
            (vec![0xff, b'\n'], RequestError::NotUtf8),
            (
                good.replacen("old 3", "old 03", 1).into(),
                RequestError::OldLine,
            ),
            (
                good.replacen("old 3", "old  3", 1).into(),
                RequestError::OldLine,
            ),
            (
                good.replacen("old 3", "Old 3", 1).into(),
                RequestError::OldLine,
            ),
            (b"old 3".to_vec(), RequestError::OldLine),
            (
                good.replacen("old 3\n", "old 3\nAAAA\n", 1).into(),
                RequestError::ProofLine { line: 1 },
            ),
            (
                good.replacen(
                    "old 3\n",
                    &format!("old 3\n{}\n", proof_line.trim_end_matches('=')),
                    1,
                )
                .into(),
                RequestError::ProofLine { line: 1 },
            ),
            (
                format!("old 3\n{}", format!("{proof_line}\n").repeat(64)).into(),
                RequestError::TooManyProofLines,
            ),
            (
                format!("old 3\n{proof_line}\n").into(),
                RequestError::NoEmptyLine,
            ),
            (
                format!("old 3\n\n{}", checkpoint(&t, 8).to_body()).into(),
                RequestError::Note(NoteError::Malformed("no empty line before the signatures")),
            ),
        ];
        for (body, expected) in cases {
            let got = AddCheckpoint::parse(&body);
            let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            match (&got, &expected) {
                (Err(RequestError::Note(_)), RequestError::Note(_)) => {}
                _ => assert_eq!(got, Err(expected), "{shown:?}"),
            }
        }
        // Extension lines make it no zipchain checkpoint.
        let text = format!("{}ext\n", checkpoint(&t, 8).to_body());
        let note = Note {
            signatures: vec![sign_ed25519(&text, ORIGIN, &log_key())],
            text,
        };
        let body = format!("old 0\n\n{}", note.to_text());
        assert!(matches!(
            AddCheckpoint::parse(body.as_bytes()),
            Err(RequestError::Body(_))
        ));
        // 63 proof lines are allowed.
        let body = format!(
            "old 3\n{}\n{}",
            format!("{proof_line}\n").repeat(63),
            request(&t, 3, 8).note.to_text()
        );
        assert_eq!(
            AddCheckpoint::parse(body.as_bytes()).unwrap().proof.len(),
            63
        );
    }

    #[test]
    fn a_request_of_its_own_chain_is_cosigned_and_the_line_verifies() {
        let own = tree(9);
        let witness = SigningKey::from_bytes(&[7; 32]);
        let key = log_vkey();
        let r = request(&own, 0, 5);
        let line = add_checkpoint(
            &r,
            &view(&own, Some(&key), 0),
            None,
            "w.example",
            &witness,
            1_800_000_000,
        )
        .unwrap();
        let wkey = VerifierKey::new(
            "w.example",
            ALG_COSIGNATURE_V1,
            witness.verifying_key().as_bytes(),
        )
        .unwrap();
        let mut note = r.note.clone();
        note.signatures.push(line);
        assert_eq!(
            note.verify(&[wkey]).unwrap(),
            vec![Some(Some(1_800_000_000))]
        );
        // Then from 5 to 9, and 9 again at 9 (the same checkpoint).
        let held = checkpoint(&own, 5);
        assert_eq!(decide(&request(&own, 5, 9), &own, Some(&held)), Ok(()));
        let held = checkpoint(&own, 9);
        assert_eq!(decide(&request(&own, 9, 9), &own, Some(&held)), Ok(()));
        // Size 0 from nothing.
        assert_eq!(decide(&request(&own, 0, 0), &own, None), Ok(()));
    }

    #[test]
    fn every_refusal_has_its_status() {
        let own = tree(9);
        let held = checkpoint(&own, 5);
        let status = |r: Result<(), Refusal>| r.map_err(|e| (e.status(), e.reason()));

        // 404: another origin (signed by that origin's key).
        let mut r = request(&own, 5, 9);
        r.checkpoint.origin = "zipchain/cdcd".into();
        assert_eq!(
            status(decide(&r, &own, Some(&held))),
            Err((404, "unknown_origin"))
        );

        // 403: no log signature, or a bad one.
        let mut r = request(&own, 5, 9);
        r.note.signatures[0] =
            sign_ed25519(&r.note.text, "other", &SigningKey::from_bytes(&[3; 32]));
        assert_eq!(
            status(decide(&r, &own, Some(&held))),
            Err((403, "not_signed_by_log"))
        );
        let mut r = request(&own, 5, 9);
        r.note.signatures[0].signature[0] ^= 1;
        assert_eq!(
            status(decide(&r, &own, Some(&held))),
            Err((403, "log_signature"))
        );

        // 409: another old size (the answer names the held size), the held size with
        // another root.
        let err = decide(&request(&own, 3, 9), &own, Some(&held)).unwrap_err();
        assert_eq!((err.status(), err.held_size()), (409, Some(5)));
        let err = decide(&request(&own, 0, 9), &own, None).err();
        assert_eq!(err, None);
        let err = decide(&request(&own, 3, 9), &own, None).unwrap_err();
        assert_eq!((err.status(), err.held_size()), (409, Some(0)));
        let forked = LogTree::from_leaves((0..9u8).map(|i| leaf_hash(&[i ^ 0x80; 64])));
        let err = decide(&request(&forked, 5, 5), &own, Some(&held)).unwrap_err();
        assert_eq!((err.status(), err.held_size()), (409, Some(5)));

        // 422: a proof that does not verify, one too short, one from 0.
        let mut r = request(&own, 5, 9);
        r.proof[0][0] ^= 1;
        assert_eq!(
            status(decide(&r, &own, Some(&held))),
            Err((422, "consistency_proof"))
        );
        let mut r = request(&own, 5, 9);
        r.proof.pop();
        assert_eq!(
            status(decide(&r, &own, Some(&held))),
            Err((422, "consistency_proof"))
        );
        let mut r = request(&own, 0, 9);
        r.proof = request(&own, 5, 9).proof;
        assert_eq!(
            status(decide(&r, &own, None)),
            Err((422, "consistency_proof"))
        );

        // 422: a tree consistent with the held one that is not the witness's own.
        let mut leaves: Vec<LogHash> = own.leaves()[..5].to_vec();
        leaves.extend((0..4u8).map(|i| leaf_hash(&[i ^ 0x40; 64])));
        let theirs = LogTree::from_leaves(leaves);
        assert_eq!(
            status(decide(&request(&theirs, 5, 9), &own, Some(&held))),
            Err((422, "root"))
        );

        // 503: above the witness's audited main chain.
        let longer = tree(12);
        let err = decide(&request(&longer, 5, 12), &own, Some(&held)).unwrap_err();
        assert_eq!(
            err,
            Refusal::Behind {
                size: 12,
                entries: 9
            }
        );
        assert_eq!(err.status(), 503);

        // 422: equivocation, before anything about the size.
        let key = log_vkey();
        let equivocated = view(&own, Some(&key), 2);
        let err =
            check_add_checkpoint(&request(&longer, 5, 12), &equivocated, Some(&held)).unwrap_err();
        assert_eq!((err.status(), err.reason()), (422, "equivocation"));

        // 400: an old size above the checkpoint's (read, then refused after the origin
        // and the signature).
        let mut body = request(&own, 5, 9).to_body();
        body = body.replacen("old 5\n", "old 10\n", 1);
        let r = AddCheckpoint::parse(body.as_bytes()).unwrap();
        assert_eq!(
            status(decide(&r, &own, Some(&held))),
            Err((400, "malformed"))
        );
    }

    #[test]
    fn without_a_log_key_the_own_audit_decides() {
        let own = tree(4);
        let view = view(&own, None, 0);
        let mut r = request(&own, 0, 4);
        r.note.signatures[0] =
            sign_ed25519(&r.note.text, "anyone", &SigningKey::from_bytes(&[3; 32]));
        assert_eq!(check_add_checkpoint(&r, &view, None), Ok(()));
        let mut r = request(&tree(6), 0, 4);
        r.checkpoint.root = [1; 32];
        assert_eq!(
            check_add_checkpoint(&r, &view, None).map_err(|e| e.status()),
            Err(422)
        );
    }
}
