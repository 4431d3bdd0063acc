//! [`ResumableAudit`]: an audit that keeps what it verified and, on its next run, reads
//! and verifies only the objects it has not seen (issue #17), with a result equal to a
//! full audit of the same snapshot.
//!
//! # Why the main chain can be kept
//!
//! `omc` walks from `b0`, each step to the least-ranked child `z` of the last timestamp,
//! as long as `z.k` is below the least sequence number without a valid triple
//! (`covered_below`, [`SequenceCoverage`]). Objects only ever join a snapshot, so
//! `covered_below` only grows, and a step once taken stays taken unless a new valid
//! triple `N` ranks below the chosen child of some main-chain timestamp. Then
//! `N.k < covered_below` of the earlier audit, so an earlier valid triple `O` already had
//! the number `N.k`. Either their attestations sequence different `y` (the sequencer
//! equivocated: a fatal finding, and this auditor then recomputes everything), or the same
//! `y = b.u ++ H(t)`, which names the same block and timestamp: `N` is `O`'s `(b, t, k)`
//! sequenced again, the same block at the same place, and only the lower attestation hash
//! can change ([`rank_order`]'s last key), which [`ResumableAudit`] swaps in.
//!
//! So, without equivocation, the main chain of the earlier audit is a prefix of the next
//! one: its blocks, timestamps and attestations leave the working set (the *active*
//! facts) and are kept as [`MainChainBlock`]s, and the walk resumes at the tip. Every
//! other finding (orphans, pending and unsequenced blocks, forks, the first gap, missing
//! batches) is recomputed from the active facts, which hold only what is not on the main
//! chain, plus linear scans of the main chain that build no index of it. Transactions
//! final below the first missing batch stay final; only the batches of new main-chain
//! blocks are read.
//!
//! Whenever the argument does not hold (an object was removed from the snapshot, an
//! equivocation is known), the audit is recomputed from every fact the state holds by
//! [`AuditBuilder`], the full audit itself, without reading or verifying any object again.
//!
//! # What it assumes
//!
//! Objects are write-once: an object is known by its kind and name (its content hash,
//! or its Merkle root for a batch), and an object already verified is not read again. A
//! file changed in place under the same name is seen by a full audit, not by a resumed
//! one (`zipchain audit --rebuild-state`).

use std::collections::BTreeSet;

use super::known_names::NameDiff;
use super::*;

/// What a [`ResumableAudit`] keeps of a main-chain block beyond its [`MainChainBlock`]:
/// the rest of its objects' facts, so that they can be given back to a full recompute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct MainFacts {
    /// `b.u`.
    pub(super) uuid: [u8; 16],
    /// The NSM document's own timestamp.
    pub(super) document_time: UnixMillis,
}

/// The facts of the objects that are not on the main chain, as [`Auditor::examine`]
/// gave them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ActiveFacts {
    /// `(H(b), b)`.
    pub(super) blocks: Vec<(Hash32, Block)>,
    /// `(H(t), t.y, t.iat)`.
    pub(super) timestamps: Vec<(Hash32, Hash32, UnixSeconds)>,
    /// `(H(a), a.s.y, a.s.k, document time)`.
    pub(super) attestations: Vec<(Hash32, [u8; 48], u64, UnixMillis)>,
}

/// Which sequence numbers have a valid triple, kept across runs: the least one without
/// (every number below it has one), the covered ones above it, and the greatest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct KeptCoverage {
    /// The least number without a valid triple.
    pub(super) below: u64,
    /// Numbers above `below` that have a valid triple.
    pub(super) above: std::collections::BTreeSet<u64>,
    /// The greatest number with a valid triple.
    pub(super) max: Option<u64>,
}

impl KeptCoverage {
    /// Records that `k` has a valid triple.
    pub(super) fn add(&mut self, k: u64) {
        self.max = self.max.max(Some(k));
        match k.cmp(&self.below) {
            Ordering::Less => {}
            Ordering::Greater => {
                self.above.insert(k);
            }
            Ordering::Equal => {
                self.below = self.below.saturating_add(1);
                while self.above.remove(&self.below) {
                    self.below = self.below.saturating_add(1);
                }
            }
        }
    }

    /// As [`SequenceCoverage`], the audit's view.
    pub(super) fn view(&self) -> SequenceCoverage {
        SequenceCoverage {
            covered_below: self.below,
            max: self.max,
        }
    }
}

/// The new objects of one run, and what left the snapshot since the last one.
#[derive(Debug, Default)]
pub struct Changes {
    /// Every object not seen before, with its verdict.
    pub new: Vec<(ObjectKind, Examined)>,
    /// Objects of the last run that are no longer in the snapshot: `(kind, name)`.
    pub removed: Vec<(ObjectKind, String)>,
    /// How many objects of each kind the snapshot holds now (listed or set aside).
    pub counts: BTreeMap<ObjectKind, usize>,
}

