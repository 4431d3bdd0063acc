//! The crypto seam: the three signature algorithms of the ledger behind one narrow
//! trait, [`CryptoBackend`], in the manner of rustls-webpki's
//! `SignatureVerificationAlgorithm`:
//!
//! - **RS256** (RSASSA-PKCS1-v1_5 with SHA-256): the timestamp JWTs (SPEC §1.3);
//! - **ES384** (ECDSA over P-384 with SHA-384): the NSM documents' COSE signature and
//!   their X.509 chain (SPEC §1.5), high-S accepted;
//! - **Ed25519** with the rules of ed25519-dalek's `verify_strict`: the sequence
//!   attestations (SPEC §1.4). Canonical `S`; no small-order key or `R`.
//!
//! One rule for every backend: keys are decoded and checked by the core, with the
//! pure-Rust crates, whatever the backend ([`RsaKey`], [`P384Key`], [`Ed25519Key`]), so a
//! backend never sees a key another one would refuse; each algorithm's signature has one
//! encoding at the seam (the core turns a certificate's DER ECDSA signature into the
//! 96-byte `r || s` first, [`es384_signature_from_der`]). A backend only does the
//! arithmetic, and `tests/crypto_differential.rs` feeds every backend the same real and
//! mutated inputs: they must agree on every verdict.
//!
//! [`RUST_CRYPTO`] (the `rsa`, `p384` and `ed25519-dalek` crates) is the default and the
//! only backend on wasm32. Native builds with the `aws-lc` feature also have
//! `AWS_LC` (aws-lc-rs, 3-10 times faster). Every verifier takes its backend
//! explicitly (`with_backend`); `new` takes [`default_backend`]. The trait is sealed:
//! the promise that verdicts never depend on the backend holds for the backends this
//! crate tests, not for any other.

use core::fmt;

use crate::text::bounded;

mod rust_crypto;
pub use rust_crypto::{RUST_CRYPTO, RustCrypto};

#[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
mod aws_lc;
#[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
pub use aws_lc::{AWS_LC, AwsLc};

/// An implementation of the ledger's three signature algorithms. Given a key the core
/// has checked, it prepares it once (parsed, with whatever tables the implementation
/// keeps) as a [`SignatureKey`] that verifies any number of signatures.
///
/// Sealed: implemented by [`RustCrypto`] and, with the `aws-lc` feature, `AwsLc`.
pub trait CryptoBackend: fmt::Debug + Send + Sync + sealed::Sealed {
    /// The backend's name in reports and on the command line: `rustcrypto` or `aws-lc-rs`.
    fn name(&self) -> &'static str;

    /// Prepares `key` for RS256: RSASSA-PKCS1-v1_5 with SHA-256, a signature as long as
    /// the modulus.
    ///
    /// # Errors
    /// [`KeyRejected`] when the implementation cannot use the key (none that the core
    /// accepts, as the differential tests check).
    fn rs256(&self, key: &RsaKey) -> Result<Box<dyn SignatureKey>, KeyRejected>;

    /// Prepares `key` for ES384: ECDSA over P-384 with SHA-384, the signature as the
    /// 96 bytes `r || s` (both in `1..n`; high-S accepted).
    ///
    /// # Errors
    /// [`KeyRejected`], as for [`CryptoBackend::rs256`].
    fn es384(&self, key: &P384Key) -> Result<Box<dyn SignatureKey>, KeyRejected>;

    /// Prepares `key` for Ed25519 under ed25519-dalek's `verify_strict` rules: the
    /// 64-byte signature `R || S` with `S < ℓ`, rejected when `R` or the key has small
    /// order, and the check `R = [S]B − [k]A` made on encodings (so a non-canonical `R`
    /// never verifies) with `k = SHA-512(R || A || M)` over the key's bytes as given.
    ///
    /// # Errors
    /// [`KeyRejected`], as for [`CryptoBackend::rs256`].
    fn ed25519(&self, key: &Ed25519Key) -> Result<Box<dyn SignatureKey>, KeyRejected>;
}

/// A public key prepared by a [`CryptoBackend`] for one algorithm. Not `Debug` itself
/// (a backend's key types would bring their formatting code into the wasm module through
/// the vtable); `dyn SignatureKey` prints as a placeholder.
pub trait SignatureKey: Send + Sync {
    /// Verifies `signature` over `message` (hashed here, with the algorithm's hash).
    ///
    /// # Errors
    /// [`BadSignature`] when it does not verify, whatever the reason (a signature of the
    /// wrong length included).
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature>;
}

impl fmt::Debug for dyn SignatureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignatureKey")
    }
}

mod sealed {
    /// Only this crate's backends implement [`super::CryptoBackend`].
    pub trait Sealed {}
}

/// The default backend: [`RUST_CRYPTO`], the only one on wasm32.
pub fn default_backend() -> &'static dyn CryptoBackend {
    &RUST_CRYPTO
}

/// Every backend compiled into this build, the default first.
pub fn backends() -> &'static [&'static dyn CryptoBackend] {
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    {
        &[&RUST_CRYPTO, &AWS_LC]
    }
    #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
    {
        &[&RUST_CRYPTO]
    }
}

/// The fastest backend compiled into this build: `AwsLc` with the `aws-lc` feature on a
/// native target, else [`RUST_CRYPTO`].
pub fn fastest_backend() -> &'static dyn CryptoBackend {
    backends().last().copied().unwrap_or(&RUST_CRYPTO)
}

/// The compiled backend called `name` ([`CryptoBackend::name`]).
pub fn backend_named(name: &str) -> Option<&'static dyn CryptoBackend> {
    backends().iter().copied().find(|b| b.name() == name)
}

