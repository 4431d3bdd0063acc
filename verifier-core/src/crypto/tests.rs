//! The seam's own rules: key checks, the DER signature decoding, and the backends'
//! agreement on the edge cases the rules are about (the differential test in
//! `tests/crypto_differential.rs` adds the real vectors and random mutations).

use super::*;
use ed25519_dalek::{Signer as _, SigningKey};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn the_default_backend_is_pure_rust_and_listed_first() {
    assert_eq!(default_backend().name(), "rustcrypto");
    assert_eq!(backends()[0].name(), "rustcrypto");
    assert_eq!(
        backend_named("rustcrypto").map(|b| b.name()),
        Some("rustcrypto")
    );
    assert!(backend_named("openssl").is_none());
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    {
        assert_eq!(fastest_backend().name(), "aws-lc-rs");
        assert_eq!(backends().len(), 2);
    }
    #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
    assert_eq!(fastest_backend().name(), "rustcrypto");
}

#[test]
fn rsa_keys_follow_one_rule() {
    let n = |bits: usize| {
        let mut n = vec![0xffu8; bits.div_ceil(8)];
        if bits % 8 != 0 {
            n[0] = 0xff >> (8 - bits % 8);
        }
        n
    };
    let e = 65537u32.to_be_bytes();
    assert!(RsaKey::new(&n(2048), &e).is_ok());
    assert!(RsaKey::new(&n(8192), &e).is_ok());
    // Leading zeros do not count.
    let mut padded = vec![0, 0];
    padded.extend(n(2048));
    let key = RsaKey::new(&padded, &[0, 1, 0, 1]).unwrap();
    assert_eq!(key.modulus().len(), 256);
    assert_eq!(key.exponent(), &[1, 0, 1]);
    for (n, e, why) in [
        (n(2047), e.to_vec(), "too small"),
        (n(8193), e.to_vec(), "too large"),
        (n(2048), vec![1], "e = 1"),
        (n(2048), vec![2], "even e"),
        (n(2048), vec![1, 0, 0, 0, 0, 1], "e >= 2^33"),
        (
            {
                let mut even = n(2048);
                *even.last_mut().unwrap() = 0xfe;
                even
            },
            e.to_vec(),
            "even n",
        ),
    ] {
        let err = RsaKey::new(&n, &e).unwrap_err();
        assert_eq!(err.algorithm, "RS256", "{why}");
    }
}

#[test]
fn es384_der_signatures_decode_strictly() {
    use p384::ecdsa::signature::Signer as _;
    let key = p384::ecdsa::SigningKey::from_slice(&[7u8; 48]).unwrap();
    let signature: p384::ecdsa::Signature = key.sign(b"message");
    let der = signature.to_der();
    assert_eq!(
        es384_signature_from_der(der.as_bytes()).unwrap(),
        <[u8; 96]>::from(signature.to_bytes())
    );
    // Trailing bytes, a cut, an empty input, and a non-minimal length are refused.
    let mut long = der.as_bytes().to_vec();
    long.push(0);
    assert!(es384_signature_from_der(&long).is_err());
    assert!(es384_signature_from_der(&der.as_bytes()[..der.len() - 1]).is_err());
    assert!(es384_signature_from_der(&[]).is_err());
    let mut non_minimal = vec![0x30, 0x81, der.as_bytes()[1]];
    non_minimal.extend_from_slice(&der.as_bytes()[2..]);
    assert!(es384_signature_from_der(&non_minimal).is_err());
}

#[test]
fn p384_keys_decode_with_the_p384_crate() {
    let key = p384::ecdsa::SigningKey::from_slice(&[7u8; 48]).unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    let decoded = P384Key::from_sec1(point.as_bytes()).unwrap();
    assert_eq!(decoded.to_uncompressed(), point.as_bytes());
    let compressed = key.verifying_key().to_sec1_point(true);
    assert_eq!(P384Key::from_sec1(compressed.as_bytes()).unwrap(), decoded);
    let mut off_curve = point.as_bytes().to_vec();
    off_curve[96] ^= 1;
    assert!(P384Key::from_sec1(&off_curve).is_err());
    assert!(P384Key::from_sec1(&[0]).is_err());
    assert!(P384Key::from_sec1(&[]).is_err());
}

/// The same known answers and the same refusals on every backend, for each algorithm.
#[test]
fn every_backend_verifies_and_refuses_alike() {
    let ed_signing = SigningKey::from_bytes(&[9; 32]);
    let ed_key = Ed25519Key::from_bytes(&ed_signing.verifying_key().to_bytes()).unwrap();
    let ed_signature = ed_signing.sign(b"zipchain").to_bytes();
    let p_signing = p384::ecdsa::SigningKey::from_slice(&[5u8; 48]).unwrap();
    let p_key =
        P384Key::from_sec1(p_signing.verifying_key().to_sec1_point(false).as_bytes()).unwrap();
    let p_signature: p384::ecdsa::Signature =
        p384::ecdsa::signature::Signer::sign(&p_signing, b"zipchain");
    let p_signature = p_signature.to_bytes();
    for backend in backends() {
        let name = backend.name();
        let ed = backend.ed25519(&ed_key).unwrap();
        assert_eq!(ed.verify(b"zipchain", &ed_signature), Ok(()), "{name}");
        assert!(ed.verify(b"zipchaiN", &ed_signature).is_err(), "{name}");
        assert!(
            ed.verify(b"zipchain", &ed_signature[..63]).is_err(),
            "{name}"
        );
        assert!(ed.verify(b"zipchain", &[0; 65]).is_err(), "{name}");
        let es = backend.es384(&p_key).unwrap();
        assert_eq!(es.verify(b"zipchain", &p_signature), Ok(()), "{name}");
        assert!(es.verify(b"zipchaiN", &p_signature).is_err(), "{name}");
        assert!(
            es.verify(b"zipchain", &p_signature[..95]).is_err(),
            "{name}"
        );
        assert!(es.verify(b"zipchain", &[0; 96]).is_err(), "{name}");
    }
}
