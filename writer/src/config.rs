//! The command line (SPEC §7.1) and the checked configuration built from it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use verifier_core::batch::BatchBudget;

use crate::http::ConnLimits;

/// The environment variable that may hold the bearer token instead of `--token`.
pub const TOKEN_ENV: &str = "ZIPCHAIN_WRITER_TOKEN";

/// `zipchain-writer`'s arguments, as given.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "zipchain-writer",
    version,
    about = "The zipchain writer daemon: durable writes sealed into a timestamped, sequenced, replicated chain (SPEC §7.1)."
)]
pub struct Args {
    /// The data directory (chain.json, write-ahead log, object mirror, stand-in keys).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The address to serve HTTP on; port 0 picks a free port (logged at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// An object store URL; give it six times, or not at all for six directories under DIR/stores.
    #[arg(long = "store", value_name = "URL")]
    pub stores: Vec<String>,
    /// The sequencer service's base URL; without it the stand-in runs in-process.
    #[arg(long, value_name = "URL")]
    pub sequencer: Option<String>,
    /// The timestamp service's base URL; without it the stand-in runs in-process.
    #[arg(long, value_name = "URL")]
    pub timestamp: Option<String>,
    /// The most transactions sealed into one block.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub batch_max: usize,
    /// The seal period, in milliseconds: at most one block is cut per period (sooner when
    /// `--batch-max` transactions are waiting); a write after a quiet spell is cut at once.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub batch_wait: u64,
    /// The bearer token writes must carry (required when listening off loopback).
    #[arg(long, value_name = "T", env = TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,
    /// Start a successor chain: archive the current chain.json and take over its queue.
    #[arg(long)]
    pub new_chain: bool,
    /// The largest transaction accepted, in bytes (larger bodies get 413).
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub max_tx_bytes: usize,
    /// How long a client has to send a request's headers, in milliseconds: a new connection
    /// whose first request has not arrived by then is closed, and so is an HTTP/1.1
    /// connection that waits this long for its next request.
    #[arg(long, value_name = "MS", default_value_t = millis(ConnLimits::DEFAULT.header_timeout))]
    pub header_timeout_ms: u64,
    /// How long a connection may have no request in flight before it is closed, in
    /// milliseconds (HTTP/2 with GOAWAY; HTTP/1.1 is closed after the shorter of this and
    /// --header-timeout-ms).
    #[arg(long, value_name = "MS", default_value_t = millis(ConnLimits::DEFAULT.idle_timeout))]
    pub idle_timeout_ms: u64,
    /// The most connections served at once: while that many are open, no more are accepted
    /// (they wait in the listen backlog until one closes). Keep it below the open-file limit.
    #[arg(long, value_name = "N", default_value_t = ConnLimits::DEFAULT.max_connections)]
    pub max_connections: usize,
}

/// `d` in whole milliseconds, for the defaults shown by `--help`.
const fn millis(d: Duration) -> u64 {
    // The defaults are seconds; `as_millis` is a u128.
    d.as_secs() * 1000 + d.subsec_millis() as u64
}

/// The largest `--header-timeout-ms`: an hour.
pub const MAX_HEADER_TIMEOUT_MS: u64 = 3_600_000;

/// The largest `--idle-timeout-ms`: a day.
pub const MAX_IDLE_TIMEOUT_MS: u64 = 86_400_000;

/// The largest `--max-connections`.
pub const MAX_CONNECTIONS: usize = 1_000_000;

/// The checked configuration the writer runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where HTTP is served.
    pub listen: SocketAddr,
    /// Six store URLs, or `None` for `DIR/stores/store-0` … `store-5`.
    pub stores: Option<Vec<String>>,
    /// The sequencer's base URL, or `None` for the in-process stand-in.
    pub sequencer: Option<String>,
    /// The timestamp service's base URL, or `None` for the in-process stand-in.
    pub timestamp: Option<String>,
    /// The most transactions in one block.
    pub batch_max: usize,
    /// How long a batch waits after its first transaction.
    pub batch_wait: Duration,
    /// The bearer token writes must carry, if any.
    pub token: Option<String>,
    /// Whether to start a successor chain.
    pub new_chain: bool,
    /// The largest transaction accepted, in bytes.
    pub max_tx_bytes: usize,
    /// How long a client has to send a request's headers.
    pub header_timeout: Duration,
    /// How long a connection may have no request in flight.
    pub idle_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
}

/// Why the arguments do not make a usable configuration (exit code 2).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Listening off loopback without a token would let anyone write.
    #[error(
        "--listen {listen} is not a loopback address, so writes need a token: pass --token or set {TOKEN_ENV}"
    )]
    TokenRequired {
        /// The address asked for.
        listen: SocketAddr,
    },
    /// An empty token.
    #[error("the token is empty, expected at least one character")]
    EmptyToken,
    /// Not zero and not six `--store` URLs.
    #[error("got {got} --store URLs, expected none (six directories under DIR) or exactly 6")]
    StoreCount {
        /// URLs given.
        got: usize,
    },
    /// `--batch-max` out of range.
    #[error("--batch-max {got} is out of range, expected 1 to {max}")]
    BatchMax {
        /// The value given.
        got: usize,
        /// The largest batch a verifier accepts.
        max: u64,
    },
    /// `--max-tx-bytes` is zero.
    #[error("--max-tx-bytes is 0, expected at least 1")]
    MaxTxBytes,
    /// A number out of its range.
    #[error("{flag} {got} is out of range, expected {min} to {max}")]
    OutOfRange {
        /// The flag.
        flag: &'static str,
        /// The value given.
        got: u64,
        /// The smallest value taken.
        min: u64,
        /// The largest value taken.
        max: u64,
    },
}

