//! AWS Nitro NSM attestation documents (SPEC §1.5).
//!
//! An NSM document is a COSE_Sign1 (untagged as `/dev/nsm` returns it, or tag 18)
//! signed with ES384 by a short-lived leaf certificate that chains through the
//! document's own `cabundle` to the AWS Nitro Enclaves root. [`NsmVerifier::verify`]
//! checks, in this order, each failure its own [`NsmError`] variant:
//!
//! 1. strict CBOR: well formed, bounded nesting and no trailing bytes in the
//!    envelope and in the payload; definite lengths only in the envelope, definite
//!    or indefinite lengths and no tags in the payload, read as received
//!    ([`NsmError::check`] = `"cbor"`);
//! 2. the envelope: protected header exactly `{1: -35}`, empty unprotected header,
//!    payload of 1..=16384 bytes, signature of 96 bytes (`"cose"`);
//! 3. the payload fields with the AWS rules and 1024-byte limits, CBOR null meaning
//!    absent, no unknown or repeated keys (`"fields"`);
//! 4. `cabundle[0]` byte-identical to the trusted root (`"root"`), the certificate
//!    profile and path from the root through `cabundle[1..]` to the leaf (`"chain"`),
//!    every certificate, the root included, valid at the chosen time (`"validity"`);
//! 5. the COSE signature with the leaf key over the re-encoded `Sig_structure`,
//!    high-S accepted as the NSM does not normalise (`"signature"`);
//! 6. the policy: debug documents (PCR0 all zero) unless allowed (`"debug"`), the
//!    PCR allow-list (`"pcrs"`).
//!
//! The time is always the caller's choice ([`VerifyAt`]); by default the document's
//! own signed timestamp, since leaves live 3 hours and these are archival proofs.
//! What success does *not* prove: that the document is fresh, nor anything about
//! `public_key`, `user_data` or `nonce` beyond their sizes; whoever holds an expired
//! leaf key could still sign documents dated inside its old validity window
//! (research `nitro-FINDINGS.md` §3).

use std::collections::BTreeMap;

use crate::crypto::{CryptoBackend, default_backend};
use crate::time::{UnixMillis, UnixSeconds, ValidityWindow};

pub(crate) mod cbor;
mod chain;
mod document;
pub(crate) mod item;
pub(crate) mod x509;

pub use cbor::{CborIssue, CborPart};
pub use chain::CertPosition;
pub use document::NsmDocument;

/// The DER of the AWS Nitro Enclaves Root-G1 certificate
/// (`CN=aws.nitro-enclaves, OU=AWS, O=Amazon, C=US`, P-384, valid 2019-10-28 ..
/// 2049-10-28), the published trust anchor of every Nitro attestation. Its SHA-256
/// is [`AWS_NITRO_ROOT_G1_SHA256`]; `build.rs` refuses to build if the file differs.
pub const AWS_NITRO_ROOT_G1_DER: &[u8] = include_bytes!("aws_nitro_root_g1.der");

/// SHA-256 of [`AWS_NITRO_ROOT_G1_DER`], lowercase hex (the fingerprint AWS and
/// tkhq/qos publish; not the hash of AWS's zip file).
pub const AWS_NITRO_ROOT_G1_SHA256: &str =
    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

/// The length of the raw `r || s` ES384 signature.
const SIGNATURE_LEN: usize = 96;

/// The protected header every NSM document has: `{1: -35}` (alg ES384).
const PROTECTED_ES384: &[u8] = &[0xa1, 0x01, 0x38, 0x22];

/// The COSE_Sign1 tag (RFC 9052).
const COSE_SIGN1_TAG: u64 = 18;

/// The time at which to check certificate validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyAt {
    /// The document's own signed `timestamp`, rounded down to whole seconds (the
    /// default for archival verification, SPEC §1.5).
    DocumentTimestamp,
    /// A time the caller chooses, rounded down to whole seconds.
    Millis(UnixMillis),
}

