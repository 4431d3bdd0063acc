//! Timestamp JWTs (SPEC §1.3): real Cognito tokens, RFC 7515 A.2 / RFC 7520 §4.1 known
//! answers, the conformance chain's timestamps, and a table of attacks and malformed tokens.
//!
//! Vectors are read in place from `../shared/vectors/jwt/` (provenance in its README) and
//! `../shared/vectors/chain/`. Tokens that real keys cannot produce (duplicate claims,
//! `crit`, a missing `kid`) are signed here with a fixed test key, so the same tests run on
//! wasm32 with no random number generator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[allow(unreachable_pub)] // shared helpers, not all used here
#[macro_use]
mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use zipchain_verifier_core::hash::Hash32;
use zipchain_verifier_core::time::UnixSeconds;
use zipchain_verifier_core::timestamp::{
    Jwks, TimestampError, TimestampPolicy, TimestampVerifier, TokenUse, verify_rs256_jws_with,
};
// Every verifier below is one per crypto backend, each call checked on all (#19).
use common::{Every, timestamp_verifiers};

/// `verify_rs256_jws` on every crypto backend: the same result on each, returned.
fn verify_rs256_jws(token: &str, jwks: &Jwks) -> Result<Vec<u8>, TimestampError> {
    Every::new(|backend| backend).same(|backend| verify_rs256_jws_with(token, jwks, *backend))
}

/// A 2048-bit RSA key made for these tests only (`openssl genpkey -algorithm RSA`).
const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCtunZuNZlFO7Si\n27+yEZGoW3IDjSv1ra2iGC0HtIsqR6Z4lnAlFro0iCn5QntBQSLhlBO8qHobSyJk\nFObsqLR/iquE8+nI8YrVYBqlN8j8P6qw4WZz/bMO36rZuKLBFm3JjYDb0k6oQuXC\nU+aEiKXk/9itk2/4t6m+Eyl1ozlmqn2nRz0IiSxH0cv/54p+REFnHG4JBGT6xCSP\n37vWwVyioFowR/HUC+WW1s64P/UKfQRfCvVNTprHbaAeTJiMLdpHrd/zkAOvRMLj\nre4FkbJ83RVZ5WyEtp0+HqellKEORURjmwshrvi6SL+nZHOpMvFPZD0mqxU+T3kh\nXmTzKSzVAgMBAAECggEAGvCbDGCR5b9KNeX7Pj8EthWGIuBZpIWb8xKqKvN3kCUf\nvrvfZJT3Z42E6sMBL3+NC+uFOwBqPQDD8r6eB61qnguQKPQU+QThyVBXmW7C40Dx\nNHAjjdGV2nTbPttnm6che7uOc6gTa/rBu8Z8bOluxknZXSNLngdHEnNQvs4CqPV+\nRIaQCx/EeApS4G+/lS3ujiU9+/Z0alR1G1W4yM3Q3c2poaO9DBNMwQwLucDDQF3y\n2sRL6z4NhiBlFVScRW74nqQmgRIZEBC6GPglZxXt3GmHwBY6+Af8oRKsLfiyWVj+\nQW8c4qfcOrnOmJ4GfEPRzfkIKuYjViYGfA6AYjfGeQKBgQDboLck7yJ7hHe513kC\noUXa088pWCgQiPDvxi14YYvsqrxmJDlZG2nzkEtCgYgfTvswIv+/2OzyfkqmvBAb\n3SY1EO7F6GwRy1aMj9jGaYFr9LystWQgrvydMzSMIDzMdzy0H879BrRtCWhxDjVE\nnw+g1n+kBDCf4Z3Br3oHAGkdXQKBgQDKf86IPZQrMqJPzdHvt5+8p3JE6zCRgryu\nfhFNcFHAwykiEWaMlZWjWS4EPJmrcp1gA9DZ9qPMt/MZ/I7hjlvMMU4QaLgDy93i\njZZVgZ5HhKWVmPmNUoaAW/F2gos3YLvoXM0v2NLPsHJx95MY8M07YX0/Cbiw11Q9\nQ86nmS7d2QKBgEbAJz+GqZ0Qt2DuwNTQDyjHQt0WwRFSjAsx1EQLaH/9IGPnF3JV\nGnST7yqlf6xWTSTcoXaz8uDLPlEoFChlvYEqy0CF9wpkbqUpUbPZGRAl7wHUDUVa\nGZaqgCsD15Imdy+vb4ajOkxF05dX9GD+vJIbh1LW5rMagy95z92hjDshAoGAQ4za\n8qvID5j2eDSqgZL5oE8jWUYzj3bTRkobr392Zh00TX8MfH0xy6nmJdepU34KbYsY\nUn1qKtJ6MAMGDswUZ0tTRToJmIqbXAXrTl7M1AK10e+T38bVw1/obqYhlrmYNW0v\nrXRg7pNnugjicwFxFQvyYeL2T1elbEKAX3xEHBECgYApPdtM2wiQBzeEQd5m93vp\ngIg6B2I+/qz5eZaUUXv9YbgVXEWBQSKk5vMmltcpOdYiKXis9Db8ZaSA2Lp2kFeN\nukWdF8qtraYdic8m9WNCrXBb7WzBJhp7V4sRaaTqFHi1TvxpeYmy3oxW2QCb6Zfu\ncWjTIRiSEDjplo93tHbRcQ==\n-----END PRIVATE KEY-----";

