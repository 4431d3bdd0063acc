//! Shared helpers of the test-kit tests.
#![allow(dead_code)]

use verifier_core::chain::{Audit, InvalidObject};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_testkit::BuiltBlock;

/// Block hashes of `blocks`.
pub(crate) fn hashes<'a>(blocks: impl IntoIterator<Item = &'a BuiltBlock>) -> Vec<Hash32> {
    blocks.into_iter().map(|b| b.block).collect()
}

/// The audit's main chain as block hashes.
pub(crate) fn main_chain(audit: &Audit) -> Vec<Hash32> {
    audit.main_chain.iter().map(|b| b.block).collect()
}

/// Sorted copy.
pub(crate) fn sorted(mut v: Vec<Hash32>) -> Vec<Hash32> {
    v.sort();
    v
}

/// Asserts the audit's invalid objects are exactly `expected` (kind, key, reason substring).
#[track_caller]
pub(crate) fn assert_invalid(audit: &Audit, expected: &[(ObjectKind, Hash32, &str)]) {
    let mut want: Vec<(ObjectKind, String, &str)> = expected
        .iter()
        .map(|(k, h, r)| (*k, h.to_hex(), *r))
        .collect();
    want.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let got: &[InvalidObject] = &audit.invalid_objects;
    assert_eq!(
        got.len(),
        want.len(),
        "invalid objects: got {got:#?}, expected {want:#?}"
    );
    for (g, (kind, key, reason)) in got.iter().zip(&want) {
        assert_eq!(
            (g.kind, &g.key),
            (*kind, key),
            "invalid objects: got {got:#?}"
        );
        assert!(
            g.reason.contains(reason),
            "{kind} {key}: reason {:?} does not contain {reason:?}",
            g.reason
        );
    }
}

/// Asserts a clean audit shape: no invalid objects, no equivocation.
#[track_caller]
pub(crate) fn assert_clean(audit: &Audit) {
    assert_invalid(audit, &[]);
    assert!(audit.equivocations.is_empty(), "{:?}", audit.equivocations);
    assert!(!audit.has_fatal_findings());
}

/// A kit with a plain chain of `n` blocks after `b0`; returns it and the chain, `b0` first.
pub(crate) fn plain(n: usize) -> (zipchain_testkit::ChainKit, Vec<BuiltBlock>) {
    labelled(n, "plain")
}

/// As [`plain`], the transactions being `"<label> <i>"`.
pub(crate) fn labelled(n: usize, label: &str) -> (zipchain_testkit::ChainKit, Vec<BuiltBlock>) {
    let mut kit = zipchain_testkit::ChainKit::new();
    let b0 = kit.genesis().clone();
    let mut chain = vec![b0.clone()];
    chain.extend(kit.extend(&b0, n, label));
    (kit, chain)
}

/// XORs the byte at `index` (from the end when negative) of the stored object with 0x01,
/// keeping its name. Returns the original bytes.
pub(crate) fn flip(
    kit: &mut zipchain_testkit::ChainKit,
    kind: ObjectKind,
    key: &Hash32,
    index: isize,
) -> Vec<u8> {
    let original = kit.snapshot().get(kind, key).unwrap().to_vec();
    let mut bytes = original.clone();
    let i = if index < 0 {
        bytes.len() - index.unsigned_abs()
    } else {
        index as usize
    };
    bytes[i] ^= 0x01;
    kit.snapshot_mut().insert(kind, *key, bytes);
    original
}
