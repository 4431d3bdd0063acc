//! The verdict on a certificate (SPEC §3), from its JSON text, the trust descriptor
//! and, optionally, a snapshot `.tar` to check its main-chain position against.

use serde::Serialize;

use super::Check;
use super::audit::load_auditor;
use crate::block::Block;
use crate::certificate::{
    CertificateVerdict, MainChainProof, MainChainWitnesses, check_certificate,
    check_certificate_with_snapshot,
};
use crate::chain::HashSeed;
use crate::snapshot::Snapshot;

/// Checks the certificate `cert` under the trust descriptor `chain` (both JSON
/// text). With `snapshot_tar`, the snapshot is audited and the block's main-chain
/// position, the transaction's first occurrence and its leaf position are checked
/// against it; a tar that cannot be read is a failed check `snapshot` after the
/// others. A descriptor that cannot be used is the single failed check
/// `trust_descriptor`.
pub fn check(
    cert: &str,
    chain: &str,
    snapshot_tar: Option<&[u8]>,
    seed: HashSeed,
) -> CertificateVerdict {
    let auditor = match load_auditor(chain, seed) {
        Ok(auditor) => auditor,
        Err(check) => {
            return CertificateVerdict {
                valid: false,
                main_chain_checked: false,
                main_chain_proof: None,
                main_chain_witnesses: None,
                position_checked: false,
                checks: vec![check],
                tx: None,
                height: None,
                not_before: None,
                not_after: None,
            };
        }
    };
    let snapshot = snapshot_tar.map(Snapshot::from_tar);
    let mut verdict = match &snapshot {
        // The snapshot's audit, and its batch for the leaf position (`main_chain`,
        // `first_occurrence`, `inclusion`, and `equivocation` when the sequencer
        // equivocated).
        Some(Ok(snapshot)) => {
            let audit = auditor.audit(snapshot, &mut |_, _| {});
            check_certificate_with_snapshot(cert, &auditor, &audit, snapshot)
        }
        _ => check_certificate(cert, &auditor, None),
    };
    if let Some(Err(e)) = snapshot {
        verdict.valid = false;
        verdict
            .checks
            .push(Check::failed("snapshot", format!("options.snapshot: {e}")));
    }
    verdict
}

/// A certificate verdict as JavaScript reads it: camelCase, without
/// `position_checked` (the `inclusion` check's detail says it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    /// Every check passed.
    pub valid: bool,
    /// Whether main-chain position was checked (against a snapshot, or by a passed
    /// `main_chain_proof`).
    pub main_chain_checked: bool,
    /// When `main_chain_proof` passed: `{ witnesses, quorum }` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_chain_proof: Option<MainChainProof>,
    /// With `mainChainProof`: `{ vouched, known, checkpointSize }`, the names of the
    /// witnesses whose cosignatures counted and of all the descriptor's witnesses, and
    /// the size of the checkpoint (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_chain_witnesses: Option<MainChainWitnessesView>,
    /// Every check that ran, in order.
    pub checks: Vec<Check>,
    /// The transaction id, when the certificate could be read.
    pub tx: Option<String>,
    /// The claimed height.
    pub height: Option<u64>,
    /// `lower.iat`.
    pub not_before: Option<u64>,
    /// `upper.iat`.
    pub not_after: Option<u64>,
}

impl From<CertificateVerdict> for CertificateView {
    fn from(v: CertificateVerdict) -> Self {
        Self {
            valid: v.valid,
            main_chain_checked: v.main_chain_checked,
            main_chain_proof: v.main_chain_proof,
            main_chain_witnesses: v.main_chain_witnesses.map(MainChainWitnessesView::from),
            checks: v.checks,
            tx: v.tx,
            height: v.height,
            not_before: v.not_before,
            not_after: v.not_after,
        }
    }
}

/// [`MainChainWitnesses`] as JavaScript reads it (camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MainChainWitnessesView {
    /// The names of the witnesses whose cosignatures counted, in the descriptor's order.
    pub vouched: Vec<String>,
    /// The names of every witness of the descriptor, in its order.
    pub known: Vec<String>,
    /// The size of the checkpoint they cosigned.
    pub checkpoint_size: u64,
}

impl From<MainChainWitnesses> for MainChainWitnessesView {
    fn from(w: MainChainWitnesses) -> Self {
        Self {
            vouched: w.vouched,
            known: w.known,
            checkpoint_size: w.checkpoint_size,
        }
    }
}

/// A block's fields as text (SPEC §1.2), for showing a certificate's `block`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    /// `u` as a UUID (`8-4-4-4-12` lowercase hex).
    pub uuid: String,
    /// `m^H`, hex.
    pub batch_root: String,
    /// `t^H`, hex.
    pub parent_timestamp: String,
}

impl From<&Block> for BlockView {
    fn from(block: &Block) -> Self {
        let mut uuid = String::with_capacity(36);
        for (i, c) in hex::encode(block.uuid).chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                uuid.push('-');
            }
            uuid.push(c);
        }
        Self {
            uuid,
            batch_root: block.batch_root.to_hex(),
            parent_timestamp: block.parent_timestamp.to_hex(),
        }
    }
}

/// The block `hex` (its 81 bytes as lowercase hex, as a certificate's `block`)
/// decoded; `None` when it is not a block (the certificate's checks say why).
pub fn describe_block(hex: &str) -> Option<BlockView> {
    let bytes = hex::decode(hex).ok()?;
    Block::decode(&bytes).ok().as_ref().map(BlockView::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_trust_descriptor_is_one_failed_check() {
        for chain in ["", "{", "{}", "[1]"] {
            let verdict = check("{}", chain, None, HashSeed::new(1));
            assert!(!verdict.valid);
            assert!(!verdict.main_chain_checked);
            assert_eq!(verdict.checks.len(), 1);
            assert_eq!(verdict.checks[0].name, "trust_descriptor");
            assert!(verdict.checks[0].detail.starts_with("chain: "));
        }
    }

    #[test]
    fn a_block_is_described_and_anything_else_is_none() {
        let block = Block {
            uuid: *b"\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef",
            batch_root: crate::hash::Hash32([7; 32]),
            parent_timestamp: crate::hash::Hash32([9; 32]),
        };
        let view = describe_block(&hex::encode(block.encode()));
        assert_eq!(
            view,
            Some(BlockView {
                uuid: "01234567-89ab-cdef-0123-456789abcdef".into(),
                batch_root: "07".repeat(32),
                parent_timestamp: "09".repeat(32),
            })
        );
        let wrong_version = format!("02{}", "01".repeat(80));
        for bad in ["", "01", "zz", &wrong_version] {
            assert_eq!(describe_block(bad), None, "{bad}");
        }
    }
}
