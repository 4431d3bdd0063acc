//! What the writer knows, shared by the HTTP handlers and the pipeline: its own main chain,
//! the transactions final on it and those still pending, the health reasons, the metrics.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use verifier_core::certificate::{
    Certificate, CertificateParts, MakeCertificateError, read_timestamp,
};
use verifier_core::chain::MainChainBlock;
use verifier_core::hash::Hash32;
use verifier_core::sequence::SequencerKey;
use verifier_core::trust::TrustDescriptor;

use verifier_core::tlog::tree::{self, LogTree};

use crate::checkpoints::Checkpoints;
use crate::health::{Component, HealthBoard};
use crate::journal::Mirror;
use crate::metrics::Metrics;
use crate::witness_push::Witnesses;

/// The status of a transaction id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Acknowledged, not yet in a final block.
    Pending,
    /// First in the final main-chain block at this height.
    Final(u64),
}

/// The map of transaction ids the writer keeps (pending and final), hashed with
/// [`foldhash`] under a random per-process seed rather than SipHash.
///
/// Every acknowledged transaction is inserted once and removed or looked up a few times, so
/// the hash is on the write path. Why a fast hasher is safe here: the keys are SHA3-256
/// outputs. A client chooses `d`, not `H(d)`; to crowd one bucket it would have to grind
/// SHA3 preimages for bucket bits it cannot even see, since the seed is random per process
/// and never leaves it. SipHash's guarantee buys nothing against that.
pub type TxMap<V> = HashMap<Hash32, V, foldhash::fast::RandomState>;

/// The main chain the writer has built (audited at startup, extended block by block) and
/// the transactions on and off it.
#[derive(Debug, Default)]
pub struct Ledger {
    /// The main chain, `b0` first.
    pub main: Vec<MainChainBlock>,
    /// Every final transaction: the height of its first main-chain occurrence after `b0`.
    pub finals: TxMap<u64>,
    /// Acknowledged transactions not final yet, with how many times each is queued.
    pub pending: TxMap<u32>,
    /// The main chain's log (SPEC §9.1), one leaf per block of `main`, with its subtree
    /// hashes: checkpoints, inclusion and consistency proofs in O(log² n).
    pub log: LogTree,
}

/// State shared by the HTTP handlers and the pipeline.
///
/// Who writes what: `trust`, `chain_json` and `mirror` are set once, by [`Shared::new`].
/// The ledger is private and changes through three methods, one per party: startup
/// (`Shared::restore`, once, with what recovery proved), the appender
/// ([`Shared::add_pending`]; startup too, for the re-queued records, before the appender
/// runs) and StoreIt ([`Shared::finalize`]); the HTTP handlers only read it. The health
/// board goes through [`Shared::set_unhealthy`] and [`Shared::set_healthy`], by
/// [`Component`]: `wal` the appender; `wal-retire` StoreIt; `mirror`, `stores`,
/// `sequencer`, `timestamp` the [`Sealer`](crate::pipeline::Sealer)'s calls (the sealing
/// stages, and recovery before they start); `sealing` the stage that halts, or startup;
/// `audit` recovery; `checkpoints` the checkpoint signer. The metrics are atomics, each
/// counted where its event happens.
#[derive(Debug)]
pub struct Shared {
    /// The trust descriptor (`chain.json`).
    pub trust: TrustDescriptor,
    /// `chain.json` as served.
    pub chain_json: String,
    /// The object mirror certificates are read from.
    pub mirror: Mirror,
    /// The log key, the checkpoints and their cosignatures.
    pub checkpoints: Checkpoints,
    /// Woken after each new final block (the checkpoint signer waits on it).
    pub finalized: tokio::sync::Notify,
    /// The writer's chain and transactions.
    ledger: RwLock<Ledger>,
    /// What fails, by component (no reason when healthy), and how often it failed.
    pub health: HealthBoard,
    /// The metrics.
    pub metrics: Metrics,
    /// The witnesses checkpoints are pushed to (`--witness`) and what is known of each.
    pub witnesses: Witnesses,
    /// The certificate parts of recent main-chain blocks (see [`PartsCache`]).
    parts: Mutex<PartsCache>,
}

/// The [`CertificateParts`] of the most recently asked main-chain blocks: a certificate
/// of a block in it costs a path lookup, not a read and a hash of its whole batch (a batch
/// of 10,000 transactions took milliseconds a certificate, which polling clients turned
/// into the writer's main cost). Bounded by [`PartsCache::MAX_TRANSACTIONS`] transactions
/// (about 96 bytes of tree and ids each) and [`PartsCache::MAX_BLOCKS`] blocks.
#[derive(Debug, Default)]
struct PartsCache {
    /// `(height, parts)`, the most recently used last.
    blocks: std::collections::VecDeque<(u64, Arc<CertificateParts>)>,
    /// The transactions of the batches held.
    transactions: usize,
}

