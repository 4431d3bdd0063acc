//! Sequence attestations (SPEC §1.4) and `check(K_S+, a)` (SPEC §1.5).
//!
//! A sequence attestation `s = ⟨y, k, g⟩` is 121 bytes,
//! `0x01 ++ y (48) ++ be64(k) ++ g (64)`, where `y = b.u ++ H(t)` and `g` is the
//! sequencer's Ed25519 signature over `"zipchain/seq/v1" ++ y ++ be64(k)`. It travels as
//! the `user_data` of an NSM attestation document whose `public_key` is the sequencer's
//! key `K_S+`; [`check`] verifies all three together.

use core::fmt;

use crate::crypto::{CryptoBackend, Ed25519Key, SignatureKey};
use crate::hash::Hash32;
use crate::nsm::{NsmError, NsmVerifier, VerifiedNsmDocument, VerifyAt};
use crate::time::UnixMillis;

/// The domain-separation prefix of the signed message (SPEC §1.4).
pub const SEQUENCE_DOMAIN: &[u8] = b"zipchain/seq/v1";

/// The version byte that opens every v1 sequence attestation.
pub const SEQUENCE_VERSION: u8 = 0x01;

/// A decoded sequence attestation `⟨y, k, g⟩` (SPEC §1.4). Decoding does not verify `g`;
/// call [`SequenceAttestation::verify`] or [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SequenceAttestation {
    /// `y = b.u (16 bytes) ++ H(t) (32 bytes)`: the block's UUID and its timestamp's hash.
    pub y: [u8; 48],
    /// `k`: the sequence number (the sequencer's first attestation has `k = 0`).
    pub k: u64,
    /// `g`: Ed25519 signature by `K_S-` over [`SequenceAttestation::signed_message`].
    pub g: [u8; 64],
}

impl SequenceAttestation {
    /// The encoded length: `1 + 48 + 8 + 64`.
    pub const LEN: usize = 121;

    /// `0x01 ++ y ++ be64(k) ++ g`.
    pub fn encode(&self) -> [u8; 121] {
        let mut out = [0u8; Self::LEN];
        let (version, rest) = out.split_at_mut(1);
        let (y, rest) = rest.split_at_mut(48);
        let (k, g) = rest.split_at_mut(8);
        version.copy_from_slice(&[SEQUENCE_VERSION]);
        y.copy_from_slice(&self.y);
        k.copy_from_slice(&self.k.to_be_bytes());
        g.copy_from_slice(&self.g);
        out
    }

    /// Parses exactly 121 bytes opening with version `0x01`. Does not verify `g`.
    ///
    /// # Errors
    /// [`SequenceError::Length`] for any other length (trailing bytes included),
    /// [`SequenceError::Version`] for another version byte.
    pub fn decode(bytes: &[u8]) -> Result<Self, SequenceError> {
        let bytes: &[u8; 121] = bytes.try_into().map_err(|_| SequenceError::Length {
            got: bytes.len(),
            expected: Self::LEN,
        })?;
        let (version, rest) = bytes.split_at(1);
        let (y, rest) = rest.split_at(48);
        let (k, g) = rest.split_at(8);
        if version != [SEQUENCE_VERSION] {
            return Err(SequenceError::Version {
                got: bytes[0],
                expected: SEQUENCE_VERSION,
            });
        }
        // The splits above give exactly 48, 8 and 64 bytes, so the conversions cannot fail.
        let mut out = Self {
            y: [0; 48],
            k: 0,
            g: [0; 64],
        };
        out.y.copy_from_slice(y);
        let mut k_bytes = [0u8; 8];
        k_bytes.copy_from_slice(k);
        out.k = u64::from_be_bytes(k_bytes);
        out.g.copy_from_slice(g);
        Ok(out)
    }

    /// The message `g` signs: `"zipchain/seq/v1" ++ y ++ be64(k)` (78 bytes).
    pub fn signed_message(y: &[u8; 48], k: u64) -> Vec<u8> {
        let mut message = Vec::with_capacity(SEQUENCE_DOMAIN.len() + 48 + 8);
        message.extend_from_slice(SEQUENCE_DOMAIN);
        message.extend_from_slice(y);
        message.extend_from_slice(&k.to_be_bytes());
        message
    }

