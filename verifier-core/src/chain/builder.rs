//! [`AuditBuilder`]: the examined objects turned into triples, the main chain and
//! the findings.

use super::*;

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
        let mut final_transactions: TxHeights = fast_map(main_chain.len(), seed);
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
    pub(super) fn triples(&self) -> (Vec<ValidTriple>, Vec<(Hash32, Hash32, Hash32)>) {
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
    pub(super) fn equivocations(&self) -> Vec<Equivocation> {
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
    on_main: &FastSet<Hash32>,
) -> Vec<Fork> {
    let mut out = Vec::new();
    // Children of the tip are pending (not final yet), not forks: skip the tip.
    let below_tip = main_chain.len().saturating_sub(1);
    for (h, parent) in main_chain.iter().enumerate().take(below_tip) {
        let losing: Vec<&ValidTriple> = children
            .get(&parent.timestamp)
            .iter()
            .filter_map(|&i| triples.get(i))
            .filter(|t| !on_main.contains(&t.block))
            .collect();
        if losing.is_empty() {
            continue;
        }
        // The winner's branch is the rest of the main chain (cheap to count; walking
        // it at every fork would make the audit quadratic).
        let winner = main_chain.get(h + 1).map(|next| Branch {
            block: next.block,
            sequence: next.sequence,
            blocks: (main_chain.len() - h - 1) as u64,
        });
        out.push(Fork {
            parent_height: h as u64,
            parent_block: parent.block,
            winner,
            losers: losing_branches(&losing, |t| {
                descendants(triples, children, t)
                    .into_iter()
                    .filter_map(|j| triples.get(j).map(|d| d.block))
                    .collect()
            }),
        });
    }
    out
}

/// The losing branches of one fork from its losing child triples (none on the main
/// chain), sorted by `(sequence, block)`: one per block, with the least number among
/// its triples and the blocks of the branch it starts, that block and every block that
/// `descendant_blocks(timestamp)` names below any of its timestamps. Losing branches
/// are disjoint from the main chain and from each other, so the walks cost
/// O(orphans) in all.
pub(super) fn losing_branches(
    losing: &[&ValidTriple],
    descendant_blocks: impl Fn(Hash32) -> Vec<Hash32>,
) -> Vec<Branch> {
    let mut by_block: BTreeMap<Hash32, (u64, HashSet<Hash32>)> = BTreeMap::new();
    for t in losing {
        let (sequence, blocks) = by_block
            .entry(t.block)
            .or_insert_with(|| (t.k, HashSet::from([t.block])));
        *sequence = (*sequence).min(t.k);
        blocks.extend(descendant_blocks(t.timestamp));
    }
    let mut losers: Vec<Branch> = by_block
        .into_iter()
        .map(|(block, (sequence, blocks))| Branch {
            block,
            sequence,
            blocks: blocks.len() as u64,
        })
        .collect();
    sort_items(&mut losers, &|a, b| {
        (a.sequence, a.block).cmp(&(b.sequence, b.block))
    });
    losers
}
