//! Checking one object of a snapshot ([`Auditor::examine`]) and auditing a whole
//! in-memory snapshot ([`Auditor::audit`]).

use super::*;

/// The verdict on one object of a snapshot: the facts `omc` needs, or why it is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Examined {
    /// A well-formed block whose file name is its hash.
    Block {
        /// `H(b)`.
        key: Hash32,
        /// The decoded block.
        block: Block,
    },
    /// A timestamp JWT valid under the trust descriptor that attests a block hash.
    Timestamp {
        /// `H(t)`.
        key: Hash32,
        /// `t.y`: the block hash it attests.
        attests: Hash32,
        /// `t.iat`, the attested time.
        iat: UnixSeconds,
    },
    /// An enclave attestation that passes `check(K_S+, a)`.
    Attestation {
        /// `H(a)`.
        key: Hash32,
        /// `a.s.y = b.u ++ H(t)`.
        y: [u8; 48],
        /// `a.s.k`, the sequence number.
        k: u64,
        /// The NSM document's own timestamp.
        document_time: UnixMillis,
    },
    /// A well-formed batch whose file name is its Merkle root. Its transaction ids
    /// are not kept: [`AuditBuilder::finish`] reads again the batches of the main
    /// chain only, so that batches no valid block references cost no memory.
    Batch {
        /// `m^H`.
        key: Hash32,
    },
    /// An object that is reported and ignored.
    Invalid(InvalidObject),
}

impl Examined {
    /// The verdict on an object file of `size` bytes that was not read because it is
    /// over its kind's limit ([`ObjectKind::max_len`]).
    pub fn oversized(kind: ObjectKind, key: &Hash32, size: u64) -> Self {
        Self::Invalid(InvalidObject {
            kind,
            key: key.to_hex(),
            reason: kind
                .oversize_reason(size)
                .unwrap_or_else(|| format!("file of {size} bytes was not read")),
        })
    }
}

/// An object of the snapshot that failed validation (SPEC §2.1, §6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidObject {
    /// Which directory it was in.
    pub kind: ObjectKind,
    /// Its file name.
    pub key: String,
    /// Why it is invalid, in words.
    pub reason: String,
}

/// Validates objects against one trust descriptor, the signatures checked by one
/// [`CryptoBackend`] (the verdicts never depend on which). Build it once per audit.
#[derive(Debug)]
pub struct Auditor {
    pub(super) genesis: Hash32,
    timestamps: TimestampVerifier,
    nsm: NsmVerifier,
    sequencer: SequenceVerifier,
    pub(super) seed: HashSeed,
    /// The writer's log key and the witness policy of a descriptor v2 (SPEC §9.4).
    checkpoints: (Option<VerifierKey>, Option<WitnessPolicy>),
}

impl Auditor {
    /// Prepares the verifiers the descriptor names (JWKS keys, NSM root, `K_S+`) on the
    /// [default backend](crate::crypto::default_backend).
    ///
    /// # Errors
    /// [`TrustError`] when the descriptor's keys or root cannot be used.
    pub fn new(trust: &TrustDescriptor) -> Result<Self, TrustError> {
        Self::with_backend(trust, crate::crypto::default_backend())
    }

    /// [`Auditor::new`] with every signature checked by `backend`.
    ///
    /// # Errors
    /// [`TrustError`] when the descriptor's keys or root cannot be used.
    pub fn with_backend(
        trust: &TrustDescriptor,
        backend: &'static dyn CryptoBackend,
    ) -> Result<Self, TrustError> {
        Ok(Self {
            genesis: trust.genesis(),
            timestamps: TimestampVerifier::with_backend(trust.timestamp_policy(), backend)
                .map_err(TrustError::Timestamp)?,
            nsm: NsmVerifier::with_backend(trust.nsm_policy()?, backend)
                .map_err(TrustError::Nitro)?,
            sequencer: SequenceVerifier::new(trust.sequencer_key(), backend)
                .map_err(TrustError::SequencerKey)?,
            seed: HashSeed::random(),
            checkpoints: (trust.log_key().cloned(), trust.witnesses().cloned()),
        })
    }

    /// [`TrustDescriptor::audit_fingerprint`] of the descriptor: what the verdicts of
    /// [`Auditor::examine`] depend on (computed from the verifiers on demand).
    pub fn fingerprint(&self) -> [u8; 32] {
        crate::trust::audit_fingerprint(
            &self.genesis,
            self.sequencer.key(),
            self.timestamps.policy(),
            self.nsm.policy(),
        )
    }

    /// The writer's log key of a descriptor v2 (SPEC §9.4), when it names one.
    pub fn log_key(&self) -> Option<&VerifierKey> {
        self.checkpoints.0.as_ref()
    }

