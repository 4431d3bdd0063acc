//! What an audit finds ([`Audit`]) and the report of SPEC §6 ([`AuditReport`]).

use super::*;

/// The final transactions of an audit: each id and the height of its first main-chain
/// occurrence, in height order (ids ascending within a height), with an index of them
/// sorted by id. 48 bytes a transaction, where a hash map took 80 to 120 (issue #19);
/// a lookup is a binary search, and appending the transactions of new main-chain
/// blocks (a resumed audit) merges their few index entries into the index in place.
#[derive(Clone, Default)]
pub struct TxHeights {
    /// `(tx, height)`, by height then id, each id once (its least height).
    entries: Vec<(Hash32, u64)>,
    /// Positions in `entries`, sorted by id.
    by_id: Vec<usize>,
}

impl TxHeights {
    /// No transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many final transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The height of `tx`'s first main-chain occurrence, if it is final.
    pub fn get(&self, tx: &Hash32) -> Option<&u64> {
        let at = self.position(tx)?;
        self.entries.get(at).map(|(_, h)| h)
    }

    /// Whether `tx` is final.
    pub fn contains_key(&self, tx: &Hash32) -> bool {
        self.position(tx).is_some()
    }

    /// Every final transaction and its height, by height then id.
    pub fn iter(&self) -> impl Iterator<Item = (&Hash32, &u64)> {
        self.entries.iter().map(|(tx, h)| (tx, h))
    }

    /// Every height, in the order of [`TxHeights::iter`].
    pub fn values(&self) -> impl Iterator<Item = &u64> {
        self.entries.iter().map(|(_, h)| h)
    }

    /// The entries of heights above `height`, by height then id.
    pub(super) fn above(&self, height: u64) -> &[(Hash32, u64)] {
        let at = self.entries.partition_point(|(_, h)| *h <= height);
        self.entries.get(at..).unwrap_or(&[])
    }

    fn position(&self, tx: &Hash32) -> Option<usize> {
        let entries = &self.entries;
        let id_at = |p: &usize| entries.get(*p).map(|(id, _)| id);
        let i = self.by_id.partition_point(|p| id_at(p) < Some(tx));
        let p = *self.by_id.get(i)?;
        (entries.get(p).map(|(id, _)| id) == Some(tx)).then_some(p)
    }

    /// The transactions of main-chain blocks above every height held (`fresh`, made by a
    /// [`TxHeightsBuilder`]): those not final yet become final at their height.
    /// Returns how many joined.
    pub(super) fn append(&mut self, fresh: TxHeights) -> usize {
        if self.entries.is_empty() {
            // A first run: the fresh index is the whole one (no copy of it).
            *self = fresh;
            return self.entries.len();
        }
        let start = self.entries.len();
        let joined: Vec<(Hash32, u64)> = fresh
            .entries
            .into_iter()
            .filter(|(tx, _)| self.position(tx).is_none())
            .collect();
        self.entries.extend(joined);
        self.index_from(start);
        self.entries.len() - start
    }

    /// Indexes the entries from `start` on: their positions sorted by id, merged into
    /// the index from its end (in place: the index only grows).
    fn index_from(&mut self, start: usize) {
        let entries = &self.entries;
        let fresh_len = entries.len().saturating_sub(start);
        if fresh_len == 0 {
            return;
        }
        let id = |p: usize| entries.get(p).map(|(id, _)| *id);
        let mut fresh: Vec<usize> =
            sorted_order(fresh_len, &|a, b| id(start + a).cmp(&id(start + b)))
                .into_iter()
                .map(|i| start + i)
                .collect();
        let old_len = self.by_id.len();
        self.by_id.resize(old_len + fresh.len(), 0);
        let (mut i, mut k) = (old_len, self.by_id.len());
        while let Some(&last_fresh) = fresh.last() {
            k -= 1;
            let take_old = i > 0
                && self
                    .by_id
                    .get(i - 1)
                    .is_some_and(|&old| id(old) > id(last_fresh));
            let next = if take_old {
                i -= 1;
                self.by_id.get(i).copied().unwrap_or_default()
            } else {
                fresh.pop();
                last_fresh
            };
            if let Some(slot) = self.by_id.get_mut(k) {
                *slot = next;
            }
        }
    }

