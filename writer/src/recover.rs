//! Startup: the genesis block at first start, the successor chain of `--new-chain`, and
//! recovery from the mirror after any stop or crash.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use replication::Stores;
use verifier_core::batch::Batch;
use verifier_core::block::Block;
use verifier_core::chain::{Audit, AuditBuilder, Auditor, Examined};
use verifier_core::hash::Hash32;
use verifier_core::nsm::VerifyAt;
use verifier_core::snapshot::{ObjectKind, Snapshot};
use verifier_core::time::UnixSeconds;
use verifier_core::trust::TrustDescriptor;

use crate::WriterError;
use crate::fsio;
use crate::health::Component;
use crate::journal::{Mirror, load_snapshot_dir};
use crate::pipeline::{Sealer, make_y, random_uuid};
use crate::services::{SequencerService, TimestampService, now_ms};

/// The data directory's layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `DIR`.
    pub dir: PathBuf,
}

impl Layout {
    /// `DIR/chain.json`: the trust descriptor, written once the genesis block is replicated.
    pub fn chain_json(&self) -> PathBuf {
        self.dir.join("chain.json")
    }
    /// `DIR/wal/`: the write-ahead log.
    pub fn wal(&self) -> PathBuf {
        self.dir.join("wal")
    }
    /// `DIR/objects/`: the mirror (SPEC §2.1 layout).
    pub fn objects(&self) -> PathBuf {
        self.dir.join("objects")
    }
    /// `DIR/stores/`: the default six stores `store-0` … `store-5`.
    pub fn stores(&self) -> PathBuf {
        self.dir.join("stores")
    }
    /// `DIR/standins/tsa/`: the embedded timestamp authority's key.
    pub fn tsa(&self) -> PathBuf {
        self.dir.join("standins").join("tsa")
    }
    /// `DIR/standins/ca/`: the embedded sequencer's test CA.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("standins").join("ca")
    }
    /// `DIR/standins/sequencer/`: the embedded sequencer's seed, PCR0 and `y` log.
    pub fn sequencer(&self) -> PathBuf {
        self.dir.join("standins").join("sequencer")
    }
    /// `DIR/log.key`: the log key (SPEC §9.2), mode 0600.
    pub fn log_key(&self) -> PathBuf {
        self.dir.join("log.key")
    }

    /// `DIR/checkpoints`: the latest checkpoint and the largest one a quorum cosigned.
    pub fn checkpoints(&self) -> PathBuf {
        self.dir.join("checkpoints")
    }

    /// `DIR/chains/`: earlier chains (`<genesis hex>.json` and `<genesis hex>/`).
    pub fn chains(&self) -> PathBuf {
        self.dir.join("chains")
    }
}

