//! `validate(K_T, t)` of SPEC §1.3: the policy, the claims and the verified token.

use super::*;

/// What a timestamp must satisfy: the trust descriptor's `timestamp` section (SPEC §1.6).
#[derive(Clone, Debug)]
pub struct TimestampPolicy {
    /// The exact `iss`, e.g. `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc`.
    pub issuer: String,
    /// The expected `token_use`; it also picks the username claim.
    pub token_use: TokenUse,
    /// When set, the username must be `<lowercase hex>@<domain>` and the hex is the
    /// attested bytes; when `None` the username is any string and nothing is attested.
    pub username_domain: Option<String>,
    /// The pool's trusted keys.
    pub jwks: Jwks,
}

/// Validates timestamp JWTs against one [`TimestampPolicy`], the RS256 signatures
/// checked by one [`CryptoBackend`]; keys are parsed and prepared once, so an audit that
/// checks one JWT per block pays for the JWKS only once.
#[derive(Clone, Debug)]
pub struct TimestampVerifier {
    policy: TimestampPolicy,
    /// `"@" + domain`, precomputed.
    username_suffix: Option<String>,
    backend: &'static dyn CryptoBackend,
    /// The policy's keys prepared by `backend`, in set order (shared by clones).
    keys: std::sync::Arc<[Box<dyn SignatureKey>]>,
}

impl TimestampVerifier {
    /// Makes a verifier for `policy` on the [default backend](default_backend).
    ///
    /// # Errors
    /// [`TimestampError::Policy`] when the issuer is empty, the JWKS holds no key, or the
    /// username domain is empty or contains `@`.
    pub fn new(policy: TimestampPolicy) -> Result<Self, TimestampError> {
        Self::with_backend(policy, default_backend())
    }

    /// [`TimestampVerifier::new`] with the signatures checked by `backend`.
    ///
    /// # Errors
    /// As for [`TimestampVerifier::new`], and [`TimestampError::Jwks`] if the backend
    /// cannot use a key of the set (none that the set accepts).
    pub fn with_backend(
        policy: TimestampPolicy,
        backend: &'static dyn CryptoBackend,
    ) -> Result<Self, TimestampError> {
        if policy.issuer.is_empty() {
            return Err(TimestampError::Policy {
                reason: "the issuer is empty".to_string(),
            });
        }
        if policy.jwks.is_empty() {
            return Err(TimestampError::Policy {
                reason: "the JWKS holds no key".to_string(),
            });
        }
        if let Some(domain) = &policy.username_domain {
            if domain.is_empty() || domain.contains('@') {
                return Err(TimestampError::Policy {
                    reason: format!(
                        "the username domain {:?} is empty or contains '@'",
                        bounded(domain)
                    ),
                });
            }
        }
        let username_suffix = policy.username_domain.as_ref().map(|d| format!("@{d}"));
        let keys = policy.jwks.prepare(backend)?.into();
        Ok(Self {
            policy,
            username_suffix,
            backend,
            keys,
        })
    }