/// Budgets that bound the work done on an untrusted document. The defaults are
/// the AWS CDDL's (`aws-nitro-enclaves-nsm-api` `docs/attestation_process.md`
/// §3.1), except where noted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NsmLimits {
    /// The largest payload, in bytes (CDDL `bstr .size (1..16384)`). Default 16384.
    pub max_payload_len: usize,
    /// The largest certificate, leaf or `cabundle` entry (CDDL `cert = bytes .size
    /// (1..1024)`). Default 1024.
    pub max_cert_len: usize,
    /// The largest `public_key`, `user_data` and `nonce` (CDDL `user_data = bytes
    /// .size (0..1024)`; the prose's 512 is contradicted by real documents that
    /// carry 1024). Default 1024.
    pub max_field_len: usize,
    /// The most `cabundle` entries. Real documents have 4 (root, regional, zonal,
    /// instance); default 8.
    pub max_cabundle: usize,
    /// The deepest CBOR nesting in the envelope or the payload (a scalar is 1; an
    /// indefinite-length item is a level like any other, its members one below).
    /// Real documents reach 3; default 8.
    pub max_cbor_depth: usize,
}

impl Default for NsmLimits {
    fn default() -> Self {
        Self {
            max_payload_len: 16384,
            max_cert_len: 1024,
            max_field_len: 1024,
            max_cabundle: 8,
            max_cbor_depth: 8,
        }
    }
}

/// What a caller trusts and requires of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NsmPolicy {
    /// The trusted root certificate (DER). Default: [`AWS_NITRO_ROOT_G1_DER`].
    pub root_der: Vec<u8>,
    /// Whether debug-mode documents (PCR0 all zero) are accepted. Default false.
    pub allow_debug: bool,
    /// An allow-list: every PCR listed here must be in the document with exactly this
    /// value. Default empty (no requirement).
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// Work budgets. Default [`NsmLimits::default`].
    pub limits: NsmLimits,
}

impl Default for NsmPolicy {
    fn default() -> Self {
        Self {
            root_der: AWS_NITRO_ROOT_G1_DER.to_vec(),
            allow_debug: false,
            pcrs: BTreeMap::new(),
            limits: NsmLimits::default(),
        }
    }
}

/// Verifies NSM attestation documents under one [`NsmPolicy`], with the trusted
/// root parsed once and its P-384 signatures checked by one [`CryptoBackend`]. Holds no
/// clock; its only state is two bounded caches, of the certificate signatures and of
/// the whole certificate chains it has verified (documents of one enclave share their
/// CA certificates, and for hours their leaf), which change no verdict. `Send + Sync`:
/// share it.
#[derive(Debug)]
pub struct NsmVerifier {
    policy: NsmPolicy,
    root: chain::Root,
    backend: &'static dyn CryptoBackend,
    cache: chain::SignatureCache,
    chains: chain::ChainCache,
}

impl NsmVerifier {
    /// Prepares a verifier on the [default backend](default_backend): parses the
    /// policy's root and checks that it is a CA certificate (critical basicConstraints
    /// CA=true, keyCertSign) usable as a trust anchor.
    ///
    /// # Errors
    /// [`NsmError::BadRoot`] when it is not.
    pub fn new(policy: NsmPolicy) -> Result<Self, NsmError> {
        Self::with_backend(policy, default_backend())
    }

    /// [`NsmVerifier::new`] with the signatures checked by `backend`.
    ///
    /// # Errors
    /// [`NsmError::BadRoot`] when the root is unusable.
    pub fn with_backend(
        policy: NsmPolicy,
        backend: &'static dyn CryptoBackend,
    ) -> Result<Self, NsmError> {
        let root = chain::Root::new(policy.root_der.clone())?;
        Ok(Self {
            policy,
            root,
            backend,
            cache: chain::SignatureCache::default(),
            chains: chain::ChainCache::default(),
        })
    }

    /// The verifier of SPEC §1.5's default: the AWS Nitro Enclaves Root-G1, debug
    /// documents rejected, no PCR allow-list, default limits, the default backend.
    pub fn aws() -> Self {
        let root = match chain::Root::new(AWS_NITRO_ROOT_G1_DER.to_vec()) {
            Ok(root) => root,
            // The embedded root is checked by build.rs and by the unit tests.
            Err(e) => unreachable!("the embedded AWS root is valid: {e}"),
        };
        Self {
            policy: NsmPolicy::default(),
            root,
            backend: default_backend(),
            cache: chain::SignatureCache::default(),
            chains: chain::ChainCache::default(),
        }
    }

