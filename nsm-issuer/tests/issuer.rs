//! The stand-in issuer's documents verify under its root with the real
//! verifier, have the exact layout of real NSM documents, and keep verifying at
//! their own time while the CA renews itself over weeks.

use ciborium::Value;
use coset::{CborSerializable, CoseSign1};
use verifier_core::nsm::{CertPosition, NsmError, NsmPolicy, NsmVerifier, VerifyAt};
use verifier_core::time::UnixSeconds;
use zipchain_nsm_issuer::{DocumentRequest, IssuerError, PayloadEncoding, TestCa, UnixMillis};

/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600_000;

fn verifier(ca: &TestCa) -> NsmVerifier {
    NsmVerifier::new(NsmPolicy {
        root_der: ca.root_der().to_vec(),
        ..NsmPolicy::default()
    })
    .unwrap()
}

fn sequencer_request(ca: &TestCa) -> DocumentRequest {
    DocumentRequest {
        public_key: Some(vec![0x11; 32]),
        user_data: Some(vec![0x22; 121]),
        ..ca.request()
    }
}

#[test]
fn documents_verify_under_the_test_root_only() {
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let req = sequencer_request(&ca);
    let doc = ca.issue(&req, UnixMillis(T0 + 1234)).unwrap();

    let v = verifier(&ca)
        .verify(&doc, VerifyAt::DocumentTimestamp)
        .unwrap();
    assert!(!v.is_debug());
    assert_eq!(v.checked_at(), UnixSeconds(T0 / 1000 + 1));
    let d = v.document();
    assert_eq!(d.module_id, ca.module_id());
    assert_eq!(d.timestamp, UnixMillis(T0 + 1234));
    assert_eq!(d.pcrs, DocumentRequest::default_pcrs());
    assert_eq!(d.public_key, req.public_key);
    assert_eq!(d.user_data, req.user_data);
    assert_eq!(d.nonce, None);
    assert_eq!(d.certificate, ca.leaf_der());
    assert_eq!(d.cabundle, ca.cabundle());
    assert_eq!(d.cabundle[0], ca.root_der());
    assert_eq!(v.chain_validity().not_after.0 as i64, ca.leaf_validity().1);

    // With a PCR0 allow-list, as a trust descriptor would pin it.
    let pinned = NsmVerifier::new(NsmPolicy {
        root_der: ca.root_der().to_vec(),
        pcrs: [(0, DocumentRequest::default_pcrs()[&0].clone())].into(),
        ..NsmPolicy::default()
    })
    .unwrap();
    pinned.verify(&doc, VerifyAt::DocumentTimestamp).unwrap();

    let err = NsmVerifier::aws()
        .verify(&doc, VerifyAt::DocumentTimestamp)
        .unwrap_err();
    assert!(matches!(err, NsmError::RootMismatch { .. }), "{err:?}");
    // Another test CA's root.
    let other = TestCa::generate(UnixMillis(T0)).unwrap();
    let err = verifier(&other)
        .verify(&doc, VerifyAt::DocumentTimestamp)
        .unwrap_err();
    assert!(matches!(err, NsmError::RootMismatch { .. }), "{err:?}");
}

#[test]
fn documents_have_the_real_layout() {
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let doc = ca.issue(&ca.request(), UnixMillis(T0)).unwrap();
    // Untagged COSE_Sign1, protected {1: -35}, unprotected {}, payload bstr.
    assert_eq!(doc[..7], [0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0]);
    assert_eq!(doc[7], 0x59);
    // The signature: a 96-byte bstr at the end.
    assert_eq!(doc[doc.len() - 98..doc.len() - 96], [0x58, 0x60]);

    let sign1 = CoseSign1::from_slice(&doc).unwrap();
    let payload = sign1.payload.unwrap();
    let Value::Map(entries) = ciborium::de::from_reader(payload.as_slice()).unwrap() else {
        panic!("payload is not a map");
    };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_text().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "module_id",
            "digest",
            "timestamp",
            "pcrs",
            "certificate",
            "cabundle",
            "public_key",
            "user_data",
            "nonce"
        ]
    );
    for (_, v) in &entries[6..] {
        assert_eq!(*v, Value::Null);
    }
    // The timestamp in the 8-byte form, even though it would fit in fewer bytes.
    let mut ts = b"\x69timestamp\x1b".to_vec();
    ts.extend_from_slice(&T0.to_be_bytes());
    assert!(payload.windows(ts.len()).any(|w| w == ts.as_slice()));
    // The outer map indefinite-length, as AWS's NSM writes it since 2025-09; `pcrs`
    // and `cabundle` definite.
    assert_eq!(payload[0], 0xbf);
    assert_eq!(payload.last(), Some(&0xff));
    assert!(payload.windows(6).any(|w| w == b"\x64pcrs\xb0"));
    assert!(payload.windows(10).any(|w| w == b"\x68cabundle\x84"));
}

