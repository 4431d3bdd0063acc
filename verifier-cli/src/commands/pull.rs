//! `zipchain pull --store URL (×6) -o SNAPSHOT [--anonymous]` (SPEC §6, §2.2): rebuilds a
//! snapshot directory from the six replicated object stores; `--anonymous` reads cloud
//! buckets published for anyone to read, with unsigned requests.
//!
//! Exit 0 when every object the stores name was rebuilt (and at least three stores
//! answered); 1 when some could not be, naming them (they are not written); 2 for bad usage:
//! not six stores, a bad URL, or an output that cannot be written.

use indicatif::{ProgressBar, ProgressStyle};
use replication::{PullOptions, PullReport, Stores, pull};
use serde_json::json;
use verifier_core::snapshot::ObjectKind;

use crate::Outcome;
use crate::args::PullArgs;
use crate::input::InputError;
use crate::report::{print_json, print_text};

pub(crate) fn run(args: PullArgs) -> Result<Outcome, InputError> {
    let stores = open_stores(&args.stores, args.anonymous)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| InputError::malformed("async runtime", e))?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} pulling {pos}/{len} objects [{bar:30}] eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = |p: replication::Progress| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
    };
    let report = runtime
        .block_on(pull(
            &stores,
            &args.output_dir,
            PullOptions::default(),
            &progress,
        ))
        .map_err(|e| InputError::malformed("-o", e))?;
    bar.finish_and_clear();
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

fn count(report: &PullReport, kind: ObjectKind) -> usize {
    report.rebuilt.get(&kind).copied().unwrap_or(0)
}

fn to_json(report: &PullReport, stores: &Stores, args: &PullArgs) -> serde_json::Value {
    json!({
        "complete": report.is_complete(),
        "snapshot": args.output_dir.display().to_string(),
        "objects": report.objects,
        "rebuilt": report.rebuilt_total(),
        "blocks": count(report, ObjectKind::Block),
        "timestamps": count(report, ObjectKind::Timestamp),
        "attestations": count(report, ObjectKind::Attestation),
        "batches": count(report, ObjectKind::Batch),
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
        "Snapshot: {}\nObjects: {} named, {} rebuilt ({} blocks, {} timestamps, {} attestations, {} batches)\n",
        args.output_dir.display(),
        report.objects,
        report.rebuilt_total(),
        count(report, ObjectKind::Block),
        count(report, ObjectKind::Timestamp),
        count(report, ObjectKind::Attestation),
        count(report, ObjectKind::Batch),
    ));
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
    if report.stores_answered() < 3 {
        t.push_str("  fewer than 3 stores answered: objects only the others hold are unseen\n");
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
