//! Known answers for the Merkle tree (SPEC §1.1: RFC 9162 §2.1 with SHA3-256).
//!
//! The oracle is rozbb/ct-merkle 0.3.0 (`MemoryBackedTree<Sha3_256, [u8; 32]>`), whose leaf is
//! the 32-byte transaction id, hashed as `H(0x00 ++ tx)` exactly as ours. Natively, every tree
//! size 0..=64 and every leaf is compared with it byte for byte; the table below was computed
//! with it and runs on wasm32 too. Transaction `i` is `H(be64(i))`.
#![allow(clippy::unwrap_used)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use zipchain_verifier_core::hash::Hash32;
use zipchain_verifier_core::merkle::{
    self, InclusionProof, MAX_PATH_LEN, MerkleError, MerkleTree, RootHash,
};

fn txs(n: u64) -> Vec<Hash32> {
    (0..n).map(|i| Hash32::digest(&i.to_be_bytes())).collect()
}

fn h(hex: &str) -> Hash32 {
    Hash32::from_hex(hex).unwrap()
}

/// Roots computed by ct-merkle 0.3.0 over `txs(n)`.
const ROOTS: &[(u64, &str)] = &[
    // The empty tree: H("").
    (
        0,
        "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
    ),
    (
        1,
        "8b3433bad2808f25ac2b64c645332b9a874a27714050f2475e41657514f13870",
    ),
    (
        2,
        "20d2df314056fd370f67d8b7dddf716c5c96908e1cb75308dd838d62de5f5a0d",
    ),
    (
        3,
        "214aff8de3875a6af0cf1be07d28781b6db8733bf4ad06c5ed84a001276a8dae",
    ),
    (
        4,
        "cf404ab69e34f31c62bfc7ca690aa728b63771baaaa3faac592a80bf4f411a9a",
    ),
    (
        5,
        "5bd6396bf9b8e09ae60be249f0bbfbf37247ec0ab034d4f66c5dbadae1dbad37",
    ),
    (
        7,
        "0d89b266367f76d0fa0094a0d45a4365d67d5f81b0ded9d2d0eb14814066281b",
    ),
    (
        8,
        "acdcb5bb7d49cf9b117286ede12cd02a5b5fd003b7bf93fb782f97941c314a08",
    ),
    (
        13,
        "9f674dd9e4b6444b806b3d9f0c41f7ba912880927b947476bd4a4187a10b0d02",
    ),
    (
        64,
        "be45e463ab3bd5b9c82b1c6700efca7dd653cd343303c9a474526f9fa17705f7",
    ),
    (
        1000,
        "0334a20db148198d96dd4862365b5b6468c84e1b3f65478977d053b5b47c4a19",
    ),
];

/// ct-merkle 0.3.0's proof for leaf 5 of `txs(13)`.
const PROOF_5_OF_13: &[&str] = &[
    // leaf hash of tx 4
    "a2d650a934745d75b2c1e1190d158c59cfa7950b0209c61a4ceed758f75d6d4a",
    // node over txs 6..8
    "826b028a4ad5b85b6b70a8e04a60d8bf3e885f1bd9475ba7064d37f59ba4acee",
    // node over txs 0..4 (the root of the 4-leaf tree above)
    "cf404ab69e34f31c62bfc7ca690aa728b63771baaaa3faac592a80bf4f411a9a",
    // node over txs 8..13
    "466a8226763d37fabddaa964c48c936f281d74bfae35d847115c44f76ae8befb",
];

#[test]
fn known_roots() {
    for &(n, root) in ROOTS {
        let t = txs(n);
        assert_eq!(merkle::root(&t), h(root), "n = {n}");
        assert_eq!(MerkleTree::new(&t).root(), RootHash::new(h(root), n));
        assert_eq!(RootHash::of(&t), RootHash::new(h(root), n));
    }
}

fn proof_5_of_13() -> InclusionProof {
    InclusionProof {
        leaf_index: 5,
        tree_size: 13,
        path: PROOF_5_OF_13.iter().map(|p| h(p)).collect(),
    }
}