    /// The policy this verifier applies.
    pub fn policy(&self) -> &NsmPolicy {
        &self.policy
    }

    /// The backend that checks the signatures.
    pub fn backend(&self) -> &'static dyn CryptoBackend {
        self.backend
    }

    /// Verifies one document, given as the raw bytes `/dev/nsm` returned, with the
    /// certificates checked at `at` (SPEC §1.5). The checks and their order are
    /// listed in the [module documentation](self).
    ///
    /// # Errors
    /// The first failed check, as an [`NsmError`] naming it.
    pub fn verify(&self, document: &[u8], at: VerifyAt) -> Result<VerifiedNsmDocument, NsmError> {
        let limits = &self.policy.limits;
        let sign1 = parse_envelope(document, limits)?;
        let parsed = parse_payload_checked(sign1.payload.unwrap_or_default(), limits)?;

        let checked_at = match at {
            VerifyAt::DocumentTimestamp => parsed.timestamp.to_seconds(),
            VerifyAt::Millis(ms) => ms.to_seconds(),
        };
        let context = chain::ChainContext {
            root: &self.root,
            backend: self.backend,
            signatures: &self.cache,
        };
        let chain = chain::check(
            context,
            &self.chains,
            &parsed.certificate,
            &parsed.cabundle,
            checked_at,
        )?;

        let signed = cbor::sig_structure(sign1.protected, sign1.payload.unwrap_or_default());
        chain
            .leaf_key
            .verify(&signed, sign1.signature)
            .map_err(|_| NsmError::Signature)?;

        let debug = parsed.is_debug();
        if debug && !self.policy.allow_debug {
            return Err(NsmError::DebugMode);
        }
        for (index, expected) in &self.policy.pcrs {
            let got = parsed.pcr(*index);
            if got != Some(expected.as_slice()) {
                return Err(NsmError::PcrMismatch {
                    index: *index,
                    expected: expected.clone(),
                    got: got.map(<[u8]>::to_vec),
                });
            }
        }

        Ok(VerifiedNsmDocument {
            document: parsed,
            checked_at,
            chain_validity: chain.window,
            debug,
        })
    }
}

impl NsmDocument {
    /// Parses a document and checks its CBOR, envelope and fields (steps 1-3 of
    /// [`NsmVerifier::verify`]) WITHOUT checking the chain or the signature: for
    /// showing what a rejected document claims. Nothing in it is authenticated.
    ///
    /// # Errors
    /// The first failed check of steps 1-3.
    pub fn parse_unverified(document: &[u8], limits: &NsmLimits) -> Result<Self, NsmError> {
        let sign1 = parse_envelope(document, limits)?;
        parse_payload_checked(sign1.payload.unwrap_or_default(), limits)
    }
}

/// A document that passed every check of [`NsmVerifier::verify`]. Only `verify`
/// makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNsmDocument {
    document: NsmDocument,
    checked_at: UnixSeconds,
    chain_validity: ValidityWindow,
    debug: bool,
}

impl VerifiedNsmDocument {
    /// The verified fields.
    pub fn document(&self) -> &NsmDocument {
        &self.document
    }

    /// The time at which the certificates were checked.
    pub fn checked_at(&self) -> UnixSeconds {
        self.checked_at
    }

    /// The intersection of the validity periods of every certificate in the chain,
    /// the root included: the times at which this document would verify.
    pub fn chain_validity(&self) -> ValidityWindow {
        self.chain_validity
    }

    /// Whether this is a debug-mode document (accepted only when the policy allows).
    pub fn is_debug(&self) -> bool {
        self.debug
    }

    /// The verified fields, by value.
    pub fn into_document(self) -> NsmDocument {
        self.document
    }
}