#[test]
fn both_payload_encodings_verify_and_carry_the_same_fields() {
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let indefinite = sequencer_request(&ca);
    assert_eq!(indefinite.encoding, PayloadEncoding::Indefinite);
    let definite = DocumentRequest {
        encoding: PayloadEncoding::Definite,
        ..indefinite.clone()
    };
    let now = UnixMillis(T0 + 5);
    let new = ca.issue(&indefinite, now).unwrap();
    let old = ca.issue(&definite, now).unwrap();
    let (new_payload, old_payload) = (
        CoseSign1::from_slice(&new).unwrap().payload.unwrap(),
        CoseSign1::from_slice(&old).unwrap().payload.unwrap(),
    );
    assert_eq!(old_payload[0], 0xa9);
    assert_eq!(new_payload[0], 0xbf);
    // The same content: only the outer map's head and its break differ.
    assert_eq!(new_payload[1..new_payload.len() - 1], old_payload[1..]);

    let v = verifier(&ca);
    let (new_v, old_v) = (
        v.verify(&new, VerifyAt::DocumentTimestamp).unwrap(),
        v.verify(&old, VerifyAt::DocumentTimestamp).unwrap(),
    );
    assert_eq!(new_v.document(), old_v.document());
    assert_eq!(new_v.document().user_data, indefinite.user_data);
}

#[test]
fn thirty_two_pcrs_and_empty_fields_verify() {
    // PCR maps of 32 registers and empty public_key / user_data / nonce byte strings
    // occur in real documents (SPEC §1.5, vectors `nitro/docs-current/`).
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let mut pcrs = DocumentRequest::default_pcrs();
    pcrs.extend((16u8..32).map(|i| (i, vec![i; 48])));
    let req = DocumentRequest {
        pcrs: pcrs.clone(),
        public_key: Some(Vec::new()),
        user_data: Some(Vec::new()),
        nonce: Some(Vec::new()),
        ..ca.request()
    };
    let doc = ca.issue(&req, UnixMillis(T0)).unwrap();
    let v = verifier(&ca)
        .verify(&doc, VerifyAt::DocumentTimestamp)
        .unwrap();
    assert_eq!(v.document().pcrs.len(), 32);
    assert_eq!(v.document().pcrs, pcrs);
    assert_eq!(v.document().public_key, Some(Vec::new()));
    assert_eq!(v.document().user_data, Some(Vec::new()));
    assert_eq!(v.document().nonce, Some(Vec::new()));
    // A 33rd register cannot be (indices are 0..=31).
    let mut too_many = pcrs;
    too_many.insert(32, vec![0; 48]);
    let doc = ca
        .issue(
            &DocumentRequest {
                pcrs: too_many,
                ..ca.request()
            },
            UnixMillis(T0),
        )
        .unwrap();
    assert!(matches!(
        verifier(&ca).verify(&doc, VerifyAt::DocumentTimestamp),
        Err(NsmError::PcrCount { count: 33, max: 32 })
    ));
}

#[test]
fn certificates_have_the_aws_profile() {
    use x509_parser::prelude::*;
    let ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let mut certs = ca.cabundle();
    certs.push(ca.leaf_der().to_vec());
    let lifetimes = [30 * 365 * 86400, 20 * 86400, 6 * 86400, 86400, 3 * 3600];
    let path_lens = [None, Some(2), Some(1), Some(0)];
    for (i, der) in certs.iter().enumerate() {
        let (rest, cert) = X509Certificate::from_der(der).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            cert.signature_algorithm.algorithm.to_id_string(),
            "1.2.840.10045.4.3.3"
        );
        let v = cert.validity();
        assert_eq!(
            v.not_after.timestamp() - v.not_before.timestamp(),
            lifetimes[i]
        );
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.critical);
        let ku = cert.key_usage().unwrap().unwrap();
        if i < 4 {
            assert!(bc.value.ca);
            assert_eq!(bc.value.path_len_constraint, path_lens[i]);
            assert!(ku.critical && ku.value.key_cert_sign());
        } else {
            assert!(!bc.value.ca && bc.value.path_len_constraint.is_none());
            assert!(!ku.critical && ku.value.digital_signature() && ku.value.non_repudiation());
            let cn = cert
                .subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(cn, format!("{}.us-test-1.aws", ca.module_id()));
        }
    }
}

