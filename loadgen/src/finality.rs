//! `zipchain-load finality`: an open-loop offered load, and the time each write takes to
//! become final.
//!
//! **Open loop.** Transaction `i` is due at `t0 + i / rate`, whether or not earlier ones have
//! been answered. `connections` tasks (one keep-alive connection each) take the next due
//! transaction, wait for its time and send it. If every connection is busy when a transaction
//! falls due, it goes out late; *every latency is measured from the due time*, not from the
//! actual send, so a writer that falls behind is charged for the queueing it causes (no
//! coordinated omission). Sends that left more than [`LATE_AFTER`] behind schedule are counted.
//! Tokio's timer has millisecond resolution: transactions due within the same millisecond go
//! out together.
//!
//! **Finality.** Every `sample_every`-th acknowledged transaction is polled with
//! `GET /v1/transactions/<tx>` every `poll_interval` (on its own pool of `poll_connections`
//! connections) until it answers `"status": "final"` or `final_timeout` has passed since it
//! was due. Polling every transaction would add many times the write load in reads (each
//! pending transaction costs one GET per interval); a uniform 1-in-N sample keeps the reads
//! small. The time to final is the time the first `final` answer arrived: it overstates the
//! true time by at most one poll interval plus one GET round trip (the resolution).
//!
//! **Sweep.** After the run, every acknowledged transaction (not only the sample) is checked
//! once, and the ones still not final are checked again until `final_timeout` after the last
//! was due; what is left is reported as never final.
//!
//! **HTTP/2.** Over h2c (`protocol`), each of the `connections` carries `streams` sending
//! tasks, each its own stream. A connection that fails (the writer was killed, say) is
//! opened again by the next task that needs it; a send that fails is counted, never
//! retried, so a writer that goes away and comes back (the soak, issue #18) is measured
//! on what it acknowledged. `keep_acked` keeps every acknowledged id for a check from the
//! stores afterwards (`zipchain-load finality --acked-out FILE`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use verifier_core::hash::Hash32;

use crate::conn::{Conn, ConnError, Pool, Protocol, Target, probe};
use crate::stats::{ErrorCounts, LatencySummary, micros};
use crate::throughput::TX_PATH;
use crate::tx::{MIN_TX_BYTES, TxMaker};

/// A send that leaves more than this behind its due time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(10);

/// The pause between sweep passes over the transactions not yet final.
const SWEEP_PAUSE: Duration = Duration::from_millis(200);

/// Why a finality run could not run.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    /// A setting is out of range.
    #[error("{name} is {got}, expected {expected}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Its value.
        got: String,
        /// What it must be.
        expected: String,
    },
    /// The writer cannot be reached (checked before the run starts).
    #[error(transparent)]
    Conn(#[from] ConnError),
}

/// The settings of a finality run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalityConfig {
    /// The offered load, transactions per second.
    pub rate: u64,
    /// How long to offer it.
    pub duration: Duration,
    /// The size of each transaction, bytes.
    pub tx_bytes: usize,
    /// Connections that send (one request in flight on each).
    pub connections: usize,
    /// Connections that poll statuses.
    pub poll_connections: usize,
    /// Poll one acknowledged transaction in this many.
    pub sample_every: u64,
    /// The time between two polls of one transaction.
    pub poll_interval: Duration,
    /// How long after its due time a transaction may take to become final.
    pub final_timeout: Duration,
    /// The most time one request may take.
    pub timeout: Duration,
    /// Whether to check every acknowledged transaction after the run.
    pub sweep: bool,
    /// What the polled transactions wait for.
    pub until: Until,
    /// HTTP/1.1 (one request in flight per connection) or h2c.
    pub protocol: Protocol,
    /// Sending streams on each HTTP/2 connection; 1 for HTTP/1.1.
    pub streams: usize,
    /// Whether to keep every acknowledged id in the report ([`FinalityReport::acked_ids`]).
    pub keep_acked: bool,
}

