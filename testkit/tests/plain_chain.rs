//! A plain chain of ten blocks: every block on the main chain, every transaction final
//! at its height, and a certificate for every transaction that checks with and without
//! the snapshot.

mod common;

use common::{assert_clean, hashes, main_chain};
use verifier_core::certificate::{check_certificate, make_certificate};
use verifier_core::chain::ChainEnd;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_testkit::ChainKit;

#[test]
fn ten_blocks_all_final_with_certificates() {
    let mut kit = ChainKit::new();
    let mut chain = vec![kit.genesis().clone()];
    for h in 1..=10u64 {
        let parent = chain.last().unwrap().clone();
        let (a, b) = (format!("tx {h} a"), format!("tx {h} b"));
        chain.push(kit.append(&parent, &[a.as_bytes(), b.as_bytes()]));
    }

    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert_eq!(audit.height(), Some(10));
    assert_eq!(audit.end, ChainEnd::NoChild);
    assert_eq!(audit.sequence_gap_at, None);
    assert!(audit.orphaned_blocks.is_empty());
    assert!(audit.pending_blocks.is_empty());
    assert!(audit.unsequenced_blocks.is_empty());
    assert!(audit.missing_batches.is_empty());
    assert!(audit.forks.is_empty());
    for kind in ObjectKind::ALL {
        assert_eq!(audit.counts.get(&kind), Some(&11), "{kind}");
    }
    for (h, (entry, built)) in audit.main_chain.iter().zip(&chain).enumerate() {
        assert_eq!(entry.height, h as u64);
        assert_eq!(entry.sequence, h as u64);
        assert_eq!(Some(entry.sequence), built.k);
        assert_eq!(entry.timestamp, built.timestamp);
        assert_eq!(Some(entry.attestation), built.attestation);
        assert_eq!(entry.batch_root, built.batch_root);
        assert_eq!(entry.iat.0, built.iat);
    }

    // Every transaction after b0 is final at its block's height; the genesis metadata is not.
    assert_eq!(audit.final_transactions.len(), 20);
    let metadata = chain[0].tx_ids()[0];
    assert_eq!(audit.final_height(&metadata), None);

    let auditor = kit.auditor();
    assert_eq!(
        make_certificate(&auditor, &audit, kit.snapshot(), &metadata).unwrap(),
        None
    );
    for (h, built) in chain.iter().enumerate().skip(1) {
        for tx in built.tx_ids() {
            assert_eq!(audit.final_height(&tx), Some(h as u64));
            let cert = make_certificate(&auditor, &audit, kit.snapshot(), &tx)
                .unwrap()
                .expect("a final transaction has a certificate");
            assert_eq!(cert.height, h as u64);
            assert_eq!(cert.sequence, h as u64);
            assert_eq!(cert.tx, tx.to_hex());
            assert_eq!(cert.not_before, chain[h - 1].iat);
            assert_eq!(cert.not_after, built.iat);
            let json = serde_json::to_string(&cert).unwrap();

            let alone = check_certificate(&json, &auditor, None);
            assert!(alone.valid, "{:?}", alone.first_failure());
            assert!(!alone.main_chain_checked);
            let with_snapshot = check_certificate(&json, &auditor, Some(&audit));
            assert!(with_snapshot.valid, "{:?}", with_snapshot.first_failure());
            assert!(with_snapshot.main_chain_checked);
            assert_eq!(with_snapshot.height, Some(h as u64));
        }
    }
}

#[test]
fn a_repeated_transaction_is_final_at_its_first_occurrence() {
    let mut kit = ChainKit::new();
    let g = kit.genesis().clone();
    let b1 = kit.append(&g, &[b"first"]);
    let b2 = kit.append(&b1, &[b"again", b"other"]);
    let b3 = kit.append(&b2, &[b"x", b"again"]);
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&g, &b1, &b2, &b3]));
    let again = Hash32::digest(b"again");
    assert_eq!(audit.final_height(&again), Some(2));
    assert_eq!(audit.final_transactions.len(), 4);

    let auditor = kit.auditor();
    let cert = make_certificate(&auditor, &audit, kit.snapshot(), &again)
        .unwrap()
        .unwrap();
    assert_eq!((cert.height, cert.inclusion.leaf_index), (2, 0));
    let json = serde_json::to_string(&cert).unwrap();
    assert!(check_certificate(&json, &auditor, Some(&audit)).valid);

    // A certificate claiming the later occurrence is refused against the snapshot.
    let mut late = make_certificate(&auditor, &audit, kit.snapshot(), &Hash32::digest(b"x"))
        .unwrap()
        .unwrap();
    late.tx = again.to_hex();
    late.inclusion.leaf_index = 1;
    late.inclusion.path = {
        // The audit path of leaf 1 in a two-leaf tree is the leaf hash of leaf 0.
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(Hash32::digest(b"x").as_bytes());
        vec![Hash32::digest(&leaf).to_hex()]
    };
    let json = serde_json::to_string(&late).unwrap();
    assert!(check_certificate(&json, &auditor, None).valid);
    let verdict = check_certificate(&json, &auditor, Some(&audit));
    assert!(!verdict.valid);
    assert_eq!(
        verdict.first_failure().map(|c| c.name),
        Some("first_occurrence")
    );
}

#[test]
fn the_snapshot_round_trips_through_a_directory() {
    let mut kit = ChainKit::new();
    let g = kit.genesis().clone();
    kit.extend(&g, 3, "dir");
    let dir = tempfile::tempdir().unwrap();
    kit.write_dir(dir.path()).unwrap();
    let chain_json = std::fs::read_to_string(dir.path().join("chain.json")).unwrap();
    assert_eq!(
        verifier_core::trust::TrustDescriptor::from_json(&chain_json).unwrap(),
        kit.trust()
    );
    for (kind, key, bytes) in kit.snapshot().iter() {
        let path = dir.path().join(kind.dir()).join(key.to_hex());
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{}", path.display());
    }
}
