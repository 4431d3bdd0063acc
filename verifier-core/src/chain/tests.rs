#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

fn h(n: u64) -> Hash32 {
    Hash32::digest(&n.to_be_bytes())
}

/// A triple for block `b` with timestamp `t`, parent timestamp `p` and number `k`.
fn triple(b: u64, t: u64, p: Option<u64>, k: u64) -> ValidTriple {
    ValidTriple {
        block: h(1000 + b),
        parent: p.map_or(Hash32::ZERO, |p| h(2000 + p)),
        timestamp: h(2000 + t),
        attestation: h(3000 + k),
        k,
        iat: UnixSeconds(k),
        batch_root: Hash32::ZERO,
    }
}

#[test]
fn fig4_lower_sequence_sibling_wins_and_chain_continues_from_it() {
    // b0 - b1 - b2(k2) - b3(k5); b1 - b2'(k3) - b3'(k4)
    let ts = vec![
        triple(0, 0, None, 0),
        triple(1, 1, Some(0), 1),
        triple(2, 2, Some(1), 2),
        triple(20, 20, Some(1), 3),
        triple(30, 30, Some(20), 4),
        triple(3, 3, Some(2), 5),
    ];
    let c = omc(h(1000), &ts);
    assert_eq!(c.chain, vec![0, 1, 2, 5]);
    assert_eq!(c.end, ChainEnd::NoChild);
}

#[test]
fn stops_at_first_gap_and_resumes_when_filled() {
    let mut ts = vec![
        triple(0, 0, None, 0),
        triple(1, 1, Some(0), 1),
        triple(2, 2, Some(1), 3),
    ];
    assert_eq!(
        omc(h(1000), &ts),
        MainChainChoice {
            chain: vec![0, 1],
            end: ChainEnd::Gap { at: 2 }
        }
    );
    ts.push(triple(9, 9, Some(0), 2)); // k = 2 appears on a dead branch
    // b1 (k = 1) still beats it under b0; b2 (index 2, k = 3) now follows b1.
    assert_eq!(
        omc(h(1000), &ts),
        MainChainChoice {
            chain: vec![0, 1, 2],
            end: ChainEnd::NoChild
        }
    );
}

#[test]
fn empty_without_genesis_at_k0() {
    let ts = vec![triple(0, 0, None, 1)];
    assert_eq!(omc(h(1000), &ts).end, ChainEnd::NoGenesis);
    assert_eq!(omc(h(1000), &[]).end, ChainEnd::NoGenesis);
}

#[test]
fn coverage_is_the_least_missing_number() {
    let c = SequenceCoverage::new([8, 0, 2, 1, 5, 6, 2, 9, 20].into_iter());
    assert_eq!(c.covered_below, 3);
    assert_eq!(c.max, Some(20));
    assert_eq!(c.first_missing_above_chain(), Some(3));
    // Every number up to the greatest is covered: no gap above the chain.
    let c = SequenceCoverage::new([3, 0, 2, 1].into_iter());
    assert_eq!((c.covered_below, c.first_missing_above_chain()), (4, None));
    // Numbers far beyond the count do not matter to the least missing one.
    let c = SequenceCoverage::new([u64::MAX, 0].into_iter());
    assert_eq!((c.covered_below, c.max), (1, Some(u64::MAX)));
    let c = SequenceCoverage::new([1, 2].into_iter());
    assert_eq!(c.covered_below, 0);
    // A full bitmap word: 0..=127 covered, 128 not.
    let c = SequenceCoverage::new(0..128);
    assert_eq!(c.covered_below, 128);
    assert_eq!(SequenceCoverage::new([].into_iter()).max, None);
}

/// The first eight bytes of a hash: join keys that an attacker could make collide.
fn prefix8(hash: &Hash32) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_be_bytes(word)
}

/// [`least_children_by_prefix`] as triple indices.
fn by_prefix(ts: &[ValidTriple], scan: &mut Scan) -> Vec<usize> {
    let least = least_children_by_prefix(ts, scan).unwrap_or_default();
    least.into_iter().map(widen).collect()
}

