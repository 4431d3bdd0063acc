//! The batch `m`: the ordered transactions of one block (SPEC §1.1).
//!
//! A batch is stored as the CBOR array (definite length) of its transactions as byte strings,
//! in leaf order, under its Merkle root `m^H` (not under the hash of its bytes).
//!
//! The reader is hand-written for this one shape and strict: definite lengths only, every head
//! in its shortest form (RFC 8949 §4.2.1 preferred serialization), nothing but byte strings in
//! the array, no tags, no trailing bytes. So a batch has exactly one encoding, and
//! [`Batch::encode`] gives back the very bytes [`Batch::decode`] accepted.

use crate::cbor::{self, HeadError};
use crate::hash::Hash32;
use crate::merkle::{self, MerkleTree, RootHash};

/// CBOR major type 2, byte string.
const MAJOR_BYTES: u8 = 2;
/// CBOR major type 4, array.
const MAJOR_ARRAY: u8 = 4;

/// Limits on the work an untrusted batch can demand of [`Batch::decode_with_budget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchBudget {
    /// The most transactions a batch may hold.
    pub max_txs: u64,
    /// The most bytes an encoded batch may have.
    pub max_bytes: usize,
}

impl BatchBudget {
    /// 4,194,304 transactions and 1 GiB: far above any batch the writer seals (its
    /// `--batch-max`, SPEC §7.1), low enough that a hostile snapshot cannot make an audit hash
    /// without end.
    pub const DEFAULT: Self = Self {
        max_txs: 1 << 22,
        max_bytes: 1 << 30,
    };
}

impl Default for BatchBudget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A decoded batch: its transactions `d`, in leaf order.
///
/// An empty batch decodes, but no valid block has one: the genesis batch holds at least the
/// chain's metadata (SPEC §1.2), and the writer seals no empty batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    txs: Vec<Vec<u8>>,
}

impl Batch {
    /// A batch of these transactions, in this order.
    pub fn new(txs: Vec<Vec<u8>>) -> Self {
        Self { txs }
    }

    /// The transactions, in leaf order.
    pub fn txs(&self) -> &[Vec<u8>] {
        &self.txs
    }

    /// The transactions, in leaf order.
    pub fn into_txs(self) -> Vec<Vec<u8>> {
        self.txs
    }

    /// The number of transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether the batch has no transactions.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// The transaction ids `tx = H(d)`, the leaves of the Merkle tree.
    pub fn tx_ids(&self) -> Vec<Hash32> {
        self.txs.iter().map(|d| Hash32::digest(d)).collect()
    }

    /// `m^H`: the Merkle root over the transaction ids, the batch's key.
    pub fn root(&self) -> Hash32 {
        // Folded as the ids are hashed: O(log n) memory, no list of ids.
        let mut root = merkle::RootBuilder::new();
        for d in &self.txs {
            root.push(&Hash32::digest(d));
        }
        root.finish()
    }

    /// The root together with the number of transactions.
    pub fn root_hash(&self) -> RootHash {
        RootHash::of(&self.tx_ids())
    }

    /// The whole Merkle tree, to issue inclusion proofs for many transactions.
    pub fn tree(&self) -> MerkleTree {
        MerkleTree::new(&self.tx_ids())
    }

    /// The leaf index of the first (leftmost) transaction whose id is `tx`.
    pub fn position(&self, tx: &Hash32) -> Option<usize> {
        self.txs.iter().position(|d| Hash32::digest(d) == *tx)
    }

    /// The canonical CBOR encoding: a definite-length array of byte strings, shortest heads.
    pub fn encode(&self) -> Vec<u8> {
        encode_txs(self.txs.iter().map(Vec::as_slice))
    }

    /// Parses a batch strictly, within [`BatchBudget::DEFAULT`].
    ///
    /// # Errors
    /// See [`Batch::decode_with_budget`].
    pub fn decode(bytes: &[u8]) -> Result<Self, BatchError> {
        Self::decode_with_budget(bytes, &BatchBudget::DEFAULT)
    }