fn io(path: &Path, e: &std::io::Error) -> WriterError {
    WriterError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads and parses `chain.json`.
///
/// # Errors
/// [`WriterError`] when it cannot be read or is not a trust descriptor.
pub fn load_trust(path: &Path) -> Result<TrustDescriptor, WriterError> {
    let text = fs::read_to_string(path).map_err(|e| io(path, &e))?;
    TrustDescriptor::from_json(&text).map_err(|e| WriterError::Chain {
        reason: format!("{}: {e}", path.display()),
    })
}

/// The log key and the descriptor the writer runs with (SPEC §9.4, §9.6), from
/// `DIR/chain.json` (`trust`) and `DIR/log.key`: a descriptor without `log_key` (a chain
/// made before v2) gets one made now, and the `--witness-key` policy if it has none, and
/// is written back; a descriptor whose `log_key` is not the key file's is refused. Later
/// starts take the witness policy from `chain.json`, not from `flags` (a difference is
/// logged).
///
/// # Errors
/// [`WriterError`] when the key file cannot be read or made, or does not match.
pub fn checkpoint_trust(
    layout: &Layout,
    trust: TrustDescriptor,
    flags: Option<&verifier_core::trust::WitnessesTrust>,
) -> Result<(TrustDescriptor, verifier_core::tlog::signer::SignerKey), WriterError> {
    let chain = |reason: String| WriterError::Chain { reason };
    let path = layout.log_key();
    let Some(pinned) = trust.log_key().cloned() else {
        let key =
            crate::checkpoints::load_or_create_log_key(&path, &trust.genesis()).map_err(chain)?;
        let witnesses = witnesses_of(&trust).or_else(|| flags.cloned());
        let trust = trust
            .with_checkpoints(Some(key.verifier_key().to_text()), witnesses)
            .map_err(|e| chain(e.to_string()))?;
        let json = layout.chain_json();
        fsio::write_atomic(&json, trust.to_json_pretty().as_bytes()).map_err(|e| io(&json, &e))?;
        tracing::info!("chain.json now names the log key (descriptor v2)");
        return Ok((trust, key));
    };
    if !path.is_file() {
        return Err(chain(format!(
            "chain.json names the log key {}, but {} is missing",
            pinned.to_text(),
            path.display()
        )));
    }
    let key = crate::checkpoints::load_or_create_log_key(&path, &trust.genesis()).map_err(chain)?;
    if key.verifier_key() != pinned {
        return Err(chain(format!(
            "chain.json names the log key {}, but {} holds {}",
            pinned.to_text(),
            path.display(),
            key.verifier_key().to_text()
        )));
    }
    if let Some(flags) = flags {
        if witnesses_of(&trust).as_ref() != Some(flags) {
            tracing::warn!(
                "--witness-key/--quorum differ from chain.json's witnesses; chain.json's count (edit it to change them)"
            );
        }
    }
    Ok((trust, key))
}

/// The `witnesses` section of `trust`, as written.
fn witnesses_of(trust: &TrustDescriptor) -> Option<verifier_core::trust::WitnessesTrust> {
    trust
        .witnesses()
        .map(|p| verifier_core::trust::WitnessesTrust {
            keys: p.keys().iter().map(|k| k.to_text()).collect(),
            quorum: p.quorum() as u64,
        })
}

/// A first start that never finished (no chain.json) left at most an unfinished genesis:
/// remove its mirror and, for the embedded stand-in, its sequencer (whose `k = 0` may be
/// spent), so the genesis can be made again.
///
/// # Errors
/// [`WriterError::Io`].
pub fn clear_unfinished_genesis(
    layout: &Layout,
    embedded_sequencer: bool,
) -> Result<(), WriterError> {
    let mut dirs = vec![layout.objects()];
    if embedded_sequencer {
        dirs.push(layout.sequencer());
    }
    for dir in dirs {
        match fs::remove_dir_all(&dir) {
            Ok(()) => tracing::warn!(dir = %dir.display(), "removed an unfinished genesis"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&dir, &e)),
        }
    }
    Ok(())
}

/// Archives the current chain for `--new-chain`: `chains/<genesis>.json`, the mirror as
/// `chains/<genesis>/objects`, the embedded sequencer as `chains/<genesis>/sequencer`.
/// Returns the `previous` member of the successor's genesis metadata. Safe to repeat after
/// an interruption.
///
/// # Errors
/// [`WriterError`] when the old chain cannot be read or moved.
pub fn archive_chain(
    layout: &Layout,
    embedded_sequencer: bool,
) -> Result<serde_json::Value, WriterError> {
    let trust = load_trust(&layout.chain_json())?;
    let genesis = trust.genesis().to_hex();
    let archive = layout.chains().join(&genesis);
    fs::create_dir_all(&archive).map_err(|e| io(&archive, &e))?;
    let json = fs::read(layout.chain_json()).map_err(|e| io(&layout.chain_json(), &e))?;
    let archived_json = layout.chains().join(format!("{genesis}.json"));
    fsio::write_atomic(&archived_json, &json).map_err(|e| io(&archived_json, &e))?;
    let mut moves = vec![
        (layout.objects(), archive.join("objects")),
        (layout.checkpoints(), archive.join("checkpoints")),
        (layout.log_key(), archive.join("log.key")),
    ];
    if embedded_sequencer {
        moves.push((layout.sequencer(), archive.join("sequencer")));
    }
    for (from, to) in moves {
        if !from.exists() {
            continue;
        }
        if to.exists() {
            // An interrupted earlier --new-chain already moved it; what is here now is
            // an unfinished successor genesis.
            if from.is_dir() {
                fs::remove_dir_all(&from).map_err(|e| io(&from, &e))?;
            } else {
                fs::remove_file(&from).map_err(|e| io(&from, &e))?;
            }
        } else {
            fs::rename(&from, &to).map_err(|e| io(&from, &e))?;
        }
    }
    fsio::sync_dir(&layout.dir).map_err(|e| io(&layout.dir, &e))?;
    let auditor = Auditor::with_backend(&trust, crate::CRYPTO).map_err(|e| WriterError::Chain {
        reason: e.to_string(),
    })?;
    let snapshot = load_snapshot_dir(&archive.join("objects"))?;
    let audit = auditor.audit(&snapshot, &mut |_, _| {});
    let tip = audit.tip();
    Ok(serde_json::json!({
        "genesis": genesis,
        "last_final_timestamp": tip.map(|b| b.timestamp.to_hex()),
        "last_final_time": tip.map(|b| b.iat.0),
        "last_final_height": tip.map(|b| b.height),
    }))
}