    /// The witness policy of a descriptor v2 (SPEC §9.4), when it names witnesses.
    pub fn witnesses(&self) -> Option<&WitnessPolicy> {
        self.checkpoints.1.as_ref()
    }

    /// The same auditor with the hash maps of [`Auditor::audit`] under `seed`
    /// ([`HashSeed`]; by default [`HashSeed::random`]).
    pub fn with_hash_seed(self, seed: HashSeed) -> Self {
        Self { seed, ..self }
    }

    /// The genesis block hash the descriptor pins.
    pub fn genesis(&self) -> Hash32 {
        self.genesis
    }

    /// The timestamp verifier built from the descriptor.
    pub fn timestamp_verifier(&self) -> &TimestampVerifier {
        &self.timestamps
    }

    /// The NSM verifier built from the descriptor.
    pub fn nsm_verifier(&self) -> &NsmVerifier {
        &self.nsm
    }

    /// The sequencer key `K_S+` the descriptor pins.
    pub fn sequencer_key(&self) -> &SequencerKey {
        self.sequencer.key()
    }

    /// The sequencer key prepared by the auditor's backend.
    pub fn sequence_verifier(&self) -> &SequenceVerifier {
        &self.sequencer
    }

    /// The backend that checks the signatures.
    pub fn backend(&self) -> &'static dyn CryptoBackend {
        self.nsm.backend()
    }

    /// `check(K_S+, a)` (SPEC §1.5) with the auditor's verifiers, at `at`.
    ///
    /// # Errors
    /// The first failed step, as a [`CheckError`].
    pub fn check_attestation(
        &self,
        a: &[u8],
        at: VerifyAt,
    ) -> Result<VerifiedAttestation, CheckError> {
        check_with(&self.sequencer, &self.nsm, a, at)
    }

    /// Checks one object of kind `kind` stored under the file name `name`.
    ///
    /// Never fails: an object that does not pass is [`Examined::Invalid`] with the reason.
    pub fn examine(&self, kind: ObjectKind, name: &str, bytes: &[u8]) -> Examined {
        let invalid = |reason: String| {
            Examined::Invalid(InvalidObject {
                kind,
                key: name.to_owned(),
                reason,
            })
        };
        let Ok(named) = Hash32::from_hex(name) else {
            return invalid("file name is not 64 hex digits".to_owned());
        };
        if let Some(reason) = kind.oversize_reason(bytes.len() as u64) {
            return invalid(reason);
        }
        if kind != ObjectKind::Batch {
            let actual = Hash32::digest(bytes);
            if actual != named {
                return invalid(format!("content hashes to {actual}, not to its name"));
            }
        }
        match kind {
            ObjectKind::Block => match Block::decode(bytes) {
                Ok(block) => Examined::Block { key: named, block },
                Err(e) => invalid(format!("block: {e}")),
            },
            ObjectKind::Timestamp => {
                let Ok(token) = core::str::from_utf8(bytes) else {
                    return invalid("timestamp: not ASCII text".to_owned());
                };
                match self.timestamps.validate(token) {
                    Ok(t) => match t.attested().and_then(|y| <[u8; 32]>::try_from(y).ok()) {
                        Some(y) => Examined::Timestamp {
                            key: named,
                            attests: Hash32(y),
                            iat: t.iat(),
                        },
                        None => {
                            invalid("timestamp: does not attest a 32-byte block hash".to_owned())
                        }
                    },
                    Err(e) => invalid(format!("timestamp: {e}")),
                }
            }
            ObjectKind::Attestation => {
                // The name was checked to be H(a) above: no second hash of the document.
                let checked = crate::sequence::check_hashed(
                    &self.sequencer,
                    &self.nsm,
                    bytes,
                    VerifyAt::DocumentTimestamp,
                    || named,
                );
                match checked {
                    Ok(a) => Examined::Attestation {
                        key: named,
                        y: a.sequence().y,
                        k: a.sequence().k,
                        document_time: a.timestamp(),
                    },
                    Err(e) => invalid(format!("attestation: {e}")),
                }
            }
            ObjectKind::Batch => match Batch::root_of(bytes, &BatchBudget::DEFAULT) {
                Ok(root) => {
                    if root == named {
                        Examined::Batch { key: named }
                    } else {
                        invalid(format!("batch Merkle root is {root}, not its name"))
                    }
                }
                Err(e) => invalid(format!("batch: {e}")),
            },
        }
    }

    /// Audits a whole in-memory snapshot: [`Auditor::audit_source`] on it.
    /// `progress` is called with the number of objects examined so far and the total.
    pub fn audit(&self, snapshot: &Snapshot, progress: &mut dyn FnMut(usize, usize)) -> Audit {
        match self.audit_source(snapshot, progress) {
            Ok(audit) => audit,
            Err(never) => match never {},
        }
    }
}
