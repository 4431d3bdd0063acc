//! The writer's configuration file (`--config FILE`, `--check-config FILE`; issue #15): TOML
//! holding every setting of the command line under a key (docs/writer.example.toml is the
//! commented reference), read with serde into [`FileConfig`]. Unknown keys and values of the
//! wrong type are refused naming the key and its line; relative paths are taken from the
//! file's own directory. The bearer token itself never goes in the file (`auth.token_file`
//! names a file of mode 0600), nor do the stores' secrets ([`crate::config::SECRET_OPTIONS`]);
//! `--new-chain` is a one-off step, given on the command line only.
//!
//! ```toml
//! data_dir = "/var/lib/zipchain-writer"
//! listen = "0.0.0.0:8080"
//! [auth]
//! token_file = "token"              # beside this file
//! [batch]
//! max = 10000
//! [[stores]]
//! url = "s3://zipchain-shards-0"
//! options = { aws_region = "us-east-1" }
//! # … six stores in all
//! [timestamp.cognito]
//! user_pool_id = "us-east-1_AbCdEf123"
//! client_id = "1example23456789"
//! username_domain = "bky.sh"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser as _;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use crate::config::{Args, ConfigError, StoreConfig};
use crate::settings::{Named, Settings, TimestampSetting};

/// The largest configuration file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The configuration file as written: every key optional (an absent one takes the
/// command line's default).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--allow-mutable-store`.
    pub allow_mutable_store: Option<bool>,
    /// `--store` ×6: each a URL, or a table `{ url, options }`.
    pub stores: Option<Vec<StoreEntry>>,
    /// `--sequencer`.
    pub sequencer: Option<SequencerSection>,
    /// `--timestamp`.
    pub timestamp: Option<TimestampSection>,
    /// `--batch-max`, `--batch-wait`.
    pub batch: Option<BatchSection>,
    /// `--token-file`.
    pub auth: Option<AuthSection>,
    /// The request and connection limits.
    pub limits: Option<LimitsSection>,
    /// `--witness-key` ×n, `--quorum`, `--witness` ×n.
    pub witnesses: Option<WitnessesSection>,
    /// Refused: `--new-chain` is a one-off step.
    #[serde(default)]
    new_chain: Option<IgnoredAny>,
}

/// One store: its URL and the `object_store` options of its kind.
#[derive(Debug)]
pub struct StoreEntry {
    /// The URL.
    pub url: String,
    /// `aws_*`, `azure_*` or `google_*` options.
    pub options: BTreeMap<String, OptionValue>,
}

/// A store option's value: TOML strings, booleans and integers are all taken as text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// A string.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Integer(i64),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Integer(n) => write!(f, "{n}"),
        }
    }
}

/// A store given as a table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreTable {
    url: String,
    #[serde(default)]
    options: BTreeMap<String, OptionValue>,
}

impl<'de> Deserialize<'de> for StoreEntry {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = StoreEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a store URL, or a table with url and options")
            }
            fn visit_str<E: de::Error>(self, url: &str) -> Result<StoreEntry, E> {
                Ok(StoreEntry {
                    url: url.to_owned(),
                    options: BTreeMap::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StoreEntry, A::Error> {
                let table = StoreTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(StoreEntry {
                    url: table.url,
                    options: table.options,
                })
            }
        }
        deserializer.deserialize_any(Entry)
    }
}

/// `[sequencer]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequencerSection {
    /// The sequencer's base URL.
    pub url: String,
}

/// `[timestamp]`: `url` (a zipchain-tsa, or a `cognito://` URL) or `[timestamp.cognito]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampSection {
    /// A zipchain-tsa's base URL, or a `cognito://` URL as `--timestamp` takes it.
    pub url: Option<String>,
    /// Amazon Cognito.
    pub cognito: Option<CognitoSection>,
}

/// `[timestamp.cognito]`: the pool, its app client, the username domain, and where the AWS
/// credentials come from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoSection {
    /// `<region>_<id>`.
    pub user_pool_id: String,
    /// The app client id (no secret; `ALLOW_ADMIN_USER_PASSWORD_AUTH`).
    pub client_id: String,
    /// Users are `hex(y)@<username_domain>`.
    pub username_domain: String,
    /// The region; by default the pool id's prefix (it must be that).
    pub region: Option<String>,
    /// Another endpoint than AWS's, e.g. `http://127.0.0.1:5000` for moto.
    pub endpoint: Option<String>,
    /// A shared credentials file (`~/.aws/credentials` format) to read the credentials
    /// from instead of the environment.
    pub credentials_file: Option<PathBuf>,
    /// Its profile (`default` unless given).
    pub credentials_profile: Option<String>,
}

