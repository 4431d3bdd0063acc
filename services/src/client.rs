//! Async HTTP clients of the stand-in daemons ([`crate::http`]), for the writer.
//!
//! Each request has a timeout ([`REQUEST_TIMEOUT`], connecting [`CONNECT_TIMEOUT`]) and
//! each answer a size limit ([`MAX_ANSWER_BYTES`]); a non-2xx answer is
//! [`ClientError::Status`] with the status and (the start of) the body. Answers are
//! checked only for their shape: verifying a token or document is the verifier core's job.

use std::time::Duration;

use reqwest::{Client, StatusCode, Url};

/// The most time one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The most time connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read, in bytes (an NSM document is about 5 KiB).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// How much of an error answer's body [`ClientError::Status`] keeps, in bytes.
const MAX_ERROR_BODY: usize = 1024;

/// Why a call to a stand-in service failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The base URL is unusable.
    #[error("base URL {url:?} is unusable: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The answer does not have the expected shape.
    #[error("{url}: malformed answer: {reason}")]
    Malformed {
        /// The URL asked.
        url: String,
        /// What is wrong with it ("got …, expected …").
        reason: String,
    },
    /// The request failed before an answer arrived (connection, timeout, reading the body).
    #[error("{url}: request failed: {reason}")]
    Network {
        /// The URL asked.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// The service answered with an unsuccessful status.
    #[error("{url}: got status {status}, expected 200: {body}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the answer's body (lossy UTF-8, at most 1 KiB).
        body: String,
    },
}

/// A client of `zipchain-tsa` (SPEC §7.2).
#[derive(Clone, Debug)]
pub struct TsaClient {
    http: Http,
}

impl TsaClient {
    /// A client of the TSA at `base_url` (e.g. `http://127.0.0.1:8081`).
    ///
    /// # Errors
    /// [`ClientError::BadUrl`] for a URL that is not `http(s)://host…`.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Ok(Self {
            http: Http::new(base_url)?,
        })
    }

    /// Asks for a timestamp token attesting `y`: the JWT text exactly as issued (its
    /// SHA3-256 is `H(t)`, so nothing is trimmed or re-encoded).
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Malformed`] when the answer is not compact-JWS
    /// text (three base64url segments).
    pub async fn timestamp(&self, y: &[u8; 32]) -> Result<String, ClientError> {
        let (url, body) = self.http.post("v1/timestamp", y.to_vec()).await?;
        let token = String::from_utf8(body)
            .map_err(|_| malformed(&url, "got non-UTF-8 bytes, expected a JWT"))?;
        let segments: Vec<&str> = token.split('.').collect();
        let base64url = |s: &&str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if segments.len() != 3 || !segments.iter().all(base64url) {
            return Err(malformed(
                &url,
                &format!(
                    "got {} dot-separated segments of {} bytes, expected a compact JWS (3 non-empty base64url segments)",
                    segments.len(),
                    token.len()
                ),
            ));
        }
        Ok(token)
    }

    /// The TSA's JWK Set (`/.well-known/jwks.json`).
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Malformed`] when the answer is not a JSON object
    /// with a `keys` array.
    pub async fn jwks(&self) -> Result<serde_json::Value, ClientError> {
        let (url, body) = self.http.get(".well-known/jwks.json").await?;
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| malformed(&url, &format!("not JSON: {e}")))?;
        if !value.get("keys").is_some_and(serde_json::Value::is_array) {
            return Err(malformed(
                &url,
                "got JSON without a \"keys\" array, expected a JWK Set",
            ));
        }
        Ok(value)
    }
}

/// A client of `zipchain-sequencer` (SPEC §7.3).
#[derive(Clone, Debug)]
pub struct SequencerClient {
    http: Http,
}

