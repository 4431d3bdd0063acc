//! Hostile certificates and snapshots (issue #13), on the conformance chain of
//! `../shared/vectors/chain/`: a sequencer that equivocated stops every certificate, the
//! leaf position is the batch's when the batch is at hand, hex is lowercase only, and an
//! object that changed after the audit is never certified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown", not(zipchain_vectors)))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[macro_use]
#[allow(unreachable_pub)]
mod common;

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("certificate_hostile");
}

#[cfg(zipchain_vectors)]
mod vectors {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::Value;
    use zipchain_verifier_core::certificate::{
        CertificateVerdict, MakeCertificateError, ObjectSource, check_certificate,
        check_certificate_with_snapshot, make_certificate,
    };
    use zipchain_verifier_core::chain::{Audit, Auditor, Equivocation};
    use zipchain_verifier_core::hash::Hash32;
    use zipchain_verifier_core::merkle::{InclusionProof, RootHash, path_len};
    use zipchain_verifier_core::snapshot::{ObjectKind, Snapshot, classify_path};
    use zipchain_verifier_core::trust::TrustDescriptor;

    const CHECKS: [&str; 11] = [
        "format",
        "chain",
        "lower_timestamp",
        "upper_timestamp",
        "upper_attests_block",
        "block_links_lower",
        "attestation",
        "attestation_binds_block",
        "attestation_time",
        "inclusion",
        "time_bounds",
    ];

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

    fn label(name: &str, field: &str) -> Hash32 {
        let e: Value = serde_json::from_str(vector_str!("chain/expected.json")).unwrap();
        Hash32::from_hex(e["labels"][name][field].as_str().unwrap()).unwrap()
    }

    fn tx_of(label: &str) -> Hash32 {
        Hash32::digest(label.as_bytes())
    }

    const TX_2D: &str = vector_str!("chain/certificates/tx-2d.json");

    /// A certificate with one field changed, re-serialised.
    fn tampered(text: &str, f: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(text).unwrap();
        f(&mut v);
        serde_json::to_string(&v).unwrap()
    }

    fn names(v: &CertificateVerdict) -> Vec<&str> {
        v.checks.iter().map(|c| c.name).collect()
    }

    fn failed(v: &CertificateVerdict) -> Vec<&str> {
        v.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect()
    }

