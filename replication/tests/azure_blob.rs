//! `az://` stores on a real implementation of the Azure Blob protocol (issue #15): each
//! test starts Azurite on loopback (installed by `scripts/setup.sh`; a server that cannot
//! start fails the test, and only `ZIPCHAIN_SKIP_AZURITE=1` skips it), makes its
//! containers, and writes through [`Stores`] exactly as the writer does. Azurite has no
//! immutability policies, legal holds or blob versions: these tests show write-once
//! creates, not immutability.

mod common;

use object_store::{ObjectStoreExt as _, PutMode, PutOptions, PutPayload};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_replication::stores::shard_path;
use zipchain_replication::{PullOptions, StoreError, StoreKind, Stores, encode, pull};
use zipchain_testkit::azurite::Azurite;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Six containers `<name>-0` … `<name>-5`; their store URLs (with a prefix on the odd ones).
fn containers(azurite: &Azurite, name: &str) -> Vec<String> {
    (0..6)
        .map(|i| {
            let container = format!("{name}-{i}");
            azurite.create_container(&container);
            if i % 2 == 1 {
                format!("az://{container}/zipchain/shards")
            } else {
                format!("az://{container}")
            }
        })
        .collect()
}

fn block(seed: u64, n: usize) -> (Hash32, Vec<u8>) {
    let bytes = common::bytes(seed, n);
    (Hash32::digest(&bytes), bytes)
}

#[test]
fn shards_are_written_read_back_and_pulled() {
    let Some(azurite) = Azurite::start_or_skip() else {
        return;
    };
    let urls = containers(&azurite, "write");
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, azurite.store_options()).unwrap();
        assert_eq!(stores.kind(0), Some(StoreKind::Azure));
        let mut objects = Vec::new();
        for (seed, n) in [0usize, 1, 1000, 70_000].into_iter().enumerate() {
            let (key, bytes) = block(200 + seed as u64, n);
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
        let report = pull(&stores, out.path(), PullOptions::default(), &|_| {})
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.rebuilt_total(), objects.len());
        for (key, bytes) in &objects {
            let got = std::fs::read(out.path().join("blocks").join(key.to_hex())).unwrap();
            assert_eq!(&got, bytes);
        }
    });
}

#[test]
fn a_conditional_create_over_a_shard_fails() {
    let Some(azurite) = Azurite::start_or_skip() else {
        return;
    };
    let urls = containers(&azurite, "create");
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, azurite.store_options()).unwrap();
        let (key, bytes) = block(9, 5000);
        stores
            .put_object(ObjectKind::Block, key, &bytes)
            .await
            .unwrap();
        let path = shard_path(ObjectKind::Block, &key);
        // `If-None-Match: *` over an existing blob: Azurite answers 409 BlobAlreadyExists.
        let err = stores
            .store(2)
            .unwrap()
            .put_opts(
                &path,
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
        // The shard is unchanged.
        let shards = encode(ObjectKind::Block, key, &bytes);
        let got = stores.store(2).unwrap().get(&path).await.unwrap();
        assert_eq!(
            got.bytes().await.unwrap().as_ref(),
            shards[2].to_bytes().as_slice()
        );
    });
}

#[test]
fn credentials_and_endpoint_come_from_options_and_unknown_azure_options_are_refused() {
    let mut urls = ["memory://"; 6].map(String::from);
    urls[1] = "az://container/prefix".into();
    let err = Stores::from_urls_with(&urls, [("azure_no_such_option", "1")]).unwrap_err();
    assert!(
        matches!(&err, StoreError::BadUrl { url, .. } if url == "az://container/prefix"),
        "{err}"
    );
    let ok = Stores::from_urls_with(
        &urls,
        [
            ("azure_storage_account_name", "devstoreaccount1"),
            (
                "azure_storage_account_key",
                zipchain_testkit::azurite::ACCOUNT_KEY,
            ),
            // Options of other kinds are left to their stores.
            ("aws_region", "us-east-1"),
        ],
    );
    assert!(ok.is_ok(), "{ok:?}");
}
