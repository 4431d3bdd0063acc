//! The HTTP interface (SPEC §7.1): `fn app(state) -> Router`, kept apart from the server so
//! that tests drive it with `oneshot`.
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/transactions` (raw body) | `202 {"tx": "<hex>"}` once durable |
//! | `POST /v1/transactions/batch` (CBOR array of byte strings, canonical as a batch) | `202 {"txs": ["<hex>", …]}` once all are durable |
//! | `GET /v1/transactions/<tx>` | `{"tx", "status": "pending"\|"final", "height"?}`, 404 unknown, 400 bad hex |
//! | `GET /v1/transactions/<tx>/certificate` | `200` certificate, `404` while not final |
//! | `GET /v1/chain` | the trust descriptor |
//! | `GET /healthz` | `200 {"status":"ok",…}`, `200 {"status":"degraded","reasons":[…]}` (witnesses failing) or `503 {"status":"unhealthy","reasons":[…]}` |
//! | `GET /metrics` | Prometheus text |
//!
//! Errors are `{"error": "..."}`: 400 bad input or empty body, 401 missing or wrong bearer
//! token (writes, when a token is configured), 403 a write from a web page (`Origin`) and
//! 415 a write whose `Content-Type` is not one of [`TX_TYPES`] or [`BATCH_TYPES`] (both
//! only without a token: no web page may write to a loopback writer), 404 unknown route or
//! transaction, 405 wrong method, 413 body over `--max-tx-bytes` (a batch body may be
//! [`MAX_BATCH_BODY`]), 408 when a request takes longer than `--request-timeout-ms`, 503
//! when the log cannot be written. Every write route is checked from its headers before a
//! byte of its body is read (`WriteGuard`).
//!
//! Every route is behind the stand-ins' request layers (`services::http::request_layers`):
//! a tracing span per request (tower-http `TraceLayer`), the timeout, and at most
//! `--max-requests` requests handled at once ([`RequestLimits`]).

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use futures::StreamExt as _;
use futures::future::{Either, Ready, ready};
use futures::stream::FuturesUnordered;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use subtle::ConstantTimeEq as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::{Layer, Service};
use verifier_core::batch::Batch;
use verifier_core::hash::Hash32;

use crate::config::Secret;
use crate::health::Refusal;
use crate::pipeline::{MAX_GROUP, WalHandle, WriteError};
use crate::state::{Shared, TxStatus};

/// The largest body of `POST /v1/transactions/batch`, in bytes.
pub const MAX_BATCH_BODY: usize = 64 << 20;

/// What the handlers share. Cloned for every request (axum's `State`), so it is one
/// reference count: cloning the fields themselves took four atomic increments and four
/// decrements per request, on counters both worker threads touch.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<StateInner>,
}

#[derive(Debug)]
struct StateInner {
    shared: Arc<Shared>,
    wal: WalHandle,
    token: Option<Secret>,
    max_tx_bytes: usize,
    max_pending: u64,
    limits: RequestLimits,
}

impl AppState {
    /// The state over `shared`, writing through `wal`; with `token`, writes need
    /// `Authorization: Bearer <token>`; transactions are at most `max_tx_bytes`, while
    /// `max_pending` wait to become final writes get 503, and every request is held to
    /// `limits`.
    pub fn new(
        shared: Arc<Shared>,
        wal: WalHandle,
        token: Option<Secret>,
        max_tx_bytes: usize,
        max_pending: u64,
        limits: RequestLimits,
    ) -> Self {
        Self {
            inner: Arc::new(StateInner {
                shared,
                wal,
                token,
                max_tx_bytes,
                max_pending,
                limits,
            }),
        }
    }

    /// Refuses `n` more transactions when the acknowledged, not yet final ones would then
    /// be more than `max_pending` (a halted or slow chain must not grow the writer's
    /// memory without bound). Checked before the log is written, so nothing refused was
    /// acknowledged; concurrent writes may pass the bound by what is in flight.
    fn admit(&self, n: usize) -> Result<(), AppError> {
        let pending = self
            .inner
            .shared
            .metrics
            .queue_depth
            .load(std::sync::atomic::Ordering::Relaxed);
        let max = self.inner.max_pending;
        if pending.saturating_add(n as u64) > max {
            self.inner.shared.health.refused(Refusal::MaxPending);
            return Err(AppError::Unavailable(format!(
                "{pending} transactions are waiting to become final, and this writer holds at most {max} (--max-pending); retry later"
            )));
        }
        Ok(())
    }
}

/// An error answer: status and `{"error": message}`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: a write without the right bearer token.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// 403: a write without a token that comes from a web page (it carries `Origin`).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such route or transaction.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists for other methods.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 408: no answer within the request timeout. A write answered so was not
    /// acknowledged, though it may have been logged: sending it again is safe (a
    /// transaction written twice is final at its first occurrence).
    #[error("no answer within {millis} ms (--request-timeout-ms)")]
    RequestTimeout {
        /// The timeout, in milliseconds.
        millis: u64,
    },
    /// 413: the body is over the limit.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// 413: a transaction of a batch is over `--max-tx-bytes`.
    #[error("transaction {index} of the batch is {len} bytes, more than --max-tx-bytes {limit}")]
    TransactionTooLarge {
        /// Its position in the batch.
        index: usize,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// 415: a write without a token whose `Content-Type` is not one the route takes (a web
    /// page can send the others to any origin without asking).
    #[error(
        "got Content-Type {got}, expected {expected}: without a token the writer takes no write a web page could send (text/plain, application/x-www-form-urlencoded, multipart/form-data or no Content-Type)"
    )]
    UnsupportedMediaType {
        /// The content type given: its value, `none` or `several`.
        got: String,
        /// The content types the route takes.
        expected: String,
    },
    /// 503: the writer cannot take the write now.
    #[error("{0}")]
    Unavailable(String),
    /// 500: something failed inside; the details are logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::TooLarge { .. } | Self::TransactionTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response =
            (status, axum::Json(json!({ "error": self.to_string() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // RFC 9110 §10.2.3: when to try again, in seconds.
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// What the router grants each request, across all connections (the accept loop's
/// [`ConnLimits`] bound the connections themselves). [`app`] takes `max_requests`
/// between 1 and [`Semaphore::MAX_PERMITS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// How long a request may take, from its headers to its answer (its body read and,
    /// for a write, made durable); past it the answer is 408 `{"error": …}`. Waiting for
    /// a turn under `max_requests` counts.
    pub timeout: Duration,
    /// The most requests handled at once; more wait their turn (within `timeout`).
    pub max_requests: usize,
}

