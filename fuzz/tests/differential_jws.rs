//! The compact JWS reader of `timestamp` (`verify_rs256_jws`) against `jsonwebtoken`
//! (the RustCrypto backend), on the real Cognito tokens, the RFC 7515/7520 examples and
//! the conformance chain's timestamps, on thousands of deterministic mutations of them,
//! and on tokens crafted header by header and signed with a key of the test's own.
//!
//! Where both read a token, the claims must be the same. Where they differ, the
//! difference must be one of [`DIFFERENCES`], each listed in docs/DECISIONS.md
//! ("Differential tests: where our readers are stricter"); any other fails the test.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::Value;
use verifier_core::timestamp::{Jwks, TimestampError, verify_rs256_jws};
use zipchain_fuzz::{fixtures, mutate, seeds};

/// How the two readers may differ, by who refuses and why; rows of DECISIONS.md's table.
/// Both refuse, and are not listed: a repeated member name in the header, padded
/// segments, bits past the last whole byte, standard base64, any alg but RS256.
const DIFFERENCES: &[&str] = &[
    // Ours refuses, jsonwebtoken reads: ours is stricter on purpose.
    "ours: crit, jku, x5u, jwk or x5c in the header",
    // jsonwebtoken refuses, ours reads: the JWS reader takes any payload (RFC 7520 §4.1
    // signs plain text); claims are read strictly by TimestampVerifier::validate after it.
    "jsonwebtoken: the payload is not a JSON object",
];

/// Ours: the payload of a JWS that verifies under `jwks`.
fn ours(token: &str, jwks: &Jwks) -> Result<Vec<u8>, TimestampError> {
    verify_rs256_jws(token, jwks)
}

/// jsonwebtoken's claims, the key picked as ours picks it (by `kid`, or the set's only
/// key when the header has none), no claim checked.
fn theirs(token: &str, set: &JwkSet) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let jwk = match &header.kid {
        Some(kid) => set.find(kid).ok_or("unknown kid")?,
        None if set.keys.len() == 1 => &set.keys[0],
        None => return Err("no kid".into()),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

/// The row that explains ours refusing (`Some(ours error)`) or jsonwebtoken refusing.
fn row_of(ours: Option<&TimestampError>, ours_payload: Option<&[u8]>) -> Option<&'static str> {
    match ours {
        Some(TimestampError::HeaderParameter { .. }) => Some(DIFFERENCES[0]),
        Some(_) => None,
        None => ours_payload
            .filter(|p| !serde_json::from_slice::<Value>(p).is_ok_and(|v| v.is_object()))
            .map(|_| DIFFERENCES[1]),
    }
}

/// Compares the two on `token`; counts what agrees and which difference explains the rest.
fn compare(token: &str, jwks: &Jwks, set: &JwkSet, tally: &mut BTreeMap<&'static str, usize>) {
    let a = ours(token, jwks);
    let b = theirs(token, set);
    match (&a, &b) {
        (Ok(payload), Ok(claims)) => {
            let ours_claims: Value =
                serde_json::from_slice(payload).expect("jsonwebtoken read it as JSON");
            assert_eq!(&ours_claims, claims, "both read {token:?} but differ");
            *tally.entry("both read").or_default() += 1;
        }
        (Err(_), Err(_)) => *tally.entry("both refuse").or_default() += 1,
        (Err(e), Ok(_)) => {
            let row = row_of(Some(e), None)
                .unwrap_or_else(|| panic!("ours refuses what jsonwebtoken reads ({e}): {token:?}"));
            *tally.entry(row).or_default() += 1;
        }
        (Ok(payload), Err(why)) => {
            let row = row_of(None, Some(payload)).unwrap_or_else(|| {
                panic!("ours reads what jsonwebtoken refuses ({why}): {token:?}")
            });
            *tally.entry(row).or_default() += 1;
        }
    }
}

/// The real tokens with the key set each is checked under.
fn real_tokens() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (dir, _) in fixtures::COGNITO_POOLS {
        let jwks = fixtures::vector_text(&format!("jwt/{dir}/jwks.json"));
        for (name, bytes) in fixtures::vector_files(&format!("jwt/{dir}")) {
            if name.ends_with(".jwt") {
                out.push((
                    String::from_utf8(bytes).unwrap().trim().to_owned(),
                    jwks.clone(),
                ));
            }
        }
    }
    let rfc = fixtures::vector_text("jwt/rfc7520-4.1/jwks.json");
    out.push((
        fixtures::vector_text("jwt/rfc7520-4.1/token.jws")
            .trim()
            .to_owned(),
        rfc,
    ));
    let chain: Value = serde_json::from_str(&fixtures::conformance().chain_json_v1).unwrap();
    let conformance = chain["timestamp"]["jwks"].to_string();
    for (_, bytes) in fixtures::vector_files("chain/snapshot/timestamps") {
        out.push((String::from_utf8(bytes).unwrap(), conformance.clone()));
    }
    out
}

