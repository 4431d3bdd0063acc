//! Helpers shared by the replication tests: deterministic bytes, the conformance snapshot,
//! and directory trees as maps.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, classify_path};

/// `n` pseudo-random bytes from `seed` (xorshift64*; no dependency, same on every run).
pub(crate) fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// The conformance snapshot directory, when the shared vectors are checked out.
pub(crate) fn conformance_snapshot() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/chain/snapshot");
    dir.is_dir().then_some(dir)
}

/// Every file under `dir`, by path relative to it (with `/`), with its bytes.
pub(crate) fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    zipchain_testkit::read_tree(dir).unwrap()
}

/// The objects of a snapshot tree: (kind, name, bytes) for every `<kind dir>/<hex>` file.
pub(crate) fn objects(tree: &BTreeMap<String, Vec<u8>>) -> Vec<(ObjectKind, Hash32, Vec<u8>)> {
    tree.iter()
        .filter_map(|(rel, bytes)| {
            let (kind, key) = classify_path(rel)?;
            Some((kind, key, bytes.clone()))
        })
        .collect()
}