    /// Parses a batch strictly, within `budget`.
    ///
    /// # Errors
    /// - [`BatchError::TooLarge`], [`BatchError::TooManyTxs`]: over the budget;
    /// - [`BatchError::Truncated`]: the input ends inside an item;
    /// - [`BatchError::UnexpectedType`]: the top item is not an array, or an element is not a
    ///   byte string (tags included);
    /// - [`BatchError::IndefiniteLength`], [`BatchError::ReservedInfo`],
    ///   [`BatchError::NonCanonicalHead`]: a head that is not the one canonical form;
    /// - [`BatchError::TrailingBytes`]: bytes after the array.
    pub fn decode_with_budget(bytes: &[u8], budget: &BatchBudget) -> Result<Self, BatchError> {
        let mut txs = Vec::new();
        for_each_tx(bytes, budget, &mut txs, Vec::reserve, |txs, d| {
            txs.push(d.to_vec())
        })?;
        Ok(Self { txs })
    }

    /// The transaction ids of an encoded batch, in leaf order, checked as strictly as
    /// [`Batch::decode_with_budget`] but without copying a transaction: memory is 32
    /// bytes per transaction beside the input, which the audit needs from the batches
    /// of the main chain only.
    ///
    /// # Errors
    /// As [`Batch::decode_with_budget`].
    pub fn tx_ids_of(bytes: &[u8], budget: &BatchBudget) -> Result<Vec<Hash32>, BatchError> {
        let mut ids = Vec::new();
        for_each_tx(bytes, budget, &mut ids, Vec::reserve, |ids, d| {
            ids.push(Hash32::digest(d))
        })?;
        Ok(ids)
    }

    /// The Merkle root `m^H` of an encoded batch, checked as strictly as
    /// [`Batch::decode_with_budget`], in O(log n) memory beside the input: what the
    /// audit needs of a batch to check its name, whatever the number of transactions.
    ///
    /// # Errors
    /// As [`Batch::decode_with_budget`].
    pub fn root_of(bytes: &[u8], budget: &BatchBudget) -> Result<Hash32, BatchError> {
        let mut root = merkle::RootBuilder::new();
        for_each_tx(
            bytes,
            budget,
            &mut root,
            |_, _| {},
            |root, d| root.push(&Hash32::digest(d)),
        )?;
        Ok(root.finish())
    }
}

/// Walks an encoded batch within `budget`: `reserve` is first told how many
/// transactions the input can hold (never more than its bytes), then `f` is given each
/// transaction's bytes in order, both with `out`.
fn for_each_tx<'a, S>(
    bytes: &'a [u8],
    budget: &BatchBudget,
    out: &mut S,
    reserve: impl FnOnce(&mut S, usize),
    mut f: impl FnMut(&mut S, &'a [u8]),
) -> Result<(), BatchError> {
    if bytes.len() > budget.max_bytes {
        return Err(BatchError::TooLarge {
            len: bytes.len(),
            max: budget.max_bytes,
        });
    }
    let mut reader = Reader { bytes, pos: 0 };
    let count = reader.head(MAJOR_ARRAY)?;
    if count > budget.max_txs {
        return Err(BatchError::TooManyTxs {
            count,
            max: budget.max_txs,
        });
    }
    // Every element takes at least one byte, so this never allocates more than the input.
    reserve(
        out,
        usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(reader.remaining()),
    );
    for _ in 0..count {
        let len = reader.head(MAJOR_BYTES)?;
        f(out, reader.take(len)?);
    }
    if reader.remaining() != 0 {
        return Err(BatchError::TrailingBytes {
            offset: reader.pos,
            count: reader.remaining(),
        });
    }
    Ok(())
}

impl TryFrom<&[u8]> for Batch {
    type Error = BatchError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::decode(bytes)
    }
}

