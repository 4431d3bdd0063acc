//! The writer's push to witnesses (SPEC §9.6 `--witness URL`, issue #17) on the real
//! `zipchain-writer` binary, against an independent C2SP tlog-witness written here from the
//! spec (c2sp.org/tlog-witness): it parses `add-checkpoint` requests itself, verifies the
//! log's note signature with Cloudflare azul's `signed_note` and the consistency proof
//! with azul's `tlog_tiles` (ports of Go's `sumdb/note` and `sumdb/tlog`, not our code),
//! keeps the size and root it last cosigned, answers `409` with that size as
//! `text/x.tlog.size`, and `200` with a cosignature/v1 line of a witness key in
//! `zipchain witness keygen`'s format.
//!
//! - Two honest witnesses and quorum 2: certificates become v2 and check offline; one of
//!   them answers `503` twice first; a third answers garbage and a fourth cosigns with a
//!   key chain.json does not name: both are ignored and reported on `/healthz` and
//!   `/metrics`.
//! - A witness that is down (connection refused) holds back neither sealing nor v1
//!   certificates, shows its lag, and once it is up the certificates become v2.
//! - A witness restored to an older size (the 409 dance), one that claims a size beyond
//!   the writer's (reported, not looped on), and a writer restarted (it sends `old 0`).

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::*;
use signed_note as sn;
use tlog_tiles as tt;
use verifier_core::certificate::check_certificate;
use verifier_core::chain::Auditor;
use verifier_core::tlog::note::ALG_COSIGNATURE_V1;
use verifier_core::tlog::signer::SignerKey;
use verifier_core::trust::TrustDescriptor;

/// A witness key as `zipchain witness keygen` writes it (read back from its key-file text).
fn witness_key(name: &str, seed: u8) -> SignerKey {
    let made = SignerKey::new(name, ALG_COSIGNATURE_V1, [seed; 32]).unwrap();
    SignerKey::parse(&made.to_text(), ALG_COSIGNATURE_V1).unwrap()
}

/// How a test witness answers.
#[derive(Clone)]
enum Mode {
    /// As C2SP tlog-witness says.
    Honest,
    /// `503` with `Retry-After: 1` to the next `n` requests, then honest.
    Unavailable(u32),
    /// `200` with a body that is no cosignature.
    Garbage,
    /// Honest, but cosigning with this key (not the one chain.json names).
    Stranger(Box<SignerKey>),
}

/// A test witness's state: the log it witnesses, what it last cosigned, what it was asked.
struct WitnessState {
    key: SignerKey,
    /// The log's origin line, and the log key (a signed-note verifier key).
    origin: String,
    log_key: String,
    mode: Mode,
    /// The size and root of the latest checkpoint it cosigned.
    cosigned: Option<(u64, tt::Hash)>,
    /// Every checkpoint it cosigned, in order.
    history: Vec<(u64, tt::Hash)>,
    /// Each request's `old` (when it parsed) and the status answered.
    requests: Vec<(Option<u64>, u16)>,
}

type Shared = Arc<Mutex<WitnessState>>;

/// A C2SP tlog-witness on loopback, for one log.
struct TestWitness {
    state: Shared,
    url: String,
}

impl TestWitness {
    /// A witness of `trust`'s log with `key`, answering as `mode`, served under `prefix`
    /// (`""` or `/path`) on `listener`.
    fn serve(
        listener: tokio::net::TcpListener,
        prefix: &str,
        trust: &TrustDescriptor,
        key: SignerKey,
        mode: Mode,
    ) -> Self {
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(WitnessState {
            key,
            origin: format!("zipchain/{}", trust.genesis().to_hex()),
            log_key: trust.log_key().unwrap().to_text(),
            mode,
            cosigned: None,
            history: Vec::new(),
            requests: Vec::new(),
        }));
        let app = axum::Router::new()
            .route(
                &format!("{prefix}/add-checkpoint"),
                axum::routing::post(add_checkpoint),
            )
            .with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            state,
            url: format!("http://{addr}{prefix}"),
        }
    }

    async fn start(trust: &TrustDescriptor, key: SignerKey, mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, "", trust, key, mode)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WitnessState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cosigned_size(&self) -> u64 {
        self.lock().cosigned.map_or(0, |(n, _)| n)
    }

    fn requests(&self) -> Vec<(Option<u64>, u16)> {
        self.lock().requests.clone()
    }
}

