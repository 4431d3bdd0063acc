//! Faults around the writer (issue #18), each shown to lose and duplicate nothing
//! acknowledged: every `202` becomes final exactly once on the main chain, checked by a
//! pull and audit of the six stores ([`assert_final_exactly_once`]) and by the writer's
//! own status and certificate endpoints. Meanwhile the writer keeps acknowledging while
//! its backlog has room (`503` with `Retry-After` past `--max-pending`), retries with
//! backoff, and names each fault on `/healthz` (`<component>: <reason>`) and in
//! `/metrics` (`zipchain_writer_component_unhealthy`, `…_failures_total`,
//! `zipchain_writer_writes_refused_total`).
//!
//! - **A full disk**: the data directory on a small tmpfs (mounted by the test; root
//!   needed, `ZIPCHAIN_SKIP_TMPFS=1` skips) filled to the last byte.
//! - **Stores that vanish, fail or hang**: six `az://` containers on a real Azurite,
//!   killed and restarted on its data; a `file://` store whose directory is replaced by a
//!   file; a store behind a proxy that stops answering.
//! - **The sequencer and the timestamp service down, hung or slow**: the stand-in
//!   daemons' routers on loopback behind [`FaultProxy`]s.
//!
//! SIGKILL at each stage of the write path is `tests/crash.rs`.

mod common;

use common::*;
use verifier_core::chain::Auditor;
use zipchain_testkit::azurite::Azurite;
use zipchain_testkit::fault_proxy::{Fault, FaultProxy};
use zipchain_testkit::tmpfs::Tmpfs;

/// The address of an `http://` URL.
fn addr(url: &str) -> std::net::SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

/// Posts `n` writes labelled `label` at once: those acknowledged, and those refused.
async fn write_all(
    client: &reqwest::Client,
    base: &str,
    label: &str,
    n: usize,
) -> (Vec<String>, Vec<Refused>) {
    let writes = (0..n).map(|i| write(client, base, format!("{label} {i}").into_bytes()));
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for result in futures::future::join_all(writes).await {
        match result {
            Ok(tx) => acked.push(tx),
            Err(r) => refused.push(r),
        }
    }
    (acked, refused)
}

/// Writes in rounds of twenty until some are refused (a full disk still takes writes
/// into the last page of the log's file): those acknowledged, and those refused.
async fn write_until_refused(
    client: &reqwest::Client,
    base: &str,
    label: &str,
) -> (Vec<String>, Vec<Refused>) {
    let mut acked = Vec::new();
    for round in 0..200 {
        let (took, refused) = write_all(client, base, &format!("{label} {round}"), 20).await;
        acked.extend(took);
        if !refused.is_empty() {
            return (acked, refused);
        }
    }
    panic!("{label}: 4000 writes and none refused");
}

/// Waits until `/healthz` is 503 with a reason starting `<component>: ` that contains
/// `words`; returns that reason.
async fn wait_reason(
    client: &reqwest::Client,
    daemon: &Daemon,
    component: &str,
    words: &str,
) -> String {
    let prefix = format!("{component}: ");
    let body = wait_health(
        client,
        daemon,
        &format!("{prefix}…{words}"),
        |status, body| {
            status == 503
                && reasons(body)
                    .lines()
                    .any(|r| r.starts_with(&prefix) && r.contains(words))
        },
    )
    .await;
    let reason = reasons(&body)
        .lines()
        .find(|r| r.starts_with(&prefix) && r.contains(words))
        .unwrap()
        .to_owned();
    eprintln!("/healthz: {reason}");
    reason
}

/// The fault metrics of `component`: (unhealthy now, failures so far).
async fn component_metrics(
    client: &reqwest::Client,
    daemon: &Daemon,
    component: &str,
) -> (f64, f64) {
    let labels = format!("component=\"{component}\"");
    let unhealthy = metric(
        client,
        daemon,
        "zipchain_writer_component_unhealthy",
        &labels,
    )
    .await
    .unwrap();
    let failures = metric(
        client,
        daemon,
        "zipchain_writer_component_failures_total",
        &labels,
    )
    .await
    .unwrap();
    (unhealthy, failures)
}

/// Each `tx` is still pending.
async fn assert_pending(client: &reqwest::Client, daemon: &Daemon, txs: &[String]) {
    for tx in txs {
        let (_, v) = get_json(client, &daemon.url(&format!("/v1/transactions/{tx}"))).await;
        assert_eq!(v["status"], "pending", "{v}");
    }
}

