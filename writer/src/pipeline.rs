//! The write path: group commit into the write-ahead log, then the seed's three stages
//! (FIG. 5) as tasks joined by channels (BatchIt → ZipIt → StoreIt bounded at one item;
//! the appender → BatchIt queue holds what the HTTP layer admitted, at most
//! `--max-pending` transactions not yet final, `http::AppState::admit`):
//!
//! ```text
//! HTTP ──WriteRequest──▶ appender (thread: one write + one fdatasync per group, then 202s)
//!                           │ Queued, in log order
//!                           ▼
//!                        BatchIt ──batch──▶ ZipIt ──sealed block──▶ StoreIt
//!                        (--batch-max /     (block on the previous   (mirror, replicate b/m/t,
//!                         seal period)         t; timestamp H(b))       sequence, mirror and
//!                                                                     replicate a, finalize,
//!                                                                     retire log records)
//! ```
//!
//! ZipIt builds block `i+1` while StoreIt stores block `i` (block `i+1` needs only `t_i`);
//! StoreIt sequences strictly in chain order. Shutdown closes the appender's input: the
//! appender drains and drops the queue, BatchIt cuts its last batch, and the later stages
//! drain as their senders drop (mini-redis style).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use replication::Stores;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use verifier_core::block::Block;
use verifier_core::chain::{Auditor, MainChainBlock};
use verifier_core::hash::Hash32;
use verifier_core::merkle;
use verifier_core::nsm::VerifyAt;
use verifier_core::snapshot::ObjectKind;
use verifier_core::time::UnixSeconds;
use verifier_core::triple::TripleError;

use crate::failpoint::{Stage, failpoint};
use crate::health::Component;
use crate::services::{SequencerService, TimestampService};
use crate::state::Shared;
use crate::wal::{Wal, WalRetirer};

/// The most write requests one group commit takes.
pub const MAX_GROUP: usize = 8192;

/// Capacity of the HTTP → appender channel (write requests waiting for a group commit).
const WRITE_QUEUE: usize = 65_536;

/// The longest wait between retries of a failing service, store or mirror write.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The first wait before a retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// How long one call to the stores, the sequencer or the timestamp service may go
/// unanswered before `/healthz` says so (the writer goes on waiting for it: a store that
/// hangs, or a service whose client retries for a minute, shows as a fault long before
/// its call fails).
pub const SLOW_AFTER: Duration = Duration::from_secs(10);

/// The waits between retries of one failing call: [`FIRST_BACKOFF`], doubling up to
/// [`MAX_BACKOFF`].
#[derive(Debug)]
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(FIRST_BACKOFF)
    }

    /// Sleeps the current wait, then doubles it (up to the most).
    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
    }
}

/// An acknowledged transaction on its way to a block.
#[derive(Clone, Debug)]
pub struct Queued {
    /// Its write-ahead log index.
    pub index: u64,
    /// `H(d)`.
    pub tx: Hash32,
    /// `d`.
    pub data: Bytes,
}

/// Why a write was not acknowledged.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The write-ahead log could not be written or synced.
    #[error("the write-ahead log failed: {reason}")]
    Log {
        /// The failure.
        reason: String,
    },
    /// The writer is shutting down.
    #[error("the writer is shutting down")]
    ShuttingDown,
}

struct WriteRequest {
    items: Items,
    reply: oneshot::Sender<Result<(), WriteError>>,
}

/// The transactions of one write request: one (`POST /v1/transactions`, no vector to
/// allocate) or many (a batch upload).
enum Items {
    One((Bytes, Hash32)),
    Many(Vec<(Bytes, Hash32)>),
}

impl Items {
    fn iter(&self) -> std::slice::Iter<'_, (Bytes, Hash32)> {
        match self {
            Self::One(item) => std::slice::from_ref(item).iter(),
            Self::Many(v) => v.iter(),
        }
    }
}

/// The HTTP side of the group commit: submit transactions, wait until they are durable.
#[derive(Clone, Debug)]
pub struct WalHandle {
    tx: mpsc::Sender<WriteRequest>,
}