/// Steps 1-2: strict CBOR, then the COSE_Sign1 envelope of SPEC §1.5. On success
/// the payload is present (`Some`).
fn parse_envelope<'a>(document: &'a [u8], limits: &NsmLimits) -> Result<cbor::Sign1<'a>, NsmError> {
    cbor::check_strict(document, CborPart::Document, limits.max_cbor_depth)?;
    if let Ok(crate::cbor::Head {
        major: 6,
        argument: Some(tag),
        ..
    }) = crate::cbor::read_head(document)
    {
        if tag != COSE_SIGN1_TAG {
            return Err(NsmError::UnexpectedTag { tag });
        }
    }
    let sign1 = cbor::sign1(document).map_err(|reason| NsmError::Cose { reason })?;

    if sign1.protected != PROTECTED_ES384 {
        return Err(NsmError::ProtectedHeader {
            got: sign1.protected.to_vec(),
        });
    }
    if sign1.unprotected_entries != 0 {
        return Err(NsmError::UnprotectedHeader);
    }
    if sign1.signature.len() != SIGNATURE_LEN {
        return Err(NsmError::SignatureLength {
            len: sign1.signature.len(),
        });
    }
    let Some(payload) = sign1.payload else {
        return Err(NsmError::MissingPayload);
    };
    if payload.is_empty() || payload.len() > limits.max_payload_len {
        return Err(NsmError::PayloadLength {
            len: payload.len(),
            max: limits.max_payload_len,
        });
    }
    Ok(sign1)
}

fn parse_payload_checked(payload: &[u8], limits: &NsmLimits) -> Result<NsmDocument, NsmError> {
    cbor::check_strict(payload, CborPart::Payload, limits.max_cbor_depth)?;
    document::parse_payload(payload, limits)
}

