//! The Merkle tree of a batch (SPEC §1.1): RFC 9162 §2.1 with SHA3-256.
//!
//! - leaf hash `H(0x00 ++ tx)`, where the leaf is the transaction id `tx = H(d)`, so a proof is
//!   checked from `tx` alone;
//! - interior node `H(0x01 ++ left ++ right)`;
//! - a tree of `n > 1` leaves splits at the largest power of two `k < n`: `D[0..k]` on the left,
//!   `D[k..n]` on the right;
//! - the root of the empty tree is `H("")`.
//!
//! [`root`] computes `m^H` in O(n) time and O(log n) memory. [`MerkleTree`] keeps every level so
//! that the writer can issue a proof for each transaction of a block without rehashing.
//! [`RootHash::verify_inclusion`] is the RFC 9162 §2.1.3.2 algorithm step by step.
//!
//! The bit-walking follows rozbb/ct-merkle (`src/inclusion.rs`), which the tests use as a
//! known-answer oracle for every tree size up to 64 and every leaf.

use sha3::{Digest, Sha3_256};
use subtle::ConstantTimeEq;

use crate::hash::Hash32;

/// The most hashes an inclusion proof may carry.
///
/// A tree with at most `u64::MAX` leaves is at most 64 levels deep, so no honest audit path is
/// longer; anything longer is refused before any hashing is done.
pub const MAX_PATH_LEN: usize = 64;

/// Domain separator of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separator of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// `H(0x00 ++ tx)`: the hash of the leaf that holds the transaction id `tx`.
pub fn leaf_hash(tx: &Hash32) -> Hash32 {
    let digest = Sha3_256::new()
        .chain_update([LEAF_PREFIX])
        .chain_update(tx.as_bytes())
        .finalize();
    Hash32(digest.into())
}

/// `H(0x01 ++ left ++ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let digest = Sha3_256::new()
        .chain_update([NODE_PREFIX])
        .chain_update(left.as_bytes())
        .chain_update(right.as_bytes())
        .finalize();
    Hash32(digest.into())
}

/// The Merkle root `m^H` of the transaction ids `txs`, in leaf order (SPEC §1.1).
///
/// Runs in O(n) hashes and O(log n) memory, without recursion: complete subtrees are merged on a
/// stack like a binary counter, and the (decreasing) subtrees left on the stack are then folded
/// from the right, which is exactly RFC 9162's split at the largest power of two.
pub fn root(txs: &[Hash32]) -> Hash32 {
    let mut builder = RootBuilder::new();
    for tx in txs {
        builder.push(tx);
    }
    builder.finish()
}

/// [`root`] one transaction id at a time, in O(log n) memory: the audit checks a batch's
/// name without holding its ids, so a batch of millions of empty transactions costs a
/// few KiB rather than 32 bytes for each.
#[derive(Clone, Debug, Default)]
pub struct RootBuilder {
    // Each entry is the root of a complete subtree and its height; heights strictly
    // decrease from the bottom of the stack to the top (at most 64 entries).
    stack: Vec<(Hash32, u32)>,
}

impl RootBuilder {
    /// A builder with no leaves yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next leaf, the transaction id `tx`.
    pub fn push(&mut self, tx: &Hash32) {
        let mut hash = leaf_hash(tx);
        let mut height = 0u32;
        while let Some(&(left, left_height)) = self.stack.last() {
            if left_height != height {
                break;
            }
            self.stack.pop();
            hash = node_hash(&left, &hash);
            height += 1;
        }
        self.stack.push((hash, height));
    }

    /// The root of the leaves pushed so far: the (decreasing) complete subtrees are
    /// folded from the right, which is exactly RFC 9162's split at the largest power of
    /// two; `H("")` for none.
    pub fn finish(mut self) -> Hash32 {
        let Some((mut acc, _)) = self.stack.pop() else {
            return Hash32::digest(b"");
        };
        while let Some((left, _)) = self.stack.pop() {
            acc = node_hash(&left, &acc);
        }
        acc
    }
}

