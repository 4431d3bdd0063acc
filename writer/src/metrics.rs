//! The writer's metrics in the Prometheus text exposition format (version 0.0.4),
//! hand-rolled over atomics so that the write path never takes a lock for them.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket upper bounds of the fsync histogram, in seconds.
const FSYNC_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Bucket upper bounds of the seal histogram, in seconds.
const SEAL_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A histogram with fixed buckets; sums kept in microseconds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|b| secs <= *b) {
            if let Some(c) = self.counts.get(i) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_us.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Writes the `# HELP` and `# TYPE` lines of the metric family `name`.
pub(crate) fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `value` escaped for a label value between double quotes (backslash, quote, newline).
pub(crate) fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes the checkpoint metrics: the age and size of the latest checkpoint signed
/// (`latest`: its size and when; absent before the first) and the size of the largest one
/// a quorum cosigned, at `now`.
pub fn render_checkpoints(
    out: &mut String,
    latest: Option<(u64, std::time::SystemTime)>,
    cosigned: u64,
    now: std::time::SystemTime,
) {
    if let Some((size, at)) = latest {
        let age = now.duration_since(at).unwrap_or_default().as_secs_f64();
        family(
            out,
            "zipchain_writer_checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed.",
            "gauge",
        );
        let _ = writeln!(out, "zipchain_writer_checkpoint_age_seconds {age:.3}");
        family(
            out,
            "zipchain_writer_checkpoint_size",
            "Entries (main-chain blocks) in the latest checkpoint signed.",
            "gauge",
        );
        let _ = writeln!(out, "zipchain_writer_checkpoint_size {size}");
    }
    family(
        out,
        "zipchain_writer_cosigned_checkpoint_size",
        "Entries in the largest checkpoint a quorum of witnesses cosigned (0 when none has): certificates of blocks below it are v2.",
        "gauge",
    );
    let _ = writeln!(out, "zipchain_writer_cosigned_checkpoint_size {cosigned}");
}

/// Every metric the writer exports.
#[derive(Debug)]
pub struct Metrics {
    /// Transactions acknowledged (202) since start.
    pub acknowledged: AtomicU64,
    /// Blocks sealed (attestation replicated) since start.
    pub blocks_sealed: AtomicU64,
    /// Transactions in those blocks since start.
    pub transactions_final: AtomicU64,
    /// Acknowledged transactions not yet final.
    pub queue_depth: AtomicU64,
    /// Time of each group commit's write + fdatasync.
    pub fsync: Histogram,
    /// Time from a batch leaving BatchIt to its block's attestation being replicated.
    pub seal: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            acknowledged: AtomicU64::new(0),
            blocks_sealed: AtomicU64::new(0),
            transactions_final: AtomicU64::new(0),
            queue_depth: AtomicU64::new(0),
            fsync: Histogram::new(&FSYNC_BUCKETS),
            seal: Histogram::new(&SEAL_BUCKETS),
        }
    }
}

impl Metrics {
    /// The exposition text; `height` is the main chain's height.
    pub fn render(&self, height: u64) -> String {
        let mut out = String::with_capacity(2048);
        let mut counter = |name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            "zipchain_writer_acknowledged_total",
            "Transactions acknowledged as durable since start.",
            "counter",
            load(&self.acknowledged),
        );
        counter(
            "zipchain_writer_blocks_sealed_total",
            "Blocks sealed (attestation replicated) since start.",
            "counter",
            load(&self.blocks_sealed),
        );
        counter(
            "zipchain_writer_transactions_final_total",
            "Transactions in blocks sealed since start.",
            "counter",
            load(&self.transactions_final),
        );
        counter(
            "zipchain_writer_queue_depth",
            "Acknowledged transactions not yet final.",
            "gauge",
            load(&self.queue_depth),
        );
        counter(
            "zipchain_writer_main_chain_height",
            "Height of the main chain's tip.",
            "gauge",
            height,
        );
        self.fsync.render(
            &mut out,
            "zipchain_writer_fsync_seconds",
            "Write and fdatasync time of one group commit of the write-ahead log.",
        );
        self.seal.render(
            &mut out,
            "zipchain_writer_seal_seconds",
            "Time from a batch being cut to its block's attestation being replicated.",
        );
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("http://w.example/a"), "http://w.example/a");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn checkpoint_age_and_sizes() {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1000);
        let mut text = String::new();
        render_checkpoints(
            &mut text,
            Some((12, at)),
            10,
            at + Duration::from_millis(2500),
        );
        assert!(
            text.contains("zipchain_writer_checkpoint_age_seconds 2.500\n"),
            "{text}"
        );
        assert!(
            text.contains("zipchain_writer_checkpoint_size 12\n"),
            "{text}"
        );
        assert!(
            text.contains("zipchain_writer_cosigned_checkpoint_size 10\n"),
            "{text}"
        );
        let mut text = String::new();
        render_checkpoints(&mut text, None, 0, at);
        assert!(!text.contains("age"), "{text}");
    }

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.acknowledged.fetch_add(3, Ordering::Relaxed);
        m.fsync.observe(Duration::from_micros(300));
        m.fsync.observe(Duration::from_secs(5));
        let text = m.render(7);
        assert!(text.contains("zipchain_writer_acknowledged_total 3\n"));
        assert!(text.contains("zipchain_writer_main_chain_height 7\n"));
        assert!(text.contains("zipchain_writer_fsync_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("zipchain_writer_fsync_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("zipchain_writer_fsync_seconds_count 2\n"));
    }
}
