//! Keep-alive connections to the writer: HTTP/1.1 (one request in flight per connection) or
//! HTTP/2 over cleartext (h2c with prior knowledge; many concurrent streams per connection).
//!
//! [`Conn`] is one TCP connection: HTTP/1.1 through hyper's low-level client, HTTP/2 through
//! the `h2` crate directly (no pool, no redirects, nothing between the load generator and the
//! socket). hyper's HTTP/2 client spawns a task and passes a channel message for every request;
//! with `h2` a request is a stream opened and answered by the task that sends it, which
//! about halves the load generator's CPU time per request. An HTTP/2 [`Conn`] is cheap to
//! share: the handles share the connection, and each carries its own requests as separate
//! streams.
//! [`Pool`] lends idle HTTP/1.1 connections out to many tasks, at most `size` at a time, for
//! the pollers.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::{Method, Request, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

/// Why a connection or a request failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    /// The URL is not `http://host:port` (with at most a `/` path).
    #[error("URL {url:?} is unusable: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Connecting failed: nothing listens there, or the connection was refused.
    #[error("cannot reach the writer at {addr}: {reason}")]
    Unreachable {
        /// `host:port` dialled.
        addr: String,
        /// The operating system's error.
        reason: String,
    },
    /// The connection broke while a request was in flight, or the HTTP exchange failed.
    #[error("HTTP exchange failed: {reason}")]
    Http {
        /// hyper's error.
        reason: String,
    },
    /// No complete answer within the request timeout.
    #[error("no answer within {after_ms} ms")]
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
}

impl ConnError {
    /// A short name of the kind of failure, for the error counts of a report.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadUrl { .. } => "bad-url",
            Self::Unreachable { .. } => "connect",
            Self::Http { .. } => "http",
            Self::Timeout { .. } => "timeout",
        }
    }
}

/// Where the writer listens: a parsed `http://host:port` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
    authority: String,
}

impl Target {
    /// Parses `http://host[:port][/]` (port 80 if none).
    ///
    /// # Errors
    /// [`ConnError::BadUrl`] for anything else (`https`, a path, no host).
    pub fn parse(url: &str) -> Result<Self, ConnError> {
        let bad = |reason: &str| ConnError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => return Err(bad(&format!("got scheme {other:?}, expected \"http\""))),
            None => return Err(bad("no scheme, expected http://host:port")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad(&format!(
                "got path {:?}, expected none: give the writer's base URL",
                uri.path()
            )));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
        })
    }

    /// `host:port`, as dialled.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// An answer: its status and its whole body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

/// The HTTP version a [`Conn`] speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive: one request in flight at a time.
    #[default]
    Http1,
    /// HTTP/2 over cleartext TCP with prior knowledge (h2c): concurrent streams.
    Http2,
}

impl Protocol {
    /// `"http/1.1"` or `"h2c"`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Http1 => "http/1.1",
            Self::Http2 => "h2c",
        }
    }
}

#[derive(Debug)]
enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2 {
        send: h2::client::SendRequest<Bytes>,
        /// Set by the connection's task when the connection ends.
        closed: Arc<AtomicBool>,
    },
}

/// One keep-alive connection (HTTP/2 handles share it).
#[derive(Debug)]
pub struct Conn {
    sender: Sender,
    authority: Authority,
}

impl Conn {
    /// Opens an HTTP/1.1 connection to `target`, as [`Conn::connect_with`].
    ///
    /// # Errors
    /// As [`Conn::connect_with`].
    pub async fn connect(target: &Target) -> Result<Self, ConnError> {
        Self::connect_with(target, Protocol::Http1).await
    }

