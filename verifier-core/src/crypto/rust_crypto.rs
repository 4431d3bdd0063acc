//! The pure-Rust backend: `rsa`, `p384` (fiat-crypto field arithmetic natively) and
//! `ed25519-dalek`. The default, and the only backend on wasm32.

use ed25519_dalek::Signature as EdSignature;
use p384::ecdsa::signature::Verifier as _;
use rsa::pkcs1v15::{Signature as RsaSignature, VerifyingKey as RsaVerifyingKey};
use sha2::Sha256;

use super::{
    BadSignature, CryptoBackend, Ed25519Key, KeyRejected, P384Key, RsaKey, SignatureKey, sealed,
};

/// The pure-Rust backend: `rsa`, `p384` and `ed25519-dalek` (see [`super`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RustCrypto;

/// The pure-Rust backend, [`super::default_backend`].
pub const RUST_CRYPTO: RustCrypto = RustCrypto;

impl sealed::Sealed for RustCrypto {}

impl CryptoBackend for RustCrypto {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn rs256(&self, key: &RsaKey) -> Result<Box<dyn SignatureKey>, KeyRejected> {
        Ok(Box::new(Rs256(RsaVerifyingKey::new(key.rsa().clone()))))
    }

    fn es384(&self, key: &P384Key) -> Result<Box<dyn SignatureKey>, KeyRejected> {
        Ok(Box::new(Es384(*key.p384())))
    }

    fn ed25519(&self, key: &Ed25519Key) -> Result<Box<dyn SignatureKey>, KeyRejected> {
        Ok(Box::new(Ed25519(*key.dalek())))
    }
}

/// RS256 with the `rsa` crate (the signature's exact length is checked by its `verify`).
struct Rs256(RsaVerifyingKey<Sha256>);

impl SignatureKey for Rs256 {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        let max_len = RsaKey::MAX_BITS / 8;
        let signature =
            RsaSignature::from_bytes_with_max_len(signature, max_len).map_err(|_| BadSignature)?;
        self.0.verify(message, &signature).map_err(|_| BadSignature)
    }
}

/// ES384 with the `p384` crate.
struct Es384(p384::ecdsa::VerifyingKey);

impl SignatureKey for Es384 {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        let signature = p384::ecdsa::Signature::from_slice(signature).map_err(|_| BadSignature)?;
        self.0.verify(message, &signature).map_err(|_| BadSignature)
    }
}

/// Ed25519 with ed25519-dalek's `verify_strict`, the rule every backend keeps.
struct Ed25519(ed25519_dalek::VerifyingKey);

impl SignatureKey for Ed25519 {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        let signature: &[u8; 64] = signature.try_into().map_err(|_| BadSignature)?;
        self.0
            .verify_strict(message, &EdSignature::from_bytes(signature))
            .map_err(|_| BadSignature)
    }
}

/// The ed25519-dalek key of [`Ed25519`], for the `aws-lc` backend's keys that aws-lc
/// decodes more strictly than `verify_strict` does.
#[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
pub(super) fn dalek_ed25519(key: &Ed25519Key) -> Box<dyn SignatureKey> {
    Box::new(Ed25519(*key.dalek()))
}