#[test]
fn jws_reader_agrees_with_jsonwebtoken_on_real_tokens_and_their_mutations() {
    let mut tally = BTreeMap::new();
    let tokens = real_tokens();
    assert!(seeds::from_vectors()["jwt"].len() >= tokens.len());
    let all: Vec<&[u8]> = tokens.iter().map(|(t, _)| t.as_bytes()).collect();
    let mut n = 0;
    for (token, jwks_text) in &tokens {
        let jwks = Jwks::from_json(jwks_text).unwrap();
        let set: JwkSet = serde_json::from_str(jwks_text).unwrap();
        compare(token, &jwks, &set, &mut tally);
        for m in mutate::mutations(token.as_bytes(), &all, 400) {
            if let Ok(text) = String::from_utf8(m) {
                compare(&text, &jwks, &set, &mut tally);
                n += 1;
            }
        }
    }
    eprintln!("{n} mutations of {} tokens: {tally:#?}", tokens.len());
    assert!(n >= 4000);
    // All but the conformance timestamp signed by a key not in its set, and RFC 7520's
    // plain-text payload, which only ours reads.
    assert!(
        tally
            .get("both read")
            .is_some_and(|&k| k + 2 >= tokens.len())
    );
}

/// A key of the test's own and its one-key set.
struct Signer {
    key: SigningKey<sha2::Sha256>,
    jwks_text: String,
}

impl Signer {
    fn new() -> Self {
        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        let public = private.to_public_key();
        let jwks_text = serde_json::json!({"keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
            "n": URL_SAFE_NO_PAD.encode(public.n_bytes()),
            "e": URL_SAFE_NO_PAD.encode(public.e_bytes()),
        }]})
        .to_string();
        Self {
            key: SigningKey::new(private),
            jwks_text,
        }
    }

    /// `header.payload.signature` from the segments as given (already encoded).
    fn sign_segments(&self, header: &str, payload: &str) -> String {
        let input = format!("{header}.{payload}");
        let signature = self.key.sign(input.as_bytes()).to_vec();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn sign(&self, header: &str, payload: &str) -> String {
        self.sign_segments(
            &URL_SAFE_NO_PAD.encode(header),
            &URL_SAFE_NO_PAD.encode(payload),
        )
    }
}

#[test]
fn jws_reader_agrees_with_jsonwebtoken_on_crafted_headers_and_payloads() {
    let signer = Signer::new();
    let jwks = Jwks::from_json(&signer.jwks_text).unwrap();
    let set: JwkSet = serde_json::from_str(&signer.jwks_text).unwrap();
    let claims = r#"{"iss":"x","iat":1,"sub":"s"}"#;
    let headers = [
        r#"{"alg":"RS256","kid":"k1"}"#,
        r#"{"alg":"RS256"}"#,
        r#"{"kid":"k1","alg":"RS256","typ":"JWT"}"#,
        " {\n \"alg\" : \"RS256\" , \"kid\":\"k\\u0031\" } ",
        r#"{"alg":"RS256","kid":"k1","alg":"RS256"}"#,
        r#"{"alg":"RS256","kid":"k1","kid":"k1"}"#,
        r#"{"alg":"RS256","kid":"k1","crit":["exp"]}"#,
        r#"{"alg":"RS256","kid":"k1","jku":"https://example.com/keys"}"#,
        r#"{"alg":"RS256","kid":"k1","x5u":"https://example.com/x5u"}"#,
        r#"{"alg":"RS256","kid":"k1","x5c":[]}"#,
        r#"{"alg":"RS384","kid":"k1"}"#,
        r#"{"alg":"none","kid":"k1"}"#,
        r#"{"alg":"HS256","kid":"k1"}"#,
        r#"{"alg":"rs256","kid":"k1"}"#,
        r#"{"alg":"RS256","kid":"k2"}"#,
        r#"{"alg":"RS256","kid":1}"#,
        r#"["alg","RS256"]"#,
        r#"{"alg":"RS256","kid":"k1"} "#,
        r#"{"alg":"RS256","kid":"k1"}x"#,
    ];
    let payloads = [
        claims,
        r#"{"a":1,"a":2}"#,
        "not json",
        "[1,2]",
        r#"{"nested":{"deep":[[[[[[1]]]]]]}}"#,
        "",
    ];
    let mut tally = BTreeMap::new();
    for header in headers {
        for payload in payloads {
            compare(&signer.sign(header, payload), &jwks, &set, &mut tally);
        }
    }
    // Segments encoded otherwise: padded, with stray bits, in standard base64.
    let h = URL_SAFE_NO_PAD.encode(headers[0]);
    let p = URL_SAFE_NO_PAD.encode(claims);
    for (header, payload) in [
        (format!("{h}="), p.clone()),
        (h.clone(), format!("{p}==")),
        (stray_bits(&h), p.clone()),
        (h.clone(), stray_bits(&p)),
        (h.replace('-', "+").replace('_', "/"), p.clone()),
    ] {
        compare(
            &signer.sign_segments(&header, &payload),
            &jwks,
            &set,
            &mut tally,
        );
    }
    eprintln!("crafted tokens: {tally:#?}");
    for row in DIFFERENCES {
        assert!(tally.contains_key(row), "no crafted token shows {row:?}");
    }
    assert!(tally["both read"] >= 8);
}

/// `segment` with its last character changed so that the bits past its last whole byte
/// are not zero (when it has such bits).
fn stray_bits(segment: &str) -> String {
    let mut chars: Vec<char> = segment.chars().collect();
    if segment.len() % 4 != 0 {
        if let Some(last) = chars.last_mut() {
            const ALPHABET: &str =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let i = ALPHABET.find(*last).unwrap();
            *last = ALPHABET.as_bytes()[i ^ 1] as char;
        }
    }
    chars.into_iter().collect()
}
