//! `nsm/cbor.rs` (the strict walker) and `nsm/item.rs` (the payload's item decoder)
//! against `ciborium`, and the COSE_Sign1 envelope reader against `coset`, on the real
//! NSM documents, their payloads and the conformance batches, and on thousands of
//! deterministic mutations of them.
//!
//! Where both read an input, they must read the same values and fields. Where ours
//! refuses what the crate reads, ours is stricter on purpose: each reason is a row of
//! [`PAYLOAD_STRICTER`] or [`ENVELOPE_STRICTER`], listed in docs/DECISIONS.md
//! ("Differential tests: where our readers are stricter"); any other difference fails.
//! Ours never reads what the crate refuses.

use ciborium::value::Value;
use coset::{CborSerializable as _, CoseSign1, TaggedCborSerializable as _};
use verifier_core::fuzzing::{CborItem, cbor_check, cbor_item, cose_sign1};
use verifier_core::nsm::{CborIssue, CborPart, NsmError, NsmLimits};
use zipchain_fuzz::differential::Tally;
use zipchain_fuzz::{mutate, seeds};

/// Why ours refuses a payload `ciborium` reads; rows of the DECISIONS.md table.
const PAYLOAD_STRICTER: &[&str] = &[
    "tag in the payload (its CDDL has none)",
    "nesting deeper than the budget (8)",
    "bytes after the item",
    "two-byte simple value below 32",
];

/// Why ours refuses an envelope `coset` reads; rows of the DECISIONS.md table.
const ENVELOPE_STRICTER: &[&str] = &[
    "indefinite length in the envelope",
    "a head not in its shortest form in the envelope",
    "nesting deeper than the budget (8)",
    "bytes after the item",
    "a tag other than 18",
    "protected header other than {1: -35}",
    "unprotected header not empty",
    "detached (nil) payload",
    "payload empty or over 16384 bytes",
    "signature not 96 bytes",
    "two-byte simple value below 32",
];

/// The category of a walker error.
fn walker_reason(e: &NsmError) -> &'static str {
    match e {
        NsmError::Cbor { issue, .. } => match issue {
            CborIssue::Tag { .. } => "tag in the payload (its CDDL has none)",
            CborIssue::TooDeep { .. } => "nesting deeper than the budget (8)",
            CborIssue::IndefiniteLength { .. } => "indefinite length in the envelope",
            CborIssue::NonMinimalHead { .. } => "a head not in its shortest form in the envelope",
            CborIssue::BadSimpleValue { .. } => "two-byte simple value below 32",
            _ => "other",
        },
        NsmError::TrailingData { .. } => "bytes after the item",
        NsmError::UnexpectedTag { .. } => "a tag other than 18",
        _ => "other",
    }
}

/// `ciborium`'s value as ours names it.
fn from_ciborium(v: Value) -> CborItem {
    match v {
        Value::Integer(i) => CborItem::Integer(i128::from(i)),
        Value::Bytes(b) => CborItem::Bytes(b),
        Value::Float(_) => CborItem::Float,
        Value::Text(t) => CborItem::Text(t),
        Value::Bool(_) => CborItem::Bool,
        Value::Null => CborItem::Null,
        Value::Tag(..) => CborItem::Tag,
        Value::Array(a) => CborItem::Array(a.into_iter().map(from_ciborium).collect()),
        Value::Map(m) => CborItem::Map(
            m.into_iter()
                .map(|(k, v)| (from_ciborium(k), from_ciborium(v)))
                .collect(),
        ),
        _ => CborItem::Simple,
    }
}

/// One item read by `ciborium`, which must fill the input.
fn ciborium_item(bytes: &[u8]) -> Result<CborItem, String> {
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader(&mut reader).map_err(|e| e.to_string())?;
    if !reader.is_empty() {
        return Err(format!("{} bytes after the item", reader.len()));
    }
    Ok(from_ciborium(value))
}

/// The inputs: seeds of the `cbor` target (documents, payloads, batches), their
/// mutations, and their CBOR length-field edits ([`head_edits`]).
fn inputs(per_seed: usize) -> Vec<Vec<u8>> {
    let corpora = seeds::from_vectors();
    let seeds: Vec<&[u8]> = corpora["cbor"].iter().map(|(_, b)| b.as_slice()).collect();
    let mut out: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_vec()).collect();
    for seed in &seeds {
        out.extend(mutate::mutations(seed, &seeds, per_seed));
        out.extend(head_edits(seed));
    }
    // The envelope tagged 18 and with another tag, and as an indefinite-length array.
    for seed in seeds.iter().filter(|s| s.first() == Some(&0x84)) {
        out.push([&[0xd2][..], seed].concat());
        out.push([&[0xd8, 0x13][..], seed].concat());
        out.push([&[0x9f][..], &seed[1..], &[0xff]].concat());
    }
    out
}

