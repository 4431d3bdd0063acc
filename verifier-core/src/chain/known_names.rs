//! [`NameDiff`]: a listing of one kind split, name by name as it streams by, into the
//! names a kept audit has not seen and the seen ones that are gone (issue #17). Only the
//! new names are kept, never the whole listing, so that two kinds can be listed at once.

use std::collections::BTreeSet;

use super::resume::{ListingDiff, ResumableAudit, canonical};
use super::*;

/// Buckets of the lookup table, by the first 16 bits of a hash.
const BUCKETS: usize = 1 << 16;

/// Where a known hash of one kind lives: the main chain's blocks (read through a field),
/// or a list (the batches, or the few others: active facts and invalid objects).
enum KnownSource<'a> {
    Main(&'a [MainChainBlock], fn(&MainChainBlock) -> &Hash32),
    List(&'a [Hash32]),
}

/// The hashes a kept audit knows for one kind, looked up one at a time: rows of (first
/// eight bytes, where the hash is) sorted by hash, 16 bytes a known object where a sorted
/// copy of the hashes took 32 (at 1M blocks two kinds' tables are listed at once), the
/// rows of each leading 16 bits found in one step, and a bit per row for the names
/// listed again. A lookup compares first bytes in the rows and reads the one hash whose
/// first bytes match.
struct KnownNames<'a> {
    source: KnownSource<'a>,
    /// The known hashes not in `source`: active facts and invalid objects.
    extra: Vec<Hash32>,
    rows: Vec<(u64, usize)>,
    /// `rows[starts[b]..starts[b + 1]]` are the rows of hashes that begin with `b`.
    starts: Vec<usize>,
    /// One bit per row: listed again.
    seen: Vec<u64>,
}

impl<'a> KnownNames<'a> {
    fn new(source: KnownSource<'a>, extra: Vec<Hash32>) -> Self {
        let mut known = Self {
            source,
            extra,
            rows: Vec::new(),
            starts: vec![0; BUCKETS + 1],
            seen: Vec::new(),
        };
        let count = known.source_len() + known.extra.len();
        let mut rows: Vec<(u64, usize)> = Vec::with_capacity(count);
        rows.extend((0..count).filter_map(|i| Some((prefix(known.hash(i)?), i))));
        // By hash: the first eight bytes, then (for the rare equal ones) the rest.
        rows.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| known.hash(a.1).cmp(&known.hash(b.1)))
        });
        for (p, _) in &rows {
            if let Some(n) = known.starts.get_mut(bucket(*p) + 1) {
                *n += 1;
            }
        }
        let mut total = 0;
        for start in &mut known.starts {
            total += *start;
            *start = total;
        }
        known.seen = vec![0; rows.len().div_ceil(64)];
        known.rows = rows;
        known
    }

    fn source_len(&self) -> usize {
        match self.source {
            KnownSource::Main(main, _) => main.len(),
            KnownSource::List(list) => list.len(),
        }
    }

    /// Known hash `i`: the source's, then the extra ones.
    fn hash(&self, i: usize) -> Option<&Hash32> {
        let n = self.source_len();
        if i >= n {
            return self.extra.get(i - n);
        }
        match self.source {
            KnownSource::Main(main, field) => main.get(i).map(field),
            KnownSource::List(list) => list.get(i),
        }
    }

    /// Marks `key` listed; whether it is known (a binary search within its bucket:
    /// names made to share their first bytes cost a logarithm, not a scan).
    fn mark(&mut self, key: &Hash32) -> bool {
        let p = prefix(key);
        let b = bucket(p);
        let (Some(&lo), Some(&hi)) = (self.starts.get(b), self.starts.get(b + 1)) else {
            return false;
        };
        let Some(rows) = self.rows.get(lo..hi) else {
            return false;
        };
        let at = rows.partition_point(|&(q, i)| {
            q.cmp(&p).then_with(|| self.hash(i).cmp(&Some(key))) == Ordering::Less
        });
        let found = rows
            .get(at)
            .is_some_and(|&(q, i)| q == p && self.hash(i) == Some(key));
        if found {
            let row = lo + at;
            if let Some(word) = self.seen.get_mut(row / 64) {
                *word |= 1 << (row % 64);
            }
        }
        found
    }

    /// The known hashes not listed again, as lowercase hex.
    fn unseen(&self) -> impl Iterator<Item = String> + '_ {
        self.rows.iter().enumerate().filter_map(|(row, &(_, i))| {
            let seen = self
                .seen
                .get(row / 64)
                .is_some_and(|w| w & (1 << (row % 64)) != 0);
            if seen {
                return None;
            }
            self.hash(i).map(Hash32::to_hex)
        })
    }
}

/// The first eight bytes of `h`, big-endian (so that they order as the hash does).
fn prefix(h: &Hash32) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(h.as_bytes().get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(first)
}

/// The first 16 bits of a hash, from its [`prefix`].
fn bucket(prefix: u64) -> usize {
    usize::try_from(prefix >> 48).unwrap_or_default()
}

/// One kind's listing against what a [`ResumableAudit`] has seen, fed a name at a time
/// ([`NameDiff::push`]), then [`NameDiff::finish`]ed into a [`ListingDiff`].
pub(super) struct NameDiff<'a> {
    known: KnownNames<'a>,
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
        let main = &state.audit.main_chain[..];
        let (source, mut extra): (KnownSource<'a>, Vec<Hash32>) = match kind {
            ObjectKind::Block => (
                KnownSource::Main(main, |m| &m.block),
                state.active.blocks.iter().map(|(k, _)| *k).collect(),
            ),
            ObjectKind::Timestamp => (
                KnownSource::Main(main, |m| &m.timestamp),
                state.active.timestamps.iter().map(|t| t.0).collect(),
            ),
            ObjectKind::Attestation => (
                KnownSource::Main(main, |m| &m.attestation),
                state.active.attestations.iter().map(|a| a.0).collect(),
            ),
            ObjectKind::Batch => (KnownSource::List(&state.batches), Vec::new()),
        };
        let invalid = state
            .audit
            .invalid_objects
            .iter()
            .filter(|i| i.kind == kind);
        let mut odd_known = BTreeSet::new();
        for invalid in invalid {
            match canonical(&invalid.key) {
                Some(h) => extra.push(h),
                None => {
                    odd_known.insert(invalid.key.as_str());
                }
            }
        }
        Self {
            known: KnownNames::new(source, extra),
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
