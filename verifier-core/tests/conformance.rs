//! The conformance chain of `../shared/vectors/chain/`, written by an independent
//! implementation of the SPEC: the audit, `makeCertificate` and the certificate check
//! must agree with its `expected.json` exactly (SPEC §2–§5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown", not(zipchain_vectors)))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[macro_use]
#[allow(unreachable_pub)]
mod common;

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("conformance");
}

#[cfg(zipchain_vectors)]
mod vectors {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::Value;
    use zipchain_verifier_core::certificate::{Certificate, check_certificate, make_certificate};
    use zipchain_verifier_core::chain::{Audit, Auditor, ChainEnd};
    use zipchain_verifier_core::hash::Hash32;
    use zipchain_verifier_core::snapshot::{ObjectKind, Snapshot, classify_path};
    use zipchain_verifier_core::trust::TrustDescriptor;

    /// g_orphan's attestation: without it the main chain stops at b4 (expected.json "gap").
    const GAP_ATTESTATION: &str =
        "c985b06b609204e97b4df469ae340762879340fdb6c0b3e021cf2d36d2de7f3b";

    fn expected() -> Value {
        serde_json::from_str(vector_str!("chain/expected.json")).unwrap()
    }

    /// An auditor on each crypto backend: the tests that take them run on every one (#19).
    fn auditors() -> Vec<Auditor> {
        let trust = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
        crate::common::auditors(&trust).unwrap().0
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        for (path, bytes) in crate::common::conformance_files() {
            let rel = path.strip_prefix("chain/snapshot/").unwrap();
            let (kind, key) = classify_path(rel).unwrap();
            s.insert(kind, key, bytes.to_vec());
        }
        s
    }

    /// The audit of `s`, the same on every backend.
    fn audit(s: &Snapshot) -> Audit {
        let trust = TrustDescriptor::from_json(vector_str!("chain/chain.json")).unwrap();
        crate::common::auditors(&trust)
            .unwrap()
            .same(|a| a.audit(s, &mut |_, _| {}))
    }

    fn hex_list(v: &Value) -> Vec<String> {
        let mut out: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        out.sort();
        out
    }

    fn tx_of(label: &str) -> Hash32 {
        Hash32::digest(label.as_bytes())
    }