impl RequestLimits {
    /// The defaults of `--request-timeout-ms` and `--max-requests`:
    /// - 30 s, the stand-ins' request timeout (`services::http::REQUEST_TIMEOUT`): time
    ///   for a [`MAX_BATCH_BODY`] upload at 2.2 MB/s, and for a slow `fdatasync`
    ///   many times over.
    /// - 8192, the most write requests one group commit takes ([`MAX_GROUP`]): writes
    ///   beyond it would wait for the next `fdatasync` anyway. It is eight times the 1024
    ///   requests issue #4's h2c load keeps in flight (8 connections × 128 streams), which
    ///   it must not slow; an HTTP/1.1 client has one request in flight per connection, so
    ///   at the default 512 connections only HTTP/2 can reach it.
    pub const DEFAULT: Self = Self {
        timeout: services::http::REQUEST_TIMEOUT,
        max_requests: MAX_GROUP,
    };
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The router, behind the request layers ([`RequestLimits`]).
pub fn app(state: AppState) -> Router {
    let limits = state.inner.limits;
    let routes = routes(state);
    let max_requests = limits.max_requests.clamp(1, Semaphore::MAX_PERMITS);
    services::http::request_layers(routes, limits.timeout, max_requests)
        // Outermost: the timeout's bare 408 gets the writer's JSON body.
        .layer(axum::middleware::map_response_with_state(
            limits.timeout,
            timeout_body,
        ))
}

/// The timeout's 408 (its body empty: no handler answers 408) as [`AppError::RequestTimeout`].
async fn timeout_body(State(timeout): State<Duration>, response: Response) -> Response {
    if response.status() == StatusCode::REQUEST_TIMEOUT {
        return AppError::RequestTimeout {
            millis: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }
        .into_response();
    }
    response
}

/// The routes, without the request layers.
fn routes(state: AppState) -> Router {
    let tx_limit = state.inner.max_tx_bytes;
    Router::new()
        .route(
            "/v1/transactions",
            write_route(&state, TX_TYPES, post(post_transaction))
                .layer(DefaultBodyLimit::max(tx_limit)),
        )
        .route(
            "/v1/transactions/batch",
            write_route(&state, BATCH_TYPES, post(post_batch))
                .layer(DefaultBodyLimit::max(MAX_BATCH_BODY)),
        )
        .route("/v1/transactions/{tx}", get(get_transaction))
        .route("/v1/transactions/{tx}/certificate", get(get_certificate))
        .route("/v1/chain", get(get_chain))
        .route("/v1/checkpoint", get(get_checkpoint))
        .route(
            "/v1/checkpoint/cosignatures",
            post(post_cosignatures).layer(DefaultBodyLimit::max(MAX_NOTE_LEN)),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { AppError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .with_state(state)
}

/// The content types `POST /v1/transactions` takes without a token.
pub const TX_TYPES: &[&str] = &["application/octet-stream"];

/// The content types `POST /v1/transactions/batch` takes without a token
/// (`zipchain-load` sends `application/octet-stream` on both routes).
pub const BATCH_TYPES: &[&str] = &["application/cbor", "application/octet-stream"];

/// `route` behind the [`WriteGuard`]: every route that writes is made through this, so
/// that none reads a byte of its body before the request is allowed to write. `accepts`
/// are the content types it takes without a token.
fn write_route(
    state: &AppState,
    accepts: &'static [&'static str],
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    // `route_layer`, not `layer`: the guard wraps the route's handlers only, so a wrong
    // method still gets 405 as on every other route.
    route.route_layer(WriteGuard {
        state: state.clone(),
        accepts,
    })
}

/// The check a write passes before its handler runs, from the request's headers alone, so
/// that a rejected write costs no body: the body is never polled, a large one is never
/// buffered, and HTTP/1.1 sends no `100 Continue` for it (issue #13: 32 unauthenticated
/// 64 MiB batch uploads, read before the token was checked, took the writer from 430 MB
/// to 1.6 GB).
///
/// With a token, a write needs `Authorization: Bearer <token>` (else 401). Without one (the
/// writer is then on loopback), a write must come from a program, not a web page: no
/// `Origin` header (else 403), and a `Content-Type` among `accepts` (else 415), none of
/// which is one of the three a page may send to another origin without a CORS preflight
/// (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`, or none at
/// all). The writer answers no preflight, so a browser never sends such a write.
#[derive(Clone, Debug)]
struct WriteGuard {
    state: AppState,
    accepts: &'static [&'static str],
}

impl WriteGuard {
    fn check(&self, headers: &HeaderMap) -> Result<(), AppError> {
        if self.state.inner.token.is_some() {
            return authorize(&self.state, headers);
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            return Err(AppError::Forbidden(format!(
                "a write without a token must not come from a web page, and this one carries Origin: {}; give the writer a --token for browser clients",
                shown(origin)
            )));
        }
        let mut types = headers.get_all(header::CONTENT_TYPE).iter();
        let got = match (types.next(), types.next()) {
            (None, _) => "none".to_owned(),
            (Some(value), None) => {
                // The MIME type's essence: what a browser compares with its three
                // preflight-free types, parameters and surrounding blanks ignored.
                let essence = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.split(';').next())
                    .map(str::trim);
                if essence.is_some_and(|e| self.accepts.iter().any(|a| e.eq_ignore_ascii_case(a))) {
                    return Ok(());
                }
                shown(value)
            }
            (Some(_), Some(_)) => "several".to_owned(),
        };
        Err(AppError::UnsupportedMediaType {
            got,
            expected: self.accepts.join(" or "),
        })
    }
}

