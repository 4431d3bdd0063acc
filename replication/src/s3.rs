//! `s3://` stores: writes that buckets with S3 Object Lock accept, and the bucket's Object
//! Lock configuration (issue #15).
//!
//! A bucket with a default retention refuses every `PutObject` that carries no checksum of
//! its body (`InvalidRequest`: "Content-MD5 OR x-amz-checksum- HTTP header is required";
//! moto answers `MissingUploadObjectWithObjectLockHeaders` and wants `Content-MD5` or
//! `x-amz-sdk-checksum-algorithm`). Every S3 store is therefore built with
//! `object_store`'s SHA-256 checksum (`x-amz-checksum-sha256` on each PUT) and sends
//! `x-amz-sdk-checksum-algorithm: SHA256`, as the AWS SDKs do, as a signed default header.
//!
//! `object_lock` reads the bucket's configuration with `GetObjectLockConfiguration`
//! (`GET /<bucket>?object-lock`), a request `object_store` has no method for: the URL is
//! presigned by `object_store` itself (`Signer::signed_url_opts`, with the store's own
//! credentials, region and endpoint) and sent with `reqwest`.

use std::fmt;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, Checksum};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer as _};
use object_store::{ClientOptions, HeaderMap, HeaderValue};

/// The header the AWS SDKs send beside `x-amz-checksum-<algorithm>`; moto requires it (or
/// `Content-MD5`) for a PUT into a bucket with a default retention.
pub const SDK_CHECKSUM_HEADER: &str = "x-amz-sdk-checksum-algorithm";

/// How long the presigned `GetObjectLockConfiguration` URL is valid, and the request's
/// timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// A bucket's Object Lock configuration, as `GetObjectLockConfiguration` answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectLock {
    /// Object Lock is not enabled on the bucket: any shard can be deleted or overwritten.
    Disabled,
    /// Object Lock is enabled but the bucket has no default retention: the writer sends no
    /// retention of its own, so its shards would be written unlocked.
    NoDefaultRetention,
    /// Every object written gets this retention.
    DefaultRetention(DefaultRetention),
}

/// A bucket's default retention: its mode and period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultRetention {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: RetentionMode,
    /// The period, as the bucket states it (`Days` or `Years`).
    pub period: RetentionPeriod,
}

/// The mode of a retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionMode {
    /// No user, the account's root user included, can delete or overwrite a locked version
    /// or shorten its retention.
    Compliance,
    /// Users with `s3:BypassGovernanceRetention` can delete locked versions.
    Governance,
}

/// The period of a default retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionPeriod {
    /// So many days.
    Days(u32),
    /// So many years.
    Years(u32),
}

impl ObjectLock {
    /// True when every shard written is locked in compliance mode: no one can delete or
    /// overwrite it while its retention lasts.
    pub fn is_compliance(&self) -> bool {
        matches!(
            self,
            ObjectLock::DefaultRetention(DefaultRetention {
                mode: RetentionMode::Compliance,
                ..
            })
        )
    }
}

impl fmt::Display for ObjectLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectLock::Disabled => f.write_str("Object Lock is not enabled on the bucket"),
            ObjectLock::NoDefaultRetention => f.write_str(
                "Object Lock is enabled but the bucket has no default retention, so shards would be written unlocked",
            ),
            ObjectLock::DefaultRetention(DefaultRetention {
                mode: RetentionMode::Governance,
                period,
            }) => write!(
                f,
                "the default retention is in GOVERNANCE mode ({period}), which users with s3:BypassGovernanceRetention can bypass"
            ),
            ObjectLock::DefaultRetention(DefaultRetention {
                mode: RetentionMode::Compliance,
                period,
            }) => write!(f, "default retention in COMPLIANCE mode ({period})"),
        }
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionPeriod::Days(1) => f.write_str("1 day"),
            RetentionPeriod::Days(n) => write!(f, "{n} days"),
            RetentionPeriod::Years(1) => f.write_str("1 year"),
            RetentionPeriod::Years(n) => write!(f, "{n} years"),
        }
    }
}

/// Builds the S3 store of `url` (`s3://bucket/prefix`) from the `AWS_*` environment, then
/// `options` (`object_store`'s configuration keys, such as `aws_endpoint`), with the
/// SHA-256 checksum forced on; returns it and the prefix.
pub(crate) fn build<I, K, V>(url: &url::Url, options: I) -> Result<(AmazonS3, Path), String>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<String>,
{
    let (_, prefix) = object_store::ObjectStoreScheme::parse(url).map_err(|e| e.to_string())?;
    let mut headers = HeaderMap::new();
    headers.insert(SDK_CHECKSUM_HEADER, HeaderValue::from_static("SHA256"));
    let mut builder = AmazonS3Builder::new()
        .with_client_options(ClientOptions::new().with_default_headers(headers));
    // As `AmazonS3Builder::from_env`, on top of the client options above.
    for (key, value) in std::env::vars() {
        if key.starts_with("AWS_")
            && let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
        {
            builder = builder.with_config(key, value);
        }
    }
    for (key, value) in options {
        let key = key
            .as_ref()
            .to_ascii_lowercase()
            .parse::<AmazonS3ConfigKey>()
            .map_err(|e| e.to_string())?;
        builder = builder.with_config(key, value);
    }
    let store = builder
        .with_url(url.as_str())
        .with_checksum_algorithm(Checksum::SHA256)
        .build()
        .map_err(|e| e.to_string())?;
    Ok((store, prefix))
}

