//! # zipchain test kit
//!
//! Builds REAL zipchain chains in memory, for tests and benchmarks of the audit:
//!
//! - every timestamp is an RS256 JWT issued by a [`TimestampAuthority`] (the Cognito
//!   stand-in) over `H(b)`;
//! - every enclave attestation is an NSM document issued by a [`nsm_issuer::TestCa`]
//!   through a [`Sequencer`], carrying a real Ed25519 sequence attestation;
//! - every object is stored in a [`Snapshot`] under its SPEC §2.1 name, so that
//!   [`ChainKit::audit`] runs the verifier core exactly as `zipchain audit` does.
//!
//! A kit starts with a genesis block (one metadata transaction, `t^H = 0^32`, `k = 0`).
//! [`ChainKit::append`] builds a block on any earlier block, so forks are a matter of
//! appending twice to the same parent: the block sequenced first gets the lower `k` and
//! wins (SPEC §4, §5). The other builders make the situations an auditor must
//! recognise: a block never sequenced ([`ChainKit::append_unsequenced`]), an
//! attestation held back and published later ([`ChainKit::append_withheld`],
//! [`ChainKit::publish`]), the same block sequenced twice ([`ChainKit::resequence`]) and
//! an equivocating sequencer ([`ChainKit::equivocate`]).
//!
//! Time: the kit keeps a clock in Unix seconds that starts at [`START_SECS`] and
//! advances by one second for every block built; each block's `iat` is the clock at its
//! building, and each enclave document is made [`DOCUMENT_DELAY_MS`] after the clock
//! at its sequencing.
//!
//! This is test tooling: the builders panic (with a message) if a stand-in service
//! fails, which with the kit's own well-formed inputs means a bug in the services.
//!
//! [`moto`] starts a real S3 (`moto_server`) on loopback for the store tests (issue #15);
//! [`azurite`] a real Azure Blob service (Azurite) and [`gcs_emulator`] a GCS emulator
//! (`gcp-storage-emulator`), for the `az://` and `gs://` stores.
//!
//! For the writer's fault tests and soak (issue #18): [`exactly_once`] checks that every
//! acknowledged transaction is final exactly once on a pulled main chain, and
//! [`fault_proxy`] puts a service behind a proxy that forwards, stalls, delays or drops;
//! [`tmpfs`] mounts a small file system a test can fill.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod azurite;
pub mod bench_args;
pub mod cognito_tokens;
pub mod exactly_once;
pub mod fault_proxy;
pub mod gcs_emulator;
mod loopback;
pub mod moto;
pub mod tmpfs;

use std::collections::BTreeMap;
use std::path::Path;

use nsm_issuer::TestCa;
use services::chain_kit::trust_descriptor;
use services::sequencer::{STATE_FILE, SequencedDocument, Sequencer};
use services::tsa::TimestampAuthority;
use snapshot_fs::atomic::Durability;
use snapshot_fs::dir::DirError;
use verifier_core::batch::Batch;
use verifier_core::block::Block;
use verifier_core::chain::{Audit, Auditor};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, Snapshot};
use verifier_core::time::UnixMillis;
use verifier_core::trust::TrustDescriptor;

/// The kit clock's first value (Unix seconds): the genesis block's `iat`.
pub const START_SECS: u64 = 1_795_000_000;

/// How long after the kit clock an enclave document is made, in milliseconds.
pub const DOCUMENT_DELAY_MS: u64 = 250;

/// The `iss` of the kit's timestamp authority (a Cognito-shaped pool URL).
pub const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ZipTestKit";

/// The username domain of the kit's timestamps.
pub const USERNAME_DOMAIN: &str = "bky.sh";

