//! The attestation payload: the CBOR map of SPEC §1.5 and AWS
//! `attestation_process.md` §3.2.2, read into an [`NsmDocument`].

use std::collections::BTreeMap;

use super::item::{Item as Value, decode};
use serde::Serialize;

use super::{NsmError, NsmLimits};
use crate::time::UnixMillis;

/// The fields of an NSM attestation document, as signed.
///
/// Byte fields serialize as lowercase hex, PCR indices as JSON object keys.
/// Having an `NsmDocument` proves nothing by itself: only a
/// [`super::VerifiedNsmDocument`] says that the checks of SPEC §1.5 ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NsmDocument {
    /// The issuing Nitro hypervisor module id (`i-<instance>-enc<enclave>`).
    pub module_id: String,
    /// The PCR digest algorithm; always `"SHA384"` once parsed.
    pub digest: String,
    /// When the NSM produced the document, in milliseconds since the Unix epoch.
    pub timestamp: UnixMillis,
    /// The locked PCRs, by index (0..=31); each 32, 48 or 64 bytes.
    #[serde(serialize_with = "hex_map")]
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// The leaf certificate (DER) whose key signed the document.
    #[serde(serialize_with = "hex_bytes")]
    pub certificate: Vec<u8>,
    /// The CA bundle (DER), root first: `[root, regional, zonal, instance]` in AWS documents.
    #[serde(serialize_with = "hex_list")]
    pub cabundle: Vec<Vec<u8>>,
    /// The public key the enclave asked to be attested, when there is one.
    #[serde(serialize_with = "hex_opt")]
    pub public_key: Option<Vec<u8>>,
    /// The user data the enclave asked to be attested, when there is any.
    #[serde(serialize_with = "hex_opt")]
    pub user_data: Option<Vec<u8>>,
    /// The nonce the enclave asked to be attested, when there is one.
    #[serde(serialize_with = "hex_opt")]
    pub nonce: Option<Vec<u8>>,
}

impl NsmDocument {
    /// The value of PCR `index`, when the document has it.
    pub fn pcr(&self, index: u8) -> Option<&[u8]> {
        self.pcrs.get(&index).map(Vec::as_slice)
    }

    /// Whether this is a debug-mode document: PCR0 present and all zero bytes
    /// (the only signal AWS gives, research `nitro-FINDINGS.md` §0.6).
    pub fn is_debug(&self) -> bool {
        self.pcr(0).is_some_and(|pcr0| pcr0.iter().all(|b| *b == 0))
    }
}

/// The key names, in the order real documents use.
pub(crate) const FIELDS: [&str; 9] = [
    "module_id",
    "digest",
    "timestamp",
    "pcrs",
    "certificate",
    "cabundle",
    "public_key",
    "user_data",
    "nonce",
];

/// The PCR indices a document may carry (CDDL `index = 0..31`).
const PCR_INDICES: u8 = 32;

/// Decodes and checks the payload map. The bytes must already have passed the
/// strict walker ([`super::cbor::check_strict`]), so they hold exactly one
/// well-formed, tag-free item within the depth budget, of definite or indefinite
/// length ([`super::item`] reads both; the signature is checked over the bytes as
/// received, never over a re-encoding).
pub(crate) fn parse_payload(payload: &[u8], limits: &NsmLimits) -> Result<NsmDocument, NsmError> {
    let value = decode(payload).map_err(|reason| NsmError::PayloadDecode {
        reason: reason.to_owned(),
    })?;
    let Value::Map(entries) = value else {
        return Err(NsmError::PayloadNotMap);
    };

    let mut module_id = None;
    let mut digest = None;
    let mut timestamp = None;
    let mut pcrs = None;
    let mut certificate = None;
    let mut cabundle = None;
    let mut public_key = None;
    let mut user_data = None;
    let mut nonce = None;

    for (key, value) in entries {
        let Value::Text(key) = key else {
            return Err(NsmError::UnknownField {
                key: format!("a key of CBOR type {}", cbor_type(&key)),
            });
        };
        match key.as_str() {
            "module_id" => {
                let text = text(value, "module_id")?;
                if text.is_empty() {
                    return Err(NsmError::FieldLength {
                        field: "module_id",
                        len: 0,
                        min: 1,
                        max: usize::MAX,
                    });
                }
                set(&mut module_id, "module_id", text)?;
            }
            "digest" => {
                let text = text(value, "digest")?;
                if text != "SHA384" {
                    return Err(NsmError::Digest {
                        got: crate::text::bounded(&text),
                    });
                }
                set(&mut digest, "digest", text)?;
            }
            "timestamp" => {
                let Value::Integer(int) = value else {
                    return Err(type_error("timestamp", "unsigned integer"));
                };
                let ms =
                    u64::try_from(int).map_err(|_| type_error("timestamp", "unsigned integer"))?;
                if ms == 0 {
                    return Err(NsmError::ZeroTimestamp);
                }
                set(&mut timestamp, "timestamp", UnixMillis(ms))?;
            }
            "pcrs" => set(&mut pcrs, "pcrs", parse_pcrs(value)?)?,
            "certificate" => {
                let der = bytes(value, "certificate", 1, limits.max_cert_len)?;
                set(&mut certificate, "certificate", der)?;
            }
            "cabundle" => set(&mut cabundle, "cabundle", parse_cabundle(value, limits)?)?,
            "public_key" => {
                // Empty in real documents too (hf/nitrite's of 2021-10-28, SPEC §1.5).
                let v = optional_bytes(value, "public_key", 0, limits.max_field_len)?;
                set(&mut public_key, "public_key", v)?;
            }
            "user_data" => {
                let v = optional_bytes(value, "user_data", 0, limits.max_field_len)?;
                set(&mut user_data, "user_data", v)?;
            }
            "nonce" => {
                let v = optional_bytes(value, "nonce", 0, limits.max_field_len)?;
                set(&mut nonce, "nonce", v)?;
            }
            _ => {
                return Err(NsmError::UnknownField {
                    key: crate::text::bounded(&key),
                });
            }
        }
    }

    Ok(NsmDocument {
        module_id: required(module_id, "module_id")?,
        digest: required(digest, "digest")?,
        timestamp: required(timestamp, "timestamp")?,
        pcrs: required(pcrs, "pcrs")?,
        certificate: required(certificate, "certificate")?,
        cabundle: required(cabundle, "cabundle")?,
        public_key: public_key.flatten(),
        user_data: user_data.flatten(),
        nonce: nonce.flatten(),
    })
}

