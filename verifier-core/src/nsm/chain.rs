//! The certificate chain: trusted root, `cabundle[1..]`, leaf (AWS
//! `attestation_process.md` §3.2.3-3.2.4, SPEC §1.5).
//!
//! Path validation (names, signatures, validity of the non-root certificates,
//! basicConstraints) is rustls-webpki's, with ECDSA P-384 / SHA-384 from the
//! verifier's [`CryptoBackend`]. webpki does not check keyUsage, the root's own
//! validity, nor that the bundle is exactly the path in AWS order, so those are
//! checked here on the fields [`x509`](super::x509) reads; each certificate is
//! parsed once by each.
//!
//! The bundle's shape is checked before any signature: an NSM document carries
//! exactly one path, root first, so each CA must name the one before it as its
//! issuer (and match its key identifier where both have one), the leaf the last
//! one, and no two CAs may share a subject name. webpki's path building then finds
//! exactly one candidate at each step and verifies one signature per link, at most
//! `cabundle.len()` in all; without the check, a bundle of look-alike CAs (a CA's
//! names copied with other keys) made it try combinations until its budget of 100
//! signature checks ran out (issue #13).

use std::fmt;
use std::sync::{Arc, Mutex};

use super::NsmError;
use super::x509::{self, Certificate};
use crate::crypto::{CryptoBackend, P384Key, SignatureKey, es384_signature_from_der};
use crate::text::bounded_reason;
use crate::time::{UnixSeconds, ValidityWindow};
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
/// rustls-webpki, through the verifier's [`CryptoBackend`]: the key decoded by the core
/// ([`P384Key`]), the DER signature turned into `r || s` by the core, the arithmetic
/// the backend's. The only algorithm AWS Nitro chains use (research
/// `nitro-FINDINGS.md` §1.3).
///
/// Certificate signatures that verified are remembered in the verifier's
/// [`SignatureCache`]: the documents of one enclave share their CA certificates
/// (and, for up to 3 hours, their leaf), and a P-384 verification costs
/// milliseconds in pure Rust. Only successes are cached, keyed by SHA-256 of
/// (key, message, signature), so a hit means exactly this check passed before.
#[derive(Debug)]
pub(crate) struct EcdsaP384Sha384<'a> {
    pub(crate) cache: &'a SignatureCache,
    pub(crate) backend: &'static dyn CryptoBackend,
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
        #[cfg(test)]
        tests::VERIFICATIONS.with(|n| n.set(n.get() + 1));
        let key = P384Key::from_sec1(public_key).map_err(|_| InvalidSignature)?;
        let signature = es384_signature_from_der(signature).map_err(|_| InvalidSignature)?;
        self.backend
            .es384(&key)
            .map_err(|_| InvalidSignature)?
            .verify(message, &signature)
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
#[derive(Default)]
pub(crate) struct SignatureCache(Mutex<Vec<[u8; 32]>>);

/// By name only: the derived form would bring `Mutex`'s formatting into the wasm module.
impl fmt::Debug for SignatureCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignatureCache")
    }
}

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
    /// The subject Name's contents, which `cabundle[1]` must name as its issuer.
    pub(crate) subject: Vec<u8>,
    /// The subjectKeyIdentifier, when the root has one.
    pub(crate) key_id: Option<Vec<u8>>,
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
        let subject = cert.subject.to_vec();
        let key_id = cert.subject_key_id.map(<[u8]>::to_vec);
        let anchor = webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
            .map_err(|e| {
                bad(format!(
                    "not usable as a trust anchor: {}",
                    bounded_reason(&e.to_string())
                ))
            })?
            .to_owned();
        Ok(Self {
            der,
            anchor,
            not_before,
            not_after,
            path_len,
            subject,
            key_id,
        })
    }
}

/// What a successful chain check hands to the signature check.
#[derive(Clone, Debug)]
pub(crate) struct CheckedChain {
    /// The leaf's P-384 key, prepared by the verifier's backend.
    pub(crate) leaf_key: Arc<dyn SignatureKey>,
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
#[derive(Default)]
pub(crate) struct ChainCache(Mutex<Vec<CachedChain>>);

/// By name only, as [`SignatureCache`].
impl fmt::Debug for ChainCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainCache")
    }
}

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

