//! The incremental pull (issue #17): `pull_new` into a snapshot directory fetches only the
//! objects it does not hold, with the guarantees of the full pull for those it fetches.
//!
//! The chains are real (the test kit's stand-in services: RS256 timestamps, NSM-wrapped
//! sequence attestations, batches), replicated object by object through `Stores` as the
//! writer does, and grown between pulls. Every store is wrapped to count the GETs and
//! listings a pull makes of it. Stores: in memory, six `file://` directories, three
//! `s3://` stores whose endpoint is a closed loopback port, and `moto_server` (a server
//! that cannot start fails its test; only `ZIPCHAIN_SKIP_MOTO=1` skips it).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::counting::{Counting, counted, total_gets};
use common::{kit_tree, overwrite_shard, replicate_new, rt, shard_of, tree};
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt as _};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_replication::stores::shard_path;
use zipchain_replication::{PullError, PullOptions, PullReport, Stores, pull, pull_new};
use zipchain_testkit::ChainKit;
use zipchain_testkit::moto::{BucketLock, MotoServer};

/// Six empty stores in memory.
fn memory() -> Stores {
    Stores::from_stores(std::array::from_fn(|_| {
        Arc::new(InMemory::new()) as Arc<dyn ObjectStore>
    }))
}

/// The listing timeout of these tests: short, as the dead stores cost it every pull.
fn quick() -> PullOptions {
    PullOptions {
        list_timeout: Duration::from_secs(1),
        ..PullOptions::default()
    }
}

/// What a report says was rebuilt, as a set.
fn rebuilt(report: &PullReport) -> BTreeSet<(ObjectKind, Hash32)> {
    report
        .rebuilt
        .iter()
        .flat_map(|(kind, keys)| keys.iter().map(|k| (*kind, *k)))
        .collect()
}

/// Asserts that each store was listed once per kind prefix and asked `gets` GETs.
#[track_caller]
fn assert_requests(counters: &[Arc<Counting>; 6], gets: &[usize; 6]) {
    for (i, c) in counters.iter().enumerate() {
        assert_eq!(c.lists(), 4, "store {i} listed once per kind");
        assert_eq!(c.gets(), gets[i], "GETs of store {i}");
    }
}

/// Counts from 0 again, then pulls what is new from `reader` into `dir`.
async fn counted_pull(reader: &Stores, dir: &Path, counters: &[Arc<Counting>; 6]) -> PullReport {
    for c in counters {
        c.reset();
    }
    pull_new(reader, dir, quick(), &|_| {}).await.unwrap()
}

/// A chain of a genesis and three blocks.
fn chain() -> ChainKit {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    kit.extend(&b0, 3, "first");
    kit
}

/// Grows `kit`: a longer main chain, a fork, and an equivocating attestation.
fn grow(kit: &mut ChainKit, label: &str) {
    let tip = kit.blocks().last().unwrap().clone();
    let more = kit.extend(&tip, 3, label);
    kit.append(&more[0], &[format!("{label} fork").as_bytes()]);
    let b0 = kit.genesis().clone();
    kit.append_unsequenced(&b0, &[format!("{label} unsequenced").as_bytes()]);
}