/// Why a kit could not be made or written.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KitError {
    /// A stand-in service failed.
    #[error("stand-in service: {0}")]
    Service(#[from] services::ServiceError),
    /// The test CA failed.
    #[error("test CA: {0}")]
    Issuer(#[from] nsm_issuer::IssuerError),
    /// The random source failed.
    #[error("random source: {reason}")]
    Random {
        /// What the OS said.
        reason: String,
    },
    /// A file or directory could not be written or read.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

fn io_error(path: &Path, e: &dyn std::fmt::Display) -> KitError {
    KitError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// A snapshot directory error as [`KitError::Io`]: its path, and the operating system's
/// words.
fn dir_error(e: DirError) -> KitError {
    let path = e.path().display().to_string();
    let reason = match e {
        DirError::Read { reason, .. } | DirError::Write { reason, .. } => reason,
        other => other.to_string(),
    };
    KitError::Io { path, reason }
}

/// One block the kit built, with the keys of its objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltBlock {
    /// `H(b)`: the block's key.
    pub block: Hash32,
    /// The block's UUIDv4 `u`.
    pub uuid: [u8; 16],
    /// `m^H`: the batch's key.
    pub batch_root: Hash32,
    /// `b.t^H`: the parent's timestamp key (`0^32` for genesis).
    pub parent_timestamp: Hash32,
    /// `H(t)`: the block's timestamp key.
    pub timestamp: Hash32,
    /// `t.iat` in Unix seconds.
    pub iat: u64,
    /// `H(a)` of the block's enclave attestation, once sequenced (stored in the
    /// snapshot unless withheld).
    pub attestation: Option<Hash32>,
    /// `a.s.k`, once sequenced.
    pub k: Option<u64>,
    /// Height in the kit's block tree (0 for genesis): the parent's height plus one.
    pub height: u64,
    /// The transactions, in batch order.
    pub txs: Vec<Vec<u8>>,
}

impl BuiltBlock {
    /// The transaction ids `H(d)`, in batch order.
    pub fn tx_ids(&self) -> Vec<Hash32> {
        self.txs.iter().map(|d| Hash32::digest(d)).collect()
    }

    /// `y = u ++ H(t)`: what the sequencer attests for this block.
    pub fn y(&self) -> [u8; 48] {
        verifier_core::triple::y(&self.uuid, &self.timestamp)
    }
}

/// A block, its batch and its timestamp, made but not yet stored nor sequenced (see
/// [`seal`]): the expensive RSA half of building a block, which needs only the TSA and
/// can run on another thread than the sequencer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// What the block is (`attestation` and `k` still `None`).
    pub built: BuiltBlock,
    /// The 81 block bytes.
    pub block_bytes: Vec<u8>,
    /// The CBOR batch.
    pub batch_bytes: Vec<u8>,
    /// The JWT text.
    pub token: String,
}

impl Sealed {
    /// The three objects as `(kind, key, bytes)`, ready for a snapshot.
    pub fn objects(&self) -> [(ObjectKind, Hash32, &[u8]); 3] {
        [
            (ObjectKind::Batch, self.built.batch_root, &self.batch_bytes),
            (ObjectKind::Block, self.built.block, &self.block_bytes),
            (
                ObjectKind::Timestamp,
                self.built.timestamp,
                self.token.as_bytes(),
            ),
        ]
    }
}

/// Builds the block `⟨uuid, m^H, parent.t^H⟩` over `txs` on `parent` and has `tsa`
/// timestamp `H(b)` at `iat`.
///
/// # Panics
/// If the TSA cannot sign (it never fails for a 32-byte `y` and a sane `iat`).
pub fn seal(
    tsa: &TimestampAuthority,
    parent: &BuiltBlock,
    uuid: [u8; 16],
    txs: Vec<Vec<u8>>,
    iat: u64,
) -> Sealed {
    seal_on(tsa, parent.timestamp, parent.height + 1, uuid, txs, iat)
}

fn seal_on(
    tsa: &TimestampAuthority,
    parent_timestamp: Hash32,
    height: u64,
    uuid: [u8; 16],
    txs: Vec<Vec<u8>>,
    iat: u64,
) -> Sealed {
    let batch = Batch::new(txs);
    let batch_root = batch.root();
    let block = Block {
        uuid,
        batch_root,
        parent_timestamp,
    };
    let block_hash = block.hash();
    let token = tsa
        .issue(block_hash.as_bytes(), iat)
        .expect("the TSA signs a block hash");
    let batch_bytes = batch.encode();
    Sealed {
        built: BuiltBlock {
            block: block_hash,
            uuid,
            batch_root,
            parent_timestamp,
            timestamp: Hash32::digest(token.as_bytes()),
            iat,
            attestation: None,
            k: None,
            height,
            txs: batch.into_txs(),
        },
        block_bytes: block.encode().to_vec(),
        batch_bytes,
        token,
    }
}

/// A random UUIDv4 from the OS random source.
///
/// # Errors
/// [`KitError::Random`] if the random source fails.
pub fn random_uuid() -> Result<[u8; 16], KitError> {
    let mut u = [0u8; 16];
    getrandom::fill(&mut u).map_err(|e| KitError::Random {
        reason: e.to_string(),
    })?;
    Ok(v4(u))
}

fn v4(mut u: [u8; 16]) -> [u8; 16] {
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// A chain under construction: the stand-in services, the trust descriptor that pins
/// them, the snapshot holding every published object, and the blocks built so far.
pub struct ChainKit {
    tsa: TimestampAuthority,
    sequencer: Sequencer,
    root_pem: String,
    nonce: [u8; 32],
    trust: TrustDescriptor,
    snapshot: Snapshot,
    clock: u64,
    blocks: Vec<BuiltBlock>,
    /// Withheld enclave documents by `H(a)`.
    withheld: BTreeMap<Hash32, Vec<u8>>,
}

impl std::fmt::Debug for ChainKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKit")
            .field("genesis", &self.trust.genesis())
            .field("blocks", &self.blocks.len())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Default for ChainKit {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainKit {
    /// A new chain with fresh keys (a TSA, a test CA and a sequencer) and its genesis
    /// block `b0`: a batch holding one metadata transaction (UTF-8 JSON), `t^H = 0^32`,
    /// timestamped at [`START_SECS`] and sequenced with `k = 0`, all stored.
    ///
    /// # Panics
    /// If [`ChainKit::try_new`] fails.
    pub fn new() -> Self {
        Self::try_new().expect("the stand-in services start")
    }

    /// As [`ChainKit::new`], reporting failures of key generation.
    ///
    /// # Errors
    /// [`KitError`] when a key cannot be generated or the descriptor built.
    pub fn try_new() -> Result<Self, KitError> {
        let start = UnixMillis(START_SECS * 1000);
        let tsa = TimestampAuthority::generate(ISSUER, USERNAME_DOMAIN)?;
        let ca = TestCa::generate(start)?;
        let root_pem = ca.root_pem();
        let module_id = ca.module_id().to_owned();
        let pcr0 = services::sequencer::self_measurement();
        let mut sequencer = Sequencer::new(ca, module_id, pcr0)?;
        let mut nonce = [0u8; 32];
        getrandom::fill(&mut nonce).map_err(|e| KitError::Random {
            reason: e.to_string(),
        })?;

        let metadata = serde_json::json!({
            "zipchain_testkit": 1,
            "chain": hex::encode(nonce),
            "sequencer_key": hex::encode(sequencer.public_key()),
            "timestamp_issuer": ISSUER,
        })
        .to_string()
        .into_bytes();
        let mut sealed = seal_on(
            &tsa,
            Hash32::ZERO,
            0,
            uuid_for(&nonce, 0),
            vec![metadata],
            START_SECS,
        );
        sealed.built.height = 0;
        let doc = sequencer.sequence(sealed.built.y(), document_time(START_SECS))?;
        let genesis = sealed.built.block;
        let trust = trust_descriptor(&tsa, sequencer.public_key(), &root_pem, Some(pcr0), genesis)?;
        let mut kit = Self {
            tsa,
            sequencer,
            root_pem,
            nonce,
            trust,
            snapshot: Snapshot::new(),
            clock: START_SECS,
            blocks: Vec::new(),
            withheld: BTreeMap::new(),
        };
        kit.snapshot
            .set_chain_json(Some(kit.trust.to_json_pretty().into_bytes()));
        kit.store_sealed(&sealed);
        let mut built = sealed.built;
        kit.attach(&mut built, doc, true);
        kit.blocks.push(built);
        Ok(kit)
    }

    /// The trust descriptor (SPEC §1.6) pinning this chain's genesis, sequencer key,
    /// TSA and test CA root (and the sequencer's PCR0).
    pub fn trust(&self) -> TrustDescriptor {
        self.trust.clone()
    }

    /// An auditor for this chain's trust descriptor.
    ///
    /// # Panics
    /// If the kit's own descriptor is unusable (a bug in the kit).
    pub fn auditor(&self) -> Auditor {
        Auditor::new(&self.trust).expect("the kit's trust descriptor is usable")
    }

    /// Audits the current snapshot under this chain's trust descriptor.
    pub fn audit(&self) -> Audit {
        self.auditor().audit(&self.snapshot, &mut |_, _| {})
    }

    /// The genesis block `b0`.
    pub fn genesis(&self) -> &BuiltBlock {
        &self.blocks[0]
    }

    /// Every block built, in building order (`b0` first).
    pub fn blocks(&self) -> &[BuiltBlock] {
        &self.blocks
    }

    /// The snapshot holding every published object.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The snapshot, to tamper with.
    pub fn snapshot_mut(&mut self) -> &mut Snapshot {
        &mut self.snapshot
    }

    /// Copies every object of `other` (e.g. another kit's snapshot) into this one.
    pub fn absorb(&mut self, other: &Snapshot) {
        for (kind, key, bytes) in other.iter() {
            self.snapshot.insert(kind, *key, bytes.to_vec());
        }
    }

    /// The timestamp authority.
    pub fn tsa(&self) -> &TimestampAuthority {
        &self.tsa
    }

    /// The sequencer.
    pub fn sequencer(&self) -> &Sequencer {
        &self.sequencer
    }

    /// The sequencer, to drive it directly (e.g. from a pipeline; see [`seal`]).
    pub fn sequencer_mut(&mut self) -> &mut Sequencer {
        &mut self.sequencer
    }

    /// The test CA's root certificate (PEM) that the trust descriptor pins.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The kit clock, Unix seconds.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// Moves the kit clock `secs` seconds forward.
    pub fn advance(&mut self, secs: u64) {
        self.clock = self.clock.saturating_add(secs);
    }

    /// Builds a block over `txs` on `parent`, timestamps it, sequences it, and stores
    /// all four objects (batch, block, timestamp, attestation).
    pub fn append(&mut self, parent: &BuiltBlock, txs: &[&[u8]]) -> BuiltBlock {
        let mut built = self.build(parent, txs);
        self.sequence_into(&mut built, true);
        self.record(built)
    }

    /// Builds `n` blocks in a row on `parent` (each holding the one transaction
    /// `"<label> <i>"`), sequenced in order, and returns them.
    pub fn extend(&mut self, parent: &BuiltBlock, n: usize, label: &str) -> Vec<BuiltBlock> {
        let mut out: Vec<BuiltBlock> = Vec::with_capacity(n);
        for i in 0..n {
            let parent = out.last().unwrap_or(parent).clone();
            let tx = format!("{label} {i}");
            out.push(self.append(&parent, &[tx.as_bytes()]));
        }
        out
    }

    /// Builds and timestamps a block on `parent` and stores its batch, block and
    /// timestamp, but never asks the sequencer: no `k` is used up.
    pub fn append_unsequenced(&mut self, parent: &BuiltBlock, txs: &[&[u8]]) -> BuiltBlock {
        let built = self.build(parent, txs);
        self.record(built)
    }

    /// As [`ChainKit::append`], but the attestation is withheld: the sequencer numbers
    /// the block (using up its `k`) and the document is kept aside until
    /// [`ChainKit::publish`].
    pub fn append_withheld(&mut self, parent: &BuiltBlock, txs: &[&[u8]]) -> BuiltBlock {
        let mut built = self.build(parent, txs);
        self.sequence_into(&mut built, false);
        self.record(built)
    }

    /// Sequences now a block built by [`ChainKit::append_unsequenced`] (it gets the
    /// sequencer's next `k`) and stores its attestation; returns the updated block, which
    /// also replaces the entry in [`ChainKit::blocks`]. A block built earlier but
    /// sequenced later gets the higher `k`: this is how a later sibling can win a fork.
    ///
    /// # Panics
    /// If `built` was already sequenced.
    pub fn sequence(&mut self, built: &BuiltBlock) -> BuiltBlock {
        assert!(
            built.k.is_none(),
            "block {} is already sequenced",
            built.block
        );
        let mut built = built.clone();
        self.sequence_into(&mut built, true);
        if let Some(entry) = self.blocks.iter_mut().find(|b| b.block == built.block) {
            *entry = built.clone();
        }
        built
    }

    /// Stores the withheld attestation of `built` in the snapshot.
    ///
    /// # Panics
    /// If `built` has no withheld attestation.
    pub fn publish(&mut self, built: &BuiltBlock) {
        let key = built.attestation.unwrap_or_else(|| {
            panic!("block {} was never sequenced", built.block);
        });
        let doc = self
            .withheld
            .remove(&key)
            .unwrap_or_else(|| panic!("attestation {key} is not withheld"));
        self.snapshot.insert(ObjectKind::Attestation, key, doc);
    }

    /// Asks the sequencer again for an already sequenced block: it answers with the
    /// same `k` and `g` in a freshly issued document (a new `H(a)`, SPEC §1.4), which is
    /// stored. Returns the new document's key. The clock moves one second first, so
    /// the document differs from the first one.
    ///
    /// # Panics
    /// If the sequencer fails or gives a different `k`.
    pub fn resequence(&mut self, built: &BuiltBlock) -> Hash32 {
        self.clock += 1;
        let doc = self
            .sequencer
            .sequence(built.y(), document_time(self.clock))
            .expect("the sequencer answers again");
        assert_eq!(Some(doc.k), built.k, "a repeated y keeps its k");
        let key = Hash32::digest(&doc.document);
        self.snapshot
            .insert(ObjectKind::Attestation, key, doc.document);
        key
    }

    /// Makes the sequencer equivocate: builds and timestamps a block over `txs` on
    /// `parent` and has it sequenced with the already used number `k` (so a different
    /// `y` gets the same `k`), storing all four objects.
    ///
    /// How: the very attack the rule guards against, a rolled-back enclave. The
    /// sequencer's state (key, `y → k` map) is saved with [`Sequencer::save_state`]
    /// and its CA with [`TestCa::save`]; the saved `y` list is cut to its first `k`
    /// entries, and [`Sequencer::load_state`] starts a twin from it, which numbers
    /// the new `y` with `k` under the same key and CA root. The kit's own sequencer
    /// is untouched and carries on with its counter.
    ///
    /// # Panics
    /// If `k` has not been used yet, or the state cannot be copied.
    pub fn equivocate(&mut self, parent: &BuiltBlock, txs: &[&[u8]], k: u64) -> BuiltBlock {
        assert!(
            k < self.sequencer.count(),
            "k = {k} is not used yet (the sequencer has numbered {})",
            self.sequencer.count()
        );
        let mut built = self.build(parent, txs);
        let mut twin = self.rolled_back(k).expect("the sequencer state copies");
        let doc = twin
            .sequence(built.y(), document_time(self.clock))
            .expect("the twin sequencer answers");
        assert_eq!(doc.k, k, "the rolled-back twin reuses k");
        self.attach(&mut built, doc, true);
        self.record(built)
    }

    /// A sequencer with this one's key and CA whose counter is rolled back to `k`.
    fn rolled_back(&self, k: u64) -> Result<Sequencer, KitError> {
        let dir = tempfile::tempdir().map_err(|e| io_error(Path::new("tempdir"), &e))?;
        let state_dir = dir.path().join("sequencer");
        let ca_dir = dir.path().join("ca");
        self.sequencer.save_state(&state_dir)?;
        self.sequencer.ca().save(&ca_dir)?;
        let path = state_dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, &e))?;
        let mut state: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| io_error(&path, &e))?;
        if let Some(ys) = state.get_mut("ys").and_then(|v| v.as_array_mut()) {
            ys.truncate(usize::try_from(k).unwrap_or(usize::MAX));
        }
        std::fs::write(&path, state.to_string()).map_err(|e| io_error(&path, &e))?;
        let twin = Sequencer::load_state(&state_dir, TestCa::load(&ca_dir)?)?;
        Ok(twin)
    }

    /// Writes the snapshot as a SPEC §2.1 directory under `dir` (created if needed):
    /// `chain.json` and `blocks/`, `timestamps/`, `attestations/`, `batches/`, files
    /// written in parallel.
    ///
    /// # Errors
    /// [`KitError::Io`] when a directory or file cannot be written.
    pub fn write_dir(&self, dir: &Path) -> Result<(), KitError> {
        write_snapshot_dir(&self.snapshot, dir)
    }

    fn build(&mut self, parent: &BuiltBlock, txs: &[&[u8]]) -> BuiltBlock {
        self.clock += 1;
        let uuid = uuid_for(&self.nonce, self.blocks.len() as u64);
        let txs = txs.iter().map(|d| d.to_vec()).collect();
        let sealed = seal(&self.tsa, parent, uuid, txs, self.clock);
        self.store_sealed(&sealed);
        sealed.built
    }

    /// Stores a sealed block's batch, block and timestamp.
    pub fn store_sealed(&mut self, sealed: &Sealed) {
        for (kind, key, bytes) in sealed.objects() {
            self.snapshot.insert(kind, key, bytes.to_vec());
        }
    }

    fn sequence_into(&mut self, built: &mut BuiltBlock, publish: bool) {
        let doc = self
            .sequencer
            .sequence(built.y(), document_time(self.clock))
            .expect("the sequencer answers");
        self.attach(built, doc, publish);
    }

    /// Records the sequencer's answer on `built` and stores the document (or keeps it
    /// aside when `publish` is false).
    pub fn attach(&mut self, built: &mut BuiltBlock, doc: SequencedDocument, publish: bool) {
        let key = Hash32::digest(&doc.document);
        built.attestation = Some(key);
        built.k = Some(doc.k);
        if publish {
            self.snapshot
                .insert(ObjectKind::Attestation, key, doc.document);
        } else {
            self.withheld.insert(key, doc.document);
        }
    }

    /// Adds `built` to [`ChainKit::blocks`] and returns it.
    pub fn record(&mut self, built: BuiltBlock) -> BuiltBlock {
        self.blocks.push(built.clone());
        built
    }
}

