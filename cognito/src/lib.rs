//! Amazon Cognito as zipchain's timestamp service (seed \[0022\]–\[0023\], SPEC §1.3, §7.2;
//! issue #15).
//!
//! To timestamp bytes `y`, [`CognitoTimestamps::timestamp`] makes the pool attest them:
//!
//! 1. `AdminCreateUser` of `hex(y)@<domain>` with `MessageAction=SUPPRESS` (no e-mail) and a
//!    random temporary password;
//! 2. `AdminSetUserPassword` with another random password, `Permanent=true` (the user leaves
//!    `FORCE_CHANGE_PASSWORD`);
//! 3. `AdminInitiateAuth` with `AuthFlow=ADMIN_USER_PASSWORD_AUTH` and the app client, whose
//!    `AuthenticationResult.IdToken` is the timestamp `t`: its `cognito:username` carries
//!    `y` and its `iat` the time.
//!
//! A user that exists already (`UsernameExistsException`: the same `y` asked again, e.g.
//! after a crash between steps) gets a new password and is authenticated: the answer is a
//! new token for the same `y`. Passwords are drawn from the OS random source, used once and
//! forgotten; nothing logs them or puts them in an error.
//!
//! Requests are Cognito's JSON-1.1 API (`POST /` with `X-Amz-Target:
//! AWSCognitoIdentityProviderService.<Op>`), signed with SigV4 (`aws-sigv4`, signing name
//! `cognito-idp`) by the static credentials of [`AwsCredentials::from_environment`].
//! Throttling (`TooManyRequestsException`), 5xx answers and transport errors are retried
//! with exponential backoff, a bounded number of times ([`RetryPolicy`]).
//!
//! [`CognitoTimestamps::trust`] makes the trust descriptor's `timestamp` section (SPEC §1.6):
//! the issuer, `token_use` `id`, the username domain and the pool's JWKS, checked on a probe
//! token that it validates and attests what it should.
//!
//! What the pool must be (docs/DEPLOY.md): plain usernames (no `UsernameAttributes` and no
//! e-mail alias, or Cognito rejects or replaces `hex@domain` usernames); no MFA required; an
//! app client without a secret that allows `ALLOW_ADMIN_USER_PASSWORD_AUTH`; a password
//! policy that a 47-character password with all four character classes meets. The caller
//! needs `cognito-idp:AdminCreateUser`, `AdminSetUserPassword` and `AdminInitiateAuth` on
//! the pool.

mod api;
mod credentials;
mod error;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use url::Url;
use verifier_core::timestamp::{Jwks, TimestampPolicy, TimestampVerifier, TokenUse};
use verifier_core::trust::TimestampTrust;

pub use api::{CONTENT_TYPE, CognitoApi, RetryPolicy, SIGNING_NAME, TARGET_PREFIX, error_code};
pub use credentials::AwsCredentials;
pub use error::{CognitoError, MAX_MESSAGE};

/// The longest username Cognito accepts, in characters.
pub const MAX_USERNAME_LEN: usize = 128;

/// The bytes [`CognitoTimestamps::trust`] timestamps to read and check the pool's tokens
/// (the user `7a6970636861696e2d7472757374`… `@<domain>` in the pool).
pub const PROBE_BYTES: &[u8] = b"zipchain-trust-probe";

/// Where the timestamps come from: one user pool and one of its app clients.
#[derive(Clone, Debug)]
pub struct CognitoConfig {
    /// The AWS region, e.g. `us-east-1`.
    pub region: String,
    /// The user pool id, `<region>_<id>`.
    pub user_pool_id: String,
    /// The app client id (a client without a secret, allowing `ADMIN_USER_PASSWORD_AUTH`).
    pub client_id: String,
    /// The username domain: users are `hex(y)@<domain>`.
    pub username_domain: String,
    /// Another endpoint than `https://cognito-idp.<region>.amazonaws.com/` (moto or another
    /// local server on loopback): the base URL, whose `/` takes the API and
    /// `/<pool>/.well-known/jwks.json` serves the keys.
    pub endpoint: Option<Url>,
    /// The credentials requests are signed with.
    pub credentials: AwsCredentials,
    /// How throttled and failed requests are retried.
    pub retry: RetryPolicy,
}

