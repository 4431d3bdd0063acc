//! The writer's push of its checkpoints to witnesses (SPEC §9.6 `--witness URL`), in the
//! C2SP tlog-witness protocol: one task per witness sends each new checkpoint to
//! `POST <URL>/add-checkpoint` with a consistency proof from the size that witness last
//! cosigned, and hands the cosignature it answers with to
//! [`Checkpoints::add_cosignatures`](crate::checkpoints::Checkpoints::add_cosignatures),
//! which keeps it when it verifies under a key of `chain.json`'s witnesses.
//!
//! - **Coalescing.** A task pushes only the latest checkpoint (a `watch` of it): while a
//!   witness is slow or down, the checkpoints signed meanwhile are skipped, and the next
//!   push proves consistency from its size straight to the latest.
//! - **The witness's size.** Not persisted: at start a task sends `old 0`, and a witness
//!   that cosigned before answers `409` with its size, from which the task proves at once.
//!   A `409` whose size is above the writer's latest checkpoint is reported at once and
//!   asked again only after the backoff.
//! - **Failures.** `503` waits as its `Retry-After` (delay-seconds) says, from
//!   [`FIRST_BACKOFF`] to [`MAX_RETRY_AFTER`]; any other failure (a status, a timeout, a refused connection, an
//!   answer that is not cosignature lines, a cosignature that does not verify) waits an
//!   exponential backoff from [`FIRST_BACKOFF`] to [`MAX_BACKOFF`]. Nothing here blocks
//!   sealing, the HTTP API or another witness.
//! - **Health and metrics.** A witness whose pushes failed [`FAILURES_BEFORE_WARNING`]
//!   times in a row, that cosigns with a key `chain.json` does not name, or that holds a
//!   checkpoint beyond the writer's is a `/healthz` reason (the writer is then degraded,
//!   never unhealthy: writes and sealing go on, certificates stay v1 until a quorum
//!   cosigns); `/metrics` has each witness's cosigned size, lag, last success and errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use verifier_core::tlog::note::{MAX_NOTE_LEN, Note, VerifierKey};
use verifier_core::tlog::tree::LogHash;

use crate::checkpoints::{Accepted, Signed};
use crate::metrics::{family, label};
use crate::state::Shared;

/// The most time one push may take, connection included: a witness audits before it
/// answers.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The most time connecting to a witness may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The wait after a first failure; it doubles with each failure in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The longest wait between two pushes to a failing witness.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The largest answer read: cosignature lines fit in a note (64 KiB).
pub const MAX_ANSWER_BYTES: usize = MAX_NOTE_LEN;

/// The most consistency proof lines a request may carry (C2SP tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// Failed pushes in a row after which a witness shows on `/healthz`.
pub const FAILURES_BEFORE_WARNING: u32 = 3;

/// `409`s in a row (each retried at once with the size it named) before the task backs
/// off: a witness whose size keeps changing under us.
const MAX_CONFLICTS: u32 = 3;

/// How much of an unexpected answer's body an error quotes, in bytes.
const MAX_QUOTED_BODY: usize = 200;

