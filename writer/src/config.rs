//! The command line (SPEC §7.1) and the checked configuration built from it.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use verifier_core::batch::BatchBudget;

use crate::http::{ConnLimits, RequestLimits};

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
    /// `file:///abs/dir`, `memory://`, `s3://bucket[/prefix]`, `az://container[/prefix]`,
    /// `gs://bucket[/prefix]`; the cloud stores take their endpoint and credentials from the
    /// usual environment (`AWS_ENDPOINT` or `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, …).
    /// Every `s3://` bucket must have S3 Object Lock with a default retention in COMPLIANCE
    /// mode (checked at every start), unless --allow-mutable-store.
    #[arg(long = "store", value_name = "URL")]
    pub stores: Vec<String>,
    /// Start even when an `s3://` store's bucket does not lock what is written to it (no
    /// Object Lock, no default retention, or GOVERNANCE mode), or cannot say: its shards
    /// could then be deleted or replaced. For tests and migrations; each such store is
    /// logged as a warning.
    #[arg(long)]
    pub allow_mutable_store: bool,
    /// The sequencer service's base URL; without it the stand-in runs in-process.
    #[arg(long, value_name = "URL")]
    pub sequencer: Option<String>,
    /// The timestamp service: a zipchain-tsa's base URL, or Amazon Cognito as
    /// `cognito://<user pool id>?client=<app client id>&domain=<username domain>`
    /// (`&endpoint=<URL>` for a local server; AWS credentials from the environment);
    /// without it the stand-in runs in-process.
    #[arg(long, value_name = "URL")]
    pub timestamp: Option<String>,
    /// The most transactions sealed into one block.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub batch_max: usize,
    /// The seal period, in milliseconds: at most one block is cut per period (sooner when
    /// `--batch-max` transactions are waiting); a write after a quiet spell is cut at once.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub batch_wait: u64,
    /// The bearer token writes must carry (required when listening off loopback). Any user
    /// can read a command line (`ps`): prefer --token-file or the environment variable.
    #[arg(long, value_name = "T", env = TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from this file instead: its content, less one trailing newline. The
    /// file must not be empty, nor (on Unix) open to group or others (chmod 600).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
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
    /// The most transactions acknowledged but not yet final that the writer holds: while
    /// that many wait (sealing halted or slower than the writes), writes get 503 with
    /// `Retry-After`, before anything is logged or acknowledged.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PENDING)]
    pub max_pending: u64,
    /// How long a request may take, from its headers to its answer (its body read and, for
    /// a write, made durable), in milliseconds; past it the answer is 408. The default is
    /// the stand-ins' request timeout, time for a 64 MiB batch upload at 2.2 MB/s.
    #[arg(long, value_name = "MS", default_value_t = millis(RequestLimits::DEFAULT.timeout))]
    pub request_timeout_ms: u64,
    /// The most requests handled at once, over all connections; more wait their turn
    /// (within --request-timeout-ms). The default is the most writes one group commit
    /// (one fdatasync) takes.
    #[arg(long, value_name = "N", default_value_t = RequestLimits::DEFAULT.max_requests)]
    pub max_requests: usize,
    /// A witness's cosignature/v1 verifier key (`<name>+<hex id>+<base64>`), given once per
    /// witness: at genesis it goes into chain.json's `witnesses` (SPEC §9.4, §9.6); later
    /// starts read the policy from DIR/chain.json, which the operator may edit.
    #[arg(long = "witness-key", value_name = "VKEY")]
    pub witness_keys: Vec<String>,
    /// How many distinct witnesses must cosign a checkpoint before certificates carry it
    /// (with --witness-key).
    #[arg(long, value_name = "K")]
    pub quorum: Option<u64>,
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

/// The largest `--request-timeout-ms`: an hour.
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 3_600_000;

/// The largest `--max-requests`.
pub const MAX_REQUESTS: usize = 1_000_000;

/// The checked configuration the writer runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where HTTP is served.
    pub listen: SocketAddr,
    /// Six store URLs, or `None` for `DIR/stores/store-0` … `store-5`.
    pub stores: Option<Vec<String>>,
    /// Whether to start with `s3://` stores whose buckets do not lock shards in COMPLIANCE
    /// mode (`--allow-mutable-store`).
    pub allow_mutable_store: bool,
    /// The sequencer's base URL, or `None` for the in-process stand-in.
    pub sequencer: Option<String>,
    /// The timestamp service's base URL, or `None` for the in-process stand-in.
    pub timestamp: Option<String>,
    /// The most transactions in one block.
    pub batch_max: usize,
    /// The seal period: at most one block is cut per period (sooner when `batch_max`
    /// transactions are waiting); a write after a quiet spell is cut at once.
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
    /// The most acknowledged, not yet final transactions held before writes get 503.
    pub max_pending: u64,
    /// How long a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// The most requests handled at once.
    pub max_requests: usize,
    /// The witness policy for a new chain's descriptor (`--witness-key`, `--quorum`).
    pub witnesses: Option<verifier_core::trust::WitnessesTrust>,
}

