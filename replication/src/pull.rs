//! `pull`: turn the six stores back into a snapshot directory (SPEC §2.2, §6).
//!
//! Every object named by any store is fetched from all six, its shards checked one by one
//! (a missing, unreadable or corrupt shard is recorded and skipped), rebuilt from any three
//! healthy ones, checked against its original hash and key, and written to
//! `out/<kind dir>/<hex key>` through a temporary file, fsynced, and a rename
//! ([`snapshot_fs::dir::write_object`]), so a file at an object's name is always the whole,
//! verified object; the directories are fsynced once at the end. An object that cannot be
//! rebuilt is listed with the reason and not written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path as FsPath, PathBuf};

use futures::StreamExt;
use futures::future::join_all;
use object_store::ObjectStoreExt;
use snapshot_fs::atomic::Durability;
use snapshot_fs::dir::{self, DirError};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, classify_path};

use crate::shard::{DATA_SHARDS, Shard, TOTAL_SHARDS, decode, encode};
use crate::stores::{Failure, Stores, shard_path};

/// Why a pull could not run or finish: its output could not be written. Objects that cannot
/// be rebuilt are not errors; they are listed in the [`PullReport`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PullError {
    /// The output directory, or a file in it, could not be created or written.
    #[error("cannot write {}: {reason}", path.display())]
    Output {
        /// The directory or file.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
}

/// A snapshot directory error as the pull's: its directory or file, and the operating
/// system's words.
fn output(e: DirError) -> PullError {
    let path = e.path().to_owned();
    let reason = match e {
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
}

impl Default for PullOptions {
    /// 16 objects at once.
    fn default() -> Self {
        Self { concurrency: 16 }
    }
}

/// Where a pull stands, passed to the progress callback after each object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Objects finished (rebuilt or given up).
    pub done: usize,
    /// Objects to do.
    pub total: usize,
}

/// How one store answered the listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStatus {
    /// The store's URL.
    pub url: String,
    /// `None` when the store listed its shards; otherwise why it could not.
    pub error: Option<String>,
    /// Shards it listed.
    pub shards: usize,
}

/// A shard that was there but could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadShard {
    /// The store's index.
    pub store: usize,
    /// The object's kind.
    pub kind: ObjectKind,
    /// The object's key.
    pub key: Hash32,
    /// Why the shard was skipped.
    pub reason: String,
}

/// An object that could not be rebuilt, and was not written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unrecoverable {
    /// The object's kind.
    pub kind: ObjectKind,
    /// The object's key.
    pub key: Hash32,
    /// Why it could not be rebuilt.
    pub reason: String,
}

/// What a pull did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullReport {
    /// One entry per store, in order.
    pub stores: Vec<StoreStatus>,
    /// Objects named by at least one store.
    pub objects: usize,
    /// Objects rebuilt and written, by kind.
    pub rebuilt: BTreeMap<ObjectKind, usize>,
    /// Objects that could not be rebuilt, in kind then key order.
    pub unrecoverable: Vec<Unrecoverable>,
    /// Shards present but unusable, in kind, key, store order.
    pub bad_shards: Vec<BadShard>,
    /// Shards absent from a store that answered, or from a store that did not.
    pub missing_shards: usize,
    /// Listed names that are not `<kind dir>/<64 hex>`, ignored.
    pub ignored: usize,
}

impl PullReport {
    /// Stores that listed their shards.
    pub fn stores_answered(&self) -> usize {
        self.stores.iter().filter(|s| s.error.is_none()).count()
    }

    /// Objects rebuilt and written.
    pub fn rebuilt_total(&self) -> usize {
        self.rebuilt.values().sum()
    }

    /// True when every object named was rebuilt and at least three stores answered (with
    /// fewer, an object that only the silent stores name would go unseen).
    pub fn is_complete(&self) -> bool {
        self.unrecoverable.is_empty() && self.stores_answered() >= DATA_SHARDS
    }
}