impl CognitoConfig {
    /// A configuration for the pool on AWS itself, with the credentials of the environment
    /// ([`AwsCredentials::from_environment`]) and the default [`RetryPolicy`]; set
    /// `endpoint` afterwards for a local server.
    ///
    /// # Errors
    /// [`CognitoError::Credentials`] when no credentials are found.
    pub fn from_environment(
        region: impl Into<String>,
        user_pool_id: impl Into<String>,
        client_id: impl Into<String>,
        username_domain: impl Into<String>,
    ) -> Result<Self, CognitoError> {
        Ok(Self {
            region: region.into(),
            user_pool_id: user_pool_id.into(),
            client_id: client_id.into(),
            username_domain: username_domain.into(),
            endpoint: None,
            credentials: AwsCredentials::from_environment()?,
            retry: RetryPolicy::default(),
        })
    }

    /// The `iss` of the pool's tokens on AWS:
    /// `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    pub fn aws_issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }
}

/// A password that `Debug` does not show.
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(** redacted **)")
    }
}

/// A new random password: 32 bytes of the OS random source in base64url (43 characters),
/// then `Aa1!` so that every Cognito password policy's character classes are present.
fn random_password() -> Result<Secret, CognitoError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CognitoError::Random {
        reason: e.to_string(),
    })?;
    let mut password = URL_SAFE_NO_PAD.encode(bytes);
    password.push_str("Aa1!");
    Ok(Secret(password))
}

/// Checks the settings of a pool's client without sending anything: the region is an AWS
/// region name, the pool id is `<region>_<alphanumerics>`, the app client id is not empty,
/// the username domain is not empty and holds no `@` nor white space, the endpoint (if any)
/// is `http(s)`. [`CognitoTimestamps::new`] runs the same checks.
///
/// # Errors
/// [`CognitoError::Config`] naming the first field that fails, as [`CognitoConfig`] names it.
pub fn check_pool_settings(
    region: &str,
    user_pool_id: &str,
    client_id: &str,
    username_domain: &str,
    endpoint: Option<&Url>,
) -> Result<(), CognitoError> {
    let pool_ok = user_pool_id
        .strip_prefix(region)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !pool_ok {
        return Err(CognitoError::Config {
            field: "user_pool_id",
            reason: format!(
                "{:?} is not of the form {}_<alphanumerics>",
                error_bounded(user_pool_id),
                region
            ),
        });
    }
    if client_id.is_empty() {
        return Err(CognitoError::Config {
            field: "client_id",
            reason: "is empty".to_string(),
        });
    }
    let domain = username_domain;
    if domain.is_empty() || domain.contains('@') || domain.chars().any(char::is_whitespace) {
        return Err(CognitoError::Config {
            field: "username_domain",
            reason: format!(
                "{:?} is empty or holds '@' or white space",
                error_bounded(domain)
            ),
        });
    }
    api::api_url(region, endpoint.cloned()).map(|_| ())
}

/// The Cognito timestamp service of one pool (SPEC §7.2's production timestamp service).
#[derive(Clone, Debug)]
pub struct CognitoTimestamps {
    api: CognitoApi,
    config: CognitoConfig,
}

impl CognitoTimestamps {
    /// A client of the pool `config` names. Nothing is sent yet.
    ///
    /// # Errors
    /// [`CognitoError::Config`] naming the field: a region that is not one, a pool id not of
    /// the form `<region>_<alphanumerics>`, an empty client id, a username domain that is
    /// empty or holds `@`, an endpoint that is not `http(s)`.
    pub fn new(config: CognitoConfig) -> Result<Self, CognitoError> {
        check_pool_settings(
            &config.region,
            &config.user_pool_id,
            &config.client_id,
            &config.username_domain,
            config.endpoint.as_ref(),
        )?;
        let api = CognitoApi::new(
            &config.region,
            config.endpoint.clone(),
            config.credentials.clone(),
            config.retry,
        )?;
        Ok(Self { api, config })
    }