    /// Opens a connection to `target` speaking `protocol` (`TCP_NODELAY` on); its I/O runs
    /// on a spawned task.
    ///
    /// # Errors
    /// [`ConnError::Unreachable`] if the TCP connection fails, [`ConnError::Http`] if the
    /// HTTP handshake does.
    pub async fn connect_with(target: &Target, protocol: Protocol) -> Result<Self, ConnError> {
        let addr = target.addr();
        let stream = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| ConnError::Unreachable {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
        // Small requests answered one at a time: Nagle would add delayed-ACK stalls.
        stream
            .set_nodelay(true)
            .map_err(|e| ConnError::Unreachable {
                addr,
                reason: e.to_string(),
            })?;
        // The connection task ends when every sender is dropped or the peer closes it;
        // either way the next request on it reports the failure.
        let sender = match protocol {
            Protocol::Http1 => {
                let (sender, connection) = http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(http_error)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Sender::Http1(sender)
            }
            Protocol::Http2 => {
                let (send, connection) = h2::client::Builder::new()
                    // Answers are small; a large window never stalls a stream on a
                    // WINDOW_UPDATE.
                    .initial_window_size(1 << 20)
                    .initial_connection_window_size(1 << 24)
                    .handshake::<_, Bytes>(stream)
                    .await
                    .map_err(h2_error)?;
                let closed = Arc::new(AtomicBool::new(false));
                let flag = Arc::clone(&closed);
                tokio::spawn(async move {
                    let _ = connection.await;
                    flag.store(true, Ordering::Release);
                });
                Sender::Http2 { send, closed }
            }
        };
        let authority =
            Authority::try_from(target.authority.as_str()).map_err(|e| ConnError::BadUrl {
                url: target.authority.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self { sender, authority })
    }

    /// Another handle on the same HTTP/2 connection (its requests are further streams), or
    /// `None` for HTTP/1.1, which carries one request at a time.
    pub fn share(&self) -> Option<Self> {
        match &self.sender {
            Sender::Http1(_) => None,
            Sender::Http2 { send, closed } => Some(Self {
                sender: Sender::Http2 {
                    send: send.clone(),
                    closed: Arc::clone(closed),
                },
                authority: self.authority.clone(),
            }),
        }
    }

    /// Whether the connection can no longer carry requests.
    pub fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::Http1(s) => s.is_closed(),
            Sender::Http2 { closed, .. } => closed.load(Ordering::Acquire),
        }
    }

    /// Sends one request and reads the whole answer, within `timeout`.
    ///
    /// After an error the connection should be dropped: its state is unknown.
    ///
    /// # Errors
    /// [`ConnError::Http`] if the exchange fails, [`ConnError::Timeout`] after `timeout`.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, ConnError> {
        tokio::time::timeout(timeout, self.exchange(method, path, body))
            .await
            .map_err(|_| timed_out(timeout))?
    }

    /// [`Conn::request`] under a [`Watchdog`] instead of a timer of its own: the request
    /// started at `sent` fails once `watchdog`'s timeout has passed since then.
    ///
    /// # Errors
    /// As [`Conn::request`].
    pub async fn request_watched(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        sent: Instant,
        watchdog: &mut Watchdog,
    ) -> Result<Answer, ConnError> {
        watchdog
            .guard(sent, self.exchange(method, path, body))
            .await?
    }

    /// One exchange, without a time limit.
    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<Answer, ConnError> {
        match &mut self.sender {
            Sender::Http1(s) => {
                let mut builder = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::HOST, self.authority.as_str());
                if !body.is_empty() {
                    builder = builder.header(header::CONTENT_TYPE, OCTET_STREAM);
                }
                let request = builder.body(Full::new(body)).map_err(|e| ConnError::Http {
                    reason: e.to_string(),
                })?;
                s.ready().await.map_err(http_error)?;
                let response = s.send_request(request).await.map_err(http_error)?;
                let status = response.status();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(http_error)?
                    .to_bytes();
                Ok(Answer { status, body })
            }
            Sender::Http2 { send, .. } => {
                // HTTP/2 carries the authority in the `:authority` pseudo-header of an
                // absolute URI, put together from parts rather than formatted and parsed.
                let mut parts = hyper::http::uri::Parts::default();
                parts.scheme = Some(Scheme::HTTP);
                parts.authority = Some(self.authority.clone());
                parts.path_and_query =
                    Some(PathAndQuery::try_from(path).map_err(|e| ConnError::Http {
                        reason: e.to_string(),
                    })?);
                let uri = Uri::from_parts(parts).map_err(|e| ConnError::Http {
                    reason: e.to_string(),
                })?;
                let mut builder = Request::builder().method(method).uri(uri);
                if !body.is_empty() {
                    builder = builder.header(header::CONTENT_TYPE, OCTET_STREAM);
                }
                let request = builder.body(()).map_err(|e| ConnError::Http {
                    reason: e.to_string(),
                })?;
                std::future::poll_fn(|cx| send.poll_ready(cx))
                    .await
                    .map_err(h2_error)?;
                let (response, mut stream) = send
                    .send_request(request, body.is_empty())
                    .map_err(h2_error)?;
                if !body.is_empty() {
                    stream.send_data(body, true).map_err(h2_error)?;
                }
                let response = response.await.map_err(h2_error)?;
                let status = response.status();
                let mut recv = response.into_body();
                let mut whole = Bytes::new();
                while let Some(chunk) = recv.data().await {
                    let chunk = chunk.map_err(h2_error)?;
                    recv.flow_control()
                        .release_capacity(chunk.len())
                        .map_err(h2_error)?;
                    whole = if whole.is_empty() {
                        chunk
                    } else {
                        [whole, chunk].concat().into()
                    };
                }
                Ok(Answer {
                    status,
                    body: whole,
                })
            }
        }
    }
}

fn timed_out(timeout: Duration) -> ConnError {
    ConnError::Timeout {
        after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    }
}

