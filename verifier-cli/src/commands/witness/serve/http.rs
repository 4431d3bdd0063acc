//! The witness daemon's HTTP interface (SPEC §9.6, C2SP tlog-witness):
//!
//! | request | answer |
//! |---|---|
//! | `POST /add-checkpoint` | `200` the cosignature line; `400` malformed; `403` not signed by the log key; `404` unknown origin; `409` the held size (`text/x.tlog.size`); `422` unconfirmed; `503` with `Retry-After` (stores unreachable, pull or audit failing, behind, or the checkpoint could not be kept) |
//! | `GET /healthz` | `200 {"status":"ok",…}` or `503 {"status":"unhealthy","reasons":[…]}` |
//! | `GET /metrics` | Prometheus text |
//!
//! An `add-checkpoint` is first decided on what the witness knows when it arrives (the
//! core's [`check_add_checkpoint`]): what the request alone decides (`400` to `422`) is
//! answered at once. Otherwise the request waits, for at most `--catch-up-wait`, for a
//! pull-and-audit round that started after it arrived ([`Rounds::after`]); a round that
//! could not reach three stores or audit is `503`, as is a main chain still shorter than
//! the checkpoint when the wait is over. Then, holding the origin's lock (one decision at
//! a time), the core decides again and cosigns ([`add_checkpoint`]), and the checkpoint
//! is written to the origin's file, fsynced, before the `200` leaves.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::Mutex;
use verifier_core::tlog::add_checkpoint::{
    AddCheckpoint, MAX_REQUEST_LEN, Refusal, add_checkpoint, check_add_checkpoint,
};
use verifier_core::tlog::checkpoint::Checkpoint;
use verifier_core::tlog::note::VerifierKey;
use verifier_core::tlog::signer::SignerKey;
use verifier_core::tlog::witness::WitnessView;

use super::metrics::Metrics;
use super::rounds::{Rounds, View};
use crate::cosigned;

/// How long a request that is still ahead of the witness's audit after a round waits
/// before it asks for the next one (so that a checkpoint whose objects are not in the
/// stores yet does not make the witness pull without a pause).
const BEHIND_PAUSE: Duration = Duration::from_millis(200);

/// The most requests handled at once; more wait their turn.
const MAX_CONCURRENT_REQUESTS: usize = 256;

/// Everything the handlers share.
#[derive(Debug)]
pub(super) struct Witness {
    /// `zipchain/<hex genesis>` of the witness's `chain.json`.
    pub(super) origin: String,
    /// The descriptor's log key, if it names one.
    pub(super) log_key: Option<VerifierKey>,
    /// The witness's own key.
    pub(super) key: SignerKey,
    /// The latest checkpoint cosigned; its lock is held through each decision.
    pub(super) held: Mutex<Option<Checkpoint>>,
    /// Where it is kept.
    pub(super) held_path: PathBuf,
    /// The latest failure to keep a checkpoint, and when: `/healthz` shows it until a
    /// round that started after it has finished (the round writes the same disk).
    pub(super) persist_failure: std::sync::Mutex<Option<(Instant, String)>>,
    /// The pull-and-audit rounds.
    pub(super) rounds: Arc<Rounds>,
    /// The metrics.
    pub(super) metrics: Arc<Metrics>,
    /// How long a request waits for the audit to catch up.
    pub(super) catch_up_wait: Duration,
    /// The interval of the background rounds.
    pub(super) poll_interval: Duration,
}