/// Why a push to a witness did not give a cosignature that counts.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// `409` naming a size above the writer's latest checkpoint.
    #[error(
        "409: the witness holds a checkpoint of size {held}, beyond this writer's latest ({latest}): a checkpoint of another log under this origin, or of a log this writer no longer has; pushed again once the log has grown past it"
    )]
    Ahead {
        /// The size it names.
        held: u64,
        /// The writer's latest checkpoint's size.
        latest: u64,
    },
    /// The witness could not be connected to.
    #[error("cannot connect: {reason}")]
    Connect {
        /// The transport's words.
        reason: String,
    },
    /// `409`: the witness holds another size than the `old` sent (or, at the same size,
    /// another root).
    #[error("409: the witness last cosigned the checkpoint of size {held}")]
    Conflict {
        /// The size it names.
        held: u64,
    },
    /// A consistency proof could not be made (a bug: the sizes come from the log).
    #[error("no consistency proof: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
    /// `200`, but the body is not signature lines that make a note with the checkpoint.
    #[error("a 200 answer that is not cosignature lines: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The request failed after connecting (reading, writing, the body).
    #[error("request failed: {reason}")]
    Network {
        /// The transport's words.
        reason: String,
    },
    /// The cosignature names a key of `chain.json`'s witnesses but does not verify.
    #[error("its cosignature was refused: {reason}")]
    Rejected {
        /// Why.
        reason: String,
    },
    /// Another status than 200, 409 or 503.
    #[error("status {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the body (lossy UTF-8).
        body: String,
    },
    /// No answer within [`REQUEST_TIMEOUT`].
    #[error("no answer within {}s", REQUEST_TIMEOUT.as_secs())]
    Timeout,
    /// `503`, with the wait its `Retry-After` asks for.
    #[error("503: unavailable{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    Unavailable {
        /// The `Retry-After` delay, when given in seconds.
        retry_after: Option<Duration>,
    },
    /// `200` with cosignatures of keys `chain.json`'s witnesses do not name only.
    #[error(
        "cosigns with {}, not a key of chain.json's witnesses: its cosignatures do not count (add its key to chain.json's witnesses, or drop this --witness)",
        keys.join(", ")
    )]
    UnknownKey {
        /// The keys, as `name+<hex key id>`.
        keys: Vec<String>,
    },
}

impl PushError {
    /// The `status` label of the error counter: the HTTP status, or the kind of failure.
    pub fn label(&self) -> String {
        match self {
            Self::Ahead { .. } | Self::Conflict { .. } => "409".to_owned(),
            Self::Connect { .. } => "connect".to_owned(),
            Self::Internal { .. } => "internal".to_owned(),
            Self::Malformed { .. } => "malformed".to_owned(),
            Self::Network { .. } => "network".to_owned(),
            Self::Rejected { .. } => "rejected".to_owned(),
            Self::Status { status, .. } => status.to_string(),
            Self::Timeout => "timeout".to_owned(),
            Self::Unavailable { .. } => "503".to_owned(),
            Self::UnknownKey { .. } => "unknown_key".to_owned(),
        }
    }
}