/// Each CBOR head of `bytes` (at most 64 of them) rewritten with its argument one size
/// wider (`0x41 x` as `0x58 0x01 x`, …): the same item in a form that is not the
/// shortest, which RFC 8949 §4.2.1 calls not preferred.
fn head_edits(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() && out.len() < 64 {
        let initial = bytes[at];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let (arg_len, argument) = match info {
            0..=23 => (0, u64::from(info)),
            24..=27 => {
                let n = 1usize << (info - 24);
                let Some(arg) = bytes.get(at + 1..at + 1 + n) else {
                    break;
                };
                (n, arg.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)))
            }
            _ => {
                at += 1;
                continue;
            }
        };
        if info < 27 && major != 7 {
            let (wider_info, width) = match info {
                0..=23 => (24u8, 1usize),
                24 => (25, 2),
                25 => (26, 4),
                _ => (27, 8),
            };
            let mut edited = bytes[..at].to_vec();
            edited.push((major << 5) | wider_info);
            edited.extend_from_slice(&argument.to_be_bytes()[8 - width..]);
            edited.extend_from_slice(&bytes[at + 1 + arg_len..]);
            out.push(edited);
        }
        // Step into the item: over a string's bytes, into anything else.
        at += 1 + arg_len;
        if matches!(major, 2 | 3) {
            at += usize::try_from(argument)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
        }
    }
    out
}

#[test]
fn payload_reader_agrees_with_ciborium_or_is_stricter_on_purpose() {
    let depth = NsmLimits::default().max_cbor_depth;
    let rows: Vec<(&str, &str)> = PAYLOAD_STRICTER.iter().map(|r| (*r, *r)).collect();
    let mut tally = Tally::new("ciborium");
    for bytes in &inputs(80) {
        let ours = cbor_check(bytes, CborPart::Payload, depth)
            .map_err(|e| walker_reason(&e).to_owned())
            .and_then(|()| cbor_item(bytes).map_err(str::to_owned));
        tally.record(bytes, ours, ciborium_item(bytes), &rows);
    }
    tally.print();
    assert!(tally.inputs >= 5000 && tally.both > 0);
}

/// A COSE_Sign1's protected header bytes, payload and signature.
type Envelope = (Vec<u8>, Vec<u8>, Vec<u8>);

/// What the NSM envelope reader accepts (`parse_envelope`'s rules), as coset's fields.
fn ours_envelope(bytes: &[u8], depth: usize) -> Result<Envelope, String> {
    let s = cose_sign1(bytes, depth).map_err(|e| match e {
        NsmError::Cose { reason } => reason,
        e => walker_reason(&e).to_owned(),
    })?;
    if s.protected != [0xa1, 0x01, 0x38, 0x22] {
        return Err("protected header other than {1: -35}".into());
    }
    if s.unprotected_entries != 0 {
        return Err("unprotected header not empty".into());
    }
    if s.signature.len() != 96 {
        return Err("signature not 96 bytes".into());
    }
    let payload = s.payload.ok_or("detached (nil) payload")?;
    if payload.is_empty() || payload.len() > 16384 {
        return Err("payload empty or over 16384 bytes".into());
    }
    Ok((s.protected, payload, s.signature))
}

/// coset's reading, tagged (18) or not, of a whole COSE_Sign1.
fn coset_envelope(bytes: &[u8]) -> Result<Envelope, String> {
    let sign1 = CoseSign1::from_slice(bytes)
        .or_else(|_| CoseSign1::from_tagged_slice(bytes))
        .map_err(|e| format!("{e:?}"))?;
    Ok((
        sign1.protected.original_data.unwrap_or_default(),
        sign1.payload.unwrap_or_default(),
        sign1.signature,
    ))
}

#[test]
fn envelope_reader_agrees_with_coset_or_is_stricter_on_purpose() {
    let depth = NsmLimits::default().max_cbor_depth;
    let rows: Vec<(&str, &str)> = ENVELOPE_STRICTER.iter().map(|r| (*r, *r)).collect();
    let mut tally = Tally::new("coset");
    for bytes in &inputs(80) {
        tally.record(
            bytes,
            ours_envelope(bytes, depth),
            coset_envelope(bytes),
            &rows,
        );
    }
    tally.print();
    assert!(tally.inputs >= 5000 && tally.both > 0);
}
