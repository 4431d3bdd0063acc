//! Human-readable renderings of the reports (the `--json` form is their `serde` form).

use std::fmt::Write as _;

use crate::finality::FinalityReport;
use crate::stats::LatencySummary;
use crate::throughput::ThroughputReport;

fn latency(l: &LatencySummary) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} measured)",
        l.p50_ms, l.p99_ms, l.max_ms, l.count
    )
}

/// The text form of a throughput report.
pub fn throughput_text(r: &ThroughputReport) -> String {
    let mut s = String::new();
    let path = if r.batch > 1 {
        format!("batches of {}", r.batch)
    } else {
        "one transaction a request".to_owned()
    };
    let _ = writeln!(
        s,
        "throughput: {} connections, {} s, {}-byte transactions, {path}",
        r.connections, r.duration_s, r.tx_bytes
    );
    let _ = writeln!(
        s,
        "  acknowledged: {} tx in {:.2} s = {:.0} tx/s ({} requests)",
        r.acked, r.elapsed_s, r.acked_per_s, r.requests
    );
    let _ = writeln!(s, "  ack latency:  {}", latency(&r.ack_latency));
    let _ = writeln!(s, "  errors:       {}", r.errors.describe());
    s
}

/// The text form of a finality report.
pub fn finality_text(r: &FinalityReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "finality: offered {} tx/s for {} s ({} tx, open loop)",
        r.rate, r.duration_s, r.offered
    );
    let _ = writeln!(
        s,
        "  acknowledged: {} tx; errors: {}",
        r.acked,
        r.errors.describe()
    );
    let _ = writeln!(
        s,
        "  late sends:   {} more than 10 ms behind schedule (max lag {:.1} ms)",
        r.late_sends, r.max_send_lag_ms
    );
    let _ = writeln!(
        s,
        "  ack latency:  {} (from due time)",
        latency(&r.ack_latency)
    );
    let _ = writeln!(
        s,
        "  finality:     {} (1 in {} polled every {} ms; timeout {} s)",
        latency(&r.finality),
        r.sample_every,
        r.poll_interval_ms,
        r.final_timeout_s
    );
    let _ = writeln!(
        s,
        "  never final:  {} of {} polled; poll errors: {}",
        r.sampled_never_final,
        r.sampled,
        r.poll_errors.describe()
    );
    if let Some(w) = &r.sweep {
        let _ = writeln!(
            s,
            "  sweep:        {} of {} acknowledged final, {} never final; errors: {}",
            w.final_count,
            w.checked,
            w.never_final,
            w.errors.describe()
        );
    }
    s
}