/// Rebuilds every object in `stores` into the snapshot directory `out_dir`.
///
/// `out_dir` and its four kind directories are created if needed. Existing files are
/// replaced only by verified objects; other files are left alone. `progress` is called after
/// each object.
///
/// # Errors
/// [`PullError::Output`] when `out_dir` cannot be created or written; the pull stops there.
pub async fn pull(
    stores: &Stores,
    out_dir: &FsPath,
    options: PullOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<PullReport, PullError> {
    prepare_output(out_dir)?;
    let mut report = PullReport::default();
    let mut names = BTreeSet::new();
    for i in 0..TOTAL_SHARDS {
        let status = list_store(stores, i, &mut names, &mut report.ignored).await;
        report.stores.push(status);
    }
    report.objects = names.len();
    let silent: [bool; TOTAL_SHARDS] =
        std::array::from_fn(|i| report.stores.get(i).is_none_or(|s| s.error.is_some()));
    let total = names.len();
    let mut done = 0;
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(total);
    let mut stream = futures::stream::iter(names)
        .map(|(kind, key)| pull_one(stores, &silent, out_dir, kind, key))
        .buffer_unordered(options.concurrency.max(1));
    while let Some(outcome) = stream.next().await {
        let outcome = outcome?;
        done += 1;
        progress(Progress { done, total });
        outcomes.push(outcome);
    }
    let out = out_dir.to_owned();
    tokio::task::spawn_blocking(move || dir::sync_kind_dirs(&out))
        .await
        .map_err(|e| PullError::Output {
            path: out_dir.to_owned(),
            reason: e.to_string(),
        })?
        .map_err(output)?;
    outcomes.sort_by_key(|o| (o.kind, o.key));
    for o in outcomes {
        report.missing_shards += o.missing;
        report.bad_shards.extend(o.bad);
        match o.result {
            Ok(()) => *report.rebuilt.entry(o.kind).or_default() += 1,
            Err(reason) => report.unrecoverable.push(Unrecoverable {
                kind: o.kind,
                key: o.key,
                reason,
            }),
        }
    }
    Ok(report)
}

/// Creates the output directories and checks a file can be written there.
fn prepare_output(out_dir: &FsPath) -> Result<(), PullError> {
    let fail = |path: &FsPath, e: std::io::Error| PullError::Output {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    dir::create_kind_dirs(out_dir).map_err(output)?;
    let probe = out_dir.join(format!(".zipchain-pull-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail(out_dir, e))?;
    std::fs::remove_file(&probe).map_err(|e| fail(&probe, e))
}

/// Lists the shards of store `i` into `names`.
async fn list_store(
    stores: &Stores,
    i: usize,
    names: &mut BTreeSet<(ObjectKind, Hash32)>,
    ignored: &mut usize,
) -> StoreStatus {
    let url = stores.url(i).unwrap_or_default().to_owned();
    let mut status = StoreStatus {
        url,
        error: None,
        shards: 0,
    };
    if let Some(dir) = stores.local_dir(i)
        && !dir.is_dir()
    {
        status.error = Some(format!("directory {} does not exist", dir.display()));
        return status;
    }
    let Some(store) = stores.store(i) else {
        status.error = Some("no such store".into());
        return status;
    };
    for kind in ObjectKind::ALL {
        let prefix = object_store::path::Path::from(kind.dir());
        let mut listing = store.list(Some(&prefix));
        while let Some(item) = listing.next().await {
            match item {
                Ok(meta) => match classify_path(meta.location.as_ref()) {
                    Some(name) => {
                        status.shards += 1;
                        names.insert(name);
                    }
                    None => *ignored += 1,
                },
                Err(e) => {
                    status.error = Some(format!("listing {}/ failed: {e}", kind.dir()));
                    return status;
                }
            }
        }
    }
    status
}

/// The fate of one object.
struct Outcome {
    kind: ObjectKind,
    key: Hash32,
    result: Result<(), String>,
    bad: Vec<BadShard>,
    missing: usize,
}

/// What one store gave for one object.
enum Fetched {
    Good(Shard),
    Missing,
    Bad(String),
}

async fn fetch(stores: &Stores, i: usize, kind: ObjectKind, key: Hash32) -> Fetched {
    let Some(store) = stores.store(i) else {
        return Fetched::Missing;
    };
    let path = shard_path(kind, &key);
    let got = stores
        .with_retry_on(i, || async { store.get(&path).await?.bytes().await })
        .await;
    let bytes = match got {
        Ok(bytes) => bytes,
        Err(Failure::Permanent(object_store::Error::NotFound { .. })) => return Fetched::Missing,
        Err(f) => {
            let url = stores.url(i).unwrap_or_default();
            return Fetched::Bad(f.into_error(i, url, stores.retry().tries).to_string());
        }
    };
    let shard = match Shard::from_bytes(&bytes) {
        Ok(shard) => shard,
        Err(e) => return Fetched::Bad(e.to_string()),
    };
    if shard.kind() != kind || *shard.key() != key || shard.index() != i {
        return Fetched::Bad(format!(
            "shard names {} {} index {}, expected {kind} {key} index {i}",
            shard.kind(),
            shard.key(),
            shard.index()
        ));
    }
    Fetched::Good(shard)
}

/// Fetches one object's shards and rebuilds it. The stores that did not answer the listing
/// (`silent`) are asked only when the others cannot rebuild the object: a store that is
/// down would otherwise cost every object its retries (tens of seconds a pull with three
/// unreachable S3 endpoints); until then their shards count as missing.
async fn pull_one(
    stores: &Stores,
    silent: &[bool; TOTAL_SHARDS],
    out_dir: &FsPath,
    kind: ObjectKind,
    key: Hash32,
) -> Result<Outcome, PullError> {
    let ask = |i: usize, now: bool| async move {
        if now {
            fetch(stores, i, kind, key).await
        } else {
            Fetched::Missing
        }
    };
    let mut fetched = join_all((0..TOTAL_SHARDS).map(|i| ask(i, !silent[i]))).await;
    if silent.iter().any(|s| *s) {
        let good: Vec<Shard> = fetched
            .iter()
            .filter_map(|f| match f {
                Fetched::Good(shard) => Some(shard.clone()),
                _ => None,
            })
            .collect();
        if good.len() < DATA_SHARDS || rebuild(good).is_err() {
            let rest = join_all((0..TOTAL_SHARDS).map(|i| ask(i, silent[i]))).await;
            for (i, f) in rest.into_iter().enumerate() {
                if silent[i]
                    && let Some(slot) = fetched.get_mut(i)
                {
                    *slot = f;
                }
            }
        }
    }
    let mut outcome = Outcome {
        kind,
        key,
        result: Ok(()),
        bad: Vec::new(),
        missing: 0,
    };
    let mut good = Vec::new();
    for (store, f) in fetched.into_iter().enumerate() {
        match f {
            Fetched::Good(shard) => good.push(shard),
            Fetched::Missing => outcome.missing += 1,
            Fetched::Bad(reason) => outcome.bad.push(BadShard {
                store,
                kind,
                key,
                reason,
            }),
        }
    }
    let healthy: Vec<(usize, Vec<u8>)> = good.iter().map(|s| (s.index(), s.to_bytes())).collect();
    match rebuild(good) {
        Ok(bytes) => {
            // Every shard that is not exactly what the rebuilt object encodes to is bad,
            // including one whose unhashed header fields (original length or hash) were hit.
            let right = encode(kind, key, &bytes);
            for (store, stored) in healthy {
                if right.get(store).map(Shard::to_bytes).as_ref() != Some(&stored) {
                    outcome.bad.push(BadShard {
                        store,
                        kind,
                        key,
                        reason: "differs from the shard the rebuilt object encodes to".into(),
                    });
                }
            }
            outcome.bad.sort_by_key(|b| b.store);
            write_object(out_dir, kind, &key, bytes).await?;
        }
        Err(reason) => {
            outcome.result = Err(format!(
                "{reason} ({} missing, {} bad)",
                outcome.missing,
                outcome.bad.len()
            ));
        }
    }
    Ok(outcome)
}

/// Rebuilds from healthy shards. Shards that disagree on the original (a stale or forged
/// shard that is self-consistent) are grouped, and the groups tried largest first.
fn rebuild(good: Vec<Shard>) -> Result<Vec<u8>, String> {
    let healthy = good.len();
    let mut groups: BTreeMap<(u64, Hash32), Vec<Shard>> = BTreeMap::new();
    for shard in good {
        groups
            .entry((shard.original_len(), *shard.original_hash()))
            .or_default()
            .push(shard);
    }
    let mut groups: Vec<Vec<Shard>> = groups.into_values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    let mut last = format!("only {healthy} healthy shards, need {DATA_SHARDS}");
    for group in groups {
        if group.len() < DATA_SHARDS {
            continue;
        }
        match decode(group) {
            Ok(bytes) => return Ok(bytes),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// Writes `out/<kind dir>/<hex>` atomically, the file fsynced (the directories are synced
/// once, at the end of the pull).
async fn write_object(
    out_dir: &FsPath,
    kind: ObjectKind,
    key: &Hash32,
    bytes: Vec<u8>,
) -> Result<(), PullError> {
    let (out, key) = (out_dir.to_owned(), *key);
    let job = move || dir::write_object(&out, kind, &key, &bytes, Durability::FileSynced);
    match tokio::task::spawn_blocking(job).await {
        Ok(result) => result.map_err(output),
        Err(e) => Err(PullError::Output {
            path: dir::object_path(out_dir, kind, &key),
            reason: e.to_string(),
        }),
    }
}
