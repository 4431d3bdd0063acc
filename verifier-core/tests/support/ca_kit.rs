//! A small P-384 certificate authority for the tests of the NSM chain's shape (issue #13):
//! chains of the AWS shape (root, three CA levels with pathLen 2/1/0, a leaf without key
//! identifiers) and look-alike CA certificates that copy a genuine certificate's names
//! but carry other keys, plus NSM documents around them.
//!
//! Shared by `tests/nsm_chain_shape.rs` and the unit tests of `src/nsm/chain.rs` (which
//! count signature verifications) through `#[path]`. Keys come from fixed seeds and
//! ECDSA signing is deterministic (RFC 6979), so every run builds the same bytes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use p384::ecdsa::SigningKey;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod,
    KeyUsagePurpose, PublicKeyData, SerialNumber,
};
use sha2::Digest;

/// Every certificate's validity starts here (2024-01-01T00:00:00Z)...
pub(crate) const NOT_BEFORE: (i32, u8, u8) = (2024, 1, 1);
/// ... and ends here (2034-01-01T00:00:00Z).
pub(crate) const NOT_AFTER: (i32, u8, u8) = (2034, 1, 1);
/// A time inside every certificate's validity (2025-06-15T15:06:40Z), in seconds.
pub(crate) const AT_SECS: u64 = 1_750_000_000;

/// A P-384 key usable by rcgen and for COSE signatures: the stand-in issuer's.
pub(crate) use nsm_issuer::P384Key as Key;

/// The key whose secret scalar is 48 bytes of `seed` (any seed from 1 to 254 is valid).
pub(crate) fn key_from_seed(seed: u8) -> Key {
    Key::from_signing(SigningKey::from_slice(&[seed; 48]).unwrap())
}

/// RFC 7093 method 1 (truncated SHA-256 of the SPKI), as the stand-in issuer uses.
fn key_id(key: &Key) -> Vec<u8> {
    sha2::Sha256::digest(key.subject_public_key_info())[..20].to_vec()
}

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A CA with no pathLen (a root, or a look-alike that wants no pathLen limit).
    Ca,
    /// A CA with this pathLen.
    CaPathLen(u8),
    /// An end entity of the AWS leaf profile: critical CA:FALSE, keyUsage
    /// digitalSignature, no key identifiers.
    Leaf,
}

/// `C=US, O=zipchain test, CN=<cn>`.
pub(crate) fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "zipchain test");
    dn.push(DnType::CommonName, cn);
    dn
}

/// The parameters of a certificate named `cn` for `key` in `role`.
fn params(cn: &str, role: Role, key: &Key, serial: u8) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.not_before = rcgen::date_time_ymd(NOT_BEFORE.0, NOT_BEFORE.1, NOT_BEFORE.2);
    params.not_after = rcgen::date_time_ymd(NOT_AFTER.0, NOT_AFTER.1, NOT_AFTER.2);
    params.serial_number = Some(SerialNumber::from_slice(&[0x01, serial]));
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(key));
    let ca_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    match role {
        Role::Ca => {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = ca_usages;
        }
        Role::CaPathLen(n) => {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(n));
            params.key_usages = ca_usages;
        }
        Role::Leaf => {
            params.is_ca = IsCa::NoCa;
            // keyUsage digitalSignature only.
            params.custom_extensions = nsm_issuer::leaf_extensions(&[0x03, 0x02, 0x07, 0x80]);
        }
    }
    params
}

/// A certificate named `cn` for `key` in `role`: self-signed when `issuer` is `None`,
/// otherwise naming `issuer.0` as its issuer and signed by `issuer.1` (which need not
/// be the key of any certificate of that name). CA certificates below a root carry an
/// authority key identifier (of `issuer.1`), leaves none, as in AWS chains.
pub(crate) fn cert(
    cn: &str,
    role: Role,
    key: &Key,
    issuer: Option<(&str, &Key)>,
    serial: u8,
) -> Vec<u8> {
    build(cn, role, key, issuer, serial, role != Role::Leaf)
}

/// A look-alike: a certificate named `cn` in `role` that names `issuer_cn` as its
/// issuer, with the key of seed `seed`, signed by the key of seed `seed + 1`, and
/// without an authority key identifier, so that only names tie it to a chain.
pub(crate) fn lookalike(cn: &str, role: Role, issuer_cn: &str, seed: u8) -> Vec<u8> {
    let key = key_from_seed(seed);
    let signer = key_from_seed(seed + 1);
    build(cn, role, &key, Some((issuer_cn, &signer)), seed, false)
}

fn build(
    cn: &str,
    role: Role,
    key: &Key,
    issuer: Option<(&str, &Key)>,
    serial: u8,
    authority_key_id: bool,
) -> Vec<u8> {
    let mut params = params(cn, role, key, serial);
    let cert = match issuer {
        None => params.self_signed(key),
        Some((issuer_cn, issuer_key)) => {
            params.use_authority_key_identifier_extension = authority_key_id;
            let issuer_params = self::params(issuer_cn, Role::Ca, issuer_key, 0);
            params.signed_by(key, &Issuer::new(issuer_params, issuer_key))
        }
    }
    .unwrap();
    cert.der().to_vec()
}

