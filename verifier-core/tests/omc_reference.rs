//! `omc` (SPEC §5) against a direct, line-by-line reference of the SPEC's steps 1–3.
//!
//! The reference below rescans every triple at every step (O(n²)) and is meant to be
//! obviously right; the library's `omc` indexes by parent and by sequence number. Random
//! block DAGs (forks, two timestamps for a block, duplicate and missing sequence numbers,
//! children numbered below their parents, no genesis at k = 0) must give both the same
//! chain and the same reason to stop. Native only: proptest does not run on wasm32.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use zipchain_verifier_core::chain::{ChainEnd, MainChainChoice, ValidTriple, omc};
use zipchain_verifier_core::hash::Hash32;
use zipchain_verifier_core::time::UnixSeconds;

/// The tie-break both implementations use: least `(k, H(b), H(t), H(a))`; among equal
/// ranks (the same triple twice), the one given first.
fn rank(t: &ValidTriple) -> (u64, Hash32, Hash32, Hash32) {
    (t.k, t.block, t.timestamp, t.attestation)
}

/// The index of the least-ranked triple among `candidates` (the first one on ties).
fn least(triples: &[ValidTriple], candidates: &[usize]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for &i in candidates {
        match best {
            Some(b) if rank(&triples[b]) <= rank(&triples[i]) => {}
            _ => best = Some(i),
        }
    }
    best
}

/// SPEC §5 steps 1–3, read literally.
fn reference_omc(genesis: Hash32, triples: &[ValidTriple]) -> MainChainChoice {
    // 1. If no valid triple has H(b) = genesis and a.s.k = 0, the chain is empty.
    let genesis_triples: Vec<usize> = (0..triples.len())
        .filter(|&i| triples[i].block == genesis && triples[i].k == 0)
        .collect();
    let Some(first) = least(triples, &genesis_triples) else {
        return MainChainChoice {
            chain: vec![],
            end: ChainEnd::NoGenesis,
        };
    };
    // 2. Z = [b0, t0], k = 0.
    let mut z_chain = vec![first];
    let mut k: u64 = 0;
    // 3. Loop.
    loop {
        let last_t = triples[*z_chain.last().unwrap()].timestamp;
        // C = valid triples whose b.t^H = H(last t in Z).
        let c: Vec<usize> = (0..triples.len())
            .filter(|&i| triples[i].parent == last_t)
            .collect();
        // If C is empty, stop.
        let Some(z) = least(triples, &c) else {
            return MainChainChoice {
                chain: z_chain,
                end: ChainEnd::NoChild,
            };
        };
        // If some sequence number in [k, z.a.s.k] has no valid triple, stop.
        let mut number = k;
        while number <= triples[z].k {
            if !triples.iter().any(|t| t.k == number) {
                return MainChainChoice {
                    chain: z_chain,
                    end: ChainEnd::Gap { at: number },
                };
            }
            number += 1;
        }
        // Else append z.b, z.t and set k = z.a.s.k.
        z_chain.push(z);
        k = triples[z].k;
    }
}

fn h(tag: &str, n: u64) -> Hash32 {
    let mut bytes = tag.as_bytes().to_vec();
    bytes.extend_from_slice(&n.to_be_bytes());
    Hash32::digest(&bytes)
}

fn triple(
    block: Hash32,
    parent: Hash32,
    timestamp: Hash32,
    attestation: u64,
    k: u64,
) -> ValidTriple {
    ValidTriple {
        block,
        parent,
        timestamp,
        attestation: h("a", attestation),
        k,
        iat: UnixSeconds(k),
        batch_root: Hash32::ZERO,
    }
}

/// How one random block is made.
#[derive(Clone, Debug)]
struct BlockPlan {
    /// A root (a parent timestamp nobody has) instead of a child of an earlier block.
    root: bool,
    /// Extend the block made just before this one (long chains), rather than any
    /// earlier block (forks).
    latest: bool,
    /// Which earlier block, and which of its timestamps, is the parent.
    parent: prop::sample::Index,
    parent_ts: prop::sample::Index,
    /// One or two timestamps for this block.
    timestamps: usize,
    /// How the sequence numbers are chosen: see `build`.
    k_mode: u8,
    /// A random sequence number, for the `random` mode.
    k_random: u64,
    /// Skip a number after this block (a gap in the sequencer's output).
    skip: bool,
    /// A second attestation of one of the triples (same y, same k: a document seen
    /// twice with different bytes, so a rank tie).
    second_attestation: bool,
}

