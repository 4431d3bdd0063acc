//! The real `zipchain-writer` on six `s3://` buckets of a real S3 implementation with
//! Object Lock (issue #15): `moto_server` on loopback, started by each test (installed by
//! `scripts/setup.sh`; a server that cannot start fails the test, and only
//! `ZIPCHAIN_SKIP_MOTO=1` skips it). The endpoint and credentials reach the writer through
//! the environment, as a user gives them (`AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, …).

mod common;

use common::*;
use verifier_core::chain::Auditor;
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

fn env(moto: &MotoServer) -> Vec<(String, String)> {
    moto.env()
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

    let stderr = refused_at_start(&dir, &store_args(&urls), &env);
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
    rt().block_on(async {
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
    rt().block_on(async {
        let client = client();
        let txs = post_all(&client, &daemon.base, "s3", 60).await;
        wait_final(&client, &daemon.base, &txs).await;
        let trust = trust(&client, &daemon.base).await;
        let auditor = Auditor::new(&trust).unwrap();
        check_certificates(&client, &daemon.base, &auditor, None, &txs).await;
        let certificates = certificates(&client, &daemon, txs.iter().step_by(7)).await;
        let (status, health) = get_json(&client, &daemon.url("/healthz")).await;
        assert_eq!(status, 200, "{health}");
        assert!(daemon.stop().success());

        // All six buckets.
        let stores = replication::Stores::from_urls_with(&urls, moto.store_options()).unwrap();
        // Any three unreachable: their endpoint is a loopback port nobody listens on.
        let mut dead_options = moto.store_options();
        dead_options[0].1 = format!("http://127.0.0.1:{}", free_port().unwrap());
        let dead = replication::Stores::from_urls_with(&urls, dead_options).unwrap();
        pull_and_audit_with_any_three_unreachable(
            &stores,
            &dead,
            &SOME_THREE,
            &auditor,
            &txs,
            &certificates,
        )
        .await;
    });
}
