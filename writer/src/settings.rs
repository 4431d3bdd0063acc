//! Settings as given, before they are checked: each value with the name it was given
//! under (a flag, or a key of the configuration file), the command line laid over the file,
//! and the checks that make a [`Config`] of them, whose errors name that setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;
use verifier_core::batch::BatchBudget;

use crate::config::{
    Args, AwsCredentialsSource, CognitoSettings, CommandLine, Config, ConfigError,
    MAX_BATCH_WAIT_MS, MAX_CONNECTIONS, MAX_HEADER_TIMEOUT_MS, MAX_IDLE_TIMEOUT_MS,
    MAX_REQUEST_TIMEOUT_MS, MAX_REQUESTS, Secret, StoreConfig, TOKEN_ENV, TimestampConfig,
    check_token, read_token_file,
};

/// `got` if it is within `min..=max`, for `field`.
fn in_range(field: &Named<u64>, min: u64, max: u64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&field.value) {
        Ok(field.value)
    } else {
        Err(ConfigError::OutOfRange {
            field: field.name.clone(),
            got: field.value,
            min,
            max,
        })
    }
}

/// A value with the name it was given under: a flag (`--batch-max`) or a key of the
/// configuration file (`batch.max`). Errors name it.
#[derive(Clone, Debug)]
pub(crate) struct Named<T> {
    pub(crate) name: String,
    pub(crate) value: T,
}

impl<T> Named<T> {
    pub(crate) fn new(name: impl Into<String>, value: T) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// The timestamp service as given: a URL (`--timestamp`, `timestamp.url`) or the file's
/// `[timestamp.cognito]` table.
#[derive(Clone, Debug)]
pub(crate) enum TimestampSetting {
    Url(String),
    Cognito(crate::config_file::CognitoSection),
}

/// Every setting as given, before it is checked: from the command line alone, or from the
/// configuration file with the command line's flags laid over it.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) listen: Named<SocketAddr>,
    /// `None`: the default stores; otherwise (named `--store` or `stores`) the entries.
    pub(crate) stores: Option<Named<Vec<StoreConfig>>>,
    pub(crate) allow_mutable_store: bool,
    pub(crate) sequencer: Option<Named<String>>,
    pub(crate) timestamp: Option<Named<TimestampSetting>>,
    pub(crate) batch_max: Named<u64>,
    pub(crate) batch_wait: Named<u64>,
    /// A token given inline (`--token` or its environment variable).
    pub(crate) token: Option<Secret>,
    /// A token file, named `--token-file` or `auth.token_file`.
    pub(crate) token_file: Option<Named<PathBuf>>,
    pub(crate) new_chain: bool,
    pub(crate) max_tx_bytes: Named<u64>,
    pub(crate) header_timeout_ms: Named<u64>,
    pub(crate) idle_timeout_ms: Named<u64>,
    pub(crate) max_connections: Named<u64>,
    pub(crate) max_pending: Named<u64>,
    pub(crate) request_timeout_ms: Named<u64>,
    pub(crate) max_requests: Named<u64>,
    /// Witness keys and quorum, named `--witness-key/--quorum` or `witnesses`.
    pub(crate) witnesses: Named<(Vec<String>, Option<u64>)>,
    /// The witnesses checkpoints are pushed to, named `--witness` or `witnesses.urls`.
    pub(crate) witness_urls: Named<Vec<String>>,
}

impl Settings {
    /// The command line's settings, each named by its flag.
    pub(crate) fn from_args(args: Args) -> Self {
        let stores = (!args.stores.is_empty()).then(|| {
            Named::new(
                "--store",
                args.stores
                    .into_iter()
                    .map(|url| StoreConfig {
                        url,
                        options: Vec::new(),
                    })
                    .collect(),
            )
        });
        Self {
            data_dir: args.data_dir,
            listen: Named::new("--listen", args.listen),
            stores,
            allow_mutable_store: args.allow_mutable_store,
            sequencer: args.sequencer.map(|u| Named::new("--sequencer", u)),
            timestamp: args
                .timestamp
                .map(|u| Named::new("--timestamp", TimestampSetting::Url(u))),
            batch_max: Named::new("--batch-max", args.batch_max),
            batch_wait: Named::new("--batch-wait", args.batch_wait),
            token: args.token,
            token_file: args.token_file.map(|p| Named::new("--token-file", p)),
            new_chain: args.new_chain,
            max_tx_bytes: Named::new("--max-tx-bytes", args.max_tx_bytes),
            header_timeout_ms: Named::new("--header-timeout-ms", args.header_timeout_ms),
            idle_timeout_ms: Named::new("--idle-timeout-ms", args.idle_timeout_ms),
            max_connections: Named::new("--max-connections", args.max_connections),
            max_pending: Named::new("--max-pending", args.max_pending),
            request_timeout_ms: Named::new("--request-timeout-ms", args.request_timeout_ms),
            max_requests: Named::new("--max-requests", args.max_requests),
            witnesses: Named::new("--witness-key/--quorum", (args.witness_keys, args.quorum)),
            witness_urls: Named::new("--witness", args.witness_urls),
        }
    }

