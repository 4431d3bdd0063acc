//! Certificates (SPEC §3): the offline proof that a transaction is in a final
//! main-chain block between two trusted times; `makeCertificate` (SPEC §5) and the check.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::block::Block;
use crate::chain::{Audit, Auditor, CLOCK_SKEW_MS, MainChainBlock};
use crate::hash::Hash32;
use crate::merkle::{InclusionProof, RootHash};
use crate::nsm::VerifyAt;
use crate::sequence::{SequencerKey, check as check_attestation};
use crate::snapshot::{ObjectKind, Snapshot};

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
}

/// `makeCertificate` (SPEC §5): the certificate of `tx` from the first main-chain
/// block after `b0` whose batch contains it. `Ok(None)` when `tx` is not final.
///
/// # Errors
/// [`MakeCertificateError`] when the objects the audit used cannot be read again.
pub fn make_certificate(
    auditor: &Auditor,
    audit: &Audit,
    source: &dyn ObjectSource,
    tx: &Hash32,
) -> Result<Option<Certificate>, MakeCertificateError> {
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
/// # Errors
/// [`MakeCertificateError`] when an object is missing or unreadable, or the batch does not
/// hold `tx`.
pub fn certificate_for(
    genesis: Hash32,
    sequencer_key: &SequencerKey,
    entry: &MainChainBlock,
    prev: &MainChainBlock,
    source: &dyn ObjectSource,
    tx: &Hash32,
) -> Result<Certificate, MakeCertificateError> {
    let height = entry.height;
    let read = |kind: ObjectKind, key: &Hash32| -> Result<Vec<u8>, MakeCertificateError> {
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
    };
    let text = |kind, key: &Hash32| -> Result<String, MakeCertificateError> {
        String::from_utf8(read(kind, key)?)
            .map_err(|_| MakeCertificateError::Changed(format!("timestamp {key} is not text")))
    };
    let block = read(ObjectKind::Block, &entry.block)?;
    let upper = text(ObjectKind::Timestamp, &entry.timestamp)?;
    let lower = text(ObjectKind::Timestamp, &prev.timestamp)?;
    let attestation = read(ObjectKind::Attestation, &entry.attestation)?;
    let batch = Batch::decode(&read(ObjectKind::Batch, &entry.batch_root)?)
        .map_err(|e| MakeCertificateError::Changed(format!("batch: {e}")))?;
    let tx_ids = batch.tx_ids();
    let Some(index) = tx_ids.iter().position(|t| t == tx) else {
        return Err(MakeCertificateError::Changed(format!(
            "batch {} no longer holds {tx}",
            entry.batch_root
        )));
    };
    let proof = crate::merkle::prove(&tx_ids, index as u64)
        .map_err(|e| MakeCertificateError::Changed(format!("inclusion proof: {e}")))?;
    Ok(Certificate {
        zipchain_certificate: 1,
        chain: CertificateChain {
            genesis: genesis.to_hex(),
            sequencer_key: sequencer_key.to_hex(),
        },
        tx: tx.to_hex(),
        height,
        sequence: entry.sequence,
        block: hex::encode(block),
        lower,
        upper,
        attestation: BASE64.encode(attestation),
        inclusion: CertificateInclusion {
            leaf_index: proof.leaf_index,
            tree_size: proof.tree_size,
            path: proof.path.iter().map(Hash32::to_hex).collect(),
        },
        not_before: prev.iat.0,
        not_after: entry.iat.0,
    })
}

/// One named check of a certificate and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    /// Stable name of the check (see [`check_certificate`]).
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
}

/// The verdict on a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateVerdict {
    /// Every check passed.
    pub valid: bool,
    /// Whether main-chain position was checked against a snapshot. When `false`,
    /// `valid` says nothing about whether the block is on the main chain.
    pub main_chain_checked: bool,
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
}