/// Why the arguments do not make a usable configuration (exit code 2).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Listening off loopback without a token would let anyone write.
    #[error(
        "--listen {listen} is not a loopback address, so writes need a token: pass --token-file, --token or set {TOKEN_ENV}"
    )]
    TokenRequired {
        /// The address asked for.
        listen: SocketAddr,
    },
    /// An empty token.
    #[error("the token is empty, expected at least one character")]
    EmptyToken,
    /// Both `--token` (or its environment variable) and `--token-file`.
    #[error("both --token (or {TOKEN_ENV}) and --token-file give a token, expected one")]
    TokenTwice,
    /// The token file cannot be read.
    #[error("cannot read the token file {}: {reason}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
    /// The token file holds no token.
    #[error("the token file {} is empty, expected the token", path.display())]
    TokenFileEmpty {
        /// The file.
        path: PathBuf,
    },
    /// The token file is larger than a token can be.
    #[error("the token file {} holds more than {limit} bytes, expected only the token", path.display())]
    TokenFileTooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes read.
        limit: usize,
    },
    /// The token file is open to group or others (Unix).
    #[error(
        "the token file {} has mode {mode:03o}, so other users may read the token; expected no permission for group or others (chmod 600 {})",
        path.display(),
        path.display()
    )]
    TokenFileMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The token holds a byte no `Authorization` header can carry, so no write could match
    /// it (a second line in the token file, say). The token itself is never shown.
    #[error(
        "the token from {from} has byte {byte:#04x} at offset {offset}, expected no control characters and no blank at either end (an Authorization header cannot carry it)"
    )]
    TokenByte {
        /// Where the token came from: `--token` or the file.
        from: String,
        /// The byte.
        byte: u8,
        /// Its offset in the token.
        offset: usize,
    },
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
    /// `--witness-key` and `--quorum` do not make a witness policy.
    #[error("--witness-key/--quorum: {0}")]
    Witnesses(String),
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

/// The most bytes of a token file read.
pub const MAX_TOKEN_FILE_BYTES: usize = 4096;

