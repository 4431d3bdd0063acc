//! Forks: the sibling with the lower sequence number wins (SPEC §4, §5), whatever the
//! order the siblings were built in and however long the losing branch grows.

mod common;

use common::{assert_clean, hashes, main_chain, sorted};
use verifier_core::chain::{Branch, ChainEnd, Fork};
use zipchain_testkit::ChainKit;

/// The seed's FIG. 4: b0 - b1 - b2 (k 2) and a competing b2' (k 3) on b1 whose branch
/// grows to five blocks; the main chain keeps b2 and continues from it.
#[test]
fn fig4_lower_sequence_sibling_wins_against_a_longer_branch() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"one"]);
    let b2 = kit.append(&b1, &[b"two"]);
    let losing = kit.extend(&b1, 5, "losing");
    assert_eq!(b2.k, Some(2));
    assert_eq!(losing[0].k, Some(3));

    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&b0, &b1, &b2]));
    assert_eq!(audit.end, ChainEnd::NoChild);
    assert_eq!(audit.sequence_gap_at, None);
    assert_eq!(audit.orphaned_blocks, sorted(hashes(&losing)));
    assert!(audit.pending_blocks.is_empty());
    assert!(audit.unsequenced_blocks.is_empty());
    let fork = Fork {
        parent_height: 1,
        parent_block: b1.block,
        winner: Some(Branch {
            block: b2.block,
            sequence: 2,
            blocks: 1,
        }),
        losers: vec![Branch {
            block: losing[0].block,
            sequence: 3,
            blocks: 5,
        }],
    };
    assert_eq!(audit.forks, vec![fork.clone()]);
    // The losing branch's transactions are not final.
    for b in &losing {
        for tx in b.tx_ids() {
            assert_eq!(audit.final_height(&tx), None);
        }
    }

    // The main chain continues from b2 (k 8, after the losing branch's 3..=7).
    let b3 = kit.append(&b2, &[b"three"]);
    let b4 = kit.append(&b3, &[b"four"]);
    assert_eq!(b3.k, Some(8));
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&b0, &b1, &b2, &b3, &b4]));
    assert_eq!(audit.orphaned_blocks, sorted(hashes(&losing)));
    assert_eq!(
        audit.forks,
        vec![Fork {
            winner: Some(Branch {
                block: b2.block,
                sequence: 2,
                blocks: 3,
            }),
            ..fork
        }]
    );
    assert_eq!(audit.final_transactions.len(), 4);
}

/// A sibling built later but sequenced first has the lower `k` and wins.
#[test]
fn sequence_order_not_build_order_decides() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"one"]);
    let early = kit.append_unsequenced(&b1, &[b"built first"]);
    let late = kit.append(&b1, &[b"built second"]);
    let early = kit.sequence(&early);
    assert!(early.iat < late.iat);
    assert_eq!((late.k, early.k), (Some(2), Some(3)));

    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&b0, &b1, &late]));
    assert_eq!(audit.orphaned_blocks, vec![early.block]);
    assert_eq!(audit.forks.len(), 1);
    assert_eq!(audit.forks[0].losers[0].block, early.block);
}

/// Forks at heights 1, 3 and 5 (one of them three-way), each won by the first-sequenced
/// child, with losing branches of different lengths.
#[test]
fn forks_at_several_heights() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"1"]);
    let b2 = kit.append(&b1, &[b"2"]);
    let x2 = kit.extend(&b1, 2, "x at 2"); // fork at height 1, 2 blocks
    let b3 = kit.append(&b2, &[b"3"]);
    let b4 = kit.append(&b3, &[b"4"]);
    let y4 = kit.extend(&b3, 3, "y at 4"); // three-way fork at height 3: 3 blocks ...
    let z4 = kit.append(&b3, &[b"z at 4"]); // ... and 1 block
    let b5 = kit.append(&b4, &[b"5"]);
    let b6 = kit.append(&b5, &[b"6"]);
    let w6 = kit.append(&b5, &[b"w at 6"]); // fork at height 5, 1 block
    let b7 = kit.append(&b6, &[b"7"]);
    // Two children of b7: the first sequenced extends the main chain, the other loses.
    let p8 = kit.append(&b7, &[b"8a"]);
    let q8 = kit.append(&b7, &[b"8b"]);

    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(
        main_chain(&audit),
        hashes([&b0, &b1, &b2, &b3, &b4, &b5, &b6, &b7, &p8])
    );
    let mut orphans = hashes(&x2);
    orphans.extend(hashes(&y4));
    orphans.extend([z4.block, w6.block, q8.block]);
    assert_eq!(audit.orphaned_blocks, sorted(orphans));
    assert!(audit.pending_blocks.is_empty());
    assert_eq!(audit.sequence_gap_at, None);

    let shape: Vec<(u64, Vec<(u64, u64)>)> = audit
        .forks
        .iter()
        .map(|f| {
            (
                f.parent_height,
                f.losers.iter().map(|l| (l.sequence, l.blocks)).collect(),
            )
        })
        .collect();
    let k = |b: &zipchain_testkit::BuiltBlock| b.k.unwrap();
    assert_eq!(
        shape,
        vec![
            (1, vec![(k(&x2[0]), 2)]),
            (3, vec![(k(&y4[0]), 3), (k(&z4), 1)]),
            (5, vec![(k(&w6), 1)]),
            (7, vec![(k(&q8), 1)]),
        ]
    );
    for f in &audit.forks {
        let winner = f.winner.as_ref().unwrap();
        assert!(f.losers.iter().all(|l| l.sequence > winner.sequence));
    }
}

/// Children of the tip that are sequenced but blocked by a gap are pending, not orphans.
#[test]
fn a_child_of_the_tip_behind_a_gap_is_pending() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"1"]);
    let held = kit.append_withheld(&b1, &[b"held"]); // k 2, not published
    let next = kit.append(&b1, &[b"next"]); // k 3
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&b0, &b1]));
    assert_eq!(audit.end, ChainEnd::Gap { at: 2 });
    assert_eq!(audit.sequence_gap_at, Some(2));
    assert_eq!(audit.pending_blocks, vec![next.block]);
    assert!(audit.orphaned_blocks.is_empty());
    assert_eq!(audit.unsequenced_blocks, vec![held.block]);
    assert!(audit.forks.is_empty());

    kit.publish(&held);
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes([&b0, &b1, &held]));
    assert_eq!(audit.orphaned_blocks, vec![next.block]);
    assert!(audit.pending_blocks.is_empty());
}
