//! Bad input through the router with `oneshot`, no socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use zipchain_writer::{Config, Writer, http::app};

async fn call(router: axum::Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let res = router.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn post(body: &'static [u8], token: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/v1/transactions");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::from(body)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::new(tmp.path());
    config.max_tx_bytes = 16;
    config.token = Some("s3cret".into());
    let writer = Writer::start(&config).await.unwrap();
    let router = app(writer.app_state());

    let (s, v) = call(router.clone(), post(b"0123456789abcdefXX", Some("s3cret"))).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v["error"].is_string());
    let (s, _) = call(router.clone(), post(b"", Some("s3cret"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(router.clone(), post(b"hello", None)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(router.clone(), post(b"hello", Some("wrong"))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = call(router.clone(), post(b"hello", Some("s3cret"))).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let tx = v["tx"].as_str().unwrap().to_string();
    let (s, v) = call(
        router.clone(),
        Request::get(format!("/v1/transactions/{tx}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["status"] == "pending" || v["status"] == "final");

    let (s, v) = call(
        router.clone(),
        Request::get("/nowhere").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"].is_string());
    let (s, _) = call(
        router.clone(),
        Request::get("/v1/transactions/xyz")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        router.clone(),
        Request::get(format!("/v1/transactions/{}", "ab".repeat(32)))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        router.clone(),
        Request::get(format!("/v1/transactions/{}/certificate", "ab".repeat(32)))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        router.clone(),
        Request::delete("/v1/chain").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, v) = call(
        router.clone(),
        Request::get("/v1/chain").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // v2 (SPEC §9.4): every writer publishes its log key, named by the origin.
    assert_eq!(v["zipchain_chain"], 2);
    assert!(
        v["log_key"].as_str().unwrap().starts_with("zipchain/"),
        "{v}"
    );

    // The batch endpoint: a CBOR array of byte strings.
    let batch = verifier_core::batch::Batch::new(vec![b"one".to_vec(), b"two".to_vec()]).encode();
    let req = Request::post("/v1/transactions/batch")
        .header(header::AUTHORIZATION, "Bearer s3cret")
        .body(Body::from(batch))
        .unwrap();
    let (s, v) = call(router.clone(), req).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["txs"].as_array().unwrap().len(), 2);
    let req = Request::post("/v1/transactions/batch")
        .header(header::AUTHORIZATION, "Bearer s3cret")
        .body(Body::from(&b"not cbor"[..]))
        .unwrap();
    assert_eq!(call(router.clone(), req).await.0, StatusCode::BAD_REQUEST);
    drop(router);
    writer.shutdown(std::time::Duration::from_secs(20)).await;
}

/// A body that never ends and records whether anything polled it.
fn unending_body(polled: &Arc<AtomicBool>) -> Body {
    let polled = Arc::clone(polled);
    Body::from_stream(futures::stream::poll_fn(move |_| {
        polled.store(true, Ordering::SeqCst);
        Poll::<Option<Result<Bytes, std::io::Error>>>::Pending
    }))
}

/// Issue #13: a write is refused from its headers, before its body is read. Before the
/// guard, the batch route read (up to 64 MiB of) the body first, so this unending body
/// kept the request waiting forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_writes_are_refused_before_the_body_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::new(tmp.path());
    config.token = Some("s3cret".into());
    let writer = Writer::start(&config).await.unwrap();
    let router = app(writer.app_state());
    for path in ["/v1/transactions", "/v1/transactions/batch"] {
        for auth in [None, Some("Bearer wrong"), Some("s3cret")] {
            let polled = Arc::new(AtomicBool::new(false));
            let mut req = Request::post(path).header(header::CONTENT_LENGTH, "67108864");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let req = req.body(unending_body(&polled)).unwrap();
            let res = tokio::time::timeout(Duration::from_secs(60), router.clone().oneshot(req))
                .await
                .unwrap_or_else(|_| panic!("{path} {auth:?}: no answer: the body was awaited"))
                .unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path} {auth:?}");
            assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["error"], "missing or wrong bearer token");
            assert!(
                !polled.load(Ordering::SeqCst),
                "{path} {auth:?}: body polled"
            );
        }
    }
    // A wrong method on a write route is still 405, token or not.
    let (s, _) = call(
        router.clone(),
        Request::get("/v1/transactions/batch")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    drop(router);
    writer.shutdown(Duration::from_secs(20)).await;
}

/// A request to `path` with `headers`, and the status and JSON it gets; `polled` tells
/// whether the body was read.
async fn write_with(
    router: &axum::Router,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> (StatusCode, serde_json::Value, bool) {
    let polled = Arc::new(AtomicBool::new(false));
    let mut req = Request::post(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = match body {
        Some(b) => req.body(Body::from(b)).unwrap(),
        None => req.body(unending_body(&polled)).unwrap(),
    };
    let res = tokio::time::timeout(Duration::from_secs(60), router.clone().oneshot(req))
        .await
        .unwrap_or_else(|_| panic!("{path} {headers:?}: no answer"))
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, v, polled.load(Ordering::SeqCst))
}

/// Issue #13, CSRF: without a token (loopback), a write a web page could send to another
/// origin without a CORS preflight (a form's content types, or none) is refused with 415,
/// and one that carries `Origin` with 403, both before the body is read. Before, a page
/// could POST to http://127.0.0.1:8080 and the writer took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_writes_from_web_pages_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let writer = Writer::start(&Config::new(tmp.path())).await.unwrap();
    let router = app(writer.app_state());
    let tx = "/v1/transactions";
    let batch = "/v1/transactions/batch";
    for path in [tx, batch] {
        for content_type in [
            None,
            Some("text/plain"),
            Some("text/plain; charset=utf-8"),
            Some(" Application/X-WWW-Form-Urlencoded "),
            Some("multipart/form-data; boundary=x"),
            Some("application/json, application/octet-stream"),
        ] {
            let headers: Vec<(&str, &str)> =
                content_type.iter().map(|t| ("content-type", *t)).collect();
            let (s, v, polled) = write_with(&router, path, &headers, None).await;
            assert_eq!(
                s,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{path} {content_type:?}"
            );
            let error = v["error"].as_str().unwrap();
            assert!(error.contains("expected application/"), "{error}");
            assert!(!polled, "{path} {content_type:?}: body polled");
        }
        let (s, v, polled) = write_with(
            &router,
            path,
            &[
                ("content-type", "application/octet-stream"),
                ("origin", "https://evil.example"),
            ],
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("Origin: https://evil.example")
        );
        assert!(!polled);
        let (s, v, polled) = write_with(
            &router,
            path,
            &[
                ("content-type", "application/octet-stream"),
                ("content-type", "application/octet-stream"),
            ],
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}: {v}");
        assert!(!polled);
    }
    let (s, v, _) = write_with(&router, tx, &[("content-type", "application/cbor")], None).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_eq!(
        v["error"].as_str().unwrap().split(':').next(),
        Some("got Content-Type application/cbor, expected application/octet-stream")
    );

    // What programs send is taken.
    for content_type in ["application/octet-stream", "Application/Octet-Stream; x=y"] {
        let (s, v, _) = write_with(
            &router,
            tx,
            &[("content-type", content_type)],
            Some(content_type.as_bytes().to_vec()),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{content_type}: {v}");
    }
    for content_type in ["application/cbor", "application/octet-stream"] {
        let body = verifier_core::batch::Batch::new(vec![content_type.as_bytes().to_vec()]);
        let (s, v, _) = write_with(
            &router,
            batch,
            &[("content-type", content_type)],
            Some(body.encode()),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{content_type}: {v}");
    }
    // Reads are not affected.
    let req = Request::get("/v1/chain")
        .header("origin", "https://evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(router.clone(), req).await.0, StatusCode::OK);
    drop(router);
    writer.shutdown(Duration::from_secs(20)).await;
}

/// Issue #14: the writer holds at most `--max-pending` acknowledged, not yet final
/// transactions; past that a write gets 503 with `Retry-After`, before anything is
/// logged, so nothing refused was acknowledged (a halted chain no longer grows the
/// writer's memory without bound while writes are still acknowledged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_past_max_pending_get_503_with_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::new(tmp.path());
    config.max_pending = 2;
    let writer = Writer::start(&config).await.unwrap();
    let router = app(writer.app_state());
    let octets = [("content-type", "application/octet-stream")];
    let cbor = [("content-type", "application/cbor")];

    // Three at once can never fit under 2, whatever has become final meanwhile.
    let three = vec![0x83, 0x41, b'a', 0x41, b'b', 0x41, b'c'];
    let req = Request::post("/v1/transactions/batch")
        .header(header::CONTENT_TYPE, "application/cbor")
        .body(Body::from(three))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("--max-pending"),
        "{v}"
    );
    assert_eq!(
        writer.shared().metrics.queue_depth.load(Ordering::Relaxed),
        0
    );

    // Two fit on an empty queue, and are acknowledged.
    let (s, v, _) = write_with(
        &router,
        "/v1/transactions/batch",
        &cbor,
        Some(vec![0x82, 0x41, b'x', 0x41, b'y']),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // A single write is taken again once they are final.
    let tx_x = v["txs"][0].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while writer.shared().metrics.queue_depth.load(Ordering::Relaxed) > 0 {
        assert!(std::time::Instant::now() < deadline, "never final");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (s, v, _) = write_with(&router, "/v1/transactions", &octets, Some(b"z".to_vec())).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let (s, v) = call(
        router.clone(),
        Request::get(format!("/v1/transactions/{tx_x}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Issue #14: the router is behind the stand-ins' request layers. A request that takes
/// longer than `--request-timeout-ms` (here a write whose body never ends) gets 408 with
/// the writer's JSON error, and nothing is acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_request_timeout_gets_408() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::new(tmp.path());
    config.request_timeout = Duration::from_millis(300);
    let writer = Writer::start(&config).await.unwrap();
    let router = app(writer.app_state());
    for path in ["/v1/transactions", "/v1/transactions/batch"] {
        let (s, v, polled) = write_with(
            &router,
            path,
            &[("content-type", "application/octet-stream")],
            None,
        )
        .await;
        assert_eq!(s, StatusCode::REQUEST_TIMEOUT, "{path}: {v}");
        assert_eq!(
            v["error"], "no answer within 300 ms (--request-timeout-ms)",
            "{path}"
        );
        assert!(polled, "{path}: the body was being read");
    }
    assert_eq!(
        writer.shared().metrics.queue_depth.load(Ordering::Relaxed),
        0
    );
    // A request in time is answered as before.
    let (s, v) = call(
        router.clone(),
        Request::get("/v1/chain").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    drop(router);
    writer.shutdown(Duration::from_secs(20)).await;
}

/// Issue #14: past `--max-requests` requests in flight, the next one waits for a turn
/// instead of being handled (or refused) at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_requests_a_request_waits_its_turn() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::new(tmp.path());
    config.max_requests = 1;
    let writer = Writer::start(&config).await.unwrap();
    let router = app(writer.app_state());

    // A write that holds the one turn: its body comes when `release` is sent.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let body = Body::from_stream(futures::stream::once(async move {
        let _ = started_tx.send(());
        let _ = release_rx.await;
        Ok::<_, std::io::Error>(Bytes::from_static(b"slow write"))
    }));
    let req = Request::post("/v1/transactions")
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .unwrap();
    let slow = tokio::spawn(router.clone().oneshot(req));
    tokio::time::timeout(Duration::from_secs(60), started_rx)
        .await
        .expect("the slow write's body is read")
        .unwrap();

    let chain = || Request::get("/v1/chain").body(Body::empty()).unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), router.clone().oneshot(chain()))
            .await
            .is_err(),
        "a second request was handled while the first held the only turn"
    );
    release_tx.send(()).unwrap();
    let res = tokio::time::timeout(Duration::from_secs(60), slow)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let (s, v) = call(router.clone(), chain()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    drop(router);
    writer.shutdown(Duration::from_secs(20)).await;
}

/// Every class of hostile body the fuzz targets `writer_batch` and `writer_cosignatures`
/// try (issue #18, docs/FUZZING.md): each is answered `400` or `413` with a JSON
/// `{"error": …}` naming what is wrong, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_get_clear_answers() {
    use verifier_core::tlog::note::ALG_COSIGNATURE_V1;
    use verifier_core::tlog::signer::SignerKey;
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::new(tmp.path());
    config.max_tx_bytes = 16;
    config.token = Some("s3cret".into());
    let witness = SignerKey::new("w.example", ALG_COSIGNATURE_V1, [7; 32]).unwrap();
    config.witnesses = Some(verifier_core::trust::WitnessesTrust {
        keys: vec![witness.verifier_key().to_text()],
        quorum: 1,
    });
    let writer = Writer::start(&config).await.unwrap();
    let router = app(writer.app_state());
    let send = |path: &'static str, body: Vec<u8>| {
        Request::post(path)
            .header(header::AUTHORIZATION, "Bearer s3cret")
            .body(Body::from(body))
            .unwrap()
    };

    let deep = [vec![0x81; 1 << 20], vec![0x41, 0x01]].concat();
    let batches: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("not CBOR", b"not cbor".to_vec(), StatusCode::BAD_REQUEST),
        ("truncated", vec![0x82, 0x41, 0x01], StatusCode::BAD_REQUEST),
        (
            "indefinite length",
            vec![0x9f, 0x41, 0x01, 0xff],
            StatusCode::BAD_REQUEST,
        ),
        (
            "a head not in its shortest form",
            vec![0x98, 0x01, 0x41, 0x01],
            StatusCode::BAD_REQUEST,
        ),
        (
            "an integer, not a byte string",
            vec![0x81, 0x01],
            StatusCode::BAD_REQUEST,
        ),
        ("deep nesting", deep, StatusCode::BAD_REQUEST),
        (
            "a trailing byte",
            vec![0x81, 0x41, 0x01, 0x00],
            StatusCode::BAD_REQUEST,
        ),
        (
            "a length beyond the body",
            vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            StatusCode::BAD_REQUEST,
        ),
        ("no transaction", vec![0x80], StatusCode::BAD_REQUEST),
        (
            "an empty transaction",
            vec![0x81, 0x40],
            StatusCode::BAD_REQUEST,
        ),
        (
            "a transaction over --max-tx-bytes",
            [vec![0x81, 0x51], vec![0; 17]].concat(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];

    let line = "— w.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n";
    let notes: [(&str, Vec<u8>, StatusCode); 7] = [
        (
            "not UTF-8",
            vec![0xff, 0xfe, b'\n'],
            StatusCode::BAD_REQUEST,
        ),
        (
            "no signature lines",
            b"origin\n1\nAAAA\n\n".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a control character",
            b"origin\x07\n1\n\n\xe2\x80\x94 w x\n".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not a checkpoint",
            format!("hello\n\n{line}").into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "another chain's checkpoint",
            format!(
                "zipchain/{}\n1\n{}\n\n{line}",
                "00".repeat(32),
                "A".repeat(43) + "="
            )
            .into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "101 signature lines",
            format!("hello\n\n{}", line.repeat(101)).into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "over 64 KiB",
            format!("hello\n\n{}", line.repeat(700)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    // A transaction over the limit is named, not the body.
    let (s, v) = call(
        router.clone(),
        send(
            "/v1/transactions/batch",
            [vec![0x82, 0x41, 0x01, 0x51], vec![0; 17]].concat(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(
        v["error"],
        "transaction 1 of the batch is 17 bytes, more than --max-tx-bytes 16"
    );
    let routes = [
        ("/v1/transactions/batch", batches),
        ("/v1/checkpoint/cosignatures", notes.to_vec()),
    ];
    for (route, cases) in routes {
        for (what, body, status) in cases {
            let (s, v) = call(router.clone(), send(route, body)).await;
            assert_eq!(s, status, "{route} with {what}: {v}");
            assert!(
                v["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{route} with {what}: {v}"
            );
        }
    }
    drop(router);
    writer.shutdown(Duration::from_secs(20)).await;
}
