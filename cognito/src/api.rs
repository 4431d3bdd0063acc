//! The Cognito user-pool API: JSON-1.1 POSTs signed with SigV4, retried on throttling.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use crate::error::bounded;
use crate::{AwsCredentials, CognitoError};

/// The SigV4 signing name of the Cognito user-pool API.
pub const SIGNING_NAME: &str = "cognito-idp";

/// The `X-Amz-Target` prefix of every user-pool operation.
pub const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// The `Content-Type` of every request.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Error codes that mean "try again later"; 5xx statuses are retried too.
const RETRYABLE_CODES: [&str; 4] = [
    "TooManyRequestsException",
    "ThrottlingException",
    "InternalErrorException",
    "ServiceUnavailable",
];

/// How failed requests are retried: throttling, 5xx answers and transport errors are sent
/// again after an exponential backoff with jitter, at most `max_attempts` times in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests sent at most for one operation (1 means no retry).
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one.
    pub base_delay: Duration,
    /// The longest backoff between two attempts.
    pub max_delay: Duration,
    /// The time one attempt may take, connection included.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 6 attempts, 100 ms doubling up to 5 s (about 8 s of waiting at most), 15 s a request.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempts count from 1): the exponential delay,
    /// capped, then drawn at random from its upper half ("equal jitter") so that many
    /// writers throttled together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = 2u32.saturating_pow(attempt.saturating_sub(1));
        let delay = self.base_delay.saturating_mul(exp).min(self.max_delay);
        let mut bytes = [0u8; 8];
        let fraction = match getrandom::fill(&mut bytes) {
            Ok(()) => u64::from_le_bytes(bytes) as f64 / u64::MAX as f64,
            Err(_) => 1.0,
        };
        delay / 2 + delay.mul_f64(fraction / 2.0)
    }
}

/// A signed client of one region's Cognito user-pool API (`cognito-idp`).
#[derive(Clone, Debug)]
pub struct CognitoApi {
    http: reqwest::Client,
    url: Url,
    region: String,
    credentials: AwsCredentials,
    retry: RetryPolicy,
}

/// The URL of the user-pool API: `https://cognito-idp.<region>.amazonaws.com/`, or
/// `endpoint` when given.
///
/// # Errors
/// [`CognitoError::Config`] for a region that is not an AWS region name (lowercase letters,
/// digits and `-`) or an endpoint that is not `http(s)`.
pub(crate) fn api_url(region: &str, endpoint: Option<Url>) -> Result<Url, CognitoError> {
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(CognitoError::Config {
            field: "region",
            reason: format!("{region:?} is not an AWS region name"),
        });
    }
    match endpoint {
        Some(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        Some(url) => Err(CognitoError::Config {
            field: "endpoint",
            reason: format!("{url} is not an http(s) URL"),
        }),
        None => Url::parse(&format!("https://cognito-idp.{region}.amazonaws.com/")).map_err(|e| {
            CognitoError::Config {
                field: "region",
                reason: format!("no endpoint URL for {region:?}: {e}"),
            }
        }),
    }
}

/// What one attempt came to.
enum Attempt {
    Done(Value),
    Retry(CognitoError),
    Fail(CognitoError),
}