fn root_13() -> RootHash {
    RootHash::new(
        h("9f674dd9e4b6444b806b3d9f0c41f7ba912880927b947476bd4a4187a10b0d02"),
        13,
    )
}

#[test]
fn known_proof() {
    let t = txs(13);
    assert_eq!(merkle::prove(&t, 5).unwrap(), proof_5_of_13());
    assert_eq!(MerkleTree::new(&t).proof(5).unwrap(), proof_5_of_13());
    root_13().verify_inclusion(&t[5], &proof_5_of_13()).unwrap();
}

#[test]
fn tampered_path() {
    let t = txs(13);
    for i in 0..PROOF_5_OF_13.len() {
        let mut proof = proof_5_of_13();
        proof.path[i].0[31] ^= 1;
        assert!(matches!(
            root_13().verify_inclusion(&t[5], &proof),
            Err(MerkleError::RootMismatch { expected, .. }) if expected == *root_13().root()
        ));
    }
    // Another transaction, or the right one under another root.
    assert!(matches!(
        root_13().verify_inclusion(&t[6], &proof_5_of_13()),
        Err(MerkleError::RootMismatch { .. })
    ));
    assert!(matches!(
        RootHash::new(Hash32::ZERO, 13).verify_inclusion(&t[5], &proof_5_of_13()),
        Err(MerkleError::RootMismatch { .. })
    ));
}

#[test]
fn wrong_index() {
    let t = txs(13);
    // Leaf 4 has the same path length, so the path leads elsewhere.
    let proof = InclusionProof {
        leaf_index: 4,
        ..proof_5_of_13()
    };
    assert!(matches!(
        root_13().verify_inclusion(&t[5], &proof),
        Err(MerkleError::RootMismatch { .. })
    ));
    // Leaf 12 sits alone two levels up: its path is 2 hashes long.
    let proof = InclusionProof {
        leaf_index: 12,
        ..proof_5_of_13()
    };
    assert_eq!(
        root_13().verify_inclusion(&t[5], &proof),
        Err(MerkleError::WrongPathLength {
            got: 4,
            expected: 2
        })
    );
    let proof = InclusionProof {
        leaf_index: 13,
        ..proof_5_of_13()
    };
    let err = root_13().verify_inclusion(&t[5], &proof).unwrap_err();
    assert_eq!(
        err,
        MerkleError::IndexOutOfRange {
            leaf_index: 13,
            tree_size: 13
        }
    );
    assert_eq!(
        err.to_string(),
        "leaf index 13 is out of range for a tree of 13 leaves"
    );
    assert_eq!(
        merkle::prove(&t, 13),
        Err(MerkleError::IndexOutOfRange {
            leaf_index: 13,
            tree_size: 13
        })
    );
}

#[test]
fn wrong_size() {
    let t = txs(13);
    // The proof's size must be the root's.
    let proof = InclusionProof {
        tree_size: 14,
        ..proof_5_of_13()
    };
    assert_eq!(
        root_13().verify_inclusion(&t[5], &proof),
        Err(MerkleError::TreeSizeMismatch {
            proof: 14,
            root: 13
        })
    );
    // A size whose tree has the same path shape for this leaf verifies too: the proof does not
    // pin the tree size (the `# Note` on `verify_inclusion`).
    let root_14 = RootHash::new(*root_13().root(), 14);
    assert_eq!(root_14.verify_inclusion(&t[5], &proof), Ok(()));
    // Sizes that need a longer or shorter path.
    for (size, expected) in [(6, 2), (40, 6)] {
        let proof = InclusionProof {
            tree_size: size,
            ..proof_5_of_13()
        };
        assert_eq!(
            RootHash::new(*root_13().root(), size).verify_inclusion(&t[5], &proof),
            Err(MerkleError::WrongPathLength { got: 4, expected })
        );
    }
    // The empty tree proves nothing.
    let empty = InclusionProof {
        leaf_index: 0,
        tree_size: 0,
        path: vec![],
    };
    assert_eq!(
        RootHash::of(&[]).verify_inclusion(&t[0], &empty),
        Err(MerkleError::IndexOutOfRange {
            leaf_index: 0,
            tree_size: 0
        })
    );
}

