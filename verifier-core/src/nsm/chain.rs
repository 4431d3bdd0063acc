//! The certificate chain: trusted root, `cabundle[1..]`, leaf (AWS
//! `attestation_process.md` §3.2.3-3.2.4, SPEC §1.5).
//!
//! Path validation (names, signatures, validity of the non-root certificates,
//! basicConstraints) is rustls-webpki's, with ECDSA P-384 / SHA-384 from the
//! pure-Rust `p384` crate. webpki does not check keyUsage, the root's own
//! validity, nor that the bundle is exactly the path in AWS order, so those are
//! checked here on the fields [`x509`](super::x509) reads; each certificate is
//! parsed once by each.

use std::fmt;
use std::sync::Mutex;

use super::NsmError;
use super::x509::{self, Certificate};
use crate::time::{UnixSeconds, ValidityWindow};
use p384::ecdsa::signature::Verifier;
use p384::ecdsa::{DerSignature, VerifyingKey};
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
    TrustAnchor, UnixTime, alg_id,
};
use serde::Serialize;
use webpki::{EndEntityCert, KeyUsage};

/// Where a certificate sits in the chain, for error reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum CertPosition {
    /// The trusted root (the policy's, byte-identical to `cabundle[0]`).
    Root,
    /// `cabundle[i]`, an intermediate CA (`i >= 1`).
    Cabundle(usize),
    /// The leaf, the document's `certificate` field.
    Leaf,
}

impl fmt::Display for CertPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => f.write_str("root"),
            Self::Cabundle(i) => write!(f, "cabundle[{i}]"),
            Self::Leaf => f.write_str("certificate"),
        }
    }
}

/// ECDSA over P-384 with SHA-384 (`ecdsa-with-SHA384`, DER signature) for
/// rustls-webpki, backed by the pure-Rust `p384` crate (so it builds for wasm32).
/// The only algorithm AWS Nitro chains use (research `nitro-FINDINGS.md` §1.3).
///
/// Certificate signatures that verified are remembered in the verifier's
/// [`SignatureCache`]: the documents of one enclave share their CA certificates
/// (and, for up to 3 hours, their leaf), and a P-384 verification costs
/// milliseconds in pure Rust. Only successes are cached, keyed by SHA-256 of
/// (key, message, signature), so a hit means exactly this check passed before.
#[derive(Debug)]
pub(crate) struct EcdsaP384Sha384<'a> {
    pub(crate) cache: &'a SignatureCache,
}

impl SignatureVerificationAlgorithm for EcdsaP384Sha384<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let id = SignatureCache::id(public_key, message, signature);
        if self.cache.contains(&id) {
            return Ok(());
        }
        let key = VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = DerSignature::from_bytes(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)?;
        self.cache.insert(id);
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P384
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA384
    }
}

/// Certificate signatures already verified, bounded: cleared when full. A sorted
/// `Vec` (binary search; inserts are one per newly verified signature) rather than a
/// `BTreeSet`, whose code the wasm module would carry for this one key type.
#[derive(Debug, Default)]
pub(crate) struct SignatureCache(Mutex<Vec<[u8; 32]>>);

impl SignatureCache {
    /// The most entries kept (a few KiB per hundred enclaves' chains).
    const MAX_ENTRIES: usize = 4096;

