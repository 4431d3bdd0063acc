//! `az://` stores on a real implementation of the Azure Blob protocol (issue #15): each
//! test starts Azurite on loopback (installed by `scripts/setup.sh`; a server that cannot
//! start fails the test, and only `ZIPCHAIN_SKIP_AZURITE=1` skips it), makes its
//! containers, and writes through [`Stores`] exactly as the writer does. Azurite has no
//! immutability policies, legal holds or blob versions: these tests show write-once
//! creates, not immutability.

mod common;

use common::rt;
use zipchain_replication::{StoreError, StoreKind, Stores};
use zipchain_testkit::azurite::Azurite;

/// Six containers `<name>-0` … `<name>-5`; their store URLs (with a prefix on the odd ones).
fn containers(azurite: &Azurite, name: &str) -> Vec<String> {
    common::six_urls("az", name, |container| azurite.create_container(container))
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
        common::write_read_back_and_pull(&stores, 200).await;
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
        // `If-None-Match: *` over an existing blob: Azurite answers 409 BlobAlreadyExists.
        common::write_then_conflicting_creates_fail(&stores, 9).await;
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

#[test]
fn each_store_takes_options_of_its_own() {
    let account = |name: &str| {
        vec![
            ("azure_storage_account_name".to_owned(), name.to_owned()),
            (
                "azure_storage_account_key".to_owned(),
                zipchain_testkit::azurite::ACCOUNT_KEY.to_owned(),
            ),
        ]
    };
    let (first, second) = (account("accounta"), account("accountb"));
    let none: &[(String, String)] = &[];
    let mut each = vec![("memory://", none); 6];
    each[1] = ("az://container", first.as_slice());
    each[4] = ("az://container", second.as_slice());
    let stores = Stores::from_urls_each(&each).unwrap();
    assert_eq!(stores.url(4), Some("az://container"));
    // An Azure store without an account of its own cannot be built, whatever the others have.
    each[4] = ("az://container", none);
    let err = Stores::from_urls_each(&each).unwrap_err();
    assert!(matches!(err, StoreError::BadUrl { .. }), "{err}");
    assert!(matches!(
        Stores::from_urls_each(&each[..5]),
        Err(StoreError::StoreCount { got: 5, .. })
    ));
}
