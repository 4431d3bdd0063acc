//! A strict CBOR well-formedness walker (RFC 8949 §3 and Appendix C).
//!
//! `ciborium` says nothing about nesting depth and takes what it is given, so
//! before any decoding the raw bytes of the document, and then of its payload, are
//! walked once here: every item must be well formed, the nesting no deeper than the
//! budget, and exactly one item must fill the input (no trailing bytes). The two
//! layers differ in what they may contain (SPEC §1.5):
//!
//! - the COSE_Sign1 **envelope** ([`CborPart::Document`]) has definite lengths only;
//! - the **payload** ([`CborPart::Payload`]) is read as the NSM wrote it: maps,
//!   arrays and strings of definite or indefinite length (AWS's NSM has written the
//!   outer map as `bf … ff` since September 2025), but no tags, which the NSM's
//!   CDDL has none of (a bignum-tagged `timestamp` would otherwise decode as an
//!   integer).
//!
//! An indefinite item counts as one level of nesting like any other, its chunks or
//! members one level below it, so `9f 9f 9f …` stops at the depth budget; a missing
//! `break` is truncated input; a `break` after a map key, or a string chunk that is
//! not a definite string of its parent's type, is ill-formed. The walk allocates
//! nothing and visits each byte at most once; every declared length is checked
//! against the bytes that remain before it is used, so a hostile length cannot make
//! it loop.

use core::fmt;

use super::NsmError;
use crate::cbor::{Head, HeadError};

/// Which of the two CBOR layers a [`CborIssue`] was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CborPart {
    /// The outer COSE_Sign1 structure.
    Document,
    /// The attestation payload (the byte string inside the COSE_Sign1).
    Payload,
}

impl fmt::Display for CborPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Document => "document",
            Self::Payload => "payload",
        })
    }
}

/// What made a CBOR item ill-formed or unacceptable (RFC 8949 Appendix C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CborIssue {
    /// The input ended inside an item.
    Truncated,
    /// An indefinite-length string, array or map (additional information 31) in
    /// the COSE_Sign1 envelope, which has definite lengths only.
    IndefiniteLength {
        /// The major type (2 byte string, 3 text, 4 array, 5 map).
        major: u8,
    },
    /// Additional information 28, 29 or 30, which RFC 8949 reserves.
    ReservedAdditionalInfo {
        /// The additional-information value found.
        info: u8,
    },
    /// A "break" stop code (`0xff`) outside an indefinite-length item, or additional
    /// information 31 on an integer or tag.
    UnexpectedBreak,
    /// A two-byte simple value below 32 (not well formed, RFC 8949 §3.3).
    BadSimpleValue {
        /// The simple value found.
        value: u8,
    },
    /// The items nest deeper than the budget allows.
    TooDeep {
        /// The maximum nesting depth ([`super::NsmLimits::max_cbor_depth`]).
        max: usize,
    },
    /// A "break" stop code after a key of an indefinite-length map, where its value
    /// belongs.
    BreakAfterKey,
    /// A chunk of an indefinite-length string that is not a definite-length string
    /// of the same major type (RFC 8949 §3.2.3).
    BadChunk {
        /// The major type of the string (2 byte string, 3 text).
        major: u8,
    },
    /// A tag (major type 6) in the payload, whose CDDL has none.
    Tag {
        /// The tag number.
        tag: u64,
    },
    /// A head in the COSE_Sign1 envelope whose argument has a shorter encoding
    /// (RFC 8949 §4.2.1): the NSM writes the shortest form, and a longer one would
    /// give the same signed document a second object key.
    NonMinimalHead {
        /// The argument that was written in more bytes than it needs.
        argument: u64,
    },
}

impl fmt::Display for CborIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ends inside an item"),
            Self::IndefiniteLength { major } => {
                write!(
                    f,
                    "indefinite length (major type {major}); expected a definite length"
                )
            }
            Self::ReservedAdditionalInfo { info } => {
                write!(f, "reserved additional information {info}")
            }
            Self::UnexpectedBreak => f.write_str("unexpected break stop code"),
            Self::BadSimpleValue { value } => {
                write!(f, "two-byte simple value {value}; expected 32 or more")
            }
            Self::TooDeep { max } => write!(f, "items nest deeper than {max} levels"),
            Self::BreakAfterKey => {
                f.write_str("break stop code after a map key; expected the key's value")
            }
            Self::BadChunk { major } => write!(
                f,
                "a chunk of an indefinite-length string of major type {major} is not a definite string of that type"
            ),
            Self::Tag { tag } => write!(f, "tag {tag}; the payload has no tags"),
            Self::NonMinimalHead { argument } => write!(
                f,
                "argument {argument} is not in its shortest form; the envelope is in preferred serialization"
            ),
        }
    }
}

