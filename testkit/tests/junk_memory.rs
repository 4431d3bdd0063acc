//! Memory grows with the chain, not with the junk beside it (issue #13): well-formed
//! batches that no block references, millions of empty transactions each, are checked
//! against their names and counted, never held. Before the fix the audit kept 32
//! bytes per transaction of every batch (and built them all at once to check a name):
//! here 12 MiB for 384 KiB of junk.
//!
//! One test in its own binary, so that the counting allocator sees only this audit.

use peak_alloc::PeakAlloc;
use verifier_core::batch::Batch;
use verifier_core::snapshot::ObjectKind;
use zipchain_testkit::ChainKit;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// A canonical batch of `n` empty transactions (`9a <n> 40 40 …`) and its name.
fn empty_batch(n: u32, salt: u8) -> (verifier_core::hash::Hash32, Vec<u8>) {
    let mut bytes = vec![0x9a];
    bytes.extend_from_slice(&(n + 1).to_be_bytes());
    // One distinct transaction first, so each junk batch has its own name.
    bytes.extend_from_slice(&[0x41, salt]);
    bytes.resize(bytes.len() + n as usize, 0x40);
    let root = Batch::root_of(&bytes, &Default::default()).expect("a canonical batch");
    (root, bytes)
}

#[test]
fn junk_batches_beside_a_chain_cost_no_memory() {
    let mut kit = ChainKit::new();
    let genesis = kit.genesis().clone();
    let blocks = kit.extend(&genesis, 4, "real");
    let clean = kit.audit();
    assert_eq!(clean.height(), Some(4));

    const JUNK: u32 = 1 << 17;
    for salt in 0..3 {
        let (name, bytes) = empty_batch(JUNK, salt);
        kit.snapshot_mut().insert(ObjectKind::Batch, name, bytes);
    }
    let junk_bytes = 3 * (JUNK as usize);

    HEAP.reset_peak_usage();
    let before = HEAP.current_usage();
    let audit = kit.audit();
    let peak = HEAP.peak_usage().saturating_sub(before);
    println!("audit heap peak: {peak} bytes beside {junk_bytes} bytes of junk batches");

    // The junk is valid and unreferenced: the chain and its verdict are unchanged.
    assert_eq!(audit.height(), clean.height());
    assert_eq!(audit.main_chain, clean.main_chain);
    assert!(
        audit.invalid_objects.is_empty(),
        "{:?}",
        audit.invalid_objects
    );
    assert_eq!(audit.final_transactions, clean.final_transactions);
    assert_eq!(blocks.len(), 4);
    // Ids of every junk transaction would be 32 bytes each: 12 MiB (4 MiB for one
    // batch at a time). The audit of a five-block chain needs about 32 KiB, however
    // many empty transactions lie beside it.
    let ids_bytes = junk_bytes * 32;
    assert!(
        peak < 1 << 20,
        "the audit's heap peaked at {peak} bytes beside {junk_bytes} bytes of junk batches \
         (their ids would be {ids_bytes} bytes)"
    );
}
