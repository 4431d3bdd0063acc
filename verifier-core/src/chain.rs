//! The main chain: validating every object of a snapshot and choosing the main chain
//! with the corrected `omc` of SPEC §5.
//!
//! The work is split in two so that the expensive half runs in parallel and the
//! memory stays small on large snapshots:
//!
//! 1. [`Auditor::examine`] checks ONE object (hash against its name, format, JWT,
//!    NSM and sequence signatures) and keeps only the compact facts `omc` needs.
//!    It takes `&self` and can run on many threads at once.
//! 2. [`AuditBuilder`] gathers the facts, forms the valid triples `(b, t, a)` and
//!    runs [`omc`] in O(n log n): every index is built once, nothing is rescanned.
//!
//! [`Auditor::audit`] does both over an in-memory [`Snapshot`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use serde::Serialize;

use crate::batch::{Batch, BatchBudget};
use crate::block::Block;
use crate::certificate::ObjectSource;
use crate::hash::Hash32;
use crate::nsm::{NsmVerifier, VerifyAt};
use crate::sequence::{SequencerKey, check};
use crate::snapshot::{ObjectKind, Snapshot};
use crate::time::{UnixMillis, UnixSeconds};
use crate::timestamp::TimestampVerifier;
use crate::trust::{TrustDescriptor, TrustError};

pub use crate::triple::CLOCK_SKEW_MS;

/// The verdict on one object of a snapshot: the facts `omc` needs, or why it is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Examined {
    /// A well-formed block whose file name is its hash.
    Block {
        /// `H(b)`.
        key: Hash32,
        /// The decoded block.
        block: Block,
    },
    /// A timestamp JWT valid under the trust descriptor that attests a block hash.
    Timestamp {
        /// `H(t)`.
        key: Hash32,
        /// `t.y`: the block hash it attests.
        attests: Hash32,
        /// `t.iat`, the attested time.
        iat: UnixSeconds,
    },
    /// An enclave attestation that passes `check(K_S+, a)`.
    Attestation {
        /// `H(a)`.
        key: Hash32,
        /// `a.s.y = b.u ++ H(t)`.
        y: [u8; 48],
        /// `a.s.k`, the sequence number.
        k: u64,
        /// The NSM document's own timestamp.
        document_time: UnixMillis,
    },
    /// A well-formed batch whose file name is its Merkle root. Its transaction ids
    /// are not kept: [`AuditBuilder::finish`] reads again the batches of the main
    /// chain only, so that batches no valid block references cost no memory.
    Batch {
        /// `m^H`.
        key: Hash32,
    },
    /// An object that is reported and ignored.
    Invalid(InvalidObject),
}

impl Examined {
    /// The verdict on an object file of `size` bytes that was not read because it is
    /// over its kind's limit ([`ObjectKind::max_len`]).
    pub fn oversized(kind: ObjectKind, key: &Hash32, size: u64) -> Self {
        Self::Invalid(InvalidObject {
            kind,
            key: key.to_hex(),
            reason: kind
                .oversize_reason(size)
                .unwrap_or_else(|| format!("file of {size} bytes was not read")),
        })
    }
}

/// An object of the snapshot that failed validation (SPEC §2.1, §6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidObject {
    /// Which directory it was in.
    pub kind: ObjectKind,
    /// Its file name.
    pub key: String,
    /// Why it is invalid, in words.
    pub reason: String,
}

/// Validates objects against one trust descriptor. Build it once per audit.
#[derive(Debug)]
pub struct Auditor {
    genesis: Hash32,
    timestamps: TimestampVerifier,
    nsm: NsmVerifier,
    sequencer: SequencerKey,
    seed: HashSeed,
}

impl Auditor {
    /// Prepares the verifiers the descriptor names (JWKS keys, NSM root, `K_S+`).
    ///
    /// # Errors
    /// [`TrustError`] when the descriptor's keys or root cannot be used.
    pub fn new(trust: &TrustDescriptor) -> Result<Self, TrustError> {
        Ok(Self {
            genesis: trust.genesis(),
            timestamps: trust.timestamp_verifier()?,
            nsm: NsmVerifier::new(trust.nsm_policy()?).map_err(TrustError::Nitro)?,
            sequencer: trust.sequencer_key(),
            seed: HashSeed::random(),
        })
    }

    /// The same auditor with the hash maps of [`Auditor::audit`] under `seed`
    /// ([`HashSeed`]; by default [`HashSeed::random`]).
    pub fn with_hash_seed(self, seed: HashSeed) -> Self {
        Self { seed, ..self }
    }

    /// The genesis block hash the descriptor pins.
    pub fn genesis(&self) -> Hash32 {
        self.genesis
    }

    /// The timestamp verifier built from the descriptor.
    pub fn timestamp_verifier(&self) -> &TimestampVerifier {
        &self.timestamps
    }

    /// The NSM verifier built from the descriptor.
    pub fn nsm_verifier(&self) -> &NsmVerifier {
        &self.nsm
    }

    /// The sequencer key `K_S+` the descriptor pins.
    pub fn sequencer_key(&self) -> &SequencerKey {
        &self.sequencer
    }