/// The whole story on `writer` (how objects are replicated) and `reader` (the same
/// stores, counted): a first pull into an empty directory equals the full pull; after
/// the chain grows, a pull into the same directory fetches exactly the new objects (six
/// GETs each) and leaves the snapshot a fresh full pull gives; with nothing new, it
/// lists and reads nothing.
async fn grows_and_pulls_only_what_is_new(
    writer: &Stores,
    reader: &Stores,
    counters: &[Arc<Counting>; 6],
) {
    let mut kit = chain();
    let mut written = BTreeSet::new();
    let first = replicate_new(writer, &kit, &mut written).await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshot");

    let report = pull_new(reader, &snap, quick(), &|_| {}).await.unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!((report.objects, report.held), (first.len(), 0));
    assert_eq!(rebuilt(&report), first);
    assert_eq!(
        report.bytes,
        kit_tree(&kit).values().map(|b| b.len() as u64).sum::<u64>()
    );
    assert_eq!(tree(&snap), kit_tree(&kit));
    // The full pull into another directory gives the same snapshot and report.
    let full_dir = dir.path().join("full");
    let full = pull(reader, &full_dir, quick(), &|_| {}).await.unwrap();
    assert_eq!(tree(&full_dir), tree(&snap));
    assert_eq!(full.rebuilt, report.rebuilt);

    for round in ["second", "third"] {
        grow(&mut kit, round);
        let new = replicate_new(writer, &kit, &mut written).await;
        assert!(new.len() >= 12, "{round}: {} new objects", new.len());
        let report = counted_pull(reader, &snap, counters).await;
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(rebuilt(&report), new, "{round}: exactly the new objects");
        assert_eq!(report.held, written.len() - new.len());
        assert_eq!(report.objects, written.len());
        assert_eq!(report.missing_shards, 0);
        assert!(report.bad_shards.is_empty());
        assert_requests(counters, &[new.len(); 6]);
        assert_eq!(tree(&snap), kit_tree(&kit), "{round}");
        let fresh = tempfile::tempdir().unwrap();
        pull(reader, fresh.path(), quick(), &|_| {}).await.unwrap();
        assert_eq!(
            tree(fresh.path()),
            tree(&snap),
            "{round}: a fresh full pull"
        );
    }

    // Nothing new: the listings, and not one read.
    let report = counted_pull(reader, &snap, counters).await;
    assert!(report.is_complete());
    assert_eq!(report.rebuilt_total(), 0);
    assert_eq!(
        (report.held, report.objects),
        (written.len(), written.len())
    );
    assert_requests(counters, &[0; 6]);
}

#[test]
fn in_memory_stores_grow_and_only_new_objects_are_fetched() {
    rt().block_on(async {
        let stores = memory();
        let (reader, counters) = counted(&stores);
        grows_and_pulls_only_what_is_new(&stores, &reader, &counters).await;
    });
}

#[test]
fn moto_buckets_grow_and_only_new_objects_are_fetched_and_a_corrupt_shard_is_outvoted() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let urls = common::six_urls("s3", "grow", |bucket| {
        moto.create_bucket(bucket, BucketLock::None);
    });
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, moto.store_options()).unwrap();
        let (reader, counters) = counted(&stores);
        grows_and_pulls_only_what_is_new(&stores, &reader, &counters).await;

        // One more object, its shard in bucket 3 overwritten with another shard of its
        // own (self-consistent, wrong index) and its shard in bucket 0 gone.
        let dir = tempfile::tempdir().unwrap();
        let before = pull_new(&reader, dir.path(), quick(), &|_| {})
            .await
            .unwrap();
        assert!(before.is_complete());
        let (key, bytes) = common::block(77, 4000);
        stores
            .put_object(ObjectKind::Block, key, &bytes)
            .await
            .unwrap();
        let other = shard_of(&stores, 4, ObjectKind::Block, &key).await;
        overwrite_shard(&stores, 3, ObjectKind::Block, &key, other).await;
        let path = shard_path(ObjectKind::Block, &key);
        stores.store(0).unwrap().delete(&path).await.unwrap();
        let report = pull_new(&reader, dir.path(), quick(), &|_| {})
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(rebuilt(&report), BTreeSet::from([(ObjectKind::Block, key)]));
        assert_eq!(report.missing_shards, 1);
        assert_eq!(report.bad_shards.len(), 1, "{:?}", report.bad_shards);
        assert_eq!(report.bad_shards[0].store, 3);
        assert!(report.bad_shards[0].reason.contains("index 4"));
        let got = std::fs::read(dir.path().join("blocks").join(key.to_hex())).unwrap();
        assert_eq!(got, bytes);
    });
}

/// The options of an `s3://` store whose endpoint is a loopback port nobody listens on.
fn unreachable_s3_options() -> Vec<(String, String)> {
    let port = zipchain_testkit::moto::free_port().unwrap();
    vec![
        ("aws_endpoint".into(), format!("http://127.0.0.1:{port}")),
        ("aws_allow_http".into(), "true".into()),
        ("aws_access_key_id".into(), "nobody".into()),
        ("aws_secret_access_key".into(), "nothing".into()),
        ("aws_region".into(), "us-east-1".into()),
    ]
}

/// The six `file://` stores under `base`, with those in `down` replaced by unreachable
/// `s3://` stores.
fn with_stores_down(base: &Path, down: &[usize]) -> Stores {
    let urls: Vec<String> = (0..6)
        .map(|i| {
            if down.contains(&i) {
                format!("s3://gone-{i}/zipchain")
            } else {
                format!("file://{}", base.join(format!("store-{i}")).display())
            }
        })
        .collect();
    Stores::from_urls_with(&urls, unreachable_s3_options()).unwrap()
}

