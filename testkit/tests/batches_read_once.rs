//! The audit reads each batch once: the main chain is formed before the batches are
//! examined, and the transaction ids of its batches are kept as they are checked. Its
//! audit is the one the builder gives when it reads the main chain's batches a second
//! time ([`AuditBuilder::finish`]), whatever the batches hold.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use verifier_core::certificate::ObjectSource;
use verifier_core::chain::{Audit, AuditBuilder, AuditSource, Examined, Listing};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, Snapshot};
use zipchain_testkit::ChainKit;

/// A snapshot that counts its reads of batches.
struct Counting<'a> {
    inner: &'a Snapshot,
    batch_reads: AtomicUsize,
}

impl Counting<'_> {
    fn count(&self, kind: ObjectKind) {
        if kind == ObjectKind::Batch {
            self.batch_reads.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl ObjectSource for Counting<'_> {
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        self.count(kind);
        self.inner.object(kind, key)
    }
}

impl AuditSource for Counting<'_> {
    type Error = Infallible;

    fn names(&self, kind: ObjectKind) -> Result<Listing, Infallible> {
        self.inner.names(kind)
    }

    fn with_object(
        &self,
        kind: ObjectKind,
        name: &str,
        buf: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), String> {
        self.count(kind);
        self.inner.with_object(kind, name, buf, f)
    }

    fn set_aside(&self) -> Vec<(ObjectKind, Hash32, u64)> {
        self.inner.set_aside()
    }
}

/// The audit of the kit's snapshot through [`Counting`], and how many batch reads it
/// made; checked against the builder that reads the main chain's batches again.
#[track_caller]
fn audit_reading_batches_once(kit: &ChainKit) -> Audit {
    let snapshot = kit.snapshot();
    let auditor = kit.auditor();
    let counting = Counting {
        inner: snapshot,
        batch_reads: AtomicUsize::new(0),
    };
    let audit = auditor.audit_source(&counting, &mut |_, _| {}).unwrap();
    assert_eq!(
        counting.batch_reads.into_inner(),
        snapshot.count(ObjectKind::Batch),
        "every listed batch read once, none again"
    );

    let mut builder = AuditBuilder::new(auditor.genesis());
    for (kind, key, bytes) in snapshot.iter() {
        builder.add(kind, auditor.examine(kind, &key.to_hex(), bytes));
    }
    for &(kind, key, size) in snapshot.oversized() {
        builder.add(kind, Examined::oversized(kind, &key, size));
    }
    assert_eq!(audit, builder.finish(snapshot), "as if read twice");
    audit
}

#[test]
fn a_clean_chain_and_batches_beside_it() {
    let (mut kit, chain) = common::plain(6);
    let tip = chain.last().unwrap().clone();
    // Two main-chain blocks with the same transactions share one batch.
    let txs: [&[u8]; 2] = [b"twice", b"again"];
    let again = kit.append(&tip, &txs);
    let twice = kit.append(&again, &txs);
    assert_eq!(again.batch_root, twice.batch_root);
    // A batch no block names, a batch that is not one, a batch over its size limit.
    let loose = Hash32::digest(b"not a root");
    kit.snapshot_mut()
        .insert(ObjectKind::Batch, loose, vec![0x80]);
    kit.snapshot_mut()
        .note_oversized(ObjectKind::Batch, Hash32::digest(b"big"), 2 << 30);

    let audit = audit_reading_batches_once(&kit);
    assert_eq!(audit.height(), Some(8));
    assert!(audit.missing_batches.is_empty());
    let twice_ids = twice.tx_ids();
    assert_eq!(audit.final_height(&twice_ids[0]), Some(7));
    assert_eq!(audit.final_height(&chain[3].tx_ids()[0]), Some(3));
    let invalid: Vec<&str> = audit
        .invalid_objects
        .iter()
        .map(|i| i.key.as_str())
        .collect();
    assert_eq!(invalid.len(), 2, "{invalid:?}");
    assert!(invalid.contains(&loose.to_hex().as_str()));
}

#[test]
fn a_changed_and_a_missing_main_chain_batch() {
    let (mut kit, chain) = common::plain(7);
    // Height 3's batch holds other bytes under its name; height 5's is gone.
    let changed = chain[3].batch_root;
    let other = kit
        .snapshot()
        .get(ObjectKind::Batch, &chain[4].batch_root)
        .unwrap()
        .to_vec();
    kit.snapshot_mut().insert(ObjectKind::Batch, changed, other);
    kit.snapshot_mut()
        .remove(ObjectKind::Batch, &chain[5].batch_root);

    let audit = audit_reading_batches_once(&kit);
    assert_eq!(audit.height(), Some(7));
    assert_eq!(audit.missing_batches, vec![chain[3].block, chain[5].block]);
    assert_eq!(audit.final_height(&chain[2].tx_ids()[0]), Some(2));
    assert_eq!(audit.final_height(&chain[4].tx_ids()[0]), None);
    assert_eq!(audit.invalid_objects.len(), 1);
    assert_eq!(audit.invalid_objects[0].key, changed.to_hex());
}

#[test]
fn a_chain_without_batches() {
    let (mut kit, chain) = common::plain(3);
    for b in &chain {
        kit.snapshot_mut().remove(ObjectKind::Batch, &b.batch_root);
    }
    let audit = audit_reading_batches_once(&kit);
    assert_eq!(audit.height(), Some(3));
    assert_eq!(audit.missing_batches.len(), 4);
    assert!(audit.final_transactions.is_empty());
    assert!(!audit.counts.contains_key(&ObjectKind::Batch));
}
