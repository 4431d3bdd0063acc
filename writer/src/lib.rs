//! # zipchain-writer
//!
//! The writer daemon of SPEC §7.1: it acknowledges a transaction once it is durable on
//! local disk, seals transactions into blocks through the seed's BatchIt → ZipIt → StoreIt
//! pipeline (FIG. 5), replicates every object to six stores, and serves transaction
//! statuses, certificates, the trust descriptor, health and metrics over HTTP.
//!
//! Modules, one concern each: [`config`] (command line and checked configuration),
//! [`config_file`] (the TOML configuration file), [`check`] (`--check-config`), [`wal`] (the durable queue),
//! [`pipeline`] (group commit and the three stages), [`services`] (the timestamp and
//! sequencer traits and their in-process stand-ins), [`journal`] (the object mirror),
//! [`state`] (the writer's main chain and transaction statuses), [`health`] (what fails,
//! by component, for `/healthz` and the fault metrics), [`recover`] (genesis,
//! `--new-chain`, recovery), [`http`] (the router), [`metrics`], [`failpoint`],
//! [`checkpoints`] (the log key, checkpoints and cosignatures), [`witness_push`] (sending
//! checkpoints to witnesses).
//!
//! ## The data directory
//! ```text
//! DIR/chain.json                  trust descriptor, written once genesis is replicated
//! DIR/log.key                     the log key (SPEC §9.2), mode 0600
//! DIR/checkpoints/{latest,cosigned}.note  the latest checkpoint, the largest with a quorum
//! DIR/wal/<first index>.wal       append-only segments of acknowledged transactions
//! DIR/wal/cursor                  records below this index are final (retired)
//! DIR/objects/{blocks,timestamps,attestations,batches}/<hex>
//!                                 the local mirror (SPEC §2.1), written before replication
//! DIR/stores/store-0 … store-5    the default six stores (without --store)
//! DIR/standins/tsa/               embedded timestamp authority key
//! DIR/standins/ca/                embedded sequencer's test CA
//! DIR/standins/sequencer/         embedded sequencer: seed, pcr0, ys.log (append-only)
//! DIR/chains/<genesis>.json       earlier chains' descriptors (--new-chain), and
//! DIR/chains/<genesis>/           their mirrors and embedded sequencers
//! ```
//!
//! ## Guarantees and choices
//! - **202 means durable.** One appender thread group-commits: it drains every queued
//!   write, appends them with one `write` and one `fdatasync`, then answers them all.
//! - **Order of the seed.** The batch, block and timestamp are mirrored (atomically:
//!   temporary file, fsync, rename, directory fsync) and replicated to all six stores
//!   before the block is sequenced; the attestation is mirrored, then replicated; only
//!   then are the block's transactions final and their log records retired.
//! - **Recovery** audits the mirror with the real [`verifier_core::chain::Auditor`],
//!   re-drives every mirrored block without an attestation (same `y`, so the same `k`),
//!   replicates again the tip's objects and every block off the main chain, and re-queues
//!   the log records whose transaction is not final. Re-sealing may fork the chain; `omc`
//!   resolves it.
//! - **Time**: a block's time is the timestamp service's `iat`; the writer reads the
//!   clock (the embedded stand-ins do), the verifier core never does.
//! - **Halting**: when the sequencer's documents stop checking under `chain.json` (its
//!   key changed), or a token stops validating, sealing stops, `/healthz` answers 503
//!   with the reason, and writes are still acknowledged and queued.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod check;
pub mod checkpoints;
pub mod config;
pub mod config_file;
pub mod failpoint;
use snapshot_fs::atomic as fsio;
pub mod health;
pub mod http;
pub mod journal;
pub mod metrics;
pub mod pipeline;
pub mod recover;
pub mod services;
mod settings;
mod startup;
pub mod state;
pub mod wal;
pub mod witness_push;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use replication::Stores;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use verifier_core::chain::Auditor;
use verifier_core::hash::Hash32;

pub use config::{Args, CommandLine, Config, ConfigError};

/// The crypto backend of every check the writer makes (its services' tokens and
/// documents, recovery's audit): aws-lc-rs, about three times the pure-Rust speed, with
/// the same verdicts (verifier-core's crypto seam, issue #19).
pub const CRYPTO: &dyn verifier_core::crypto::CryptoBackend = &verifier_core::crypto::AWS_LC;

use crate::health::Component;
use crate::journal::{Mirror, MirrorError};
use crate::pipeline::{Pipeline, Queued, Sealer, WalHandle};
use crate::recover::Layout;
use crate::services::{
    EmbeddedSequencer, EmbeddedTsa, SequencerService, ServiceFailure, TimestampService,
};
use crate::state::{Ledger, Shared};
use crate::wal::{Wal, WalError};