/// Makes the genesis block (SPEC §1.2): a batch of one metadata transaction, `t^H = 0^32`,
/// timestamped, replicated, sequenced with `k = 0`; makes the log key named by its origin
/// (`DIR/log.key`); then writes `chain.json` v2 with `log_key` and `witnesses`.
///
/// # Errors
/// [`WriterError`] when a service, the mirror or a store fails, or the sequencer's first
/// number is not 0.
pub async fn create_genesis(
    layout: &Layout,
    timestamps: &dyn TimestampService,
    sequencer: &dyn SequencerService,
    stores: &Stores,
    previous: Option<serde_json::Value>,
    witnesses: Option<verifier_core::trust::WitnessesTrust>,
) -> Result<TrustDescriptor, WriterError> {
    let key = sequencer.public_key().await?;
    let root_pem = sequencer.root_pem().await?;
    let ts_trust = timestamps.trust().await?;
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| WriterError::Chain {
        reason: format!("the random source failed: {e}"),
    })?;
    let mut metadata = serde_json::json!({
        "zipchain_writer_chain": 1,
        "chain": hex::encode(nonce),
        "sequencer_key": hex::encode(key),
        "timestamp_issuer": ts_trust.issuer,
        "created": now_ms().0 / 1000,
    });
    if let (Some(previous), Some(map)) = (previous, metadata.as_object_mut()) {
        map.insert("previous".into(), previous);
    }
    let batch = Batch::new(vec![metadata.to_string().into_bytes()]);
    let block = Block {
        uuid: random_uuid().map_err(|e| WriterError::Chain {
            reason: format!("the random source failed: {e}"),
        })?,
        batch_root: batch.root(),
        parent_timestamp: Hash32::ZERO,
    };
    let genesis = block.hash();
    let trust = services::chain_kit::trust_descriptor_for(
        ts_trust,
        key,
        root_pem.as_deref(),
        sequencer.pcr0(),
        genesis,
    )
    .map_err(|e| WriterError::Chain {
        reason: e.to_string(),
    })?;
    let log_key = crate::checkpoints::create_log_key(&layout.log_key(), &genesis)
        .map_err(|reason| WriterError::Chain { reason })?;
    let trust = trust
        .with_checkpoints(Some(log_key.verifier_key().to_text()), witnesses)
        .map_err(|e| WriterError::Chain {
            reason: e.to_string(),
        })?;
    let auditor = Auditor::with_backend(&trust, crate::CRYPTO).map_err(|e| WriterError::Chain {
        reason: e.to_string(),
    })?;
    let token = timestamps.timestamp(genesis).await?;
    auditor
        .timestamp_verifier()
        .validate(&token)
        .map_err(|e| WriterError::Chain {
            reason: format!("the genesis timestamp does not validate: {e}"),
        })?;
    let token_hash = Hash32::digest(token.as_bytes());
    let mirror = Mirror::open(&layout.objects())?;
    let objects = [
        (ObjectKind::Batch, batch.root(), batch.encode()),
        (ObjectKind::Timestamp, token_hash, token.into_bytes()),
        (ObjectKind::Block, genesis, block.encode().to_vec()),
    ];
    for (kind, key, bytes) in &objects {
        mirror.put(*kind, key, bytes)?;
    }
    for (kind, key, bytes) in &objects {
        stores.put_object(*kind, *key, bytes).await?;
    }
    let document = sequencer.sequence(make_y(&block.uuid, &token_hash)).await?;
    let verified = auditor
        .check_attestation(&document, VerifyAt::DocumentTimestamp)
        .map_err(|e| WriterError::Chain {
            reason: format!("the genesis attestation does not check: {e}"),
        })?;
    if verified.sequence().k != 0 {
        return Err(WriterError::Chain {
            reason: format!(
                "the sequencer numbered the genesis block {}, expected 0: it has sequenced other blocks already (a new chain needs a fresh sequencer)",
                verified.sequence().k
            ),
        });
    }
    mirror.put(ObjectKind::Attestation, &verified.hash(), &document)?;
    stores
        .put_object(ObjectKind::Attestation, verified.hash(), &document)
        .await?;
    let path = layout.chain_json();
    fsio::write_atomic(&path, trust.to_json_pretty().as_bytes()).map_err(|e| io(&path, &e))?;
    tracing::info!(genesis = %genesis, "created a new chain");
    Ok(trust)
}

