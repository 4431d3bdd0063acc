//! The corrected main-chain algorithm `omc` of SPEC §5 over valid triples, with its
//! packed hash join.

use super::*;

/// One valid triple `(b, t, a)` of SPEC §5, reduced to what fork choice needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidTriple {
    /// `H(b)`.
    pub block: Hash32,
    /// `b.t^H`: the hash of the parent's timestamp.
    pub parent: Hash32,
    /// `H(t)`.
    pub timestamp: Hash32,
    /// `H(a)`.
    pub attestation: Hash32,
    /// `a.s.k`.
    pub k: u64,
    /// `t.iat`.
    pub iat: UnixSeconds,
    /// `b.m^H`.
    pub batch_root: Hash32,
}

/// Why `omc` stopped where it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum ChainEnd {
    /// No valid triple has `H(b) = genesis` and `k = 0`: the chain is empty.
    NoGenesis,
    /// The last timestamp on the chain has no valid child.
    NoChild,
    /// The next block's sequence number is reachable only across a sequence number
    /// that has no valid triple (a lower-numbered competitor could still appear).
    Gap {
        /// The first sequence number without a valid triple.
        at: u64,
    },
}

/// The main chain chosen by [`omc`]: indices into the triples it was given, `b0` first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MainChainChoice {
    /// Indices of the main-chain triples in height order.
    pub chain: Vec<usize>,
    /// Why the chain ends where it does.
    pub end: ChainEnd,
}

/// The corrected main-chain algorithm `omc` of SPEC §5 over valid triples.
///
/// O(n) in the number of triples, O(n log n) at worst (when crafted parent fields share
/// the first eight bytes of a timestamp hash, or aim at one slot of the join's hash
/// table), and linear in practice up to millions of blocks because nothing big is
/// probed at random:
/// - one pass over the triples (`scan`) keeps what the join needs in a compact
///   array, finds the genesis triple and the covered sequence numbers;
/// - every triple is joined to its least child by a radix-partitioned join on the
///   first eight bytes of the hashes (`least_children_by_prefix`): one scatter into
///   cache-sized partitions, then each partition joined through a small hash table;
/// - the walk checks each link on the whole hash and needs no index of sequence
///   numbers: from `k = 0`, the chain can only reach numbers below the least number
///   without a triple (see `SequenceCoverage`).
///
/// Ties (two valid triples with the same parent and the same least `k`, which only
/// an equivocating sequencer, or one that sequenced the same `(b, t)` twice alike, can
/// produce) are broken by the lower block hash, then the lower timestamp hash, then the
/// lower attestation hash (`rank_order`), so that the choice is deterministic.
pub fn omc(genesis: Hash32, triples: &[ValidTriple]) -> MainChainChoice {
    omc_with(genesis, triples, HashSeed::random()).0
}

/// [`omc`], also returning the covered sequence numbers (the audit reports the first
/// gap from them); the join's keys are hashed under `seed`.
pub(super) fn omc_with(
    genesis: Hash32,
    triples: &[ValidTriple],
    seed: HashSeed,
) -> (MainChainChoice, SequenceCoverage) {
    let mut scan = scan(genesis, triples, seed);
    let Some(first) = scan.genesis else {
        let choice = MainChainChoice {
            chain: Vec::new(),
            end: ChainEnd::NoGenesis,
        };
        return (choice, scan.coverage);
    };
    let least = least_children_by_prefix(triples, &mut scan);
    // Built only if a link found by prefix is not a link on the whole hash (or if
    // there are too many triples for the join's 32-bit indices).
    let mut exact: Option<Vec<usize>> = least.is_none().then(|| least_children_exact(triples));
    let covered = scan.coverage.covered_below;

    // Room for every triple up front (pages never written are never touched), so the
    // chain is never reallocated while it grows.
    let mut chain = Vec::with_capacity(triples.len());
    chain.push(first);
    let mut current = first;
    let end = 'walk: {
        // A hash chain cannot loop, but a budget of one step per triple makes that
        // independent of hash assumptions.
        for _ in 0..triples.len() {
            let by_prefix = match (&least, &exact) {
                (Some(least), _) => least.get(current).map(|&c| widen(c)),
                (None, Some(exact)) => exact.get(current).copied(),
                (None, None) => None,
            };
            let (Some(by_prefix), Some(parent)) = (by_prefix, triples.get(current)) else {
                break 'walk ChainEnd::NoChild;
            };
            let mut z = by_prefix;
            let mut child = triples.get(z);
            if child.is_some_and(|c| c.parent != parent.timestamp) {
                // The least child by prefix is the least of a superset of the children,
                // so it is the answer whenever it really is a child. It is not: some
                // parent hash shares this timestamp's first eight bytes. The whole
                // hash decides, from an exact index built once.
                let exact = exact.get_or_insert_with(|| least_children_exact(triples));
                z = exact.get(current).copied().unwrap_or(NO_CHILD);
                child = triples.get(z);
            }
            let Some(child) = child else {
                break 'walk ChainEnd::NoChild;
            };
            // Every number in [k, z.k] must have a valid triple. The chain starts at
            // k = 0 and stays below `covered` (all of [0, covered) is covered), so
            // this holds iff z.k < covered (an empty interval, z.k < k, passes too).
            if child.k >= covered {
                break 'walk ChainEnd::Gap { at: covered };
            }
            chain.push(z);
            current = z;
        }
        ChainEnd::NoChild
    };
    (MainChainChoice { chain, end }, scan.coverage)
}