    fn id(public_key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [public_key, message, signature] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    fn contains(&self, id: &[u8; 32]) -> bool {
        // A poisoned lock only disables the cache.
        self.0.lock().is_ok_and(|set| set.binary_search(id).is_ok())
    }

    fn insert(&self, id: [u8; 32]) {
        if let Ok(mut set) = self.0.lock() {
            if set.len() >= Self::MAX_ENTRIES {
                set.clear();
            }
            if let Err(at) = set.binary_search(&id) {
                set.insert(at, id);
            }
        }
    }
}

/// The trusted root, parsed once when the verifier is built.
#[derive(Debug)]
pub(crate) struct Root {
    pub(crate) der: Vec<u8>,
    pub(crate) anchor: TrustAnchor<'static>,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) path_len: Option<u32>,
}

impl Root {
    /// Parses and checks a trust anchor: a CA certificate (critical basicConstraints
    /// CA=true, keyCertSign when keyUsage is present) that webpki accepts.
    pub(crate) fn new(der: Vec<u8>) -> Result<Self, NsmError> {
        let bad = |reason: String| NsmError::BadRoot { reason };
        let cert = parse(&der).map_err(bad)?;
        check_ca_profile(&cert, CertPosition::Root).map_err(|e| NsmError::BadRoot {
            reason: e.to_string(),
        })?;
        let (not_before, not_after) = validity(&cert);
        let path_len = path_len(&cert);
        let anchor = webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
            .map_err(|e| bad(format!("not usable as a trust anchor: {e}")))?
            .to_owned();
        Ok(Self {
            der,
            anchor,
            not_before,
            not_after,
            path_len,
        })
    }
}

/// What a successful chain check hands to the signature check.
#[derive(Clone, Debug)]
pub(crate) struct CheckedChain {
    pub(crate) leaf_key: VerifyingKey,
    pub(crate) window: ValidityWindow,
}

/// Chains already checked, bounded: cleared when full. The documents of one enclave
/// carry the same `certificate` and `cabundle` for hours, and parsing, profiling and
/// path-building them again for every document costs more than the cached signature
/// checks saved. An entry is the exact bytes of a chain that passed every check of
/// [`check`] at some time, with what the checks found: the leaf key and the
/// intersection of the validity periods, the only part of those checks that depends on
/// the time. A document whose chain is byte-identical and whose time lies in that
/// window passes them all again; any other goes through the whole of [`check`], which
/// also names what failed.
#[derive(Debug, Default)]
pub(crate) struct ChainCache(Mutex<Vec<CachedChain>>);

#[derive(Debug)]
struct CachedChain {
    certificate: Vec<u8>,
    cabundle: Vec<Vec<u8>>,
    checked: CheckedChain,
}

impl CachedChain {
    /// Whether this entry is the chain of exactly these bytes.
    fn is(&self, certificate: &[u8], cabundle: &[Vec<u8>]) -> bool {
        self.certificate == certificate && self.cabundle == cabundle
    }
}

impl ChainCache {
    /// The most chains kept (a few KiB each).
    const MAX_ENTRIES: usize = 64;

    fn get(
        &self,
        certificate: &[u8],
        cabundle: &[Vec<u8>],
        at: UnixSeconds,
    ) -> Option<CheckedChain> {
        // A poisoned lock only disables the cache.
        let chains = self.0.lock().ok()?;
        let hit = chains.iter().find(|c| c.is(certificate, cabundle))?;
        let window = hit.checked.window;
        (window.not_before <= at && at <= window.not_after).then(|| hit.checked.clone())
    }