    /// Entries as a state recorded them (by height then id, each id once), checked.
    ///
    /// # Errors
    /// When an id repeats, or the entries are not in height-then-id order.
    pub(super) fn from_entries(entries: Vec<(Hash32, u64)>) -> Result<Self, &'static str> {
        if !entries.is_sorted_by(|a, b| (a.1, a.0) < (b.1, b.0)) {
            return Err("final transactions out of order");
        }
        // The index sorted at once (no second index beside it as a merge needs).
        let by_id = {
            let id = |p: usize| entries.get(p).map(|(id, _)| id);
            sorted_order(entries.len(), &|a, b| id(a).cmp(&id(b)))
        };
        let out = Self { entries, by_id };
        let entries = &out.entries;
        let id = |p: &usize| entries.get(*p).map(|(id, _)| id);
        if out.by_id.windows(2).any(|w| id(&w[0]) == id(&w[1])) {
            return Err("a final transaction repeats");
        }
        Ok(out)
    }
}

/// Gathers the transactions of main-chain blocks, in height order, into a
/// [`TxHeights`]: every occurrence first (40 bytes each), then one sort by id keeps each
/// id's first.
#[derive(Default)]
pub(super) struct TxHeightsBuilder {
    /// Every occurrence, by height then id (ids once per block).
    entries: Vec<(Hash32, u64)>,
}

impl TxHeightsBuilder {
    /// Adds the transaction ids of the block at `height` (above every height added).
    pub(super) fn push(&mut self, height: u64, mut ids: Vec<Hash32>) {
        sort_items(&mut ids, &Hash32::cmp);
        ids.dedup();
        self.entries.extend(ids.into_iter().map(|tx| (tx, height)));
    }

    /// A builder holding `entries`: by height then id, each id once per height (what
    /// [`TxHeightsBuilder::push`] in height order gives).
    pub(super) fn from_entries(entries: Vec<(Hash32, u64)>) -> Self {
        Self { entries }
    }

    /// Each id at its first height, indexed.
    pub(super) fn finish(self) -> TxHeights {
        let mut entries = self.entries;
        // By id, ties in position order: the first of each id is its least height.
        let order = sorted_order(entries.len(), &|a, b| {
            let id = |i: usize| entries.get(i).map(|(id, _)| *id);
            id(a).cmp(&id(b))
        });
        let mut keep = vec![true; entries.len()];
        for pair in order.windows(2) {
            if let [a, b] = *pair {
                if entries.get(a).map(|e| e.0) == entries.get(b).map(|e| e.0) {
                    if let Some(k) = keep.get_mut(b) {
                        *k = false;
                    }
                }
            }
        }
        let mut out = TxHeights {
            entries: Vec::new(),
            by_id: Vec::new(),
        };
        if keep.iter().all(|k| *k) {
            // No id repeats: the order is the index.
            out.entries = entries;
            out.by_id = order;
            return out;
        }
        drop(order);
        let mut kept = keep.into_iter();
        entries.retain(|_| kept.next().unwrap_or(true));
        out.entries = entries;
        out.index_from(0);
        out
    }
}

impl PartialEq for TxHeights {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for TxHeights {}

impl core::fmt::Debug for TxHeights {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl IntoIterator for TxHeights {
    type Item = (Hash32, u64);
    type IntoIter = std::vec::IntoIter<(Hash32, u64)>;

    /// Every final transaction and its height, by height then id.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
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
    pub final_transactions: TxHeights,
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
            main_chain: self.main_chain.iter().map(|b| b.block.to_hex()).collect(),
            ..self.report_summary()
        }
    }

    /// [`Audit::report`] without its `main_chain` list (left empty): every field of
    /// SPEC §6's JSON and of the people's summary, without a hex string per main-chain
    /// block (about 100 MB at a million blocks).
    pub fn report_summary(&self) -> AuditReport {
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
            main_chain: Vec::new(),
            pending_blocks: hexes(&self.pending_blocks),
            unsequenced_blocks: hexes(&self.unsequenced_blocks),
            missing_batches: hexes(&self.missing_batches),
            chain_end: self.end,
            forks: self.forks.clone(),
        }
    }

    pub(super) fn count(&self, kind: ObjectKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
}

pub(super) fn hexes(hashes: &[Hash32]) -> Vec<String> {
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
