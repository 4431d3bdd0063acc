//! The load generator against a tiny in-test server that imitates the writer's API (SPEC
//! §7.1): `POST /v1/transactions` and `/v1/transactions/batch` answer 202 with the ids, a
//! transaction turns final 30 ms after it arrived, and with `fail_every` every n-th write is
//! answered 503. No timed assertions: only counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::json;
use verifier_core::batch::Batch;
use verifier_core::hash::Hash32;
use zipchain_loadgen::conn::{ConnError, Protocol, Target};
use zipchain_loadgen::finality::{self, FinalityConfig, FinalityError, Until};
use zipchain_loadgen::throughput::{self, ThroughputConfig, ThroughputError};

const FINAL_AFTER: Duration = Duration::from_millis(30);

#[derive(Default)]
struct Fake {
    seen: Mutex<HashMap<String, Instant>>,
    writes: AtomicU64,
    fail_every: u64,
}

type S = State<Arc<Fake>>;

fn accept(fake: &Fake, data: &[u8]) -> String {
    let tx = Hash32::digest(data).to_hex();
    fake.seen.lock().unwrap().insert(tx.clone(), Instant::now());
    tx
}

fn failing(fake: &Fake) -> bool {
    let n = fake.writes.fetch_add(1, Ordering::Relaxed) + 1;
    fake.fail_every != 0 && n % fake.fail_every == 0
}

async fn post_tx(State(fake): S, body: Bytes) -> (StatusCode, axum::Json<serde_json::Value>) {
    if failing(&fake) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": "busy"})),
        );
    }
    let tx = accept(&fake, &body);
    (StatusCode::ACCEPTED, axum::Json(json!({ "tx": tx })))
}

async fn post_batch(State(fake): S, body: Bytes) -> (StatusCode, axum::Json<serde_json::Value>) {
    let Ok(batch) = Batch::decode(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "bad batch"})),
        );
    };
    let txs: Vec<String> = batch.txs().iter().map(|d| accept(&fake, d)).collect();
    (StatusCode::ACCEPTED, axum::Json(json!({ "txs": txs })))
}

async fn get_tx(
    State(fake): S,
    Path(tx): Path<String>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    match fake.seen.lock().unwrap().get(&tx) {
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "unknown"})),
        ),
        Some(at) if at.elapsed() >= FINAL_AFTER => (
            StatusCode::OK,
            axum::Json(json!({"tx": tx, "status": "final", "height": 1})),
        ),
        Some(_) => (
            StatusCode::OK,
            axum::Json(json!({"tx": tx, "status": "pending"})),
        ),
    }
}

async fn serve(fail_every: u64) -> (Target, Arc<Fake>) {
    let fake = Arc::new(Fake {
        fail_every,
        ..Fake::default()
    });
    let app = Router::new()
        .route("/v1/transactions", post(post_tx))
        .route("/v1/transactions/batch", post(post_batch))
        .route("/v1/transactions/{tx}", get(get_tx))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (Target::parse(&format!("http://{addr}")).unwrap(), fake)
}

