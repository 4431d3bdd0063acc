//! Certificates (SPEC §3): the offline proof that a transaction is in a final
//! main-chain block between two trusted times; `makeCertificate` (SPEC §5) and the check.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::block::Block;
use crate::chain::{Audit, Auditor, MainChainBlock};
use crate::hash::Hash32;
use crate::merkle::{InclusionProof, RootHash};
use crate::nsm::VerifyAt;
use crate::sequence::{SequencerKey, check as check_attestation};
use crate::snapshot::{ObjectKind, Snapshot};
use crate::text::bounded_reason;

/// The certificate file `cert.json`, field for field as SPEC §3 writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// Format version: 1.
    pub zipchain_certificate: u32,
    /// The chain the certificate speaks of.
    pub chain: CertificateChain,
    /// The transaction id `H(d)`, hex.
    pub tx: String,
    /// The block's main-chain height (at least 1).
    pub height: u64,
    /// The block's sequence number `a_i.s.k`.
    pub sequence: u64,
    /// The 81 block bytes, hex.
    pub block: String,
    /// The timestamp JWT `t_(i-1)` the block links to.
    pub lower: String,
    /// The timestamp JWT `t_i` of the block.
    pub upper: String,
    /// The enclave attestation `a_i`, standard padded base64.
    pub attestation: String,
    /// The Merkle inclusion proof of `tx` in the block's batch.
    pub inclusion: CertificateInclusion,
    /// `lower.iat`, Unix seconds.
    pub not_before: u64,
    /// `upper.iat`, Unix seconds.
    pub not_after: u64,
    /// Version 2 (SPEC §9.5): the block's place on the main chain, under a cosigned
    /// checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_chain: Option<CertificateMainChain>,
}

/// The `main_chain` member of a certificate v2 (SPEC §9.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateMainChain {
    /// The checkpoint as a signed note, with its cosignatures.
    pub checkpoint: String,
    /// The block's entry in the main-chain log: its height.
    pub leaf_index: u64,
    /// The RFC 9162 inclusion proof of the entry (SHA-256 nodes, hex).
    pub path: Vec<String>,
}

/// What a passed `main_chain_proof` rests on (SPEC §9.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MainChainProof {
    /// How many of the descriptor's witnesses vouched.
    pub witnesses: usize,
    /// The descriptor's quorum.
    pub quorum: usize,
}

/// Who vouched for a passed `main_chain_proof`, by name, so that a face shows the
/// witnesses without reading the check's detail, the descriptor or the note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MainChainWitnesses {
    /// The names of the witnesses whose cosignatures counted, in the descriptor's order.
    pub vouched: Vec<String>,
    /// The names of every witness of the descriptor, in its order.
    pub known: Vec<String>,
    /// The size of the checkpoint they cosigned (main-chain entries).
    pub checkpoint_size: u64,
}

/// The `chain` member of a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateChain {
    /// `H(b0)`, hex.
    pub genesis: String,
    /// `K_S+`, hex.
    pub sequencer_key: String,
}

/// The `inclusion` member of a certificate (RFC 9162 audit path).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateInclusion {
    /// The leaf's index in the batch.
    pub leaf_index: u64,
    /// The number of transactions in the batch.
    pub tree_size: u64,
    /// The audit path, hex.
    pub path: Vec<String>,
}

/// Where `makeCertificate` reads the objects it needs (an in-memory [`Snapshot`], or
/// a directory the caller reads on demand).
pub trait ObjectSource {
    /// The bytes of the object of `kind` named `key`, or `None` when it is not there.
    ///
    /// # Errors
    /// A message when the object exists but cannot be read.
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String>;
}

impl ObjectSource for Snapshot {
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        Ok(self.get(kind, key).map(<[u8]>::to_vec))
    }
}

/// Why a certificate could not be made for a transaction that the audit found final.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MakeCertificateError {
    /// An object the main chain needs is missing or unreadable.
    #[error("{kind:?} {key} is needed for the certificate but {reason}")]
    Object {
        /// Its kind.
        kind: ObjectKind,
        /// Its key.
        key: Hash32,
        /// What went wrong.
        reason: String,
    },
    /// The object is there but no longer what the audit saw.
    #[error("{0}")]
    Changed(String),
    /// The object read for the certificate does not hash to the key it was read under (for a
    /// batch, its Merkle root): the file changed after the audit examined it, and the audit's
    /// verdict does not cover what was read now.
    #[error(
        "{kind} {key} changed since the audit read it: its bytes now hash to {got} (for a batch, its Merkle root), not to its name"
    )]
    Mismatch {
        /// Its kind.
        kind: ObjectKind,
        /// The key it was read under (what the audit validated).
        key: Hash32,
        /// What the bytes read now hash to.
        got: Hash32,
    },
    /// The audit proves that the sequencer equivocated (SPEC §5: two valid attestations with
    /// one sequence number and different `y`). Nothing it sequenced can be certified: a second,
    /// conflicting certificate at the same height can be made from the other block.
    #[error(
        "the sequencer equivocated: sequence number{} {} {} given to different blocks, so no certificate is made from this snapshot",
        if sequences.len() == 1 { "" } else { "s" },
        join_numbers(sequences),
        if sequences.len() == 1 { "was" } else { "were" }
    )]
    Equivocation {
        /// The sequence numbers given out more than once, ascending.
        sequences: Vec<u64>,
    },
    /// The block's timestamp was issued before its parent's (`t_i.iat < t_(i-1).iat`): the
    /// certificate's interval would end before it begins, and the check rejects it.
    #[error(
        "the lower timestamp was issued at {not_before}, after the upper one ({not_after}): no certificate spans an interval that ends before it begins"
    )]
    TimeOrder {
        /// `t_(i-1).iat`, Unix seconds.
        not_before: u64,
        /// `t_i.iat`, Unix seconds.
        not_after: u64,
    },
}

