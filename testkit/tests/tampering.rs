//! Tampered objects (one flipped byte, file name kept, or the forgery stored under its
//! own new hash): each is reported invalid with a reason and ignored, and the main
//! chain stops where that object was needed.

mod common;

use common::{assert_invalid, flip, hashes, main_chain, plain, sorted};
use verifier_core::chain::ChainEnd;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;

/// The chain b0..b6 with b3's object of `kind` tampered stops at b2: the gap is at 3
/// and b4..b6, cut off from the tip, are orphans.
#[test]
fn a_tampered_block_timestamp_or_attestation_stops_the_chain() {
    let (mut kit, chain) = plain(6);
    let b3 = chain[3].clone();
    for (kind, key, index) in [
        (ObjectKind::Block, b3.block, 40),          // inside m^H
        (ObjectKind::Timestamp, b3.timestamp, -20), // inside the RS256 signature
        (ObjectKind::Attestation, b3.attestation.unwrap(), -5), // inside the ES384 signature
    ] {
        let original = flip(&mut kit, kind, &key, index);
        let audit = kit.audit();
        assert_invalid(&audit, &[(kind, key, "content hashes to")]);
        assert!(audit.equivocations.is_empty());
        assert_eq!(main_chain(&audit), hashes(&chain[..3]), "{kind}");
        assert_eq!(audit.end, ChainEnd::NoChild);
        assert_eq!(audit.sequence_gap_at, Some(3), "{kind}");
        // With its timestamp intact, b3 still links b4.. to the tip: they are pending
        // (a good copy of the attestation would let the chain resume). Without a valid
        // block or timestamp nothing connects them: they are orphans.
        if kind == ObjectKind::Attestation {
            assert!(audit.orphaned_blocks.is_empty(), "{kind}");
            assert_eq!(audit.pending_blocks, sorted(hashes(&chain[4..])), "{kind}");
        } else {
            assert_eq!(audit.orphaned_blocks, sorted(hashes(&chain[4..])), "{kind}");
            assert!(audit.pending_blocks.is_empty(), "{kind}");
        }
        // Without a valid timestamp or attestation b3 is unsequenced; a corrupt block
        // is not a block at all.
        let unsequenced = if kind == ObjectKind::Block {
            vec![]
        } else {
            vec![b3.block]
        };
        assert_eq!(audit.unsequenced_blocks, unsequenced, "{kind}");
        for tx in b3.tx_ids() {
            assert_eq!(audit.final_height(&tx), None);
        }
        kit.snapshot_mut().insert(kind, key, original);
    }
    assert_eq!(kit.audit().height(), Some(6));
}

/// A forged timestamp or attestation stored under its own hash fails on its signature.
#[test]
fn forgeries_under_their_own_names_fail_their_signatures() {
    let (mut kit, chain) = plain(4);
    let b2 = chain[2].clone();
    for (kind, key, index, reason) in [
        (ObjectKind::Timestamp, b2.timestamp, -20, "timestamp: "),
        (
            ObjectKind::Attestation,
            b2.attestation.unwrap(),
            -5,
            "attestation: ",
        ),
    ] {
        let original = flip(&mut kit, kind, &key, index);
        let forged = kit.snapshot_mut().remove(kind, &key).unwrap();
        let forged_key = Hash32::digest(&forged);
        kit.snapshot_mut().insert(kind, forged_key, forged);
        let audit = kit.audit();
        assert_invalid(&audit, &[(kind, forged_key, reason)]);
        assert!(
            !audit.invalid_objects[0]
                .reason
                .contains("content hashes to"),
            "{:?}",
            audit.invalid_objects
        );
        assert_eq!(main_chain(&audit), hashes(&chain[..2]), "{kind}");
        assert_eq!(audit.sequence_gap_at, Some(2));
        assert_eq!(audit.unsequenced_blocks, vec![b2.block]);
        kit.snapshot_mut().remove(kind, &forged_key);
        kit.snapshot_mut().insert(kind, key, original);
        assert_eq!(kit.audit().height(), Some(4));
    }
}

/// A tampered batch is not needed to choose the chain: the chain goes on, the batch
/// is invalid and missing, and its transactions are not final.
#[test]
fn a_tampered_batch_is_invalid_and_its_transactions_not_final() {
    let (mut kit, chain) = plain(5);
    let b3 = chain[3].clone();
    // The last byte is inside the one transaction's bytes: the CBOR still decodes.
    flip(&mut kit, ObjectKind::Batch, &b3.batch_root, -1);
    let audit = kit.audit();
    assert_invalid(
        &audit,
        &[(ObjectKind::Batch, b3.batch_root, "Merkle root is")],
    );
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert_eq!(audit.missing_batches, vec![b3.block]);
    for tx in b3.tx_ids() {
        assert_eq!(audit.final_height(&tx), None);
    }
    // Past the missing batch no first occurrence can be proven: only b1 and b2 count.
    assert_eq!(audit.final_transactions.len(), 2);

    // Cut short, the batch no longer decodes at all.
    let mut bytes = kit
        .snapshot()
        .get(ObjectKind::Batch, &b3.batch_root)
        .unwrap()
        .to_vec();
    bytes.pop();
    kit.snapshot_mut()
        .insert(ObjectKind::Batch, b3.batch_root, bytes);
    let audit = kit.audit();
    assert_invalid(&audit, &[(ObjectKind::Batch, b3.batch_root, "batch: ")]);
    assert_eq!(main_chain(&audit), hashes(&chain));
}