#[test]
fn scatter_puts_every_link_once_in_its_partition() {
    assert_eq!(partition_bits(0), 0);
    assert_eq!(partition_bits(256), 0);
    assert_eq!(partition_bits(257), 1);
    assert_eq!(partition_bits(usize::MAX), 10);
    assert_eq!(partition_of(u64::MAX, 0), 0);
    assert_eq!(partition_of(u64::MAX, 10), 1023);
    let ts: Vec<ValidTriple> = (0..1000).map(|i| triple(i, i, Some(i + 1), i)).collect();
    let scan = scan(h(1000), &ts, HashSeed::new(7));
    assert_eq!(scan.genesis, Some(0));
    let parents = scatter(&scan.parent_counts, &scan.links, |i, l| {
        (partition_of(l.stamp, scan.bits), (l.stamp, i))
    });
    let parts: Vec<usize> = parents
        .iter()
        .map(|(prefix, _)| partition_of(*prefix, scan.bits))
        .collect();
    assert!(
        parts.is_sorted(),
        "grouped by partition, in partition order"
    );
    assert!(
        parents
            .iter()
            .all(|&(prefix, i)| prefix == FixedState::with_seed(7).hash_one(ts[i].timestamp))
    );
    let mut seen: Vec<usize> = parents.iter().map(|e| e.1).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..1000).collect::<Vec<_>>());
}

#[test]
fn join_by_prefix_finds_the_least_child_of_every_triple() {
    // Blocks 0..3000; block i's parent is block i/2's timestamp (a binary tree),
    // numbered so that siblings compete: the lower k must win.
    let ts: Vec<ValidTriple> = (0..3000u64)
        .map(|i| triple(i, i, (i > 0).then_some(i / 2), (i * 7919) % 3001))
        .collect();
    let mut scan = scan(h(1000), &ts, HashSeed::new(7));
    assert_eq!(scan.genesis, Some(0));
    let exact = least_children_exact(&ts);
    assert_eq!(by_prefix(&ts, &mut scan), exact);
    for (i, &c) in exact.iter().enumerate() {
        let least = (0..ts.len())
            .filter(|&j| ts[j].parent == ts[i].timestamp)
            .min_by_key(|&j| ts[j].k);
        assert_eq!(least.unwrap_or(NO_CHILD), c, "triple {i}");
    }
}

/// Keys that count every comparison made of them.
#[derive(Clone, Copy, Debug)]
struct Counted([u8; 32]);

impl PartialOrd for Counted {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Counted {
    fn cmp(&self, other: &Self) -> Ordering {
        compared();
        self.0.cmp(&other.0)
    }
}

std::thread_local! {
    static COMPARISONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn compared() {
    COMPARISONS.with(|c| c.set(c.get() + 1));
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        compared();
        self.0 == other.0
    }
}
impl Eq for Counted {}

#[test]
fn grouping_chosen_keys_stays_n_log_n() {
    // Keys that share their first 24 bytes, as a block builder can write parent
    // fields or a requester choose what a timestamp attests (issue #13): a table
    // hashing a prefix put them all in one bucket, n²/4 comparisons on average.
    let n = 8192usize;
    let keys: Vec<Counted> = (0..n)
        .map(|i| {
            let mut k = [0xaa; 32];
            k[24..].copy_from_slice(&((i / 2) as u64).to_be_bytes());
            Counted(k)
        })
        .collect();
    COMPARISONS.with(|c| c.set(0));
    let index = GroupIndex::new(n, |i| keys[i]);
    for (i, key) in keys.iter().enumerate() {
        let group = index.get(key);
        assert_eq!(group, &[i & !1, i | 1], "key {i}");
    }
    let missing = Counted([0xbb; 32]);
    assert!(index.get(&missing).is_empty());
    let used = COMPARISONS.with(std::cell::Cell::get);
    let log_n = u64::from(usize::BITS - n.leading_zeros());
    let bound = 20 * n as u64 * log_n;
    assert!(
        used <= bound,
        "{used} comparisons for {n} keys; at most {bound}"
    );
}

#[test]
fn join_falls_back_to_sorting_when_prefixes_aim_at_one_slot() {
    // Prefixes whose products with the slot multiplier are all small share slot 0
    // at any table size: the probe budget runs out and the sorted join answers.
    let mut inverse = SLOT_MULTIPLIER;
    for _ in 0..6 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(SLOT_MULTIPLIER.wrapping_mul(inverse)));
    }
    assert_eq!(inverse.wrapping_mul(SLOT_MULTIPLIER), 1);
    let prefix = |i: u64| inverse.wrapping_mul(i);
    // Children 0..1200 under prefixes 1..=600 (two each, the second numbered like
    // the first for even prefixes: a tie); parents 600 of them plus 100 without.
    let k = |i: u64| if i >= 600 && i % 2 == 1 { i - 600 } else { i };
    let ts: Vec<ValidTriple> = (0..1200).map(|i| triple(i, i, None, k(i))).collect();
    let kids: Vec<ChildEntry> = (0..1200)
        .map(|i| ChildEntry {
            prefix: prefix(1 + i as u64 % 600),
            k: k(i as u64),
            index: i,
        })
        .collect();
    let stamps: Vec<ParentEntry> = (0..700)
        .map(|i| ParentEntry {
            prefix: prefix(1 + i as u64),
            index: i,
        })
        .collect();
    let (mut hashed, mut sorted) = (Vec::new(), Vec::new());
    let mut table = JoinTable::default();
    join_partition(
        &ts,
        &mut kids.clone(),
        &mut stamps.clone(),
        &mut table,
        |p, c| hashed.push((p, c)),
    );
    join_sorted(&ts, &kids, &stamps, |p, c| sorted.push((p, c)));
    hashed.sort_unstable();
    sorted.sort_unstable();
    assert_eq!(hashed, sorted);
    assert_eq!(hashed.len(), 700);
    // Prefix 1 (parent 0): children 0 (k 0) and 600 (k 600); prefix 2: children 1
    // (k 1) and 601 (k 1: a tie, the lower block hash wins).
    assert_eq!(hashed[0], (0, 0));
    let tie = if ts[1].block < ts[601].block { 1 } else { 601 };
    assert_eq!(hashed[1], (1, tie));
    assert!(hashed[600..].iter().all(|&(_, c)| c == NO_CHILD_INDEX));
}

