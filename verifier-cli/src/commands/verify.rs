//! `zipchain verify SNAPSHOT --chain chain.json (--tx HEX | --data FILE) [-o cert.json]
//! [--checkpoint NOTE]` (SPEC §6, §9.6): the seed's `verify()`: audit the snapshot and
//! write the certificate of a final transaction. Exit 1 when the transaction is not
//! final, or when the snapshot proves that the sequencer equivocated (then nothing is
//! written). With `--checkpoint`, the certificate is a v2 one whose main-chain proof is
//! under that cosigned checkpoint ([`attach_main_chain`]); exit 1 when the checkpoint does
//! not cover the block or is not of the audited main chain.
//!
//! The certificate's objects are read from the snapshot a second time, after the audit;
//! the core hashes each against its name as it reads it
//! ([`verifier_core::certificate::certificate_for`]), so a file swapped in between is
//! refused, never certified.

use serde_json::json;
use verifier_core::certificate::{attach_main_chain, make_certificate};
use verifier_core::hash::Hash32;
use verifier_core::tlog::checkpoint::Checkpoint;
use verifier_core::tlog::log;
use verifier_core::tlog::note::Note;

use crate::Outcome;
use crate::args::VerifyArgs;
use crate::commands::audit::{load_auditor, run_audit};
use crate::input::{InputError, read_bytes, read_text};
use crate::report::{print_json, print_text, rfc3339_seconds};
use crate::snapshot::SnapshotInput;

pub(crate) fn run(args: VerifyArgs) -> Result<Outcome, InputError> {
    let tx = match (&args.tx, &args.data) {
        (Some(hex), _) => Hash32::from_hex(hex).map_err(|e| InputError::malformed("--tx", e))?,
        (None, Some(path)) => Hash32::digest(&read_bytes(path)?),
        (None, None) => return Err(InputError::malformed("arguments", "give --tx or --data")),
    };
    let auditor = load_auditor(&args.chain, args.output.crypto)?;
    let checkpoint = args.checkpoint.as_deref().map(read_note).transpose()?;
    let snapshot = SnapshotInput::open(&args.snapshot)?;
    let audit = run_audit(&auditor, &snapshot)?;
    let cert = match make_certificate(&auditor, &audit, &snapshot, &tx) {
        Ok(cert) => cert,
        // The snapshot proves the certificate could not be trusted: a verdict (exit 1).
        Err(e) if e.is_verdict() => {
            let reason = e.to_string();
            if args.output.json {
                print_json(&json!({
                    "found": false,
                    "tx": tx.to_hex(),
                    "reason": reason,
                    "equivocations": audit.equivocations,
                }));
            } else {
                print_text(&format!(
                    "Transaction {tx}: NO CERTIFICATE: {reason}\n{}",
                    audit
                        .equivocations
                        .iter()
                        .map(|e| format!(
                            "  k={}: attestations {}\n",
                            e.sequence,
                            e.attestations.join(", ")
                        ))
                        .collect::<String>()
                ));
            }
            return Ok(Outcome::Invalid);
        }
        Err(e) => {
            return Err(InputError::malformed(
                args.snapshot.display().to_string(),
                e,
            ));
        }
    };
    let Some(cert) = cert else {
        let reason = match audit.height() {
            None => "the snapshot has no main chain".to_owned(),
            Some(h) => format!("not in any final main-chain block (main chain height {h})"),
        };
        if args.output.json {
            print_json(&json!({ "found": false, "tx": tx.to_hex(), "reason": reason }));
        } else {
            print_text(&format!("Transaction {tx}: NOT FINAL: {reason}\n"));
        }
        return Ok(Outcome::Invalid);
    };
    let mut cert = cert;
    if let Some(note) = &checkpoint {
        if let Err(reason) = attach_main_chain(&mut cert, note, &log::leaves(&audit.main_chain)) {
            let reason = format!(
                "the checkpoint does not prove height {}: {reason}",
                cert.height
            );
            if args.output.json {
                print_json(&json!({ "found": false, "tx": tx.to_hex(), "reason": reason }));
            } else {
                print_text(&format!("Transaction {tx}: NO CERTIFICATE v2: {reason}\n"));
            }
            return Ok(Outcome::Invalid);
        }
    }
    let cert_json =
        serde_json::to_string_pretty(&cert).map_err(|e| InputError::malformed("certificate", e))?;
    match &args.output_file {
        None => {
            // The certificate is the one JSON document on stdout.
            print_text(&format!("{cert_json}\n"));
        }
        Some(path) => {
            std::fs::write(path, format!("{cert_json}\n")).map_err(|source| InputError::Read {
                path: path.clone(),
                source,
            })?;
            if args.output.json {
                print_json(&json!({
                    "found": true,
                    "tx": cert.tx,
                    "height": cert.height,
                    "sequence": cert.sequence,
                    "not_before": cert.not_before,
                    "not_after": cert.not_after,
                    "certificate": path.display().to_string(),
                }));
            } else {
                print_text(&format!(
                    "Transaction {}: FINAL at height {} (sequence number {})\n  between {} and {}\n  certificate written to {}\n",
                    cert.tx,
                    cert.height,
                    cert.sequence,
                    rfc3339_seconds(cert.not_before),
                    rfc3339_seconds(cert.not_after),
                    path.display()
                ));
            }
        }
    }
    Ok(Outcome::Valid)
}

/// Reads `--checkpoint`: a signed note whose text is a checkpoint body (exit 2 otherwise).
fn read_note(path: &std::path::Path) -> Result<String, InputError> {
    let text = read_text(path)?;
    let what = || path.display().to_string();
    let note = Note::parse(&text).map_err(|e| InputError::malformed(what(), e))?;
    Checkpoint::parse(&note.text).map_err(|e| InputError::malformed(what(), e))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use verifier_core::certificate::MakeCertificateError;
    use verifier_core::snapshot::ObjectKind;
    use zipchain_testkit::ChainKit;

    use super::*;

    /// A file swapped in the snapshot directory after the audit examined it (here, a
    /// block's timestamp replaced by another valid timestamp of the chain) is caught when
    /// the certificate reads it again: `verify` never certifies bytes the audit did not see.
    #[test]
    fn a_file_swapped_after_the_audit_is_refused_when_read_for_the_certificate() {
        let mut kit = ChainKit::new();
        let b0 = kit.genesis().clone();
        let b1 = kit.append(&b0, &[b"one"]);
        let b2 = kit.append(&b1, &[b"two"]);
        let dir = tempfile::tempdir().unwrap();
        kit.write_dir(dir.path()).unwrap();
        let auditor = kit.auditor();
        let snapshot = SnapshotInput::open(dir.path()).unwrap();
        let audit = run_audit(&auditor, &snapshot).unwrap();
        let tx = Hash32::digest(b"two");
        assert!(
            make_certificate(&auditor, &audit, &snapshot, &tx)
                .unwrap()
                .is_some()
        );

        let path = |kind: ObjectKind, key: &Hash32| dir.path().join(kind.dir()).join(key.to_hex());
        let upper = path(ObjectKind::Timestamp, &b2.timestamp);
        std::fs::copy(path(ObjectKind::Timestamp, &b1.timestamp), &upper).unwrap();
        let err = make_certificate(&auditor, &audit, &snapshot, &tx).unwrap_err();
        assert!(
            matches!(
                err,
                MakeCertificateError::Mismatch { kind: ObjectKind::Timestamp, key, got }
                    if key == b2.timestamp && got == b1.timestamp
            ),
            "{err}"
        );
        assert!(!err.is_verdict(), "an input error (exit 2), not a verdict");
    }
}