/// The rank order of SPEC §5's `argmin`: least `(k, H(b), H(t), H(a))`, then the order
/// given (only the same triple given twice is left to it).
///
/// `H(a)` breaks the tie of two documents sequencing the same `(b, t)` with the same
/// number (the sequencer asked twice and answering alike): both are the same block at
/// the same place, and the lower attestation hash is the one the main chain names, so
/// that the choice does not depend on the order objects were listed or examined in (an
/// incremental audit meets them in another order than a full one).
pub(super) fn rank_order(triples: &[ValidTriple], a: usize, b: usize) -> Ordering {
    match (triples.get(a), triples.get(b)) {
        (Some(ta), Some(tb)) => rank_key(ta).cmp(&rank_key(tb)).then(a.cmp(&b)),
        _ => a.cmp(&b),
    }
}

/// A triple's place in the rank order of SPEC §5's `argmin` (see [`rank_order`]).
pub(super) fn rank_key(t: &ValidTriple) -> (u64, Hash32, Hash32, Hash32) {
    (t.k, t.block, t.timestamp, t.attestation)
}

/// "No valid child" in the least-child indices.
pub(super) const NO_CHILD: usize = usize::MAX;

/// A triple's index inside the join: 32 bits, so that its buffers take less memory
/// (at a million blocks, their pages are faulted in on every call and cost more than
/// the join itself). [`least_children_by_prefix`] declines chains of `u32::MAX`
/// triples or more.
pub(super) type Index = u32;

/// "No valid child" in the join's answers: no triple has this index.
pub(super) const NO_CHILD_INDEX: Index = Index::MAX;

/// A join index as a triple index, [`NO_CHILD_INDEX`] as [`NO_CHILD`].
pub(super) fn widen(index: Index) -> usize {
    match index {
        NO_CHILD_INDEX => NO_CHILD,
        i => usize::try_from(i).unwrap_or(NO_CHILD),
    }
}

/// A triple index as a join index (the join only runs when every index fits).
pub(super) fn narrow(index: usize) -> Index {
    Index::try_from(index).unwrap_or(NO_CHILD_INDEX)
}

/// What the join keeps of one triple, in the triples' order: the first eight bytes of
/// its parent timestamp hash and of its own timestamp hash, and its number.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Link {
    pub(super) parent: u64,
    pub(super) stamp: u64,
    pub(super) k: u64,
}

/// A triple as a child in the join: its parent's hash prefix, its number, its index.
/// Packed to 20 bytes (fields are only ever copied out, never borrowed).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, packed(4))]
pub(super) struct ChildEntry {
    pub(super) prefix: u64,
    pub(super) k: u64,
    pub(super) index: Index,
}

/// A triple as a parent in the join: its timestamp's hash prefix, its index. Packed
/// to 12 bytes.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, packed(4))]
pub(super) struct ParentEntry {
    pub(super) prefix: u64,
    pub(super) index: Index,
}

/// The one pass over the triples.
#[derive(Debug)]
pub(super) struct Scan {
    /// One link per triple, in the triples' order.
    pub(super) links: Vec<Link>,
    /// Partition bits of the join (see [`partition_bits`]).
    pub(super) bits: u32,
    /// How many triples fall in each partition as children (by parent prefix).
    pub(super) child_counts: Vec<usize>,
    /// How many triples fall in each partition as parents (by timestamp prefix).
    pub(super) parent_counts: Vec<usize>,
    /// The least-ranked triple with `H(b) = genesis` and `k = 0`.
    pub(super) genesis: Option<usize>,
    /// The covered sequence numbers.
    pub(super) coverage: SequenceCoverage,
}

