//! `zipchain cosign NOTE --snapshot SNAPSHOT --chain chain.json --key KEYFILE --state FILE`
//! (SPEC §9.3, §9.6): audit the snapshot and cosign the checkpoint NOTE (a body, or a
//! signed note) with the witness key, only as SPEC §9.3 allows; the decision is the
//! core's ([`verifier_core::tlog::witness::cosign`]).
//!
//! The state file holds the body of the latest checkpoint this witness cosigned. It is
//! written atomically, and before the cosigned note is printed, so that no cosignature
//! leaves the process unless the state already records it. Stdout is exactly the note
//! with the witness's line appended; a refusal prints nothing there, names the rule on
//! stderr and exits 1. One `cosign` at a time per state file (docs/DECISIONS.md).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use verifier_core::tlog::checkpoint::origin;
use verifier_core::tlog::log;
use verifier_core::tlog::note::ALG_COSIGNATURE_V1;
use verifier_core::tlog::signer::SignerKey;
use verifier_core::tlog::witness::{WitnessView, cosign};

use crate::Outcome;
use crate::args::CosignArgs;
use crate::commands::audit::{load_auditor, run_audit};
use crate::cosigned;
use crate::input::{InputError, read_text};
use crate::report::{print_json, print_text};
use crate::snapshot::SnapshotInput;

pub(crate) fn run(args: CosignArgs) -> Result<Outcome, InputError> {
    let note = read_text(&args.note)?;
    let auditor = load_auditor(&args.chain, args.output.crypto)?;
    let key = SignerKey::parse(&read_text(&args.key)?, ALG_COSIGNATURE_V1)
        .map_err(|e| InputError::malformed(args.key.display().to_string(), e))?;
    let state = cosigned::read(&args.state)?;
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| InputError::malformed("the system clock", e))?
        .as_secs();

    let snapshot = SnapshotInput::open(&args.snapshot)?;
    let audit = run_audit(&auditor, &snapshot)?;
    let tree = log::tree(&audit.main_chain);
    let origin = origin(&auditor.genesis());
    let view = WitnessView {
        origin: &origin,
        tree: &tree,
        equivocations: audit.equivocations.len(),
        log_key: auditor.log_key(),
    };
    let cosigned = match cosign(
        &note,
        &view,
        state.as_ref(),
        key.name(),
        key.signing_key(),
        time,
    ) {
        Ok(cosigned) => cosigned,
        Err(e) if e.is_refusal() => {
            if args.output.json {
                print_json(&json!({ "cosigned": false, "reason": e.to_string() }));
            }
            eprintln!("zipchain: cosign: {e}");
            return Ok(Outcome::Invalid);
        }
        Err(e) => return Err(InputError::malformed(args.note.display().to_string(), e)),
    };
    if state.as_ref() != Some(&cosigned.checkpoint) {
        cosigned::write(&args.state, &cosigned.checkpoint)?;
    }
    if args.output.json {
        print_json(&json!({
            "cosigned": true,
            "origin": cosigned.checkpoint.origin,
            "size": cosigned.checkpoint.size,
            "time": time,
            "note": cosigned.note,
        }));
    } else {
        print_text(&cosigned.note);
    }
    Ok(Outcome::Valid)
}