impl WalHandle {
    /// Appends `items` (`(d, H(d))`) to the log and returns once they are fsynced.
    ///
    /// # Errors
    /// [`WriteError`] when they are not durable; they must not be acknowledged.
    pub async fn write(&self, items: Vec<(Bytes, Hash32)>) -> Result<(), WriteError> {
        self.submit(Items::Many(items)).await
    }

    /// [`WalHandle::write`] for one transaction `d` with its id `tx`.
    ///
    /// # Errors
    /// As [`WalHandle::write`].
    pub async fn write_one(&self, d: Bytes, tx: Hash32) -> Result<(), WriteError> {
        self.submit(Items::One((d, tx))).await
    }

    async fn submit(&self, items: Items) -> Result<(), WriteError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(WriteRequest { items, reply })
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        answer.await.map_err(|_| WriteError::ShuttingDown)?
    }
}

/// Starts the appender thread: it owns `wal`, commits groups of writes, marks them pending
/// in `shared`, forwards them to `queue` in log order, then answers their writers.
pub fn spawn_appender(
    mut wal: Wal,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Queued>,
) -> std::io::Result<(WalHandle, std::thread::JoinHandle<()>)> {
    let (tx, mut rx) = mpsc::channel::<WriteRequest>(WRITE_QUEUE);
    let thread = std::thread::Builder::new()
        .name("wal-appender".into())
        .spawn(move || {
            let mut group: Vec<WriteRequest> = Vec::with_capacity(1024);
            while let Some(first) = rx.blocking_recv() {
                group.push(first);
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(r) => group.push(r),
                        Err(_) => break,
                    }
                }
                let started = Instant::now();
                let result = wal.append(
                    group
                        .iter()
                        .flat_map(|r| r.items.iter().map(|(d, _)| d.as_ref())),
                );
                shared.metrics.fsync.observe(started.elapsed());
                match result {
                    Ok(first_index) => {
                        failpoint(Stage::BeforeAck);
                        shared
                            .add_pending(group.iter().flat_map(|r| r.items.iter().map(|(_, t)| t)));
                        let mut index = first_index;
                        let mut n = 0u64;
                        for r in &group {
                            for (data, tx) in r.items.iter() {
                                // A closed queue (sealing halted or shutting down) loses
                                // nothing: the record is in the log.
                                let _ = queue.send(Queued {
                                    index,
                                    tx: *tx,
                                    data: data.clone(),
                                });
                                index += 1;
                                n += 1;
                            }
                        }
                        shared
                            .metrics
                            .acknowledged
                            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        shared.set_healthy(Component::Wal);
                        for r in group.drain(..) {
                            let _ = r.reply.send(Ok(()));
                        }
                    }
                    Err(e) => {
                        shared.set_unhealthy(Component::Wal, e.to_string());
                        for r in group.drain(..) {
                            let _ = r.reply.send(Err(WriteError::Log {
                                reason: e.to_string(),
                            }));
                        }
                    }
                }
            }
        })?;
    Ok((WalHandle { tx }, thread))
}

/// A block made by ZipIt, for StoreIt.
#[derive(Clone, Debug)]
pub struct SealedBlock {
    /// The block.
    pub block: Block,
    /// `H(b)`.
    pub block_hash: Hash32,
    /// The CBOR batch.
    pub batch_bytes: Vec<u8>,
    /// The batch's transaction ids.
    pub tx_ids: Vec<Hash32>,
    /// The timestamp JWT.
    pub token: String,
    /// `H(t)`.
    pub token_hash: Hash32,
    /// `t.iat`.
    pub iat: UnixSeconds,
    /// One past the highest log index in the batch (the retirement cursor once final).
    pub wal_end: u64,
    /// When the batch was cut.
    pub started: Instant,
}

/// `u ++ H(t)` (SPEC §5's rule, [`verifier_core::triple::y`]).
pub use verifier_core::triple::y as make_y;

/// A random UUIDv4.
///
/// # Errors
/// The operating system's random source failed.
pub fn random_uuid() -> Result<[u8; 16], getrandom::Error> {
    let mut u = [0u8; 16];
    getrandom::fill(&mut u)?;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    Ok(u)
}

