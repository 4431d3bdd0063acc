//! Stand-in NSM issuer (SPEC §1.5, §7.3): a test certificate authority of the AWS
//! Nitro shape that signs attestation documents of the exact real layout.
//!
//! The chain mirrors AWS's (research `nitro-FINDINGS.md` §1.3): a P-384 root
//! (30 years), a regional CA (20 days, pathLen 2), a zonal CA (6 days, pathLen 1),
//! an instance CA (1 day, pathLen 0, keyUsage keyCertSign only) and a 3-hour leaf
//! (critical basicConstraints CA:FALSE, non-critical keyUsage digitalSignature +
//! nonRepudiation, no key identifiers). Everything is ecdsa-with-SHA384. Only the
//! root differs from AWS's: a verifier must be told to trust [`TestCa::root_der`].
//!
//! Documents are byte-for-byte of the layout `/dev/nsm` returns: an untagged
//! COSE_Sign1 with protected header `{1: -35}` and an empty unprotected header;
//! a payload map with all nine keys in AWS order, CBOR null for absent optional
//! fields and the timestamp in the 8-byte form `1b ..`; a raw 96-byte `r || s`
//! ES384 signature. The outer payload map is indefinite-length (`bf … ff`), as
//! AWS's NSM has written it since September 2025 (the nested `pcrs` map and
//! `cabundle` array stay definite); [`PayloadEncoding::Definite`] gives the
//! earlier `a9 …` form.
//!
//! Like the NSM, [`TestCa::issue`] signs with a fresh short-lived leaf and renews
//! the intermediates before they expire, so a stand-in that runs for weeks keeps
//! producing documents that verify at their own time. Native only (it draws keys
//! from the operating system's random source).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use p384::ecdsa::signature::Signer;
use p384::ecdsa::{DerSignature, Signature, SigningKey};
use p384::elliptic_curve::Generate;
use p384::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm,
};
use sha2::{Digest, Sha256, Sha384};
pub use verifier_core::time::UnixMillis;
use x509_parser::prelude::FromDer;

/// The CA levels below the root, and the leaf, in chain order.
const LEVELS: [Level; 5] = [
    Level::Root,
    Level::Regional,
    Level::Zonal,
    Level::Instance,
    Level::Leaf,
];

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// A leaf is replaced once less than this much of its life is left, so every
/// document's leaf has at least this long to run (the NSM reuses a leaf for a
/// while too: research `nitro-FINDINGS.md` §1.3).
const LEAF_MIN_REMAINING: i64 = HOUR;

/// The head of an indefinite-length map, and the "break" that ends it (RFC 8949 §3.2.2).
const INDEFINITE_MAP: u8 = 0xbf;
const BREAK: u8 = 0xff;

/// The protected header of every NSM document: `{1: -35}` (alg ES384).
pub const PROTECTED_ES384: [u8; 4] = [0xa1, 0x01, 0x38, 0x22];

/// The region named in the stand-in's certificate names.
const REGION: &str = "us-test-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Root,
    Regional,
    Zonal,
    Instance,
    Leaf,
}

impl Level {
    fn index(self) -> usize {
        match self {
            Self::Root => 0,
            Self::Regional => 1,
            Self::Zonal => 2,
            Self::Instance => 3,
            Self::Leaf => 4,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Regional => "regional",
            Self::Zonal => "zonal",
            Self::Instance => "instance",
            Self::Leaf => "leaf",
        }
    }

    /// Lifetimes as AWS uses them (research `nitro-FINDINGS.md` §0.4).
    fn lifetime(self) -> i64 {
        match self {
            Self::Root => 30 * 365 * DAY,
            Self::Regional => 20 * DAY,
            Self::Zonal => 6 * DAY,
            Self::Instance => DAY,
            Self::Leaf => 3 * HOUR,
        }
    }

    /// How long this certificate must still run for the next one below it (or,
    /// for the leaf, the next document) to fit inside it.
    fn min_remaining(self) -> i64 {
        match self {
            Self::Root => Self::Regional.lifetime(),
            Self::Regional => Self::Zonal.lifetime(),
            Self::Zonal => Self::Instance.lifetime(),
            Self::Instance => Self::Leaf.lifetime(),
            Self::Leaf => LEAF_MIN_REMAINING,
        }
    }
}