/// A header value as an error message shows it: its first 100 characters.
fn shown(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes())
        .chars()
        .take(100)
        .collect()
}

impl<S> Layer<S> for WriteGuard {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            guard: self.clone(),
            inner,
        }
    }
}

/// A write route's handler behind its [`WriteGuard`].
#[derive(Clone, Debug)]
struct Guarded<S> {
    guard: WriteGuard,
    inner: S,
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.guard.check(request.headers()) {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(e) => Either::Left(ready(Ok(e.into_response()))),
        }
    }
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(token) = &state.inner.token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    if bool::from(given.ct_eq(token.expose().as_bytes())) {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}

fn body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, AppError> {
    match body {
        Ok(b) if b.is_empty() => Err(AppError::BadRequest(
            "the body is empty: a transaction is at least one byte".into(),
        )),
        Ok(b) => Ok(b),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::TooLarge { limit }),
        Err(r) => Err(AppError::BadRequest(r.body_text())),
    }
}

/// A write the log did not take, as a `503` (counted by reason).
fn write_error(state: &AppState, e: WriteError) -> AppError {
    let why = match e {
        WriteError::ShuttingDown => Refusal::ShuttingDown,
        _ => Refusal::Wal,
    };
    state.inner.shared.health.refused(why);
    AppError::Unavailable(e.to_string())
}

