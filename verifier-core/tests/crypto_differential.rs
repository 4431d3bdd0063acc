//! The differential test of the crypto seam (issue #19): every backend compiled in
//! (`rustcrypto` and, with the `aws-lc` feature, `aws-lc-rs`) gets the same inputs and
//! must give the same verdict on every one.
//!
//! The inputs: every signature in the shared vectors (the NSM documents' COSE signature
//! and each link of their certificate chain, the Cognito and RFC JWTs, the conformance
//! chain's documents, timestamps and sequence attestations), each also bit-flipped,
//! cut, lengthened and otherwise mutated; random keys, messages and signatures; and the
//! edge cases where the libraries' own rules differ (high-S ECDSA, `r` or `s` out of
//! range, RSA signatures of the wrong length or not below the modulus, non-canonical
//! Ed25519 `S`, small-order `R` and keys, non-canonical keys). Some of these are made to
//! pass AWS-LC's own Ed25519 check and fail `verify_strict`, and the test checks that
//! they do, so that it cannot pass by never reaching the rule it is about. Then the
//! verifiers built on the seam (NSM, timestamps, the audit) give the same verdicts on
//! every backend, on the vectors and on mutated copies.
#![cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[allow(unreachable_pub)]
mod common;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest as _, Sha512};
use zipchain_verifier_core::crypto::{
    BadSignature, Ed25519Key, P384Key, RsaKey, backends, es384_signature_from_der,
};

/// A key of one algorithm, as the core checked it.
#[derive(Clone, Debug)]
enum Key {
    Rs256(RsaKey),
    Es384(P384Key),
    Ed25519(Ed25519Key),
}

/// Verifies on every backend; panics unless all give the same verdict, which it returns.
fn verdict(key: &Key, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
    let mut verdicts = backends().iter().map(|backend| {
        let prepared = match key {
            Key::Rs256(k) => backend.rs256(k),
            Key::Es384(k) => backend.es384(k),
            Key::Ed25519(k) => backend.ed25519(k),
        }
        .unwrap_or_else(|e| panic!("{} refused a key the core accepted: {e}", backend.name()));
        (backend.name(), prepared.verify(message, signature))
    });
    let (first_name, first) = verdicts.next().unwrap();
    for (name, other) in verdicts {
        assert_eq!(
            other,
            first,
            "{name} and {first_name} disagree on {key:?}, message {}, signature {}",
            hex::encode(message),
            hex::encode(signature)
        );
    }
    first
}

#[path = "support/splitmix.rs"]
mod splitmix;

/// SplitMix64: the same random cases on every run.
use splitmix::SplitMix64 as Random;