/// Checks that `input` is exactly one well-formed CBOR item nested at most
/// `max_depth` levels deep (a scalar is depth 1), under the rules of its `part`
/// (the [module documentation](self)): definite lengths only in the envelope;
/// definite or indefinite lengths and no tags in the payload.
///
/// # Errors
/// [`NsmError::Cbor`] naming the first problem and its byte offset, or
/// [`NsmError::TrailingData`] when bytes follow the item.
pub(crate) fn check_strict(input: &[u8], part: CborPart, max_depth: usize) -> Result<(), NsmError> {
    let mut walker = Walker {
        input,
        pos: 0,
        max_depth,
        payload: part == CborPart::Payload,
    };
    walker.item(1).map_err(|(offset, issue)| NsmError::Cbor {
        part,
        offset,
        issue,
    })?;
    if walker.pos != input.len() {
        return Err(NsmError::TrailingData {
            part,
            item_len: walker.pos,
            total_len: input.len(),
        });
    }
    Ok(())
}

/// The four fields of a COSE_Sign1 (RFC 9052 §4.2), borrowed from the document.
#[derive(Debug)]
pub(crate) struct Sign1<'a> {
    /// The protected header's bytes, as signed.
    pub(crate) protected: &'a [u8],
    /// How many entries the unprotected header map has.
    pub(crate) unprotected_entries: u64,
    /// The payload, or `None` when it is `nil` (detached).
    pub(crate) payload: Option<&'a [u8]>,
    /// The signature.
    pub(crate) signature: &'a [u8],
}

/// Reads the COSE_Sign1 structure of a document that [`check_strict`] accepted:
/// an optional tag 18, then `[protected: bstr, unprotected: map, payload: bstr / nil,
/// signature: bstr]`. What the fields hold is checked by the caller.
///
/// # Errors
/// In words, the first field that is not of its COSE type (for [`NsmError::Cose`]).
pub(crate) fn sign1(input: &[u8]) -> Result<Sign1<'_>, String> {
    let mut walker = Walker {
        input,
        pos: 0,
        max_depth: usize::MAX,
        payload: false,
    };
    let mut outer = walker.head().ok();
    if let Some((6, Some(super::COSE_SIGN1_TAG))) = outer {
        outer = walker.head().ok();
    }
    if outer != Some((4, Some(4))) {
        return Err("expected an array of 4 items (COSE_Sign1)".into());
    }
    let protected = walker
        .byte_string()
        .ok_or("protected header: expected a byte string")?;
    let unprotected_entries = match walker.head().ok() {
        Some((5, Some(n))) => n,
        _ => return Err("unprotected header: expected a map".into()),
    };
    for _ in 0..unprotected_entries.saturating_mul(2) {
        walker
            .item(1)
            .map_err(|_| "unprotected header: an entry is not well formed")?;
    }
    let payload = if walker.input.get(walker.pos) == Some(&NIL) {
        walker.pos += 1;
        None
    } else {
        Some(
            walker
                .byte_string()
                .ok_or("payload: expected a byte string or nil")?,
        )
    };
    let signature = walker
        .byte_string()
        .ok_or("signature: expected a byte string")?;
    Ok(Sign1 {
        protected,
        unprotected_entries,
        payload,
        signature,
    })
}

/// CBOR `nil` (major type 7, simple value 22).
const NIL: u8 = 0xf6;

/// The `Sig_structure` a COSE_Sign1 signature covers (RFC 9052 §4.4), with empty
/// external data: `["Signature1", protected, h'', payload]`, shortest encoding.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    const CONTEXT: &[u8] = b"Signature1";
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 32);
    out.push(0x84);
    out.push(0x60 | CONTEXT.len() as u8);
    out.extend_from_slice(CONTEXT);
    for field in [protected, &[], payload] {
        crate::cbor::write_head(&mut out, 2, field.len() as u64);
        out.extend_from_slice(field);
    }
    out
}