#[test]
fn with_three_stores_unreachable_the_incremental_pull_completes() {
    rt().block_on(async {
        let base = tempfile::tempdir().unwrap();
        let writer = Stores::local(base.path()).unwrap();
        let (reader, counters) = counted(&with_stores_down(base.path(), &[1, 3, 5]));
        let mut kit = chain();
        let mut written = BTreeSet::new();
        let snap = tempfile::tempdir().unwrap();
        for round in ["first", "second"] {
            if round != "first" {
                grow(&mut kit, round);
            }
            let new = replicate_new(&writer, &kit, &mut written).await;
            let report = counted_pull(&reader, snap.path(), &counters).await;
            assert!(report.is_complete(), "{report:#?}");
            assert_eq!(report.stores_answered(), 3);
            for i in [1, 3, 5] {
                let error = report.stores[i].error.as_deref().unwrap();
                // object_store would retry the refused connections for ~10 s; the
                // listing timeout ends the wait.
                assert_eq!(error, "listing blocks/ got no answer within 1 s");
            }
            assert_eq!(rebuilt(&report), new);
            // The live stores are enough: the dead ones are never asked for a shard.
            assert_eq!(report.missing_shards, 3 * new.len());
            let gets: Vec<usize> = counters.iter().map(|c| c.gets()).collect();
            assert_eq!(gets, [new.len(), 0, new.len(), 0, new.len(), 0]);
            assert_eq!(tree(snap.path()), kit_tree(&kit), "{round}");
        }
        // An object with only two shards on the live stores: the dead ones are asked,
        // each waited for at most the listing timeout, and it is named, not written.
        let (key, bytes) = common::block(5, 300);
        writer
            .put_object(ObjectKind::Block, key, &bytes)
            .await
            .unwrap();
        let path = base
            .path()
            .join("store-0")
            .join(shard_path(ObjectKind::Block, &key).as_ref());
        std::fs::remove_file(path).unwrap();
        let report = pull_new(&reader, snap.path(), quick(), &|_| {})
            .await
            .unwrap();
        assert!(!report.is_complete());
        assert_eq!(report.unrecoverable.len(), 1, "{report:#?}");
        assert_eq!(report.unrecoverable[0].key, key);
        let stores: Vec<usize> = report.bad_shards.iter().map(|b| b.store).collect();
        assert_eq!(stores, [1, 3, 5]);
        for bad in &report.bad_shards {
            assert_eq!(
                bad.reason,
                "the store did not answer the listing, nor within 1 s"
            );
        }
        assert!(!snap.path().join("blocks").join(key.to_hex()).exists());
    });
}

#[test]
fn with_fewer_than_three_listings_nothing_is_fetched() {
    rt().block_on(async {
        let base = tempfile::tempdir().unwrap();
        let writer = Stores::local(base.path()).unwrap();
        let kit = chain();
        replicate_new(&writer, &kit, &mut BTreeSet::new()).await;
        let (reader, counters) = counted(&with_stores_down(base.path(), &[0, 2, 3, 5]));
        let snap = tempfile::tempdir().unwrap();
        let report = pull_new(&reader, snap.path(), quick(), &|_| {})
            .await
            .unwrap();
        assert_eq!(report.stores_answered(), 2);
        assert!(!report.has_quorum());
        assert!(!report.is_complete());
        // The two stores named every object, but not one was fetched or written.
        assert_eq!(report.objects, kit_tree(&kit).len());
        assert_eq!(report.rebuilt_total(), 0);
        assert!(report.unrecoverable.is_empty());
        assert_eq!(total_gets(&counters), 0);
        assert!(tree(snap.path()).is_empty());
    });
}

#[test]
fn a_corrupt_or_missing_new_shard_is_rebuilt_from_the_others() {
    rt().block_on(async {
        let stores = memory();
        let (reader, counters) = counted(&stores);
        let mut kit = chain();
        let mut written = BTreeSet::new();
        replicate_new(&stores, &kit, &mut written).await;
        let snap = tempfile::tempdir().unwrap();
        pull_new(&reader, snap.path(), quick(), &|_| {})
            .await
            .unwrap();
        grow(&mut kit, "more");
        let new = replicate_new(&stores, &kit, &mut written).await;
        // Every new object: its shard in store 2 flipped in its last byte, its shard in
        // store 5 gone.
        for (kind, key) in &new {
            let mut shard = shard_of(&stores, 2, *kind, key).await;
            *shard.last_mut().unwrap() ^= 1;
            overwrite_shard(&stores, 2, *kind, key, shard).await;
            let path = shard_path(*kind, key);
            stores.store(5).unwrap().delete(&path).await.unwrap();
        }
        let report = counted_pull(&reader, snap.path(), &counters).await;
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(rebuilt(&report), new);
        assert_eq!(report.missing_shards, new.len());
        assert_eq!(report.bad_shards.len(), new.len());
        assert!(report.bad_shards.iter().all(|b| b.store == 2));
        assert_eq!(total_gets(&counters), 6 * new.len());
        assert_eq!(tree(snap.path()), kit_tree(&kit));
    });
}

