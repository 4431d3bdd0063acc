//! One object of a pull: its shards fetched from the stores and checked one by one (a
//! missing, unreadable or corrupt shard is recorded and skipped), the object rebuilt from
//! any three healthy ones, checked against its hash and key, and written to the snapshot
//! atomically ([`snapshot_fs::dir::write_object`]).

use std::collections::BTreeMap;
use std::path::Path as FsPath;
use std::time::Duration;

use futures::future::join_all;
use object_store::ObjectStoreExt;
use snapshot_fs::atomic::Durability;
use snapshot_fs::dir;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;

use super::list::seconds;
use super::report::BadShard;
use super::{PullError, output};
use crate::shard::{DATA_SHARDS, Shard, TOTAL_SHARDS, decode, encode};
use crate::stores::{Failure, Stores, shard_path};

/// The fate of one object.
pub(super) struct Outcome {
    pub(super) kind: ObjectKind,
    pub(super) key: Hash32,
    /// The bytes written, or why the object could not be rebuilt.
    pub(super) result: Result<u64, String>,
    pub(super) bad: Vec<BadShard>,
    pub(super) missing: usize,
}

/// What one store gave for one object.
enum Fetched {
    Good(Shard),
    Missing,
    Bad(String),
}

/// Which stores to ask, and how patiently.
pub(super) struct Asking<'a> {
    pub(super) stores: &'a Stores,
    /// The stores that did not answer the listing.
    pub(super) silent: [bool; TOTAL_SHARDS],
    /// How long a silent store is waited for, each time it is asked.
    pub(super) silent_timeout: Duration,
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
/// (`silent`) are asked only when the others cannot rebuild the object, and waited for at
/// most `silent_timeout` each: a store that is down would otherwise cost every object its
/// retries (tens of seconds a pull with three unreachable S3 endpoints); until then their
/// shards count as missing.
pub(super) async fn pull_one(
    asking: &Asking<'_>,
    out_dir: &FsPath,
    kind: ObjectKind,
    key: Hash32,
) -> Result<Outcome, PullError> {
    let Asking {
        stores,
        silent,
        silent_timeout,
    } = *asking;
    let ask = |i: usize, now: bool| async move {
        if !now {
            Fetched::Missing
        } else if silent[i] {
            tokio::time::timeout(silent_timeout, fetch(stores, i, kind, key))
                .await
                .unwrap_or_else(|_| {
                    Fetched::Bad(format!(
                        "the store did not answer the listing, nor within {}",
                        seconds(silent_timeout)
                    ))
                })
        } else {
            fetch(stores, i, kind, key).await
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
        result: Ok(0),
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
            let len = bytes.len() as u64;
            write_object(out_dir, kind, &key, bytes).await?;
            outcome.result = Ok(len);
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