/// Why the issuer could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// rcgen could not build a certificate.
    #[error("cannot build the {level} certificate: {reason}")]
    Certificate {
        /// Which certificate.
        level: &'static str,
        /// What rcgen reported.
        reason: String,
    },
    /// A key could not be encoded or decoded.
    #[error("{level} key: {reason}")]
    Key {
        /// Which key.
        level: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A saved file does not hold what it should.
    #[error("{}: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The time is outside the root's validity: nothing it signs could verify.
    #[error("time {now_secs} is outside the test root's validity {not_before}..={not_after}")]
    RootNotValid {
        /// The time asked for, in seconds.
        now_secs: i64,
        /// The root's notBefore.
        not_before: i64,
        /// The root's notAfter.
        not_after: i64,
    },
    /// A time that does not fit an X.509 date.
    #[error("time {millis} ms cannot be a certificate date")]
    Time {
        /// The time given.
        millis: u64,
    },
}

/// What to attest in one document. The stand-in sequencer puts `K_S+` in
/// `public_key` and the 121-byte sequence attestation in `user_data` (SPEC §1.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRequest {
    /// The module id (`i-<17 hex>-enc<16 hex>` in real documents).
    pub module_id: String,
    /// The PCRs, written in index order. Default: [`DocumentRequest::default_pcrs`].
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// `public_key`, or CBOR null when `None`.
    pub public_key: Option<Vec<u8>>,
    /// `user_data`, or CBOR null when `None`.
    pub user_data: Option<Vec<u8>>,
    /// `nonce`, or CBOR null when `None`.
    pub nonce: Option<Vec<u8>>,
    /// How the outer payload map is encoded. Default: [`PayloadEncoding::Indefinite`].
    pub encoding: PayloadEncoding,
}

/// The two encodings of the outer payload map that real NSM documents have
/// (research `nitro-FINDINGS.md` §1.2, vectors `nitro/docs-current/`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PayloadEncoding {
    /// `bf … ff`: indefinite length, as AWS's NSM writes it since 2025-09-16.
    #[default]
    Indefinite,
    /// `a9 …`: definite length, as in every document before then.
    Definite,
}

impl DocumentRequest {
    /// A request for `module_id` with the default PCRs and no optional fields.
    pub fn new(module_id: impl Into<String>) -> Self {
        Self {
            module_id: module_id.into(),
            pcrs: Self::default_pcrs(),
            public_key: None,
            user_data: None,
            nonce: None,
            encoding: PayloadEncoding::default(),
        }
    }

    /// Sixteen 48-byte PCRs (0..=15), as a real enclave has: PCR0 the SHA-384 of
    /// `"zipchain stand-in enclave image"` (never all zero, so never debug mode),
    /// PCR1/PCR2 likewise of their own labels, and the rest zero.
    pub fn default_pcrs() -> BTreeMap<u8, Vec<u8>> {
        (0u8..16)
            .map(|i| {
                let value = match i {
                    0 => Sha384::digest(b"zipchain stand-in enclave image").to_vec(),
                    1 => Sha384::digest(b"zipchain stand-in kernel").to_vec(),
                    2 => Sha384::digest(b"zipchain stand-in application").to_vec(),
                    _ => vec![0; 48],
                };
                (i, value)
            })
            .collect()
    }
}

/// One certificate of the chain with its key.
struct Cert {
    key: P384Key,
    der: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

/// A P-384 key usable by rcgen (through [`rcgen::SigningKey`]) and for COSE: the glue
/// between p384 and rcgen, also used by the verifier's tests of chain shapes.
pub struct P384Key {
    signing: SigningKey,
    /// The uncompressed SEC1 point, as rcgen's [`PublicKeyData::der_bytes`] wants.
    public: Vec<u8>,
}

impl fmt::Debug for P384Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P384Key")
            .field("public", &hex::encode(&self.public))
            .finish_non_exhaustive()
    }
}