/// `POST <prefix>/add-checkpoint`, C2SP tlog-witness.
async fn add_checkpoint(State(state): State<Shared>, body: Bytes) -> Response {
    let mut w = state.lock().unwrap_or_else(PoisonError::into_inner);
    let (old, answer) = answer(&mut w, &body);
    let status = answer.status().as_u16();
    w.requests.push((old, status));
    answer
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, body.into()).into_response()
}

/// The witness's answer to `body`, and the request's old size when it parsed.
fn answer(w: &mut WitnessState, body: &[u8]) -> (Option<u64>, Response) {
    match w.mode {
        Mode::Unavailable(n) if n > 0 => {
            w.mode = Mode::Unavailable(n - 1);
            let busy = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                "catching up\n",
            );
            return (None, busy.into_response());
        }
        Mode::Garbage => {
            return (None, text(StatusCode::OK, "this is not a cosignature\n"));
        }
        _ => {}
    }
    let bad = |why: &str| text(StatusCode::BAD_REQUEST, format!("{why}\n"));
    // The request: `old <size>`, proof lines, an empty line, the signed checkpoint.
    let Ok(request) = std::str::from_utf8(body) else {
        return (None, bad("not UTF-8"));
    };
    let Some((first, mut rest)) = request.split_once('\n') else {
        return (None, bad("no old size line"));
    };
    let old = first
        .strip_prefix("old ")
        .filter(|d| *d == "0" || !d.starts_with('0'))
        .and_then(|d| d.parse::<u64>().ok());
    let Some(old) = old else {
        return (None, bad("malformed old size line"));
    };
    let mut proof = Vec::new();
    loop {
        let Some((line, after)) = rest.split_once('\n') else {
            return (Some(old), bad("no empty line after the proof"));
        };
        rest = after;
        if line.is_empty() {
            break;
        }
        if proof.len() == 63 {
            return (Some(old), bad("more than 63 proof lines"));
        }
        match tt::Hash::parse_hash(line) {
            Ok(hash) => proof.push(hash),
            Err(_) => return (Some(old), bad("a proof line is not a base64 hash")),
        }
    }
    let Ok(note) = sn::Note::from_bytes(rest.as_bytes()) else {
        return (Some(old), bad("not a signed note"));
    };
    let Ok(checkpoint) = tt::Checkpoint::from_bytes(note.text()) else {
        return (Some(old), bad("not a checkpoint"));
    };
    if checkpoint.origin() != w.origin {
        return (Some(old), text(StatusCode::NOT_FOUND, "unknown origin\n"));
    }
    let verifier = sn::StandardVerifier::new(&w.log_key).unwrap();
    let known = sn::VerifierList::new(vec![Box::new(verifier)]);
    if note.verify(&known).is_err() {
        return (
            Some(old),
            text(StatusCode::FORBIDDEN, "no valid log signature\n"),
        );
    }
    let (size, root) = (checkpoint.size(), *checkpoint.hash());
    if old > size {
        return (Some(old), bad("old size above the checkpoint's"));
    }
    let (held, held_root) = w.cosigned.unwrap_or((0, tt::Hash([0; 32])));
    let conflict = || {
        (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{held}\n"),
        )
            .into_response()
    };
    if old != held {
        return (Some(old), conflict());
    }
    let consistent = if old == size {
        if root != held_root {
            return (Some(old), conflict());
        }
        true
    } else if old == 0 {
        proof.is_empty()
    } else {
        tt::check_tree(&proof, size, root, old, held_root).is_ok()
    };
    if !consistent {
        return (
            Some(old),
            text(StatusCode::UNPROCESSABLE_ENTITY, "inconsistent\n"),
        );
    }
    w.cosigned = Some((size, root));
    w.history.push((size, root));
    let key = match &w.mode {
        Mode::Stranger(key) => (**key).clone(),
        _ => w.key.clone(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = std::str::from_utf8(note.text()).unwrap();
    (
        Some(old),
        text(StatusCode::OK, key.sign(body, now).to_line()),
    )
}

/// Makes the chain (genesis) with the witness policy `keys`/`quorum`, and returns its
/// descriptor; the writer is stopped again.
async fn genesis(data: &std::path::Path, keys: &[&SignerKey], quorum: &str) -> TrustDescriptor {
    let texts: Vec<String> = keys.iter().map(|k| k.verifier_key().to_text()).collect();
    let mut args: Vec<&str> = texts.iter().flat_map(|k| ["--witness-key", k]).collect();
    args.extend(["--quorum", quorum]);
    let daemon = Daemon::start_with(data, &[], &args);
    let made = trust(&client(), &daemon.base).await;
    daemon.stop();
    made
}

/// Starts the writer on `data` pushing to `witnesses`.
fn writer_with(data: &std::path::Path, witnesses: &[&str]) -> Daemon {
    let args: Vec<&str> = witnesses.iter().flat_map(|u| ["--witness", *u]).collect();
    Daemon::start_with(data, &[], &args)
}

/// Polls until `done` says yes (or fails naming `what`).
async fn until<T>(what: &str, mut done: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = done().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not in time: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the certificate of `tx` is v2, and checks it offline; returns how many
/// witnesses vouched.
async fn wait_v2(client: &reqwest::Client, daemon: &Daemon, auditor: &Auditor, tx: &str) -> usize {
    let url = daemon.url(&format!("/v1/transactions/{tx}/certificate"));
    let cert = until(&format!("a certificate v2 of {tx}"), async || {
        let text = get_text(client, &url).await;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        (v["zipchain_certificate"] == 2).then_some(text)
    })
    .await;
    let verdict = check_certificate(&cert, auditor, None);
    assert!(verdict.valid, "{tx}: {:?}", verdict.first_failure());
    assert!(verdict.main_chain_checked);
    let proof = verdict.main_chain_proof.unwrap();
    assert!(proof.witnesses >= proof.quorum);
    proof.witnesses
}

/// Waits until `witness` holds the writer's latest checkpoint, one of its whole main
/// chain; returns its size.
async fn settled(client: &reqwest::Client, daemon: &Daemon, witness: &TestWitness) -> u64 {
    until("the witness at the latest checkpoint", async || {
        let height = metric(client, daemon, "zipchain_writer_main_chain_height", "").await?;
        let latest = metric(client, daemon, "zipchain_writer_checkpoint_size", "").await?;
        let held = witness.cosigned_size();
        (latest == height + 1.0 && held as f64 == latest).then_some(held)
    })
    .await
}

/// Posts `n` transactions labelled `label` and waits until they are final.
async fn write_final(
    client: &reqwest::Client,
    daemon: &Daemon,
    label: &str,
    n: usize,
) -> Vec<String> {
    let txs = post_all(client, &daemon.base, label, n).await;
    wait_final(client, &daemon.base, &txs).await;
    txs
}

/// How a `/healthz` reason names the witness at `url`.
fn named(url: &str) -> String {
    format!("witness {url}: ")
}

/// The lag metric of the witness at `url`.
async fn lag(client: &reqwest::Client, daemon: &Daemon, url: &str) -> Option<f64> {
    let labels = format!("witness=\"{url}\"");
    metric(
        client,
        daemon,
        "zipchain_writer_witness_lag_entries",
        &labels,
    )
    .await
}

#[test]
fn two_witnesses_make_certificates_v2_and_bad_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let (a, b, g) = (
        witness_key("a.example", 1),
        witness_key("b.example", 2),
        witness_key("g.example", 3),
    );
    let stranger = witness_key("stranger.example", 9);
    rt().block_on(async {
        let client = client();
        let made = genesis(&data, &[&a, &b, &g], "2").await;
        let auditor = Auditor::new(&made).unwrap();
        let wa = TestWitness::start(&made, a.clone(), Mode::Honest).await;
        let wb = TestWitness::start(&made, b.clone(), Mode::Unavailable(2)).await;
        let wg = TestWitness::start(&made, g.clone(), Mode::Garbage).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = TestWitness::serve(
            listener,
            "/tlog-witness",
            &made,
            a.clone(),
            Mode::Stranger(Box::new(stranger.clone())),
        );
        let daemon = writer_with(&data, &[&wa.url, &wb.url, &wg.url, &ws.url]);

        // Certificates become v2 with both honest witnesses, and check offline.
        let first = write_final(&client, &daemon, "first", 20).await;
        for tx in &first {
            assert_eq!(wait_v2(&client, &daemon, &auditor, tx).await, 2, "{tx}");
        }
        // A second round: the witnesses get consistency proofs from what they hold.
        let second = write_final(&client, &daemon, "second", 20).await;
        for tx in &second {
            wait_v2(&client, &daemon, &auditor, tx).await;
        }
        for w in [&wa, &wb] {
            let requests = w.requests();
            assert!(
                requests
                    .iter()
                    .any(|&(old, status)| old > Some(0) && status == 200),
                "{} never cosigned with a consistency proof: {requests:?}",
                w.url
            );
        }
        // The first push of each was `old 0`; b answered 503 twice, then cosigned.
        assert_eq!(wa.requests()[0], (Some(0), 200));
        let b_requests = wb.requests();
        assert_eq!(
            &b_requests[..3],
            &[(None, 503), (None, 503), (Some(0), 200)]
        );

        // The garbage and the stranger's key are ignored and reported; the writer is
        // degraded, not unhealthy.
        let health = wait_health(
            &client,
            &daemon,
            "both bad witnesses reported",
            |status, v| {
                let r = reasons(v);
                status == 200 && r.contains(&named(&wg.url)) && r.contains(&named(&ws.url))
            },
        )
        .await;
        assert_eq!(health["status"], "degraded", "{health}");
        assert_eq!(health["sealing"], true, "{health}");
        let r = reasons(&health);
        assert!(r.contains("not cosignature lines"), "{r}");
        let stranger_key = format!(
            "stranger.example+{}",
            hex::encode(stranger.verifier_key().id())
        );
        assert!(
            r.contains(&format!(
                "witness {}: cosigns with {stranger_key}, not a key of chain.json's witnesses",
                ws.url
            )),
            "{r}"
        );
        assert!(
            !r.contains(&named(&wa.url)) && !r.contains(&named(&wb.url)),
            "{r}"
        );
        assert!(
            !r.contains("quorum"),
            "two of four still make the quorum: {r}"
        );
        // The stranger cosigned (its size moved), the garbage witness never did.
        assert!(ws.cosigned_size() > 0);
        assert_eq!(wg.cosigned_size(), 0);

        // Metrics: both honest witnesses caught up, the errors by status.
        let latest = until(
            "the honest witnesses at the latest checkpoint",
            async || {
                let latest =
                    metric(&client, &daemon, "zipchain_writer_checkpoint_size", "").await?;
                let lags = [
                    lag(&client, &daemon, &wa.url).await?,
                    lag(&client, &daemon, &wb.url).await?,
                ];
                (lags == [0.0, 0.0]).then_some(latest)
            },
        )
        .await;
        assert!(latest >= 3.0, "{latest}");
        let at = |url: &str| format!("witness=\"{url}\"");
        let errors = |url: &str, status: &str| format!("witness=\"{url}\",status=\"{status}\"");
        let push_errors = "zipchain_writer_witness_push_errors_total";
        assert_eq!(
            metric(&client, &daemon, push_errors, &errors(&wb.url, "503")).await,
            Some(2.0)
        );
        assert_eq!(
            metric(&client, &daemon, push_errors, &errors(&wa.url, "503")).await,
            None
        );
        let malformed = metric(&client, &daemon, push_errors, &errors(&wg.url, "malformed")).await;
        assert!(malformed.is_some_and(|n| n >= 3.0), "{malformed:?}");
        let unknown = metric(
            &client,
            &daemon,
            push_errors,
            &errors(&ws.url, "unknown_key"),
        )
        .await;
        assert!(unknown.is_some_and(|n| n >= 1.0), "{unknown:?}");
        let size = "zipchain_writer_witness_cosigned_size";
        assert_eq!(
            metric(&client, &daemon, size, &at(&wg.url)).await,
            Some(0.0)
        );
        let g_lag = lag(&client, &daemon, &wg.url).await.unwrap();
        assert!(g_lag >= latest, "{g_lag} < {latest}");
        let success = "zipchain_writer_witness_last_success_timestamp_seconds";
        assert!(
            metric(&client, &daemon, success, &at(&wa.url))
                .await
                .is_some()
        );
        assert_eq!(metric(&client, &daemon, success, &at(&wg.url)).await, None);
        let age = metric(
            &client,
            &daemon,
            "zipchain_writer_checkpoint_age_seconds",
            "",
        )
        .await;
        assert!(age.is_some_and(|a| a >= 0.0), "{age:?}");
        let cosigned = metric(
            &client,
            &daemon,
            "zipchain_writer_cosigned_checkpoint_size",
            "",
        )
        .await;
        assert!(cosigned.is_some_and(|c| c >= 3.0), "{cosigned:?}");
        daemon.stop();
    });
}

#[test]
fn a_witness_that_is_down_holds_nothing_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let (a, b) = (witness_key("a.example", 1), witness_key("b.example", 2));
    rt().block_on(async {
        let client = client();
        let made = genesis(&data, &[&a, &b], "2").await;
        let auditor = Auditor::new(&made).unwrap();
        let wa = TestWitness::start(&made, a.clone(), Mode::Honest).await;
        // b's port, with nothing listening on it yet: connections are refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let b_url = format!("http://127.0.0.1:{port}");
        let daemon = writer_with(&data, &[&wa.url, &b_url]);

        // Sealing goes on and certificates are v1, valid offline.
        let txs = write_final(&client, &daemon, "down", 10).await;
        let certs = certificates(&client, &daemon, txs.iter()).await;
        for (tx, cert) in &certs {
            let v: serde_json::Value = serde_json::from_str(cert).unwrap();
            assert_eq!(v["zipchain_certificate"], 1, "{tx}");
            let verdict = check_certificate(cert, &auditor, None);
            assert!(verdict.valid, "{tx}: {:?}", verdict.first_failure());
        }
        let health = wait_health(
            &client,
            &daemon,
            "the dead witness reported",
            |status, v| status == 200 && reasons(v).contains(&named(&b_url)),
        )
        .await;
        assert_eq!(health["status"], "degraded", "{health}");
        let r = reasons(&health);
        assert!(r.contains("cannot connect"), "{r}");
        assert!(
            r.contains("1 of the 2 pushed witnesses cosign, fewer than chain.json's quorum of 2"),
            "{r}"
        );
        // More writes are still sealed meanwhile.
        write_final(&client, &daemon, "still", 5).await;
        // Its lag is the whole log; a's is none.
        until("the lags", async || {
            let latest = metric(&client, &daemon, "zipchain_writer_checkpoint_size", "").await?;
            let b_lag = lag(&client, &daemon, &b_url).await?;
            let a_lag = lag(&client, &daemon, &wa.url).await?;
            (b_lag == latest && a_lag == 0.0 && latest > 0.0).then_some(())
        })
        .await;
        let connect = format!("witness=\"{b_url}\",status=\"connect\"");
        let refused = metric(
            &client,
            &daemon,
            "zipchain_writer_witness_push_errors_total",
            &connect,
        )
        .await;
        assert!(refused.is_some_and(|n| n >= 3.0), "{refused:?}");

        // b comes up: within the backoff it cosigns, the certificates become v2, and the
        // writer is healthy again.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let wb = TestWitness::serve(listener, "", &made, b.clone(), Mode::Honest);
        for tx in &txs {
            assert_eq!(wait_v2(&client, &daemon, &auditor, tx).await, 2);
        }
        assert!(wb.cosigned_size() > 0);
        wait_health(&client, &daemon, "healthy again", |status, v| {
            status == 200 && v["status"] == "ok"
        })
        .await;
        daemon.stop();
    });
}