/// Why sealing stopped, or an object could not be stored: each is a reason to halt
/// (the writer keeps serving reads and says why in `/v1/health`).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The task writing to the local mirror failed (it panicked); a mirror write that
    /// fails is retried, not this.
    #[error("mirror: {0}")]
    Mirror(String),
    /// A store refused an object as not what its key names (a bug).
    #[error("{0}")]
    Rejected(String),
    /// The sequencer's document does not check under chain.json.
    #[error(
        "the sequencer's document does not check under chain.json ({0}); if the sequencer restarted its key changed: start a successor chain with --new-chain"
    )]
    Document(verifier_core::sequence::CheckError),
    /// The sequencer attested another `y` than the one asked for.
    #[error("asked the sequencer for y {asked}, got a document for {got}")]
    WrongY {
        /// The `y` asked for, hex.
        asked: String,
        /// The `y` of the document, hex.
        got: String,
    },
    /// The document and the block do not form a valid triple (SPEC §5).
    #[error("the sequencer's document does not sequence the block: {0}")]
    Triple(TripleError),
    /// The timestamp service's token does not validate under chain.json.
    #[error("the timestamp service's token does not validate under chain.json: {0}")]
    Token(verifier_core::timestamp::TimestampError),
    /// The token attests other bytes than the block's hash.
    #[error("the timestamp service attested other bytes than H(b) = {block}")]
    WrongAttestation {
        /// `H(b)`.
        block: Hash32,
    },
    /// The writer's own state is not what the block was built on (a bug, or an empty
    /// main chain).
    #[error("{0}")]
    State(String),
    /// The sequencer numbered the block other than right after the tip.
    #[error(
        "the sequencer numbered block {block} {got}, expected {expected} right after the tip: a sequence gap holds the chain back (restart the writer to re-audit)"
    )]
    SequenceGap {
        /// `H(b)`.
        block: Hash32,
        /// The number it got.
        got: u64,
        /// The number after the tip's.
        expected: u64,
    },
}

/// Everything the sealing stages and recovery need.
pub struct Sealer {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// The auditor for chain.json: every token and document is checked with it.
    pub auditor: Arc<Auditor>,
    /// The timestamp service.
    pub timestamps: Arc<dyn TimestampService>,
    /// The sequencer.
    pub sequencer: Arc<dyn SequencerService>,
    /// The six stores.
    pub stores: Stores,
    /// Retires the log records of the blocks StoreIt makes final ([`Wal::retirer`]).
    pub retirer: WalRetirer,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

/// A sequenced, checked attestation.
#[derive(Clone, Debug)]
pub struct Sequenced {
    /// The NSM document.
    pub document: Vec<u8>,
    /// `H(a)`.
    pub key: Hash32,
    /// `a.s.k`.
    pub k: u64,
}

impl Sealer {
    /// Writes an object to the mirror (off the async threads), retrying while it fails (a
    /// full or failing disk: the writer is unhealthy, `mirror`, meanwhile).
    ///
    /// # Errors
    /// [`SealError::Mirror`] when the writing task itself failed.
    pub async fn mirror_put(
        &self,
        kind: ObjectKind,
        key: Hash32,
        bytes: Vec<u8>,
    ) -> Result<(), SealError> {
        let bytes = Arc::new(bytes);
        let mut backoff = Backoff::new();
        loop {
            let mirror = self.shared.mirror.clone();
            let b = Arc::clone(&bytes);
            let put = tokio::task::spawn_blocking(move || mirror.put(kind, &key, &b))
                .await
                .map_err(|e| SealError::Mirror(e.to_string()))?;
            match put {
                Ok(()) => {
                    self.shared.set_healthy(Component::Mirror);
                    return Ok(());
                }
                // A full or failing disk may come back: retried, like a store.
                Err(e) => {
                    self.shared
                        .set_unhealthy(Component::Mirror, format!("writing {kind} {key}: {e}"));
                    backoff.wait().await;
                }
            }
        }
    }