#[test]
fn oversized_fields_are_rejected_though_correctly_signed() {
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let v = verifier(&ca);
    let at = UnixMillis(T0);
    let issue = |ca: &mut TestCa, f: &dyn Fn(&mut DocumentRequest)| {
        let mut req = ca.request();
        f(&mut req);
        let doc = ca.issue(&req, at).unwrap();
        v.verify(&doc, VerifyAt::DocumentTimestamp).map(|_| ())
    };
    // 1024 bytes each is the limit (Blocky's own test document has exactly that).
    issue(&mut ca, &|r| {
        r.public_key = Some(vec![1; 1024]);
        r.user_data = Some(vec![1; 1024]);
        r.nonce = Some(vec![1; 1024]);
    })
    .unwrap();
    // Empty public_key, user_data and nonce are allowed (real documents have each).
    issue(&mut ca, &|r| {
        r.public_key = Some(vec![]);
        r.user_data = Some(vec![]);
        r.nonce = Some(vec![]);
    })
    .unwrap();
    for field in ["public_key", "user_data", "nonce"] {
        let err = issue(&mut ca, &|r| {
            let slot = match field {
                "public_key" => &mut r.public_key,
                "user_data" => &mut r.user_data,
                _ => &mut r.nonce,
            };
            *slot = Some(vec![1; 1025]);
        })
        .unwrap_err();
        assert_eq!(
            err,
            NsmError::FieldLength {
                field,
                len: 1025,
                min: 0,
                max: 1024
            }
        );
    }
    // Too many PCRs, a bad PCR length, a debug PCR0.
    assert_eq!(
        issue(&mut ca, &|r| r
            .pcrs
            .insert(3, vec![0; 20])
            .map(|_| ())
            .unwrap_or(())),
        Err(NsmError::PcrLength { index: 3, len: 20 })
    );
    assert_eq!(
        issue(&mut ca, &|r| r
            .pcrs
            .insert(32, vec![0; 48])
            .map(|_| ())
            .unwrap_or(())),
        Err(NsmError::PcrIndex { index: 32 })
    );
    assert_eq!(
        issue(&mut ca, &|r| {
            r.pcrs.insert(0, vec![0; 48]);
        }),
        Err(NsmError::DebugMode)
    );
}

#[test]
fn arbitrary_signed_payloads() {
    let ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let v = verifier(&ca);
    let payload = ca.encode_payload(&ca.request(), UnixMillis(T0));
    v.verify(&ca.sign_payload(&payload), VerifyAt::DocumentTimestamp)
        .unwrap();

    let Value::Map(mut entries) = ciborium::de::from_reader(payload.as_slice()).unwrap() else {
        panic!()
    };
    let reencode = |entries: Vec<(Value, Value)>| {
        let mut out = Vec::new();
        ciborium::ser::into_writer(&Value::Map(entries), &mut out).unwrap();
        ca.sign_payload(&out)
    };
    let base = entries.clone();

    // An unknown key, with a valid signature.
    entries.push((Value::Text("nitrotpm_pcrs".into()), Value::Null));
    assert_eq!(
        v.verify(&reencode(entries), VerifyAt::DocumentTimestamp)
            .map(|_| ()),
        Err(NsmError::UnknownField {
            key: "nitrotpm_pcrs".into()
        })
    );
    // A duplicate key.
    let mut entries = base.clone();
    entries.push(entries[1].clone());
    assert_eq!(
        v.verify(&reencode(entries), VerifyAt::DocumentTimestamp)
            .map(|_| ()),
        Err(NsmError::DuplicateField { field: "digest" })
    );
    // A timestamp in a shorter form is accepted too (any uint width); checked at
    // a caller-given time, since 1234 ms is outside the chain's validity.
    let mut entries = base.clone();
    entries[2].1 = Value::Integer(1234.into());
    let d = v
        .verify(&reencode(entries), VerifyAt::Millis(UnixMillis(T0)))
        .unwrap();
    assert_eq!(d.document().timestamp, UnixMillis(1234));
    // Optional fields left out entirely.
    let entries: Vec<_> = base.iter().take(6).cloned().collect();
    let d = v
        .verify(&reencode(entries), VerifyAt::DocumentTimestamp)
        .unwrap();
    assert_eq!(d.document().public_key, None);
    // Tagged (18) is accepted.
    let mut tagged = vec![0xd2];
    tagged.extend_from_slice(&ca.sign_payload(&payload));
    v.verify(&tagged, VerifyAt::DocumentTimestamp).unwrap();
    // The bundle with its intermediates swapped: pathLen catches it.
    let mut entries = base.clone();
    if let Value::Array(bundle) = &mut entries[5].1 {
        bundle.swap(1, 3);
    }
    assert_eq!(
        v.verify(&reencode(entries), VerifyAt::DocumentTimestamp)
            .map(|_| ()),
        Err(NsmError::PathLenExceeded {
            cert: CertPosition::Cabundle(1),
            path_len: 0,
            below: 2
        })
    );
    // A signature over the payload by another key.
    let other = TestCa::generate(UnixMillis(T0)).unwrap();
    assert_eq!(
        v.verify(&other.sign_payload(&payload), VerifyAt::DocumentTimestamp)
            .map(|_| ()),
        Err(NsmError::Signature)
    );
}