    fn detail<'a>(v: &'a CertificateVerdict, name: &str) -> &'a str {
        &v.checks.iter().find(|c| c.name == name).unwrap().detail
    }

    /// The conformance audit plus the proof that the sequencer gave `k = 2` to a second
    /// block (what the audit reports for a real equivocation; see testkit's
    /// `ChainKit::equivocate` and the CLI tests for real equivocating chains).
    fn equivocating(audit: &Audit) -> Audit {
        let mut a = audit.clone();
        a.equivocations.push(Equivocation {
            sequence: 2,
            attestations: vec![label("b2", "attestation").to_hex(), "ab".repeat(32)],
            ys: vec!["cd".repeat(48), "ef".repeat(48)],
        });
        a
    }

    /// Found by the long run of the `certificate` fuzz target (docs/FUZZING.md): the name
    /// of an unknown field was quoted whole in the `format` detail, so a crafted
    /// certificate got a message as long as itself.
    #[test]
    fn an_unknown_field_is_quoted_within_bounds() {
        let json = format!("{{\"{}\": 1}}", "x".repeat(4000));
        for auditor in auditors() {
            let v = check_certificate(&json, &auditor, None);
            assert!(!v.valid);
            let d = detail(&v, "format");
            assert!(d.len() < 1024, "{} bytes: {d}", d.len());
            assert!(d.contains("unknown field"), "{d}");
        }
    }

    // ------------------------------------------------------------ 1. equivocation

    #[test]
    fn a_clean_snapshot_keeps_its_check_list() {
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let audit = auditor.audit(&s, &mut |_, _| {});
            let v = check_certificate_with_snapshot(TX_2D, &auditor, &audit, &s);
            assert!(v.valid, "{:?}", v.first_failure());
            let mut want = CHECKS.to_vec();
            want.extend(["main_chain", "first_occurrence"]);
            assert_eq!(names(&v), want);
        }
    }

    #[test]
    fn a_certificate_at_height_0_fails_one_main_chain_check() {
        // The genesis block certifies nothing; with or without the snapshot the verdict
        // has exactly one `main_chain` check, failed, saying so.
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let audit = auditor.audit(&s, &mut |_, _| {});
            let at_zero = tampered(TX_2D, |v| v["height"] = 0.into());
            for v in [
                check_certificate(&at_zero, &auditor, None),
                check_certificate_with_snapshot(&at_zero, &auditor, &audit, &s),
            ] {
                assert!(!v.valid);
                let main: Vec<_> = v.checks.iter().filter(|c| c.name == "main_chain").collect();
                assert_eq!(main.len(), 1, "{:?}", names(&v));
                assert!(!main[0].ok);
                assert!(main[0].detail.contains("genesis"), "{}", main[0].detail);
            }
        }
    }

    #[test]
    fn equivocation_fails_every_certificate_checked_with_the_snapshot() {
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let audit = equivocating(&auditor.audit(&s, &mut |_, _| {}));
            for text in [
                vector_str!("chain/certificates/tx-1a.json"),
                TX_2D,
                vector_str!("chain/certificates/tx-5b.json"),
            ] {
                for v in [
                    check_certificate_with_snapshot(text, &auditor, &audit, &s),
                    check_certificate(text, &auditor, Some(&audit)),
                ] {
                    assert!(!v.valid);
                    assert_eq!(failed(&v), ["equivocation"]);
                    assert_eq!(v.checks.last().unwrap().name, "equivocation");
                    let d = detail(&v, "equivocation");
                    assert!(d.contains("sequence number 2 "), "{d}");
                    assert!(d.contains(&label("b2", "attestation").to_hex()), "{d}");
                }
                // Alone, the certificate cannot know: it stays valid, main chain unchecked.
                let alone = check_certificate(text, &auditor, None);
                assert!(alone.valid);
                assert!(!alone.main_chain_checked);
                assert!(!names(&alone).contains(&"equivocation"));
            }
        }
    }

    #[test]
    fn make_certificate_refuses_when_the_sequencer_equivocated() {
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let clean = auditor.audit(&s, &mut |_, _| {});
            assert!(make_certificate(&auditor, &clean, &s, &tx_of("tx-2d")).is_ok());
            let audit = equivocating(&clean);
            for tx in ["tx-2d", "tx-1a", "not a transaction"] {
                let err = make_certificate(&auditor, &audit, &s, &tx_of(tx)).unwrap_err();
                assert_eq!(
                    err,
                    MakeCertificateError::Equivocation { sequences: vec![2] }
                );
                assert!(err.is_verdict());
                assert!(err.to_string().contains("sequence number 2 "), "{err}");
            }
        }
    }

    // ------------------------------------------------------------ 2. leaf position

    /// Another `(leaf_index, tree_size)` under which the same audit path leads from the
    /// same transaction to the same root: what the certificate alone cannot rule out.
    fn forged_position(text: &str) -> (u64, u64) {
        let v: Value = serde_json::from_str(text).unwrap();
        let tx = Hash32::from_hex(v["tx"].as_str().unwrap()).unwrap();
        let block = hex::decode(v["block"].as_str().unwrap()).unwrap();
        let root = Hash32(block[17..49].try_into().unwrap()); // 0x01 ++ u ++ m^H ++ t^H
        let path: Vec<Hash32> = v["inclusion"]["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash32::from_hex(h.as_str().unwrap()).unwrap())
            .collect();
        let honest = (
            v["inclusion"]["leaf_index"].as_u64().unwrap(),
            v["inclusion"]["tree_size"].as_u64().unwrap(),
        );
        for size in 1..=64u64 {
            for index in 0..size {
                if (index, size) == honest || path_len(index, size) != path.len() {
                    continue;
                }
                let proof = InclusionProof {
                    leaf_index: index,
                    tree_size: size,
                    path: path.clone(),
                };
                if RootHash::new(root, size)
                    .verify_inclusion(&tx, &proof)
                    .is_ok()
                {
                    return (index, size);
                }
            }
        }
        panic!("no other position shares this audit path");
    }

    #[test]
    fn a_forged_position_fails_inclusion_against_the_batch() {
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let audit = auditor.audit(&s, &mut |_, _| {});
            // tx-2d is leaf 3 of 5; the same path also "proves" another position.
            let (index, size) = forged_position(TX_2D);
            let forged = tampered(TX_2D, |v| {
                v["inclusion"]["leaf_index"] = index.into();
                v["inclusion"]["tree_size"] = size.into();
            });

            // Alone the forgery passes, and the verdict says the position is unproven.
            let alone = check_certificate(&forged, &auditor, None);
            assert!(alone.valid, "{:?}", alone.first_failure());
            assert!(!alone.position_checked);
            let d = detail(&alone, "inclusion");
            assert!(
                d.contains("position within the block is NOT proven without the snapshot"),
                "{d}"
            );

            // With the snapshot's batch at hand it fails, naming the batch's position.
            let v = check_certificate_with_snapshot(&forged, &auditor, &audit, &s);
            assert!(!v.valid);
            assert!(v.position_checked);
            assert_eq!(failed(&v), ["inclusion"]);
            let d = detail(&v, "inclusion");
            assert!(
                d.contains("first at leaf 3 of 5")
                    && d.contains(&format!("not at leaf {index} of {size}")),
                "{d}"
            );

            // The honest certificate: position proven.
            let v = check_certificate_with_snapshot(TX_2D, &auditor, &audit, &s);
            assert!(v.valid, "{:?}", v.first_failure());
            assert!(v.position_checked);
            assert!(detail(&v, "inclusion").contains("position proven"));
            let alone = check_certificate(TX_2D, &auditor, None);
            assert!(!alone.position_checked);
            assert!(detail(&alone, "inclusion").contains("NOT proven"));
        }
    }

    #[test]
    fn a_repeated_transaction_is_positioned_at_its_first_leaf() {
        // tx-2c is in b2 (and again in b3): its certificate names its first leaf of b2.
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let audit = auditor.audit(&s, &mut |_, _| {});
            let cert = make_certificate(&auditor, &audit, &s, &tx_of("tx-2c"))
                .unwrap()
                .unwrap();
            assert_eq!(
                (cert.inclusion.leaf_index, cert.inclusion.tree_size),
                (2, 5)
            );
            let text = serde_json::to_string(&cert).unwrap();
            let v = check_certificate_with_snapshot(&text, &auditor, &audit, &s);
            assert!(v.valid, "{:?}", v.first_failure());
            assert!(v.position_checked);
        }
    }

    #[test]
    fn a_snapshot_without_the_batch_cannot_prove_the_position() {
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let audit = auditor.audit(&s, &mut |_, _| {});
            let batch = audit.at_height(2).unwrap().batch_root;
            let mut without = s.clone();
            without.remove(ObjectKind::Batch, &batch);
            // The audit saw the batch; the snapshot no longer holds it. `inclusion` says the
            // position is unproven, and `first_occurrence` fails: it needs the batch too.
            let v = check_certificate_with_snapshot(TX_2D, &auditor, &audit, &without);
            assert!(!v.valid);
            assert!(!v.position_checked);
            assert_eq!(failed(&v), ["first_occurrence"]);
            let d = detail(&v, "inclusion");
            assert!(
                d.contains("position within the block is NOT proven")
                    && d.contains("does not hold the block's batch"),
                "{d}"
            );
            assert!(detail(&v, "first_occurrence").contains("does not hold the block's batch"));
            // Audited without it as well: the block's transactions are not final.
            let audit = auditor.audit(&without, &mut |_, _| {});
            let v = check_certificate_with_snapshot(TX_2D, &auditor, &audit, &without);
            assert_eq!(failed(&v), ["first_occurrence"]);
            // An empty snapshot: the first failure is still `main_chain` (as npm's test pins).
            let empty = Snapshot::default();
            let audit = auditor.audit(&empty, &mut |_, _| {});
            let v = check_certificate_with_snapshot(TX_2D, &auditor, &audit, &empty);
            assert_eq!(v.first_failure().unwrap().name, "main_chain");
        }
    }

    // ------------------------------------------------------------ 3. strictness

    #[test]
    fn upper_case_hex_is_a_format_failure_naming_the_field() {
        for auditor in auditors() {
            // The field's hex in upper case, at a JSON pointer.
            let upper = |pointer: &str| {
                tampered(TX_2D, |v| {
                    let slot = v.pointer_mut(pointer).unwrap();
                    *slot = slot.as_str().unwrap().to_uppercase().into();
                })
            };
            let cases = [
                ("tx", upper("/tx")),
                ("block", upper("/block")),
                ("chain.genesis", upper("/chain/genesis")),
                ("chain.sequencer_key", upper("/chain/sequencer_key")),
                ("inclusion.path[1]", upper("/inclusion/path/1")),
            ];
            for (field, text) in cases {
                let v = check_certificate(&text, &auditor, None);
                assert!(!v.valid, "{field}");
                assert_eq!(names(&v), ["format"], "{field}");
                let d = detail(&v, "format");
                assert!(
                    d.starts_with(&format!("{field}: upper-case hex")),
                    "{field}: {d}"
                );
            }
            // Not hex at all is a format failure too, named.
            let v = check_certificate(
                &tampered(TX_2D, |v| v["chain"]["genesis"] = "zz".repeat(32).into()),
                &auditor,
                None,
            );
            assert_eq!(failed(&v), ["format"]);
            assert!(detail(&v, "format").starts_with("chain.genesis: "));
        }
    }

    #[test]
    fn not_before_after_not_after_fails_time_bounds_saying_so() {
        for auditor in auditors() {
            let cert: Value = serde_json::from_str(TX_2D).unwrap();
            let swapped = tampered(TX_2D, |v| {
                v["not_before"] = cert["not_after"].clone();
                v["not_after"] = cert["not_before"].clone();
            });
            let v = check_certificate(&swapped, &auditor, None);
            assert_eq!(failed(&v), ["time_bounds"]);
            let d = detail(&v, "time_bounds");
            assert!(d.contains("is after not_after"), "{d}");
        }
    }

    // ------------------------------------------------------------ 4. objects re-read

    /// A snapshot in which one object was swapped after the audit read it.
    struct Swapped<'a> {
        inner: &'a Snapshot,
        kind: ObjectKind,
        key: Hash32,
        bytes: Vec<u8>,
    }

    impl ObjectSource for Swapped<'_> {
        fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
            if kind == self.kind && *key == self.key {
                Ok(Some(self.bytes.clone()))
            } else {
                self.inner.object(kind, key)
            }
        }
    }

    #[test]
    fn an_object_swapped_after_the_audit_is_never_certified() {
        for (s, auditor) in auditors().into_iter().map(|a| (snapshot(), a)) {
            let audit = auditor.audit(&s, &mut |_, _| {});
            let at = |h: u64| audit.at_height(h).unwrap().clone();
            let (b2, b3) = (at(2), at(3));
            let get = |kind, key: &Hash32| s.get(kind, key).unwrap().to_vec();
            // Each of the five objects of tx-2c's certificate (b2, b1's timestamp), replaced by
            // a valid object of the same kind from elsewhere in the chain.
            let swaps = [
                (
                    ObjectKind::Block,
                    b2.block,
                    get(ObjectKind::Block, &b3.block),
                ),
                (
                    ObjectKind::Timestamp,
                    b2.timestamp,
                    get(ObjectKind::Timestamp, &b3.timestamp),
                ),
                (
                    ObjectKind::Timestamp,
                    at(1).timestamp,
                    get(ObjectKind::Timestamp, &b3.timestamp),
                ),
                (
                    ObjectKind::Attestation,
                    b2.attestation,
                    get(ObjectKind::Attestation, &b3.attestation),
                ),
                // b3's batch holds tx-2c too: a certificate from it would carry a wrong proof.
                (
                    ObjectKind::Batch,
                    b2.batch_root,
                    get(ObjectKind::Batch, &b3.batch_root),
                ),
            ];
            for (kind, key, bytes) in swaps {
                let source = Swapped {
                    inner: &s,
                    kind,
                    key,
                    bytes,
                };
                let err = make_certificate(&auditor, &audit, &source, &tx_of("tx-2c")).unwrap_err();
                assert!(
                    matches!(err, MakeCertificateError::Mismatch { kind: k, key: n, .. } if k == kind && n == key),
                    "{kind} {key}: {err}"
                );
                assert!(!err.is_verdict());
                assert!(err.to_string().contains("changed since the audit"), "{err}");
            }
            // The check reads the batch again too, and hashes it: a swapped batch is refused.
            let source = Swapped {
                inner: &s,
                kind: ObjectKind::Batch,
                key: b2.batch_root,
                bytes: get(ObjectKind::Batch, &b3.batch_root),
            };
            let v = check_certificate_with_snapshot(TX_2D, &auditor, &audit, &source);
            assert!(!v.valid);
            assert!(!v.position_checked);
            assert_eq!(failed(&v), ["inclusion"]);
            assert!(detail(&v, "inclusion").contains("changed since the audit"));
        }
    }
}