/// The common names of the genuine chain, root first.
pub(crate) const ROOT: &str = "zipchain-test root";
/// The regional CA (pathLen 2).
pub(crate) const REGIONAL: &str = "zipchain-test regional";
/// The zonal CA (pathLen 1).
pub(crate) const ZONAL: &str = "zipchain-test zonal";
/// The instance CA (pathLen 0).
pub(crate) const INSTANCE: &str = "zipchain-test instance";
/// The leaf.
pub(crate) const LEAF: &str = "zipchain-test leaf";

/// A chain of the AWS shape with its keys.
pub(crate) struct TestChain {
    /// The root (DER), also `cabundle[0]`.
    pub(crate) root: Vec<u8>,
    /// `[root, regional, zonal, instance]`.
    pub(crate) cabundle: Vec<Vec<u8>>,
    /// The leaf (DER).
    pub(crate) leaf: Vec<u8>,
    /// The keys of root, regional, zonal, instance and leaf (seeds 1 to 5).
    pub(crate) keys: Vec<Key>,
}

impl TestChain {
    /// The genuine chain: root (seed 1), regional (2, pathLen 2), zonal (3, pathLen 1),
    /// instance (4, pathLen 0), leaf (5).
    pub(crate) fn genuine() -> Self {
        let keys: Vec<Key> = (1..=5).map(key_from_seed).collect();
        let root = cert(ROOT, Role::Ca, &keys[0], None, 1);
        let regional = cert(
            REGIONAL,
            Role::CaPathLen(2),
            &keys[1],
            Some((ROOT, &keys[0])),
            2,
        );
        let zonal = cert(
            ZONAL,
            Role::CaPathLen(1),
            &keys[2],
            Some((REGIONAL, &keys[1])),
            3,
        );
        let instance = cert(
            INSTANCE,
            Role::CaPathLen(0),
            &keys[3],
            Some((ZONAL, &keys[2])),
            4,
        );
        let leaf = cert(LEAF, Role::Leaf, &keys[4], Some((INSTANCE, &keys[3])), 5);
        Self {
            cabundle: vec![root.clone(), regional, zonal, instance],
            root,
            leaf,
            keys,
        }
    }

    /// The leaf's key.
    pub(crate) fn leaf_key(&self) -> &Key {
        &self.keys[4]
    }
}

/// `count` look-alikes of the root: CA certificates without pathLen whose subject and
/// issuer are both the root's name, each with its own key (seeds from `first_seed` on,
/// two per certificate). None verifies under the root, but every one matches every
/// name lookup a path builder makes for the root's name.
pub(crate) fn root_lookalikes(count: u8, first_seed: u8) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| lookalike(ROOT, Role::Ca, ROOT, first_seed + 2 * i))
        .collect()
}

// The CBOR writers and the protected header of the stand-in issuer.
use nsm_issuer::{PROTECTED_ES384, bytes, head, text};

/// An NSM document of the real layout (nine keys in AWS order, 8-byte timestamp, sixteen
/// 48-byte PCRs that are not all zero, null optional fields) carrying `leaf` and
/// `cabundle`, signed with `key` (the leaf's, for a document whose signature verifies).
pub(crate) fn document(leaf: &[u8], cabundle: &[Vec<u8>], key: &Key, timestamp_ms: u64) -> Vec<u8> {
    let mut payload = Vec::with_capacity(8192);
    head(&mut payload, 5, 9);
    text(&mut payload, "module_id");
    text(&mut payload, "i-0123456789abcdef0-enc0123456789abcdef");
    text(&mut payload, "digest");
    text(&mut payload, "SHA384");
    text(&mut payload, "timestamp");
    payload.push(0x1b);
    payload.extend_from_slice(&timestamp_ms.to_be_bytes());
    text(&mut payload, "pcrs");
    head(&mut payload, 5, 16);
    for i in 0u8..16 {
        head(&mut payload, 0, u64::from(i));
        bytes(&mut payload, &[i + 1; 48]);
    }
    text(&mut payload, "certificate");
    bytes(&mut payload, leaf);
    text(&mut payload, "cabundle");
    head(&mut payload, 4, cabundle.len() as u64);
    for cert in cabundle {
        bytes(&mut payload, cert);
    }
    for field in ["public_key", "user_data", "nonce"] {
        text(&mut payload, field);
        payload.push(0xf6);
    }

    // Sig_structure = ["Signature1", protected, h'', payload] (RFC 9052 §4.4).
    let mut tbs = Vec::with_capacity(payload.len() + 32);
    head(&mut tbs, 4, 4);
    text(&mut tbs, "Signature1");
    bytes(&mut tbs, &PROTECTED_ES384);
    bytes(&mut tbs, &[]);
    bytes(&mut tbs, &payload);
    let signature = key.sign_raw(&tbs);

    let mut out = Vec::with_capacity(payload.len() + 112);
    head(&mut out, 4, 4);
    bytes(&mut out, &PROTECTED_ES384);
    head(&mut out, 5, 0);
    bytes(&mut out, &payload);
    bytes(&mut out, &signature);
    out
}
