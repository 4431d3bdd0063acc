//! Certificates v2 (SPEC §9.5) on the conformance chain: a checkpoint of its main
//! chain, signed by the log key and cosigned by witnesses, carried in a certificate
//! that then checks offline as final on the main chain, and every way it can be wrong
//! named by the failed `main_chain_proof`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[allow(unreachable_pub)]
mod common;

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("checkpoint");
}

#[cfg(zipchain_vectors)]
mod vectors {
    use ed25519_dalek::SigningKey;
    use zipchain_verifier_core::certificate::{
        Certificate, attach_main_chain, check_certificate, make_certificate,
    };
    use zipchain_verifier_core::chain::{Audit, Auditor};
    use zipchain_verifier_core::hash::Hash32;
    use zipchain_verifier_core::snapshot::Snapshot;
    use zipchain_verifier_core::tlog::checkpoint::origin;
    use zipchain_verifier_core::tlog::log;
    use zipchain_verifier_core::tlog::note::{
        ALG_COSIGNATURE_V1, ALG_ED25519, Note, VerifierKey, cosign_v1, sign_ed25519,
    };
    use zipchain_verifier_core::trust::{TrustDescriptor, WitnessesTrust};

    const WITNESSES: [&str; 3] = ["w1.example", "w2.example", "w3.example"];

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn snapshot() -> Snapshot {
        crate::common::conformance_snapshot()
    }

    /// The conformance descriptor as v2: the log key (seed 1) and witnesses 2, 3, 4.
    fn trust(quorum: u64) -> TrustDescriptor {
        let v1 = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
        let o = origin(&v1.genesis());
        let log_key = VerifierKey::new(&o, ALG_ED25519, key(1).verifying_key().as_bytes()).unwrap();
        let keys = WITNESSES
            .iter()
            .zip(2u8..)
            .map(|(name, seed)| {
                VerifierKey::new(
                    name,
                    ALG_COSIGNATURE_V1,
                    key(seed).verifying_key().as_bytes(),
                )
                .unwrap()
                .to_text()
            })
            .collect();
        v1.with_checkpoints(
            Some(log_key.to_text()),
            Some(WitnessesTrust { keys, quorum }),
        )
        .unwrap()
    }

    /// The checkpoint of `audit`'s main chain, signed by the log and cosigned by the
    /// witnesses at `cosigners` (indices into [`WITNESSES`]).
    fn note(genesis: Hash32, audit: &Audit, cosigners: &[usize]) -> String {
        let leaves = log::leaves(&audit.main_chain);
        let body = log::checkpoint(&genesis, &leaves).to_body();
        let mut note = Note {
            text: body.clone(),
            signatures: vec![sign_ed25519(&body, &origin(&genesis), &key(1))],
        };
        for &i in cosigners {
            note.signatures.push(cosign_v1(
                &body,
                WITNESSES[i],
                &key(2 + i as u8),
                1_800_000_000,
            ));
        }
        note.to_text()
    }

    struct Setup {
        auditor: Auditor,
        audit: Audit,
        cert: Certificate,
        genesis: Hash32,
    }

    fn setup(quorum: u64) -> Setup {
        let trust = trust(quorum);
        let auditor = Auditor::new(&trust).unwrap();
        let s = snapshot();
        let audit = auditor.audit(&s, &mut |_, _| {});
        let tx = Hash32::digest(b"tx-2d");
        let cert = make_certificate(&auditor, &audit, &s, &tx)
            .unwrap()
            .unwrap();
        Setup {
            genesis: trust.genesis(),
            auditor,
            audit,
            cert,
        }
    }

    fn v2(setup: &Setup, note: &str) -> Certificate {
        let mut cert = setup.cert.clone();
        attach_main_chain(&mut cert, note, &log::leaves(&setup.audit.main_chain)).unwrap();
        cert
    }

