//! `zipchain-load`: load the writer's HTTP API and report what it sustains.
//!
//! ```text
//! zipchain-load throughput --url http://127.0.0.1:PORT --connections 64 --duration 10 [--tx-bytes 64] [--batch N] [--json]
//! zipchain-load finality   --url http://127.0.0.1:PORT --rate 10000 --duration 20 [--sample-every 100] [--poll-interval-ms 20] [--http2 --streams N] [--acked-out FILE] [--json]
//! ```
//!
//! Exit status: 0 after a run (failed requests are in the report), 2 for bad arguments or an
//! unreachable writer.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use zipchain_loadgen::conn::{Protocol, Target};
use zipchain_loadgen::finality::{self, FinalityConfig, Until};
use zipchain_loadgen::report;
use zipchain_loadgen::throughput::{self, ThroughputConfig};

#[derive(Debug, Parser)]
#[command(
    name = "zipchain-load",
    version,
    about = "Load generator for the zipchain writer's HTTP API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed loop: as many unique transactions as the writer acknowledges.
    Throughput(ThroughputArgs),
    /// Open loop: a fixed offered load, and the time to `status: final`.
    Finality(FinalityArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// The writer's base URL (`http://host:port`).
    #[arg(long)]
    url: String,
    /// How long to send, seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The size of each transaction, bytes (at least 28).
    #[arg(long, default_value_t = 64)]
    tx_bytes: usize,
    /// The most time one request may take, seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ThroughputArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent connections, one request in flight on each (HTTP/1.1), or `--streams`
    /// each (HTTP/2).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Speak HTTP/2 over cleartext TCP (h2c, prior knowledge) instead of HTTP/1.1.
    #[arg(long)]
    http2: bool,
    /// Requests in flight on each HTTP/2 connection (each its own stream); needs --http2.
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// Upload through `POST /v1/transactions/batch`, this many transactions a request.
    #[arg(long)]
    batch: Option<usize>,
}

#[derive(Debug, Args)]
struct FinalityArgs {
    #[command(flatten)]
    common: Common,
    /// The offered load, transactions per second.
    #[arg(long)]
    rate: u64,
    /// Sending connections (one request in flight on each over HTTP/1.1, `--streams`
    /// over HTTP/2).
    #[arg(long, default_value_t = 256)]
    connections: usize,
    /// Speak HTTP/2 over cleartext TCP (h2c, prior knowledge) instead of HTTP/1.1.
    #[arg(long)]
    http2: bool,
    /// Sending streams on each HTTP/2 connection; needs --http2.
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// Write the id of every acknowledged transaction to FILE (32 raw bytes each, in no
    /// order), to check them against the stores afterwards (`soak-check`).
    #[arg(long, value_name = "FILE")]
    acked_out: Option<std::path::PathBuf>,
    /// Polling connections.
    #[arg(long, default_value_t = 16)]
    poll_connections: usize,
    /// Poll one acknowledged transaction in this many.
    #[arg(long, default_value_t = 100)]
    sample_every: u64,
    /// The time between two polls of a transaction, ms (the resolution of the finality times).
    #[arg(long, default_value_t = 20)]
    poll_interval_ms: u64,
    /// How long a transaction may take to become final, seconds.
    #[arg(long, default_value_t = 10.0)]
    final_timeout: f64,
    /// Skip checking every acknowledged transaction after the run.
    #[arg(long)]
    no_sweep: bool,
    /// What a polled transaction waits for: `final` on the main chain, or a
    /// `certificate-v2` that a quorum of witnesses vouches for (SPEC §9.5). The sweep
    /// after the run always checks finality.
    #[arg(long, value_enum, default_value_t = Until::Final)]
    until: Until,
}

fn seconds(name: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| format!("{name} is {s}, expected a non-negative number of seconds"))
}

/// mimalloc, not glibc's malloc: every request allocates and frees a task and buffers, and
/// glibc spent much of that time consolidating its free lists (issue #4).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zipchain-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Throughput(a) => {
            let c = &a.common;
            let target = Target::parse(&c.url).map_err(|e| e.to_string())?;
            let config = ThroughputConfig {
                connections: a.connections,
                protocol: if a.http2 {
                    Protocol::Http2
                } else {
                    Protocol::Http1
                },
                streams: a.streams,
                duration: seconds("--duration", c.duration)?,
                tx_bytes: c.tx_bytes,
                batch: a.batch,
                timeout: seconds("--timeout", c.timeout)?,
            };
            let r = runtime(c.threads)?
                .block_on(throughput::run(target, &config))
                .map_err(|e| e.to_string())?;
            if c.json {
                serde_json::to_string_pretty(&r)
                    .map(|s| s + "\n")
                    .map_err(|e| e.to_string())
            } else {
                Ok(report::throughput_text(&r))
            }
        }
        Command::Finality(a) => {
            let c = &a.common;
            let target = Target::parse(&c.url).map_err(|e| e.to_string())?;
            let config = FinalityConfig {
                rate: a.rate,
                duration: seconds("--duration", c.duration)?,
                tx_bytes: c.tx_bytes,
                connections: a.connections,
                poll_connections: a.poll_connections,
                sample_every: a.sample_every,
                poll_interval: Duration::from_millis(a.poll_interval_ms),
                final_timeout: seconds("--final-timeout", a.final_timeout)?,
                timeout: seconds("--timeout", c.timeout)?,
                sweep: !a.no_sweep,
                until: a.until,
                protocol: if a.http2 {
                    Protocol::Http2
                } else {
                    Protocol::Http1
                },
                streams: a.streams,
                keep_acked: a.acked_out.is_some(),
            };
            let r = runtime(c.threads)?
                .block_on(finality::run(target, &config))
                .map_err(|e| e.to_string())?;
            if let Some(path) = &a.acked_out {
                let bytes: Vec<u8> = r.acked_ids.iter().flat_map(|t| *t.as_bytes()).collect();
                std::fs::write(path, bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            if c.json {
                serde_json::to_string_pretty(&r)
                    .map(|s| s + "\n")
                    .map_err(|e| e.to_string())
            } else {
                Ok(report::finality_text(&r))
            }
        }
    }
}