/// Reads every triple once, in order (the only pass over the 176-byte triples, which
/// are too big to stay in cache on large chains): keeps a [`Link`] per triple, counts
/// the join's partitions, finds the genesis triple and the covered numbers.
///
/// The join's key of a hash is the hash under the audit's secret seed, never a part of
/// the hash itself, which a block's builder chooses for its parent field (issue #13):
/// chosen keys then spread over the partitions and slots like random ones.
pub(super) fn scan(genesis: Hash32, triples: &[ValidTriple], seed: HashSeed) -> Scan {
    let hasher = FixedState::with_seed(seed.0);
    scan_with(genesis, triples, |h| hasher.hash_one(h))
}

/// [`scan`] with the join's keys made by `join_key` (tests make them collide).
pub(super) fn scan_with(
    genesis: Hash32,
    triples: &[ValidTriple],
    join_key: impl Fn(&Hash32) -> u64,
) -> Scan {
    let bits = partition_bits(triples.len());
    let mut child_counts = vec![0usize; 1 << bits];
    let mut parent_counts = vec![0usize; 1 << bits];
    let mut links = Vec::with_capacity(triples.len());
    let mut first: Option<usize> = None;
    let mut coverage = CoverageBuilder::new(triples.len());
    for (i, t) in triples.iter().enumerate() {
        let link = Link {
            parent: join_key(&t.parent),
            stamp: join_key(&t.timestamp),
            k: t.k,
        };
        if let Some(c) = child_counts.get_mut(partition_of(link.parent, bits)) {
            *c += 1;
        }
        if let Some(c) = parent_counts.get_mut(partition_of(link.stamp, bits)) {
            *c += 1;
        }
        coverage.add(t.k);
        if t.k == 0 && t.block == genesis {
            first = match first {
                Some(f) if rank_order(triples, f, i).is_le() => Some(f),
                _ => Some(i),
            };
        }
        links.push(link);
    }
    Scan {
        links,
        bits,
        child_counts,
        parent_counts,
        genesis: first,
        coverage: coverage.finish(),
    }
}

/// For each triple, the least-ranked triple whose parent timestamp hash has the same
/// first eight bytes as its timestamp hash ([`NO_CHILD_INDEX`] when none): the least
/// child, unless a different hash shares those bytes (the walk checks the whole hash).
/// `None` for `u32::MAX` triples or more, which the join's indices cannot name.
///
/// A radix-partitioned join: both sides are scattered, sequentially over the links,
/// into one buffer each, partitioned by the first bits of the prefix so that each
/// partition fits in cache; each partition is then joined on its own through a small
/// hash table ([`join_partition`]). Per triple the work does not grow with the chain,
/// unlike a hash map or a sort that no longer fits in the cache.
///
/// Consumes `scan.links`: their memory is freed once both sides are scattered, so that
/// the answers can reuse it.
pub(super) fn least_children_by_prefix(
    triples: &[ValidTriple],
    scan: &mut Scan,
) -> Option<Vec<Index>> {
    if Index::try_from(triples.len()).is_err() {
        return None;
    }
    let mut children = scatter(&scan.child_counts, &scan.links, |i, l| {
        let entry = ChildEntry {
            prefix: l.parent,
            k: l.k,
            index: narrow(i),
        };
        (partition_of(l.parent, scan.bits), entry)
    });
    let mut parents = scatter(&scan.parent_counts, &scan.links, |i, l| {
        let entry = ParentEntry {
            prefix: l.stamp,
            index: narrow(i),
        };
        (partition_of(l.stamp, scan.bits), entry)
    });
    scan.links = Vec::new();

    // Each parent's answer is written to the window of `results` that holds its
    // index's range (one sequential stream per range, like the scatter above), then
    // each window is copied into `least` while it is in cache: random writes into
    // one big array would miss the cache once per triple.
    let shift = range_bits(triples.len());
    let mut next: Vec<usize> = (0..triples.len().div_ceil(1 << shift))
        .map(|r| r << shift)
        .collect();
    let mut results = vec![(0, NO_CHILD_INDEX); triples.len()];
    let (mut kids, mut stamps) = (children.as_mut_slice(), parents.as_mut_slice());
    let mut table = JoinTable::default();
    for (&nc, &np) in scan.child_counts.iter().zip(&scan.parent_counts) {
        let (Some((part_kids, rest_kids)), Some((part_stamps, rest_stamps))) = (
            kids.split_at_mut_checked(nc),
            stamps.split_at_mut_checked(np),
        ) else {
            break;
        };
        (kids, stamps) = (rest_kids, rest_stamps);
        join_partition(
            triples,
            part_kids,
            part_stamps,
            &mut table,
            |index, child| {
                if let Some(at) = next.get_mut(widen(index) >> shift) {
                    if let Some(slot) = results.get_mut(*at) {
                        *slot = (index, child);
                    }
                    *at += 1;
                }
            },
        );
    }
    let mut least = vec![NO_CHILD_INDEX; triples.len()];
    for (index, child) in results {
        if let Some(slot) = least.get_mut(widen(index)) {
            *slot = child;
        }
    }
    Some(least)
}