    /// Lays the flags `line` was given over these settings (from the file): each flag
    /// given replaces the file's value; `--store` replaces all six stores, `--witness-key`
    /// or `--quorum` the file's whole witness policy (`witnesses.keys` and `quorum`),
    /// `--witness` all of `witnesses.urls`.
    ///
    /// # Errors
    /// [`ConfigError::TokenTwice`] when `--token` (or its environment variable) is given
    /// beside the file's token file.
    pub(crate) fn overlay(mut self, line: &CommandLine) -> Result<Self, ConfigError> {
        let flags = Settings::from_args(line.args.clone());
        macro_rules! over {
            ($($field:ident: $id:literal),* $(,)?) => {
                $(if line.given($id) {
                    self.$field = flags.$field;
                })*
            };
        }
        over!(
            data_dir: "data_dir",
            listen: "listen",
            stores: "stores",
            sequencer: "sequencer",
            timestamp: "timestamp",
            batch_max: "batch_max",
            batch_wait: "batch_wait",
            token_file: "token_file",
            max_tx_bytes: "max_tx_bytes",
            header_timeout_ms: "header_timeout_ms",
            idle_timeout_ms: "idle_timeout_ms",
            max_connections: "max_connections",
            max_pending: "max_pending",
            request_timeout_ms: "request_timeout_ms",
            max_requests: "max_requests",
            witness_urls: "witness_urls",
        );
        if line.given("witness_keys") || line.given("quorum") {
            self.witnesses = flags.witnesses;
        }
        self.allow_mutable_store |= flags.allow_mutable_store;
        self.new_chain = flags.new_chain;
        if flags.token.is_some() {
            if let Some(file) = &self.token_file {
                return Err(ConfigError::TokenTwice {
                    file_field: file.name.clone(),
                });
            }
            self.token = flags.token;
        }
        Ok(self)
    }

    /// Checks every setting and makes the configuration.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub(crate) fn check(self) -> Result<Config, ConfigError> {
        let (token, token_source) = match (self.token, &self.token_file) {
            (Some(_), Some(file)) => {
                return Err(ConfigError::TokenTwice {
                    file_field: file.name.clone(),
                });
            }
            (Some(t), None) if t.expose().is_empty() => return Err(ConfigError::EmptyToken),
            (Some(t), None) => {
                let from = format!("--token (or {TOKEN_ENV})");
                check_token(&t, || from.clone())?;
                (Some(t), Some(from))
            }
            (None, Some(file)) => {
                let t = read_token_file(&file.value)?;
                let from = format!("{} {}", file.name, file.value.display());
                check_token(&t, || from.clone())?;
                (Some(t), Some(from))
            }
            (None, None) => (None, None),
        };
        if token.is_none() && !self.listen.value.ip().is_loopback() {
            return Err(ConfigError::TokenRequired {
                field: self.listen.name,
                listen: self.listen.value,
            });
        }
        let data_dir = self.data_dir.ok_or(ConfigError::NoDataDir)?;
        let stores = match self.stores {
            None => None,
            Some(stores) => Some(check_stores(stores)?),
        };
        let sequencer = match self.sequencer {
            None => None,
            Some(url) => {
                check_http_url(&url.name, &url.value)?;
                Some(url.value)
            }
        };
        let timestamp = match self.timestamp {
            None => None,
            Some(t) => Some(check_timestamp(t)?),
        };
        let batch_max = in_range(&self.batch_max, 1, BatchBudget::DEFAULT.max_txs)?;
        let batch_wait = in_range(&self.batch_wait, 0, MAX_BATCH_WAIT_MS)?;
        let max_tx_bytes = in_range(&self.max_tx_bytes, 1, usize::MAX as u64)?;
        let header_timeout = in_range(&self.header_timeout_ms, 1, MAX_HEADER_TIMEOUT_MS)?;
        let idle_timeout = in_range(&self.idle_timeout_ms, 1, MAX_IDLE_TIMEOUT_MS)?;
        let max_connections = in_range(&self.max_connections, 1, MAX_CONNECTIONS as u64)?;
        let max_pending = in_range(&self.max_pending, 1, u64::MAX)?;
        let request_timeout = in_range(&self.request_timeout_ms, 1, MAX_REQUEST_TIMEOUT_MS)?;
        let max_requests = in_range(&self.max_requests, 1, MAX_REQUESTS as u64)?;
        let witnesses = check_witnesses(self.witnesses)?;
        let witness_urls = check_witness_urls(self.witness_urls)?;
        // Each was checked against a bound that fits a usize.
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Config {
            witnesses,
            witness_urls,
            data_dir,
            listen: self.listen.value,
            stores,
            allow_mutable_store: self.allow_mutable_store,
            sequencer,
            timestamp,
            batch_max: size(batch_max),
            batch_wait: Duration::from_millis(batch_wait),
            token,
            token_source,
            new_chain: self.new_chain,
            max_tx_bytes: size(max_tx_bytes),
            header_timeout: Duration::from_millis(header_timeout),
            idle_timeout: Duration::from_millis(idle_timeout),
            max_connections: size(max_connections),
            max_pending,
            request_timeout: Duration::from_millis(request_timeout),
            max_requests: size(max_requests),
        })
    }
}

