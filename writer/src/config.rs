//! The command line (SPEC §7.1), the configuration file's place beside it, and the checked
//! configuration built from them.
//!
//! Settings come from the command line alone, or from a configuration file
//! ([`crate::config_file`], `--config FILE`) that flags given on the command line override
//! one by one. Either way they are checked here, into a [`Config`], with errors that name
//! the setting as it was given: the flag (`--batch-max`) or the file's key (`batch.max`).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::{ConnLimits, RequestLimits};
pub use crate::settings::SECRET_OPTIONS;
use crate::settings::Settings;
use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _, Parser};
use url::Url;

/// The environment variable that may hold the bearer token instead of `--token`.
pub const TOKEN_ENV: &str = "ZIPCHAIN_WRITER_TOKEN";

/// A secret (the bearer token): `Debug` never shows it, and nothing else prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// The secret itself, for the one place that compares it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(** redacted **)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s.into_boxed_str())
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

/// `zipchain-writer`'s arguments, as given.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "zipchain-writer",
    version,
    about = "The zipchain writer daemon: durable writes sealed into a timestamped, sequenced, replicated chain (SPEC §7.1).",
    after_help = "With --config FILE every setting may come from the file (docs/writer.example.toml); a flag given on the command line overrides the file's value."
)]
pub struct Args {
    /// The data directory (chain.json, write-ahead log, object mirror, stand-in keys).
    #[arg(long, value_name = "DIR", required_unless_present_any = ["config", "check_config"])]
    pub data_dir: Option<PathBuf>,
    /// Read the settings from this TOML file (docs/writer.example.toml); flags given on the
    /// command line override the file's values.
    #[arg(long, value_name = "FILE", conflicts_with = "check_config")]
    pub config: Option<PathBuf>,
    /// Check this configuration file (and any flags given with it) without starting: parse,
    /// types, ranges, URLs, store options, the token file and its mode, witness keys, the
    /// Cognito settings and credentials; print a summary with secrets redacted. Exit status
    /// 0 when it is valid, 2 with an error naming the setting otherwise.
    #[arg(long, value_name = "FILE")]
    pub check_config: Option<PathBuf>,
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
    pub batch_max: u64,
    /// The seal period, in milliseconds: at most one block is cut per period (sooner when
    /// `--batch-max` transactions are waiting); a write after a quiet spell is cut at once.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub batch_wait: u64,
    /// The bearer token writes must carry (required when listening off loopback). Any user
    /// can read a command line (`ps`): prefer --token-file or the environment variable.
    #[arg(long, value_name = "T", env = TOKEN_ENV, hide_env_values = true)]
    pub token: Option<Secret>,
    /// Read the token from this file instead: its content, less one trailing newline. The
    /// file must not be empty, nor (on Unix) open to group or others (chmod 600).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Start a successor chain: archive the current chain.json and take over its queue.
    /// (A one-off step: never read from the configuration file.)
    #[arg(long)]
    pub new_chain: bool,
    /// The largest transaction accepted, in bytes (larger bodies get 413).
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub max_tx_bytes: u64,
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
    #[arg(long, value_name = "N", default_value_t = ConnLimits::DEFAULT.max_connections as u64)]
    pub max_connections: u64,
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
    #[arg(long, value_name = "N", default_value_t = RequestLimits::DEFAULT.max_requests as u64)]
    pub max_requests: u64,
    /// A witness's cosignature/v1 verifier key (`<name>+<hex id>+<base64>`), given once per
    /// witness: at genesis it goes into chain.json's `witnesses` (SPEC §9.4, §9.6); later
    /// starts read the policy from DIR/chain.json, which the operator may edit.
    #[arg(long = "witness-key", value_name = "VKEY")]
    pub witness_keys: Vec<String>,
    /// How many distinct witnesses must cosign a checkpoint before certificates carry it
    /// (with --witness-key).
    #[arg(long, value_name = "K")]
    pub quorum: Option<u64>,
    /// A witness to send each new checkpoint to (C2SP tlog-witness: `POST
    /// <URL>/add-checkpoint`), given once per witness; its cosignatures count when they
    /// verify under a key of chain.json's witnesses. An `http(s)` URL without a query,
    /// fragment or credentials.
    #[arg(long = "witness", value_name = "URL")]
    pub witness_urls: Vec<String>,
}