/// A chain `b0 .. b4` on which a rolled-back twin of the sequencer numbered `e`, a
/// sibling of `b2` on `b1`, with `b2`'s sequence number 2; the real sequencer carried
/// on to `b3` and `b4` (what equivocation looks like to an auditor).
#[derive(Debug)]
pub struct Equivocating {
    /// The kit holding the chain.
    pub kit: ChainKit,
    /// The chain `b0 .. b4`.
    pub chain: [BuiltBlock; 5],
    /// The equivocal sibling of `b2`, also numbered 2.
    pub e: BuiltBlock,
}

/// Builds an [`Equivocating`] chain.
pub fn equivocating_chain() -> Equivocating {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"1"]);
    let b2 = kit.append(&b1, &[b"2"]);
    let b3 = kit.append(&b2, &[b"3"]);
    let e = kit.equivocate(&b1, &[b"equivocal"], 2);
    let b4 = kit.append(&b3, &[b"4"]);
    assert_eq!((b2.k, e.k, b4.k), (Some(2), Some(2), Some(4)));
    Equivocating {
        kit,
        chain: [b0, b1, b2, b3, b4],
        e,
    }
}

/// When a document sequenced at kit time `secs` is made.
pub fn document_time(secs: u64) -> UnixMillis {
    UnixMillis(secs.saturating_mul(1000).saturating_add(DOCUMENT_DELAY_MS))
}

