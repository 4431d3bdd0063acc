//! The real binary on loopback: concurrent writes, finality, certificates checked alone
//! and against a snapshot pulled from the six stores; then a restart continues the chain.

mod common;

use common::*;
use verifier_core::chain::Auditor;
use verifier_core::hash::Hash32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_become_final_with_checking_certificates_and_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let daemon = Daemon::start(&dir, &[]);
    let client = client();

    let writes = (0..300).map(|i| {
        let client = client.clone();
        let base = daemon.base.clone();
        async move { post(&client, &base, format!("e2e transaction {i}").into_bytes()).await }
    });
    let txs: Vec<String> = futures::future::join_all(writes)
        .await
        .into_iter()
        .map(|t| t.expect("202"))
        .collect();
    assert_eq!(txs[0], Hash32::digest(b"e2e transaction 0").to_hex());
    let heights = wait_final(&client, &daemon.base, &txs).await;
    assert!(heights.iter().all(|h| *h >= 1));

    let trust = trust(&client, &daemon.base).await;
    let auditor = Auditor::new(&trust).unwrap();
    check_certificates(&client, &daemon.base, &auditor, None, &txs).await;
    let (status, health) = get_json(&client, &daemon.url("/healthz")).await;
    assert_eq!(status, 200, "{health}");
    let metrics = get_text(&client, &daemon.url("/metrics")).await;
    assert!(
        metrics.contains("zipchain_writer_acknowledged_total 300"),
        "{metrics}"
    );

    let audit = pull_and_audit(&dir, &auditor).await;
    for tx in &txs {
        assert!(
            audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
            "{tx} final in the pull"
        );
    }
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &txs).await;
    let height_before = audit.height().unwrap();

    // Restart continuity: SIGTERM, start again, same genesis, the chain grows.
    assert!(daemon.stop().success());
    let daemon = Daemon::start(&dir, &[]);
    assert_eq!(
        trust.genesis(),
        common::trust(&client, &daemon.base).await.genesis()
    );
    let (_, v) = get_json(
        &client,
        &daemon.url(&format!("/v1/transactions/{}", txs[0])),
    )
    .await;
    assert_eq!(v["status"], "final");
    let more = post(&client, &daemon.base, b"after the restart".to_vec())
        .await
        .unwrap();
    let h = wait_final(&client, &daemon.base, std::slice::from_ref(&more)).await;
    assert!(h[0] > height_before, "{} > {height_before}", h[0]);
    check_certificates(&client, &daemon.base, &auditor, None, &[more]).await;
    let audit = pull_and_audit(&dir, &auditor).await;
    assert!(audit.height().unwrap() > height_before);
    assert!(daemon.stop().success());
}