    #[test]
    fn full_snapshot_audit_matches_expected() {
        let exp = &expected()["full"];
        let a = audit(&snapshot());
        let r = a.report();
        let expected_chain: Vec<String> = exp["main_chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(r.main_chain, expected_chain);
        assert_eq!(r.main_chain_height, exp["main_chain_height"].as_u64());
        assert_eq!(r.main_chain_tip.as_deref(), exp["main_chain_tip"].as_str());
        let mut orphaned = r.orphaned_blocks.clone();
        orphaned.sort();
        assert_eq!(orphaned, hex_list(&exp["orphaned_blocks"]));
        assert_eq!(r.sequence_gap_at, None);
        assert!(exp["sequence_gap_at"].is_null());
        let invalid: Vec<(String, String)> = r
            .invalid_objects
            .iter()
            .map(|o| {
                (
                    serde_json::to_value(o.kind)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    o.key.clone(),
                )
            })
            .collect();
        let expected_invalid: Vec<(String, String)> = exp["invalid_objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["kind"].as_str().unwrap().to_owned(),
                    o["key"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(invalid, expected_invalid);
        assert!(r.equivocations.is_empty());
        assert_eq!(
            (r.blocks, r.timestamps, r.attestations, r.batches),
            (10, 10, 9, 9)
        );
        assert_eq!(r.first_time, Some(1_795_000_000));
        assert_eq!(r.last_time, Some(1_795_000_012));
        for (label, height) in exp["final"].as_object().unwrap() {
            assert_eq!(
                a.final_height(&tx_of(label)),
                height.as_u64(),
                "final height of {label}"
            );
        }
        for label in exp["not_final"].as_array().unwrap() {
            let label = label.as_str().unwrap();
            assert_eq!(
                a.final_height(&tx_of(label)),
                None,
                "{label} must not be final"
            );
        }
        // The FIG. 4 fork: b2 (k2) beat b2_fork (k3) at height 1, whose branch holds 3 blocks.
        assert_eq!(a.forks.len(), 1);
        let fork = &a.forks[0];
        assert_eq!(fork.parent_height, 1);
        assert_eq!(fork.winner.as_ref().unwrap().sequence, 2);
        assert_eq!(fork.losers.len(), 1);
        assert_eq!((fork.losers[0].sequence, fork.losers[0].blocks), (3, 3));
        assert_eq!(a.end, ChainEnd::NoChild);
    }

    #[test]
    fn gap_variant_stops_at_b4() {
        let exp = &expected();
        let gap = exp
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.starts_with("gap"))
            .map(|(_, v)| v)
            .unwrap();
        let mut s = snapshot();
        assert!(
            s.remove(
                ObjectKind::Attestation,
                &Hash32::from_hex(GAP_ATTESTATION).unwrap()
            )
            .is_some()
        );
        let a = audit(&s);
        let r = a.report();
        assert_eq!(r.main_chain_height, gap["main_chain_height"].as_u64());
        assert_eq!(r.main_chain_tip.as_deref(), gap["main_chain_tip"].as_str());
        assert_eq!(r.sequence_gap_at, gap["sequence_gap_at"].as_u64());
        assert_eq!(a.end, ChainEnd::Gap { at: 7 });
        for label in gap["not_final"].as_array().unwrap() {
            let label = label.as_str().unwrap();
            assert_eq!(
                a.final_height(&tx_of(label)),
                None,
                "{label} must not be final"
            );
        }
        // b5 waits beyond the gap: pending, not orphaned.
        let b5 = &exp["labels"]["b5"]["block"];
        assert_eq!(r.pending_blocks, vec![b5.as_str().unwrap().to_owned()]);
        assert!(!r.orphaned_blocks.contains(&b5.as_str().unwrap().to_owned()));
    }

    fn certificate_files() -> [(&'static str, &'static str); 3] {
        [
            ("tx-1a", vector_str!("chain/certificates/tx-1a.json")),
            ("tx-2d", vector_str!("chain/certificates/tx-2d.json")),
            ("tx-5b", vector_str!("chain/certificates/tx-5b.json")),
        ]
    }

    #[test]
    fn make_certificate_reproduces_the_conformance_certificates() {
        let s = snapshot();
        for auditor in auditors() {
            let a = auditor.audit(&s, &mut |_, _| {});
            for (label, text) in certificate_files() {
                let expected: Certificate = serde_json::from_str(text).unwrap();
                let made = make_certificate(&auditor, &a, &s, &tx_of(label))
                    .unwrap()
                    .unwrap();
                assert_eq!(made, expected, "certificate of {label}");
            }
            // Not final: no certificate.
            for label in ["fork-2", "fork-3", "orphan-g", "not a transaction"] {
                assert_eq!(
                    make_certificate(&auditor, &a, &s, &tx_of(label)).unwrap(),
                    None
                );
            }
            // tx-2c is in b2 and again in b3: its certificate is for its first occurrence.
            let c = make_certificate(&auditor, &a, &s, &tx_of("tx-2c"))
                .unwrap()
                .unwrap();
            assert_eq!(c.height, 2);
        }
    }

    #[test]
    fn conformance_certificates_check_with_and_without_snapshot() {
        let s = snapshot();
        for auditor in auditors() {
            let a = auditor.audit(&s, &mut |_, _| {});
            for (label, text) in certificate_files() {
                let v = check_certificate(text, &auditor, None);
                assert!(v.valid, "{label}: {:?}", v.first_failure());
                assert!(!v.main_chain_checked);
                let v = check_certificate(text, &auditor, Some(&a));
                assert!(v.valid, "{label}: {:?}", v.first_failure());
                assert!(v.main_chain_checked);
                assert!(v.checks.iter().any(|c| c.name == "main_chain" && c.ok));
                assert!(
                    v.checks
                        .iter()
                        .any(|c| c.name == "first_occurrence" && c.ok)
                );
            }
            // In the gap variant tx-5b is not final: its certificate holds alone, not on the chain.
            let mut gap = s.clone();
            gap.remove(
                ObjectKind::Attestation,
                &Hash32::from_hex(GAP_ATTESTATION).unwrap(),
            );
            let ga = auditor.audit(&gap, &mut |_, _| {});
            let v = check_certificate(
                vector_str!("chain/certificates/tx-5b.json"),
                &auditor,
                Some(&ga),
            );
            assert!(!v.valid);
            assert_eq!(v.first_failure().unwrap().name, "main_chain");
        }
    }

    /// A certificate with one field changed, re-serialised.
    fn tampered(text: &str, f: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(text).unwrap();
        f(&mut v);
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn tampered_certificates_name_the_failed_check() {
        for auditor in auditors() {
            let text = vector_str!("chain/certificates/tx-2d.json");
            let cert: Certificate = serde_json::from_str(text).unwrap();
            let other: Certificate =
                serde_json::from_str(vector_str!("chain/certificates/tx-5b.json")).unwrap();
            let cases: Vec<(&str, String)> = vec![
                (
                    "format",
                    tampered(text, |v| v["zipchain_certificate"] = 2.into()),
                ),
                ("format", tampered(text, |v| v["extra"] = 1.into())),
                ("format", "{}".to_owned()),
                (
                    "chain",
                    tampered(text, |v| v["chain"]["genesis"] = "00".repeat(32).into()),
                ),
                (
                    "inclusion",
                    tampered(text, |v| v["tx"] = tx_of("tx-2a").to_hex().into()),
                ),
                (
                    "inclusion",
                    tampered(text, |v| v["inclusion"]["leaf_index"] = 2.into()),
                ),
                (
                    "inclusion",
                    tampered(text, |v| v["inclusion"]["path"][0] = "11".repeat(32).into()),
                ),
                (
                    "time_bounds",
                    tampered(text, |v| v["not_after"] = (cert.not_after + 1).into()),
                ),
                (
                    "time_bounds",
                    tampered(text, |v| v["not_before"] = (cert.not_before - 1).into()),
                ),
                (
                    "attestation_binds_block",
                    tampered(text, |v| v["sequence"] = 3.into()),
                ),
                (
                    "upper_timestamp",
                    tampered(text, |v| {
                        let mut up = cert.upper.clone().into_bytes();
                        let i = up.len() - 5;
                        up[i] = if up[i] == b'A' { b'B' } else { b'A' };
                        v["upper"] = String::from_utf8(up).unwrap().into();
                    }),
                ),
                (
                    "upper_attests_block",
                    tampered(text, |v| v["upper"] = other.upper.clone().into()),
                ),
                (
                    "block_links_lower",
                    tampered(text, |v| v["lower"] = other.lower.clone().into()),
                ),
                (
                    "attestation_binds_block",
                    tampered(text, |v| {
                        v["attestation"] = other.attestation.clone().into()
                    }),
                ),
                (
                    "attestation",
                    tampered(text, |v| {
                        use base64::Engine as _;
                        let b64 = base64::engine::general_purpose::STANDARD;
                        let mut a = b64.decode(&cert.attestation).unwrap();
                        let i = a.len() - 10; // inside the COSE signature
                        a[i] ^= 1;
                        v["attestation"] = b64.encode(a).into();
                    }),
                ),
            ];
            for (check, text) in cases {
                let v = check_certificate(&text, &auditor, None);
                assert!(!v.valid, "tampered ({check}) must not be valid");
                assert!(
                    v.checks.iter().any(|c| c.name == check && !c.ok),
                    "expected failed check {check}, got {:?}",
                    v.checks
                );
            }
        }
    }

    /// SPEC §5's rule through `triple::bind`: every main-chain block binds with its own
    /// timestamp and attestation to the facts the audit chose, and a neighbour's
    /// timestamp or attestation is refused with the relation that fails.
    #[test]
    fn every_main_chain_triple_binds_and_a_neighbours_parts_do_not() {
        use zipchain_verifier_core::block::Block;
        use zipchain_verifier_core::nsm::VerifyAt;
        use zipchain_verifier_core::sequence::check;
        use zipchain_verifier_core::triple::{TripleError, bind};

        let s = snapshot();
        for auditor in auditors() {
            let audit = auditor.audit(&s, &mut |_, _| {});
            assert!(audit.main_chain.len() >= 3);
            let parts = |i: usize| {
                let b = &audit.main_chain[i];
                let block = Block::decode(s.get(ObjectKind::Block, &b.block).unwrap()).unwrap();
                let token =
                    std::str::from_utf8(s.get(ObjectKind::Timestamp, &b.timestamp).unwrap())
                        .unwrap();
                let t = auditor.timestamp_verifier().validate(token).unwrap();
                let a = check(
                    auditor.sequencer_key(),
                    auditor.nsm_verifier(),
                    s.get(ObjectKind::Attestation, &b.attestation).unwrap(),
                    VerifyAt::DocumentTimestamp,
                )
                .unwrap();
                (block, t, a)
            };
            for (i, b) in audit.main_chain.iter().enumerate() {
                let (block, t, a) = parts(i);
                let bound = bind(&block, &t, &a).unwrap();
                assert_eq!(
                    (
                        bound.block(),
                        bound.timestamp(),
                        bound.attestation(),
                        bound.k(),
                        bound.iat(),
                        bound.batch_root()
                    ),
                    (
                        b.block,
                        b.timestamp,
                        b.attestation,
                        b.sequence,
                        b.iat,
                        b.batch_root
                    )
                );
                assert_eq!(bound.parent(), block.parent_timestamp);
            }
            let (block, t, a) = parts(1);
            let (_, other_t, other_a) = parts(2);
            assert!(matches!(
                bind(&block, &other_t, &a),
                Err(TripleError::TimestampOfOtherBlock { .. })
            ));
            let err = bind(&block, &t, &other_a).unwrap_err();
            assert!(
                matches!(err, TripleError::AttestationOfOtherBytes { .. }),
                "{err}"
            );
        }
    }
}
