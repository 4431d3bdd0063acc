//! Shared helpers: run the real `zipchain-writer` binary and talk to it over loopback HTTP.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::ObjectStore;
use verifier_core::certificate::check_certificate;
use verifier_core::chain::{Audit, Auditor};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::Snapshot;
use verifier_core::trust::TrustDescriptor;

/// Generous: debug builds on a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(240);

pub struct Daemon {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
    /// Everything the writer wrote to stderr so far (its log).
    pub stderr: Arc<std::sync::Mutex<String>>,
}

impl Daemon {
    /// Starts the writer on `dir` with `envs`, waits for its "listening on" line.
    pub fn start(dir: &Path, envs: &[(&str, &str)]) -> Self {
        Self::start_with(dir, envs, &[])
    }

    /// As [`Daemon::start`], with more command-line arguments.
    pub fn start_with(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Self {
        let mut all: Vec<std::ffi::OsString> = vec!["--data-dir".into(), dir.into()];
        all.extend(
            [
                "--listen",
                "127.0.0.1:0",
                "--batch-wait",
                "20",
                "--batch-max",
                "64",
            ]
            .map(Into::into),
        );
        all.extend(args.iter().map(Into::into));
        Self::spawn(
            &all,
            envs,
            dir.with_extension(format!("log{}", std::process::id())),
        )
    }

    /// Starts the writer with exactly `args` and `envs`, waits for its "listening on" line.
    pub fn spawn(args: &[std::ffi::OsString], envs: &[(&str, &str)], log: PathBuf) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zipchain-writer"))
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let output = Arc::new(std::sync::Mutex::new(String::new()));
        let kept = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut kept) = kept.lock() {
                    kept.push_str(&line);
                    kept.push('\n');
                }
                if !sent {
                    if let Some(at) = line.find("zipchain-writer: listening on ") {
                        let url = line[at + "zipchain-writer: listening on ".len()..]
                            .trim()
                            .to_string();
                        let _ = tx.send(url);
                        sent = true;
                    }
                }
            }
        });
        let base = rx
            .recv_timeout(PATIENCE)
            .expect("the writer prints its address");
        Self {
            child,
            base,
            log,
            stderr: output,
        }
    }

    /// The writer's log so far.
    pub fn log_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM and wait.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }

    pub fn wait_exit(mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// POSTs one transaction; `Some(tx hex)` on 202, `None` otherwise (the connection died,
/// say).
pub async fn post(client: &reqwest::Client, base: &str, data: Vec<u8>) -> Option<String> {
    write(client, base, data).await.ok()
}

/// Waits until every tx is final; returns their heights.
pub async fn wait_final(client: &reqwest::Client, base: &str, txs: &[String]) -> Vec<u64> {
    let deadline = Instant::now() + PATIENCE;
    let mut heights = Vec::new();
    for tx in txs {
        loop {
            let (status, v) = get_json(client, &format!("{base}/v1/transactions/{tx}")).await;
            if status == 200 && v["status"] == "final" {
                heights.push(v["height"].as_u64().unwrap());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{tx} not final in time: {status} {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    heights
}

/// GETs `url` and returns the body as text, whatever the status.
pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

pub async fn trust(client: &reqwest::Client, base: &str) -> TrustDescriptor {
    let text = get_text(client, &format!("{base}/v1/chain")).await;
    TrustDescriptor::from_json(&text).unwrap()
}

/// Fetches and checks each certificate (without a snapshot, or with `audit`).
pub async fn check_certificates(
    client: &reqwest::Client,
    base: &str,
    auditor: &Auditor,
    audit: Option<&Audit>,
    txs: &[String],
) {
    for tx in txs {
        let r = client
            .get(format!("{base}/v1/transactions/{tx}/certificate"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "certificate of {tx}");
        let text = r.text().await.unwrap();
        let verdict = check_certificate(&text, auditor, audit);
        assert!(
            verdict.valid,
            "certificate of {tx}: {:?}",
            verdict.first_failure()
        );
        assert_eq!(verdict.main_chain_checked, audit.is_some());
    }
}

/// Pulls the six default stores under `dir` into a snapshot and audits it.
pub async fn pull_and_audit(dir: &Path, auditor: &Auditor) -> Audit {
    let stores = replication::Stores::local(&dir.join("stores")).unwrap();
    pull_and_audit_stores(&stores, auditor).await
}

/// Pulls `stores` into a fresh snapshot directory, as `zipchain pull` does, and audits it
/// as `zipchain audit` does.
pub async fn pull_and_audit_stores(stores: &replication::Stores, auditor: &Auditor) -> Audit {
    pull_and_audit_snapshot(stores, auditor).await.0
}

/// [`pull_and_audit_stores`], with the snapshot pulled.
pub async fn pull_and_audit_snapshot(
    stores: &replication::Stores,
    auditor: &Auditor,
) -> (Audit, Snapshot) {
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
    (audit, snapshot)
}

/// Pulls and audits `stores`, and checks the writer's promise (issue #18): every tx of
/// `acked` is final exactly once on the main chain, and no transaction is on it twice.
pub async fn assert_final_exactly_once(
    stores: &replication::Stores,
    auditor: &Auditor,
    acked: &[String],
) -> Audit {
    let (audit, snapshot) = pull_and_audit_snapshot(stores, auditor).await;
    let ids = acked.iter().map(|tx| Hash32::from_hex(tx).unwrap());
    let finality = zipchain_testkit::exactly_once::check(&audit, &snapshot, ids).unwrap();
    assert!(
        finality.holds(),
        "lost {:?}, duplicated {:?}",
        finality.lost,
        finality.duplicated
    );
    eprintln!(
        "exactly once: {} acknowledged, {} final, height {}",
        finality.acknowledged, finality.final_count, finality.height
    );
    audit
}

/// Serves `app` on a fresh loopback port until the test ends; returns its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A `zipchain-sequencer` (new key, counter from 0) whose test CA lives in `ca_dir`,
/// served on loopback: its URL and its key, hex.
pub async fn sequencer(ca_dir: &Path) -> (String, String) {
    use services::http::{SequencerState, now_millis, sequencer_app};
    let state = SequencerState::open(ca_dir, [0x5a; 48], now_millis().unwrap()).unwrap();
    let key = hex::encode(state.public_key());
    (serve(sequencer_app(Arc::new(state))).await, key)
}

/// A `zipchain-tsa` whose key lives in `dir`, served on loopback: its URL.
pub async fn tsa(dir: &Path) -> String {
    use services::tsa::{DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN, TimestampAuthority};
    let tsa =
        TimestampAuthority::load_or_create(dir, DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN).unwrap();
    serve(services::http::tsa_app(Arc::new(tsa))).await
}

/// A Tokio runtime with two workers.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `--store URL` for each of `urls`.
pub fn store_args(urls: &[String]) -> Vec<&str> {
    urls.iter().flat_map(|u| ["--store", u.as_str()]).collect()
}

/// `env` as the `(&str, &str)` pairs [`Daemon::start_with`] takes.
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Runs the writer on `dir` with `args` and `env`, expecting it to refuse to start: checks
/// that it exits with 1 (in time), and returns its stderr.
pub fn refused_at_start(dir: &Path, args: &[&str], env: &[(String, String)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zipchain-writer"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
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
    stderr
}

/// POSTs `<label> transaction 0` … `<label> transaction <n - 1>` at once; their tx hex,
/// each answered 202.
pub async fn post_all(client: &reqwest::Client, base: &str, label: &str, n: usize) -> Vec<String> {
    let writes = (0..n).map(|i| {
        let client = client.clone();
        let base = base.to_owned();
        async move {
            post(
                &client,
                &base,
                format!("{label} transaction {i}").into_bytes(),
            )
            .await
        }
    });
    futures::future::join_all(writes)
        .await
        .into_iter()
        .map(|t| t.expect("202"))
        .collect()
}

/// The certificates of `txs`, fetched from `daemon`: (tx, certificate text).
pub async fn certificates<'a>(
    client: &reqwest::Client,
    daemon: &Daemon,
    txs: impl Iterator<Item = &'a String>,
) -> Vec<(String, String)> {
    let mut certificates = Vec::new();
    for tx in txs {
        let url = daemon.url(&format!("/v1/transactions/{tx}/certificate"));
        certificates.push((tx.clone(), get_text(client, &url).await));
    }
    certificates
}

/// Three stores lost at once: both halves, and the even and odd stores.
pub const SOME_THREE: [[usize; 3]; 4] = [[0, 1, 2], [3, 4, 5], [0, 2, 4], [1, 3, 5]];

/// Pulls and audits `stores`, every tx final in it; then again with each three of `lost`
/// taken from `dead` (the same stores, unreachable): the same height, every tx final,
/// and each of `certificates` valid with that audit.
pub async fn pull_and_audit_with_any_three_unreachable(
    stores: &replication::Stores,
    dead: &replication::Stores,
    lost: &[[usize; 3]],
    auditor: &Auditor,
    txs: &[String],
    certificates: &[(String, String)],
) {
    let audit = pull_and_audit_stores(stores, auditor).await;
    for tx in txs {
        assert!(
            audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
            "{tx} final in the pull"
        );
    }
    let height = audit.height();
    for lost in lost {
        let started = Instant::now();
        let mixed: [Arc<dyn ObjectStore>; 6] = std::array::from_fn(|i| {
            let from = if lost.contains(&i) { dead } else { stores };
            Arc::clone(from.store(i).unwrap())
        });
        let mixed = replication::Stores::from_stores(mixed);
        let audit = pull_and_audit_stores(&mixed, auditor).await;
        assert_eq!(audit.height(), height, "lost {lost:?}");
        for tx in txs {
            assert!(
                audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
                "lost {lost:?}: {tx}"
            );
        }
        for (tx, cert) in certificates {
            let verdict = check_certificate(cert, auditor, Some(&audit));
            assert!(verdict.valid, "lost {lost:?}: certificate of {tx}");
        }
        eprintln!(
            "pull with stores {lost:?} unreachable: {:?}",
            started.elapsed()
        );
    }
}

/// Polls `/healthz` until `done` says yes of (status, body); returns that body.
pub async fn wait_health(
    client: &reqwest::Client,
    daemon: &Daemon,
    what: &str,
    done: impl Fn(u16, &serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = get_json(client, &daemon.url("/healthz")).await;
        if done(status, &body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The reasons of a `/healthz` answer, joined.
pub fn reasons(v: &serde_json::Value) -> String {
    v["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The value of the metric sample `name{labels}` (`labels` as written, `""` for none).
pub async fn metric(
    client: &reqwest::Client,
    daemon: &Daemon,
    name: &str,
    labels: &str,
) -> Option<f64> {
    let text = get_text(client, &daemon.url("/metrics")).await;
    let sample = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(sample.as_str()))
        .and_then(|v| v.parse().ok())
}

/// A write that was not acknowledged: its status (0 when no answer came), `Retry-After`
/// and body (or the client's error).
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// POSTs one transaction: `Ok(tx hex)` on 202, else what the writer answered.
pub async fn write(client: &reqwest::Client, base: &str, data: Vec<u8>) -> Result<String, Refused> {
    let lost = |e: reqwest::Error| Refused {
        status: 0,
        retry_after: None,
        body: e.to_string(),
    };
    let r = client
        .post(format!("{base}/v1/transactions"))
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .map_err(lost)?;
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.text().await.map_err(lost)?;
    let tx = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["tx"].as_str().map(str::to_owned));
    match tx {
        Some(tx) if status == 202 => Ok(tx),
        _ => Err(Refused {
            status,
            retry_after,
            body,
        }),
    }
}

/// SIGKILL and wait: a crash, no destructor, no flush.
pub fn kill(daemon: Daemon) {
    let mut daemon = daemon;
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
}