    /// Verifies `g` under the sequencer key with Ed25519 `verify_strict` (RFC 8032 with
    /// canonical encodings and no small-order keys or `R`), on the default backend.
    ///
    /// # Errors
    /// [`SequenceError::Signature`] when `g` does not verify.
    pub fn verify(&self, key: &SequencerKey) -> Result<(), SequenceError> {
        self.verify_with(&SequenceVerifier::new(
            *key,
            crate::crypto::default_backend(),
        )?)
    }

    /// [`SequenceAttestation::verify`] under a key prepared by a backend.
    ///
    /// # Errors
    /// [`SequenceError::Signature`] when `g` does not verify.
    pub fn verify_with(&self, verifier: &SequenceVerifier) -> Result<(), SequenceError> {
        verifier
            .prepared
            .verify(&Self::signed_message(&self.y, self.k), &self.g)
            .map_err(|_| SequenceError::Signature { k: self.k })
    }

    /// `b.u`: the first 16 bytes of `y`, the block's UUID.
    pub fn block_uuid(&self) -> [u8; 16] {
        let mut u = [0u8; 16];
        u.copy_from_slice(self.y.split_at(16).0);
        u
    }

    /// `H(t)`: the last 32 bytes of `y`, the hash of the block's timestamp JWT.
    pub fn timestamp_hash(&self) -> Hash32 {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.y.split_at(16).1);
        Hash32(h)
    }
}

/// The sequencer's Ed25519 public key `K_S+` (32 bytes), checked to be a valid point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SequencerKey(Ed25519Key);

impl SequencerKey {
    /// Makes a key from its 32-byte encoding.
    ///
    /// # Errors
    /// [`SequenceError::Key`] when the bytes are not a valid Ed25519 point encoding.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, SequenceError> {
        Ed25519Key::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| SequenceError::Key {
                got: hex::encode(bytes),
                reason: "not a valid Ed25519 public key",
            })
    }

    /// The key as the crypto seam takes it.
    pub fn ed25519(&self) -> &Ed25519Key {
        &self.0
    }

    /// Parses 64 hex digits.
    ///
    /// # Errors
    /// [`SequenceError::Key`] when the text is not 64 hex digits of a valid key.
    pub fn from_hex(text: &str) -> Result<Self, SequenceError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| SequenceError::Key {
            got: text.chars().take(80).collect(),
            reason: "not 64 hex digits",
        })?;
        Self::from_bytes(bytes)
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        *self.0.as_bytes()
    }

    /// The 32-byte encoding as a slice.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Lowercase hex of the 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
}

/// The sequencer key prepared by a [`CryptoBackend`] to verify sequence attestations:
/// build it once, verify many ([`SequenceAttestation::verify_with`], [`check_with`]).
#[derive(Debug)]
pub struct SequenceVerifier {
    key: SequencerKey,
    prepared: Box<dyn SignatureKey>,
}

impl SequenceVerifier {
    /// Prepares `key` with `backend`.
    ///
    /// # Errors
    /// [`SequenceError::Key`] if the backend cannot use the key (none that
    /// [`SequencerKey::from_bytes`] accepts).
    pub fn new(key: SequencerKey, backend: &dyn CryptoBackend) -> Result<Self, SequenceError> {
        let prepared = backend.ed25519(&key.0).map_err(|_| SequenceError::Key {
            got: key.to_hex(),
            reason: "the crypto backend cannot use it",
        })?;
        Ok(Self { key, prepared })
    }

    /// The sequencer key.
    pub fn key(&self) -> &SequencerKey {
        &self.key
    }
}

impl fmt::Debug for SequencerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SequencerKey({})", self.to_hex())
    }
}

impl fmt::Display for SequencerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Why bytes are not a valid sequence attestation or key.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    /// The attestation is not exactly 121 bytes.
    #[error("a sequence attestation is {expected} bytes, got {got}")]
    Length {
        /// The length received.
        got: usize,
        /// Always [`SequenceAttestation::LEN`].
        expected: usize,
    },
    /// The version byte is not `0x01`.
    #[error("sequence attestation version is {got:#04x}, expected {expected:#04x}")]
    Version {
        /// The first byte received.
        got: u8,
        /// Always [`SEQUENCE_VERSION`].
        expected: u8,
    },
    /// `g` does not verify under the sequencer key.
    #[error(
        "the Ed25519 signature of sequence attestation k = {k} does not verify under the sequencer key"
    )]
    Signature {
        /// The attestation's sequence number.
        k: u64,
    },
    /// The sequencer key is malformed.
    #[error("sequencer key {got:?} is unusable: {reason}")]
    Key {
        /// The key as given (hex).
        got: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// An enclave attestation that passed [`check`]; only that function makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAttestation {
    sequence: SequenceAttestation,
    document: VerifiedNsmDocument,
    hash: Hash32,
}