impl P384Key {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_signing(SigningKey::generate())
    }

    /// The key of `signing`.
    pub fn from_signing(signing: SigningKey) -> Self {
        let public = signing.verifying_key().to_sec1_bytes().to_vec();
        Self { signing, public }
    }

    /// An ES384 signature over `message` as COSE wants it: raw `r || s` (96 bytes).
    pub fn sign_raw(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.signing.sign(message);
        signature.to_bytes().to_vec()
    }
}

impl PublicKeyData for P384Key {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P384_SHA384
    }
}

impl rcgen::SigningKey for P384Key {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: DerSignature = self.signing.sign(msg);
        Ok(signature.as_bytes().to_vec())
    }
}

/// The test certificate authority: root, regional, zonal and instance CAs and the
/// current leaf, each with its key.
pub struct TestCa {
    /// Indexed by [`Level::index`].
    chain: Vec<Cert>,
    module_id: String,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa")
            .field("module_id", &self.module_id)
            .field("root_sha256", &hex::encode(Sha256::digest(self.root_der())))
            .field("leaf_validity", &self.leaf_validity())
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// Creates a new root (valid from a day before `now` for 30 years), the three
    /// CA levels and a leaf, all valid at `now`, with a random module id.
    ///
    /// # Errors
    /// [`IssuerError::Time`] for a time that is no certificate date, or
    /// [`IssuerError::Certificate`] when rcgen fails.
    pub fn generate(now: UnixMillis) -> Result<Self, IssuerError> {
        let t = seconds(now)?;
        let root = make_cert(Level::Root, P384Key::generate(), t - DAY, None, "")?;
        let id = hex::encode(Sha256::digest(&root.key.public));
        let module_id = format!("i-0{}-enc{}", &id[..16], &id[16..32]);
        let mut ca = Self {
            chain: vec![root],
            module_id,
        };
        for level in &LEVELS[1..] {
            let cert = ca.make_below(*level, t)?;
            ca.chain.push(cert);
        }
        Ok(ca)
    }

    /// The root certificate (DER): what a verifier must trust.
    pub fn root_der(&self) -> &[u8] {
        &self.cert(Level::Root).der
    }

    /// The root certificate as PEM (for a trust descriptor's `nitro.root_pem`).
    pub fn root_pem(&self) -> String {
        pem("CERTIFICATE", self.root_der())
    }

    /// The current leaf certificate (DER).
    pub fn leaf_der(&self) -> &[u8] {
        &self.cert(Level::Leaf).der
    }

    /// The CA bundle as documents carry it: `[root, regional, zonal, instance]`.
    pub fn cabundle(&self) -> Vec<Vec<u8>> {
        self.chain[..4].iter().map(|c| c.der.clone()).collect()
    }

    /// The module id this stand-in enclave uses (`i-0<16 hex>-enc<16 hex>`).
    pub fn module_id(&self) -> &str {
        &self.module_id
    }

    /// A request for this CA's module id with the default PCRs.
    pub fn request(&self) -> DocumentRequest {
        DocumentRequest::new(self.module_id.clone())
    }

    /// The current leaf's validity, `(notBefore, notAfter)` in Unix seconds.
    pub fn leaf_validity(&self) -> (i64, i64) {
        let leaf = self.cert(Level::Leaf);
        (leaf.not_before, leaf.not_after)
    }