/// Index bits per range when the join's answers are gathered by triple index: fewer
/// than 1024 ranges (as many write streams as the scatter), each a window of `least`
/// small enough to stay in cache.
pub(super) fn range_bits(n: usize) -> u32 {
    let mut bits = 0;
    while bits < usize::BITS - 1 && (n >> bits) >= 1024 {
        bits += 1;
    }
    bits
}

/// The multiplier of [`JoinTable`]'s slot hash (odd: every prefix keeps its own
/// product, so only the slot bits can collide).
pub(super) const SLOT_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// Scratch space of the per-partition join, allocated once for all partitions.
#[derive(Debug, Default)]
pub(super) struct JoinTable {
    /// Open addressing over one partition's children by prefix: for each prefix seen,
    /// the position of its least-ranked child so far, plus one (0: an empty slot).
    slots: Vec<Index>,
    /// The partition's answers, given out only once all are known.
    answers: Vec<(Index, Index)>,
}

/// Whether child `b` ranks at or below child `c`.
pub(super) fn ranks_first(triples: &[ValidTriple], b: &ChildEntry, c: &ChildEntry) -> bool {
    let (bk, ck) = (b.k, c.k);
    match bk.cmp(&ck) {
        Ordering::Less => true,
        Ordering::Greater => false,
        // Equal numbers under one parent (only an equivocation makes them): the
        // rank's next keys decide.
        Ordering::Equal => rank_order(triples, widen(b.index), widen(c.index)).is_le(),
    }
}

/// Joins one partition: for every parent, `answer(parent index, least-ranked child
/// index with the same prefix, or NO_CHILD_INDEX)`.
///
/// A hash table over the children (in cache: a partition is small), so the cost per
/// entry does not depend on the partition's size. Linear probing is fast on hash
/// prefixes, but a crafted parent field can aim many children at one slot: past a
/// probe budget linear in the partition, the partition is joined by sorting instead.
pub(super) fn join_partition(
    triples: &[ValidTriple],
    kids: &mut [ChildEntry],
    stamps: &mut [ParentEntry],
    table: &mut JoinTable,
    mut answer: impl FnMut(Index, Index),
) {
    let size = (kids.len() * 2).next_power_of_two().max(16);
    let bits = size.trailing_zeros();
    let mask = size - 1;
    let slot_of = |prefix: u64| {
        usize::try_from(prefix.wrapping_mul(SLOT_MULTIPLIER) >> (64 - bits)).unwrap_or(0) & mask
    };
    let mut budget = 16 * (kids.len() + stamps.len()) + 1024;
    table.slots.clear();
    table.slots.resize(size, 0);
    table.answers.clear();
    'hash: {
        for (j, c) in kids.iter().enumerate() {
            let mut slot = slot_of(c.prefix);
            loop {
                match table.slots[slot] {
                    0 => {
                        table.slots[slot] = narrow(j + 1);
                        break;
                    }
                    held => match kids.get(widen(held) - 1) {
                        Some(b) if b.prefix == c.prefix => {
                            if !ranks_first(triples, b, c) {
                                table.slots[slot] = narrow(j + 1);
                            }
                            break;
                        }
                        _ => {}
                    },
                }
                slot = (slot + 1) & mask;
                budget = match budget.checked_sub(1) {
                    Some(b) => b,
                    None => break 'hash,
                };
            }
        }
        for s in stamps.iter() {
            let mut slot = slot_of(s.prefix);
            let child = loop {
                match table.slots[slot] {
                    0 => break NO_CHILD_INDEX,
                    held => match kids.get(widen(held) - 1) {
                        Some(b) if b.prefix == s.prefix => break b.index,
                        _ => {}
                    },
                }
                slot = (slot + 1) & mask;
                budget = match budget.checked_sub(1) {
                    Some(b) => b,
                    None => break 'hash,
                };
            };
            table.answers.push((s.index, child));
        }
        for &(index, child) in &table.answers {
            answer(index, child);
        }
        return;
    }
    join_sorted(triples, kids, stamps, answer);
}

