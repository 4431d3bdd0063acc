//! What is failing in the writer, by component: the reasons `/healthz` gives and the fault
//! metrics `/metrics` gives (issue #18). Every part of the writer that can fail and retry
//! reports through one [`HealthBoard`]: a failed attempt is
//! [`HealthBoard::set_unhealthy`] (the reason shown, one more failure counted), the next
//! success [`HealthBoard::set_healthy`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use crate::metrics::family;

/// A part of the writer whose faults `/healthz` and `/metrics` name.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// `wal`: the write-ahead log's appends and fsyncs (writes are refused while it fails).
    Wal,
    /// `wal-retire`: retiring the log records of final blocks.
    WalRetire,
    /// `mirror`: the local object mirror `DIR/objects/`.
    Mirror,
    /// `stores`: replication to the six stores.
    Stores,
    /// `sequencer`: the enclave sequencer.
    Sequencer,
    /// `timestamp`: the timestamp service.
    Timestamp,
    /// `sealing`: sealing stopped for a reason retrying cannot fix.
    Sealing,
    /// `audit`: what recovery's audit of the mirror found (an equivocation).
    Audit,
    /// `checkpoints`: signing or keeping the main chain's checkpoints.
    Checkpoints,
}

impl Component {
    /// Every component, in the order the metrics list them.
    pub const ALL: [Self; 9] = [
        Self::Wal,
        Self::WalRetire,
        Self::Mirror,
        Self::Stores,
        Self::Sequencer,
        Self::Timestamp,
        Self::Sealing,
        Self::Audit,
        Self::Checkpoints,
    ];

    /// The component's name in `/healthz` reasons (`<name>: <reason>`) and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Wal => "wal",
            Self::WalRetire => "wal-retire",
            Self::Mirror => "mirror",
            Self::Stores => "stores",
            Self::Sequencer => "sequencer",
            Self::Timestamp => "timestamp",
            Self::Sealing => "sealing",
            Self::Audit => "audit",
            Self::Checkpoints => "checkpoints",
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a write was answered `503` without being acknowledged.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    /// `max-pending`: the backlog of acknowledged, not yet final transactions is full.
    MaxPending,
    /// `wal`: the write-ahead log could not be written or synced.
    Wal,
    /// `shutting-down`: the writer is stopping.
    ShuttingDown,
}

impl Refusal {
    /// Every reason, in the order the metrics list them.
    pub const ALL: [Self; 3] = [Self::MaxPending, Self::Wal, Self::ShuttingDown];

    /// The reason's metric label.
    pub fn name(self) -> &'static str {
        match self {
            Self::MaxPending => "max-pending",
            Self::Wal => "wal",
            Self::ShuttingDown => "shutting-down",
        }
    }
}

#[derive(Debug, Default)]
struct Board {
    /// The current reason of each failing component.
    reasons: BTreeMap<Component, String>,
    /// Failed attempts of each component since start.
    failures: BTreeMap<Component, u64>,
    /// Writes refused with `503`, by reason, since start.
    refused: BTreeMap<Refusal, u64>,
}

/// The writer's faults: what fails now and why, and how often each part failed. Faults
/// are rare, so a lock is fine here (the write path's counters are atomics,
/// [`crate::metrics::Metrics`]).
#[derive(Debug, Default)]
pub struct HealthBoard {
    board: Mutex<Board>,
}

impl HealthBoard {
    /// Records a failed attempt of `component`, and why (logged when the reason changes).
    pub fn set_unhealthy(&self, component: Component, reason: String) {
        let mut board = self.lock();
        *board.failures.entry(component).or_insert(0) += 1;
        if board.reasons.get(&component) != Some(&reason) {
            tracing::error!(component = component.name(), %reason, "writer unhealthy");
            board.reasons.insert(component, reason);
        }
    }

    /// Records that `component` works again.
    pub fn set_healthy(&self, component: Component) {
        let mut board = self.lock();
        if board.reasons.remove(&component).is_some() {
            tracing::info!(component = component.name(), "recovered");
        }
    }

    /// Counts one write refused for `why`.
    pub fn refused(&self, why: Refusal) {
        *self.lock().refused.entry(why).or_insert(0) += 1;
    }

    /// The reasons the writer is unhealthy, as `component: reason`.
    pub fn reasons(&self) -> Vec<String> {
        self.lock()
            .reasons
            .iter()
            .map(|(c, r)| format!("{c}: {r}"))
            .collect()
    }

    /// Appends the fault metrics to `out`: every component's state and failure count,
    /// every refusal reason's count (zeros included, so that an alert needs no absent
    /// series).
    pub fn render(&self, out: &mut String) {
        let board = self.lock();
        family(
            out,
            "zipchain_writer_component_unhealthy",
            "Whether the component is failing now (1) or not (0); /healthz gives the reason.",
            "gauge",
        );
        for c in Component::ALL {
            let failing = u8::from(board.reasons.contains_key(&c));
            let _ = writeln!(
                out,
                "zipchain_writer_component_unhealthy{{component=\"{c}\"}} {failing}"
            );
        }
        family(
            out,
            "zipchain_writer_component_failures_total",
            "Failed attempts of the component since start (each is retried; a call slower than the report time counts once).",
            "counter",
        );
        for c in Component::ALL {
            let n = board.failures.get(&c).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "zipchain_writer_component_failures_total{{component=\"{c}\"}} {n}"
            );
        }
        family(
            out,
            "zipchain_writer_writes_refused_total",
            "Writes answered 503 with Retry-After, not acknowledged, by reason.",
            "counter",
        );
        for r in Refusal::ALL {
            let n = board.refused.get(&r).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "zipchain_writer_writes_refused_total{{reason=\"{}\"}} {n}",
                r.name()
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reasons_failures_and_refusals() {
        let board = HealthBoard::default();
        board.set_unhealthy(Component::Stores, "store 3: gone".into());
        board.set_unhealthy(Component::Stores, "store 3: gone".into());
        board.set_unhealthy(Component::Wal, "No space left on device".into());
        board.refused(Refusal::Wal);
        assert_eq!(
            board.reasons(),
            ["wal: No space left on device", "stores: store 3: gone"]
        );
        board.set_healthy(Component::Stores);
        assert_eq!(board.reasons(), ["wal: No space left on device"]);
        let mut text = String::new();
        board.render(&mut text);
        for line in [
            "zipchain_writer_component_unhealthy{component=\"wal\"} 1\n",
            "zipchain_writer_component_unhealthy{component=\"stores\"} 0\n",
            "zipchain_writer_component_failures_total{component=\"stores\"} 2\n",
            "zipchain_writer_component_failures_total{component=\"sequencer\"} 0\n",
            "zipchain_writer_writes_refused_total{reason=\"wal\"} 1\n",
            "zipchain_writer_writes_refused_total{reason=\"max-pending\"} 0\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