/// Compares two hashes in constant time.
fn ct_eq(a: &Hash32, b: &Hash32) -> bool {
    a.as_bytes()[..].ct_eq(&b.as_bytes()[..]).into()
}

/// A Merkle root together with the size of the tree it is the root of.
///
/// Equality is checked in constant time.
#[derive(Clone, Copy, Debug)]
pub struct RootHash {
    root: Hash32,
    tree_size: u64,
}

impl PartialEq for RootHash {
    fn eq(&self, other: &Self) -> bool {
        self.tree_size == other.tree_size && ct_eq(&self.root, &other.root)
    }
}

impl Eq for RootHash {}

impl RootHash {
    /// A root that the caller already has, e.g. `m^H` from a block and the size from a batch.
    pub fn new(root: Hash32, tree_size: u64) -> Self {
        Self { root, tree_size }
    }

    /// Computes the root of the tree over `txs`.
    pub fn of(txs: &[Hash32]) -> Self {
        Self {
            root: root(txs),
            tree_size: len_u64(txs.len()),
        }
    }

    /// The root hash `m^H`.
    pub fn root(&self) -> &Hash32 {
        &self.root
    }

    /// The number of leaves of the tree.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// Checks that `proof` leads from the transaction id `tx` at `proof.leaf_index` to this root
    /// (RFC 9162 §2.1.3.2, followed step by step).
    ///
    /// # Errors
    /// - [`MerkleError::PathTooLong`] when the path has more than [`MAX_PATH_LEN`] hashes;
    /// - [`MerkleError::TreeSizeMismatch`] when the proof is for a tree of another size;
    /// - [`MerkleError::IndexOutOfRange`] when `leaf_index >= tree_size` (always so for the empty
    ///   tree, which has no inclusion proofs);
    /// - [`MerkleError::WrongPathLength`] when the path is longer or shorter than a tree of this
    ///   size needs for this leaf;
    /// - [`MerkleError::RootMismatch`] when the path leads to another root.
    ///
    /// # Note
    /// Success proves that `tx` is the leaf at `leaf_index` of a tree whose root is this root. If
    /// the tree size came from the proof itself (as in a certificate, where the block carries only
    /// `m^H`), success does not prove that the tree had exactly that many leaves: trees of several
    /// sizes can share one audit path shape. Take the size from the batch where it matters.
    pub fn verify_inclusion(&self, tx: &Hash32, proof: &InclusionProof) -> Result<(), MerkleError> {
        let path = proof.path.as_slice();
        if path.len() > MAX_PATH_LEN {
            return Err(MerkleError::PathTooLong {
                len: path.len(),
                max: MAX_PATH_LEN,
            });
        }
        if proof.tree_size != self.tree_size {
            return Err(MerkleError::TreeSizeMismatch {
                proof: proof.tree_size,
                root: self.tree_size,
            });
        }
        let wrong_length = || MerkleError::WrongPathLength {
            got: path.len(),
            expected: path_len(proof.leaf_index, self.tree_size),
        };

        // 1. Compare leaf_index against tree_size. If leaf_index is greater than or equal to
        //    tree_size, then fail the proof verification.
        if proof.leaf_index >= self.tree_size {
            return Err(MerkleError::IndexOutOfRange {
                leaf_index: proof.leaf_index,
                tree_size: self.tree_size,
            });
        }
        // 2. Set fn to leaf_index and sn to tree_size - 1.
        let mut fn_ = proof.leaf_index;
        let mut sn = self.tree_size - 1;
        // 3. Set r to hash (the leaf hash of the entry).
        let mut r = leaf_hash(tx);
        // 4. For each value p in the inclusion_path array:
        for p in path {
            // a. If sn is 0, then stop the iteration and fail the proof verification.
            if sn == 0 {
                return Err(wrong_length());
            }
            // b. If LSB(fn) is set, or if fn is equal to sn, then:
            if fn_ & 1 == 1 || fn_ == sn {
                // i. Set r to HASH(0x01 || p || r).
                r = node_hash(p, &r);
                // ii. If LSB(fn) is not set, then right-shift both fn and sn equally until
                //     either LSB(fn) is set or fn is 0.
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            } else {
                // Otherwise: set r to HASH(0x01 || r || p).
                r = node_hash(&r, p);
            }
            // c. Finally, right-shift both fn and sn one time.
            fn_ >>= 1;
            sn >>= 1;
        }
        // 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the
        //    root_hash are equal, then the log has proven the inclusion of hash. Otherwise, fail
        //    the proof verification.
        if sn != 0 {
            return Err(wrong_length());
        }
        if ct_eq(&r, &self.root) {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch {
                computed: r,
                expected: self.root,
            })
        }
    }
}