/// What the mirror says, indexed.
#[derive(Default)]
struct Index {
    blocks: HashMap<Hash32, Block>,
    timestamps_of: HashMap<Hash32, Vec<(Hash32, UnixSeconds)>>,
    attestations_of: HashMap<[u8; 48], Vec<Hash32>>,
}

/// Every object of a snapshot examined once ([`Auditor::examine`]): the verdicts feed
/// both recovery's [`Index`] and the audit ([`AuditBuilder`]), so no object is checked
/// twice. The audit it gives equals [`Auditor::audit`] of the same snapshot.
struct Examination {
    /// One verdict per object, in the snapshot's order (kind by kind in
    /// [`ObjectKind::ALL`] order, then by name), the order [`Auditor::audit`] adds them in.
    verdicts: Vec<(ObjectKind, Hash32, Examined)>,
}

impl Examination {
    /// Examines every object of `snapshot`.
    fn new(auditor: &Auditor, snapshot: &Snapshot) -> Self {
        let verdicts = snapshot
            .iter()
            .map(|(kind, key, bytes)| (kind, *key, auditor.examine(kind, &key.to_hex(), bytes)))
            .collect();
        Self { verdicts }
    }

    /// The blocks, timestamps and attestations that passed, indexed for re-driving.
    fn index(&self) -> Index {
        let mut ix = Index::default();
        for (_, _, examined) in &self.verdicts {
            match examined {
                Examined::Block { key, block } => {
                    ix.blocks.insert(*key, *block);
                }
                Examined::Timestamp { key, attests, iat } => {
                    ix.timestamps_of
                        .entry(*attests)
                        .or_default()
                        .push((*key, *iat));
                }
                Examined::Attestation { key, y, .. } => {
                    ix.attestations_of.entry(*y).or_default().push(*key);
                }
                _ => {}
            }
        }
        ix
    }

    /// Examines an object that was put in the snapshot after [`Examination::new`]
    /// (`bytes` under `key`), in its place in the order; it replaces the verdict on an
    /// earlier object of the same name, as it replaced its bytes.
    fn insert(&mut self, auditor: &Auditor, kind: ObjectKind, key: Hash32, bytes: &[u8]) {
        let examined = auditor.examine(kind, &key.to_hex(), bytes);
        match self
            .verdicts
            .binary_search_by(|(k, h, _)| (*k, *h).cmp(&(kind, key)))
        {
            Ok(at) => {
                if let Some(slot) = self.verdicts.get_mut(at) {
                    slot.2 = examined;
                }
            }
            Err(at) => self.verdicts.insert(at, (kind, key, examined)),
        }
    }

    /// The audit of `snapshot`, whose objects are the examined ones: what
    /// [`Auditor::audit`] gives, without examining them again.
    fn audit(self, auditor: &Auditor, snapshot: &Snapshot) -> Audit {
        let mut builder = AuditBuilder::new(auditor.genesis());
        for (kind, _, examined) in self.verdicts {
            builder.add(kind, examined);
        }
        for &(kind, key, size) in snapshot.oversized() {
            builder.add(kind, Examined::oversized(kind, &key, size));
        }
        builder.finish(snapshot)
    }
}

/// The outcome of recovery.
#[derive(Debug)]
pub struct Recovered {
    /// The audit of the mirror after re-driving.
    pub audit: Audit,
    /// Why sealing must not resume, if it must not.
    pub halt: Option<String>,
}

