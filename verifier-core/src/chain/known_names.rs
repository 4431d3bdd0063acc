//! [`NameDiff`]: a listing of one kind split, name by name as it streams by, into the
//! names a kept audit has not seen and the seen ones that are gone (issue #17). Only the
//! new names are kept, never the whole listing, so the four kinds can be listed at once.

use std::collections::BTreeSet;

use super::resume::{ListingDiff, ResumableAudit, canonical};
use super::*;

/// Buckets of the lookup table, by the first 16 bits of a hash.
const BUCKETS: usize = 1 << 16;

/// The hashes a kept audit knows for one kind, looked up one at a time: sorted, the
/// ones of each leading 16 bits found in one step (a lookup reads a few neighbouring
/// hashes and nothing else), and a bit per hash for the names listed again.
struct KnownNames {
    hashes: Vec<Hash32>,
    /// `hashes[starts[b]..starts[b + 1]]` are the hashes that begin with `b`.
    starts: Vec<usize>,
    /// One bit per hash: listed again.
    seen: Vec<u64>,
}

impl KnownNames {
    fn new(mut hashes: Vec<Hash32>) -> Self {
        hashes.sort_unstable();
        let mut starts = vec![0; BUCKETS + 1];
        for h in &hashes {
            if let Some(n) = starts.get_mut(bucket(h) + 1) {
                *n += 1;
            }
        }
        let mut total = 0;
        for start in &mut starts {
            total += *start;
            *start = total;
        }
        Self {
            seen: vec![0; hashes.len().div_ceil(64)],
            hashes,
            starts,
        }
    }

    /// Marks `key` listed; whether it is known (a binary search within its bucket:
    /// names made to share their first bytes cost a logarithm, not a scan).
    fn mark(&mut self, key: &Hash32) -> bool {
        let b = bucket(key);
        let (Some(&lo), Some(&hi)) = (self.starts.get(b), self.starts.get(b + 1)) else {
            return false;
        };
        let Some(hashes) = self.hashes.get(lo..hi) else {
            return false;
        };
        let at = hashes.partition_point(|h| h < key);
        let found = hashes.get(at) == Some(key);
        if found {
            let i = lo + at;
            if let Some(word) = self.seen.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
        found
    }

    /// The known hashes not listed again, as lowercase hex.
    fn unseen(&self) -> impl Iterator<Item = String> + '_ {
        self.hashes.iter().enumerate().filter_map(|(i, h)| {
            let seen = self
                .seen
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0);
            (!seen).then(|| h.to_hex())
        })
    }
}

/// The first 16 bits of `h`.
fn bucket(h: &Hash32) -> usize {
    let b = h.as_bytes();
    usize::from(b[0]) << 8 | usize::from(b[1])
}

/// One kind's listing against what a [`ResumableAudit`] has seen, fed a name at a time
/// ([`NameDiff::push`]), then [`NameDiff::finish`]ed into a [`ListingDiff`].
pub(super) struct NameDiff<'a> {
    known: KnownNames,
    /// Names of invalid objects that are not hashes, not listed again yet.
    odd_known: BTreeSet<&'a str>,
    /// Listed hashes not looked up yet: looked up a batch at a time in ascending order,
    /// so that consecutive lookups read neighbouring memory (a listing comes in the
    /// directory's own order, random by hash).
    pending: Vec<Hash32>,
    new_keys: Vec<Hash32>,
    new_other: BTreeSet<String>,
    listed: usize,
}

/// Listed hashes looked up together ([`NameDiff::pending`]): 512 KiB.
const LOOKUP_BATCH: usize = 1 << 14;

impl<'a> NameDiff<'a> {
    /// Ready to take the names `state` has for `kind`.
    pub(super) fn new(state: &'a ResumableAudit, kind: ObjectKind) -> Self {
        // Sized once: the main chain's and the batches' hashes and the few others.
        let main = &state.audit.main_chain;
        let active = match kind {
            ObjectKind::Block => state.active.blocks.len(),
            ObjectKind::Timestamp => state.active.timestamps.len(),
            ObjectKind::Attestation => state.active.attestations.len(),
            ObjectKind::Batch => state.batches.len(),
        };
        let invalid = state
            .audit
            .invalid_objects
            .iter()
            .filter(|i| i.kind == kind);
        let mut known: Vec<Hash32> = Vec::with_capacity(
            match kind {
                ObjectKind::Batch => active,
                _ => main.len() + active,
            } + invalid.clone().count(),
        );
        match kind {
            ObjectKind::Block => {
                known.extend(main.iter().map(|m| m.block));
                known.extend(state.active.blocks.iter().map(|(k, _)| *k));
            }
            ObjectKind::Timestamp => {
                known.extend(main.iter().map(|m| m.timestamp));
                known.extend(state.active.timestamps.iter().map(|t| t.0));
            }
            ObjectKind::Attestation => {
                known.extend(main.iter().map(|m| m.attestation));
                known.extend(state.active.attestations.iter().map(|a| a.0));
            }
            ObjectKind::Batch => known.extend_from_slice(&state.batches),
        }
        let mut odd_known = BTreeSet::new();
        for invalid in invalid {
            match canonical(&invalid.key) {
                Some(h) => known.push(h),
                None => {
                    odd_known.insert(invalid.key.as_str());
                }
            }
        }
        Self {
            known: KnownNames::new(known),
            odd_known,
            pending: Vec::new(),
            new_keys: Vec::new(),
            new_other: BTreeSet::new(),
            listed: 0,
        }
    }

    /// Looks the pending hashes up, in ascending order.
    fn look_up(&mut self) {
        self.pending.sort_unstable();
        for key in self.pending.drain(..) {
            if !self.known.mark(&key) {
                self.new_keys.push(key);
            }
        }
    }

    /// Takes one listed name.
    pub(super) fn push(&mut self, name: ListedName<'_>) {
        self.listed += 1;
        match name {
            ListedName::Key(key) => {
                if self.pending.is_empty() {
                    self.pending.reserve_exact(LOOKUP_BATCH);
                }
                self.pending.push(key);
                if self.pending.len() >= LOOKUP_BATCH {
                    self.look_up();
                }
            }
            ListedName::Other(name) => {
                if !self.odd_known.remove(name) {
                    self.new_other.insert(name.to_owned());
                }
            }
        }
    }

    /// The names not seen before (each list ascending), the seen ones not listed
    /// (ascending), and how many names were listed.
    pub(super) fn finish(mut self) -> (ListingDiff, usize) {
        self.look_up();
        let mut new = Listing {
            keys: self.new_keys,
            other: self.new_other.into_iter().collect(),
        };
        new.sort();
        let mut removed: Vec<String> = self.known.unseen().collect();
        removed.extend(self.odd_known.iter().map(|name| (*name).to_owned()));
        removed.sort_unstable();
        (ListingDiff { new, removed }, self.listed)
    }
}