/// The number of hashes in the audit path of leaf `index` in a tree of `size` leaves (RFC 9162
/// §2.1.3.2 run without hashing). Zero when `index >= size`.
pub fn path_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut len = 0;
    while sn != 0 {
        if fn_ & 1 == 0 && fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
        len += 1;
    }
    len
}

/// An RFC 9162 §2.1.3 inclusion proof (audit path): the sibling hashes from the leaf up to the
/// root, lowest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The position of the leaf, counted from 0 in leaf order.
    pub leaf_index: u64,
    /// The number of leaves of the tree.
    pub tree_size: u64,
    /// The audit path, from the leaf's sibling up to the child of the root.
    pub path: Vec<Hash32>,
}

/// The proof that the transaction id at `index` is in the tree over `txs`.
///
/// Builds the whole tree (O(n)); to prove many leaves of one tree use [`MerkleTree`].
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] when `index >= txs.len()`.
pub fn prove(txs: &[Hash32], index: u64) -> Result<InclusionProof, MerkleError> {
    let tree_size = len_u64(txs.len());
    if index >= tree_size {
        return Err(MerkleError::IndexOutOfRange {
            leaf_index: index,
            tree_size,
        });
    }
    MerkleTree::new(txs).proof(index)
}

/// A Merkle tree with every level kept, to issue proofs for many leaves of one batch.
///
/// Level 0 holds the leaf hashes; each next level pairs neighbours, and an odd last node moves up
/// unchanged. This is the same tree as RFC 9162's split at the largest power of two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    // INVARIANT: `levels` is non-empty; `levels[0]` has one hash per leaf; each next level has
    // `ceil(len / 2)` hashes of the one below; the last level has at most one hash.
    levels: Vec<Vec<Hash32>>,
}

impl MerkleTree {
    /// Builds the tree over the transaction ids `txs`, in leaf order (O(n) hashes, about 2n
    /// hashes of memory).
    pub fn new(txs: &[Hash32]) -> Self {
        let mut levels = Vec::new();
        let mut level: Vec<Hash32> = txs.iter().map(leaf_hash).collect();
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut pairs = level.chunks_exact(2);
            for pair in &mut pairs {
                if let [left, right] = pair {
                    next.push(node_hash(left, right));
                }
            }
            // An odd last node moves up unchanged.
            next.extend_from_slice(pairs.remainder());
            levels.push(core::mem::replace(&mut level, next));
        }
        levels.push(level);
        Self { levels }
    }

    /// The number of leaves.
    pub fn tree_size(&self) -> u64 {
        len_u64(self.levels.first().map_or(0, Vec::len))
    }

    /// The root and size of the tree; the root of the empty tree is `H("")`.
    pub fn root(&self) -> RootHash {
        let root = match self.levels.last().and_then(|top| top.first()) {
            Some(top) if self.tree_size() > 0 => *top,
            _ => Hash32::digest(b""),
        };
        RootHash::new(root, self.tree_size())
    }

    /// The inclusion proof of the leaf at `index`.
    ///
    /// # Errors
    /// [`MerkleError::IndexOutOfRange`] when `index` is not a leaf of this tree.
    pub fn proof(&self, index: u64) -> Result<InclusionProof, MerkleError> {
        let tree_size = self.tree_size();
        let out_of_range = MerkleError::IndexOutOfRange {
            leaf_index: index,
            tree_size,
        };
        if index >= tree_size {
            return Err(out_of_range);
        }
        let mut i = usize::try_from(index).map_err(|_| out_of_range)?;
        let mut path = Vec::new();
        for level in &self.levels {
            if level.len() <= 1 {
                break;
            }
            // A node without a sibling (the odd last one) moves up unchanged: no path element.
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i >>= 1;
        }
        Ok(InclusionProof {
            leaf_index: index,
            tree_size,
            path,
        })
    }
}