    /// Writes the chain and its keys as PEM files into `dir` (created if needed):
    /// `<level>.pem` and `<level>.key.pem` (PKCS#8, mode 0600 on Unix) for root,
    /// regional, zonal, instance and leaf, and `module_id`.
    ///
    /// # Errors
    /// [`IssuerError::Io`] or [`IssuerError::Key`].
    pub fn save(&self, dir: &Path) -> Result<(), IssuerError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        for level in LEVELS {
            let cert = self.cert(level);
            write(
                &dir.join(format!("{}.pem", level.name())),
                pem("CERTIFICATE", &cert.der),
                false,
            )?;
            let key =
                cert.key
                    .signing
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| IssuerError::Key {
                        level: level.name(),
                        reason: e.to_string(),
                    })?;
            write(
                &dir.join(format!("{}.key.pem", level.name())),
                key.to_string(),
                true,
            )?;
        }
        write(
            &dir.join("module_id"),
            format!("{}\n", self.module_id),
            false,
        )
    }

    /// Reads a CA written by [`TestCa::save`].
    ///
    /// # Errors
    /// [`IssuerError::Io`] or [`IssuerError::BadFile`] when a file is missing or
    /// does not hold a certificate or key, or the key does not match the certificate.
    pub fn load(dir: &Path) -> Result<Self, IssuerError> {
        let mut chain = Vec::with_capacity(LEVELS.len());
        for level in LEVELS {
            let cert_path = dir.join(format!("{}.pem", level.name()));
            let der = unpem(&cert_path, &read(&cert_path)?)?;
            let key_path = dir.join(format!("{}.key.pem", level.name()));
            let signing = SigningKey::from_pkcs8_pem(&read(&key_path)?).map_err(|e| {
                IssuerError::BadFile {
                    path: key_path.clone(),
                    reason: e.to_string(),
                }
            })?;
            let key = P384Key::from_signing(signing);
            let bad = |reason: String| IssuerError::BadFile {
                path: cert_path.clone(),
                reason,
            };
            let (rest, x509) = x509_parser::certificate::X509Certificate::from_der(&der)
                .map_err(|e| bad(e.to_string()))?;
            if !rest.is_empty() {
                return Err(bad("bytes after the certificate".into()));
            }
            if x509.public_key().subject_public_key.data.as_ref() != key.public.as_slice() {
                return Err(bad(format!("does not match {}", key_path.display())));
            }
            let validity = x509.validity();
            let (not_before, not_after) = (
                validity.not_before.timestamp(),
                validity.not_after.timestamp(),
            );
            chain.push(Cert {
                key,
                der,
                not_before,
                not_after,
            });
        }
        let id_path = dir.join("module_id");
        let module_id = read(&id_path)?.trim().to_owned();
        Ok(Self { chain, module_id })
    }

    /// Replaces whatever will not last: the leaf once less than an hour of it is
    /// left, and each CA once the certificate below it would outlive it (a renewed
    /// CA gets a new key, and everything below it is reissued). Returns whether
    /// anything changed.
    ///
    /// # Errors
    /// [`IssuerError::RootNotValid`] when `now` is outside the root's validity,
    /// [`IssuerError::Time`] or [`IssuerError::Certificate`].
    pub fn renew_if_needed(&mut self, now: UnixMillis) -> Result<bool, IssuerError> {
        let t = seconds(now)?;
        let root = self.cert(Level::Root);
        if t < root.not_before || t + Level::Root.min_remaining() > root.not_after {
            return Err(IssuerError::RootNotValid {
                now_secs: t,
                not_before: root.not_before,
                not_after: root.not_after,
            });
        }
        let stale = LEVELS[1..].iter().copied().find(|level| {
            let cert = self.cert(*level);
            t < cert.not_before || t + level.min_remaining() > cert.not_after
        });
        let Some(first) = stale else {
            return Ok(false);
        };
        for level in &LEVELS[first.index()..] {
            let cert = self.make_below(*level, t)?;
            self.chain[level.index()] = cert;
        }
        Ok(true)
    }

    /// Signs a document for `req` at `now` (its `timestamp`), renewing certificates
    /// first when needed. The fields are written as given, without checking their
    /// sizes, so tests can make documents that break the AWS limits.
    ///
    /// # Errors
    /// As [`TestCa::renew_if_needed`].
    pub fn issue(
        &mut self,
        req: &DocumentRequest,
        now: UnixMillis,
    ) -> Result<Vec<u8>, IssuerError> {
        self.renew_if_needed(now)?;
        let payload = self.encode_payload(req, now);
        Ok(self.sign_payload(&payload))
    }

    /// The payload map for `req` at `now` with the current certificates, in the
    /// exact layout of real documents (nine keys in AWS order, null for absent
    /// optional fields, 8-byte timestamp, the outer map as `req.encoding` says).
    /// Does not renew anything.
    pub fn encode_payload(&self, req: &DocumentRequest, now: UnixMillis) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        match req.encoding {
            PayloadEncoding::Indefinite => out.push(INDEFINITE_MAP),
            PayloadEncoding::Definite => head(&mut out, 5, 9),
        }
        text(&mut out, "module_id");
        text(&mut out, &req.module_id);
        text(&mut out, "digest");
        text(&mut out, "SHA384");
        text(&mut out, "timestamp");
        out.push(0x1b);
        out.extend_from_slice(&now.0.to_be_bytes());
        text(&mut out, "pcrs");
        head(&mut out, 5, req.pcrs.len() as u64);
        for (index, value) in &req.pcrs {
            head(&mut out, 0, u64::from(*index));
            bytes(&mut out, value);
        }
        text(&mut out, "certificate");
        bytes(&mut out, self.leaf_der());
        text(&mut out, "cabundle");
        head(&mut out, 4, 4);
        for cert in &self.chain[..4] {
            bytes(&mut out, &cert.der);
        }
        for (key, value) in [
            ("public_key", &req.public_key),
            ("user_data", &req.user_data),
            ("nonce", &req.nonce),
        ] {
            text(&mut out, key);
            match value {
                Some(value) => bytes(&mut out, value),
                None => out.push(0xf6),
            }
        }
        if req.encoding == PayloadEncoding::Indefinite {
            out.push(BREAK);
        }
        out
    }

    /// The low-level escape hatch: wraps arbitrary `payload` bytes in an untagged
    /// COSE_Sign1 (`{1: -35}`, `{}`) signed with the current leaf key, exactly as the
    /// NSM does. Nothing about the payload is checked.
    pub fn sign_payload(&self, payload: &[u8]) -> Vec<u8> {
        // Sig_structure = ["Signature1", protected, h'', payload] (RFC 9052 §4.4).
        let mut tbs = Vec::with_capacity(payload.len() + 32);
        head(&mut tbs, 4, 4);
        text(&mut tbs, "Signature1");
        bytes(&mut tbs, &PROTECTED_ES384);
        bytes(&mut tbs, &[]);
        bytes(&mut tbs, payload);
        let signature = self.cert(Level::Leaf).key.sign_raw(&tbs);

        let mut out = Vec::with_capacity(payload.len() + 112);
        head(&mut out, 4, 4);
        bytes(&mut out, &PROTECTED_ES384);
        head(&mut out, 5, 0);
        bytes(&mut out, payload);
        bytes(&mut out, &signature);
        out
    }

    fn cert(&self, level: Level) -> &Cert {
        &self.chain[level.index()]
    }

    /// A new certificate at `level` (below the root), signed by the current
    /// certificate one level up, valid from `t`.
    fn make_below(&self, level: Level, t: i64) -> Result<Cert, IssuerError> {
        let parent_level = LEVELS[level.index() - 1];
        let parent = self.cert(parent_level);
        // The issuer's name, key identifier and key usages follow from its key alone.
        let parent_params = params(
            parent_level,
            &parent.key,
            parent.not_before,
            &self.module_id,
        )?;
        let issuer = Issuer::new(parent_params, &parent.key);
        make_cert(
            level,
            P384Key::generate(),
            t,
            Some(&issuer),
            &self.module_id,
        )
    }
}

