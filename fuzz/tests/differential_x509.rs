//! `nsm/x509.rs` against `x509-parser` (and webpki's certificate parse, where they
//! overlap) on the real certificates of the vectors and on thousands of deterministic
//! mutations of them (bit flips, truncations, splices, length and tag bytes edited).
//!
//! Where both read a certificate, every field the NSM chain checks must be the same.
//! Where ours refuses what `x509-parser` reads, ours is stricter on purpose: each
//! reason is one of [`STRICTER`], listed in docs/DECISIONS.md ("Differential tests: where
//! our readers are stricter"); any other difference fails the test. Ours never reads
//! what `x509-parser` refuses.

use rustls_pki_types::CertificateDer;
use verifier_core::fuzzing::{X509Fields, x509_fields};
use x509_parser::nom::Parser as _;
use x509_parser::prelude::{FromDer, X509CertificateParser};
use zipchain_fuzz::differential::Tally;
use zipchain_fuzz::{mutate, seeds};

/// Reasons of ours, by a fragment of their text, for refusing what `x509-parser` reads;
/// each a row of the DECISIONS.md table.
const STRICTER: &[(&str, &str)] = &[
    ("shortest form", "DER lengths: shortest form only"),
    (
        "indefinite or oversized length",
        "DER lengths: no indefinite length, at most 4 length bytes",
    ),
    (
        "not minimally encoded",
        "INTEGER in its shortest two's-complement form",
    ),
    (
        "empty INTEGER",
        "INTEGER in its shortest two's-complement form",
    ),
    ("not a DER BOOLEAN", "BOOLEAN is 0x00 or 0xFF"),
    (
        "not a DER time",
        "times: UTCTime/GeneralizedTime with seconds and Z, real dates",
    ),
    ("present twice", "an extension present twice"),
    ("extensions", "at most 64 extensions"),
    (
        "bytes after the certificate",
        "nothing after the certificate",
    ),
    (
        "unexpected bytes at the end",
        "nothing after a structure's last field",
    ),
    (
        "sub-identifier not in its shortest form",
        "OBJECT IDENTIFIER arcs in their shortest form",
    ),
    (
        "not a complete OBJECT IDENTIFIER",
        "OBJECT IDENTIFIER arcs in their shortest form",
    ),
    (
        "not a DER BIT STRING",
        "BIT STRING: unused bits at most 7 and zero",
    ),
    (
        "empty BIT STRING",
        "BIT STRING: unused bits at most 7 and zero",
    ),
    ("unused bits", "BIT STRING: unused bits at most 7 and zero"),
    (
        "extensions is an empty SEQUENCE",
        "extensions, when present, not empty",
    ),
    (
        "empty relative distinguished name",
        "no empty RDN in a Name",
    ),
    ("version field", "version v1, v2 or v3"),
    ("high tag number", "low tag numbers only"),
    (
        "expected UTCTime or GeneralizedTime",
        "tags exact: class and constructed bit too",
    ),
    ("; expected 0x", "tags exact: class and constructed bit too"),
    (
        "basicConstraints:",
        "basicConstraints, keyUsage and key identifiers decoded strictly",
    ),
    (
        "keyUsage:",
        "basicConstraints, keyUsage and key identifiers decoded strictly",
    ),
    (
        "subjectKeyIdentifier:",
        "basicConstraints, keyUsage and key identifiers decoded strictly",
    ),
    (
        "authorityKeyIdentifier:",
        "basicConstraints, keyUsage and key identifiers decoded strictly",
    ),
];

