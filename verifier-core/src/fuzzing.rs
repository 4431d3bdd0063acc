//! The crate's internal readers as public functions, for the fuzz targets and the
//! differential tests of `fuzz/` (issue #18): the X.509 reader (`nsm/x509.rs`), the
//! strict CBOR walker (`nsm/cbor.rs`), the NSM payload's item decoder (`nsm/item.rs`)
//! and the COSE_Sign1 reader. Feature `fuzzing` only; the npm module never has it.
//!
//! What they return mirrors the internal types field by field, owned, so that a test can
//! compare them with what `x509-parser`, `ciborium` and `coset` read.

use crate::nsm::cbor::{self, CborPart};
use crate::nsm::{NsmError, item, x509};

/// The fields the NSM chain checks read from a certificate (`nsm/x509.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X509Fields {
    /// The issuer Name: the contents of its SEQUENCE, as encoded.
    pub issuer: Vec<u8>,
    /// The subject Name, likewise.
    pub subject: Vec<u8>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// basicConstraints: (critical, cA, pathLenConstraint), when present.
    pub basic_constraints: Option<(bool, bool, Option<u32>)>,
    /// keyUsage: (critical, digitalSignature, keyCertSign), when present.
    pub key_usage: Option<(bool, bool, bool)>,
    /// The subjectKeyIdentifier, when present.
    pub subject_key_id: Option<Vec<u8>>,
    /// The keyIdentifier of the authorityKeyIdentifier, when present.
    pub authority_key_id: Option<Vec<u8>>,
    /// The subject public key's algorithm, dotted.
    pub key_algorithm: String,
    /// The algorithm's parameters as (tag, contents), when present.
    pub key_parameters: Option<(u8, Vec<u8>)>,
    /// The subject public key's bytes.
    pub public_key: Vec<u8>,
}

/// Reads one DER certificate as the NSM chain checks do.
///
/// # Errors
/// The reason, in words, as `NsmError::CertificateParse` carries it.
pub fn x509_fields(der: &[u8]) -> Result<X509Fields, String> {
    let c = x509::parse(der)?;
    Ok(X509Fields {
        issuer: c.issuer.to_vec(),
        subject: c.subject.to_vec(),
        not_before: c.not_before,
        not_after: c.not_after,
        basic_constraints: c
            .basic_constraints
            .map(|e| (e.critical, e.value.ca, e.value.path_len)),
        key_usage: c
            .key_usage
            .map(|e| (e.critical, e.value.digital_signature, e.value.key_cert_sign)),
        subject_key_id: c.subject_key_id.map(<[u8]>::to_vec),
        authority_key_id: c.authority_key_id.map(<[u8]>::to_vec),
        key_algorithm: c.key_algorithm.to_string(),
        key_parameters: c.key_parameters.map(|(tag, v)| (tag, v.to_vec())),
        public_key: c.public_key.to_vec(),
    })
}

/// Checks that `input` is one strict CBOR item of `part`'s rules, nested at most
/// `max_depth` deep (`nsm/cbor.rs`).
///
/// # Errors
/// `NsmError::Cbor` or `NsmError::TrailingData`.
pub fn cbor_check(input: &[u8], part: CborPart, max_depth: usize) -> Result<(), NsmError> {
    cbor::check_strict(input, part, max_depth)
}

/// A CBOR item as the NSM payload decoder reads it (`nsm/item.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum CborItem {
    /// Major types 0 and 1.
    Integer(i128),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3.
    Text(String),
    /// Major type 4.
    Array(Vec<CborItem>),
    /// Major type 5, in order.
    Map(Vec<(CborItem, CborItem)>),
    /// Major type 6 (the tagged item is not kept).
    Tag,
    /// `false` / `true`.
    Bool,
    /// `null`.
    Null,
    /// A float.
    Float,
    /// Another simple value.
    Simple,
}

impl From<item::Item> for CborItem {
    fn from(item: item::Item) -> Self {
        match item {
            item::Item::Integer(n) => Self::Integer(n),
            item::Item::Bytes(b) => Self::Bytes(b),
            item::Item::Text(t) => Self::Text(t),
            item::Item::Array(a) => Self::Array(a.into_iter().map(Self::from).collect()),
            item::Item::Map(m) => Self::Map(
                m.into_iter()
                    .map(|(k, v)| (Self::from(k), Self::from(v)))
                    .collect(),
            ),
            item::Item::Tag => Self::Tag,
            item::Item::Bool => Self::Bool,
            item::Item::Null => Self::Null,
            item::Item::Float => Self::Float,
            item::Item::Simple => Self::Simple,
        }
    }
}

/// Decodes the one item `input` holds, as the NSM payload decoder does.
///
/// # Errors
/// What is wrong, in words.
pub fn cbor_item(input: &[u8]) -> Result<CborItem, &'static str> {
    item::decode(input).map(CborItem::from)
}

/// The four fields of a COSE_Sign1, as the NSM envelope reader reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sign1Fields {
    /// The protected header's bytes.
    pub protected: Vec<u8>,
    /// How many entries the unprotected header has.
    pub unprotected_entries: u64,
    /// The payload; `None` when nil.
    pub payload: Option<Vec<u8>>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// Reads a COSE_Sign1 envelope as `NsmVerifier::verify` does before it checks the
/// fields: strict CBOR of the envelope's rules (depth `max_depth`), then the structure.
///
/// # Errors
/// The CBOR error, or the structure's reason as `NsmError::Cose`.
pub fn cose_sign1(input: &[u8], max_depth: usize) -> Result<Sign1Fields, NsmError> {
    cbor::check_strict(input, CborPart::Document, max_depth)?;
    let s = cbor::sign1(input).map_err(|reason| NsmError::Cose { reason })?;
    Ok(Sign1Fields {
        protected: s.protected.to_vec(),
        unprotected_entries: s.unprotected_entries,
        payload: s.payload.map(<[u8]>::to_vec),
        signature: s.signature.to_vec(),
    })
}

/// The `Sig_structure` a COSE_Sign1 signature covers (empty external data).
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::sig_structure(protected, payload)
}
