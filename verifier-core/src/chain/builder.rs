//! [`AuditBuilder`]: the examined objects turned into triples, the main chain and
//! the findings.

use super::resume::NewFacts;
use super::*;

/// Gathers [`Examined`] objects and turns them into an [`Audit`].
#[derive(Debug, Default)]
pub struct AuditBuilder {
    genesis: Hash32,
    counts: BTreeMap<ObjectKind, usize>,
    /// The verdicts by kind; of a batch only its root (its transaction ids are read
    /// again for the main chain only).
    facts: NewFacts,
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
        self.facts.push(examined);
    }

    /// Forms the valid triples, runs [`omc`] and gathers the findings. The batches of
    /// the main chain's blocks are read again from `batches` (the objects the builder
    /// was given; on all cores with the `parallel` feature), checked against their roots
    /// once more, and their transaction ids counted as final; a batch that cannot be
    /// read again, or whose bytes changed, counts as missing. No other batch is read or
    /// held.
    ///
    /// Memory (issue #19): the facts are sorted in place and joined by merging, with no
    /// hash index of them; they are dropped as soon as the triples are formed, the
    /// triples and their indices as soon as the findings are, and only then are the
    /// batches read.
    pub fn finish(self, batches: &(dyn ObjectSource + Sync)) -> Audit {
        self.finish_with(|stage| {
            let roots = sorted_roots(core::mem::take(stage.roots));
            let verified = |root: &Hash32| roots.binary_search(root).is_ok();
            final_transactions(stage.main_chain, &verified, batches)
        })
    }

    /// [`AuditBuilder::finish`] with its last stage, the final transactions and the
    /// missing batches, given by `batches` once the main chain and every other finding
    /// are settled ([`BatchStage`]: it can still examine batches).
    pub(super) fn finish_with(
        mut self,
        batches: impl FnOnce(BatchStage<'_>) -> (TxHeights, Vec<Hash32>),
    ) -> Audit {
        let equivocations = self.equivocations();
        let Formed {
            triples,
            loose_links,
            unsequenced,
        } = self.form();
        let AuditBuilder {
            genesis,
            mut counts,
            facts:
                NewFacts {
                    blocks,
                    timestamps,
                    attestations,
                    batches: mut roots,
                    mut invalid,
                },
            seed,
        } = self;
        drop((blocks, timestamps, attestations));

        let (choice, coverage) = omc_with(genesis, &triples, seed);
        let main_chain: Vec<MainChainBlock> = choice
            .chain
            .iter()
            .enumerate()
            .filter_map(|(height, &i)| {
                let t = triples.get(i)?;
                Some(MainChainBlock {
                    height: height as u64,
                    block: t.block,
                    timestamp: t.timestamp,
                    attestation: t.attestation,
                    sequence: t.k,
                    iat: t.iat,
                    batch_root: t.batch_root,
                })
            })
            .collect();
        let end = choice.end;
        drop(choice);

        // Children of every timestamp, for pending blocks and fork drawings.
        let children = GroupIndex::new(triples.len(), |i| {
            triples.get(i).map_or(Hash32::ZERO, |t| t.parent)
        });
        let on_main = SortedSet::new(main_chain.iter().map(|b| b.block).collect());
        let valid_blocks = SortedSet::new(triples.iter().map(|t| t.block).collect());
        // Pending: sequenced blocks beyond the tip, reached from it through timestamped
        // blocks whether or not those are sequenced yet (a withheld attestation): the
        // triples' links and the links no triple joins.
        let pending: FastSet<Hash32> = match main_chain.last() {
            Some(tip) => {
                let loose_children = GroupIndex::new(loose_links.len(), |i| {
                    loose_links.get(i).map_or(Hash32::ZERO, |l| l.0)
                });
                let mut reached = fast_set(0, seed);
                let mut stack = vec![tip.timestamp];
                let mut out = fast_set(0, seed);
                while let Some(t) = stack.pop() {
                    let via_triples = children
                        .get(&t)
                        .iter()
                        .filter_map(|&i| triples.get(i).map(|x| (x.timestamp, x.block)));
                    let via_loose = loose_children
                        .get(&t)
                        .iter()
                        .filter_map(|&i| loose_links.get(i).map(|l| (l.1, l.2)));
                    for (child_t, block) in via_triples.chain(via_loose) {
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
        drop(loose_links);
        let mut pending_blocks: Vec<Hash32> = pending.iter().copied().collect();
        sort_items(&mut pending_blocks, &Hash32::cmp);
        let orphaned: Vec<Hash32> = valid_blocks
            .iter()
            .filter(|b| !on_main.contains(b) && !pending.contains(b))
            .copied()
            .collect();
        drop(valid_blocks);

        let forks = forks(&main_chain, &triples, &children, &|b| on_main.contains(b));
        drop((children, on_main, triples));

        let sequence_gap_at = match end {
            ChainEnd::Gap { at } => Some(at),
            ChainEnd::NoChild => coverage.first_missing_above_chain(),
            ChainEnd::NoGenesis => None,
        };

        let (final_transactions, missing_batches) = batches(BatchStage {
            main_chain: &main_chain,
            roots: &mut roots,
            counts: &mut counts,
            invalid: &mut invalid,
        });
        drop(roots);

        sort_items(&mut invalid, &|a, b| {
            (a.kind, &a.key).cmp(&(b.kind, &b.key))
        });
        Audit {
            counts,
            equivocations,
            main_chain,
            end,
            orphaned_blocks: orphaned,
            pending_blocks,
            unsequenced_blocks: unsequenced,
            invalid_objects: invalid,
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
    /// Sorts the facts in place (blocks by hash, each once; timestamps by the block they
    /// attest; attestations by `y`) and joins them by merging: no index beside them.
    /// Also returns every link `(b.t^H, H(t), H(b))` of a well-formed block and a valid
    /// timestamp of it that no valid triple joins (the paths along which a block can
    /// still extend the main chain once a missing attestation appears; a triple is such
    /// a link too), and the blocks without a valid triple.
    pub(super) fn form(&mut self) -> Formed {
        sort_items(&mut self.facts.blocks, &|a, b| a.0.cmp(&b.0));
        self.facts.blocks.dedup_by(|a, b| a.0 == b.0);
        sort_items(&mut self.facts.timestamps, &|a, b| a.1.cmp(&b.1));
        sort_items(&mut self.facts.attestations, &|a, b| a.1.cmp(&b.1));
        let (stamps, attestations) = (&self.facts.timestamps, &self.facts.attestations);
        let mut triples = Vec::with_capacity(self.facts.blocks.len());
        let mut loose_links = Vec::new();
        let mut unsequenced = Vec::new();
        let mut next_stamp = 0;
        for (b_key, block) in &self.facts.blocks {
            // The timestamps attesting this block: a run of the sorted timestamps.
            let rest = stamps.get(next_stamp..).unwrap_or_default();
            let start = next_stamp + rest.partition_point(|t| t.1 < *b_key);
            let run = stamps
                .get(start..)
                .map_or(0, |rest| rest.partition_point(|t| t.1 == *b_key));
            next_stamp = start + run;
            let mut sequenced = false;
            for &(t_key, _, iat) in stamps.get(start..start + run).unwrap_or_default() {
                let y = crate::triple::y(&block.uuid, &t_key);
                let first = attestations.partition_point(|a| a.1 < y);
                let mut joined = false;
                for &(a_key, _, k, doc_time) in attestations
                    .get(first..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|a| a.1 == y)
                {
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
                        joined = true;
                    }
                }
                if !joined {
                    loose_links.push((block.parent_timestamp, t_key, *b_key));
                }
                sequenced |= joined;
            }
            if !sequenced {
                unsequenced.push(*b_key);
            }
        }
        Formed {
            triples,
            loose_links,
            unsequenced,
        }
    }

    /// Valid attestations (each passed `check` on its own) sharing a sequence number
    /// with different `y`. Sorts the attestations by `(k, y, H(a))` in place.
    pub(super) fn equivocations(&mut self) -> Vec<Equivocation> {
        // Each k's attestations are one run, and a run with more than one distinct y is
        // an equivocation. Strings only for the findings.
        sort_items(&mut self.facts.attestations, &|a, b| {
            (a.2, &a.1, &a.0).cmp(&(b.2, &b.1, &b.0))
        });
        self.facts
            .attestations
            .chunk_by(|a, b| a.2 == b.2)
            .filter(|run| run.iter().any(|a| a.1 != run[0].1))
            .map(|run| {
                let mut ys: Vec<String> = run.iter().map(|a| hex::encode(a.1)).collect();
                ys.dedup();
                // Sorted as hashes: lowercase hex keeps the byte order.
                let mut keys: Vec<Hash32> = run.iter().map(|a| a.0).collect();
                sort_items(&mut keys, &Hash32::cmp);
                keys.dedup();
                let attestations: Vec<String> = keys.iter().map(Hash32::to_hex).collect();
                Equivocation {
                    sequence: run[0].2,
                    attestations,
                    ys,
                }
            })
            .collect()
    }
}

/// The valid triples of an audit, the links no triple joins, and the blocks without a
/// valid triple (sorted, each once): what [`AuditBuilder::form`] finds.
pub(super) struct Formed {
    pub(super) triples: Vec<ValidTriple>,
    /// `(b.t^H, H(t), H(b))`.
    pub(super) loose_links: Vec<(Hash32, Hash32, Hash32)>,
    pub(super) unsequenced: Vec<Hash32>,
}

/// A set of hashes as a sorted vector (32 bytes an item; a hash set took about 70).
pub(super) struct SortedSet(Vec<Hash32>);

impl SortedSet {
    /// The set of `items`.
    pub(super) fn new(mut items: Vec<Hash32>) -> Self {
        sort_items(&mut items, &Hash32::cmp);
        items.dedup();
        Self(items)
    }

    /// Whether `h` is in it.
    pub(super) fn contains(&self, h: &Hash32) -> bool {
        self.0.binary_search(h).is_ok()
    }

    /// The items, ascending.
    pub(super) fn iter(&self) -> core::slice::Iter<'_, Hash32> {
        self.0.iter()
    }
}

/// The last stage of [`AuditBuilder::finish_with`]: the settled main chain, and what the
/// builder holds of the batches, which the stage may add to.
pub(super) struct BatchStage<'a> {
    /// The main chain, `b0` first.
    pub(super) main_chain: &'a [MainChainBlock],
    /// The roots of the valid batches so far, in no order.
    pub(super) roots: &'a mut Vec<Hash32>,
    /// The objects read, per kind.
    pub(super) counts: &'a mut BTreeMap<ObjectKind, usize>,
    /// The invalid objects so far, in no order.
    pub(super) invalid: &'a mut Vec<InvalidObject>,
}

impl BatchStage<'_> {
    /// Adds the verdict on one batch examined at this stage.
    pub(super) fn add(&mut self, examined: Examined) {
        *self.counts.entry(ObjectKind::Batch).or_insert(0) += 1;
        match examined {
            Examined::Batch { key } => self.roots.push(key),
            Examined::Invalid(invalid) => self.invalid.push(invalid),
            // Not a batch's verdict: never given.
            _ => {}
        }
    }

    /// The final transactions and the missing batches, given the transaction ids of
    /// the main chain's batches as they were read when they were examined at this stage
    /// ([`MainBatchIds`]): what [`AuditBuilder::finish`] finds by reading those batches
    /// again, when they do not change in between.
    pub(super) fn with_main_batches(self, found: MainBatchIds) -> (TxHeights, Vec<Hash32>) {
        let roots = sorted_roots(core::mem::take(self.roots));
        let verified = |root: &Hash32| roots.binary_search(root).is_ok();
        let MainBatchIds { read, mut ids } = found;
        // The first height from 1 whose batch was not read valid: no id from there on
        // is final.
        let first_missing = (1..self.main_chain.len())
            .find(|&h| !read.get(h).copied().unwrap_or(false))
            .map(|h| h as u64);
        if let Some(first) = first_missing {
            ids.retain(|(_, h)| *h < first);
        }
        drop(read);
        sort_items(&mut ids, &|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
        ids.dedup();
        let missing = missing_batches(self.main_chain, first_missing, &verified);
        (TxHeightsBuilder::from_entries(ids).finish(), missing)
    }
}

/// The valid batch roots, ascending, each once.
fn sorted_roots(mut roots: Vec<Hash32>) -> Vec<Hash32> {
    sort_items(&mut roots, &Hash32::cmp);
    roots.dedup();
    roots
}

/// The transaction ids of the main chain's batches, gathered as the batches are
/// examined, in any order: 40 bytes an id, as [`TxHeightsBuilder`] holds them.
pub(super) struct MainBatchIds {
    /// By height: whether the block's batch was read and found valid.
    read: Vec<bool>,
    /// `(id, height)` for every transaction of those batches.
    ids: Vec<(Hash32, u64)>,
}

impl MainBatchIds {
    /// Room for a main chain of `len` blocks.
    pub(super) fn new(len: usize) -> Self {
        Self {
            read: vec![false; len],
            ids: Vec::new(),
        }
    }

    /// The batch of the block at `height` was read valid, with these transaction ids.
    pub(super) fn push(&mut self, height: u64, ids: &[Hash32]) {
        if let Some(read) = usize::try_from(height)
            .ok()
            .and_then(|h| self.read.get_mut(h))
        {
            *read = true;
            self.ids.extend(ids.iter().map(|id| (*id, height)));
        }
    }
}

/// Main-chain batches read at a time: with the `parallel` feature, read on all cores.
const BATCH_READS: usize = 256;

/// The final transactions of `main_chain`, and its blocks whose batch is missing:
/// [`read_main_batches`] from height 1.
pub(super) fn final_transactions(
    main_chain: &[MainChainBlock],
    verified: &(dyn Fn(&Hash32) -> bool + Sync),
    batches: &(dyn ObjectSource + Sync),
) -> (TxHeights, Vec<Hash32>) {
    let mut finals = TxHeightsBuilder::default();
    let missing = read_main_batches(main_chain, 1, verified, batches, &mut |h, ids| {
        finals.push(h, ids);
    });
    (finals.finish(), missing)
}

/// Reads the batches of the main-chain blocks from height `from` on, in height order (a
/// chunk at a time, on all cores with the `parallel` feature), each checked against its
/// root, and hands each one's transaction ids to `found`; stops at the first that is
/// missing or unreadable, since past it no transaction's first main-chain occurrence
/// can be proven (none is reported final, or certified, from there on). Returns the
/// main-chain blocks whose batch is missing: `b0` when its batch is not a verified one,
/// the first failing block, and every later one whose batch is not verified.
pub(super) fn read_main_batches(
    main_chain: &[MainChainBlock],
    from: u64,
    verified: &(dyn Fn(&Hash32) -> bool + Sync),
    batches: &(dyn ObjectSource + Sync),
    found: &mut dyn FnMut(u64, Vec<Hash32>),
) -> Vec<Hash32> {
    let tx_ids_of = |root: &Hash32| -> Option<Vec<Hash32>> {
        if !verified(root) {
            return None;
        }
        let bytes = batches.object(ObjectKind::Batch, root).ok().flatten()?;
        let ids = Batch::tx_ids_of(&bytes, &BatchBudget::DEFAULT).ok()?;
        (crate::merkle::root(&ids) == *root).then_some(ids)
    };
    let from = usize::try_from(from.max(1)).unwrap_or(usize::MAX);
    let mut first_missing = None;
    'chunks: for chunk in main_chain
        .get(from..)
        .unwrap_or_default()
        .chunks(BATCH_READS)
    {
        #[cfg(feature = "parallel")]
        let read: Vec<Option<Vec<Hash32>>> = {
            use rayon::prelude::*;
            chunk.par_iter().map(|b| tx_ids_of(&b.batch_root)).collect()
        };
        #[cfg(not(feature = "parallel"))]
        let read: Vec<Option<Vec<Hash32>>> =
            chunk.iter().map(|b| tx_ids_of(&b.batch_root)).collect();
        for (b, ids) in chunk.iter().zip(read) {
            match ids {
                Some(ids) => found(b.height, ids),
                None => {
                    first_missing = Some(b.height);
                    break 'chunks;
                }
            }
        }
    }
    missing_batches(main_chain, first_missing, verified)
}

/// The main-chain blocks whose batch is missing: `b0` when its batch is not a verified
/// one, the block at `first_missing` (the first from height 1 whose batch could not be
/// read), and every later one whose batch is not verified.
fn missing_batches(
    main_chain: &[MainChainBlock],
    first_missing: Option<u64>,
    verified: &dyn Fn(&Hash32) -> bool,
) -> Vec<Hash32> {
    let mut missing = Vec::new();
    if let Some(b0) = main_chain.first() {
        if !verified(&b0.batch_root) {
            missing.push(b0.block);
        }
    }
    if let Some(first) = first_missing {
        for b in main_chain.iter().filter(|b| b.height >= first) {
            if b.height == first || !verified(&b.batch_root) {
                missing.push(b.block);
            }
        }
    }
    missing
}

/// Indices of every triple reachable from the timestamp `from` through child links.
pub(super) fn descendants(
    triples: &[ValidTriple],
    children: &GroupIndex<Hash32>,
    from: Hash32,
) -> Vec<usize> {
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
///
/// Nothing here depends on the order the triples were given in (a full audit and an
/// incremental one meet them in different orders): the winner is the next main-chain
/// block with its main-chain number, and a losing block's branch is the block and every
/// descendant of any of its timestamps, with the least number among its triples.
pub(super) fn forks(
    main_chain: &[MainChainBlock],
    triples: &[ValidTriple],
    children: &GroupIndex<Hash32>,
    on_main: &dyn Fn(&Hash32) -> bool,
) -> Vec<Fork> {
    // Children of the tip are pending (not final yet), not forks: skip the tip.
    let below_tip = main_chain.len().saturating_sub(1);
    (0..below_tip)
        .filter_map(|h| fork_at(main_chain, h, triples, children, on_main))
        .collect()
}

/// The fork at main-chain height `h`, if the block there has a valid child that is not
/// the next main-chain block (see [`forks`]).
pub(super) fn fork_at(
    main_chain: &[MainChainBlock],
    h: usize,
    triples: &[ValidTriple],
    children: &GroupIndex<Hash32>,
    on_main: &dyn Fn(&Hash32) -> bool,
) -> Option<Fork> {
    let parent = main_chain.get(h)?;
    let losing: Vec<&ValidTriple> = children
        .get(&parent.timestamp)
        .iter()
        .filter_map(|&i| triples.get(i))
        .filter(|t| !on_main(&t.block))
        .collect();
    if losing.is_empty() {
        return None;
    }
    // The winner's branch is the rest of the main chain (cheap to count; walking it at
    // every fork would make the audit quadratic).
    let winner = main_chain.get(h + 1).map(|next| Branch {
        block: next.block,
        sequence: next.sequence,
        blocks: (main_chain.len() - h - 1) as u64,
    });
    Some(Fork {
        parent_height: h as u64,
        parent_block: parent.block,
        winner,
        losers: losing_branches(&losing, &|t| {
            descendants(triples, children, t)
                .into_iter()
                .filter_map(|j| triples.get(j).map(|d| d.block))
                .collect()
        }),
    })
}

/// The losing branches of one fork from its losing child triples (none on the main
/// chain), sorted by `(sequence, block)`: one per block, with the least number among
/// its triples and the blocks of the branch it starts, that block and every block that
/// `descendant_blocks(timestamp)` names below any of its timestamps. Losing branches
/// are disjoint from the main chain and from each other, so the walks cost
/// O(orphans) in all.
pub(super) fn losing_branches(
    losing: &[&ValidTriple],
    descendant_blocks: &dyn Fn(Hash32) -> Vec<Hash32>,
) -> Vec<Branch> {
    // Sorted by block, so each block's triples are one run (the one sort of
    // `collections`, no map of its own: the wasm module carries every instance).
    let mut by_block: Vec<&ValidTriple> = losing.to_vec();
    sort_items(&mut by_block, &|a, b| a.block.cmp(&b.block));
    let mut losers: Vec<Branch> = by_block
        .chunk_by(|a, b| a.block == b.block)
        .filter_map(|run| {
            let first = run.first()?;
            let mut blocks: HashSet<Hash32> = HashSet::from([first.block]);
            for t in run {
                blocks.extend(descendant_blocks(t.timestamp));
            }
            Some(Branch {
                block: first.block,
                sequence: run.iter().map(|t| t.k).min()?,
                blocks: blocks.len() as u64,
            })
        })
        .collect();
    sort_items(&mut losers, &|a, b| {
        (a.sequence, a.block).cmp(&(b.sequence, b.block))
    });
    losers
}