impl PartsCache {
    /// At most this many transactions' worth of batches (about 25 MB).
    const MAX_TRANSACTIONS: usize = 1 << 18;
    /// At most this many blocks.
    const MAX_BLOCKS: usize = 256;

    fn get(&mut self, height: u64) -> Option<Arc<CertificateParts>> {
        let at = self.blocks.iter().position(|(h, _)| *h == height)?;
        let entry = self.blocks.remove(at)?;
        let parts = Arc::clone(&entry.1);
        self.blocks.push_back(entry);
        Some(parts)
    }

    fn insert(&mut self, height: u64, parts: Arc<CertificateParts>) {
        if self.blocks.iter().any(|(h, _)| *h == height) {
            return;
        }
        self.transactions += parts.transactions();
        self.blocks.push_back((height, parts));
        while self.blocks.len() > Self::MAX_BLOCKS
            || (self.transactions > Self::MAX_TRANSACTIONS && self.blocks.len() > 1)
        {
            match self.blocks.pop_front() {
                Some((_, old)) => self.transactions -= old.transactions(),
                None => break,
            }
        }
    }
}

/// What `/healthz` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// Why the writer is not sealing (it is unhealthy), as `component: reason`.
    pub unhealthy: Vec<String>,
    /// Why it is degraded though sealing (the witnesses), as `witness <URL>: reason`.
    pub degraded: Vec<String>,
}

impl Shared {
    /// Shared state for `trust` over `ledger`, pushing checkpoints to `witnesses`.
    pub fn new(
        trust: TrustDescriptor,
        mirror: Mirror,
        checkpoints: Checkpoints,
        ledger: Ledger,
        witnesses: Witnesses,
    ) -> Self {
        let metrics = Metrics::default();
        metrics.queue_depth.store(
            ledger.pending.values().map(|n| u64::from(*n)).sum(),
            Ordering::Relaxed,
        );
        Self {
            chain_json: trust.to_json_pretty(),
            trust,
            mirror,
            checkpoints,
            finalized: tokio::sync::Notify::new(),
            ledger: RwLock::new(ledger),
            health: HealthBoard::default(),
            metrics,
            witnesses,
            parts: Mutex::new(PartsCache::default()),
        }
    }

    /// Replaces the ledger with `ledger` (startup: the main chain and final transactions
    /// recovery proved), before any write is taken.
    pub(crate) fn restore(&self, mut ledger: Ledger) {
        ledger.log = verifier_core::tlog::log::tree(&ledger.main);
        self.checkpoints.restore(&ledger.log);
        let queued = ledger.pending.values().map(|n| u64::from(*n)).sum();
        *self.write() = ledger;
        self.metrics.queue_depth.store(queued, Ordering::Relaxed);
    }

    /// Records a failed attempt of `component`, and why ([`HealthBoard::set_unhealthy`]).
    pub fn set_unhealthy(&self, component: Component, reason: String) {
        self.health.set_unhealthy(component, reason);
    }

    /// Records that `component` works again.
    pub fn set_healthy(&self, component: Component) {
        self.health.set_healthy(component);
    }

    /// The reasons the writer is unhealthy, as `component: reason`.
    pub fn health_reasons(&self) -> Vec<String> {
        self.health.reasons()
    }

    /// The writer's health: the reasons it is not sealing, and those it is degraded for
    /// (witnesses that fail: sealing and writes go on, certificates may stay v1).
    pub fn health(&self) -> Health {
        Health {
            unhealthy: self.health_reasons(),
            degraded: self
                .witnesses
                .health(self.trust.witnesses().map(|p| p.quorum())),
        }
    }

    /// The Prometheus text of every metric: the counters, the faults', the checkpoints',
    /// the witnesses'.
    pub fn metrics_text(&self) -> String {
        let height = self.tip().map_or(0, |b| b.height);
        let mut text = self.metrics.render(height);
        self.health.render(&mut text);
        let latest = self.checkpoints.latest_signed();
        crate::metrics::render_checkpoints(
            &mut text,
            latest.as_ref().map(|s| (s.size, s.at)),
            self.checkpoints.cosigned_size(),
            std::time::SystemTime::now(),
        );
        self.witnesses
            .render(&mut text, latest.as_ref().map_or(0, |s| s.size));
        text
    }

    /// The consistency proof from the main chain's log at `old` entries to `size`.
    ///
    /// # Errors
    /// [`tree::ProofError`] when `old > size` or `size` is beyond the log.
    pub fn consistency_proof(
        &self,
        old: u64,
        size: u64,
    ) -> Result<Vec<tree::LogHash>, tree::ProofError> {
        self.read().log.consistency_proof(old, size)
    }

    /// The main chain's tip.
    pub fn tip(&self) -> Option<MainChainBlock> {
        self.read().main.last().cloned()
    }

