//! Crash safety: for each failpoint, the writer dies with SIGKILL mid-write; restarted
//! without it, every acknowledged write becomes final exactly once with a checking
//! certificate, and the replicated chain audits clean. Each chain is made by a clean
//! first start, so that the failpoint is reached by a write, not by the genesis (the
//! checkpoint of the genesis is signed at the first start). The witness push's failpoint
//! is in `tests/witness_push.rs`, beside its test witness.

mod common;

use common::*;
use verifier_core::chain::Auditor;
use zipchain_writer::failpoint::{ENV, Stage};

async fn crash_at(stage: Stage) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let client = client();
    assert!(Daemon::start(&dir, &[]).stop().success());
    let daemon = Daemon::start(&dir, &[(ENV, stage.name())]);
    // Write until the process dies; keep what was acknowledged.
    let mut acked = Vec::new();
    for round in 0..200 {
        let writes = (0..8).map(|i| {
            let client = client.clone();
            let base = daemon.base.clone();
            async move {
                post(
                    &client,
                    &base,
                    format!("{} {round} {i}", stage.name()).into_bytes(),
                )
                .await
            }
        });
        let results = futures::future::join_all(writes).await;
        let died = results.iter().any(Option::is_none);
        acked.extend(results.into_iter().flatten());
        if died {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    let status = daemon.wait_exit();
    assert!(!status.success(), "{stage:?}: the writer was killed");

    let daemon = Daemon::start(&dir, &[]);
    let trust = trust(&client, &daemon.base).await;
    let auditor = Auditor::new(&trust).unwrap();
    // One more write after the restart, so a stage that was never reached still tests a block.
    acked.push(
        post(
            &client,
            &daemon.base,
            format!("{} after", stage.name()).into_bytes(),
        )
        .await
        .unwrap(),
    );
    wait_final(&client, &daemon.base, &acked).await;
    check_certificates(&client, &daemon.base, &auditor, None, &acked).await;
    let stores = replication::Stores::local(&dir.join("stores")).unwrap();
    let audit = assert_final_exactly_once(&stores, &auditor, &acked).await;
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &acked).await;
    assert!(daemon.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_ack() {
    crash_at(Stage::BeforeAck).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_timestamp() {
    crash_at(Stage::AfterTimestamp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_batch_replication() {
    crash_at(Stage::AfterBatchReplication).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_sequence() {
    crash_at(Stage::AfterSequence).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_attestation_replication() {
    crash_at(Stage::BeforeAttestationReplication).await;
}

/// The block is final, its log records not retired: restarted, the writer must not
/// queue them again (they would be sealed twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_retire() {
    crash_at(Stage::BeforeRetire).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_checkpoint_signed() {
    crash_at(Stage::AfterCheckpointSigned).await;
}

/// Every stage has a crash test here or in `tests/witness_push.rs`.
#[test]
fn every_stage_is_crash_tested() {
    let here = include_str!("crash.rs");
    let witness = include_str!("witness_push.rs");
    for stage in Stage::ALL {
        let name = format!("Stage::{stage:?}");
        assert!(
            here.contains(&format!("crash_at({name})")) || witness.contains(&name),
            "no crash test for {stage:?}"
        );
    }
}