/// The command line as parsed, with the arguments that were given on it (or, for the
/// token, in its environment variable) rather than left to their defaults: those override
/// the configuration file.
#[derive(Clone, Debug)]
pub struct CommandLine {
    /// The arguments.
    pub args: Args,
    given: BTreeSet<String>,
}

impl CommandLine {
    /// The process's command line; prints help, the version or a usage error and exits as
    /// clap does.
    pub fn parse() -> Self {
        match Self::try_parse_from(std::env::args_os()) {
            Ok(line) => line,
            Err(e) => e.exit(),
        }
    }

    /// Parses `argv` (its first item is the program's name).
    ///
    /// # Errors
    /// clap's usage error (or its request to print help or the version).
    pub fn try_parse_from<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Args::command().try_get_matches_from(argv)?;
        let args = Args::from_arg_matches(&matches)?;
        let given = matches
            .ids()
            .filter(|id| {
                matches!(
                    matches.value_source(id.as_str()),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .map(|id| id.as_str().to_owned())
            .collect();
        Ok(Self { args, given })
    }

    /// Whether the argument `id` (its field name in [`Args`]) was given.
    pub fn given(&self, id: &str) -> bool {
        self.given.contains(id)
    }

    /// The configuration file named by `--config` or `--check-config`, if any.
    pub fn config_file(&self) -> Option<&Path> {
        self.args
            .config
            .as_deref()
            .or(self.args.check_config.as_deref())
    }

    /// Whether this is `--check-config`: check and summarise, do not start.
    pub fn check_only(&self) -> bool {
        self.args.check_config.is_some()
    }
}

/// `d` in whole milliseconds, for the defaults shown by `--help`.
const fn millis(d: Duration) -> u64 {
    // The defaults are seconds; `as_millis` is a u128.
    d.as_secs() * 1000 + d.subsec_millis() as u64
}

/// The largest `--batch-wait`: an hour.
pub const MAX_BATCH_WAIT_MS: u64 = 3_600_000;

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

/// The default `--max-pending`: a million transactions, about 20 s of the writer's
/// measured peak and a bounded amount of memory (each holds its bytes until final).
pub const DEFAULT_MAX_PENDING: u64 = 1_000_000;

/// One of the six stores: its URL and the `object_store` options it is opened with (from
/// the configuration file; none from `--store`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The store's URL.
    pub url: String,
    /// `object_store` options of the store's own kind (`aws_*`, `azure_*`, `google_*`);
    /// never a secret ([`SECRET_OPTIONS`]).
    pub options: Vec<(String, String)>,
}

impl StoreConfig {
    /// Opens the six stores `stores` name (nothing is sent: clients are only built).
    ///
    /// # Errors
    /// [`replication::StoreError`] for a URL or an option the store cannot take.
    pub fn open_all(
        stores: &[StoreConfig],
    ) -> Result<replication::Stores, replication::StoreError> {
        let each: Vec<(&str, &[(String, String)])> = stores
            .iter()
            .map(|s| (s.url.as_str(), s.options.as_slice()))
            .collect();
        replication::Stores::from_urls_each(&each)
    }
}

/// The timestamp service the writer calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimestampConfig {
    /// A `zipchain-tsa` at this base URL (SPEC §7.2).
    Tsa(String),
    /// Amazon Cognito (seed \[0022\]-\[0023\]).
    Cognito(Box<CognitoSettings>),
}

/// Amazon Cognito as the timestamp service: the pool, its app client, the username domain,
/// and where the AWS credentials come from (never the credentials themselves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CognitoSettings {
    /// The AWS region (the pool id's prefix).
    pub region: String,
    /// The user pool id, `<region>_<id>`.
    pub user_pool_id: String,
    /// The app client id.
    pub client_id: String,
    /// The username domain: users are `hex(y)@<domain>`.
    pub username_domain: String,
    /// Another endpoint than AWS's (a local server such as moto).
    pub endpoint: Option<Url>,
    /// Where the requests' AWS credentials come from.
    pub credentials: AwsCredentialsSource,
}

