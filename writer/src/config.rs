//! The command line (SPEC §7.1) and the checked configuration built from it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use verifier_core::batch::BatchBudget;

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
}

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
    fn batch_max_is_bounded() {
        assert!(Config::try_from(args(&["--batch-max", "0"])).is_err());
        assert!(Config::try_from(args(&["--batch-max", "100000000"])).is_err());
        assert!(Config::try_from(args(&["--token", ""])).is_err());
    }
}