    fn failed_proof(setup: &Setup, cert: &Certificate) -> String {
        let v = check_certificate(&serde_json::to_string(cert).unwrap(), &setup.auditor, None);
        assert!(!v.valid);
        assert!(!v.main_chain_checked);
        let c = v
            .checks
            .iter()
            .find(|c| c.name == "main_chain_proof")
            .unwrap();
        assert!(!c.ok);
        c.detail.clone()
    }

    #[test]
    fn a_cosigned_checkpoint_makes_the_certificate_final_offline() {
        let s = setup(2);
        let cert = v2(&s, &note(s.genesis, &s.audit, &[0, 2]));
        let text = serde_json::to_string(&cert).unwrap();
        assert!(text.contains("\"zipchain_certificate\":2"));
        let v = check_certificate(&text, &s.auditor, None);
        assert!(v.valid, "{:?}", v.checks);
        assert!(v.main_chain_checked);
        let proof = v.main_chain_proof.clone().unwrap();
        assert_eq!((proof.witnesses, proof.quorum), (2, 2));
        let last = v.checks.last().unwrap();
        assert_eq!(last.name, "main_chain_proof");
        assert!(
            last.detail.contains("FINAL on the main chain at height"),
            "{}",
            last.detail
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["main_chain_checked"], true);
        assert_eq!(json["main_chain_proof"]["witnesses"], 2);
        assert_eq!(json["main_chain_proof"]["quorum"], 2);
        // The v1 certificate's verdict has no `main_chain_proof` at all.
        let v1 = check_certificate(&serde_json::to_string(&s.cert).unwrap(), &s.auditor, None);
        assert!(v1.valid && !v1.main_chain_checked);
        assert!(
            serde_json::to_value(&v1)
                .unwrap()
                .get("main_chain_proof")
                .is_none()
        );
        assert!(v1.checks.iter().all(|c| c.name != "main_chain_proof"));
    }

    #[test]
    fn every_wrong_proof_is_a_named_failed_check() {
        let s = setup(2);
        // Below the quorum.
        let one = v2(&s, &note(s.genesis, &s.audit, &[1]));
        assert!(failed_proof(&s, &one).contains("1 of the descriptor's witnesses"));
        // A witness counted twice.
        let good = note(s.genesis, &s.audit, &[0, 1]);
        let mut twice = Note::parse(&good).unwrap();
        let dup = twice.signatures[1].clone();
        twice.signatures.push(dup);
        let mut cert = v2(&s, &good);
        cert.main_chain.as_mut().unwrap().checkpoint = twice.to_text();
        assert!(failed_proof(&s, &cert).contains("more than once"));
        // A bad log signature.
        let mut bad_log = Note::parse(&good).unwrap();
        bad_log.signatures[0].signature[0] ^= 1;
        cert.main_chain.as_mut().unwrap().checkpoint = bad_log.to_text();
        assert!(failed_proof(&s, &cert).contains("does not verify"));
        // A cosignature by a key not in the policy does not count.
        let mut stranger = Note::parse(&note(s.genesis, &s.audit, &[0])).unwrap();
        let body = stranger.text.clone();
        stranger
            .signatures
            .push(cosign_v1(&body, "stranger.example", &key(9), 1));
        cert.main_chain.as_mut().unwrap().checkpoint = stranger.to_text();
        assert!(failed_proof(&s, &cert).contains("1 of the descriptor's witnesses"));
        // Another origin.
        let other = note(Hash32([0x11; 32]), &s.audit, &[0, 1]);
        cert.main_chain.as_mut().unwrap().checkpoint = other;
        assert!(failed_proof(&s, &cert).contains("origin"));
        // A proof for another height, and a changed path.
        let mut cert = v2(&s, &good);
        cert.main_chain.as_mut().unwrap().leaf_index += 1;
        assert!(failed_proof(&s, &cert).contains("leaf_index"));
        let mut cert = v2(&s, &good);
        let path = &mut cert.main_chain.as_mut().unwrap().path;
        path[0] = "00".repeat(32);
        assert!(failed_proof(&s, &cert).contains("not in the checkpoint's tree"));
        let mut cert = v2(&s, &good);
        cert.main_chain.as_mut().unwrap().path[0].make_ascii_uppercase();
        assert!(failed_proof(&s, &cert).contains("lowercase hex"));
        // An extension line in the body.
        let mut ext = Note::parse(&good).unwrap();
        ext.text.push_str("extension\n");
        let mut cert = v2(&s, &good);
        cert.main_chain.as_mut().unwrap().checkpoint = ext.to_text();
        assert!(failed_proof(&s, &cert).contains("three lines"));
    }

