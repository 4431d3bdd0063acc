//! The main-chain log's Merkle tree (SPEC §9.1): RFC 6962 / RFC 9162 §2.1 with
//! **SHA-256**, the tree every C2SP witness and tlog client computes.
//!
//! Entry `i` of the log is the 64 bytes `H(b_i) ++ H(t_i)` (SHA3-256 of the block and of
//! its timestamp); its leaf hash is `SHA-256(0x00 ++ entry)`, an interior node
//! `SHA-256(0x01 ++ left ++ right)`. Proofs are checked with RFC 9162 §2.1.3.2
//! (inclusion) and §2.1.4.2 (consistency) step by step, in O(path) time, and made with
//! RFC 6962 §2.1.1–2.1.2 (`PATH`, `SUBPROOF`) over the leaf hashes.

use sha2::{Digest, Sha256};

use crate::hash::Hash32;

/// The most hashes a proof may carry (a tree of at most 2^64 leaves is 64 levels deep;
/// a consistency proof has at most one more).
pub const MAX_PROOF_LEN: usize = 65;

/// A SHA-256 node of the log's tree.
pub type LogHash = [u8; 32];

/// The 64-byte log entry of a main-chain block: `H(b) ++ H(t)`.
pub fn entry(block: &Hash32, timestamp: &Hash32) -> [u8; 64] {
    let mut e = [0u8; 64];
    e[..32].copy_from_slice(block.as_bytes());
    e[32..].copy_from_slice(timestamp.as_bytes());
    e
}

/// `SHA-256(0x00 ++ entry)`.
pub fn leaf_hash(entry: &[u8]) -> LogHash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(entry)
        .finalize()
        .into()
}

/// `SHA-256(0x01 ++ left ++ right)`.
pub fn node_hash(left: &LogHash, right: &LogHash) -> LogHash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root of the tree over `leaves` (leaf hashes, in order); `SHA-256("")` when empty.
pub fn root(leaves: &[LogHash]) -> LogHash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (`n > 1`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// Why a proof does not verify, or cannot be made.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index is not a leaf of the tree.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The old size is larger than the new, or zero where a proof is needed.
    #[error("no consistency proof from size {old} to size {new}")]
    BadSizes {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof has more or fewer hashes than the tree allows.
    #[error("the proof has the wrong number of hashes ({len})")]
    WrongLength {
        /// Its length.
        len: usize,
    },
    /// The proof leads to another root.
    #[error("the proof leads to another root")]
    RootMismatch,
}

/// RFC 9162 §2.1.3.2: whether `path` proves the leaf `leaf` at `index` in the tree of
/// `size` leaves whose root is `root`.
///
/// # Errors
/// Why it does not.
pub fn verify_inclusion(
    leaf: &LogHash,
    index: u64,
    size: u64,
    path: &[LogHash],
    root: &LogHash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if path.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength { len: path.len() });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return Err(ProofError::WrongLength { len: path.len() });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength { len: path.len() });
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: whether `proof` shows that the tree of `old` leaves with root
/// `old_root` is a prefix of the tree of `new` leaves with root `new_root`. From size 0
/// every tree is consistent (the proof must be empty); equal sizes need equal roots and
/// an empty proof.
///
/// # Errors
/// Why it does not.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &LogHash,
    new_root: &LogHash,
    proof: &[LogHash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if old == new && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() || proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    let mut path: Vec<LogHash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 6962 §2.1.1 `PATH(index, leaves)`: the inclusion proof of leaf `index`.
///
/// O(n): every subtree hash is computed from the leaves. [`LogTree`] keeps them.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`].
pub fn inclusion_proof(leaves: &[LogHash], index: u64) -> Result<Vec<LogHash>, ProofError> {
    let size = leaves.len() as u64;
    let i = usize::try_from(index)
        .ok()
        .filter(|&i| i < leaves.len())
        .ok_or(ProofError::IndexOutOfRange { index, size })?;
    let range = |start: usize, len: usize| root(&leaves[start..start + len]);
    let mut proof = Vec::new();
    path(i, 0, leaves.len(), &range, &mut proof);
    Ok(proof)
}

/// `PATH(m, D[start : start + n])`, the subtree roots coming from `range(start, len)`.
fn path(
    m: usize,
    start: usize,
    n: usize,
    range: &dyn Fn(usize, usize) -> LogHash,
    out: &mut Vec<LogHash>,
) {
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, start, k, range, out);
        out.push(range(start + k, n - k));
    } else {
        path(m - k, start + k, n - k, range, out);
        out.push(range(start, k));
    }
}

