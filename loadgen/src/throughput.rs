//! `zipchain-load throughput`: closed-loop upload from many connections.
//!
//! Each of `connections` tasks owns one keep-alive connection and sends unique transactions
//! back to back (the next as soon as the previous is answered) until `duration` has passed;
//! requests in flight then are awaited, and the rate is taken over the whole time, drain
//! included. Only `202 Accepted` answers count as acknowledged; any other status, and every
//! transport failure, is counted by kind. With `batch`, each request is one
//! `POST /v1/transactions/batch` of `batch` transactions (a CBOR array of byte strings) and a
//! 202 acknowledges all of them; the latency is then that of the whole batch.
//!
//! Over HTTP/2 (`--http2`), each connection carries `streams` such closed loops at once,
//! each its own stream: `connections × streams` clients in all.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde::Serialize;
use tokio::time::Instant;
use verifier_core::batch::Batch;

use crate::conn::{Conn, ConnError, Protocol, Target, Watchdog, probe};
use crate::stats::{ErrorCounts, LatencySummary, micros};
use crate::tx::{MIN_TX_BYTES, TxMaker};

/// The single-transaction upload path.
pub const TX_PATH: &str = "/v1/transactions";

/// The batch upload path.
pub const BATCH_PATH: &str = "/v1/transactions/batch";

/// How long a task waits before reconnecting after a failed connection.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// Why a throughput run could not run.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThroughputError {
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

/// The settings of a throughput run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThroughputConfig {
    /// Concurrent connections.
    pub connections: usize,
    /// The HTTP version spoken.
    pub protocol: Protocol,
    /// Requests in flight on each connection (HTTP/2 streams); 1 for HTTP/1.1.
    pub streams: usize,
    /// How long to keep sending.
    pub duration: Duration,
    /// The size of each transaction, bytes (at least [`MIN_TX_BYTES`]).
    pub tx_bytes: usize,
    /// With `Some(n)`, upload through [`BATCH_PATH`], `n` transactions a request.
    pub batch: Option<usize>,
    /// The most time one request may take.
    pub timeout: Duration,
}

/// What a throughput run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThroughputReport {
    /// Connections used.
    pub connections: usize,
    /// `"http/1.1"` or `"h2c"`.
    pub protocol: &'static str,
    /// Requests in flight on each connection.
    pub streams: usize,
    /// Transactions per request (1 without `--batch`).
    pub batch: usize,
    /// The size of each transaction, bytes.
    pub tx_bytes: usize,
    /// The sending window asked, seconds.
    pub duration_s: f64,
    /// The time from the first send to the last answer, seconds (the window plus the drain).
    pub elapsed_s: f64,
    /// Requests answered or failed.
    pub requests: u64,
    /// Transactions acknowledged with `202`.
    pub acked: u64,
    /// `acked / elapsed_s`.
    pub acked_per_s: f64,
    /// Failed requests by kind (`"status 503"`, `"timeout"`, `"http"`, `"connect"`).
    pub errors: ErrorCounts,
    /// Send-to-`202` latency of the acknowledged requests.
    pub ack_latency: LatencySummary,
}

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    acked: u64,
    latencies: Vec<u64>,
    errors: ErrorCounts,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.acked += other.acked;
        self.latencies.extend(other.latencies);
        self.errors.merge(other.errors);
    }
}