#[test]
fn renewal_keeps_documents_verifiable_across_weeks() {
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    assert!(!ca.renew_if_needed(UnixMillis(T0)).unwrap());
    let v = verifier(&ca);
    let mut issued = Vec::new();
    let mut leaves = std::collections::BTreeSet::new();
    let mut regionals = std::collections::BTreeSet::new();
    // Five weeks, a document every 5 h 17 min (steps that do not divide the lifetimes).
    let step = (5 * 3600 + 17 * 60) * 1000;
    let mut t = T0;
    while t < T0 + 35 * 86_400_000 {
        let doc = ca.issue(&ca.request(), UnixMillis(t)).unwrap();
        let verified = v.verify(&doc, VerifyAt::DocumentTimestamp).unwrap();
        // At least an hour of the leaf is left at issue time.
        assert!(verified.chain_validity().not_after.0 >= t / 1000 + 3600);
        leaves.insert(verified.document().certificate.clone());
        regionals.insert(verified.document().cabundle[1].clone());
        issued.push((t, doc));
        t += step;
    }
    assert!(
        leaves.len() == issued.len(),
        "a fresh leaf whenever the old one is close to expiry"
    );
    assert!(regionals.len() >= 2, "the 20-day regional CA was renewed");
    // Every document still verifies at its own time, after all the renewals...
    for (t, doc) in &issued {
        let verified = v.verify(doc, VerifyAt::DocumentTimestamp).unwrap();
        assert_eq!(verified.document().timestamp, UnixMillis(*t));
        // ... and not a day later, when its leaf is long gone.
        let later = VerifyAt::Millis(UnixMillis(t + 86_400_000));
        assert!(matches!(
            v.verify(doc, later),
            Err(NsmError::CertificateExpired { .. })
        ));
    }
    // Nothing lasts 30 years.
    assert!(matches!(
        ca.issue(&ca.request(), UnixMillis(T0 + 31 * 365 * 86_400_000)),
        Err(IssuerError::RootNotValid { .. })
    ));
}

#[test]
fn frequent_documents_reuse_the_leaf() {
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    let leaf = ca.leaf_der().to_vec();
    ca.issue(&ca.request(), UnixMillis(T0 + 60_000)).unwrap();
    ca.issue(&ca.request(), UnixMillis(T0 + 3_600_000)).unwrap();
    assert_eq!(ca.leaf_der(), leaf.as_slice());
    // Past two hours, less than one is left: a new leaf.
    ca.issue(&ca.request(), UnixMillis(T0 + 2 * 3_600_000 + 1000))
        .unwrap();
    assert_ne!(ca.leaf_der(), leaf.as_slice());
}

#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca = TestCa::generate(UnixMillis(T0)).unwrap();
    ca.save(dir.path()).unwrap();
    let mut loaded = TestCa::load(dir.path()).unwrap();
    assert_eq!(loaded.root_der(), ca.root_der());
    assert_eq!(loaded.root_pem(), ca.root_pem());
    assert_eq!(loaded.leaf_der(), ca.leaf_der());
    assert_eq!(loaded.cabundle(), ca.cabundle());
    assert_eq!(loaded.module_id(), ca.module_id());
    assert_eq!(loaded.leaf_validity(), ca.leaf_validity());
    assert!(
        std::fs::read_to_string(dir.path().join("root.pem"))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----\n")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("leaf.key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }

    // Both sign verifiable documents; the loaded one renews under the same root.
    let v = verifier(&ca);
    let doc = loaded
        .issue(&loaded.request(), UnixMillis(T0 + 1000))
        .unwrap();
    v.verify(&doc, VerifyAt::DocumentTimestamp).unwrap();
    let later = UnixMillis(T0 + 10 * 86_400_000);
    let doc = loaded.issue(&loaded.request(), later).unwrap();
    v.verify(&doc, VerifyAt::DocumentTimestamp).unwrap();
    let doc = ca.issue(&ca.request(), later).unwrap();
    v.verify(&doc, VerifyAt::DocumentTimestamp).unwrap();
    // Saving over an existing directory works, and what is loaded is the newest.
    loaded.save(dir.path()).unwrap();
    assert_eq!(
        TestCa::load(dir.path()).unwrap().leaf_der(),
        loaded.leaf_der()
    );

    // Missing or damaged files are typed errors.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        TestCa::load(empty.path()),
        Err(IssuerError::Io { .. })
    ));
    std::fs::write(dir.path().join("zonal.key.pem"), "junk").unwrap();
    assert!(matches!(
        TestCa::load(dir.path()),
        Err(IssuerError::BadFile { .. })
    ));
}