impl MakeCertificateError {
    /// Whether this is a verdict on the snapshot (the sequencer equivocated, or the times are
    /// out of order: the certificate would not be valid) rather than a failure to read it.
    pub fn is_verdict(&self) -> bool {
        matches!(self, Self::Equivocation { .. } | Self::TimeOrder { .. })
    }
}

/// `2, 5, 9`; at most ten numbers, then `…`.
fn join_numbers(numbers: &[u64]) -> String {
    let mut out: Vec<String> = numbers.iter().take(10).map(u64::to_string).collect();
    if numbers.len() > 10 {
        out.push(format!("… ({} in all)", numbers.len()));
    }
    out.join(", ")
}

/// The distinct sequence numbers of the audit's equivocations, ascending (the audit
/// reports one equivocation per number, in ascending order; no sort of our own, whose
/// instantiation the wasm module would carry).
fn equivocated_sequences(audit: &Audit) -> Vec<u64> {
    let mut sequences: Vec<u64> = audit.equivocations.iter().map(|e| e.sequence).collect();
    sequences.dedup();
    sequences
}

/// `makeCertificate` (SPEC §5): the certificate of `tx` from the first main-chain
/// block after `b0` whose batch contains it. `Ok(None)` when `tx` is not final.
///
/// Every object is read again from `source` and hashed against the key the audit
/// validated it under (see [`certificate_for`]).
///
/// # Errors
/// - [`MakeCertificateError::Equivocation`] when the audit found that the sequencer
///   equivocated: the snapshot proves the chain untrustworthy, whatever `tx` is;
/// - [`MakeCertificateError::TimeOrder`] when the block's timestamp precedes its parent's;
/// - the other variants when the objects the audit used cannot be read again, or are no
///   longer what it saw.
pub fn make_certificate(
    auditor: &Auditor,
    audit: &Audit,
    source: &dyn ObjectSource,
    tx: &Hash32,
) -> Result<Option<Certificate>, MakeCertificateError> {
    if !audit.equivocations.is_empty() {
        return Err(MakeCertificateError::Equivocation {
            sequences: equivocated_sequences(audit),
        });
    }
    let Some(height) = audit.final_height(tx) else {
        return Ok(None);
    };
    let (Some(entry), Some(prev)) = (
        audit.at_height(height),
        height.checked_sub(1).and_then(|h| audit.at_height(h)),
    ) else {
        return Ok(None);
    };
    certificate_for(
        auditor.genesis(),
        auditor.sequencer_key(),
        entry,
        prev,
        source,
        tx,
    )
    .map(Some)
}

/// The certificate of `tx` in the main-chain block `entry` whose predecessor is `prev`,
/// its objects read from `source`: the assembly step of [`make_certificate`], for a caller
/// that keeps its own main chain (the writer daemon, which audits once and then extends
/// the chain block by block).
///
/// # Note
/// Nothing here checks that `entry` is on the main chain at `entry.height`, that
/// `prev` is the block below it, or that this is the first main-chain occurrence of `tx`:
/// that is the caller's knowledge. [`check_certificate`] checks the result.
///
/// Each object is hashed against the key it is read under at the moment it is used (the
/// block, both timestamps and the attestation by `H`, the batch by its Merkle root), so a
/// file swapped after the audit examined it is never put into a certificate.
///
/// # Errors
/// [`MakeCertificateError`] when an object is missing, unreadable or no longer hashes to its
/// key ([`MakeCertificateError::Mismatch`]), the batch does not hold `tx`, or the block's
/// timestamp was issued before its parent's ([`MakeCertificateError::TimeOrder`]).
pub fn certificate_for(
    genesis: Hash32,
    sequencer_key: &SequencerKey,
    entry: &MainChainBlock,
    prev: &MainChainBlock,
    source: &dyn ObjectSource,
    tx: &Hash32,
) -> Result<Certificate, MakeCertificateError> {
    let parts = CertificateParts::read(source, entry)?;
    let lower = read_text(source, &prev.timestamp)?;
    parts.certificate(genesis, sequencer_key, entry, prev, &lower, tx)
}

/// What every certificate of one main-chain block needs beside its predecessor's
/// timestamp: the block, its timestamp and attestation, each read and hashed against its
/// key once, and the Merkle tree of its batch with every level kept. A caller that hands
/// out many certificates of recent blocks (the writer daemon) keeps these, so that each
/// certificate costs a path lookup instead of reading and hashing the whole batch again.
#[derive(Clone, Debug)]
pub struct CertificateParts {
    block: Vec<u8>,
    upper: String,
    attestation: Vec<u8>,
    tx_ids: Vec<Hash32>,
    tree: crate::merkle::MerkleTree,
}

