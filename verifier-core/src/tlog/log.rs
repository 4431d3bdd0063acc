//! The main-chain log of an audit (SPEC §9.1): its leaves and its checkpoint.

use super::checkpoint::{Checkpoint, origin};
use super::tree::{LogHash, LogTree, entry, leaf_hash, root};
use crate::chain::MainChainBlock;
use crate::hash::Hash32;

/// The leaf hashes of the log of `main_chain` (`b0` first): entry `i` is
/// `H(b_i) ++ H(t_i)`.
pub fn leaves(main_chain: &[MainChainBlock]) -> Vec<LogHash> {
    main_chain
        .iter()
        .map(|b| leaf_hash(&entry(&b.block, &b.timestamp)))
        .collect()
}

/// The checkpoint of the chain with genesis `genesis` whose log has `leaves`.
pub fn checkpoint(genesis: &Hash32, leaves: &[LogHash]) -> Checkpoint {
    Checkpoint {
        origin: origin(genesis),
        size: leaves.len() as u64,
        root: root(leaves),
    }
}

/// The log of `main_chain` kept as a [`LogTree`] (roots and proofs of any prefix in
/// O(log² n)).
pub fn tree(main_chain: &[MainChainBlock]) -> LogTree {
    LogTree::from_leaves(
        main_chain
            .iter()
            .map(|b| leaf_hash(&entry(&b.block, &b.timestamp))),
    )
}

/// The checkpoint of the whole of `log`, of the chain with genesis `genesis`.
pub fn checkpoint_of(genesis: &Hash32, log: &LogTree) -> Checkpoint {
    Checkpoint {
        origin: origin(genesis),
        size: log.len(),
        root: log.root(log.len()).unwrap_or_else(|_| root(&[])),
    }
}
