//! The writer end to end with Amazon Cognito as its timestamp service (issue #15), against
//! moto's Cognito on loopback (`moto_server`, started by the test; only
//! `ZIPCHAIN_SKIP_MOTO=1` skips it).
//!
//! The real `zipchain-writer` binary runs with `--timestamp cognito://<pool>?client=…&
//! domain=…&endpoint=…` and moto's credentials in its environment. Its chain.json's timestamp
//! section is the pool's (issuer, JWKS); transactions become final; the six stores are pulled
//! and audited as `zipchain pull` and `zipchain audit` do, and certificates checked as
//! `zipchain check` does (the same verifier-core calls); a token of another pool is refused
//! under that chain.json.
//!
//! Then Cognito fails: a proxy between the writer and moto first answers every request with
//! `TooManyRequestsException`, then drops every connection. Writes are still acknowledged;
//! the client retries with backoff, and `/healthz` answers 503 with a reason naming Amazon
//! Cognito and the failure; when the proxy forwards again, the writer recovers on its own and
//! every acknowledged write becomes final.

mod common;

use std::net::SocketAddr;

use common::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use verifier_core::chain::Auditor;
use verifier_core::hash::Hash32;
use verifier_core::timestamp::TimestampError;
use zipchain_testkit::moto::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};

const DOMAIN: &str = "bky.sh";

/// What the proxy in front of moto does with each new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Forward it to moto.
    Forward,
    /// Answer its request `400 TooManyRequestsException` (Cognito's throttling) and close.
    Throttle,
    /// Close it at once: no answer, as from a service that is down.
    Down,
}

/// A TCP proxy on loopback in front of `upstream` whose [`Mode`] the test switches; a
/// switch also cuts the connections it is forwarding, so that no pooled connection slips
/// past it.
struct Proxy {
    url: String,
    mode: watch::Sender<Mode>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (mode, modes) = watch::channel(Mode::Forward);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut modes = modes.clone();
                tokio::spawn(async move {
                    let now = *modes.borrow_and_update();
                    match now {
                        Mode::Forward => {
                            let Ok(mut up) = TcpStream::connect(upstream).await else {
                                return;
                            };
                            let mut client = client;
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut up) => {}
                                _ = modes.changed() => {}
                            }
                        }
                        Mode::Throttle => throttle(client).await,
                        Mode::Down => drop(client),
                    }
                });
            }
        });
        Self { url, mode }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

/// Reads one HTTP request from `stream` and answers it as Cognito answers a throttled one.
async fn throttle(mut stream: TcpStream) {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let (end, length) = loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    let mut body = seen.len() - end;
    while body < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body += n,
        }
    }
    let answer = r#"{"__type":"TooManyRequestsException","message":"Rate exceeded"}"#;
    let _ = stream
        .write_all(
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .as_bytes(),
        )
        .await;
    let _ = stream.shutdown().await;
}

