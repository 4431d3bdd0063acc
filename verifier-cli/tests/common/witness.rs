//! The witness daemon in tests: `zipchain witness keygen`, a running `zipchain witness
//! serve`, plain HTTP requests to it, and the checks of its answers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use verifier_core::tlog::note::{Note, VerifierKey};

use super::zipchain;

/// One HTTP answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A plain HTTP/1.1 request on a new connection (`Connection: close`).
pub(crate) fn http(base: &str, method: &str, path: &str, body: &[u8]) -> Reply {
    let addr = base.strip_prefix("http://").expect("an http:// URL");
    let mut s = TcpStream::connect(addr).expect("connect to the witness");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // A body refused from its headers may not be read whole; the answer still comes.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8(raw).expect("a UTF-8 answer");
    let (head, rest) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// A witness key made by `zipchain witness keygen`: the file and the verifier key.
pub(crate) fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{}.key", name.replace('/', "_")));
    let out = zipchain(["witness", "keygen", "--name", name, "-o"])
        .args([&path])
        .run();
    out.code(0);
    (path, out.stdout.trim_end().to_owned())
}

/// A running `zipchain witness serve`, killed when dropped.
pub(crate) struct Witness {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) log: PathBuf,
}

impl Witness {
    /// Starts `zipchain witness serve` of the chain `chain_json` on the stores `urls`,
    /// with key `key` and state `state`, its log in `log_dir`, and `extra` arguments (a
    /// 300 ms poll interval and a 2 s catch-up wait unless given); waits until healthy.
    pub(crate) fn spawn(
        chain_json: &Path,
        urls: &[String],
        key: &Path,
        state: &Path,
        log_dir: &Path,
        extra: &[&str],
    ) -> Self {
        let w = Self::launch(chain_json, urls, key, state, log_dir, extra, &[]);
        w.wait_healthy();
        w
    }

    /// As [`Witness::spawn`], with `envs` in its environment, and without waiting for
    /// its first round: it returns as soon as the daemon says where it listens.
    pub(crate) fn launch(
        chain_json: &Path,
        urls: &[String],
        key: &Path,
        state: &Path,
        log_dir: &Path,
        extra: &[&str],
        envs: &[(String, String)],
    ) -> Self {
        let log = log_dir.join(format!(
            "witness-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zipchain"));
        cmd.args(["witness", "serve", "--key"])
            .arg(key)
            .arg("--chain")
            .arg(chain_json)
            .arg("--state")
            .arg(state);
        if !extra.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        if !extra.contains(&"--poll-interval") {
            cmd.args(["--poll-interval", "300ms"]);
        }
        if !extra.contains(&"--catch-up-wait") {
            cmd.args(["--catch-up-wait", "2s"]);
        }
        for url in urls {
            cmd.args(["--store", url]);
        }
        cmd.args(extra)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().expect("spawn zipchain witness serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.wait();
            panic!(
                "the witness did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Self {
            url: url.to_owned(),
            child,
            log,
        }
    }

    pub(crate) fn post(&self, body: &str) -> Reply {
        http(&self.url, "POST", "/add-checkpoint", body.as_bytes())
    }

    pub(crate) fn get(&self, path: &str) -> Reply {
        http(&self.url, "GET", path, b"")
    }

    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/healthz` says ok (the first round finished).
    pub(crate) fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.get("/healthz");
            if r.status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never healthy: {}\n{}",
                r.body,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of the metric line starting with `name` (labels included).
    pub(crate) fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics").body;
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
            .parse()
            .unwrap()
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts the status (showing the answer and the witness's log when it differs).
#[track_caller]
pub(crate) fn expect(w: &Witness, r: &Reply, status: u16) {
    assert_eq!(
        r.status,
        status,
        "answer {r:?}\n--- witness log\n{}",
        w.logs()
    );
}

/// Checks a `200` answer: one cosignature line of `vkey` that verifies on `note`.
#[track_caller]
pub(crate) fn check_cosigned(r: &Reply, note: &Note, vkey: &str) -> u64 {
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.starts_with("\u{2014} ") && r.body.ends_with('\n'),
        "{r:?}"
    );
    assert_eq!(r.body.lines().count(), 1);
    let with = Note::parse(&format!("{}{}", note.to_text(), r.body)).unwrap();
    let key = VerifierKey::parse(vkey).unwrap();
    let signed = with.verify(std::slice::from_ref(&key)).unwrap();
    signed[0]
        .flatten()
        .expect("the witness's cosignature/v1 line")
}