    fn insert(&self, certificate: &[u8], cabundle: &[Vec<u8>], checked: &CheckedChain) {
        if let Ok(mut chains) = self.0.lock() {
            if chains.len() >= Self::MAX_ENTRIES {
                chains.clear();
            }
            // Another thread may have checked the same chain meanwhile.
            if !chains.iter().any(|c| c.is(certificate, cabundle)) {
                chains.push(CachedChain {
                    certificate: certificate.to_vec(),
                    cabundle: cabundle.to_vec(),
                    checked: checked.clone(),
                });
            }
        }
    }
}

/// Checks `root <- cabundle[1..] <- leaf` at `at` (SPEC §1.5), or finds the same chain
/// already checked in `chains` with `at` inside its validity window.
pub(crate) fn check(
    root: &Root,
    signatures: &SignatureCache,
    chains: &ChainCache,
    certificate: &[u8],
    cabundle: &[Vec<u8>],
    at: UnixSeconds,
) -> Result<CheckedChain, NsmError> {
    if let Some(checked) = chains.get(certificate, cabundle, at) {
        return Ok(checked);
    }
    let checked = check_uncached(root, signatures, certificate, cabundle, at)?;
    chains.insert(certificate, cabundle, &checked);
    Ok(checked)
}

/// [`check`] without the chain cache: every check, in order.
fn check_uncached(
    root: &Root,
    cache: &SignatureCache,
    certificate: &[u8],
    cabundle: &[Vec<u8>],
    at: UnixSeconds,
) -> Result<CheckedChain, NsmError> {
    let Some((first, intermediates)) = cabundle.split_first() else {
        return Err(NsmError::CabundleCount { count: 0, max: 0 });
    };
    if first.as_slice() != root.der.as_slice() {
        return Err(NsmError::RootMismatch {
            expected_sha256: sha256_hex(&root.der),
            got_sha256: sha256_hex(first),
        });
    }

    // Parse once; the profile checks webpki leaves out.
    let leaf = parse_at(certificate, CertPosition::Leaf)?;
    let mut parsed = Vec::with_capacity(intermediates.len());
    for (i, der) in intermediates.iter().enumerate() {
        parsed.push(parse_at(der, CertPosition::Cabundle(i + 1))?);
    }

    // pathLen: the number of CA certificates below each CA (the leaf excluded).
    let n = intermediates.len();
    if let Some(path_len) = root.path_len {
        check_path_len(CertPosition::Root, path_len, n)?;
    }
    for (i, cert) in parsed.iter().enumerate() {
        let pos = CertPosition::Cabundle(i + 1);
        check_ca_profile(cert, pos)?;
        if let Some(path_len) = path_len(cert) {
            check_path_len(pos, path_len, n - 1 - i)?;
        }
    }
    check_leaf_profile(&leaf)?;

    // Validity at `at`, every certificate including the root, both ends inclusive.
    let t = i64::try_from(at.0).unwrap_or(i64::MAX);
    let mut lo = i64::MIN;
    let mut hi = i64::MAX;
    let windows = core::iter::once((CertPosition::Root, (root.not_before, root.not_after)))
        .chain(
            parsed
                .iter()
                .enumerate()
                .map(|(i, c)| (CertPosition::Cabundle(i + 1), validity(c))),
        )
        .chain(core::iter::once((CertPosition::Leaf, validity(&leaf))));
    for (cert, (not_before, not_after)) in windows {
        if t < not_before {
            return Err(NsmError::CertificateNotYetValid {
                cert,
                at,
                not_before,
            });
        }
        if t > not_after {
            return Err(NsmError::CertificateExpired {
                cert,
                at,
                not_after,
            });
        }
        lo = lo.max(not_before);
        hi = hi.min(not_after);
    }
    let to_secs = |v: i64| UnixSeconds(u64::try_from(v).unwrap_or(0));
    let window = ValidityWindow {
        not_before: to_secs(lo),
        not_after: to_secs(hi),
    };

    let leaf_key = leaf_key(&leaf)?;

    // Path validation by webpki, anchored on the policy root only.
    let leaf_der = CertificateDer::from(certificate);
    let end_entity =
        EndEntityCert::try_from(&leaf_der).map_err(|e| NsmError::CertificateParse {
            cert: CertPosition::Leaf,
            reason: e.to_string(),
        })?;
    let intermediate_ders: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let path = end_entity
        .verify_for_usage(
            &[&EcdsaP384Sha384 { cache }],
            core::slice::from_ref(&root.anchor),
            &intermediate_ders,
            UnixTime::since_unix_epoch(core::time::Duration::from_secs(at.0)),
            // The leaf has no extendedKeyUsage; any EKU it had would have to allow this.
            KeyUsage::client_auth(),
            None,
            None,
        )
        .map_err(|e| NsmError::Chain {
            reason: e.to_string(),
        })?;

    // The bundle must be exactly the path, root first (AWS §3.2.3): webpki builds
    // paths in any order and may leave certificates out.
    let used: Vec<CertificateDer<'_>> = path.intermediate_certificates().map(|c| c.der()).collect();
    let in_order = used.len() == n
        && used
            .iter()
            .rev()
            .zip(intermediates)
            .all(|(used, given)| used.as_ref() == given.as_slice());
    if !in_order {
        return Err(NsmError::ChainOrder {
            bundle_len: cabundle.len(),
            path_len: used.len() + 1,
        });
    }

    Ok(CheckedChain { leaf_key, window })
}

fn parse_at(der: &[u8], cert: CertPosition) -> Result<Certificate<'_>, NsmError> {
    parse(der).map_err(|reason| NsmError::CertificateParse { cert, reason })
}