/// Why an NSM document was rejected, one variant per check. [`NsmError::check`]
/// names the group of checks a variant belongs to, for CLI and JS output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NsmError {
    /// The policy's trusted root is not a usable CA certificate.
    #[error("the trusted root is unusable: {reason}")]
    BadRoot {
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes are not well-formed CBOR of the part's rules within the depth
    /// budget (definite lengths in the envelope; no tags in the payload).
    #[error("{part} CBOR at byte {offset}: {issue}")]
    Cbor {
        /// Envelope or payload.
        part: CborPart,
        /// Byte offset of the offending item within that part.
        offset: usize,
        /// What is wrong.
        issue: CborIssue,
    },
    /// Bytes follow the single CBOR item.
    #[error("{part} has {} bytes after its {item_len}-byte CBOR item; expected none", total_len - item_len)]
    TrailingData {
        /// Envelope or payload.
        part: CborPart,
        /// The length of the item.
        item_len: usize,
        /// The length of the input.
        total_len: usize,
    },
    /// The envelope has a tag other than 18 (COSE_Sign1).
    #[error("CBOR tag {tag}; expected none or 18 (COSE_Sign1)")]
    UnexpectedTag {
        /// The tag found.
        tag: u64,
    },
    /// The envelope is not a COSE_Sign1 structure.
    #[error("not a COSE_Sign1: {reason}")]
    Cose {
        /// Which field is not of its COSE type, in words.
        reason: String,
    },
    /// The protected header is not exactly `{1: -35}` (`a1 01 38 22`, ES384).
    #[error(
        "protected header {}; expected a1013822 ({{1: -35}}, ES384)",
        hex::encode(got)
    )]
    ProtectedHeader {
        /// The protected header bytes found.
        got: Vec<u8>,
    },
    /// The unprotected header is not the empty map.
    #[error("unprotected header is not empty; expected {{}}")]
    UnprotectedHeader,
    /// The COSE_Sign1 has a detached (nil) payload.
    #[error("payload is detached (nil); expected a byte string")]
    MissingPayload,
    /// The payload is empty or longer than [`NsmLimits::max_payload_len`].
    #[error("payload of {len} bytes; expected 1..={max}")]
    PayloadLength {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The signature is not the 96-byte `r || s` of ES384.
    #[error("signature of {len} bytes; expected 96")]
    SignatureLength {
        /// Its length.
        len: usize,
    },
    /// The payload is well-formed CBOR that does not decode (e.g. invalid UTF-8 text).
    #[error("payload does not decode: {reason}")]
    PayloadDecode {
        /// What the decoder reported.
        reason: String,
    },
    /// The payload is not a CBOR map.
    #[error("payload is not a map")]
    PayloadNotMap,
    /// The payload has a key other than the nine of SPEC §1.5.
    #[error("unknown payload key {key:?}; expected one of {:?}", document::FIELDS)]
    UnknownField {
        /// The key (a text key, cut to 96 printed bytes; or the CBOR type of a
        /// non-text key).
        key: String,
    },
    /// A payload key appears twice.
    #[error("payload key {field:?} appears more than once")]
    DuplicateField {
        /// The key.
        field: &'static str,
    },
    /// A mandatory field is missing.
    #[error("payload has no {field:?}")]
    MissingField {
        /// The key.
        field: &'static str,
    },
    /// A field has the wrong CBOR type.
    #[error("{field} has the wrong type; expected {expected}")]
    FieldType {
        /// The key.
        field: &'static str,
        /// The type required.
        expected: &'static str,
    },
    /// A byte or text field is shorter or longer than allowed.
    #[error("{field} of {len} bytes; expected {min}..={max}")]
    FieldLength {
        /// The key.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The least allowed.
        min: usize,
        /// The most allowed.
        max: usize,
    },
    /// `digest` is not `"SHA384"`.
    #[error("digest {got:?}; expected \"SHA384\"")]
    Digest {
        /// The value found.
        got: String,
    },
    /// `timestamp` is zero.
    #[error("timestamp is 0; expected milliseconds since the epoch")]
    ZeroTimestamp,
    /// `pcrs` is empty or has more than 32 entries.
    #[error("{count} PCRs; expected 1..={max}")]
    PcrCount {
        /// The number of entries.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// A PCR index is not in 0..=31.
    #[error("PCR index {index}; expected 0..=31")]
    PcrIndex {
        /// The index found.
        index: i128,
    },
    /// A PCR index appears twice.
    #[error("PCR{index} appears more than once")]
    DuplicatePcr {
        /// The index.
        index: u8,
    },
    /// A PCR value is not 32, 48 or 64 bytes.
    #[error("PCR{index} of {len} bytes; expected 32, 48 or 64")]
    PcrLength {
        /// The index.
        index: u8,
        /// Its length.
        len: usize,
    },
    /// `cabundle` is empty or longer than [`NsmLimits::max_cabundle`].
    #[error("cabundle of {count} certificates; expected 1..={max}")]
    CabundleCount {
        /// The number of entries.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// `cabundle[0]` is not byte-identical to the trusted root.
    #[error("cabundle[0] has SHA-256 {got_sha256}; expected the trusted root {expected_sha256}")]
    RootMismatch {
        /// SHA-256 of the trusted root (hex).
        expected_sha256: String,
        /// SHA-256 of `cabundle[0]` (hex).
        got_sha256: String,
    },
    /// A certificate does not parse as X.509 DER.
    #[error("{cert} does not parse: {reason}")]
    CertificateParse {
        /// Which certificate.
        cert: CertPosition,
        /// What the parser reported.
        reason: String,
    },
    /// A CA certificate lacks critical basicConstraints with CA=true.
    #[error(
        "{cert} has basicConstraints CA={ca}, critical={critical}; expected a critical CA=true"
    )]
    NotCa {
        /// Which certificate.
        cert: CertPosition,
        /// Its CA flag (false when basicConstraints is absent).
        ca: bool,
        /// Whether basicConstraints is critical.
        critical: bool,
    },
    /// A certificate's keyUsage lacks the bit its role needs (or keyUsage is absent).
    #[error("{cert} keyUsage lacks {required}")]
    KeyUsage {
        /// Which certificate.
        cert: CertPosition,
        /// The bit required (`keyCertSign` for CAs, `digitalSignature` for the leaf).
        required: &'static str,
    },
    /// A CA's pathLen is smaller than the number of CAs below it in the bundle.
    #[error("{cert} has pathLen {path_len} but {below} CA certificates below it")]
    PathLenExceeded {
        /// Which certificate.
        cert: CertPosition,
        /// Its pathLen.
        path_len: u32,
        /// The CA certificates below it.
        below: usize,
    },
    /// The leaf is marked as a CA, or has a pathLen.
    #[error(
        "leaf has basicConstraints CA={ca}, pathLen {path_len:?}; expected CA=false, no pathLen"
    )]
    LeafIsCa {
        /// Its CA flag.
        ca: bool,
        /// Its pathLen.
        path_len: Option<u32>,
    },
    /// The leaf's key is not an EC P-384 key.
    #[error("leaf key: {reason}")]
    LeafKey {
        /// What is wrong.
        reason: String,
    },
    /// A certificate's validity starts after the verification time.
    #[error("{cert} is not valid until {not_before}; checked at {}", at.0)]
    CertificateNotYetValid {
        /// Which certificate.
        cert: CertPosition,
        /// The verification time.
        at: UnixSeconds,
        /// Its notBefore (Unix seconds).
        not_before: i64,
    },
    /// A certificate's validity ended before the verification time.
    #[error("{cert} expired at {not_after}; checked at {}", at.0)]
    CertificateExpired {
        /// Which certificate.
        cert: CertPosition,
        /// The verification time.
        at: UnixSeconds,
        /// Its notAfter (Unix seconds).
        not_after: i64,
    },
    /// Path validation from the leaf to the trusted root failed (webpki).
    #[error("no valid path from the leaf to the trusted root: {reason}")]
    Chain {
        /// What webpki reported.
        reason: String,
    },
    /// The bundle is not exactly the validated path in root-first order.
    #[error(
        "cabundle of {bundle_len} certificates is not the {path_len}-certificate path, root first"
    )]
    ChainOrder {
        /// The number of bundle entries.
        bundle_len: usize,
        /// The certificates above the leaf in the validated path, root included.
        path_len: usize,
    },
    /// Two CA certificates of the chain, the root included, have the same subject
    /// name. The chain is one path in which each CA appears once (SPEC §1.5), so a
    /// look-alike (a CA's name with another key) is rejected before any signature.
    #[error("{cert} has the same subject name as {first}; each CA of the path appears once")]
    DuplicateSubject {
        /// The later certificate.
        cert: CertPosition,
        /// The earlier one with that subject name.
        first: CertPosition,
    },
    /// The COSE ES384 signature does not verify with the leaf key.
    #[error("the COSE signature does not verify with the leaf key")]
    Signature,
    /// A debug-mode document (PCR0 all zero) and the policy does not allow debug.
    #[error("debug-mode document (PCR0 all zero); the policy does not allow debug")]
    DebugMode,
    /// A PCR of the allow-list is missing or has another value.
    #[error("PCR{index} is {}; expected {}", got.as_ref().map_or("absent".into(), hex::encode), hex::encode(expected))]
    PcrMismatch {
        /// The index.
        index: u8,
        /// The value the policy requires.
        expected: Vec<u8>,
        /// The value found, if any.
        got: Option<Vec<u8>>,
    },
}