/// [`join_partition`] by sorting both sides by prefix and merging them: O(m log m)
/// whatever the prefixes.
pub(super) fn join_sorted(
    triples: &[ValidTriple],
    kids: &[ChildEntry],
    stamps: &[ParentEntry],
    mut answer: impl FnMut(Index, Index),
) {
    let kid_prefix = |i: usize| kids.get(i).map(|c| c.prefix);
    let stamp_prefix = |i: usize| stamps.get(i).map(|s| s.prefix);
    let kid_order = sorted_order(kids.len(), &|a, b| kid_prefix(a).cmp(&kid_prefix(b)));
    let stamp_order = sorted_order(stamps.len(), &|a, b| stamp_prefix(a).cmp(&stamp_prefix(b)));
    let kids: Vec<ChildEntry> = kid_order
        .into_iter()
        .filter_map(|i| kids.get(i).copied())
        .collect();
    let stamps: Vec<ParentEntry> = stamp_order
        .into_iter()
        .filter_map(|i| stamps.get(i).copied())
        .collect();
    let mut kids = kids.iter().peekable();
    for run in stamps.chunk_by(|a, b| a.prefix == b.prefix) {
        let prefix = run[0].prefix;
        while kids.next_if(|c| c.prefix < prefix).is_some() {}
        let mut best: Option<ChildEntry> = None;
        while let Some(c) = kids.next_if(|c| c.prefix == prefix) {
            best = match best {
                Some(b) if ranks_first(triples, &b, c) => Some(b),
                _ => Some(*c),
            };
        }
        let child = best.map_or(NO_CHILD_INDEX, |b| b.index);
        for s in run {
            answer(s.index, child);
        }
    }
}

/// Scatters one entry per link into one buffer, grouped by partition in partition
/// order: `counts` (how many entries each partition gets) gives every partition its
/// range, and `entry` names each link's partition and entry.
pub(super) fn scatter<E: Copy + Default>(
    counts: &[usize],
    links: &[Link],
    entry: impl Fn(usize, &Link) -> (usize, E),
) -> Vec<E> {
    let mut next: Vec<usize> = counts
        .iter()
        .scan(0, |start, &n| {
            let here = *start;
            *start += n;
            Some(here)
        })
        .collect();
    let mut out = vec![E::default(); links.len()];
    for (i, link) in links.iter().enumerate() {
        let (part, e) = entry(i, link);
        if let Some(at) = next.get_mut(part) {
            if let Some(slot) = out.get_mut(*at) {
                *slot = e;
            }
            *at += 1;
        }
    }
    out
}

/// The least child of every triple on the whole hash ([`NO_CHILD`] when none): the
/// triples sorted by (parent hash, rank), and each timestamp's first entry found by
/// binary search. Only needed when two different hashes share their first eight bytes.
pub(super) fn least_children_exact(triples: &[ValidTriple]) -> Vec<usize> {
    let by_parent = sorted_order(triples.len(), &|a, b| {
        let parent = |i: usize| triples.get(i).map(|t| t.parent);
        parent(a)
            .cmp(&parent(b))
            .then_with(|| rank_order(triples, a, b))
    });
    triples
        .iter()
        .map(|t| {
            let parent_of = |i: &usize| triples.get(*i).map(|c| c.parent);
            let at = by_parent.partition_point(|i| parent_of(i) < Some(t.timestamp));
            by_parent
                .get(at)
                .filter(|i| parent_of(i) == Some(t.timestamp))
                .copied()
                .unwrap_or(NO_CHILD)
        })
        .collect()
}

/// Partition bits for `n` triples: about 256 entries per partition, at most 1024
/// partitions (more write streams in the scatter thrash the TLB: measured at 1M
/// blocks, 4096 partitions gave a 1M/100k ratio of about 12.7, 1024 about 10.8).
pub(super) fn partition_bits(n: usize) -> u32 {
    let mut bits = 0;
    while bits < 10 && (n >> bits) > 256 {
        bits += 1;
    }
    bits
}

/// The partition of a hash prefix among `2^bits`: its first `bits` bits.
pub(super) fn partition_of(prefix: u64, bits: u32) -> usize {
    prefix
        .checked_shr(64 - bits)
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(0)
}