impl CertificateParts {
    /// Reads the objects of the main-chain block `entry` from `source`, each hashed
    /// against the key it is read under (the batch against its Merkle root).
    ///
    /// # Errors
    /// [`MakeCertificateError`] when an object is missing, unreadable or no longer hashes
    /// to its key.
    pub fn read(
        source: &dyn ObjectSource,
        entry: &MainChainBlock,
    ) -> Result<Self, MakeCertificateError> {
        let block = read_hashed(source, ObjectKind::Block, &entry.block)?;
        let upper = read_text(source, &entry.timestamp)?;
        let attestation = read_hashed(source, ObjectKind::Attestation, &entry.attestation)?;
        let tx_ids = read_batch(source, &entry.batch_root)?.tx_ids();
        let tree = crate::merkle::MerkleTree::new(&tx_ids);
        Ok(Self {
            block,
            upper,
            attestation,
            tx_ids,
            tree,
        })
    }

    /// The block's timestamp JWT (the `lower` timestamp of the next block's certificates).
    pub fn timestamp(&self) -> &str {
        &self.upper
    }

    /// How many transactions the block's batch holds.
    pub fn transactions(&self) -> usize {
        self.tx_ids.len()
    }

    /// The certificate of `tx` in this block, `entry`, whose predecessor `prev` has the
    /// timestamp JWT `lower` (see [`certificate_for`], which this assembles for).
    ///
    /// # Errors
    /// [`MakeCertificateError::Changed`] when the batch does not hold `tx`;
    /// [`MakeCertificateError::TimeOrder`] when the block's timestamp precedes its parent's.
    pub fn certificate(
        &self,
        genesis: Hash32,
        sequencer_key: &SequencerKey,
        entry: &MainChainBlock,
        prev: &MainChainBlock,
        lower: &str,
        tx: &Hash32,
    ) -> Result<Certificate, MakeCertificateError> {
        if prev.iat > entry.iat {
            return Err(MakeCertificateError::TimeOrder {
                not_before: prev.iat.0,
                not_after: entry.iat.0,
            });
        }
        let Some(index) = self.tx_ids.iter().position(|t| t == tx) else {
            return Err(MakeCertificateError::Changed(format!(
                "batch {} does not hold {tx}",
                entry.batch_root
            )));
        };
        let proof = self
            .tree
            .proof(index as u64)
            .map_err(|e| MakeCertificateError::Changed(format!("inclusion proof: {e}")))?;
        Ok(Certificate {
            zipchain_certificate: 1,
            chain: CertificateChain {
                genesis: genesis.to_hex(),
                sequencer_key: sequencer_key.to_hex(),
            },
            tx: tx.to_hex(),
            height: entry.height,
            sequence: entry.sequence,
            block: hex::encode(&self.block),
            lower: lower.to_owned(),
            upper: self.upper.clone(),
            attestation: BASE64.encode(&self.attestation),
            inclusion: CertificateInclusion {
                leaf_index: proof.leaf_index,
                tree_size: proof.tree_size,
                path: proof.path.iter().map(Hash32::to_hex).collect(),
            },
            not_before: prev.iat.0,
            not_after: entry.iat.0,
            main_chain: None,
        })
    }
}

/// The bytes of the object of `kind` named `key`, missing or unreadable as an error.
fn read_object(
    source: &dyn ObjectSource,
    kind: ObjectKind,
    key: &Hash32,
) -> Result<Vec<u8>, MakeCertificateError> {
    match source.object(kind, key) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(MakeCertificateError::Object {
            kind,
            key: *key,
            reason: "it is missing".to_owned(),
        }),
        Err(reason) => Err(MakeCertificateError::Object {
            kind,
            key: *key,
            reason,
        }),
    }
}

/// A block, timestamp or attestation, read and hashed against its key: `H(bytes) == key`.
fn read_hashed(
    source: &dyn ObjectSource,
    kind: ObjectKind,
    key: &Hash32,
) -> Result<Vec<u8>, MakeCertificateError> {
    let bytes = read_object(source, kind, key)?;
    let got = Hash32::digest(&bytes);
    if got != *key {
        return Err(MakeCertificateError::Mismatch {
            kind,
            key: *key,
            got,
        });
    }
    Ok(bytes)
}

/// A timestamp JWT, read from `source` and hashed against its key `key`, as text (the
/// `lower` timestamp of a certificate: [`CertificateParts::certificate`]).
///
/// # Errors
/// [`MakeCertificateError`] when it is missing, unreadable, not text or no longer hashes
/// to its key.
pub fn read_timestamp(
    source: &dyn ObjectSource,
    key: &Hash32,
) -> Result<String, MakeCertificateError> {
    read_text(source, key)
}

/// A timestamp JWT, read and hashed against its key, as text.
fn read_text(source: &dyn ObjectSource, key: &Hash32) -> Result<String, MakeCertificateError> {
    String::from_utf8(read_hashed(source, ObjectKind::Timestamp, key)?)
        .map_err(|_| MakeCertificateError::Changed(format!("timestamp {key} is not text")))
}

