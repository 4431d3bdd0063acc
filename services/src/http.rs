//! The stand-ins as HTTP services (SPEC §7.2, §7.3): thin axum adapters over
//! [`TimestampAuthority`] and [`Sequencer`], and what the daemons share (clock, server
//! loop with graceful shutdown).
//!
//! | service | request | answer |
//! |---|---|---|
//! | TSA | `POST /v1/timestamp`, body exactly 32 raw bytes `y` | `200` the JWT text (`application/jwt`), `iat` = now |
//! | TSA | `GET /.well-known/jwks.json` | `200` the JWK Set |
//! | sequencer | `POST /v1/sequence`, body exactly 48 raw bytes `y` | `200` the NSM document (`application/cbor`) |
//! | sequencer | `GET /v1/public-key` | `200` hex `K_S+` (`text/plain`) |
//! | sequencer | `GET /v1/root.pem` | `200` the stand-in CA root (PEM) |
//! | both | `GET /healthz` | `200 {"status":"ok",…}` |
//!
//! `/v1/root.pem` is an extra of the stand-in: a real enclave's documents chain to AWS's
//! Nitro root, which nobody fetches from the enclave; there it answers `404`. Errors are JSON
//! `{"error": "<what failed, in words>"}`: `400` for a body of the wrong length, `413` for a
//! body over [`MAX_BODY_BYTES`], `404` for an unknown route, `405` for a wrong method,
//! `408` after [`REQUEST_TIMEOUT`], and `500` (details only in the log) when the service
//! itself fails.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use nsm_issuer::TestCa;
use serde_json::json;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use verifier_core::time::UnixMillis;

use crate::ServiceError;
use crate::attestation::AttestationSource;
use crate::sequencer::Sequencer;
use crate::tsa::TimestampAuthority;

/// The largest request body either service reads, in bytes; a longer body is refused
/// with `413` before it is read. Both services take 32 or 48 bytes.
pub const MAX_BODY_BYTES: usize = 1024;

/// How long one request may take before it is answered `408`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The most requests either service handles at once; more wait their turn (within
/// [`REQUEST_TIMEOUT`]). Signing is serialised anyway; this bounds the queue of blocking tasks.
pub const MAX_CONCURRENT_REQUESTS: usize = 64;

/// How long [`serve`] lets in-flight requests finish once shutdown is asked for.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The length of a timestamp request's `y` (a block hash `H(b)`).
pub const TIMESTAMP_INPUT_LEN: usize = 32;

/// The length of a sequence request's `y = b.u ++ H(t)`.
pub const SEQUENCE_INPUT_LEN: usize = 48;

/// The router of the timestamp authority (SPEC §7.2).
pub fn tsa_app(tsa: Arc<TimestampAuthority>) -> Router {
    let routes = Router::new()
        .route("/v1/timestamp", post(timestamp))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(tsa_health))
        .with_state(tsa);
    common_layers(routes)
}

/// The router of the sequencer (SPEC §7.3).
pub fn sequencer_app(state: Arc<SequencerState>) -> Router {
    let routes = Router::new()
        .route("/v1/sequence", post(sequence))
        .route("/v1/public-key", get(public_key))
        .route("/v1/root.pem", get(root_pem))
        .route("/healthz", get(sequencer_health))
        .with_state(state);
    common_layers(routes)
}

/// The sequencer daemon's state: the [`Sequencer`] (key pair and counter, in memory only)
/// behind a lock, whatever its [`AttestationSource`] (the stand-in test CA or `/dev/nsm`),
/// and the directory where a stand-in's test CA is kept.
#[derive(Debug)]
pub struct SequencerState {
    sequencer: Mutex<Sequencer<Box<dyn AttestationSource>>>,
    ca_dir: Option<PathBuf>,
}