/// The witness policy of `witnesses` (keys, quorum), if any.
fn check_witnesses(
    witnesses: Named<(Vec<String>, Option<u64>)>,
) -> Result<Option<verifier_core::trust::WitnessesTrust>, ConfigError> {
    let Named {
        name,
        value: (keys, quorum),
    } = witnesses;
    // The policy's own errors name `witnesses.keys[i]` and `witnesses.quorum`, the file's
    // keys; for the flags, say which flags.
    let prefix = if name.starts_with("--") {
        format!("{name}: ")
    } else {
        String::new()
    };
    match (keys.is_empty(), quorum) {
        (true, None) => Ok(None),
        (true, Some(_)) => Err(ConfigError::Witnesses(format!(
            "{prefix}a quorum without any witness key (--witness-key, witnesses.keys)"
        ))),
        (false, None) => Err(ConfigError::Witnesses(format!(
            "{prefix}witness keys need a quorum K, how many must cosign (--quorum, witnesses.quorum)"
        ))),
        (false, Some(quorum)) => {
            verifier_core::tlog::policy::WitnessPolicy::new(&keys, quorum)
                .map_err(|e| ConfigError::Witnesses(format!("{prefix}{e}")))?;
            Ok(Some(verifier_core::trust::WitnessesTrust { keys, quorum }))
        }
    }
}

/// Checks the witnesses checkpoints are pushed to: each an `http(s)` URL with a host and
/// without a query or fragment (`/add-checkpoint` is appended to its path) or credentials
/// (the URL is logged, shown on `/healthz` and labels the metrics), none given twice.
fn check_witness_urls(urls: Named<Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let Named { name, value } = urls;
    let mut seen = Vec::with_capacity(value.len());
    for (i, url) in value.iter().enumerate() {
        let field = format!("{name}[{i}]");
        let parsed = check_http_url(&field, url)?;
        let refuse = |why: &str| Err(ConfigError::invalid(&field, format!("{url:?} {why}")));
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return refuse(
                "carries credentials, which would be logged and shown on /healthz and /metrics",
            );
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return refuse(
                "has a query or fragment, expected the witness's submission prefix (add-checkpoint is appended to its path)",
            );
        }
        let prefix = parsed.as_str().trim_end_matches('/').to_owned();
        if let Some(j) = seen.iter().position(|p| *p == prefix) {
            return refuse(&format!("repeats {name}[{j}]"));
        }
        seen.push(prefix);
    }
    Ok(value)
}

/// Checks that `url` is an absolute `http(s)` URL with a host.
fn check_http_url(field: &str, url: &str) -> Result<Url, ConfigError> {
    let parsed = Url::parse(url)
        .map_err(|e| ConfigError::invalid(field, format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ConfigError::invalid(
            field,
            format!("{url:?} is not an http(s) URL with a host"),
        ));
    }
    Ok(parsed)
}