/// Behind the [`WriteGuard`], like every write.
async fn post_transaction(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let data = match body(raw, state.inner.max_tx_bytes) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = state.admit(1) {
        return e.into_response();
    }
    let tx = Hash32::digest(&data);
    if let Err(e) = state.inner.wal.write_one(data, tx).await {
        return write_error(&state, e).into_response();
    }
    accepted_tx(&tx)
}

/// `202 {"tx":"<hex>"}`, the bytes `axum::Json(json!({"tx": hex}))` writes, put together
/// without a JSON value, a map and a string per acknowledgement.
fn accepted_tx(tx: &Hash32) -> Response {
    const HEAD: &[u8] = b"{\"tx\":\"";
    const TAIL: &[u8] = b"\"}";
    let mut hex = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(tx.as_bytes(), &mut hex);
    let mut out = Vec::with_capacity(HEAD.len() + hex.len() + TAIL.len());
    out.extend_from_slice(HEAD);
    out.extend_from_slice(&hex);
    out.extend_from_slice(TAIL);
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
        out,
    )
        .into_response()
}

/// The `Retry-After` of every 503: one second, about five seal periods.
const RETRY_AFTER_SECS: &str = "1";

/// The content type `axum::Json` answers with.
const JSON: &str = "application/json";

/// Behind the [`WriteGuard`], like every write.
async fn post_batch(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let data = body(raw, MAX_BATCH_BODY)?;
    let items = batch_body(&data, state.inner.max_tx_bytes)?;
    state.admit(items.len())?;
    let txs: Vec<String> = items.iter().map(|(_, tx)| tx.to_hex()).collect();
    state
        .inner
        .wal
        .write(items)
        .await
        .map_err(|e| write_error(&state, e))?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "txs": txs }))).into_response())
}

/// The transactions of a `POST /v1/batch` body (SPEC §7.1), each with its id: a strict
/// canonical CBOR array (`Batch::decode`) of one or more non-empty byte strings of at most
/// `max_tx_bytes` each. What the handler answers for a body it refuses: `400` with the
/// reason, `413` for a transaction over the limit.
///
/// # Errors
/// [`AppError::BadRequest`] or [`AppError::TooLarge`].
pub fn batch_body(data: &[u8], max_tx_bytes: usize) -> Result<Vec<(Bytes, Hash32)>, AppError> {
    let batch = Batch::decode(data)
        .map_err(|e| AppError::BadRequest(format!("not a CBOR array of byte strings: {e}")))?;
    if batch.is_empty() {
        return Err(AppError::BadRequest(
            "the batch holds no transaction".into(),
        ));
    }
    let mut items = Vec::with_capacity(batch.len());
    for (i, d) in batch.into_txs().into_iter().enumerate() {
        if d.is_empty() {
            return Err(AppError::BadRequest(format!("transaction {i} is empty")));
        }
        if d.len() > max_tx_bytes {
            return Err(AppError::TransactionTooLarge {
                index: i,
                len: d.len(),
                limit: max_tx_bytes,
            });
        }
        let tx = Hash32::digest(&d);
        items.push((Bytes::from(d), tx));
    }
    Ok(items)
}

fn parse_tx(text: &str) -> Result<Hash32, AppError> {
    Hash32::from_hex(text).map_err(|e| {
        AppError::BadRequest(format!(
            "{text:?} is not a transaction id (64 lowercase hex): {e}"
        ))
    })
}

