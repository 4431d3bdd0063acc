//! `s3://` stores on a real S3 implementation with Object Lock (issue #15): each test starts
//! `moto_server` on loopback (installed by `scripts/setup.sh`; a server that cannot start
//! fails the test, and only `ZIPCHAIN_SKIP_MOTO=1` skips it), makes its buckets with a
//! default retention in COMPLIANCE mode, and writes through [`Stores`] exactly as the
//! writer does.

mod common;

use common::rt;
use object_store::{ObjectStoreExt as _, PutPayload};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_replication::s3::{DefaultRetention, RetentionMode, RetentionPeriod};
use zipchain_replication::stores::shard_path;
use zipchain_replication::{ObjectLock, PullOptions, StoreError, Stores, encode, pull};
use zipchain_testkit::moto::{BucketLock, MotoServer};

/// Six buckets `<name>-0` … `<name>-5` with a default retention of a day in COMPLIANCE
/// mode; their store URLs (with a prefix on the odd ones).
fn locked_buckets(moto: &MotoServer, name: &str) -> Vec<String> {
    common::six_urls("s3", name, |bucket| {
        moto.create_bucket(bucket, BucketLock::Compliance { days: 1 });
    })
}

/// The object key of a shard in its bucket: the store's prefix, then the shard's path.
fn bucket_key(url: &str, kind: ObjectKind, key: &Hash32) -> (String, String) {
    let rest = url.strip_prefix("s3://").unwrap();
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let path = shard_path(kind, key).to_string();
    let object = if prefix.is_empty() {
        path
    } else {
        format!("{prefix}/{path}")
    };
    (bucket.to_owned(), object)
}

#[test]
fn shards_are_written_to_locked_buckets_read_back_and_pulled() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let urls = locked_buckets(&moto, "write");
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, moto.store_options()).unwrap();
        for i in 0..6 {
            assert_eq!(
                stores.object_lock(i).await.unwrap(),
                Some(ObjectLock::DefaultRetention(DefaultRetention {
                    mode: RetentionMode::Compliance,
                    period: RetentionPeriod::Days(1),
                })),
                "store {i}"
            );
        }
        common::write_read_back_and_pull(&stores, 100).await;
    });
}

#[test]
fn a_locked_shard_cannot_be_deleted_or_overwritten() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let urls = locked_buckets(&moto, "lock");
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, moto.store_options()).unwrap();
        // A conditional create over a shard fails, and so does replicating other bytes
        // under the same name.
        let (key, bytes) = common::write_then_conflicting_creates_fail(&stores, 7).await;
        let path = shard_path(ObjectKind::Block, &key);
        let shards = encode(ObjectKind::Block, key, &bytes);

        // Deleting the locked version itself is refused by Object Lock (COMPLIANCE).
        let (bucket, object) = bucket_key(&urls[1], ObjectKind::Block, &key);
        let version = moto
            .boto3(&format!(
                "v = s3.list_object_versions(Bucket={bucket:?}, Prefix={object:?})['Versions']\n\
                 assert len(v) == 1, v\n\
                 print(v[0]['VersionId'], end='')"
            ))
            .trim()
            .to_owned();
        let deleted = moto.boto3(&format!(
            "try:\n    \
                 s3.delete_object(Bucket={bucket:?}, Key={object:?}, VersionId={version:?})\n    \
                 print('deleted', end='')\n\
             except s3.exceptions.ClientError as e:\n    \
                 print(e.response['Error']['Code'], end='')"
        ));
        assert_eq!(deleted, "AccessDenied");
        // Even asking to bypass a governance retention does not move a compliance one.
        let bypassed = moto.boto3(&format!(
            "try:\n    \
                 s3.delete_object(Bucket={bucket:?}, Key={object:?}, VersionId={version:?}, BypassGovernanceRetention=True)\n    \
                 print('deleted', end='')\n\
             except s3.exceptions.ClientError as e:\n    \
                 print(e.response['Error']['Code'], end='')"
        ));
        assert_eq!(bypassed, "AccessDenied");

        // A plain DELETE, and a plain (unconditional) overwrite, are not refused: on a
        // versioned bucket they add a delete marker or a newer version. The locked version
        // stays, byte for byte; the store's current name is what they change.
        stores.store(1).unwrap().delete(&path).await.unwrap();
        assert!(matches!(
            stores.store(1).unwrap().get(&path).await,
            Err(object_store::Error::NotFound { .. })
        ));
        stores
            .store(4)
            .unwrap()
            .put(&path, PutPayload::from(b"ZCSH overwritten".to_vec()))
            .await
            .unwrap();
        for (i, url) in [(1, &urls[1]), (4, &urls[4])] {
            let (bucket, object) = bucket_key(url, ObjectKind::Block, &key);
            let kept = moto.boto3(&format!(
                "import hashlib\n\
                 v = [x for x in s3.list_object_versions(Bucket={bucket:?}, Prefix={object:?})['Versions']]\n\
                 oldest = min(v, key=lambda x: x['LastModified'])\n\
                 body = s3.get_object(Bucket={bucket:?}, Key={object:?}, VersionId=oldest['VersionId'])['Body'].read()\n\
                 print(body.hex(), end='')"
            ));
            assert_eq!(kept, hex::encode(shards[i].to_bytes()), "store {i}");
        }

        // The pull goes by current names: it rebuilds the object from the four others.
        let out = tempfile::tempdir().unwrap();
        let report = pull(&stores, out.path(), PullOptions::default(), &|_| {})
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.missing_shards, 1, "{report:#?}");
        assert_eq!(report.bad_shards.len(), 1, "{report:#?}");
        let got = std::fs::read(out.path().join("blocks").join(key.to_hex())).unwrap();
        assert_eq!(got, bytes);
    });
}

