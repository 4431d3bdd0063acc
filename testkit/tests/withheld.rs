//! A withheld attestation: the main chain stops before the block whose sequence number
//! has no valid triple, and resumes once the attestation is published.

mod common;

use common::{assert_clean, hashes, main_chain, sorted};
use verifier_core::chain::ChainEnd;
use zipchain_testkit::{BuiltBlock, ChainKit};

/// b0 - b1 - b2 - b3 - b4 (attestation withheld, k 4) - b5 - b6 - b7.
fn chain_with_withheld_b4() -> (ChainKit, Vec<BuiltBlock>) {
    let mut kit = ChainKit::new();
    let mut chain = vec![kit.genesis().clone()];
    chain.extend(kit.extend(&chain[0].clone(), 3, "before"));
    let held = kit.append_withheld(chain.last().unwrap(), &[b"held"]);
    chain.push(held.clone());
    chain.extend(kit.extend(&held, 3, "after"));
    assert_eq!(held.k, Some(4));
    (kit, chain)
}

#[test]
fn chain_stops_at_the_withheld_attestation_and_resumes_when_published() {
    let (mut kit, chain) = chain_with_withheld_b4();
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain[..4]));
    assert_eq!(audit.height(), Some(3));
    assert_eq!(audit.end, ChainEnd::NoChild);
    assert_eq!(audit.sequence_gap_at, chain[4].k);
    assert_eq!(audit.unsequenced_blocks, vec![chain[4].block]);
    // Nothing after the held block is final.
    for b in &chain[4..] {
        for tx in b.tx_ids() {
            assert_eq!(audit.final_height(&tx), None);
        }
    }
    assert_eq!(audit.final_transactions.len(), 3);

    kit.publish(&chain[4]);
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert_eq!(audit.height(), Some(7));
    assert_eq!(audit.sequence_gap_at, None);
    assert!(audit.unsequenced_blocks.is_empty());
    assert!(audit.pending_blocks.is_empty());
    assert!(audit.orphaned_blocks.is_empty());
    assert_eq!(audit.final_transactions.len(), 7);
}

/// The blocks built on the held block extend the tip (through a well-formed block and
/// a valid timestamp) and become final once the attestation appears: they are waiting,
/// not on a losing fork. `Audit::orphaned_blocks` is documented as "valid blocks that
/// are not on the main chain and do not extend its tip", and SPEC §6 speaks of
/// "orphaned fork blocks"; verifier-core reports them as orphans because it follows
/// only valid triples from the tip.
#[test]
fn blocks_beyond_the_withheld_attestation_are_pending() {
    let (kit, chain) = chain_with_withheld_b4();
    let audit = kit.audit();
    assert_eq!(audit.pending_blocks, sorted(hashes(&chain[5..])));
    assert!(
        audit.orphaned_blocks.is_empty(),
        "{:?}",
        audit.orphaned_blocks
    );
}

/// A competitor sequenced after the withheld block waits behind the gap (pending);
/// once the withheld attestation appears it wins, being lower, and the competitor
/// becomes an orphan.
#[test]
fn a_later_competitor_waits_behind_the_gap() {
    let (mut kit, chain) = chain_with_withheld_b4();
    let rival = kit.append(&chain[3], &[b"rival"]); // k 8
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain[..4]));
    assert_eq!(audit.end, ChainEnd::Gap { at: 4 });
    assert_eq!(audit.sequence_gap_at, Some(4));
    // The rival and the blocks built on the withheld one all wait behind the gap.
    let mut waiting = hashes(&chain[5..]);
    waiting.push(rival.block);
    assert_eq!(audit.pending_blocks, sorted(waiting));

    kit.publish(&chain[4]);
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert_eq!(audit.orphaned_blocks, vec![rival.block]);
    assert!(audit.pending_blocks.is_empty());
}

/// A block that was never sequenced holds nothing back: no sequence number is missing.
#[test]
fn an_unsequenced_block_is_listed_and_leaves_no_gap() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"1"]);
    let never = kit.append_unsequenced(&b1, &[b"never"]);
    let b2 = kit.append(&b1, &[b"2"]);
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&b0, &b1, &b2]));
    assert_eq!(audit.unsequenced_blocks, vec![never.block]);
    assert_eq!(audit.sequence_gap_at, None);
    assert!(audit.orphaned_blocks.is_empty());
}