impl NsmError {
    /// A short, stable name of the check that failed: `root`, `cbor`, `cose`,
    /// `fields`, `chain`, `validity`, `signature`, `debug` or `pcrs`.
    pub fn check(&self) -> &'static str {
        match self {
            Self::BadRoot { .. } | Self::RootMismatch { .. } => "root",
            Self::Cbor { .. } | Self::TrailingData { .. } => "cbor",
            Self::UnexpectedTag { .. }
            | Self::Cose { .. }
            | Self::ProtectedHeader { .. }
            | Self::UnprotectedHeader
            | Self::MissingPayload
            | Self::PayloadLength { .. }
            | Self::SignatureLength { .. } => "cose",
            Self::PayloadDecode { .. }
            | Self::PayloadNotMap
            | Self::UnknownField { .. }
            | Self::DuplicateField { .. }
            | Self::MissingField { .. }
            | Self::FieldType { .. }
            | Self::FieldLength { .. }
            | Self::Digest { .. }
            | Self::ZeroTimestamp
            | Self::PcrCount { .. }
            | Self::PcrIndex { .. }
            | Self::DuplicatePcr { .. }
            | Self::PcrLength { .. }
            | Self::CabundleCount { .. } => "fields",
            Self::CertificateParse { .. }
            | Self::NotCa { .. }
            | Self::KeyUsage { .. }
            | Self::PathLenExceeded { .. }
            | Self::LeafIsCa { .. }
            | Self::LeafKey { .. }
            | Self::Chain { .. }
            | Self::ChainOrder { .. }
            | Self::DuplicateSubject { .. } => "chain",
            Self::CertificateNotYetValid { .. } | Self::CertificateExpired { .. } => "validity",
            Self::Signature => "signature",
            Self::DebugMode => "debug",
            Self::PcrMismatch { .. } => "pcrs",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