/// Where the AWS credentials of the Cognito requests come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AwsCredentialsSource {
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else `AWS_PROFILE` of the shared
    /// credentials file (`cognito::AwsCredentials::from_environment`).
    Environment,
    /// A profile of a shared credentials file, whatever the environment says.
    Profile {
        /// The file (`~/.aws/credentials` format).
        file: PathBuf,
        /// The profile.
        profile: String,
    },
}

impl AwsCredentialsSource {
    /// Reads the credentials (a local read, nothing is sent).
    ///
    /// # Errors
    /// [`cognito::CognitoError::Credentials`] when none are found.
    pub fn resolve(&self) -> Result<cognito::AwsCredentials, cognito::CognitoError> {
        match self {
            Self::Environment => cognito::AwsCredentials::from_environment(),
            Self::Profile { file, profile } => {
                cognito::AwsCredentials::from_shared_file(file, profile)
            }
        }
    }
}

impl fmt::Display for AwsCredentialsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str(
                "the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else AWS_PROFILE of the shared credentials file)",
            ),
            Self::Profile { file, profile } => {
                write!(f, "profile [{profile}] of {}", file.display())
            }
        }
    }
}

/// The checked configuration the writer runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where HTTP is served.
    pub listen: SocketAddr,
    /// The six stores, or `None` for `DIR/stores/store-0` … `store-5`.
    pub stores: Option<Vec<StoreConfig>>,
    /// Whether to start with `s3://` stores whose buckets do not lock shards in COMPLIANCE
    /// mode (`--allow-mutable-store`).
    pub allow_mutable_store: bool,
    /// The sequencer's base URL, or `None` for the in-process stand-in.
    pub sequencer: Option<String>,
    /// The timestamp service, or `None` for the in-process stand-in.
    pub timestamp: Option<TimestampConfig>,
    /// The most transactions in one block.
    pub batch_max: usize,
    /// The seal period: at most one block is cut per period (sooner when `batch_max`
    /// transactions are waiting); a write after a quiet spell is cut at once.
    pub batch_wait: Duration,
    /// The bearer token writes must carry, if any.
    pub token: Option<Secret>,
    /// Where the token came from (`--token`, or the file), for the summary; never the token.
    pub token_source: Option<String>,
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
    /// The witnesses each new checkpoint is sent to (`--witness`), as given.
    pub witness_urls: Vec<String>,
}

/// Why the arguments or the configuration file do not make a usable configuration (exit
/// code 2). Each names the setting as it was given: a flag, or the file's key.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Listening off loopback without a token would let anyone write.
    #[error(
        "{field} {listen} is not a loopback address, so writes need a token: give --token-file (or auth.token_file in the configuration file), --token, or set {TOKEN_ENV}"
    )]
    TokenRequired {
        /// `--listen` or `listen`.
        field: String,
        /// The address asked for.
        listen: SocketAddr,
    },
    /// An empty token.
    #[error("the token is empty, expected at least one character")]
    EmptyToken,
    /// Both `--token` (or its environment variable) and a token file.
    #[error(
        "both --token (or {TOKEN_ENV}) and a token file ({file_field}) give a token, expected one"
    )]
    TokenTwice {
        /// `--token-file` or `auth.token_file`.
        file_field: String,
    },
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
    /// Not zero and not six stores.
    #[error(
        "{field}: got {got} stores, expected exactly 6 (or none, for six directories under DIR)"
    )]
    StoreCount {
        /// `--store` or `stores`.
        field: String,
        /// Stores given.
        got: usize,
    },
    /// `--witness-key` and `--quorum`, or the file's `witnesses`, do not make a witness
    /// policy (the message names the setting).
    #[error("{0}")]
    Witnesses(String),
    /// A number out of its range.
    #[error("{field}: {got} is out of range, expected {min} to {max}")]
    OutOfRange {
        /// The flag or key.
        field: String,
        /// The value given.
        got: u64,
        /// The smallest value taken.
        min: u64,
        /// The largest value taken.
        max: u64,
    },
    /// A setting that is not usable, with the reason.
    #[error("{field}: {reason}")]
    Invalid {
        /// The flag or key, e.g. `stores[3]` or `timestamp.cognito.user_pool_id`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No data directory.
    #[error("no data directory: give --data-dir DIR, or data_dir in the configuration file")]
    NoDataDir,
    /// The configuration file cannot be read.
    #[error("cannot read the configuration file {}: {reason}", path.display())]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
    /// The configuration file is not valid TOML, or a key is unknown or of the wrong type.
    #[error("{}{}: {field}: {reason}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    FileSyntax {
        /// The file.
        path: PathBuf,
        /// The line of the error, when known (1-based).
        line: Option<usize>,
        /// The key, as a path (`limits.max_connections`, `stores[2].url`), or `(file)`.
        field: String,
        /// What is wrong, in the parser's words.
        reason: String,
    },
}