/// The body of an `add-checkpoint` request (C2SP tlog-witness): `old <size>`, one line of
/// standard base64 per consistency proof hash, an empty line, then the signed note.
pub fn add_checkpoint_body(old: u64, proof: &[LogHash], note: &str) -> String {
    let mut body = String::with_capacity(16 + proof.len() * 45 + note.len());
    // Writing to a String cannot fail.
    let _ = writeln!(body, "old {old}");
    for hash in proof {
        body.push_str(&STANDARD.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// A witness's answer to `add-checkpoint` that is not a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `200`: its cosignature lines, each `— <name> <base64>\n`.
    Cosigned(String),
    /// `409`: the size of the checkpoint it last cosigned.
    Conflict(u64),
}

/// Reads a witness's answer: its status, its `Retry-After` header and its body.
///
/// # Errors
/// [`PushError::Unavailable`] for `503`, [`PushError::Status`] for any status but 200, 409
/// and 503, [`PushError::Malformed`] for a 200 or 409 body of another shape.
pub fn read_answer(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<Answer, PushError> {
    match status {
        200 => {
            let malformed = |reason: &str| PushError::Malformed {
                reason: format!("{reason}: {}", quote(body)),
            };
            let text = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8"))?;
            if text.is_empty() || !text.ends_with('\n') {
                return Err(malformed(
                    "expected signature lines, each ending in a newline",
                ));
            }
            if !text.lines().all(|line| line.starts_with("\u{2014} ")) {
                return Err(malformed("a line does not start with \"\u{2014} \""));
            }
            Ok(Answer::Cosigned(text.to_owned()))
        }
        409 => read_size(body)
            .map(Answer::Conflict)
            .ok_or_else(|| PushError::Malformed {
                reason: format!(
                    "a 409 answer whose body is not a size and a newline: {}",
                    quote(body)
                ),
            }),
        503 => Err(PushError::Unavailable {
            retry_after: retry_after.and_then(parse_retry_after),
        }),
        status => Err(PushError::Status {
            status,
            body: quote(body),
        }),
    }
}

/// The size of a `text/x.tlog.size` body: a decimal without leading zeros, and a newline.
fn read_size(body: &[u8]) -> Option<u64> {
    let digits = body.strip_suffix(b"\n")?;
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits == b"0" || digits[0] != b'0');
    canonical
        .then(|| std::str::from_utf8(digits).ok()?.parse().ok())
        .flatten()
}

/// A `Retry-After` in delay-seconds (an HTTP-date is not read: the backoff applies).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse().ok().map(Duration::from_secs)
}

/// The start of `body` for an error message, lossy UTF-8, on one line.
fn quote(body: &[u8]) -> String {
    let end = body.len().min(MAX_QUOTED_BODY);
    let text = String::from_utf8_lossy(body.get(..end).unwrap_or_default());
    format!("{:?}", text.as_ref())
}

/// What the writer knows of one witness.
#[derive(Debug, Default)]
struct Status {
    /// The size of the checkpoint it last cosigned, as it last told (`None` until it has).
    cosigned: Option<u64>,
    /// When a cosignature of it was last kept.
    last_success: Option<SystemTime>,
    /// Cosignatures kept since start.
    cosignatures: u64,
    /// Failed pushes and 409s since start, by [`PushError::label`].
    errors: BTreeMap<String, u64>,
    /// Failed pushes since the last success.
    failures: u32,
    /// When the first of them failed.
    failing_since: Option<SystemTime>,
    /// The last failure.
    last_error: Option<String>,
    /// A problem shown at once and until the next success: a key `chain.json` does not
    /// name, a checkpoint beyond the writer's.
    standing: Option<String>,
}

/// One witness checkpoints are pushed to.
#[derive(Debug)]
pub struct Witness {
    /// Its URL as given (`--witness`), which names it in logs, `/healthz` and metrics.
    url: String,
    /// `<URL>/add-checkpoint`.
    endpoint: String,
    status: Mutex<Status>,
}

impl Witness {
    fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            endpoint: format!("{}/add-checkpoint", url.trim_end_matches('/')),
            status: Mutex::new(Status::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a cosignature kept for the checkpoint of `size`.
    fn succeeded(&self, size: u64, accepted: &Accepted) {
        let mut s = self.lock();
        if s.failures >= FAILURES_BEFORE_WARNING || s.standing.is_some() {
            tracing::info!(witness = %self.url, size, "the witness cosigns again");
        }
        s.cosigned = Some(size);
        s.last_success = Some(SystemTime::now());
        s.cosignatures += 1;
        s.failures = 0;
        s.failing_since = None;
        s.last_error = None;
        s.standing = None;
        tracing::debug!(witness = %self.url, size, keys = ?accepted.accepted, witnesses = accepted.witnesses, quorum = accepted.quorum, "cosigned");
    }

    /// Records a `409`: the witness holds `held` (`valid`: a size within the writer's log).
    fn conflicted(&self, held: u64, valid: bool) {
        let mut s = self.lock();
        if valid {
            s.cosigned = Some(held);
        }
        *s.errors.entry("409".to_owned()).or_default() += 1;
        tracing::debug!(witness = %self.url, held, "409: the witness holds another size");
    }

    /// Records a failed push; `standing` makes it a `/healthz` reason at once.
    fn failed(&self, error: &PushError, standing: bool) {
        let mut s = self.lock();
        // A 409 was counted as it came ([`Witness::conflicted`]).
        if !matches!(error, PushError::Conflict { .. } | PushError::Ahead { .. }) {
            *s.errors.entry(error.label()).or_default() += 1;
        }
        s.failures = s.failures.saturating_add(1);
        s.failing_since.get_or_insert_with(SystemTime::now);
        let text = error.to_string();
        if standing && s.standing.as_deref() != Some(text.as_str()) {
            tracing::warn!(witness = %self.url, "{text}");
            s.standing = Some(text.clone());
        } else if s.failures == FAILURES_BEFORE_WARNING {
            tracing::warn!(witness = %self.url, failures = s.failures, "pushes keep failing: {text}");
        } else {
            tracing::debug!(witness = %self.url, "push failed: {text}");
        }
        s.last_error = Some(text);
    }

    /// Notes the size the witness holds, learned without an answer of its own (a 200 of
    /// a key that does not count still moved it).
    fn holds(&self, size: u64) {
        self.lock().cosigned = Some(size);
    }
}

/// The witnesses checkpoints are pushed to, and what the writer knows of each.
#[derive(Debug, Default)]
pub struct Witnesses {
    list: Vec<Witness>,
}

impl Witnesses {
    /// The witnesses at `urls` (`--witness`, checked by the configuration).
    pub fn new(urls: &[String]) -> Self {
        Self {
            list: urls.iter().map(|u| Witness::new(u)).collect(),
        }
    }

    /// Whether no witness is pushed to.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The `/healthz` reasons of the witnesses, each `witness <URL>: …`, and one more
    /// when so many fail that fewer than `quorum` can cosign.
    pub fn health(&self, quorum: Option<usize>) -> Vec<String> {
        let now = SystemTime::now();
        let mut reasons = Vec::new();
        let mut failing = 0;
        for w in &self.list {
            let s = w.lock();
            let before = reasons.len();
            if let Some(standing) = &s.standing {
                reasons.push(format!("witness {}: {standing}", w.url));
            } else if s.failures >= FAILURES_BEFORE_WARNING {
                let since = s
                    .failing_since
                    .and_then(|t| now.duration_since(t).ok())
                    .map_or(0, |d| d.as_secs());
                reasons.push(format!(
                    "witness {}: {} pushes failed in a row, for {since} s; the last: {}",
                    w.url,
                    s.failures,
                    s.last_error.as_deref().unwrap_or("?")
                ));
            }
            if reasons.len() > before {
                failing += 1;
            }
        }
        let cosigning = self.list.len() - failing;
        if let Some(quorum) = quorum.filter(|&q| failing > 0 && cosigning < q) {
            reasons.push(format!(
                "witnesses: {cosigning} of the {} pushed witnesses cosign, fewer than chain.json's quorum of {quorum}: new certificates stay v1 until a quorum cosigns a checkpoint that covers their block",
                self.list.len()
            ));
        }
        reasons
    }

    /// Appends the witnesses' metrics to `out`; `latest` is the latest checkpoint's size.
    pub fn render(&self, out: &mut String, latest: u64) {
        if self.list.is_empty() {
            return;
        }
        let statuses: Vec<_> = self
            .list
            .iter()
            .map(|w| (label(&w.url), w.lock()))
            .collect();
        // A family with one sample per witness (none where `value` gives none).
        let mut per_witness =
            |name: &str, help: &str, kind: &str, value: &dyn Fn(&Status) -> Option<String>| {
                family(out, name, help, kind);
                for (url, s) in &statuses {
                    if let Some(v) = value(s) {
                        // Writing to a String cannot fail.
                        let _ = writeln!(out, "{name}{{witness=\"{url}\"}} {v}");
                    }
                }
            };
        per_witness(
            "zipchain_writer_witness_cosigned_size",
            "Size of the checkpoint the witness last cosigned, as it last told (0 until it has).",
            "gauge",
            &|s| Some(s.cosigned.unwrap_or(0).to_string()),
        );
        per_witness(
            "zipchain_writer_witness_lag_entries",
            "Entries the witness's cosigned checkpoint is behind the latest checkpoint.",
            "gauge",
            &|s| Some(latest.saturating_sub(s.cosigned.unwrap_or(0)).to_string()),
        );
        per_witness(
            "zipchain_writer_witness_last_success_timestamp_seconds",
            "Unix time a cosignature of the witness was last kept (absent until one is).",
            "gauge",
            &|s| {
                let t = s
                    .last_success?
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .ok()?;
                Some(format!("{:.3}", t.as_secs_f64()))
            },
        );
        per_witness(
            "zipchain_writer_witness_cosignatures_total",
            "Cosignatures of the witness kept since start.",
            "counter",
            &|s| Some(s.cosignatures.to_string()),
        );
        family(
            out,
            "zipchain_writer_witness_push_errors_total",
            "Pushes to the witness that gave no cosignature that counts, by HTTP status or failure (connect, timeout, network, malformed, unknown_key, rejected).",
            "counter",
        );
        for (url, s) in &statuses {
            for (status, n) in &s.errors {
                let _ = writeln!(
                    out,
                    "zipchain_writer_witness_push_errors_total{{witness=\"{url}\",status=\"{}\"}} {n}",
                    label(status)
                );
            }
        }
    }
}

/// Starts one push task per witness of `shared` (none without `--witness`).
///
/// # Errors
/// A message when the HTTP client cannot be made.
pub fn spawn(shared: &Arc<Shared>) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    if shared.witnesses.is_empty() {
        return Ok(Vec::new());
    }
    if shared.trust.witnesses().is_none() {
        tracing::warn!(
            "chain.json names no witnesses, so no cosignature from a --witness can count; checkpoints are pushed anyway"
        );
    }
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot make the witnesses' HTTP client: {e}"))?;
    Ok((0..shared.witnesses.list.len())
        .map(|i| tokio::spawn(push_loop(Arc::clone(shared), i, http.clone())))
        .collect())
}

/// Pushes each new checkpoint to witness `index` of `shared.witnesses` until the writer
/// stops (module docs).
async fn push_loop(shared: Arc<Shared>, index: usize, http: reqwest::Client) {
    let mut latest = shared.checkpoints.subscribe();
    // The size the witness holds, as it last told.
    let mut known: Option<u64> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut conflicts = 0;
    loop {
        let Some(witness) = shared.witnesses.list.get(index) else {
            return;
        };
        let signed = latest.borrow_and_update().clone();
        let Some(signed) = signed.filter(|s| known.is_none_or(|k| k < s.size)) else {
            // Nothing signed yet, or the witness holds the latest: wait for the next.
            if latest.changed().await.is_err() {
                return;
            }
            continue;
        };
        let old = known.unwrap_or(0);
        let error = match push(&shared, &http, witness, old, &signed).await {
            Ok(accepted) => {
                witness.succeeded(signed.size, &accepted);
                known = Some(signed.size);
                backoff = FIRST_BACKOFF;
                conflicts = 0;
                continue;
            }
            Err(e) => e,
        };
        let wait = match &error {
            PushError::Conflict { held } if *held > signed.size => {
                // Nothing to prove from: report it, and ask again after the backoff
                // (the witness may be put right, or the log grow past it).
                witness.conflicted(*held, false);
                let ahead = PushError::Ahead {
                    held: *held,
                    latest: signed.size,
                };
                witness.failed(&ahead, true);
                None
            }
            PushError::Conflict { held } => {
                let held = *held;
                witness.conflicted(held, true);
                known = Some(held);
                conflicts += 1;
                if held != old && conflicts <= MAX_CONFLICTS {
                    // The size it holds: prove from it at once.
                    continue;
                }
                // The same size again (another root at that size), or a size that keeps
                // changing.
                witness.failed(&error, false);
                None
            }
            PushError::UnknownKey { .. } => {
                // It cosigned, so it holds the checkpoint now: wait for the next.
                witness.failed(&error, true);
                witness.holds(signed.size);
                known = Some(signed.size);
                continue;
            }
            PushError::Unavailable { retry_after } => {
                witness.failed(&error, false);
                *retry_after
            }
            _ => {
                witness.failed(&error, false);
                None
            }
        };
        conflicts = 0;
        // A `Retry-After: 0` is taken as the first backoff: no request loop.
        let wait = wait.map_or(backoff, |w| w.clamp(FIRST_BACKOFF, MAX_RETRY_AFTER));
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Sends `signed` to `witness` with the consistency proof from `old`, and keeps the
/// cosignatures it answers with.
async fn push(
    shared: &Arc<Shared>,
    http: &reqwest::Client,
    witness: &Witness,
    old: u64,
    signed: &Signed,
) -> Result<Accepted, PushError> {
    let proof = shared
        .consistency_proof(old, signed.size)
        .map_err(|e| PushError::Internal {
            reason: e.to_string(),
        })?;
    if proof.len() > MAX_PROOF_LINES {
        return Err(PushError::Internal {
            reason: format!("{} proof lines, over {MAX_PROOF_LINES}", proof.len()),
        });
    }
    let body = add_checkpoint_body(old, &proof, &signed.note);
    let transport = |e: reqwest::Error| {
        let reason = services::client::error_chain(&e);
        if e.is_timeout() {
            PushError::Timeout
        } else if e.is_connect() {
            PushError::Connect { reason }
        } else {
            PushError::Network { reason }
        }
    };
    let mut response = http
        .post(&witness.endpoint)
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut answer = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
            if status == 200 {
                return Err(PushError::Malformed {
                    reason: format!("the answer is over {MAX_ANSWER_BYTES} bytes"),
                });
            }
            break;
        }
        answer.extend_from_slice(&chunk);
    }
    let lines = match read_answer(status, retry_after.as_deref(), &answer)? {
        Answer::Conflict(held) => return Err(PushError::Conflict { held }),
        Answer::Cosigned(lines) => lines,
    };
    crate::failpoint::failpoint(crate::failpoint::Stage::AfterWitnessCosigned);
    // C2SP tlog-witness: "the client MAY concatenate it to the checkpoint, and use a note
    // verification function configured with the witness keys it trusts".
    let note = format!("{}{lines}", signed.note);
    let parsed = Note::parse(&note).map_err(|e| PushError::Malformed {
        reason: e.to_string(),
    })?;
    let policy: &[VerifierKey] = shared.trust.witnesses().map_or(&[], |p| p.keys());
    let theirs = parsed.signatures.get(1..).unwrap_or_default();
    if !theirs.iter().any(|line| {
        policy
            .iter()
            .any(|k| k.name() == line.name && k.id() == line.id)
    }) {
        return Err(PushError::UnknownKey {
            keys: theirs
                .iter()
                .map(|line| format!("{}+{}", line.name, hex::encode(line.id)))
                .collect(),
        });
    }
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || shared.add_cosignatures(&note))
        .await
        .map_err(|e| PushError::Internal {
            reason: e.to_string(),
        })?
        .map_err(|reason| PushError::Rejected { reason })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_request_body_is_c2sp_tlog_witness() {
        let note = "zipchain/ab\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} zipchain/ab AAAAAQ==\n";
        let proof = [[0u8; 32], [0xff; 32]];
        assert_eq!(
            add_checkpoint_body(20852014, &proof, note),
            format!(
                "old 20852014\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n//////////////////////////////////////////8=\n\n{note}"
            )
        );
        assert_eq!(
            add_checkpoint_body(0, &[], note),
            format!("old 0\n\n{note}")
        );
    }

    #[test]
    fn answers_are_read_strictly() {
        let line = "\u{2014} witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n";
        assert_eq!(
            read_answer(200, None, line.as_bytes()),
            Ok(Answer::Cosigned(line.to_owned()))
        );
        for bad in [&b""[..], b"hello\n", line.trim_end().as_bytes(), b"\xff\n"] {
            assert!(
                matches!(
                    read_answer(200, None, bad),
                    Err(PushError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(read_answer(409, None, b"17\n"), Ok(Answer::Conflict(17)));
        assert_eq!(read_answer(409, None, b"0\n"), Ok(Answer::Conflict(0)));
        for bad in [
            &b"17"[..],
            b"017\n",
            b"-1\n",
            b"\n",
            b"18446744073709551616\n",
        ] {
            assert!(
                matches!(
                    read_answer(409, None, bad),
                    Err(PushError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            read_answer(503, Some("7"), b""),
            Err(PushError::Unavailable {
                retry_after: Some(Duration::from_secs(7))
            })
        );
        assert_eq!(
            read_answer(503, Some("Wed, 21 Oct 2015 07:28:00 GMT"), b""),
            Err(PushError::Unavailable { retry_after: None })
        );
        let err = read_answer(422, None, b"inconsistent").unwrap_err();
        assert_eq!(err.label(), "422");
        assert_eq!(err.to_string(), "status 422: \"inconsistent\"");
    }

    #[test]
    fn health_names_failing_witnesses_and_a_lost_quorum() {
        let w = Witnesses::new(&[
            "http://a.example/".to_owned(),
            "http://b.example".to_owned(),
        ]);
        assert_eq!(w.list[0].endpoint, "http://a.example/add-checkpoint");
        assert_eq!(w.list[1].endpoint, "http://b.example/add-checkpoint");
        assert!(w.health(Some(2)).is_empty());
        let down = PushError::Connect {
            reason: "connection refused".into(),
        };
        for _ in 1..FAILURES_BEFORE_WARNING {
            w.list[0].failed(&down, false);
        }
        assert!(w.health(Some(2)).is_empty());
        w.list[0].failed(&down, false);
        let reasons = w.health(Some(2));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].starts_with("witness http://a.example/: 3 pushes failed in a row"));
        assert!(
            reasons[0].ends_with("cannot connect: connection refused"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].contains("1 of the 2 pushed witnesses cosign"),
            "{reasons:?}"
        );
        // With a quorum of one, the other still makes it.
        assert_eq!(w.health(Some(1)).len(), 1);
        let stranger = PushError::UnknownKey {
            keys: vec!["stranger.example+01020304".into()],
        };
        w.list[1].failed(&stranger, true);
        let reasons = w.health(Some(1));
        assert!(
            reasons[1].contains("stranger.example+01020304"),
            "{reasons:?}"
        );
        assert!(reasons[2].contains("0 of the 2"), "{reasons:?}");
        let accepted = Accepted {
            size: 5,
            accepted: vec!["a.example".into()],
            witnesses: 1,
            quorum: 1,
            cosigned: true,
        };
        w.list[0].succeeded(5, &accepted);
        w.list[1].succeeded(5, &accepted);
        assert!(w.health(Some(2)).is_empty());

        let mut text = String::new();
        w.list[0].conflicted(3, true);
        w.render(&mut text, 9);
        assert!(
            text.contains(
                "zipchain_writer_witness_cosigned_size{witness=\"http://a.example/\"} 3\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("zipchain_writer_witness_lag_entries{witness=\"http://b.example\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("zipchain_writer_witness_push_errors_total{witness=\"http://a.example/\",status=\"connect\"} 3\n"), "{text}");
        assert!(text.contains("zipchain_writer_witness_push_errors_total{witness=\"http://a.example/\",status=\"409\"} 1\n"), "{text}");
        assert!(text.contains("zipchain_writer_witness_push_errors_total{witness=\"http://b.example\",status=\"unknown_key\"} 1\n"), "{text}");
        assert!(
            text.contains(
                "zipchain_writer_witness_cosignatures_total{witness=\"http://b.example\"} 1\n"
            ),
            "{text}"
        );
    }
}
