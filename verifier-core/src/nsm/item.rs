//! The NSM payload's CBOR items, decoded for [`super::document`]: the one CBOR
//! decoder the wasm module carries for NSM documents (before, `ciborium`'s `Value`
//! did this beside our strict walker, ~15 KB of the module; issue #16 needed the room).
//!
//! The payload has already passed [`super::cbor::check_strict`] (one well-formed item,
//! nesting within budget, shortest heads where AWS uses them), so this reader only
//! turns it into values; it still checks every bound it relies on and never panics.

use crate::cbor::{INDEFINITE, read_head};

/// A decoded CBOR item (RFC 8949 §3): the kinds an NSM payload can hold.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    /// Major types 0 and 1.
    Integer(i128),
    /// Major type 2 (indefinite-length chunks joined).
    Bytes(Vec<u8>),
    /// Major type 3 (indefinite-length chunks joined), valid UTF-8.
    Text(String),
    /// Major type 4.
    Array(Vec<Item>),
    /// Major type 5, in order.
    Map(Vec<(Item, Item)>),
    /// Major type 6 (the tagged item is not kept).
    Tag,
    /// `false` / `true`.
    Bool,
    /// `null`.
    Null,
    /// A float (its value is not kept).
    Float,
    /// Another simple value (`undefined`, unassigned ones).
    Simple,
}

/// Decodes the one item that `input` holds.
///
/// # Errors
/// What is wrong, in words (truncated, trailing bytes, invalid UTF-8, a stray break).
pub(crate) fn decode(input: &[u8]) -> Result<Item, &'static str> {
    let mut at = 0;
    let item = read(input, &mut at, 0)?;
    if at != input.len() {
        return Err("bytes after the payload's item");
    }
    Ok(item)
}

/// Deeper than this is refused (the strict walker's budget is lower still).
const MAX_DEPTH: usize = 64;

fn read(input: &[u8], at: &mut usize, depth: usize) -> Result<Item, &'static str> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply");
    }
    let rest = input.get(*at..).ok_or("truncated")?;
    let head = read_head(rest).map_err(|_| "truncated or reserved head")?;
    *at += head.len;
    let arg = head.argument;
    match (head.major, arg) {
        (0, Some(n)) => Ok(Item::Integer(i128::from(n))),
        (1, Some(n)) => Ok(Item::Integer(-1 - i128::from(n))),
        (2, _) => string(input, at, 2, arg).map(Item::Bytes),
        (3, _) => {
            let bytes = string(input, at, 3, arg)?;
            String::from_utf8(bytes)
                .map(Item::Text)
                .map_err(|_| "a text string that is not UTF-8")
        }
        (4, _) => {
            let mut items = Vec::new();
            each(input, at, arg, |input, at| {
                items.push(read(input, at, depth + 1)?);
                Ok(())
            })?;
            Ok(Item::Array(items))
        }
        (5, _) => {
            let mut entries = Vec::new();
            each(input, at, arg, |input, at| {
                let key = read(input, at, depth + 1)?;
                let value = read(input, at, depth + 1)?;
                entries.push((key, value));
                Ok(())
            })?;
            Ok(Item::Map(entries))
        }
        (6, Some(_)) => read(input, at, depth + 1).map(|_| Item::Tag),
        (7, Some(20 | 21)) if head.info < 24 => Ok(Item::Bool),
        (7, Some(22)) if head.info < 24 => Ok(Item::Null),
        (7, Some(_)) if (25..=27).contains(&head.info) => Ok(Item::Float),
        (7, Some(_)) => Ok(Item::Simple),
        _ => Err("a break outside an indefinite-length item"),
    }
}

/// Calls `f` for each element of an array or map: `len` of them, or until the break
/// of an indefinite-length one.
fn each(
    input: &[u8],
    at: &mut usize,
    len: Option<u64>,
    mut f: impl FnMut(&[u8], &mut usize) -> Result<(), &'static str>,
) -> Result<(), &'static str> {
    match len {
        Some(n) => {
            // Every element takes at least one byte: a count above what remains is
            // refused before any allocation follows it.
            if n > (input.len() - *at) as u64 {
                return Err("a length beyond the payload");
            }
            for _ in 0..n {
                f(input, at)?;
            }
        }
        None => loop {
            match input.get(*at) {
                None => return Err("truncated"),
                Some(0xff) => {
                    *at += 1;
                    break;
                }
                Some(_) => f(input, at)?,
            }
        },
    }
    Ok(())
}

/// The bytes of a byte or text string of major type `major`, definite (`len`) or
/// indefinite (definite chunks of the same major type up to the break).
fn string(
    input: &[u8],
    at: &mut usize,
    major: u8,
    len: Option<u64>,
) -> Result<Vec<u8>, &'static str> {
    let Some(len) = len else {
        let mut out = Vec::new();
        loop {
            let rest = input.get(*at..).ok_or("truncated")?;
            if rest.first() == Some(&0xff) {
                *at += 1;
                return Ok(out);
            }
            let head = read_head(rest).map_err(|_| "truncated or reserved head")?;
            if head.major != major || head.info == INDEFINITE {
                return Err("a chunk of another kind in an indefinite-length string");
            }
            *at += head.len;
            out.extend_from_slice(take(input, at, head.argument)?);
        }
    };
    take(input, at, Some(len)).map(<[u8]>::to_vec)
}

fn take<'a>(input: &'a [u8], at: &mut usize, len: Option<u64>) -> Result<&'a [u8], &'static str> {
    let len = len
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("a length beyond the payload")?;
    let end = at.checked_add(len).ok_or("a length beyond the payload")?;
    let bytes = input.get(*at..end).ok_or("a length beyond the payload")?;
    *at = end;
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn items_decode_as_ciborium_reads_them() {
        // {"a": [1, -2, h'0102', "x", null, true, 1.5], 0: _ h'01' h'02'}
        let bytes = [
            0xa2, 0x61, b'a', 0x87, 0x01, 0x21, 0x42, 1, 2, 0x61, b'x', 0xf6, 0xf5, 0xf9, 0x3e,
            0x00, 0x00, 0x5f, 0x41, 1, 0x41, 2, 0xff,
        ];
        let item = decode(&bytes).unwrap();
        assert_eq!(
            item,
            Item::Map(vec![
                (
                    Item::Text("a".into()),
                    Item::Array(vec![
                        Item::Integer(1),
                        Item::Integer(-2),
                        Item::Bytes(vec![1, 2]),
                        Item::Text("x".into()),
                        Item::Null,
                        Item::Bool,
                        Item::Float,
                    ])
                ),
                (Item::Integer(0), Item::Bytes(vec![1, 2])),
            ])
        );
        // Indefinite map and array.
        let indef = [0xbf, 0x61, b'k', 0x9f, 0x01, 0xff, 0xff];
        assert!(matches!(decode(&indef).unwrap(), Item::Map(e) if e.len() == 1));
    }

    #[test]
    fn broken_items_are_errors_not_panics() {
        for bad in [
            &[][..],
            &[0x42, 1],
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0x61, 0xff],
            &[0xff],
            &[0x5f, 0x61, b'a', 0xff],
            &[0x9f, 0x01],
            &[0x01, 0x02],
            &[0x1c],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        let deep = vec![0x81; 100];
        assert!(decode(&deep).is_err());
    }
}