/// Recovers from the mirror: re-drives every mirrored block whose attestation is missing
/// (replicate b/m/t again, ask the sequencer again for the same `y`, mirror and replicate
/// the attestation), audits, and replicates again the objects that may not have reached
/// every store (the tip's, and those of every block off the main chain). Each object is
/// examined once: the same verdicts find the blocks to re-drive and make the audit.
///
/// # Errors
/// [`WriterError`] when the mirror cannot be read or holds no chain for chain.json.
pub async fn recover(sealer: &Sealer) -> Result<Recovered, WriterError> {
    let mirror = &sealer.shared.mirror;
    let mut snapshot = mirror.load()?;
    let mut examination = Examination::new(&sealer.auditor, &snapshot);
    let ix = examination.index();
    let mut redrive: Vec<(UnixSeconds, Hash32, Hash32)> = Vec::new();
    for (hash, block) in &ix.blocks {
        for (t, iat) in ix.timestamps_of.get(hash).into_iter().flatten() {
            if !ix.attestations_of.contains_key(&make_y(&block.uuid, t)) {
                redrive.push((*iat, *hash, *t));
            }
        }
    }
    redrive.sort();
    let mut halt = None;
    for (iat, hash, t) in redrive {
        let Some(block) = ix.blocks.get(&hash) else {
            continue;
        };
        tracing::info!(block = %hash, "re-driving a block whose attestation is missing");
        replicate_mirrored(sealer, &snapshot, ObjectKind::Batch, &block.batch_root).await?;
        replicate_mirrored(sealer, &snapshot, ObjectKind::Block, &hash).await?;
        replicate_mirrored(sealer, &snapshot, ObjectKind::Timestamp, &t).await?;
        match sealer.sequence(&block.uuid, &t, iat).await {
            Ok(s) => {
                sealer
                    .store(ObjectKind::Attestation, s.key, s.document.clone())
                    .await
                    .map_err(|e| WriterError::Chain {
                        reason: e.to_string(),
                    })?;
                examination.insert(&sealer.auditor, ObjectKind::Attestation, s.key, &s.document);
                snapshot.insert(ObjectKind::Attestation, s.key, s.document);
            }
            Err(reason) => {
                halt = Some(reason.to_string());
                break;
            }
        }
    }
    let audit = examination.audit(&sealer.auditor, &snapshot);
    let Some(tip) = audit.tip().cloned() else {
        return Err(WriterError::Chain {
            reason: format!(
                "the mirror {} holds no chain for genesis {} (was it deleted?)",
                mirror.root().display(),
                sealer.auditor.genesis()
            ),
        });
    };
    if !audit.equivocations.is_empty() {
        sealer.shared.set_unhealthy(
            Component::Audit,
            format!("the sequencer equivocated: {:?}", audit.equivocations),
        );
    }
    // Replicate again what may not have reached every store (identical shards are success).
    let on_main: HashSet<Hash32> = audit.main_chain.iter().map(|b| b.block).collect();
    let mut again: Vec<(ObjectKind, Hash32)> = vec![
        (ObjectKind::Batch, tip.batch_root),
        (ObjectKind::Block, tip.block),
        (ObjectKind::Timestamp, tip.timestamp),
        (ObjectKind::Attestation, tip.attestation),
    ];
    for (hash, block) in &ix.blocks {
        if on_main.contains(hash) {
            continue;
        }
        again.push((ObjectKind::Batch, block.batch_root));
        again.push((ObjectKind::Block, *hash));
        for (t, _) in ix.timestamps_of.get(hash).into_iter().flatten() {
            again.push((ObjectKind::Timestamp, *t));
            let y = make_y(&block.uuid, t);
            for a in ix.attestations_of.get(&y).into_iter().flatten() {
                again.push((ObjectKind::Attestation, *a));
            }
        }
    }
    for (kind, key) in again {
        replicate_mirrored(sealer, &snapshot, kind, &key).await?;
    }
    tracing::info!(
        height = tip.height,
        tip = %tip.block,
        final_transactions = audit.final_transactions.len(),
        "recovered the main chain from the mirror"
    );
    Ok(Recovered { audit, halt })
}