fn block_plan() -> impl Strategy<Value = BlockPlan> {
    (
        prop::bool::weighted(0.08),
        prop::bool::weighted(0.7),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.2),
        0u8..12,
        0u64..70,
        prop::bool::weighted(0.04),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(root, latest, parent, parent_ts, two, k_mode, k_random, skip, second_attestation)| {
                BlockPlan {
                    root,
                    latest,
                    parent,
                    parent_ts,
                    timestamps: if two { 2 } else { 1 },
                    k_mode,
                    k_random,
                    skip,
                    second_attestation,
                }
            },
        )
}

/// Which hash the descriptor pins as genesis.
#[derive(Clone, Debug)]
enum GenesisPlan {
    /// The first block (usually numbered 0).
    First,
    /// Some other block.
    Other(prop::sample::Index),
    /// A block that is not there.
    Absent,
}

fn genesis_plan() -> impl Strategy<Value = GenesisPlan> {
    prop_oneof![
        8 => Just(GenesisPlan::First),
        1 => any::<prop::sample::Index>().prop_map(GenesisPlan::Other),
        1 => Just(GenesisPlan::Absent),
    ]
}

/// Builds the triples of a random DAG: every block's parent is a timestamp of an
/// earlier block (or of nothing), so the chain cannot loop.
fn build(plans: &[BlockPlan], genesis: &GenesisPlan, rotate: usize) -> (Hash32, Vec<ValidTriple>) {
    let mut triples = Vec::new();
    // Timestamps of each block so far.
    let mut block_timestamps: Vec<Vec<Hash32>> = Vec::new();
    let mut next_k: u64 = 0;
    let mut last_k: u64 = 0;
    let mut attestation = 0u64;
    let mut timestamp = 0u64;
    for (i, plan) in plans.iter().enumerate() {
        let parent = if i == 0 || plan.root {
            h("root", i as u64)
        } else {
            let j = if plan.latest {
                i - 1
            } else {
                plan.parent.index(i)
            };
            let parents = &block_timestamps[j];
            *plan.parent_ts.get(parents)
        };
        // H(b) covers the parent, so one hash per (block, parent).
        let block = h("b", i as u64);
        let mut mine = Vec::new();
        for _ in 0..plan.timestamps {
            let k = match plan.k_mode {
                // The honest sequencer: the next number.
                0..=8 => {
                    let k = next_k;
                    next_k += 1;
                    k
                }
                // Equivocation: the number the previous triple got.
                9 => last_k,
                // Lower than anything recent: a child numbered below its parent.
                10 => next_k / 2,
                // Anything (also beyond the numbers given out: a gap).
                _ => plan.k_random,
            };
            if plan.skip {
                next_k += 1;
            }
            last_k = k;
            let t = h("t", timestamp);
            timestamp += 1;
            triples.push(triple(block, parent, t, attestation, k));
            attestation += 1;
            if plan.second_attestation {
                triples.push(triple(block, parent, t, attestation, k));
                attestation += 1;
            }
            mine.push(t);
        }
        block_timestamps.push(mine);
    }
    let genesis = match genesis {
        GenesisPlan::First => h("b", 0),
        GenesisPlan::Other(i) => h("b", i.index(plans.len()) as u64),
        GenesisPlan::Absent => h("b", u64::MAX),
    };
    let len = triples.len();
    triples.rotate_left(rotate % len.max(1));
    (genesis, triples)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn omc_matches_the_reference(
        plans in prop::collection::vec(block_plan(), 1..60),
        genesis in genesis_plan(),
        rotate in 0usize..200,
    ) {
        let (genesis, triples) = build(&plans, &genesis, rotate);
        let want = reference_omc(genesis, &triples);
        prop_assert_eq!(omc(genesis, &triples), want);
    }

    /// The same with timestamp and parent hashes that share their first eight bytes
    /// (`omc` joins on those first, then checks the whole hash): all of them, or
    /// about half.
    #[test]
    fn omc_matches_the_reference_when_hash_prefixes_collide(
        plans in prop::collection::vec(block_plan(), 1..60),
        genesis in genesis_plan(),
        rotate in 0usize..200,
        all in any::<bool>(),
    ) {
        let (genesis, mut triples) = build(&plans, &genesis, rotate);
        let squash = |h: Hash32| {
            let mut bytes = *h.as_bytes();
            if all || bytes[31] % 2 == 0 {
                bytes[..8].fill(0x5a);
            }
            Hash32(bytes)
        };
        for t in &mut triples {
            t.parent = squash(t.parent);
            t.timestamp = squash(t.timestamp);
        }
        let want = reference_omc(genesis, &triples);
        prop_assert_eq!(omc(genesis, &triples), want);
    }
}

