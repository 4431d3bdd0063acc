//! Latency summaries (exact percentiles of all samples, no histogram buckets) and error counts.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds (microsecond precision).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// How many latencies were measured.
    pub count: usize,
    /// The median (nearest rank), ms.
    pub p50_ms: f64,
    /// The 99th percentile (nearest rank), ms.
    pub p99_ms: f64,
    /// The largest, ms.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarises latencies given in microseconds (sorts them in place). All zero when empty.
    pub fn from_micros(samples: &mut [u64]) -> Self {
        samples.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: samples.len(),
            p50_ms: ms(percentile(samples, 50)),
            p99_ms: ms(percentile(samples, 99)),
            max_ms: ms(samples.last().copied().unwrap_or(0)),
        }
    }
}

/// The nearest-rank `p`th percentile of sorted `samples`; 0 when empty.
pub fn percentile(sorted: &[u64], p: u32) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    // Nearest rank: the smallest value with at least p% of the samples at or below it.
    let rank = (sorted.len() * p.min(100) as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}

/// A duration in whole microseconds (saturating).
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Failures counted by kind (`"status 503"`, `"timeout"`, `"connect"`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorCounts(pub BTreeMap<String, u64>);

impl ErrorCounts {
    /// Counts one failure of `kind`.
    pub fn add(&mut self, kind: &str) {
        *self.0.entry(kind.to_owned()).or_default() += 1;
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Self) {
        for (k, n) in other.0 {
            *self.0.entry(k).or_default() += n;
        }
    }

    /// The total count.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `kind ×n, kind ×n` or `none`.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "none".to_owned();
        }
        self.0
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u64> = (1..=100).rev().map(|x| x * 1000).collect();
        let s = LatencySummary::from_micros(&mut v);
        assert_eq!(
            (s.count, s.p50_ms, s.p99_ms, s.max_ms),
            (100, 50.0, 99.0, 100.0)
        );
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[1, 2], 50), 1);
    }

    #[test]
    fn error_counts_merge() {
        let mut a = ErrorCounts::default();
        a.add("timeout");
        let mut b = ErrorCounts::default();
        b.add("timeout");
        b.add("status 503");
        a.merge(b);
        assert_eq!(a.total(), 3);
        assert_eq!(a.describe(), "status 503 ×1, timeout ×2");
    }
}