/// Checks a certificate (SPEC §3) given as JSON text.
///
/// Checks, by name: `format`, `chain`, `lower_timestamp`, `upper_timestamp`,
/// `upper_attests_block`, `block_links_lower`, `attestation`, `attestation_binds_block`,
/// `attestation_time`, `inclusion`, `time_bounds`; with an audit of a snapshot also
/// `main_chain` and `first_occurrence`.
///
/// # Note
/// Without `audit`, a valid verdict proves the block was timestamped between the two
/// times and sequenced, not that it is on the main chain: `main_chain_checked` is
/// then `false`.
pub fn check_certificate(
    json: &str,
    auditor: &Auditor,
    audit: Option<&Audit>,
) -> CertificateVerdict {
    let mut v = CertificateVerdict {
        valid: false,
        main_chain_checked: false,
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
        "certificate version 1, well formed".to_owned(),
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
            let mut y = [0u8; 48];
            y[..16].copy_from_slice(&block.uuid);
            y[16..].copy_from_slice(upper_hash.as_bytes());
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
                    let earliest = u.iat().0.saturating_mul(1000).saturating_sub(CLOCK_SKEW_MS);
                    let ok = a.timestamp().0 >= earliest;
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
    push(
        &mut v,
        "inclusion",
        incl.is_ok(),
        match incl {
            Ok(()) => format!(
                "leaf {} of {} leads to the batch root {}",
                proof.leaf_index, proof.tree_size, block.batch_root
            ),
            Err(e) => e.to_string(),
        },
    );

    match (&lower, &upper) {
        (Ok(l), Ok(u)) => {
            let ok = l.iat().0 == cert.not_before && u.iat().0 == cert.not_after;
            push(
                &mut v,
                "time_bounds",
                ok,
                format!(
                    "not_before {} / not_after {}; timestamps issued at {} and {}",
                    cert.not_before,
                    cert.not_after,
                    l.iat().0,
                    u.iat().0
                ),
            );
        }
        _ => push(
            &mut v,
            "time_bounds",
            false,
            "not checked: a timestamp is invalid".to_owned(),
        ),
    }

    if cert.height == 0 {
        push(
            &mut v,
            "main_chain",
            false,
            "height 0 is the genesis block, which certifies no transaction".to_owned(),
        );
    }
    if let Some(audit) = audit {
        v.main_chain_checked = true;
        let on_main = audit.at_height(cert.height);
        let ok = on_main.is_some_and(|b| {
            b.block == block_hash && b.sequence == cert.sequence && b.timestamp == upper_hash
        });
        push(
            &mut v,
            "main_chain",
            ok,
            match on_main {
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
        let ok = first == Some(cert.height);
        push(
            &mut v,
            "first_occurrence",
            ok,
            match first {
                Some(h) if h == cert.height => {
                    format!("height {h} is the transaction's first on the main chain")
                }
                Some(h) => format!("the transaction is first on the main chain at height {h}"),
                None => "the transaction is not final on the main chain".to_owned(),
            },
        );
    }
    v.valid = v.checks.iter().all(|c| c.ok);
    v
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
        serde_json::from_slice(json.as_bytes()).map_err(|e| format!("not a certificate: {e}"))?;
    if cert.zipchain_certificate != 1 {
        return Err(format!(
            "certificate version {}, expected 1",
            cert.zipchain_certificate
        ));
    }
    let tx = Hash32::from_hex(&cert.tx).map_err(|e| format!("tx: {e}"))?;
    let block_bytes = hex::decode(&cert.block).map_err(|e| format!("block: not hex: {e}"))?;
    let block = Block::decode(&block_bytes).map_err(|e| format!("block: {e}"))?;
    let attestation = BASE64
        .decode(&cert.attestation)
        .map_err(|e| format!("attestation: not standard base64: {e}"))?;
    let path = cert
        .inclusion
        .path
        .iter()
        .map(|h| Hash32::from_hex(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("inclusion path: {e}"))?;
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
