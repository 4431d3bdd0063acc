//! Deep nesting is refused, never a stack overflow (issue #18): a megabyte of nested CBOR
//! arrays, maps, tags and indefinite items, and of nested JSON arrays and objects, given
//! to every reader of outside input that takes CBOR or JSON, natively and on wasm32
//! (whose stack is 1 MiB). Each must answer with an error, not crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zipchain_verifier_core::batch::Batch;
use zipchain_verifier_core::chain::HashSeed;
use zipchain_verifier_core::nsm::{NsmDocument, NsmLimits, NsmVerifier, VerifyAt};
use zipchain_verifier_core::timestamp::{Jwks, TokenUse};
use zipchain_verifier_core::trust::TrustDescriptor;
use zipchain_verifier_core::verdict;

/// How deep: one byte a level, a megabyte.
const DEPTH: usize = 1 << 20;

/// `DEPTH` nested CBOR items opened by `open` (repeated), closed by `close` when the
/// items are indefinite, around a `0x00`.
fn cbor(open: &[u8], close: &[u8]) -> Vec<u8> {
    let levels = DEPTH / open.len();
    let mut out = open.repeat(levels);
    out.push(0x00);
    out.extend(close.repeat(levels));
    out
}

/// The nested CBOR shapes: definite arrays, maps keyed by 0, tags, indefinite arrays and
/// maps, and a COSE_Sign1 whose payload position opens the nesting.
fn cbor_shapes() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("arrays", cbor(&[0x81], &[])),
        ("maps", cbor(&[0xa1, 0x00], &[])),
        ("tags", cbor(&[0xc1], &[])),
        ("indefinite arrays", cbor(&[0x9f], &[0xff])),
        ("indefinite maps", cbor(&[0xbf, 0x00], &[0xff])),
        (
            "envelope",
            [
                &[0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0][..],
                &cbor(&[0x81], &[]),
            ]
            .concat(),
        ),
    ]
}

#[test]
fn deep_cbor_is_refused_by_every_cbor_reader() {
    let verifier = NsmVerifier::aws();
    for (name, bytes) in cbor_shapes() {
        assert!(
            NsmDocument::parse_unverified(&bytes, &NsmLimits::default()).is_err(),
            "{name}"
        );
        assert!(
            verifier
                .verify(&bytes, VerifyAt::DocumentTimestamp)
                .is_err(),
            "{name}"
        );
        let v = verdict::nsm::verify(
            &bytes,
            &verdict::nsm::NsmRequest {
                root_pem: None,
                at_ms: None,
                allow_debug: None,
            },
        );
        assert!(!v.valid, "{name}");
        assert!(Batch::decode(&bytes).is_err(), "{name}");
    }
}

/// `DEPTH` nested JSON arrays or objects around `0`.
fn json(open: &str, close: &str) -> String {
    let levels = DEPTH / open.len();
    format!("{}0{}", open.repeat(levels), close.repeat(levels))
}

fn json_shapes() -> Vec<(&'static str, String)> {
    vec![
        ("arrays", json("[", "]")),
        ("objects", json("{\"a\":", "}")),
        ("in a member", format!("{{\"keys\":{}}}", json("[", "]"))),
    ]
}

#[test]
fn deep_json_is_refused_by_every_json_reader() {
    for (name, text) in json_shapes() {
        assert!(Jwks::from_json(&text).is_err(), "jwks {name}");
        assert!(TrustDescriptor::from_json(&text).is_err(), "trust {name}");
        let cert = verdict::certificate::check(&text, &text, None, HashSeed::new(1));
        assert!(!cert.valid, "certificate {name}");
        // A JWT whose header, then whose claims, nest deeply.
        let deep = URL_SAFE_NO_PAD.encode(&text);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#);
        for token in [format!("{deep}.e30.c2ln"), format!("{header}.{deep}.c2ln")] {
            let jwks = verdict::jwt::JwksInput::Json(text.clone());
            let v = verdict::jwt::verify(&token, &jwks, "iss".into(), TokenUse::Id, None);
            assert!(!v.valid, "jwt {name}");
        }
    }
}