    #[test]
    fn a_descriptor_without_witnesses_cannot_pass_and_a_snapshot_checks_as_v1() {
        let s = setup(2);
        let cert = v2(&s, &note(s.genesis, &s.audit, &[0, 1]));
        let v1_trust = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
        let plain = Auditor::new(&v1_trust).unwrap();
        let v = check_certificate(&serde_json::to_string(&cert).unwrap(), &plain, None);
        let c = v
            .checks
            .iter()
            .find(|c| c.name == "main_chain_proof")
            .unwrap();
        assert!(
            !v.valid && !c.ok && c.detail.contains("names no witnesses"),
            "{}",
            c.detail
        );
        // With the audit, the v2 certificate is checked as in §3.
        let v = check_certificate(
            &serde_json::to_string(&cert).unwrap(),
            &s.auditor,
            Some(&s.audit),
        );
        assert!(v.valid && v.main_chain_checked, "{:?}", v.checks);
        assert!(v.checks.iter().all(|c| c.name != "main_chain_proof"));
        // A v1 certificate with main_chain, or a v2 one without, is malformed.
        let mut bad = cert.clone();
        bad.zipchain_certificate = 1;
        let v = check_certificate(&serde_json::to_string(&bad).unwrap(), &s.auditor, None);
        assert_eq!(v.checks[0].name, "format");
        assert!(!v.checks[0].ok);
    }

    #[test]
    fn the_v2_descriptor_round_trips_and_bad_policies_are_refused() {
        let t = trust(2);
        assert_eq!(t.version(), 2);
        let again = TrustDescriptor::from_json(&t.to_json_pretty()).unwrap();
        assert_eq!(again, t);
        assert_eq!(again.witnesses().unwrap().quorum(), 2);
        let v1 = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
        let keys: Vec<String> = t
            .witnesses()
            .unwrap()
            .keys()
            .iter()
            .map(VerifierKey::to_text)
            .collect();
        for (quorum, keys) in [
            (0, keys.clone()),
            (4, keys.clone()),
            (1, vec![keys[0].clone(), keys[0].clone()]),
        ] {
            assert!(
                v1.clone()
                    .with_checkpoints(None, Some(WitnessesTrust { keys, quorum }))
                    .is_err(),
                "quorum {quorum}"
            );
        }
        // A log key of another name, or a witness key of the wrong algorithm.
        let wrong = VerifierKey::new(
            "not-the-origin",
            ALG_ED25519,
            key(1).verifying_key().as_bytes(),
        )
        .unwrap();
        assert!(
            v1.clone()
                .with_checkpoints(Some(wrong.to_text()), None)
                .is_err()
        );
        let as_note =
            VerifierKey::new("w", ALG_ED25519, key(2).verifying_key().as_bytes()).unwrap();
        assert!(
            v1.clone()
                .with_checkpoints(
                    None,
                    Some(WitnessesTrust {
                        keys: vec![as_note.to_text()],
                        quorum: 1
                    })
                )
                .is_err()
        );
        // v1 with a v2 field is refused.
        let mut value: serde_json::Value = serde_json::from_str(&t.to_json_pretty()).unwrap();
        value["zipchain_chain"] = 1.into();
        assert!(TrustDescriptor::from_json(&value.to_string()).is_err());
    }
}
