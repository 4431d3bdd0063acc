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
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use rsa::{BoxedUint, PublicKey as RsaPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::json::{parse_object, parse_strict_json};
use crate::text::{bounded, bounded_reason};

use crate::hash::Hash32;
use crate::time::UnixSeconds;

/// The only JWS algorithm accepted (SPEC §1.3; Cognito user pools always use it).
pub const ALG_RS256: &str = "RS256";

/// The smallest RSA modulus accepted in a JWK, in bits (Cognito's keys are 2048-bit).
pub const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus accepted in a JWK, in bits (bounds the work per signature).
pub const MAX_RSA_BITS: usize = 8192;

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

/// One usable RS256 verification key of a [`Jwks`].
#[derive(Clone, Debug)]
struct Jwk {
    /// The JWK's `kid`, if it has one.
    kid: Option<String>,
    /// SHA-256 of the key's DER SubjectPublicKeyInfo, which Cognito's kids are the
    /// base64 of ([`Jwks::check_cognito_kids`]).
    spki_sha256: [u8; 32],
    /// The PKCS#1 v1.5 SHA-256 verifier over `public`.
    verifier: VerifyingKey<Sha256>,
}

/// A set of trusted RS256 verification keys (RFC 7517 §5 JWK Set), parsed once.
///
/// Every key must be usable for RS256 signatures, or the whole set is rejected when it is
/// parsed: `kty` `"RSA"`; `n` and `e` strict base64url big-endian integers; a modulus of
/// [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`] bits; `alg`, if present, `"RS256"`; `use`, if
/// present, `"sig"`; `key_ops`, if present, containing `"verify"`; `kid`, if present, a
/// string unique within the set. Other JWK members (`x5t`, …) are ignored (RFC 7517 §4).
///
/// Whether `kid` really names the key is not checked here; for Cognito-style kids see
/// [`Jwks::check_cognito_kids`].
#[derive(Clone, Debug)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWK Set from JSON text (`{"keys": [ … ]}`), rejecting duplicate member names.
    ///
    /// # Errors
    /// [`TimestampError::Jwks`] when the text is not a JWK Set of usable RS256 keys.
    pub fn from_json(text: &str) -> Result<Self, TimestampError> {
        let value = parse_strict_json(text.as_bytes()).map_err(|e| jwks_error(None, e))?;
        Self::from_value(&value)
    }

    /// Builds a JWK Set from an already parsed JSON value (`{"keys": [ … ]}`).
    ///
    /// # Errors
    /// [`TimestampError::Jwks`] when the value is not a JWK Set of usable RS256 keys.
    pub fn from_value(value: &Value) -> Result<Self, TimestampError> {
        let object = value
            .as_object()
            .ok_or_else(|| jwks_error(None, "a JWK Set must be a JSON object"))?;
        let keys = object
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| jwks_error(None, "a JWK Set needs a \"keys\" array"))?;
        let mut parsed: Vec<Jwk> = Vec::with_capacity(keys.len());
        for key in keys {
            let jwk = parse_jwk(key)?;
            if let Some(kid) = &jwk.kid {
                if parsed.iter().any(|k| k.kid.as_ref() == Some(kid)) {
                    return Err(jwks_error(Some(kid), "the kid appears twice in the set"));
                }
            }
            parsed.push(jwk);
        }
        Ok(Self { keys: parsed })
    }

    /// Builds a set of one key from a single JWK object (e.g. RFC 7515 A.2's key).
    ///
    /// # Errors
    /// [`TimestampError::Jwks`] when the value is not a usable RS256 JWK.
    pub fn from_jwk_value(value: &Value) -> Result<Self, TimestampError> {
        Ok(Self {
            keys: vec![parse_jwk(value)?],
        })
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key (no token can then verify).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid`s of the keys that have one, in set order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }

    /// Checks Amazon Cognito's key-id rule on every key whose `kid` looks like Cognito's
    /// (44 characters of standard padded base64 of 32 bytes): `kid` must equal
    /// `base64(SHA-256(DER SubjectPublicKeyInfo))` of the key. Returns how many keys were
    /// checked; keys with other kids are skipped.
    ///
    /// The rule is observed on every real Cognito key seen (FINDINGS §1.3), not documented
    /// by AWS, and RFC test keys do not follow it, so it is a separate check rather than a
    /// rule of [`TimestampVerifier::validate`]. It binds an archived JWK to the `kid` its
    /// tokens name; it does not prove that AWS issued the key.
    ///
    /// # Errors
    /// [`TimestampError::JwkKidMismatch`] for the first key whose kid is not its hash.
    pub fn check_cognito_kids(&self) -> Result<usize, TimestampError> {
        let mut checked = 0;
        for key in &self.keys {
            let Some(kid) = key.kid.as_deref() else {
                continue;
            };
            let named = STANDARD.decode(kid).ok().filter(|named| named.len() == 32);
            let Some(named) = named.filter(|_| kid.len() == 44) else {
                continue;
            };
            if named != key.spki_sha256 {
                return Err(TimestampError::JwkKidMismatch {
                    kid: bounded(kid),
                    computed: base64_padded(&key.spki_sha256),
                });
            }
            checked += 1;
        }
        Ok(checked)
    }

    /// The key named by `kid`, exactly (no normalisation).
    fn by_kid(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

/// The DER SubjectPublicKeyInfo (RFC 5280 §4.1, RFC 8017 A.1.1) of the RSA key with
/// big-endian modulus `n` and exponent `e` (leading zeros already stripped), as
/// `openssl`, the `rsa` crate and Cognito write it: rsaEncryption with NULL
/// parameters, then the BIT STRING of `RSAPublicKey { n, e }`. Written here rather
/// than through `der`'s encoders, which the wasm module would carry for this alone
/// (6 KB); `tests` compare it with the `rsa` crate's encoding.
fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    const RSA_ENCRYPTION: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
        out.push(tag);
        let len = content.len();
        match len {
            0..=0x7f => out.push(len as u8),
            0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
            _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(content);
    }
    fn integer(out: &mut Vec<u8>, magnitude: &[u8]) {
        let mut content = Vec::with_capacity(magnitude.len() + 1);
        if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(magnitude);
        tlv(out, 0x02, &content);
    }
    let mut key = Vec::with_capacity(n.len() + e.len() + 8);
    integer(&mut key, n);
    integer(&mut key, e);
    let mut bits = vec![0u8];
    tlv(&mut bits, 0x30, &key);
    let mut info = RSA_ENCRYPTION.to_vec();
    tlv(&mut info, 0x03, &bits);
    let mut out = Vec::with_capacity(info.len() + 4);
    tlv(&mut out, 0x30, &info);
    out
}

/// Standard base64 with padding (RFC 4648 §4), for the kid a key should have in
/// [`TimestampError::JwkKidMismatch`]; the `base64` crate's encoder is 2 KB of the wasm
/// module that nothing else needs.
fn base64_padded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [0, 1, 2].map(|i| u32::from(chunk.get(i).copied().unwrap_or(0)));
        let word = b[0] << 16 | b[1] << 8 | b[2];
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A [`TimestampError::Jwks`]; the kid and whatever the reason quotes are bounded.
fn jwks_error(kid: Option<&String>, reason: impl fmt::Display) -> TimestampError {
    TimestampError::Jwks {
        kid: kid.map(|kid| bounded(kid)),
        reason: bounded_reason(&reason.to_string()),
    }
}

fn parse_jwk(value: &Value) -> Result<Jwk, TimestampError> {
    let object = value
        .as_object()
        .ok_or_else(|| jwks_error(None, "a JWK must be a JSON object"))?;
    let kid = match object.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(other) => {
            return Err(jwks_error(
                None,
                format!("kid must be a string, got {}", describe(other)),
            ));
        }
    };
    let kid_ref = kid.as_ref();
    let member = |name: &str| -> Result<Option<&str>, TimestampError> {
        match object.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(jwks_error(
                kid_ref,
                format!("{name} must be a string, got {}", describe(other)),
            )),
        }
    };
    match member("kty")? {
        Some("RSA") => {}
        other => {
            return Err(jwks_error(
                kid_ref,
                format!("kty must be \"RSA\", got {:?}", other.map(bounded)),
            ));
        }
    }
    if let Some(alg) = member("alg")? {
        if alg != ALG_RS256 {
            return Err(jwks_error(
                kid_ref,
                format!("alg must be \"RS256\" when present, got {:?}", bounded(alg)),
            ));
        }
    }
    if let Some(usage) = member("use")? {
        if usage != "sig" {
            return Err(jwks_error(
                kid_ref,
                format!("use must be \"sig\" when present, got {:?}", bounded(usage)),
            ));
        }
    }
    if let Some(ops) = object.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err(jwks_error(
                kid_ref,
                format!(
                    "key_ops must contain \"verify\" when present, got {}",
                    describe(ops)
                ),
            ));
        }
    }
    let n = member("n")?.ok_or_else(|| jwks_error(kid_ref, "an RSA JWK needs n"))?;
    let e = member("e")?.ok_or_else(|| jwks_error(kid_ref, "an RSA JWK needs e"))?;
    let n = URL_SAFE_NO_PAD
        .decode(n)
        .map_err(|err| jwks_error(kid_ref, format!("n is not base64url: {err}")))?;
    let e = URL_SAFE_NO_PAD
        .decode(e)
        .map_err(|err| jwks_error(kid_ref, format!("e is not base64url: {err}")))?;
    let public = rsa_public_key(kid_ref, &n, &e)?;
    let spki = rsa_spki_der(strip_leading_zeros(&n), strip_leading_zeros(&e));
    Ok(Jwk {
        kid,
        verifier: VerifyingKey::<Sha256>::new(public),
        spki_sha256: Sha256::digest(spki).into(),
    })
}

fn rsa_public_key(
    kid: Option<&String>,
    n: &[u8],
    e: &[u8],
) -> Result<RsaPublicKey, TimestampError> {
    // RFC 7518 §6.3.1 asks for the minimal octets; tolerate leading zeros, but do not let
    // them change the key's size.
    let n = strip_leading_zeros(n);
    let e = strip_leading_zeros(e);
    if n.len() > MAX_RSA_BITS / 8 || e.len() > 8 {
        return Err(jwks_error(kid, "n or e is too long"));
    }
    let n = BoxedUint::from_be_slice_vartime(n);
    let e = BoxedUint::from_be_slice_vartime(e);
    let bits = n.bit_width_vartime();
    RsaPublicKey::new_with_size_limits(n, e, MIN_RSA_BITS..=MAX_RSA_BITS).map_err(|err| {
        jwks_error(
            kid,
            format!(
                "not a usable RSA key ({bits}-bit modulus, {MIN_RSA_BITS}..={MAX_RSA_BITS} accepted): {err}"
            ),
        )
    })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

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

/// Validates timestamp JWTs against one [`TimestampPolicy`]; keys are parsed once, so an
/// audit that checks one JWT per block pays for the JWKS only once.
#[derive(Clone, Debug)]
pub struct TimestampVerifier {
    policy: TimestampPolicy,
    /// `"@" + domain`, precomputed.
    username_suffix: Option<String>,
}

impl TimestampVerifier {
    /// Makes a verifier for `policy`.
    ///
    /// # Errors
    /// [`TimestampError::Policy`] when the issuer is empty, the JWKS holds no key, or the
    /// username domain is empty or contains `@`.
    pub fn new(policy: TimestampPolicy) -> Result<Self, TimestampError> {
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
        Ok(Self {
            policy,
            username_suffix,
        })
    }

    /// The policy this verifier enforces.
    pub fn policy(&self) -> &TimestampPolicy {
        &self.policy
    }

    /// `validate(K_T, t)` of SPEC §1.3: checks `token` as described in the
    /// [module documentation](self). `exp` is not compared with any time.
    ///
    /// Success proves that a key of the pinned JWKS signed these exact bytes and that the
    /// claims meet the policy. It does not prove that the pinned JWKS is the pool's real
    /// one, nor anything about the order of tokens: that is the chain's job.
    ///
    /// # Errors
    /// The first failed check, as a [`TimestampError`] (see [`TimestampError::check`]).
    pub fn validate(&self, token: &str) -> Result<VerifiedTimestamp, TimestampError> {
        let (header, payload) = verify_jws(token, &self.policy.jwks, KidRule::Required)?;
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
fn integer(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

/// The relations every Cognito token's times have: `auth_time <= iat < exp` and
/// `exp - iat <= MAX_TOKEN_LIFETIME_SECS`, each checked when the claims are present.
/// Nothing is compared with a clock.
fn check_times(
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
fn parse_attested_username(username: &str, suffix: &str) -> Option<Vec<u8>> {
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
fn describe(value: &Value) -> String {
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

/// Checks a compact RS256 JWS with no claim rules and returns its decoded payload bytes
/// (which need not be JSON, e.g. RFC 7520 §4.1).
///
/// The header is checked as in [`TimestampVerifier::validate`] (strict JSON, `alg`
/// exactly `RS256`, no `crit`/`jku`/`x5u`/`jwk`/`x5c`). The key is the one the header's
/// `kid` names; a header without `kid` (RFC 7515 A.2) is accepted only when the set
/// holds exactly one key, which is then used.
///
/// # Errors
/// The first failed check, as a [`TimestampError`].
pub fn verify_rs256_jws(token: &str, jwks: &Jwks) -> Result<Vec<u8>, TimestampError> {
    verify_jws(token, jwks, KidRule::SoleKeyIfAbsent).map(|(_, payload)| payload)
}

/// Whether a header must name its key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KidRule {
    /// `kid` must be present (SPEC §1.3).
    Required,
    /// Without `kid`, use the set's only key.
    SoleKeyIfAbsent,
}

/// The segments, header and signature checks shared by both entry points; returns the
/// header and the decoded payload.
fn verify_jws(
    token: &str,
    jwks: &Jwks,
    kid_rule: KidRule,
) -> Result<(Map<String, Value>, Vec<u8>), TimestampError> {
    let segments: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments.as_slice() else {
        return Err(TimestampError::SegmentCount {
            got: segments.len(),
        });
    };
    let header_bytes = decode_segment(header_b64, "header")?;
    let header =
        parse_object(&header_bytes).map_err(|reason| TimestampError::HeaderJson { reason })?;

    match header.get("alg") {
        Some(Value::String(alg)) if alg == ALG_RS256 => {}
        other => {
            return Err(TimestampError::Alg {
                got: other.map(describe),
            });
        }
    }
    if let Some(name) = FORBIDDEN_HEADER_PARAMETERS
        .iter()
        .find(|name| header.contains_key(**name))
    {
        return Err(TimestampError::HeaderParameter { name });
    }
    let key = match header.get("kid") {
        Some(Value::String(kid)) => jwks
            .by_kid(kid)
            .ok_or_else(|| TimestampError::KidUnknown { kid: bounded(kid) })?,
        Some(other) => {
            return Err(TimestampError::KidMissing {
                got: Some(describe(other)),
            });
        }
        None => match (kid_rule, jwks.keys.as_slice()) {
            (KidRule::SoleKeyIfAbsent, [only]) => only,
            (KidRule::SoleKeyIfAbsent, keys) => {
                return Err(TimestampError::KeyAmbiguous { keys: keys.len() });
            }
            (KidRule::Required, _) => return Err(TimestampError::KidMissing { got: None }),
        },
    };

    let payload = decode_segment(payload_b64, "payload")?;
    let signature = decode_segment(signature_b64, "signature")?;
    // The signing input is the received text up to the second dot, byte for byte.
    let signing_input = token
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(TimestampError::SegmentCount { got: 3 })?;
    let signature =
        Signature::try_from(signature.as_slice()).map_err(|_| TimestampError::Signature {
            kid: key.kid.as_deref().map(bounded),
        })?;
    key.verifier
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| TimestampError::Signature {
            kid: key.kid.as_deref().map(bounded),
        })?;
    Ok((header, payload))
}

fn decode_segment(segment: &str, name: &'static str) -> Result<Vec<u8>, TimestampError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| TimestampError::Base64 {
            segment: name,
            reason: e.to_string(),
        })
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn spki_and_base64_match_the_crates_they_replace() {
        use rsa::pkcs8::EncodePublicKey as _;
        // Moduli with the high bit set and clear, exponents 3 and 65537, and sizes whose
        // DER lengths take one, two and three bytes.
        for (bits, e) in [(2048usize, 65537u64), (2047, 3), (3072, 65537), (4096, 17)] {
            let mut n = vec![0xa5u8; bits.div_ceil(8)];
            if bits % 8 != 0 {
                n[0] = 0x7f >> (7 - bits % 8);
            }
            *n.last_mut().unwrap() |= 1;
            let e_bytes = e.to_be_bytes();
            let e_bytes = strip_leading_zeros(&e_bytes);
            let key = RsaPublicKey::new_unchecked(
                BoxedUint::from_be_slice_vartime(&n),
                BoxedUint::from_be_slice_vartime(e_bytes),
            );
            let expected = key.to_public_key_der().unwrap();
            assert_eq!(
                rsa_spki_der(&n, e_bytes),
                expected.as_bytes(),
                "{bits} bits"
            );
        }
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(
                base64_padded(&bytes),
                STANDARD.encode(&bytes),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn attested_username_is_exactly_lowercase_hex_at_domain() {
        let s = "@bky.sh";
        assert_eq!(
            parse_attested_username("00ff@bky.sh", s),
            Some(vec![0, 255])
        );
        assert_eq!(parse_attested_username("00FF@bky.sh", s), None);
        assert_eq!(parse_attested_username("0ff@bky.sh", s), None);
        assert_eq!(parse_attested_username("@bky.sh", s), None);
        assert_eq!(parse_attested_username("00ff@bky.sh ", s), None);
        assert_eq!(parse_attested_username("00ff@x.bky.sh", s), None);
        assert_eq!(parse_attested_username("00ff@bky.shx", s), None);
        assert_eq!(parse_attested_username("0x00@bky.sh", s), None);
    }

    #[test]
    fn token_use_names() {
        assert_eq!(TokenUse::from_name("id"), Some(TokenUse::Id));
        assert_eq!(TokenUse::from_name("access"), Some(TokenUse::Access));
        assert_eq!(TokenUse::from_name("ID"), None);
        assert_eq!(TokenUse::Id.username_claim(), "cognito:username");
        assert_eq!(TokenUse::Access.username_claim(), "username");
        assert_eq!(
            serde_json::to_string(&TokenUse::Access).unwrap(),
            "\"access\""
        );
    }
}
