//! The real `zipchain-writer` on six stores of two providers (issue #15): three `s3://`
//! buckets with Object Lock on `moto_server` and three `az://` containers on Azurite, both
//! on loopback and started by the test (installed by `scripts/setup.sh`; a server that
//! cannot start fails the test, and only `ZIPCHAIN_SKIP_MOTO=1` / `ZIPCHAIN_SKIP_AZURITE=1`
//! skip it). Endpoints and credentials reach the writer through the environment, as a user
//! gives them (`AWS_ENDPOINT`…, `AZURE_STORAGE_USE_EMULATOR` and
//! `AZURITE_BLOB_STORAGE_URL`).
//!
//! The seed's layout is two stores per provider, GCS included; `gs://` cannot take part
//! here, because the registries' GCS emulator does not answer `object_store`'s uploads
//! (`replication/tests/gcs.rs`), so S3 and Azure hold three each.

mod common;

use common::*;
use verifier_core::chain::Auditor;
use zipchain_testkit::azurite::Azurite;
use zipchain_testkit::moto::{BucketLock, MotoServer, free_port};

/// Stores 0, 2, 4 on S3 (COMPLIANCE buckets), 1, 3, 5 on Azure; their URLs.
fn stores(moto: &MotoServer, azurite: &Azurite, name: &str) -> Vec<String> {
    (0..6)
        .map(|i| {
            let container = format!("{name}-{i}");
            if i % 2 == 0 {
                moto.create_bucket(&container, BucketLock::Compliance { days: 1 });
                format!("s3://{container}/chain")
            } else {
                azurite.create_container(&container);
                format!("az://{container}/chain")
            }
        })
        .collect()
}

fn env(moto: &MotoServer, azurite: &Azurite) -> Vec<(String, String)> {
    moto.env().into_iter().chain(azurite.env()).collect()
}

#[test]
fn writer_on_s3_and_azure_then_pull_and_audit_with_any_three_unreachable() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let Some(azurite) = Azurite::start_or_skip() else {
        return;
    };
    let urls = stores(&moto, &azurite, "mixed");
    let env = env(&moto, &azurite);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    // Azure's immutability cannot be verified: refused without --allow-mutable-store.
    let stderr = refused_at_start(&dir, &store_args(&urls), &env);
    assert!(
        stderr.contains("store 1 (az://mixed-1/chain) is not known to be immutable"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-mutable-store"), "{stderr}");
    assert!(!dir.join("chain.json").exists());

    let mut args = store_args(&urls);
    args.push("--allow-mutable-store");
    let daemon = Daemon::start_with(&dir, &env_refs(&env), &args);
    rt().block_on(async {
        let client = client();
        let txs = post_all(&client, &daemon.base, "mixed", 40).await;
        wait_final(&client, &daemon.base, &txs).await;
        let trust = trust(&client, &daemon.base).await;
        let auditor = Auditor::new(&trust).unwrap();
        let certificates = certificates(&client, &daemon, txs.iter().step_by(9)).await;
        assert!(daemon.stop().success());

        let options: Vec<(String, String)> = moto
            .store_options()
            .into_iter()
            .chain(azurite.store_options())
            .collect();
        let stores = replication::Stores::from_urls_with(&urls, options.clone()).unwrap();
        // Unreachable stores: endpoints on a loopback port nobody listens on.
        let dead_port = free_port().unwrap();
        let dead_options: Vec<(String, String)> = options
            .iter()
            .map(|(k, v)| match k.as_str() {
                "aws_endpoint" => (k.clone(), format!("http://127.0.0.1:{dead_port}")),
                "azure_storage_endpoint" => (
                    k.clone(),
                    format!("http://127.0.0.1:{dead_port}/devstoreaccount1"),
                ),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        let dead = replication::Stores::from_urls_with(&urls, dead_options).unwrap();
        // Both providers' stores lost together, one provider whole, and mixes.
        pull_and_audit_with_any_three_unreachable(&stores, &dead, &auditor, &txs, &certificates)
            .await;
    });
}
