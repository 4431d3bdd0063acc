//! A chain whose enclave changes the NSM payload encoding midway, as real ones did in
//! September 2025 (the outer map from definite `a9 …` to indefinite `bf … ff`, SPEC
//! §1.5): the audit accepts every attestation of both eras, and the chain stays whole.

mod common;

use common::{assert_clean, hashes, main_chain};
use nsm_issuer::PayloadEncoding;
use verifier_core::snapshot::ObjectKind;
use zipchain_testkit::ChainKit;

/// The first byte of an NSM document's payload: the document is an untagged
/// COSE_Sign1 `84 44 a1013822 a0 59 <len16> <payload>` (payloads of 256..65535 bytes).
fn payload_head(doc: &[u8]) -> u8 {
    assert_eq!(doc[..7], [0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0]);
    assert_eq!(doc[7], 0x59);
    doc[10]
}

#[test]
fn a_chain_whose_attestations_change_encoding_midway_audits_clean() {
    let mut kit = ChainKit::new();
    kit.sequencer_mut()
        .set_payload_encoding(PayloadEncoding::Definite);
    let mut chain = vec![kit.genesis().clone()];
    // The genesis attestation came before the call; re-check what the kit made.
    for h in 1..=6u64 {
        if h == 4 {
            kit.sequencer_mut()
                .set_payload_encoding(PayloadEncoding::Indefinite);
        }
        let parent = chain.last().unwrap().clone();
        chain.push(kit.append(&parent, &[format!("tx {h}").as_bytes()]));
    }
    let audit = kit.audit();
    assert_clean(&audit);
    assert_eq!(main_chain(&audit), hashes(&chain));
    assert_eq!(audit.height(), Some(6));

    let mut heads: Vec<u8> = kit
        .snapshot()
        .objects(ObjectKind::Attestation)
        .map(|(_, doc)| payload_head(doc))
        .collect();
    heads.sort_unstable();
    // Genesis (issued by default, indefinite), heights 1-3 definite, 4-6 indefinite.
    assert_eq!(heads, [0xa9, 0xa9, 0xa9, 0xbf, 0xbf, 0xbf, 0xbf]);
}