/// Why the writer could not start or run.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriterError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file or directory could not be read or written.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
    /// A trusted service failed or is not available.
    #[error(transparent)]
    Service(#[from] ServiceFailure),
    /// The object mirror failed.
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// The write-ahead log failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// An `s3://` store's bucket does not lock the shards written to it in COMPLIANCE mode,
    /// or a `gs://` store's bucket has no locked retention policy, and
    /// `--allow-mutable-store` was not given.
    #[error(
        "store {store} ({url}) is mutable: {found}; the writer needs S3 Object Lock with a default retention in COMPLIANCE mode on every s3:// bucket and a locked retention policy on every gs:// bucket (or --allow-mutable-store)"
    )]
    MutableStore {
        /// The store's index.
        store: usize,
        /// The store's URL.
        url: String,
        /// What the bucket's Object Lock configuration or retention policy says.
        found: String,
    },
    /// An `az://` store, whose immutability the writer cannot verify, and
    /// `--allow-mutable-store` was not given.
    #[error(
        "store {store} ({url}) is not known to be immutable: {reason}; the writer starts on such a store only with --allow-mutable-store"
    )]
    UnverifiedStore {
        /// The store's index.
        store: usize,
        /// The store's URL.
        url: String,
        /// Why the writer cannot tell.
        reason: String,
    },
    /// The stores could not be opened or written.
    #[error("stores: {reason}")]
    Stores {
        /// What failed.
        reason: String,
    },
    /// The chain could not be made, read or recovered.
    #[error("chain: {reason}")]
    Chain {
        /// What failed.
        reason: String,
    },
}

impl From<replication::StoreError> for WriterError {
    fn from(e: replication::StoreError) -> Self {
        Self::Stores {
            reason: e.to_string(),
        }
    }
}

/// A started writer: recovered, sealing (unless halted), ready to serve.
#[derive(Debug)]
pub struct Writer {
    shared: Arc<Shared>,
    wal: WalHandle,
    appender: std::thread::JoinHandle<()>,
    pipeline: Option<Pipeline>,
    checkpointer: tokio::task::JoinHandle<()>,
    /// One task per `--witness`.
    pushers: Vec<tokio::task::JoinHandle<()>>,
    config: Config,
}

impl Writer {
    /// The state the HTTP router serves.
    pub fn app_state(&self) -> http::AppState {
        http::AppState::new(
            Arc::clone(&self.shared),
            self.wal.clone(),
            self.config.token.clone(),
            self.config.max_tx_bytes,
            self.config.max_pending,
            self.config.request_limits(),
        )
    }

    /// The shared state (chain, statuses, health, metrics).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops taking writes and lets the pipeline drain for at most `grace`.
    pub async fn shutdown(self, grace: Duration) {
        let Self {
            wal,
            appender,
            pipeline,
            checkpointer,
            pushers,
            ..
        } = self;
        drop(wal);
        let drain = async move {
            let _ = tokio::task::spawn_blocking(move || appender.join()).await;
            if let Some(p) = pipeline {
                p.join().await;
            }
        };
        if tokio::time::timeout(grace, drain).await.is_err() {
            tracing::warn!("the pipeline did not drain in time; the log keeps what is not final");
        }
        checkpointer.abort();
        for pusher in pushers {
            pusher.abort();
        }
    }
}

/// Runs the writer on `listener` until `shutdown` completes, then drains (mini-redis
/// style: the shutdown future is a parameter, so tests can stop it). `shutdown` is
/// watched from the start: completing while the writer starts (recovery can wait for
/// stores and services) stops it there (recovery is crash-safe), and a signal arriving
/// just after it says it listens is a clean stop, not a kill by the signal's default.
///
/// # Errors
/// [`WriterError`] when the writer cannot start or the server fails.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WriterError> {
    let mut shutdown = Box::pin(shutdown);
    let writer = tokio::select! {
        writer = Writer::start(&config) => writer?,
        () = &mut shutdown => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    };
    let addr = listener.local_addr().map_err(|e| WriterError::Io {
        path: PathBuf::from("listener"),
        reason: e.to_string(),
    })?;
    tracing::info!("listening on http://{addr}");
    eprintln!("zipchain-writer: listening on http://{addr}");
    let app = http::app(writer.app_state());
    http::serve(listener, app, config.conn_limits(), shutdown).await;
    tracing::info!("shutting down");
    writer.shutdown(Duration::from_secs(20)).await;
    Ok(())
}