#[test]
fn object_lock_reports_each_bucket_configuration() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    moto.create_bucket("plain", BucketLock::None);
    moto.create_bucket("enabled", BucketLock::Enabled);
    moto.create_bucket("governance", BucketLock::Governance { days: 3 });
    moto.create_bucket("compliance", BucketLock::Compliance { days: 2 });
    let urls = [
        "s3://plain",
        "s3://enabled/prefix",
        "s3://governance",
        "s3://compliance",
        "s3://no-such-bucket",
        "memory://",
    ];
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, moto.store_options()).unwrap();
        assert_eq!(stores.object_lock(0).await, Ok(Some(ObjectLock::Disabled)));
        assert_eq!(
            stores.object_lock(1).await,
            Ok(Some(ObjectLock::NoDefaultRetention))
        );
        let governance = stores.object_lock(2).await.unwrap().unwrap();
        assert_eq!(
            governance,
            ObjectLock::DefaultRetention(DefaultRetention {
                mode: RetentionMode::Governance,
                period: RetentionPeriod::Days(3),
            })
        );
        assert!(!governance.is_compliance());
        assert!(stores.object_lock(3).await.unwrap().unwrap().is_compliance());
        let err = stores.object_lock(4).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::ObjectLockUnknown { store: 4, url, message }
                if url == "s3://no-such-bucket" && message.contains("NoSuchBucket")),
            "{err}"
        );
        assert_eq!(stores.object_lock(5).await, Ok(None));
        assert_eq!(stores.object_lock(6).await, Ok(None));

        // Without a checksum a PUT into a bucket with a default retention is refused; the
        // store's checksum is what makes it pass (this is the error of issue #15).
        let raw = reqwest::Client::new()
            .put(format!("{}/compliance/bare", moto.endpoint()))
            .header("content-type", "application/octet-stream")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=zipchain-test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body("no checksum")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status().as_u16(), 400);
        let text = raw.text().await.unwrap();
        assert!(
            text.contains("MissingUploadObjectWithObjectLockHeaders"),
            "{text}"
        );
        stores
            .store(3)
            .unwrap()
            .put(
                &object_store::path::Path::from("bare"),
                PutPayload::from_static(b"with a checksum"),
            )
            .await
            .unwrap();
    });
}

#[test]
fn unknown_s3_options_are_refused() {
    let mut urls = ["memory://"; 6].map(String::from);
    urls[2] = "s3://bucket".into();
    let err = Stores::from_urls_with(&urls, [("aws_no_such_option", "1")]).unwrap_err();
    assert!(
        matches!(&err, StoreError::BadUrl { url, .. } if url == "s3://bucket"),
        "{err}"
    );
    // Options of other kinds are left to their stores.
    assert!(Stores::from_urls_with(&urls, [("azure_storage_account_name", "x")]).is_ok());
}