async fn replicate_mirrored(
    sealer: &Sealer,
    snapshot: &Snapshot,
    kind: ObjectKind,
    key: &Hash32,
) -> Result<(), WriterError> {
    if let Some(bytes) = snapshot.get(kind, key) {
        sealer
            .replicate(kind, *key, bytes)
            .await
            .map_err(|e| WriterError::Chain {
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::*;
    use crate::{Config, Writer};

    /// A mirror the real writer made: a few blocks of transactions on a genesis.
    async fn mirror_of_a_run(dir: &Path) -> (Auditor, Snapshot) {
        let mut config = Config::new(dir);
        config.batch_wait = Duration::from_millis(20);
        config.batch_max = 2;
        let writer = Writer::start(&config).await.unwrap();
        for i in 0..5u8 {
            let d = Bytes::from(vec![b't', i]);
            let tx = Hash32::digest(&d);
            writer.wal.write_one(d, tx).await.unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while writer.shared.metrics.queue_depth.load(Ordering::Relaxed) > 0 {
            assert!(Instant::now() < deadline, "never final");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        writer.shutdown(Duration::from_secs(20)).await;
        let layout = Layout {
            dir: dir.to_path_buf(),
        };
        // StoreIt retired every record of the final blocks through the log's retirer.
        let (wal, records) = crate::wal::Wal::open(&layout.wal()).unwrap();
        assert!(records.is_empty(), "{records:?}");
        assert_eq!(wal.retirer().cursor(), wal.next_index());
        let auditor = Auditor::new(&load_trust(&layout.chain_json()).unwrap()).unwrap();
        (auditor, load_snapshot_dir(&layout.objects()).unwrap())
    }

    fn audited(auditor: &Auditor, snapshot: &Snapshot) -> Audit {
        auditor.audit(snapshot, &mut |_, _| {})
    }

    /// Issue #14: recovery examines each object once, and the audit it makes of those
    /// verdicts is the auditor's own, also when objects were examined after the rest
    /// (an attestation re-driving brought) or replaced a corrupt file of the same name.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_examination_audits_as_the_auditor() {
        let tmp = tempfile::tempdir().unwrap();
        let (auditor, mut snapshot) = mirror_of_a_run(tmp.path()).await;
        // An object that fails, beside the good ones.
        snapshot.insert(ObjectKind::Block, Hash32::digest(b"junk"), b"junk".to_vec());
        let expected = audited(&auditor, &snapshot);
        assert!(expected.main_chain.len() >= 3, "{:?}", expected.main_chain);
        assert_eq!(expected.invalid_objects.len(), 1);
        let examination = Examination::new(&auditor, &snapshot);
        let ix = examination.index();
        assert_eq!(ix.blocks.len(), expected.main_chain.len());
        assert_eq!(ix.attestations_of.len(), expected.main_chain.len());
        assert_eq!(examination.audit(&auditor, &snapshot), expected);

        // The tip's attestation missing, then brought by re-driving.
        let tip = expected.tip().cloned().unwrap();
        let document = snapshot
            .remove(ObjectKind::Attestation, &tip.attestation)
            .unwrap();
        let mut examination = Examination::new(&auditor, &snapshot);
        assert_eq!(
            examination.index().attestations_of.len(),
            expected.main_chain.len() - 1
        );
        assert_ne!(
            audited(&auditor, &snapshot).main_chain,
            expected.main_chain,
            "without its attestation the tip is not final"
        );
        examination.insert(
            &auditor,
            ObjectKind::Attestation,
            tip.attestation,
            &document,
        );
        snapshot.insert(ObjectKind::Attestation, tip.attestation, document.clone());
        assert_eq!(examination.audit(&auditor, &snapshot), expected);

        // A corrupt file under the attestation's name, replaced by re-driving.
        snapshot.insert(ObjectKind::Attestation, tip.attestation, b"torn".to_vec());
        let mut examination = Examination::new(&auditor, &snapshot);
        assert_eq!(audited(&auditor, &snapshot).invalid_objects.len(), 2);
        examination.insert(
            &auditor,
            ObjectKind::Attestation,
            tip.attestation,
            &document,
        );
        snapshot.insert(ObjectKind::Attestation, tip.attestation, document);
        assert_eq!(examination.audit(&auditor, &snapshot), expected);
    }
}
