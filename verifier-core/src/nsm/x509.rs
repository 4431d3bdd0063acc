//! A strict DER reader for the X.509 fields the NSM chain checks need beyond
//! rustls-webpki's path validation (SPEC §1.5): the issuer and subject names, the
//! validity window, basicConstraints, keyUsage, the key identifiers and the subject
//! public key.
//!
//! The whole certificate structure is read (RFC 5280 §4.1: version, serial,
//! algorithms, names, validity, key, unique IDs, extensions, signature) under
//! DER's rules: definite minimal lengths, low tag numbers, canonical BOOLEAN,
//! INTEGER, OBJECT IDENTIFIER and BIT STRING, `YYMMDDHHMMSSZ` /
//! `YYYYMMDDHHMMSSZ` times of real dates; nothing may follow the certificate or
//! any of its parts. basicConstraints, keyUsage, subjectKeyIdentifier and
//! authorityKeyIdentifier are decoded as strictly; an extension present twice is
//! rejected. Other extensions are left to webpki, which rejects unknown critical
//! ones on every certificate but the root.
//!
//! Hand-written rather than built on a generic ASN.1 crate: it is all the
//! module needs, and it keeps the npm package's WebAssembly small (issue #5).
//! Errors are reasons in words, for
//! [`NsmError::CertificateParse`](super::NsmError::CertificateParse) and
//! [`NsmError::BadRoot`](super::NsmError::BadRoot); whatever they quote of the
//! certificate (a time's text, an OID, a BOOLEAN's bytes) is bounded, so a
//! crafted certificate cannot make a long report.

use std::fmt;

use crate::text::bounded;

/// Universal tags used here.
const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;

/// id-ce-basicConstraints (2.5.29.19), DER contents.
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// id-ce-keyUsage (2.5.29.15), DER contents.
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// id-ce-subjectKeyIdentifier (2.5.29.14), DER contents.
const OID_SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
/// id-ce-authorityKeyIdentifier (2.5.29.35), DER contents.
const OID_AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];

/// The most extensions a certificate may have.
const MAX_EXTENSIONS: usize = 64;

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

/// An OBJECT IDENTIFIER's DER contents (checked canonical); `Display` is dotted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Oid<'a>(&'a [u8]);

impl<'a> Oid<'a> {
    /// The DER contents (without tag and length).
    pub(crate) fn as_bytes(self) -> &'a [u8] {
        self.0
    }
}

impl fmt::Display for Oid<'_> {
    /// Dotted decimal, bounded like every input an error quotes (a crafted OID may
    /// fill most of a certificate).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        let mut dotted = String::new();
        let mut value: u64 = 0;
        let mut first = true;
        for &byte in self.0 {
            value = (value << 7) | u64::from(byte & 0x7f);
            if byte & 0x80 != 0 {
                continue;
            }
            if first {
                let arc = (value / 40).min(2);
                write!(dotted, "{arc}.{}", value - 40 * arc)?;
                first = false;
            } else {
                write!(dotted, ".{value}")?;
            }
            value = 0;
        }
        f.write_str(&bounded(&dotted))
    }
}

/// One element read as it is: (tag, contents).
pub(crate) type Tlv<'a> = (u8, &'a [u8]);

/// The parts of a certificate the chain checks read.
#[derive(Clone, Debug)]
pub(crate) struct Certificate<'a> {
    /// The issuer Name: the contents of its SEQUENCE, exactly as encoded (names
    /// are compared byte for byte, as webpki compares them).
    pub(crate) issuer: &'a [u8],
    /// The subject Name, likewise.
    pub(crate) subject: &'a [u8],
    /// notBefore, Unix seconds.
    pub(crate) not_before: i64,
    /// notAfter, Unix seconds.
    pub(crate) not_after: i64,
    /// basicConstraints, when present.
    pub(crate) basic_constraints: Option<Extension<BasicConstraints>>,
    /// keyUsage, when present.
    pub(crate) key_usage: Option<Extension<KeyUsage>>,
    /// The subjectKeyIdentifier, when present.
    pub(crate) subject_key_id: Option<&'a [u8]>,
    /// The keyIdentifier of the authorityKeyIdentifier, when present.
    pub(crate) authority_key_id: Option<&'a [u8]>,
    /// The subject public key's algorithm.
    pub(crate) key_algorithm: Oid<'a>,
    /// The parameters of the key's algorithm, when present.
    pub(crate) key_parameters: Option<Tlv<'a>>,
    /// The subject public key (a BIT STRING with no unused bits).
    pub(crate) public_key: &'a [u8],
}

