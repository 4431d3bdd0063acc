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
        Certificate, MainChainWitnesses, attach_main_chain, check_certificate, make_certificate,
    };
    use zipchain_verifier_core::chain::HashSeed;
    use zipchain_verifier_core::chain::{Audit, Auditor};
    use zipchain_verifier_core::hash::Hash32;
    use zipchain_verifier_core::snapshot::Snapshot;
    use zipchain_verifier_core::tlog::checkpoint::origin;
    use zipchain_verifier_core::tlog::log;
    use zipchain_verifier_core::tlog::note::{
        ALG_COSIGNATURE_V1, ALG_ED25519, Note, SignatureLine, VerifierKey, cosign_v1, sign_ed25519,
    };
    use zipchain_verifier_core::tlog::tree as tlog_tree;
    use zipchain_verifier_core::trust::{TrustDescriptor, WitnessesTrust};
    use zipchain_verifier_core::verdict::certificate::{
        self as certificate_verdict, CertificateView,
    };

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

    /// A setup on each crypto backend: the tests that take them run on every one (#19).
    fn setups(quorum: u64) -> Vec<Setup> {
        zipchain_verifier_core::crypto::backends()
            .iter()
            .map(|backend| setup(quorum, *backend))
            .collect()
    }

    fn setup(
        quorum: u64,
        backend: &'static dyn zipchain_verifier_core::crypto::CryptoBackend,
    ) -> Setup {
        let trust = trust(quorum);
        let auditor = Auditor::with_backend(&trust, backend).unwrap();
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
        assert!(v.main_chain_proof.is_none() && v.main_chain_witnesses.is_none());
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
        for s in setups(2) {
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
            // SPEC §9.6 fixes this object: exactly `{ witnesses, quorum }`.
            assert_eq!(
                json["main_chain_proof"],
                serde_json::json!({"witnesses": 2, "quorum": 2})
            );
            // The names, for the faces to show without reading the detail (issue #16).
            let size = s.audit.main_chain.len() as u64;
            assert_eq!(
                v.main_chain_witnesses,
                Some(MainChainWitnesses {
                    vouched: vec!["w1.example".into(), "w3.example".into()],
                    known: WITNESSES.iter().map(|w| w.to_string()).collect(),
                    checkpoint_size: size,
                })
            );
            assert_eq!(
                json["main_chain_witnesses"],
                serde_json::json!({
                    "vouched": ["w1.example", "w3.example"],
                    "known": WITNESSES,
                    "checkpoint_size": size,
                })
            );
            // As JavaScript gets it: camelCase.
            let view = serde_json::to_value(CertificateView::from(v.clone())).unwrap();
            assert_eq!(view["mainChainProof"], json["main_chain_proof"]);
            assert_eq!(
                view["mainChainWitnesses"],
                serde_json::json!({
                    "vouched": ["w1.example", "w3.example"],
                    "known": WITNESSES,
                    "checkpointSize": size,
                })
            );
            // The v1 certificate's verdict has no `main_chain_proof` at all.
            let v1 = check_certificate(&serde_json::to_string(&s.cert).unwrap(), &s.auditor, None);
            assert!(v1.valid && !v1.main_chain_checked);
            let v1_json = serde_json::to_value(&v1).unwrap();
            assert!(v1_json.get("main_chain_proof").is_none());
            assert!(v1_json.get("main_chain_witnesses").is_none());
            let v1_view = serde_json::to_value(CertificateView::from(v1.clone())).unwrap();
            assert!(v1_view.get("mainChainWitnesses").is_none());
            assert!(v1.checks.iter().all(|c| c.name != "main_chain_proof"));
        }
    }

    #[test]
    fn every_wrong_proof_is_a_named_failed_check() {
        for s in setups(2) {
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
    }

    /// `b64` with one unused low bit of its last digit before the padding set: the
    /// same bytes, written non-canonically.
    fn noncanonical(b64: &str) -> String {
        const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let at = b64.trim_end_matches('=').len() - 1;
        let digit = DIGITS
            .iter()
            .position(|&d| d == b64.as_bytes()[at])
            .unwrap();
        let mut out = b64.to_owned();
        out.replace_range(at..=at, &char::from(DIGITS[digit | 1]).to_string());
        out
    }

    /// A note of `body` signed by the log and cosigned by the witnesses at `cosigners`.
    fn signed(body: &str, genesis: Hash32, cosigners: &[usize]) -> Note {
        let mut note = Note {
            text: body.to_owned(),
            signatures: vec![sign_ed25519(body, &origin(&genesis), &key(1))],
        };
        for &i in cosigners {
            let line = cosign_v1(body, WITNESSES[i], &key(2 + i as u8), 1_800_000_000);
            note.signatures.push(line);
        }
        note
    }

    /// Issue #16's bad input, each class not already in
    /// `every_wrong_proof_is_a_named_failed_check`: a failed `main_chain_proof` naming
    /// what is wrong, never a panic, never a pass.
    #[test]
    fn every_bad_input_is_a_named_failed_main_chain_proof() {
        for s in setups(2) {
            let leaves = log::leaves(&s.audit.main_chain);
            let height = s.cert.height as usize;
            let good = note(s.genesis, &s.audit, &[0, 1]);
            let parsed = Note::parse(&good).unwrap();
            let body = parsed.text.clone();
            let unknown = |name: &str, len: usize| SignatureLine {
                name: name.to_owned(),
                id: [6, 6, 6, 6],
                signature: vec![0x42; len],
            };
            let with_lines = |lines: Vec<SignatureLine>| {
                let mut n = parsed.clone();
                n.signatures.extend(lines);
                n.to_text()
            };
            let changed_line = |i: usize, change: &dyn Fn(&mut SignatureLine)| {
                let mut n = parsed.clone();
                change(&mut n.signatures[i]);
                n.to_text()
            };
            let last_b64 = good.trim_end().rsplit(' ').next().unwrap().to_owned();
            let root_b64 = body.lines().nth(2).unwrap().to_owned();
            let size = leaves.len();
            let older = log::checkpoint(&s.genesis, &leaves[..height]).to_body();
            let mut forked = leaves.clone();
            forked[0] = [0xee; 32];
            let other_root = log::checkpoint(&s.genesis, &forked).to_body();
            let other_body = log::checkpoint(&s.genesis, &leaves[..size - 1]).to_body();
            let elsewhere = signed(&other_body, s.genesis, &[0]).signatures[1].clone();

            let below = format!("height {height} is not below the checkpoint's size {height}");
            let notes: Vec<(&str, String, &str)> = vec![
                // Malformed notes.
                (
                    "no empty line",
                    good.replacen("\n\n", "\n", 1),
                    "no empty line before the signatures",
                ),
                (
                    "an empty text",
                    format!("\n\n{}", good.split_once("\n\n").unwrap().1),
                    "an empty line in the text",
                ),
                (
                    "a control character",
                    good.replacen("zipchain/", "zip\u{7}chain/", 1),
                    "a control character",
                ),
                (
                    "a line without the em dash",
                    good.replacen('\u{2014}', "--", 1),
                    "does not start with",
                ),
                (
                    "an unpadded signature",
                    good.replace(&last_b64, last_b64.trim_end_matches('=')),
                    "not padded standard base64",
                ),
                (
                    "a non-canonical signature",
                    good.replace(&last_b64, &noncanonical(&last_b64)),
                    "not padded standard base64",
                ),
                (
                    "101 signature lines",
                    with_lines((0..98).map(|_| unknown("pq.example", 8)).collect()),
                    "more than 100 signatures",
                ),
                (
                    "a note over 64 KiB",
                    with_lines(vec![unknown("pq.example", 50_000)]),
                    "longer than 64 KiB",
                ),
                // Bodies that are not a zipchain checkpoint.
                (
                    "a non-canonical root",
                    good.replacen(&root_b64, &noncanonical(&root_b64), 1),
                    "is not the standard base64 of 32 bytes",
                ),
                (
                    "a size with a leading zero",
                    good.replacen(&format!("\n{size}\n"), &format!("\n0{size}\n"), 1),
                    "without leading zeros",
                ),
                // Signature lines of the descriptor's witnesses that do not count.
                (
                    "a witness's line under another key id",
                    changed_line(2, &|l| l.id = [0; 4]),
                    "1 of the descriptor's witnesses cosigned, the quorum is 2",
                ),
                (
                    "a witness's bad signature",
                    changed_line(2, &|l| l.signature[20] ^= 1),
                    "the signature of w2.example does not verify",
                ),
                (
                    "a witness's changed cosigning time",
                    changed_line(1, &|l| l.signature[7] ^= 1),
                    "the signature of w1.example does not verify",
                ),
                (
                    "a cosignature without its time",
                    changed_line(1, &|l| l.signature.drain(..8).for_each(drop)),
                    "the signature of w1.example does not verify",
                ),
                (
                    "a cosignature of another checkpoint",
                    changed_line(1, &|l| *l = elsewhere.clone()),
                    "the signature of w1.example does not verify",
                ),
                // Checkpoints that do not hold the block.
                (
                    "a checkpoint below the block",
                    signed(&older, s.genesis, &[0, 1]).to_text(),
                    &below,
                ),
                (
                    "a checkpoint of another tree",
                    signed(&other_root, s.genesis, &[0, 1]).to_text(),
                    "not in the checkpoint's tree",
                ),
            ];
            for (what, text, reason) in &notes {
                let mut cert = s.cert.clone();
                let good_cert = v2(&s, &good);
                cert.zipchain_certificate = 2;
                cert.main_chain = good_cert.main_chain;
                cert.main_chain.as_mut().unwrap().checkpoint = text.clone();
                let detail = failed_proof(&s, &cert);
                assert!(detail.contains(reason), "{what}: {detail}");
            }

            // Paths of the wrong length.
            for (what, change) in [
                (
                    "a hash dropped",
                    &(|p: &mut Vec<String>| drop(p.pop())) as &dyn Fn(&mut Vec<String>),
                ),
                ("a hash added", &|p: &mut Vec<String>| {
                    p.push("00".repeat(32))
                }),
                ("66 hashes", &|p: &mut Vec<String>| {
                    p.resize(66, "00".repeat(32))
                }),
            ] {
                let mut cert = v2(&s, &good);
                change(&mut cert.main_chain.as_mut().unwrap().path);
                let detail = failed_proof(&s, &cert);
                assert!(
                    detail.contains("not in the checkpoint's tree"),
                    "{what}: {detail}"
                );
            }
            // The proof of another height, under the claimed height's leaf index.
            let mut cert = v2(&s, &good);
            let other = tlog_tree::inclusion_proof(&leaves, s.cert.height - 1).unwrap();
            cert.main_chain.as_mut().unwrap().path = other.iter().map(hex::encode).collect();
            assert!(failed_proof(&s, &cert).contains("not in the checkpoint's tree"));

            // Unknown lines are ignored, not failed: an ML-DSA-44 cosignature (0x06) and a
            // key the descriptor does not name, beside a quorum that holds.
            let extra = with_lines(vec![
                unknown("pq.example", 8 + 2420),
                unknown("w1.example", 72),
            ]);
            let cert = v2(&s, &extra);
            let v = check_certificate(&serde_json::to_string(&cert).unwrap(), &s.auditor, None);
            assert!(v.valid && v.main_chain_checked, "{:?}", v.checks);
        }
    }

    /// A descriptor whose witness policy cannot be used is the single failed check
    /// `trust_descriptor` of the certificate's verdict (as the faces get it).
    #[test]
    fn an_unusable_witness_policy_is_a_named_failed_trust_descriptor() {
        for s in setups(2) {
            let cert = serde_json::to_string(&v2(&s, &note(s.genesis, &s.audit, &[0, 1]))).unwrap();
            let chain: serde_json::Value =
                serde_json::from_str(&trust(2).to_json_pretty()).unwrap();
            let key0 = chain["witnesses"]["keys"][0].as_str().unwrap().to_owned();
            let (name, rest) = key0.split_once('+').unwrap();
            let (id, b64) = rest.split_once('+').unwrap();
            let edits: Vec<(&str, serde_json::Value, &str)> = vec![
                (
                    "quorum 0",
                    serde_json::json!({"quorum": 0}),
                    "witnesses.quorum is 0, expected 1 to 3",
                ),
                (
                    "quorum above the keys",
                    serde_json::json!({"quorum": 4}),
                    "witnesses.quorum is 4, expected 1 to 3",
                ),
                (
                    "one key twice",
                    serde_json::json!({"keys": [key0, key0, chain["witnesses"]["keys"][2]]}),
                    "witnesses.keys[1] repeats an earlier key",
                ),
                (
                    "one key under two names",
                    serde_json::json!({"keys": [key0, VerifierKey::new("w9.example", ALG_COSIGNATURE_V1, &VerifierKey::parse(&key0).unwrap().public_key()).unwrap().to_text()], "quorum": 2}),
                    "witnesses.keys[1] repeats an earlier key",
                ),
                (
                    "a key with padding where none belongs",
                    serde_json::json!({"keys": [format!("{name}+{id}+{}=", b64)], "quorum": 1}),
                    "witnesses.keys[0]: verifier key: the key is not padded standard base64",
                ),
                (
                    "an uppercase key id",
                    serde_json::json!({"keys": [format!("{name}+{}+{b64}", id.to_uppercase())], "quorum": 1}),
                    "witnesses.keys[0]: verifier key: the key id is not 8 lowercase hex digits",
                ),
            ];
            for (what, edit, reason) in edits {
                let mut bad = chain.clone();
                for (k, v) in edit.as_object().unwrap() {
                    bad["witnesses"][k] = v.clone();
                }
                let v = certificate_verdict::check(&cert, &bad.to_string(), None, HashSeed::new(1));
                assert!(!v.valid && !v.main_chain_checked, "{what}");
                assert_eq!(v.checks.len(), 1, "{what}: {:?}", v.checks);
                let c = &v.checks[0];
                assert_eq!((c.name, c.ok), ("trust_descriptor", false), "{what}");
                assert!(c.detail.contains(reason), "{what}: {}", c.detail);
            }
            // The unedited descriptor passes, through the same door.
            let v = certificate_verdict::check(&cert, &chain.to_string(), None, HashSeed::new(1));
            assert!(v.valid && v.main_chain_checked, "{:?}", v.checks);
        }
    }

    #[test]
    fn a_descriptor_without_witnesses_cannot_pass_and_a_snapshot_checks_as_v1() {
        for s in setups(2) {
            let cert = v2(&s, &note(s.genesis, &s.audit, &[0, 1]));
            let v1_trust = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
            let plain = Auditor::with_backend(&v1_trust, s.auditor.backend()).unwrap();
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
            assert!(v.main_chain_proof.is_none() && v.main_chain_witnesses.is_none());
            // A v1 certificate with main_chain, or a v2 one without, is malformed.
            let mut bad = cert.clone();
            bad.zipchain_certificate = 1;
            let v = check_certificate(&serde_json::to_string(&bad).unwrap(), &s.auditor, None);
            assert_eq!(v.checks[0].name, "format");
            assert!(!v.checks[0].ok);
        }
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
