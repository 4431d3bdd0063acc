//! A main-chain block whose batch is missing: reported in `missing_batches`, and the
//! chain goes on (batches do not take part in `omc`); from that block on no
//! transaction is reported final, since its first occurrence can no longer be proven.

mod common;

use common::{assert_clean, hashes, main_chain, plain};
use verifier_core::certificate::make_certificate;
use verifier_core::snapshot::ObjectKind;

#[test]
fn a_missing_batch_is_reported_and_the_chain_goes_on() {
    let (mut kit, chain) = plain(5);
    let b2 = chain[2].clone();
    kit.snapshot_mut().remove(ObjectKind::Batch, &b2.batch_root);

    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert_eq!(audit.height(), Some(5));
    assert_eq!(audit.missing_batches, vec![b2.block]);
    assert_eq!(audit.sequence_gap_at, None);
    for tx in b2.tx_ids() {
        assert_eq!(audit.final_height(&tx), None);
        let auditor = kit.auditor();
        assert_eq!(
            make_certificate(&auditor, &audit, kit.snapshot(), &tx).unwrap(),
            None
        );
    }
    for (h, b) in chain.iter().enumerate().skip(1).filter(|(h, _)| *h != 2) {
        for tx in b.tx_ids() {
            let expected = (h < 2).then_some(h as u64);
            assert_eq!(audit.final_height(&tx), expected, "height {h}");
        }
    }
    assert_eq!(audit.final_transactions.len(), 1);
    assert_eq!(audit.report().missing_batches, vec![b2.block.to_hex()]);
}

#[test]
fn a_missing_genesis_batch_is_listed_first() {
    let (mut kit, chain) = plain(3);
    kit.snapshot_mut()
        .remove(ObjectKind::Batch, &chain[0].batch_root);
    kit.snapshot_mut()
        .remove(ObjectKind::Batch, &chain[3].batch_root);
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert_eq!(audit.missing_batches, vec![chain[0].block, chain[3].block]);
    assert_eq!(audit.final_transactions.len(), 2);
}
