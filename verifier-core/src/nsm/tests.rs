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

/// The strict DER reader of `x509`, on the AWS root and on edits of it.
mod x509_reader {
    use super::super::x509::{self, BasicConstraints, Extension, KeyUsage};
    use super::AWS_NITRO_ROOT_G1_DER as ROOT;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The TLVs in `bytes` (definite lengths of up to two bytes, as in the root).
    fn children(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (len, header) = match bytes[1] {
                n @ 0..=0x7f => (usize::from(n), 2),
                0x81 => (usize::from(bytes[2]), 3),
                0x82 => (usize::from(bytes[2]) << 8 | usize::from(bytes[3]), 4),
                other => panic!("length byte {other:#x}"),
            };
            out.push(bytes[..header + len].to_vec());
            bytes = &bytes[header + len..];
        }
        out
    }

    /// The contents of one TLV.
    fn contents(tlv: &[u8]) -> Vec<u8> {
        let header = match tlv[1] {
            0..=0x7f => 2,
            0x81 => 3,
            _ => 4,
        };
        tlv[header..].to_vec()
    }

    /// A TLV with a DER length.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n @ 0..=0x7f => out.push(n as u8),
            n @ 0x80..=0xff => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    /// The root with its TBS fields passed through `edit` (lengths re-encoded).
    fn edit_tbs(edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<u8> {
        let cert = children(&contents(ROOT));
        let mut tbs = children(&contents(&cert[0]));
        edit(&mut tbs);
        let mut body = tlv(0x30, &tbs.concat());
        body.extend_from_slice(&cert[1]);
        body.extend_from_slice(&cert[2]);
        tlv(0x30, &body)
    }

    /// The root with its extensions passed through `edit`.
    fn edit_extensions(edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<u8> {
        edit_tbs(|tbs| {
            let last = tbs.last_mut().unwrap();
            assert_eq!(last[0], 0xa3);
            let mut exts = children(&contents(&contents(last)[..]));
            edit(&mut exts);
            *last = tlv(0xa3, &tlv(0x30, &exts.concat()));
        })
    }

    /// An extension with `oid` (DER contents), critical or not, and `value`.
    fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
        let mut body = tlv(0x06, oid);
        if critical {
            body.extend([0x01, 0x01, 0xff]);
        }
        body.extend(tlv(0x04, value));
        tlv(0x30, &body)
    }

    const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];

    #[test]
    fn the_aws_root() {
        let cert = x509::parse(ROOT).unwrap();
        assert_eq!(
            (cert.not_before, cert.not_after),
            (1_572_269_285, 2_519_044_085)
        );
        assert_eq!(
            cert.basic_constraints,
            Some(Extension {
                critical: true,
                value: BasicConstraints {
                    ca: true,
                    path_len: None
                }
            })
        );
        assert_eq!(
            cert.key_usage,
            Some(Extension {
                critical: true,
                value: KeyUsage {
                    digital_signature: true,
                    key_cert_sign: true
                }
            })
        );
        assert_eq!(cert.key_algorithm.to_string(), "1.2.840.10045.2.1");
        assert_eq!(cert.public_key.len(), 97);
        // The edit helpers rebuild the root unchanged.
        assert_eq!(edit_extensions(|_| {}), ROOT);
    }

    #[test]
    fn trailing_and_truncated_input_is_rejected() {
        let mut long = ROOT.to_vec();
        long.push(0);
        assert_eq!(
            x509::parse(&long).unwrap_err(),
            "1 bytes after the certificate"
        );
        for len in 0..ROOT.len() {
            assert!(x509::parse(&ROOT[..len]).is_err(), "{len} bytes");
        }
    }

    #[test]
    fn extensions_are_strict() {
        // Present twice.
        let twice = edit_extensions(|exts| exts.push(exts[0].clone()));
        let err = x509::parse(&twice).unwrap_err();
        assert!(err.contains("2.5.29.19 is present twice"), "{err}");
        // None at all, in an empty SEQUENCE.
        assert!(x509::parse(&edit_extensions(Vec::clear)).is_err());
        // basicConstraints with a pathLen, with a negative one, with trailing bytes.
        let bc = |value: &[u8]| {
            edit_extensions(|exts| exts[0] = extension(BASIC_CONSTRAINTS, true, value))
        };
        let cert = bc(&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x03]);
        assert_eq!(
            x509::parse(&cert).unwrap().basic_constraints,
            Some(Extension {
                critical: true,
                value: BasicConstraints {
                    ca: true,
                    path_len: Some(3)
                }
            })
        );
        for bad in [
            &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0xff][..],
            &[0x30, 0x03, 0x01, 0x01, 0xff, 0x00],
            &[0x30, 0x03, 0x01, 0x01, 0x01],
            &[0x30, 0x03, 0x01, 0x01],
            &[0x04, 0x00],
        ] {
            let err = x509::parse(&bc(bad)).unwrap_err();
            assert!(err.starts_with("basicConstraints: "), "{bad:02x?}: {err}");
        }
        // keyUsage: only digitalSignature; not a BIT STRING.
        let ku =
            |value: &[u8]| edit_extensions(|exts| exts[2] = extension(KEY_USAGE, false, value));
        assert_eq!(
            x509::parse(&ku(&[0x03, 0x02, 0x07, 0x80]))
                .unwrap()
                .key_usage,
            Some(Extension {
                critical: false,
                value: KeyUsage {
                    digital_signature: true,
                    key_cert_sign: false
                }
            })
        );
        let err = x509::parse(&ku(&[0x04, 0x01, 0x80])).unwrap_err();
        assert!(err.starts_with("keyUsage: "), "{err}");
    }

    #[test]
    fn version_and_times_are_strict() {
        // version 4 (value 3).
        let v4 = edit_tbs(|tbs| tbs[0] = vec![0xa0, 0x03, 0x02, 0x01, 0x03]);
        let err = x509::parse(&v4).unwrap_err();
        assert!(err.starts_with("version field 3"), "{err}");
        // A UTCTime with seconds left out is not DER.
        let short = edit_tbs(|tbs| {
            let validity = children(&contents(&tbs[4]));
            let mut not_before = tlv(0x17, b"1910281328Z");
            not_before.extend_from_slice(&validity[1]);
            tbs[4] = tlv(0x30, &not_before);
        });
        assert!(x509::parse(&short).is_err());
        // A GeneralizedTime is read as well.
        let general = edit_tbs(|tbs| {
            let validity = children(&contents(&tbs[4]));
            let mut times = validity[0].clone();
            times.extend(tlv(0x18, b"20491028142805Z"));
            tbs[4] = tlv(0x30, &times);
        });
        assert_eq!(x509::parse(&general).unwrap().not_after, 2_519_044_085);
    }
}
