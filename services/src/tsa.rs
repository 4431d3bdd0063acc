//! The timestamp authority: a local stand-in for Amazon Cognito (SPEC §1.3, §7.2).
//!
//! Production timestamps are Amazon Cognito ID tokens: the writer creates the user
//! `hex(y)@<domain>`, authenticates, and keeps the token, whose `iat` attests when `y`
//! existed. [`TimestampAuthority`] issues tokens of exactly that shape (research
//! `jwt-FINDINGS.md` §1.3, §2) with its own RSA-2048 key:
//!
//! - header `{"kid":"…","alg":"RS256"}`, in that order, no `typ`;
//! - claims `sub`, `iss`, `token_use` (`"id"`), `cognito:username`, `aud`, `auth_time`,
//!   `iat`, `exp` in that order, `exp = iat + 3600`;
//! - `kid` = standard padded base64 of SHA-256 of the key's DER SubjectPublicKeyInfo, the
//!   rule every real Cognito key follows.
//!
//! Choices where the SPEC is silent: `sub` is a UUIDv4-shaped string derived from the key
//! and `y` (one Cognito user per `y`, so the same `y` always has the same `sub`), which
//! makes [`TimestampAuthority::issue`] deterministic; `aud` is [`CLIENT_ID`]. Signing
//! needs no randomness (RSASSA-PKCS1-v1_5); only key generation draws from the OS.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::PrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use snapshot_fs::atomic::{self, Existing, Options, Written};
use verifier_core::timestamp::TokenUse;
use verifier_core::trust::TimestampTrust;

use crate::ServiceError;

/// The RSA modulus size of a new key, in bits (Cognito's).
pub const KEY_BITS: usize = 2048;

/// The lifetime of a token, `exp - iat`, in seconds (one hour, a common Cognito setting).
pub const TOKEN_LIFETIME_SECS: u64 = 3600;

/// The `aud` of every token: the stand-in pool's one app client id (26 lowercase
/// alphanumerics, as Cognito's client ids are).
pub const CLIENT_ID: &str = "zipchaintsastandinclient01";

/// An issuer for a stand-in pool in Cognito's format, for when none is configured.
pub const DEFAULT_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ZipStandIn";

/// The username domain of the patent (`hex(y)@bky.sh`).
pub const DEFAULT_USERNAME_DOMAIN: &str = "bky.sh";

/// The key's file name inside the key directory of [`TimestampAuthority::load_or_create`].
pub const KEY_FILE: &str = "tsa-key.pem";

const KEY_FILE_EXPECTED: &str = "PKCS#8 PEM RSA-2048 private key";

/// A Cognito-shaped timestamp authority with one RSA-2048 signing key.
#[derive(Clone)]
pub struct TimestampAuthority {
    signing: SigningKey<Sha256>,
    /// SPKI DER of the public key (hashed into `kid` and `sub`).
    spki_der: Vec<u8>,
    kid: String,
    /// The JWK's `n` and `e`, base64url without padding.
    n: String,
    e: String,
    issuer: String,
    username_domain: String,
}

impl fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("username_domain", &self.username_domain)
            .finish_non_exhaustive()
    }
}

/// The JOSE header, members in Cognito's order.
#[derive(Serialize)]
struct Header<'a> {
    kid: &'a str,
    alg: &'a str,
}

/// The ID-token claims, members in Cognito's order.
#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iss: &'a str,
    token_use: &'a str,
    #[serde(rename = "cognito:username")]
    username: &'a str,
    aud: &'a str,
    auth_time: u64,
    iat: u64,
    exp: u64,
}

