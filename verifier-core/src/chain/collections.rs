//! The audit's collections: one index sort, maps hashed under a secret seed
//! ([`HashSeed`]), and the counting-sort group index.

use super::*;

/// The indices `0..len` in the order `cmp` gives them, ties in index order (so the
/// order is stable and does not depend on the sort algorithm).
///
/// Every sort of this module goes through here: the standard library's sort is
/// instantiated once per element type and comparison closure (several KB of wasm
/// each), and this one instance over `usize` with a `dyn` comparison serves them all.
///
/// With the `parallel` feature a large sort runs on every thread of the current rayon
/// pool (in place, as the sequential one: no memory beside the index).
pub(super) fn sorted_order(
    len: usize,
    cmp: &(dyn Fn(usize, usize) -> Ordering + Sync),
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let by = |a: &usize, b: &usize| cmp(*a, *b).then(a.cmp(b));
    #[cfg(feature = "parallel")]
    if len >= PARALLEL_SORT {
        use rayon::slice::ParallelSliceMut as _;
        order.par_sort_unstable_by(by);
        return order;
    }
    order.sort_unstable_by(by);
    order
}

/// The length from which [`sorted_order`] sorts in parallel.
#[cfg(feature = "parallel")]
const PARALLEL_SORT: usize = 1 << 15;

/// Sorts `items` stably by `cmp` through [`sorted_order`]: the index order is
/// computed once, then the items are moved into it in place ([`permute`]), so that
/// sorting a large vector costs one index per item rather than a second copy of it.
pub(super) fn sort_items<T: Sync>(items: &mut [T], cmp: &(dyn Fn(&T, &T) -> Ordering + Sync)) {
    let order = sorted_order(items.len(), &|a, b| match (items.get(a), items.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => a.cmp(&b),
    });
    permute(items, order);
}

/// Moves `items[order[j]]` to `j` for every `j`, in place, one cycle of the
/// permutation at a time (`order` must be a permutation of `0..items.len()`; it is
/// used up as the record of the cycles done).
pub(super) fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..order.len() {
        let mut j = start;
        while let Some(from) = order.get_mut(j).map(|slot| core::mem::replace(slot, DONE)) {
            if from == DONE || from == start || from >= items.len() {
                break;
            }
            items.swap(j, from);
            j = from;
        }
    }
}

/// The secret seed of the audit's hash maps.
///
/// Their keys are bytes an attacker picks: the hash a timestamp attests is whatever its
/// requester asked for, a block's UUID and parent field whatever its builder wrote. A
/// map that hashed a prefix of them, or hashed them under a seed the attacker can
/// know, could be filled with colliding keys and make grouping O(n²) (issue #13). The
/// maps hash the whole key with foldhash under this seed, which the attacker never
/// sees: [`HashSeed::random`] draws it from the operating system natively; the core
/// reads no random source of its own, so on `wasm32-unknown-unknown` (where std has
/// none and `random` is fixed) the caller passes entropy with [`HashSeed::new`], as it
/// passes the time. The seed changes no verdict, only how fast a crafted input runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSeed(pub(super) u64);

impl HashSeed {
    /// A seed from the caller's entropy.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A seed from std's `RandomState`: random per process on native targets, a fixed
    /// value on `wasm32-unknown-unknown` (pass entropy with [`HashSeed::new`] there).
    pub fn random() -> Self {
        use std::hash::BuildHasher;
        Self(std::hash::RandomState::new().hash_one(0x7a69_7063_6861_696e_u64))
    }
}

impl Default for HashSeed {
    fn default() -> Self {
        Self::random()
    }
}

pub(super) type FastMap<K, V> = HashMap<K, V, FixedState>;
pub(super) type FastSet<K> = HashSet<K, FixedState>;

pub(super) fn fast_map<K, V>(capacity: usize, seed: HashSeed) -> FastMap<K, V> {
    FastMap::with_capacity_and_hasher(capacity, FixedState::with_seed(seed.0))
}

pub(super) fn fast_set<K>(capacity: usize, seed: HashSeed) -> FastSet<K> {
    FastSet::with_capacity_and_hasher(capacity, FixedState::with_seed(seed.0))
}

/// Items grouped by a key without a `Vec` per key: the item indices sorted by key (each
/// group in index order), beside their keys, so that a group is found by binary search.
/// Sorting costs O(n log n) comparisons whatever keys an attacker picks (issue #13),
/// and the index takes the key and one `usize` per item, about half what a hash map of
/// ranges took at a million blocks.
pub(super) struct GroupIndex<K> {
    keys: Vec<K>,
    order: Vec<usize>,
}

impl<K: Copy + Ord> GroupIndex<K> {
    /// Groups `0..len` by `key`.
    pub(super) fn new(len: usize, key: impl Fn(usize) -> K + Sync) -> Self {
        let order = sorted_order(len, &|a, b| key(a).cmp(&key(b)));
        let keys = order.iter().map(|&i| key(i)).collect();
        Self { keys, order }
    }

    /// The indices of the items whose key is `k`.
    pub(super) fn get(&self, k: &K) -> &[usize] {
        let start = self.keys.partition_point(|x| x < k);
        let len = self
            .keys
            .get(start..)
            .map_or(0, |rest| rest.partition_point(|x| x == k));
        self.order.get(start..start + len).unwrap_or(&[])
    }
}