/// The `object_store` options that carry a secret, by their canonical names: these never go
/// in the configuration file (the environment, a key file or the instance's identity carry
/// them instead).
pub const SECRET_OPTIONS: [&str; 11] = [
    "aws_secret_access_key",
    "aws_session_token",
    "aws_sse_customer_key_base64",
    "azure_storage_account_key",
    "azure_storage_client_secret",
    "azure_storage_sas_key",
    "azure_storage_token",
    "azure_fabric_session_token",
    "azure_storage_encryption_key",
    "google_service_account_key",
    "google_bearer_token",
];

/// The canonical name of an option key of one store kind (`None` for an unknown key).
type Canonical = fn(&str) -> Option<String>;

/// The option prefix of a store URL's scheme, and the canonical name of an option `key`
/// of that kind.
fn option_kind(scheme: &str) -> Option<(&'static str, Canonical)> {
    fn canonical<K: std::str::FromStr + AsRef<str>>(key: &str) -> Option<String> {
        key.parse::<K>().ok().map(|k| k.as_ref().to_owned())
    }
    match scheme {
        "s3" => Some(("aws_", canonical::<object_store::aws::AmazonS3ConfigKey>)),
        "az" => Some(("azure_", canonical::<object_store::azure::AzureConfigKey>)),
        "gs" => Some(("google_", canonical::<object_store::gcp::GoogleConfigKey>)),
        _ => None,
    }
}

/// The store schemes the writer opens.
const STORE_SCHEMES: &str = "file, memory, s3, az or gs";

/// Checks the six stores: their count, each URL's scheme, each option's name (of the
/// store's own kind, known to `object_store`, not a secret), then builds their clients
/// (nothing is sent) so that every URL and option is tried as the writer will use it.
fn check_stores(stores: Named<Vec<StoreConfig>>) -> Result<Vec<StoreConfig>, ConfigError> {
    let Named { name, value } = stores;
    if value.len() != replication::shard::TOTAL_SHARDS {
        return Err(ConfigError::StoreCount {
            field: name,
            got: value.len(),
        });
    }
    for (i, store) in value.iter().enumerate() {
        let field = format!("{name}[{i}]");
        let url = Url::parse(&store.url).map_err(|e| {
            ConfigError::invalid(&field, format!("{:?} is not a URL: {e}", store.url))
        })?;
        let scheme = url.scheme();
        if !matches!(scheme, "file" | "memory" | "s3" | "az" | "gs") {
            return Err(ConfigError::invalid(
                &field,
                format!("unsupported scheme {scheme:?}, expected {STORE_SCHEMES}"),
            ));
        }
        for (key, _) in &store.options {
            let option = format!("{field}.options.{key}");
            let Some((prefix, canonical)) = option_kind(scheme) else {
                return Err(ConfigError::invalid(
                    option,
                    format!("a {scheme}:// store takes no options"),
                ));
            };
            if !key.starts_with(prefix) {
                return Err(ConfigError::invalid(
                    option,
                    format!("a {scheme}:// store takes {prefix}* options"),
                ));
            }
            let Some(canonical) = canonical(key) else {
                return Err(ConfigError::invalid(
                    option,
                    format!("not an option object_store knows for a {scheme}:// store"),
                ));
            };
            if SECRET_OPTIONS.contains(&canonical.as_str()) {
                return Err(ConfigError::invalid(
                    option,
                    format!(
                        "a secret does not go in the configuration file: give it in the writer's environment ({}), or use the machine's identity",
                        canonical.to_ascii_uppercase()
                    ),
                ));
            }
        }
    }
    if let Err(e) = StoreConfig::open_all(&value) {
        let index = match &e {
            replication::StoreError::BadUrl { url, .. } => value.iter().position(|s| &s.url == url),
            _ => None,
        };
        let field = index.map_or(name.clone(), |i| format!("{name}[{i}]"));
        let reason = match e {
            replication::StoreError::BadUrl { reason, .. } => reason,
            other => other.to_string(),
        };
        return Err(ConfigError::invalid(field, reason));
    }
    Ok(value)
}