/// A request timeout for a closed loop that sends one request after another: one timer,
/// armed for the whole loop, instead of a timer inserted into and removed from tokio's
/// timer wheel for every request (`tokio::time::timeout`).
///
/// The timer's deadline trails the current request's: when it fires, a request that has
/// not yet run `timeout` pushes it to its own deadline, so a request still fails exactly
/// `timeout` after it was sent, and the timer fires about once per `timeout` while
/// requests keep completing.
#[derive(Debug)]
pub struct Watchdog {
    timer: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl Watchdog {
    /// A watchdog failing requests that take longer than `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timer: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }
    }

    /// Runs `work`, started at `started`, failing with [`ConnError::Timeout`] once
    /// `timeout` has passed since then.
    ///
    /// # Errors
    /// [`ConnError::Timeout`].
    pub async fn guard<F: Future>(
        &mut self,
        started: Instant,
        work: F,
    ) -> Result<F::Output, ConnError> {
        let deadline = started + self.timeout;
        let mut work = pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return Ok(out),
                () = self.timer.as_mut() => {
                    if Instant::now() >= deadline {
                        return Err(timed_out(self.timeout));
                    }
                    self.timer.as_mut().reset(deadline);
                }
            }
        }
    }
}

/// The content type of an upload.
const OCTET_STREAM: &str = "application/octet-stream";

fn h2_error(e: h2::Error) -> ConnError {
    ConnError::Http {
        reason: e.to_string(),
    }
}

fn http_error(e: hyper::Error) -> ConnError {
    ConnError::Http {
        reason: e.to_string(),
    }
}

/// Keep-alive connections shared by many tasks, at most `size` in use at once.
#[derive(Debug)]
pub struct Pool {
    target: Target,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
}

impl Pool {
    /// A pool of at most `size` connections to `target`, opened as needed.
    pub fn new(target: Target, size: usize) -> Arc<Self> {
        Arc::new(Self {
            target,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size.max(1)),
        })
    }

    /// Sends one request on an idle connection (or a new one, waiting while `size` are busy).
    /// A connection that failed is dropped, not returned to the pool.
    ///
    /// # Errors
    /// As [`Conn::connect`] and [`Conn::request`].
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, ConnError> {
        // The semaphore is never closed, so acquiring fails only if it were.
        let _permit = self.permits.acquire().await.map_err(|e| ConnError::Http {
            reason: e.to_string(),
        })?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match idle {
            Some(c) if !c.is_closed() => c,
            _ => Conn::connect(&self.target).await?,
        };
        let answer = conn.request(method, path, body, timeout).await?;
        if !conn.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
        Ok(answer)
    }
}

/// Checks that the writer answers at all: connects and asks `GET /healthz`.
///
/// Any HTTP answer counts (an unhealthy writer answers 503 and may still take writes).
///
/// # Errors
/// [`ConnError::Unreachable`] when nothing listens at `target`, or another [`ConnError`]
/// when the exchange fails.
pub async fn probe(target: &Target, timeout: Duration) -> Result<Answer, ConnError> {
    let mut conn = Conn::connect(target).await?;
    conn.request(Method::GET, "/healthz", Bytes::new(), timeout)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watchdog fails a request exactly `timeout` after it was sent, however long
    /// the requests before it took, and passes the ones that finish in time.
    #[tokio::test(start_paused = true)]
    async fn watchdog_fails_only_late_requests() {
        let timeout = Duration::from_secs(30);
        let mut dog = Watchdog::new(timeout);
        // Quick requests over three timeouts: the timer fires and trails them.
        for _ in 0..90 {
            let sent = Instant::now();
            let out = dog
                .guard(sent, tokio::time::sleep(Duration::from_secs(1)))
                .await;
            assert_eq!(out, Ok(()));
        }
        // One just in time, one stuck.
        let sent = Instant::now();
        let out = dog
            .guard(sent, tokio::time::sleep(timeout - Duration::from_millis(1)))
            .await;
        assert_eq!(out, Ok(()));
        let sent = Instant::now();
        let out = dog.guard(sent, std::future::pending::<()>()).await;
        assert_eq!(out, Err(ConnError::Timeout { after_ms: 30_000 }));
        assert_eq!(sent.elapsed(), timeout);
    }

    #[test]
    fn parses_base_urls() {
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(t.addr(), "127.0.0.1:8080");
        assert_eq!(
            Target::parse("http://localhost/").unwrap().addr(),
            "localhost:80"
        );
        assert_eq!(Target::parse("http://[::1]:9/").unwrap().addr(), "[::1]:9");
    }

    #[test]
    fn rejects_other_urls() {
        for url in [
            "https://127.0.0.1:1",
            "127.0.0.1:8080",
            "http://h:1/v1",
            "http://h:1/?a",
            "",
        ] {
            assert!(
                matches!(Target::parse(url), Err(ConnError::BadUrl { .. })),
                "{url}"
            );
        }
    }
}
