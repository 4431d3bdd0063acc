//! The server loop (`http::serve` through `run`): HTTP/1.1 and h2c with prior knowledge on
//! one port, a graceful shutdown that answers the requests in flight, and the limits
//! against clients that hold connections (header and idle timeouts, connection cap).

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use zipchain_writer::http::ConnLimits;
use zipchain_writer::{CommandLine, Config};

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
    let args = CommandLine::try_parse_from([
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

/// A tiny app on `http::serve` with `limits`: its address, and the sender that stops it.
async fn serve_small(limits: ConnLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(zipchain_writer::http::serve(
        listener,
        app,
        limits,
        async move {
            let _ = stop_rx.await;
        },
    ));
    (addr, stop_tx)
}

/// Generous bounds: these tests check that something happens, not how fast.
const PATIENCE: Duration = Duration::from_secs(30);

/// Reads `stream` until the server closes it (EOF, or a reset when it closed with bytes
/// unread); panics if that takes longer than [`PATIENCE`].
async fn closed_by_server(stream: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 1024];
    let outcome = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: the server kept the connection open"));
    if let Err(e) = outcome {
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{what}: {e}");
    }
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// Issue #13, slowloris: a client that sends half a request line, or nothing, or half of
/// the HTTP/2 preface, is disconnected after the header timeout. Before, each kept its
/// connection as long as it liked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_at_the_header_timeout() {
    let header_timeout = Duration::from_millis(300);
    let (addr, _stop) = serve_small(ConnLimits {
        header_timeout,
        idle_timeout: Duration::from_secs(600),
        max_connections: 16,
    })
    .await;
    for (what, sent) in [
        ("half a request line", &b"POST /v1/trans"[..]),
        ("nothing", b""),
        ("half the HTTP/2 preface", b"PRI * HTTP/2.0\r\n"),
        (
            "headers without their end",
            b"GET / HTTP/1.1\r\nhost: x\r\n",
        ),
    ] {
        let start = std::time::Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(sent).await.unwrap();
        closed_by_server(&mut stream, what).await;
        // Timers never fire early; this only shows it was the timeout.
        assert!(start.elapsed() >= header_timeout, "{what}: closed at once");
    }
}

/// Issue #13: a connection with no request in flight is closed after the idle timeout,
/// over HTTP/1.1 and HTTP/2 (there with GOAWAY, which ends the client's connection task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let (addr, _stop) = serve_small(ConnLimits {
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_millis(300),
        max_connections: 16,
    })
    .await;

    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut h1, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let h1_task = tokio::spawn(conn);
    let answer = tokio::time::timeout(PATIENCE, h1.send_request(get("/")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    drop(answer);
    tokio::time::timeout(PATIENCE, h1_task)
        .await
        .expect("the idle HTTP/1.1 connection is closed")
        .unwrap()
        .unwrap();

    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut h2, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let h2_task = tokio::spawn(conn);
    let answer = tokio::time::timeout(PATIENCE, h2.send_request(get(&format!("http://{addr}/"))))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    drop(answer);
    tokio::time::timeout(PATIENCE, h2_task)
        .await
        .expect("the idle HTTP/2 connection is closed")
        .unwrap()
        .unwrap();
}

/// Issue #13: past `max_connections`, a new connection is not served while the cap is
/// held; it is served once a connection closes. Before, every connection was served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_for_a_free_slot() {
    let (addr, _stop) = serve_small(ConnLimits {
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        max_connections: 1,
    })
    .await;
    // The first connection is served and, kept alive, holds the only slot.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut first, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let first_task = tokio::spawn(conn);
    let answer = tokio::time::timeout(PATIENCE, first.send_request(get("/")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);

    // The second connects (the kernel's backlog) but gets no answer meanwhile.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut second, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let second_task = tokio::spawn(conn);
    let mut waiting = tokio::spawn(async move { second.send_request(get("/")).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut waiting)
            .await
            .is_err(),
        "a connection over the cap was served"
    );

    // The first closes; the second is served.
    drop(first);
    first_task.abort();
    let answer = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("served once a slot is free")
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    second_task.abort();
}
