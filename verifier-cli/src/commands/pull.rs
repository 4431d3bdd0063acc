//! `zipchain pull --store URL (×6) -o SNAPSHOT [--since | --full] [--list-timeout SECONDS]
//! [--anonymous]` (SPEC §6, §2.2): brings into a snapshot directory the objects of the six
//! replicated object stores that it does not hold yet (every object, into a new
//! directory); `--since` insists that SNAPSHOT already is one, `--full` fetches and
//! verifies everything again; `--anonymous` reads cloud buckets published for anyone to
//! read, with unsigned requests. A progress bar on stderr follows the listing and the
//! fetching.
//!
//! Exit 0 when every object the stores name is in the snapshot (and at least three stores
//! answered); 1 when some could not be rebuilt, naming them (they are not written), or
//! fewer than three stores answered (nothing is fetched then); 2 for bad usage: not six
//! stores, a bad URL, `--since` without a snapshot, or an output that cannot be written.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use replication::{Phase, Progress, PullOptions, PullReport, Stores, pull, pull_new};
use serde_json::json;
use verifier_core::snapshot::{CHAIN_JSON, ObjectKind};

use crate::Outcome;
use crate::args::PullArgs;
use crate::input::InputError;
use crate::report::{print_json, print_text};

pub(crate) fn run(args: PullArgs) -> Result<Outcome, InputError> {
    if args.since && !is_snapshot(&args.output_dir) {
        return Err(InputError::malformed(
            "--since",
            format!(
                "{} is not a snapshot directory (no {}/, {}/, {}/ or {}/); without --since, pull fetches everything into a new one",
                args.output_dir.display(),
                ObjectKind::Block.dir(),
                ObjectKind::Timestamp.dir(),
                ObjectKind::Attestation.dir(),
                ObjectKind::Batch.dir(),
            ),
        ));
    }
    let stores = open_stores(&args.stores, args.anonymous)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError::malformed("async runtime", e))?;
    let options = PullOptions {
        list_timeout: args.list_timeout,
        ..PullOptions::default()
    };
    let bar = Bar::new();
    let progress = |p: Progress| bar.show(p);
    let pulled = if args.full {
        runtime.block_on(pull(&stores, &args.output_dir, options, &progress))
    } else {
        runtime.block_on(pull_new(&stores, &args.output_dir, options, &progress))
    };
    bar.bar.finish_and_clear();
    let report = pulled.map_err(|e| InputError::malformed("-o", e))?;
    if args.output.json {
        print_json(&to_json(&report, &stores, &args));
    } else {
        print_text(&summary(&report, &args));
    }
    Ok(if report.is_complete() {
        Outcome::Valid
    } else {
        Outcome::Invalid
    })
}

/// The six stores of `--store` (×6); with `anonymous`, cloud stores send every request
/// unsigned and look for no credentials ([`replication::stores::ANONYMOUS`]).
pub(crate) fn open_stores(urls: &[String], anonymous: bool) -> Result<Stores, InputError> {
    let options = if anonymous {
        &replication::stores::ANONYMOUS[..]
    } else {
        &[]
    };
    Stores::from_urls_with(urls, options.iter().copied())
        .map_err(|e| InputError::malformed("--store", e))
}

/// Whether `dir` is a snapshot directory already: it has a kind directory or a
/// `chain.json`.
fn is_snapshot(dir: &Path) -> bool {
    dir.join(CHAIN_JSON).is_file() || ObjectKind::ALL.iter().any(|k| dir.join(k.dir()).is_dir())
}

/// The progress bar on stderr (drawn only on a terminal): a spinner while the stores
/// are listed, then a bar of the objects fetched, with their bytes.
struct Bar {
    bar: ProgressBar,
    fetching: AtomicBool,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} listing the stores: {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message("0 of 6 listed");
        Self {
            bar,
            fetching: AtomicBool::new(false),
        }
    }

    fn show(&self, p: Progress) {
        match p.phase {
            Phase::Listing => self.bar.set_message(format!(
                "{} of 6 listed, {} shards",
                p.stores_listed, p.shards_listed
            )),
            Phase::Fetching => {
                if !self.fetching.swap(true, Ordering::Relaxed) {
                    self.bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} fetching {pos}/{len} objects [{bar:30}] {msg} eta {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    self.bar.set_length(p.total as u64);
                }
                self.bar.set_position(p.done as u64);
                self.bar.set_message(HumanBytes(p.bytes).to_string());
            }
        }
    }
}

