//! The HTTP stand-ins: every route and every error through `oneshot` (no socket), then the
//! real `zipchain-tsa` and `zipchain-sequencer` binaries on 127.0.0.1:0 driven through the
//! clients, with every answer checked by the verifier core.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::BodyExt as _;
use nsm_issuer::TestCa;
use sha2::{Digest as _, Sha256, Sha384};
use tower::ServiceExt as _;
use verifier_core::nsm::{NsmPolicy, NsmVerifier, VerifyAt};
use verifier_core::sequence::{SequencerKey, check};
use verifier_core::time::UnixMillis;
use verifier_core::timestamp::{Jwks, TimestampPolicy, TimestampVerifier, TokenUse};
use verifier_core::trust::decode_pem_certificate;
use zipchain_services::client::{ClientError, SequencerClient, TsaClient};
use zipchain_services::http::{MAX_BODY_BYTES, SequencerState, now_millis, sequencer_app, tsa_app};
use zipchain_services::sequencer::{Sequencer, self_measurement};
use zipchain_services::tsa::{DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN, TimestampAuthority};

/// RSA-2048 generation costs a second or two: share one authority.
fn tsa() -> Arc<TimestampAuthority> {
    static TSA: OnceLock<Arc<TimestampAuthority>> = OnceLock::new();
    TSA.get_or_init(|| {
        Arc::new(TimestampAuthority::generate(DEFAULT_ISSUER, DEFAULT_USERNAME_DOMAIN).unwrap())
    })
    .clone()
}

fn timestamp_verifier(jwks: &serde_json::Value) -> TimestampVerifier {
    TimestampVerifier::new(TimestampPolicy {
        issuer: DEFAULT_ISSUER.to_string(),
        token_use: TokenUse::Id,
        username_domain: Some(DEFAULT_USERNAME_DOMAIN.to_string()),
        jwks: Jwks::from_value(jwks).unwrap(),
    })
    .unwrap()
}

fn nsm_verifier(root_pem: &str, pcr0: &[u8]) -> NsmVerifier {
    NsmVerifier::new(NsmPolicy {
        root_der: decode_pem_certificate(root_pem).unwrap(),
        pcrs: [(0u8, pcr0.to_vec())].into(),
        ..NsmPolicy::default()
    })
    .unwrap()
}

fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Checks `document` as a verifier would and returns its `k`.
fn checked_k(document: &[u8], key: [u8; 32], root_pem: &str, pcr0: &[u8], y: [u8; 48]) -> u64 {
    let key = SequencerKey::from_bytes(key).unwrap();
    let verified = check(
        &key,
        &nsm_verifier(root_pem, pcr0),
        document,
        VerifyAt::DocumentTimestamp,
    )
    .unwrap();
    let fields = verified.document().document();
    assert_eq!(fields.public_key.as_deref(), Some(&key.to_bytes()[..]));
    assert_eq!(verified.sequence().y, y);
    verified.sequence().k
}

fn y48(i: u8) -> [u8; 48] {
    let mut y = [i; 48];
    y[47] = 0x5e;
    y
}

