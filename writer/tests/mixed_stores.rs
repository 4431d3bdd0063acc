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

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use object_store::ObjectStore;
use verifier_core::certificate::check_certificate;
use verifier_core::chain::{Audit, Auditor};
use verifier_core::hash::Hash32;
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

fn store_args(urls: &[String]) -> Vec<&str> {
    urls.iter().flat_map(|u| ["--store", u.as_str()]).collect()
}

fn env(moto: &MotoServer, azurite: &Azurite) -> Vec<(String, String)> {
    moto.env().into_iter().chain(azurite.env()).collect()
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Pulls `stores` into a fresh snapshot directory, as `zipchain pull` does, and audits it
/// as `zipchain audit` does.
async fn pull_and_audit_stores(stores: &replication::Stores, auditor: &Auditor) -> Audit {
    let out = tempfile::tempdir().unwrap();
    let report = replication::pull(stores, out.path(), Default::default(), &|_| {})
        .await
        .unwrap();
    assert!(report.is_complete(), "pull: {report:#?}");
    let snapshot = zipchain_writer::journal::load_snapshot_dir(out.path()).unwrap();
    let audit = auditor.audit(&snapshot, &mut |_, _| {});
    assert!(
        audit.invalid_objects.is_empty(),
        "{:?}",
        audit.invalid_objects
    );
    assert!(audit.equivocations.is_empty());
    audit
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_zipchain-writer"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(store_args(&urls))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the writer did not exit");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("store 1 (az://mixed-1/chain) is not known to be immutable"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-mutable-store"), "{stderr}");
    assert!(!dir.join("chain.json").exists());

    let mut args = store_args(&urls);
    args.push("--allow-mutable-store");
    let daemon = Daemon::start_with(&dir, &env_refs(&env), &args);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = client();
        let writes = (0..40).map(|i| {
            let client = client.clone();
            let base = daemon.base.clone();
            async move {
                post(
                    &client,
                    &base,
                    format!("mixed transaction {i}").into_bytes(),
                )
                .await
            }
        });
        let txs: Vec<String> = futures::future::join_all(writes)
            .await
            .into_iter()
            .map(|t| t.expect("202"))
            .collect();
        wait_final(&client, &daemon.base, &txs).await;
        let trust = trust(&client, &daemon.base).await;
        let auditor = Auditor::new(&trust).unwrap();
        let mut certificates = Vec::new();
        for tx in txs.iter().step_by(9) {
            let url = daemon.url(&format!("/v1/transactions/{tx}/certificate"));
            certificates.push((tx.clone(), get_text(&client, &url).await));
        }
        assert!(daemon.stop().success());

        let options: Vec<(String, String)> = moto
            .store_options()
            .into_iter()
            .chain(azurite.store_options())
            .collect();
        let stores = replication::Stores::from_urls_with(&urls, options.clone()).unwrap();
        let audit = pull_and_audit_stores(&stores, &auditor).await;
        for tx in &txs {
            assert!(
                audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
                "{tx} final in the pull"
            );
        }
        let height = audit.height();

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
        for lost in [[0, 1, 2], [3, 4, 5], [0, 2, 4], [1, 3, 5]] {
            let started = Instant::now();
            let mixed: [Arc<dyn ObjectStore>; 6] = std::array::from_fn(|i| {
                let from = if lost.contains(&i) { &dead } else { &stores };
                Arc::clone(from.store(i).unwrap())
            });
            let mixed = replication::Stores::from_stores(mixed);
            let audit = pull_and_audit_stores(&mixed, &auditor).await;
            assert_eq!(audit.height(), height, "lost {lost:?}");
            for tx in &txs {
                assert!(
                    audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
                    "lost {lost:?}: {tx}"
                );
            }
            for (tx, cert) in &certificates {
                let verdict = check_certificate(cert, &auditor, Some(&audit));
                assert!(verdict.valid, "lost {lost:?}: certificate of {tx}");
            }
            eprintln!(
                "pull with stores {lost:?} unreachable: {:?}",
                started.elapsed()
            );
        }
    });
}