/// `[batch]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSection {
    /// `--batch-max`.
    pub max: Option<u64>,
    /// `--batch-wait`, milliseconds.
    pub wait_ms: Option<u64>,
}

/// `[auth]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// Refused: the token itself never goes in the file.
    #[serde(default)]
    token: Option<IgnoredAny>,
}

/// `[limits]`: one key per flag, named as the flag without its dashes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// `--max-tx-bytes`.
    pub max_tx_bytes: Option<u64>,
    /// `--header-timeout-ms`.
    pub header_timeout_ms: Option<u64>,
    /// `--idle-timeout-ms`.
    pub idle_timeout_ms: Option<u64>,
    /// `--max-connections`.
    pub max_connections: Option<u64>,
    /// `--max-pending`.
    pub max_pending: Option<u64>,
    /// `--request-timeout-ms`.
    pub request_timeout_ms: Option<u64>,
    /// `--max-requests`.
    pub max_requests: Option<u64>,
}

/// `[witnesses]`: the witness policy written into a new chain's `chain.json` (`keys` and
/// `quorum`, both or neither), and the witnesses each new checkpoint is sent to (`urls`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessesSection {
    /// Cosignature/v1 verifier keys (`--witness-key`).
    #[serde(default)]
    pub keys: Vec<String>,
    /// How many must cosign (`--quorum`).
    pub quorum: Option<u64>,
    /// The witnesses' submission URLs (`--witness`).
    #[serde(default)]
    pub urls: Vec<String>,
}

/// Reads and parses the configuration file at `path`.
///
/// # Errors
/// [`ConfigError::FileUnreadable`], or [`ConfigError::FileSyntax`] naming the key.
pub fn read(path: &Path) -> Result<FileConfig, ConfigError> {
    let unreadable = |reason: String| ConfigError::FileUnreadable {
        path: path.to_owned(),
        reason,
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(unreadable(format!(
            "larger than {MAX_FILE_BYTES} bytes, expected a configuration"
        )));
    }
    parse(path, &text)
}

/// Parses `text`, the configuration file at `path`.
///
/// # Errors
/// [`ConfigError::FileSyntax`] naming the key (`batch.maxx`, `stores[3].url`) and its line.
pub fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    let syntax = |field: String, error: toml::de::Error| {
        let line = error.span().map(|span| {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            before.iter().filter(|&&b| b == b'\n').count() + 1
        });
        let reason = error.message().trim().to_owned();
        let field = if field.is_empty() {
            "(file)".to_owned()
        } else {
            field
        };
        ConfigError::FileSyntax {
            path: path.to_owned(),
            line,
            field,
            reason,
        }
    };
    let deserializer = toml::de::Deserializer::parse(text).map_err(|e| syntax(String::new(), e))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = match e.path().to_string() {
            root if root == "." => String::new(),
            path => path,
        };
        syntax(field, e.into_inner())
    })
}

/// Reads the configuration file at `path` into settings, each named by its key.
///
/// # Errors
/// As [`read`]; [`ConfigError::Invalid`] for the keys the file must not hold.
pub(crate) fn load(path: &Path) -> Result<Settings, ConfigError> {
    let base = path.parent().unwrap_or(Path::new("."));
    read(path)?.into_settings(base)
}

/// `path` as written, or taken from `base` when relative.
fn from_base(base: &Path, path: PathBuf) -> PathBuf {
    if path.is_relative() {
        base.join(path)
    } else {
        path
    }
}

/// The command line's defaults (no flags).
fn default_args() -> Result<Args, ConfigError> {
    Args::try_parse_from(["zipchain-writer", "--config", "-"])
        .map_err(|e| ConfigError::invalid("(defaults)", e.to_string()))
}

