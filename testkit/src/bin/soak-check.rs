//! `soak-check`: checks the writer's promise after a soak (issue #18, `scripts/soak.sh`):
//! every acknowledged transaction final exactly once on the main chain of a snapshot
//! pulled from the six stores.
//!
//! `soak-check SNAPSHOT_DIR --chain chain.json --acked FILE`: audits the snapshot as
//! `zipchain audit` does (every signature checked, on all cores), reads the batches of its
//! main chain, and compares them with FILE, the acknowledged ids `zipchain-load finality
//! --acked-out` wrote (32 raw bytes each). Prints one JSON document: `acknowledged`,
//! `final`, `lost` and `duplicated` (counts, with the first ids of each), the main chain's
//! height and transactions, and the audit's invalid objects and equivocations. Exit
//! status: 0 when nothing is lost or duplicated and the audit is clean, 1 otherwise, 2
//! when the inputs cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use snapshot_fs::dir::DirSnapshot;
use verifier_core::chain::Auditor;
use verifier_core::hash::Hash32;
use verifier_core::trust::TrustDescriptor;
use zipchain_testkit::exactly_once;

/// How many ids of each list the report shows.
const SHOWN: usize = 10;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak-check: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let snapshot = PathBuf::from(
        args.first()
            .context("usage: soak-check SNAPSHOT_DIR --chain chain.json --acked FILE")?,
    );
    let chain = PathBuf::from(flag("--chain").ok_or_else(|| anyhow!("--chain chain.json"))?);
    let acked = PathBuf::from(flag("--acked").ok_or_else(|| anyhow!("--acked FILE"))?);

    let bytes = std::fs::read(&acked).with_context(|| acked.display().to_string())?;
    if bytes.len() % 32 != 0 {
        bail!(
            "{}: {} bytes, not a whole number of 32-byte ids",
            acked.display(),
            bytes.len()
        );
    }
    let ids = bytes.chunks_exact(32).map(|c| {
        let mut id = [0u8; 32];
        id.copy_from_slice(c);
        Hash32::from(id)
    });
    let text = std::fs::read_to_string(&chain).with_context(|| chain.display().to_string())?;
    let trust = TrustDescriptor::from_json(&text)?;
    let auditor = Auditor::new(&trust)?;
    let source = DirSnapshot::new(&snapshot);
    let audit = auditor
        .audit_source(&source, &mut |_, _| {})
        .map_err(|e| anyhow!("{e}"))?;
    let finality = exactly_once::check(&audit, &source, ids)?;
    let clean = audit.invalid_objects.is_empty() && audit.equivocations.is_empty();
    let report = json!({
        "acknowledged": finality.acknowledged,
        "final": finality.final_count,
        "lost": finality.lost.len(),
        "duplicated": finality.duplicated.len(),
        "lost_first": finality.lost.iter().take(SHOWN).collect::<Vec<_>>(),
        "duplicated_first": finality.duplicated.iter().take(SHOWN).collect::<Vec<_>>(),
        "main_chain_height": finality.height,
        "main_chain_transactions": finality.main_chain_transactions,
        "invalid_objects": audit.invalid_objects.len(),
        "equivocations": audit.equivocations.len(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(finality.holds() && clean)
}