    /// The configuration this client was made with.
    pub fn config(&self) -> &CognitoConfig {
        &self.config
    }

    /// The signed API client underneath (for operations this crate does not wrap).
    pub fn api(&self) -> &CognitoApi {
        &self.api
    }

    /// The username that attests `y`: `hex(y)@<domain>` (SPEC §1.3).
    ///
    /// # Errors
    /// [`CognitoError::Input`] when `y` is empty or the username would be longer than
    /// [`MAX_USERNAME_LEN`].
    pub fn username(&self, y: &[u8]) -> Result<String, CognitoError> {
        if y.is_empty() {
            return Err(CognitoError::Input {
                reason: "no bytes".to_string(),
            });
        }
        let username = format!("{}@{}", hex::encode(y), self.config.username_domain);
        if username.len() > MAX_USERNAME_LEN {
            return Err(CognitoError::Input {
                reason: format!(
                    "the username of {} bytes would be {} characters, Cognito allows {MAX_USERNAME_LEN}",
                    y.len(),
                    username.len()
                ),
            });
        }
        Ok(username)
    }

    /// `t := timestamp(y)`: the pool's ID token for user `hex(y)@<domain>`, as issued.
    ///
    /// # Errors
    /// [`CognitoError::Input`] for bytes no username can hold; otherwise the first failed
    /// operation's error ([`CognitoError::Service`], [`CognitoError::Transport`] …), or
    /// [`CognitoError::Challenge`] / [`CognitoError::Response`] when authentication does not
    /// answer tokens.
    pub async fn timestamp(&self, y: &[u8]) -> Result<String, CognitoError> {
        let username = self.username(y)?;
        let pool = self.config.user_pool_id.as_str();
        let temporary = random_password()?;
        let created = self
            .api
            .call(
                "AdminCreateUser",
                &json!({
                    "UserPoolId": pool,
                    "Username": username,
                    "TemporaryPassword": temporary.0,
                    "MessageAction": "SUPPRESS",
                }),
            )
            .await;
        match created {
            Ok(_) => {}
            Err(CognitoError::Service { code, .. }) if code == "UsernameExistsException" => {
                tracing::info!(%username, "the user exists already (y asked again); setting a new password");
            }
            Err(error) => return Err(error),
        }
        let password = random_password()?;
        self.api
            .call(
                "AdminSetUserPassword",
                &json!({
                    "UserPoolId": pool,
                    "Username": username,
                    "Password": password.0,
                    "Permanent": true,
                }),
            )
            .await?;
        let answer = self
            .api
            .call(
                "AdminInitiateAuth",
                &json!({
                    "UserPoolId": pool,
                    "ClientId": self.config.client_id,
                    "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                    "AuthParameters": { "USERNAME": username, "PASSWORD": password.0 },
                }),
            )
            .await?;
        drop(password);
        if let Some(name) = answer.get("ChallengeName").and_then(Value::as_str) {
            return Err(CognitoError::Challenge {
                name: error_bounded(name),
            });
        }
        match answer
            .get("AuthenticationResult")
            .and_then(|result| result.get("IdToken"))
        {
            Some(Value::String(token)) => Ok(token.clone()),
            _ => Err(CognitoError::Response {
                operation: "AdminInitiateAuth",
                reason: "no AuthenticationResult.IdToken string".to_string(),
            }),
        }
    }

