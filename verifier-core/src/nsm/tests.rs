use p384::ecdsa::signature::{Signer, Verifier};
use p384::ecdsa::{Signature, SigningKey};
use p384::elliptic_curve::scalar::IsHigh;
use sha2::Digest;

use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn embedded_root_is_aws_root_g1() {
    let fingerprint = hex::encode(sha2::Sha256::digest(AWS_NITRO_ROOT_G1_DER));
    assert_eq!(
        fingerprint,
        "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"
    );
    assert_eq!(fingerprint, AWS_NITRO_ROOT_G1_SHA256);
    let verifier = NsmVerifier::aws();
    assert_eq!(verifier.policy(), &NsmPolicy::default());
    // Root-G1 is valid 2019-10-28T13:28:05Z .. 2049-10-28T14:28:05Z.
    assert_eq!(verifier.root.not_before, 1_572_269_285);
    assert_eq!(verifier.root.not_after, 2_519_044_085);
    assert_eq!(verifier.root.path_len, None);
}

#[test]
fn bad_roots_are_rejected() {
    for root_der in [Vec::new(), b"not a certificate".to_vec(), {
        let mut der = AWS_NITRO_ROOT_G1_DER.to_vec();
        der.push(0);
        der
    }] {
        let policy = NsmPolicy {
            root_der,
            ..NsmPolicy::default()
        };
        let err = NsmVerifier::new(policy).unwrap_err();
        assert!(matches!(err, NsmError::BadRoot { .. }), "{err:?}");
        assert_eq!(err.check(), "root");
    }
}

/// p384 (unlike k256) does not enforce low-S; NSM signatures are high-S about
/// half the time, so this must keep holding (research nitro-FINDINGS §0.2).
#[test]
fn high_s_signatures_verify() {
    let key = SigningKey::from_slice(&[7u8; 48]).unwrap();
    let msg = b"Sig_structure stand-in";
    let sig: Signature = key.sign(msg);
    let (r, s) = sig.split_scalars();
    let flipped = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    let (low, high) = if bool::from(s.is_high()) {
        (flipped, sig)
    } else {
        (sig, flipped)
    };
    assert!(bool::from(high.s().is_high()));
    assert!(!bool::from(low.s().is_high()));
    key.verifying_key().verify(msg, &low).unwrap();
    key.verifying_key().verify(msg, &high).unwrap();
}

#[test]
fn check_names_are_stable() {
    assert_eq!(NsmError::Signature.check(), "signature");
    assert_eq!(NsmError::DebugMode.check(), "debug");
    assert_eq!(NsmError::ZeroTimestamp.check(), "fields");
    assert_eq!(NsmError::UnprotectedHeader.check(), "cose");
    assert_eq!(
        NsmError::Chain {
            reason: String::new()
        }
        .check(),
        "chain"
    );
    assert_eq!(
        NsmError::PcrMismatch {
            index: 0,
            expected: vec![1],
            got: None
        }
        .to_string(),
        "PCR0 is absent; expected 01"
    );
}
