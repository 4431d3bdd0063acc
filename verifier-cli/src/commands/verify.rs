//! `zipchain verify SNAPSHOT --chain chain.json (--tx HEX | --data FILE) [-o cert.json]`
//! (SPEC §6): the seed's `verify()`: audit the snapshot and write the certificate of
//! a final transaction. Exit 1 when the transaction is not final.

use serde_json::json;
use verifier_core::certificate::make_certificate;
use verifier_core::hash::Hash32;

use crate::Outcome;
use crate::args::VerifyArgs;
use crate::commands::audit::{load_auditor, run_audit};
use crate::input::{InputError, read_bytes};
use crate::report::{print_json, print_text, rfc3339_seconds};
use crate::snapshot::SnapshotInput;

pub(crate) fn run(args: VerifyArgs) -> Result<Outcome, InputError> {
    let tx = match (&args.tx, &args.data) {
        (Some(hex), _) => Hash32::from_hex(hex).map_err(|e| InputError::malformed("--tx", e))?,
        (None, Some(path)) => Hash32::digest(&read_bytes(path)?),
        (None, None) => return Err(InputError::malformed("arguments", "give --tx or --data")),
    };
    let auditor = load_auditor(&args.chain)?;
    let snapshot = SnapshotInput::open(&args.snapshot)?;
    let audit = run_audit(&auditor, &snapshot)?;
    let cert = make_certificate(&auditor, &audit, &snapshot, &tx)
        .map_err(|e| InputError::malformed(args.snapshot.display().to_string(), e))?;
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