/// A batch, read, decoded and checked against its key: its Merkle root is `root`.
fn read_batch(source: &dyn ObjectSource, root: &Hash32) -> Result<Batch, MakeCertificateError> {
    decode_batch(root, &read_object(source, ObjectKind::Batch, root)?)
}

/// The batch read under the key `root`, decoded and checked: its Merkle root is `root`.
fn decode_batch(root: &Hash32, bytes: &[u8]) -> Result<Batch, MakeCertificateError> {
    let batch = Batch::decode(bytes)
        .map_err(|e| MakeCertificateError::Changed(format!("batch {root}: {e}")))?;
    let got = batch.root();
    if got != *root {
        return Err(MakeCertificateError::Mismatch {
            kind: ObjectKind::Batch,
            key: *root,
            got,
        });
    }
    Ok(batch)
}

/// One named check of a certificate and its outcome: the core's one [`Check`] type.
///
/// [`Check`]: crate::verdict::Check
pub type CheckOutcome = crate::verdict::Check;

/// The verdict on a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateVerdict {
    /// Every check passed.
    pub valid: bool,
    /// Whether main-chain position was checked (against a snapshot, or by a certificate
    /// v2's passed `main_chain_proof`). When `false`, `valid` says nothing about whether
    /// the block is on the main chain.
    pub main_chain_checked: bool,
    /// When a certificate v2's `main_chain_proof` passed: how many witnesses vouched,
    /// and the quorum (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_chain_proof: Option<MainChainProof>,
    /// With `main_chain_proof`: the names of the witnesses that vouched and of all the
    /// descriptor's witnesses, and the checkpoint's size (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_chain_witnesses: Option<MainChainWitnesses>,
    /// Whether the transaction's position within the block (`inclusion.leaf_index` and
    /// `inclusion.tree_size`) was checked against the block's batch from a snapshot. When
    /// `false`, `valid` proves that the transaction is in the block but not where: several
    /// leaf indices and sizes can share one audit path, and the order of transactions
    /// (SPEC §4) depends on it.
    pub position_checked: bool,
    /// Every check that ran, in order.
    pub checks: Vec<CheckOutcome>,
    /// The transaction id, when the certificate could be read.
    pub tx: Option<String>,
    /// The claimed height.
    pub height: Option<u64>,
    /// `lower.iat`.
    pub not_before: Option<u64>,
    /// `upper.iat`.
    pub not_after: Option<u64>,
}

impl CertificateVerdict {
    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&CheckOutcome> {
        self.checks.iter().find(|c| !c.ok)
    }

    /// Whether the inclusion proof was looked at but the transaction's position within
    /// the block was not confirmed by the block's batch: the leaf index and tree size
    /// are then the certificate's claims.
    pub fn position_unproven(&self) -> bool {
        !self.position_checked && self.checks.iter().any(|c| c.name == "inclusion")
    }
}

/// Checks a certificate (SPEC §3) given as JSON text.
///
/// Checks, by name: `format`, `chain`, `lower_timestamp`, `upper_timestamp`,
/// `upper_attests_block`, `block_links_lower`, `attestation`, `attestation_binds_block`,
/// `attestation_time`, `inclusion`, `time_bounds`; with an audit of a snapshot also
/// `main_chain` and `first_occurrence`, and `equivocation` (failed) when the audit found
/// that the sequencer equivocated.
///
/// # Note
/// Without `audit`, a valid verdict proves the block was timestamped between the two
/// times and sequenced, not that it is on the main chain: `main_chain_checked` is
/// then `false`. This function has no objects to read the block's batch from, so the
/// position within the block is never proven here (`position_checked` is `false`); a
/// caller holding the snapshot uses [`check_certificate_with_snapshot`].
pub fn check_certificate(
    json: &str,
    auditor: &Auditor,
    audit: Option<&Audit>,
) -> CertificateVerdict {
    check(json, auditor, audit, None)
}

/// Checks a certificate (SPEC §3) against a snapshot: `audit` is the snapshot's audit and
/// `objects` its objects, from which the block's batch is read (and checked against its
/// Merkle root) to prove the transaction's position.
///
/// The checks of [`check_certificate`] with an audit, where `inclusion` also requires that
/// `inclusion.leaf_index` is the transaction's first position in the batch and
/// `inclusion.tree_size` the batch's length; a batch the snapshot lacks fails it. An audit
/// that found an equivocation adds the failed check `equivocation`.
pub fn check_certificate_with_snapshot(
    json: &str,
    auditor: &Auditor,
    audit: &Audit,
    objects: &dyn ObjectSource,
) -> CertificateVerdict {
    check(json, auditor, Some(audit), Some(objects))
}

