//! A writer and three witness daemons together (issue #17): the real `zipchain-writer`
//! pushing its checkpoints (`--witness URL` ×3, quorum 2) to three `zipchain witness
//! serve`, under load. One witness is killed with SIGKILL and restarted on its state, one
//! lags (frozen with SIGSTOP, then let go), and one reads a forked copy of the chain (the
//! writer's data directory and stores copied, and the copy run on): it must refuse with
//! `422` once the chains differ, and never cosign a checkpoint of the writer's that its own
//! chain contradicts. Every certificate the writer hands out once a quorum covers its
//! block is v2 and checks offline, vouched for by the two honest witnesses.
//!
//! The writer is another package's binary: it is built here with the same cargo.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::witness::{Witness, http, keygen};
use serde_json::Value;
use snapshot_fs::dir::DirSnapshot;
use verifier_core::certificate::check_certificate;
use verifier_core::chain::Auditor;
use verifier_core::tlog::checkpoint::Checkpoint;
use verifier_core::tlog::log;
use verifier_core::trust::TrustDescriptor;

const PATIENCE: Duration = Duration::from_secs(120);

/// The `zipchain-writer` binary of this workspace, built (if needed) by the cargo that
/// runs the tests, with the same profile.
fn writer_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "-p",
            "zipchain-writer",
            "--bin",
            "zipchain-writer",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p zipchain-writer failed"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "zipchain-writer")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the zipchain-writer executable")
}

/// A running `zipchain-writer`, stopped (SIGTERM) when dropped.
struct Writer {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Writer {
    fn start(bin: &Path, data: &Path, stores: &[String], extra: &[String]) -> Self {
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir").arg(data).args([
            "--listen",
            "127.0.0.1:0",
            "--batch-wait",
            "100",
            "--batch-max",
            "200",
        ]);
        for s in stores {
            cmd.args(["--store", s]);
        }
        let mut child = cmd
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zipchain-writer");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let kept = Arc::clone(&log);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("zipchain-writer: listening on ") {
                    let _ = tx.send(line[at + 30..].trim().to_owned());
                }
                kept.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let url = rx
            .recv_timeout(PATIENCE)
            .expect("the writer prints its address");
        Self { child, url, log }
    }

    fn get(&self, path: &str) -> common::witness::Reply {
        http(&self.url, "GET", path, b"")
    }

    /// Writes `tx`, returns its id.
    fn write(&self, tx: &[u8]) -> String {
        let r = http_post(&self.url, "/v1/transactions", tx);
        assert_eq!(r.status, 202, "{r:?}\n{}", self.log.lock().unwrap());
        let v: Value = serde_json::from_str(&r.body).unwrap();
        v["tx"].as_str().unwrap().to_owned()
    }

    /// The value of the first metric line starting with `name`.
    fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics").body;
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.rsplit(' ').next()))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn stop(mut self) {
        stop(&mut self.child);
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stop(child: &mut Child) {
    let _ = nix_kill(child, "TERM");
    let _ = child.wait();
}

fn nix_kill(child: &Child, signal: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
}

/// A POST with the writer's required content type.
fn http_post(base: &str, path: &str, body: &[u8]) -> common::witness::Reply {
    use std::io::{Read, Write};
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    common::witness::Reply {
        status,
        headers: Default::default(),
        body: body.to_owned(),
    }
}

/// Waits until `done()` holds, or fails with `what`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    common::copy_dir(from, to);
}

