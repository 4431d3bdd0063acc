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
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use serde::Serialize;

use crate::batch::Batch;
use crate::block::Block;
use crate::hash::Hash32;
use crate::nsm::{NsmVerifier, VerifyAt};
use crate::sequence::{SequencerKey, check};
use crate::snapshot::{ObjectKind, Snapshot};
use crate::time::{UnixMillis, UnixSeconds};
use crate::timestamp::TimestampVerifier;
use crate::trust::{TrustDescriptor, TrustError};

/// How far an enclave document may precede the timestamp it sequences, in
/// milliseconds: five minutes of clock skew between the two services (SPEC §5).
pub const CLOCK_SKEW_MS: u64 = 300_000;

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
    /// A well-formed batch whose file name is its Merkle root.
    Batch {
        /// `m^H`.
        key: Hash32,
        /// The transaction ids in leaf order.
        tx_ids: Vec<Hash32>,
    },
    /// An object that is reported and ignored.
    Invalid(InvalidObject),
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
        })
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
            ObjectKind::Batch => match Batch::decode(bytes) {
                Ok(batch) => {
                    let tx_ids = batch.tx_ids();
                    let root = crate::merkle::root(&tx_ids);
                    if root == named {
                        Examined::Batch { key: named, tx_ids }
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
        let mut builder = AuditBuilder::new(self.genesis);
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
        builder.finish()
    }
}

/// Hashes map keys that are already uniformly distributed (SHA3-256 outputs, the
/// `y` of verified attestations, sequence numbers) with one multiply instead of
/// SipHash. Every key in these maps comes from an object whose signature verified
/// under the trust descriptor, so an attacker cannot choose keys to collide.
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.write_u64(u64::from_le_bytes(word));
    }

    fn write_u64(&mut self, n: u64) {
        // A folded multiply: every input bit reaches the low bits that pick the
        // bucket, so keys inserted in sorted order do not cluster.
        let m = u128::from(self.0 ^ n) * 0x9e37_79b9_7f4a_7c15_u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    // The length prefix of arrays says nothing about the key.
    fn write_usize(&mut self, _: usize) {}
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<PrefixHasher>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<PrefixHasher>>;

fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    FastMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}

fn fast_set<K>(capacity: usize) -> FastSet<K> {
    FastSet::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}

/// Items grouped by a key without a `Vec` per key: the item indices sorted by key,
/// and for each key the range of that order holding its items.
struct GroupIndex<K> {
    order: Vec<usize>,
    ranges: FastMap<K, (usize, usize)>,
}

