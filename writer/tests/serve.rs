//! The server loop (`http::serve` through `run`): HTTP/1.1 and h2c with prior knowledge on
//! one port, and a graceful shutdown that answers the requests in flight.

use std::time::Duration;

use clap::Parser as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use zipchain_writer::{Args, Config};

fn post(uri: &str, data: &'static [u8]) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("host", "127.0.0.1")
        .header("content-type", "application/octet-stream")
        .body(Full::new(Bytes::from_static(data)))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_h2c_on_one_port_then_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let args = Args::try_parse_from([
        "zipchain-writer",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--batch-wait",
        "20",
    ])
    .unwrap();
    let config = Config::try_from(args).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(zipchain_writer::run(config, listener, async move {
        let _ = stop_rx.await;
    }));
    // `run` makes the genesis before it accepts; the connection waits in the backlog.
    let timeout = Duration::from_secs(120);

    // HTTP/1.1.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut h1, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let h1_task = tokio::spawn(conn);
    let answer = tokio::time::timeout(timeout, h1.send_request(post("/v1/transactions", b"h1")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    assert_eq!(answer.version(), Version::HTTP_11);

    // h2c, prior knowledge, on the same port: several streams at once.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (h2, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let h2_task = tokio::spawn(conn);
    let uri = format!("http://{addr}/v1/transactions");
    let mut answers = Vec::new();
    for data in [&b"h2 one"[..], b"h2 two", b"h2 three"] {
        let mut h2 = h2.clone();
        let uri = uri.clone();
        answers.push(tokio::spawn(async move {
            let r = h2.send_request(post(&uri, data)).await.unwrap();
            let version = r.version();
            let status = r.status();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            (status, version, body)
        }));
    }
    for a in answers {
        let (status, version, body) = a.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(version, Version::HTTP_2);
        assert!(body.starts_with(b"{\"tx\":\""), "{body:?}");
    }

    // Shutdown: the server stops accepting, closes both idle connections gracefully,
    // and `run` returns.
    stop_tx.send(()).unwrap();
    tokio::time::timeout(timeout, server)
        .await
        .expect("run returns after the shutdown signal")
        .unwrap()
        .unwrap();
    tokio::time::timeout(timeout, h1_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    tokio::time::timeout(timeout, h2_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
