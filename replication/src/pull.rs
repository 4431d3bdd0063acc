//! `pull`: turn the six stores back into a snapshot directory (SPEC §2.2, §6).
//!
//! [`pull_new`] brings into a snapshot directory the objects it does not hold yet (into a
//! new directory: all of them); [`pull`] fetches every object again. Either way:
//!
//! 1. The directory is locked for writing ([`snapshot_fs::dir::lock_for_writing`]), each of
//!    its kind directories listed once, and the temporary files an interrupted pull left
//!    there removed.
//! 2. Each store is listed once per kind prefix, all six at once; a store whose listing
//!    gets no answer for [`PullOptions::list_timeout`] counts as not answering. With fewer
//!    than three stores answering, nothing is fetched ([`PullReport::has_quorum`]).
//! 3. Every object named by some store (for [`pull_new`], and not held by the directory)
//!    is fetched from the stores that answered, its shards checked one by one (a missing,
//!    unreadable or corrupt shard is recorded and skipped), rebuilt from any three healthy
//!    ones, checked against its original hash and key, and written to
//!    `out/<kind dir>/<hex key>` through a temporary file, fsynced, and a rename
//!    ([`snapshot_fs::dir::write_object`]), so a file at an object's name is always the
//!    whole, verified object. The stores that did not answer are asked only for objects the
//!    others cannot rebuild. An object that cannot be rebuilt is listed with the reason and
//!    not written.
//! 4. The directories are fsynced once at the end, when something was written.
//!
//! An object counts as held when a regular file exists at its name: the pull only ever
//! puts whole verified objects there (a killed pull leaves temporary files, which are not
//! at object names), so existence is enough and nothing held is read again. When nothing
//! is new, a pull costs the listings and nothing else.

mod fetch;
mod list;
mod report;

use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use snapshot_fs::dir::{self, DirError, WriteLock};
use verifier_core::snapshot::ObjectKind;

pub use report::{BadShard, Phase, Progress, PullReport, StoreStatus, Unrecoverable};

use fetch::{Asking, Outcome, pull_one};
use list::{Held, list_all};

use crate::shard::TOTAL_SHARDS;
use crate::stores::Stores;

/// Why a pull could not run or finish: its output could not be written. Objects that cannot
/// be rebuilt, and stores that do not answer, are not errors; they are in the
/// [`PullReport`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PullError {
    /// The output directory, or a file in it, could not be created, listed or written.
    #[error("cannot write {}: {reason}", path.display())]
    Output {
        /// The directory or file.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
    /// Another pull (in this process or another) is writing the output directory.
    #[error("{}: another pull is writing this snapshot directory", path.display())]
    Busy {
        /// The directory.
        path: PathBuf,
    },
}

/// A snapshot directory error as the pull's: its directory or file, and the operating
/// system's words.
fn output(e: DirError) -> PullError {
    let path = e.path().to_owned();
    let reason = match e {
        DirError::Locked { path } => return PullError::Busy { path },
        DirError::Read { reason, .. } | DirError::Write { reason, .. } => reason,
        other => other.to_string(),
    };
    PullError::Output { path, reason }
}

/// How a pull runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PullOptions {
    /// Objects fetched at once (each from all six stores); at least 1.
    pub concurrency: usize,
    /// How long a store may keep a pull waiting while it lists (for each page of its
    /// listing), and, when it did not answer the listing, for each shard it is asked for.
    /// A store that does not answer in time counts as not answering. This is what a dead
    /// store costs a pull, once, whatever `object_store` would spend retrying it.
    pub list_timeout: Duration,
}

impl PullOptions {
    /// The default listing timeout: 5 s, as long as `object_store` waits for a connection,
    /// so a reachable store always gets to answer.
    pub const LIST_TIMEOUT: Duration = Duration::from_secs(5);
}

impl Default for PullOptions {
    /// 16 objects at once; [`PullOptions::LIST_TIMEOUT`].
    fn default() -> Self {
        Self {
            concurrency: 16,
            list_timeout: Self::LIST_TIMEOUT,
        }
    }
}

