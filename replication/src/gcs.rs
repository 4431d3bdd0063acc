//! `gs://` stores: how they are built, and the bucket's retention policy (issue #15).
//!
//! A GCS bucket with a retention policy refuses to delete or replace any object younger
//! than the policy's period; once the policy is **locked**, nobody (the project's owners
//! included) can remove it or shorten its period, only lengthen it. That is what makes a
//! bucket write-once for the writer, as S3 Object Lock in COMPLIANCE mode does for `s3://`.
//!
//! `retention` reads the policy with the JSON API's `storage.buckets.get`
//! (`GET <base>/storage/v1/b/<bucket>?fields=retentionPolicy`, permission
//! `storage.buckets.get`), a request `object_store` has no method for, with the store's own
//! credentials and endpoint: the base URL is the store's (`google_base_url`, or the
//! `gcs_base_url` of its service-account key, else `https://storage.googleapis.com`), the
//! bearer token its credential provider's.

use std::fmt;
use std::time::Duration;

use object_store::gcp::{GcpCredentialProvider, GoogleCloudStorageBuilder, GoogleConfigKey};

/// GCS's own endpoint, where `object_store` goes unless told another.
const DEFAULT_BASE_URL: &str = "https://storage.googleapis.com";

/// The timeout of the `storage.buckets.get` request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// A bucket's retention policy, as `storage.buckets.get` answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// The bucket has no retention policy: any shard can be deleted or replaced.
    None,
    /// A retention policy that is not locked: whoever may edit the bucket can remove it,
    /// then delete or replace shards.
    Unlocked {
        /// How long each object is kept.
        period: Duration,
    },
    /// A locked retention policy: no object is deleted or replaced before it is `period`
    /// old, and the policy can no longer be removed or shortened.
    Locked {
        /// How long each object is kept.
        period: Duration,
    },
}

impl Retention {
    /// True when every shard written is kept, unchangeable, for a period nobody can
    /// shorten: a locked policy of a nonzero period.
    pub fn is_locked(&self) -> bool {
        matches!(self, Retention::Locked { period } if !period.is_zero())
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Retention::None => f.write_str("the bucket has no retention policy"),
            Retention::Unlocked { period } => write!(
                f,
                "the bucket's retention policy ({}) is not locked, so it can be removed",
                Period(*period)
            ),
            Retention::Locked { period } if period.is_zero() => {
                f.write_str("the bucket's locked retention policy keeps objects for no time")
            }
            Retention::Locked { period } => {
                write!(f, "a locked retention policy ({})", Period(*period))
            }
        }
    }
}

/// A retention period in the largest whole unit that states it exactly.
struct Period(Duration);

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (n, unit) = match secs {
            s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
            s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
            s => (s, "second"),
        };
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "{n} {unit}{plural}")
    }
}

/// What [`retention`] needs to ask a `gs://` store's bucket: its name, the JSON API's
/// base URL, and the store's credentials (none when it skips signing).
#[derive(Clone, Debug)]
pub(crate) struct GcsBucket {
    bucket: String,
    base_url: String,
    credentials: Option<GcpCredentialProvider>,
}

impl GcsBucket {
    /// The bucket of `builder` (configured, with its URL's bucket `bucket`), whose built
    /// store's credentials are `credentials`.
    pub(crate) fn new(
        builder: &GoogleCloudStorageBuilder,
        bucket: &str,
        credentials: &GcpCredentialProvider,
    ) -> Self {
        let skip = builder
            .get_config_value(&GoogleConfigKey::SkipSignature)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Self {
            bucket: bucket.to_owned(),
            base_url: base_url(builder),
            credentials: (!skip).then(|| credentials.clone()),
        }
    }
}

/// The base URL `object_store` sends the store's requests to, as its builder decides it:
/// `google_base_url`, else the service-account key's `gcs_base_url`, else GCS's own.
fn base_url(builder: &GoogleCloudStorageBuilder) -> String {
    if let Some(url) = builder.get_config_value(&GoogleConfigKey::BaseUrl) {
        return url;
    }
    let key = builder
        .get_config_value(&GoogleConfigKey::ServiceAccountKey)
        .or_else(|| {
            let path = builder.get_config_value(&GoogleConfigKey::ServiceAccount)?;
            std::fs::read_to_string(path).ok()
        });
    key.and_then(|json| {
        let key: serde_json::Value = serde_json::from_str(&json).ok()?;
        Some(key.get("gcs_base_url")?.as_str()?.to_owned())
    })
    .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
}