/// Checks the timestamp service's settings.
fn check_timestamp(t: Named<TimestampSetting>) -> Result<TimestampConfig, ConfigError> {
    let Named { name, value } = t;
    match value {
        TimestampSetting::Url(url) if url.starts_with("cognito://") => {
            let settings = cognito_url(&name, &url)?;
            check_cognito(&name, &settings)?;
            Ok(TimestampConfig::Cognito(Box::new(settings)))
        }
        TimestampSetting::Url(url) => {
            check_http_url(&name, &url)?;
            Ok(TimestampConfig::Tsa(url))
        }
        TimestampSetting::Cognito(section) => {
            let field = |key: &str| format!("{name}.{key}");
            let region = match section.region {
                Some(region) => region,
                None => section
                    .user_pool_id
                    .split_once('_')
                    .map(|(region, _)| region.to_owned())
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            field("user_pool_id"),
                            format!("{:?} is not <region>_<id>", section.user_pool_id),
                        )
                    })?,
            };
            let endpoint = match section.endpoint {
                None => None,
                Some(text) => Some(check_http_url(&field("endpoint"), &text)?),
            };
            let credentials = match (section.credentials_file, section.credentials_profile) {
                (None, None) => AwsCredentialsSource::Environment,
                (file, profile) => AwsCredentialsSource::Profile {
                    file: match file {
                        Some(file) => file,
                        None => default_credentials_file().ok_or_else(|| {
                            ConfigError::invalid(
                                field("credentials_file"),
                                "no HOME to find ~/.aws/credentials in: give the file",
                            )
                        })?,
                    },
                    profile: profile.unwrap_or_else(|| "default".to_owned()),
                },
            };
            let settings = CognitoSettings {
                region,
                user_pool_id: section.user_pool_id,
                client_id: section.client_id,
                username_domain: section.username_domain,
                endpoint,
                credentials,
            };
            check_cognito(&name, &settings)?;
            Ok(TimestampConfig::Cognito(Box::new(settings)))
        }
    }
}

/// `~/.aws/credentials`.
fn default_credentials_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".aws/credentials"))
}

/// Checks a pool's settings as the Cognito client will (`cognito::check_pool_settings`).
fn check_cognito(name: &str, s: &CognitoSettings) -> Result<(), ConfigError> {
    cognito::check_pool_settings(
        &s.region,
        &s.user_pool_id,
        &s.client_id,
        &s.username_domain,
        s.endpoint.as_ref(),
    )
    .map_err(|e| match e {
        cognito::CognitoError::Config { field, reason } if !name.starts_with("--") => {
            ConfigError::invalid(format!("{name}.{field}"), reason)
        }
        other => ConfigError::invalid(name, other.to_string()),
    })
}

/// The settings of a `cognito://<user pool id>?client=<app client id>&domain=<username
/// domain>[&endpoint=<URL>]` URL; the region is the pool id's prefix, the credentials come
/// from the environment.
pub(crate) fn cognito_url(field: &str, url: &str) -> Result<CognitoSettings, ConfigError> {
    let bad = |why: &str| ConfigError::invalid(field, format!("{url}: {why}"));
    let rest = url
        .strip_prefix("cognito://")
        .ok_or_else(|| bad("not a cognito:// URL"))?;
    let (pool, query) = rest.split_once('?').unwrap_or((rest, ""));
    let pool = pool.trim_end_matches('/');
    let Some((region, _)) = pool.split_once('_') else {
        return Err(bad("the user pool id is <region>_<id>"));
    };
    let (mut client, mut domain, mut endpoint) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "client" => &mut client,
            "domain" => &mut domain,
            "endpoint" => &mut endpoint,
            _ => {
                return Err(bad(&format!(
                    "unknown parameter {key:?} (client, domain, endpoint)"
                )));
            }
        };
        if slot.replace(value.to_owned()).is_some() {
            return Err(bad(&format!("{key} given twice")));
        }
    }
    let client = client
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad("no client=<app client id>"))?;
    let domain = domain
        .filter(|d| !d.is_empty())
        .ok_or_else(|| bad("no domain=<username domain>"))?;
    let endpoint = match endpoint {
        None => None,
        Some(e) => Some(
            Url::parse(&e).map_err(|err| bad(&format!("endpoint {e:?} is not a URL: {err}")))?,
        ),
    };
    Ok(CognitoSettings {
        region: region.to_owned(),
        user_pool_id: pool.to_owned(),
        client_id: client,
        username_domain: domain,
        endpoint,
        credentials: AwsCredentialsSource::Environment,
    })
}