fn throughput_config(batch: Option<usize>) -> ThroughputConfig {
    ThroughputConfig {
        connections: 4,
        protocol: Protocol::Http1,
        streams: 1,
        duration: Duration::from_millis(300),
        tx_bytes: 64,
        batch,
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_counts_every_acknowledged_transaction() {
    let (target, fake) = serve(0).await;
    let r = throughput::run(target, &throughput_config(None))
        .await
        .unwrap();
    assert!(r.acked > 0);
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
    assert_eq!(r.acked, r.requests);
    assert_eq!(r.ack_latency.count as u64, r.acked);
    // Every acknowledged transaction was a distinct one.
    assert_eq!(fake.seen.lock().unwrap().len() as u64, r.acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_over_http2_streams_counts_every_transaction() {
    let (target, fake) = serve(0).await;
    let config = ThroughputConfig {
        connections: 2,
        protocol: Protocol::Http2,
        streams: 8,
        ..throughput_config(None)
    };
    let r = throughput::run(target, &config).await.unwrap();
    assert_eq!((r.protocol, r.streams), ("h2c", 8));
    assert!(r.acked > 0);
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
    assert_eq!(r.acked, r.requests);
    // Sixteen clients, every transaction distinct.
    assert_eq!(fake.seen.lock().unwrap().len() as u64, r.acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_rejects_streams_over_http1() {
    let (target, _) = serve(0).await;
    let config = ThroughputConfig {
        streams: 4,
        ..throughput_config(None)
    };
    let e = throughput::run(target, &config).await.unwrap_err();
    assert!(e.to_string().contains("--streams"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_counts_errors_by_status() {
    let (target, fake) = serve(3).await;
    let r = throughput::run(target, &throughput_config(None))
        .await
        .unwrap();
    let failed = r.errors.0.get("status 503").copied().unwrap_or(0);
    assert!(failed > 0, "{:?}", r.errors);
    assert_eq!(r.errors.total(), failed);
    assert_eq!(r.acked + failed, r.requests);
    assert_eq!(fake.writes.load(Ordering::Relaxed), r.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_through_the_batch_path() {
    let (target, fake) = serve(0).await;
    let r = throughput::run(target, &throughput_config(Some(50)))
        .await
        .unwrap();
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
    assert!(r.requests > 0);
    assert_eq!(r.acked, r.requests * 50);
    assert_eq!(fake.seen.lock().unwrap().len() as u64, r.acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finality_sees_every_transaction_final() {
    let (target, fake) = serve(0).await;
    let config = FinalityConfig {
        rate: 500,
        duration: Duration::from_millis(400),
        tx_bytes: 64,
        connections: 8,
        poll_connections: 4,
        sample_every: 5,
        poll_interval: Duration::from_millis(5),
        final_timeout: Duration::from_secs(10),
        timeout: Duration::from_secs(10),
        sweep: true,
        until: Until::Final,
        protocol: Protocol::Http1,
        streams: 1,
        keep_acked: false,
    };
    let r = finality::run(target, &config).await.unwrap();
    assert_eq!(r.offered, 200);
    assert_eq!(r.acked, 200, "{:?}", r.errors);
    assert_eq!(r.sampled, 40);
    assert_eq!(r.finality.count, 40);
    assert_eq!(r.sampled_never_final, 0);
    // Final no sooner than the fake makes it so.
    assert!(r.finality.p50_ms >= FINAL_AFTER.as_secs_f64() * 1000.0);
    let sweep = r.sweep.unwrap();
    assert_eq!(
        (sweep.checked, sweep.final_count, sweep.never_final),
        (200, 200, 0)
    );
    assert_eq!(fake.seen.lock().unwrap().len(), 200);
}

/// Over h2c, streams sharing connections: every transaction acknowledged, final, and
/// its id kept when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finality_over_h2c_keeps_every_acknowledged_id() {
    let (target, fake) = serve(0).await;
    let config = FinalityConfig {
        rate: 1000,
        duration: Duration::from_millis(300),
        tx_bytes: 64,
        connections: 2,
        poll_connections: 2,
        sample_every: 10,
        poll_interval: Duration::from_millis(5),
        final_timeout: Duration::from_secs(10),
        timeout: Duration::from_secs(10),
        sweep: true,
        until: Until::Final,
        protocol: Protocol::Http2,
        streams: 16,
        keep_acked: true,
    };
    let r = finality::run(target, &config).await.unwrap();
    assert_eq!(r.acked, 300, "{:?}", r.errors);
    assert_eq!(r.finality.count, 30);
    assert_eq!(r.sweep.unwrap().final_count, 300);
    let mut kept: Vec<String> = r.acked_ids.iter().map(|t| t.to_hex()).collect();
    kept.sort();
    let mut seen: Vec<String> = fake.seen.lock().unwrap().keys().cloned().collect();
    seen.sort();
    assert_eq!(kept, seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finality_counts_transactions_that_never_turn_final() {
    let (target, _fake) = serve(0).await;
    // A timeout shorter than the fake's 30 ms: nothing can be seen final in time.
    let config = FinalityConfig {
        rate: 100,
        duration: Duration::from_millis(100),
        tx_bytes: 64,
        connections: 2,
        poll_connections: 2,
        sample_every: 1,
        poll_interval: Duration::from_millis(50),
        final_timeout: Duration::from_millis(1),
        timeout: Duration::from_secs(10),
        sweep: false,
        until: Until::Final,
        protocol: Protocol::Http1,
        streams: 1,
        keep_acked: false,
    };
    let r = finality::run(target, &config).await.unwrap();
    assert_eq!(r.acked, 10);
    assert_eq!(
        (r.sampled, r.sampled_never_final, r.finality.count),
        (10, 10, 0)
    );
    assert!(r.sweep.is_none());
}

#[tokio::test]
async fn an_unreachable_writer_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let target = Target::parse(&format!("http://{addr}")).unwrap();
    let e = throughput::run(target.clone(), &throughput_config(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ThroughputError::Conn(ConnError::Unreachable { addr: a, .. }) if *a == addr.to_string()),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("cannot reach the writer at {addr}")),
        "{e}"
    );
    let config = FinalityConfig {
        rate: 1,
        duration: Duration::from_secs(1),
        tx_bytes: 64,
        connections: 1,
        poll_connections: 1,
        sample_every: 1,
        poll_interval: Duration::from_millis(10),
        final_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        sweep: true,
        until: Until::Final,
        protocol: Protocol::Http1,
        streams: 1,
        keep_acked: false,
    };
    assert!(matches!(
        finality::run(target, &config).await,
        Err(FinalityError::Conn(ConnError::Unreachable { .. }))
    ));
}

#[tokio::test]
async fn bad_settings_are_typed_errors() {
    let (target, _fake) = serve(0).await;
    let mut c = throughput_config(None);
    c.tx_bytes = 8;
    assert!(matches!(
        throughput::run(target.clone(), &c).await,
        Err(ThroughputError::Config {
            name: "--tx-bytes",
            ..
        })
    ));
    c.tx_bytes = 64;
    c.batch = Some(0);
    assert!(matches!(
        throughput::run(target, &c).await,
        Err(ThroughputError::Config {
            name: "--batch",
            ..
        })
    ));
}