    /// Awaits `call`; if it has not finished after [`SLOW_AFTER`], `component` is marked
    /// unhealthy (`what` says what is waited for) and the wait goes on.
    async fn reported_if_slow<T>(
        &self,
        component: Component,
        what: impl FnOnce() -> String,
        call: impl Future<Output = T>,
    ) -> T {
        let mut call = pin!(call);
        tokio::select! {
            out = &mut call => return out,
            () = tokio::time::sleep(SLOW_AFTER) => {}
        }
        self.shared.set_unhealthy(
            component,
            format!(
                "{}: no answer after {} s, still waiting",
                what(),
                SLOW_AFTER.as_secs()
            ),
        );
        call.await
    }

    /// Replicates an object to all six stores, retrying until it is done; while it fails
    /// the writer is unhealthy ("stores"). A key that is not the object's is a bug and
    /// fails at once.
    ///
    /// # Errors
    /// [`replication::StoreError::Object`] in words.
    pub async fn replicate(
        &self,
        kind: ObjectKind,
        key: Hash32,
        bytes: &[u8],
    ) -> Result<(), SealError> {
        self.replicate_with(kind, key, bytes, true).await
    }

    /// [`Sealer::replicate`] for an object this process made and keyed itself (its key is
    /// not recomputed: for a batch that would hash every transaction again).
    ///
    /// # Errors
    /// As [`Sealer::replicate`].
    async fn replicate_sealed(
        &self,
        kind: ObjectKind,
        key: Hash32,
        bytes: &[u8],
    ) -> Result<(), SealError> {
        self.replicate_with(kind, key, bytes, false).await
    }

    async fn replicate_with(
        &self,
        kind: ObjectKind,
        key: Hash32,
        bytes: &[u8],
        check_key: bool,
    ) -> Result<(), SealError> {
        let mut backoff = Backoff::new();
        loop {
            let put = async {
                if check_key {
                    self.stores.put_object(kind, key, bytes).await
                } else {
                    self.stores.put_object_keyed(kind, key, bytes).await
                }
            };
            let what = || format!("replicating {kind} {key}");
            match self.reported_if_slow(Component::Stores, what, put).await {
                Ok(()) => {
                    self.shared.set_healthy(Component::Stores);
                    return Ok(());
                }
                Err(replication::StoreError::Object(e)) => {
                    return Err(SealError::Rejected(e.to_string()));
                }
                Err(e) => {
                    self.shared
                        .set_unhealthy(Component::Stores, format!("replicating {kind} {key}: {e}"));
                    backoff.wait().await;
                }
            }
        }
    }

    /// Mirrors, then replicates, an object.
    ///
    /// # Errors
    /// As [`Sealer::mirror_put`] and [`Sealer::replicate`].
    pub async fn store(
        &self,
        kind: ObjectKind,
        key: Hash32,
        bytes: Vec<u8>,
    ) -> Result<(), SealError> {
        self.mirror_put(kind, key, bytes.clone()).await?;
        self.replicate(kind, key, &bytes).await
    }

    /// Asks the sequencer for `y = uuid ++ timestamp` (retrying while it fails) and
    /// checks its document under chain.json and SPEC §5's rule
    /// ([`verifier_core::triple::check_sequenced`]); a document made too long before
    /// `iat` (clocks that disagree) is retried. `Err` is a reason to stop sealing (the
    /// key changed, or the documents no longer verify).
    ///
    /// # Errors
    /// The halt reason.
    pub async fn sequence(
        &self,
        uuid: &[u8; 16],
        timestamp: &Hash32,
        iat: UnixSeconds,
    ) -> Result<Sequenced, SealError> {
        let y = make_y(uuid, timestamp);
        let mut backoff = Backoff::new();
        loop {
            let what = || format!("sequencing y {}", hex::encode(y));
            let call = self.sequencer.sequence(y);
            let document = match self
                .reported_if_slow(Component::Sequencer, what, call)
                .await
            {
                Ok(doc) => doc,
                Err(e) => {
                    self.shared
                        .set_unhealthy(Component::Sequencer, e.to_string());
                    backoff.wait().await;
                    continue;
                }
            };
            let verified = self
                .auditor
                .check_attestation(&document, VerifyAt::DocumentTimestamp)
                .map_err(SealError::Document)?;
            match verifier_core::triple::check_sequenced(uuid, timestamp, iat, &verified) {
                Ok(()) => {}
                Err(TripleError::AttestationOfOtherBytes { expected, got }) => {
                    return Err(SealError::WrongY {
                        asked: expected,
                        got,
                    });
                }
                Err(e @ TripleError::DocumentTooEarly { .. }) => {
                    self.shared
                        .set_unhealthy(Component::Sequencer, e.to_string());
                    backoff.wait().await;
                    continue;
                }
                Err(e) => return Err(SealError::Triple(e)),
            }
            let s = verified.sequence();
            self.shared.set_healthy(Component::Sequencer);
            return Ok(Sequenced {
                key: verified.hash(),
                k: s.k,
                document,
            });
        }
    }