/// An audit that keeps its facts between runs: give it only what is new
/// ([`ResumableAudit::update`], or [`Auditor::resume_source`] over a whole snapshot),
/// and its [`Audit`] is the one a full audit of the same snapshot gives (see the module
/// docs for why, and for what it assumes).
///
/// Serialize it with [`ResumableAudit::encode`] and read it back with
/// [`ResumableAudit::decode`] (the caller keeps the bytes, the core does no I/O).
#[derive(Clone, Debug)]
pub struct ResumableAudit {
    pub(super) genesis: Hash32,
    pub(super) fingerprint: [u8; 32],
    pub(super) seed: HashSeed,
    /// The latest result; its main chain is kept, the rest recomputed at every update.
    pub(super) audit: Audit,
    /// Beside each main-chain block, the rest of its facts.
    pub(super) main_facts: Vec<MainFacts>,
    /// `b0.t^H` (every later main-chain block's parent is the timestamp below it).
    pub(super) genesis_parent: Hash32,
    pub(super) active: ActiveFacts,
    /// Every well-formed batch (its Merkle root).
    pub(super) batches: Vec<Hash32>,
    pub(super) coverage: KeptCoverage,
    /// Heights `1..=final_through` had their batches read: their transactions are in
    /// `audit.final_transactions`.
    pub(super) final_through: u64,
    /// How many main-chain blocks, and through which height the final transactions,
    /// [`ResumableAudit::encode`] last wrote; `None` when everything must be written
    /// again (a recompute, or an attestation swapped below).
    pub(super) written: Option<(usize, u64)>,
}

/// Objects of one kind a snapshot lists, split into new and known ones.
#[derive(Debug, Default)]
pub struct ListingDiff {
    /// Names not seen before.
    pub new: Listing,
    /// Names seen before that are gone, ascending (hashes as lowercase hex).
    pub removed: Vec<String>,
}

impl ResumableAudit {
    /// An audit that has seen nothing yet, for the chain `auditor` checks.
    pub fn new(auditor: &Auditor) -> Self {
        Self::empty(auditor.genesis, auditor.fingerprint(), auditor.seed)
    }

    /// An audit that has seen nothing of the chain `genesis` whose descriptor has
    /// `fingerprint`.
    pub(super) fn empty(genesis: Hash32, fingerprint: [u8; 32], seed: HashSeed) -> Self {
        Self {
            genesis,
            fingerprint,
            seed,
            audit: Audit::empty(),
            main_facts: Vec::new(),
            genesis_parent: Hash32::ZERO,
            active: ActiveFacts::default(),
            batches: Vec::new(),
            coverage: KeptCoverage::default(),
            final_through: 0,
            written: Some((0, 0)),
        }
    }

    /// The latest result (complete once [`ResumableAudit::update`] ran after
    /// [`ResumableAudit::new`] or [`ResumableAudit::decode`]).
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The fingerprint of the trust descriptor the facts were verified under
    /// ([`Auditor::fingerprint`]).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Splits the names a snapshot now lists for `kind` into the ones not seen before
    /// and the ones seen before that are gone.
    pub fn diff(&self, kind: ObjectKind, listed: &Listing) -> ListingDiff {
        let mut names = NameDiff::new(self, kind);
        listed.iter().for_each(|name| names.push(name));
        names.finish().0
    }

    /// Takes in one run's changes and recomputes the audit: incrementally when only new
    /// objects joined and no equivocation is known, from every kept fact otherwise.
    /// The batches of new main-chain blocks are read from `batches`.
    pub fn update(&mut self, changes: Changes, batches: &(dyn ObjectSource + Sync)) -> &Audit {
        let Changes {
            new,
            removed,
            counts,
        } = changes;
        self.update_facts(NewFacts::split(new), &removed, counts, batches)
    }

    /// [`ResumableAudit::update`] with the new objects already filed by kind of fact.
    fn update_facts(
        &mut self,
        new: NewFacts,
        removed: &[(ObjectKind, String)],
        counts: BTreeMap<ObjectKind, usize>,
        batches: &(dyn ObjectSource + Sync),
    ) -> &Audit {
        if !removed.is_empty()
            || !self.audit.equivocations.is_empty()
            || self.equivocates(&new.attestations)
        {
            self.recompute(new, removed, counts, batches);
        } else {
            self.advance(new, counts, batches);
        }
        &self.audit
    }

    /// Whether a new attestation shares its sequence number with a known one, or with
    /// another new one, that sequences a different `y`.
    fn equivocates(&self, new: &[(Hash32, [u8; 48], u64, UnixMillis)]) -> bool {
        let mut by_k: FastMap<u64, [u8; 48]> = fast_map(new.len(), self.seed);
        for (_, y, k, _) in new {
            if by_k.insert(*k, *y).is_some_and(|other| other != *y) {
                return true;
            }
        }
        if by_k.is_empty() {
            return false;
        }
        let clash = |k: u64, y: &[u8; 48]| by_k.get(&k).is_some_and(|n| n != y);
        self.audit
            .main_chain
            .iter()
            .zip(&self.main_facts)
            .any(|(m, f)| clash(m.sequence, &crate::triple::y(&f.uuid, &m.timestamp)))
            || self
                .active
                .attestations
                .iter()
                .any(|(_, y, k, _)| clash(*k, y))
    }