/// A refused write: 503, `Retry-After`, a JSON error containing `words`.
#[track_caller]
fn assert_503(r: &Refused, words: &str) {
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.retry_after.is_some(), "no Retry-After: {r:?}");
    assert!(r.body.contains(words), "{r:?}");
}

/// The data directory on a 32 MiB tmpfs; the timestamp service and the sequencer remote
/// (so that nothing of theirs is on the disk), the timestamp service behind a proxy that
/// holds blocks back while the disk is filled.
///
/// The disk fills: writes are refused `503` with `Retry-After` (the log cannot grow), and
/// the blocks of writes acknowledged before cannot be mirrored or replicated; `/healthz`
/// and `/metrics` say so. The disk is freed: the writer resumes by itself. Then writes are
/// acknowledged while blocks are held back, and the writer is killed: restarted, every
/// acknowledged write is final exactly once (a failed append must not leave a torn record
/// in front of the records acknowledged after it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_and_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount_or_skip(&tmp.path().join("disk"), 32 << 20) else {
        return;
    };
    let dir = disk.path().join("data");
    let client = client();
    let tsa = FaultProxy::start(addr(&tsa(&tmp.path().join("tsa")).await)).unwrap();
    let (seq_url, _) = sequencer(&tmp.path().join("ca")).await;
    let args = ["--timestamp", &tsa.url(), "--sequencer", &seq_url];
    let daemon = Daemon::start_with(&dir, &[], &args);
    let trust = trust(&client, &daemon.base).await;
    let auditor = Auditor::new(&trust).unwrap();

    let mut acked = post_all(&client, &daemon.base, "before", 10).await;
    wait_final(&client, &daemon.base, &acked).await;

    // Blocks held back (the timestamp service hangs), ten writes acknowledged, then the
    // disk filled to the last byte.
    tsa.set(Fault::Stall);
    let held = post_all(&client, &daemon.base, "held", 10).await;
    acked.extend(held.iter().cloned());
    let filler = disk.fill("filler").unwrap();
    let (took, refused) = write_until_refused(&client, &daemon.base, "full").await;
    acked.extend(took);
    for r in &refused {
        assert_503(r, "No space left on device");
    }
    let reason = wait_reason(&client, &daemon, "wal", "No space left on device").await;
    assert!(reason.contains("write-ahead log"), "{reason}");
    let (unhealthy, failures) = component_metrics(&client, &daemon, "wal").await;
    assert_eq!(unhealthy, 1.0);
    assert!(failures >= 1.0);
    let wal_refusals = metric(
        &client,
        &daemon,
        "zipchain_writer_writes_refused_total",
        "reason=\"wal\"",
    )
    .await
    .unwrap();
    assert!(wal_refusals >= refused.len() as f64, "{wal_refusals}");

    // The timestamp service answers again: the held block cannot be mirrored.
    tsa.set(Fault::Forward);
    wait_reason(&client, &daemon, "mirror", "No space left on device").await;
    assert_pending(&client, &daemon, &held).await;
    assert_eq!(component_metrics(&client, &daemon, "mirror").await.0, 1.0);

    // Freed: the writer resumes by itself; a write clears the log's fault.
    std::fs::remove_file(&filler).unwrap();
    wait_final(&client, &daemon.base, &acked).await;
    acked.extend(post_all(&client, &daemon.base, "freed", 10).await);
    wait_final(&client, &daemon.base, &acked).await;
    wait_health(&client, &daemon, "healthy again", |status, _| status == 200).await;
    assert_eq!(component_metrics(&client, &daemon, "wal").await.0, 0.0);
    assert_eq!(component_metrics(&client, &daemon, "mirror").await.0, 0.0);

    // The disk fills again while writes come in; freed; then writes acknowledged behind
    // a hung timestamp service, and the writer killed with nothing of them sealed.
    let filler = disk.fill("filler").unwrap();
    let (took, _) = write_until_refused(&client, &daemon.base, "full again").await;
    acked.extend(took);
    std::fs::remove_file(&filler).unwrap();
    tsa.set(Fault::Stall);
    let last = post_all(&client, &daemon.base, "last", 10).await;
    acked.extend(last.iter().cloned());
    assert_pending(&client, &daemon, &last).await;
    kill(daemon);

    tsa.set(Fault::Forward);
    let daemon = Daemon::start_with(&dir, &[], &args);
    wait_final(&client, &daemon.base, &acked).await;
    let stores = replication::Stores::local(&dir.join("stores")).unwrap();
    let audit = assert_final_exactly_once(&stores, &auditor, &acked).await;
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &acked).await;
    assert!(daemon.stop().success());
    drop(disk);
}