impl TimestampAuthority {
    /// A new authority with a fresh RSA-2048 key from the OS random source.
    ///
    /// # Errors
    /// [`ServiceError::Config`] for an empty issuer or a domain that is empty or holds
    /// `@`; [`ServiceError::Rsa`] if key generation fails.
    pub fn generate(
        issuer: impl Into<String>,
        username_domain: impl Into<String>,
    ) -> Result<Self, ServiceError> {
        let (issuer, username_domain) = check_config(issuer.into(), username_domain.into())?;
        let key =
            PrivateKey::new(&mut getrandom::SysRng, KEY_BITS).map_err(|e| ServiceError::Rsa {
                operation: "key generation",
                reason: e.to_string(),
            })?;
        Self::from_key(key, issuer, username_domain)
    }

    /// The authority whose key is `<key_dir>/`[`KEY_FILE`]; on first use the directory
    /// and a new key are created (PKCS#8 PEM, mode 0600, written atomically). An existing
    /// key file is never overwritten: if it is unusable this fails and leaves it alone.
    ///
    /// # Errors
    /// [`ServiceError::Io`] when the directory or file cannot be made or read,
    /// [`ServiceError::BadKeyFile`] when the file holds no RSA-2048 key, and as
    /// [`TimestampAuthority::generate`].
    pub fn load_or_create(
        key_dir: &Path,
        issuer: impl Into<String>,
        username_domain: impl Into<String>,
    ) -> Result<Self, ServiceError> {
        let (issuer, username_domain) = check_config(issuer.into(), username_domain.into())?;
        let path = key_dir.join(KEY_FILE);
        let read =
            |path: &Path| atomic::read_if_exists(path).map_err(|e| ServiceError::io(path, &e));
        if let Some(bytes) = read(&path)? {
            return Self::from_pem_file(&path, &bytes, issuer, username_domain);
        }
        atomic::create_dir(key_dir).map_err(|e| ServiceError::io(key_dir, &e))?;
        let fresh = Self::generate(issuer.clone(), username_domain.clone())?;
        let pem = fresh
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| ServiceError::Rsa {
                operation: "PKCS#8 encoding",
                reason: e.to_string(),
            })?;
        let private_once = Options {
            private: true,
            existing: Existing::Keep,
            ..Options::default()
        };
        match atomic::write_atomic_with(&path, pem.as_bytes(), private_once)
            .map_err(|e| ServiceError::io(&path, &e))?
        {
            Written::Written => Ok(fresh),
            // Another process created the key first: use theirs.
            Written::AlreadyExists => {
                let bytes = read(&path)?.ok_or_else(|| ServiceError::Io {
                    path: path.clone(),
                    reason: "the key file vanished while it was being created".to_string(),
                })?;
                Self::from_pem_file(&path, &bytes, issuer, username_domain)
            }
        }
    }

    fn from_pem_file(
        path: &Path,
        bytes: &[u8],
        issuer: String,
        username_domain: String,
    ) -> Result<Self, ServiceError> {
        let bad = |reason: String| ServiceError::BadKeyFile {
            path: PathBuf::from(path),
            expected: KEY_FILE_EXPECTED,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".to_string()))?;
        let key = PrivateKey::from_pkcs8_pem(text).map_err(|e| bad(e.to_string()))?;
        let bits = key.size() * 8;
        if bits != KEY_BITS {
            return Err(bad(format!(
                "got a {bits}-bit key, expected {KEY_BITS} bits"
            )));
        }
        key.validate().map_err(|e| bad(e.to_string()))?;
        Self::from_key(key, issuer, username_domain)
    }

    fn from_key(
        key: PrivateKey,
        issuer: String,
        username_domain: String,
    ) -> Result<Self, ServiceError> {
        let public = key.to_public_key();
        let spki_der = public
            .to_public_key_der()
            .map_err(|e| ServiceError::Rsa {
                operation: "SPKI encoding",
                reason: e.to_string(),
            })?
            .as_bytes()
            .to_vec();
        let kid = STANDARD.encode(Sha256::digest(&spki_der));
        let n = URL_SAFE_NO_PAD.encode(public.n_bytes());
        let e = URL_SAFE_NO_PAD.encode(public.e_bytes());
        Ok(Self {
            signing: SigningKey::new(key),
            spki_der,
            kid,
            n,
            e,
            issuer,
            username_domain,
        })
    }

    /// The key id: standard padded base64 of SHA-256 of the DER SubjectPublicKeyInfo.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The username domain: usernames are `hex(y)@<domain>`.
    pub fn username_domain(&self) -> &str {
        &self.username_domain
    }

    /// The DER SubjectPublicKeyInfo of the signing key.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The JWK Set to publish at `/.well-known/jwks.json`:
    /// `{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid","n","e"}]}`.
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": self.kid,
                "n": self.n,
                "e": self.e,
            }]
        })
    }

    /// The trust descriptor's `timestamp` section (SPEC §1.6) for this authority.
    pub fn timestamp_trust(&self) -> TimestampTrust {
        TimestampTrust {
            issuer: self.issuer.clone(),
            token_use: TokenUse::Id,
            username_domain: self.username_domain.clone(),
            jwks: self.jwks(),
        }
    }

    /// Issues the timestamp token attesting `y` at `iat` (Unix seconds): an RS256 JWT in
    /// the Cognito ID-token shape whose `cognito:username` is `hex(y)@<domain>`.
    /// Deterministic: the same `y` and `iat` give the same token.
    ///
    /// # Errors
    /// [`ServiceError::Config`] for an empty `y`, [`ServiceError::TimeOverflow`] when
    /// `iat + 3600` overflows, [`ServiceError::Rsa`] if signing fails.
    pub fn issue(&self, y: &[u8], iat: u64) -> Result<String, ServiceError> {
        if y.is_empty() {
            return Err(ServiceError::Config {
                what: "attested bytes y",
                got: String::new(),
                reason: "a timestamp must attest at least one byte",
            });
        }
        let exp = iat
            .checked_add(TOKEN_LIFETIME_SECS)
            .ok_or(ServiceError::TimeOverflow {
                iat,
                lifetime: TOKEN_LIFETIME_SECS,
            })?;
        let username = format!("{}@{}", hex::encode(y), self.username_domain);
        let sub = self.subject(y);
        let header = Header {
            kid: &self.kid,
            alg: "RS256",
        };
        let claims = Claims {
            sub: &sub,
            iss: &self.issuer,
            token_use: TokenUse::Id.as_str(),
            username: &username,
            aud: CLIENT_ID,
            auth_time: iat,
            iat,
            exp,
        };
        let mut token = String::with_capacity(1024);
        token.push_str(&URL_SAFE_NO_PAD.encode(to_json(&header)?));
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(to_json(&claims)?));
        let signature = self
            .signing
            .try_sign(token.as_bytes())
            .map_err(|e| ServiceError::Rsa {
                operation: "signing",
                reason: e.to_string(),
            })?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_vec()));
        Ok(token)
    }

    /// The Cognito user id of the user `hex(y)@domain`: a UUIDv4-shaped string derived
    /// from the key and `y`.
    fn subject(&self, y: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"zipchain/tsa/sub/v1");
        hasher.update(&self.spki_der);
        hasher.update(y);
        let digest = hasher.finalize();
        let mut u = [0u8; 16];
        u.copy_from_slice(&digest[..16]);
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        let h = hex::encode(u);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

/// Checks the issuer and username domain the verifier will pin.
fn check_config(issuer: String, domain: String) -> Result<(String, String), ServiceError> {
    if issuer.is_empty() {
        return Err(ServiceError::Config {
            what: "issuer",
            got: issuer,
            reason: "it is empty",
        });
    }
    if domain.is_empty() || domain.contains('@') {
        return Err(ServiceError::Config {
            what: "username domain",
            got: domain,
            reason: "it must be non-empty and hold no '@'",
        });
    }
    Ok((issuer, domain))
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ServiceError> {
    serde_json::to_vec(value).map_err(|e| ServiceError::Rsa {
        operation: "JSON encoding of the token",
        reason: e.to_string(),
    })
}