#[test]
fn a_witness_restored_to_an_older_size_or_ahead_and_a_restarted_writer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let a = witness_key("a.example", 1);
    rt().block_on(async {
        let client = client();
        let made = genesis(&data, &[&a], "1").await;
        let auditor = Auditor::new(&made).unwrap();
        let wa = TestWitness::start(&made, a.clone(), Mode::Honest).await;
        let daemon = writer_with(&data, &[&wa.url]);
        let tx = write_final(&client, &daemon, "one", 3).await;
        wait_v2(&client, &daemon, &auditor, &tx[2]).await;
        let tx = write_final(&client, &daemon, "two", 3).await;
        wait_v2(&client, &daemon, &auditor, &tx[2]).await;
        let held = settled(&client, &daemon, &wa).await;
        assert!(wa.lock().history.len() >= 2);

        // Restored from an older backup: it holds its first checkpoint again.
        let older = wa.lock().history[0];
        assert!(older.0 < held);
        {
            let mut w = wa.lock();
            w.cosigned = Some(older);
            w.requests.clear();
        }
        let tx = write_final(&client, &daemon, "three", 3).await;
        wait_v2(&client, &daemon, &auditor, &tx[2]).await;
        let requests = wa.requests();
        let conflict = requests
            .iter()
            .position(|r| *r == (Some(held), 409))
            .unwrap_or_else(|| panic!("no 409 to old {held}: {requests:?}"));
        assert_eq!(
            requests.get(conflict + 1),
            Some(&(Some(older.0), 200)),
            "the proof from the size it named, at once: {requests:?}"
        );

        // A witness that claims a checkpoint beyond the writer's: reported, and retried
        // only with the backoff, not in a loop.
        settled(&client, &daemon, &wa).await;
        let real = wa.lock().cosigned;
        wa.lock().cosigned = Some((1_000_000, tt::Hash([7; 32])));
        let tx = write_final(&client, &daemon, "four", 1).await;
        let health = wait_health(&client, &daemon, "the witness ahead reported", |_, v| {
            reasons(v).contains("beyond this writer's latest")
        })
        .await;
        assert_eq!(health["status"], "degraded", "{health}");
        assert!(reasons(&health).contains("size 1000000"), "{health}");
        let before = wa.requests().len();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let during = wa.requests().len() - before;
        assert!(during <= 6, "{during} requests in 3 s: a loop");
        // Put right, it cosigns again at the next try.
        wa.lock().cosigned = real;
        wait_v2(&client, &daemon, &auditor, &tx[0]).await;
        wait_health(&client, &daemon, "healthy again", |status, v| {
            status == 200 && v["status"] == "ok"
        })
        .await;
        settled(&client, &daemon, &wa).await;
        daemon.stop();

        // A restarted writer knows no size: it sends `old 0`, and the 409 corrects it.
        wa.lock().requests.clear();
        let daemon = writer_with(&data, &[&wa.url]);
        let tx = write_final(&client, &daemon, "five", 2).await;
        wait_v2(&client, &daemon, &auditor, &tx[1]).await;
        let requests = wa.requests();
        assert_eq!(requests[0], (Some(0), 409), "{requests:?}");
        assert!(
            requests
                .iter()
                .any(|&(old, status)| old > Some(0) && status == 200),
            "{requests:?}"
        );
        let conflicts = metric(
            &client,
            &daemon,
            "zipchain_writer_witness_push_errors_total",
            &format!("witness=\"{}\",status=\"409\"", wa.url),
        )
        .await;
        assert_eq!(conflicts, Some(1.0));
        daemon.stop();
    });
}

