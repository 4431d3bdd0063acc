//! `gs://` stores (issue #15): how they are configured, and what the registries' GCS
//! emulator does with `object_store`'s GCS client.
//!
//! The test that needs the emulator starts `gcp-storage-emulator` on loopback (installed by
//! `scripts/setup.sh`; a server that cannot start fails the test, and only
//! `ZIPCHAIN_SKIP_GCS=1` skips it). `object_store` writes and reads objects through GCS's
//! XML API, and the emulator (2026.7.19) answers an XML upload without the `ETag` header
//! that `object_store` requires, so **no `gs://` write succeeds against it**; it also
//! ignores `x-goog-if-generation-match: 0` and has no XML bucket listing
//! (`zipchain_testkit::gcs_emulator`). The test pins that, so that a fixed emulator shows
//! up as a failing test: then write, conditional-create and pull tests like
//! `azure_blob.rs`'s belong here.

use object_store::{PutMode, PutOptions, PutPayload};
use zipchain_replication::stores::shard_path;
use zipchain_replication::{RetryPolicy, StoreError, StoreKind, Stores};
use zipchain_testkit::gcs_emulator::GcsEmulator;

#[test]
fn the_emulator_stores_the_upload_but_object_store_finds_no_etag() {
    let Some(gcs) = GcsEmulator::start_or_skip() else {
        return;
    };
    // No `-` in the names: object_store percent-encodes it in the path, and the emulator
    // does not decode bucket names.
    let urls: Vec<String> = (0..6)
        .map(|i| {
            gcs.create_bucket(&format!("limits{i}"));
            format!("gs://limits{i}")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stores = Stores::from_urls_with(&urls, gcs.store_options())
            .unwrap()
            .with_retry(RetryPolicy {
                tries: 1,
                ..RetryPolicy::default()
            });
        assert_eq!(stores.kind(0), Some(StoreKind::Gcs));
        let path = shard_path(
            verifier_core::snapshot::ObjectKind::Block,
            &verifier_core::hash::Hash32::digest(b"x"),
        );
        let put = stores
            .store(0)
            .unwrap()
            .put_opts(
                &path,
                PutPayload::from_static(b"a shard"),
                PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                },
            )
            .await;
        let err = put.expect_err(
            "gcp-storage-emulator now answers uploads as object_store expects: add write, conditional-create and pull tests, and update DECISIONS",
        );
        assert!(err.to_string().contains("ETag Header missing"), "{err}");
        // The emulator did store it, under its name.
        let listed = gcs.python(&format!(
            "import json, urllib.request\n\
             print(json.load(urllib.request.urlopen({url:?} + '/storage/v1/b/limits0/o'))['items'][0]['name'], end='')\n",
            url = gcs.base_url()
        ));
        assert_eq!(listed, path.to_string());
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