fn make_cert(
    level: Level,
    key: P384Key,
    not_before: i64,
    issuer: Option<&Issuer<'_, &P384Key>>,
    module_id: &str,
) -> Result<Cert, IssuerError> {
    let params = params(level, &key, not_before, module_id)?;
    let cert = match issuer {
        None => params.self_signed(&key),
        Some(issuer) => params.signed_by(&key, issuer),
    }
    .map_err(|e| cert_error(level, &e))?;
    Ok(Cert {
        key,
        der: cert.der().to_vec(),
        not_before,
        not_after: not_before + level.lifetime(),
    })
}

/// The certificate parameters of `level` for `key`: a function of the key, so
/// that a saved CA can be an issuer again without parsing its certificate.
fn params(
    level: Level,
    key: &P384Key,
    not_before: i64,
    module_id: &str,
) -> Result<CertificateParams, IssuerError> {
    let not_after = not_before + level.lifetime();
    let spki = key.subject_public_key_info();
    let id = hex::encode(&Sha256::digest(&spki)[..8]);
    let cn = match level {
        Level::Root => "zipchain-test.nitro-enclaves".to_owned(),
        Level::Regional => format!("{id}.{REGION}.zipchain-test.nitro-enclaves"),
        Level::Zonal => format!("{id}.zonal.{REGION}.zipchain-test.nitro-enclaves"),
        Level::Instance => format!("i-0{id}.{REGION}.zipchain-test.nitro-enclaves"),
        Level::Leaf => format!("{module_id}.{REGION}.aws"),
    };

    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "zipchain test");
    dn.push(DnType::OrganizationalUnitName, "AWS-shaped stand-in");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.not_before = date(not_before)?;
    params.not_after = date(not_after)?;
    let mut serial_input = spki.clone();
    serial_input.extend_from_slice(&not_before.to_be_bytes());
    let mut serial = Sha256::digest(&serial_input)[..16].to_vec();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    // RFC 7093 method 1 (truncated SHA-256 of the SPKI); AWS CAs carry SKI/AKI.
    params.key_identifier_method = KeyIdMethod::PreSpecified(Sha256::digest(&spki)[..20].to_vec());

    let ca_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    match level {
        Level::Root => {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = ca_usages;
        }
        Level::Regional | Level::Zonal => {
            let path_len = if level == Level::Regional { 2 } else { 1 };
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
            params.key_usages = ca_usages;
            params.use_authority_key_identifier_extension = true;
        }
        Level::Instance => {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
            params.use_authority_key_identifier_extension = true;
        }
        Level::Leaf => {
            // As AWS leaves: critical basicConstraints CA:FALSE (DER `30 00`), and a
            // non-critical keyUsage digitalSignature + nonRepudiation; no SKI/AKI.
            params.is_ca = IsCa::NoCa;
            params.custom_extensions = leaf_extensions(&[0x03, 0x02, 0x06, 0xc0]);
        }
    }
    Ok(params)
}

