//! Timestamp attestations: Cognito-format RS256 JWTs kept as archival proofs (SPEC §1.3).
//!
//! A timestamp attestation `t` is a compact JWS whose username claim carries
//! `hex(y) + "@" + domain` and whose `iat` is the attested time. This module checks one
//! token against a pinned [`TimestampPolicy`] (issuer, `token_use`, username domain and
//! the pool's JWKS) with no clock, no network and no algorithm negotiation:
//!
//! 1. exactly three segments, each strict unpadded base64url (RFC 7515 §2; `=`, `+`, `/`
//!    and non-canonical trailing bits are rejected);
//! 2. the header and the payload are JSON objects with no duplicate member names at any
//!    depth (`serde_json` alone would keep the last duplicate silently);
//! 3. header `alg` is exactly `RS256` (checked before any cryptography, so `none`, `HS256`
//!    with the RSA key as an HMAC secret, `RS512`, `PS256` … never reach a verifier);
//!    `crit`, `jku`, `x5u`, `jwk` and `x5c` are rejected;
//! 4. header `kid` is a string and names a key of the pinned JWKS exactly;
//! 5. RSASSA-PKCS1-v1_5 with SHA-256 over the `header.payload` ASCII exactly as received;
//! 6. `iss` and `token_use` equal the policy's; the username claim (`cognito:username`
//!    for ID tokens, `username` for access tokens) is a string, and with a username
//!    domain it is exactly `<lowercase hex>@<domain>`;
//! 7. `iat` is an integer `>= 0` (the attested time); `exp` and `auth_time`, when present,
//!    are integers, related as in every Cognito token: `auth_time <= iat < exp` and
//!    `exp - iat <= 86400` ([`MAX_TOKEN_LIFETIME_SECS`]: Cognito tokens live 5 minutes to
//!    1 day, FINDINGS §1.3).
//!
//! `exp` is never compared with any clock, only with `iat`: every real proof is long
//! expired, and this crate reads no clock. The token is not trimmed: a token with
//! surrounding whitespace or a trailing newline is malformed (readers of files strip
//! their own line endings, and `H(t)` is over the token's bytes exactly as issued).
//!
//! Errors quote the input they reject (a claim, a kid, a JSON parser's message), but
//! boundedly (96 bytes of a value as printed, a little more of a parser's message, then
//! `…(N bytes)`), so a hostile token or JWKS cannot make a long report.
//!
//! Background: `../shared/research/jwt-FINDINGS.md` §2.5.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::crypto::{CryptoBackend, RsaKey, SignatureKey, default_backend};
use crate::json::{parse_object, parse_strict_json};
use crate::text::{bounded, bounded_reason};

use crate::hash::Hash32;
use crate::time::UnixSeconds;

/// The only JWS algorithm accepted (SPEC §1.3; Cognito user pools always use it).
pub const ALG_RS256: &str = "RS256";

/// The smallest RSA modulus accepted in a JWK, in bits (Cognito's keys are 2048-bit).
pub const MIN_RSA_BITS: usize = RsaKey::MIN_BITS;

/// The largest RSA modulus accepted in a JWK, in bits (bounds the work per signature).
pub const MAX_RSA_BITS: usize = RsaKey::MAX_BITS;

/// The longest token lifetime accepted, `exp - iat`, in seconds: one day, the most a
/// Cognito app client allows for ID and access tokens (jwt-FINDINGS §1.3; the default
/// is one hour).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

/// Header parameters that would make the token name its own key or add semantics we do
/// not implement (RFC 7515 §4.1); Cognito never sends them.
const FORBIDDEN_HEADER_PARAMETERS: [&str; 5] = ["crit", "jku", "x5u", "jwk", "x5c"];

/// Which kind of Cognito token the policy expects (the `token_use` claim).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    /// An ID token: `token_use` is `"id"`, the username is in `cognito:username`.
    Id,
    /// An access token: `token_use` is `"access"`, the username is in `username`.
    Access,
}

impl TokenUse {
    /// The `token_use` claim value: `"id"` or `"access"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Access => "access",
        }
    }

    /// The claim that carries the username for this kind of token.
    pub fn username_claim(self) -> &'static str {
        match self {
            Self::Id => "cognito:username",
            Self::Access => "username",
        }
    }

    /// Parses `"id"` or `"access"` (exactly, lowercase).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "id" => Some(Self::Id),
            "access" => Some(Self::Access),
            _ => None,
        }
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

mod error;
mod jwks;
mod jws;
#[cfg(test)]
mod tests;
mod verifier;

pub use error::*;
pub use jwks::*;
pub use jws::*;
pub use verifier::*;
