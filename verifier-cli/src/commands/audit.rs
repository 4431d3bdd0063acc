//! `zipchain audit SNAPSHOT --chain chain.json [--strict] [--checkpoint-out FILE]` (SPEC
//! §6, §9.6): verify every object, run `omc`, report the main chain, forks, invalid
//! objects, gaps and equivocation; with `--checkpoint-out`, also write the checkpoint body
//! of the main chain's log (SPEC §9.2), atomically.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use snapshot_fs::audit_state::StateDir;
use verifier_core::chain::{Audit, AuditReport, Auditor, ChainEnd, ResumableAudit, ResumeError};
use verifier_core::trust::TrustDescriptor;
use verifier_core::verdict::audit::{KeyCase, SpecFields};

use crate::Outcome;
use crate::args::{AuditArgs, CryptoArg};
use crate::input::{InputError, read_text};
use crate::report::{print_json, print_text, rfc3339_seconds};
use crate::snapshot::SnapshotInput;
use snapshot_fs::atomic::write_atomic;
use verifier_core::tlog::log;

pub(crate) fn run(args: AuditArgs) -> Result<Outcome, InputError> {
    let auditor = load_auditor(&args.chain, args.output.crypto)?;
    let snapshot = SnapshotInput::open(&args.snapshot)?;
    let kept;
    let full;
    let audit = match &args.state {
        Some(dir) => {
            kept = resume_audit(&auditor, &snapshot, dir, args.rebuild_state)?;
            kept.audit()
        }
        None => {
            full = run_audit(&auditor, &snapshot)?;
            &full
        }
    };
    // SPEC §6's fields and the summary's: not the main chain's list.
    let report = audit.report_summary();
    let failed = audit.fails(args.strict);
    let mut checkpoint_line = String::new();
    if let Some(path) = &args.checkpoint_out {
        let checkpoint = log::checkpoint(&auditor.genesis(), &log::leaves(&audit.main_chain));
        write_atomic(path, checkpoint.to_body().as_bytes()).map_err(|source| {
            InputError::Write {
                path: path.clone(),
                source,
            }
        })?;
        checkpoint_line = format!(
            "Checkpoint: {} entries, written to {}\n",
            checkpoint.size,
            path.display()
        );
    }
    if args.output.json {
        // Exactly the fields SPEC §6 lists, in its order.
        print_json(&SpecFields {
            report: &report,
            case: KeyCase::Snake,
        });
    } else {
        print_text(&format!(
            "{}{checkpoint_line}",
            summary(audit, &report, args.strict, auditor.backend().name())
        ));
    }
    Ok(if failed {
        Outcome::Invalid
    } else {
        Outcome::Valid
    })
}

/// Reads and prepares the trust descriptor (`chain.json`), its signatures to be checked
/// by the `--crypto` backend.
pub(crate) fn load_auditor(path: &Path, crypto: CryptoArg) -> Result<Auditor, InputError> {
    let text = read_text(path)?;
    let trust = TrustDescriptor::from_json(&text)
        .map_err(|e| InputError::malformed(path.display().to_string(), e))?;
    Auditor::with_backend(&trust, crypto.backend())
        .map_err(|e| InputError::malformed(path.display().to_string(), e))
}

/// Resumes the audit kept in the state directory `dir` (or starts one: the first run, or
/// `rebuild`): only objects it has not seen are read and verified, on all cores, with a
/// progress bar; the state is saved before the result is returned.
pub(crate) fn resume_audit(
    auditor: &Auditor,
    snapshot: &SnapshotInput,
    dir: &Path,
    rebuild: bool,
) -> Result<ResumableAudit, InputError> {
    let mut states = StateDir::open(dir)?;
    let mut state = match rebuild {
        true => None,
        false => states.load(auditor)?,
    }
    .unwrap_or_else(|| ResumableAudit::new(auditor));
    in_audit_pool(|| {
        let bar = progress_bar("auditing {pos}/{len} new objects");
        let resumed = auditor.resume_source(&mut state, snapshot, &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        });
        bar.finish_and_clear();
        resumed.map_err(|e| match e {
            ResumeError::Source(e) => e,
            other => InputError::malformed(dir.display().to_string(), other),
        })
    })?;
    states.save(&mut state)?;
    Ok(state)
}

/// Runs `work` on the audit's thread pool (see [`run_audit`]).
pub(crate) fn in_audit_pool<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        pool = pool.num_threads(cores.saturating_mul(2));
    }
    match pool.build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// A progress bar on stderr with `what` before the bar.