impl VerifiedAttestation {
    /// The sequence attestation `s` carried in `user_data`, with `g` verified.
    pub fn sequence(&self) -> &SequenceAttestation {
        &self.sequence
    }

    /// The verified NSM document.
    pub fn document(&self) -> &VerifiedNsmDocument {
        &self.document
    }

    /// The document's own `timestamp` (milliseconds).
    pub fn timestamp(&self) -> UnixMillis {
        self.document.document().timestamp
    }

    /// `H(a)`: SHA3-256 of the document bytes as received, the object's key.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }
}

/// `check(K_S+, a)` of SPEC §1.5: the NSM document `a` verifies under `nsm` at `at`, its
/// `public_key` is exactly `K_S+`, and its `user_data` is a sequence attestation whose
/// `g` verifies under `K_S+`.
///
/// Success does not prove where the sequence number stands in the chain, nor that the
/// document was made after the timestamp it sequences (SPEC §5 checks that).
///
/// # Errors
/// The first failed step, as a [`CheckError`].
pub fn check(
    key: &SequencerKey,
    nsm: &NsmVerifier,
    a: &[u8],
    at: VerifyAt,
) -> Result<VerifiedAttestation, CheckError> {
    let verifier = SequenceVerifier::new(*key, nsm.backend()).map_err(CheckError::Sequence)?;
    check_with(&verifier, nsm, a, at)
}

/// [`check`] with the sequencer key already prepared (an audit prepares it once).
///
/// # Errors
/// The first failed step, as a [`CheckError`].
pub fn check_with(
    verifier: &SequenceVerifier,
    nsm: &NsmVerifier,
    a: &[u8],
    at: VerifyAt,
) -> Result<VerifiedAttestation, CheckError> {
    check_hashed(verifier, nsm, a, at, || Hash32::digest(a))
}

/// [`check_with`] where the caller may already know `H(a)` (an audit checks every
/// object's name against its hash first): `hash` gives it, called on success only.
pub(crate) fn check_hashed(
    verifier: &SequenceVerifier,
    nsm: &NsmVerifier,
    a: &[u8],
    at: VerifyAt,
    hash: impl FnOnce() -> Hash32,
) -> Result<VerifiedAttestation, CheckError> {
    let key = verifier.key();
    let document = nsm.verify(a, at).map_err(CheckError::Nsm)?;
    let fields = document.document();
    let public_key = fields
        .public_key
        .as_deref()
        .ok_or(CheckError::PublicKeyMissing)?;
    if public_key != key.as_bytes() {
        return Err(CheckError::PublicKeyMismatch {
            got: hex::encode(public_key),
            expected: key.to_hex(),
        });
    }
    let user_data = fields
        .user_data
        .as_deref()
        .ok_or(CheckError::UserDataMissing)?;
    let sequence = SequenceAttestation::decode(user_data).map_err(CheckError::Sequence)?;
    sequence
        .verify_with(verifier)
        .map_err(CheckError::Sequence)?;
    Ok(VerifiedAttestation {
        sequence,
        document,
        hash: hash(),
    })
}

/// Why an enclave attestation failed `check(K_S+, a)`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The NSM document does not verify.
    #[error("the NSM document does not verify: {0}")]
    Nsm(NsmError),
    /// The document has no `public_key`.
    #[error("the NSM document has no public_key, expected the sequencer key")]
    PublicKeyMissing,
    /// The document's `public_key` is not the sequencer key.
    #[error("the NSM document's public_key is {got}, expected the sequencer key {expected}")]
    PublicKeyMismatch {
        /// The document's `public_key` (hex).
        got: String,
        /// `K_S+` (hex).
        expected: String,
    },
    /// The document has no `user_data`.
    #[error("the NSM document has no user_data, expected a sequence attestation")]
    UserDataMissing,
    /// `user_data` is not a sequence attestation signed by the sequencer key.
    #[error("the NSM document's user_data: {0}")]
    Sequence(SequenceError),
}