fn to_json(report: &PullReport, stores: &Stores, args: &PullArgs) -> serde_json::Value {
    let new: serde_json::Map<String, serde_json::Value> = ObjectKind::ALL
        .iter()
        .map(|kind| {
            let keys = report.rebuilt.get(kind).map_or(&[][..], Vec::as_slice);
            (
                kind.to_string(),
                keys.iter().map(|k| k.to_hex()).collect::<Vec<_>>().into(),
            )
        })
        .collect();
    json!({
        "complete": report.is_complete(),
        "snapshot": args.output_dir.display().to_string(),
        "mode": if args.full { "full" } else { "incremental" },
        "objects": report.objects,
        "held": report.held,
        "rebuilt": report.rebuilt_total(),
        "bytes": report.bytes,
        "blocks": report.rebuilt_count(ObjectKind::Block),
        "timestamps": report.rebuilt_count(ObjectKind::Timestamp),
        "attestations": report.rebuilt_count(ObjectKind::Attestation),
        "batches": report.rebuilt_count(ObjectKind::Batch),
        "new": new,
        "unrecoverable": report.unrecoverable.iter().map(|u| json!({
            "kind": u.kind,
            "key": u.key.to_hex(),
            "reason": u.reason,
        })).collect::<Vec<_>>(),
        "stores_answered": report.stores_answered(),
        "stores": report.stores.iter().enumerate().map(|(i, s)| json!({
            "index": i,
            "url": s.url,
            "answered": s.error.is_none(),
            "shards": s.shards,
            "error": s.error,
        })).collect::<Vec<_>>(),
        "missing_shards": report.missing_shards,
        "bad_shards": report.bad_shards.iter().map(|b| json!({
            "store": b.store,
            "url": stores.url(b.store),
            "kind": b.kind,
            "key": b.key.to_hex(),
            "reason": b.reason,
        })).collect::<Vec<_>>(),
        "ignored": report.ignored,
        "leftovers_removed": report.leftovers_removed,
    })
}

fn summary(report: &PullReport, args: &PullArgs) -> String {
    let mut t = format!(
        "Pull: {}\n",
        if report.is_complete() {
            "COMPLETE"
        } else {
            "INCOMPLETE"
        }
    );
    t.push_str(&format!(
        "Snapshot: {}\nObjects: {} named, {} already held, {} rebuilt ({} blocks, {} timestamps, {} attestations, {} batches; {})\n",
        args.output_dir.display(),
        report.objects,
        report.held,
        report.rebuilt_total(),
        report.rebuilt_count(ObjectKind::Block),
        report.rebuilt_count(ObjectKind::Timestamp),
        report.rebuilt_count(ObjectKind::Attestation),
        report.rebuilt_count(ObjectKind::Batch),
        HumanBytes(report.bytes),
    ));
    if report.leftovers_removed > 0 {
        t.push_str(&format!(
            "Removed {} temporary files an interrupted pull left\n",
            report.leftovers_removed
        ));
    }
    t.push_str(&format!(
        "Stores: {} of 6 answered\n",
        report.stores_answered()
    ));
    for (i, s) in report.stores.iter().enumerate() {
        match &s.error {
            None => t.push_str(&format!("  {i}  ok    {} ({} shards)\n", s.url, s.shards)),
            Some(e) => t.push_str(&format!("  {i}  DOWN  {}: {e}\n", s.url)),
        }
    }
    if !report.has_quorum() {
        t.push_str(
            "  fewer than 3 stores answered: objects only the others hold are unseen, so nothing was fetched\n",
        );
    }
    t.push_str(&format!(
        "Shards: {} missing, {} bad\n",
        report.missing_shards,
        report.bad_shards.len()
    ));
    for b in &report.bad_shards {
        t.push_str(&format!(
            "  store {}  {} {}: {}\n",
            b.store, b.kind, b.key, b.reason
        ));
    }
    if report.unrecoverable.is_empty() {
        t.push_str("Not rebuilt: none\n");
    } else {
        t.push_str(&format!(
            "Not rebuilt (not written): {}\n",
            report.unrecoverable.len()
        ));
        for u in &report.unrecoverable {
            t.push_str(&format!("  {} {}: {}\n", u.kind, u.key, u.reason));
        }
    }
    t
}