#[test]
fn hashes_sharing_a_prefix_are_told_apart_and_ties_break_by_rank() {
    // Two timestamps that agree on their first eight bytes (the sort key of the
    // join) and differ after: each must get only its own children.
    let stamp = |last: u8| {
        let mut b = [7u8; 32];
        b[31] = last;
        Hash32(b)
    };
    let t = |block: u64, timestamp: Hash32, parent: Hash32, k: u64| ValidTriple {
        block: h(1000 + block),
        parent,
        timestamp,
        attestation: h(3000 + k),
        k,
        iat: UnixSeconds(k),
        batch_root: Hash32::ZERO,
    };
    let ts = vec![
        t(0, stamp(0), Hash32::ZERO, 0),
        t(1, stamp(1), stamp(0), 2), // under b0, k = 2
        t(2, stamp(2), stamp(9), 1), // under a look-alike of b0's timestamp
        t(3, stamp(3), stamp(0), 3), // under b0, k = 3: loses to b1
    ];
    assert_eq!(
        least_children_exact(&ts),
        vec![1, NO_CHILD, NO_CHILD, NO_CHILD]
    );
    // Under join keys that collide (here the first eight bytes, which the join used
    // before it hashed under a seed), every timestamp looks like every parent: the
    // least child of the superset is b2 (k = 1), which the walk must see is not a
    // child of b0. Under the seeded keys the join tells them apart itself.
    assert_eq!(
        by_prefix(&ts, &mut scan_with(h(1000), &ts, prefix8)),
        vec![2; 4]
    );
    assert_eq!(
        by_prefix(&ts, &mut scan(h(1000), &ts, HashSeed::new(7))),
        least_children_exact(&ts)
    );
    let c = omc(h(1000), &ts);
    assert_eq!((c.chain, c.end), (vec![0, 1], ChainEnd::NoChild));
    // An equivocation: two children of b0 with the same k; the lower block
    // hash wins whichever comes first.
    let (a, b) = (t(4, stamp(4), stamp(0), 1), t(5, stamp(5), stamp(0), 1));
    let winner = if a.block < b.block { 0 } else { 1 };
    for (order, expected) in [(vec![a, b], winner), (vec![b, a], 1 - winner)] {
        let mut ts = vec![ts[0]];
        ts.extend(order);
        assert_eq!(least_children_exact(&ts)[0], expected + 1);
        assert_eq!(
            by_prefix(&ts, &mut scan_with(h(1000), &ts, prefix8))[0],
            expected + 1
        );
        assert_eq!(
            by_prefix(&ts, &mut scan(h(1000), &ts, HashSeed::new(7)))[0],
            expected + 1
        );
    }
}