/// `got` if it is within `1..=max`, for `flag`.
fn in_range(flag: &'static str, got: u64, max: u64) -> Result<u64, ConfigError> {
    if (1..=max).contains(&got) {
        Ok(got)
    } else {
        Err(ConfigError::OutOfRange {
            flag,
            got,
            min: 1,
            max,
        })
    }
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        let token = match args.token {
            Some(t) if t.is_empty() => return Err(ConfigError::EmptyToken),
            other => other,
        };
        if token.is_none() && !args.listen.ip().is_loopback() {
            return Err(ConfigError::TokenRequired {
                listen: args.listen,
            });
        }
        let stores = match args.stores.len() {
            0 => None,
            6 => Some(args.stores),
            got => return Err(ConfigError::StoreCount { got }),
        };
        let max = BatchBudget::DEFAULT.max_txs;
        if args.batch_max == 0 || u64::try_from(args.batch_max).map_or(true, |n| n > max) {
            return Err(ConfigError::BatchMax {
                got: args.batch_max,
                max,
            });
        }
        if args.max_tx_bytes == 0 {
            return Err(ConfigError::MaxTxBytes);
        }
        let header_timeout = in_range(
            "--header-timeout-ms",
            args.header_timeout_ms,
            MAX_HEADER_TIMEOUT_MS,
        )?;
        let idle_timeout = in_range(
            "--idle-timeout-ms",
            args.idle_timeout_ms,
            MAX_IDLE_TIMEOUT_MS,
        )?;
        let max_connections = in_range(
            "--max-connections",
            u64::try_from(args.max_connections).unwrap_or(u64::MAX),
            MAX_CONNECTIONS as u64,
        )?;
        Ok(Self {
            data_dir: args.data_dir,
            listen: args.listen,
            stores,
            sequencer: args.sequencer,
            timestamp: args.timestamp,
            batch_max: args.batch_max,
            batch_wait: Duration::from_millis(args.batch_wait),
            token,
            new_chain: args.new_chain,
            max_tx_bytes: args.max_tx_bytes,
            header_timeout: Duration::from_millis(header_timeout),
            idle_timeout: Duration::from_millis(idle_timeout),
            // Within 1..=MAX_CONNECTIONS, so it fits.
            max_connections: usize::try_from(max_connections).unwrap_or(MAX_CONNECTIONS),
        })
    }
}

impl Config {
    /// A loopback configuration with the defaults, for tests and embedding.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            stores: None,
            sequencer: None,
            timestamp: None,
            batch_max: 10_000,
            batch_wait: Duration::from_millis(200),
            token: None,
            new_chain: false,
            max_tx_bytes: 1 << 20,
            header_timeout: ConnLimits::DEFAULT.header_timeout,
            idle_timeout: ConnLimits::DEFAULT.idle_timeout,
            max_connections: ConnLimits::DEFAULT.max_connections,
        }
    }

    /// What the accept loop grants each connection.
    pub fn conn_limits(&self) -> ConnLimits {
        ConnLimits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["zipchain-writer", "--data-dir", "/tmp/x"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn off_loopback_needs_a_token() {
        let err = Config::try_from(args(&["--listen", "0.0.0.0:8080"])).unwrap_err();
        assert!(matches!(err, ConfigError::TokenRequired { .. }));
        assert!(err.to_string().contains("--token"));
        let ok =
            Config::try_from(args(&["--listen", "0.0.0.0:8080", "--token", "s3cret"])).unwrap();
        assert_eq!(ok.token.as_deref(), Some("s3cret"));
        assert!(Config::try_from(args(&["--listen", "[::1]:0"])).is_ok());
    }

    #[test]
    fn stores_are_none_or_six() {
        let err = Config::try_from(args(&["--store", "memory://"])).unwrap_err();
        assert_eq!(err, ConfigError::StoreCount { got: 1 });
        let six: Vec<&str> = (0..6).flat_map(|_| ["--store", "memory://"]).collect();
        assert_eq!(
            Config::try_from(args(&six)).unwrap().stores.unwrap().len(),
            6
        );
    }

    #[test]
    fn connection_limits() {
        let c = Config::try_from(args(&[])).unwrap();
        assert_eq!(c.conn_limits(), ConnLimits::DEFAULT);
        assert_eq!(c.header_timeout, Duration::from_secs(10));
        let c = Config::try_from(args(&[
            "--header-timeout-ms",
            "300",
            "--idle-timeout-ms",
            "1500",
            "--max-connections",
            "2",
        ]))
        .unwrap();
        assert_eq!(
            c.conn_limits(),
            ConnLimits {
                header_timeout: Duration::from_millis(300),
                idle_timeout: Duration::from_millis(1500),
                max_connections: 2,
            }
        );
        for (flag, bad) in [
            ("--header-timeout-ms", "0"),
            ("--header-timeout-ms", "3600001"),
            ("--idle-timeout-ms", "0"),
            ("--max-connections", "0"),
            ("--max-connections", "1000001"),
        ] {
            let err = Config::try_from(args(&[flag, bad])).unwrap_err();
            assert!(
                matches!(err, ConfigError::OutOfRange { flag: f, .. } if f == flag),
                "{flag} {bad}: {err}"
            );
            assert!(
                err.to_string()
                    .starts_with(&format!("{flag} {bad} is out of range"))
            );
        }
    }

    #[test]
    fn batch_max_is_bounded() {
        assert!(Config::try_from(args(&["--batch-max", "0"])).is_err());
        assert!(Config::try_from(args(&["--batch-max", "100000000"])).is_err());
        assert!(Config::try_from(args(&["--token", ""])).is_err());
    }
}