/// Asks `bucket` for its retention policy (`storage.buckets.get`).
///
/// # Errors
/// The reason, in words, when no token can be had, the request cannot be sent, or the
/// bucket answers anything but its metadata (no such bucket, access denied, …).
pub(crate) async fn retention(bucket: &GcsBucket) -> Result<Retention, String> {
    let mut url = url::Url::parse(&bucket.base_url)
        .map_err(|e| format!("base URL {:?}: {e}", bucket.base_url))?;
    url.path_segments_mut()
        .map_err(|()| format!("base URL {:?} cannot have a path", bucket.base_url))?
        .pop_if_empty()
        .extend(["storage", "v1", "b", bucket.bucket.as_str()]);
    url.query_pairs_mut()
        .append_pair("fields", "retentionPolicy");
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let mut request = client.get(url);
    if let Some(credentials) = &bucket.credentials {
        let token = credentials
            .get_credential()
            .await
            .map_err(|e| format!("cannot get a token for storage.buckets.get: {e}"))?;
        // An emulator's key with `disable_oauth` gives an empty token: send none.
        if !token.bearer.is_empty() {
            request = request.bearer_auth(&token.bearer);
        }
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("storage.buckets.get failed: {e}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("storage.buckets.get: cannot read the answer: {e}"))?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| Some(v.get("error")?.get("message")?.as_str()?.to_owned()))
            .unwrap_or(body);
        return Err(format!("storage.buckets.get answered {status}: {message}"));
    }
    parse_bucket(&body)
}

/// Reads the `retentionPolicy` of a bucket resource (absent: no policy).
fn parse_bucket(json: &str) -> Result<Retention, String> {
    let bad = |what: &str| format!("storage.buckets.get: {what} in {json:?}");
    let bucket: serde_json::Value =
        serde_json::from_str(json).map_err(|e| bad(&format!("not JSON ({e})")))?;
    if !bucket.is_object() {
        return Err(bad("not a bucket resource"));
    }
    let Some(policy) = bucket.get("retentionPolicy") else {
        return Ok(Retention::None);
    };
    // An int64 in the JSON API: a decimal string (a number from lenient servers).
    let period = match policy.get("retentionPeriod") {
        Some(serde_json::Value::String(s)) => s.parse::<u64>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        _ => None,
    }
    .map(Duration::from_secs)
    .ok_or_else(|| bad("no retentionPeriod of whole seconds"))?;
    let locked = match policy.get("isLocked") {
        None => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err(bad("isLocked is not a boolean")),
    };
    Ok(if locked {
        Retention::Locked { period }
    } else {
        Retention::Unlocked { period }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn bucket_resources_as_gcs_answers_them() {
        assert_eq!(parse_bucket("{}").unwrap(), Retention::None);
        let locked = parse_bucket(
            r#"{"retentionPolicy": {"retentionPeriod": "86400", "effectiveTime": "2026-12-07T10:28:56.522Z", "isLocked": true}}"#,
        )
        .unwrap();
        assert_eq!(locked, Retention::Locked { period: DAY });
        assert!(locked.is_locked());
        assert_eq!(locked.to_string(), "a locked retention policy (1 day)");
        let unlocked = parse_bucket(r#"{"retentionPolicy": {"retentionPeriod": "7200"}}"#).unwrap();
        assert!(!unlocked.is_locked());
        assert_eq!(
            unlocked.to_string(),
            "the bucket's retention policy (2 hours) is not locked, so it can be removed"
        );
        let zero = parse_bucket(r#"{"retentionPolicy": {"retentionPeriod": 0, "isLocked": true}}"#)
            .unwrap();
        assert!(!zero.is_locked());
        assert!(zero.to_string().contains("no time"), "{zero}");
        assert_eq!(
            Retention::Locked {
                period: Duration::from_secs(90)
            }
            .to_string(),
            "a locked retention policy (90 seconds)"
        );
    }

    #[test]
    fn malformed_bucket_resources_are_errors() {
        for json in [
            "",
            "[]",
            r#"{"retentionPolicy": {}}"#,
            r#"{"retentionPolicy": {"retentionPeriod": "-1"}}"#,
            r#"{"retentionPolicy": {"retentionPeriod": "1.5"}}"#,
            r#"{"retentionPolicy": {"retentionPeriod": "1", "isLocked": "true"}}"#,
        ] {
            assert!(parse_bucket(json).is_err(), "{json}");
        }
    }

    #[test]
    fn the_base_url_is_object_stores() {
        let builder = GoogleCloudStorageBuilder::new();
        assert_eq!(base_url(&builder), DEFAULT_BASE_URL);
        let key = r#"{"gcs_base_url": "http://127.0.0.1:9", "disable_oauth": true}"#;
        let builder = builder.with_service_account_key(key);
        assert_eq!(base_url(&builder), "http://127.0.0.1:9");
        let builder = builder.with_base_url("http://127.0.0.1:8");
        assert_eq!(base_url(&builder), "http://127.0.0.1:8");
    }
}
