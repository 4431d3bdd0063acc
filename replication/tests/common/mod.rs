//! Helpers shared by the replication tests: deterministic bytes and blocks, the runtime,
//! the conformance snapshot, directory trees as maps, and the round trip through six cloud
//! stores (write, read back, pull).
#![allow(dead_code)]

pub(crate) mod counting;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use object_store::{ObjectStoreExt as _, PutMode, PutOptions, PutPayload};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, classify_path};
use zipchain_replication::stores::shard_path;
use zipchain_replication::{PullOptions, StoreError, Stores, encode, pull};
use zipchain_testkit::ChainKit;

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

/// A block of `n` pseudo-random bytes from `seed` ([`bytes`]), and its name.
pub(crate) fn block(seed: u64, n: usize) -> (Hash32, Vec<u8>) {
    let bytes = bytes(seed, n);
    (Hash32::digest(&bytes), bytes)
}

/// A Tokio runtime with two workers.
pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Six buckets or containers `<name>-0` … `<name>-5`, each made by `create`; their
/// `<scheme>://` store URLs (with a prefix on the odd ones).
pub(crate) fn six_urls(scheme: &str, name: &str, mut create: impl FnMut(&str)) -> Vec<String> {
    (0..6)
        .map(|i| {
            let bucket = format!("{name}-{i}");
            create(&bucket);
            if i % 2 == 1 {
                format!("{scheme}://{bucket}/zipchain/shards")
            } else {
                format!("{scheme}://{bucket}")
            }
        })
        .collect()
}

/// Writes blocks of 0, 1, 1000 and 70,000 bytes (from seeds `seed`, `seed + 1`, …) through
/// `stores`, each twice (a conditional create that finds the identical shard is a
/// success); checks that each store holds exactly its shard, and that a pull rebuilds
/// every block.
pub(crate) async fn write_read_back_and_pull(stores: &Stores, seed: u64) {
    let mut objects = Vec::new();
    for (i, n) in [0usize, 1, 1000, 70_000].into_iter().enumerate() {
        let (key, bytes) = block(seed + i as u64, n);
        stores
            .put_object(ObjectKind::Block, key, &bytes)
            .await
            .unwrap_or_else(|e| panic!("put {n} bytes: {e}"));
        // Again: a conditional create that finds the identical shard is a success.
        stores
            .put_object(ObjectKind::Block, key, &bytes)
            .await
            .unwrap();
        objects.push((key, bytes));
    }
    // Each store holds exactly its shard.
    for (key, bytes) in &objects {
        let shards = encode(ObjectKind::Block, *key, bytes);
        for (i, shard) in shards.iter().enumerate() {
            let got = stores
                .store(i)
                .unwrap()
                .get(&shard_path(ObjectKind::Block, key))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(got.as_ref(), shard.to_bytes().as_slice(), "store {i}");
        }
    }
    let out = tempfile::tempdir().unwrap();
    let report = pull(stores, out.path(), PullOptions::default(), &|_| {})
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.rebuilt_total(), objects.len());
    for (key, bytes) in &objects {
        let got = std::fs::read(out.path().join("blocks").join(key.to_hex())).unwrap();
        assert_eq!(&got, bytes);
    }
}

/// Writes the block of 5000 bytes from `seed` through `stores`; then checks that a
/// conditional create (the writer's only kind of write) over its shard on store 2 fails,
/// and so does replicating other bytes under the same name, on every store, and that store
/// 2 still holds its shard. Returns the block.
pub(crate) async fn write_then_conflicting_creates_fail(
    stores: &Stores,
    seed: u64,
) -> (Hash32, Vec<u8>) {
    let (key, bytes) = block(seed, 5000);
    stores
        .put_object(ObjectKind::Block, key, &bytes)
        .await
        .unwrap();
    // `If-None-Match: *` over an existing object: the store answers that it exists.
    let err = stores
        .store(2)
        .unwrap()
        .put_opts(
            &shard_path(ObjectKind::Block, &key),
            PutPayload::from(b"someone else".to_vec()),
            PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::AlreadyExists { .. }),
        "{err:?}"
    );
    let err = stores
        .put_object_keyed(ObjectKind::Block, key, b"other bytes under the same name")
        .await
        .unwrap_err();
    let StoreError::Incomplete { written, failures } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*written, 0, "{err}");
    assert!(
        failures
            .iter()
            .all(|f| matches!(f, StoreError::ShardConflict { .. })),
        "{err}"
    );
    let shards = encode(ObjectKind::Block, key, &bytes);
    let got = stores
        .store(2)
        .unwrap()
        .get(&shard_path(ObjectKind::Block, &key))
        .await
        .unwrap();
    assert_eq!(
        got.bytes().await.unwrap().as_ref(),
        shards[2].to_bytes().as_slice(),
        "store 2's shard changed"
    );
    (key, bytes)
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

/// The snapshot tree of `kit`'s objects as a pull writes it: `<kind dir>/<hex>` → bytes
/// (no `chain.json`).
pub(crate) fn kit_tree(kit: &ChainKit) -> BTreeMap<String, Vec<u8>> {
    kit.snapshot()
        .iter()
        .map(|(kind, key, bytes)| (format!("{}/{}", kind.dir(), key.to_hex()), bytes.to_vec()))
        .collect()
}

/// Replicates through `stores`, as the writer does, every object of `kit` not in
/// `written` yet, and adds it there; returns the objects written now.
pub(crate) async fn replicate_new(
    stores: &Stores,
    kit: &ChainKit,
    written: &mut BTreeSet<(ObjectKind, Hash32)>,
) -> BTreeSet<(ObjectKind, Hash32)> {
    let mut now = BTreeSet::new();
    for (kind, key, bytes) in kit.snapshot().iter() {
        if written.insert((kind, *key)) {
            stores
                .put_object(kind, *key, bytes)
                .await
                .unwrap_or_else(|e| panic!("{kind} {key}: {e}"));
            now.insert((kind, *key));
        }
    }
    now
}

/// The shard of the object `kind` `key` that store `i` of `stores` holds.
pub(crate) async fn shard_of(stores: &Stores, i: usize, kind: ObjectKind, key: &Hash32) -> Vec<u8> {
    let got = stores.store(i).unwrap().get(&shard_path(kind, key)).await;
    got.unwrap().bytes().await.unwrap().to_vec()
}

/// Damages store `i`: puts `bytes` over its shard of the object `kind` `key` (a plain
/// PUT, not the writer's conditional create).
pub(crate) async fn overwrite_shard(
    stores: &Stores,
    i: usize,
    kind: ObjectKind,
    key: &Hash32,
    bytes: Vec<u8>,
) {
    let store = stores.store(i).unwrap();
    store
        .put(&shard_path(kind, key), PutPayload::from(bytes))
        .await
        .unwrap();
}
