//! Valid content under the wrong name (another hash, or another kind's directory) is an
//! invalid object (SPEC §2.1), reported and ignored.

mod common;

use common::{assert_invalid, hashes, main_chain, plain};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;

/// b2's block, timestamp or attestation moved to a wrong name: invalid, and the chain
/// stops before b2 as if the object were missing.
#[test]
fn objects_moved_to_a_wrong_name() {
    let (mut kit, chain) = plain(4);
    let b2 = chain[2].clone();
    let wrong = Hash32::digest(b"not the content's hash");
    for kind in [
        ObjectKind::Block,
        ObjectKind::Timestamp,
        ObjectKind::Attestation,
    ] {
        let key = match kind {
            ObjectKind::Block => b2.block,
            ObjectKind::Timestamp => b2.timestamp,
            _ => b2.attestation.unwrap(),
        };
        let bytes = kit.snapshot_mut().remove(kind, &key).unwrap();
        kit.snapshot_mut().insert(kind, wrong, bytes.clone());
        let audit = kit.audit();
        assert_invalid(&audit, &[(kind, wrong, "not to its name")]);
        assert!(
            audit.invalid_objects[0].reason.contains(&key.to_hex()),
            "the reason names the real hash: {:?}",
            audit.invalid_objects[0].reason
        );
        assert_eq!(main_chain(&audit), hashes(&chain[..2]), "{kind}");
        assert_eq!(audit.sequence_gap_at, Some(2), "{kind}");
        kit.snapshot_mut().remove(kind, &wrong);
        kit.snapshot_mut().insert(kind, key, bytes);
    }
    assert_eq!(kit.audit().height(), Some(4));
}

/// A copy of a valid object under another name, next to the original, changes nothing
/// but the list of invalid objects. For a batch the name is its Merkle root.
#[test]
fn copies_under_wrong_names_next_to_the_originals() {
    let (mut kit, chain) = plain(3);
    let b1 = chain[1].clone();
    let snapshot = kit.snapshot().clone();
    let get = |kind, key: &Hash32| snapshot.get(kind, key).unwrap().to_vec();
    // b1's four objects, each copied under a name no object has.
    let copies = [
        (ObjectKind::Block, get(ObjectKind::Block, &b1.block)),
        (
            ObjectKind::Timestamp,
            get(ObjectKind::Timestamp, &b1.timestamp),
        ),
        (
            ObjectKind::Attestation,
            get(ObjectKind::Attestation, &b1.attestation.unwrap()),
        ),
        (ObjectKind::Batch, get(ObjectKind::Batch, &b1.batch_root)),
    ];
    let mut expected = Vec::new();
    for (i, (kind, bytes)) in copies.into_iter().enumerate() {
        let name = Hash32::digest(format!("wrong name {i}").as_bytes());
        kit.snapshot_mut().insert(kind, name, bytes);
        let reason = if kind == ObjectKind::Batch {
            "Merkle root is"
        } else {
            "not to its name"
        };
        expected.push((kind, name, reason));
    }
    let audit = kit.audit();
    assert_invalid(&audit, &expected);
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert!(audit.orphaned_blocks.is_empty());
    assert!(audit.unsequenced_blocks.is_empty());
    assert!(audit.missing_batches.is_empty());
}

/// Valid content in another kind's directory, under its own hash: a JWT among the
/// attestations, an NSM document among the timestamps, a block among the batches.
#[test]
fn objects_in_the_wrong_directory() {
    let (mut kit, chain) = plain(2);
    let b1 = chain[1].clone();
    let snapshot = kit.snapshot().clone();
    let token = snapshot.get(ObjectKind::Timestamp, &b1.timestamp).unwrap();
    let doc = snapshot
        .get(ObjectKind::Attestation, &b1.attestation.unwrap())
        .unwrap();
    let block = snapshot.get(ObjectKind::Block, &b1.block).unwrap();
    kit.snapshot_mut()
        .insert(ObjectKind::Attestation, b1.timestamp, token.to_vec());
    kit.snapshot_mut()
        .insert(ObjectKind::Timestamp, b1.attestation.unwrap(), doc.to_vec());
    kit.snapshot_mut()
        .insert(ObjectKind::Batch, b1.block, block.to_vec());
    let audit = kit.audit();
    assert_invalid(
        &audit,
        &[
            (
                ObjectKind::Timestamp,
                b1.attestation.unwrap(),
                "timestamp: ",
            ),
            (ObjectKind::Attestation, b1.timestamp, "attestation: "),
            (ObjectKind::Batch, b1.block, "batch: "),
        ],
    );
    assert_eq!(main_chain(&audit), hashes(&chain));
}