impl CheckError {
    /// A short stable name of the step that failed: `nsm`, `public_key`, `user_data`, or
    /// `sequence_signature`.
    pub fn check(&self) -> &'static str {
        match self {
            Self::Nsm(_) => "nsm",
            Self::PublicKeyMissing | Self::PublicKeyMismatch { .. } => "public_key",
            Self::UserDataMissing => "user_data",
            Self::Sequence(SequenceError::Signature { .. }) => "sequence_signature",
            Self::Sequence(_) => "user_data",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn signed(seed: [u8; 32], y: [u8; 48], k: u64) -> (SequencerKey, SequenceAttestation) {
        let signing = SigningKey::from_bytes(&seed);
        let key = SequencerKey::from_bytes(signing.verifying_key().to_bytes()).unwrap();
        let g = signing
            .sign(&SequenceAttestation::signed_message(&y, k))
            .to_bytes();
        (key, SequenceAttestation { y, k, g })
    }

    #[test]
    fn encode_decode_round_trip_and_layout() {
        let (key, s) = signed([7; 32], [0xab; 48], 0x0102_0304_0506_0708);
        let bytes = s.encode();
        assert_eq!(bytes.len(), SequenceAttestation::LEN);
        assert_eq!(bytes[0], 0x01);
        assert_eq!(&bytes[1..49], &[0xab; 48]);
        assert_eq!(&bytes[49..57], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[57..], &s.g);
        assert_eq!(SequenceAttestation::decode(&bytes), Ok(s));
        assert_eq!(s.verify(&key), Ok(()));
        assert_eq!(s.block_uuid(), [0xab; 16]);
        assert_eq!(s.timestamp_hash(), Hash32([0xab; 32]));
    }

    #[test]
    fn decode_rejects_length_and_version() {
        let (_, s) = signed([7; 32], [1; 48], 3);
        let bytes = s.encode();
        let mut long = bytes.to_vec();
        long.push(0);
        assert_eq!(
            SequenceAttestation::decode(&long),
            Err(SequenceError::Length {
                got: 122,
                expected: 121
            })
        );
        assert!(matches!(
            SequenceAttestation::decode(&bytes[..120]),
            Err(SequenceError::Length { got: 120, .. })
        ));
        assert!(matches!(
            SequenceAttestation::decode(&[]),
            Err(SequenceError::Length { got: 0, .. })
        ));
        let mut v2 = bytes;
        v2[0] = 0x02;
        assert_eq!(
            SequenceAttestation::decode(&v2),
            Err(SequenceError::Version {
                got: 2,
                expected: 1
            })
        );
    }

    #[test]
    fn signed_message_layout() {
        let m = SequenceAttestation::signed_message(&[9; 48], 1);
        assert_eq!(m.len(), 15 + 48 + 8);
        assert!(m.starts_with(b"zipchain/seq/v1"));
        assert_eq!(&m[m.len() - 8..], &[0, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn verify_rejects_any_change_and_other_keys() {
        let (key, s) = signed([7; 32], [1; 48], 3);
        let (other, _) = signed([8; 32], [1; 48], 3);
        assert_eq!(s.verify(&other), Err(SequenceError::Signature { k: 3 }));
        let mut y = s;
        y.y[47] ^= 1;
        assert!(y.verify(&key).is_err());
        let mut k = s;
        k.k = 4;
        assert_eq!(k.verify(&key), Err(SequenceError::Signature { k: 4 }));
        let mut g = s;
        g.g[0] ^= 1;
        assert!(g.verify(&key).is_err());
    }

    #[test]
    fn rfc8032_test_1_through_sequencer_key() {
        // RFC 8032 §7.1 TEST 1 (empty message).
        let key = SequencerKey::from_hex(
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        )
        .unwrap();
        let sig: [u8; 64] = hex::decode(concat!(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ))
        .unwrap()
        .try_into()
        .unwrap();
        for backend in crate::crypto::backends() {
            let prepared = backend.ed25519(key.ed25519()).unwrap();
            assert!(prepared.verify(b"", &sig).is_ok(), "{}", backend.name());
            assert!(prepared.verify(b"x", &sig).is_err(), "{}", backend.name());
        }
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(
            SigningKey::from_bytes(&seed).verifying_key().to_bytes(),
            key.to_bytes()
        );
    }

    #[test]
    fn sequencer_key_parsing() {
        assert!(matches!(
            SequencerKey::from_hex("00"),
            Err(SequenceError::Key { .. })
        ));
        assert!(matches!(
            SequencerKey::from_hex(&"zz".repeat(32)),
            Err(SequenceError::Key { .. })
        ));
        // y = 2 does not decompress to a curve point.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert!(SequencerKey::from_bytes(not_a_point).is_err());
        let (key, _) = signed([7; 32], [1; 48], 3);
        assert_eq!(SequencerKey::from_hex(&key.to_hex()), Ok(key));
    }
}