/// Brings the objects of `stores` that the snapshot directory `out_dir` does not hold yet
/// into it: the incremental pull, and the one entry point a long-running process (the
/// witness daemon) calls again and again.
///
/// `out_dir` and its four kind directories are created if needed (a new directory gets
/// every object). Objects already there are neither fetched nor read; the new ones are in
/// [`PullReport::rebuilt`], by kind. When fewer than three stores answer the listing,
/// nothing is fetched and [`PullReport::has_quorum`] is false: the caller must not act on
/// such a partial view. `progress` is called as the listing goes and after each object.
///
/// # Errors
/// [`PullError::Output`] when `out_dir` cannot be created, listed or written (the pull
/// stops there); [`PullError::Busy`] when another pull holds it.
pub async fn pull_new(
    stores: &Stores,
    out_dir: &FsPath,
    options: PullOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<PullReport, PullError> {
    run(stores, out_dir, options, progress, Fetch::New).await
}

/// Rebuilds every object in `stores` into the snapshot directory `out_dir`, whether it
/// holds it already or not: existing files are replaced, only by verified objects (a
/// repair of a damaged snapshot); other files are left alone. Otherwise as [`pull_new`].
///
/// # Errors
/// As [`pull_new`].
pub async fn pull(
    stores: &Stores,
    out_dir: &FsPath,
    options: PullOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<PullReport, PullError> {
    run(stores, out_dir, options, progress, Fetch::Everything).await
}

/// Which listed objects a pull fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fetch {
    /// Those the directory does not hold.
    New,
    /// All of them.
    Everything,
}

async fn run(
    stores: &Stores,
    out_dir: &FsPath,
    options: PullOptions,
    progress: &(dyn Fn(Progress) + Sync),
    fetch: Fetch,
) -> Result<PullReport, PullError> {
    let out = out_dir.to_owned();
    let (_lock, held, leftovers_removed) = blocking(out_dir, move || open_output(&out, fetch))
        .await?
        .map_err(output)?;
    let mut report = PullReport {
        leftovers_removed,
        ..PullReport::default()
    };
    let (statuses, listed) = list_all(stores, held, options.list_timeout, progress).await;
    report.stores = statuses;
    report.objects = listed.new.len() + listed.held_named;
    report.held = listed.held_named;
    report.ignored = listed.ignored;
    if !report.has_quorum() {
        return Ok(report);
    }
    let asking = Asking {
        stores,
        silent: std::array::from_fn(|i| report.stores.get(i).is_none_or(|s| s.error.is_some())),
        silent_timeout: options.list_timeout,
    };
    let total = listed.new.len();
    let mut now = Progress {
        phase: Phase::Fetching,
        stores_listed: TOTAL_SHARDS,
        shards_listed: report.stores.iter().map(|s| s.shards).sum(),
        done: 0,
        total,
        bytes: 0,
    };
    progress(now);
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(total);
    let mut stream = futures::stream::iter(listed.new)
        .map(|(kind, key)| pull_one(&asking, out_dir, kind, key))
        .buffer_unordered(options.concurrency.max(1));
    while let Some(outcome) = stream.next().await {
        let outcome = outcome?;
        now.done += 1;
        now.bytes += outcome.result.as_ref().map_or(0, |len| *len);
        progress(now);
        outcomes.push(outcome);
    }
    drop(stream);
    report.bytes = now.bytes;
    if outcomes.iter().any(|o| o.result.is_ok()) {
        let out = out_dir.to_owned();
        blocking(out_dir, move || dir::sync_kind_dirs(&out))
            .await?
            .map_err(output)?;
    }
    outcomes.sort_by_key(|o| (o.kind, o.key));
    for o in outcomes {
        report.missing_shards += o.missing;
        report.bad_shards.extend(o.bad);
        match o.result {
            Ok(_) => report.rebuilt.entry(o.kind).or_default().push(o.key),
            Err(reason) => report.unrecoverable.push(Unrecoverable {
                kind: o.kind,
                key: o.key,
                reason,
            }),
        }
    }
    Ok(report)
}

/// Runs `job` on a blocking thread; a panicked job is an output error on `path`.
async fn blocking<T: Send + 'static>(
    path: &FsPath,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PullError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| PullError::Output {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Makes the output directory ready: creates it and its kind directories, checks a file
/// can be written there, locks it, lists what it holds (for [`Fetch::New`]) and removes
/// the temporary files an interrupted pull left. Returns the lock, the objects held, and
/// how many temporary files were removed.
fn open_output(out_dir: &FsPath, fetch: Fetch) -> Result<(WriteLock, Held, usize), DirError> {
    let cannot_write = |path: &FsPath, e: std::io::Error| DirError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    dir::create_kind_dirs(out_dir)?;
    let probe = out_dir.join(format!(".zipchain-pull-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| cannot_write(out_dir, e))?;
    std::fs::remove_file(&probe).map_err(|e| cannot_write(&probe, e))?;
    let lock = dir::lock_for_writing(out_dir)?;
    let mut held = Held::new();
    let mut removed = 0;
    for kind in ObjectKind::ALL {
        let scan = dir::scan_objects(out_dir, kind)?;
        for path in scan.leftovers {
            std::fs::remove_file(&path).map_err(|e| cannot_write(&path, e))?;
            removed += 1;
        }
        if fetch == Fetch::New {
            held.extend(scan.keys.into_iter().map(|key| ((kind, key), false)));
        }
    }
    Ok((lock, held, removed))
}
