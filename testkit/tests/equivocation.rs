//! Equivocation: two valid attestations under one `K_S+` with the same `k` and different
//! `y` are a fatal finding (SPEC §5); the same `y` attested twice is not.

mod common;

use common::{assert_clean, assert_invalid, hashes, main_chain, sorted};
use verifier_core::chain::Equivocation;
use zipchain_testkit::{ChainKit, Equivocating, equivocating_chain};

#[test]
fn a_reused_sequence_number_is_a_fatal_finding() {
    // A rolled-back twin of the sequencer numbers a sibling of b2 with b2's k; the real
    // sequencer is unaffected and carries on.
    let Equivocating {
        kit,
        chain: [b0, b1, b2, b3, b4],
        e,
    } = equivocating_chain();

    let audit = kit.audit();
    assert_invalid(&audit, &[]);
    assert!(audit.has_fatal_findings());
    let mut attestations = vec![
        b2.attestation.unwrap().to_hex(),
        e.attestation.unwrap().to_hex(),
    ];
    attestations.sort();
    let mut ys = vec![hex::encode(b2.y()), hex::encode(e.y())];
    ys.sort();
    assert_eq!(
        audit.equivocations,
        vec![Equivocation {
            sequence: 2,
            attestations,
            ys,
        }]
    );
    assert_eq!(audit.report().equivocations, audit.equivocations);

    // Both siblings are valid triples with k 2; omc breaks the tie by the lower block
    // hash (a documented, deterministic choice).
    if b2.block < e.block {
        assert_eq!(main_chain(&audit), hashes([&b0, &b1, &b2, &b3, &b4]));
        assert_eq!(audit.orphaned_blocks, vec![e.block]);
    } else {
        assert_eq!(main_chain(&audit), hashes([&b0, &b1, &e]));
        assert_eq!(audit.orphaned_blocks, sorted(hashes([&b2, &b3, &b4])));
    }
}

#[test]
fn equivocation_on_the_genesis_number_is_reported() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"1"]);
    let e = kit.equivocate(&b1, &[b"claims k 0"], 0);
    let audit = kit.audit();
    assert!(audit.has_fatal_findings());
    assert_eq!(audit.equivocations.len(), 1);
    assert_eq!(audit.equivocations[0].sequence, 0);
    let mut attestations = vec![
        b0.attestation.unwrap().to_hex(),
        e.attestation.unwrap().to_hex(),
    ];
    attestations.sort();
    assert_eq!(audit.equivocations[0].attestations, attestations);
}

#[test]
fn the_same_block_sequenced_twice_is_not_an_equivocation() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"1"]);
    let b2 = kit.append(&b1, &[b"2"]);
    let again = kit.resequence(&b1);
    assert_ne!(Some(again), b1.attestation);
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&b0, &b1, &b2]));
    assert!(audit.orphaned_blocks.is_empty());
    assert!(audit.forks.is_empty());
    assert_eq!(audit.sequence_gap_at, None);
}
