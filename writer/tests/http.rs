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
    assert_eq!(v["zipchain_chain"], 1);

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