/// Writes in rounds of ten until the backlog is full: the acknowledged ones, and the
/// first `503` refusal (which must name `--max-pending`).
async fn write_until_backlog_full(
    client: &reqwest::Client,
    base: &str,
    label: &str,
) -> (Vec<String>, Refused) {
    let mut acked = Vec::new();
    for round in 0..100 {
        let (took, mut refused) = write_all(client, base, &format!("{label} {round}"), 10).await;
        acked.extend(took);
        if let Some(r) = refused.pop() {
            assert_503(&r, "--max-pending");
            return (acked, r);
        }
    }
    panic!("{label}: 1000 writes, the backlog never full");
}

/// Stores 0, 2 and 4 are `az://` containers on a real Azurite, reached through a proxy;
/// stores 1, 3 and 5 are `file://` directories. The writer holds at most 40 writes not
/// yet final (`--max-pending 40`). In turn, the Azurite stores hang (the proxy stalls),
/// vanish (Azurite killed with SIGKILL, then restarted on its data: it may have lost the
/// blobs of its last seconds, which any three stores make up for), and a `file://`
/// store's directory is replaced by a file. Each time the writer acknowledges writes
/// until its backlog is full, then answers `503` with `Retry-After`; `/healthz` names the
/// stores; once they are back every write becomes final. The writer is then killed and
/// restarted: every acknowledged write is final exactly once in a pull of the six.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_that_hang_vanish_or_fail_hold_finality_back_and_lose_nothing() {
    let Some(mut azurite) = Azurite::start_or_skip() else {
        return;
    };
    let proxy = FaultProxy::start(addr(&azurite.service_url())).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let file_store = |i: usize| tmp.path().join(format!("store-{i}"));
    let urls: Vec<String> = (0..6)
        .map(|i| {
            if i % 2 == 0 {
                let container = format!("faults-{i}");
                azurite.create_container(&container);
                format!("az://{container}/chain")
            } else {
                std::fs::create_dir_all(file_store(i)).unwrap();
                format!("file://{}", file_store(i).display())
            }
        })
        .collect();
    let env = [
        ("AZURE_STORAGE_USE_EMULATOR", "true".to_owned()),
        ("AZURITE_BLOB_STORAGE_URL", proxy.url()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut args = store_args(&urls);
    args.extend(["--allow-mutable-store", "--max-pending", "40"]);
    let daemon = Daemon::start_with(&dir, &env, &args);
    let client = client();
    let trust = trust(&client, &daemon.base).await;
    let auditor = Auditor::new(&trust).unwrap();
    let mut acked = post_all(&client, &daemon.base, "before", 10).await;
    wait_final(&client, &daemon.base, &acked).await;

    // 1. The Azurite stores hang: nothing answers, nothing fails either.
    proxy.set(Fault::Stall);
    let (took, _) = write_until_backlog_full(&client, &daemon.base, "hung").await;
    acked.extend(took.iter().cloned());
    wait_reason(&client, &daemon, "stores", "no answer after 10 s").await;
    assert_eq!(component_metrics(&client, &daemon, "stores").await.0, 1.0);
    assert_pending(&client, &daemon, &took).await;
    proxy.set(Fault::Forward);
    wait_final(&client, &daemon.base, &acked).await;
    wait_health(&client, &daemon, "healthy again", |status, _| status == 200).await;

    // 2. Azurite crashes: three stores are gone.
    azurite.kill();
    let (took, _) = write_until_backlog_full(&client, &daemon.base, "vanished").await;
    acked.extend(took.iter().cloned());
    let refused = metric(
        &client,
        &daemon,
        "zipchain_writer_writes_refused_total",
        "reason=\"max-pending\"",
    )
    .await
    .unwrap();
    assert!(refused >= 2.0, "{refused}");
    wait_reason(&client, &daemon, "stores", "replicating").await;
    assert_pending(&client, &daemon, &took).await;
    azurite.restart().unwrap();
    wait_final(&client, &daemon.base, &acked).await;
    wait_health(&client, &daemon, "healthy again", |status, _| status == 200).await;

    // 3. A `file://` store's directory is replaced by a file (a volume that went away).
    let away = tmp.path().join("store-3.away");
    std::fs::rename(file_store(3), &away).unwrap();
    std::fs::write(file_store(3), b"not a directory").unwrap();
    let (took, _) = write_until_backlog_full(&client, &daemon.base, "no directory").await;
    acked.extend(took.iter().cloned());
    let reason = wait_reason(&client, &daemon, "stores", "store 3 (file://").await;
    assert!(reason.contains("replicating"), "{reason}");
    assert_pending(&client, &daemon, &took).await;
    std::fs::remove_file(file_store(3)).unwrap();
    std::fs::rename(&away, file_store(3)).unwrap();
    wait_final(&client, &daemon.base, &acked).await;

    // Killed and restarted: nothing lost, nothing twice.
    kill(daemon);
    let daemon = Daemon::start_with(&dir, &env, &args);
    acked.extend(post_all(&client, &daemon.base, "after", 10).await);
    wait_final(&client, &daemon.base, &acked).await;
    wait_health(&client, &daemon, "healthy", |status, _| status == 200).await;
    assert!(daemon.stop().success());
    let stores = replication::Stores::from_urls_with(&urls, azurite.store_options()).unwrap();
    let audit = assert_final_exactly_once(&stores, &auditor, &acked).await;
    let daemon = Daemon::start_with(&dir, &env, &args);
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &acked).await;
    assert!(daemon.stop().success());
}

