//! Objects of another chain (its own TSA, sequencer and CA) mixed into the snapshot:
//! their signatures do not verify under this chain's descriptor, so they are invalid,
//! and the main chain is unaffected.

mod common;

use common::{hashes, labelled, main_chain, plain, sorted};
use verifier_core::snapshot::ObjectKind;

#[test]
fn another_chains_objects_are_invalid_here() {
    let (mut ours, chain) = plain(4);
    let (theirs, their_chain) = labelled(3, "theirs");
    ours.absorb(theirs.snapshot());

    let audit = ours.audit();
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert!(audit.equivocations.is_empty());
    assert!(audit.orphaned_blocks.is_empty());
    assert!(audit.pending_blocks.is_empty());
    // Blocks and batches carry no signature: theirs are well-formed, and their blocks
    // have no valid triple here.
    assert_eq!(audit.unsequenced_blocks, sorted(hashes(&their_chain)));
    assert!(audit.missing_batches.is_empty());
    // Their timestamps and attestations fail under our descriptor.
    let mut expected: Vec<(ObjectKind, String)> = their_chain
        .iter()
        .flat_map(|b| {
            [
                (ObjectKind::Timestamp, b.timestamp.to_hex()),
                (ObjectKind::Attestation, b.attestation.unwrap().to_hex()),
            ]
        })
        .collect();
    expected.sort();
    let got: Vec<(ObjectKind, String)> = audit
        .invalid_objects
        .iter()
        .map(|i| (i.kind, i.key.clone()))
        .collect();
    assert_eq!(got, expected);
    for invalid in &audit.invalid_objects {
        let prefix = match invalid.kind {
            ObjectKind::Timestamp => "timestamp: ",
            _ => "attestation: ",
        };
        assert!(invalid.reason.starts_with(prefix), "{invalid:?}");
    }
    // Their transactions are not final here.
    for b in &their_chain {
        for tx in b.tx_ids() {
            assert_eq!(audit.final_height(&tx), None);
        }
    }

    // And the other way round: under their descriptor, their chain is intact.
    let their_audit = theirs.auditor().audit(ours.snapshot(), &mut |_, _| {});
    assert_eq!(main_chain(&their_audit), hashes(&their_chain));
    assert_eq!(their_audit.invalid_objects.len(), 2 * chain.len());
    assert_eq!(their_audit.unsequenced_blocks, sorted(hashes(&chain)));
}

/// Each foreign object fails for the reason that matters: the JWT's key id is not in
/// our JWKS, the document does not chain to our CA root.
#[test]
fn foreign_objects_fail_on_their_keys() {
    let (mut ours, _) = plain(1);
    let (theirs, their_chain) = labelled(1, "theirs");
    ours.absorb(theirs.snapshot());
    let audit = ours.audit();
    let b1 = &their_chain[1];
    let reason = |kind, key: String| {
        audit
            .invalid_objects
            .iter()
            .find(|i| i.kind == kind && i.key == key)
            .map(|i| i.reason.clone())
            .unwrap()
    };
    let ts = reason(ObjectKind::Timestamp, b1.timestamp.to_hex());
    let att = reason(ObjectKind::Attestation, b1.attestation.unwrap().to_hex());
    assert!(ts.contains("no trusted key has kid"), "{ts}");
    assert!(ts.contains(theirs.tsa().kid()), "{ts}");
    assert!(att.contains("trusted root"), "{att}");
}
