//! The writer against the trusted services over HTTP (`--timestamp URL`, `--sequencer URL`,
//! SPEC §7.1–7.3): the stand-in daemons' routers served on loopback, the real writer
//! binary talking to them. Then the enclave restarts (a new key): the writer stops
//! sealing, says why on `/healthz`, still acknowledges writes, and `--new-chain` starts a
//! successor chain that takes over the queue.

mod common;

use common::*;
use services::tsa::{DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN};
use verifier_core::chain::Auditor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_services_then_an_enclave_restart_then_a_successor_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let tsa_url = tsa(&tmp.path().join("tsa")).await;
    let ca_dir = tmp.path().join("ca");
    let (seq_url, seq_key) = sequencer(&ca_dir).await;
    let client = client();

    // 1. A chain sealed through the HTTP services.
    let daemon = Daemon::start_with(
        &dir,
        &[],
        &["--timestamp", &tsa_url, "--sequencer", &seq_url],
    );
    let trust = trust(&client, &daemon.base).await;
    let (_, chain) = get_json(&client, &daemon.url("/v1/chain")).await;
    assert_eq!(chain["sequencer_key"], seq_key.as_str());
    assert_eq!(trust.timestamp().issuer, DEFAULT_ISSUER);
    assert_eq!(trust.timestamp().username_domain, DEFAULT_USERNAME_DOMAIN);
    let mut txs = Vec::new();
    for i in 0..40 {
        txs.push(
            post(&client, &daemon.base, format!("remote {i}").into_bytes())
                .await
                .expect("202"),
        );
    }
    wait_final(&client, &daemon.base, &txs).await;
    let auditor = Auditor::new(&trust).unwrap();
    let audit = pull_and_audit(&dir, &auditor).await;
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &txs).await;
    assert!(daemon.stop().success());

    // 2. The enclave restarted: a new key. The writer must not seal under it.
    let (seq_url, new_key) = sequencer(&ca_dir).await;
    assert_ne!(new_key, seq_key);
    let args = [
        "--timestamp",
        tsa_url.as_str(),
        "--sequencer",
        seq_url.as_str(),
    ];
    let daemon = Daemon::start_with(&dir, &[], &args);
    let (status, health) = get_json(&client, &daemon.url("/healthz")).await;
    assert_eq!(status, 503, "{health}");
    assert!(health.to_string().contains("key"), "{health}");
    let queued = post(&client, &daemon.base, b"queued across chains".to_vec())
        .await
        .expect("still acknowledged while sealing is stopped");
    let (_, v) = get_json(&client, &daemon.url(&format!("/v1/transactions/{queued}"))).await;
    assert_eq!(v["status"], "pending", "{v}");
    assert!(daemon.stop().success());

    // 3. `--new-chain`: a successor chain under the new key takes over the queue.
    let mut args = args.to_vec();
    args.push("--new-chain");
    let daemon = Daemon::start_with(&dir, &[], &args);
    let successor = common::trust(&client, &daemon.base).await;
    assert_ne!(successor.genesis(), trust.genesis());
    let (_, chain) = get_json(&client, &daemon.url("/v1/chain")).await;
    assert_eq!(chain["sequencer_key"], new_key.as_str());
    wait_final(&client, &daemon.base, std::slice::from_ref(&queued)).await;
    let auditor = Auditor::new(&successor).unwrap();
    check_certificates(&client, &daemon.base, &auditor, None, &[queued]).await;
    let (status, health) = get_json(&client, &daemon.url("/healthz")).await;
    assert_eq!(status, 200, "{health}");
    assert!(
        dir.join("chains")
            .join(format!("{}.json", trust.genesis().to_hex()))
            .is_file(),
        "the old chain.json is archived"
    );
    assert!(daemon.stop().success());
}