/// A cursor over the input.
struct Reader<'a> {
    bytes: &'a [u8],
    // INVARIANT: pos <= bytes.len().
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next `len` bytes.
    fn take(&mut self, len: u64) -> Result<&'a [u8], BatchError> {
        let truncated = BatchError::Truncated {
            offset: self.pos,
            needed: len,
            available: self.remaining(),
        };
        let len = usize::try_from(len).map_err(|_| truncated.clone())?;
        let end = self.pos.checked_add(len).ok_or(truncated.clone())?;
        let slice = self.bytes.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// A head of major type `major` in shortest form, with a definite argument; its argument.
    fn head(&mut self, major: u8) -> Result<u64, BatchError> {
        let offset = self.pos;
        let rest = self.bytes.get(offset..).unwrap_or_default();
        // The type first: a head of another type is that, whatever follows it.
        if let Some(got) = rest.first().map(|b| b >> 5).filter(|got| *got != major) {
            return Err(BatchError::UnexpectedType {
                offset,
                got,
                expected: major,
            });
        }
        let head = cbor::read_head(rest).map_err(|e| match e {
            HeadError::Truncated { needed, available } if rest.is_empty() => {
                BatchError::Truncated {
                    offset,
                    needed: needed as u64,
                    available,
                }
            }
            HeadError::Truncated { needed, available } => BatchError::Truncated {
                offset: offset + 1,
                needed: needed as u64,
                available,
            },
            HeadError::Reserved { info } => BatchError::ReservedInfo { offset, info },
        })?;
        let Some(value) = head.argument else {
            return Err(BatchError::IndefiniteLength { offset, major });
        };
        if !head.is_shortest() {
            return Err(BatchError::NonCanonicalHead {
                offset,
                value,
                info: head.info,
            });
        }
        self.pos += head.len;
        Ok(value)
    }
}

/// [`Batch::encode`] of the transactions `txs`, borrowed where they are: a writer holding
/// them elsewhere need not copy each into a [`Batch`] first.
pub fn encode_txs<'a, I>(txs: I) -> Vec<u8>
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    let txs = txs.into_iter();
    let body: usize = txs.clone().map(|d| 9 + d.len()).sum();
    let mut out = Vec::with_capacity(9 + body);
    cbor::write_head(&mut out, MAJOR_ARRAY, len_u64(txs.len()));
    for d in txs {
        cbor::write_head(&mut out, MAJOR_BYTES, len_u64(d.len()));
        out.extend_from_slice(d);
    }
    out
}

/// A length as `u64` (lossless on every target Rust supports).
fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// The name of a CBOR major type, for error messages.
fn major_name(major: &u8) -> &'static str {
    match major {
        0 => "unsigned integer",
        1 => "negative integer",
        2 => "byte string",
        3 => "text string",
        4 => "array",
        5 => "map",
        6 => "tag",
        _ => "simple value or float",
    }
}