/// What `x509-parser` reads of the fields ours returns; its reason when it refuses the
/// certificate, leaves bytes after it, or refuses one of the four extensions ours
/// decodes. Like ours, it leaves the other extensions undecoded (webpki decides on them).
fn theirs(der: &[u8]) -> Result<X509Fields, String> {
    use x509_parser::extensions::{
        AuthorityKeyIdentifier, BasicConstraints, KeyIdentifier, KeyUsage,
    };
    use x509_parser::oid_registry::{
        OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER, OID_X509_EXT_BASIC_CONSTRAINTS,
        OID_X509_EXT_KEY_USAGE, OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
    };
    let (rest, cert) = X509CertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(der)
        .map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the certificate", rest.len()));
    }
    let name_contents = |raw: &[u8]| -> Result<Vec<u8>, String> {
        let (_, any) =
            x509_parser::der_parser::asn1_rs::Any::from_der(raw).map_err(|e| e.to_string())?;
        Ok(any.data.to_vec())
    };
    /// The value of an extension read whole, or why not.
    fn whole<'a, T: FromDer<'a, x509_parser::error::X509Error>>(
        value: &'a [u8],
    ) -> Result<T, String> {
        match T::from_der(value) {
            Ok(([], t)) => Ok(t),
            Ok((rest, _)) => Err(format!("{} bytes after an extension's value", rest.len())),
            Err(e) => Err(e.to_string()),
        }
    }
    let (mut bc, mut ku, mut ski, mut aki) = (None, None, None, None);
    let mut seen = Vec::new();
    for ext in cert.extensions() {
        if seen.contains(&ext.oid) {
            return Err(format!("extension {} twice", ext.oid));
        }
        seen.push(ext.oid.clone());
        if ext.oid == OID_X509_EXT_BASIC_CONSTRAINTS {
            let v: BasicConstraints = whole(ext.value)?;
            bc = Some((ext.critical, v.ca, v.path_len_constraint));
        } else if ext.oid == OID_X509_EXT_KEY_USAGE {
            let v: KeyUsage = whole(ext.value)?;
            ku = Some((ext.critical, v.digital_signature(), v.key_cert_sign()));
        } else if ext.oid == OID_X509_EXT_SUBJECT_KEY_IDENTIFIER {
            let v: KeyIdentifier = whole(ext.value)?;
            ski = Some(v.0.to_vec());
        } else if ext.oid == OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER {
            let v: AuthorityKeyIdentifier = whole(ext.value)?;
            aki = v.key_identifier.map(|id| id.0.to_vec());
        }
    }
    let spki = cert.public_key();
    Ok(X509Fields {
        issuer: name_contents(cert.issuer().as_raw())?,
        subject: name_contents(cert.subject().as_raw())?,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        basic_constraints: bc,
        key_usage: ku,
        subject_key_id: ski,
        authority_key_id: aki,
        key_algorithm: dotted(&spki.algorithm.algorithm),
        key_parameters: spki
            .algorithm
            .parameters
            .as_ref()
            .map(|p| (p.header.tag().0 as u8 | tag_class_bits(p), p.data.to_vec())),
        public_key: spki.subject_public_key.data.to_vec(),
    })
}

/// An OID dotted as `x509-parser` writes it, except where it is wrong: it reads the first
/// sub-identifier as one byte (`40 * X + Y`), so `2.688888` (first sub-identifier in
/// three bytes) comes out as `4.10.…`; that one X.690 §8.19.4 arc is decoded here.
fn dotted(oid: &x509_parser::der_parser::Oid<'_>) -> String {
    let bytes = oid.as_bytes();
    let first_len = bytes
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(bytes.len(), |i| i + 1);
    if first_len <= 1 {
        return oid.to_id_string();
    }
    let first = bytes[..first_len]
        .iter()
        .fold(0u64, |v, b| (v << 7) | u64::from(b & 0x7f));
    let (x, y) = if first < 80 {
        (first / 40, first % 40)
    } else {
        (2, first - 80)
    };
    let mut out = format!("{x}.{y}");
    let mut value = 0u64;
    for &b in &bytes[first_len..] {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            out.push_str(&format!(".{value}"));
            value = 0;
        }
    }
    out
}

/// The identifier octet's class and constructed bits of a parsed element.
fn tag_class_bits(any: &x509_parser::der_parser::asn1_rs::Any<'_>) -> u8 {
    ((any.header.class() as u8) << 6) | if any.header.is_constructed() { 0x20 } else { 0 }
}

#[test]
fn x509_reader_agrees_with_x509_parser_or_is_stricter_on_purpose() {
    let corpora = seeds::from_vectors();
    let certs: Vec<&[u8]> = corpora["x509"].iter().map(|(_, b)| b.as_slice()).collect();
    let mut inputs: Vec<Vec<u8>> = certs.iter().map(|c| c.to_vec()).collect();
    for cert in &certs {
        inputs.extend(mutate::mutations(cert, &certs, 40));
    }
    let mut tally = Tally::new("x509-parser");
    let (mut webpki_stricter, mut webpki_laxer) = (0, 0);
    for der in &inputs {
        let ours = x509_fields(der);
        let ours_read = ours.is_ok();
        tally.record(der, ours, theirs(der), STRICTER);
        // webpki parses every certificate of a path beside ours (nsm/chain.rs): counted,
        // not asserted, since a certificate must pass both.
        let webpki = webpki::EndEntityCert::try_from(&CertificateDer::from(der.as_slice())).is_ok();
        match (ours_read, webpki) {
            (true, false) => webpki_stricter += 1,
            (false, true) => webpki_laxer += 1,
            _ => {}
        }
    }
    tally.print();
    eprintln!(
        "webpki's parse refuses {webpki_stricter} ours reads (the chain check runs both), reads {webpki_laxer} ours refuses"
    );
    assert!(tally.inputs >= 5000, "{} inputs", tally.inputs);
    assert!(
        tally.both >= certs.len(),
        "the real certificates are read by both"
    );
}