    /// The incremental step (see the module docs): new facts join the active ones, the
    /// walk resumes at the tip, the rest is recomputed from the active facts.
    fn advance(
        &mut self,
        new: NewFacts,
        counts: BTreeMap<ObjectKind, usize>,
        src: &(dyn ObjectSource + Sync),
    ) {
        let seed = self.seed;
        self.audit.counts = counts;
        self.active.blocks.extend(new.blocks);
        self.active.timestamps.extend(new.timestamps);
        self.active.attestations.extend(new.attestations);
        if !new.batches.is_empty() {
            self.batches.extend(new.batches);
            self.batches.sort_unstable();
            self.batches.dedup();
        }
        if !new.invalid.is_empty() {
            self.audit.invalid_objects.extend(new.invalid);
            sort_items(&mut self.audit.invalid_objects, &|a, b| {
                (a.kind, &a.key).cmp(&(b.kind, &b.key))
            });
        }

        let mut triples = self.active_triples();
        for t in &triples {
            self.coverage.add(t.triple.k);
        }
        self.swap_in_lower_attestations(&mut triples);
        let end = self.walk(&mut triples);
        let on_main: FastSet<Hash32> = {
            let appended: Vec<Hash32> = triples
                .iter()
                .filter(|t| t.on_main)
                .map(|t| t.triple.block)
                .collect();
            let mut set = fast_set(appended.len(), seed);
            set.extend(appended);
            set
        };
        let triples: Vec<ValidTriple> = triples
            .into_iter()
            .filter(|t| !t.appended)
            .map(|t| t.triple)
            .collect();
        self.derive(&triples, &|b: &Hash32| on_main.contains(b), end);
        // Before the batches are read: a first run's triples are the whole snapshot's.
        drop(triples);
        drop(on_main);
        self.extend_final_transactions(src);
    }

    /// Every valid triple of an active attestation (a main-chain attestation's triple is
    /// the main chain's own), its timestamp and block taken from the active facts or,
    /// when they are on the main chain, from one scan of it.
    fn active_triples(&self) -> Vec<ActiveTriple> {
        let seed = self.seed;
        let stamps: FastMap<Hash32, (Hash32, UnixSeconds)> = {
            let mut m = fast_map(self.active.timestamps.len(), seed);
            m.extend(
                self.active
                    .timestamps
                    .iter()
                    .map(|(k, y, iat)| (*k, (*y, *iat))),
            );
            m
        };
        let blocks: FastMap<Hash32, Block> = {
            let mut m = fast_map(self.active.blocks.len(), seed);
            m.extend(self.active.blocks.iter().map(|(k, b)| (*k, *b)));
            m
        };
        // What the active facts name on the main chain: timestamps that attestations
        // sequence, blocks that timestamps attest.
        let mut want_stamps: FastSet<Hash32> = fast_set(0, seed);
        for (_, y, _, _) in &self.active.attestations {
            let t = y_timestamp(y);
            if !stamps.contains_key(&t) {
                want_stamps.insert(t);
            }
        }
        let mut want_blocks: FastSet<Hash32> = fast_set(0, seed);
        for (_, attests, _) in &self.active.timestamps {
            if !blocks.contains_key(attests) {
                want_blocks.insert(*attests);
            }
        }
        let mut main_stamps: FastMap<Hash32, (Hash32, UnixSeconds)> = fast_map(0, seed);
        let mut main_blocks: FastMap<Hash32, (Block, usize)> = fast_map(0, seed);
        if !want_stamps.is_empty() || !want_blocks.is_empty() {
            for (h, m) in self.audit.main_chain.iter().enumerate() {
                if want_stamps.contains(&m.timestamp) {
                    main_stamps.insert(m.timestamp, (m.block, m.iat));
                    main_blocks.insert(m.block, (self.main_block(h), h));
                }
                if want_blocks.contains(&m.block) {
                    main_blocks.insert(m.block, (self.main_block(h), h));
                }
            }
        }
        let mut out = Vec::new();
        for (a_key, y, k, document_time) in &self.active.attestations {
            let t_key = y_timestamp(y);
            let Some(&(attests, iat)) = stamps.get(&t_key).or_else(|| main_stamps.get(&t_key))
            else {
                continue;
            };
            let (block, main_height) = match blocks.get(&attests) {
                Some(b) => (b, None),
                None => match main_blocks.get(&attests) {
                    Some((b, h)) => (b, Some(*h)),
                    None => continue,
                },
            };
            if crate::triple::y(&block.uuid, &t_key) != *y
                || !crate::triple::in_time(*document_time, iat)
            {
                continue;
            }
            out.push(ActiveTriple {
                triple: ValidTriple {
                    block: attests,
                    parent: block.parent_timestamp,
                    timestamp: t_key,
                    attestation: *a_key,
                    k: *k,
                    iat,
                    batch_root: block.batch_root,
                },
                document_time: *document_time,
                uuid: block.uuid,
                main_height,
                on_main: main_height.is_some(),
                appended: false,
            });
        }
        out
    }

