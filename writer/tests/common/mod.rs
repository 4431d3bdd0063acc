//! Shared helpers: run the real `zipchain-writer` binary and talk to it over loopback HTTP.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use verifier_core::certificate::check_certificate;
use verifier_core::chain::{Audit, Auditor};
use verifier_core::trust::TrustDescriptor;

/// Generous: debug builds on a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(240);

pub struct Daemon {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts the writer on `dir` with `envs`, waits for its "listening on" line.
    pub fn start(dir: &Path, envs: &[(&str, &str)]) -> Self {
        Self::start_with(dir, envs, &[])
    }

    /// As [`Daemon::start`], with more command-line arguments.
    pub fn start_with(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Self {
        let log = dir.with_extension(format!("log{}", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_zipchain-writer"))
            .args(["--data-dir"])
            .arg(dir)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--batch-wait",
                "20",
                "--batch-max",
                "64",
            ])
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
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
        Self { child, base, log }
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

/// POSTs one transaction; `Some(tx hex)` on 202, `None` when the connection died.
pub async fn post(client: &reqwest::Client, base: &str, data: Vec<u8>) -> Option<String> {
    let r = client
        .post(format!("{base}/v1/transactions"))
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .ok()?;
    if r.status().as_u16() != 202 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.ok()?).ok()?;
    Some(v["tx"].as_str()?.to_string())
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
    let out = tempfile::tempdir().unwrap();
    let report = replication::pull(&stores, out.path(), Default::default(), &|_| {})
        .await
        .unwrap();
    assert!(report.is_complete(), "pull: {report:?}");
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