fn check(
    json: &str,
    auditor: &Auditor,
    audit: Option<&Audit>,
    objects: Option<&dyn ObjectSource>,
) -> CertificateVerdict {
    let mut v = CertificateVerdict {
        valid: false,
        main_chain_checked: false,
        main_chain_proof: None,
        main_chain_witnesses: None,
        position_checked: false,
        checks: Vec::new(),
        tx: None,
        height: None,
        not_before: None,
        not_after: None,
    };
    let parsed = match parse(json) {
        Ok(p) => p,
        Err(e) => {
            push(&mut v, "format", false, e);
            return v;
        }
    };
    let Parsed {
        cert,
        tx,
        block_bytes,
        block,
        attestation,
        proof,
    } = parsed;
    v.tx = Some(cert.tx.clone());
    v.height = Some(cert.height);
    v.not_before = Some(cert.not_before);
    v.not_after = Some(cert.not_after);
    push(
        &mut v,
        "format",
        true,
        format!(
            "certificate version {}, well formed",
            cert.zipchain_certificate
        ),
    );

    let chain_ok = cert.chain.genesis == auditor.genesis().to_hex()
        && cert.chain.sequencer_key == auditor.sequencer_key().to_hex();
    push(
        &mut v,
        "chain",
        chain_ok,
        if chain_ok {
            "names the trusted genesis block and sequencer key".to_owned()
        } else {
            format!(
                "names genesis {} and sequencer key {}, expected {} and {}",
                cert.chain.genesis,
                cert.chain.sequencer_key,
                auditor.genesis(),
                auditor.sequencer_key().to_hex()
            )
        },
    );

    let ts = auditor.timestamp_verifier();
    let lower = ts.validate(&cert.lower);
    let upper = ts.validate(&cert.upper);
    push_result(&mut v, "lower_timestamp", &lower, |t| {
        format!("valid, issued at {}", t.iat().0)
    });
    push_result(&mut v, "upper_timestamp", &upper, |t| {
        format!("valid, issued at {}", t.iat().0)
    });

    let block_hash = Hash32::digest(&block_bytes);
    match &upper {
        Ok(u) => {
            let ok = u.attested() == Some(block_hash.as_bytes().as_slice());
            push(
                &mut v,
                "upper_attests_block",
                ok,
                if ok {
                    format!("attests H(block) = {block_hash}")
                } else {
                    format!(
                        "attests {}, but H(block) is {block_hash}",
                        u.attested().map(hex::encode).unwrap_or_default()
                    )
                },
            );
        }
        Err(_) => push(
            &mut v,
            "upper_attests_block",
            false,
            "not checked: the upper timestamp is invalid".to_owned(),
        ),
    }
    let lower_hash = Hash32::digest(cert.lower.as_bytes());
    let links = block.parent_timestamp == lower_hash;
    push(
        &mut v,
        "block_links_lower",
        links,
        if links {
            format!("block.t^H = H(lower) = {lower_hash}")
        } else {
            format!(
                "block.t^H is {}, but H(lower) is {lower_hash}",
                block.parent_timestamp
            )
        },
    );

    let upper_hash = Hash32::digest(cert.upper.as_bytes());
    let att = check_attestation(
        auditor.sequencer_key(),
        auditor.nsm_verifier(),
        &attestation,
        VerifyAt::DocumentTimestamp,
    );
    push_result(&mut v, "attestation", &att, |a| {
        format!(
            "NSM document and sequence signature valid, sequence number {}",
            a.sequence().k
        )
    });
    match &att {
        Ok(a) => {
            let y = crate::triple::y(&block.uuid, &upper_hash);
            let s = a.sequence();
            let ok = s.y == y && s.k == cert.sequence;
            push(
                &mut v,
                "attestation_binds_block",
                ok,
                if ok {
                    format!("sequences block.u ++ H(upper) as number {}", s.k)
                } else if s.y != y {
                    "sequences other bytes than block.u ++ H(upper)".to_owned()
                } else {
                    format!(
                        "sequence number is {}, certificate says {}",
                        s.k, cert.sequence
                    )
                },
            );
            match &upper {
                Ok(u) => {
                    let ok = crate::triple::in_time(a.timestamp(), u.iat());
                    push(
                        &mut v,
                        "attestation_time",
                        ok,
                        format!(
                            "document made at {} ms, upper timestamp issued at {} s",
                            a.timestamp().0,
                            u.iat().0
                        ),
                    );
                }
                Err(_) => push(
                    &mut v,
                    "attestation_time",
                    false,
                    "not checked: the upper timestamp is invalid".to_owned(),
                ),
            }
        }
        Err(_) => {
            for name in ["attestation_binds_block", "attestation_time"] {
                push(
                    &mut v,
                    name,
                    false,
                    "not checked: the attestation is invalid".to_owned(),
                );
            }
        }
    }

    let root = RootHash::new(block.batch_root, proof.tree_size);
    let incl = root.verify_inclusion(&tx, &proof);
    let mut batch_missing = false;
    let (ok, detail) = match incl {
        Err(e) => (false, e.to_string()),
        Ok(()) => {
            let leads = format!(
                "leaf {} of {} leads to the batch root {}",
                proof.leaf_index, proof.tree_size, block.batch_root
            );
            match objects {
                None => (
                    true,
                    format!(
                        "{leads}; the position within the block is NOT proven {}: other leaf \
                         indices and sizes can share one audit path, and the order of \
                         transactions (SPEC §4) depends on it",
                        if audit.is_some() {
                            "(the block's batch was not read)"
                        } else {
                            "without the snapshot"
                        }
                    ),
                ),
                Some(objects) => match batch_position(objects, &block.batch_root, &tx) {
                    // Not at hand: said here, and failed at `first_occurrence`, which
                    // cannot be proven without the batch either (so an empty or partial
                    // snapshot still fails first where the block is not on its chain).
                    Err(BatchProblem::Missing) => {
                        batch_missing = true;
                        (
                            true,
                            format!(
                                "{leads}; the position within the block is NOT proven: the \
                                 snapshot does not hold the block's batch {}",
                                block.batch_root
                            ),
                        )
                    }
                    Err(BatchProblem::Unusable(reason)) => (
                        false,
                        format!(
                            "{leads}, but the position within the block cannot be proven: {reason}"
                        ),
                    ),
                    Ok(BatchPosition { first, size }) => {
                        v.position_checked = true;
                        if first == proof.leaf_index && size == proof.tree_size {
                            (
                                true,
                                format!(
                                    "{leads}, and the snapshot's batch holds the transaction \
                                     first at leaf {first} of {size}: position proven"
                                ),
                            )
                        } else {
                            (
                                false,
                                format!(
                                    "the audit path leads to the batch root, but the snapshot's \
                                     batch holds the transaction first at leaf {first} of {size}, \
                                     not at leaf {} of {}",
                                    proof.leaf_index, proof.tree_size
                                ),
                            )
                        }
                    }
                },
            }
        }
    };
    push(&mut v, "inclusion", ok, detail);

    let ordered = cert.not_before <= cert.not_after;
    let disorder = || {
        format!(
            "not_before {} is after not_after {}: an interval cannot end before it begins",
            cert.not_before, cert.not_after
        )
    };
    match (&lower, &upper) {
        (Ok(l), Ok(u)) => {
            let equal = l.iat().0 == cert.not_before && u.iat().0 == cert.not_after;
            push(
                &mut v,
                "time_bounds",
                equal && ordered,
                if ordered {
                    format!(
                        "not_before {} / not_after {}; timestamps issued at {} and {}",
                        cert.not_before,
                        cert.not_after,
                        l.iat().0,
                        u.iat().0
                    )
                } else {
                    format!(
                        "{}; timestamps issued at {} and {}",
                        disorder(),
                        l.iat().0,
                        u.iat().0
                    )
                },
            );
        }
        _ => push(
            &mut v,
            "time_bounds",
            false,
            if ordered {
                "not checked: a timestamp is invalid".to_owned()
            } else {
                format!("{}; and a timestamp is invalid", disorder())
            },
        ),
    }

    // One `main_chain` check: height 0 fails it with or without a snapshot.
    const GENESIS: &str = "height 0 is the genesis block, which certifies no transaction";
    if cert.height == 0 && audit.is_none() {
        push(&mut v, "main_chain", false, GENESIS.to_owned());
    }
    // A v2 certificate without a snapshot: its cosigned checkpoint (SPEC §9.5). With a
    // snapshot it is checked as in §3.
    if let (Some(main_chain), None) = (&cert.main_chain, audit) {
        let entry = crate::tlog::tree::entry(&block_hash, &upper_hash);
        match check_main_chain_proof(main_chain, &entry, cert.height, auditor) {
            Ok((detail, proof, witnesses)) => {
                v.main_chain_checked = true;
                v.main_chain_proof = Some(proof);
                v.main_chain_witnesses = Some(witnesses);
                push(&mut v, "main_chain_proof", true, detail);
            }
            Err(reason) => push(&mut v, "main_chain_proof", false, reason),
        }
    }
    if let Some(audit) = audit {
        v.main_chain_checked = true;
        let on_main = audit.at_height(cert.height);
        let ok = cert.height != 0
            && on_main.is_some_and(|b| {
                b.block == block_hash && b.sequence == cert.sequence && b.timestamp == upper_hash
            });
        push(
            &mut v,
            "main_chain",
            ok,
            match on_main {
                _ if cert.height == 0 => GENESIS.to_owned(),
                _ if ok => format!(
                    "block {block_hash} is on the main chain at height {}",
                    cert.height
                ),
                Some(b) => format!(
                    "the main chain has block {} at height {}, not {block_hash}",
                    b.block, cert.height
                ),
                None => format!(
                    "the main chain is only {} blocks high",
                    audit.height().map_or(0, |h| h + 1)
                ),
            },
        );
        let first = audit.final_height(&tx);
        let ok = first == Some(cert.height) && !batch_missing;
        push(
            &mut v,
            "first_occurrence",
            ok,
            match first {
                _ if batch_missing => format!(
                    "the snapshot does not hold the block's batch {}, so neither the \
                     transaction's first occurrence nor its position can be proven",
                    block.batch_root
                ),
                Some(h) if h == cert.height => {
                    format!("height {h} is the transaction's first on the main chain")
                }
                Some(h) => format!("the transaction is first on the main chain at height {h}"),
                None => "the transaction is not final on the main chain".to_owned(),
            },
        );
        // Only when there is one, so that a clean snapshot's check list stays as before
        // (docs/DECISIONS.md, "Certificates").
        if !audit.equivocations.is_empty() {
            push(&mut v, "equivocation", false, equivocation_detail(audit));
        }
    }
    v.valid = v.checks.iter().all(|c| c.ok);
    v
}