    /// The backend that checks the signatures.
    pub fn backend(&self) -> &'static dyn CryptoBackend {
        self.backend
    }

    /// The policy this verifier enforces.
    pub fn policy(&self) -> &TimestampPolicy {
        &self.policy
    }

    /// `validate(K_T, t)` of SPEC §1.3: checks `token` as described in the
    /// module documentation (`timestamp::verifier`). `exp` is not compared with any time.
    ///
    /// Success proves that a key of the pinned JWKS signed these exact bytes and that the
    /// claims meet the policy. It does not prove that the pinned JWKS is the pool's real
    /// one, nor anything about the order of tokens: that is the chain's job.
    ///
    /// # Errors
    /// The first failed check, as a [`TimestampError`] (see [`TimestampError::check`]).
    pub fn validate(&self, token: &str) -> Result<VerifiedTimestamp, TimestampError> {
        let (header, payload) =
            verify_jws(token, &self.policy.jwks, &self.keys, KidRule::Required)?;
        let claims =
            parse_object(&payload).map_err(|reason| TimestampError::ClaimsJson { reason })?;

        let issuer = claims.get("iss");
        if issuer.and_then(Value::as_str) != Some(self.policy.issuer.as_str()) {
            return Err(TimestampError::Issuer {
                got: issuer.map(describe),
                expected: bounded(&self.policy.issuer),
            });
        }
        let expected_use = self.policy.token_use.as_str();
        let token_use = claims.get("token_use");
        if token_use.and_then(Value::as_str) != Some(expected_use) {
            return Err(TimestampError::TokenUse {
                got: token_use.map(describe),
                expected: expected_use,
            });
        }
        let claim = self.policy.token_use.username_claim();
        let username = match claims.get(claim) {
            Some(Value::String(username)) => username.as_str(),
            other => {
                return Err(TimestampError::UsernameMissing {
                    claim,
                    got: other.map(describe),
                });
            }
        };
        let attested = match (&self.username_suffix, &self.policy.username_domain) {
            (Some(suffix), Some(domain)) => {
                Some(parse_attested_username(username, suffix).ok_or_else(|| {
                    TimestampError::UsernameFormat {
                        got: bounded(username),
                        domain: bounded(domain),
                    }
                })?)
            }
            _ => None,
        };
        let iat = match claims.get("iat").and_then(Value::as_u64) {
            Some(iat) => UnixSeconds(iat),
            None => {
                return Err(TimestampError::Claim {
                    name: "iat",
                    got: claims.get("iat").map(describe),
                    expected: "an integer >= 0",
                });
            }
        };
        let [exp, auth_time] = ["exp", "auth_time"].map(|name| match claims.get(name) {
            None => Ok(None),
            Some(value) => integer(value)
                .map(Some)
                .ok_or_else(|| TimestampError::Claim {
                    name,
                    got: Some(describe(value)),
                    expected: "an integer when present",
                }),
        });
        let (exp, auth_time) = (exp?, auth_time?);
        check_times(iat, exp, auth_time)?;
        Ok(VerifiedTimestamp {
            token: token.to_string(),
            header,
            claims,
            iat,
            attested,
        })
    }
}

/// A JSON integer (of either sign, up to `u64::MAX`), or `None` for anything else.
pub(super) fn integer(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

/// The relations every Cognito token's times have: `auth_time <= iat < exp` and
/// `exp - iat <= MAX_TOKEN_LIFETIME_SECS`, each checked when the claims are present.
/// Nothing is compared with a clock.
pub(super) fn check_times(
    iat: UnixSeconds,
    exp: Option<i128>,
    auth_time: Option<i128>,
) -> Result<(), TimestampError> {
    let issued = i128::from(iat.0);
    if let Some(auth_time) = auth_time {
        if auth_time > issued {
            return Err(TimestampError::AuthTimeAfterIat { auth_time, iat });
        }
    }
    if let Some(exp) = exp {
        if exp <= issued {
            return Err(TimestampError::ExpNotAfterIat { iat, exp });
        }
        if exp - issued > i128::from(MAX_TOKEN_LIFETIME_SECS) {
            return Err(TimestampError::LifetimeTooLong {
                iat,
                exp,
                max: MAX_TOKEN_LIFETIME_SECS,
            });
        }
    }
    Ok(())
}

/// `<lowercase hex>@<domain>` → the bytes, or `None` if the username is anything else.
pub(super) fn parse_attested_username(username: &str, suffix: &str) -> Option<Vec<u8>> {
    let hex_part = username.strip_suffix(suffix)?;
    if hex_part.is_empty()
        || !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    hex::decode(hex_part).ok()
}

/// A short JSON rendering of a claim value for error messages ([`bounded`]).
pub(super) fn describe(value: &Value) -> String {
    bounded(&value.to_string())
}

/// A timestamp JWT that passed [`TimestampVerifier::validate`]; only that function makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    token: String,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    iat: UnixSeconds,
    attested: Option<Vec<u8>>,
}

impl VerifiedTimestamp {
    /// The JOSE header, as decoded.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// All claims, as decoded (unknown claims included, uninterpreted).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The attested time `p`: the `iat` claim, in seconds.
    pub fn iat(&self) -> UnixSeconds {
        self.iat
    }

    /// The attested bytes `y` decoded from `hex(y)@domain`; `Some` exactly when the
    /// policy has a username domain. For a block's timestamp, `y = H(b)`.
    pub fn attested(&self) -> Option<&[u8]> {
        self.attested.as_deref()
    }

    /// `H(t)`: SHA3-256 of the token's ASCII bytes exactly as received.
    ///
    /// Computed on each call rather than at validation: an audit already has every
    /// token's hash (its file name) and would otherwise hash each token twice.
    pub fn token_hash(&self) -> Hash32 {
        Hash32::digest(self.token.as_bytes())
    }

    /// The token text exactly as received.
    pub fn token(&self) -> &str {
        &self.token
    }
}
