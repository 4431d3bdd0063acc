//! The witness's own audit, kept current in rounds: each round pulls what is new from the
//! six stores into the witness's snapshot, audits it incrementally (the kept
//! [`ResumableAudit`], saved in its [`StateDir`]) and appends the new main-chain entries
//! to the witness's log ([`View`]).
//!
//! One task runs the rounds, one after another: every `--poll-interval`, and at once when
//! a request asks for one ([`Rounds::after`]). Requests that arrive while a round runs
//! are served together by the next one, so concurrent requests cost one pull and one
//! audit, not one each.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant, SystemTime};

use replication::{PullError, PullOptions, PullReport, Stores};
use snapshot_fs::audit_state::StateDir;
use tokio::sync::{Notify, watch};
use verifier_core::chain::{Auditor, ResumableAudit, ResumeError};
use verifier_core::tlog::log;
use verifier_core::tlog::tree::{LogHash, LogTree};

use super::metrics::Metrics;
use crate::commands::audit::in_audit_pool;
use crate::snapshot::SnapshotInput;

/// The fewest stores that must answer a round's listing: with fewer, objects only the
/// others hold (an equivocation, say) would go unseen (SPEC §2.2: any 3 of 6).
pub(super) const MIN_STORES: usize = 3;

/// Brings the objects of `stores` that the snapshot directory `dir` lacks into it.
///
/// The one place the witness pulls: the incremental pull of `zipchain pull`
/// ([`replication::pull_new`]): the stores listed, and only objects `dir` does not hold
/// fetched and verified, so a round with nothing new costs the listings; a store that
/// does not answer costs at most one listing timeout. With fewer than three stores
/// answering nothing is fetched, and the round reports it (`MIN_STORES`).
pub(super) async fn pull_new_objects(
    stores: &Stores,
    dir: &std::path::Path,
) -> Result<PullReport, PullError> {
    replication::pull_new(stores, dir, PullOptions::default(), &|_| {}).await
}

/// What the witness knows from its own audit, read by every decision.
#[derive(Debug, Default)]
pub(super) struct View {
    /// The log of its audited main chain.
    pub(super) tree: LogTree,
    /// How many equivocations its audit found.
    pub(super) equivocations: usize,
}

/// How the latest round went.
#[derive(Clone, Debug, Default)]
pub(super) struct RoundStatus {
    /// Rounds finished since start.
    pub(super) finished: u64,
    /// When the latest finished round started; `None` before the first.
    pub(super) started: Option<Instant>,
    /// Why fewer than [`MIN_STORES`] stores answered, when they did not.
    pub(super) stores: Option<String>,
    /// Why the pull could not write the snapshot, when it could not.
    pub(super) pull: Option<String>,
    /// Why the audit failed, when it did.
    pub(super) audit: Option<String>,
    /// When an audit last succeeded.
    pub(super) audited_at: Option<SystemTime>,
}

impl RoundStatus {
    /// What keeps the witness from cosigning after this round: `(reason label, words)`.
    pub(super) fn blocking(&self) -> Option<(&'static str, String)> {
        if let Some(why) = &self.stores {
            return Some(("stores_unreachable", why.clone()));
        }
        if let Some(why) = &self.pull {
            return Some(("pull_failing", why.clone()));
        }
        if let Some(why) = &self.audit {
            return Some(("audit_failing", why.clone()));
        }
        if self.started.is_none() {
            return Some(("not_caught_up", "no audit has finished yet".to_owned()));
        }
        None
    }
}

/// What a round works on: owned by the round task, moved to a blocking thread to audit.
pub(super) struct Auditing {
    /// The auditor of the witness's `chain.json`.
    pub(super) auditor: Auditor,
    /// The kept audit's directory (locked for the daemon's life).
    pub(super) states: StateDir,
    /// The kept audit.
    pub(super) state: ResumableAudit,
    /// The pulled snapshot.
    pub(super) snapshot: PathBuf,
    /// The six stores.
    pub(super) stores: Stores,
}

/// The new main-chain entries of an audit, or the whole log again.
enum Grown {
    /// Append these leaves.
    Append(Vec<LogHash>),
    /// The kept main chain is not a prefix of the new one (only after an equivocation,
    /// when the audit is recomputed): the whole log, rebuilt.
    Rebuilt(LogTree),
}

impl Auditing {
    /// Audits the snapshot again (only new objects are read), saves the kept audit, and
    /// returns how the log grew from `known` entries ending in `last`.
    fn audit(&mut self, known: u64, last: Option<LogHash>) -> Result<(Grown, usize), String> {
        let snapshot = SnapshotInput::open(&self.snapshot).map_err(|e| e.to_string())?;
        let (auditor, state) = (&self.auditor, &mut self.state);
        in_audit_pool(|| auditor.resume_source(state, &snapshot, &mut |_, _| {})).map_err(|e| {
            match e {
                ResumeError::Source(e) => e.to_string(),
                other => other.to_string(),
            }
        })?;
        self.states
            .save(&mut self.state)
            .map_err(|e| e.to_string())?;
        let audit = self.state.audit();
        let main = &audit.main_chain;
        let known_len = usize::try_from(known).unwrap_or(usize::MAX);
        let kept_is_prefix = main.len() >= known_len
            && match (known_len.checked_sub(1), last) {
                (Some(i), Some(last)) => {
                    main.get(i..=i).map(log::leaves).as_deref() == Some(&[last][..])
                }
                _ => true,
            };
        let grown = if kept_is_prefix {
            Grown::Append(log::leaves(main.get(known_len..).unwrap_or_default()))
        } else {
            Grown::Rebuilt(log::tree(main))
        };
        Ok((grown, audit.equivocations.len()))
    }
}