/// The `/healthz` reasons that name the timestamp service.
fn timestamp_reasons(body: &serde_json::Value) -> Vec<String> {
    body["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str())
        .filter(|r| r.starts_with("timestamp: "))
        .map(str::to_owned)
        .collect()
}

/// Each `tx` is still pending.
async fn assert_pending(client: &reqwest::Client, daemon: &Daemon, txs: &[String]) {
    for tx in txs {
        let (_, v) = get_json(client, &daemon.url(&format!("/v1/transactions/{tx}"))).await;
        assert_eq!(v["status"], "pending", "{v}");
    }
}

/// Puts the proxy in `mode`, writes five transactions (each acknowledged), waits until
/// `/healthz` answers 503 with the failure `mode` causes in a reason that names
/// `named` (the service and its pool), and checks that the writes are still pending;
/// returns them.
async fn outage(
    proxy: &Proxy,
    client: &reqwest::Client,
    daemon: &Daemon,
    mode: Mode,
    named: &str,
) -> Vec<String> {
    let failure = match mode {
        Mode::Throttle => "HTTP 400 TooManyRequestsException: Rate exceeded (after 6 attempt(s))",
        Mode::Down => "no answer after 6 attempt(s)",
        Mode::Forward => unreachable!("forwarding is no outage"),
    };
    proxy.set(mode);
    let txs = post_all(client, &daemon.base, &format!("{mode:?}"), 5).await;
    let body = wait_health(client, daemon, failure, |status, body| {
        status == 503 && timestamp_reasons(body).iter().any(|r| r.contains(failure))
    })
    .await;
    let reasons = timestamp_reasons(&body).join("; ");
    eprintln!("/healthz in {mode:?}: {reasons}");
    assert!(reasons.contains(named), "{reasons}");
    assert_pending(client, daemon, &txs).await;
    txs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_on_moto_cognito_seals_audits_and_rides_out_an_outage() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let (pool, client_id) = moto.create_user_pool("zipchain-writer");
    let upstream: SocketAddr = moto
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = Proxy::start(upstream).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let timestamp = format!(
        "cognito://{pool}?client={client_id}&domain={DOMAIN}&endpoint={}",
        proxy.url
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
    ];
    let daemon = Daemon::start_with(&dir, &env, &["--timestamp", &timestamp]);
    let client = client();

    // chain.json's timestamp section is the pool's.
    let trust = trust(&client, &daemon.base).await;
    let section = trust.timestamp();
    assert_eq!(
        section.issuer,
        format!("https://cognito-idp.{REGION}.amazonaws.com/{pool}")
    );
    assert_eq!(section.username_domain, DOMAIN);
    let (_, jwks) = get_json(
        &client,
        &format!("{}/{pool}/.well-known/jwks.json", moto.endpoint()),
    )
    .await;
    assert_eq!(section.jwks, jwks, "the pool's JWKS, as it serves it");

    // Transactions sealed with Cognito timestamps; pulled, audited, certificates checked.
    let txs = post_all(&client, &daemon.base, "cognito", 30).await;
    wait_final(&client, &daemon.base, &txs).await;
    let auditor = Auditor::new(&trust).unwrap();
    let audit = pull_and_audit(&dir, &auditor).await;
    for tx in &txs {
        assert!(audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some());
    }
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &txs).await;
    check_certificates(&client, &daemon.base, &auditor, None, &txs).await;

    // A token of another pool, for the very block hash of a block of this chain, is
    // refused under this chain.json.
    let (other_pool, other_client) = moto.create_user_pool("zipchain-other");
    let other = cognito::CognitoTimestamps::new(cognito::CognitoConfig {
        region: REGION.into(),
        user_pool_id: other_pool,
        client_id: other_client,
        username_domain: DOMAIN.into(),
        endpoint: Some(url::Url::parse(moto.endpoint()).unwrap()),
        credentials: cognito::AwsCredentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None),
        retry: cognito::RetryPolicy::default(),
    })
    .unwrap();
    let block = audit.main_chain.last().unwrap().block;
    let foreign = other.timestamp(block.as_bytes()).await.unwrap();
    let refused = auditor
        .timestamp_verifier()
        .validate(&foreign)
        .expect_err("another pool's token");
    assert!(
        matches!(
            refused,
            TimestampError::Issuer { .. } | TimestampError::KidUnknown { .. }
        ),
        "{refused}"
    );

    // Cognito throttles every request, then does not answer at all: writes are still
    // acknowledged, and /healthz says why.
    let named = format!("Amazon Cognito (user pool {pool})");
    let during = outage(&proxy, &client, &daemon, Mode::Throttle, &named).await;
    let more = outage(&proxy, &client, &daemon, Mode::Down, &named).await;

    // Cognito is back: the writer recovers by itself and loses nothing acknowledged.
    proxy.set(Mode::Forward);
    let waiting: Vec<String> = during.iter().chain(&more).cloned().collect();
    wait_final(&client, &daemon.base, &waiting).await;
    wait_health(&client, &daemon, "healthy again", |s, _| s == 200).await;
    let audit = pull_and_audit(&dir, &auditor).await;
    let all: Vec<String> = txs.iter().chain(&waiting).cloned().collect();
    for tx in &all {
        assert!(
            audit.final_height(&Hash32::from_hex(tx).unwrap()).is_some(),
            "{tx} final in the pull"
        );
    }
    check_certificates(&client, &daemon.base, &auditor, Some(&audit), &all).await;

    let log = daemon.log_text();
    assert!(
        !log.contains(SECRET_ACCESS_KEY),
        "the AWS secret key is logged"
    );
    assert!(daemon.stop().success());
}
