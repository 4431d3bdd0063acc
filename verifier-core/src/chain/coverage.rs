//! Which sequence numbers have a valid triple: the first gap that holds the chain back.

/// Which sequence numbers have a valid triple, as far as `omc` and the audit need.
///
/// The walk starts at `k = 0` and may only step to a child `z` when every number in
/// `[k, z.k]` has a valid triple. By induction every number it reaches lies in
/// `[0, covered_below)`, where `covered_below` is the least number without a valid
/// triple, and the check at each step is just `z.k < covered_below`: no sorted index
/// of the numbers is needed, only a bitmap of the numbers up to the triple count
/// (a number above it cannot be the least missing one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SequenceCoverage {
    /// The least sequence number without a valid triple: every number below it has one.
    pub(super) covered_below: u64,
    /// The greatest sequence number with a valid triple.
    pub(super) max: Option<u64>,
}

impl SequenceCoverage {
    /// The coverage of the numbers `ks`.
    #[cfg(test)]
    pub(super) fn new(ks: impl Iterator<Item = u64>) -> Self {
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
    pub(super) fn first_missing_above_chain(&self) -> Option<u64> {
        self.max
            .filter(|&max| max > self.covered_below)
            .map(|_| self.covered_below)
    }
}

/// Builds a [`SequenceCoverage`] from numbers given one at a time.
#[derive(Debug)]
pub(super) struct CoverageBuilder {
    /// Bit `k` is set when `k` has a valid triple, for `k` up to the number of triples.
    seen: Vec<u64>,
    max: Option<u64>,
}

impl CoverageBuilder {
    /// A builder for at most `n` numbers: the least missing one is at most `n`.
    pub(super) fn new(n: usize) -> Self {
        Self {
            seen: vec![0; n / 64 + 1],
            max: None,
        }
    }

    pub(super) fn add(&mut self, k: u64) {
        self.max = self.max.max(Some(k));
        if let Some(word) = usize::try_from(k / 64)
            .ok()
            .and_then(|w| self.seen.get_mut(w))
        {
            *word |= 1 << (k % 64);
        }
    }

    pub(super) fn finish(self) -> SequenceCoverage {
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