/// Reads the token from `path`: its content less one trailing newline (`\n` or `\r\n`).
///
/// # Errors
/// [`ConfigError`] when the file cannot be read, is empty, holds more than
/// [`MAX_TOKEN_FILE_BYTES`], is not UTF-8, or (on Unix) grants any permission to group or
/// others.
pub fn read_token_file(path: &Path) -> Result<String, ConfigError> {
    let failed = |e: std::io::Error| ConfigError::TokenFile {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // The open file's mode, not the path's: the file read is the file checked.
        let mode = file.metadata().map_err(failed)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(ConfigError::TokenFileMode {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() > MAX_TOKEN_FILE_BYTES {
        return Err(ConfigError::TokenFileTooLarge {
            path: path.to_owned(),
            limit: MAX_TOKEN_FILE_BYTES,
        });
    }
    let mut token = String::from_utf8(bytes).map_err(|e| ConfigError::TokenFile {
        path: path.to_owned(),
        reason: format!("not UTF-8 text: {}", e.utf8_error()),
    })?;
    if token.ends_with('\n') {
        token.pop();
        if token.ends_with('\r') {
            token.pop();
        }
    }
    if token.is_empty() {
        return Err(ConfigError::TokenFileEmpty {
            path: path.to_owned(),
        });
    }
    Ok(token)
}

/// Checks that `token` can be sent in `Authorization: Bearer <token>`: no control
/// character, no blank at either end (HTTP trims those).
fn check_token(token: &str, from: impl FnOnce() -> String) -> Result<(), ConfigError> {
    let bytes = token.as_bytes();
    let last = bytes.len().saturating_sub(1);
    let bad = bytes
        .iter()
        .enumerate()
        .find(|&(i, &b)| b.is_ascii_control() || ((i == 0 || i == last) && b == b' '));
    match bad {
        Some((offset, &byte)) => Err(ConfigError::TokenByte {
            from: from(),
            byte,
            offset,
        }),
        None => Ok(()),
    }
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        let token = match (args.token, &args.token_file) {
            (Some(_), Some(_)) => return Err(ConfigError::TokenTwice),
            (Some(t), None) if t.is_empty() => return Err(ConfigError::EmptyToken),
            (Some(t), None) => {
                check_token(&t, || format!("--token (or {TOKEN_ENV})"))?;
                Some(t)
            }
            (None, Some(path)) => {
                let t = read_token_file(path)?;
                check_token(&t, || format!("--token-file {}", path.display()))?;
                Some(t)
            }
            (None, None) => None,
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
        let request_timeout = in_range(
            "--request-timeout-ms",
            args.request_timeout_ms,
            MAX_REQUEST_TIMEOUT_MS,
        )?;
        let max_requests = in_range(
            "--max-requests",
            u64::try_from(args.max_requests).unwrap_or(u64::MAX),
            MAX_REQUESTS as u64,
        )?;
        let witnesses = match (args.witness_keys.is_empty(), args.quorum) {
            (true, None) => None,
            (true, Some(_)) => {
                return Err(ConfigError::Witnesses(
                    "--quorum without any --witness-key".to_owned(),
                ));
            }
            (false, None) => {
                return Err(ConfigError::Witnesses(
                    "--witness-key needs --quorum K (how many must cosign)".to_owned(),
                ));
            }
            (false, Some(quorum)) => {
                let keys = args.witness_keys;
                verifier_core::tlog::policy::WitnessPolicy::new(&keys, quorum)
                    .map_err(|e| ConfigError::Witnesses(e.to_string()))?;
                Some(verifier_core::trust::WitnessesTrust { keys, quorum })
            }
        };
        Ok(Self {
            witnesses,
            data_dir: args.data_dir,
            listen: args.listen,
            stores,
            allow_mutable_store: args.allow_mutable_store,
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
            max_pending: args.max_pending,
            request_timeout: Duration::from_millis(request_timeout),
            // Within 1..=MAX_REQUESTS, so it fits.
            max_requests: usize::try_from(max_requests).unwrap_or(MAX_REQUESTS),
        })
    }
}

/// The default `--max-pending`: a million transactions, about 20 s of the writer's
/// measured peak and a bounded amount of memory (each holds its bytes until final).
pub const DEFAULT_MAX_PENDING: u64 = 1_000_000;

impl Config {
    /// A loopback configuration with the defaults, for tests and embedding.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            stores: None,
            allow_mutable_store: false,
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
            max_pending: DEFAULT_MAX_PENDING,
            request_timeout: RequestLimits::DEFAULT.timeout,
            max_requests: RequestLimits::DEFAULT.max_requests,
            witnesses: None,
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

    /// What the router grants each request.
    pub fn request_limits(&self) -> RequestLimits {
        RequestLimits {
            timeout: self.request_timeout,
            max_requests: self.max_requests,
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
    fn witness_keys_need_a_quorum_and_make_a_policy() {
        use verifier_core::tlog::note::ALG_COSIGNATURE_V1;
        use verifier_core::tlog::signer::SignerKey;
        let key = |n: &str, s: u8| {
            SignerKey::new(n, ALG_COSIGNATURE_V1, [s; 32])
                .unwrap()
                .verifier_key()
                .to_text()
        };
        let (a, b) = (key("a.example", 1), key("b.example", 2));
        let config = Config::try_from(args(&[
            "--witness-key",
            &a,
            "--witness-key",
            &b,
            "--quorum",
            "2",
        ]))
        .unwrap();
        assert_eq!(config.witnesses.unwrap().keys, vec![a.clone(), b.clone()]);
        for (extra, needle) in [
            (vec!["--witness-key", a.as_str()], "needs --quorum"),
            (vec!["--quorum", "1"], "without any --witness-key"),
            (vec!["--witness-key", a.as_str(), "--quorum", "2"], "quorum"),
            (
                vec![
                    "--witness-key",
                    a.as_str(),
                    "--witness-key",
                    a.as_str(),
                    "--quorum",
                    "1",
                ],
                "repeats",
            ),
            (
                vec!["--witness-key", "nonsense", "--quorum", "1"],
                "keys[0]",
            ),
        ] {
            let err = Config::try_from(args(&extra)).unwrap_err();
            assert!(matches!(err, ConfigError::Witnesses(_)), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
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
        assert!(!Config::try_from(args(&six)).unwrap().allow_mutable_store);
        let allowed = Config::try_from(args(&["--allow-mutable-store"])).unwrap();
        assert!(allowed.allow_mutable_store);
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
    fn request_limits() {
        let c = Config::try_from(args(&[])).unwrap();
        assert_eq!(c.request_limits(), RequestLimits::DEFAULT);
        assert_eq!(c.request_limits(), Config::new("/tmp/x").request_limits());
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.max_requests, 8192);
        let c = Config::try_from(args(&[
            "--request-timeout-ms",
            "250",
            "--max-requests",
            "3",
        ]))
        .unwrap();
        assert_eq!(
            c.request_limits(),
            RequestLimits {
                timeout: Duration::from_millis(250),
                max_requests: 3,
            }
        );
        for (flag, bad) in [
            ("--request-timeout-ms", "0"),
            ("--request-timeout-ms", "3600001"),
            ("--max-requests", "0"),
            ("--max-requests", "1000001"),
        ] {
            let err = Config::try_from(args(&[flag, bad])).unwrap_err();
            assert!(
                matches!(err, ConfigError::OutOfRange { flag: f, .. } if f == flag),
                "{flag} {bad}: {err}"
            );
        }
    }

    /// A token file holding `content`, with `mode` on Unix.
    fn token_file(dir: &Path, name: &str, content: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }

    fn with_file(path: &Path, extra: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["--token-file", path.to_str().unwrap()];
        argv.extend_from_slice(extra);
        Config::try_from(args(&argv))
    }

    #[test]
    fn token_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (content, token) in [
            (&b"s3cret\n"[..], "s3cret"),
            (b"s3cret\r\n", "s3cret"),
            (b"s3cret", "s3cret"),
            (b"two words\n", "two words"),
        ] {
            let path = token_file(d, "t", content, 0o600);
            let c = with_file(&path, &["--listen", "0.0.0.0:8080"]).unwrap();
            assert_eq!(c.token.as_deref(), Some(token), "{content:?}");
        }
        #[cfg(unix)]
        {
            let path = token_file(d, "ro", b"s3cret\n", 0o400);
            assert_eq!(
                with_file(&path, &[]).unwrap().token.as_deref(),
                Some("s3cret")
            );
        }

        // Empty, or only the newline.
        for content in [&b""[..], b"\n", b"\r\n"] {
            let path = token_file(d, "empty", content, 0o600);
            let err = with_file(&path, &[]).unwrap_err();
            assert_eq!(err, ConfigError::TokenFileEmpty { path: path.clone() });
            assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
        }
        // One newline is trimmed, not two; a second line is refused, the token unshown.
        for (content, byte, offset) in [
            (&b"s3cret\n\n"[..], b'\n', 6),
            (b"s3cret\nmore\n", b'\n', 6),
            (b"s3cret\t\n", b'\t', 6),
            (b" s3cret\n", b' ', 0),
            (b"s3cret \n", b' ', 6),
        ] {
            let path = token_file(d, "bad", content, 0o600);
            let err = with_file(&path, &[]).unwrap_err();
            assert!(
                matches!(err, ConfigError::TokenByte { byte: b, offset: o, .. } if b == byte && o == offset),
                "{content:?}: {err:?}"
            );
            assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
        let path = token_file(d, "big", &[b'x'; MAX_TOKEN_FILE_BYTES + 1], 0o600);
        assert!(matches!(
            with_file(&path, &[]).unwrap_err(),
            ConfigError::TokenFileTooLarge { .. }
        ));
        let path = token_file(d, "latin1", b"caf\xe9\n", 0o600);
        assert!(matches!(
            with_file(&path, &[]).unwrap_err(),
            ConfigError::TokenFile { .. }
        ));
        let missing = d.join("missing");
        let err = with_file(&missing, &[]).unwrap_err();
        assert!(matches!(err, ConfigError::TokenFile { .. }), "{err:?}");
        assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");

        // One source of token only.
        let path = token_file(d, "t", b"s3cret\n", 0o600);
        assert_eq!(
            with_file(&path, &["--token", "other"]).unwrap_err(),
            ConfigError::TokenTwice
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620, 0o601, 0o666] {
            let path = token_file(dir.path(), "t", b"s3cret\n", mode);
            let err = with_file(&path, &[]).unwrap_err();
            assert_eq!(
                err,
                ConfigError::TokenFileMode {
                    path: path.clone(),
                    mode
                },
                "{mode:o}"
            );
            let text = err.to_string();
            assert!(text.contains(&format!("mode {mode:03o}")), "{text}");
            assert!(
                text.contains(&format!("chmod 600 {}", path.display())),
                "{text}"
            );
        }
    }

    #[test]
    fn a_token_with_a_control_character_is_refused() {
        let err = Config::try_from(args(&["--token", "s3cret\n"])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::TokenByte {
                byte: b'\n',
                offset: 6,
                ..
            }
        ));
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn batch_max_is_bounded() {
        assert!(Config::try_from(args(&["--batch-max", "0"])).is_err());
        assert!(Config::try_from(args(&["--batch-max", "100000000"])).is_err());
        assert!(Config::try_from(args(&["--token", ""])).is_err());
    }
}