impl ConfigError {
    /// An [`ConfigError::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
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
pub fn read_token_file(path: &Path) -> Result<Secret, ConfigError> {
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
    Ok(Secret::from(token))
}

/// Checks that `token` can be sent in `Authorization: Bearer <token>`: no control
/// character, no blank at either end (HTTP trims those).
pub(crate) fn check_token(
    token: &Secret,
    from: impl FnOnce() -> String,
) -> Result<(), ConfigError> {
    let bytes = token.expose().as_bytes();
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

impl TryFrom<CommandLine> for Config {
    type Error = ConfigError;

    /// The configuration of `line`: its flags alone, or with `--config`/`--check-config`
    /// the file's settings with the flags given laid over them.
    fn try_from(line: CommandLine) -> Result<Self, ConfigError> {
        let settings = match line.config_file() {
            None => Settings::from_args(line.args),
            Some(path) => crate::config_file::load(path)?.overlay(&line)?,
        };
        settings.check()
    }
}

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
            token_source: None,
            new_chain: false,
            max_tx_bytes: 1 << 20,
            header_timeout: ConnLimits::DEFAULT.header_timeout,
            idle_timeout: ConnLimits::DEFAULT.idle_timeout,
            max_connections: ConnLimits::DEFAULT.max_connections,
            max_pending: DEFAULT_MAX_PENDING,
            request_timeout: RequestLimits::DEFAULT.timeout,
            max_requests: RequestLimits::DEFAULT.max_requests,
            witnesses: None,
            witness_urls: Vec::new(),
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
    use crate::settings::cognito_url;

    fn args(extra: &[&str]) -> CommandLine {
        let mut argv = vec!["zipchain-writer", "--data-dir", "/tmp/x"];
        argv.extend_from_slice(extra);
        CommandLine::try_parse_from(argv).unwrap()
    }

    fn token(c: &Config) -> Option<&str> {
        c.token.as_ref().map(Secret::expose)
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
            (vec!["--witness-key", a.as_str()], "need a quorum"),
            (vec!["--quorum", "1"], "without any witness key"),
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
    fn witness_urls_are_http_prefixes_given_once() {
        let config = Config::try_from(args(&[
            "--witness",
            "https://w1.example/tlog",
            "--witness",
            "http://127.0.0.1:9000/",
        ]))
        .unwrap();
        assert_eq!(
            config.witness_urls,
            vec!["https://w1.example/tlog", "http://127.0.0.1:9000/"]
        );
        for (urls, needle) in [
            (
                vec!["w1.example"],
                "--witness[0]: \"w1.example\" is not a URL",
            ),
            (vec!["ftp://w1.example"], "not an http(s) URL"),
            (vec!["https://w1.example/?log=1"], "query or fragment"),
            (vec!["https://w1.example/#x"], "query or fragment"),
            (vec!["https://user:pw@w1.example/"], "credentials"),
            (
                vec!["https://w1.example/a", "https://w1.example/a/"],
                "--witness[1]: \"https://w1.example/a/\" repeats --witness[0]",
            ),
        ] {
            let argv: Vec<&str> = urls.iter().flat_map(|u| ["--witness", *u]).collect();
            let err = Config::try_from(args(&argv)).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
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
        assert_eq!(token(&ok), Some("s3cret"));
        assert!(Config::try_from(args(&["--listen", "[::1]:0"])).is_ok());
    }

    #[test]
    fn stores_are_none_or_six() {
        let err = Config::try_from(args(&["--store", "memory://"])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::StoreCount {
                field: "--store".into(),
                got: 1
            }
        );
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
                matches!(&err, ConfigError::OutOfRange { field, .. } if field == flag),
                "{flag} {bad}: {err}"
            );
            assert!(
                err.to_string()
                    .starts_with(&format!("{flag}: {bad} is out of range"))
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
                matches!(&err, ConfigError::OutOfRange { field, .. } if field == flag),
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
        for (content, expected) in [
            (&b"s3cret\n"[..], "s3cret"),
            (b"s3cret\r\n", "s3cret"),
            (b"s3cret", "s3cret"),
            (b"two words\n", "two words"),
        ] {
            let path = token_file(d, "t", content, 0o600);
            let c = with_file(&path, &["--listen", "0.0.0.0:8080"]).unwrap();
            assert_eq!(token(&c), Some(expected), "{content:?}");
        }
        #[cfg(unix)]
        {
            let path = token_file(d, "ro", b"s3cret\n", 0o400);
            assert_eq!(token(&with_file(&path, &[]).unwrap()), Some("s3cret"));
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
            ConfigError::TokenTwice {
                file_field: "--token-file".into()
            }
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
    fn cognito_urls_are_read_strictly() {
        let settings = cognito_url(
            "--timestamp",
            "cognito://us-east-1_AbC?client=c1&domain=bky.sh&endpoint=http://127.0.0.1:5000",
        )
        .unwrap();
        assert_eq!(
            settings,
            CognitoSettings {
                region: "us-east-1".into(),
                user_pool_id: "us-east-1_AbC".into(),
                client_id: "c1".into(),
                username_domain: "bky.sh".into(),
                endpoint: Url::parse("http://127.0.0.1:5000").ok(),
                credentials: AwsCredentialsSource::Environment,
            }
        );
        for bad in [
            "cognito://pool?client=c&domain=d",
            "cognito://us-east-1_p?domain=d",
            "cognito://us-east-1_p?client=c",
            "cognito://us-east-1_p?client=c&domain=d&x=1",
            "cognito://us-east-1_p?client=c&client=c&domain=d",
            "cognito://us-east-1_p?client=c&domain=d&endpoint=::",
        ] {
            let err = cognito_url("--timestamp", bad).unwrap_err();
            assert!(err.to_string().starts_with("--timestamp: "), "{bad}: {err}");
        }
        // The pool's settings are checked as the client checks them.
        let err = Config::try_from(args(&[
            "--timestamp",
            "cognito://us-east-1_p-x?client=c&domain=d",
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("user_pool_id"), "{err}");
        let ok = Config::try_from(args(&[
            "--timestamp",
            "cognito://us-east-1_p1?client=c&domain=d",
        ]))
        .unwrap();
        assert!(matches!(ok.timestamp, Some(TimestampConfig::Cognito(_))));
        let tsa = Config::try_from(args(&["--timestamp", "http://127.0.0.1:8081"])).unwrap();
        assert_eq!(
            tsa.timestamp,
            Some(TimestampConfig::Tsa("http://127.0.0.1:8081".into()))
        );
        assert!(Config::try_from(args(&["--sequencer", "nonsense"])).is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = Config::try_from(args(&["--token", "s3cret-token"])).unwrap();
        assert!(!format!("{c:?}").contains("s3cret-token"));
        let line = args(&["--token", "s3cret-token"]);
        assert!(!format!("{line:?}").contains("s3cret-token"));
    }

    #[test]
    fn batch_max_is_bounded() {
        assert!(Config::try_from(args(&["--batch-max", "0"])).is_err());
        assert!(Config::try_from(args(&["--batch-max", "100000000"])).is_err());
        assert!(Config::try_from(args(&["--token", ""])).is_err());
    }
}