/// The router.
pub(super) fn app(witness: Arc<Witness>) -> Router {
    // A request may wait `catch_up_wait` for a round, then for its turn at the lock and
    // an fsync; the timeout only stops one that hangs.
    let timeout = witness.catch_up_wait + Duration::from_secs(30);
    let router = Router::new()
        .route(
            "/add-checkpoint",
            post(post_add_checkpoint).layer(DefaultBodyLimit::max(MAX_REQUEST_LEN)),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route\n") })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        })
        .with_state(witness);
    services::http::request_layers(router, timeout, MAX_CONCURRENT_REQUESTS)
}

/// The answer to one `add-checkpoint`.
#[derive(Debug)]
enum Answer {
    /// `200`: the cosignature line.
    Cosigned { line: String, size: u64, old: u64 },
    /// `400`: the body could not be read (over the size limit).
    Unreadable(String),
    /// The core's refusal, with its status.
    Refused(Refusal),
    /// `503`: the witness cannot confirm now.
    Unavailable {
        reason: &'static str,
        why: String,
        retry_after: Duration,
    },
    /// `503`: the checkpoint could not be persisted (nothing was cosigned).
    Failed(String),
}

impl Answer {
    fn status(&self) -> u16 {
        match self {
            Self::Cosigned { .. } => 200,
            Self::Unreadable(_) => 400,
            Self::Refused(r) => r.status(),
            Self::Unavailable { .. } | Self::Failed(_) => 503,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::Cosigned { .. } => "cosigned",
            Self::Unreadable(_) => "malformed",
            Self::Refused(r) => r.reason(),
            Self::Unavailable { reason, .. } => reason,
            Self::Failed(_) => "persist_failed",
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let text = |body: String| {
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                body,
            )
                .into_response()
        };
        match self {
            Self::Cosigned { line, .. } => text(line),
            Self::Refused(r) => match r.held_size() {
                Some(held) => (
                    status,
                    [(header::CONTENT_TYPE, "text/x.tlog.size")],
                    format!("{held}\n"),
                )
                    .into_response(),
                None => text(format!("{r}\n")),
            },
            Self::Unreadable(why) => text(format!("{why}\n")),
            Self::Unavailable {
                why, retry_after, ..
            } => retry_later(text(format!("{why}\n")), retry_after),
            Self::Failed(why) => retry_later(
                text(format!("the checkpoint could not be kept: {why}\n")),
                RETRY_PERSIST,
            ),
        }
    }
}

/// The `Retry-After` of a checkpoint that could not be kept.
const RETRY_PERSIST: Duration = Duration::from_secs(5);

/// `response` with `Retry-After: <after, in whole seconds, at least 1>`.
fn retry_later(mut response: Response, after: Duration) -> Response {
    let secs = after.as_secs_f64().ceil().max(1.0) as u64;
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

async fn post_add_checkpoint(
    State(witness): State<Arc<Witness>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let arrival = Instant::now();
    let answer = match body {
        Ok(body) => witness.answer(&body, arrival).await,
        Err(e) => Answer::Unreadable(format!("malformed request: {}", e.body_text())),
    };
    let (status, reason) = (answer.status(), answer.reason());
    match &answer {
        Answer::Cosigned { size, old, .. } => {
            witness.metrics.cosigned(*size);
            tracing::info!(size, old, took = ?arrival.elapsed(), "cosigned");
        }
        Answer::Refused(r) if status == 422 => {
            // C2SP: a refused checkpoint of a known origin may be evidence of a log's
            // misbehaviour; it is logged whole (it is public).
            witness.metrics.refused(status, reason);
            tracing::warn!(status, reason, refusal = %r, "refused");
        }
        Answer::Failed(why) => {
            witness.metrics.refused(status, reason);
            tracing::error!(cause = %why, "the checkpoint could not be persisted; not cosigned");
        }
        other => {
            witness.metrics.refused(status, reason);
            tracing::info!(status, reason, answer = ?other, "refused");
        }
    }
    answer.into_response()
}

impl Witness {
    /// The core's view of the witness's audit.
    fn witness_view<'a>(&'a self, view: &'a View) -> WitnessView<'a> {
        WitnessView {
            origin: &self.origin,
            tree: &view.tree,
            equivocations: view.equivocations,
            log_key: self.log_key.as_ref(),
        }
    }

    async fn answer(&self, body: &[u8], arrival: Instant) -> Answer {
        let request = match AddCheckpoint::parse(body) {
            Ok(request) => request,
            Err(e) => return Answer::Refused(Refusal::Malformed(e)),
        };
        // What the request alone decides is answered now.
        let held = self.held.lock().await.clone();
        let first = check_add_checkpoint(
            &request,
            &self.witness_view(&self.rounds.view()),
            held.as_ref(),
        );
        match first {
            // A checkpoint the log signed, consistent with the one held: the audit lag
            // counts from it.
            Ok(()) | Err(Refusal::Behind { .. }) => {
                self.metrics.requested(request.checkpoint.size);
            }
            Err(refusal) => return Answer::Refused(refusal),
        }
        let deadline = arrival + self.catch_up_wait;
        let mut since = arrival;
        // The last time a fresh round still left the checkpoint above the main chain.
        let mut behind = None;
        loop {
            let status = match self.rounds.after(since, deadline).await {
                Some(status) => status,
                None => return self.unavailable(behind),
            };
            if let Some((reason, why)) = status.blocking() {
                return Answer::Unavailable {
                    reason,
                    why,
                    retry_after: self.poll_interval,
                };
            }
            match self.decide(&request).await {
                Err(Refusal::Behind { size, entries }) => {
                    behind = Some((size, entries));
                    if Instant::now() + BEHIND_PAUSE >= deadline {
                        return self.unavailable(behind);
                    }
                    tokio::time::sleep(BEHIND_PAUSE).await;
                    since = Instant::now();
                }
                other => return other.unwrap_or_else(Answer::Refused),
            }
        }
    }

    /// The `503` when the wait is over: still behind after a round (`behind`), or no
    /// round finished in time.
    fn unavailable(&self, behind: Option<(u64, u64)>) -> Answer {
        match behind {
            Some((size, entries)) => Answer::Unavailable {
                reason: "behind",
                why: format!(
                    "the witness has audited {entries} main-chain entries, fewer than the checkpoint's {size}; its pull will bring the rest"
                ),
                retry_after: Duration::from_secs(1),
            },
            None => Answer::Unavailable {
                reason: "not_caught_up",
                why: format!(
                    "the witness's pull and audit did not finish within {}",
                    humantime::format_duration(self.catch_up_wait)
                ),
                retry_after: self.catch_up_wait,
            },
        }
    }

    /// Decides under the origin's lock and, when the core allows it, persists the
    /// checkpoint (fsynced) before the cosignature is returned.
    async fn decide(&self, request: &AddCheckpoint) -> Result<Answer, Refusal> {
        let mut held = self.held.lock().await;
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let line = add_checkpoint(
            request,
            &self.witness_view(&self.rounds.view()),
            held.as_ref(),
            self.key.name(),
            self.key.signing_key(),
            time,
        )?;
        if held.as_ref() != Some(&request.checkpoint) {
            let (path, checkpoint) = (self.held_path.clone(), request.checkpoint.clone());
            let written =
                tokio::task::spawn_blocking(move || cosigned::write(&path, &checkpoint)).await;
            let failed = match written {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            let mut failure = self
                .persist_failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match failed {
                None => {
                    *failure = None;
                    *held = Some(request.checkpoint.clone());
                }
                Some(why) => {
                    *failure = Some((Instant::now(), why.clone()));
                    return Ok(Answer::Failed(why));
                }
            }
        }
        Ok(Answer::Cosigned {
            line: line.to_line(),
            size: request.checkpoint.size,
            old: request.old,
        })
    }
}

async fn healthz(State(witness): State<Arc<Witness>>) -> Response {
    let status = witness.rounds.status();
    let (size, equivocations) = {
        let view = witness.rounds.view();
        (view.tree.len(), view.equivocations)
    };
    let mut reasons = Vec::new();
    if let Some(why) = &status.stores {
        reasons.push(format!("stores unreachable: {why}"));
    }
    if let Some(why) = &status.pull {
        reasons.push(format!("pull failing: {why}"));
    }
    if let Some(why) = &status.audit {
        reasons.push(format!("audit failing: {why}"));
    }
    if equivocations > 0 {
        reasons.push(format!(
            "equivocation: the audit found {equivocations}; no checkpoint is cosigned"
        ));
    }
    if status.started.is_none() {
        reasons.push("starting: no audit has finished yet".to_owned());
    }
    let persist = witness
        .persist_failure
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some((at, why)) = persist.filter(|(at, _)| status.started.is_none_or(|s| s < *at)) {
        reasons.push(format!(
            "state not writable: the last checkpoint to cosign could not be kept {} s ago: {why}",
            at.elapsed().as_secs()
        ));
    }
    let healthy = reasons.is_empty();
    let body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "origin": witness.origin,
        "verifier_key": witness.key.verifier_key().to_text(),
        "main_chain_size": size,
        "cosigned_size": witness.metrics.cosigned_size(),
        "rounds": status.finished,
        "last_audit": status
            .audited_at
            .map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        "reasons": reasons,
    });
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(witness): State<Arc<Witness>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        witness.metrics.render(),
    )
        .into_response()
}