async fn get_transaction(
    State(state): State<AppState>,
    Path(tx): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_tx(&tx)?;
    let body = match state.inner.shared.status(&id) {
        Some(TxStatus::Final(height)) => {
            json!({"tx": id.to_hex(), "status": "final", "height": height})
        }
        Some(TxStatus::Pending) => json!({"tx": id.to_hex(), "status": "pending"}),
        None => {
            return Err(AppError::NotFound(format!(
                "unknown transaction {}",
                id.to_hex()
            )));
        }
    };
    Ok(axum::Json(body).into_response())
}

async fn get_certificate(
    State(state): State<AppState>,
    Path(tx): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_tx(&tx)?;
    match state.inner.shared.status(&id) {
        None => {
            return Err(AppError::NotFound(format!(
                "unknown transaction {}",
                id.to_hex()
            )));
        }
        Some(TxStatus::Pending) => {
            return Err(AppError::NotFound(format!(
                "transaction {} is pending: no certificate until it is final",
                id.to_hex()
            )));
        }
        Some(TxStatus::Final(_)) => {}
    }
    let shared = Arc::clone(&state.inner.shared);
    let cert = tokio::task::spawn_blocking(move || shared.certificate(&id))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))?
        .ok_or_else(|| AppError::NotFound(format!("transaction {} is not final", id.to_hex())))?;
    Ok(axum::Json(cert).into_response())
}

/// The most bytes of a posted note (as the core reads one).
const MAX_NOTE_LEN: usize = verifier_core::tlog::note::MAX_NOTE_LEN;

/// `GET /v1/checkpoint` (SPEC §9.6): the latest checkpoint as a signed note, with every
/// cosignature the writer holds for it.
async fn get_checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let note = state
        .inner
        .shared
        .checkpoints
        .latest()
        .ok_or_else(|| AppError::NotFound("no checkpoint signed yet".into()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// `POST /v1/checkpoint/cosignatures` (SPEC §9.6): a signed note of a checkpoint this
/// writer signed; keeps the cosignatures of the descriptor's witnesses (`400` with the
/// reason when a known signature does not verify, or none is there).
async fn post_cosignatures(
    State(state): State<AppState>,
    note: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let note = body(note, MAX_NOTE_LEN)?;
    let note = String::from_utf8(note.to_vec())
        .map_err(|_| AppError::BadRequest("the note is not UTF-8 text".into()))?;
    let shared = Arc::clone(&state.inner.shared);
    let accepted = tokio::task::spawn_blocking(move || shared.add_cosignatures(&note))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::BadRequest)?;
    Ok(axum::Json(json!({
        "checkpoint_size": accepted.size,
        "accepted": accepted.accepted,
        "witnesses": accepted.witnesses,
        "quorum": accepted.quorum,
        "cosigned": accepted.cosigned,
    }))
    .into_response())
}

async fn get_chain(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.inner.shared.chain_json.clone(),
    )
        .into_response()
}

/// `GET /healthz`: `200 ok`; `200 degraded` with the reasons while witnesses fail
/// (sealing and writes go on); `503 unhealthy` with the reasons while the writer is not
/// sealing (any witness reasons listed after those).
async fn healthz(State(state): State<AppState>) -> Response {
    let health = state.inner.shared.health();
    let height = state.inner.shared.tip().map(|b| b.height);
    if !health.unhealthy.is_empty() {
        let mut reasons = health.unhealthy;
        reasons.extend(health.degraded);
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unhealthy", "sealing": false, "height": height, "reasons": reasons})),
        )
            .into_response()
    } else if !health.degraded.is_empty() {
        axum::Json(json!({"status": "degraded", "sealing": true, "height": height, "reasons": health.degraded}))
            .into_response()
    } else {
        axum::Json(json!({"status": "ok", "sealing": true, "height": height})).into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.inner.shared.metrics_text(),
    )
        .into_response()
}

/// The executor of one connection's HTTP/2 streams: rather than a task of their own each
/// (hyper's default, `tokio::spawn` per request), the streams run inside the connection's
/// task, which polls them beside the connection. A stream woken by the group commit is then
/// an entry pushed on the connection's ready queue, and the runtime schedules one task per
/// connection, not one per acknowledged request (those wakes come from the appender
/// thread, so each went through the runtime's shared injection queue).
#[derive(Clone, Default)]
struct StreamExec {
    started: Arc<Mutex<Vec<StreamFuture>>>,
}

type StreamFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