/// The timestamp service and the sequencer are the stand-in daemons' routers on loopback,
/// each behind a proxy. Each in turn goes down (connections dropped), hangs (no answer),
/// loses an answer (the sequencer numbers the block, its answer never arrives: the retry
/// of the same `y` must get the same `k`, or the chain would have a gap), or slows down:
/// writes are acknowledged all along, `/healthz` names the service while it fails, and
/// every write becomes final once it answers. Killed and restarted, the writer has every
/// acknowledged write final exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_or_timestamp_service_down_hung_or_slow_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let tsa = FaultProxy::start(addr(&tsa(&tmp.path().join("tsa")).await)).unwrap();
    let (seq_url, _) = sequencer(&tmp.path().join("ca")).await;
    let seq = FaultProxy::start(addr(&seq_url)).unwrap();
    let args = ["--timestamp", &tsa.url(), "--sequencer", &seq.url()];
    let daemon = Daemon::start_with(&dir, &[], &args);
    let client = client();
    let trust = trust(&client, &daemon.base).await;
    let auditor = Auditor::new(&trust).unwrap();
    let mut acked = post_all(&client, &daemon.base, "before", 10).await;
    wait_final(&client, &daemon.base, &acked).await;

    for (proxy, component) in [(&tsa, "timestamp"), (&seq, "sequencer")] {
        for (fault, words) in [(Fault::Down, ""), (Fault::Stall, "no answer after 10 s")] {
            proxy.set(fault);
            let label = format!("{component} {fault:?}");
            let during = post_all(&client, &daemon.base, &label, 10).await;
            acked.extend(during.iter().cloned());
            wait_reason(&client, &daemon, component, words).await;
            assert_eq!(component_metrics(&client, &daemon, component).await.0, 1.0);
            assert_pending(&client, &daemon, &during).await;
            proxy.set(Fault::Forward);
            wait_final(&client, &daemon.base, &acked).await;
            wait_health(&client, &daemon, "healthy again", |status, _| status == 200).await;
        }
    }

    // The sequencer numbers a block, and its answer is lost: held back, then cut.
    seq.set(Fault::Delay(std::time::Duration::from_secs(60)));
    let lost_answer = post_all(&client, &daemon.base, "answer lost", 10).await;
    acked.extend(lost_answer.iter().cloned());
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_pending(&client, &daemon, &lost_answer).await;
    seq.set(Fault::Forward);
    wait_final(&client, &daemon.base, &acked).await;

    // Both slow (a second per answer): slower blocks, nothing else.
    tsa.set(Fault::Delay(std::time::Duration::from_secs(1)));
    seq.set(Fault::Delay(std::time::Duration::from_secs(1)));
    acked.extend(post_all(&client, &daemon.base, "slow", 20).await);
    wait_final(&client, &daemon.base, &acked).await;
    let (status, health) = get_json(&client, &daemon.url("/healthz")).await;
    assert_eq!(status, 200, "{health}");
    tsa.set(Fault::Forward);
    seq.set(Fault::Forward);

    kill(daemon);
    let daemon = Daemon::start_with(&dir, &[], &args);
    acked.extend(post_all(&client, &daemon.base, "after", 10).await);
    wait_final(&client, &daemon.base, &acked).await;
    let stores = replication::Stores::local(&dir.join("stores")).unwrap();
    let audit = assert_final_exactly_once(&stores, &auditor, &acked).await;
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &acked).await;
    assert!(daemon.stop().success());
}