impl FileConfig {
    /// The file's settings, each named by its key; a key left out takes the command line's
    /// default. Relative paths are taken from `base`, the file's directory.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for `auth.token`, `new_chain`, or `[timestamp]` with both
    /// or neither of `url` and `cognito`.
    fn into_settings(self, base: &Path) -> Result<Settings, ConfigError> {
        if self.new_chain.is_some() {
            return Err(ConfigError::invalid(
                "new_chain",
                "starting a successor chain is a one-off step: give --new-chain on the command line, not in the file",
            ));
        }
        let defaults = Settings::from_args(default_args()?);
        let number = |key: &str, given: Option<u64>, default: &Named<u64>| {
            Named::new(key, given.unwrap_or(default.value))
        };
        let batch = self.batch.unwrap_or(BatchSection {
            max: None,
            wait_ms: None,
        });
        let limits = self.limits.unwrap_or(LimitsSection {
            max_tx_bytes: None,
            header_timeout_ms: None,
            idle_timeout_ms: None,
            max_connections: None,
            max_pending: None,
            request_timeout_ms: None,
            max_requests: None,
        });
        let token_file = match self.auth {
            Some(AuthSection { token: Some(_), .. }) => {
                return Err(ConfigError::invalid(
                    "auth.token",
                    "the token does not go in the configuration file: put it in a file of mode 0600 named by auth.token_file, or in ZIPCHAIN_WRITER_TOKEN",
                ));
            }
            Some(AuthSection {
                token_file: Some(path),
                ..
            }) => Some(Named::new("auth.token_file", from_base(base, path))),
            _ => None,
        };
        let timestamp = match self.timestamp {
            None => None,
            Some(TimestampSection {
                url: Some(url),
                cognito: None,
            }) => Some(Named::new("timestamp.url", TimestampSetting::Url(url))),
            Some(TimestampSection {
                url: None,
                cognito: Some(mut cognito),
            }) => {
                cognito.credentials_file =
                    cognito.credentials_file.map(|path| from_base(base, path));
                Some(Named::new(
                    "timestamp.cognito",
                    TimestampSetting::Cognito(cognito),
                ))
            }
            Some(_) => {
                return Err(ConfigError::invalid(
                    "timestamp",
                    "expected either url (a zipchain-tsa) or a [timestamp.cognito] table, not both nor neither (leave [timestamp] out for the in-process stand-in)",
                ));
            }
        };
        let stores = self.stores.map(|entries| {
            Named::new(
                "stores",
                entries
                    .into_iter()
                    .map(|entry| StoreConfig {
                        url: entry.url,
                        options: entry
                            .options
                            .into_iter()
                            .map(|(k, v)| (k, v.to_string()))
                            .collect(),
                    })
                    .collect(),
            )
        });
        let (witnesses, witness_urls) = match self.witnesses {
            Some(w) => (
                Named::new("witnesses", (w.keys, w.quorum)),
                Named::new("witnesses.urls", w.urls),
            ),
            None => (
                Named::new("witnesses", (Vec::new(), None)),
                Named::new("witnesses.urls", Vec::new()),
            ),
        };
        Ok(Settings {
            data_dir: self.data_dir.map(|path| from_base(base, path)),
            listen: Named::new("listen", self.listen.unwrap_or(defaults.listen.value)),
            stores,
            allow_mutable_store: self.allow_mutable_store.unwrap_or(false),
            sequencer: self.sequencer.map(|s| Named::new("sequencer.url", s.url)),
            timestamp,
            batch_max: number("batch.max", batch.max, &defaults.batch_max),
            batch_wait: number("batch.wait_ms", batch.wait_ms, &defaults.batch_wait),
            token: None,
            token_file,
            new_chain: false,
            max_tx_bytes: number(
                "limits.max_tx_bytes",
                limits.max_tx_bytes,
                &defaults.max_tx_bytes,
            ),
            header_timeout_ms: number(
                "limits.header_timeout_ms",
                limits.header_timeout_ms,
                &defaults.header_timeout_ms,
            ),
            idle_timeout_ms: number(
                "limits.idle_timeout_ms",
                limits.idle_timeout_ms,
                &defaults.idle_timeout_ms,
            ),
            max_connections: number(
                "limits.max_connections",
                limits.max_connections,
                &defaults.max_connections,
            ),
            max_pending: number(
                "limits.max_pending",
                limits.max_pending,
                &defaults.max_pending,
            ),
            request_timeout_ms: number(
                "limits.request_timeout_ms",
                limits.request_timeout_ms,
                &defaults.request_timeout_ms,
            ),
            max_requests: number(
                "limits.max_requests",
                limits.max_requests,
                &defaults.max_requests,
            ),
            witnesses,
            witness_urls,
        })
    }
}
