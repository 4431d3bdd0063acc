//! The writer's promise, checked from the stores (issue #18): every transaction it
//! acknowledged (`202`) is final **exactly once** on the main chain: in the batch of one
//! main-chain block after `b0`, and in no other main-chain batch.
//!
//! [`check`] reads the batches of an audit's main chain from a snapshot (a pull of the six
//! stores) and compares them with the acknowledged transaction ids: the fault tests of
//! `writer/tests/` and the soak (`soak-check`, `scripts/soak.sh`) report the same
//! [`Finality`].

use std::collections::HashSet;

use serde::Serialize;
use verifier_core::batch::{Batch, BatchBudget};
use verifier_core::certificate::ObjectSource;
use verifier_core::chain::Audit;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;

/// What the main chain holds of the acknowledged transactions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Finality {
    /// Distinct transactions acknowledged.
    pub acknowledged: u64,
    /// Of those, the ones final on the main chain.
    pub final_count: u64,
    /// Acknowledged and not on the main chain: must be none.
    pub lost: Vec<String>,
    /// Transactions in more than one main-chain batch (acknowledged or not; a
    /// transaction written once can only be there twice if the writer sealed it twice):
    /// must be none.
    pub duplicated: Vec<String>,
    /// Transactions in the main chain's batches after `b0`, each occurrence counted.
    pub main_chain_transactions: u64,
    /// The main chain's height.
    pub height: u64,
}

impl Finality {
    /// Whether nothing was lost or duplicated.
    pub fn holds(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty()
    }
}

/// Why the main chain's batches could not be read.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    /// A main-chain block's batch is not in the snapshot, or cannot be read.
    #[error("the batch {batch} of main-chain block {height} cannot be read: {reason}")]
    Batch {
        /// The block's height.
        height: u64,
        /// The batch's root, hex.
        batch: String,
        /// Why.
        reason: String,
    },
}

/// Compares the main chain of `audit` (its batches read from `batches`) with the
/// transactions acknowledged, `acked` (repeats counted once).
///
/// # Errors
/// [`FinalityError::Batch`] when a main-chain batch is missing or unreadable: nothing can
/// then be said of the transactions in it.
pub fn check(
    audit: &Audit,
    batches: &dyn ObjectSource,
    acked: impl IntoIterator<Item = Hash32>,
) -> Result<Finality, FinalityError> {
    let acked: HashSet<Hash32> = acked.into_iter().collect();
    let mut seen: HashSet<Hash32> = HashSet::with_capacity(acked.len());
    let mut duplicated: Vec<String> = Vec::new();
    let mut total = 0u64;
    for block in audit.main_chain.iter().skip(1) {
        let cannot = |reason: String| FinalityError::Batch {
            height: block.height,
            batch: block.batch_root.to_hex(),
            reason,
        };
        let bytes = batches
            .object(ObjectKind::Batch, &block.batch_root)
            .map_err(cannot)?
            .ok_or_else(|| cannot("not in the snapshot".to_owned()))?;
        let ids =
            Batch::tx_ids_of(&bytes, &BatchBudget::DEFAULT).map_err(|e| cannot(e.to_string()))?;
        for tx in ids {
            total += 1;
            if !seen.insert(tx) {
                duplicated.push(tx.to_hex());
            }
        }
    }
    duplicated.sort_unstable();
    duplicated.dedup();
    let mut lost: Vec<String> = acked
        .iter()
        .filter(|tx| !seen.contains(tx))
        .map(Hash32::to_hex)
        .collect();
    lost.sort_unstable();
    Ok(Finality {
        acknowledged: acked.len() as u64,
        final_count: acked.len() as u64 - lost.len() as u64,
        lost,
        duplicated,
        main_chain_transactions: total,
        height: audit.height().unwrap_or(0),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ChainKit;

    #[test]
    fn lost_and_duplicated_are_found() {
        let mut kit = ChainKit::new();
        let b0 = kit.genesis().clone();
        let b1 = kit.append(&b0, &[b"a", b"b"]);
        kit.append(&b1, &[b"c", b"a"]);
        let audit = kit.audit();
        let id = |d: &[u8]| Hash32::digest(d);
        let f = check(&audit, kit.snapshot(), [id(b"a"), id(b"b"), id(b"c")]).unwrap();
        assert_eq!(f.acknowledged, 3);
        assert_eq!(f.final_count, 3);
        assert!(f.lost.is_empty());
        assert_eq!(f.duplicated, [id(b"a").to_hex()]);
        assert_eq!(f.main_chain_transactions, 4);
        assert!(!f.holds());

        let f = check(&audit, kit.snapshot(), [id(b"b"), id(b"never")]).unwrap();
        assert_eq!(f.final_count, 1);
        assert_eq!(f.lost, [id(b"never").to_hex()]);
    }
}