    /// Checks one object of kind `kind` stored under the file name `name`.
    ///
    /// Never fails: an object that does not pass is [`Examined::Invalid`] with the reason.
    pub fn examine(&self, kind: ObjectKind, name: &str, bytes: &[u8]) -> Examined {
        let invalid = |reason: String| {
            Examined::Invalid(InvalidObject {
                kind,
                key: name.to_owned(),
                reason,
            })
        };
        let Ok(named) = Hash32::from_hex(name) else {
            return invalid("file name is not 64 hex digits".to_owned());
        };
        if let Some(reason) = kind.oversize_reason(bytes.len() as u64) {
            return invalid(reason);
        }
        if kind != ObjectKind::Batch {
            let actual = Hash32::digest(bytes);
            if actual != named {
                return invalid(format!("content hashes to {actual}, not to its name"));
            }
        }
        match kind {
            ObjectKind::Block => match Block::decode(bytes) {
                Ok(block) => Examined::Block { key: named, block },
                Err(e) => invalid(format!("block: {e}")),
            },
            ObjectKind::Timestamp => {
                let Ok(token) = core::str::from_utf8(bytes) else {
                    return invalid("timestamp: not ASCII text".to_owned());
                };
                match self.timestamps.validate(token) {
                    Ok(t) => match t.attested().and_then(|y| <[u8; 32]>::try_from(y).ok()) {
                        Some(y) => Examined::Timestamp {
                            key: named,
                            attests: Hash32(y),
                            iat: t.iat(),
                        },
                        None => {
                            invalid("timestamp: does not attest a 32-byte block hash".to_owned())
                        }
                    },
                    Err(e) => invalid(format!("timestamp: {e}")),
                }
            }
            ObjectKind::Attestation => {
                match check(
                    &self.sequencer,
                    &self.nsm,
                    bytes,
                    VerifyAt::DocumentTimestamp,
                ) {
                    Ok(a) => Examined::Attestation {
                        key: named,
                        y: a.sequence().y,
                        k: a.sequence().k,
                        document_time: a.timestamp(),
                    },
                    Err(e) => invalid(format!("attestation: {e}")),
                }
            }
            ObjectKind::Batch => match Batch::root_of(bytes, &BatchBudget::DEFAULT) {
                Ok(root) => {
                    if root == named {
                        Examined::Batch { key: named }
                    } else {
                        invalid(format!("batch Merkle root is {root}, not its name"))
                    }
                }
                Err(e) => invalid(format!("batch: {e}")),
            },
        }
    }

    /// Audits a whole in-memory snapshot: [`Auditor::examine`] on every object (on
    /// all cores with the `parallel` feature), then [`AuditBuilder::finish`].
    /// `progress` is called with the number of objects examined so far and the total.
    pub fn audit(&self, snapshot: &Snapshot, progress: &mut dyn FnMut(usize, usize)) -> Audit {
        let objects: Vec<(ObjectKind, String, &[u8])> = snapshot
            .iter()
            .map(|(kind, key, bytes)| (kind, key.to_hex(), bytes))
            .collect();
        let total = objects.len();
        let mut builder = AuditBuilder::new(self.genesis).with_hash_seed(self.seed);
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            const CHUNK: usize = 256;
            let mut done = 0;
            for chunk in objects.chunks(CHUNK) {
                let examined: Vec<Examined> = chunk
                    .par_iter()
                    .map(|(kind, name, bytes)| self.examine(*kind, name, bytes))
                    .collect();
                for (e, (kind, _, _)) in examined.into_iter().zip(chunk) {
                    builder.add(*kind, e);
                }
                done += chunk.len();
                progress(done, total);
            }
        }
        #[cfg(not(feature = "parallel"))]
        for (done, (kind, name, bytes)) in objects.into_iter().enumerate() {
            builder.add(kind, self.examine(kind, &name, bytes));
            progress(done + 1, total);
        }
        for &(kind, key, size) in snapshot.oversized() {
            builder.add(kind, Examined::oversized(kind, &key, size));
        }
        builder.finish(snapshot)
    }
}

/// The indices `0..len` in the order `cmp` gives them, ties in index order (so the
/// order is stable and does not depend on the sort algorithm).
///
/// Every sort of this module goes through here: the standard library's sort is
/// instantiated once per element type and comparison closure (several KB of wasm
/// each), and this one instance over `usize` with a `dyn` comparison serves them all.
fn sorted_order(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_unstable_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
    order
}