// ---- oneshot: the routers -------------------------------------------------------------

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> (StatusCode, String, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

/// Asserts a JSON error answer and returns its message.
async fn error(
    app: &Router,
    method: &str,
    path: &str,
    body: Vec<u8>,
    status: StatusCode,
) -> String {
    let (got, content_type, body) = call(app, method, path, body).await;
    assert_eq!(
        got,
        status,
        "{method} {path}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(content_type, "application/json");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
    json["error"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tsa_timestamps_verify_under_its_jwks() {
    let app = tsa_app(tsa());
    let y = [0x3cu8; 32];
    let before = now_millis().unwrap().to_seconds().0;
    let (status, content_type, body) = call(&app, "POST", "/v1/timestamp", y.to_vec()).await;
    let after = now_millis().unwrap().to_seconds().0;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/jwt");
    let token = String::from_utf8(body).unwrap();

    let (status, content_type, body) = call(&app, "GET", "/.well-known/jwks.json", vec![]).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/json")
    );
    let jwks: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(jwks, tsa().jwks());

    let verified = timestamp_verifier(&jwks).validate(&token).unwrap();
    assert_eq!(verified.attested(), Some(&y[..]));
    assert!((before..=after).contains(&verified.iat().0));
    assert_eq!(
        claims(&token)["cognito:username"],
        format!("{}@bky.sh", hex::encode(y))
    );

    let (status, _, body) = call(&app, "GET", "/healthz", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["kid"], tsa().kid());
}

#[tokio::test]
async fn tsa_errors_are_json() {
    let app = tsa_app(tsa());
    for len in [0, 31, 33, 48] {
        let message = error(
            &app,
            "POST",
            "/v1/timestamp",
            vec![1; len],
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(
            message,
            format!("the body must be exactly 32 raw bytes, got {len} bytes")
        );
    }
    let message = error(
        &app,
        "POST",
        "/v1/timestamp",
        vec![1; MAX_BODY_BYTES + 1],
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(message.contains("length limit exceeded"), "{message}");
    let message = error(
        &app,
        "GET",
        "/v1/timestamp",
        vec![],
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_eq!(message, "GET is not allowed on /v1/timestamp");
    error(
        &app,
        "POST",
        "/.well-known/jwks.json",
        vec![],
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    error(
        &app,
        "DELETE",
        "/healthz",
        vec![],
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    let message = error(&app, "GET", "/v1/sequence", vec![], StatusCode::NOT_FOUND).await;
    assert_eq!(message, "no such route: /v1/sequence");
    error(&app, "GET", "/", vec![], StatusCode::NOT_FOUND).await;
}

fn sequencer_state(dir: &Path) -> Arc<SequencerState> {
    Arc::new(SequencerState::open(dir, self_measurement(), now_millis().unwrap()).unwrap())
}

#[tokio::test]
async fn sequencer_numbers_and_documents_verify() {
    let dir = tempfile::tempdir().unwrap();
    let state = sequencer_state(dir.path());
    let app = sequencer_app(state.clone());

    let (status, content_type, body) = call(&app, "GET", "/v1/public-key", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let key: [u8; 32] = hex::decode(&body).unwrap().try_into().unwrap();
    assert_eq!(key, state.public_key());

    let (status, content_type, body) = call(&app, "GET", "/v1/root.pem", vec![]).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/x-pem-file")
    );
    let root_pem = String::from_utf8(body).unwrap();
    assert_eq!(
        root_pem,
        std::fs::read_to_string(dir.path().join("root.pem")).unwrap()
    );

    let pcr0 = self_measurement();
    for (i, expected) in [(1u8, 0u64), (2, 1), (1, 0), (3, 2), (2, 1)] {
        let (status, content_type, document) =
            call(&app, "POST", "/v1/sequence", y48(i).to_vec()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/cbor");
        assert_eq!(
            checked_k(&document, key, &root_pem, &pcr0, y48(i)),
            expected
        );
    }

    let (status, _, body) = call(&app, "GET", "/healthz", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["count"], 3);
    assert_eq!(health["public_key"], hex::encode(key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_get_distinct_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let state = sequencer_state(dir.path());
    let app = sequencer_app(state.clone());
    let root_pem = state.root_pem().unwrap();
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { call(&app, "POST", "/v1/sequence", y48(i).to_vec()).await })
        })
        .collect();
    let mut ks = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let (status, _, document) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let y = y48(u8::try_from(i).unwrap());
        ks.push(checked_k(
            &document,
            state.public_key(),
            &root_pem,
            &self_measurement(),
            y,
        ));
    }
    ks.sort_unstable();
    assert_eq!(ks, (0..8).collect::<Vec<u64>>());
}

#[tokio::test]
async fn sequencer_errors_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let state = sequencer_state(dir.path());
    let app = sequencer_app(state.clone());
    for len in [0, 32, 47, 49] {
        let message = error(
            &app,
            "POST",
            "/v1/sequence",
            vec![7; len],
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(
            message,
            format!("the body must be exactly 48 raw bytes, got {len} bytes")
        );
    }
    error(
        &app,
        "POST",
        "/v1/sequence",
        vec![7; 64 * 1024],
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let message = error(
        &app,
        "GET",
        "/v1/sequence",
        vec![],
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_eq!(message, "GET is not allowed on /v1/sequence");
    error(
        &app,
        "POST",
        "/v1/public-key",
        vec![],
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    error(
        &app,
        "PUT",
        "/v1/root.pem",
        vec![],
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    error(&app, "GET", "/v1/timestamp", vec![], StatusCode::NOT_FOUND).await;
    error(
        &app,
        "GET",
        "/.well-known/jwks.json",
        vec![],
        StatusCode::NOT_FOUND,
    )
    .await;
    // Nothing refused used up a number.
    let (_, _, body) = call(&app, "GET", "/healthz", vec![]).await;
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["count"], 0);
}

#[tokio::test]
async fn a_stale_ca_is_renewed_and_saved_keeping_its_root() {
    let now = now_millis().unwrap();
    let two_days_ago = UnixMillis(now.0 - 2 * 86_400_000);
    let dir = tempfile::tempdir().unwrap();
    let leaf = |dir: &Path| std::fs::read_to_string(dir.join("leaf.pem")).unwrap();
    let root = |dir: &Path| std::fs::read_to_string(dir.join("root.pem")).unwrap();

    // At start-up.
    TestCa::generate(two_days_ago)
        .unwrap()
        .save(dir.path())
        .unwrap();
    let (old_root, old_leaf) = (root(dir.path()), leaf(dir.path()));
    let state = sequencer_state(dir.path());
    assert_eq!(root(dir.path()), old_root);
    assert_ne!(leaf(dir.path()), old_leaf);
    assert_eq!(state.root_pem(), Some(old_root));

    // While serving: the leaf the CA holds in memory is stale when a request comes.
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::generate(two_days_ago).unwrap();
    ca.save(dir.path()).unwrap();
    let (old_root, old_leaf) = (root(dir.path()), leaf(dir.path()));
    let module_id = ca.module_id().to_string();
    let sequencer = Sequencer::new(ca, module_id, self_measurement()).unwrap();
    let key = sequencer.public_key();
    let app = sequencer_app(Arc::new(SequencerState::new(
        sequencer,
        Some(dir.path().to_path_buf()),
    )));
    let (status, _, document) = call(&app, "POST", "/v1/sequence", y48(9).to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        checked_k(&document, key, &old_root, &self_measurement(), y48(9)),
        0
    );
    assert_eq!(root(dir.path()), old_root);
    assert_ne!(leaf(dir.path()), old_leaf);
    TestCa::load(dir.path()).unwrap();
}

// ---- the real binaries through the clients --------------------------------------------

/// A running daemon, killed if a test fails before stopping it.
struct Daemon {
    child: Child,
    url: String,
}

impl Daemon {
    fn start(program: &str, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{program} printed {line:?}"))
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "{url}"
        );
        Self { child, url }
    }

    /// SIGTERM, and the daemon must exit cleanly.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TSA_BIN: &str = env!("CARGO_BIN_EXE_zipchain-tsa");
const SEQUENCER_BIN: &str = env!("CARGO_BIN_EXE_zipchain-sequencer");

#[tokio::test]
async fn tsa_binary_through_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let key_dir = dir.path().join("tsa");
    let key_dir_arg = key_dir.to_str().unwrap();
    let args = ["--listen", "127.0.0.1:0", "--key-dir", key_dir_arg];
    let daemon = Daemon::start(TSA_BIN, &args);
    let client = TsaClient::new(&daemon.url).unwrap();
    let jwks = client.jwks().await.unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();

    // kid = standard base64 of SHA-256 of the key's DER SPKI, as Cognito's.
    let from_disk = TimestampAuthority::load_or_create(&key_dir, DEFAULT_ISSUER, "bky.sh").unwrap();
    assert_eq!(
        kid,
        STANDARD.encode(Sha256::digest(from_disk.public_key_der()))
    );

    let verifier = timestamp_verifier(&jwks);
    for i in 0..3u8 {
        let y = [i; 32];
        let token = client.timestamp(&y).await.unwrap();
        let verified = verifier.validate(&token).unwrap();
        assert_eq!(verified.attested(), Some(&y[..]));
        let claims = claims(&token);
        assert_eq!(
            claims["cognito:username"],
            format!("{}@bky.sh", hex::encode(y))
        );
        assert_eq!(claims["token_use"], "id");
        assert_eq!(claims["iss"], DEFAULT_ISSUER);
    }
    daemon.stop();

    // A restart keeps the key.
    let daemon = Daemon::start(TSA_BIN, &args);
    let client = TsaClient::new(&daemon.url).unwrap();
    assert_eq!(client.jwks().await.unwrap(), jwks);
    let token = client.timestamp(&[9; 32]).await.unwrap();
    timestamp_verifier(&jwks).validate(&token).unwrap();

    // Errors: a route the TSA does not have, a sequencer without a CA root to give.
    let wrong = SequencerClient::new(&daemon.url).unwrap();
    assert_eq!(wrong.root_pem().await.unwrap(), None);
    match wrong.sequence(&[0; 48]).await.unwrap_err() {
        ClientError::Status { status, body, .. } => {
            assert_eq!(status, 404);
            assert!(body.contains("no such route: /v1/sequence"), "{body}");
        }
        other => panic!("got {other:?}"),
    }
    assert!(matches!(
        wrong.public_key().await.unwrap_err(),
        ClientError::Status { status: 404, .. }
    ));
    daemon.stop();
}

#[tokio::test]
async fn sequencer_binary_through_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--ca-dir",
        ca_dir.to_str().unwrap(),
    ];
    let pcr0: [u8; 48] = Sha384::digest(std::fs::read(SEQUENCER_BIN).unwrap()).into();

    let daemon = Daemon::start(SEQUENCER_BIN, &args);
    let client = SequencerClient::new(&daemon.url).unwrap();
    let key = client.public_key().await.unwrap();
    let root_pem = client.root_pem().await.unwrap().unwrap();
    assert_eq!(
        root_pem,
        std::fs::read_to_string(ca_dir.join("root.pem")).unwrap()
    );
    for (i, expected) in [(1u8, 0u64), (2, 1), (3, 2), (2, 1), (1, 0)] {
        let document = client.sequence(&y48(i)).await.unwrap();
        assert_eq!(
            checked_k(&document, key, &root_pem, &pcr0, y48(i)),
            expected
        );
    }
    // The same y twice: the same k and g, so the same user_data.
    let first = client.sequence(&y48(4)).await.unwrap();
    let again = client.sequence(&y48(4)).await.unwrap();
    let user_data = |doc: &[u8]| {
        let verifier = nsm_verifier(&root_pem, &pcr0);
        let verified = verifier.verify(doc, VerifyAt::DocumentTimestamp).unwrap();
        verified.document().user_data.clone()
    };
    assert_eq!(user_data(&first), user_data(&again));
    daemon.stop();

    // A restart is a new chain (new key, k = 0 again) under the same CA root.
    let daemon = Daemon::start(SEQUENCER_BIN, &args);
    let client = SequencerClient::new(&format!("{}/", daemon.url)).unwrap();
    let new_key = client.public_key().await.unwrap();
    assert_ne!(new_key, key);
    assert_eq!(client.root_pem().await.unwrap().unwrap(), root_pem);
    let document = client.sequence(&y48(2)).await.unwrap();
    assert_eq!(checked_k(&document, new_key, &root_pem, &pcr0, y48(2)), 0);
    // A document of the new chain does not pass under the old key.
    let old_key = SequencerKey::from_bytes(key).unwrap();
    assert!(
        check(
            &old_key,
            &nsm_verifier(&root_pem, &pcr0),
            &document,
            VerifyAt::DocumentTimestamp
        )
        .is_err()
    );

    // The TSA client against the sequencer: 404s, typed.
    let wrong = TsaClient::new(&daemon.url).unwrap();
    assert!(matches!(
        wrong.timestamp(&[0; 32]).await.unwrap_err(),
        ClientError::Status { status: 404, .. }
    ));
    let url = daemon.url.clone();
    daemon.stop();

    // Nobody listening any more.
    let gone = SequencerClient::new(&url).unwrap();
    assert!(matches!(
        gone.public_key().await.unwrap_err(),
        ClientError::Network { .. }
    ));
}

#[tokio::test]
async fn clients_reject_bad_urls_and_malformed_answers() {
    for url in [
        "",
        "not a url",
        "ftp://example.com",
        "http://h/?q=1",
        "file:///tmp",
    ] {
        assert!(
            matches!(TsaClient::new(url), Err(ClientError::BadUrl { .. })),
            "{url:?}"
        );
        assert!(
            matches!(SequencerClient::new(url), Err(ClientError::BadUrl { .. })),
            "{url:?}"
        );
    }

    // A service that answers 200 with the wrong things.
    use axum::routing::{get, post};
    let liar = Router::new()
        .route("/v1/timestamp", post(|| async { "not a jwt" }))
        .route(
            "/.well-known/jwks.json",
            get(|| async { "{\"nokeys\": 1}" }),
        )
        .route("/v1/sequence", post(|| async { "" }))
        .route("/v1/public-key", get(|| async { "abcd" }))
        .route("/v1/root.pem", get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, liar).await });
    let tsa = TsaClient::new(&url).unwrap();
    let sequencer = SequencerClient::new(&url).unwrap();
    let malformed = |e: ClientError| matches!(e, ClientError::Malformed { .. });
    assert!(malformed(tsa.timestamp(&[0; 32]).await.unwrap_err()));
    assert!(malformed(tsa.jwks().await.unwrap_err()));
    assert!(malformed(sequencer.sequence(&[0; 48]).await.unwrap_err()));
    let err = sequencer.public_key().await.unwrap_err();
    assert!(
        err.to_string().contains("got 2 bytes, expected 32"),
        "{err}"
    );
    assert!(malformed(sequencer.root_pem().await.unwrap_err()));
}