/// The rounds: the view they keep, their status, and the requests' call for a new one.
#[derive(Debug)]
pub(super) struct Rounds {
    view: RwLock<View>,
    status: watch::Sender<RoundStatus>,
    wanted: Notify,
}

impl Rounds {
    /// Rounds starting from the kept audit `state` (what the last run audited).
    pub(super) fn new(state: &ResumableAudit) -> Self {
        let audit = state.audit();
        let view = View {
            tree: log::tree(&audit.main_chain),
            equivocations: audit.equivocations.len(),
        };
        Self {
            view: RwLock::new(view),
            status: watch::Sender::new(RoundStatus::default()),
            wanted: Notify::new(),
        }
    }

    /// The view, for one decision (never held across an await).
    pub(super) fn view(&self) -> RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The latest round's status.
    pub(super) fn status(&self) -> RoundStatus {
        self.status.borrow().clone()
    }

    /// Waits for a round that started at `since` or later (asking for one), until
    /// `deadline`; `None` when none finished by then.
    pub(super) async fn after(&self, since: Instant, deadline: Instant) -> Option<RoundStatus> {
        let mut rx = self.status.subscribe();
        loop {
            {
                let status = rx.borrow_and_update();
                if status.started.is_some_and(|t| t >= since) {
                    return Some(status.clone());
                }
            }
            // One stored permit at most: every waiter that arrived during a round is
            // served by the one next round.
            self.wanted.notify_one();
            match tokio::time::timeout_at(deadline.into(), rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return None,
            }
        }
    }

    /// Runs rounds until the process ends: one at once, then every `interval` or when a
    /// request asks.
    pub(super) async fn run(
        self: Arc<Self>,
        mut auditing: Auditing,
        interval: Duration,
        metrics: Arc<Metrics>,
    ) {
        let mut audited_at = None;
        loop {
            let started = Instant::now();
            let mut status = RoundStatus {
                finished: self.status.borrow().finished + 1,
                started: Some(started),
                audited_at,
                ..RoundStatus::default()
            };
            match pull_new_objects(&auditing.stores, &auditing.snapshot).await {
                Ok(report) => {
                    metrics.pulled(&report);
                    if report.stores_answered() < MIN_STORES {
                        status.stores = Some(stores_down(&report));
                    }
                    if !report.unrecoverable.is_empty() {
                        tracing::debug!(
                            objects = report.unrecoverable.len(),
                            "objects not rebuilt this round (fewer than 3 good shards yet)"
                        );
                    }
                }
                Err(e) => status.pull = Some(e.to_string()),
            }
            if status.stores.is_some() || status.pull.is_some() {
                metrics.pull_failed();
            }
            let (known, last) = {
                let view = self.view();
                (view.tree.len(), view.tree.leaves().last().copied())
            };
            // The snapshot on disk is audited even when the pull failed: what it holds
            // was verified when it was written.
            let audited = tokio::task::spawn_blocking(move || {
                let result = auditing.audit(known, last);
                (auditing, result)
            })
            .await;
            let result = match audited {
                Ok((back, result)) => {
                    auditing = back;
                    result
                }
                Err(e) => {
                    // The audit thread panicked: the kept audit is gone with it. Stay up
                    // and unhealthy (every request 503) rather than cosign on nothing.
                    tracing::error!(cause = %e, "the audit task failed; no more rounds");
                    status.audit = Some(format!("the audit task failed: {e}"));
                    metrics.audit_failed();
                    self.status.send_replace(status);
                    return;
                }
            };
            match result {
                Ok((grown, equivocations)) => {
                    self.apply(grown, equivocations);
                    let now = SystemTime::now();
                    metrics.audited(now);
                    audited_at = Some(now);
                    status.audited_at = audited_at;
                    if equivocations > 0 {
                        tracing::warn!(
                            equivocations,
                            "the audit found equivocation: no more cosignatures"
                        );
                    }
                }
                Err(why) => {
                    metrics.audit_failed();
                    status.audit = Some(why);
                }
            }
            if let Some((_, why)) = status.blocking() {
                tracing::warn!(reason = %why, "round finished unhealthy");
            }
            metrics.round_finished(started.elapsed(), self.view().tree.len());
            tracing::debug!(entries = self.view().tree.len(), took = ?started.elapsed(), "round finished");
            self.status.send_replace(status);
            tokio::select! {
                () = self.wanted.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Takes a round's audit into the view.
    fn apply(&self, grown: Grown, equivocations: usize) {
        let mut view = self.view.write().unwrap_or_else(PoisonError::into_inner);
        match grown {
            Grown::Append(leaves) => view.tree.extend(leaves),
            Grown::Rebuilt(tree) => view.tree = tree,
        }
        view.equivocations = equivocations;
    }
}

/// Why the stores cannot be used: how many answered, and what the others said.
fn stores_down(report: &PullReport) -> String {
    let silent: Vec<String> = report
        .stores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.error
                .as_ref()
                .map(|e| format!("store {i} ({}): {e}", s.url))
        })
        .collect();
    format!(
        "only {} of 6 stores answered, {MIN_STORES} are needed: {}",
        report.stores_answered(),
        silent.join("; ")
    )
}