/// Runs a throughput measurement against the writer at `target`.
///
/// # Errors
/// [`ThroughputError::Config`] for a setting out of range, [`ThroughputError::Conn`] if the
/// writer cannot be reached before the run. Failures during the run are counted in the report.
pub async fn run(
    target: Target,
    config: &ThroughputConfig,
) -> Result<ThroughputReport, ThroughputError> {
    if config.connections == 0 {
        return Err(out_of_range(
            "--connections",
            config.connections,
            "at least 1",
        ));
    }
    if config.streams == 0 || (config.protocol == Protocol::Http1 && config.streams > 1) {
        return Err(out_of_range(
            "--streams",
            config.streams,
            "at least 1, and 1 without --http2 (HTTP/1.1 carries one request at a time)",
        ));
    }
    if config.batch == Some(0) {
        return Err(out_of_range("--batch", 0, "at least 1"));
    }
    let maker = TxMaker::new(config.tx_bytes).ok_or_else(|| {
        out_of_range(
            "--tx-bytes",
            config.tx_bytes,
            &format!("at least {MIN_TX_BYTES}"),
        )
    })?;
    probe(&target, config.timeout).await?;

    let target = Arc::new(target);
    // Every client numbers its transactions apart from the others by a u32.
    let clients = config
        .connections
        .checked_mul(config.streams)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| {
            out_of_range(
                "--connections × --streams",
                format!("{} × {}", config.connections, config.streams),
                "at most 2^32 - 1",
            )
        })?;
    // HTTP/2: every connection is opened before any client starts (a failure then stops
    // the run with nothing left sending), and shared among its streams' loops.
    let mut shared = Vec::new();
    if config.protocol == Protocol::Http2 {
        for _ in 0..config.connections {
            shared.push(Conn::connect_with(&target, Protocol::Http2).await?);
        }
    }
    let start = Instant::now();
    let deadline = start + config.duration;
    // One task per connection: over HTTP/2 its streams' loops run together in it, so an
    // answer read by the connection wakes an entry of that task's ready queue rather than
    // a task of its own, and the runtime schedules one task per connection.
    let per_task = if config.protocol == Protocol::Http2 {
        config.streams
    } else {
        1
    };
    let mut tasks = Vec::with_capacity(clients as usize / per_task + 1);
    let mut client = 0u32;
    while client < clients {
        let mut loops = FuturesUnordered::new();
        for _ in 0..per_task {
            if client >= clients {
                break;
            }
            let conn = shared
                .get(client as usize / config.streams)
                .and_then(Conn::share);
            loops.push(worker(
                Arc::clone(&target),
                config.protocol,
                conn,
                maker,
                client,
                config.batch,
                deadline,
                config.timeout,
            ));
            client += 1;
        }
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while let Some(t) = loops.next().await {
                tally.merge(t);
            }
            tally
        }));
    }
    drop(shared);
    let mut total = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => total.merge(t),
            Err(_) => total.errors.add("task-failed"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(ThroughputReport {
        connections: config.connections,
        protocol: config.protocol.name(),
        streams: config.streams,
        batch: config.batch.unwrap_or(1),
        tx_bytes: config.tx_bytes,
        duration_s: config.duration.as_secs_f64(),
        elapsed_s: elapsed,
        requests: total.requests,
        acked: total.acked,
        acked_per_s: if elapsed > 0.0 {
            total.acked as f64 / elapsed
        } else {
            0.0
        },
        errors: total.errors,
        ack_latency: LatencySummary::from_micros(&mut total.latencies),
    })
}

fn out_of_range(name: &'static str, got: impl ToString, expected: &str) -> ThroughputError {
    ThroughputError::Config {
        name,
        got: got.to_string(),
        expected: expected.to_owned(),
    }
}

/// One client's closed loop: on `conn` if given, else (and after a failure) on a connection
/// of its own.
#[allow(clippy::too_many_arguments)]
async fn worker(
    target: Arc<Target>,
    protocol: Protocol,
    mut conn: Option<Conn>,
    maker: TxMaker,
    stream: u32,
    batch: Option<usize>,
    deadline: Instant,
    timeout: Duration,
) -> Tally {
    let mut tally = Tally::default();
    let mut counter = 0u64;
    let mut watchdog = Watchdog::new(timeout);
    while Instant::now() < deadline {
        let mut c = match conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => match Conn::connect_with(&target, protocol).await {
                Ok(c) => c,
                Err(e) => {
                    tally.errors.add(e.kind());
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        let (path, body, n) = match batch {
            None => (TX_PATH, maker.make(stream, counter), 1),
            Some(n) => {
                let txs = (0..n as u64)
                    .map(|k| maker.make(stream, counter + k))
                    .collect();
                (BATCH_PATH, Batch::new(txs).encode(), n as u64)
            }
        };
        counter += n;
        let sent = Instant::now();
        let answer = c
            .request_watched(Method::POST, path, Bytes::from(body), sent, &mut watchdog)
            .await;
        tally.requests += 1;
        match answer {
            Ok(a) if a.status == StatusCode::ACCEPTED => {
                tally.acked += n;
                tally.latencies.push(micros(sent.elapsed()));
                conn = Some(c);
            }
            Ok(a) => {
                tally.errors.add(&format!("status {}", a.status.as_u16()));
                conn = Some(c);
            }
            Err(e) => tally.errors.add(e.kind()),
        }
    }
    tally
}
