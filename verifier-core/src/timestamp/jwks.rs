//! The trusted keys: a JWK Set of RS256 verification keys, parsed once and strictly,
//! and Cognito's key-id rule.

use super::*;

/// One usable RS256 verification key of a [`Jwks`].
#[derive(Clone, Debug)]
pub(super) struct Jwk {
    /// The JWK's `kid`, if it has one.
    pub(super) kid: Option<String>,
    /// SHA-256 of the key's DER SubjectPublicKeyInfo, which Cognito's kids are the
    /// base64 of ([`Jwks::check_cognito_kids`]).
    spki_sha256: [u8; 32],
    /// The key, checked; a [`TimestampVerifier`] prepares it with its backend.
    pub(super) key: RsaKey,
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
    pub(super) keys: Vec<Jwk>,
}

impl Jwks {
    /// Feeds what identifies the set to `hasher`: how many keys, and each key's `kid`
    /// and the SHA-256 of its SubjectPublicKeyInfo, in order (for
    /// [`crate::trust::TrustDescriptor::audit_fingerprint`]).
    pub(crate) fn digest_into(&self, hasher: &mut Sha256) {
        hasher.update((self.keys.len() as u64).to_le_bytes());
        for key in &self.keys {
            let kid = key.kid.as_deref().map(str::as_bytes);
            hasher.update([u8::from(kid.is_some())]);
            let kid = kid.unwrap_or_default();
            hasher.update((kid.len() as u64).to_le_bytes());
            hasher.update(kid);
            hasher.update(key.spki_sha256);
        }
    }

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

    /// The index of the key named by `kid`, exactly (no normalisation).
    pub(super) fn by_kid(&self, kid: &str) -> Option<usize> {
        self.keys.iter().position(|k| k.kid.as_deref() == Some(kid))
    }

    /// Every key prepared by `backend`, in set order.
    ///
    /// # Errors
    /// [`TimestampError::Jwks`] when the backend cannot use a key (none that the set
    /// accepts, as the differential tests check).
    pub(super) fn prepare(
        &self,
        backend: &'static dyn CryptoBackend,
    ) -> Result<Vec<Box<dyn SignatureKey>>, TimestampError> {
        self.keys
            .iter()
            .map(|k| {
                backend
                    .rs256(&k.key)
                    .map_err(|e| jwks_error(k.kid.as_ref(), e))
            })
            .collect()
    }
}

/// Standard base64 with padding (RFC 4648 §4), for the kid a key should have in
/// [`TimestampError::JwkKidMismatch`]; the `base64` crate's encoder is 2 KB of the wasm
/// module that nothing else needs.
pub(super) fn base64_padded(bytes: &[u8]) -> String {
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
pub(super) fn jwks_error(kid: Option<&String>, reason: impl fmt::Display) -> TimestampError {
    TimestampError::Jwks {
        kid: kid.map(|kid| bounded(kid)),
        reason: bounded_reason(&reason.to_string()),
    }
}

pub(super) fn parse_jwk(value: &Value) -> Result<Jwk, TimestampError> {
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
    let key = RsaKey::new(&n, &e).map_err(|err| jwks_error(kid_ref, err.reason))?;
    Ok(Jwk {
        kid,
        spki_sha256: Sha256::digest(key.spki_der()).into(),
        key,
    })
}
