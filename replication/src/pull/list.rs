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
    let lister = Lister {
        stores,
        shared: Mutex::new((Listed::default(), held)),
        timeout,
        progress,
    };
    let statuses = join_all((0..TOTAL_SHARDS).map(|i| lister.list_store(i))).await;
    let (listed, _) = lister
        .shared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    (statuses, listed)
}

/// The six listings of one pull, and what they gather together.
struct Lister<'a> {
    stores: &'a Stores,
    /// What the listings found so far, and the objects held.
    shared: Mutex<(Listed, Held)>,
    /// How long each page is waited for.
    timeout: Duration,
    progress: &'a (dyn Fn(Progress) + Sync),
}

impl Lister<'_> {
    /// Runs `change` on what the listings found, under the lock; returns its answer.
    fn note<T>(&self, change: impl FnOnce(&mut Listed, &mut Held) -> Option<T>) -> Option<T> {
        let mut guard = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let (listed, held) = &mut *guard;
        change(listed, held)
    }

    /// Lists store `i` and says so to the progress callback.
    async fn list_store(&self, i: usize) -> StoreStatus {
        let status = self.list_shards(i).await;
        if let Some(now) = self.note(|listed, _| {
            listed.stores_done += 1;
            Some(listing(listed))
        }) {
            (self.progress)(now);
        }
        status
    }

    /// Lists the shards of store `i`, waiting at most the timeout for each page.
    async fn list_shards(&self, i: usize) -> StoreStatus {
        let url = self.stores.url(i).unwrap_or_default().to_owned();
        let mut status = StoreStatus {
            url,
            error: None,
            shards: 0,
        };
        if let Some(dir) = self.stores.local_dir(i)
            && !dir.is_dir()
        {
            status.error = Some(format!("directory {} does not exist", dir.display()));
            return status;
        }
        let Some(store) = self.stores.store(i) else {
            status.error = Some("no such store".into());
            return status;
        };
        for kind in ObjectKind::ALL {
            let prefix = object_store::path::Path::from(kind.dir());
            let mut pages = store.list(Some(&prefix));
            loop {
                let item = match tokio::time::timeout(self.timeout, pages.next()).await {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(_) => {
                        status.error = Some(format!(
                            "listing {}/ got no answer within {}",
                            kind.dir(),
                            seconds(self.timeout)
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
                let name = classify_path(meta.location.as_ref());
                if name.is_some() {
                    status.shards += 1;
                }
                if let Some(now) = self.note(|listed, held| add(listed, held, name)) {
                    (self.progress)(now);
                }
            }
        }
        status
    }
}

/// Adds one listed name (`None`: not an object's) to `listed`; returns the progress to
/// report, every [`PROGRESS_EVERY`] shards.
fn add(
    listed: &mut Listed,
    held: &mut Held,
    name: Option<(ObjectKind, Hash32)>,
) -> Option<Progress> {
    let Some(name) = name else {
        listed.ignored += 1;
        return None;
    };
    listed.shards += 1;
    match held.get_mut(&name) {
        Some(named) if !*named => {
            *named = true;
            listed.held_named += 1;
        }
        Some(_) => {}
        None => {
            listed.new.insert(name);
        }
    }
    (listed.shards % PROGRESS_EVERY == 0).then(|| listing(listed))
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

/// `d` in seconds, as people write it ("5 s", "0.5 s").
pub(super) fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
