//! [`TimestampError`]: why a token, a key set or a policy was rejected, and the name
//! of the check that failed.

use super::*;

/// Why a timestamp JWT, or the JWKS or policy meant to check it, was rejected.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The token does not have exactly three `.`-separated segments.
    #[error("a compact JWS has 3 segments, got {got}")]
    SegmentCount {
        /// How many segments the token has.
        got: usize,
    },
    /// A segment is not strict unpadded base64url.
    #[error("the {segment} segment is not unpadded base64url: {reason}")]
    Base64 {
        /// `"header"`, `"payload"` or `"signature"`.
        segment: &'static str,
        /// What the decoder found.
        reason: String,
    },
    /// The header is not a JSON object without duplicate member names.
    #[error("the JOSE header is not a strict JSON object: {reason}")]
    HeaderJson {
        /// What the parser found.
        reason: String,
    },
    /// The header carries a parameter this verifier refuses.
    #[error("the JOSE header has {name:?}, which is not accepted (crit, jku, x5u, jwk, x5c)")]
    HeaderParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// The header's `alg` is not `"RS256"`.
    #[error("header alg is {}, expected \"RS256\"", got.as_deref().unwrap_or("absent"))]
    Alg {
        /// The `alg` value as JSON, or `None` when absent.
        got: Option<String>,
    },
    /// The header has no `kid` string.
    #[error("header kid is {}, expected a string", got.as_deref().unwrap_or("absent"))]
    KidMissing {
        /// The `kid` value as JSON when it is not a string, `None` when absent.
        got: Option<String>,
    },
    /// No key of the trusted set has the header's `kid`.
    #[error("no trusted key has kid {kid:?}")]
    KidUnknown {
        /// The header's `kid`.
        kid: String,
    },
    /// The header has no `kid` and the set does not hold exactly one key.
    #[error("the header names no kid and the key set holds {keys} keys, not exactly 1")]
    KeyAmbiguous {
        /// How many keys the set holds.
        keys: usize,
    },
    /// The RS256 signature does not verify with the selected key.
    #[error("the RS256 signature does not verify with the key {}", kid.as_deref().unwrap_or("(without kid)"))]
    Signature {
        /// The `kid` of the key tried.
        kid: Option<String>,
    },
    /// The payload is not a JSON object without duplicate member names.
    #[error("the claims are not a strict JSON object: {reason}")]
    ClaimsJson {
        /// What the parser found.
        reason: String,
    },
    /// `iss` is not the trusted issuer.
    #[error("iss is {}, expected {expected:?}", got.as_deref().unwrap_or("absent"))]
    Issuer {
        /// The `iss` value as JSON, or `None` when absent.
        got: Option<String>,
        /// The policy's issuer.
        expected: String,
    },
    /// `token_use` is not the expected kind.
    #[error("token_use is {}, expected {expected:?}", got.as_deref().unwrap_or("absent"))]
    TokenUse {
        /// The `token_use` value as JSON, or `None` when absent.
        got: Option<String>,
        /// `"id"` or `"access"`.
        expected: &'static str,
    },
    /// The username claim is absent or not a string.
    #[error("the username claim {claim:?} is {}, expected a string", got.as_deref().unwrap_or("absent"))]
    UsernameMissing {
        /// `"cognito:username"` or `"username"`.
        claim: &'static str,
        /// The claim's value as JSON, or `None` when absent.
        got: Option<String>,
    },
    /// The username is not `<lowercase hex>@<domain>`.
    #[error("the username is {got:?}, expected lowercase hex bytes followed by \"@{domain}\"")]
    UsernameFormat {
        /// The username.
        got: String,
        /// The policy's domain.
        domain: String,
    },
    /// A time claim has the wrong type.
    #[error("claim {name} is {}, expected {expected}", got.as_deref().unwrap_or("absent"))]
    Claim {
        /// `"iat"`, `"exp"` or `"auth_time"`.
        name: &'static str,
        /// The claim's value as JSON, or `None` when absent.
        got: Option<String>,
        /// What was required.
        expected: &'static str,
    },
    /// `auth_time` is after `iat`: a Cognito token is issued at or after the
    /// authentication it records (later, when it comes from a refresh).
    #[error("auth_time {auth_time} is after iat {}; a token is issued at or after its authentication", iat.0)]
    AuthTimeAfterIat {
        /// The `auth_time` claim.
        auth_time: i128,
        /// The `iat` claim.
        iat: UnixSeconds,
    },
    /// `exp` is not after `iat`: no Cognito token expires when or before it is issued.
    #[error("exp {exp} is not after iat {}", iat.0)]
    ExpNotAfterIat {
        /// The `iat` claim.
        iat: UnixSeconds,
        /// The `exp` claim.
        exp: i128,
    },
    /// `exp - iat` is longer than any Cognito token lives ([`MAX_TOKEN_LIFETIME_SECS`]).
    #[error("the token lives {} s (iat {}, exp {exp}); Cognito tokens live at most {max} s", exp - i128::from(iat.0), iat.0)]
    LifetimeTooLong {
        /// The `iat` claim.
        iat: UnixSeconds,
        /// The `exp` claim.
        exp: i128,
        /// The longest lifetime accepted, in seconds.
        max: u64,
    },
    /// A JWK Set or JWK is not a set of usable RS256 verification keys.
    #[error("unusable JWK{}: {reason}", kid.as_ref().map(|k| format!(" {k:?}")).unwrap_or_default())]
    Jwks {
        /// The offending key's `kid`, when known.
        kid: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A Cognito-style `kid` is not the SHA-256 of its key's SubjectPublicKeyInfo.
    #[error("JWK kid {kid:?} is not base64(SHA-256(SPKI)) of its key, which is {computed:?}")]
    JwkKidMismatch {
        /// The JWK's `kid`.
        kid: String,
        /// `base64(SHA-256(DER SPKI))` of the JWK's key.
        computed: String,
    },
    /// The policy itself is unusable.
    #[error("unusable timestamp policy: {reason}")]
    Policy {
        /// What is wrong.
        reason: String,
    },
}

impl TimestampError {
    /// A short stable name of the check that failed, for reports and the JS API:
    /// `format`, `header`, `alg`, `kid`, `signature`, `claims`, `issuer`, `token_use`,
    /// `username`, or, for the key set and policy, `jwks` and `policy`.
    pub fn check(&self) -> &'static str {
        match self {
            Self::SegmentCount { .. } | Self::Base64 { .. } => "format",
            Self::HeaderJson { .. } | Self::HeaderParameter { .. } => "header",
            Self::Alg { .. } => "alg",
            Self::KidMissing { .. } | Self::KidUnknown { .. } | Self::KeyAmbiguous { .. } => "kid",
            Self::Signature { .. } => "signature",
            Self::ClaimsJson { .. }
            | Self::Claim { .. }
            | Self::AuthTimeAfterIat { .. }
            | Self::ExpNotAfterIat { .. }
            | Self::LifetimeTooLong { .. } => "claims",
            Self::Issuer { .. } => "issuer",
            Self::TokenUse { .. } => "token_use",
            Self::UsernameMissing { .. } | Self::UsernameFormat { .. } => "username",
            Self::Jwks { .. } | Self::JwkKidMismatch { .. } => "jwks",
            Self::Policy { .. } => "policy",
        }
    }
}
