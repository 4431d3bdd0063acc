//! What a cloud store's bucket says about the shards written to it: whether they are
//! locked, write-once, against everyone (issue #15).

use std::fmt;

use crate::gcs::Retention;
use crate::s3::ObjectLock;

/// A bucket's immutability settings, as its provider states them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Immutability {
    /// An `s3://` bucket's Object Lock configuration.
    ObjectLock(ObjectLock),
    /// A `gs://` bucket's retention policy.
    Retention(Retention),
}

impl Immutability {
    /// True when no one can delete or replace a shard written to the bucket while its
    /// retention lasts, nor shorten that retention: S3 Object Lock with a default retention
    /// in COMPLIANCE mode, or a locked GCS retention policy.
    pub fn is_locked(&self) -> bool {
        match self {
            Immutability::ObjectLock(lock) => lock.is_compliance(),
            Immutability::Retention(retention) => retention.is_locked(),
        }
    }
}

impl fmt::Display for Immutability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Immutability::ObjectLock(lock) => lock.fmt(f),
            Immutability::Retention(retention) => retention.fmt(f),
        }
    }
}