#[test]
fn a_writer_with_three_witnesses_under_load_hands_out_v2_certificates() {
    let bin = writer_binary();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let store_urls = |root: &Path| -> Vec<String> {
        (0..6)
            .map(|i| {
                let d = root.join(format!("store-{i}"));
                std::fs::create_dir_all(&d).unwrap();
                format!("file://{}", d.display())
            })
            .collect()
    };
    let stores = store_urls(&path("stores"));
    let (key_a, vkey_a) = keygen(dir.path(), "witness-a.test");
    let (key_b, vkey_b) = keygen(dir.path(), "witness-b.test");
    let (key_c, vkey_c) = keygen(dir.path(), "witness-c.test");
    let policy: Vec<String> = [&vkey_a, &vkey_b, &vkey_c]
        .iter()
        .flat_map(|k| ["--witness-key".to_owned(), (*k).clone()])
        .chain(["--quorum".to_owned(), "2".to_owned()])
        .collect();

    // Genesis and a first stretch of the chain, then a copy of it all: the fork's start.
    let data = path("writer");
    let first = Writer::start(&bin, &data, &stores, &policy);
    let mut txs: Vec<String> = (0..40)
        .map(|i| first.write(format!("before {i}").as_bytes()))
        .collect();
    wait_for("the first stretch final", || {
        txs.iter().all(|tx| {
            first
                .get(&format!("/v1/transactions/{tx}"))
                .body
                .contains("\"final\"")
        })
    });
    first.stop();
    copy_dir(&data, &path("fork-writer"));
    copy_dir(&path("stores"), &path("fork-stores"));
    let fork_stores = store_urls(&path("fork-stores"));
    // The copy runs on: same genesis, keys and sequencer counter, other blocks.
    let fork = Writer::start(&bin, &path("fork-writer"), &fork_stores, &[]);
    let fork_txs: Vec<String> = (0..30)
        .map(|i| fork.write(format!("fork {i}").as_bytes()))
        .collect();
    wait_for("the fork final", || {
        fork_txs.iter().all(|tx| {
            fork.get(&format!("/v1/transactions/{tx}"))
                .body
                .contains("\"final\"")
        })
    });
    fork.stop();

    // The witnesses: A and B on the writer's stores, C on the fork's.
    let chain_json = data.join("chain.json");
    let a = Witness::spawn(
        &chain_json,
        &stores,
        &key_a,
        &path("state-a"),
        dir.path(),
        &[],
    );
    let b = Witness::spawn(
        &chain_json,
        &stores,
        &key_b,
        &path("state-b"),
        dir.path(),
        &[],
    );
    let c = Witness::spawn(
        &chain_json,
        &fork_stores,
        &key_c,
        &path("state-c"),
        dir.path(),
        &[],
    );
    let a_addr = a.url.strip_prefix("http://").unwrap().to_owned();
    let mut push: Vec<String> = Vec::new();
    for w in [&a, &b, &c] {
        push.extend(["--witness".to_owned(), w.url.clone()]);
    }
    let writer = Writer::start(&bin, &data, &stores, &push);

    // Load: writes from four threads for about eight seconds; meanwhile A is killed and
    // restarted on its state, and B is frozen for two seconds.
    let url = writer.url.clone();
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for i in 0..120 {
                    let r = http_post(&url, "/v1/transactions", format!("load {t} {i}").as_bytes());
                    assert_eq!(r.status, 202, "{r:?}");
                    let v: Value = serde_json::from_str(&r.body).unwrap();
                    out.push(v["tx"].as_str().unwrap().to_owned());
                    std::thread::sleep(Duration::from_millis(60));
                }
                out
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let mut a = a;
    let _ = nix_kill(&a.child, "KILL");
    let _ = a.child.wait();
    nix_kill(&b.child, "STOP").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    nix_kill(&b.child, "CONT").unwrap();
    // The same address, so the writer's pushes find it again (retried while the port is
    // in TIME_WAIT).
    let deadline = Instant::now() + Duration::from_secs(20);
    a = loop {
        let restarted = std::panic::catch_unwind(|| {
            Witness::spawn(
                &chain_json,
                &stores,
                &key_a,
                &path("state-a"),
                dir.path(),
                &["--listen", &a_addr],
            )
        });
        match restarted {
            Ok(w) => break w,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => std::panic::resume_unwind(e),
        }
    };
    for s in senders {
        txs.extend(s.join().unwrap());
    }

    // Everything final, and a quorum-cosigned checkpoint covering the whole chain.
    wait_for("every write final", || {
        txs.iter().all(|tx| {
            writer
                .get(&format!("/v1/transactions/{tx}"))
                .body
                .contains("\"final\"")
        })
    });
    wait_for("a quorum over the whole chain", || {
        let signed = writer.metric("zipchain_writer_checkpoint_size");
        signed > 0.0 && writer.metric("zipchain_writer_cosigned_checkpoint_size") == signed
    });

    // Every certificate is v2 and checks offline, vouched for by A and B.
    let trust = TrustDescriptor::from_json(&std::fs::read_to_string(&chain_json).unwrap()).unwrap();
    let auditor = Auditor::new(&trust).unwrap();
    for tx in &txs {
        let r = writer.get(&format!("/v1/transactions/{tx}/certificate"));
        assert_eq!(r.status, 200, "{r:?}");
        let cert: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(cert["zipchain_certificate"], 2, "{tx}: {}", r.body);
        let verdict = check_certificate(&r.body, &auditor, None);
        assert!(verdict.valid, "{tx}: {:?}", verdict.checks);
        let proof = verdict.main_chain_proof.expect("main_chain_proof passed");
        assert!(proof.witnesses >= 2, "{proof:?}");
        let names = verdict
            .main_chain_witnesses
            .expect("the witnesses who vouched")
            .vouched;
        assert!(!names.contains(&"witness-c.test".to_owned()), "{names:?}");
    }

    // C refused the writer's checkpoints once the chains differed (422), and what it holds
    // is a checkpoint of the common prefix: the writer's own tree at that size.
    let counted = |text: &str, prefix: &str, label: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix) && l.contains(label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let writer_metrics = writer.get("/metrics").body;
    let c_label = format!("witness=\"{}", c.url);
    assert!(
        writer_metrics.lines().any(
            |l| l.starts_with("zipchain_writer_witness_push_errors_total")
                && l.contains(&c_label)
                && l.contains("status=\"422\"")
        ),
        "{writer_metrics}"
    );
    let c_metrics = c.get("/metrics").body;
    assert!(
        counted(
            &c_metrics,
            "zipchain_witness_checkpoints_refused_total",
            "status=\"422\""
        ) > 0.0,
        "{c_metrics}"
    );
    let held_of = |state: &str| -> Checkpoint {
        let text = std::fs::read_dir(path(state).join("cosigned"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .next()
            .expect("a cosigned checkpoint");
        Checkpoint::parse(&text).unwrap()
    };
    let held = held_of("state-c");
    let snap = path("pulled");
    common::zipchain(["pull", "-o", snap.to_str().unwrap()])
        .args(
            stores
                .iter()
                .flat_map(|s| ["--store".to_owned(), s.clone()]),
        )
        .run()
        .code(0);
    let audit = auditor
        .audit_source(&DirSnapshot::new(&snap), &mut |_, _| {})
        .unwrap();
    let own = log::tree(&audit.main_chain);
    assert!(held.size <= own.len());
    assert_eq!(
        own.root(held.size).unwrap(),
        held.root,
        "C cosigned a checkpoint off the writer's chain"
    );
    // A, restarted, still holds a checkpoint of the writer's chain.
    let a_held = held_of("state-a");
    assert_eq!(own.root(a_held.size).unwrap(), a_held.root);
    drop((a, b, c));
    writer.stop();
}
