//! AWS Nitro NSM attestation documents (SPEC §1.5).
//!
//! TEMPORARY STUB on the `jwt` branch: the real module is written in parallel on the `nsm`
//! branch and replaces this file at merge. It only mirrors the API that `sequence::check`
//! and `trust::TrustDescriptor::nsm_policy` use, and [`NsmVerifier::verify`] always fails.

use std::collections::BTreeMap;

use crate::time::UnixMillis;

/// What an NSM document must satisfy (stub).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NsmPolicy {
    /// DER of the trusted root certificate (stub default: empty; the real default is AWS Root-G1).
    pub root_der: Vec<u8>,
    /// Optional PCR allow-list: index → expected value.
    pub pcrs: BTreeMap<usize, Vec<u8>>,
    /// Whether debug-mode documents (PCR0 all zero) are accepted.
    pub allow_debug: bool,
}

/// The time at which certificates are checked (stub).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyAt {
    /// The document's own `timestamp`.
    DocumentTime,
    /// A time the caller passes.
    Time(UnixMillis),
}

/// The fields of an NSM document (stub: only those `sequence::check` reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NsmDocument {
    /// `public_key`, when present.
    pub public_key: Option<Vec<u8>>,
    /// `user_data`, when present.
    pub user_data: Option<Vec<u8>>,
    /// `timestamp`.
    pub timestamp: UnixMillis,
}

/// A document that verified (stub: never constructed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNsmDocument {
    document: NsmDocument,
}

impl VerifiedNsmDocument {
    /// The document's fields.
    pub fn document(&self) -> &NsmDocument {
        &self.document
    }
}

/// Verifies NSM documents under one policy (stub).
#[derive(Clone, Debug)]
pub struct NsmVerifier {
    _policy: NsmPolicy,
}

impl NsmVerifier {
    /// Makes a verifier (stub).
    ///
    /// # Errors
    /// Never, in the stub.
    pub fn new(policy: NsmPolicy) -> Result<Self, NsmError> {
        Ok(Self { _policy: policy })
    }

    /// Verifies one document (stub: always [`NsmError::Unimplemented`]).
    ///
    /// # Errors
    /// Always, in the stub.
    pub fn verify(&self, _document: &[u8], _at: VerifyAt) -> Result<VerifiedNsmDocument, NsmError> {
        Err(NsmError::Unimplemented)
    }
}

/// Why an NSM document was rejected (stub).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NsmError {
    /// The stub does not verify documents.
    #[error("NSM verification is not implemented in this stub")]
    Unimplemented,
}