/// RFC 6962 §2.1.2 `PROOF(old, leaves)`: the consistency proof from the tree of the
/// first `old` leaves to the tree of all of them (empty when `old` is 0 or all).
///
/// O(n): every subtree hash is computed from the leaves. [`LogTree`] keeps them.
///
/// # Errors
/// [`ProofError::BadSizes`] when `old` is above the number of leaves.
pub fn consistency_proof(leaves: &[LogHash], old: u64) -> Result<Vec<LogHash>, ProofError> {
    let new = leaves.len() as u64;
    let m = usize::try_from(old)
        .ok()
        .filter(|&m| m <= leaves.len())
        .ok_or(ProofError::BadSizes { old, new })?;
    let range = |start: usize, len: usize| root(&leaves[start..start + len]);
    let mut proof = Vec::new();
    if m > 0 && m < leaves.len() {
        subproof(m, 0, leaves.len(), true, &range, &mut proof);
    }
    Ok(proof)
}

/// `SUBPROOF(m, D[start : start + n], complete)`, the subtree roots coming from
/// `range(start, len)`.
fn subproof(
    m: usize,
    start: usize,
    n: usize,
    complete: bool,
    range: &dyn Fn(usize, usize) -> LogHash,
    out: &mut Vec<LogHash>,
) {
    if m == n {
        if !complete {
            out.push(range(start, n));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, start, k, complete, range, out);
        out.push(range(start + k, n - k));
    } else {
        subproof(m - k, start + k, n - k, false, range, out);
        out.push(range(start, k));
    }
}

/// The log's tree in memory with the hash of every complete, aligned subtree: a leaf
/// appended costs one hash per level it completes (two hashes on average), and the root
/// of any size, an inclusion proof or a consistency proof costs O(log² n) hashes at most
/// (RFC 9162's left subtrees are all complete and aligned, so only the ragged right edge
/// is hashed). About 64 bytes a leaf. For a writer, a witness or an auditor that keeps
/// the log of a long main chain and answers for it often.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogTree {
    /// `levels[l][i]`: the root of leaves `[i·2^l, (i+1)·2^l)`; `levels[0]` the leaves.
    levels: Vec<Vec<LogHash>>,
}

impl LogTree {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The log of `leaves`.
    pub fn from_leaves(leaves: impl IntoIterator<Item = LogHash>) -> Self {
        let mut tree = Self::new();
        tree.extend(leaves);
        tree
    }