fn progress_bar(what: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:30}}] {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Examines every object on all cores, with a progress bar on stderr, then runs `omc`.
///
/// Objects are read and checked on twice as many threads as there are cores, so that
/// one thread's file read overlaps another's signature checks (measured on a 100k-block
/// snapshot: 184% CPU with one thread per core, 194% with two; see BENCHMARKS.md).
/// `RAYON_NUM_THREADS` overrides the count.
pub(crate) fn run_audit(auditor: &Auditor, snapshot: &SnapshotInput) -> Result<Audit, InputError> {
    in_audit_pool(|| examine_all(auditor, snapshot))
}

fn examine_all(auditor: &Auditor, snapshot: &SnapshotInput) -> Result<Audit, InputError> {
    let bar = progress_bar("auditing {pos}/{len} objects");
    let audit = auditor.audit_source(snapshot, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    audit
}

fn short(h: &impl ToString) -> String {
    let s = h.to_string();
    s.get(..12).unwrap_or(&s).to_owned()
}

/// The human summary: height and tip, time range, transactions, objects, findings,
/// and a small drawing of every fork.
fn summary(audit: &Audit, r: &AuditReport, strict: bool, crypto: &str) -> String {
    let mut t = String::new();
    match audit.tip() {
        Some(tip) => {
            t.push_str(&format!(
                "Main chain: height {}, tip {} (sequence number {})\n",
                tip.height, tip.block, tip.sequence
            ));
            if let (Some(a), Some(b)) = (r.first_time, r.last_time) {
                t.push_str(&format!(
                    "Time range: {} .. {}\n",
                    rfc3339_seconds(a),
                    rfc3339_seconds(b)
                ));
            }
        }
        None => t.push_str("Main chain: EMPTY (no valid genesis block with sequence number 0)\n"),
    }
    t.push_str(&format!("Transactions final: {}\n", r.transactions_final));
    t.push_str(&format!(
        "Objects read: {} blocks, {} timestamps, {} attestations, {} batches\n",
        r.blocks, r.timestamps, r.attestations, r.batches
    ));
    match audit.end {
        ChainEnd::Gap { at } => t.push_str(&format!(
            "Sequence gap: the chain stops before sequence number {at}, which has no valid block yet\n"
        )),
        _ => match r.sequence_gap_at {
            Some(at) => t.push_str(&format!("Sequence gap: first missing sequence number {at}\n")),
            None => t.push_str("Sequence gap: none\n"),
        },
    }
    if !r.pending_blocks.is_empty() {
        t.push_str(&format!(
            "Pending (beyond the tip, not final yet): {} blocks\n",
            r.pending_blocks.len()
        ));
    }
    if !r.missing_batches.is_empty() {
        t.push_str(&format!(
            "Missing batches for main-chain blocks: {}\n",
            r.missing_batches.join(", ")
        ));
    }
    if audit.forks.is_empty() {
        t.push_str("Forks: none\n");
    } else {
        t.push_str(&format!(
            "Forks: {} ({} orphaned blocks)\n",
            audit.forks.len(),
            r.orphaned_blocks.len()
        ));
        for f in &audit.forks {
            t.push_str(&format!(
                "  height {} {}\n",
                f.parent_height,
                short(&f.parent_block)
            ));
            let n = f.losers.len() + usize::from(f.winner.is_some());
            let mut i = 0;
            let mut line = |t: &mut String, text: String| {
                i += 1;
                let branch = if i == n { "└──" } else { "├──" };
                t.push_str(&format!("   {branch} {text}\n"));
            };
            if let Some(w) = &f.winner {
                line(
                    &mut t,
                    format!(
                        "{} k={:<6} MAIN CHAIN: lowest sequence number among the siblings",
                        short(&w.block),
                        w.sequence
                    ),
                );
            }
            for l in &f.losers {
                let why = match &f.winner {
                    Some(w) if w.sequence < l.sequence => format!(
                        "lost to k={} ({} block{} in this branch)",
                        w.sequence,
                        l.blocks,
                        if l.blocks == 1 { "" } else { "s" }
                    ),
                    _ => format!("not final yet ({} blocks in this branch)", l.blocks),
                };
                line(
                    &mut t,
                    format!("{} k={:<6} {why}", short(&l.block), l.sequence),
                );
            }
        }
    }
    if r.equivocations.is_empty() {
        t.push_str("Equivocation: none\n");
    } else {
        t.push_str(&format!(
            "EQUIVOCATION (fatal): the sequencer gave {} sequence number(s) to different blocks\n",
            r.equivocations.len()
        ));
        for e in &r.equivocations {
            t.push_str(&format!(
                "  k={}: attestations {}\n",
                e.sequence,
                e.attestations.join(", ")
            ));
        }
    }
    if r.invalid_objects.is_empty() {
        t.push_str("Invalid objects: none\n");
    } else {
        t.push_str(&format!(
            "Invalid objects: {}{}\n",
            r.invalid_objects.len(),
            if strict {
                " (--strict: the audit fails)"
            } else {
                " (reported and ignored)"
            }
        ));
        for o in &r.invalid_objects {
            t.push_str(&format!("  {} {}: {}\n", o.kind.dir(), o.key, o.reason));
        }
    }
    t.push_str(&format!("Signatures checked with: {crypto}\n"));
    t
}