/// Asks the bucket of `s3` for its Object Lock configuration (`GetObjectLockConfiguration`).
///
/// # Errors
/// The reason, in words, when the request cannot be signed or sent, or the bucket answers
/// anything but its configuration or `ObjectLockConfigurationNotFoundError`.
pub(crate) async fn object_lock(s3: &AmazonS3) -> Result<ObjectLock, String> {
    let options = SignedUrlOptions::new().with_query([("object-lock", "")]);
    let url = s3
        .signed_url_opts(
            reqwest::Method::GET,
            &Path::default(),
            PROBE_TIMEOUT,
            &options,
        )
        .await
        .map_err(|e| format!("cannot sign GetObjectLockConfiguration: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GetObjectLockConfiguration failed: {e}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("GetObjectLockConfiguration: cannot read the answer: {e}"))?;
    if status.is_success() {
        return parse_configuration(&body);
    }
    let code = element(&body, "Code").unwrap_or_default();
    if code == "ObjectLockConfigurationNotFoundError" {
        return Ok(ObjectLock::Disabled);
    }
    let message = element(&body, "Message").unwrap_or_default();
    Err(format!(
        "GetObjectLockConfiguration answered {status} {code}: {message}"
    ))
}

/// Reads an `ObjectLockConfiguration` document.
fn parse_configuration(xml: &str) -> Result<ObjectLock, String> {
    let bad = |what: &str| format!("GetObjectLockConfiguration: {what} in {xml:?}");
    if element(xml, "ObjectLockConfiguration").is_none() {
        return Err(bad("no ObjectLockConfiguration"));
    }
    if element(xml, "ObjectLockEnabled") != Some("Enabled") {
        return Ok(ObjectLock::Disabled);
    }
    let Some(retention) = element(xml, "DefaultRetention") else {
        return Ok(ObjectLock::NoDefaultRetention);
    };
    let mode = match element(retention, "Mode") {
        Some("COMPLIANCE") => RetentionMode::Compliance,
        Some("GOVERNANCE") => RetentionMode::Governance,
        other => return Err(bad(&format!("retention mode {other:?}"))),
    };
    let number = |name: &str| -> Result<Option<u32>, String> {
        match element(retention, name) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse::<u32>()
                .map(|n| (n > 0).then_some(n))
                .map_err(|e| bad(&format!("{name} {text:?}: {e}"))),
        }
    };
    let period = match (number("Days")?, number("Years")?) {
        (Some(days), None) => RetentionPeriod::Days(days),
        (None, Some(years)) => RetentionPeriod::Years(years),
        _ => return Err(bad("not exactly one of Days and Years")),
    };
    Ok(ObjectLock::DefaultRetention(DefaultRetention {
        mode,
        period,
    }))
}

/// The text between the first `<name>` (or `<name …>`) and the next `</name>` in `xml`.
/// S3's answers are small documents of a fixed shape; this is all the XML they need.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut from = 0;
    while let Some(at) = xml.get(from..)?.find(&open) {
        let after = from + at + open.len();
        let rest = xml.get(after..)?;
        match rest.chars().next()? {
            '>' => {
                let body = rest.get(1..)?;
                let end = body.find(&close)?;
                return body.get(..end);
            }
            c if c.is_whitespace() => {
                let gt = rest.find('>')?;
                if rest.get(..gt)?.ends_with('/') {
                    return Some("");
                }
                let body = rest.get(gt + 1..)?;
                let end = body.find(&close)?;
                return body.get(..end);
            }
            // `<ObjectLockEnabledX`: another element; look further.
            _ => from = after,
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

    fn config(inner: &str) -> String {
        format!(
            r#"{NS}<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</ObjectLockConfiguration>"#
        )
    }

    #[test]
    fn configurations_as_s3_and_moto_write_them() {
        let compliance = config(
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Years>0</Years></DefaultRetention></Rule>",
        );
        let lock = parse_configuration(&compliance).unwrap();
        assert_eq!(
            lock,
            ObjectLock::DefaultRetention(DefaultRetention {
                mode: RetentionMode::Compliance,
                period: RetentionPeriod::Days(1),
            })
        );
        assert!(lock.is_compliance());
        assert_eq!(
            lock.to_string(),
            "default retention in COMPLIANCE mode (1 day)"
        );

        let governance = config(
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>7</Years></DefaultRetention></Rule>",
        );
        let lock = parse_configuration(&governance).unwrap();
        assert!(!lock.is_compliance());
        assert!(
            lock.to_string().contains("GOVERNANCE mode (7 years)"),
            "{lock}"
        );

        let enabled = config("<ObjectLockEnabled>Enabled</ObjectLockEnabled>");
        assert_eq!(
            parse_configuration(&enabled).unwrap(),
            ObjectLock::NoDefaultRetention
        );
        assert_eq!(
            parse_configuration(&config("")).unwrap(),
            ObjectLock::Disabled
        );
    }

    #[test]
    fn malformed_configurations_are_errors() {
        for inner in [
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>STRICT</Mode><Days>1</Days></DefaultRetention></Rule>",
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode></DefaultRetention></Rule>",
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>x</Days></DefaultRetention></Rule>",
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule>",
        ] {
            assert!(parse_configuration(&config(inner)).is_err(), "{inner}");
        }
        assert!(parse_configuration("<Error><Code>x</Code></Error>").is_err());
        assert!(parse_configuration("").is_err());
    }

    #[test]
    fn elements() {
        assert_eq!(element("<a>1</a>", "a"), Some("1"));
        assert_eq!(element("<ab>2</ab><a x=\"y\">1</a>", "a"), Some("1"));
        assert_eq!(element("<a/>", "a"), None);
        assert_eq!(element("<a />", "a"), Some(""));
        assert_eq!(element("<a>unclosed", "a"), None);
        assert_eq!(element("<", "a"), None);
        assert_eq!(element("", "a"), None);
    }
}