/// The extensions of an AWS-shaped leaf: a critical basicConstraints CA:FALSE (DER
/// `30 00`, which rcgen would not write for `IsCa::NoCa`) and a non-critical keyUsage
/// whose DER BIT STRING is `key_usage`. No key identifiers, as AWS leaves have none.
pub fn leaf_extensions(key_usage: &[u8]) -> Vec<CustomExtension> {
    let mut bc = CustomExtension::from_oid_content(&[2, 5, 29, 19], vec![0x30, 0x00]);
    bc.set_criticality(true);
    let ku = CustomExtension::from_oid_content(&[2, 5, 29, 15], key_usage.to_vec());
    vec![bc, ku]
}

fn cert_error(level: Level, e: &rcgen::Error) -> IssuerError {
    IssuerError::Certificate {
        level: level.name(),
        reason: e.to_string(),
    }
}

fn seconds(now: UnixMillis) -> Result<i64, IssuerError> {
    i64::try_from(now.0 / 1000).map_err(|_| IssuerError::Time { millis: now.0 })
}

fn date(secs: i64) -> Result<time::OffsetDateTime, IssuerError> {
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| IssuerError::Time {
        millis: u64::try_from(secs).unwrap_or(0).saturating_mul(1000),
    })
}

/// A CBOR head with the minimal argument encoding (RFC 8949 §3).
pub fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// A CBOR byte string: its shortest head, then `value`.
pub fn bytes(out: &mut Vec<u8>, value: &[u8]) {
    head(out, 2, value.len() as u64);
    out.extend_from_slice(value);
}

/// A CBOR text string: its shortest head, then `value`.
pub fn text(out: &mut Vec<u8>, value: &str) {
    head(out, 3, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(path: &Path, text: &str) -> Result<Vec<u8>, IssuerError> {
    let b64: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| IssuerError::BadFile {
            path: path.to_owned(),
            reason: format!("not PEM: {e}"),
        })
}

fn io_error(path: &Path, e: &std::io::Error) -> IssuerError {
    IssuerError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

fn read(path: &Path) -> Result<String, IssuerError> {
    std::fs::read_to_string(path).map_err(|e| io_error(path, &e))
}

fn write(path: &Path, contents: String, secret: bool) -> Result<(), IssuerError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(|e| io_error(path, &e))
}