    /// The status of `tx`, `None` when the writer never acknowledged it (since its queue
    /// was last emptied of it).
    pub fn status(&self, tx: &Hash32) -> Option<TxStatus> {
        let ledger = self.read();
        if let Some(h) = ledger.finals.get(tx) {
            return Some(TxStatus::Final(*h));
        }
        ledger.pending.contains_key(tx).then_some(TxStatus::Pending)
    }

    /// Marks transactions acknowledged (pending).
    pub fn add_pending<'a>(&self, txs: impl Iterator<Item = &'a Hash32>) {
        let mut ledger = self.write();
        let mut n = 0;
        for tx in txs {
            *ledger.pending.entry(*tx).or_insert(0) += 1;
            n += 1;
        }
        self.metrics.queue_depth.fetch_add(n, Ordering::Relaxed);
    }

    /// Appends a final block to the main chain and marks its transactions final.
    pub fn finalize(&self, entry: MainChainBlock, tx_ids: &[Hash32]) {
        let mut ledger = self.write();
        let height = entry.height;
        ledger.log.push(tree::leaf_hash(&tree::entry(
            &entry.block,
            &entry.timestamp,
        )));
        ledger.main.push(entry);
        let mut dequeued = 0;
        for tx in tx_ids {
            ledger.finals.entry(*tx).or_insert(height);
            // One lookup for both the count and its removal.
            if let Entry::Occupied(mut n) = ledger.pending.entry(*tx) {
                *n.get_mut() -= 1;
                dequeued += 1;
                if *n.get() == 0 {
                    n.remove();
                }
            }
        }
        drop(ledger);
        let m = &self.metrics;
        m.queue_depth.fetch_sub(dequeued, Ordering::Relaxed);
        m.blocks_sealed.fetch_add(1, Ordering::Relaxed);
        m.transactions_final
            .fetch_add(tx_ids.len() as u64, Ordering::Relaxed);
        self.finalized.notify_one();
    }

    /// The certificate of `tx` (SPEC §3), `Ok(None)` when it is not final.
    ///
    /// # Errors
    /// [`MakeCertificateError`] when the mirror cannot give the objects back.
    pub fn certificate(&self, tx: &Hash32) -> Result<Option<Certificate>, MakeCertificateError> {
        let (entry, prev) = {
            let ledger = self.read();
            let Some(height) = ledger.finals.get(tx).copied() else {
                return Ok(None);
            };
            let at = |h: u64| {
                usize::try_from(h)
                    .ok()
                    .and_then(|h| ledger.main.get(h))
                    .cloned()
            };
            match (at(height), height.checked_sub(1).and_then(at)) {
                (Some(entry), Some(prev)) => (entry, prev),
                _ => return Ok(None),
            }
        };
        let key: SequencerKey = self.trust.sequencer_key();
        let parts = self.certificate_parts(&entry)?;
        let lower = match self.cached_parts(prev.height) {
            Some(p) => p.timestamp().to_owned(),
            None => read_timestamp(&self.mirror, &prev.timestamp)?,
        };
        let mut cert = parts.certificate(self.trust.genesis(), &key, &entry, &prev, &lower, tx)?;
        self.checkpoints.attach(&mut cert, &self.read().log);
        Ok(Some(cert))
    }

    /// The certificate parts of the main-chain block `entry`, from the cache or read from
    /// the mirror (and then kept).
    fn certificate_parts(
        &self,
        entry: &MainChainBlock,
    ) -> Result<Arc<CertificateParts>, MakeCertificateError> {
        if let Some(parts) = self.cached_parts(entry.height) {
            return Ok(parts);
        }
        // Read outside the lock: concurrent first asks may read twice, never wait.
        let parts = Arc::new(CertificateParts::read(&self.mirror, entry)?);
        self.parts_cache().insert(entry.height, Arc::clone(&parts));
        Ok(parts)
    }

    fn cached_parts(&self, height: u64) -> Option<Arc<CertificateParts>> {
        self.parts_cache().get(height)
    }

    fn parts_cache(&self) -> std::sync::MutexGuard<'_, PartsCache> {
        self.parts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Signs a checkpoint of the main chain unless the latest one has its size.
    ///
    /// # Errors
    /// A message when the checkpoint cannot be kept.
    pub fn sign_checkpoint(&self) -> Result<bool, String> {
        self.checkpoints.sign(&self.read().log)
    }

    /// Takes the witnesses' cosignatures in `note` (`POST /v1/checkpoint/cosignatures`).
    ///
    /// # Errors
    /// The reason, for a `400`.
    pub fn add_cosignatures(&self, note: &str) -> Result<crate::checkpoints::Accepted, String> {
        self.checkpoints.add_cosignatures(note, &self.read().log)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ledger> {
        self.ledger.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Ledger> {
        self.ledger.write().unwrap_or_else(PoisonError::into_inner)
    }
}