/// The generator reaches every way of stopping, and long chains.
#[test]
fn generator_covers_every_end() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (
        prop::collection::vec(block_plan(), 1..60),
        genesis_plan(),
        0usize..200,
    );
    let (mut no_genesis, mut no_child, mut gap, mut longest) = (0, 0, 0, 0);
    for _ in 0..2000 {
        let (plans, genesis, rotate) = strategy.new_tree(&mut runner).unwrap().current();
        let (genesis, triples) = build(&plans, &genesis, rotate);
        let choice = reference_omc(genesis, &triples);
        longest = longest.max(choice.chain.len());
        match choice.end {
            ChainEnd::NoGenesis => no_genesis += 1,
            ChainEnd::NoChild => no_child += 1,
            ChainEnd::Gap { .. } => gap += 1,
        }
    }
    eprintln!("ends: {no_genesis} {no_child} {gap}, longest {longest}");
    assert!(
        no_genesis > 50 && no_child > 50 && gap > 50,
        "{no_genesis} {no_child} {gap}"
    );
    assert!(longest >= 10, "longest chain {longest}");
}

#[test]
fn reference_agrees_with_fig4_by_hand() {
    // b0(k0) - b1(k1) - b2(k2) - b3(k5); b1 - b2'(k3) - b3'(k4): b2 wins, b3 follows.
    let t = |n| h("t", n);
    let triples = vec![
        triple(h("b", 0), h("root", 0), t(0), 0, 0),
        triple(h("b", 1), t(0), t(1), 1, 1),
        triple(h("b", 2), t(1), t(2), 2, 2),
        triple(h("b", 20), t(1), t(20), 3, 3),
        triple(h("b", 30), t(20), t(30), 4, 4),
        triple(h("b", 3), t(2), t(3), 5, 5),
    ];
    let want = MainChainChoice {
        chain: vec![0, 1, 2, 5],
        end: ChainEnd::NoChild,
    };
    assert_eq!(reference_omc(h("b", 0), &triples), want);
    assert_eq!(omc(h("b", 0), &triples), want);
    // Without k = 4 the chain stops before b3 (k = 5).
    let without_k4: Vec<ValidTriple> = triples.iter().filter(|t| t.k != 4).cloned().collect();
    let want = MainChainChoice {
        chain: vec![0, 1, 2],
        end: ChainEnd::Gap { at: 4 },
    };
    assert_eq!(reference_omc(h("b", 0), &without_k4), want);
    assert_eq!(omc(h("b", 0), &without_k4), want);
}

/// 200 000 triples: a long chain with a dead fork every third height, then one
/// block across a gap. `omc` runs once; the expected chain is known by construction.
#[test]
fn long_chain_with_forks() {
    const TOTAL: usize = 200_000;
    let mut triples = Vec::with_capacity(TOTAL + 1);
    let mut main = Vec::new();
    let mut k = 0u64;
    let mut parent = h("root", 0);
    let mut n = 0u64;
    let mut next = || {
        n += 1;
        n
    };
    let mut height = 0u64;
    while triples.len() + 3 <= TOTAL {
        // The main block at this height takes the lowest number among its siblings.
        let id = next();
        let t = h("t", id);
        main.push(triples.len());
        triples.push(triple(h("b", id), parent, t, id, k));
        k += 1;
        if height % 3 == 1 {
            // A sibling with a higher number, and a child of the sibling.
            let s = next();
            triples.push(triple(h("b", s), parent, h("t", s), s, k));
            k += 1;
            let c = next();
            triples.push(triple(h("b", c), h("t", s), h("t", c), c, k));
            k += 1;
        }
        parent = t;
        height += 1;
    }
    // One more block on the tip, numbered across a gap at `k`.
    let id = next();
    triples.push(triple(h("b", id), parent, h("t", id), id, k + 1));
    assert!(triples.len() >= TOTAL);
    // Present them newest first.
    triples.reverse();
    let len = triples.len();
    let main: Vec<usize> = main.iter().map(|&i| len - 1 - i).collect();
    let genesis = triples[main[0]].block;

    let choice = omc(genesis, &triples);
    assert_eq!(choice.end, ChainEnd::Gap { at: k });
    assert_eq!(choice.chain.len(), main.len());
    assert!(
        choice.chain == main,
        "the main chain differs from the main blocks"
    );
}