/// Makes `cert` a certificate v2 (SPEC §9.5) under the cosigned checkpoint `note`:
/// its `main_chain` carries the note and the inclusion proof of the block's entry in
/// the tree of the checkpoint's size, made from `leaves` (the log of the main chain the
/// audit found, [`crate::tlog::log::leaves`]), which must have the checkpoint's root.
///
/// # Errors
/// A message when the note is not a checkpoint, the height is not below its size, or
/// the log does not have its root.
pub fn attach_main_chain(
    cert: &mut Certificate,
    note: &str,
    leaves: &[crate::tlog::tree::LogHash],
) -> Result<(), String> {
    use crate::tlog::{checkpoint::Checkpoint, note::Note, tree};
    let parsed = Note::parse(note).map_err(|e| format!("checkpoint: {e}"))?;
    let checkpoint = Checkpoint::parse(&parsed.text).map_err(|e| format!("checkpoint: {e}"))?;
    let size = usize::try_from(checkpoint.size)
        .ok()
        .filter(|&n| n <= leaves.len())
        .ok_or_else(|| {
            format!(
                "the checkpoint's size {} is above the main chain's {} entries",
                checkpoint.size,
                leaves.len()
            )
        })?;
    if tree::root(&leaves[..size]) != checkpoint.root {
        return Err("the checkpoint's root is not the tree of this main chain".to_owned());
    }
    let path = tree::inclusion_proof(&leaves[..size], cert.height).map_err(|e| e.to_string())?;
    cert.zipchain_certificate = 2;
    cert.main_chain = Some(CertificateMainChain {
        checkpoint: note.to_owned(),
        leaf_index: cert.height,
        path: path.iter().map(hex::encode).collect(),
    });
    Ok(())
}