    /// Timestamps `H(b)` (retrying while the service fails) and checks the token.
    ///
    /// # Errors
    /// A halt reason when the token does not validate under chain.json.
    pub async fn timestamp(
        &self,
        block_hash: Hash32,
    ) -> Result<(String, Hash32, UnixSeconds), SealError> {
        let mut backoff = Backoff::new();
        loop {
            let what = || format!("timestamping block {block_hash}");
            let call = self.timestamps.timestamp(block_hash);
            match self
                .reported_if_slow(Component::Timestamp, what, call)
                .await
            {
                Ok(token) => {
                    let verified = self
                        .auditor
                        .timestamp_verifier()
                        .validate(&token)
                        .map_err(SealError::Token)?;
                    if verified.attested() != Some(block_hash.as_bytes().as_slice()) {
                        return Err(SealError::WrongAttestation { block: block_hash });
                    }
                    self.shared.set_healthy(Component::Timestamp);
                    let hash = Hash32::digest(token.as_bytes());
                    return Ok((token, hash, verified.iat()));
                }
                Err(e) => {
                    self.shared
                        .set_unhealthy(Component::Timestamp, e.to_string());
                    backoff.wait().await;
                }
            }
        }
    }

    fn halt(&self, reason: impl std::fmt::Display) {
        self.shared
            .set_unhealthy(Component::Sealing, format!("stopped: {reason}"));
    }
}

/// The running stages.
#[derive(Debug)]
pub struct Pipeline {
    tasks: Vec<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts BatchIt, ZipIt and StoreIt on `queue`, sealing on the timestamp `parent`.
    pub fn spawn(
        sealer: Arc<Sealer>,
        queue: mpsc::UnboundedReceiver<Queued>,
        parent: Hash32,
        batch_max: usize,
        batch_wait: Duration,
    ) -> Self {
        let (batches_tx, batches_rx) = mpsc::channel(1);
        let (sealed_tx, sealed_rx) = mpsc::channel(1);
        let tasks = vec![
            tokio::spawn(batch_it(queue, batches_tx, batch_max, batch_wait)),
            tokio::spawn(zip_it(Arc::clone(&sealer), batches_rx, sealed_tx, parent)),
            tokio::spawn(store_it(sealer, sealed_rx)),
        ];
        Self { tasks }
    }