/// What the chain check uses: the trusted root, the backend, and the verifier's caches.
#[derive(Clone, Copy)]
pub(crate) struct ChainContext<'a> {
    pub(crate) root: &'a Root,
    pub(crate) backend: &'static dyn CryptoBackend,
    pub(crate) signatures: &'a SignatureCache,
}

/// Checks `root <- cabundle[1..] <- leaf` at `at` (SPEC §1.5), or finds the same chain
/// already checked in `chains` with `at` inside its validity window.
pub(crate) fn check(
    context: ChainContext<'_>,
    chains: &ChainCache,
    certificate: &[u8],
    cabundle: &[Vec<u8>],
    at: UnixSeconds,
) -> Result<CheckedChain, NsmError> {
    if let Some(checked) = chains.get(certificate, cabundle, at) {
        return Ok(checked);
    }
    let checked = check_uncached(context, certificate, cabundle, at)?;
    chains.insert(certificate, cabundle, &checked);
    Ok(checked)
}

/// [`check`] without the chain cache: every check, in order.
fn check_uncached(
    context: ChainContext<'_>,
    certificate: &[u8],
    cabundle: &[Vec<u8>],
    at: UnixSeconds,
) -> Result<CheckedChain, NsmError> {
    let ChainContext {
        root,
        backend,
        signatures: cache,
    } = context;
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
    let leaf_key: Arc<dyn SignatureKey> = backend
        .es384(&leaf_key)
        .map_err(|e| NsmError::LeafKey {
            reason: e.to_string(),
        })?
        .into();

    // One path, root first, on names and key identifiers: no signature yet.
    check_shape(root, &parsed, &leaf)?;

    // Path validation by webpki, anchored on the policy root only.
    let leaf_der = CertificateDer::from(certificate);
    let end_entity =
        EndEntityCert::try_from(&leaf_der).map_err(|e| NsmError::CertificateParse {
            cert: CertPosition::Leaf,
            reason: bounded_reason(&e.to_string()),
        })?;
    let intermediate_ders: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let path = end_entity
        .verify_for_usage(
            &[&EcdsaP384Sha384 { cache, backend }],
            core::slice::from_ref(&root.anchor),
            &intermediate_ders,
            UnixTime::since_unix_epoch(core::time::Duration::from_secs(at.0)),
            // The leaf has no extendedKeyUsage; any EKU it had would have to allow this.
            KeyUsage::client_auth(),
            None,
            None,
        )
        .map_err(|e| NsmError::Chain {
            reason: bounded_reason(&e.to_string()),
        })?;

    // The bundle must be exactly the path, root first (AWS §3.2.3). The shape check
    // leaves webpki one path to build, so this only guards that reasoning.
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

/// A CA of the path as the certificate below it must name it.
struct Issuer<'a> {
    pos: CertPosition,
    subject: &'a [u8],
    key_id: Option<&'a [u8]>,
}

