//! The real `zipchain-writer` on six `s3://` buckets of a real S3 implementation with
//! Object Lock (issue #15): `moto_server` on loopback, started by each test (installed by
//! `scripts/setup.sh`; a server that cannot start fails the test, and only
//! `ZIPCHAIN_SKIP_MOTO=1` skips it). The endpoint and credentials reach the writer through
//! the environment, as a user gives them (`AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, …).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use object_store::ObjectStore;
use verifier_core::certificate::check_certificate;
use verifier_core::chain::{Audit, Auditor};
use verifier_core::hash::Hash32;
use zipchain_testkit::moto::{BucketLock, MotoServer, free_port};

/// Six buckets `<name>-0` … `<name>-5`, each with a default retention of a day in
/// COMPLIANCE mode except those in `mutable` (no Object Lock); their `s3://` URLs.
fn buckets(moto: &MotoServer, name: &str, mutable: &[usize]) -> Vec<String> {
    (0..6)
        .map(|i| {
            let bucket = format!("{name}-{i}");
            let lock = if mutable.contains(&i) {
                BucketLock::None
            } else {
                BucketLock::Compliance { days: 1 }
            };
            moto.create_bucket(&bucket, lock);
            format!("s3://{bucket}/chain")
        })
        .collect()
}

fn store_args(urls: &[String]) -> Vec<&str> {
    urls.iter().flat_map(|u| ["--store", u.as_str()]).collect()
}

fn env(moto: &MotoServer) -> Vec<(String, String)> {
    moto.env()
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
fn a_bucket_without_object_lock_is_refused_at_start_unless_allowed() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let urls = buckets(&moto, "mutable", &[3]);
    let env = env(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

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
        stderr.contains(
            "store 3 (s3://mutable-3/chain) is mutable: Object Lock is not enabled on the bucket"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-mutable-store"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    // Nothing was written: no genesis, no shard.
    assert!(!dir.join("chain.json").exists());
    let listed = moto.boto3(
        "print(sum(s3.list_objects_v2(Bucket=f'mutable-{i}').get('KeyCount', 0) for i in range(6)), end='')",
    );
    assert_eq!(listed, "0");

    // Told to, it starts, and writes become final.
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
        let tx = post(&client, &daemon.base, b"into a mutable bucket".to_vec())
            .await
            .expect("202");
        wait_final(&client, &daemon.base, &[tx]).await;
    });
    assert!(daemon.stop().success());
}

#[test]
fn writer_on_six_locked_buckets_then_pull_and_audit_with_any_three_unreachable() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let urls = buckets(&moto, "chain", &[]);
    let env = env(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let daemon = Daemon::start_with(&dir, &env_refs(&env), &store_args(&urls));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = client();
        let writes = (0..60).map(|i| {
            let client = client.clone();
            let base = daemon.base.clone();
            async move { post(&client, &base, format!("s3 transaction {i}").into_bytes()).await }
        });
        let txs: Vec<String> = futures::future::join_all(writes)
            .await
            .into_iter()
            .map(|t| t.expect("202"))
            .collect();
        wait_final(&client, &daemon.base, &txs).await;
        let trust = trust(&client, &daemon.base).await;
        let auditor = Auditor::new(&trust).unwrap();
        check_certificates(&client, &daemon.base, &auditor, None, &txs).await;
        let mut certificates = Vec::new();
        for tx in txs.iter().step_by(7) {
            let url = daemon.url(&format!("/v1/transactions/{tx}/certificate"));
            certificates.push((tx.clone(), get_text(&client, &url).await));
        }
        let (status, health) = get_json(&client, &daemon.url("/healthz")).await;
        assert_eq!(status, 200, "{health}");
        assert!(daemon.stop().success());

        // All six buckets.
        let stores = replication::Stores::from_urls_with(&urls, moto.store_options()).unwrap();
        let audit = pull_and_audit_stores(&stores, &auditor).await;
        for tx in &txs {
            assert!(
                audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
                "{tx} final in the pull"
            );
        }
        let height = audit.height();

        // Any three unreachable: their endpoint is a loopback port nobody listens on.
        let mut dead_options = moto.store_options();
        dead_options[0].1 = format!("http://127.0.0.1:{}", free_port().unwrap());
        let dead = replication::Stores::from_urls_with(&urls, dead_options).unwrap();
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
