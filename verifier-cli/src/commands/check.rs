//! `zipchain check cert.json --chain chain.json [--snapshot SNAPSHOT]` (SPEC §6, §3, §9.5).
//!
//! A certificate v2 checked offline whose `main_chain_proof` passed heads its verdict with
//! that check's detail, which names the witnesses that vouched and the quorum:
//! `Certificate: VALID — FINAL on the main chain at height 17 (2 of 3 witnesses: …; quorum 2)`.

use verifier_core::certificate::{check_certificate, check_certificate_with_snapshot};

use crate::Outcome;
use crate::args::CheckArgs;
use crate::commands::audit::{load_auditor, run_audit};
use crate::input::{InputError, read_text};
use crate::report::{check_line, print_json, print_text, rfc3339_seconds};
use crate::snapshot::SnapshotInput;

pub(crate) fn run(args: CheckArgs) -> Result<Outcome, InputError> {
    let text = read_text(&args.certificate)?;
    // Text that is not JSON at all is unreadable input (exit 2); JSON that is not a
    // valid certificate is a verdict (exit 1).
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| InputError::malformed(args.certificate.display().to_string(), e))?;
    let auditor = load_auditor(&args.chain, args.output.crypto)?;
    let verdict = match &args.snapshot {
        Some(path) => {
            let snapshot = SnapshotInput::open(path)?;
            let audit = run_audit(&auditor, &snapshot)?;
            // The block's batch is read from the snapshot again and hashed against its
            // name by the core: the leaf position is the batch's, not the certificate's.
            check_certificate_with_snapshot(&text, &auditor, &audit, &snapshot)
        }
        None => check_certificate(&text, &auditor, None),
    };
    if args.output.json {
        print_json(&verdict);
    } else {
        // The core's words for a passed main-chain proof, when there is one.
        let proof = verdict
            .main_chain_proof
            .as_ref()
            .and_then(|_| {
                verdict
                    .checks
                    .iter()
                    .find(|c| c.name == "main_chain_proof" && c.ok)
            })
            .map(|c| format!(" \u{2014} {}", c.detail))
            .unwrap_or_default();
        let mut t = format!(
            "Certificate: {}{proof}\n",
            if verdict.valid { "VALID" } else { "INVALID" }
        );
        if let (Some(tx), Some(h)) = (&verdict.tx, verdict.height) {
            t.push_str(&format!("  transaction  {tx}\n  height       {h}\n"));
        }
        if let (Some(a), Some(b)) = (verdict.not_before, verdict.not_after) {
            t.push_str(&format!(
                "  final between {} and {}\n",
                rfc3339_seconds(a),
                rfc3339_seconds(b)
            ));
        }
        if !verdict.main_chain_checked {
            t.push_str("  main-chain position NOT checked (give --snapshot to check it)\n");
        }
        if verdict.position_unproven() {
            t.push_str(if args.snapshot.is_some() {
                "  position within the block NOT proven (see the inclusion check)\n"
            } else {
                "  position within the block NOT proven (give --snapshot to check it against the block's batch)\n"
            });
        }
        t.push_str("Checks:\n");
        for c in &verdict.checks {
            t.push_str(&check_line(c.name, c.ok, &c.detail));
        }
        print_text(&t);
    }
    Ok(if verdict.valid {
        Outcome::Valid
    } else {
        Outcome::Invalid
    })
}