impl StreamExec {
    fn take_into(&self, running: &mut FuturesUnordered<StreamFuture>) {
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        for f in started.drain(..) {
            running.push(f);
        }
    }

    fn any(&self) -> bool {
        !self
            .started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

impl<F> hyper::rt::Executor<F> for StreamExec
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, fut: F) {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(fut));
    }
}

/// Requests in flight on one HTTP/2 connection (hyper's default is 200; the load generator
/// runs up to 128 a connection, real clients fewer).
const MAX_CONCURRENT_STREAMS: u32 = 1024;

/// HTTP/2 peers are pinged after this long without a frame from them...
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);

/// ... and dropped if the ping is not answered within this long (a peer that vanished
/// would otherwise keep its connection, and a slot, until TCP gives up on it).
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest a [`ConnLimits`] timeout is taken to be (a larger one could overflow a
/// deadline).
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// How often, at most, the accept loop logs that the connection limit is reached.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// What the accept loop grants a connection, against clients that hold connections open
/// without using them (slowloris, issue #13). Timeouts are taken between 1 ms and a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    /// How long a client has to send a request's headers. A new connection whose first
    /// request (either protocol) has not arrived by then is closed at once; on HTTP/1.1
    /// hyper also runs this timer from the end of each response, so an HTTP/1.1 connection
    /// also waits at most this long for its next request.
    pub header_timeout: Duration,
    /// How long a connection may go with no request in flight before it is closed
    /// gracefully (HTTP/2: GOAWAY, then closed at the latest one `header_timeout` later).
    pub idle_timeout: Duration,
    /// The most connections open at once. While that many are, the writer accepts no more:
    /// new ones wait in the listen backlog until one closes, then are served in turn.
    pub max_connections: usize,
}

impl ConnLimits {
    /// The defaults of `--header-timeout-ms`, `--idle-timeout-ms` and `--max-connections`:
    /// 10 s, 60 s, 512 (below the common limit of 1024 open files, which the stores and
    /// the log also use).
    pub const DEFAULT: Self = Self {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 512,
    };
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One connection's requests, as its service sees them: when it last had none in flight.
/// Only the connection's own task touches it (its HTTP/2 streams run in that task too), so
/// the atomics are never contended.
#[derive(Debug)]
struct Activity {
    /// When the connection was accepted.
    start: Instant,
    /// Requests begun (their headers received).
    started: AtomicU64,
    /// Requests begun and not yet answered.
    in_flight: AtomicUsize,
    /// When `in_flight` last fell to 0, in nanoseconds after `start`.
    idle_since: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
        }
    }

    /// A request begins; it ends when the returned value is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Since when no request has been in flight; `None` while one is.
    fn idle_since(&self) -> Option<Instant> {
        (self.in_flight.load(Ordering::Relaxed) == 0)
            .then(|| self.start + Duration::from_nanos(self.idle_since.load(Ordering::Relaxed)))
    }
}

/// A request in flight on a connection (see [`Activity::begin`]).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            let nanos = u64::try_from(self.0.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.0.idle_since.store(nanos, Ordering::Relaxed);
        }
    }
}

/// Where a connection is, for its timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for its first request, for at most the header timeout.
    First,
    /// Served at least one request; closed after the idle timeout with none in flight.
    Serving,
    /// Asked to close gracefully for being idle; dropped if still open when the timer next
    /// fires, one header timeout later.
    Closing,
}

