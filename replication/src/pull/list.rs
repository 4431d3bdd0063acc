//! The listing of a pull: each of the six stores listed once per kind prefix, all six at
//! once, each page awaited at most [`PullOptions::list_timeout`]; the names the snapshot
//! does not hold yet are gathered for fetching.
//!
//! [`PullOptions::list_timeout`]: super::PullOptions::list_timeout

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, classify_path};

use super::report::{Phase, Progress, StoreStatus};
use crate::shard::TOTAL_SHARDS;
use crate::stores::Stores;

/// Progress is reported every this many shards listed (and after each store).
const PROGRESS_EVERY: usize = 1000;

/// The objects the snapshot directory holds, and whether a store named each one.
pub(super) type Held = HashMap<(ObjectKind, Hash32), bool>;

/// What the six listings found together.
#[derive(Debug, Default)]
pub(super) struct Listed {
    /// Names listed by some store that the snapshot does not hold.
    pub(super) new: BTreeSet<(ObjectKind, Hash32)>,
    /// Listed names that are not `<kind dir>/<64 hex>`.
    pub(super) ignored: usize,
    /// Objects held by the snapshot that some store named.
    pub(super) held_named: usize,
    /// Shard names listed, all stores together.
    shards: usize,
    /// Stores whose listing ended.
    stores_done: usize,
}

/// Lists the six stores at once; returns each store's status and what they name that
/// `held` lacks.
pub(super) async fn list_all(
    stores: &Stores,
    held: Held,
    timeout: Duration,
    progress: &(dyn Fn(Progress) + Sync),
) -> (Vec<StoreStatus>, Listed) {
    let shared = Mutex::new((Listed::default(), held));
    let statuses =
        join_all((0..TOTAL_SHARDS).map(|i| list_store(stores, i, &shared, timeout, progress)))
            .await;
    let (listed, _) = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
    (statuses, listed)
}

/// What the progress callback is told while listing.
fn listing(listed: &Listed) -> Progress {
    Progress {
        phase: Phase::Listing,
        stores_listed: listed.stores_done,
        shards_listed: listed.shards,
        done: 0,
        total: 0,
        bytes: 0,
    }
}

/// Lists the shards of store `i` into `shared`, waiting at most `timeout` for each page.
async fn list_store(
    stores: &Stores,
    i: usize,
    shared: &Mutex<(Listed, Held)>,
    timeout: Duration,
    progress: &(dyn Fn(Progress) + Sync),
) -> StoreStatus {
    let status = list_store_shards(stores, i, shared, timeout, progress).await;
    let now = {
        let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
        guard.0.stores_done += 1;
        listing(&guard.0)
    };
    progress(now);
    status
}

async fn list_store_shards(
    stores: &Stores,
    i: usize,
    shared: &Mutex<(Listed, Held)>,
    timeout: Duration,
    progress: &(dyn Fn(Progress) + Sync),
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
        let mut pages = store.list(Some(&prefix));
        loop {
            let item = match tokio::time::timeout(timeout, pages.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(_) => {
                    status.error = Some(format!(
                        "listing {}/ got no answer within {}",
                        kind.dir(),
                        seconds(timeout)
                    ));
                    return status;
                }
            };
            let meta = match item {
                Ok(meta) => meta,
                Err(e) => {
                    status.error = Some(format!("listing {}/ failed: {e}", kind.dir()));
                    return status;
                }
            };
            let now = {
                let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
                let (listed, held) = &mut *guard;
                match classify_path(meta.location.as_ref()) {
                    Some(name) => {
                        status.shards += 1;
                        listed.shards += 1;
                        match held.get_mut(&name) {
                            Some(named) => {
                                if !*named {
                                    *named = true;
                                    listed.held_named += 1;
                                }
                            }
                            None => {
                                listed.new.insert(name);
                            }
                        }
                        (listed.shards % PROGRESS_EVERY == 0).then(|| listing(listed))
                    }
                    None => {
                        listed.ignored += 1;
                        None
                    }
                }
            };
            if let Some(now) = now {
                progress(now);
            }
        }
    }
    status
}

/// `d` in seconds, as people write it ("5 s", "0.5 s").
pub(super) fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