/// The "break" stop code that ends an indefinite-length item.
const BREAK: u8 = 0xff;

struct Walker<'a> {
    input: &'a [u8],
    pos: usize,
    max_depth: usize,
    /// The payload's rules (indefinite lengths allowed, tags not) instead of the
    /// envelope's.
    payload: bool,
}

type WalkError = (usize, CborIssue);

impl<'a> Walker<'a> {
    fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn skip(&mut self, len: u64, at: usize) -> Result<(), WalkError> {
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => {
                self.pos += len;
                Ok(())
            }
            _ => Err((at, CborIssue::Truncated)),
        }
    }

    /// Reads a definite-length byte string; `None` when the next item is not one.
    fn byte_string(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let (2, Some(len)) = self.head().ok()? else {
            return None;
        };
        self.skip(len, start).ok()?;
        self.input.get(start..self.pos).and_then(|item| {
            let header = item.len().checked_sub(usize::try_from(len).ok()?)?;
            item.get(header..)
        })
    }

    /// Reads an initial byte and its argument; `None` means additional info 31.
    fn head(&mut self) -> Result<(u8, Option<u64>), WalkError> {
        self.read_head().map(|head| (head.major, head.argument))
    }

    /// Reads the next head whole.
    fn read_head(&mut self) -> Result<Head, WalkError> {
        let start = self.pos;
        let rest = self.input.get(start..).unwrap_or_default();
        let head = crate::cbor::read_head(rest).map_err(|e| match e {
            HeadError::Truncated { .. } => (start, CborIssue::Truncated),
            HeadError::Reserved { info } => (start, CborIssue::ReservedAdditionalInfo { info }),
        })?;
        self.pos += head.len;
        Ok(head)
    }

    fn item(&mut self, depth: usize) -> Result<(), WalkError> {
        let start = self.pos;
        if depth > self.max_depth {
            return Err((
                start,
                CborIssue::TooDeep {
                    max: self.max_depth,
                },
            ));
        }
        let head = self.read_head()?;
        let (major, arg) = (head.major, head.argument);
        if !self.payload && major != 7 && !head.is_shortest() {
            let argument = arg.unwrap_or_default();
            return Err((start, CborIssue::NonMinimalHead { argument }));
        }
        let Some(arg) = arg else {
            return match major {
                2..=5 if self.payload => self.indefinite(major, depth, start),
                2..=5 => Err((start, CborIssue::IndefiniteLength { major })),
                _ => Err((start, CborIssue::UnexpectedBreak)),
            };
        };
        match major {
            2 | 3 => self.skip(arg, start),
            4 | 5 => {
                let per_entry = if major == 5 { 2 } else { 1 };
                // Every item takes at least one byte: a count larger than what is left
                // is truncated input, found before looping over it.
                let needed = arg.checked_mul(per_entry);
                if needed.is_none_or(|n| n > self.remaining() as u64) {
                    return Err((start, CborIssue::Truncated));
                }
                for _ in 0..arg * per_entry {
                    self.item(depth + 1)?;
                }
                Ok(())
            }
            6 if self.payload => Err((start, CborIssue::Tag { tag: arg })),
            6 => self.item(depth + 1),
            7 if (self.pos - start) == 2 && arg < 32 => Err((
                start,
                CborIssue::BadSimpleValue {
                    value: u8::try_from(arg).unwrap_or(u8::MAX),
                },
            )),
            // Integers (0, 1), simple values and floats (7): the head was all of it.
            _ => Ok(()),
        }
    }

    /// The rest of an indefinite-length string, array or map whose head began at
    /// `start`: its chunks or members, one level below `depth`, up to and including
    /// the `break`. Each member takes at least one byte, so the loop ends with the
    /// input.
    fn indefinite(&mut self, major: u8, depth: usize, start: usize) -> Result<(), WalkError> {
        let mut members = 0usize;
        loop {
            let at = self.pos;
            match self.input.get(at) {
                None => return Err((start, CborIssue::Truncated)),
                Some(&BREAK) if major == 5 && members % 2 == 1 => {
                    return Err((at, CborIssue::BreakAfterKey));
                }
                Some(&BREAK) => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) if major <= 3 => {
                    if depth + 1 > self.max_depth {
                        return Err((
                            at,
                            CborIssue::TooDeep {
                                max: self.max_depth,
                            },
                        ));
                    }
                    match self.head()? {
                        (chunk, Some(len)) if chunk == major => self.skip(len, at)?,
                        _ => return Err((at, CborIssue::BadChunk { major })),
                    }
                }
                Some(_) => self.item(depth + 1)?,
            }
            members += 1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sig_structure_matches_coset() {
        use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, iana};
        for len in [0usize, 1, 23, 24, 255, 256, 65_535, 65_536] {
            let payload = vec![0x5a; len];
            let sign1 = CoseSign1Builder::new()
                .protected(
                    HeaderBuilder::new()
                        .algorithm(iana::Algorithm::ES384)
                        .build(),
                )
                .payload(payload.clone())
                .signature(vec![7; 96])
                .build();
            let bytes = sign1.clone().to_vec().unwrap();
            let read = sign1_of(&bytes).unwrap();
            assert_eq!(read.protected, &[0xa1, 0x01, 0x38, 0x22]);
            assert_eq!(read.unprotected_entries, 0);
            assert_eq!(read.payload, Some(payload.as_slice()));
            assert_eq!(read.signature, &[7; 96]);
            assert_eq!(
                sig_structure(read.protected, &payload),
                sign1.tbs_data(b""),
                "payload of {len} bytes"
            );
        }
    }

    #[test]
    fn sign1_reads_fields_by_type() {
        // Untagged and under tag 18; a nil payload; a non-empty unprotected map.
        let plain = [0x84, 0x41, 0xa0, 0xa1, 0x04, 0x41, 0x6b, 0xf6, 0x40];
        let read = sign1_of(&plain).unwrap();
        assert_eq!(read.protected, &[0xa0]);
        assert_eq!(read.unprotected_entries, 1);
        assert_eq!(read.payload, None);
        assert!(read.signature.is_empty());
        let mut tagged = vec![0xd2];
        tagged.extend_from_slice(&plain);
        assert_eq!(sign1_of(&tagged).unwrap().unprotected_entries, 1);
        // Wrong shapes: array of 3, map for the protected header, text payload,
        // null unprotected header, a second tag.
        for bad in [
            &[0x83, 0x40, 0xa0, 0x40][..],
            &[0x84, 0xa0, 0xa0, 0x40, 0x40],
            &[0x84, 0x40, 0xa0, 0x60, 0x40],
            &[0x84, 0x40, 0xf6, 0x40, 0x40],
            &[0xd2, 0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40],
        ] {
            assert!(sign1_of(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn envelope_heads_are_shortest_payload_heads_as_written() {
        // The same COSE_Sign1 with its array, protected header or signature length
        // written long: one signature, several object keys, so the envelope refuses.
        for (bad, offset, argument) in [
            (&[0x98, 0x04, 0x41, 0xa0, 0xa0, 0xf6, 0x40][..], 0, 4),
            (&[0x84, 0x58, 0x01, 0xa0, 0xa0, 0xf6, 0x40], 1, 1),
            (&[0x84, 0x41, 0xa0, 0xa0, 0xf6, 0x59, 0x00, 0x00], 5, 0),
            (&[0x84, 0x41, 0xa0, 0xb8, 0x00, 0xf6, 0x40], 3, 0),
            (&[0xd8, 0x12, 0x84, 0x41, 0xa0, 0xa0, 0xf6, 0x40], 0, 18),
        ] {
            let expected = (offset, CborIssue::NonMinimalHead { argument });
            assert_eq!(issue(bad), expected, "{bad:02x?}");
        }
        // Shortest forms at each boundary are accepted: 23 in the initial byte, 24 in
        // one byte, 256 in two.
        let mut long = vec![0x84, 0x41, 0xa0, 0xa0, 0xf6, 0x59, 0x01, 0x00];
        long.extend_from_slice(&[0; 256]);
        assert_eq!(check(&long), Ok(()));
        let mut mid = vec![0x84, 0x41, 0xa0, 0xa0, 0xf6, 0x58, 24];
        mid.extend_from_slice(&[0; 24]);
        assert_eq!(check(&mid), Ok(()));
        // The payload is signed as written: a long head there is the NSM's own choice.
        assert_eq!(
            check_strict(&[0x59, 0x00, 0x01, 0x00], CborPart::Payload, 4),
            Ok(())
        );
    }

    /// [`sign1`] after [`check_strict`], as `parse_envelope` calls them.
    fn sign1_of(bytes: &[u8]) -> Result<Sign1<'_>, String> {
        check(bytes).map_err(|e| e.to_string())?;
        sign1(bytes)
    }

    fn check(bytes: &[u8]) -> Result<(), NsmError> {
        check_strict(bytes, CborPart::Document, 4)
    }

    fn issue(bytes: &[u8]) -> (usize, CborIssue) {
        match check(bytes) {
            Err(NsmError::Cbor { offset, issue, .. }) => (offset, issue),
            other => panic!("expected a CBOR error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_definite_items() {
        for ok in [
            &[0x00][..],
            &[0x1b, 0, 0, 1, 0x91, 0xcc, 0xeb, 0x51, 0x59],
            &[0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x41, 0x00, 0x40],
            &[0xd2, 0x80],
            &[0xf6],
            &[0xf8, 0x20],
            &[0xfb, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0xa1, 0x61, 0x61, 0xf6],
        ] {
            assert_eq!(check(ok), Ok(()), "{ok:02x?}");
        }
    }

    #[test]
    fn rejects_indefinite_lengths() {
        assert_eq!(
            issue(&[0x9f, 0xff]),
            (0, CborIssue::IndefiniteLength { major: 4 })
        );
        assert_eq!(
            issue(&[0xbf, 0xff]),
            (0, CborIssue::IndefiniteLength { major: 5 })
        );
        assert_eq!(
            issue(&[0x81, 0x5f, 0x41, 0x00, 0xff]),
            (1, CborIssue::IndefiniteLength { major: 2 })
        );
        assert_eq!(
            issue(&[0x7f, 0xff]),
            (0, CborIssue::IndefiniteLength { major: 3 })
        );
    }

    #[test]
    fn rejects_ill_formed_items() {
        assert_eq!(issue(&[]), (0, CborIssue::Truncated));
        assert_eq!(issue(&[0x19, 0x01]), (0, CborIssue::Truncated));
        assert_eq!(issue(&[0x43, 0x00]), (0, CborIssue::Truncated));
        assert_eq!(issue(&[0x82, 0x00]), (0, CborIssue::Truncated));
        assert_eq!(issue(&[0x82, 0x81, 0x00]), (3, CborIssue::Truncated));
        assert_eq!(
            issue(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            (0, CborIssue::Truncated)
        );
        assert_eq!(
            issue(&[0x1c]),
            (0, CborIssue::ReservedAdditionalInfo { info: 28 })
        );
        assert_eq!(issue(&[0xff]), (0, CborIssue::UnexpectedBreak));
        assert_eq!(issue(&[0x1f]), (0, CborIssue::UnexpectedBreak));
        assert_eq!(
            issue(&[0xf8, 0x1f]),
            (0, CborIssue::BadSimpleValue { value: 31 })
        );
        assert_eq!(
            issue(&[0x81, 0x81, 0x81, 0x81, 0x00]),
            (4, CborIssue::TooDeep { max: 4 })
        );
        assert_eq!(check(&[0x81, 0x81, 0x81, 0x00]), Ok(()));
    }

    fn payload(bytes: &[u8]) -> Result<(), NsmError> {
        check_strict(bytes, CborPart::Payload, 4)
    }

    fn payload_issue(bytes: &[u8]) -> (usize, CborIssue) {
        match payload(bytes) {
            Err(NsmError::Cbor { offset, issue, .. }) => (offset, issue),
            other => panic!("expected a CBOR error, got {other:?}"),
        }
    }

    #[test]
    fn the_payload_takes_indefinite_lengths_at_any_depth() {
        for ok in [
            // {_ "a": 1}, as AWS's NSM writes the outer map since 2025-09.
            &[0xbf, 0x61, 0x61, 0x01, 0xff][..],
            &[0xbf, 0xff],
            &[0x9f, 0xff],
            // [_ [_ {_ }]]: three levels, each indefinite.
            &[0x9f, 0x9f, 0xbf, 0xff, 0xff, 0xff],
            // {_ "a": [_ 1, 2]}, and a definite map inside an indefinite one.
            &[0xbf, 0x61, 0x61, 0x9f, 0x01, 0x02, 0xff, 0xff],
            &[0xbf, 0x61, 0x61, 0xa1, 0x01, 0x02, 0xff],
            // (_ h'00', h'') and (_ "a", "b"): chunked strings.
            &[0x5f, 0x41, 0x00, 0x40, 0xff],
            &[0x7f, 0x61, 0x61, 0x61, 0x62, 0xff],
            &[0x5f, 0xff],
            // Definite items keep working.
            &[0xa1, 0x61, 0x61, 0xf6],
        ] {
            assert_eq!(payload(ok), Ok(()), "{ok:02x?}");
        }
    }

    #[test]
    fn indefinite_items_keep_the_budgets() {
        // Endless nesting stops at the depth budget, wherever it starts.
        let endless = [0x9f; 4096];
        assert_eq!(payload_issue(&endless), (4, CborIssue::TooDeep { max: 4 }));
        let endless_maps = [0xbf, 0x61, 0x61].repeat(1000);
        assert_eq!(
            payload_issue(&endless_maps),
            (10, CborIssue::TooDeep { max: 4 })
        );
        // A chunked string counts its chunks one level down.
        assert_eq!(
            payload_issue(&[0x81, 0x81, 0x81, 0x5f, 0x40, 0xff]),
            (4, CborIssue::TooDeep { max: 4 })
        );
        assert_eq!(payload(&[0x81, 0x81, 0x5f, 0x40, 0xff]), Ok(()));
        // A missing break is truncated input, reported at the item it leaves open.
        assert_eq!(
            payload_issue(&[0xbf, 0x61, 0x61, 0x01]),
            (0, CborIssue::Truncated)
        );
        assert_eq!(
            payload_issue(&[0x9f, 0x9f, 0xff]),
            (0, CborIssue::Truncated)
        );
        assert_eq!(
            payload_issue(&[0x5f, 0x41, 0x00]),
            (0, CborIssue::Truncated)
        );
        // A break where a map's value belongs, or where no indefinite item is open.
        assert_eq!(
            payload_issue(&[0xbf, 0x61, 0x61, 0xff]),
            (3, CborIssue::BreakAfterKey)
        );
        assert_eq!(payload_issue(&[0xff]), (0, CborIssue::UnexpectedBreak));
        assert_eq!(
            payload_issue(&[0x82, 0x01, 0xff]),
            (2, CborIssue::UnexpectedBreak)
        );
        assert_eq!(
            payload_issue(&[0xa1, 0x61, 0x61, 0xff]),
            (3, CborIssue::UnexpectedBreak)
        );
        // A break that closes the item early leaves the rest as trailing bytes.
        assert_eq!(
            payload(&[0x9f, 0xff, 0xff]),
            Err(NsmError::TrailingData {
                part: CborPart::Payload,
                item_len: 2,
                total_len: 3
            })
        );
        // Chunks must be definite strings of the string's own major type.
        for bad in [
            &[0x5f, 0x61, 0x61, 0xff][..],
            &[0x5f, 0x5f, 0xff, 0xff],
            &[0x7f, 0x41, 0x00, 0xff],
            &[0x5f, 0x01, 0xff],
        ] {
            assert!(
                matches!(payload_issue(bad), (1, CborIssue::BadChunk { .. })),
                "{bad:02x?}"
            );
        }
        // Indefinite lengths on integers, tags and simple values are not lengths.
        assert_eq!(payload_issue(&[0x1f]), (0, CborIssue::UnexpectedBreak));
        assert_eq!(payload_issue(&[0x3f]), (0, CborIssue::UnexpectedBreak));
    }

    #[test]
    fn the_payload_has_no_tags() {
        // A bignum timestamp (tag 2), and tags nested inside an indefinite map.
        assert_eq!(
            payload_issue(&[0xc2, 0x41, 0x01]),
            (0, CborIssue::Tag { tag: 2 })
        );
        assert_eq!(
            payload_issue(&[0xbf, 0x61, 0x61, 0xd8, 0x18, 0x40, 0xff]),
            (3, CborIssue::Tag { tag: 24 })
        );
        // The envelope keeps its tag 18.
        assert_eq!(check(&[0xd2, 0x80]), Ok(()));
    }

    #[test]
    fn rejects_trailing_bytes() {
        assert_eq!(
            check(&[0x00, 0x00]),
            Err(NsmError::TrailingData {
                part: CborPart::Document,
                item_len: 1,
                total_len: 2
            })
        );
    }
}
