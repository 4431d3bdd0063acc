//! The verdict on one timestamp JWT (SPEC §1.3), archivally (`exp` is not compared
//! with any time), from the token, its key set and the policy a face was given.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Check, jwt_checks};
use crate::timestamp::{Jwks, TimestampError, TimestampPolicy, TimestampVerifier, TokenUse};

/// The JWK Set as the face has it.
#[derive(Clone, Debug)]
pub enum JwksInput {
    /// JSON text (checked strictly: duplicate member names are rejected).
    Json(String),
    /// A JSON value already parsed by the face.
    Value(Value),
}

/// The verdict on a timestamp JWT: every check that ran, and what it vouches for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimestampVerdict {
    /// Every check passed.
    pub valid: bool,
    /// The checks that ran, in order ([`super::JWT_CHECKS`]).
    pub checks: Vec<Check>,
    /// The verified claims; `None` unless `valid`.
    pub claims: Option<Map<String, Value>>,
    /// The attested bytes (from the username) as hex; `None` unless `valid` and the
    /// policy has a username domain.
    pub attested: Option<String>,
}

/// Validates `token` under the key set `jwks` and the policy's `issuer`,
/// `token_use` and `username_domain`: a key set that cannot be used is the single
/// failed check `jwks`; otherwise the checks of [`TimestampVerifier::validate`].
pub fn verify(
    token: &str,
    jwks: &JwksInput,
    issuer: String,
    token_use: TokenUse,
    username_domain: Option<String>,
) -> TimestampVerdict {
    let fail = |checks: Vec<Check>| TimestampVerdict {
        valid: false,
        checks,
        claims: None,
        attested: None,
    };
    let jwks = match jwks {
        JwksInput::Json(text) => Jwks::from_json(text),
        JwksInput::Value(value) => Jwks::from_value(value),
    };
    let verifier = jwks.and_then(|jwks| {
        TimestampVerifier::new(TimestampPolicy {
            issuer,
            token_use,
            username_domain,
            jwks,
        })
    });
    let verifier = match verifier {
        Ok(verifier) => verifier,
        Err(e) => return fail(vec![Check::failed(e.check(), e.to_string())]),
    };
    let result: Result<_, TimestampError> = verifier.validate(token);
    let checks = jwt_checks(&result, verifier.policy());
    match result {
        Ok(verified) => TimestampVerdict {
            valid: true,
            checks,
            attested: verified.attested().map(hex::encode),
            claims: Some(verified.claims().clone()),
        },
        Err(_) => fail(checks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_jwks_is_a_verdict_naming_jwks() {
        let verdict = verify(
            "a.b.c",
            &JwksInput::Json("{\"keys\": 1}".into()),
            "https://issuer".into(),
            TokenUse::Id,
            None,
        );
        assert!(!verdict.valid);
        assert_eq!(verdict.checks.len(), 1);
        assert_eq!(verdict.checks[0].name, "jwks");
        assert!(verdict.claims.is_none() && verdict.attested.is_none());
    }
}