impl SequencerClient {
    /// A client of the sequencer at `base_url` (e.g. `http://127.0.0.1:8082`).
    ///
    /// # Errors
    /// [`ClientError::BadUrl`] for a URL that is not `http(s)://host…`.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Ok(Self {
            http: Http::new(base_url)?,
        })
    }

    /// Sequences `y = b.u ++ H(t)`: the NSM document exactly as received.
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Malformed`] for an empty answer.
    pub async fn sequence(&self, y: &[u8; 48]) -> Result<Vec<u8>, ClientError> {
        let (url, body) = self.http.post("v1/sequence", y.to_vec()).await?;
        if body.is_empty() {
            return Err(malformed(&url, "got 0 bytes, expected an NSM document"));
        }
        Ok(body)
    }

    /// `K_S+`, the sequencer's Ed25519 public key.
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Malformed`] when the answer is not 64 hex digits.
    pub async fn public_key(&self) -> Result<[u8; 32], ClientError> {
        let (url, body) = self.http.get("v1/public-key").await?;
        let text = String::from_utf8_lossy(&body);
        let bytes =
            hex::decode(text.trim()).map_err(|e| malformed(&url, &format!("not hex: {e}")))?;
        let len = bytes.len();
        <[u8; 32]>::try_from(bytes)
            .map_err(|_| malformed(&url, &format!("got {len} bytes, expected 32")))
    }

    /// The stand-in's test CA root (PEM), or `None` when the service has none to give
    /// (`404`, as a real enclave whose root is AWS's).
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Malformed`] when the answer is not a PEM
    /// certificate.
    pub async fn root_pem(&self) -> Result<Option<String>, ClientError> {
        let (url, body) = match self.http.get("v1/root.pem").await {
            Err(ClientError::Status { status: 404, .. }) => return Ok(None),
            other => other?,
        };
        let pem = String::from_utf8(body)
            .map_err(|_| malformed(&url, "got non-UTF-8 bytes, expected PEM"))?;
        if !pem.trim_start().starts_with("-----BEGIN CERTIFICATE-----") {
            return Err(malformed(&url, "expected a PEM certificate"));
        }
        Ok(Some(pem))
    }
}

/// A base URL and a client with timeouts.
#[derive(Clone, Debug)]
struct Http {
    base: Url,
    client: Client,
}

impl Http {
    fn new(base_url: &str) -> Result<Self, ClientError> {
        let bad = |reason: String| ClientError::BadUrl {
            url: base_url.to_string(),
            reason,
        };
        let mut base = Url::parse(base_url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(bad("expected http://host[:port][/path]".to_string()));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("a base URL takes no query or fragment".to_string()));
        }
        // Paths join below the base: "http://h/tsa" + "v1/x" = "http://h/tsa/v1/x".
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| bad(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self { base, client })
    }

    async fn get(&self, path: &str) -> Result<(Url, Vec<u8>), ClientError> {
        let url = self.url(path)?;
        let request = self.client.get(url.clone());
        Self::send(url, request).await
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> Result<(Url, Vec<u8>), ClientError> {
        let url = self.url(path)?;
        let request = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        Self::send(url, request).await
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base.join(path).map_err(|e| ClientError::BadUrl {
            url: self.base.to_string(),
            reason: format!("cannot append {path:?}: {e}"),
        })
    }

    async fn send(
        url: Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(Url, Vec<u8>), ClientError> {
        let network = |e: reqwest::Error| ClientError::Network {
            url: url.to_string(),
            reason: error_chain(&e),
        };
        let mut response = request.send().await.map_err(network)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                if status != StatusCode::OK {
                    break;
                }
                return Err(malformed(
                    &url,
                    &format!("the answer is over {MAX_ANSWER_BYTES} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if status != StatusCode::OK {
            let end = body.len().min(MAX_ERROR_BODY);
            return Err(ClientError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned(),
            });
        }
        Ok((url, body))
    }
}

fn malformed(url: &Url, reason: &str) -> ClientError {
    ClientError::Malformed {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

/// The error and its sources ("error sending request: connection refused"), as the
/// writer's clients report a transport failure.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
