//! A strict DER reader for the X.509 fields the NSM chain checks need beyond
//! rustls-webpki's path validation (SPEC §1.5): the validity window,
//! basicConstraints, keyUsage and the subject public key.
//!
//! The whole certificate structure is read (RFC 5280 §4.1: version, serial,
//! algorithms, names, validity, key, unique IDs, extensions, signature) with the
//! `der` crate's strict DER rules (definite minimal lengths, canonical BOOLEAN
//! and INTEGER, `YYMMDDHHMMSSZ` / `YYYYMMDDHHMMSSZ` times), and nothing may
//! follow the certificate or any of its parts. basicConstraints and keyUsage are
//! decoded strictly too; an extension present twice is rejected. Other
//! extensions are left to webpki, which rejects unknown critical ones on every
//! certificate but the root. Errors are reasons in words, for
//! [`NsmError::CertificateParse`](super::NsmError::CertificateParse) and
//! [`NsmError::BadRoot`](super::NsmError::BadRoot).

use der::asn1::{
    AnyRef, BitStringRef, GeneralizedTime, IntRef, ObjectIdentifier, OctetStringRef, UtcTime,
};
use der::{Length, Reader, SliceReader, Tag, TagNumber, Tagged};

/// id-ce-basicConstraints (2.5.29.19).
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// id-ce-keyUsage (2.5.29.15).
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// An extension's decoded value and its criticality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extension<T> {
    /// The extension's `critical` flag (FALSE when absent).
    pub(crate) critical: bool,
    /// The decoded `extnValue`.
    pub(crate) value: T,
}

/// basicConstraints (RFC 5280 §4.2.1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BasicConstraints {
    /// `cA` (FALSE when absent).
    pub(crate) ca: bool,
    /// `pathLenConstraint`, when present.
    pub(crate) path_len: Option<u32>,
}

/// keyUsage (RFC 5280 §4.2.1.3): the bits this crate checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyUsage {
    /// Bit 0, `digitalSignature`.
    pub(crate) digital_signature: bool,
    /// Bit 5, `keyCertSign`.
    pub(crate) key_cert_sign: bool,
}

/// The parts of a certificate the chain checks read.
#[derive(Clone, Debug)]
pub(crate) struct Certificate<'a> {
    /// notBefore, Unix seconds.
    pub(crate) not_before: i64,
    /// notAfter, Unix seconds.
    pub(crate) not_after: i64,
    /// basicConstraints, when present.
    pub(crate) basic_constraints: Option<Extension<BasicConstraints>>,
    /// keyUsage, when present.
    pub(crate) key_usage: Option<Extension<KeyUsage>>,
    /// The subject public key's algorithm.
    pub(crate) key_algorithm: ObjectIdentifier,
    /// The parameters of the key's algorithm, when present.
    pub(crate) key_parameters: Option<AnyRef<'a>>,
    /// The subject public key (a BIT STRING with no unused bits).
    pub(crate) public_key: &'a [u8],
}

/// What went wrong, in words (a `der` error, or a rule of this reader).
fn reason(e: der::Error) -> String {
    e.to_string()
}

/// Parses one DER certificate; `der` must hold exactly the certificate.
pub(crate) fn parse(der: &[u8]) -> Result<Certificate<'_>, String> {
    let mut reader = SliceReader::new(der).map_err(reason)?;
    let cert = reader.sequence(|r| {
        let cert = tbs_certificate(r)?;
        algorithm_identifier(r)?;
        r.decode::<BitStringRef<'_>>()?;
        Ok::<_, Error>(cert)
    });
    let cert = cert.map_err(|e| e.0)?;
    let rest = reader.remaining_len();
    if rest != Length::ZERO {
        return Err(format!("{rest} bytes after the certificate"));
    }
    Ok(cert)
}

/// A reason in words; `der` errors convert into it.
struct Error(String);

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Self(reason(e))
    }
}

fn context_tag(number: u8, constructed: bool) -> Tag {
    Tag::ContextSpecific {
        constructed,
        number: TagNumber(number.into()),
    }
}

/// Whether the next element has tag `tag` (false at the end of the input).
fn next_is<'a>(r: &SliceReader<'a>, tag: Tag) -> bool {
    !r.is_finished() && Tag::peek(r).is_ok_and(|t| t == tag)
}