impl SequencerState {
    /// Wraps `sequencer`; when its source is the stand-in and its CA renews a certificate,
    /// the CA is saved to `ca_dir` (if given).
    pub fn new<S: AttestationSource + 'static>(
        sequencer: Sequencer<S>,
        ca_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            sequencer: Mutex::new(sequencer.boxed()),
            ca_dir,
        }
    }

    /// The standalone sequencer: the test CA from `ca_dir` (created, with a new root, on
    /// first use; renewed and saved if it would not last at `now`), a fresh key pair and
    /// counter, and PCR0 `pcr0` (the daemon passes
    /// [`self_measurement`](crate::sequencer::self_measurement)).
    ///
    /// # Errors
    /// [`ServiceError::Issuer`] when the CA cannot be read, made, renewed or saved
    /// (e.g. `now` is outside its root's validity); [`ServiceError::Random`].
    pub fn open(ca_dir: &Path, pcr0: [u8; 48], now: UnixMillis) -> Result<Self, ServiceError> {
        let ca = if ca_dir.join("root.pem").exists() {
            let mut ca = TestCa::load(ca_dir)?;
            if ca.renew_if_needed(now)? {
                ca.save(ca_dir)?;
                tracing::info!(ca_dir = %ca_dir.display(), "renewed the test CA's certificates");
            }
            ca
        } else {
            let ca = TestCa::generate(now)?;
            ca.save(ca_dir)?;
            tracing::info!(ca_dir = %ca_dir.display(), "created a new test CA");
            ca
        };
        let module_id = ca.module_id().to_string();
        let sequencer = Sequencer::new(ca, module_id, pcr0)?;
        Ok(Self::new(sequencer, Some(ca_dir.to_path_buf())))
    }

    /// `K_S+`.
    pub fn public_key(&self) -> [u8; 32] {
        self.lock().public_key()
    }

    /// The stand-in test CA's root certificate as PEM; `None` when the documents come
    /// from a real NSM (their root is AWS's).
    pub fn root_pem(&self) -> Option<String> {
        self.lock().source().test_ca().map(TestCa::root_pem)
    }

    /// The module id and PCR0 the documents carry.
    pub fn measurement(&self) -> (String, Vec<u8>) {
        let sequencer = self.lock();
        (sequencer.module_id().to_string(), sequencer.pcr0().to_vec())
    }

    /// Sequences `y` at `now` and returns the NSM document; saves the CA when it renewed.
    ///
    /// # Errors
    /// As [`Sequencer::sequence`].
    pub fn sequence(&self, y: [u8; 48], now: UnixMillis) -> Result<Vec<u8>, ServiceError> {
        let mut sequencer = self.lock();
        let leaf = |s: &Sequencer<Box<dyn AttestationSource>>| {
            s.source().test_ca().map(|ca| ca.leaf_der().to_vec())
        };
        let leaf_before = leaf(&sequencer);
        let answer = sequencer.sequence(y, now)?;
        // Every renewal reissues the leaf, so a new leaf means the CA changed.
        if leaf(&sequencer) != leaf_before {
            if let (Some(dir), Some(ca)) = (&self.ca_dir, sequencer.source().test_ca()) {
                match ca.save(dir) {
                    Ok(()) => {
                        tracing::info!(ca_dir = %dir.display(), "renewed and saved the test CA")
                    }
                    // The document is good; a restart renews the stale copy again.
                    Err(e) => {
                        tracing::warn!(ca_dir = %dir.display(), cause = %e, "could not save the renewed test CA")
                    }
                }
            }
        }
        tracing::info!(k = answer.k, y = %hex::encode(y), "sequenced");
        Ok(answer.document)
    }

    /// The sequencer, even if a thread panicked while holding it: [`Sequencer::sequence`]
    /// numbers a `y` only after its document is issued, so its state is never half-done.
    fn lock(&self) -> std::sync::MutexGuard<'_, Sequencer<Box<dyn AttestationSource>>> {
        self.sequencer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Logs of the daemons (`zipchain-tsa`, `zipchain-sequencer`, `zipchain-writer`): to stderr,
/// filtered by `RUST_LOG` (default `info`), coloured only on a terminal.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// The current time from the system clock.
///
/// # Errors
/// [`ServiceError::Config`] when the clock is before 1970.
pub fn now_millis() -> Result<UnixMillis, ServiceError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| ServiceError::Config {
            what: "system clock",
            got: format!("{e}"),
            reason: "it is before 1970",
        })?;
    Ok(UnixMillis(
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
    ))
}

