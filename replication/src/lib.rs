//! Erasure-coded replication of zipchain objects to six object stores (SPEC §2.2), and the
//! pull that turns the stores back into a snapshot (SPEC §6, `zipchain pull`).
//!
//! Every block, timestamp, attestation and batch is cut by [`shard::encode`] into six
//! self-describing [`Shard`]s with a Reed–Solomon code of 3 data + 3 parity shards; store
//! `i` of [`Stores`] holds shard `i`, so any three stores rebuild every object
//! ([`shard::decode`]). Writes are write-once ([`Stores::put_object`]); [`pull()`] rebuilds a
//! snapshot directory, verifying every object and never writing a wrong one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use zipchain_replication::{PullOptions, Stores, pull};
//! use verifier_core::snapshot::{ObjectKind, object_key};
//!
//! let stores = Stores::local(std::path::Path::new("/var/lib/zipchain/stores"))?;
//! let block = std::fs::read("block.bin")?;
//! let key = object_key(ObjectKind::Block, &block)?;
//! stores.put_object(ObjectKind::Block, key, &block).await?;
//!
//! let report = pull(&stores, "snapshot".as_ref(), PullOptions::default(), &|_| {}).await?;
//! assert!(report.is_complete());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod gcs;
pub mod immutability;
pub mod pull;
pub mod s3;
pub mod shard;
pub mod stores;

pub use gcs::Retention;
pub use immutability::Immutability;
pub use pull::{Progress, PullError, PullOptions, PullReport, pull};
pub use s3::ObjectLock;
pub use shard::{Shard, ShardError, decode, encode};
pub use stores::{RetryPolicy, StoreError, StoreKind, Stores};
