//! The audit's collections: one index sort, maps hashed under a secret seed
//! ([`HashSeed`]), and the counting-sort group index.

use super::*;

/// The indices `0..len` in the order `cmp` gives them, ties in index order (so the
/// order is stable and does not depend on the sort algorithm).
///
/// Every sort of this module goes through here: the standard library's sort is
/// instantiated once per element type and comparison closure (several KB of wasm
/// each), and this one instance over `usize` with a `dyn` comparison serves them all.
pub(super) fn sorted_order(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_unstable_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
    order
}

/// Sorts `items` stably by `cmp` through [`sorted_order`]: the index order is
/// computed once, then the items are moved into it.
pub(super) fn sort_items<T>(items: &mut Vec<T>, cmp: &dyn Fn(&T, &T) -> Ordering) {
    let order = sorted_order(items.len(), &|a, b| match (items.get(a), items.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => a.cmp(&b),
    });
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take)),
    );
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

/// Items grouped by a key without a `Vec` per key: the item indices grouped by key
/// (each group in index order), and for each key the range of that order holding its
/// items.
pub(super) struct GroupIndex<K> {
    order: Vec<usize>,
    ranges: FastMap<K, (usize, usize)>,
}

impl<K: Copy + Eq + Hash> GroupIndex<K> {
    /// A counting sort over the distinct keys: count each key's items, give each key
    /// its range, then place the indices. Two hash lookups per item, where sorting the
    /// indices by key cost 17 comparisons of 32–48-byte keys each at 100k items (and
    /// binary searches over the sorted keys a cache miss per step).
    pub(super) fn new(len: usize, seed: HashSeed, key: impl Fn(usize) -> K) -> Self {
        // (start, count) per key, then (start, next free slot) while placing.
        let mut ranges: FastMap<K, (usize, usize)> = fast_map(len, seed);
        for i in 0..len {
            ranges.entry(key(i)).or_insert((0, 0)).1 += 1;
        }
        let mut next = 0;
        for range in ranges.values_mut() {
            let count = range.1;
            *range = (next, next);
            next += count;
        }
        let mut order = vec![0; len];
        for i in 0..len {
            if let Some(range) = ranges.get_mut(&key(i)) {
                if let Some(slot) = order.get_mut(range.1) {
                    *slot = i;
                }
                range.1 += 1;
            }
        }
        Self { order, ranges }
    }

    /// The indices of the items whose key is `k`.
    pub(super) fn get(&self, k: &K) -> &[usize] {
        self.ranges
            .get(k)
            .and_then(|&(a, b)| self.order.get(a..b))
            .unwrap_or(&[])
    }
}
