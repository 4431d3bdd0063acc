//! Crash safety: for each failpoint, the writer dies with SIGKILL mid-write; restarted
//! without it, every acknowledged write becomes final with a checking certificate and the
//! replicated chain audits clean.

mod common;

use common::*;
use verifier_core::chain::Auditor;
use verifier_core::hash::Hash32;
use zipchain_writer::failpoint::{ENV, Stage};

async fn crash_at(stage: Stage) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let client = client();
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
    let audit = pull_and_audit(&dir, &auditor).await;
    for tx in &acked {
        assert!(
            audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
            "{stage:?}: {tx}"
        );
    }
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
async fn crash_after_sequence() {
    crash_at(Stage::AfterSequence).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_attestation_replication() {
    crash_at(Stage::BeforeAttestationReplication).await;
}