/// SPEC §9.5's `main_chain_proof`: the checkpoint is the chain's, a quorum of the
/// descriptor's witnesses cosigned it (and the log key's signature, if any, verifies),
/// `leaf_index == height < n`, and the inclusion proof leads from the block's log entry
/// to the checkpoint's root.
fn check_main_chain_proof(
    main_chain: &CertificateMainChain,
    entry: &[u8; 64],
    height: u64,
    auditor: &Auditor,
) -> Result<(String, MainChainProof, MainChainWitnesses), String> {
    use crate::tlog::{checkpoint, policy, tree};
    let policy = auditor.witnesses().ok_or_else(|| {
        "the trust descriptor names no witnesses, so no checkpoint can count".to_owned()
    })?;
    let origin = checkpoint::origin(&auditor.genesis());
    let cosigned =
        policy::check_cosigned(&main_chain.checkpoint, &origin, auditor.log_key(), policy)
            .map_err(|e| format!("checkpoint: {e}"))?;
    let size = cosigned.checkpoint.size;
    if main_chain.leaf_index != height {
        return Err(format!(
            "main_chain.leaf_index is {}, but the certificate's height is {height}",
            main_chain.leaf_index
        ));
    }
    if height >= size {
        return Err(format!(
            "height {height} is not below the checkpoint's size {size}"
        ));
    }
    let path = main_chain
        .path
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let bytes = hex::decode(h)
                .ok()
                .filter(|_| h.bytes().all(|b| !b.is_ascii_uppercase()));
            bytes
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| format!("main_chain.path[{i}] is not 64 lowercase hex digits"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    tree::verify_inclusion(
        &tree::leaf_hash(entry),
        height,
        size,
        &path,
        &cosigned.checkpoint.root,
    )
    .map_err(|e| format!("the block's entry is not in the checkpoint's tree: {e}"))?;
    let proof = MainChainProof {
        witnesses: cosigned.witnesses.len(),
        quorum: cosigned.quorum,
    };
    let detail = format!(
        "FINAL on the main chain at height {height} ({} of {} witnesses: {}; quorum {})",
        proof.witnesses,
        policy.keys().len(),
        cosigned.witnesses.join(", "),
        proof.quorum
    );
    let witnesses = MainChainWitnesses {
        vouched: cosigned.witnesses,
        known: policy.keys().iter().map(|k| k.name().to_owned()).collect(),
        checkpoint_size: size,
    };
    Ok((detail, proof, witnesses))
}

/// Where a transaction is in the block's batch.
struct BatchPosition {
    /// Its first (leftmost) leaf index.
    first: u64,
    /// The batch's length.
    size: u64,
}

/// Why the block's batch gives no position.
enum BatchProblem {
    /// The snapshot does not hold it.
    Missing,
    /// It is there but unreadable, changed (its Merkle root is not its name), or without
    /// the transaction.
    Unusable(String),
}

/// Reads the batch named `root` from `objects`, checks that its Merkle root is `root`
/// (the bytes are hashed now, whatever an audit saw before), and finds `tx` in it.
fn batch_position(
    objects: &dyn ObjectSource,
    root: &Hash32,
    tx: &Hash32,
) -> Result<BatchPosition, BatchProblem> {
    let batch = match objects.object(ObjectKind::Batch, root) {
        Ok(None) => return Err(BatchProblem::Missing),
        Err(reason) => {
            return Err(BatchProblem::Unusable(format!(
                "the snapshot's batch {root} is unreadable: {reason}"
            )));
        }
        Ok(Some(bytes)) => decode_batch(root, &bytes).map_err(|e| {
            BatchProblem::Unusable(format!("the snapshot's batch is unusable: {e}"))
        })?,
    };
    let size = batch.len() as u64;
    match batch.position(tx) {
        Some(first) => Ok(BatchPosition {
            first: first as u64,
            size,
        }),
        None => Err(BatchProblem::Unusable(format!(
            "the snapshot's batch {root} ({size} transactions) does not hold the transaction"
        ))),
    }
}

/// The failed `equivocation` check's detail: which numbers, which attestations.
fn equivocation_detail(audit: &Audit) -> String {
    let sequences = equivocated_sequences(audit);
    let mut detail = format!(
        "the snapshot proves that the sequencer equivocated: sequence number{} {} {} given to \
         different blocks, so no certificate of this chain can be trusted",
        if sequences.len() == 1 { "" } else { "s" },
        join_numbers(&sequences),
        if sequences.len() == 1 { "was" } else { "were" }
    );
    if let Some(first) = audit.equivocations.first() {
        detail.push_str(&format!(
            " (k={}: attestations {})",
            first.sequence,
            first.attestations.join(", ")
        ));
    }
    detail
}

struct Parsed {
    cert: Certificate,
    tx: Hash32,
    block_bytes: Vec<u8>,
    block: Block,
    attestation: Vec<u8>,
    proof: InclusionProof,
}

fn parse(json: &str) -> Result<Parsed, String> {
    let cert: Certificate =
        // from_slice: the reader the JWT and trust-descriptor parsers use, so the wasm
        // module holds one instance of serde_json's deserializer (issue #5).
        serde_json::from_slice(json.as_bytes())
            .map_err(|e| bounded_reason(&format!("not a certificate: {e}")))?;
    match (cert.zipchain_certificate, &cert.main_chain) {
        (1, None) | (2, Some(_)) => {}
        (1, Some(_)) => {
            return Err("main_chain needs \"zipchain_certificate\": 2".to_owned());
        }
        (2, None) => return Err("a certificate version 2 has main_chain".to_owned()),
        (other, _) => {
            return Err(format!("certificate version {other}, expected 1 or 2"));
        }
    }
    lower_hex("chain.genesis", &cert.chain.genesis, Some(32))?;
    lower_hex("chain.sequencer_key", &cert.chain.sequencer_key, Some(32))?;
    let tx = hash32("tx", &cert.tx)?;
    lower_hex("block", &cert.block, None)?;
    let block_bytes = hex::decode(&cert.block).map_err(|e| format!("block: not hex: {e}"))?;
    let block = Block::decode(&block_bytes).map_err(|e| format!("block: {e}"))?;
    let attestation = BASE64
        .decode(&cert.attestation)
        .map_err(|e| format!("attestation: not standard base64: {e}"))?;
    let path = cert
        .inclusion
        .path
        .iter()
        .enumerate()
        .map(|(i, h)| hash32(&format!("inclusion.path[{i}]"), h))
        .collect::<Result<Vec<_>, _>>()?;
    let proof = InclusionProof {
        leaf_index: cert.inclusion.leaf_index,
        tree_size: cert.inclusion.tree_size,
        path,
    };
    Ok(Parsed {
        cert,
        tx,
        block_bytes,
        block,
        attestation,
        proof,
    })
}

/// Checks that `text` is lowercase hex (SPEC §0), of `bytes` bytes when given; the error
/// names `field`.
fn lower_hex(field: &str, text: &str, bytes: Option<usize>) -> Result<(), String> {
    let shown: String = text.chars().take(80).collect();
    if let Some(n) = bytes {
        if text.len() != 2 * n {
            return Err(format!(
                "{field}: expected {} lowercase hex digits, got {} characters ({shown:?})",
                2 * n,
                text.chars().count()
            ));
        }
    } else if text.len() % 2 != 0 {
        return Err(format!(
            "{field}: an odd number of hex digits ({})",
            text.len()
        ));
    }
    if let Some(c) = text.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(if c.is_ascii_hexdigit() {
            format!("{field}: upper-case hex digit {c:?}; SPEC §0 writes hex in lowercase only")
        } else {
            format!("{field}: {c:?} is not a lowercase hex digit ({shown:?})")
        });
    }
    Ok(())
}

/// A 32-byte hash given as 64 lowercase hex digits; the error names `field`.
fn hash32(field: &str, text: &str) -> Result<Hash32, String> {
    lower_hex(field, text, Some(32))?;
    Hash32::from_hex(text).map_err(|e| format!("{field}: {e}"))
}

fn push(v: &mut CertificateVerdict, name: &'static str, ok: bool, detail: String) {
    v.checks.push(CheckOutcome { name, ok, detail });
}

fn push_result<T, E: core::fmt::Display>(
    v: &mut CertificateVerdict,
    name: &'static str,
    r: &Result<T, E>,
    ok: impl FnOnce(&T) -> String,
) {
    match r {
        Ok(t) => push(v, name, true, ok(t)),
        Err(e) => push(v, name, false, e.to_string()),
    }
}
