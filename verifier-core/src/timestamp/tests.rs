#![allow(clippy::unwrap_used, clippy::expect_used)]

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
        let e_bytes = crate::crypto::strip_leading_zeros(&e_bytes);
        let key = rsa::PublicKey::new_unchecked(
            rsa::BoxedUint::from_be_slice_vartime(&n),
            rsa::BoxedUint::from_be_slice_vartime(e_bytes),
        );
        let expected = key.to_public_key_der().unwrap();
        assert_eq!(
            crate::crypto::rsa_spki_der(&n, e_bytes),
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