/// Parses one DER certificate; `der` must hold exactly the certificate.
pub(crate) fn parse(der: &[u8]) -> Result<Certificate<'_>, String> {
    let mut input = Der(der);
    let mut cert = input.nested(SEQUENCE, "Certificate")?;
    let tbs = tbs_certificate(cert.nested(SEQUENCE, "TBSCertificate")?)?;
    algorithm_identifier(&mut cert, "signatureAlgorithm")?;
    cert.bit_string("signatureValue")?;
    cert.finish("Certificate")?;
    if !input.0.is_empty() {
        return Err(format!("{} bytes after the certificate", input.0.len()));
    }
    Ok(tbs)
}

/// DER input: a cursor over TLVs.
#[derive(Clone, Copy, Debug)]
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// Whether the next element has tag `tag`.
    fn next_is(&self, tag: u8) -> bool {
        self.0.first() == Some(&tag)
    }

    /// Reads one TLV of any (low-number) tag: (tag, contents).
    fn any(&mut self, what: &str) -> Result<Tlv<'a>, String> {
        let incomplete = || format!("{what} is truncated");
        let (&tag, rest) = self.0.split_first().ok_or_else(incomplete)?;
        if tag & 0x1f == 0x1f {
            return Err(format!("{what} has a high tag number, not used in X.509"));
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(incomplete)?;
        let len = match first {
            0..=0x7f => usize::from(first),
            0x81..=0x84 => {
                let n = usize::from(first & 0x7f);
                let bytes = rest.get(..n).ok_or_else(incomplete)?;
                rest = rest.get(n..).ok_or_else(incomplete)?;
                let len = bytes
                    .iter()
                    .fold(0usize, |len, &b| (len << 8) | usize::from(b));
                // DER: the shortest form (no leading zero byte, long form from 128 on).
                if bytes.first() == Some(&0) || len < 0x80 {
                    return Err(format!("{what} has a length not in DER's shortest form"));
                }
                len
            }
            _ => return Err(format!("{what} has an indefinite or oversized length")),
        };
        let contents = rest.get(..len).ok_or_else(incomplete)?;
        self.0 = rest.get(len..).ok_or_else(incomplete)?;
        Ok((tag, contents))
    }

    /// Reads one TLV with tag `tag`: its contents.
    fn read(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        match self.any(what)? {
            (got, contents) if got == tag => Ok(contents),
            (got, _) => Err(format!("{what} has tag {got:#04x}; expected {tag:#04x}")),
        }
    }

    /// Reads a constructed TLV with tag `tag`: a reader over its contents.
    fn nested(&mut self, tag: u8, what: &str) -> Result<Der<'a>, String> {
        self.read(tag, what).map(Der)
    }

    /// Nothing may be left.
    fn finish(self, what: &str) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} unexpected bytes at the end of {what}",
                self.0.len()
            ))
        }
    }

    /// BOOLEAN: one byte, 0x00 or 0xFF.
    fn boolean(&mut self, what: &str) -> Result<bool, String> {
        match self.read(BOOLEAN, what)? {
            [0x00] => Ok(false),
            [0xff] => Ok(true),
            other => Err(format!(
                "{what} is not a DER BOOLEAN ({})",
                bounded(&hex::encode(other))
            )),
        }
    }

    /// A BOOLEAN DEFAULT FALSE: FALSE when absent.
    fn optional_boolean(&mut self, what: &str) -> Result<bool, String> {
        if self.next_is(BOOLEAN) {
            self.boolean(what)
        } else {
            Ok(false)
        }
    }

    /// INTEGER in its shortest two's-complement form: the contents.
    fn integer(&mut self, what: &str) -> Result<&'a [u8], String> {
        let bytes = self.read(INTEGER, what)?;
        match bytes {
            [] => Err(format!("{what} is an empty INTEGER")),
            [0x00, next, ..] if next & 0x80 == 0 => Err(format!("{what} is not minimally encoded")),
            [0xff, next, ..] if next & 0x80 != 0 => Err(format!("{what} is not minimally encoded")),
            _ => Ok(bytes),
        }
    }

    /// A non-negative INTEGER that fits in a `u32`.
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let bytes = self.integer(what)?;
        let magnitude = match bytes {
            [first, ..] if first & 0x80 != 0 => return Err(format!("{what} is negative")),
            [0x00, rest @ ..] => rest,
            _ => bytes,
        };
        if magnitude.len() > 4 {
            return Err(format!("{what} is larger than 2^32 - 1"));
        }
        Ok(magnitude.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
    }

    /// OBJECT IDENTIFIER, each sub-identifier in its shortest form.
    fn oid(&mut self, what: &str) -> Result<Oid<'a>, String> {
        let bytes = self.read(OID, what)?;
        let mut start = true;
        for &byte in bytes {
            if start && byte == 0x80 {
                return Err(format!(
                    "{what} has a sub-identifier not in its shortest form"
                ));
            }
            start = byte & 0x80 == 0;
        }
        if !start || bytes.is_empty() {
            return Err(format!("{what} is not a complete OBJECT IDENTIFIER"));
        }
        Ok(Oid(bytes))
    }

    /// BIT STRING in DER (unused bits at most 7 and zero): (unused bits, bytes).
    fn bit_string(&mut self, what: &str) -> Result<(u8, &'a [u8]), String> {
        let contents = self.read(BIT_STRING, what)?;
        bit_string_contents(contents, what)
    }
}