    /// The block at main-chain height `h` as a [`Block`].
    fn main_block(&self, h: usize) -> Block {
        let parent = match h.checked_sub(1).and_then(|p| self.audit.main_chain.get(p)) {
            Some(below) => below.timestamp,
            None => self.genesis_parent,
        };
        Block {
            uuid: self.main_facts.get(h).map_or([0; 16], |f| f.uuid),
            batch_root: self
                .audit
                .main_chain
                .get(h)
                .map_or(Hash32::ZERO, |m| m.batch_root),
            parent_timestamp: parent,
        }
    }

    /// A new document sequencing a main-chain `(b, t)` with its number again ranks
    /// below the main chain's own when its hash is lower ([`rank_order`]): the main
    /// chain then names it, and the other becomes an active fact.
    fn swap_in_lower_attestations(&mut self, triples: &mut [ActiveTriple]) {
        for t in triples.iter_mut() {
            let Some(h) = t.main_height else { continue };
            let (Some(m), Some(f)) = (self.audit.main_chain.get_mut(h), self.main_facts.get_mut(h))
            else {
                continue;
            };
            if m.timestamp != t.triple.timestamp
                || m.sequence != t.triple.k
                || m.attestation <= t.triple.attestation
            {
                continue;
            }
            let old = (m.attestation, f.document_time);
            m.attestation = t.triple.attestation;
            f.document_time = t.document_time;
            let y = crate::triple::y(&f.uuid, &m.timestamp);
            if let Some(a) = self
                .active
                .attestations
                .iter_mut()
                .find(|a| a.0 == t.triple.attestation)
            {
                *a = (old.0, y, m.sequence, old.1);
            }
            t.triple.attestation = old.0;
            t.document_time = old.1;
            self.written = None;
        }
    }

    /// Resumes `omc` at the tip (or looks for `b0` when there is no chain yet) over the
    /// active triples; appended ones are marked and their facts leave the active set.
    fn walk(&mut self, triples: &mut [ActiveTriple]) -> ChainEnd {
        let children = GroupIndex::new(triples.len(), |i| {
            triples.get(i).map_or(Hash32::ZERO, |t| t.triple.parent)
        });
        let least = |ts: &[ActiveTriple], among: &mut dyn Iterator<Item = usize>| {
            among
                .filter_map(|i| {
                    ts.get(i)
                        .filter(|t| !t.appended)
                        .map(|t| (rank_key(&t.triple), i))
                })
                .min()
                .map(|(_, i)| i)
        };
        if self.audit.main_chain.is_empty() {
            let genesis = self.genesis;
            let first = least(
                triples,
                &mut (0..triples.len()).filter(|&i| {
                    triples
                        .get(i)
                        .is_some_and(|t| t.triple.k == 0 && t.triple.block == genesis)
                }),
            );
            let Some(first) = first else {
                return ChainEnd::NoGenesis;
            };
            self.append(triples, first);
        }
        let covered = self.coverage.below;
        let mut end = ChainEnd::NoChild;
        for _ in 0..triples.len() {
            let Some(tip) = self.audit.main_chain.last() else {
                break;
            };
            let Some(z) = least(triples, &mut children.get(&tip.timestamp).iter().copied()) else {
                break;
            };
            if triples.get(z).is_none_or(|t| t.triple.k >= covered) {
                end = ChainEnd::Gap { at: covered };
                break;
            }
            self.append(triples, z);
        }
        self.retire_appended(triples);
        end
    }

    /// The facts of the triples this run appended leave the active set (in one pass:
    /// a first run may append every block of the snapshot).
    fn retire_appended(&mut self, triples: &mut [ActiveTriple]) {
        // One sorted list per kind at a time, searched: a first run retires every object
        // of the snapshot, and a hash set of them all would be several times their size.
        let gone_of = |triples: &[ActiveTriple], part: fn(&ValidTriple) -> Hash32| {
            let mut gone: Vec<Hash32> = triples
                .iter()
                .filter(|t| t.appended)
                .map(|t| part(&t.triple))
                .collect();
            gone.sort_unstable();
            gone
        };
        let blocks = gone_of(triples, |t| t.block);
        if blocks.is_empty() {
            return;
        }
        let is_gone = |gone: &[Hash32], k: &Hash32| gone.binary_search(k).is_ok();
        // Other triples of an appended block are now triples of a main-chain block.
        for t in triples
            .iter_mut()
            .filter(|t| is_gone(&blocks, &t.triple.block))
        {
            t.on_main = true;
        }
        self.active.blocks.retain(|(k, _)| !is_gone(&blocks, k));
        drop(blocks);
        let timestamps = gone_of(triples, |t| t.timestamp);
        self.active
            .timestamps
            .retain(|(k, _, _)| !is_gone(&timestamps, k));
        drop(timestamps);
        let attestations = gone_of(triples, |t| t.attestation);
        self.active
            .attestations
            .retain(|(k, _, _, _)| !is_gone(&attestations, k));
    }