/// The bundle's shape before any signature (SPEC §1.5: the one path from the root
/// through `cabundle[1..]` to the leaf): going down from the root, each CA has a
/// subject name no CA above it has, and each certificate, the leaf last, names the
/// CA just above it as its issuer. webpki matches issuers to subjects by name, so
/// every step of its path building then has exactly one candidate.
///
/// # Errors
/// [`NsmError::DuplicateSubject`] for a look-alike of a CA above it, and
/// [`NsmError::Chain`] naming the first certificate that is not issued (by name, or by
/// key identifier where both carry one) by the one above it.
fn check_shape(
    root: &Root,
    cas: &[Certificate<'_>],
    leaf: &Certificate<'_>,
) -> Result<(), NsmError> {
    let mut above = Vec::with_capacity(cas.len() + 1);
    above.push(Issuer {
        pos: CertPosition::Root,
        subject: &root.subject,
        key_id: root.key_id.as_deref(),
    });
    for (i, cert) in cas.iter().enumerate() {
        let pos = CertPosition::Cabundle(i + 1);
        if let Some(first) = above.iter().find(|ca| ca.subject == cert.subject) {
            return Err(NsmError::DuplicateSubject {
                cert: pos,
                first: first.pos,
            });
        }
        check_link(cert, pos, &above)?;
        above.push(Issuer {
            pos,
            subject: cert.subject,
            key_id: cert.subject_key_id,
        });
    }
    check_link(leaf, CertPosition::Leaf, &above)
}

/// `cert` (at `pos`) names the last CA of `above` as its issuer.
fn check_link(
    cert: &Certificate<'_>,
    pos: CertPosition,
    above: &[Issuer<'_>],
) -> Result<(), NsmError> {
    let Some(issuer) = above.last() else {
        return Ok(());
    };
    if cert.issuer != issuer.subject {
        return Err(NsmError::Chain {
            reason: format!(
                "{pos} names an issuer that is not the subject of {}, the certificate above it in the bundle",
                issuer.pos
            ),
        });
    }
    if let (Some(authority), Some(subject)) = (cert.authority_key_id, issuer.key_id) {
        if authority != subject {
            return Err(NsmError::Chain {
                reason: format!(
                    "the authorityKeyIdentifier of {pos} is not the subjectKeyIdentifier of {}, the certificate above it in the bundle",
                    issuer.pos
                ),
            });
        }
    }
    Ok(())
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

fn leaf_key(leaf: &Certificate<'_>) -> Result<P384Key, NsmError> {
    // The parameters must be exactly the OID secp384r1 (tag 6, its contents).
    let is_p384 = leaf.key_algorithm.as_bytes() == OID_EC_PUBLIC_KEY
        && leaf.key_parameters == Some((0x06, OID_SECP384R1));
    if !is_p384 {
        return Err(NsmError::LeafKey {
            reason: format!("algorithm {}; expected EC P-384", leaf.key_algorithm),
        });
    }
    P384Key::from_sec1(leaf.public_key).map_err(|_| NsmError::LeafKey {
        reason: "not a valid P-384 point".into(),
    })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "../../tests/support/ca_kit.rs"]
mod ca_kit;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::cell::Cell;

    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    thread_local! {
        /// P-384 certificate signatures verified on this thread (cache hits not counted).
        pub(super) static VERIFICATIONS: Cell<usize> = const { Cell::new(0) };
    }

    /// Runs `f` and counts the certificate signatures it verifies.
    fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = VERIFICATIONS.with(Cell::get);
        let out = f();
        (out, VERIFICATIONS.with(Cell::get) - before)
    }

    /// Every real document's chain costs exactly one signature per link (the
    /// intermediates and the leaf: `cabundle.len()`), and still passes.
    #[cfg(zipchain_vectors)]
    #[test]
    fn real_chains_cost_one_signature_per_link() {
        use crate::nsm::{NsmDocument, NsmLimits};
        macro_rules! docs {
            ($($path:literal),* $(,)?) => {
                [$(($path, include_bytes!(concat!(env!("ZIPCHAIN_VECTORS_DIR"), "/nitro/", $path)).as_slice())),*]
            };
        }
        let docs = docs![
            "docs/blocky_nitrite_nitro_attestation.cbor",
            "docs/blocky_nitrite_nitro_attestation_debug.cbor",
            "docs/blocky_nitrite_stag_attestation.cbor",
            "docs/evervault_ga_valid_attestation_doc.cbor",
            "docs/evervault_beta_valid_attestation_doc.cbor",
            "docs/evervault_beta_debug_mode_attestation_doc.cbor",
            "docs/marlin_oyster_sdk_aws.cbor",
            "docs/marlin_oyster_sdk_aws_pcr16.cbor",
            "docs/marlin_oyster_verifier_attestation.cbor",
            "docs/tkhq_qos_mock_attestation_doc.cbor",
            "docs/yawn_nitro_attest_attestation.cbor",
            "docs/anjuna_attestdoc_sample_prod_doc.cbor",
            "docs/anjuna_attestdoc_sample_prod_doc_with_publickey.cbor",
            "docs/anjuna_attester_sample_attestation_doc_full.cbor",
            "docs/anjuna_attester_sample_prod_doc.cbor",
            "docs/eternis_example_attestation.cbor",
            "docs/NEGATIVE_eternis_invalid_attestation_badsig.cbor",
            "docs-current/hf_nitrite_nitrite_test_6c096a02.cbor",
            "docs-current/tkhq_rust_sdk_lib_ce1e1c6e.cbor",
            "docs-current/worldcoin_world_chain_real_attestation_13a44c64.cbor",
        ];
        let root = Root::new(crate::nsm::AWS_NITRO_ROOT_G1_DER.to_vec()).unwrap();
        for backend in crate::crypto::backends() {
            for (path, bytes) in docs {
                let doc = NsmDocument::parse_unverified(bytes, &NsmLimits::default()).unwrap();
                let cache = SignatureCache::default();
                let context = ChainContext {
                    root: &root,
                    backend: *backend,
                    signatures: &cache,
                };
                let at = doc.timestamp.to_seconds();
                let (result, n) =
                    counted(|| check_uncached(context, &doc.certificate, &doc.cabundle, at));
                assert!(result.is_ok(), "{path} on {}: {result:?}", backend.name());
                assert_eq!(n, doc.cabundle.len(), "{path}");
            }
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod crafted {
        use super::super::ca_kit::{self, Role, TestChain};
        use super::*;

        /// Checks the chain on every backend: the same verdict and the same number of
        /// signatures on each, which it returns.
        fn check_chain(
            root: &[u8],
            leaf: &[u8],
            cabundle: &[Vec<u8>],
        ) -> (Result<CheckedChain, NsmError>, usize) {
            let root = Root::new(root.to_vec()).unwrap();
            let mut outcomes = crate::crypto::backends().iter().map(|backend| {
                let cache = SignatureCache::default();
                let context = ChainContext {
                    root: &root,
                    backend: *backend,
                    signatures: &cache,
                };
                counted(|| check_uncached(context, leaf, cabundle, UnixSeconds(ca_kit::AT_SECS)))
            });
            let first = outcomes.next().unwrap();
            for other in outcomes {
                assert_eq!(other.0.as_ref().err(), first.0.as_ref().err());
                assert_eq!(other.1, first.1);
            }
            first
        }

        #[test]
        fn a_genuine_chain_costs_one_signature_per_link() {
            let chain = TestChain::genuine();
            let (result, n) = check_chain(&chain.root, &chain.leaf, &chain.cabundle);
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(n, chain.cabundle.len());
        }

        /// Issue #13: before the shape check, this bundle made webpki spend its whole
        /// budget (100 P-384 verifications, MaximumSignatureChecksExceeded).
        #[test]
        fn a_bundle_stuffed_with_root_lookalikes_costs_no_signature() {
            let chain = TestChain::genuine();
            // A leaf that names the root as its issuer, and seven look-alikes of the root.
            let leaf = ca_kit::cert(
                "attacker leaf",
                Role::Leaf,
                &ca_kit::key_from_seed(60),
                Some((ca_kit::ROOT, &ca_kit::key_from_seed(61))),
                60,
            );
            let mut cabundle = vec![chain.root.clone()];
            cabundle.extend(ca_kit::root_lookalikes(7, 70));
            let (result, n) = check_chain(&chain.root, &leaf, &cabundle);
            assert_eq!(
                result.unwrap_err(),
                NsmError::DuplicateSubject {
                    cert: CertPosition::Cabundle(1),
                    first: CertPosition::Root
                }
            );
            assert_eq!(n, 0);
        }

        /// A look-alike of each CA level in turn, in its place: it copies the names (so
        /// the shape holds) but not the key, and webpki checks one signature per link
        /// until the first that fails, never more than the bundle's length.
        #[test]
        fn a_lookalike_in_place_costs_at_most_one_signature_per_link() {
            let chain = TestChain::genuine();
            let levels = [
                (ca_kit::REGIONAL, Role::CaPathLen(2), ca_kit::ROOT),
                (ca_kit::ZONAL, Role::CaPathLen(1), ca_kit::REGIONAL),
                (ca_kit::INSTANCE, Role::CaPathLen(0), ca_kit::ZONAL),
            ];
            for (i, (cn, role, issuer)) in levels.into_iter().enumerate() {
                let fake = ca_kit::lookalike(cn, role, issuer, 80 + 2 * i as u8);
                let mut cabundle = chain.cabundle.clone();
                cabundle[i + 1] = fake;
                let (result, n) = check_chain(&chain.root, &chain.leaf, &cabundle);
                let err = result.unwrap_err();
                assert!(matches!(err, NsmError::Chain { .. }), "{i}: {err:?}");
                assert!(n <= cabundle.len(), "{i}: {n} signatures");
            }
        }

        /// Look-alikes of a lower CA appended, or in front of the genuine one: the shape
        /// check rejects the bundle before webpki sees it.
        #[test]
        fn lookalikes_of_an_intermediate_cost_no_signature() {
            let chain = TestChain::genuine();
            let fake_instance =
                |seed| ca_kit::lookalike(ca_kit::INSTANCE, Role::Ca, ca_kit::ZONAL, seed);
            // [root, regional, zonal, instance, instance', instance'']: pathLen already says no.
            let mut appended = chain.cabundle.clone();
            appended.extend([fake_instance(100), fake_instance(102)]);
            let (result, n) = check_chain(&chain.root, &chain.leaf, &appended);
            assert!(
                matches!(result, Err(NsmError::PathLenExceeded { .. })),
                "{result:?}"
            );
            assert_eq!(n, 0);
            // Unconstrained look-alikes of every CA, each named as issued by the one
            // above: the names link, but the same subject comes twice.
            let ca = |cn, issuer, seed| ca_kit::lookalike(cn, Role::Ca, issuer, seed);
            let cabundle = vec![
                chain.root.clone(),
                ca(ca_kit::REGIONAL, ca_kit::ROOT, 110),
                ca(ca_kit::ZONAL, ca_kit::REGIONAL, 112),
                ca(ca_kit::ZONAL, ca_kit::ZONAL, 114),
                ca(ca_kit::INSTANCE, ca_kit::ZONAL, 116),
            ];
            let (result, n) = check_chain(&chain.root, &chain.leaf, &cabundle);
            assert_eq!(
                result.unwrap_err(),
                NsmError::DuplicateSubject {
                    cert: CertPosition::Cabundle(3),
                    first: CertPosition::Cabundle(2)
                }
            );
            assert_eq!(n, 0);
            // The same certificate twice.
            let mut twice = chain.cabundle.clone();
            twice.insert(2, chain.cabundle[1].clone());
            let (result, n) = check_chain(&chain.root, &chain.leaf, &twice);
            assert!(result.is_err());
            assert_eq!(n, 0);
        }

        /// Names that do not link, and key identifiers that do not match, are the
        /// `chain` check's, before any signature.
        #[test]
        fn broken_links_cost_no_signature() {
            let chain = TestChain::genuine();
            // The leaf names the zonal CA, not the instance CA above it.
            let leaf = ca_kit::cert(
                ca_kit::LEAF,
                Role::Leaf,
                &ca_kit::key_from_seed(5),
                Some((ca_kit::ZONAL, &ca_kit::key_from_seed(3))),
                5,
            );
            let (result, n) = check_chain(&chain.root, &leaf, &chain.cabundle);
            let err = result.unwrap_err();
            assert_eq!(
                err,
                NsmError::Chain {
                    reason: "certificate names an issuer that is not the subject of cabundle[3], \
                             the certificate above it in the bundle"
                        .into()
                }
            );
            assert_eq!(n, 0);
            // Right name, but the authority key identifier of another key.
            let regional = ca_kit::cert(
                ca_kit::REGIONAL,
                Role::CaPathLen(2),
                &ca_kit::key_from_seed(2),
                Some((ca_kit::ROOT, &ca_kit::key_from_seed(9))),
                2,
            );
            let mut cabundle = chain.cabundle.clone();
            cabundle[1] = regional;
            let (result, n) = check_chain(&chain.root, &chain.leaf, &cabundle);
            let err = result.unwrap_err();
            assert!(
                matches!(&err, NsmError::Chain { reason } if reason.contains("authorityKeyIdentifier of cabundle[1]")),
                "{err:?}"
            );
            assert_eq!(n, 0);
            // Only the root: the leaf does not name it.
            let (result, n) = check_chain(&chain.root, &chain.leaf, &chain.cabundle[..1]);
            assert!(matches!(result, Err(NsmError::Chain { .. })), "{result:?}");
            assert_eq!(n, 0);
        }
    }
}
