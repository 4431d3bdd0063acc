//! The main-chain log of an audit (SPEC §9.1): its leaves and its checkpoint.

use super::checkpoint::{Checkpoint, origin};
use super::tree::{LogHash, entry, leaf_hash, root};
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