    /// The URL of the pool's JWKS: `<issuer>/.well-known/jwks.json` on AWS, the endpoint's
    /// `/<pool>/.well-known/jwks.json` otherwise.
    ///
    /// # Errors
    /// [`CognitoError::Config`] if no URL can be made of them.
    pub fn jwks_url(&self) -> Result<Url, CognitoError> {
        let path = format!("{}/.well-known/jwks.json", self.config.user_pool_id);
        let url = match &self.config.endpoint {
            None => Url::parse(&format!(
                "{}/.well-known/jwks.json",
                self.config.aws_issuer()
            )),
            Some(endpoint) => endpoint.join(&path),
        };
        url.map_err(|e| CognitoError::Config {
            field: "endpoint",
            reason: format!("no JWKS URL: {e}"),
        })
    }

    /// The pool's JWKS as served now.
    ///
    /// # Errors
    /// As [`CognitoApi::get_json`]; [`CognitoError::Trust`] when it is not a JWKS the
    /// verifier accepts.
    pub async fn jwks(&self) -> Result<Value, CognitoError> {
        let jwks = self
            .api
            .get_json("GET jwks.json", &self.jwks_url()?)
            .await?;
        Jwks::from_value(&jwks).map_err(|e| CognitoError::Trust {
            reason: format!("the pool's JWKS: {e}"),
        })?;
        Ok(jwks)
    }

    /// The trust descriptor's `timestamp` section for this pool (SPEC §1.6): its issuer,
    /// `token_use` `id`, the username domain and the JWKS it serves now.
    ///
    /// It timestamps [`PROBE_BYTES`] and reads the issuer from that token: on AWS it must be
    /// [`CognitoConfig::aws_issuer`]; on another endpoint it is what the server puts in `iss`,
    /// which must name the pool (its last path segment). The probe must then validate under
    /// the section made ([`TimestampVerifier`], archival) and attest the probe bytes, so a
    /// pool whose tokens the chain's verifier would reject (e-mail usernames, another
    /// issuer, keys not in its JWKS) is found at once, not at the first audit.
    ///
    /// # Errors
    /// Those of [`CognitoTimestamps::timestamp`] and [`CognitoTimestamps::jwks`];
    /// [`CognitoError::Trust`] with the mismatch or the verifier's verdict.
    pub async fn trust(&self) -> Result<TimestampTrust, CognitoError> {
        let probe = self.timestamp(PROBE_BYTES).await?;
        let issuer = unverified_issuer(&probe)?;
        let pool = self.config.user_pool_id.as_str();
        match &self.config.endpoint {
            None if issuer != self.config.aws_issuer() => {
                return Err(CognitoError::Trust {
                    reason: format!(
                        "the probe token's iss is {:?}, expected {:?}",
                        error_bounded(&issuer),
                        self.config.aws_issuer()
                    ),
                });
            }
            Some(_) if issuer.rsplit('/').next() != Some(pool) => {
                return Err(CognitoError::Trust {
                    reason: format!(
                        "the probe token's iss {:?} does not name the pool {pool:?}",
                        error_bounded(&issuer)
                    ),
                });
            }
            _ => {}
        }
        let jwks = self.jwks().await?;
        let trust = TimestampTrust {
            issuer,
            token_use: TokenUse::Id,
            username_domain: self.config.username_domain.clone(),
            jwks,
        };
        let verifier = verifier_for(&trust)?;
        let verified = verifier.validate(&probe).map_err(|e| CognitoError::Trust {
            reason: format!(
                "the probe token does not validate under the pool's trust section: {e}"
            ),
        })?;
        if verified.attested() != Some(PROBE_BYTES) {
            return Err(CognitoError::Trust {
                reason: "the probe token does not attest the probe bytes".to_string(),
            });
        }
        Ok(trust)
    }
}