    /// Waits for every stage to drain and stop.
    pub async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// BatchIt: cuts the queue into batches of at most `batch_max` transactions, at most one
/// cut per `batch_wait` (the seal period). A transaction arriving after a quiet spell is
/// cut at once; under load the queue fills for one period, so blocks grow with the load
/// instead of multiplying: the cost of a block (a timestamp, an enclave document, four
/// objects times six shards) is paid a few times a second, not per burst.
async fn batch_it(
    mut queue: mpsc::UnboundedReceiver<Queued>,
    out: mpsc::Sender<Vec<Queued>>,
    batch_max: usize,
    batch_wait: Duration,
) {
    let mut last_cut: Option<tokio::time::Instant> = None;
    loop {
        let mut batch = Vec::with_capacity(batch_max.min(1 << 16));
        if queue.recv_many(&mut batch, batch_max).await == 0 {
            return;
        }
        let now = tokio::time::Instant::now();
        let deadline = last_cut.map_or(now, |cut| (cut + batch_wait).max(now));
        let mut closed = false;
        while batch.len() < batch_max {
            let room = batch_max - batch.len();
            match tokio::time::timeout_at(deadline, queue.recv_many(&mut batch, room)).await {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        last_cut = Some(tokio::time::Instant::now());
        if out.send(batch).await.is_err() || closed {
            return;
        }
    }
}

async fn zip_it(
    sealer: Arc<Sealer>,
    mut batches: mpsc::Receiver<Vec<Queued>>,
    out: mpsc::Sender<SealedBlock>,
    mut parent: Hash32,
) {
    while let Some(queued) = batches.recv().await {
        let started = Instant::now();
        let wal_end = queued.iter().map(|q| q.index + 1).max().unwrap_or(0);
        // The ids were hashed on arrival (`H(d)`, the HTTP handler): the tree is built from
        // them rather than hashing every transaction again.
        let tx_ids: Vec<Hash32> = queued.iter().map(|q| q.tx).collect();
        let batch_root = merkle::root(&tx_ids);
        let batch_bytes = encode_batch(&queued);
        drop(queued);
        let uuid = match random_uuid() {
            Ok(u) => u,
            Err(e) => return sealer.halt(format!("the random source failed: {e}")),
        };
        let block = Block {
            uuid,
            batch_root,
            parent_timestamp: parent,
        };
        let block_hash = block.hash();
        let (token, token_hash, iat) = match sealer.timestamp(block_hash).await {
            Ok(t) => t,
            Err(reason) => return sealer.halt(reason),
        };
        failpoint(Stage::AfterTimestamp);
        parent = token_hash;
        let sealed = SealedBlock {
            block,
            block_hash,
            batch_bytes,
            tx_ids,
            token,
            token_hash,
            iat,
            wal_end,
            started,
        };
        if out.send(sealed).await.is_err() {
            return;
        }
    }
}

/// The batch's canonical CBOR (SPEC §1.1), the bytes `Batch::new(..).encode()` gives,
/// written straight from the queued transactions: each is copied once, into the batch,
/// rather than first into a `Vec` of its own.
fn encode_batch(queued: &[Queued]) -> Vec<u8> {
    verifier_core::batch::encode_txs(queued.iter().map(|q| &q.data[..]))
}

async fn store_it(sealer: Arc<Sealer>, mut blocks: mpsc::Receiver<SealedBlock>) {
    while let Some(sealed) = blocks.recv().await {
        if let Err(reason) = store_one(&sealer, &sealed).await {
            return sealer.halt(reason);
        }
    }
}

async fn store_one(sealer: &Sealer, s: &SealedBlock) -> Result<(), SealError> {
    // The block goes to the mirror last, so a mirrored block always has its batch and
    // timestamp beside it (recovery re-drives it from them).
    let root = s.block.batch_root;
    sealer
        .mirror_put(ObjectKind::Batch, root, s.batch_bytes.clone())
        .await?;
    sealer
        .mirror_put(
            ObjectKind::Timestamp,
            s.token_hash,
            s.token.clone().into_bytes(),
        )
        .await?;
    sealer
        .mirror_put(ObjectKind::Block, s.block_hash, s.block.encode().to_vec())
        .await?;
    sealer
        .replicate_sealed(ObjectKind::Batch, root, &s.batch_bytes)
        .await?;
    failpoint(Stage::AfterBatchReplication);
    sealer
        .replicate_sealed(ObjectKind::Block, s.block_hash, &s.block.encode())
        .await?;
    sealer
        .replicate_sealed(ObjectKind::Timestamp, s.token_hash, s.token.as_bytes())
        .await?;
    let sequenced = sealer.sequence(&s.block.uuid, &s.token_hash, s.iat).await?;
    failpoint(Stage::AfterSequence);
    sealer
        .mirror_put(
            ObjectKind::Attestation,
            sequenced.key,
            sequenced.document.clone(),
        )
        .await?;
    failpoint(Stage::BeforeAttestationReplication);
    sealer
        .replicate_sealed(ObjectKind::Attestation, sequenced.key, &sequenced.document)
        .await?;
    let tip = sealer
        .shared
        .tip()
        .ok_or_else(|| SealError::State("the writer's main chain is empty".to_string()))?;
    if tip.timestamp != s.block.parent_timestamp {
        return Err(SealError::State(format!(
            "block {} does not extend the tip {} (a bug)",
            s.block_hash, tip.block
        )));
    }
    if Some(sequenced.k) != tip.sequence.checked_add(1) {
        return Err(SealError::SequenceGap {
            block: s.block_hash,
            got: sequenced.k,
            expected: tip.sequence.saturating_add(1),
        });
    }
    sealer.shared.finalize(
        MainChainBlock {
            height: tip.height + 1,
            block: s.block_hash,
            timestamp: s.token_hash,
            attestation: sequenced.key,
            sequence: sequenced.k,
            iat: s.iat,
            batch_root: root,
        },
        &s.tx_ids,
    );
    sealer.shared.metrics.seal.observe(s.started.elapsed());
    failpoint(Stage::BeforeRetire);
    let retirer = sealer.retirer.clone();
    let end = s.wal_end;
    match tokio::task::spawn_blocking(move || retirer.retire(end)).await {
        Ok(Ok(())) => sealer.shared.set_healthy(Component::WalRetire),
        Ok(Err(e)) => sealer
            .shared
            .set_unhealthy(Component::WalRetire, e.to_string()),
        Err(e) => sealer
            .shared
            .set_unhealthy(Component::WalRetire, e.to_string()),
    }
    tracing::debug!(block = %s.block_hash, k = sequenced.k, txs = s.tx_ids.len(), "block final");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use verifier_core::batch::Batch;

    fn queued(index: u64) -> Queued {
        let data = Bytes::from(index.to_be_bytes().to_vec());
        Queued {
            index,
            tx: Hash32::digest(&data),
            data,
        }
    }

    /// The batch written straight from the queue is `Batch::encode`'s, byte for byte, at
    /// every head width.
    #[test]
    fn encode_batch_is_batch_encode() {
        for sizes in [
            vec![],
            vec![1],
            vec![23, 24, 255, 256, 65_535, 65_536, 64],
            vec![64; 300],
            vec![0; 70_000],
        ] {
            let queued: Vec<Queued> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let data = Bytes::from(vec![i as u8; n]);
                    Queued {
                        index: i as u64,
                        tx: Hash32::digest(&data),
                        data,
                    }
                })
                .collect();
            let expected = Batch::new(queued.iter().map(|q| q.data.to_vec()).collect()).encode();
            assert_eq!(
                encode_batch(&queued),
                expected,
                "sizes {:?}",
                &sizes[..sizes.len().min(8)]
            );
        }
    }

    /// BatchIt cuts a lone write at once, then at most one batch per seal period
    /// however fast writes arrive, and sooner only at `batch_max`.
    #[tokio::test(start_paused = true)]
    async fn batch_it_cuts_at_most_once_per_period() {
        let period = Duration::from_millis(200);
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let (out_tx, mut out_rx) = mpsc::channel(16);
        let task = tokio::spawn(batch_it(queue_rx, out_tx, 1000, period));
        let start = tokio::time::Instant::now();

        queue_tx.send(queued(0)).unwrap();
        let first = out_rx.recv().await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "a lone write is cut at once"
        );

        // A steady stream: one write every 10 ms for one second.
        let sender = {
            let queue_tx = queue_tx.clone();
            tokio::spawn(async move {
                for i in 1..=100 {
                    queue_tx.send(queued(i)).unwrap();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let mut cuts = Vec::new();
        let mut seen = 1;
        while seen < 101 {
            let batch = out_rx.recv().await.unwrap();
            seen += batch.len();
            cuts.push(start.elapsed());
        }
        sender.await.unwrap();
        for pair in cuts.windows(2) {
            assert!(pair[1] - pair[0] >= period, "cuts {cuts:?}");
        }
        assert!(cuts.len() <= 6, "about one cut per period: {cuts:?}");

        // batch_max cuts sooner.
        for i in 0..2500 {
            queue_tx.send(queued(1000 + i)).unwrap();
        }
        let full = out_rx.recv().await.unwrap();
        assert_eq!(full.len(), 1000);
        drop(queue_tx);
        let mut rest = 0;
        while let Some(batch) = out_rx.recv().await {
            rest += batch.len();
        }
        assert_eq!(rest, 1500);
        task.await.unwrap();
    }
}