    /// Appends leaf hashes.
    pub fn extend(&mut self, leaves: impl IntoIterator<Item = LogHash>) {
        for leaf in leaves {
            self.push(leaf);
        }
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: LogHash) {
        let mut level = 0;
        let mut node = leaf;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(node);
            if row.len() % 2 != 0 {
                return;
            }
            node = match row.get(row.len() - 2..) {
                Some([left, right]) => node_hash(left, right),
                _ => return,
            };
            level += 1;
        }
    }

    /// How many leaves.
    pub fn len(&self) -> u64 {
        self.leaves().len() as u64
    }

    /// Whether the log has no leaf.
    pub fn is_empty(&self) -> bool {
        self.leaves().is_empty()
    }

    /// The leaf hashes, in order.
    pub fn leaves(&self) -> &[LogHash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// The root of the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`ProofError::BadSizes`] when `size` is above [`LogTree::len`].
    pub fn root(&self, size: u64) -> Result<LogHash, ProofError> {
        let n = self.size(size, size)?;
        Ok(match n {
            0 => root(&[]),
            n => self.range(0, n),
        })
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`] or [`ProofError::BadSizes`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<LogHash>, ProofError> {
        let n = self.size(size, size)?;
        let i = usize::try_from(index)
            .ok()
            .filter(|&i| i < n)
            .ok_or(ProofError::IndexOutOfRange { index, size })?;
        let mut proof = Vec::new();
        path(i, 0, n, &|a, len| self.range(a, len), &mut proof);
        Ok(proof)
    }

    /// The consistency proof from the tree of the first `old` leaves to the tree of the
    /// first `size` (empty when `old` is 0 or `size`).
    ///
    /// # Errors
    /// [`ProofError::BadSizes`] when `old > size` or `size` is above [`LogTree::len`].
    pub fn consistency_proof(&self, old: u64, size: u64) -> Result<Vec<LogHash>, ProofError> {
        let n = self.size(size, old)?;
        let m = usize::try_from(old)
            .ok()
            .filter(|&m| m <= n)
            .ok_or(ProofError::BadSizes { old, new: size })?;
        let mut proof = Vec::new();
        if m > 0 && m < n {
            subproof(m, 0, n, true, &|a, len| self.range(a, len), &mut proof);
        }
        Ok(proof)
    }

    /// `size` as an index, when the tree has that many leaves.
    fn size(&self, size: u64, old: u64) -> Result<usize, ProofError> {
        usize::try_from(size)
            .ok()
            .filter(|&n| n <= self.leaves().len())
            .ok_or(ProofError::BadSizes { old, new: size })
    }

    /// The root of leaves `[start, start + len)` (`len >= 1`, within the tree).
    fn range(&self, start: usize, len: usize) -> LogHash {
        if len.is_power_of_two() && start % len == 0 {
            let level = len.trailing_zeros() as usize;
            if let Some(h) = self.levels.get(level).and_then(|row| row.get(start / len)) {
                return *h;
            }
        }
        if len <= 1 {
            return self.leaves().get(start).copied().unwrap_or_default();
        }
        let k = split(len);
        node_hash(&self.range(start, k), &self.range(start + k, len - k))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<LogHash> {
        (0..n)
            .map(|i| leaf_hash(&entry(&Hash32([i as u8; 32]), &Hash32([!(i as u8); 32]))))
            .collect()
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_and_a_changed_one_does_not() {
        for n in 1..=33usize {
            let d = leaves(n);
            let r = root(&d);
            for i in 0..n {
                let p = inclusion_proof(&d, i as u64).unwrap_or_default();
                assert_eq!(verify_inclusion(&d[i], i as u64, n as u64, &p, &r), Ok(()));
                let other = (i + 1) % n;
                if other != i {
                    assert!(verify_inclusion(&d[other], i as u64, n as u64, &p, &r).is_err());
                }
                assert!(verify_inclusion(&d[i], n as u64, n as u64, &p, &r).is_err());
                if !p.is_empty() {
                    assert!(verify_inclusion(&d[i], i as u64, n as u64, &p[1..], &r).is_err());
                }
            }
            for m in 0..=n {
                let old = root(&d[..m]);
                let p = consistency_proof(&d, m as u64).unwrap_or_default();
                assert_eq!(
                    verify_consistency(m as u64, n as u64, &old, &r, &p),
                    Ok(()),
                    "{m} -> {n}"
                );
                if m > 0 && m < n {
                    let wrong = root(&leaves(m + 1)[1..]);
                    assert!(verify_consistency(m as u64, n as u64, &wrong, &r, &p).is_err());
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_consistency(m as u64, n as u64, &old, &r, &bad).is_err());
                }
            }
        }
        assert!(verify_consistency(3, 2, &[0; 32], &[0; 32], &[]).is_err());
    }

    #[test]
    fn the_kept_tree_gives_the_roots_and_proofs_of_every_prefix() {
        for n in 0..=70usize {
            let d = leaves(n);
            let tree = LogTree::from_leaves(d.iter().copied());
            assert_eq!(tree.len(), n as u64);
            for size in 0..=n {
                let prefix = &d[..size];
                assert_eq!(tree.root(size as u64), Ok(root(prefix)), "{size} of {n}");
                for i in 0..size {
                    assert_eq!(
                        tree.inclusion_proof(i as u64, size as u64),
                        inclusion_proof(prefix, i as u64),
                        "leaf {i} of {size}"
                    );
                }
                for m in 0..=size {
                    assert_eq!(
                        tree.consistency_proof(m as u64, size as u64),
                        consistency_proof(prefix, m as u64),
                        "{m} -> {size}"
                    );
                }
            }
            assert!(tree.root(n as u64 + 1).is_err());
            assert!(tree.inclusion_proof(n as u64, n as u64).is_err());
            assert!(tree.consistency_proof(n as u64 + 1, n as u64).is_err());
            assert!(tree.consistency_proof(0, n as u64 + 1).is_err());
        }
    }

    #[test]
    fn the_empty_tree_and_one_leaf() {
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let d = leaves(1);
        assert_eq!(root(&d), d[0]);
    }
}