/// Why bytes are not a batch.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The encoded batch is larger than the budget allows.
    #[error("batch is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// The length of the input.
        len: usize,
        /// [`BatchBudget::max_bytes`].
        max: usize,
    },
    /// The array announces more transactions than the budget allows.
    #[error("batch announces {count} transactions, more than the limit of {max}")]
    TooManyTxs {
        /// The array's length.
        count: u64,
        /// [`BatchBudget::max_txs`].
        max: u64,
    },
    /// The input ends inside an item.
    #[error("batch is truncated at byte {offset}: needed {needed} more bytes, got {available}")]
    Truncated {
        /// Where the missing bytes should start.
        offset: usize,
        /// How many bytes the item needs.
        needed: u64,
        /// How many are left.
        available: usize,
    },
    /// An item of the wrong CBOR type: the top item must be an array, every element a byte
    /// string. Tags are refused here too (major type 6).
    #[error(
        "at byte {offset} got a CBOR {}, expected a CBOR {}",
        major_name(got),
        major_name(expected)
    )]
    UnexpectedType {
        /// Where the item starts.
        offset: usize,
        /// Its major type.
        got: u8,
        /// The major type expected there.
        expected: u8,
    },
    /// An indefinite-length array or byte string.
    #[error(
        "at byte {offset} got an indefinite-length {}, expected a definite length",
        major_name(major)
    )]
    IndefiniteLength {
        /// Where the item starts.
        offset: usize,
        /// Its major type.
        major: u8,
    },
    /// A head with reserved additional information 28–30 (malformed CBOR).
    #[error("at byte {offset} got reserved CBOR additional information {info}")]
    ReservedInfo {
        /// Where the head starts.
        offset: usize,
        /// The additional information.
        info: u8,
    },
    /// A head whose argument is not in its shortest form (e.g. `0x18 0x05` for 5).
    #[error(
        "at byte {offset} the length {value} is encoded with additional information {info}, not in shortest form"
    )]
    NonCanonicalHead {
        /// Where the head starts.
        offset: usize,
        /// The argument.
        value: u64,
        /// The additional information used.
        info: u8,
    },
    /// Bytes after the array.
    #[error("{count} trailing bytes after the batch at byte {offset}")]
    TrailingBytes {
        /// Where the trailing bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn batch(items: &[&[u8]]) -> Batch {
        Batch::new(items.iter().map(|d| d.to_vec()).collect())
    }

    #[test]
    fn encodes_canonically_and_round_trips() {
        let b = batch(&[b"", b"a", &[7u8; 24], &[9u8; 256]]);
        let bytes = b.encode();
        let mut expected = vec![0x84, 0x40, 0x41, b'a', 0x58, 24];
        expected.extend_from_slice(&[7u8; 24]);
        expected.extend_from_slice(&[0x59, 0x01, 0x00]);
        expected.extend_from_slice(&[9u8; 256]);
        assert_eq!(bytes, expected);
        assert_eq!(Batch::decode(&bytes), Ok(b));
    }

    #[test]
    fn empty_batch() {
        assert_eq!(Batch::new(vec![]).encode(), [0x80]);
        let b = Batch::decode(&[0x80]).unwrap();
        assert!(b.is_empty());
        assert_eq!(b.root(), Hash32::digest(b""));
    }

    #[test]
    fn large_array_head() {
        let b = Batch::new(vec![vec![]; 0x1_0000]);
        let bytes = b.encode();
        assert_eq!(&bytes[..5], &[0x9a, 0x00, 0x01, 0x00, 0x00]);
        assert_eq!(Batch::decode(&bytes).unwrap().len(), 0x1_0000);
    }

    #[test]
    fn root_of_and_tx_ids_of_read_the_encoding_as_decode_does() {
        for n in [0usize, 1, 2, 3, 5, 8, 13, 100] {
            let b = Batch::new((0..n).map(|i| vec![i as u8; i % 4]).collect());
            let bytes = b.encode();
            let budget = BatchBudget::DEFAULT;
            assert_eq!(Batch::root_of(&bytes, &budget), Ok(b.root()), "{n} txs");
            assert_eq!(Batch::tx_ids_of(&bytes, &budget), Ok(b.tx_ids()), "{n} txs");
        }
        // The same errors as decode, for the same inputs.
        for bad in [
            &[0x81, 0x61, b'a'][..],
            &[0x82, 0x40],
            &[0x80, 0x00],
            &[0x9f, 0xff],
        ] {
            let err = Batch::decode(bad).unwrap_err();
            assert_eq!(Batch::root_of(bad, &BatchBudget::DEFAULT), Err(err.clone()));
            assert_eq!(Batch::tx_ids_of(bad, &BatchBudget::DEFAULT), Err(err));
        }
    }

    #[test]
    fn tx_ids_root_and_position() {
        let b = batch(&[b"x", b"y", b"x"]);
        let ids = b.tx_ids();
        assert_eq!(ids[0], Hash32::digest(b"x"));
        assert_eq!(b.root(), merkle::root(&ids));
        assert_eq!(b.root_hash(), RootHash::new(b.root(), 3));
        assert_eq!(b.tree().root(), b.root_hash());
        assert_eq!(b.position(&Hash32::digest(b"x")), Some(0));
        assert_eq!(b.position(&Hash32::digest(b"y")), Some(1));
        assert_eq!(b.position(&Hash32::digest(b"z")), None);
    }

    #[test]
    fn rejects() {
        let cases: &[(&[u8], BatchError)] = &[
            (
                &[],
                BatchError::Truncated {
                    offset: 0,
                    needed: 1,
                    available: 0,
                },
            ),
            (
                &[0xa0],
                BatchError::UnexpectedType {
                    offset: 0,
                    got: 5,
                    expected: 4,
                },
            ),
            // Tagged array.
            (
                &[0xd8, 0x18, 0x80],
                BatchError::UnexpectedType {
                    offset: 0,
                    got: 6,
                    expected: 4,
                },
            ),
            // Text string element.
            (
                &[0x81, 0x61, b'a'],
                BatchError::UnexpectedType {
                    offset: 1,
                    got: 3,
                    expected: 2,
                },
            ),
            // Tagged element.
            (
                &[0x81, 0xc2, 0x41, 0x01],
                BatchError::UnexpectedType {
                    offset: 1,
                    got: 6,
                    expected: 2,
                },
            ),
            (
                &[0x9f, 0xff],
                BatchError::IndefiniteLength {
                    offset: 0,
                    major: 4,
                },
            ),
            (
                &[0x81, 0x5f, 0x41, 0x01, 0xff],
                BatchError::IndefiniteLength {
                    offset: 1,
                    major: 2,
                },
            ),
            (
                &[0x9c],
                BatchError::ReservedInfo {
                    offset: 0,
                    info: 28,
                },
            ),
            (
                &[0x98, 0x01, 0x40],
                BatchError::NonCanonicalHead {
                    offset: 0,
                    value: 1,
                    info: 24,
                },
            ),
            (
                &[0x81, 0x59, 0x00, 0x01, 0x00],
                BatchError::NonCanonicalHead {
                    offset: 1,
                    value: 1,
                    info: 25,
                },
            ),
            (
                &[0x82, 0x40],
                BatchError::Truncated {
                    offset: 2,
                    needed: 1,
                    available: 0,
                },
            ),
            (
                &[0x81, 0x43, 0x01],
                BatchError::Truncated {
                    offset: 2,
                    needed: 3,
                    available: 1,
                },
            ),
            (
                &[0x81, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                BatchError::Truncated {
                    offset: 10,
                    needed: u64::MAX,
                    available: 0,
                },
            ),
            (
                &[0x80, 0x00],
                BatchError::TrailingBytes {
                    offset: 1,
                    count: 1,
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Batch::decode(bytes).as_ref(), Err(expected), "{bytes:02x?}");
        }
    }

    #[test]
    fn budget() {
        let tight = BatchBudget {
            max_txs: 1,
            max_bytes: 4,
        };
        assert_eq!(
            Batch::decode_with_budget(&[0x82, 0x40, 0x40], &tight),
            Err(BatchError::TooManyTxs { count: 2, max: 1 })
        );
        assert_eq!(
            Batch::decode_with_budget(&[0x81, 0x44, 1, 2, 3, 4], &tight),
            Err(BatchError::TooLarge { len: 6, max: 4 })
        );
        // A huge announced count allocates nothing before failing.
        assert_eq!(
            Batch::decode(&[0x9a, 0x00, 0x10, 0x00, 0x00]),
            Err(BatchError::Truncated {
                offset: 5,
                needed: 1,
                available: 0
            })
        );
        assert_eq!(
            Batch::decode(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0]),
            Err(BatchError::TooManyTxs {
                count: 1 << 32,
                max: 1 << 22
            })
        );
    }

    #[test]
    fn error_text() {
        assert_eq!(
            Batch::decode(&[0x81, 0x61, b'a']).unwrap_err().to_string(),
            "at byte 1 got a CBOR text string, expected a CBOR byte string"
        );
    }
}
