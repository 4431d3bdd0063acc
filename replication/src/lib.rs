//! Erasure-coded replication of zipchain objects to six object stores (SPEC §2.2), and the
//! pull that turns the stores back into a snapshot (SPEC §6, `zipchain pull`).
//!
//! Every block, timestamp, attestation and batch is cut by [`shard::encode`] into six
//! self-describing [`Shard`]s with a Reed–Solomon code of 3 data + 3 parity shards; store
//! `i` of [`Stores`] holds shard `i`, so any three stores rebuild every object
//! ([`shard::decode`]). Writes are write-once ([`Stores::put_object`]); [`pull_new`] brings
//! into a snapshot directory the objects it does not hold yet (all of them into a new one),
//! [`pull()`] rebuilds every object again; both verify every object they fetch and never
//! write a wrong one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use zipchain_replication::{PullOptions, Stores, pull_new};
//! use verifier_core::snapshot::{ObjectKind, object_key};
//!
//! let stores = Stores::local(std::path::Path::new("/var/lib/zipchain/stores"))?;
//! let block = std::fs::read("block.bin")?;
//! let key = object_key(ObjectKind::Block, &block)?;
//! stores.put_object(ObjectKind::Block, key, &block).await?;
//!
//! let report = pull_new(&stores, "snapshot".as_ref(), PullOptions::default(), &|_| {}).await?;
//! assert!(report.is_complete());
//! // Again: the block is held now, so only the listings are paid for.
//! let again = pull_new(&stores, "snapshot".as_ref(), PullOptions::default(), &|_| {}).await?;
//! assert_eq!((again.held, again.rebuilt_total()), (1, 0));
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
pub use pull::{Phase, Progress, PullError, PullOptions, PullReport, pull, pull_new};
pub use s3::ObjectLock;
pub use shard::{Shard, ShardError, decode, encode};
pub use stores::{RetryPolicy, StoreError, StoreKind, Stores};
