//! The compact JWS (RFC 7515) under RS256: segments, header rules, key choice and the
//! signature.

use super::*;

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
    verify_rs256_jws_with(token, jwks, default_backend())
}

/// [`verify_rs256_jws`] with the signature checked by `backend`.
///
/// # Errors
/// The first failed check, as a [`TimestampError`].
pub fn verify_rs256_jws_with(
    token: &str,
    jwks: &Jwks,
    backend: &'static dyn CryptoBackend,
) -> Result<Vec<u8>, TimestampError> {
    let keys = jwks.prepare(backend)?;
    verify_jws(token, jwks, &keys, KidRule::SoleKeyIfAbsent).map(|(_, payload)| payload)
}

/// Whether a header must name its key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum KidRule {
    /// `kid` must be present (SPEC §1.3).
    Required,
    /// Without `kid`, use the set's only key.
    SoleKeyIfAbsent,
}

/// The segments, header and signature checks shared by both entry points, with `keys`
/// the set's keys prepared by a backend ([`Jwks::prepare`]); returns the header and the
/// decoded payload.
pub(super) fn verify_jws(
    token: &str,
    jwks: &Jwks,
    keys: &[Box<dyn SignatureKey>],
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
            (KidRule::SoleKeyIfAbsent, [_]) => 0,
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
    let bad_signature = || TimestampError::Signature {
        kid: jwks
            .keys
            .get(key)
            .and_then(|k| k.kid.as_deref())
            .map(bounded),
    };
    keys.get(key)
        .ok_or_else(bad_signature)?
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| bad_signature())?;
    Ok((header, payload))
}

pub(super) fn decode_segment(segment: &str, name: &'static str) -> Result<Vec<u8>, TimestampError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| TimestampError::Base64 {
            segment: name,
            reason: e.to_string(),
        })
}
