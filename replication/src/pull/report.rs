//! What a pull did ([`PullReport`]) and where it stands while it runs ([`Progress`]).

use std::collections::BTreeMap;

use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;

use crate::shard::DATA_SHARDS;

/// The part of a pull that is running, in [`Progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The six stores are being listed.
    Listing,
    /// The objects the snapshot lacks are being fetched and rebuilt.
    Fetching,
}

/// Where a pull stands, passed to the progress callback: while listing, after each store
/// and every so many shards listed; then after each object fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// What is running.
    pub phase: Phase,
    /// Stores whose listing ended (answered or not), of six.
    pub stores_listed: usize,
    /// Shard names listed so far, all stores together.
    pub shards_listed: usize,
    /// Objects finished (rebuilt or given up); 0 while listing.
    pub done: usize,
    /// Objects to fetch; 0 while listing.
    pub total: usize,
    /// Bytes of the objects rebuilt and written so far.
    pub bytes: u64,
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
    /// Of those, objects the snapshot directory already held, so not fetched (always 0
    /// for [`crate::pull()`], which fetches everything).
    pub held: usize,
    /// Objects rebuilt and written by this pull, by kind, each kind's keys in order: for
    /// [`crate::pull_new`], the objects new to the snapshot.
    pub rebuilt: BTreeMap<ObjectKind, Vec<Hash32>>,
    /// Bytes of the objects rebuilt and written.
    pub bytes: u64,
    /// Objects that could not be rebuilt, in kind then key order.
    pub unrecoverable: Vec<Unrecoverable>,
    /// Shards present but unusable, in kind, key, store order.
    pub bad_shards: Vec<BadShard>,
    /// Shards absent from a store that answered, or from a store that did not.
    pub missing_shards: usize,
    /// Listed names that are not `<kind dir>/<64 hex>`, ignored.
    pub ignored: usize,
    /// Temporary files that an interrupted pull left in the snapshot, removed.
    pub leftovers_removed: usize,
}

impl PullReport {
    /// Stores that listed their shards.
    pub fn stores_answered(&self) -> usize {
        self.stores.iter().filter(|s| s.error.is_none()).count()
    }

    /// True when at least three stores listed their shards. With fewer, an object that
    /// only the silent stores name would go unseen, so the pull fetched nothing: its view
    /// of the stores is partial, and no decision may rest on it.
    pub fn has_quorum(&self) -> bool {
        self.stores_answered() >= DATA_SHARDS
    }

    /// Objects rebuilt and written.
    pub fn rebuilt_total(&self) -> usize {
        self.rebuilt.values().map(Vec::len).sum()
    }

    /// Objects of `kind` rebuilt and written.
    pub fn rebuilt_count(&self, kind: ObjectKind) -> usize {
        self.rebuilt.get(&kind).map_or(0, Vec::len)
    }

    /// True when at least three stores answered and every object they name is now in the
    /// snapshot (held before, or rebuilt).
    pub fn is_complete(&self) -> bool {
        self.unrecoverable.is_empty() && self.has_quorum()
    }
}