    /// Appends active triple `i` to the main chain.
    fn append(&mut self, triples: &mut [ActiveTriple], i: usize) {
        let Some(t) = triples.get_mut(i) else { return };
        t.appended = true;
        t.on_main = true;
        let z = t.triple;
        let height = self.audit.main_chain.len() as u64;
        if height == 0 {
            self.genesis_parent = z.parent;
        }
        self.audit.main_chain.push(MainChainBlock {
            height,
            block: z.block,
            timestamp: z.timestamp,
            attestation: z.attestation,
            sequence: z.k,
            iat: z.iat,
            batch_root: z.batch_root,
        });
        self.main_facts.push(MainFacts {
            uuid: t.uuid,
            document_time: t.document_time,
        });
    }

    /// Pending, orphaned and unsequenced blocks, forks and the first gap, from the
    /// main chain and the active triples that are left (none of them on it).
    fn derive(
        &mut self,
        triples: &[ValidTriple],
        on_main: &dyn Fn(&Hash32) -> bool,
        end: ChainEnd,
    ) {
        let seed = self.seed;
        let main_len = self.audit.main_chain.len();
        let mut valid: FastSet<Hash32> = fast_set(triples.len(), seed);
        valid.extend(triples.iter().map(|t| t.block).filter(|b| !on_main(b)));

        // Pending: reached from the tip through links of active blocks (a main-chain
        // block is never below the tip).
        let pending: FastSet<Hash32> = match self.audit.main_chain.last() {
            Some(tip) => {
                let mut by_attested: FastMap<Hash32, Vec<Hash32>> =
                    fast_map(self.active.timestamps.len(), seed);
                for (t, attests, _) in &self.active.timestamps {
                    by_attested.entry(*attests).or_default().push(*t);
                }
                let mut links: FastMap<Hash32, Vec<(Hash32, Hash32)>> =
                    fast_map(self.active.blocks.len(), seed);
                for (b, block) in &self.active.blocks {
                    for t in by_attested.get(b).into_iter().flatten() {
                        links
                            .entry(block.parent_timestamp)
                            .or_default()
                            .push((*t, *b));
                    }
                }
                let mut reached = fast_set(0, seed);
                let mut stack = vec![tip.timestamp];
                let mut out = fast_set(0, seed);
                while let Some(t) = stack.pop() {
                    for &(child_t, block) in links.get(&t).into_iter().flatten() {
                        if reached.insert(child_t) {
                            stack.push(child_t);
                            if valid.contains(&block) {
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
        let mut orphaned: Vec<Hash32> = valid
            .iter()
            .filter(|b| !pending.contains(b))
            .copied()
            .collect();
        sort_items(&mut orphaned, &Hash32::cmp);
        let mut with_triple: FastSet<Hash32> = fast_set(triples.len(), seed);
        with_triple.extend(triples.iter().map(|t| t.block));
        let mut unsequenced: Vec<Hash32> = self
            .active
            .blocks
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !with_triple.contains(k))
            .collect();
        sort_items(&mut unsequenced, &Hash32::cmp);
        unsequenced.dedup();

        // Forks: losing children of main-chain timestamps below the tip.
        let children = GroupIndex::new(triples.len(), |i| {
            triples.get(i).map_or(Hash32::ZERO, |t| t.parent)
        });
        let mut losing_parents: FastSet<Hash32> = fast_set(0, seed);
        losing_parents.extend(
            triples
                .iter()
                .filter(|t| !on_main(&t.block))
                .map(|t| t.parent),
        );
        let main = &self.audit.main_chain;
        let forks: Vec<Fork> = if losing_parents.is_empty() {
            Vec::new()
        } else {
            (0..main_len.saturating_sub(1))
                .filter(|&h| {
                    main.get(h)
                        .is_some_and(|p| losing_parents.contains(&p.timestamp))
                })
                .filter_map(|h| fork_at(main, h, triples, &children, on_main))
                .collect()
        };

        let coverage = self.coverage.view();
        self.audit.sequence_gap_at = match end {
            ChainEnd::Gap { at } => Some(at),
            ChainEnd::NoChild => coverage.first_missing_above_chain(),
            ChainEnd::NoGenesis => None,
        };
        self.audit.end = end;
        self.audit.pending_blocks = pending_blocks;
        self.audit.orphaned_blocks = orphaned;
        self.audit.unsequenced_blocks = unsequenced;
        self.audit.forks = forks;
    }

    /// Reads the batches of main-chain blocks above `final_through` until one is missing
    /// or unreadable (their transactions become final), and lists the missing ones as
    /// [`AuditBuilder::finish`] does.
    fn extend_final_transactions(&mut self, src: &(dyn ObjectSource + Sync)) {
        let batches = &self.batches;
        let verified = |root: &Hash32| batches.binary_search(root).is_ok();
        let mut fresh = TxHeightsBuilder::default();
        let mut through = self.final_through;
        let missing = read_main_batches(
            &self.audit.main_chain,
            self.final_through.saturating_add(1),
            &verified,
            src,
            &mut |height, ids| {
                fresh.push(height, ids);
                through = height;
            },
        );
        self.audit.final_transactions.append(fresh.finish());
        self.final_through = through;
        self.audit.missing_batches = missing;
    }

    /// Every fact the state holds, with `new` and without `removed`, audited again by
    /// [`AuditBuilder`] (no object is read or verified again, but for the main chain's
    /// batches); the state is then rebuilt from its result.
    fn recompute(
        &mut self,
        new: NewFacts,
        removed: &[(ObjectKind, String)],
        counts: BTreeMap<ObjectKind, usize>,
        src: &(dyn ObjectSource + Sync),
    ) {
        let seed = self.seed;
        let mut facts = self.all_facts();
        facts.extend(new);
        if !removed.is_empty() {
            let gone: BTreeSet<(ObjectKind, &str)> =
                removed.iter().map(|(k, n)| (*k, n.as_str())).collect();
            let hex_gone: BTreeSet<(ObjectKind, Hash32)> = removed
                .iter()
                .filter_map(|(k, n)| canonical(n).map(|h| (*k, h)))
                .collect();
            let kept = |kind: ObjectKind, key: &Hash32| !hex_gone.contains(&(kind, *key));
            facts.blocks.retain(|(k, _)| kept(ObjectKind::Block, k));
            facts
                .timestamps
                .retain(|(k, _, _)| kept(ObjectKind::Timestamp, k));
            facts
                .attestations
                .retain(|(k, _, _, _)| kept(ObjectKind::Attestation, k));
            facts.batches.retain(|k| kept(ObjectKind::Batch, k));
            facts
                .invalid
                .retain(|i| !gone.contains(&(i.kind, i.key.as_str())));
        }
        let mut builder = AuditBuilder::new(self.genesis).with_hash_seed(seed);
        for (k, b) in &facts.blocks {
            builder.add(ObjectKind::Block, Examined::Block { key: *k, block: *b });
        }
        for &(key, attests, iat) in &facts.timestamps {
            builder.add(
                ObjectKind::Timestamp,
                Examined::Timestamp { key, attests, iat },
            );
        }
        for &(key, y, k, document_time) in &facts.attestations {
            builder.add(
                ObjectKind::Attestation,
                Examined::Attestation {
                    key,
                    y,
                    k,
                    document_time,
                },
            );
        }
        for &key in &facts.batches {
            builder.add(ObjectKind::Batch, Examined::Batch { key });
        }
        for i in &facts.invalid {
            builder.add(i.kind, Examined::Invalid(i.clone()));
        }
        let mut coverage = KeptCoverage::default();
        for t in &builder.form().triples {
            coverage.add(t.k);
        }
        let mut audit = builder.finish(src);
        audit.counts = counts;

        // The state again, from the result: main-chain facts beside the main chain,
        // everything else active.
        let mut blocks: FastMap<Hash32, Block> = fast_map(facts.blocks.len(), seed);
        blocks.extend(facts.blocks.iter().cloned());
        let mut documents: FastMap<Hash32, UnixMillis> = fast_map(facts.attestations.len(), seed);
        documents.extend(facts.attestations.iter().map(|a| (a.0, a.3)));
        let main_facts: Vec<MainFacts> = audit
            .main_chain
            .iter()
            .map(|m| MainFacts {
                uuid: blocks.get(&m.block).map_or([0; 16], |b| b.uuid),
                document_time: documents
                    .get(&m.attestation)
                    .copied()
                    .unwrap_or(UnixMillis(0)),
            })
            .collect();
        let genesis_parent = audit
            .main_chain
            .first()
            .and_then(|b0| blocks.get(&b0.block))
            .map_or(Hash32::ZERO, |b| b.parent_timestamp);
        let mut used: FastSet<Hash32> = fast_set(audit.main_chain.len() * 3, seed);
        for m in &audit.main_chain {
            used.extend([m.block, m.timestamp, m.attestation]);
        }
        let active = ActiveFacts {
            blocks: facts
                .blocks
                .into_iter()
                .filter(|(k, _)| !used.contains(k))
                .collect(),
            timestamps: facts
                .timestamps
                .into_iter()
                .filter(|t| !used.contains(&t.0))
                .collect(),
            attestations: facts
                .attestations
                .into_iter()
                .filter(|a| !used.contains(&a.0))
                .collect(),
        };
        let mut batches = facts.batches;
        batches.sort_unstable();
        batches.dedup();
        // Transactions are final up to the first missing batch above b0 (the list is in
        // main-chain order, b0 first when its batch is missing).
        let b0 = audit.main_chain.first().map(|m| m.block);
        let first_missing = audit
            .missing_batches
            .iter()
            .find(|b| Some(**b) != b0)
            .and_then(|b| audit.main_chain.iter().find(|m| m.block == *b))
            .map(|m| m.height);
        let final_through = match first_missing {
            Some(h) => h - 1,
            None => audit.height().unwrap_or(0),
        };
        *self = Self {
            genesis: self.genesis,
            fingerprint: self.fingerprint,
            seed,
            audit,
            main_facts,
            genesis_parent,
            active,
            batches,
            coverage,
            final_through,
            written: None,
        };
    }

    /// Every fact the state holds, the main chain's given back as the facts
    /// [`Auditor::examine`] made of its objects.
    fn all_facts(&self) -> NewFacts {
        let mut facts = NewFacts {
            blocks: self.active.blocks.clone(),
            timestamps: self.active.timestamps.clone(),
            attestations: self.active.attestations.clone(),
            batches: self.batches.clone(),
            invalid: self.audit.invalid_objects.clone(),
        };
        for (h, (m, f)) in self
            .audit
            .main_chain
            .iter()
            .zip(&self.main_facts)
            .enumerate()
        {
            facts.blocks.push((m.block, self.main_block(h)));
            facts.timestamps.push((m.timestamp, m.block, m.iat));
            facts.attestations.push((
                m.attestation,
                crate::triple::y(&f.uuid, &m.timestamp),
                m.sequence,
                f.document_time,
            ));
        }
        facts
    }
}

/// One run's facts, by kind.
#[derive(Debug, Default)]
pub(super) struct NewFacts {
    pub(super) blocks: Vec<(Hash32, Block)>,
    pub(super) timestamps: Vec<(Hash32, Hash32, UnixSeconds)>,
    pub(super) attestations: Vec<(Hash32, [u8; 48], u64, UnixMillis)>,
    pub(super) batches: Vec<Hash32>,
    pub(super) invalid: Vec<InvalidObject>,
}

impl NewFacts {
    fn split(examined: Vec<(ObjectKind, Examined)>) -> Self {
        let mut out = Self::default();
        for (_, e) in examined {
            out.push(e);
        }
        out
    }

    /// Files one examined object under its kind of fact.
    pub(super) fn push(&mut self, e: Examined) {
        match e {
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

    fn extend(&mut self, other: Self) {
        self.blocks.extend(other.blocks);
        self.timestamps.extend(other.timestamps);
        self.attestations.extend(other.attestations);
        self.batches.extend(other.batches);
        self.invalid.extend(other.invalid);
    }
}

/// A valid triple of an active attestation, with what the walk and the swap need.
#[derive(Clone, Copy, Debug)]
struct ActiveTriple {
    triple: ValidTriple,
    document_time: UnixMillis,
    uuid: [u8; 16],
    /// The main-chain height of its block when that block was on the main chain before
    /// this run.
    main_height: Option<usize>,
    /// Whether its block is on the main chain.
    on_main: bool,
    /// Whether this run appended it to the main chain.
    appended: bool,
}

/// The timestamp hash inside `y = b.u ++ H(t)`.
fn y_timestamp(y: &[u8; 48]) -> Hash32 {
    let mut t = [0u8; 32];
    t.copy_from_slice(&y[16..]);
    Hash32(t)
}

/// `name` as a hash when it is 64 lowercase hex digits (the only spelling a writer or a
/// pull gives an object's name).
pub(super) fn canonical(name: &str) -> Option<Hash32> {
    Hash32::from_lower_hex(name.as_bytes())
}

impl Audit {
    /// The audit of nothing (before the first update of a [`ResumableAudit`]).
    pub(super) fn empty() -> Self {
        Self {
            counts: BTreeMap::new(),
            main_chain: Vec::new(),
            end: ChainEnd::NoGenesis,
            orphaned_blocks: Vec::new(),
            pending_blocks: Vec::new(),
            unsequenced_blocks: Vec::new(),
            invalid_objects: Vec::new(),
            sequence_gap_at: None,
            equivocations: Vec::new(),
            forks: Vec::new(),
            missing_batches: Vec::new(),
            final_transactions: TxHeights::new(),
        }
    }
}

/// Why [`Auditor::resume_source`] could not resume.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ResumeError<E> {
    /// The kept audit was made under another trust descriptor (another
    /// [`Auditor::fingerprint`]): its facts do not hold under this one.
    #[error("the kept audit was verified under another trust descriptor")]
    ForeignState,
    /// The source cannot be listed.
    #[error("the snapshot cannot be listed")]
    Source(E),
}

impl Auditor {
    /// Audits `source` again, reading and verifying only the objects `state` has not
    /// seen ([`ResumableAudit::diff`]), on all cores with the `parallel` feature, then
    /// [`ResumableAudit::update`]. `progress` is called with the number of new objects
    /// examined so far and how many there are. Afterwards [`ResumableAudit::audit`] is
    /// the audit [`Auditor::audit_source`] gives for the same snapshot.
    ///
    /// # Errors
    /// [`ResumeError::ForeignState`] when `state` was made under another descriptor;
    /// [`ResumeError::Source`] when the source cannot be listed. An object that cannot
    /// be read is not an error: it is an invalid object of the audit.
    pub fn resume_source<S: AuditSource>(
        &self,
        state: &mut ResumableAudit,
        source: &S,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), ResumeError<S::Error>> {
        if state.fingerprint != self.fingerprint() || state.genesis != self.genesis {
            return Err(ResumeError::ForeignState);
        }
        let aside = source.set_aside();
        let listed = list_new(state, source, &aside)?;
        let mut changes = Changes::default();
        let mut to_examine: Vec<(ObjectKind, Listing)> = Vec::new();
        for (kind, mut diff, count) in listed {
            if count > 0 {
                changes.counts.insert(kind, count);
            }
            changes
                .removed
                .extend(diff.removed.into_iter().map(|name| (kind, name)));
            let oversized: BTreeMap<Hash32, u64> = aside
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, key, size)| (*key, *size))
                .collect();
            diff.new.keys.retain(|key| match oversized.get(key) {
                Some(size) => {
                    changes
                        .new
                        .push((kind, Examined::oversized(kind, key, *size)));
                    false
                }
                None => true,
            });
            to_examine.push((kind, diff.new));
        }
        // Filed by kind as they come (an examined object as such is several times the
        // size of its fact, and a first run examines the whole snapshot).
        let mut facts = NewFacts::default();
        for (_, e) in core::mem::take(&mut changes.new) {
            facts.push(e);
        }
        let total = to_examine.iter().map(|(_, l)| l.len()).sum();
        let mut done = 0;
        progress(done, total);
        for (kind, listing) in &mut to_examine {
            let Listing { keys, other } = core::mem::take(listing);
            for chunk in keys.chunks(CHUNK) {
                let names: Vec<HexName> = chunk.iter().map(HexName::new).collect();
                let objects: Vec<(ObjectKind, &str)> =
                    names.iter().map(|n| (*kind, n.as_str())).collect();
                for e in self.examine_chunk(source, &objects) {
                    facts.push(e);
                }
                done += chunk.len();
                progress(done, total);
            }
            let objects: Vec<(ObjectKind, &str)> =
                other.iter().map(|n| (*kind, n.as_str())).collect();
            for chunk in objects.chunks(CHUNK) {
                for e in self.examine_chunk(source, chunk) {
                    facts.push(e);
                }
                done += chunk.len();
                progress(done, total);
            }
        }
        drop(to_examine);
        state.update_facts(facts, &changes.removed, changes.counts, source);
        Ok(())
    }
}

/// One kind's listing split: `(kind, diff, names listed)`.
type KindDiff = (ObjectKind, ListingDiff, usize);

/// Each kind's listing split against what `state` has seen ([`NameDiff`]), with the
/// objects `source` set aside counted as listed. The
/// listings stream by (only new names are kept), two kinds at a time on two threads with
/// the `parallel` feature: listing a directory is mostly the kernel's work, and two
/// lookup tables at a time keep the memory of four.
fn list_new<S: AuditSource>(
    state: &ResumableAudit,
    source: &S,
    aside: &[(ObjectKind, Hash32, u64)],
) -> Result<Vec<KindDiff>, ResumeError<S::Error>> {
    let list = |kind: ObjectKind, names: &mut NameDiff<'_>| -> Result<(), S::Error> {
        source.each_name(kind, &mut |name| names.push(name))?;
        for (_, key, _) in aside.iter().filter(|(k, _, _)| *k == kind) {
            names.push(ListedName::Key(*key));
        }
        Ok(())
    };
    let mut out = Vec::new();
    for pair in ObjectKind::ALL.chunks(2) {
        // The lookup tables are made on this thread, so that the next pair's take the
        // memory this pair's give back (made on the two threads, the allocator kept
        // about 20 MB more at 1M blocks: 476 MiB peak against 457 MiB).
        let mut tables: Vec<(ObjectKind, NameDiff<'_>)> = pair
            .iter()
            .map(|&kind| (kind, NameDiff::new(state, kind)))
            .collect();
        #[cfg(feature = "parallel")]
        let listed: Vec<_> = {
            use rayon::prelude::*;
            tables
                .par_iter_mut()
                .map(|(kind, names)| list(*kind, names))
                .collect()
        };
        #[cfg(not(feature = "parallel"))]
        let listed: Vec<_> = tables
            .iter_mut()
            .map(|(kind, names)| list(*kind, names))
            .collect();
        for (result, (kind, names)) in listed.into_iter().zip(tables) {
            result.map_err(ResumeError::Source)?;
            let (diff, count) = names.finish();
            out.push((kind, diff, count));
        }
    }
    Ok(out)
}