/// Serves `app` on `listener` (TCP, or vsock in an enclave) until `shutdown` completes,
/// then lets in-flight requests finish for at most [`DRAIN_TIMEOUT`].
///
/// # Errors
/// The listener's I/O error.
pub async fn serve<L>(
    listener: L,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = draining_tx.send(());
    });
    let drain_limit = async move {
        // Only a sent signal starts the clock; a dropped sender means the server ended.
        if draining_rx.await.is_ok() {
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = drain_limit => {
            tracing::warn!(limit = ?DRAIN_TIMEOUT, "requests still running at the drain limit; stopping");
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(cause = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(cause = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// JSON 404 and 405, body limit, timeout, concurrency limit, request tracing.
fn common_layers(router: Router) -> Router {
    let router = router
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    request_layers(router, REQUEST_TIMEOUT, MAX_CONCURRENT_REQUESTS)
}

/// The request layers the stand-ins' routers have, for another router (the writer's) with
/// its own limits: request tracing, `408` (empty body) once a request has taken `timeout`,
/// and at most `max_concurrent` requests handled at once across the router (more wait
/// their turn, within the timeout).
///
/// # Panics
/// When `max_concurrent` is over [`tokio::sync::Semaphore::MAX_PERMITS`].
pub fn request_layers(router: Router, timeout: Duration, max_concurrent: usize) -> Router {
    router
        .layer(GlobalConcurrencyLimitLayer::new(max_concurrent))
        // Outside the limit, so that waiting for a turn counts against the timeout.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        // A 5xx answer is logged at WARN, not ERROR: 503 (queue full, a witness still
        // catching up) and 408 are the service working as designed; a handler logs its
        // own real failures.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
}

async fn timestamp(
    State(tsa): State<Arc<TimestampAuthority>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let y: [u8; TIMESTAMP_INPUT_LEN] = exact_body(body)?;
    let iat = now_millis()?.to_seconds().0;
    let token = tokio::task::spawn_blocking(move || tsa.issue(&y, iat)).await??;
    tracing::info!(y = %hex::encode(y), iat, "timestamped");
    Ok(([(header::CONTENT_TYPE, "application/jwt")], token).into_response())
}

async fn jwks(State(tsa): State<Arc<TimestampAuthority>>) -> Json<serde_json::Value> {
    Json(tsa.jwks())
}

async fn tsa_health(State(tsa): State<Arc<TimestampAuthority>>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "kid": tsa.kid() }))
}

async fn sequence(
    State(state): State<Arc<SequencerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let y: [u8; SEQUENCE_INPUT_LEN] = exact_body(body)?;
    let now = now_millis()?;
    let document = tokio::task::spawn_blocking(move || state.sequence(y, now)).await??;
    Ok(([(header::CONTENT_TYPE, "application/cbor")], document).into_response())
}

async fn public_key(State(state): State<Arc<SequencerState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        hex::encode(state.public_key()),
    )
        .into_response()
}

async fn root_pem(State(state): State<Arc<SequencerState>>) -> Result<Response, AppError> {
    let pem = state.root_pem().ok_or(AppError::NoTestRoot)?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response())
}

async fn sequencer_health(State(state): State<Arc<SequencerState>>) -> Json<serde_json::Value> {
    let sequencer = state.lock();
    Json(json!({
        "status": "ok",
        "public_key": hex::encode(sequencer.public_key()),
        "count": sequencer.count(),
    }))
}

async fn not_found(uri: Uri) -> AppError {
    AppError::NotFound {
        path: uri.path().to_string(),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

/// The body as exactly `N` bytes.
fn exact_body<const N: usize>(body: Result<Bytes, BytesRejection>) -> Result<[u8; N], AppError> {
    let body = body.map_err(|rejection| AppError::Body {
        status: rejection.status().as_u16(),
        reason: rejection.body_text(),
    })?;
    <[u8; N]>::try_from(body.as_ref()).map_err(|_| AppError::WrongLength {
        got: body.len(),
        expected: N,
    })
}

/// Why a request failed, as the client is told it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum AppError {
    /// The body could not be read (too long, or the connection failed).
    #[error("cannot read the request body: {reason}")]
    Body {
        /// The HTTP status axum chose (413 for a body over the limit).
        status: u16,
        /// axum's explanation.
        reason: String,
    },
    /// The path exists but not with this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// No route has this path.
    #[error("no such route: {path}")]
    NotFound {
        /// The request's path.
        path: String,
    },
    /// `/v1/root.pem` on a sequencer whose documents come from a real NSM.
    #[error(
        "no test CA root: this sequencer's documents come from the NSM and chain to the AWS Nitro Enclaves root"
    )]
    NoTestRoot,
    /// The service failed; the details are logged, not sent.
    #[error("internal error: {0}")]
    Service(#[from] ServiceError),
    /// The blocking task running the signer panicked or was cancelled.
    #[error("internal error: the signing task failed: {0}")]
    Task(String),
    /// The body does not have the one length the route takes.
    #[error("the body must be exactly {expected} raw bytes, got {got} bytes")]
    WrongLength {
        /// The body's length.
        got: usize,
        /// The length the route takes.
        expected: usize,
    },
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Task(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Body { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotFound { .. } | Self::NoTestRoot => StatusCode::NOT_FOUND,
            Self::Service(_) | Self::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::WrongLength { .. } => StatusCode::BAD_REQUEST,
        };
        let message = if status.is_server_error() {
            // Clients never see internals.
            tracing::error!(cause = %self, "request failed");
            "internal error (see the service's log)".to_string()
        } else {
            self.to_string()
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}