fn set<T>(slot: &mut Option<T>, field: &'static str, value: T) -> Result<(), NsmError> {
    if slot.is_some() {
        return Err(NsmError::DuplicateField { field });
    }
    *slot = Some(value);
    Ok(())
}

fn required<T>(slot: Option<T>, field: &'static str) -> Result<T, NsmError> {
    slot.ok_or(NsmError::MissingField { field })
}

/// The name of `value`'s CBOR type, for errors that must not print what an
/// attacker wrote (a non-text payload key can be 16 KiB of nested items).
fn cbor_type(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "integer",
        Value::Bytes(_) => "byte string",
        Value::Float => "float",
        Value::Text(_) => "text",
        Value::Bool => "bool",
        Value::Null => "null",
        Value::Tag => "tag",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Simple => "simple value",
    }
}

fn type_error(field: &'static str, expected: &'static str) -> NsmError {
    NsmError::FieldType { field, expected }
}

fn text(value: Value, field: &'static str) -> Result<String, NsmError> {
    match value {
        Value::Text(text) => Ok(text),
        _ => Err(type_error(field, "text string")),
    }
}

fn check_len(field: &'static str, len: usize, min: usize, max: usize) -> Result<(), NsmError> {
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(NsmError::FieldLength {
            field,
            len,
            min,
            max,
        })
    }
}

fn bytes(value: Value, field: &'static str, min: usize, max: usize) -> Result<Vec<u8>, NsmError> {
    let Value::Bytes(bytes) = value else {
        return Err(type_error(field, "byte string"));
    };
    check_len(field, bytes.len(), min, max)?;
    Ok(bytes)
}

/// An optional field: CBOR null means absent (every real document has all nine
/// keys and uses null for the optional fields not supplied).
fn optional_bytes(
    value: Value,
    field: &'static str,
    min: usize,
    max: usize,
) -> Result<Option<Vec<u8>>, NsmError> {
    match value {
        Value::Null => Ok(None),
        Value::Bytes(_) => bytes(value, field, min, max).map(Some),
        _ => Err(type_error(field, "byte string or null")),
    }
}

fn parse_pcrs(value: Value) -> Result<BTreeMap<u8, Vec<u8>>, NsmError> {
    let Value::Map(entries) = value else {
        return Err(type_error("pcrs", "map"));
    };
    if entries.is_empty() || entries.len() > usize::from(PCR_INDICES) {
        return Err(NsmError::PcrCount {
            count: entries.len(),
            max: usize::from(PCR_INDICES),
        });
    }
    let mut pcrs = BTreeMap::new();
    for (key, value) in entries {
        let Value::Integer(int) = key else {
            return Err(type_error("pcrs", "map with unsigned integer keys"));
        };
        let index = match u8::try_from(int) {
            Ok(index) if index < PCR_INDICES => index,
            _ => {
                return Err(NsmError::PcrIndex { index: int });
            }
        };
        let Value::Bytes(pcr) = value else {
            return Err(type_error("pcrs", "map with byte string values"));
        };
        if !matches!(pcr.len(), 32 | 48 | 64) {
            return Err(NsmError::PcrLength {
                index,
                len: pcr.len(),
            });
        }
        if pcrs.insert(index, pcr).is_some() {
            return Err(NsmError::DuplicatePcr { index });
        }
    }
    Ok(pcrs)
}

fn parse_cabundle(value: Value, limits: &NsmLimits) -> Result<Vec<Vec<u8>>, NsmError> {
    let Value::Array(items) = value else {
        return Err(type_error("cabundle", "array"));
    };
    if items.is_empty() || items.len() > limits.max_cabundle {
        return Err(NsmError::CabundleCount {
            count: items.len(),
            max: limits.max_cabundle,
        });
    }
    items
        .into_iter()
        .map(|item| bytes(item, "cabundle", 1, limits.max_cert_len))
        .collect()
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

fn hex_opt<S: serde::Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(bytes) => s.serialize_some(&hex::encode(bytes)),
        None => s.serialize_none(),
    }
}

fn hex_list<S: serde::Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(hex::encode))
}

fn hex_map<S: serde::Serializer>(map: &BTreeMap<u8, Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(k, v)| (k, hex::encode(v))))
}
