//! `gs://` stores on a GCS emulator (issue #15): each test starts `gcp-storage-emulator` on
//! loopback (installed and patched by `scripts/setup.sh`, see
//! `testkit/gcs-emulator/xml-api.patch`; a server that cannot start fails the test, and
//! only `ZIPCHAIN_SKIP_GCS=1` skips it), makes its buckets, and writes through [`Stores`]
//! exactly as the writer does: `object_store`'s XML API uploads with
//! `x-goog-if-generation-match: 0`, XML downloads and listings. The emulator keeps a
//! bucket's retention policy and locks it, but does not enforce it: these tests show
//! write-once creates and the retention policy the writer reads, not immutability.

mod common;

use std::time::Duration;

use common::rt;
use zipchain_replication::{Immutability, Retention, StoreError, StoreKind, Stores};
use zipchain_testkit::gcs_emulator::GcsEmulator;

/// Six buckets `<name>-0` … `<name>-5`; their store URLs (with a prefix on the odd ones).
fn buckets(gcs: &GcsEmulator, name: &str) -> Vec<String> {
    common::six_urls("gs", name, |bucket| gcs.create_bucket(bucket))
}

#[test]
fn shards_are_written_read_back_and_pulled() {
    let Some(gcs) = GcsEmulator::start_or_skip() else {
        return;
    };
    let urls = buckets(&gcs, "write");
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, gcs.store_options()).unwrap();
        assert_eq!(stores.kind(0), Some(StoreKind::Gcs));
        common::write_read_back_and_pull(&stores, 300).await;
    });
}

#[test]
fn a_conditional_create_over_a_shard_fails() {
    let Some(gcs) = GcsEmulator::start_or_skip() else {
        return;
    };
    let urls = buckets(&gcs, "create");
    rt().block_on(async {
        let stores = Stores::from_urls_with(&urls, gcs.store_options()).unwrap();
        // `x-goog-if-generation-match: 0` over an existing object: 412 PreconditionFailed.
        common::write_then_conflicting_creates_fail(&stores, 19).await;
    });
}

#[test]
fn the_retention_policy_of_each_bucket_is_read_with_the_stores_credentials() {
    let Some(gcs) = GcsEmulator::start_or_skip() else {
        return;
    };
    for bucket in ["policy-none", "policy-unlocked", "policy-locked"] {
        gcs.create_bucket(bucket);
    }
    gcs.set_retention("policy-unlocked", 7200);
    gcs.set_retention("policy-locked", 86_400);
    gcs.lock_retention("policy-locked");
    let urls = [
        "gs://policy-none",
        "gs://policy-unlocked/prefix",
        "gs://policy-locked/zipchain/shards",
        "gs://no-such-bucket",
        "memory://",
        "memory://",
    ];
    rt().block_on(async {
        // Through a service-account key that names the emulator, as the writer gets it.
        let key = gcs.service_account_key();
        let options = [
            ("google_service_account_key", key.as_str()),
            ("google_allow_http", "true"),
        ];
        let stores = Stores::from_urls_with(&urls, options).unwrap();
        assert_eq!(stores.retention(0).await, Ok(Some(Retention::None)));
        let unlocked = stores.retention(1).await.unwrap().unwrap();
        assert_eq!(
            unlocked,
            Retention::Unlocked {
                period: Duration::from_secs(7200)
            }
        );
        assert!(!unlocked.is_locked());
        let locked = stores.immutability(2).await.unwrap().unwrap();
        assert_eq!(
            locked,
            Immutability::Retention(Retention::Locked {
                period: Duration::from_secs(86_400)
            })
        );
        assert!(locked.is_locked());
        assert_eq!(locked.to_string(), "a locked retention policy (1 day)");
        let err = stores.retention(3).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::RetentionUnknown { store: 3, url, message }
                if url == "gs://no-such-bucket" && message.contains("404")),
            "{err}"
        );
        assert_eq!(stores.immutability(4).await, Ok(None));
        assert_eq!(stores.retention(6).await, Ok(None));
        // A store that skips signing asks anonymously, and still gets the answer here
        // (the emulator serves every request).
        let anonymous = Stores::from_urls_with(
            &urls,
            [
                ("google_base_url", gcs.base_url().as_str()),
                ("google_skip_signature", "true"),
            ],
        )
        .unwrap();
        assert!(anonymous.retention(2).await.unwrap().unwrap().is_locked());
        // An endpoint nobody listens on: the reason, not a guess.
        let dead = Stores::from_urls_with(
            &urls,
            [
                ("google_base_url", "http://127.0.0.1:9"),
                ("google_bearer_token", "t"),
            ],
        )
        .unwrap();
        let err = dead.immutability(2).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::RetentionUnknown { store: 2, .. }),
            "{err}"
        );
    });
}

#[test]
fn options_and_the_environment_configure_gs_stores() {
    let mut urls = ["memory://"; 6].map(String::from);
    urls[4] = "gs://bucket/prefix".into();
    let err = Stores::from_urls_with(&urls, [("google_no_such_option", "1")]).unwrap_err();
    assert!(
        matches!(&err, StoreError::BadUrl { url, .. } if url == "gs://bucket/prefix"),
        "{err}"
    );
    // A service-account key that points at an emulator and sends no token, as
    // GOOGLE_SERVICE_ACCOUNT_KEY would give it.
    let key = r#"{"client_email": "x@example.invalid", "private_key_id": "x", "private_key": "unused", "gcs_base_url": "http://127.0.0.1:9", "disable_oauth": true}"#;
    let stores = Stores::from_urls_with(
        &urls,
        [
            ("google_service_account_key", key),
            ("google_allow_http", "true"),
            ("azure_storage_account_name", "left to az:// stores"),
        ],
    )
    .unwrap();
    assert_eq!(stores.kind(4), Some(StoreKind::Gcs));
    assert_eq!(stores.kind(0), Some(StoreKind::Memory));
    // A bearer token and a base URL do as well.
    assert!(
        Stores::from_urls_with(
            &urls,
            [
                ("google_bearer_token", "t"),
                ("google_base_url", "http://127.0.0.1:9"),
            ],
        )
        .is_ok()
    );
}
