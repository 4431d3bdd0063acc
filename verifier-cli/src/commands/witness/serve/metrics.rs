//! The witness daemon's metrics in the Prometheus text exposition format (0.0.4), as the
//! writer's: counters and gauges over atomics, refusals counted by status and reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use replication::PullReport;

/// Every metric the witness exports.
#[derive(Debug, Default)]
pub(super) struct Metrics {
    cosigned: AtomicU64,
    refused: Mutex<BTreeMap<(u16, &'static str), u64>>,
    rounds: AtomicU64,
    pull_errors: AtomicU64,
    audit_errors: AtomicU64,
    stores_answered: AtomicU64,
    store_errors: [AtomicU64; 6],
    round_micros: AtomicU64,
    main_chain_size: AtomicU64,
    cosigned_size: AtomicU64,
    largest_requested: AtomicU64,
    last_audit_unix: AtomicU64,
}

/// The `# HELP` and `# TYPE` lines of a metric.
fn help(out: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Metrics {
    /// A checkpoint of `size` was cosigned.
    pub(super) fn cosigned(&self, size: u64) {
        self.cosigned.fetch_add(1, Ordering::Relaxed);
        self.cosigned_size.store(size, Ordering::Relaxed);
    }

    /// The size of the latest checkpoint cosigned.
    pub(super) fn cosigned_size(&self) -> u64 {
        self.cosigned_size.load(Ordering::Relaxed)
    }

    /// The size of the checkpoint held at start.
    pub(super) fn held(&self, size: u64) {
        self.cosigned_size.store(size, Ordering::Relaxed);
    }

    /// A request was refused with `status` for `reason`.
    pub(super) fn refused(&self, status: u16, reason: &'static str) {
        let mut refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *refused.entry((status, reason)).or_default() += 1;
    }

    /// A request asked about a checkpoint of `size` of the witness's origin.
    pub(super) fn requested(&self, size: u64) {
        self.largest_requested.fetch_max(size, Ordering::Relaxed);
    }

    /// A pull finished: how the stores answered.
    pub(super) fn pulled(&self, report: &PullReport) {
        self.stores_answered
            .store(report.stores_answered() as u64, Ordering::Relaxed);
        for (counter, store) in self.store_errors.iter().zip(&report.stores) {
            if store.error.is_some() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A round's pull failed, or fewer than three stores answered.
    pub(super) fn pull_failed(&self) {
        self.pull_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A round's audit failed.
    pub(super) fn audit_failed(&self) {
        self.audit_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A round finished in `took`, leaving the main chain at `size` entries; an audit
    /// that succeeded is stamped with the clock.
    pub(super) fn round_finished(&self, took: Duration, size: u64) {
        self.rounds.fetch_add(1, Ordering::Relaxed);
        self.round_micros.store(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.main_chain_size.store(size, Ordering::Relaxed);
    }

    /// An audit succeeded at `at`.
    pub(super) fn audited(&self, at: SystemTime) {
        self.last_audit_unix
            .store(unix_seconds(at), Ordering::Relaxed);
    }

    /// The exposition text.
    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut one = |name: &str, kind: &str, text: &str, value: String| {
            help(&mut out, name, kind, text);
            let _ = writeln!(out, "{name} {value}");
        };
        one(
            "zipchain_witness_checkpoints_cosigned_total",
            "counter",
            "Checkpoints cosigned (200 answers to add-checkpoint).",
            load(&self.cosigned).to_string(),
        );
        one(
            "zipchain_witness_cosigned_size",
            "gauge",
            "Size of the latest checkpoint cosigned (0 before the first).",
            load(&self.cosigned_size).to_string(),
        );
        one(
            "zipchain_witness_main_chain_size",
            "gauge",
            "Entries of the witness's own audited main chain.",
            load(&self.main_chain_size).to_string(),
        );
        let size = load(&self.main_chain_size);
        one(
            "zipchain_witness_audit_lag_entries",
            "gauge",
            "Entries of the largest checkpoint requested (log-signed, consistent with the one held) that the witness's audit does not cover yet.",
            load(&self.largest_requested)
                .saturating_sub(size)
                .to_string(),
        );
        let last = load(&self.last_audit_unix);
        one(
            "zipchain_witness_last_audit_timestamp_seconds",
            "gauge",
            "Unix time of the last audit that succeeded (0 before the first).",
            last.to_string(),
        );
        let lag = match last {
            0 => 0,
            last => unix_seconds(SystemTime::now()).saturating_sub(last),
        };
        one(
            "zipchain_witness_audit_lag_seconds",
            "gauge",
            "Seconds since the last audit that succeeded.",
            lag.to_string(),
        );
        one(
            "zipchain_witness_rounds_total",
            "counter",
            "Pull-and-audit rounds finished.",
            load(&self.rounds).to_string(),
        );
        one(
            "zipchain_witness_round_duration_seconds",
            "gauge",
            "Duration of the latest round.",
            (load(&self.round_micros) as f64 / 1e6).to_string(),
        );
        one(
            "zipchain_witness_pull_errors_total",
            "counter",
            "Rounds whose pull failed or reached fewer than 3 stores.",
            load(&self.pull_errors).to_string(),
        );
        one(
            "zipchain_witness_audit_errors_total",
            "counter",
            "Rounds whose audit failed.",
            load(&self.audit_errors).to_string(),
        );
        one(
            "zipchain_witness_stores_answered",
            "gauge",
            "Stores that answered the latest pull's listing.",
            load(&self.stores_answered).to_string(),
        );
        let name = "zipchain_witness_store_errors_total";
        help(
            &mut out,
            name,
            "counter",
            "Pulls in which a store did not answer, by store index.",
        );
        for (i, c) in self.store_errors.iter().enumerate() {
            let _ = writeln!(out, "{name}{{store=\"{i}\"}} {}", load(c));
        }
        let name = "zipchain_witness_checkpoints_refused_total";
        help(
            &mut out,
            name,
            "counter",
            "add-checkpoint requests refused, by status and reason.",
        );
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((status, reason), n) in refused.iter() {
            let _ = writeln!(out, "{name}{{status=\"{status}\",reason=\"{reason}\"}} {n}");
        }
        out
    }
}