/// What a polled transaction waits for (the end of its measured latency).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Until {
    /// Final on the writer's main chain (`GET /v1/transactions/<tx>` says `final`).
    #[default]
    Final,
    /// Its certificate is a v2 one, carrying a checkpoint a quorum of witnesses cosigned
    /// (`GET /v1/transactions/<tx>/certificate` with `"zipchain_certificate": 2`, SPEC §9.5).
    CertificateV2,
}

/// What a finality run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FinalityReport {
    /// The offered load, tx/s.
    pub rate: u64,
    /// The sending window, seconds.
    pub duration_s: f64,
    /// Transactions scheduled (`rate × duration`).
    pub offered: u64,
    /// Transactions acknowledged with `202`.
    pub acked: u64,
    /// Failed sends by kind.
    pub errors: ErrorCounts,
    /// Sends that left more than 10 ms after their due time (all connections were busy).
    pub late_sends: u64,
    /// The largest delay of a send behind its due time, ms.
    pub max_send_lag_ms: f64,
    /// Due-time-to-`202` latency of every acknowledged transaction.
    pub ack_latency: LatencySummary,
    /// One acknowledged transaction in this many was polled.
    pub sample_every: u64,
    /// The poll interval, ms (the resolution of the finality times, plus one GET).
    pub poll_interval_ms: f64,
    /// How long a transaction was given to become final, seconds.
    pub final_timeout_s: f64,
    /// Transactions polled.
    pub sampled: u64,
    /// What the polled transactions waited for.
    pub until: Until,
    /// Due-time-to-`until` latency of the polled transactions that got there.
    pub finality: LatencySummary,
    /// Polled transactions not final within the timeout.
    pub sampled_never_final: u64,
    /// Polls that failed, by kind (the transaction was polled again).
    pub poll_errors: ErrorCounts,
    /// The check of every acknowledged transaction after the run, if asked.
    pub sweep: Option<SweepReport>,
    /// Every acknowledged transaction id, in no order, when the run kept them (not in the
    /// JSON report).
    #[serde(skip)]
    pub acked_ids: Vec<Hash32>,
}

/// The check of every acknowledged transaction after the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Transactions checked.
    pub checked: u64,
    /// Final by the end of the sweep.
    pub final_count: u64,
    /// Not final `final_timeout` after the last transaction was due.
    pub never_final: u64,
    /// Status requests that failed, by kind.
    pub errors: ErrorCounts,
}

#[derive(Debug, Default)]
struct Tally {
    acked: u64,
    ack_latencies: Vec<u64>,
    errors: ErrorCounts,
    late: u64,
    max_lag: u64,
    acked_ids: Vec<Hash32>,
    pollers: Vec<JoinHandle<PollOutcome>>,
}

#[derive(Debug, Default)]
struct PollOutcome {
    final_after: Option<u64>,
    errors: ErrorCounts,
}

/// What one shared run needs.
#[derive(Debug)]
struct Plan {
    target: Target,
    maker: TxMaker,
    t0: Instant,
    rate: u64,
    total: u64,
    next: AtomicU64,
    polls: Arc<Pool>,
    config: FinalityConfig,
    /// The HTTP/2 connections the senders share (none over HTTP/1.1).
    shared: Vec<tokio::sync::Mutex<Option<Conn>>>,
}