/// Sorts `items` stably by `cmp` through [`sorted_order`]: the index order is
/// computed once, then the items are moved into it.
fn sort_items<T>(items: &mut Vec<T>, cmp: &dyn Fn(&T, &T) -> Ordering) {
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
pub struct HashSeed(u64);

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

type FastMap<K, V> = HashMap<K, V, FixedState>;
type FastSet<K> = HashSet<K, FixedState>;

fn fast_map<K, V>(capacity: usize, seed: HashSeed) -> FastMap<K, V> {
    FastMap::with_capacity_and_hasher(capacity, FixedState::with_seed(seed.0))
}

fn fast_set<K>(capacity: usize, seed: HashSeed) -> FastSet<K> {
    FastSet::with_capacity_and_hasher(capacity, FixedState::with_seed(seed.0))
}

/// Items grouped by a key without a `Vec` per key: the item indices grouped by key
/// (each group in index order), and for each key the range of that order holding its
/// items.
struct GroupIndex<K> {
    order: Vec<usize>,
    ranges: FastMap<K, (usize, usize)>,
}

impl<K: Copy + Eq + Hash> GroupIndex<K> {
    /// A counting sort over the distinct keys: count each key's items, give each key
    /// its range, then place the indices. Two hash lookups per item, where sorting the
    /// indices by key cost 17 comparisons of 32–48-byte keys each at 100k items (and
    /// binary searches over the sorted keys a cache miss per step).
    fn new(len: usize, seed: HashSeed, key: impl Fn(usize) -> K) -> Self {
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
    fn get(&self, k: &K) -> &[usize] {
        self.ranges
            .get(k)
            .and_then(|&(a, b)| self.order.get(a..b))
            .unwrap_or(&[])
    }
}

/// One valid triple `(b, t, a)` of SPEC §5, reduced to what fork choice needs.
#[derive(Clone, Debug, PartialEq, Eq)]
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
/// - one pass over the triples ([`scan`]) keeps what the join needs in a compact
///   array, finds the genesis triple and the covered sequence numbers;
/// - every triple is joined to its least child by a radix-partitioned join on the
///   first eight bytes of the hashes ([`least_children_by_prefix`]): one scatter into
///   cache-sized partitions, then each partition joined through a small hash table;
/// - the walk checks each link on the whole hash and needs no index of sequence
///   numbers: from `k = 0`, the chain can only reach numbers below the least number
///   without a triple (see [`SequenceCoverage`]).
///
/// Ties (two valid triples with the same parent and the same least `k`, which only
/// an equivocating sequencer can produce) are broken by the lower block hash, then
/// the lower timestamp hash, then the order given, so that the choice is deterministic.
pub fn omc(genesis: Hash32, triples: &[ValidTriple]) -> MainChainChoice {
    omc_with(genesis, triples, HashSeed::random()).0
}

/// [`omc`], also returning the covered sequence numbers (the audit reports the first
/// gap from them); the join's keys are hashed under `seed`.
fn omc_with(
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

/// The rank order of SPEC §5's `argmin`: least `(k, H(b), H(t))`, then the order given.
fn rank_order(triples: &[ValidTriple], a: usize, b: usize) -> Ordering {
    match (triples.get(a), triples.get(b)) {
        (Some(ta), Some(tb)) => {
            (ta.k, ta.block, ta.timestamp, a).cmp(&(tb.k, tb.block, tb.timestamp, b))
        }
        _ => a.cmp(&b),
    }
}

/// "No valid child" in the least-child indices.
const NO_CHILD: usize = usize::MAX;

/// A triple's index inside the join: 32 bits, so that its buffers take less memory
/// (at a million blocks, their pages are faulted in on every call and cost more than
/// the join itself). [`least_children_by_prefix`] declines chains of `u32::MAX`
/// triples or more.
type Index = u32;

/// "No valid child" in the join's answers: no triple has this index.
const NO_CHILD_INDEX: Index = Index::MAX;

/// A join index as a triple index, [`NO_CHILD_INDEX`] as [`NO_CHILD`].
fn widen(index: Index) -> usize {
    match index {
        NO_CHILD_INDEX => NO_CHILD,
        i => usize::try_from(i).unwrap_or(NO_CHILD),
    }
}

/// A triple index as a join index (the join only runs when every index fits).
fn narrow(index: usize) -> Index {
    Index::try_from(index).unwrap_or(NO_CHILD_INDEX)
}

/// What the join keeps of one triple, in the triples' order: the first eight bytes of
/// its parent timestamp hash and of its own timestamp hash, and its number.
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    parent: u64,
    stamp: u64,
    k: u64,
}

/// A triple as a child in the join: its parent's hash prefix, its number, its index.
/// Packed to 20 bytes (fields are only ever copied out, never borrowed).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, packed(4))]
struct ChildEntry {
    prefix: u64,
    k: u64,
    index: Index,
}

/// A triple as a parent in the join: its timestamp's hash prefix, its index. Packed
/// to 12 bytes.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, packed(4))]
struct ParentEntry {
    prefix: u64,
    index: Index,
}

/// The one pass over the triples.
#[derive(Debug)]
struct Scan {
    /// One link per triple, in the triples' order.
    links: Vec<Link>,
    /// Partition bits of the join (see [`partition_bits`]).
    bits: u32,
    /// How many triples fall in each partition as children (by parent prefix).
    child_counts: Vec<usize>,
    /// How many triples fall in each partition as parents (by timestamp prefix).
    parent_counts: Vec<usize>,
    /// The least-ranked triple with `H(b) = genesis` and `k = 0`.
    genesis: Option<usize>,
    /// The covered sequence numbers.
    coverage: SequenceCoverage,
}

/// Reads every triple once, in order (the only pass over the 176-byte triples, which
/// are too big to stay in cache on large chains): keeps a [`Link`] per triple, counts
/// the join's partitions, finds the genesis triple and the covered numbers.
///
/// The join's key of a hash is the hash under the audit's secret seed, never a part of
/// the hash itself, which a block's builder chooses for its parent field (issue #13):
/// chosen keys then spread over the partitions and slots like random ones.
fn scan(genesis: Hash32, triples: &[ValidTriple], seed: HashSeed) -> Scan {
    let hasher = FixedState::with_seed(seed.0);
    scan_with(genesis, triples, |h| hasher.hash_one(h))
}

/// [`scan`] with the join's keys made by `join_key` (tests make them collide).
fn scan_with(genesis: Hash32, triples: &[ValidTriple], join_key: impl Fn(&Hash32) -> u64) -> Scan {
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
fn least_children_by_prefix(triples: &[ValidTriple], scan: &mut Scan) -> Option<Vec<Index>> {
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
fn range_bits(n: usize) -> u32 {
    let mut bits = 0;
    while bits < usize::BITS - 1 && (n >> bits) >= 1024 {
        bits += 1;
    }
    bits
}

/// The multiplier of [`JoinTable`]'s slot hash (odd: every prefix keeps its own
/// product, so only the slot bits can collide).
const SLOT_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// Scratch space of the per-partition join, allocated once for all partitions.
#[derive(Debug, Default)]
struct JoinTable {
    /// Open addressing over one partition's children by prefix: for each prefix seen,
    /// the position of its least-ranked child so far, plus one (0: an empty slot).
    slots: Vec<Index>,
    /// The partition's answers, given out only once all are known.
    answers: Vec<(Index, Index)>,
}

/// Whether child `b` ranks at or below child `c`.
fn ranks_first(triples: &[ValidTriple], b: &ChildEntry, c: &ChildEntry) -> bool {
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
fn join_partition(
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
fn join_sorted(
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
fn scatter<E: Copy + Default>(
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
fn least_children_exact(triples: &[ValidTriple]) -> Vec<usize> {
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
fn partition_bits(n: usize) -> u32 {
    let mut bits = 0;
    while bits < 10 && (n >> bits) > 256 {
        bits += 1;
    }
    bits
}

/// The partition of a hash prefix among `2^bits`: its first `bits` bits.
fn partition_of(prefix: u64, bits: u32) -> usize {
    prefix
        .checked_shr(64 - bits)
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(0)
}

/// Which sequence numbers have a valid triple, as far as `omc` and the audit need.
///
/// The walk starts at `k = 0` and may only step to a child `z` when every number in
/// `[k, z.k]` has a valid triple. By induction every number it reaches lies in
/// `[0, covered_below)`, where `covered_below` is the least number without a valid
/// triple, and the check at each step is just `z.k < covered_below`: no sorted index
/// of the numbers is needed, only a bitmap of the numbers up to the triple count
/// (a number above it cannot be the least missing one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SequenceCoverage {
    /// The least sequence number without a valid triple: every number below it has one.
    covered_below: u64,
    /// The greatest sequence number with a valid triple.
    max: Option<u64>,
}

impl SequenceCoverage {
    /// The coverage of the numbers `ks`.
    #[cfg(test)]
    fn new(ks: impl Iterator<Item = u64>) -> Self {
        let ks: Vec<u64> = ks.collect();
        let mut builder = CoverageBuilder::new(ks.len());
        for k in ks {
            builder.add(k);
        }
        builder.finish()
    }

    /// The first number without a valid triple above the main chain's tip, if some
    /// greater number has one. Main-chain numbers all lie below `covered_below`, so
    /// that is the answer unless nothing above it is covered.
    fn first_missing_above_chain(&self) -> Option<u64> {
        self.max
            .filter(|&max| max > self.covered_below)
            .map(|_| self.covered_below)
    }
}

/// Builds a [`SequenceCoverage`] from numbers given one at a time.
#[derive(Debug)]
struct CoverageBuilder {
    /// Bit `k` is set when `k` has a valid triple, for `k` up to the number of triples.
    seen: Vec<u64>,
    max: Option<u64>,
}

impl CoverageBuilder {
    /// A builder for at most `n` numbers: the least missing one is at most `n`.
    fn new(n: usize) -> Self {
        Self {
            seen: vec![0; n / 64 + 1],
            max: None,
        }
    }

    fn add(&mut self, k: u64) {
        self.max = self.max.max(Some(k));
        if let Some(word) = usize::try_from(k / 64)
            .ok()
            .and_then(|w| self.seen.get_mut(w))
        {
            *word |= 1 << (k % 64);
        }
    }

    fn finish(self) -> SequenceCoverage {
        let covered_below = self
            .seen
            .iter()
            .enumerate()
            .find(|(_, w)| **w != u64::MAX)
            .map_or(self.seen.len() as u64 * 64, |(i, w)| {
                i as u64 * 64 + u64::from(w.trailing_ones())
            });
        SequenceCoverage {
            covered_below,
            max: self.max,
        }
    }
}

/// One block of the main chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MainChainBlock {
    /// Height: 0 for `b0`.
    pub height: u64,
    /// `H(b)`.
    pub block: Hash32,
    /// `H(t)`: this block's timestamp.
    pub timestamp: Hash32,
    /// `H(a)`: this block's enclave attestation.
    pub attestation: Hash32,
    /// The sequence number `a.s.k`.
    pub sequence: u64,
    /// `t.iat`.
    pub iat: UnixSeconds,
    /// `b.m^H`.
    pub batch_root: Hash32,
}

/// Two valid attestations under `K_S+` with the same sequence number and different
/// `y`: proof that the sequencer equivocated (a fatal finding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Equivocation {
    /// The sequence number given out more than once.
    pub sequence: u64,
    /// The attestations (`H(a)`, hex) that carry it, sorted.
    pub attestations: Vec<String>,
    /// The distinct `y` values (hex) they sequence, sorted.
    pub ys: Vec<String>,
}

/// A place where the chain forks off the main chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fork {
    /// Height of the main-chain block whose timestamp has several valid children.
    pub parent_height: u64,
    /// That main-chain block.
    pub parent_block: Hash32,
    /// The child on the main chain, if the main chain continues here.
    pub winner: Option<Branch>,
    /// The children that lost, each with the size of the branch it starts.
    pub losers: Vec<Branch>,
}

/// The first block of a branch at a fork.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Branch {
    /// `H(b)` of the branch's first block.
    pub block: Hash32,
    /// Its sequence number.
    pub sequence: u64,
    /// How many valid blocks the branch holds: for a losing branch this block and all
    /// its descendants; for the winner, the main-chain blocks from it to the tip.
    pub blocks: u64,
}

/// The outcome of an audit (SPEC §6 `zipchain audit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    /// Objects read, per kind.
    pub counts: BTreeMap<ObjectKind, usize>,
    /// The main chain, `b0` first.
    pub main_chain: Vec<MainChainBlock>,
    /// Why the main chain ends where it does.
    pub end: ChainEnd,
    /// Valid blocks that are not on the main chain and do not extend its tip.
    pub orphaned_blocks: Vec<Hash32>,
    /// Valid blocks that extend the main chain's tip but are not final yet.
    pub pending_blocks: Vec<Hash32>,
    /// Well-formed blocks that have no valid triple (no valid timestamp or attestation yet).
    pub unsequenced_blocks: Vec<Hash32>,
    /// Invalid objects with reasons, sorted by kind and name.
    pub invalid_objects: Vec<InvalidObject>,
    /// The first sequence number the main chain cannot pass (see [`Audit::sequence_gap_at`]).
    pub sequence_gap_at: Option<u64>,
    /// Proofs that the sequencer equivocated.
    pub equivocations: Vec<Equivocation>,
    /// Forks off the main chain.
    pub forks: Vec<Fork>,
    /// Main-chain blocks whose batch is not in the snapshot.
    pub missing_batches: Vec<Hash32>,
    /// For every transaction final on the main chain: the height of its first
    /// main-chain occurrence after `b0`. Only blocks below the first main-chain block
    /// whose batch is missing count: past it no first occurrence can be proven.
    pub final_transactions: HashMap<Hash32, u64>,
}

impl Audit {
    /// The main chain's height (`None` when the chain is empty).
    pub fn height(&self) -> Option<u64> {
        self.main_chain.last().map(|b| b.height)
    }

    /// The main chain's tip block.
    pub fn tip(&self) -> Option<&MainChainBlock> {
        self.main_chain.last()
    }

    /// The height of `tx`'s first main-chain occurrence after `b0`, if it is final.
    pub fn final_height(&self, tx: &Hash32) -> Option<u64> {
        self.final_transactions.get(tx).copied()
    }

    /// The main-chain block at `height`.
    pub fn at_height(&self, height: u64) -> Option<&MainChainBlock> {
        usize::try_from(height)
            .ok()
            .and_then(|h| self.main_chain.get(h))
    }

    /// Whether the sequencer equivocated or nothing forms a chain (no valid genesis
    /// block): findings that make an audit fail whatever `--strict` says; exactly the
    /// failed checks of [`crate::verdict::audit_checks`].
    pub fn has_fatal_findings(&self) -> bool {
        !self.equivocations.is_empty() || self.main_chain.is_empty()
    }

    /// Whether the audit fails: a fatal finding, or with `strict` any invalid object
    /// (the exit status of `zipchain audit`, SPEC §6).
    pub fn fails(&self, strict: bool) -> bool {
        self.has_fatal_findings() || (strict && !self.invalid_objects.is_empty())
    }

    /// The report of SPEC §6 (`zipchain audit --json`).
    pub fn report(&self) -> AuditReport {
        AuditReport {
            main_chain_height: self.height(),
            main_chain_tip: self.tip().map(|b| b.block.to_hex()),
            blocks: self.count(ObjectKind::Block),
            timestamps: self.count(ObjectKind::Timestamp),
            attestations: self.count(ObjectKind::Attestation),
            batches: self.count(ObjectKind::Batch),
            orphaned_blocks: hexes(&self.orphaned_blocks),
            invalid_objects: self.invalid_objects.clone(),
            sequence_gap_at: self.sequence_gap_at,
            equivocations: self.equivocations.clone(),
            transactions_final: self.final_transactions.len() as u64,
            first_time: self.main_chain.first().map(|b| b.iat.0),
            last_time: self.tip().map(|b| b.iat.0),
            main_chain: self.main_chain.iter().map(|b| b.block.to_hex()).collect(),
            pending_blocks: hexes(&self.pending_blocks),
            unsequenced_blocks: hexes(&self.unsequenced_blocks),
            missing_batches: hexes(&self.missing_batches),
            chain_end: self.end,
            forks: self.forks.clone(),
        }
    }

    fn count(&self, kind: ObjectKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
}

fn hexes(hashes: &[Hash32]) -> Vec<String> {
    hashes.iter().map(Hash32::to_hex).collect()
}

/// The JSON document of `zipchain audit --json` (SPEC §6). The first fields are the
/// SPEC's; the rest are extras that a reader may ignore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Height of the main chain's tip (`b0` is height 0); `null` when the chain is empty.
    pub main_chain_height: Option<u64>,
    /// `H(b)` of the tip, hex.
    pub main_chain_tip: Option<String>,
    /// Block files read.
    pub blocks: usize,
    /// Timestamp files read.
    pub timestamps: usize,
    /// Attestation files read.
    pub attestations: usize,
    /// Batch files read.
    pub batches: usize,
    /// Valid blocks on losing forks, hex, sorted.
    pub orphaned_blocks: Vec<String>,
    /// Invalid objects with reasons.
    pub invalid_objects: Vec<InvalidObject>,
    /// The first sequence number without a valid triple that holds the chain back.
    pub sequence_gap_at: Option<u64>,
    /// Sequencer equivocations (fatal).
    pub equivocations: Vec<Equivocation>,
    /// Distinct transactions final on the main chain (after `b0`).
    pub transactions_final: u64,
    /// `iat` of `t0`, Unix seconds.
    pub first_time: Option<u64>,
    /// `iat` of the tip's timestamp, Unix seconds.
    pub last_time: Option<u64>,
    /// The main chain's block hashes, `b0` first.
    pub main_chain: Vec<String>,
    /// Valid blocks beyond the tip that are not final yet.
    pub pending_blocks: Vec<String>,
    /// Well-formed blocks without a valid timestamp and attestation.
    pub unsequenced_blocks: Vec<String>,
    /// Main-chain blocks whose batch is missing from the snapshot.
    pub missing_batches: Vec<String>,
    /// Why the main chain ends where it does.
    pub chain_end: ChainEnd,
    /// Forks off the main chain.
    pub forks: Vec<Fork>,
}

/// Gathers [`Examined`] objects and turns them into an [`Audit`].
#[derive(Debug, Default)]
pub struct AuditBuilder {
    genesis: Hash32,
    counts: BTreeMap<ObjectKind, usize>,
    blocks: Vec<(Hash32, Block)>,
    timestamps: Vec<(Hash32, Hash32, UnixSeconds)>,
    attestations: Vec<(Hash32, [u8; 48], u64, UnixMillis)>,
    /// The roots of the well-formed batches (their transaction ids are read again
    /// for the main chain only).
    batches: Vec<Hash32>,
    invalid: Vec<InvalidObject>,
    seed: HashSeed,
}

impl AuditBuilder {
    /// An empty builder for the chain whose genesis block hash is `genesis`.
    pub fn new(genesis: Hash32) -> Self {
        Self {
            genesis,
            ..Self::default()
        }
    }

    /// The same builder with its hash maps under `seed` ([`HashSeed`]; by default
    /// [`HashSeed::random`]).
    pub fn with_hash_seed(self, seed: HashSeed) -> Self {
        Self { seed, ..self }
    }

    /// Adds the verdict on one object of kind `kind`.
    pub fn add(&mut self, kind: ObjectKind, examined: Examined) {
        *self.counts.entry(kind).or_insert(0) += 1;
        match examined {
            Examined::Block { key, block } => self.blocks.push((key, block)),
            Examined::Timestamp { key, attests, iat } => self.timestamps.push((key, attests, iat)),
            Examined::Attestation {
                key,
                y,
                k,
                document_time,
            } => self.attestations.push((key, y, k, document_time)),
            Examined::Batch { key } => self.batches.push(key),
            Examined::Invalid(i) => self.invalid.push(i),
        }
    }

    /// Forms the valid triples, runs [`omc`] and gathers the findings. The batches of
    /// the main chain's blocks are read again from `batches` (the objects the builder
    /// was given), checked against their roots once more, and their transaction ids
    /// counted as final; a batch that cannot be read again, or whose bytes changed,
    /// counts as missing. No other batch is read or held.
    pub fn finish(mut self, batches: &dyn ObjectSource) -> Audit {
        let (triples, links) = self.triples();
        let (choice, coverage) = omc_with(self.genesis, &triples, self.seed);
        let main_chain: Vec<MainChainBlock> = choice
            .chain
            .iter()
            .enumerate()
            .map(|(height, &i)| {
                let t = &triples[i];
                MainChainBlock {
                    height: height as u64,
                    block: t.block,
                    timestamp: t.timestamp,
                    attestation: t.attestation,
                    sequence: t.k,
                    iat: t.iat,
                    batch_root: t.batch_root,
                }
            })
            .collect();

        // Children of every timestamp, for pending blocks and fork drawings.
        let seed = self.seed;
        let children = GroupIndex::new(triples.len(), seed, |i| triples[i].parent);
        let mut on_main: FastSet<Hash32> = fast_set(main_chain.len(), seed);
        on_main.extend(main_chain.iter().map(|b| b.block));
        let mut valid_blocks: FastSet<Hash32> = fast_set(triples.len(), seed);
        valid_blocks.extend(triples.iter().map(|t| t.block));
        // Pending: sequenced blocks beyond the tip, reached from it through timestamped
        // blocks whether or not those are sequenced yet (a withheld attestation).
        let pending: FastSet<Hash32> = match main_chain.last() {
            Some(tip) => {
                let link_children = GroupIndex::new(links.len(), seed, |i| links[i].0);
                let mut reached = fast_set(0, seed);
                let mut stack = vec![tip.timestamp];
                let mut out = fast_set(0, seed);
                while let Some(t) = stack.pop() {
                    for &i in link_children.get(&t) {
                        let (_, child_t, block) = links[i];
                        if reached.insert(child_t) {
                            stack.push(child_t);
                            if valid_blocks.contains(&block) && !on_main.contains(&block) {
                                out.insert(block);
                            }
                        }
                    }
                }
                out
            }
            None => fast_set(0, seed),
        };
        let mut pending_blocks: Vec<Hash32> = pending.iter().copied().collect();
        sort_items(&mut pending_blocks, &Hash32::cmp);
        let mut orphaned: Vec<Hash32> = valid_blocks
            .iter()
            .filter(|b| !on_main.contains(b) && !pending.contains(b))
            .copied()
            .collect();
        sort_items(&mut orphaned, &Hash32::cmp);
        let mut unsequenced: Vec<Hash32> = self
            .blocks
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !valid_blocks.contains(k))
            .collect();
        sort_items(&mut unsequenced, &Hash32::cmp);
        unsequenced.dedup();

        let forks = forks(&main_chain, &triples, &children, &on_main);

        let sequence_gap_at = match choice.end {
            ChainEnd::Gap { at } => Some(at),
            ChainEnd::NoChild => coverage.first_missing_above_chain(),
            ChainEnd::NoGenesis => None,
        };

        let mut verified: FastSet<Hash32> = fast_set(self.batches.len(), seed);
        verified.extend(self.batches.drain(..));
        let tx_ids_of = |root: &Hash32| -> Option<Vec<Hash32>> {
            if !verified.contains(root) {
                return None;
            }
            let bytes = batches.object(ObjectKind::Batch, root).ok().flatten()?;
            let ids = Batch::tx_ids_of(&bytes, &BatchBudget::DEFAULT).ok()?;
            (crate::merkle::root(&ids) == *root).then_some(ids)
        };
        let mut final_transactions: HashMap<Hash32, u64> = HashMap::new();
        final_transactions.reserve(main_chain.len());
        let mut missing_batches = Vec::new();
        for b in main_chain.iter().skip(1) {
            // Past a missing batch no transaction's FIRST main-chain occurrence can be
            // proven, so none is reported final (or certified) from there on, and no
            // later batch needs reading.
            if !missing_batches.is_empty() {
                if !verified.contains(&b.batch_root) {
                    missing_batches.push(b.block);
                }
                continue;
            }
            match tx_ids_of(&b.batch_root) {
                Some(txs) => {
                    for tx in txs {
                        final_transactions.entry(tx).or_insert(b.height);
                    }
                }
                None => missing_batches.push(b.block),
            }
        }
        if let Some(b0) = main_chain.first() {
            if !verified.contains(&b0.batch_root) {
                missing_batches.insert(0, b0.block);
            }
        }

        sort_items(&mut self.invalid, &|a, b| {
            (a.kind, &a.key).cmp(&(b.kind, &b.key))
        });
        let equivocations = self.equivocations();
        Audit {
            counts: self.counts,
            equivocations,
            main_chain,
            end: choice.end,
            orphaned_blocks: orphaned,
            pending_blocks,
            unsequenced_blocks: unsequenced,
            invalid_objects: self.invalid,
            sequence_gap_at,
            forks,
            missing_batches,
            final_transactions,
        }
    }

    /// The valid triples: `t.y = H(b)`, `a.s.y = b.u ++ H(t)`, and the document made
    /// no earlier than five minutes before `t.iat` (SPEC §5). Blocks, timestamps and
    /// attestations were each validated on their own by [`Auditor::examine`].
    ///
    /// Also returns every link `(b.t^H, H(t), H(b))` of a well-formed block and a valid
    /// timestamp of it, sequenced or not: the paths along which a block can still
    /// extend the main chain once a missing attestation appears.
    fn triples(&self) -> (Vec<ValidTriple>, Vec<(Hash32, Hash32, Hash32)>) {
        let seed = self.seed;
        let by_attested = GroupIndex::new(self.timestamps.len(), seed, |i| self.timestamps[i].1);
        let by_y = GroupIndex::new(self.attestations.len(), seed, |i| self.attestations[i].1);
        let mut triples = Vec::with_capacity(self.blocks.len());
        let mut links = Vec::with_capacity(self.blocks.len());
        let mut seen_blocks: FastSet<Hash32> = fast_set(self.blocks.len(), seed);
        for (b_key, block) in &self.blocks {
            if !seen_blocks.insert(*b_key) {
                continue;
            }
            for &ti in by_attested.get(b_key) {
                let (t_key, _, iat) = self.timestamps[ti];
                links.push((block.parent_timestamp, t_key, *b_key));
                let y = crate::triple::y(&block.uuid, &t_key);
                for &ai in by_y.get(&y) {
                    let (a_key, _, k, doc_time) = self.attestations[ai];
                    if crate::triple::in_time(doc_time, iat) {
                        triples.push(ValidTriple {
                            block: *b_key,
                            parent: block.parent_timestamp,
                            timestamp: t_key,
                            attestation: a_key,
                            k,
                            iat,
                            batch_root: block.batch_root,
                        });
                    }
                }
            }
        }
        (triples, links)
    }

    /// Valid attestations (each passed `check` on its own) sharing a sequence number
    /// with different `y`.
    fn equivocations(&self) -> Vec<Equivocation> {
        // Sorted by (k, y, key): each k's attestations are one run, and a run with
        // more than one distinct y is an equivocation. Strings only for the findings.
        let mut by_k: Vec<(u64, [u8; 48], Hash32)> = self
            .attestations
            .iter()
            .map(|(key, y, k, _)| (*k, *y, *key))
            .collect();
        sort_items(&mut by_k, &|a, b| a.cmp(b));
        by_k.chunk_by(|a, b| a.0 == b.0)
            .filter(|run| run.iter().any(|a| a.1 != run[0].1))
            .map(|run| {
                let mut ys: Vec<String> = run.iter().map(|a| hex::encode(a.1)).collect();
                ys.dedup();
                // Sorted as hashes: lowercase hex keeps the byte order.
                let mut keys: Vec<Hash32> = run.iter().map(|a| a.2).collect();
                sort_items(&mut keys, &Hash32::cmp);
                keys.dedup();
                let attestations: Vec<String> = keys.iter().map(Hash32::to_hex).collect();
                Equivocation {
                    sequence: run[0].0,
                    attestations,
                    ys,
                }
            })
            .collect()
    }
}

/// Indices of every triple reachable from the timestamp `from` through child links.
fn descendants(triples: &[ValidTriple], children: &GroupIndex<Hash32>, from: Hash32) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![from];
    while let Some(t) = stack.pop() {
        for &i in children.get(&t) {
            if seen.insert(i) {
                out.push(i);
                stack.push(triples[i].timestamp);
            }
        }
    }
    out
}

/// Forks off the main chain: every main-chain timestamp with a valid child block
/// that is not the next main-chain block.
fn forks(
    main_chain: &[MainChainBlock],
    triples: &[ValidTriple],
    children: &GroupIndex<Hash32>,
    on_main: &FastSet<Hash32>,
) -> Vec<Fork> {
    let mut out = Vec::new();
    // Children of the tip are pending (not final yet), not forks: skip the tip.
    let below_tip = main_chain.len().saturating_sub(1);
    for (h, parent) in main_chain.iter().enumerate().take(below_tip) {
        let kids = children.get(&parent.timestamp);
        let next = main_chain.get(h + 1).map(|b| b.block);
        let mut winner = None;
        // Every losing child in `kids` order; a block reached through several of
        // its timestamps is one branch: the first one's count, the least number.
        let mut candidates: Vec<Branch> = Vec::new();
        for &i in kids {
            let t = &triples[i];
            if Some(t.block) == next {
                // The winner's branch is the rest of the main chain (cheap to count;
                // walking it at every fork would make the audit quadratic).
                winner = Some(Branch {
                    block: t.block,
                    sequence: t.k,
                    blocks: (main_chain.len() - h - 1) as u64,
                });
            } else if !on_main.contains(&t.block) {
                // Losing branches are disjoint from the main chain and from each
                // other, so walking each once costs O(orphans) in all.
                let mut blocks: HashSet<Hash32> = HashSet::from([t.block]);
                blocks.extend(
                    descendants(triples, children, t.timestamp)
                        .into_iter()
                        .map(|j| triples[j].block),
                );
                candidates.push(Branch {
                    block: t.block,
                    sequence: t.k,
                    blocks: blocks.len() as u64,
                });
            }
        }
        if !candidates.is_empty() {
            // Stable: each block's candidates stay in `kids` order.
            sort_items(&mut candidates, &|a, b| a.block.cmp(&b.block));
            let mut losers: Vec<Branch> = candidates
                .chunk_by(|a, b| a.block == b.block)
                .filter_map(|run| {
                    let first = run.first()?;
                    let sequence = run.iter().map(|b| b.sequence).min()?;
                    Some(Branch {
                        sequence,
                        ..first.clone()
                    })
                })
                .collect();
            sort_items(&mut losers, &|a, b| {
                (a.sequence, a.block).cmp(&(b.sequence, b.block))
            });
            out.push(Fork {
                parent_height: h as u64,
                parent_block: parent.block,
                winner,
                losers,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
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

    impl Hash for Counted {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            self.0.hash(state);
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
        let index = GroupIndex::new(n, HashSeed::new(0x5eed), |i| keys[i]);
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
            inverse =
                inverse.wrapping_mul(2u64.wrapping_sub(SLOT_MULTIPLIER.wrapping_mul(inverse)));
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
        for (order, expected) in [
            (vec![a.clone(), b.clone()], winner),
            (vec![b, a], 1 - winner),
        ] {
            let mut ts = vec![ts[0].clone()];
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
}