impl CognitoApi {
    /// A client of `https://cognito-idp.<region>.amazonaws.com/`, or of `endpoint` (a moto or
    /// other local server) when given.
    ///
    /// # Errors
    /// [`CognitoError::Config`] for an empty region, an endpoint that is not `http(s)`, or
    /// when the HTTP client cannot be made.
    pub fn new(
        region: &str,
        endpoint: Option<Url>,
        credentials: AwsCredentials,
        retry: RetryPolicy,
    ) -> Result<Self, CognitoError> {
        let url = api_url(region, endpoint)?;
        if retry.max_attempts == 0 {
            return Err(CognitoError::Config {
                field: "retry.max_attempts",
                reason: "must be at least 1".to_string(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(retry.request_timeout)
            .build()
            .map_err(|e| CognitoError::Config {
                field: "endpoint",
                reason: format!("cannot make the HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            url,
            region: region.to_string(),
            credentials,
            retry,
        })
    }

    /// The URL requests are sent to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Calls `operation` (e.g. `"AdminCreateUser"`) with the JSON request `body`, and returns
    /// its JSON answer (`{}` for an empty one). Throttling, 5xx answers and transport errors
    /// are retried as the [`RetryPolicy`] says. The body is never logged nor quoted in an
    /// error (it may hold passwords).
    ///
    /// # Errors
    /// [`CognitoError::Service`] with Cognito's error code, [`CognitoError::Transport`],
    /// [`CognitoError::Request`] or [`CognitoError::Response`], each naming `operation`.
    pub async fn call(&self, operation: &'static str, body: &Value) -> Result<Value, CognitoError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CognitoError::Request {
            operation,
            reason: format!("cannot encode the request: {e}"),
        })?;
        self.with_retry(operation, || self.signed_request(operation, &bytes))
            .await
    }

    /// GETs `url` (unsigned, e.g. a pool's `jwks.json`) and returns its JSON, retried as
    /// [`CognitoApi::call`] is.
    ///
    /// # Errors
    /// As [`CognitoApi::call`], with `operation` naming the request.
    pub async fn get_json(
        &self,
        operation: &'static str,
        url: &Url,
    ) -> Result<Value, CognitoError> {
        self.with_retry(operation, || Ok(self.http.get(url.clone()).build()))
            .await
    }

    /// A POST of `body` to the endpoint with the operation's headers, signed now.
    fn signed_request(
        &self,
        operation: &'static str,
        body: &[u8],
    ) -> Result<reqwest::Result<reqwest::Request>, CognitoError> {
        let request_error = |reason: String| CognitoError::Request { operation, reason };
        let target = format!("{TARGET_PREFIX}{operation}");
        let headers = [
            ("content-type", CONTENT_TYPE),
            ("x-amz-target", target.as_str()),
        ];
        let identity = self.credentials.as_aws().clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| request_error(e.to_string()))?
            .into();
        // The payload is signed by its hash, so that the signer never sees (nor, at trace
        // level, logs) a body that carries a password.
        let payload_hash = hex::encode(Sha256::digest(body));
        let signable = SignableRequest::new(
            "POST",
            self.url.as_str(),
            headers.iter().copied(),
            SignableBody::Precomputed(payload_hash),
        )
        .map_err(|e| request_error(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| request_error(e.to_string()))?
            .into_parts();
        let mut builder = http::Request::builder()
            .method("POST")
            .uri(self.url.as_str());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let mut request = builder
            .body(body.to_vec())
            .map_err(|e| request_error(e.to_string()))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(reqwest::Request::try_from(request))
    }

    /// Sends the request `make` builds (anew for every attempt) until it succeeds, fails
    /// for good, or the attempts are spent.
    async fn with_retry<F>(&self, operation: &'static str, make: F) -> Result<Value, CognitoError>
    where
        F: Fn() -> Result<reqwest::Result<reqwest::Request>, CognitoError>,
    {
        let mut attempt = 1;
        loop {
            let request = make()?.map_err(|e| CognitoError::Request {
                operation,
                reason: bounded(&e.to_string()),
            })?;
            let error = match self.attempt(operation, attempt, request).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry(error) => error,
            };
            if attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let wait = self.retry.backoff(attempt);
            tracing::warn!(operation, attempt, ?wait, error = %error, "cognito request failed; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request and its answer.
    async fn attempt(
        &self,
        operation: &'static str,
        attempts: u32,
        request: reqwest::Request,
    ) -> Attempt {
        let transport = |e: reqwest::Error| CognitoError::Transport {
            operation,
            attempts,
            reason: bounded(&e.without_url().to_string()),
        };
        let response = match self.http.execute(request).await {
            Ok(response) => response,
            Err(e) => return Attempt::Retry(transport(e)),
        };
        let status = response.status();
        let header_code = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return Attempt::Retry(transport(e)),
        };
        if status.is_success() {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Attempt::Done(Value::Object(serde_json::Map::new()));
            }
            return match serde_json::from_slice(&body) {
                Ok(value) => Attempt::Done(value),
                Err(e) => Attempt::Fail(CognitoError::Response {
                    operation,
                    reason: format!("the answer is not JSON: {e}"),
                }),
            };
        }
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let field = |names: &[&str]| {
            names.iter().find_map(|name| {
                parsed
                    .as_ref()
                    .and_then(|v| v.get(*name))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        };
        let code = field(&["__type", "code"])
            .or(header_code)
            .map(|code| error_code(&code).to_string())
            .unwrap_or_else(|| "?".to_string());
        let message = field(&["message", "Message"])
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        let error = CognitoError::Service {
            operation,
            status: status.as_u16(),
            message: bounded(&message),
            attempts,
            code,
        };
        let retryable = status.is_server_error()
            || matches!(&error, CognitoError::Service { code, .. } if RETRYABLE_CODES.contains(&code.as_str()));
        if retryable {
            Attempt::Retry(error)
        } else {
            Attempt::Fail(error)
        }
    }
}

/// The bare error code of an AWS `__type` or `x-amzn-ErrorType`:
/// `aws.protocol#UsernameExistsException:http://…` → `UsernameExistsException`.
pub fn error_code(raw: &str) -> &str {
    let code = raw.rsplit_once('#').map_or(raw, |(_, code)| code);
    code.split_once(':').map_or(code, |(code, _)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        assert_eq!(
            error_code("UsernameExistsException"),
            "UsernameExistsException"
        );
        assert_eq!(
            error_code("com.amazonaws.cognito#TooManyRequestsException"),
            "TooManyRequestsException"
        );
        assert_eq!(
            error_code("NotAuthorizedException:http://internal.amazon.com/coral/"),
            "NotAuthorizedException"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        for attempt in 1..20 {
            let wait = policy.backoff(attempt);
            let exp = policy
                .base_delay
                .saturating_mul(2u32.saturating_pow(attempt - 1))
                .min(policy.max_delay);
            assert!(
                wait >= exp / 2 && wait <= exp,
                "{attempt}: {wait:?} vs {exp:?}"
            );
        }
    }
}