impl Plan {
    /// When transaction `i` is due.
    fn due(&self, i: u64) -> Instant {
        let nanos = u128::from(i) * 1_000_000_000 / u128::from(self.rate);
        self.t0 + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// Runs a finality measurement against the writer at `target`.
///
/// # Errors
/// [`FinalityError::Config`] for a setting out of range, [`FinalityError::Conn`] if the writer
/// cannot be reached before the run. Failures during the run are counted in the report.
pub async fn run(target: Target, config: &FinalityConfig) -> Result<FinalityReport, FinalityError> {
    for (name, value) in [
        ("--rate", config.rate),
        ("--connections", config.connections as u64),
        ("--poll-connections", config.poll_connections as u64),
        ("--sample-every", config.sample_every),
        ("--streams", config.streams as u64),
    ] {
        if value == 0 {
            return Err(out_of_range(name, value, "at least 1"));
        }
    }
    if config.poll_interval.is_zero() {
        return Err(out_of_range("--poll-interval-ms", 0, "at least 1"));
    }
    let maker = TxMaker::new(config.tx_bytes).ok_or_else(|| {
        out_of_range(
            "--tx-bytes",
            config.tx_bytes,
            &format!("at least {MIN_TX_BYTES}"),
        )
    })?;
    if config.protocol == Protocol::Http1 && config.streams != 1 {
        return Err(out_of_range(
            "--streams",
            config.streams,
            "1 over HTTP/1.1 (give --http2 for more)",
        ));
    }
    probe(&target, config.timeout).await?;

    let total = (config.rate as f64 * config.duration.as_secs_f64()).round() as u64;
    let plan = Arc::new(Plan {
        polls: Pool::new(target.clone(), config.poll_connections),
        target,
        maker,
        // A little head start so the first sends are not late because of the spawning.
        t0: Instant::now() + Duration::from_millis(50),
        rate: config.rate,
        total,
        next: AtomicU64::new(0),
        config: config.clone(),
        shared: match config.protocol {
            Protocol::Http1 => Vec::new(),
            Protocol::Http2 => (0..config.connections)
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
        },
    });
    let senders = config.connections * config.streams;
    let mut tasks = Vec::with_capacity(senders);
    for i in 0..senders {
        tasks.push(tokio::spawn(sender(Arc::clone(&plan), i / config.streams)));
    }

    let mut total_tally = Tally::default();
    let mut pollers = Vec::new();
    for task in tasks {
        match task.await {
            Ok(t) => {
                total_tally.acked += t.acked;
                total_tally.ack_latencies.extend(t.ack_latencies);
                total_tally.errors.merge(t.errors);
                total_tally.late += t.late;
                total_tally.max_lag = total_tally.max_lag.max(t.max_lag);
                total_tally.acked_ids.extend(t.acked_ids);
                pollers.extend(t.pollers);
            }
            Err(_) => total_tally.errors.add("task-failed"),
        }
    }
    let sampled = pollers.len() as u64;
    let mut finality = Vec::with_capacity(pollers.len());
    let mut poll_errors = ErrorCounts::default();
    for poller in pollers {
        match poller.await {
            Ok(outcome) => {
                finality.extend(outcome.final_after);
                poll_errors.merge(outcome.errors);
            }
            Err(_) => poll_errors.add("task-failed"),
        }
    }
    let sampled_never_final = sampled - finality.len() as u64;
    let acked_ids = std::mem::take(&mut total_tally.acked_ids);
    let sweep = if config.sweep {
        let deadline = plan.due(total) + config.final_timeout;
        Some(sweep(&plan, acked_ids.clone(), deadline).await)
    } else {
        None
    };

    Ok(FinalityReport {
        rate: config.rate,
        duration_s: config.duration.as_secs_f64(),
        offered: total,
        acked: total_tally.acked,
        errors: total_tally.errors,
        late_sends: total_tally.late,
        max_send_lag_ms: total_tally.max_lag as f64 / 1000.0,
        ack_latency: LatencySummary::from_micros(&mut total_tally.ack_latencies),
        sample_every: config.sample_every,
        poll_interval_ms: config.poll_interval.as_secs_f64() * 1000.0,
        final_timeout_s: config.final_timeout.as_secs_f64(),
        sampled,
        until: config.until,
        finality: LatencySummary::from_micros(&mut finality),
        sampled_never_final,
        poll_errors,
        sweep,
        acked_ids: if config.keep_acked {
            acked_ids
        } else {
            Vec::new()
        },
    })
}

fn out_of_range(name: &'static str, got: impl ToString, expected: &str) -> FinalityError {
    FinalityError::Config {
        name,
        got: got.to_string(),
        expected: expected.to_owned(),
    }
}

/// A connection for a sender of slot `slot`: over HTTP/2 a handle on the slot's shared
/// connection (opened, or opened again once closed, by the first sender that needs it);
/// over HTTP/1.1 a connection of its own.
async fn connect(plan: &Plan, slot: usize) -> Result<Conn, ConnError> {
    let Some(shared) = plan.shared.get(slot) else {
        return Conn::connect(&plan.target).await;
    };
    let mut conn = shared.lock().await;
    if let Some(handle) = conn
        .as_ref()
        .filter(|c| !c.is_closed())
        .and_then(Conn::share)
    {
        return Ok(handle);
    }
    let fresh = Conn::connect_with(&plan.target, Protocol::Http2).await?;
    let handle = fresh.share();
    *conn = Some(fresh);
    handle.ok_or_else(|| ConnError::Http {
        reason: "an HTTP/2 connection gave no handle".to_owned(),
    })
}

/// One sender (a connection over HTTP/1.1, a stream of connection `slot` over HTTP/2):
/// takes the next due transaction until all are taken.
async fn sender(plan: Arc<Plan>, slot: usize) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    loop {
        let i = plan.next.fetch_add(1, Ordering::Relaxed);
        if i >= plan.total {
            break;
        }
        let due = plan.due(i);
        tokio::time::sleep_until(due).await;
        let lag = micros(Instant::now().saturating_duration_since(due));
        if lag > micros(LATE_AFTER) {
            tally.late += 1;
        }
        tally.max_lag = tally.max_lag.max(lag);

        let mut c = match conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => match connect(&plan, slot).await {
                Ok(c) => c,
                Err(e) => {
                    tally.errors.add(e.kind());
                    continue;
                }
            },
        };
        // Stream u32::MAX keeps these apart from a throughput run's streams.
        let data = plan.maker.make(u32::MAX, i);
        let expected = Hash32::digest(&data);
        let answer = c
            .request(
                Method::POST,
                TX_PATH,
                Bytes::from(data),
                plan.config.timeout,
            )
            .await;
        match answer {
            Ok(a) if a.status == StatusCode::ACCEPTED => {
                conn = Some(c);
                if tx_of(&a.body) != Some(expected) {
                    tally.errors.add("202 without the right tx id");
                    continue;
                }
                tally.acked += 1;
                tally.ack_latencies.push(micros(due.elapsed()));
                tally.acked_ids.push(expected);
                if i % plan.config.sample_every == 0 {
                    tally
                        .pollers
                        .push(tokio::spawn(poll(Arc::clone(&plan), expected, due)));
                }
            }
            Ok(a) => {
                conn = Some(c);
                tally.errors.add(&format!("status {}", a.status.as_u16()));
            }
            Err(e) => tally.errors.add(e.kind()),
        }
    }
    tally
}