/// The kit's `n`-th UUIDv4, derived from its nonce.
fn uuid_for(nonce: &[u8; 32], n: u64) -> [u8; 16] {
    let mut input = Vec::with_capacity(64);
    input.extend_from_slice(b"zipchain/testkit/uuid");
    input.extend_from_slice(nonce);
    input.extend_from_slice(&n.to_be_bytes());
    let digest = Hash32::digest(&input);
    let mut u = [0u8; 16];
    u.copy_from_slice(&digest.as_bytes()[..16]);
    v4(u)
}

/// Writes `snapshot` as a SPEC §2.1 directory under `dir` (see [`ChainKit::write_dir`]):
/// [`snapshot_fs::dir::write_snapshot`], each file whole but not fsynced (test snapshots).
///
/// # Errors
/// [`KitError::Io`] when a directory or file cannot be written.
pub fn write_snapshot_dir(snapshot: &Snapshot, dir: &Path) -> Result<(), KitError> {
    snapshot_fs::dir::write_snapshot(snapshot, dir, Durability::Unsynced).map_err(dir_error)
}

/// Creates `dir` and its four object directories.
///
/// # Errors
/// [`KitError::Io`] when a directory cannot be made.
pub fn create_dirs(dir: &Path) -> Result<(), KitError> {
    snapshot_fs::dir::create_kind_dirs(dir).map_err(dir_error)
}

/// Writes one object as `dir/<kind dir>/<hex key>`, whole but not fsynced.
///
/// # Errors
/// [`KitError::Io`] when the file cannot be written.
pub fn write_object(
    dir: &Path,
    kind: ObjectKind,
    key: &Hash32,
    bytes: &[u8],
) -> Result<(), KitError> {
    snapshot_fs::dir::write_object(dir, kind, key, bytes, Durability::Unsynced).map_err(dir_error)
}

/// Every file under `dir`, keyed by its path relative to `dir` (with `/`), with its
/// bytes: for comparing snapshot directories byte for byte in tests. Not
/// [`snapshot_fs::dir::DirSnapshot::load`], which skips what is not an object: this sees
/// every file, so a comparison also catches a stray or temporary one.
///
/// # Errors
/// The first I/O error met while walking the tree.
pub fn read_tree(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}
