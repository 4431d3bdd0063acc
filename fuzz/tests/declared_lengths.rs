//! No allocation sized by a declared length before it is checked against the input (issue
//! #18): every reader of outside input, given a few bytes that declare a huge length or
//! count (a CBOR head, a DER length, a tar header's size, a shard's original length, an
//! audit state's record counts), refuses them having allocated no more than a few
//! kilobytes. The heap's peak is measured by a counting global allocator, one reader at a
//! time.

use peak_alloc::PeakAlloc;
use verifier_core::batch::Batch;
use verifier_core::chain::ResumableAudit;
use verifier_core::fuzzing::{cbor_item, x509_fields};
use verifier_core::nsm::{NsmDocument, NsmLimits};
use verifier_core::snapshot::Snapshot;
use zipchain_fuzz::{fixtures, framing, seeds};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// The most a reader may allocate beyond what was allocated before it ran.
const MAX_PEAK: usize = 64 << 10;

/// A CBOR head of major type `major` declaring `n`, in 9 bytes.
fn head(major: u8, n: u64) -> Vec<u8> {
    [vec![(major << 5) | 27], n.to_be_bytes().to_vec()].concat()
}

/// A tar of one file whose header declares `size` bytes but holds none.
fn tar_declaring(size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header
        .set_path("blocks/".to_owned() + &"ab".repeat(32))
        .unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    [header.as_bytes().to_vec(), vec![0; 1024]].concat()
}

/// A reader given a crafted input: whether it refused it.
type Case<'a> = (&'static str, Box<dyn Fn() -> bool + 'a>);

#[test]
fn huge_declared_lengths_are_refused_before_anything_that_size_is_allocated() {
    // Inputs made first: the conformance chain's audit is not measured.
    let corpora = seeds::from_vectors();
    let auditor = &fixtures::conformance().auditor;
    let state = &corpora["resume_state"][0].1;
    let [main, finals, rest] = framing::split::<3>(state);
    // The rest part's main-chain record count (after magic, version, genesis, fingerprint).
    let mut huge_count = rest.to_vec();
    huge_count[84..92].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    let shard = &corpora["shard"][0].1;
    let mut huge_shard = shard.clone();
    // The original length: after magic, version, kind, index, counts and key.
    huge_shard[41..49].copy_from_slice(&u64::MAX.to_be_bytes());

    let cases: Vec<Case<'_>> = vec![
        (
            "COSE_Sign1 with a 2^64-1 byte protected header",
            Box::new(|| {
                let doc = [vec![0x84], head(2, u64::MAX)].concat();
                NsmDocument::parse_unverified(&doc, &NsmLimits::default()).is_err()
            }),
        ),
        (
            "payload array of 2^64-1 items",
            Box::new(|| cbor_item(&head(4, u64::MAX)).is_err()),
        ),
        (
            "payload map of 2^64-1 entries",
            Box::new(|| cbor_item(&head(5, u64::MAX)).is_err()),
        ),
        (
            "payload byte string of 2^64-1 bytes",
            Box::new(|| cbor_item(&head(2, u64::MAX)).is_err()),
        ),
        (
            "batch of 2^32 transactions",
            Box::new(|| Batch::decode(&head(4, 1 << 32)).is_err()),
        ),
        (
            "batch of one 2^40-byte transaction",
            Box::new(|| Batch::decode(&[vec![0x81], head(2, 1 << 40)].concat()).is_err()),
        ),
        (
            "certificate of a 4 GiB SEQUENCE",
            Box::new(|| x509_fields(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err()),
        ),
        (
            "tar entry of 8 GiB",
            Box::new(|| Snapshot::from_tar(&tar_declaring(8 << 30)).is_err()),
        ),
        (
            "shard of an object of 2^64-1 bytes",
            Box::new(|| replication::shard::Shard::from_bytes(&huge_shard).is_err()),
        ),
        (
            "audit state of 2^63 main-chain records",
            Box::new(|| ResumableAudit::decode(auditor, main, finals, &huge_count).is_err()),
        ),
    ];
    for (what, refuses) in cases {
        let before = HEAP.current_usage();
        HEAP.reset_peak_usage();
        assert!(refuses(), "{what}: not refused");
        let peak = HEAP.peak_usage().saturating_sub(before);
        assert!(peak <= MAX_PEAK, "{what}: {peak} bytes allocated");
        eprintln!("{what}: refused, {peak} bytes allocated");
    }
}