#[test]
fn extra_or_missing_path_element() {
    let t = txs(13);
    let mut long = proof_5_of_13();
    long.path.push(Hash32::ZERO);
    let err = root_13().verify_inclusion(&t[5], &long).unwrap_err();
    assert_eq!(
        err,
        MerkleError::WrongPathLength {
            got: 5,
            expected: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "inclusion path has 5 hashes, expected 4 for this leaf and tree size"
    );
    let mut short = proof_5_of_13();
    short.path.pop();
    assert_eq!(
        root_13().verify_inclusion(&t[5], &short),
        Err(MerkleError::WrongPathLength {
            got: 3,
            expected: 4
        })
    );
    let mut first_missing = proof_5_of_13();
    first_missing.path.remove(0);
    assert!(root_13().verify_inclusion(&t[5], &first_missing).is_err());
    let huge = InclusionProof {
        path: vec![Hash32::ZERO; MAX_PATH_LEN + 1],
        ..proof_5_of_13()
    };
    assert_eq!(
        root_13().verify_inclusion(&t[5], &huge),
        Err(MerkleError::PathTooLong {
            len: 65,
            max: MAX_PATH_LEN
        })
    );
}

#[test]
fn single_leaf_has_empty_path() {
    let t = txs(1);
    let proof = merkle::prove(&t, 0).unwrap();
    assert!(proof.path.is_empty());
    RootHash::of(&t).verify_inclusion(&t[0], &proof).unwrap();
    assert_eq!(*RootHash::of(&t).root(), merkle::leaf_hash(&t[0]));
}

#[cfg(not(target_arch = "wasm32"))]
mod ct_merkle_oracle {
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use sha3::Sha3_256;

    use super::*;

    fn oracle(t: &[Hash32]) -> MemoryBackedTree<Sha3_256, [u8; 32]> {
        let mut tree = MemoryBackedTree::new();
        for tx in t {
            tree.push(tx.0);
        }
        tree
    }

    #[test]
    fn roots_and_every_proof_match_for_sizes_0_to_64() {
        for n in 0..=64u64 {
            let t = txs(n);
            let theirs = oracle(&t);
            let ours = MerkleTree::new(&t);
            assert_eq!(
                merkle::root(&t).as_bytes()[..],
                theirs.root().as_bytes()[..],
                "root, n = {n}"
            );
            assert_eq!(
                ours.root().root().as_bytes()[..],
                theirs.root().as_bytes()[..]
            );
            for i in 0..n {
                let proof = ours.proof(i).unwrap();
                let their_proof = theirs.prove_inclusion(i as usize);
                let our_bytes: Vec<u8> = proof.path.iter().flat_map(|p| p.0).collect();
                assert_eq!(our_bytes, their_proof.as_bytes(), "proof {i} of {n}");
                // Each verifies the other's proof.
                ours.root()
                    .verify_inclusion(&t[i as usize], &proof)
                    .unwrap();
                theirs
                    .root()
                    .verify_inclusion(&t[i as usize].0, i, &their_proof)
                    .unwrap();
            }
        }
    }

    #[test]
    fn many_leaves_without_recursion() {
        let t = txs(1 << 12);
        let root = merkle::root(&t);
        assert_eq!(root.as_bytes()[..], oracle(&t).root().as_bytes()[..]);
        let tree = MerkleTree::new(&t);
        assert_eq!(*tree.root().root(), root);
        let proof = tree.proof(3_210).unwrap();
        assert_eq!(proof.path.len(), 12);
        tree.root().verify_inclusion(&t[3_210], &proof).unwrap();
    }

    /// Slow without optimizations: `cargo test --release -- --ignored`.
    #[test]
    #[ignore]
    fn a_million_leaves_without_recursion() {
        let t = txs(1 << 20);
        let root = merkle::root(&t);
        let tree = MerkleTree::new(&t);
        assert_eq!(*tree.root().root(), root);
        let proof = tree.proof(777_777).unwrap();
        assert_eq!(proof.path.len(), 20);
        tree.root().verify_inclusion(&t[777_777], &proof).unwrap();
    }
}