/// Checks a BIT STRING's contents: (unused bits, bytes).
fn bit_string_contents<'a>(contents: &'a [u8], what: &str) -> Result<(u8, &'a [u8]), String> {
    let (&unused, bytes) = contents
        .split_first()
        .ok_or_else(|| format!("{what} is an empty BIT STRING"))?;
    let canonical = match bytes.last() {
        None => unused == 0,
        Some(&last) => unused <= 7 && last & ((1u8 << unused) - 1) == 0,
    };
    if !canonical {
        return Err(format!(
            "{what} is not a DER BIT STRING ({unused} unused bits)"
        ));
    }
    Ok((unused, bytes))
}

/// TBSCertificate (RFC 5280 §4.1).
fn tbs_certificate(mut tbs: Der<'_>) -> Result<Certificate<'_>, String> {
    // version [0] EXPLICIT Version DEFAULT v1: v1, v2 or v3 (0, 1, 2).
    if tbs.next_is(0xa0) {
        let mut explicit = tbs.nested(0xa0, "version")?;
        let version = explicit.u32("version")?;
        explicit.finish("version")?;
        if version > 2 {
            return Err(format!(
                "version field {version}; expected 0, 1 or 2 (v1, v2 or v3)"
            ));
        }
    }
    // Any INTEGER: RFC 5280 asks for a positive one, real CAs vary.
    tbs.integer("serialNumber")?;
    algorithm_identifier(&mut tbs, "signature")?;
    let issuer = name(&mut tbs, "issuer")?;
    let mut validity = tbs.nested(SEQUENCE, "validity")?;
    let not_before = time(&mut validity, "notBefore")?;
    let not_after = time(&mut validity, "notAfter")?;
    validity.finish("validity")?;
    let subject = name(&mut tbs, "subject")?;
    let mut spki = tbs.nested(SEQUENCE, "subjectPublicKeyInfo")?;
    let (key_algorithm, key_parameters) = algorithm_identifier(&mut spki, "the key's algorithm")?;
    let (unused, public_key) = spki.bit_string("subjectPublicKey")?;
    spki.finish("subjectPublicKeyInfo")?;
    if unused != 0 {
        return Err(format!("subjectPublicKey has {unused} unused bits"));
    }
    // issuerUniqueID [1] IMPLICIT BIT STRING, subjectUniqueID [2]: checked, not used.
    for (tag, what) in [(0x81, "issuerUniqueID"), (0x82, "subjectUniqueID")] {
        if tbs.next_is(tag) {
            bit_string_contents(tbs.read(tag, what)?, what)?;
        }
    }
    let mut basic_constraints = None;
    let mut key_usage = None;
    let mut subject_key_id = None;
    let mut authority_key_id = None;
    if tbs.next_is(0xa3) {
        let mut explicit = tbs.nested(0xa3, "extensions")?;
        let mut extensions = explicit.nested(SEQUENCE, "extensions")?;
        explicit.finish("extensions")?;
        if extensions.0.is_empty() {
            return Err("extensions is an empty SEQUENCE".into());
        }
        let mut seen: Vec<Oid<'_>> = Vec::new();
        while !extensions.0.is_empty() {
            // Each extension is compared with those before it: bounded, so that a crafted
            // certificate (a trusted root comes from a descriptor of any size) cannot make
            // that quadratic. Real certificates carry fewer than ten.
            if seen.len() == MAX_EXTENSIONS {
                return Err(format!("more than {MAX_EXTENSIONS} extensions"));
            }
            let mut extension = extensions.nested(SEQUENCE, "an extension")?;
            let oid = extension.oid("extnID")?;
            let critical = extension.optional_boolean("critical")?;
            let value = extension.read(OCTET_STRING, "extnValue")?;
            extension.finish("an extension")?;
            if seen.contains(&oid) {
                return Err(format!("extension {oid} is present twice"));
            }
            seen.push(oid);
            if oid.as_bytes() == OID_BASIC_CONSTRAINTS {
                let value = basic_constraints_value(value)
                    .map_err(|reason| format!("basicConstraints: {reason}"))?;
                basic_constraints = Some(Extension { critical, value });
            } else if oid.as_bytes() == OID_KEY_USAGE {
                let value =
                    key_usage_value(value).map_err(|reason| format!("keyUsage: {reason}"))?;
                key_usage = Some(Extension { critical, value });
            } else if oid.as_bytes() == OID_SUBJECT_KEY_ID {
                subject_key_id = Some(
                    subject_key_id_value(value)
                        .map_err(|reason| format!("subjectKeyIdentifier: {reason}"))?,
                );
            } else if oid.as_bytes() == OID_AUTHORITY_KEY_ID {
                authority_key_id = authority_key_id_value(value)
                    .map_err(|reason| format!("authorityKeyIdentifier: {reason}"))?;
            }
        }
    }
    tbs.finish("TBSCertificate")?;
    Ok(Certificate {
        issuer,
        subject,
        not_before,
        not_after,
        basic_constraints,
        key_usage,
        subject_key_id,
        authority_key_id,
        key_algorithm,
        key_parameters,
        public_key,
    })
}

/// `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }`.
fn basic_constraints_value(value: &[u8]) -> Result<BasicConstraints, String> {
    let mut outer = Der(value);
    let mut seq = outer.nested(SEQUENCE, "BasicConstraints")?;
    outer.finish("the extension value")?;
    let ca = seq.optional_boolean("cA")?;
    let path_len = if seq.0.is_empty() {
        None
    } else {
        Some(seq.u32("pathLenConstraint")?)
    };
    seq.finish("BasicConstraints")?;
    Ok(BasicConstraints { ca, path_len })
}

/// `KeyUsage ::= BIT STRING`.
fn key_usage_value(value: &[u8]) -> Result<KeyUsage, String> {
    let mut outer = Der(value);
    let (unused, bytes) = outer.bit_string("KeyUsage")?;
    outer.finish("the extension value")?;
    let bits = bytes.len() * 8 - usize::from(unused);
    let bit = |i: usize| i < bits && bytes.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
    Ok(KeyUsage {
        digital_signature: bit(0),
        key_cert_sign: bit(5),
    })
}

/// `SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING`: the identifier.
fn subject_key_id_value(value: &[u8]) -> Result<&[u8], String> {
    let mut outer = Der(value);
    let id = outer.read(OCTET_STRING, "SubjectKeyIdentifier")?;
    outer.finish("the extension value")?;
    Ok(id)
}

/// `AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] KeyIdentifier OPTIONAL,
/// authorityCertIssuer [1] GeneralNames OPTIONAL, authorityCertSerialNumber [2]
/// CertificateSerialNumber OPTIONAL }` (implicit tags): the keyIdentifier, if any. The
/// other two are read as elements of their tags, in order, and not used.
fn authority_key_id_value(value: &[u8]) -> Result<Option<&[u8]>, String> {
    let mut outer = Der(value);
    let mut seq = outer.nested(SEQUENCE, "AuthorityKeyIdentifier")?;
    outer.finish("the extension value")?;
    let key_id = if seq.next_is(0x80) {
        Some(seq.read(0x80, "keyIdentifier")?)
    } else {
        None
    };
    if seq.next_is(0xa1) {
        seq.read(0xa1, "authorityCertIssuer")?;
    }
    if seq.next_is(0x82) {
        seq.read(0x82, "authorityCertSerialNumber")?;
    }
    seq.finish("AuthorityKeyIdentifier")?;
    Ok(key_id)
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`.
fn algorithm_identifier<'a>(
    input: &mut Der<'a>,
    what: &str,
) -> Result<(Oid<'a>, Option<Tlv<'a>>), String> {
    let mut seq = input.nested(SEQUENCE, what)?;
    let algorithm = seq.oid(what)?;
    let parameters = if seq.0.is_empty() {
        None
    } else {
        Some(seq.any(what)?)
    };
    seq.finish(what)?;
    Ok((algorithm, parameters))
}

/// `Name ::= SEQUENCE OF SET SIZE (1..MAX) OF SEQUENCE { type OBJECT IDENTIFIER, value ANY }`:
/// the contents of the SEQUENCE, checked.
fn name<'a>(input: &mut Der<'a>, what: &str) -> Result<&'a [u8], String> {
    let contents = input.read(SEQUENCE, what)?;
    let mut rdns = Der(contents);
    while !rdns.0.is_empty() {
        let mut set = rdns.nested(SET, what)?;
        if set.0.is_empty() {
            return Err(format!("{what} has an empty relative distinguished name"));
        }
        while !set.0.is_empty() {
            let mut attribute = set.nested(SEQUENCE, what)?;
            attribute.oid(what)?;
            attribute.any(what)?;
            attribute.finish(what)?;
        }
    }
    Ok(contents)
}

/// `Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }` in DER
/// (`YYMMDDHHMMSSZ`, years 1950-2049, or `YYYYMMDDHHMMSSZ`), as Unix seconds.
fn time(input: &mut Der<'_>, what: &str) -> Result<i64, String> {
    let (tag, text) = input.any(what)?;
    let bad = || {
        format!(
            "{what} is not a DER time ({:?})",
            bounded(&String::from_utf8_lossy(text))
        )
    };
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(text.get(..2)).ok_or_else(bad)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..))
        }
        (GENERALIZED_TIME, 15) => (digits(text.get(..4)).ok_or_else(bad)?, text.get(4..)),
        (UTC_TIME | GENERALIZED_TIME, _) => return Err(bad()),
        (other, _) => {
            return Err(format!(
                "{what} has tag {other:#04x}; expected UTCTime or GeneralizedTime"
            ));
        }
    };
    let rest = rest.ok_or_else(bad)?;
    let field = |i: usize| digits(rest.get(i..i + 2)).ok_or_else(bad);
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if rest.get(10) != Some(&b'Z')
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// ASCII decimal digits as a number.
fn digits(text: Option<&[u8]>) -> Option<i64> {
    text.filter(|t| !t.is_empty())?
        .iter()
        .try_fold(0i64, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
        })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn time_of(tag: u8, text: &str) -> Result<i64, String> {
        let mut tlv = vec![tag, text.len() as u8];
        tlv.extend_from_slice(text.as_bytes());
        time(&mut Der(&tlv), "t")
    }

    #[test]
    fn times() {
        assert_eq!(time_of(UTC_TIME, "700101000000Z"), Ok(0));
        assert_eq!(time_of(UTC_TIME, "491231235959Z"), Ok(2_524_607_999));
        assert_eq!(time_of(UTC_TIME, "500101000000Z"), Ok(-631_152_000));
        assert_eq!(
            time_of(GENERALIZED_TIME, "20240229120000Z"),
            Ok(1_709_208_000)
        );
        assert_eq!(
            time_of(GENERALIZED_TIME, "21060207062816Z"),
            Ok(4_294_967_296)
        );
        for (tag, bad) in [
            (UTC_TIME, "230229000000Z"),
            (UTC_TIME, "231301000000Z"),
            (UTC_TIME, "230101240000Z"),
            (UTC_TIME, "230101000060Z"),
            (UTC_TIME, "2301010000Z"),
            (UTC_TIME, "230101000000+0000"),
            (UTC_TIME, "23010100000 Z"),
            (GENERALIZED_TIME, "20230101000000.5Z"),
            (GENERALIZED_TIME, "230101000000Z"),
            (OCTET_STRING, "230101000000Z"),
        ] {
            assert!(time_of(tag, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_integers_oids_and_bit_strings() {
        // Long form for a length under 128, a leading zero, indefinite.
        for bad in [
            &[0x04, 0x81, 0x01, 0x00][..],
            &[0x04, 0x82, 0x00, 0x80],
            &[0x04, 0x80],
        ] {
            assert!(Der(bad).any("x").is_err(), "{bad:02x?}");
        }
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0; 0x80]);
        assert_eq!(
            Der(&long).read(OCTET_STRING, "x").map(<[u8]>::len),
            Ok(0x80)
        );
        assert_eq!(Der(&[0x02, 0x01, 0x00]).u32("x"), Ok(0));
        assert_eq!(Der(&[0x02, 0x02, 0x00, 0x80]).u32("x"), Ok(128));
        assert_eq!(
            Der(&[0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff]).u32("x"),
            Ok(u32::MAX)
        );
        for bad in [
            &[0x02, 0x00][..],
            &[0x02, 0x02, 0x00, 0x7f],
            &[0x02, 0x02, 0xff, 0x80],
            &[0x02, 0x01, 0x80],
            &[0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00],
        ] {
            assert!(Der(bad).u32("x").is_err(), "{bad:02x?}");
        }
        let oid = Der(&[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01])
            .oid("x")
            .unwrap();
        assert_eq!(oid.to_string(), "1.2.840.10045.2.1");
        assert_eq!(
            Der(&[0x06, 0x03, 0x88, 0x37, 0x03])
                .oid("x")
                .unwrap()
                .to_string(),
            "2.999.3"
        );
        for bad in [
            &[0x06, 0x00][..],
            &[0x06, 0x02, 0x2a, 0x86],
            &[0x06, 0x02, 0x80, 0x01],
        ] {
            assert!(Der(bad).oid("x").is_err(), "{bad:02x?}");
        }
        assert_eq!(
            Der(&[0x03, 0x02, 0x07, 0x80]).bit_string("x"),
            Ok((7, &[0x80][..]))
        );
        for bad in [
            &[0x03, 0x00][..],
            &[0x03, 0x01, 0x01],
            &[0x03, 0x02, 0x08, 0x00],
            &[0x03, 0x02, 0x01, 0x01],
        ] {
            assert!(Der(bad).bit_string("x").is_err(), "{bad:02x?}");
        }
        assert!(Der(&[0x1f, 0x01, 0x00]).any("x").is_err());
    }

    #[test]
    fn key_identifiers() {
        let id = [0xab; 20];
        let mut ski = vec![0x04, 20];
        ski.extend(id);
        assert_eq!(subject_key_id_value(&ski), Ok(&id[..]));
        assert!(subject_key_id_value(&[0x30, 0x00]).is_err());
        let mut aki = vec![0x30, 22, 0x80, 20];
        aki.extend(id);
        assert_eq!(authority_key_id_value(&aki), Ok(Some(&id[..])));
        assert_eq!(authority_key_id_value(&[0x30, 0x00]), Ok(None));
        // issuer and serial only; out of order; something else inside.
        assert_eq!(
            authority_key_id_value(&[0x30, 0x05, 0xa1, 0x00, 0x82, 0x01, 0x01]),
            Ok(None)
        );
        assert!(authority_key_id_value(&[0x30, 0x05, 0x82, 0x01, 0x01, 0x80, 0x00]).is_err());
        assert!(authority_key_id_value(&[0x30, 0x03, 0x04, 0x01, 0x00]).is_err());
        assert!(authority_key_id_value(&[0x30, 0x00, 0x00]).is_err());
    }

    /// Issue #18 (fuzz/benches/scaling.rs): a megabyte of distinct extensions took
    /// quadratic time in the duplicate check; past 64 the certificate is refused.
    #[test]
    fn many_extensions_are_refused_not_compared_pairwise() {
        let tlv = |tag: u8, contents: &[u8]| {
            let mut out = vec![tag];
            let len = contents.len();
            if len < 0x80 {
                out.push(len as u8);
            } else {
                out.extend([0x82, (len >> 8) as u8, len as u8]);
            }
            out.extend_from_slice(contents);
            out
        };
        let extensions = |n: u8| -> Vec<u8> {
            let exts: Vec<u8> = (0..n)
                .flat_map(|i| {
                    tlv(
                        SEQUENCE,
                        &[tlv(OID, &[0x2a, i]), tlv(OCTET_STRING, &[])].concat(),
                    )
                })
                .collect();
            tlv(0xa3, &tlv(SEQUENCE, &exts))
        };
        let alg = tlv(
            SEQUENCE,
            &tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]),
        );
        let name = tlv(
            SEQUENCE,
            &tlv(
                SET,
                &tlv(
                    SEQUENCE,
                    &[tlv(OID, &[0x55, 4, 3]), tlv(0x0c, b"x")].concat(),
                ),
            ),
        );
        let time = tlv(UTC_TIME, b"250101000000Z");
        let spki = tlv(
            SEQUENCE,
            &[
                tlv(SEQUENCE, &tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 2, 1])),
                tlv(BIT_STRING, &[0, 4]),
            ]
            .concat(),
        );
        let cert = |n: u8| {
            let tbs = [
                tlv(0xa0, &tlv(INTEGER, &[2])),
                tlv(INTEGER, &[1]),
                alg.clone(),
                name.clone(),
                tlv(SEQUENCE, &[time.clone(), time.clone()].concat()),
                name.clone(),
                spki.clone(),
                extensions(n),
            ]
            .concat();
            tlv(
                SEQUENCE,
                &[tlv(SEQUENCE, &tbs), alg.clone(), tlv(BIT_STRING, &[0])].concat(),
            )
        };
        assert!(parse(&cert(64)).is_ok());
        assert_eq!(parse(&cert(65)).unwrap_err(), "more than 64 extensions");
    }

    /// A crafted certificate cannot make a long reason: what a reason quotes is bounded.
    #[test]
    fn reasons_quote_input_boundedly() {
        let mut long_time = vec![UTC_TIME, 0x82, 0x10, 0x00];
        long_time.extend([b'9'; 0x1000]);
        let err = time(&mut Der(&long_time), "notBefore").unwrap_err();
        assert!(err.len() < 200, "{} bytes: {err}", err.len());
        assert!(err.ends_with("…(4096 bytes)\")"), "{err}");
        let mut long_oid = vec![0x2a];
        long_oid.extend([0x01; 0x1000]);
        let shown = Oid(&long_oid).to_string();
        assert!(shown.len() < 150, "{shown}");
        assert!(shown.starts_with("1.2.1.1."), "{shown}");
        let mut long_bool = vec![BOOLEAN, 0x82, 0x10, 0x00];
        long_bool.extend([0x01; 0x1000]);
        let err = Der(&long_bool).boolean("cA").unwrap_err();
        assert!(err.len() < 200, "{err}");
    }
}