/// What a pull killed midway leaves: some objects whole (written atomically), and
/// temporary files, half written, of others. The next pull removes the temporary files,
/// keeps the whole objects without reading them, and fetches the rest.
#[test]
fn a_pull_killed_midway_is_completed_by_the_next_one() {
    rt().block_on(async {
        let stores = memory();
        let (reader, counters) = counted(&stores);
        let mut kit = chain();
        grow(&mut kit, "more");
        replicate_new(&stores, &kit, &mut BTreeSet::new()).await;
        let expected = kit_tree(&kit);
        let snap = tempfile::tempdir().unwrap();
        snapshot_fs::dir::create_kind_dirs(snap.path()).unwrap();
        // Every other object whole, the rest not yet written.
        let (mut whole, mut rest) = (BTreeMap::new(), BTreeMap::new());
        for (i, (rel, bytes)) in expected.clone().into_iter().enumerate() {
            if i % 2 == 0 { &mut whole } else { &mut rest }.insert(rel, bytes);
        }
        for (rel, bytes) in &whole {
            std::fs::write(snap.path().join(rel), bytes).unwrap();
        }
        let mut leftovers = 0;
        for (rel, bytes) in rest.iter().take(5) {
            let (kind_dir, name) = rel.split_once('/').unwrap();
            let temp = snap
                .path()
                .join(kind_dir)
                .join(format!(".{name}.4242.{leftovers:016x}.tmp"));
            std::fs::write(temp, &bytes[..bytes.len() / 2]).unwrap();
            leftovers += 1;
        }
        let report = pull_new(&reader, snap.path(), quick(), &|_| {})
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.leftovers_removed, leftovers);
        assert_eq!(report.held, whole.len());
        assert_eq!(report.rebuilt_total(), rest.len());
        assert_eq!(total_gets(&counters), 6 * rest.len());
        assert_eq!(tree(snap.path()), expected, "no temporary file is left");
    });
}

#[test]
fn a_directory_another_pull_is_writing_is_refused() {
    rt().block_on(async {
        let snap = tempfile::tempdir().unwrap();
        let _held = snapshot_fs::dir::lock_for_writing(snap.path()).unwrap();
        let err = pull_new(&memory(), snap.path(), quick(), &|_| {})
            .await
            .unwrap_err();
        assert_eq!(
            err,
            PullError::Busy {
                path: snap.path().to_owned()
            }
        );
        assert!(err.to_string().contains("another pull"), "{err}");
    });
}

/// `pull` fetches and verifies every object again and replaces a damaged file;
/// `pull_new` trusts what the directory holds and reads none of it.
#[test]
fn the_full_pull_repairs_a_damaged_file_the_incremental_one_does_not_read_it() {
    rt().block_on(async {
        let stores = memory();
        let (reader, counters) = counted(&stores);
        let kit = chain();
        replicate_new(&stores, &kit, &mut BTreeSet::new()).await;
        let snap = tempfile::tempdir().unwrap();
        pull_new(&reader, snap.path(), quick(), &|_| {})
            .await
            .unwrap();
        let (rel, _) = kit_tree(&kit).into_iter().next().unwrap();
        std::fs::write(snap.path().join(&rel), b"damaged").unwrap();
        let report = counted_pull(&reader, snap.path(), &counters).await;
        assert_eq!(report.rebuilt_total(), 0);
        assert_eq!(total_gets(&counters), 0);
        assert_eq!(std::fs::read(snap.path().join(&rel)).unwrap(), b"damaged");
        let report = pull(&reader, snap.path(), quick(), &|_| {}).await.unwrap();
        assert_eq!(report.held, 0);
        assert_eq!(report.rebuilt_total(), kit_tree(&kit).len());
        assert_eq!(tree(snap.path()), kit_tree(&kit));
    });
}