/// The verifier of a trust section's timestamps (what an auditor of the chain runs).
///
/// # Errors
/// [`CognitoError::Trust`] when the JWKS or the policy is unusable.
pub fn verifier_for(trust: &TimestampTrust) -> Result<TimestampVerifier, CognitoError> {
    let jwks = Jwks::from_value(&trust.jwks).map_err(|e| CognitoError::Trust {
        reason: format!("the JWKS: {e}"),
    })?;
    TimestampVerifier::new(TimestampPolicy {
        issuer: trust.issuer.clone(),
        token_use: trust.token_use,
        username_domain: Some(trust.username_domain.clone()),
        jwks,
    })
    .map_err(|e| CognitoError::Trust {
        reason: e.to_string(),
    })
}

/// The `iss` claim of a token, read without checking its signature (which the caller does
/// next, under the JWKS the issuer picks).
fn unverified_issuer(token: &str) -> Result<String, CognitoError> {
    let malformed = |reason: &str| CognitoError::Response {
        operation: "AdminInitiateAuth",
        reason: format!("the ID token {reason}"),
    };
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| malformed("is not a compact JWS"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| malformed("payload is not base64url"))?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| malformed("payload is not a JSON object"))?;
    match claims.get("iss") {
        Some(Value::String(iss)) => Ok(iss.clone()),
        _ => Err(malformed("has no string iss")),
    }
}

/// [`error::bounded`] under a name that says where it is used.
fn error_bounded(text: &str) -> String {
    error::bounded(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CognitoConfig {
        CognitoConfig {
            region: "us-east-1".into(),
            user_pool_id: "us-east-1_Abc123".into(),
            client_id: "client".into(),
            username_domain: "bky.sh".into(),
            endpoint: None,
            credentials: AwsCredentials::new("AKID", "secret", None),
            retry: RetryPolicy::default(),
        }
    }

    #[test]
    fn usernames() {
        let client = CognitoTimestamps::new(config()).unwrap();
        assert_eq!(client.username(&[0xab, 0x01]).unwrap(), "ab01@bky.sh");
        assert!(client.username(&[0u8; 32]).is_ok());
        assert!(matches!(
            client.username(&[]),
            Err(CognitoError::Input { .. })
        ));
        assert!(matches!(
            client.username(&[0u8; 61]),
            Err(CognitoError::Input { .. })
        ));
    }

    #[test]
    fn config_is_checked() {
        for (field, change) in [
            (
                "user_pool_id",
                (|c: &mut CognitoConfig| c.user_pool_id = "eu-west-1_x".into())
                    as fn(&mut CognitoConfig),
            ),
            ("user_pool_id", |c| c.user_pool_id = "us-east-1_".into()),
            ("client_id", |c| c.client_id.clear()),
            ("username_domain", |c| c.username_domain = "a@b".into()),
            ("region", |c| {
                c.region = "US".into();
                c.user_pool_id = "US_x".into();
            }),
            ("endpoint", |c| c.endpoint = Url::parse("ftp://x/").ok()),
        ] {
            let mut c = config();
            change(&mut c);
            match CognitoTimestamps::new(c) {
                Err(CognitoError::Config { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn urls() {
        let client = CognitoTimestamps::new(config()).unwrap();
        assert_eq!(
            client.api().url().as_str(),
            "https://cognito-idp.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            client.jwks_url().unwrap().as_str(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123/.well-known/jwks.json"
        );
        let mut local = config();
        local.endpoint = Url::parse("http://127.0.0.1:5000").ok();
        let client = CognitoTimestamps::new(local).unwrap();
        assert_eq!(
            client.jwks_url().unwrap().as_str(),
            "http://127.0.0.1:5000/us-east-1_Abc123/.well-known/jwks.json"
        );
    }

    #[test]
    fn passwords_are_random_and_hidden() {
        let (a, b) = (random_password().unwrap(), random_password().unwrap());
        assert_ne!(a.0, b.0);
        assert_eq!(a.0.len(), 47);
        assert!(!format!("{a:?}").contains(&a.0));
        let shown = format!("{:?}", config());
        assert!(!shown.contains("secret\""), "{shown}");
    }
}