fn parse(der: &[u8]) -> Result<Certificate<'_>, String> {
    x509::parse(der)
}

fn validity(cert: &Certificate<'_>) -> (i64, i64) {
    (cert.not_before, cert.not_after)
}

/// The pathLen of basicConstraints, when present.
fn path_len(cert: &Certificate<'_>) -> Option<u32> {
    cert.basic_constraints.and_then(|bc| bc.value.path_len)
}

fn check_path_len(cert: CertPosition, path_len: u32, below: usize) -> Result<(), NsmError> {
    if u64::from(path_len) < below as u64 {
        return Err(NsmError::PathLenExceeded {
            cert,
            path_len,
            below,
        });
    }
    Ok(())
}

/// Root and intermediates: basicConstraints critical with CA=true, keyUsage
/// with keyCertSign (AWS §3.2.3.2).
fn check_ca_profile(cert: &Certificate<'_>, pos: CertPosition) -> Result<(), NsmError> {
    match cert.basic_constraints {
        Some(bc) if bc.value.ca && bc.critical => {}
        Some(bc) => {
            return Err(NsmError::NotCa {
                cert: pos,
                ca: bc.value.ca,
                critical: bc.critical,
            });
        }
        None => {
            return Err(NsmError::NotCa {
                cert: pos,
                ca: false,
                critical: false,
            });
        }
    }
    if !cert.key_usage.is_some_and(|ku| ku.value.key_cert_sign) {
        return Err(NsmError::KeyUsage {
            cert: pos,
            required: "keyCertSign",
        });
    }
    Ok(())
}

/// The leaf: not a CA, no pathLen, keyUsage with digitalSignature (AWS §3.2.3.3;
/// the real leaves mark keyUsage non-critical, so criticality is not required).
fn check_leaf_profile(cert: &Certificate<'_>) -> Result<(), NsmError> {
    let pos = CertPosition::Leaf;
    if let Some(bc) = cert.basic_constraints {
        if bc.value.ca || bc.value.path_len.is_some() {
            return Err(NsmError::LeafIsCa {
                ca: bc.value.ca,
                path_len: bc.value.path_len,
            });
        }
    }
    if !cert.key_usage.is_some_and(|ku| ku.value.digital_signature) {
        return Err(NsmError::KeyUsage {
            cert: pos,
            required: "digitalSignature",
        });
    }
    Ok(())
}

/// id-ecPublicKey (1.2.840.10045.2.1) and secp384r1 (1.3.132.0.34), DER contents.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

fn leaf_key(leaf: &Certificate<'_>) -> Result<VerifyingKey, NsmError> {
    // The parameters must be exactly the OID secp384r1 (tag 6, its contents).
    let is_p384 = leaf.key_algorithm.as_bytes() == OID_EC_PUBLIC_KEY
        && leaf.key_parameters == Some((0x06, OID_SECP384R1));
    if !is_p384 {
        return Err(NsmError::LeafKey {
            reason: format!("algorithm {}; expected EC P-384", leaf.key_algorithm),
        });
    }
    VerifyingKey::from_sec1_bytes(leaf.public_key).map_err(|_| NsmError::LeafKey {
        reason: "not a valid P-384 point".into(),
    })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