impl<K: Copy + Eq + Hash + Ord> GroupIndex<K> {
    fn new(len: usize, key: impl Fn(usize) -> K) -> Self {
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_unstable_by_key(|&i| key(i));
        let mut ranges = fast_map(len);
        let mut start = 0;
        while start < order.len() {
            let k = key(order[start]);
            let mut end = start + 1;
            while end < order.len() && key(order[end]) == k {
                end += 1;
            }
            ranges.insert(k, (start, end));
            start = end;
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
/// O(n log n) in the number of triples, and linear in practice up to millions of
/// blocks, because nothing big is probed at random:
/// - every triple is joined to its least child by a radix-partitioned join (both
///   sides scattered into cache-sized partitions by the first bits of the hash, then
///   each partition sorted and matched on its own), see [`least_children`];
/// - the covered sequence numbers are radix-sorted once into runs of consecutive
///   numbers, and the walk finds the current number's run with a cursor that gallops
///   forward, since along a main chain the numbers mostly grow.
///
/// Ties (two valid triples with the same parent and the same least `k`, which only
/// an equivocating sequencer can produce) are broken by the lower block hash, then
/// the lower timestamp hash, then the order given, so that the choice is deterministic.
pub fn omc(genesis: Hash32, triples: &[ValidTriple]) -> MainChainChoice {
    let coverage = SequenceCoverage::new(triples.iter().map(|t| t.k));
    omc_with(genesis, triples, &coverage)
}

/// [`omc`] with the covered sequence numbers already sorted (the audit reuses them to
/// find the first gap).
fn omc_with(
    genesis: Hash32,
    triples: &[ValidTriple],
    coverage: &SequenceCoverage,
) -> MainChainChoice {
    let Some(first) = (0..triples.len())
        .filter(|&i| triples[i].block == genesis && triples[i].k == 0)
        .min_by(|&a, &b| rank_order(triples, a, b))
    else {
        return MainChainChoice {
            chain: Vec::new(),
            end: ChainEnd::NoGenesis,
        };
    };
    let least_child = least_children(triples);
    let mut cursor = 0;

    let mut chain = vec![first];
    let mut current = first;
    // A hash chain cannot loop, but a budget of one step per triple makes that
    // independent of hash assumptions.
    for _ in 0..triples.len() {
        let z = least_child[current];
        if z == NO_CHILD {
            return MainChainChoice {
                chain,
                end: ChainEnd::NoChild,
            };
        }
        // Every number in [k, z.k] has a valid triple iff z.k lies within the run of
        // consecutive covered numbers that holds k (k itself is covered: the current
        // block has it). An empty interval (z.k < k) passes too.
        let covered_to = coverage.run_end_of(triples[current].k, &mut cursor);
        if triples[z].k > covered_to {
            return MainChainChoice {
                chain,
                end: ChainEnd::Gap {
                    at: covered_to.saturating_add(1),
                },
            };
        }
        chain.push(z);
        current = z;
    }
    MainChainChoice {
        chain,
        end: ChainEnd::NoChild,
    }
}

/// The rank order of SPEC §5's `argmin`: least `(k, H(b), H(t))`, then the order given.
fn rank_order(triples: &[ValidTriple], a: usize, b: usize) -> Ordering {
    let (ta, tb) = (&triples[a], &triples[b]);
    (ta.k, ta.block, ta.timestamp, a).cmp(&(tb.k, tb.block, tb.timestamp, b))
}

/// "No valid child" in [`least_children`].
const NO_CHILD: usize = usize::MAX;

/// A triple as a child: its parent timestamp (and that hash's first eight bytes, to
/// sort and compare by), its number, its index.
#[derive(Clone, Copy)]
struct ChildEntry {
    prefix: u64,
    k: u64,
    index: usize,
    parent: Hash32,
}

/// A triple as a parent: its timestamp (and that hash's first eight bytes), its index.
#[derive(Clone, Copy)]
struct ParentEntry {
    prefix: u64,
    index: usize,
    timestamp: Hash32,
}

/// For each triple, the index of the least-ranked triple whose parent is its
/// timestamp ([`NO_CHILD`] when none).
///
/// A radix-partitioned join: both sides are scattered (one counting pass, one
/// writing pass, sequential over the triples) into partitions by the first bits of
/// the hash they are joined on, sized to stay in cache; each partition's children
/// are then sorted by `(hash prefix, k, index)` and each parent finds its first
/// child by binary search, the whole hash deciding. Per triple the work does not
/// grow with the chain, unlike a hash map that no longer fits in the cache.
fn least_children(triples: &[ValidTriple]) -> Vec<usize> {
    let bits = partition_bits(triples.len());
    let children = partition(
        triples,
        bits,
        |t| &t.parent,
        |i, t| ChildEntry {
            prefix: hash_prefix(&t.parent),
            k: t.k,
            index: i,
            parent: t.parent,
        },
    );
    let parents = partition(
        triples,
        bits,
        |t| &t.timestamp,
        |i, t| ParentEntry {
            prefix: hash_prefix(&t.timestamp),
            index: i,
            timestamp: t.timestamp,
        },
    );

    let mut least = vec![NO_CHILD; triples.len()];
    for (mut kids, stamps) in children.into_iter().zip(parents) {
        kids.sort_unstable_by_key(|c| (c.prefix, c.k, c.index));
        for parent in &stamps {
            let from = kids.partition_point(|c| c.prefix < parent.prefix);
            // The children under this parent, least rank first (a shared prefix
            // with another hash is possible, so the whole hash decides).
            let mut under = kids[from..]
                .iter()
                .take_while(|c| c.prefix == parent.prefix)
                .filter(|c| c.parent == parent.timestamp);
            let Some(best) = under.next() else {
                continue;
            };
            // Equal numbers under one parent (only an equivocation makes them): the
            // rank's next keys decide.
            least[parent.index] =
                under
                    .take_while(|c| c.k == best.k)
                    .map(|c| c.index)
                    .fold(best.index, |a, b| match rank_order(triples, a, b) {
                        Ordering::Greater => b,
                        _ => a,
                    });
        }
    }
    least
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

/// The partition of `hash` among `2^bits`: its first `bits` bits.
fn partition_of(hash: &Hash32, bits: u32) -> usize {
    let bytes = hash.as_bytes();
    let top = u16::from_be_bytes([bytes[0], bytes[1]]);
    usize::from(top.checked_shr(16 - bits).unwrap_or(0))
}

/// Scatters one entry per triple into `2^bits` partitions by the hash `key` names:
/// a counting pass, then a writing pass into partitions of the right capacity.
fn partition<E>(
    triples: &[ValidTriple],
    bits: u32,
    key: impl Fn(&ValidTriple) -> &Hash32,
    entry: impl Fn(usize, &ValidTriple) -> E,
) -> Vec<Vec<E>> {
    let mut counts = vec![0usize; 1 << bits];
    for t in triples {
        counts[partition_of(key(t), bits)] += 1;
    }
    let mut parts: Vec<Vec<E>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
    for (i, t) in triples.iter().enumerate() {
        parts[partition_of(key(t), bits)].push(entry(i, t));
    }
    parts
}

/// The first eight bytes of a hash, as a sort key.
fn hash_prefix(hash: &Hash32) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_be_bytes(word)
}

/// The set of sequence numbers that have a valid triple, as sorted runs of
/// consecutive numbers.
#[derive(Debug)]
struct SequenceCoverage {
    /// Sorted distinct sequence numbers.
    // INVARIANT: strictly increasing.
    ks: Vec<u64>,
    /// `run_end[i]`: the greatest `ks[j]` such that `ks[i..=j]` are consecutive.
    run_end: Vec<u64>,
}

impl SequenceCoverage {
    fn new(ks: impl Iterator<Item = u64>) -> Self {
        let mut ks: Vec<u64> = ks.collect();
        // Sequence numbers are mostly dense and small: a radix sort skips the
        // high bytes they all share.
        radsort::sort(&mut ks);
        ks.dedup();
        let mut run_end = ks.clone();
        for i in (0..ks.len().saturating_sub(1)).rev() {
            if ks[i].checked_add(1) == Some(ks[i + 1]) {
                run_end[i] = run_end[i + 1];
            }
        }
        Self { ks, run_end }
    }

    /// The end of the run of consecutive covered numbers that holds `k`, which must
    /// be covered (`k` itself if it is not). `cursor` remembers where the last
    /// search ended: searching for a greater number gallops forward from there, so
    /// a walk up a main chain reads the sorted numbers nearly in order.
    fn run_end_of(&self, k: u64, cursor: &mut usize) -> u64 {
        let at = *cursor;
        let found = match self.ks.get(at) {
            Some(&here) if here == k => Ok(at),
            Some(&here) if here < k => {
                // Gallop: double the step until past k, then search that window.
                let mut step = 1;
                let mut low = at;
                loop {
                    let probe = low.saturating_add(step);
                    match self.ks.get(probe) {
                        Some(&v) if v < k => {
                            low = probe;
                            step = step.saturating_mul(2);
                        }
                        _ => {
                            let high = probe.saturating_add(1).min(self.ks.len());
                            break self.ks[low..high].binary_search(&k).map(|i| low + i);
                        }
                    }
                }
            }
            _ => self.ks.binary_search(&k),
        };
        match found {
            Ok(i) => {
                *cursor = i;
                self.run_end[i]
            }
            Err(_) => k,
        }
    }

    /// The first number in `[from, to]` without a valid triple (`None` when every
    /// number has one, or the interval is empty).
    fn first_missing(&self, from: u64, to: u64) -> Option<u64> {
        if to < from {
            return None;
        }
        match self.ks.binary_search(&from) {
            Err(_) => Some(from),
            Ok(i) => {
                let end = self.run_end[i];
                if end >= to { None } else { end.checked_add(1) }
            }
        }
    }

    /// The first number above `from` without a valid triple, if some greater number has one.
    fn first_missing_above(&self, from: u64) -> Option<u64> {
        let max = *self.ks.last()?;
        if max <= from {
            return None;
        }
        let start = from.checked_add(1)?;
        self.first_missing(start, max)
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

    /// Whether the sequencer equivocated or nothing forms a chain: findings that
    /// make an audit fail whatever `--strict` says.
    pub fn has_fatal_findings(&self) -> bool {
        !self.equivocations.is_empty()
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
    batches: HashMap<Hash32, Vec<Hash32>>,
    invalid: Vec<InvalidObject>,
}

impl AuditBuilder {
    /// An empty builder for the chain whose genesis block hash is `genesis`.
    pub fn new(genesis: Hash32) -> Self {
        Self {
            genesis,
            ..Self::default()
        }
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
            Examined::Batch { key, tx_ids } => {
                self.batches.insert(key, tx_ids);
            }
            Examined::Invalid(i) => self.invalid.push(i),
        }
    }

    /// Forms the valid triples, runs [`omc`] and gathers the findings.
    pub fn finish(mut self) -> Audit {
        let (triples, links) = self.triples();
        let coverage = SequenceCoverage::new(triples.iter().map(|t| t.k));
        let choice = omc_with(self.genesis, &triples, &coverage);
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
        let children = GroupIndex::new(triples.len(), |i| triples[i].parent);
        let mut on_main: FastSet<Hash32> = fast_set(main_chain.len());
        on_main.extend(main_chain.iter().map(|b| b.block));
        let mut valid_blocks: FastSet<Hash32> = fast_set(triples.len());
        valid_blocks.extend(triples.iter().map(|t| t.block));
        // Pending: sequenced blocks beyond the tip, reached from it through timestamped
        // blocks whether or not those are sequenced yet (a withheld attestation).
        let pending: BTreeSet<Hash32> = match main_chain.last() {
            Some(tip) => {
                let link_children = GroupIndex::new(links.len(), |i| links[i].0);
                let mut reached = FastSet::default();
                let mut stack = vec![tip.timestamp];
                let mut out = BTreeSet::new();
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
            None => BTreeSet::new(),
        };
        let mut orphaned: Vec<Hash32> = valid_blocks
            .iter()
            .filter(|b| !on_main.contains(b) && !pending.contains(b))
            .copied()
            .collect();
        orphaned.sort_unstable();
        let mut unsequenced: Vec<Hash32> = self
            .blocks
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !valid_blocks.contains(k))
            .collect();
        unsequenced.sort_unstable();
        unsequenced.dedup();

        let forks = forks(&main_chain, &triples, &children, &on_main);

        let sequence_gap_at = match choice.end {
            ChainEnd::Gap { at } => Some(at),
            ChainEnd::NoChild => main_chain
                .last()
                .and_then(|tip| coverage.first_missing_above(tip.sequence)),
            ChainEnd::NoGenesis => None,
        };

        let mut final_transactions: HashMap<Hash32, u64> = HashMap::new();
        final_transactions.reserve(main_chain.len());
        let mut missing_batches = Vec::new();
        for b in main_chain.iter().skip(1) {
            match self.batches.get(&b.batch_root) {
                // Past a missing batch no transaction's FIRST main-chain occurrence
                // can be proven, so none is reported final (or certified) from there on.
                Some(txs) if missing_batches.is_empty() => {
                    for tx in txs {
                        final_transactions.entry(*tx).or_insert(b.height);
                    }
                }
                Some(_) => {}
                None => missing_batches.push(b.block),
            }
        }
        if let Some(b0) = main_chain.first() {
            if !self.batches.contains_key(&b0.batch_root) {
                missing_batches.insert(0, b0.block);
            }
        }

        self.invalid
            .sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
        let equivocations = self.equivocations();
        Audit {
            counts: self.counts,
            equivocations,
            main_chain,
            end: choice.end,
            orphaned_blocks: orphaned,
            pending_blocks: pending.into_iter().collect(),
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
        let by_attested = GroupIndex::new(self.timestamps.len(), |i| self.timestamps[i].1);
        let by_y = GroupIndex::new(self.attestations.len(), |i| self.attestations[i].1);
        let mut triples = Vec::with_capacity(self.blocks.len());
        let mut links = Vec::with_capacity(self.blocks.len());
        let mut seen_blocks: FastSet<Hash32> = fast_set(self.blocks.len());
        for (b_key, block) in &self.blocks {
            if !seen_blocks.insert(*b_key) {
                continue;
            }
            for &ti in by_attested.get(b_key) {
                let (t_key, _, iat) = self.timestamps[ti];
                links.push((block.parent_timestamp, t_key, *b_key));
                let mut y = [0u8; 48];
                y[..16].copy_from_slice(&block.uuid);
                y[16..].copy_from_slice(t_key.as_bytes());
                let earliest_ms = iat.0.saturating_mul(1000).saturating_sub(CLOCK_SKEW_MS);
                for &ai in by_y.get(&y) {
                    let (a_key, _, k, doc_time) = self.attestations[ai];
                    if doc_time.0 >= earliest_ms {
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
        by_k.sort_unstable();
        by_k.chunk_by(|a, b| a.0 == b.0)
            .filter(|run| run.iter().any(|a| a.1 != run[0].1))
            .map(|run| {
                let mut ys: Vec<String> = run.iter().map(|a| hex::encode(a.1)).collect();
                ys.dedup();
                let mut attestations: Vec<String> = run.iter().map(|a| a.2.to_hex()).collect();
                attestations.sort();
                attestations.dedup();
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
        let mut losers: BTreeMap<Hash32, Branch> = BTreeMap::new();
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
                let branch = Branch {
                    block: t.block,
                    sequence: t.k,
                    blocks: blocks.len() as u64,
                };
                losers
                    .entry(t.block)
                    .and_modify(|b| b.sequence = b.sequence.min(branch.sequence))
                    .or_insert(branch);
            }
        }
        if !losers.is_empty() {
            let mut losers: Vec<Branch> = losers.into_values().collect();
            losers.sort_by_key(|b| (b.sequence, b.block));
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
    fn coverage_run_end_with_a_cursor_forward_and_back() {
        let c = SequenceCoverage::new([8, 0, 2, 1, 5, 6, 2, 9, 20].into_iter());
        let mut cursor = 0;
        // Forward, as a main chain walks: each search starts where the last ended.
        let forward: Vec<u64> = [0, 1, 2, 5, 6, 8, 9, 20]
            .iter()
            .map(|&k| c.run_end_of(k, &mut cursor))
            .collect();
        assert_eq!(forward, vec![2, 2, 2, 6, 6, 9, 9, 20]);
        // Back down (a child numbered below its parent), then up again.
        assert_eq!(c.run_end_of(1, &mut cursor), 2);
        assert_eq!(c.run_end_of(9, &mut cursor), 9);
        // A number without a triple is its own run end.
        assert_eq!(c.run_end_of(3, &mut cursor), 3);
        assert_eq!(c.run_end_of(u64::MAX, &mut cursor), u64::MAX);
    }

    #[test]
    fn partitions_hold_every_triple_once_by_hash_prefix() {
        assert_eq!(partition_bits(0), 0);
        assert_eq!(partition_bits(256), 0);
        assert_eq!(partition_bits(257), 1);
        assert_eq!(partition_bits(usize::MAX), 10);
        let ts: Vec<ValidTriple> = (0..1000).map(|i| triple(i, i, Some(i + 1), i)).collect();
        let bits = partition_bits(ts.len());
        let parts = partition(&ts, bits, |t| &t.timestamp, |i, t| (t.timestamp, i));
        assert_eq!(parts.len(), 1 << bits);
        for (n, entries) in parts.iter().enumerate() {
            assert!(entries.iter().all(|e| partition_of(&e.0, bits) == n));
        }
        let mut seen: Vec<usize> = parts.into_iter().flatten().map(|e| e.1).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
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
        assert_eq!(least_children(&ts), vec![1, NO_CHILD, NO_CHILD, NO_CHILD]);
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
            assert_eq!(least_children(&ts)[0], expected + 1);
        }
    }

    #[test]
    fn coverage_runs() {
        let c = SequenceCoverage::new([0, 1, 2, 5, 6, 8].into_iter());
        assert_eq!(c.first_missing(0, 2), None);
        assert_eq!(c.first_missing(0, 5), Some(3));
        assert_eq!(c.first_missing(5, 6), None);
        assert_eq!(c.first_missing(6, 8), Some(7));
        assert_eq!(c.first_missing(4, 5), Some(4));
        assert_eq!(c.first_missing(6, 5), None);
        assert_eq!(c.first_missing_above(2), Some(3));
        assert_eq!(c.first_missing_above(8), None);
    }
}