/// SIGKILL right after a witness answered with its cosignature, before the writer kept
/// it (failpoint `after-witness-cosigned`, Stage::AfterWitnessCosigned): restarted, the
/// writer learns that the witness holds that checkpoint (409), goes on from there, and
/// every acknowledged write becomes final exactly once with a certificate v2.
#[test]
fn killed_after_a_witness_cosigned_the_writer_goes_on_from_what_it_holds() {
    use zipchain_writer::failpoint::{ENV, Stage};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let a = witness_key("a.example", 1);
    rt().block_on(async {
        let client = client();
        let made = genesis(&data, &[&a], "1").await;
        let auditor = Auditor::new(&made).unwrap();
        let wa = TestWitness::start(&made, a.clone(), Mode::Honest).await;
        // The genesis checkpoint cosigned first, so that the next start pushes nothing
        // new before a write.
        let daemon = writer_with(&data, &[&wa.url]);
        let mut acked = write_final(&client, &daemon, "first", 3).await;
        settled(&client, &daemon, &wa).await;
        assert!(daemon.stop().success());

        let armed = [(ENV, Stage::AfterWitnessCosigned.name())];
        let args = ["--witness", wa.url.as_str()];
        let daemon = Daemon::start_with(&data, &armed, &args);
        let mut died = false;
        for round in 0..100 {
            match post(&client, &daemon.base, format!("armed {round}").into_bytes()).await {
                Some(tx) => acked.push(tx),
                None => {
                    died = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(died, "the failpoint was never reached");
        assert!(!daemon.wait_exit().success());
        let held = wa.cosigned_size();

        let daemon = writer_with(&data, &[&wa.url]);
        acked.extend(write_final(&client, &daemon, "after", 3).await);
        wait_final(&client, &daemon.base, &acked).await;
        let size = settled(&client, &daemon, &wa).await;
        assert!(size > held, "held {held}, now {size}");
        for tx in &acked {
            wait_v2(&client, &daemon, &auditor, tx).await;
        }
        let stores = replication::Stores::local(&data.join("stores")).unwrap();
        assert_final_exactly_once(&stores, &auditor, &acked).await;
        assert!(daemon.stop().success());
    });
}