/// TBSCertificate (RFC 5280 §4.1), inside the certificate's SEQUENCE.
fn tbs_certificate<'a>(r: &mut SliceReader<'a>) -> Result<Certificate<'a>, Error> {
    r.sequence(|r| {
        // version [0] EXPLICIT Version DEFAULT v1: v1, v2 or v3 (0, 1, 2).
        if next_is(r, context_tag(0, true)) {
            let explicit = r.decode::<AnyRef<'a>>()?;
            let version = whole(explicit.value(), |r| Ok(r.decode::<u8>()?))?;
            if version > 2 {
                return Err(Error(format!(
                    "version field {version}; expected 0, 1 or 2 (v1, v2 or v3)"
                )));
            }
        }
        // serialNumber INTEGER (any value; RFC 5280 asks for positive, real CAs vary).
        r.decode::<IntRef<'a>>()?;
        algorithm_identifier(r)?;
        name(r)?;
        let (not_before, not_after) = r.sequence(|r| Ok::<_, Error>((time(r)?, time(r)?)))?;
        name(r)?;
        let (key_algorithm, key_parameters, public_key) = r.sequence(|r| {
            let (algorithm, parameters) = algorithm_identifier(r)?;
            let key = r.decode::<BitStringRef<'a>>()?;
            let key = key
                .as_bytes()
                .ok_or_else(|| Error("the subject public key has unused bits".into()))?;
            Ok::<_, Error>((algorithm, parameters, key))
        })?;
        // issuerUniqueID [1] IMPLICIT BIT STRING, subjectUniqueID [2]: read and ignored.
        for number in [1, 2] {
            if next_is(r, context_tag(number, false)) {
                let id = r.decode::<AnyRef<'a>>()?;
                let (&unused, bits) = id
                    .value()
                    .split_first()
                    .ok_or_else(|| Error(format!("unique identifier [{number}] is empty")))?;
                BitStringRef::new(unused, bits)?;
            }
        }
        let mut basic_constraints = None;
        let mut key_usage = None;
        if next_is(r, context_tag(3, true)) {
            let explicit = r.decode::<AnyRef<'a>>()?;
            let mut outer = SliceReader::new(explicit.value())?;
            let mut seen: Vec<ObjectIdentifier> = Vec::new();
            outer.sequence(|r| {
                if r.is_finished() {
                    return Err(Error("extensions is empty".into()));
                }
                while !r.is_finished() {
                    let (oid, critical, value) = r.sequence(|r| {
                        let oid = r.decode::<ObjectIdentifier>()?;
                        let critical = if next_is(r, Tag::Boolean) {
                            r.decode::<bool>()?
                        } else {
                            false
                        };
                        let value = r.decode::<&'a OctetStringRef>()?;
                        Ok::<_, Error>((oid, critical, value.as_bytes()))
                    })?;
                    if seen.contains(&oid) {
                        return Err(Error(format!("extension {oid} is present twice")));
                    }
                    seen.push(oid);
                    if oid == OID_BASIC_CONSTRAINTS {
                        let value = whole(value, basic_constraints_value)
                            .map_err(|e| Error(format!("basicConstraints: {}", e.0)))?;
                        basic_constraints = Some(Extension { critical, value });
                    } else if oid == OID_KEY_USAGE {
                        let value = whole(value, key_usage_value)
                            .map_err(|e| Error(format!("keyUsage: {}", e.0)))?;
                        key_usage = Some(Extension { critical, value });
                    }
                }
                Ok(())
            })?;
            outer.finish()?;
        }
        Ok(Certificate {
            not_before,
            not_after,
            basic_constraints,
            key_usage,
            key_algorithm,
            key_parameters,
            public_key,
        })
    })
}

/// Decodes `bytes` with `f`, which must read them all.
fn whole<'a, T>(
    bytes: &'a [u8],
    f: impl FnOnce(&mut SliceReader<'a>) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut r = SliceReader::new(bytes)?;
    let value = f(&mut r)?;
    r.finish()?;
    Ok(value)
}

/// `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }`.
fn basic_constraints_value(r: &mut SliceReader<'_>) -> Result<BasicConstraints, Error> {
    r.sequence(|r| {
        let ca = if next_is(r, Tag::Boolean) {
            r.decode::<bool>()?
        } else {
            false
        };
        let path_len = if r.is_finished() {
            None
        } else {
            Some(r.decode::<u32>()?)
        };
        Ok(BasicConstraints { ca, path_len })
    })
}

/// `KeyUsage ::= BIT STRING`.
fn key_usage_value(r: &mut SliceReader<'_>) -> Result<KeyUsage, Error> {
    let bits = r.decode::<BitStringRef<'_>>()?;
    let bit = |i| bits.get(i).unwrap_or(false);
    Ok(KeyUsage {
        digital_signature: bit(0),
        key_cert_sign: bit(5),
    })
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`.
fn algorithm_identifier<'a>(
    r: &mut SliceReader<'a>,
) -> Result<(ObjectIdentifier, Option<AnyRef<'a>>), Error> {
    r.sequence(|r| {
        let algorithm = r.decode::<ObjectIdentifier>()?;
        let parameters = if r.is_finished() {
            None
        } else {
            Some(r.decode::<AnyRef<'a>>()?)
        };
        Ok((algorithm, parameters))
    })
}

/// `Name ::= SEQUENCE OF SET OF SEQUENCE { type OBJECT IDENTIFIER, value ANY }`.
fn name(r: &mut SliceReader<'_>) -> Result<(), Error> {
    r.sequence(|r| {
        while !r.is_finished() {
            let set = r.decode::<AnyRef<'_>>()?;
            set.tag().assert_eq(Tag::Set)?;
            whole(set.value(), |r| {
                if r.is_finished() {
                    return Err(Error("a relative distinguished name is empty".into()));
                }
                while !r.is_finished() {
                    r.sequence(|r| {
                        r.decode::<ObjectIdentifier>()?;
                        r.decode::<AnyRef<'_>>()?;
                        Ok::<_, Error>(())
                    })?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// `Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }`, as Unix seconds.
fn time(r: &mut SliceReader<'_>) -> Result<i64, Error> {
    let duration = if next_is(r, Tag::UtcTime) {
        r.decode::<UtcTime>()?.to_unix_duration()
    } else {
        r.decode::<GeneralizedTime>()?.to_unix_duration()
    };
    i64::try_from(duration.as_secs()).map_err(|_| Error("a time is out of range".into()))
}