/// Serves `app` on `listener` until `shutdown` completes: HTTP/1.1 and HTTP/2 over
/// cleartext (prior knowledge) on the same port, told apart by the connection preface,
/// at most `limits.max_connections` at once, each within `limits`' timeouts.
/// Then it stops accepting, asks every connection to finish gracefully (HTTP/1.1 after the
/// request in flight, HTTP/2 with GOAWAY once its streams are answered), and returns when
/// the last connection has closed, as `axum::serve(..).with_graceful_shutdown(..)` does.
///
/// Why not `axum::serve`: it offers no way to set HTTP/2 settings or timeouts. Accepted
/// sockets keep Nagle's algorithm, as under `axum::serve`: with `TCP_NODELAY` the h2c load
/// of issue #4 (8 connections × 128 streams) went out in more, smaller segments and the
/// acknowledged rate fell by about a sixth (median of four alternating rounds, 39k against
/// 46k tx/s).
///
/// The connection limit is a semaphore taken before each `accept`: when it is full the
/// loop stops accepting rather than accepting and closing, so that a client over the
/// limit waits in the kernel's backlog and is served once a slot frees (the timeouts
/// bound how long an idle or slow client holds one) instead of failing at once.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = ConnLimits {
        header_timeout: limits
            .header_timeout
            .clamp(Duration::from_millis(1), MAX_TIMEOUT),
        idle_timeout: limits
            .idle_timeout
            .clamp(Duration::from_millis(1), MAX_TIMEOUT),
        max_connections: limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    };
    // The shutdown signal is `signal_rx` dropped (every connection watches
    // `signal_tx.closed()`); each connection holds a `close_rx` clone, so
    // `close_tx.closed()` returns when the last one has ended.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut warned: Option<Instant> = None;
    loop {
        if slots.available_permits() == 0
            && warned.is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY)
        {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection limit reached: accepting no more until one closes"
            );
            warned = Some(Instant::now());
        }
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = signal_tx.closed() => break,
        };
        // The semaphore is never closed, so this cannot fail.
        let Ok(slot) = slot else { break };
        let stream = tokio::select! {
            accepted = listener.accept() => accepted,
            () = signal_tx.closed() => break,
        };
        let stream = match stream {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning, as
                // axum does.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, app, limits, &signal_tx).await;
            drop(slot);
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}

/// Serves one connection until it closes, is closed by `limits`, or (gracefully) once
/// `signal` is closed.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: ConnLimits,
    signal: &watch::Sender<()>,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let inner = TowerToHyperService::new(app);
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request| {
            let in_flight = activity.begin();
            let answer = hyper::service::Service::call(&inner, request);
            async move {
                let answer = answer.await;
                drop(in_flight);
                answer
            }
        })
    };
    let streams = StreamExec::default();
    let mut builder = auto::Builder::new(streams.clone());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
    let mut signal = pin!(signal.closed());
    let mut signalled = false;
    let mut phase = Phase::First;
    // In `First`, the timer fires at the sooner of the two timeouts, so that a connection
    // whose first request was answered at once is not kept past the idle timeout.
    let first_deadline = activity.start + limits.header_timeout;
    let mut timer = pin!(tokio::time::sleep(
        limits.header_timeout.min(limits.idle_timeout)
    ));
    let mut running = FuturesUnordered::new();
    let result = std::future::poll_fn(|cx| {
        if !signalled && signal.as_mut().poll(cx).is_ready() {
            signalled = true;
            conn.as_mut().graceful_shutdown();
        }
        if let Poll::Ready(result) = conn.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        streams.take_into(&mut running);
        while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
        // A stream started while the streams were polled (an upgrade) waits for
        // the next pass.
        if streams.any() {
            cx.waker().wake_by_ref();
        }
        while timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            let idle_deadline = activity
                .idle_since()
                .map_or(now + limits.idle_timeout, |since| {
                    since + limits.idle_timeout
                });
            match phase {
                // Not one request in the header timeout: nothing to be graceful about.
                Phase::First if activity.started.load(Ordering::Relaxed) == 0 => {
                    if first_deadline <= now {
                        tracing::trace!("no request in the header timeout: closing");
                        return Poll::Ready(Ok(()));
                    }
                    timer.as_mut().reset(first_deadline);
                }
                Phase::First => {
                    phase = Phase::Serving;
                    timer.as_mut().reset(idle_deadline);
                }
                Phase::Serving if idle_deadline <= now => {
                    tracing::trace!("idle: closing");
                    phase = Phase::Closing;
                    if !signalled {
                        signalled = true;
                        conn.as_mut().graceful_shutdown();
                        // The connection acts on it when next polled.
                        cx.waker().wake_by_ref();
                    }
                    timer.as_mut().reset(now + limits.header_timeout);
                }
                Phase::Serving => timer.as_mut().reset(idle_deadline),
                Phase::Closing => {
                    tracing::trace!("still open after closing gracefully: dropping");
                    return Poll::Ready(Ok(()));
                }
            }
        }
        Poll::Pending
    })
    .await;
    if let Err(e) = result {
        tracing::trace!(error = %e, "connection ended with an error");
    }
}