/// A slice length as `u64` (lossless on every target Rust supports).
fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Why an inclusion proof was not made or did not verify.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The leaf index is not a leaf of the tree (RFC 9162 §2.1.3.2 step 1).
    #[error("leaf index {leaf_index} is out of range for a tree of {tree_size} leaves")]
    IndexOutOfRange {
        /// The index asked for or claimed by the proof.
        leaf_index: u64,
        /// The number of leaves of the tree.
        tree_size: u64,
    },
    /// The path is longer than the [`MAX_PATH_LEN`] budget.
    #[error("inclusion path has {len} hashes, more than the limit of {max}")]
    PathTooLong {
        /// The number of hashes in the path.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// The path has not the number of hashes the leaf's position in the tree needs.
    #[error("inclusion path has {got} hashes, expected {expected} for this leaf and tree size")]
    WrongPathLength {
        /// The number of hashes in the path.
        got: usize,
        /// The number a tree of this size needs for this leaf.
        expected: usize,
    },
    /// The proof is for a tree of another size than the root.
    #[error("the proof is for a tree of {proof} leaves, the root for one of {root}")]
    TreeSizeMismatch {
        /// The tree size in the proof.
        proof: u64,
        /// The tree size of the root.
        root: u64,
    },
    /// The path leads to another root.
    #[error("the inclusion path leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// The root the path leads to.
        computed: Hash32,
        /// The root it should lead to.
        expected: Hash32,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn txs(n: u64) -> Vec<Hash32> {
        (0..n).map(|i| Hash32::digest(&i.to_be_bytes())).collect()
    }

    /// RFC 9162 §2.1.1 MTH, recursively, as the reference for the iterative versions.
    fn mth(txs: &[Hash32]) -> Hash32 {
        match txs.len() {
            0 => Hash32::digest(b""),
            1 => leaf_hash(&txs[0]),
            n => {
                // The largest power of two below n: the top bit of n - 1.
                let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&mth(&txs[..k]), &mth(&txs[k..]))
            }
        }
    }

    #[test]
    fn root_matches_recursive_definition() {
        for n in 0..=70 {
            let t = txs(n);
            assert_eq!(root(&t), mth(&t), "n = {n}");
            assert_eq!(MerkleTree::new(&t).root(), RootHash::new(mth(&t), n));
        }
    }

    #[test]
    fn empty_tree() {
        assert_eq!(root(&[]), Hash32::digest(b""));
        assert_eq!(
            prove(&[], 0),
            Err(MerkleError::IndexOutOfRange {
                leaf_index: 0,
                tree_size: 0
            })
        );
    }

    #[test]
    fn every_proof_verifies_and_has_the_predicted_length() {
        for n in 1..=40 {
            let t = txs(n);
            let tree = MerkleTree::new(&t);
            let root = tree.root();
            for i in 0..n {
                let proof = tree.proof(i).unwrap();
                assert_eq!(proof.path.len(), path_len(i, n));
                assert_eq!(proof, prove(&t, i).unwrap());
                root.verify_inclusion(&t[i as usize], &proof).unwrap();
            }
        }
    }

    #[test]
    fn path_budget_is_checked_first() {
        let proof = InclusionProof {
            leaf_index: 0,
            tree_size: 2,
            path: vec![Hash32::ZERO; MAX_PATH_LEN + 1],
        };
        assert_eq!(
            RootHash::new(Hash32::ZERO, 2).verify_inclusion(&Hash32::ZERO, &proof),
            Err(MerkleError::PathTooLong { len: 65, max: 64 })
        );
    }

    #[test]
    fn largest_tree_has_64_levels() {
        assert_eq!(path_len(0, u64::MAX), 64);
        assert_eq!(path_len(u64::MAX - 1, u64::MAX), 63);
    }
}
