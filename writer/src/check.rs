//! `zipchain-writer --check-config FILE`: what can be checked of a configuration without
//! starting the writer, and its summary with every secret left out.
//!
//! [`Config`]'s own checks (parse, types, ranges, URLs, store options, the token file and its
//! mode, witness keys, the Cognito pool's settings, the six stores' clients built) have run
//! by the time there is a `Config`; [`check_offline`] adds the one that reads outside the
//! file: the Cognito requests' AWS credentials are found. Nothing is sent anywhere: whether
//! the buckets lock their shards, and whether the services answer, is checked at start.

use std::fmt::Write as _;

use crate::config::{Config, ConfigError, StoreConfig, TimestampConfig};

/// Checks what needs more than the configuration itself, offline, and returns the summary
/// [`summary`] prints.
///
/// # Errors
/// [`ConfigError::Invalid`] naming `timestamp` when the Cognito requests' credentials
/// cannot be found.
pub fn check_offline(config: &Config) -> Result<String, ConfigError> {
    if let Some(TimestampConfig::Cognito(cognito)) = &config.timestamp {
        cognito
            .credentials
            .resolve()
            .map_err(|e| ConfigError::invalid("timestamp (Cognito credentials)", e.to_string()))?;
    }
    Ok(summary(config))
}

/// The configuration as the writer will run it, one setting a line under the file's key
/// names; the token is shown only as where it comes from, credentials only as their
/// source.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let mut line = |key: &str, value: String| {
        let _ = writeln!(out, "{key} = {value}");
    };
    line("data_dir", quoted(&config.data_dir.display().to_string()));
    line("listen", quoted(&config.listen.to_string()));
    match &config.stores {
        None => line(
            "stores",
            format!(
                "six directories under {}",
                quoted(&config.data_dir.join("stores").display().to_string())
            ),
        ),
        Some(stores) => {
            for (i, store) in stores.iter().enumerate() {
                line(&format!("stores[{i}]"), store_line(store));
            }
        }
    }
    line(
        "allow_mutable_store",
        config.allow_mutable_store.to_string(),
    );
    line(
        "sequencer",
        config.sequencer.as_deref().map_or_else(
            || "the in-process stand-in (keys under data_dir/standins)".to_owned(),
            quoted,
        ),
    );
    match &config.timestamp {
        None => line(
            "timestamp",
            "the in-process stand-in (key under data_dir/standins)".to_owned(),
        ),
        Some(TimestampConfig::Tsa(url)) => line("timestamp.url", quoted(url)),
        Some(TimestampConfig::Cognito(c)) => {
            line("timestamp.cognito.user_pool_id", quoted(&c.user_pool_id));
            line("timestamp.cognito.client_id", quoted(&c.client_id));
            line(
                "timestamp.cognito.username_domain",
                quoted(&c.username_domain),
            );
            line("timestamp.cognito.region", quoted(&c.region));
            line(
                "timestamp.cognito.endpoint",
                c.endpoint.as_ref().map_or_else(
                    || format!("AWS (https://cognito-idp.{}.amazonaws.com/)", c.region),
                    |e| quoted(e.as_str()),
                ),
            );
            line("timestamp.cognito.credentials", c.credentials.to_string());
        }
    }
    line("batch.max", config.batch_max.to_string());
    line("batch.wait_ms", config.batch_wait.as_millis().to_string());
    line(
        "auth.token",
        config.token_source.as_ref().map_or_else(
            || "none (writes need no token: loopback only)".to_owned(),
            |from| format!("(redacted) from {from}"),
        ),
    );
    line("limits.max_tx_bytes", config.max_tx_bytes.to_string());
    line(
        "limits.header_timeout_ms",
        config.header_timeout.as_millis().to_string(),
    );
    line(
        "limits.idle_timeout_ms",
        config.idle_timeout.as_millis().to_string(),
    );
    line("limits.max_connections", config.max_connections.to_string());
    line("limits.max_pending", config.max_pending.to_string());
    line(
        "limits.request_timeout_ms",
        config.request_timeout.as_millis().to_string(),
    );
    line("limits.max_requests", config.max_requests.to_string());
    match &config.witnesses {
        None => line("witnesses", "none".to_owned()),
        Some(w) => {
            for (i, key) in w.keys.iter().enumerate() {
                line(&format!("witnesses.keys[{i}]"), quoted(key));
            }
            line("witnesses.quorum", w.quorum.to_string());
        }
    }
    for (i, url) in config.witness_urls.iter().enumerate() {
        line(&format!("witnesses.urls[{i}]"), quoted(url));
    }
    if config.new_chain {
        line("new_chain", "true (--new-chain)".to_owned());
    }
    out
}

/// A store's summary line: its URL and its options (which never hold a secret).
fn store_line(store: &StoreConfig) -> String {
    let mut text = quoted(&store.url);
    if !store.options.is_empty() {
        let options: Vec<String> = store
            .options
            .iter()
            .map(|(k, v)| format!("{k} = {}", quoted(v)))
            .collect();
        let _ = write!(text, " {{ {} }}", options.join(", "));
    }
    text
}

/// `text` as a TOML basic string.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}
