//! Bench binary: a resumed audit (`zipchain audit --state`, issue #17) against a full
//! one, on one snapshot, in alternating rounds.
//!
//! `resume-bench SNAPSHOT_DIR --chain chain.json [--zipchain PATH] [--rounds N]
//! [--new-permille P] [--work DIR]`:
//!
//! 1. audits the snapshot in process to find its main chain, and takes the objects of
//!    its last P‰ blocks (block, timestamp, attestation, batch; default 10‰, so 1% of
//!    the objects) as the "new" ones;
//! 2. makes WORK/older, the snapshot without them (hard links, no copy), and a state of
//!    it: `zipchain audit WORK/older --state WORK/base` (timed: the first run with a
//!    state, a full audit that also writes the state);
//! 3. then, N times: a full `zipchain audit SNAPSHOT --json`, and a resumed one on the
//!    whole snapshot from a fresh copy of WORK/base (only the new objects are read and
//!    verified), each timed as a user sees it (wall time of the process, state load and
//!    save and the JSON output included) with its peak RSS (`/usr/bin/time`), the two
//!    outputs compared byte for byte; and prints each round's ratio and their median.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use snapshot_fs::dir::DirSnapshot;
use verifier_core::chain::Auditor;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use verifier_core::trust::TrustDescriptor;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let snapshot = PathBuf::from(args.first().context("SNAPSHOT_DIR")?);
    let chain = PathBuf::from(flag("--chain").ok_or_else(|| anyhow!("--chain chain.json"))?);
    let zipchain =
        PathBuf::from(flag("--zipchain").unwrap_or_else(|| "target/release/zipchain".into()));
    let rounds: usize = flag("--rounds").map_or(Ok(3), |n| n.parse())?;
    let permille: usize = flag("--new-permille").map_or(Ok(10), |n| n.parse())?;
    let work = PathBuf::from(flag("--work").unwrap_or_else(|| "/tmp/resume-bench".into()));

    let trust = TrustDescriptor::from_json(&std::fs::read_to_string(&chain)?)?;
    let auditor = Auditor::new(&trust)?;
    eprintln!(
        "auditing {} in process to find its main chain…",
        snapshot.display()
    );
    let audit = auditor
        .audit_source(&DirSnapshot::new(&snapshot), &mut |_, _| {})
        .map_err(|e| anyhow!("{e}"))?;
    let n = audit.main_chain.len();
    let take = (n * permille / 1000).max(1);
    let mut newer: Vec<(ObjectKind, Hash32)> = Vec::new();
    for b in audit.main_chain.iter().skip(n - take) {
        newer.push((ObjectKind::Block, b.block));
        newer.push((ObjectKind::Timestamp, b.timestamp));
        newer.push((ObjectKind::Attestation, b.attestation));
        newer.push((ObjectKind::Batch, b.batch_root));
    }
    let newer: std::collections::HashSet<(ObjectKind, Hash32)> = newer.into_iter().collect();
    drop(audit);

    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("{}", work.display()))?;
    }
    let older = work.join("older");
    let mut total = 0usize;
    for kind in ObjectKind::ALL {
        let from = snapshot.join(kind.dir());
        let to = older.join(kind.dir());
        std::fs::create_dir_all(&to)?;
        for entry in std::fs::read_dir(&from)? {
            let entry = entry?;
            let name = entry.file_name();
            total += 1;
            let key = name.to_str().and_then(|s| Hash32::from_hex(s).ok());
            if key.is_some_and(|k| newer.contains(&(kind, k))) {
                continue;
            }
            std::fs::hard_link(entry.path(), to.join(&name))?;
        }
    }
    println!(
        "snapshot: {} objects, {} main-chain blocks; new: the last {take} blocks' {} objects ({:.2}%)",
        total,
        n,
        newer.len(),
        100.0 * newer.len() as f64 / total as f64
    );

    let base = work.join("base");
    let (first, rss) = timed(&zipchain, &older, &chain, Some(&base))?;
    println!(
        "first run with a state (everything new), on the older snapshot: {:.2} s, peak RSS {} MB",
        first.0.as_secs_f64(),
        rss / 1024
    );

    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let ((full, full_out), full_rss) = timed(&zipchain, &snapshot, &chain, None)?;
        let state = work.join("state");
        if state.exists() {
            std::fs::remove_dir_all(&state)?;
        }
        std::fs::create_dir_all(&state)?;
        for entry in std::fs::read_dir(&base)? {
            let entry = entry?;
            std::fs::copy(entry.path(), state.join(entry.file_name()))?;
        }
        let ((resumed, resumed_out), resumed_rss) =
            timed(&zipchain, &snapshot, &chain, Some(&state))?;
        if resumed_out != full_out {
            bail!("round {round}: the resumed audit's output differs from the full audit's");
        }
        let ratio = resumed.as_secs_f64() / full.as_secs_f64();
        ratios.push(ratio);
        println!(
            "round {round}: full {:.2} s ({} MB), resumed {:.3} s ({} MB), resumed/full {:.4}, outputs identical",
            full.as_secs_f64(),
            full_rss / 1024,
            resumed.as_secs_f64(),
            resumed_rss / 1024,
            ratio
        );
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!(
            "median resumed/full over {rounds} rounds: {median:.4} (largest {:.4})",
            ratios.last().copied().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}

/// Runs `zipchain audit SNAP --chain CHAIN --json [--state STATE]` under `/usr/bin/time`:
/// wall time, stdout, and peak RSS in KiB.
fn timed(
    zipchain: &Path,
    snap: &Path,
    chain: &Path,
    state: Option<&Path>,
) -> Result<((Duration, Vec<u8>), u64)> {
    let rss_file = std::env::temp_dir().join("resume-bench.rss");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(zipchain);
    cmd.arg("audit")
        .arg(snap)
        .arg("--chain")
        .arg(chain)
        .arg("--json");
    if let Some(state) = state {
        cmd.arg("--state").arg(state);
    }
    let start = Instant::now();
    let out = cmd.stderr(Stdio::null()).output()?;
    let took = start.elapsed();
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!("zipchain audit failed: {:?}", out.status);
    }
    let rss: u64 = std::fs::read_to_string(&rss_file)?
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0);
    Ok(((took, out.stdout), rss))
}