/// The `tx` of a `{"tx": "<hex>"}` answer.
fn tx_of(body: &[u8]) -> Option<Hash32> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    Hash32::from_hex(value.get("tx")?.as_str()?).ok()
}

/// What a status answer says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Final,
    NotYet,
}

/// Asks the status of `tx` once: whether it is final, or with [`Until::CertificateV2`]
/// whether its certificate is a v2 one.
async fn status(
    plan: &Plan,
    conn: Option<&mut Conn>,
    tx: &Hash32,
    until: Until,
) -> Result<Status, String> {
    let path = match until {
        Until::Final => format!("{TX_PATH}/{}", tx.to_hex()),
        Until::CertificateV2 => format!("{TX_PATH}/{}/certificate", tx.to_hex()),
    };
    let timeout = plan.config.timeout;
    let answer = match conn {
        Some(c) => c.request(Method::GET, &path, Bytes::new(), timeout).await,
        None => {
            plan.polls
                .request(Method::GET, &path, Bytes::new(), timeout)
                .await
        }
    }
    .map_err(|e| e.kind().to_owned())?;
    if until == Until::CertificateV2 && answer.status == StatusCode::NOT_FOUND {
        return Ok(Status::NotYet);
    }
    if answer.status != StatusCode::OK {
        return Err(format!("status {}", answer.status.as_u16()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|_| "status answer not JSON".to_owned())?;
    match until {
        Until::Final => match value.get("status").and_then(serde_json::Value::as_str) {
            Some("final") => Ok(Status::Final),
            Some(_) => Ok(Status::NotYet),
            None => Err("status answer without \"status\"".to_owned()),
        },
        Until::CertificateV2 => match value
            .get("zipchain_certificate")
            .and_then(serde_json::Value::as_u64)
        {
            Some(2) => Ok(Status::Final),
            Some(_) => Ok(Status::NotYet),
            None => Err("certificate without \"zipchain_certificate\"".to_owned()),
        },
    }
}

/// Polls `tx` until final or out of time.
async fn poll(plan: Arc<Plan>, tx: Hash32, due: Instant) -> PollOutcome {
    let mut outcome = PollOutcome::default();
    let give_up = due + plan.config.final_timeout;
    loop {
        tokio::time::sleep(plan.config.poll_interval).await;
        if Instant::now() > give_up {
            return outcome;
        }
        match status(&plan, None, &tx, plan.config.until).await {
            Ok(Status::Final) => {
                outcome.final_after = Some(micros(due.elapsed()));
                return outcome;
            }
            Ok(Status::NotYet) => {}
            Err(kind) => outcome.errors.add(&kind),
        }
    }
}

/// Checks every acknowledged transaction, again and again for those not final, until
/// `deadline`.
async fn sweep(plan: &Arc<Plan>, mut pending: Vec<Hash32>, deadline: Instant) -> SweepReport {
    let mut report = SweepReport {
        checked: pending.len() as u64,
        ..SweepReport::default()
    };
    let workers = plan.config.poll_connections.max(1);
    loop {
        let chunk = pending.len().div_ceil(workers).max(1);
        let mut tasks = Vec::new();
        while !pending.is_empty() {
            let part = pending.split_off(pending.len().saturating_sub(chunk));
            let plan = Arc::clone(plan);
            tasks.push(tokio::spawn(async move {
                let mut still = Vec::new();
                let mut errors = ErrorCounts::default();
                let mut conn = Conn::connect(&plan.target).await.ok();
                for tx in part {
                    let answer = match conn.as_mut() {
                        Some(c) if !c.is_closed() => {
                            status(&plan, Some(c), &tx, Until::Final).await
                        }
                        _ => status(&plan, None, &tx, Until::Final).await,
                    };
                    match answer {
                        Ok(Status::Final) => {}
                        Ok(Status::NotYet) => still.push(tx),
                        Err(kind) => {
                            errors.add(&kind);
                            still.push(tx);
                            // Its state is unknown after a failure: start a new one.
                            conn = Conn::connect(&plan.target).await.ok();
                        }
                    }
                }
                (still, errors)
            }));
        }
        for task in tasks {
            if let Ok((still, errors)) = task.await {
                pending.extend(still);
                report.errors.merge(errors);
            }
        }
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(SWEEP_PAUSE).await;
    }
    report.never_final = pending.len() as u64;
    report.final_count = report.checked - report.never_final;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tx_of_an_ack() {
        let h = Hash32::digest(b"x");
        let body = format!("{{\"tx\":\"{}\"}}", h.to_hex());
        assert_eq!(tx_of(body.as_bytes()), Some(h));
        assert_eq!(tx_of(b"{\"tx\":\"zz\"}"), None);
        assert_eq!(tx_of(b"not json"), None);
    }
}