impl Random {
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.next() as u8)
    }

    fn vec(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// `bytes` with bit `bit` flipped.
fn flipped(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

/// The mutations every signature gets: bit flips (the first and last bytes' bits and
/// `random_flips` others), cuts and extensions, zeros and ones, and the message with a
/// bit flipped. Returns how many of them verified.
fn mutate(
    key: &Key,
    message: &[u8],
    signature: &[u8],
    random: &mut Random,
    random_flips: usize,
) -> usize {
    let mut accepted = 0;
    let len = signature.len();
    let mut bits: Vec<usize> = (0..8).chain(len * 8 - 8..len * 8).collect();
    bits.extend((0..random_flips).map(|_| random.below(len * 8)));
    for bit in bits {
        accepted += usize::from(verdict(key, message, &flipped(signature, bit)).is_ok());
    }
    let mut longer = signature.to_vec();
    longer.push(0);
    let mut zero_first = vec![0];
    zero_first.extend_from_slice(signature);
    for other in [
        Vec::new(),
        signature[..1].to_vec(),
        signature[..len - 1].to_vec(),
        signature[1..].to_vec(),
        longer,
        zero_first,
        [signature, signature].concat(),
        vec![0; len],
        vec![0xff; len],
        random.vec(len),
    ] {
        accepted += usize::from(verdict(key, message, &other).is_ok());
    }
    if !message.is_empty() {
        let bit = random.below(message.len() * 8);
        accepted += usize::from(verdict(key, &flipped(message, bit), signature).is_ok());
    }
    accepted += usize::from(verdict(key, &[message, b"x"].concat(), signature).is_ok());
    accepted
}

/// A valid signature: it verifies everywhere, and none of its mutations does.
fn genuine(key: &Key, message: &[u8], signature: &[u8], random: &mut Random, what: &str) {
    assert_eq!(verdict(key, message, signature), Ok(()), "{what}");
    assert_eq!(mutate(key, message, signature, random, 12), 0, "{what}");
}

// ---------------------------------------------------------------- ES384

/// The order `n` of P-384, big-endian.
const P384_ORDER: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

/// `a - b` over 48-byte big-endian numbers (`a >= b`).
fn sub48(a: &[u8; 48], b: &[u8]) -> [u8; 48] {
    let mut out = [0u8; 48];
    let mut borrow = 0i16;
    for i in (0..48).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

/// `a + small` over 48-byte big-endian numbers (no overflow past 2^384 asked for).
fn add48(a: &[u8; 48], small: u8) -> [u8; 48] {
    let mut out = *a;
    let mut carry = u16::from(small);
    for byte in out.iter_mut().rev() {
        let sum = u16::from(*byte) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// The ES384 edge cases around one genuine signature `r || s`: high-S (`n - s`) verifies
/// exactly when the signature does; `r` or `s` of 0, `n`, `n + 1` and `2^384 - 1`, and
/// `r` and `s` swapped, never do.
fn es384_edges(key: &Key, message: &[u8], signature: &[u8], what: &str) {
    let (r, s) = signature.split_at(48);
    let high_s = [r, &sub48(&P384_ORDER, s)].concat();
    assert_eq!(
        verdict(key, message, &high_s).is_ok(),
        verdict(key, message, signature).is_ok(),
        "{what}: n - s"
    );
    let zero = [0u8; 48];
    let ones = [0xffu8; 48];
    let n_plus_1 = add48(&P384_ORDER, 1);
    for bad in [&zero, &P384_ORDER, &n_plus_1, &ones] {
        assert!(verdict(key, message, &[r, bad].concat()).is_err(), "{what}");
        assert!(verdict(key, message, &[bad, s].concat()).is_err(), "{what}");
    }
    // s + n does not fit or is out of range; r with n added is out of range.
    let r_array: [u8; 48] = r.try_into().unwrap();
    if r_array < sub48(&ones, &P384_ORDER) {
        let r_plus_n = {
            let mut out = [0u8; 48];
            let mut carry = 0u16;
            for i in (0..48).rev() {
                let sum = u16::from(r_array[i]) + u16::from(P384_ORDER[i]) + carry;
                out[i] = sum as u8;
                carry = sum >> 8;
            }
            out
        };
        assert!(
            verdict(key, message, &[&r_plus_n[..], s].concat()).is_err(),
            "{what}"
        );
    }
    assert!(
        verdict(key, message, &[s, r].concat()).is_err() || r == s,
        "{what}"
    );
}

/// A certificate's subject key (SEC1 point), TBS bytes and DER signature.
fn certificate_parts(der: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use x509_parser::prelude::{FromDer as _, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    (
        cert.public_key().subject_public_key.data.to_vec(),
        cert.tbs_certificate.as_ref().to_vec(),
        cert.signature_value.data.to_vec(),
    )
}

/// The ES384 signatures of one NSM document: the COSE signature under the leaf key, then
/// every certificate under its issuer's, as `(key, message, r || s, what)`.
fn nsm_signatures(name: &str, document: &[u8]) -> Vec<(Key, Vec<u8>, Vec<u8>, String)> {
    use coset::{CborSerializable as _, TaggedCborSerializable as _};
    use zipchain_verifier_core::nsm::{NsmDocument, NsmLimits};
    // A document whose envelope is refused before its signatures (an unprotected
    // header that is not a map) has none to take; `nsm_verdicts_are_the_same…` has it.
    let Ok(fields) = NsmDocument::parse_unverified(document, &NsmLimits::default()) else {
        return Vec::new();
    };
    let sign1 = coset::CoseSign1::from_slice(document)
        .or_else(|_| coset::CoseSign1::from_tagged_slice(document))
        .unwrap();
    let (leaf_key, _, _) = certificate_parts(&fields.certificate);
    let key = |sec1: &[u8]| Key::Es384(P384Key::from_sec1(sec1).unwrap());
    let mut out = vec![(
        key(&leaf_key),
        sign1.tbs_data(b""),
        sign1.signature.clone(),
        format!("{name}: COSE"),
    )];
    let mut chain: Vec<&[u8]> = fields.cabundle.iter().map(Vec::as_slice).collect();
    chain.push(&fields.certificate);
    for (i, pair) in chain.windows(2).enumerate() {
        let (issuer_key, _, _) = certificate_parts(pair[0]);
        let (_, tbs, der_signature) = certificate_parts(pair[1]);
        let signature = es384_signature_from_der(&der_signature).unwrap();
        out.push((
            key(&issuer_key),
            tbs,
            signature.to_vec(),
            format!("{name}: certificate {}", i + 1),
        ));
    }
    out
}

/// Every NSM document of the shared vectors, real (`nitro/docs`, `nitro/docs-current`)
/// and the conformance chain's stand-in ones, as `(name, bytes)`.
#[cfg(zipchain_vectors)]
fn nsm_documents() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("ZIPCHAIN_VECTORS_DIR"));
    let mut out = Vec::new();
    for dir in [
        "nitro/docs",
        "nitro/docs-current",
        "chain/snapshot/attestations",
    ] {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| dir.starts_with("chain") || p.extension().is_some_and(|e| e == "cbor"))
            .collect();
        entries.sort();
        for path in entries {
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    assert!(
        out.len() >= 30,
        "the vectors hold {} NSM documents",
        out.len()
    );
    out
}

#[cfg(zipchain_vectors)]
#[test]
fn es384_on_every_real_document_and_its_mutations() {
    let mut random = Random(0x1919);
    // Documents of one enclave share their CA certificates: each signature once.
    let mut seen = std::collections::HashSet::new();
    for (name, document) in nsm_documents() {
        for (key, message, signature, what) in nsm_signatures(&name, &document) {
            if !seen.insert((message.clone(), signature.clone())) {
                continue;
            }
            if name.contains("NEGATIVE") && what.ends_with("COSE") {
                assert!(verdict(&key, &message, &signature).is_err(), "{what}");
                mutate(&key, &message, &signature, &mut random, 8);
            } else {
                genuine(&key, &message, &signature, &mut random, &what);
            }
            es384_edges(&key, &message, &signature, &what);
        }
    }
    assert!(seen.len() >= 60, "{} distinct signatures", seen.len());
}

#[test]
fn es384_on_random_keys_messages_and_signatures() {
    use p384::ecdsa::signature::Signer as _;
    let mut random = Random(384);
    for i in 0..24 {
        let mut secret = random.bytes::<48>();
        secret[0] &= 0x7f;
        let signing = p384::ecdsa::SigningKey::from_slice(&secret).unwrap();
        // Every other key in compressed form.
        let point = signing.verifying_key().to_sec1_point(i % 2 == 0);
        let key = Key::Es384(P384Key::from_sec1(point.as_bytes()).unwrap());
        let len = random.below(300);
        let message = random.vec(len);
        let signature: p384::ecdsa::Signature = signing.sign(&message);
        let signature = signature.to_bytes();
        genuine(&key, &message, &signature, &mut random, "random key");
        es384_edges(&key, &message, &signature, "random key");
        // Random signatures under it.
        for _ in 0..4 {
            assert!(verdict(&key, &message, &random.vec(96)).is_err());
        }
    }
}

// ---------------------------------------------------------------- RS256

/// The RS256 edge cases under `key` (modulus `n`): a signature equal to `n`, to `n - 1`,
/// to 0 and to 1 in the modulus length never verifies.
fn rs256_edges(key: &Key, n: &[u8], message: &[u8], what: &str) {
    let mut n_minus_1 = n.to_vec();
    *n_minus_1.last_mut().unwrap() -= 1;
    let mut one = vec![0; n.len()];
    *one.last_mut().unwrap() = 1;
    for bad in [n.to_vec(), n_minus_1, vec![0; n.len()], one] {
        assert!(verdict(key, message, &bad).is_err(), "{what}");
    }
}

/// The shared vectors' RS256 tokens with their keys: `(what, jwks JSON, token)`.
#[cfg(zipchain_vectors)]
fn rs256_tokens() -> Vec<(&'static str, &'static str, String)> {
    let chain: serde_json::Value = serde_json::from_str(vector_str!("chain/chain.json")).unwrap();
    let chain_jwks = chain["timestamp"]["jwks"].to_string();
    let mut out: Vec<(&'static str, &'static str, String)> = vec![
        (
            "cognito id (PDsy6i0Bf)",
            vector_str!("jwt/cognito-us-east-1_PDsy6i0Bf/jwks.json"),
            vector_str!("jwt/cognito-us-east-1_PDsy6i0Bf/id.jwt")
                .trim()
                .to_owned(),
        ),
        (
            "cognito id (iWcTPhZBA)",
            vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/jwks.json"),
            vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/id.jwt")
                .trim()
                .to_owned(),
        ),
        (
            "cognito access (iWcTPhZBA)",
            vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/jwks.json"),
            vector_str!("jwt/cognito-us-east-1_iWcTPhZBA/access.jwt")
                .trim()
                .to_owned(),
        ),
        (
            "RFC 7520 4.1",
            vector_str!("jwt/rfc7520-4.1/jwks.json"),
            vector_str!("jwt/rfc7520-4.1/token.jws").trim().to_owned(),
        ),
    ];
    let chain_jwks: &'static str = Box::leak(chain_jwks.into_boxed_str());
    for (_, bytes) in common::conformance_files() {
        if let Ok(token) = std::str::from_utf8(bytes) {
            if token.split('.').count() == 3 {
                out.push(("conformance chain timestamp", chain_jwks, token.to_owned()));
            }
        }
    }
    out
}

/// The key of `jwks` a token's header names (or the only one), and its modulus.
fn token_key(jwks: &str, token: &str) -> (Key, Vec<u8>) {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let jwks: serde_json::Value = serde_json::from_str(jwks).unwrap();
    let keys = jwks["keys"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![jwks.clone()]);
    let jwk = keys
        .iter()
        .find(|k| header.get("kid").is_none() || k["kid"] == header["kid"])
        .unwrap();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let key = RsaKey::new(&n, &e).unwrap();
    let n = key.modulus().to_vec();
    (Key::Rs256(key), n)
}

#[cfg(zipchain_vectors)]
#[test]
fn rs256_on_every_real_token_and_its_mutations() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut random = Random(256);
    let tokens = rs256_tokens();
    assert!(tokens.len() >= 13, "{} tokens", tokens.len());
    let mut valid = 0;
    for (what, jwks, token) in &tokens {
        let (key, n) = token_key(jwks, token);
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        if verdict(&key, input.as_bytes(), &signature).is_ok() {
            valid += 1;
            genuine(&key, input.as_bytes(), &signature, &mut random, what);
        } else {
            // The conformance chain's timestamp signed by a key outside its JWKS.
            assert_eq!(*what, "conformance chain timestamp");
            mutate(&key, input.as_bytes(), &signature, &mut random, 8);
        }
        rs256_edges(&key, &n, input.as_bytes(), what);
    }
    assert_eq!(valid, tokens.len() - 1);
    // The RFC 7515 A.2 token, whose JWK is a single key.
    let jwk = vector_str!("jwt/rfc7515-a2/jwk.public.json");
    let token = vector_str!("jwt/rfc7515-a2/token.jwt").trim();
    let (key, n) = token_key(jwk, token);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    genuine(
        &key,
        input.as_bytes(),
        &signature,
        &mut random,
        "RFC 7515 A.2",
    );
    rs256_edges(&key, &n, input.as_bytes(), "RFC 7515 A.2");
}

/// A deterministic random source for key generation: SHA-512 in counter mode.
struct Drbg(u64);

impl rand_core::TryRng for Drbg {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dest.chunks_mut(64) {
            self.0 += 1;
            let block = Sha512::digest(self.0.to_be_bytes());
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Drbg {}

#[test]
fn rs256_on_generated_keys_of_every_size_and_exponent() {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    use rsa::traits::PublicKeyParts as _;
    let mut random = Random(2048);
    for (bits, e) in [
        (2048, 65537u64),
        (2048, 3),
        (3072, (1 << 33) - 1),
        (4096, 65537),
    ] {
        let private =
            rsa::PrivateKey::new_with_exp(&mut Drbg(bits as u64 * e), bits, e.into()).unwrap();
        let public = private.to_public_key();
        let n = public.n_bytes().to_vec();
        let key = Key::Rs256(RsaKey::new(&n, &e.to_be_bytes()).unwrap());
        let signing = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private);
        let message = random.vec(100);
        let signature = signing.sign(&message).to_vec();
        assert_eq!(signature.len(), bits / 8);
        let what = format!("{bits}-bit key, e = {e}");
        genuine(&key, &message, &signature, &mut random, &what);
        rs256_edges(&key, &n, &message, &what);
    }
}

/// Keys the core accepts at its bounds (sizes, exponents) that no one signs with: every
/// backend prepares them, and refuses random signatures.
#[test]
fn rs256_keys_at_the_bounds_are_usable_on_every_backend() {
    let mut random = Random(8192);
    for bits in [2048usize, 2049, 4095, 4097, 8191, 8192] {
        for e in [3u64, 65537, (1 << 33) - 1] {
            let mut n = random.vec(bits.div_ceil(8));
            n[0] = (n[0] | 0x80) >> ((8 - bits % 8) % 8);
            *n.last_mut().unwrap() |= 1;
            let key = Key::Rs256(RsaKey::new(&n, &e.to_be_bytes()).unwrap());
            for len in [n.len() - 1, n.len(), n.len() + 1] {
                assert!(verdict(&key, b"m", &random.vec(len)).is_err());
            }
            rs256_edges(&key, &n, b"m", "a key at the bounds");
        }
    }
}

// ---------------------------------------------------------------- Ed25519

/// `A`'s secret scalar from its 32-byte seed (RFC 8032 §5.1.5).
fn secret_scalar(seed: &[u8; 32]) -> Scalar {
    let h = Sha512::digest(seed);
    let mut a: [u8; 32] = h[..32].try_into().unwrap();
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    Scalar::from_bytes_mod_order(a)
}

/// `k = SHA-512(R || A || M) mod ℓ`.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// Whether AWS-LC's own Ed25519 (cofactorless, no small-order checks) accepts.
fn aws_lc_alone(key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, key)
        .verify(message, signature)
        .is_ok()
}

/// The Ed25519 edge cases around a genuine signature: `S + ℓ` (the same scalar, not
/// canonical) and `R` replaced by each small-order point never verify.
fn ed25519_edges(key: &Key, message: &[u8], signature: &[u8], what: &str) {
    const ELL: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let (r, s) = signature.split_at(32);
    let mut s_plus_ell = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(ELL[i]) + carry;
        s_plus_ell[i] = sum as u8;
        carry = sum >> 8;
    }
    assert!(
        verdict(key, message, &[r, &s_plus_ell].concat()).is_err(),
        "{what}: S + ℓ"
    );
    for t in EIGHT_TORSION {
        let small = t.compress().to_bytes();
        assert!(
            verdict(key, message, &[&small[..], s].concat()).is_err(),
            "{what}"
        );
    }
}

#[cfg(zipchain_vectors)]
#[test]
fn ed25519_on_every_sequence_attestation_and_its_mutations() {
    use zipchain_verifier_core::nsm::{NsmDocument, NsmLimits};
    use zipchain_verifier_core::sequence::SequenceAttestation;
    use zipchain_verifier_core::trust::TrustDescriptor;
    let trust = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
    let key = Key::Ed25519(*trust.sequencer_key().ed25519());
    let mut random = Random(25519);
    let mut checked = 0;
    for (name, document) in nsm_documents() {
        if !name.starts_with("chain/") {
            continue;
        }
        let fields = NsmDocument::parse_unverified(&document, &NsmLimits::default()).unwrap();
        let s = SequenceAttestation::decode(fields.user_data.as_deref().unwrap()).unwrap();
        let message = SequenceAttestation::signed_message(&s.y, s.k);
        genuine(&key, &message, &s.g, &mut random, &name);
        ed25519_edges(&key, &message, &s.g, &name);
        checked += 1;
    }
    assert!(checked >= 9, "{checked} sequence attestations");
}

#[test]
fn ed25519_on_random_keys_messages_and_signatures() {
    let mut random = Random(0xed);
    for _ in 0..48 {
        let signing = SigningKey::from_bytes(&random.bytes());
        let key = Key::Ed25519(Ed25519Key::from_bytes(signing.verifying_key().as_bytes()).unwrap());
        let len = random.below(200);
        let message = random.vec(len);
        let signature = signing.sign(&message).to_bytes();
        genuine(&key, &message, &signature, &mut random, "random key");
        ed25519_edges(&key, &message, &signature, "random key");
        assert!(verdict(&key, &message, &random.vec(64)).is_err());
    }
    // Random 32-byte strings as keys: about half are points.
    let mut points = 0;
    for _ in 0..64 {
        if let Ok(key) = Ed25519Key::from_bytes(&random.bytes()) {
            points += 1;
            let key = Key::Ed25519(key);
            for _ in 0..4 {
                assert!(verdict(&key, b"m", &random.vec(64)).is_err());
            }
        }
    }
    assert!(points > 10, "{points}");
}

/// A signature whose `R` is the identity under a genuine key: `S = k·a` makes
/// `[S]B − [k]A` the identity, so AWS-LC's own check passes; `verify_strict` refuses a
/// small-order `R`, and so must every backend.
#[test]
fn ed25519_small_order_r_is_refused_though_the_equation_holds() {
    let mut random = Random(8);
    for _ in 0..8 {
        let seed: [u8; 32] = random.bytes();
        let a = secret_scalar(&seed);
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut identity_r = [0u8; 32];
        identity_r[0] = 1;
        let message = random.vec(40);
        let s = challenge(&identity_r, &public, &message) * a;
        let signature = [&identity_r[..], s.as_bytes()].concat();
        assert!(
            aws_lc_alone(&public, &message, &signature),
            "the case is not reached"
        );
        let key = Key::Ed25519(Ed25519Key::from_bytes(&public).unwrap());
        assert_eq!(verdict(&key, &message, &signature), Err(BadSignature));
    }
}

/// A key with a small-order component (`A' = A + T`, not itself of small order): a
/// signature with `S = k·a` leaves `[S]B − [k]A' = −[k]T`, and where that is the `R`
/// the challenge was made with, AWS-LC passes it; `verify_strict` refuses the small-order
/// `R`.
#[test]
fn ed25519_mixed_order_key_with_small_order_r_is_refused() {
    let mut random = Random(88);
    let mut reached = 0;
    for attempt in 0..64u32 {
        let seed: [u8; 32] = random.bytes();
        let a = secret_scalar(&seed);
        let t = EIGHT_TORSION[1 + (attempt as usize % 7)];
        let mixed = (ED25519_BASEPOINT_POINT * a + t).compress().to_bytes();
        let key = Key::Ed25519(Ed25519Key::from_bytes(&mixed).unwrap());
        let message = random.vec(16);
        for candidate in EIGHT_TORSION {
            let r = candidate.compress().to_bytes();
            let k = challenge(&r, &mixed, &message);
            if (-(t * k)).compress().to_bytes() != r {
                continue;
            }
            let signature = [&r[..], (k * a).as_bytes()].concat();
            assert!(
                aws_lc_alone(&mixed, &message, &signature),
                "the case is not reached"
            );
            assert_eq!(verdict(&key, &message, &signature), Err(BadSignature));
            reached += 1;
        }
    }
    assert!(reached >= 4, "only {reached} crafted signatures");
}

/// Small-order ("weak") keys: `S = 0` and `R = −[k]A` pass AWS-LC's own check;
/// `verify_strict` verifies nothing under such a key.
#[test]
fn ed25519_small_order_keys_verify_nothing() {
    let mut reached = 0;
    for (i, t) in EIGHT_TORSION.into_iter().enumerate() {
        let weak = t.compress().to_bytes();
        let key = Key::Ed25519(Ed25519Key::from_bytes(&weak).unwrap());
        for m in 0..16u8 {
            let message = [m, i as u8];
            for candidate in EIGHT_TORSION {
                let r = candidate.compress().to_bytes();
                let k = challenge(&r, &weak, &message);
                if (-(t * k)).compress().to_bytes() != r {
                    continue;
                }
                let signature = [&r[..], &[0u8; 32][..]].concat();
                if aws_lc_alone(&weak, &message, &signature) {
                    reached += 1;
                }
                assert_eq!(verdict(&key, &message, &signature), Err(BadSignature));
            }
        }
    }
    assert!(
        reached >= 8,
        "only {reached} crafted signatures pass AWS-LC alone"
    );
}

/// Keys whose encoding is not canonical (`y ≥ p`): ed25519-dalek decodes them (and
/// `verify_strict` hashes them as given), AWS-LC refuses them; every backend verifies
/// alike under them, and the core accepts exactly the ones dalek decodes.
#[test]
fn ed25519_non_canonical_keys() {
    let mut random = Random(19);
    let mut decoded = 0;
    for y in 0u8..19 {
        for sign in [0u8, 0x80] {
            // p + y = 2^255 - 19 + y, little-endian, with the sign bit.
            let mut bytes = [0xffu8; 32];
            bytes[0] = 0xed + y;
            bytes[31] = 0x7f | sign;
            let Ok(key) = Ed25519Key::from_bytes(&bytes) else {
                continue;
            };
            decoded += 1;
            // AWS-LC alone refuses every signature under it, even one that would
            // otherwise pass its equation (none can be made without the point's
            // discrete log, so the backend's fallback to dalek is only defensive).
            let key = Key::Ed25519(key);
            for _ in 0..8 {
                let _ = verdict(&key, b"m", &random.vec(64));
            }
            // And any small-order R with S = 0 (these keys may be of small order).
            for t in EIGHT_TORSION {
                let signature = [&t.compress().to_bytes()[..], &[0u8; 32][..]].concat();
                let _ = verdict(&key, b"m", &signature);
            }
        }
    }
    assert!(decoded >= 4, "{decoded} non-canonical keys decode");
}

// ---------------------------------------------------------------- the verifiers

/// The NSM verifier gives the same verdict on every backend, for every document of the
/// vectors and for copies with a byte changed (in the COSE signature, the payload and
/// anywhere).
#[cfg(zipchain_vectors)]
#[test]
fn nsm_verdicts_are_the_same_on_every_backend() {
    use zipchain_verifier_core::nsm::{NsmPolicy, NsmVerifier, VerifyAt};
    let verifiers: Vec<NsmVerifier> = backends()
        .iter()
        .map(|b| NsmVerifier::with_backend(NsmPolicy::default(), *b).unwrap())
        .collect();
    let chain =
        zipchain_verifier_core::trust::TrustDescriptor::from_json(vector_str!("chain/chain.json"))
            .unwrap();
    let stand_in: Vec<NsmVerifier> = backends()
        .iter()
        .map(|b| NsmVerifier::with_backend(chain.nsm_policy().unwrap(), *b).unwrap())
        .collect();
    let mut random = Random(1);
    let mut valid = 0;
    for (name, document) in nsm_documents() {
        let verifiers = if name.starts_with("chain/") {
            &stand_in
        } else {
            &verifiers
        };
        let verdicts = |bytes: &[u8]| {
            let mut all = verifiers
                .iter()
                .map(|v| format!("{:?}", v.verify(bytes, VerifyAt::DocumentTimestamp)));
            let first = all.next().unwrap();
            for other in all {
                assert_eq!(other, first, "{name}");
            }
            first.starts_with("Ok")
        };
        valid += usize::from(verdicts(&document));
        let len = document.len();
        let mut positions: Vec<usize> = (len - 96..len).step_by(7).collect();
        positions.extend((0..24).map(|_| random.below(len)));
        for at in positions {
            let mut changed = document.clone();
            changed[at] ^= 1 << random.below(8);
            verdicts(&changed);
        }
    }
    assert!(valid >= 20, "{valid} documents verify");
}

/// The timestamp verifier and the audit give the same verdicts on every backend, on the
/// conformance chain and on copies with a timestamp or attestation damaged.
#[cfg(zipchain_vectors)]
#[test]
fn timestamp_and_audit_verdicts_are_the_same_on_every_backend() {
    use zipchain_verifier_core::chain::{Auditor, HashSeed};
    use zipchain_verifier_core::hash::Hash32;
    use zipchain_verifier_core::snapshot::ObjectKind;
    use zipchain_verifier_core::trust::TrustDescriptor;
    let trust = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
    let auditors: Vec<Auditor> = backends()
        .iter()
        .map(|b| {
            Auditor::with_backend(&trust, *b)
                .unwrap()
                .with_hash_seed(HashSeed::new(7))
        })
        .collect();
    for (_, _, token) in rs256_tokens() {
        let mut all = auditors
            .iter()
            .map(|a| format!("{:?}", a.timestamp_verifier().validate(&token)));
        let first = all.next().unwrap();
        for other in all {
            assert_eq!(other, first);
        }
    }
    let snapshot = common::conformance_snapshot();
    let audits: Vec<_> = auditors
        .iter()
        .map(|a| a.audit(&snapshot, &mut |_, _| {}))
        .collect();
    assert!(audits.iter().all(|a| *a == audits[0]));
    assert!(audits[0].height().is_some_and(|h| h >= 5));
    // Damage one object of each signed kind at a time: the same audit on every backend.
    let mut random = Random(5);
    for kind in [ObjectKind::Timestamp, ObjectKind::Attestation] {
        let objects: Vec<_> = snapshot
            .objects(kind)
            .map(|(k, bytes)| (*k, bytes.to_vec()))
            .collect();
        for (key, bytes) in objects.iter().take(4) {
            // In place of the original, under its new name: only its signature is wrong.
            let mut damaged = snapshot.clone();
            let mut changed = bytes.clone();
            let at = changed.len() - 1 - random.below(40);
            changed[at] ^= 0x04;
            damaged.remove(kind, key);
            damaged.insert(kind, Hash32::digest(&changed), changed);
            let audits: Vec<_> = auditors
                .iter()
                .map(|a| a.audit(&damaged, &mut |_, _| {}))
                .collect();
            assert!(audits.iter().all(|a| *a == audits[0]), "{kind:?} {key}");
            assert!(!audits[0].invalid_objects.is_empty());
        }
    }
}

#[cfg(not(zipchain_vectors))]
#[test]
fn vector_tests_skipped() {
    common::vectors_absent("crypto_differential");
}