const TEST_ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool";
const TEST_KID: &str = "test-key-1";

struct TestSigner {
    key: rsa::pkcs1v15::SigningKey<sha2::Sha256>,
    jwk: Value,
}

impl TestSigner {
    fn new() -> Self {
        let private = rsa::PrivateKey::from_pkcs8_pem(TEST_KEY_PEM).unwrap();
        let n = private.n().to_be_bytes();
        let n: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
        let e = private.e().to_be_bytes();
        let e: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
        let jwk = json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": TEST_KID,
            "n": B64.encode(n), "e": B64.encode(e),
        });
        Self {
            key: rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private),
            jwk,
        }
    }

    fn jwks(&self) -> Jwks {
        Jwks::from_value(&json!({ "keys": [self.jwk.clone()] })).unwrap()
    }

    /// Signs raw header and payload JSON text exactly as given.
    fn sign_raw(&self, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
        let signature = self.key.sign(input.as_bytes()).to_vec();
        format!("{input}.{}", B64.encode(signature))
    }

    fn verifier(&self, domain: Option<&str>) -> Every<TimestampVerifier> {
        timestamp_verifiers(TimestampPolicy {
            issuer: TEST_ISSUER.to_string(),
            token_use: TokenUse::Id,
            username_domain: domain.map(str::to_string),
            jwks: self.jwks(),
        })
        .unwrap()
    }
}

const GOOD_HEADER: &str = r#"{"kid":"test-key-1","alg":"RS256"}"#;

fn good_claims(username: &str) -> String {
    format!(
        r#"{{"sub":"s","iss":"{TEST_ISSUER}","token_use":"id","cognito:username":"{username}","auth_time":1795000000,"iat":1795000000,"exp":1795003600}}"#
    )
}

fn check_of(result: Result<impl core::fmt::Debug, TimestampError>) -> &'static str {
    result.unwrap_err().check()
}

#[test]
fn self_signed_token_validates_and_attests_bytes() {
    let signer = TestSigner::new();
    let y = Hash32::digest(b"block");
    let token = signer.sign_raw(GOOD_HEADER, &good_claims(&format!("{}@bky.sh", y.to_hex())));
    let verified = signer.verifier(Some("bky.sh")).validate(&token).unwrap();
    assert_eq!(verified.attested(), Some(y.as_bytes().as_slice()));
    assert_eq!(verified.iat(), UnixSeconds(1_795_000_000));
    assert_eq!(verified.token(), token);
    assert_eq!(verified.token_hash(), Hash32::digest(token.as_bytes()));
    assert_eq!(verified.header()["kid"], TEST_KID);
    assert_eq!(verified.claims()["sub"], "s");
    // Without a domain any username passes and nothing is attested.
    let plain = signer.verifier(None).validate(&token).unwrap();
    assert_eq!(plain.attested(), None);
}