/// A signature that does not verify (the reason is never told apart: wrong length, out
/// of range, or arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify")]
pub struct BadSignature;

/// A key the core or a backend cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{algorithm} key rejected: {reason}")]
pub struct KeyRejected {
    /// `RS256`, `ES384` or `Ed25519`.
    pub algorithm: &'static str,
    /// Why, in words.
    pub reason: String,
}

/// An RSA public key for RS256, checked by the core with the `rsa` crate: a modulus of
/// [`RsaKey::MIN_BITS`]..=[`RsaKey::MAX_BITS`] bits, odd and greater than the exponent; an
/// odd exponent of at least 3 and below 2^33.
#[derive(Clone, Debug)]
pub struct RsaKey {
    key: rsa::PublicKey,
    /// The modulus and exponent, big-endian without leading zeros.
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaKey {
    /// The smallest modulus accepted, in bits.
    pub const MIN_BITS: usize = 2048;
    /// The largest modulus accepted, in bits (bounds the work per signature).
    pub const MAX_BITS: usize = 8192;

    /// Checks a modulus `n` and exponent `e`, big-endian (leading zeros are tolerated and
    /// do not count towards the size).
    ///
    /// # Errors
    /// [`KeyRejected`] naming the rule the key breaks.
    pub fn new(n: &[u8], e: &[u8]) -> Result<Self, KeyRejected> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let rejected = |reason: String| KeyRejected {
            algorithm: "RS256",
            reason,
        };
        if n.len() > Self::MAX_BITS / 8 || e.len() > 8 {
            return Err(rejected("n or e is too long".into()));
        }
        let modulus = rsa::BoxedUint::from_be_slice_vartime(n);
        let exponent = rsa::BoxedUint::from_be_slice_vartime(e);
        let bits = modulus.bit_width_vartime();
        let key = rsa::PublicKey::new_with_size_limits(
            modulus,
            exponent,
            Self::MIN_BITS..=Self::MAX_BITS,
        )
        .map_err(|err| {
            rejected(format!(
                "not a usable RSA key ({bits}-bit modulus, {}..={} accepted): {err}",
                Self::MIN_BITS,
                Self::MAX_BITS
            ))
        })?;
        Ok(Self {
            key,
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// The modulus, big-endian, without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent, big-endian, without leading zeros.
    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    /// The key as the `rsa` crate holds it.
    pub(crate) fn rsa(&self) -> &rsa::PublicKey {
        &self.key
    }

    /// The DER SubjectPublicKeyInfo of the key (`rsa_spki_der`).
    pub fn spki_der(&self) -> Vec<u8> {
        rsa_spki_der(&self.n, &self.e)
    }
}

/// The DER SubjectPublicKeyInfo (RFC 5280 §4.1, RFC 8017 A.1.1) of the RSA key with
/// big-endian modulus `n` and exponent `e` (leading zeros already stripped), as
/// `openssl`, the `rsa` crate and Cognito write it: rsaEncryption with NULL parameters,
/// then the BIT STRING of `RSAPublicKey { n, e }`. Written here rather than through
/// `der`'s encoders, which the wasm module would carry for this alone (6 KB); the
/// timestamp tests compare it with the `rsa` crate's encoding.
pub(crate) fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
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

/// The bytes after any leading zero bytes.
pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// A P-384 public key, decoded by the core with the `p384` crate from its SEC1 encoding
/// (compressed or uncompressed; not the identity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P384Key(p384::ecdsa::VerifyingKey);

impl P384Key {
    /// Decodes a SEC1 point.
    ///
    /// # Errors
    /// [`KeyRejected`] when the bytes are not a P-384 point.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyRejected> {
        p384::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyRejected {
                algorithm: "ES384",
                reason: "not a valid P-384 point".into(),
            })
    }

    /// The uncompressed SEC1 encoding, `04 || x || y` (97 bytes).
    pub fn to_uncompressed(&self) -> Vec<u8> {
        self.0.to_sec1_point(false).as_bytes().to_vec()
    }

    /// The key as the `p384` crate holds it.
    pub(crate) fn p384(&self) -> &p384::ecdsa::VerifyingKey {
        &self.0
    }
}

/// The DER `ECDSA-Sig-Value` of an X.509 signature as the 96-byte `r || s` every
/// backend takes, decoded by the `p384` crate (strict DER, `r` and `s` in `1..n`).
///
/// # Errors
/// [`BadSignature`] when it is not such a signature.
pub fn es384_signature_from_der(der: &[u8]) -> Result<[u8; 96], BadSignature> {
    let der = p384::ecdsa::DerSignature::from_bytes(der).map_err(|_| BadSignature)?;
    let signature = p384::ecdsa::Signature::try_from(der).map_err(|_| BadSignature)?;
    Ok(signature.to_bytes().into())
}

/// An Ed25519 public key, decoded by the core with ed25519-dalek: 32 bytes that
/// decompress to a curve point. A small-order ("weak") key is accepted here, as dalek
/// does, and verifies no signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ed25519Key(ed25519_dalek::VerifyingKey);

impl Ed25519Key {
    /// Decodes 32 bytes.
    ///
    /// # Errors
    /// [`KeyRejected`] when they are not a point's encoding.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyRejected> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyRejected {
                algorithm: "Ed25519",
                reason: format!("{} is not a point's encoding", bounded(&hex::encode(bytes))),
            })
    }

    /// The 32 bytes as given.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key as ed25519-dalek holds it.
    pub(crate) fn dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
