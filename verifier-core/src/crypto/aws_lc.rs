//! The aws-lc-rs backend (native builds with the `aws-lc` feature): AWS-LC's
//! assembly (s2n-bignum) for P-384 and Ed25519, its RSA. About 3 times faster than the
//! pure-Rust crates on P-384 and RS256 and a third faster on Ed25519 on this project's
//! machine (research `perf-FLOOR.md`, BENCHMARKS.md).
//!
//! Keys arrive checked by the core (see [`super`]); this backend re-encodes them
//! canonically for AWS-LC (uncompressed P-384 points, an RSA SubjectPublicKeyInfo).
//!
//! Ed25519 keeps `verify_strict`'s rules exactly, where AWS-LC's differ:
//! - AWS-LC accepts a small-order `R`; `verify_strict` does not, so the eight
//!   canonical encodings of small-order points ([`SMALL_ORDER_ENCODINGS`]) are refused
//!   before AWS-LC sees the signature (a non-canonical `R` never verifies in either);
//! - AWS-LC accepts a small-order key; `verify_strict` verifies nothing under one, nor
//!   does this backend;
//! - AWS-LC refuses a key whose encoding is not canonical (`y ≥ p`), which ed25519-dalek
//!   decodes, and `verify_strict` hashes as given: such a key (never one a signer makes)
//!   is verified with ed25519-dalek.

use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
};

use super::{
    BadSignature, CryptoBackend, Ed25519Key, KeyRejected, P384Key, RsaKey, SignatureKey, sealed,
};

/// The aws-lc-rs backend: AWS-LC's P-384, Ed25519 and RSA (see [`super`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AwsLc;

/// The aws-lc-rs backend.
pub const AWS_LC: AwsLc = AwsLc;

impl sealed::Sealed for AwsLc {}

fn rejected(algorithm: &'static str, e: impl core::fmt::Display) -> KeyRejected {
    KeyRejected {
        algorithm,
        reason: format!("aws-lc-rs: {e}"),
    }
}

impl CryptoBackend for AwsLc {
    fn name(&self) -> &'static str {
        "aws-lc-rs"
    }

    fn rs256(&self, key: &RsaKey) -> Result<Box<dyn SignatureKey>, KeyRejected> {
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.spki_der())
            .map_err(|e| rejected("RS256", e))?;
        Ok(Box::new(Parsed(parsed)))
    }

    fn es384(&self, key: &P384Key) -> Result<Box<dyn SignatureKey>, KeyRejected> {
        let parsed = ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, key.to_uncompressed())
            .map_err(|e| rejected("ES384", e))?;
        Ok(Box::new(Parsed(parsed)))
    }

    fn ed25519(&self, key: &Ed25519Key) -> Result<Box<dyn SignatureKey>, KeyRejected> {
        let dalek = key.dalek();
        if dalek.is_weak() {
            return Ok(Box::new(SmallOrderEd25519));
        }
        if dalek.to_edwards().compress().as_bytes() != key.as_bytes() {
            return Ok(super::rust_crypto::dalek_ed25519(key));
        }
        let parsed =
            ParsedPublicKey::new(&ED25519, key.as_bytes()).map_err(|e| rejected("Ed25519", e))?;
        Ok(Box::new(StrictEd25519(parsed)))
    }
}

/// An RS256 or ES384 key parsed by aws-lc-rs (RS256 checks the signature's length
/// against the modulus; ES384 takes the fixed `r || s`, both in `1..n`).
struct Parsed(ParsedPublicKey);

impl SignatureKey for Parsed {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        self.0
            .verify_sig(message, signature)
            .map_err(|_| BadSignature)
    }
}

/// The canonical encodings of the eight points of small order (the 8-torsion of
/// edwards25519): `verify_strict` refuses a signature whose `R` is one of them. The
/// unit tests derive the list again from ed25519-dalek.
pub(super) const SMALL_ORDER_ENCODINGS: [[u8; 32]; 8] = {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    // y = p - 1 (order 2).
    let mut minus_one = [0xff; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    // y = 0 (order 4), both signs of x.
    let zero = [0u8; 32];
    let mut zero_negative = [0u8; 32];
    zero_negative[31] = 0x80;
    [
        identity,
        minus_one,
        zero,
        zero_negative,
        // y of the order-8 points, and its negative, both signs of x.
        hex32(b"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        hex32(b"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
        hex32(b"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        hex32(b"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    ]
};

/// 64 lowercase hex digits as 32 bytes, at compile time (another byte fails the build).
#[allow(clippy::panic)]
const fn hex32(text: &[u8; 64]) -> [u8; 32] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = digit(text[2 * i]) << 4 | digit(text[2 * i + 1]);
        i += 1;
    }
    out
}

/// An Ed25519 key (canonical, not of small order) parsed by aws-lc-rs, with
/// `verify_strict`'s refusal of a small-order `R`.
struct StrictEd25519(ParsedPublicKey);

impl SignatureKey for StrictEd25519 {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        let r = signature.get(..32).ok_or(BadSignature)?;
        if signature.len() != 64 || SMALL_ORDER_ENCODINGS.iter().any(|e| e == r) {
            return Err(BadSignature);
        }
        self.0
            .verify_sig(message, signature)
            .map_err(|_| BadSignature)
    }
}

/// A small-order Ed25519 key: `verify_strict` verifies nothing under it.
struct SmallOrderEd25519;

impl SignatureKey for SmallOrderEd25519 {
    fn verify(&self, _message: &[u8], _signature: &[u8]) -> Result<(), BadSignature> {
        Err(BadSignature)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

    /// The list is exactly the canonical encodings of the eight points of small order.
    #[test]
    fn small_order_encodings_are_the_8_torsion() {
        let mut derived: Vec<[u8; 32]> = EIGHT_TORSION
            .iter()
            .map(|p| p.compress().to_bytes())
            .collect();
        let mut listed = SMALL_ORDER_ENCODINGS.to_vec();
        derived.sort_unstable();
        listed.sort_unstable();
        listed.dedup();
        assert_eq!(listed, derived);
        for encoding in SMALL_ORDER_ENCODINGS {
            let key = ed25519_dalek::VerifyingKey::from_bytes(&encoding).unwrap();
            assert!(key.is_weak());
        }
    }
}