#[test]
fn duplicate_members_are_rejected_even_when_signed() {
    let signer = TestSigner::new();
    let v = signer.verifier(None);
    let claims = good_claims("u");
    let twice_iss = claims.replacen('{', r#"{"iss":"https://evil.example","#, 1);
    let err = v
        .validate(&signer.sign_raw(GOOD_HEADER, &twice_iss))
        .unwrap_err();
    assert!(
        matches!(&err, TimestampError::ClaimsJson { reason } if reason.contains("duplicate")),
        "{err}"
    );
    assert_eq!(err.check(), "claims");
    let nested = claims.replacen('{', r#"{"x":{"a":1,"a":2},"#, 1);
    assert_eq!(
        check_of(v.validate(&signer.sign_raw(GOOD_HEADER, &nested))),
        "claims"
    );
    let twice_alg = r#"{"alg":"none","kid":"test-key-1","alg":"RS256"}"#;
    let err = v
        .validate(&signer.sign_raw(twice_alg, &claims))
        .unwrap_err();
    assert!(matches!(&err, TimestampError::HeaderJson { .. }), "{err}");
    assert_eq!(err.check(), "header");
}

#[test]
fn refused_header_parameters() {
    let signer = TestSigner::new();
    let v = signer.verifier(None);
    for (name, extra) in [
        ("crit", r#""crit":["exp"],"exp":1"#),
        ("jku", r#""jku":"https://evil.example/jwks.json""#),
        ("x5u", r#""x5u":"https://evil.example/cert.pem""#),
        ("jwk", r#""jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}"#),
        ("x5c", r#""x5c":["MIIB"]"#),
    ] {
        let header = format!(r#"{{"kid":"test-key-1","alg":"RS256",{extra}}}"#);
        let err = v
            .validate(&signer.sign_raw(&header, &good_claims("u")))
            .unwrap_err();
        assert_eq!(
            err,
            TimestampError::HeaderParameter {
                name: match name {
                    "crit" => "crit",
                    "jku" => "jku",
                    "x5u" => "x5u",
                    "jwk" => "jwk",
                    _ => "x5c",
                }
            }
        );
        assert_eq!(err.check(), "header");
    }
    // A header that is not an object, or a typ, changes nothing else.
    assert_eq!(
        check_of(v.validate(&signer.sign_raw("[1]", &good_claims("u")))),
        "header"
    );
    let typ = r#"{"kid":"test-key-1","alg":"RS256","typ":"JWT"}"#;
    assert!(v.validate(&signer.sign_raw(typ, &good_claims("u"))).is_ok());
}

#[test]
fn kid_is_required_for_validate_and_optional_for_a_sole_key() {
    let signer = TestSigner::new();
    let token = signer.sign_raw(r#"{"alg":"RS256"}"#, &good_claims("u"));
    let err = signer.verifier(None).validate(&token).unwrap_err();
    assert_eq!(err, TimestampError::KidMissing { got: None });
    assert_eq!(err.check(), "kid");
    assert_eq!(
        verify_rs256_jws(&token, &signer.jwks()).unwrap(),
        good_claims("u").as_bytes()
    );
    let numeric = signer.sign_raw(r#"{"alg":"RS256","kid":1}"#, &good_claims("u"));
    assert_eq!(check_of(signer.verifier(None).validate(&numeric)), "kid");
    let unknown = signer.sign_raw(r#"{"alg":"RS256","kid":"test-key-2"}"#, &good_claims("u"));
    assert_eq!(
        signer.verifier(None).validate(&unknown).unwrap_err(),
        TimestampError::KidUnknown {
            kid: "test-key-2".to_string()
        }
    );
}

#[test]
fn time_claims_must_be_integers_and_exp_is_not_checked() {
    let signer = TestSigner::new();
    let v = signer.verifier(None);
    let base = good_claims("u");
    for (from, to) in [
        (r#""iat":1795000000"#, r#""iat":-1"#),
        (r#""iat":1795000000"#, r#""iat":1795000000.5"#),
        (r#""iat":1795000000"#, r#""iat":"1795000000""#),
        (r#""iat":1795000000,"#, ""),
        (r#""exp":1795003600"#, r#""exp":"never""#),
        (r#""exp":1795003600"#, r#""exp":1.5"#),
        (r#""auth_time":1795000000"#, r#""auth_time":null"#),
    ] {
        let claims = base.replace(from, to);
        assert_ne!(claims, base);
        let err = v
            .validate(&signer.sign_raw(GOOD_HEADER, &claims))
            .unwrap_err();
        assert!(matches!(err, TimestampError::Claim { .. }), "{to}: {err}");
        assert_eq!(err.check(), "claims");
    }
    // Archival proofs never compare exp with a clock: long expired is fine.
    let expired = base
        .replace(r#""auth_time":1795000000"#, r#""auth_time":1"#)
        .replace(r#""iat":1795000000"#, r#""iat":1"#)
        .replace(r#""exp":1795003600"#, r#""exp":3601"#);
    assert!(v.validate(&signer.sign_raw(GOOD_HEADER, &expired)).is_ok());
    let no_exp = base.replace(r#","exp":1795003600"#, "");
    assert!(v.validate(&signer.sign_raw(GOOD_HEADER, &no_exp)).is_ok());
    let iat_zero = base
        .replace(r#""auth_time":1795000000"#, r#""auth_time":0"#)
        .replace(r#""iat":1795000000"#, r#""iat":0"#)
        .replace(r#""exp":1795003600"#, r#""exp":3600"#);
    assert_eq!(
        v.validate(&signer.sign_raw(GOOD_HEADER, &iat_zero))
            .unwrap()
            .iat(),
        UnixSeconds(0)
    );
}

/// `auth_time <= iat < exp` and `exp - iat <= 86400`, as in every Cognito token
/// (jwt-FINDINGS §1.3, §2.5): each broken relation is its own error of the `claims`
/// check, carrying the values compared.
#[test]
fn time_claims_relate_as_in_cognito_tokens() {
    let signer = TestSigner::new();
    let v = signer.verifier(None);
    let with_times = |auth_time: Option<i64>, iat: i64, exp: Option<i64>| {
        let mut claims = format!(
            r#"{{"sub":"s","iss":"{TEST_ISSUER}","token_use":"id","cognito:username":"u","iat":{iat}"#
        );
        if let Some(auth_time) = auth_time {
            claims.push_str(&format!(r#","auth_time":{auth_time}"#));
        }
        if let Some(exp) = exp {
            claims.push_str(&format!(r#","exp":{exp}"#));
        }
        claims.push('}');
        v.validate(&signer.sign_raw(GOOD_HEADER, &claims))
    };
    let t = 1_795_000_000;
    // Cognito's shapes: a fresh login, a refresh (auth_time earlier), 5 min to 1 day.
    for (auth_time, exp) in [
        (t, t + 3600),
        (t - 7 * 86_400, t + 3600),
        (t, t + 300),
        (t, t + 86_400),
        (t, t + 1),
    ] {
        assert!(
            with_times(Some(auth_time), t, Some(exp)).is_ok(),
            "{auth_time} {exp}"
        );
    }
    // Each relation is checked when its claims are present.
    assert!(with_times(None, t, None).is_ok());
    assert!(with_times(None, t, Some(t + 3600)).is_ok());
    assert!(with_times(Some(t), t, None).is_ok());

    let iat = UnixSeconds(1_795_000_000);
    let err = with_times(Some(t + 1), t, Some(t + 3600)).unwrap_err();
    assert_eq!(
        err,
        TimestampError::AuthTimeAfterIat {
            auth_time: i128::from(t + 1),
            iat
        }
    );
    assert_eq!(err.check(), "claims");
    assert_eq!(
        err.to_string(),
        "auth_time 1795000001 is after iat 1795000000; a token is issued at or after its authentication"
    );
    for exp in [t, t - 1, 0, -1] {
        let err = with_times(Some(t), t, Some(exp)).unwrap_err();
        assert_eq!(
            err,
            TimestampError::ExpNotAfterIat {
                iat,
                exp: i128::from(exp)
            }
        );
        assert_eq!(err.check(), "claims");
    }
    for exp in [t + 86_401, t + 30 * 86_400, i64::MAX] {
        let err = with_times(Some(t), t, Some(exp)).unwrap_err();
        assert_eq!(
            err,
            TimestampError::LifetimeTooLong {
                iat,
                exp: i128::from(exp),
                max: 86_400
            }
        );
        assert_eq!(err.check(), "claims");
    }
    assert_eq!(
        with_times(Some(t), t, Some(t + 86_401))
            .unwrap_err()
            .to_string(),
        "the token lives 86401 s (iat 1795000000, exp 1795086401); Cognito tokens live at most 86400 s"
    );
    // An exp beyond i64 is still an integer, and far too late.
    let huge = good_claims("u").replace(r#""exp":1795003600"#, r#""exp":18446744073709551615"#);
    assert!(matches!(
        v.validate(&signer.sign_raw(GOOD_HEADER, &huge)),
        Err(TimestampError::LifetimeTooLong { .. })
    ));
}

#[test]
fn username_rules() {
    let signer = TestSigner::new();
    let v = signer.verifier(Some("bky.sh"));
    for bad in [
        "00FF@bky.sh",
        "0f@bky.sh.evil",
        "00ff@evil.sh",
        "@bky.sh",
        "abc@bky.sh",
        "00ff",
        " 00ff@bky.sh",
    ] {
        let err = v
            .validate(&signer.sign_raw(GOOD_HEADER, &good_claims(bad)))
            .unwrap_err();
        assert!(
            matches!(err, TimestampError::UsernameFormat { .. }),
            "{bad}: {err}"
        );
        assert_eq!(err.check(), "username");
    }
    let no_username = good_claims("u").replace(r#""cognito:username":"u","#, "");
    let err = v
        .validate(&signer.sign_raw(GOOD_HEADER, &no_username))
        .unwrap_err();
    assert_eq!(
        err,
        TimestampError::UsernameMissing {
            claim: "cognito:username",
            got: None
        }
    );
    // The access-token claim does not count for an ID-token policy.
    let wrong_claim = good_claims("u").replace("cognito:username", "username");
    assert_eq!(
        check_of(v.validate(&signer.sign_raw(GOOD_HEADER, &wrong_claim))),
        "username"
    );
}

/// An error's message and fields quote what they reject, boundedly: a 1 MB hostile
/// claim, kid or JWK member gives a message under 300 bytes that says how long the
/// input was.
#[test]
fn hostile_input_makes_short_errors() {
    const MB: usize = 1 << 20;
    /// Short, and (when it quotes the input) saying how long the input was.
    fn assert_short(what: &str, err: &TimestampError) {
        let shown = err.to_string();
        assert!(shown.len() < 300, "{what}: {} bytes: {shown}", shown.len());
        assert!(
            shown.contains("bytes)") || what.ends_with("(not quoted)"),
            "{what}: {shown}"
        );
        let debug = format!("{err:?}");
        assert!(debug.len() < 400, "{what}: Debug of {} bytes", debug.len());
    }
    let signer = TestSigner::new();
    let v = signer.verifier(Some("bky.sh"));
    let long = "a".repeat(MB);
    let with_claim = |name: &str, json: &str| {
        let claims = good_claims("00@bky.sh");
        let mut claims: serde_json::Map<String, Value> = serde_json::from_str(&claims).unwrap();
        claims.insert(name.to_string(), serde_json::from_str(json).unwrap());
        signer.sign_raw(GOOD_HEADER, &Value::Object(claims).to_string())
    };
    let cases: Vec<(&str, String)> = vec![
        ("iss", with_claim("iss", &format!("{long:?}"))),
        ("token_use", with_claim("token_use", &format!("{long:?}"))),
        (
            "username",
            with_claim("cognito:username", &format!("{long:?}")),
        ),
        (
            "username of control characters",
            with_claim("cognito:username", &format!("\"{}\"", "\\u0001".repeat(MB))),
        ),
        (
            "username of 4-byte characters",
            with_claim(
                "cognito:username",
                &format!("\"{}\"", "\u{1f600}".repeat(MB / 4)),
            ),
        ),
        ("iat", with_claim("iat", &format!("{long:?}"))),
        (
            "exp",
            with_claim("exp", &format!("[{}0]", "0,".repeat(MB / 2))),
        ),
        (
            "a duplicate claim",
            signer.sign_raw(GOOD_HEADER, &format!(r#"{{"{long}":1,"{long}":2}}"#)),
        ),
        (
            "claims that do not parse (not quoted)",
            signer.sign_raw(GOOD_HEADER, &format!(r#"{{"x":"{long}" ]"#)),
        ),
        (
            "kid",
            signer.sign_raw(
                &format!(r#"{{"kid":"{long}","alg":"RS256"}}"#),
                &good_claims("u"),
            ),
        ),
        (
            "alg",
            signer.sign_raw(
                &format!(r#"{{"kid":"{TEST_KID}","alg":"{long}"}}"#),
                &good_claims("u"),
            ),
        ),
    ];
    for (what, token) in &cases {
        assert_short(what, &v.validate(token).unwrap_err());
    }

    // The key set: a 1 MB kid, kty or alg of a JWK, and a signature that fails under a
    // key with a 1 MB kid.
    let with_member = |name: &str, value: &str| {
        let mut jwk = signer.jwk.clone();
        jwk[name] = json!(value);
        jwk
    };
    for (what, jwk) in [
        ("kid with kty EC", {
            let mut jwk = with_member("kid", &long);
            jwk["kty"] = json!("EC");
            jwk
        }),
        ("kty", with_member("kty", &long)),
        ("alg", with_member("alg", &long)),
        ("kid of an object", {
            let mut jwk = signer.jwk.clone();
            jwk["kid"] = json!({ "x": long });
            jwk
        }),
    ] {
        let err = Jwks::from_value(&json!({ "keys": [jwk] })).unwrap_err();
        assert_short(what, &err);
    }
    let long_kid = Jwks::from_value(&json!({ "keys": [with_member("kid", &long)] })).unwrap();
    let v = timestamp_verifiers(TimestampPolicy {
        issuer: TEST_ISSUER.into(),
        token_use: TokenUse::Id,
        username_domain: None,
        jwks: long_kid,
    })
    .unwrap();
    let token = signer.sign_raw(
        &format!(r#"{{"kid":"{long}","alg":"RS256"}}"#),
        &good_claims("u"),
    );
    // The signature of other claims under the same header.
    let other = signer.sign_raw(&format!(r#"{{"kid":"{long}","alg":"RS256"}}"#), "{}");
    let (input, _) = token.rsplit_once('.').unwrap();
    let (_, signature) = other.rsplit_once('.').unwrap();
    let forged = format!("{input}.{signature}");
    assert_short("signature", &v.validate(&forged).unwrap_err());
    // A policy's unusable domain.
    let err = timestamp_verifiers(TimestampPolicy {
        issuer: TEST_ISSUER.into(),
        token_use: TokenUse::Id,
        username_domain: Some(format!("@{long}")),
        jwks: signer.jwks(),
    })
    .unwrap_err();
    assert_short("username_domain", &err);
}

#[test]
fn malformed_compact_serialization() {
    let signer = TestSigner::new();
    let v = signer.verifier(None);
    let token = signer.sign_raw(GOOD_HEADER, &good_claims("u"));
    assert!(v.validate(&token).is_ok());
    let parts: Vec<&str> = token.split('.').collect();
    let cases: Vec<(String, &str)> = vec![
        (parts[..2].join("."), "2 segments"),
        (format!("{token}.{}", parts[2]), "4 segments"),
        (format!("{token}.a.b"), "5 segments (JWE-like)"),
        (String::new(), "empty"),
        (
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            "padded header",
        ),
        (
            format!("{}.{}.{}==", parts[0], parts[1], parts[2]),
            "padded signature",
        ),
        (
            token.replace('-', "+").replace('_', "/"),
            "standard alphabet",
        ),
        (format!("{token}\n"), "trailing newline"),
        (format!(" {token}"), "leading space"),
    ];
    for (bad, what) in cases {
        // A token may contain no '-' or '_' at all; then the alphabet case is moot.
        if bad == token {
            continue;
        }
        let err = v.validate(&bad).unwrap_err();
        assert_eq!(err.check(), "format", "{what}: {err}");
    }
    assert_eq!(
        v.validate(&parts[..2].join(".")).unwrap_err(),
        TimestampError::SegmentCount { got: 2 }
    );
}

#[test]
fn jwks_parsing_rejects_unusable_keys() {
    let signer = TestSigner::new();
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut jwk = signer.jwk.as_object().unwrap().clone();
        f(&mut jwk);
        Jwks::from_value(&json!({ "keys": [jwk] }))
    };
    assert!(with(&|_| {}).is_ok());
    assert!(
        with(&|k| {
            k.remove("alg");
            k.remove("use");
            k.remove("kid");
        })
        .is_ok()
    );
    for (what, edit) in [
        (
            "use enc",
            &(|k: &mut serde_json::Map<String, Value>| {
                k.insert("use".into(), json!("enc"));
            }) as &dyn Fn(&mut serde_json::Map<String, Value>),
        ),
        ("alg RS512", &|k| {
            k.insert("alg".into(), json!("RS512"));
        }),
        ("alg HS256", &|k| {
            k.insert("alg".into(), json!("HS256"));
        }),
        ("kty EC", &|k| {
            k.insert("kty".into(), json!("EC"));
        }),
        ("no n", &|k| {
            k.remove("n");
        }),
        ("padded e", &|k| {
            k.insert("e".into(), json!("AQAB="));
        }),
        ("kid number", &|k| {
            k.insert("kid".into(), json!(7));
        }),
        ("key_ops sign only", &|k| {
            k.insert("key_ops".into(), json!(["sign"]));
        }),
        ("1024-bit", &|k| {
            k.insert("n".into(), json!(B64.encode([0xffu8; 128])));
        }),
        ("even modulus", &|k| {
            k.insert("n".into(), json!(B64.encode([0xfeu8; 256])));
        }),
    ] {
        let err = with(edit).unwrap_err();
        assert_eq!(err.check(), "jwks", "{what}: {err}");
    }
    let twice = Jwks::from_value(&json!({ "keys": [signer.jwk.clone(), signer.jwk.clone()] }));
    assert!(matches!(twice, Err(TimestampError::Jwks { .. })));
    assert!(Jwks::from_value(&json!([signer.jwk.clone()])).is_err());
    assert!(Jwks::from_value(&json!({})).is_err());
    assert!(Jwks::from_json(r#"{"keys":[],"keys":[]}"#).is_err());
    let empty = Jwks::from_json(r#"{"keys":[]}"#).unwrap();
    let err = timestamp_verifiers(TimestampPolicy {
        issuer: TEST_ISSUER.into(),
        token_use: TokenUse::Id,
        username_domain: None,
        jwks: empty,
    })
    .unwrap_err();
    assert_eq!(err.check(), "policy");
}

#[cfg(zipchain_vectors)]
mod vectors {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const POOL_A: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_iWcTPhZBA";
    const POOL_B: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf";

    fn pool_a() -> Jwks {
        Jwks::from_json(vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/jwks.json")).unwrap()
    }

    fn pool_b() -> Jwks {
        Jwks::from_json(vector_str!("jwt/cognito-us-east-1_PDsy6i0Bf/jwks.json")).unwrap()
    }

    fn verifier(issuer: &str, token_use: TokenUse, jwks: Jwks) -> Every<TimestampVerifier> {
        timestamp_verifiers(TimestampPolicy {
            issuer: issuer.to_string(),
            token_use,
            username_domain: None,
            jwks,
        })
        .unwrap()
    }

    const A_ACCESS: &str = vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/access.jwt");
    const A_ID: &str = vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/id.jwt");
    const B_ID: &str = vector_str!("jwt/cognito-us-east-1_PDsy6i0Bf/id.jwt");

    #[test]
    fn real_cognito_tokens_verify_long_after_expiry() {
        let access = verifier(POOL_A, TokenUse::Access, pool_a())
            .validate(A_ACCESS)
            .unwrap();
        assert_eq!(access.iat(), UnixSeconds(1_617_954_851)); // 2021-04-09T07:54:11Z
        assert_eq!(access.claims()["username"], "adfs_moghals\\bob");
        assert_eq!(access.attested(), None);
        assert_eq!(access.token_hash(), Hash32::digest(A_ACCESS.as_bytes()));

        let id = verifier(POOL_A, TokenUse::Id, pool_a())
            .validate(A_ID)
            .unwrap();
        assert_eq!(id.iat(), UnixSeconds(1_617_954_848)); // 2021-04-09T07:54:08Z
        assert_eq!(
            id.header()["kid"],
            "gQpiUD80i1clqVSTeCVFv9QqAFqLTMfsxqmOfhF6B5Q="
        );
        // Escaped slashes in the raw payload are compared after decoding.
        assert_eq!(id.claims()["iss"], POOL_A);

        let b = verifier(POOL_B, TokenUse::Id, pool_b())
            .validate(B_ID)
            .unwrap();
        assert_eq!(b.iat(), UnixSeconds(1_587_311_838)); // 2020-04-19T15:57:18Z
        assert_eq!(
            b.claims()["cognito:username"],
            "24e26910-e7b9-4aad-a994-387942f164e7"
        );
    }

    /// The real tokens' times, which the relations of `validate` must accept:
    /// `auth_time <= iat < exp`, lifetimes of 900 s (pool A) and 3600 s (pool B).
    #[test]
    fn real_cognito_token_times_meet_the_relations() {
        for (token, issuer, token_use, jwks, times) in [
            (
                A_ACCESS,
                POOL_A,
                TokenUse::Access,
                pool_a(),
                (1_617_954_848, 1_617_954_851, 1_617_955_748),
            ),
            (
                A_ID,
                POOL_A,
                TokenUse::Id,
                pool_a(),
                (1_617_954_848, 1_617_954_848, 1_617_955_748),
            ),
            (
                B_ID,
                POOL_B,
                TokenUse::Id,
                pool_b(),
                (1_587_311_838, 1_587_311_838, 1_587_315_438),
            ),
        ] {
            let t = verifier(issuer, token_use, jwks).validate(token).unwrap();
            let claim = |name: &str| t.claims()[name].as_u64().unwrap();
            assert_eq!((claim("auth_time"), claim("iat"), claim("exp")), times);
            assert!(times.0 <= times.1 && times.1 < times.2);
            assert!(times.2 - times.1 <= 86_400);
        }
    }

    #[test]
    fn real_tokens_fail_the_wrong_policy() {
        let err = verifier(POOL_B, TokenUse::Id, pool_a())
            .validate(A_ID)
            .unwrap_err();
        assert_eq!(
            err,
            TimestampError::Issuer {
                got: Some(format!("\"{POOL_A}\"")),
                expected: POOL_B.into()
            }
        );
        assert_eq!(err.check(), "issuer");
        let err = verifier(POOL_A, TokenUse::Access, pool_a())
            .validate(A_ID)
            .unwrap_err();
        assert_eq!(
            err,
            TimestampError::TokenUse {
                got: Some("\"id\"".into()),
                expected: "access"
            }
        );
        let err = verifier(POOL_A, TokenUse::Id, pool_a())
            .validate(A_ACCESS)
            .unwrap_err();
        assert_eq!(err.check(), "token_use");
        let err = verifier(POOL_B, TokenUse::Id, pool_a())
            .validate(B_ID)
            .unwrap_err();
        assert!(matches!(err, TimestampError::KidUnknown { .. }), "{err}");
        // A username domain the real tokens do not have.
        let mut with_domain = verifier(POOL_A, TokenUse::Id, pool_a()).policy().clone();
        with_domain.username_domain = Some("bky.sh".into());
        let err = timestamp_verifiers(with_domain)
            .unwrap()
            .validate(A_ID)
            .unwrap_err();
        assert_eq!(err.check(), "username");
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let v = verifier(POOL_A, TokenUse::Id, pool_a());
        let parts: Vec<&str> = A_ID.split('.').collect();
        // Flip one payload character to another base64url character (still decodes).
        let mut payload = parts[1].as_bytes().to_vec();
        payload[10] = if payload[10] == b'A' { b'B' } else { b'A' };
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            String::from_utf8(payload).unwrap(),
            parts[2]
        );
        assert_eq!(check_of(v.validate(&forged)), "signature");
        let mut sig = B64.decode(parts[2]).unwrap();
        sig[0] ^= 1;
        let forged = format!("{}.{}.{}", parts[0], parts[1], B64.encode(&sig));
        assert_eq!(check_of(v.validate(&forged)), "signature");
        sig.pop();
        let short = format!("{}.{}.{}", parts[0], parts[1], B64.encode(&sig));
        assert_eq!(check_of(v.validate(&short)), "signature");
        let empty = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(check_of(v.validate(&empty)), "signature");
        // The other pool key (the access-token key) does not verify the ID token.
        let kid_swapped = A_ID.replacen(
            parts[0],
            &B64.encode(r#"{"kid":"Ob3sVovGdh62Pp9TLNibzCEhRwbhLjhkxygoCJzoYWQ=","alg":"RS256"}"#),
            1,
        );
        assert_eq!(check_of(v.validate(&kid_swapped)), "signature");
    }

    #[test]
    fn algorithm_substitution_is_rejected_before_crypto() {
        use hmac::{KeyInit as _, Mac as _};
        let v = verifier(POOL_A, TokenUse::Id, pool_a());
        let parts: Vec<&str> = A_ID.split('.').collect();
        let kid = "gQpiUD80i1clqVSTeCVFv9QqAFqLTMfsxqmOfhF6B5Q=";
        let with_alg = |alg: &str, sig: &str| {
            let header = B64.encode(format!(r#"{{"kid":"{kid}","alg":"{alg}"}}"#));
            format!("{header}.{}.{sig}", parts[1])
        };
        for (alg, sig) in [
            ("none", ""),
            ("none", parts[2]),
            ("RS512", parts[2]),
            ("PS256", parts[2]),
            ("rs256", parts[2]),
            ("RS256 ", parts[2]),
        ] {
            let err = v.validate(&with_alg(alg, sig)).unwrap_err();
            assert_eq!(
                err,
                TimestampError::Alg {
                    got: Some(format!("\"{alg}\""))
                }
            );
            assert_eq!(err.check(), "alg");
        }
        // Key confusion: HS256 keyed with the public key (its JWK text, and its modulus).
        let jwks_text = vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/jwks.json");
        let jwks: Value = serde_json::from_str(jwks_text).unwrap();
        let n = B64.decode(jwks["keys"][0]["n"].as_str().unwrap()).unwrap();
        for secret in [jwks_text.as_bytes(), n.as_slice()] {
            let header = B64.encode(format!(r#"{{"kid":"{kid}","alg":"HS256"}}"#));
            let input = format!("{header}.{}", parts[1]);
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
            mac.update(input.as_bytes());
            let token = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
            let err = v.validate(&token).unwrap_err();
            assert_eq!(
                err,
                TimestampError::Alg {
                    got: Some("\"HS256\"".into())
                }
            );
            assert_eq!(
                verify_rs256_jws(&token, &pool_a()).unwrap_err().check(),
                "alg"
            );
        }
        let no_alg = format!(
            "{}.{}.{}",
            B64.encode(format!(r#"{{"kid":"{kid}"}}"#)),
            parts[1],
            parts[2]
        );
        assert_eq!(
            v.validate(&no_alg).unwrap_err(),
            TimestampError::Alg { got: None }
        );
    }

    #[test]
    fn cognito_kids_are_spki_hashes() {
        assert_eq!(pool_a().check_cognito_kids(), Ok(2));
        assert_eq!(pool_b().check_cognito_kids(), Ok(2));
        // Swap the two kids of pool A: each key is now named by the other's hash.
        let mut swapped: Value =
            serde_json::from_str(vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/jwks.json")).unwrap();
        let kid0 = swapped["keys"][0]["kid"].clone();
        swapped["keys"][0]["kid"] = swapped["keys"][1]["kid"].clone();
        swapped["keys"][1]["kid"] = kid0;
        let err = Jwks::from_value(&swapped)
            .unwrap()
            .check_cognito_kids()
            .unwrap_err();
        assert!(
            matches!(err, TimestampError::JwkKidMismatch { .. }),
            "{err}"
        );
        // RFC keys do not follow the rule and are skipped.
        let rfc = Jwks::from_json(vector_str!("jwt/rfc7520-4.1/jwks.json")).unwrap();
        assert_eq!(rfc.check_cognito_kids(), Ok(0));
    }

    #[test]
    fn rfc7515_a2_verifies_as_raw_jws() {
        let jwk: Value =
            serde_json::from_str(vector_str!("jwt/rfc7515-a2/jwk.public.json")).unwrap();
        let jwks = Jwks::from_jwk_value(&jwk).unwrap();
        let token = vector_str!("jwt/rfc7515-a2/token.jwt").trim_end();
        let payload = verify_rs256_jws(token, &jwks).unwrap();
        assert_eq!(
            payload,
            b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
        );
        // validate() requires a kid, which A.2 does not have.
        let v = timestamp_verifiers(TimestampPolicy {
            issuer: "joe".into(),
            token_use: TokenUse::Id,
            username_domain: None,
            jwks,
        })
        .unwrap();
        assert_eq!(
            v.validate(token).unwrap_err(),
            TimestampError::KidMissing { got: None }
        );
        // Two keys and no kid: ambiguous.
        let two =
            Jwks::from_value(&json!({ "keys": [jwk.clone(), TestSigner::new().jwk] })).unwrap();
        assert_eq!(
            verify_rs256_jws(token, &two).unwrap_err(),
            TimestampError::KeyAmbiguous { keys: 2 }
        );
    }

    #[test]
    fn rfc7520_4_1_verifies_as_raw_jws() {
        let jwks = Jwks::from_json(vector_str!("jwt/rfc7520-4.1/jwks.json")).unwrap();
        let token = vector_str!("jwt/rfc7520-4.1/token.jws").trim_end();
        let payload = verify_rs256_jws(token, &jwks).unwrap();
        assert!(
            String::from_utf8(payload)
                .unwrap()
                .starts_with("It\u{2019}s a dangerous business, Frodo")
        );
        // The Cognito pool's keys do not have that kid.
        assert_eq!(check_of(verify_rs256_jws(token, &pool_a())), "kid");
    }

    /// The conformance chain's timestamps (`vectors/chain/snapshot/timestamps/`), by name.
    macro_rules! chain_timestamps {
        ($($name:literal),* $(,)?) => {
            [$(($name, include_str!(concat!(env!("ZIPCHAIN_VECTORS_DIR"), "/chain/snapshot/timestamps/", $name)))),*]
        };
    }

    #[test]
    fn conformance_chain_timestamps_validate_under_chain_json() {
        use zipchain_verifier_core::trust::TrustDescriptor;
        let descriptor = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
        let v = timestamp_verifiers(descriptor.timestamp_policy()).unwrap();
        // Signed by a key that is not in the JWKS, under the JWKS's kid (chain/README.md).
        const FOREIGN: &str = "73786e429a3026717d32d2d9f03ef622ab98293ffa3cdc7049d1b2e22eaf0ba8";
        let files = chain_timestamps![
            "37fce08b5ca10a7443868b8c47d67f518e1c432e0fada355b3f84e2069b53e1c",
            "4431b2d9f3544dc8042802d1a075646e061b2843570b92cbebd7b0599c92117a",
            "551b17840006765d8c7810f94a6b5b9dfa4d62be21f1d1e5391f6f65b61f8ba4",
            "6e41bc12145a879089bff2f329f81f3eae339438049a577231f4d7569576fa7e",
            "6f2d06ddafa66c695a7975e92b484019748ba0b96be77ff4ebfacbf0ee6d07bb",
            "6f6e129ae0bec3bf3c63172d059e79f5c8768d7ba17fb30b9012afbaacbccbbd",
            "73786e429a3026717d32d2d9f03ef622ab98293ffa3cdc7049d1b2e22eaf0ba8",
            "bb8b7251fbce1e5e123c7b4b01287f7b43dd9a30e6f0415916ac5d308e5ee114",
            "cf84d1c8a1b59d6e60cb476e5ebb8aaf043fce24029f5e5b6cc74b158b9747dd",
            "f00a0cc01ce25ed8313e886b55fddef1c27f9661c3e68531fe6ac422ebc8f873",
        ];
        assert_eq!(
            descriptor.timestamp_policy().jwks.check_cognito_kids(),
            Ok(1)
        );
        for (name, token) in files {
            // The file name is H(t) of the text exactly as stored.
            assert_eq!(Hash32::digest(token.as_bytes()).to_hex(), name);
            match v.validate(token) {
                Ok(t) => {
                    assert_ne!(name, FOREIGN);
                    assert_eq!(t.token_hash().to_hex(), name);
                    assert_eq!(t.attested().map(<[u8]>::len), Some(32), "{name}");
                    assert!(t.iat() >= UnixSeconds(1_795_000_000), "{name}"); // 2026-11-18
                }
                Err(e) => {
                    assert_eq!(name, FOREIGN, "{e}");
                    assert_eq!(e.check(), "signature");
                }
            }
        }
    }
}

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("timestamp vectors");
}
