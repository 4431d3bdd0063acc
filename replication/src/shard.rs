//! Shards: the self-describing pieces an object is cut into (SPEC §2.2).
//!
//! An object of `n` bytes is split into [`DATA_SHARDS`] data shards of `max(1, ⌈n/3⌉)` bytes
//! (the last one zero-padded) and [`PARITY_SHARDS`] parity shards of the same size, with a
//! Reed–Solomon code over GF(2^8): any three of the six rebuild the object.
//!
//! Every shard carries a fixed [`HEADER_LEN`]-byte header, all integers big-endian:
//!
//! ```text
//! offset len  field
//!      0   4  magic "ZCSH"
//!      4   1  version, 1
//!      5   1  object kind: 0 block, 1 timestamp, 2 attestation, 3 batch
//!      6   1  shard index, 0..6 (0..3 data, 3..6 parity)
//!      7   1  data shards, 3
//!      8   1  parity shards, 3
//!      9  32  object key (H(b), H(t), H(a), or the batch's Merkle root m^H)
//!     41   8  original length n (u64)
//!     49  32  SHA3-256 of the original n bytes
//!     81  32  SHA3-256 of this shard's payload
//!    113   …  payload, exactly max(1, ⌈n/3⌉) bytes
//! ```
//!
//! The payload hash lets a reader reject a corrupt shard on its own, before decoding; the
//! original's hash and the key let it reject a wrong reconstruction. Decoding is strict: wrong
//! magic, version, kind, geometry, index, payload length or payload hash is a typed error.
//!
//! # Why `reed-solomon-erasure`
//! The code is `reed-solomon-erasure` 6 without default features (no `std`, so no
//! `parking_lot`/`instant`, which break on wasm32), not `reed-solomon-simd`: with 3+3 shards
//! of the sizes zipchain stores (81-byte blocks to batches of a few MiB) its plain Vandermonde
//! matrix over GF(2^8) decodes 3 lost shards about 4x faster than the Leopard FFT decoder of
//! `reed-solomon-simd` at 64 KiB and as fast at 1 MiB (our micro-benchmark, 2 vCPU EPYC), has
//! no shard-size constraints (the SIMD crate wants even sizes), and pulls no C or `unsafe`
//! SIMD code into a crate whose speed is bound by hashing and I/O anyway.

use reed_solomon_erasure::galois_8::ReedSolomon;
use verifier_core::batch::BatchError;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, object_key};

/// The first four bytes of every shard.
pub const MAGIC: [u8; 4] = *b"ZCSH";
/// The shard format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Data shards per object.
pub const DATA_SHARDS: usize = 3;
/// Parity shards per object.
pub const PARITY_SHARDS: usize = 3;
/// Shards per object, one per store.
pub const TOTAL_SHARDS: usize = DATA_SHARDS + PARITY_SHARDS;
/// The length of the fixed header in front of every payload.
pub const HEADER_LEN: usize = 113;

/// Why bytes are not a shard, or shards do not rebuild an object.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Fewer bytes than the fixed header.
    #[error("shard is {got} bytes, shorter than the {expected}-byte header")]
    TooShort {
        /// The length received.
        got: usize,
        /// [`HEADER_LEN`].
        expected: usize,
    },
    /// The first four bytes are not `ZCSH`.
    #[error("shard magic is {got:02x?}, expected \"ZCSH\"")]
    BadMagic {
        /// The four bytes found.
        got: [u8; 4],
    },
    /// A version other than [`VERSION`].
    #[error("shard version is {got}, expected {expected}")]
    UnsupportedVersion {
        /// The version byte found.
        got: u8,
        /// [`VERSION`].
        expected: u8,
    },
    /// The kind byte names no object kind.
    #[error("shard kind byte is {got}, expected 0 to 3")]
    UnknownKind {
        /// The kind byte found.
        got: u8,
    },
    /// A code geometry other than 3 data + 3 parity.
    #[error("shard says {data} data + {parity} parity shards, expected 3 + 3")]
    BadGeometry {
        /// Data shards named.
        data: u8,
        /// Parity shards named.
        parity: u8,
    },
    /// A shard index of 6 or more.
    #[error("shard index is {got}, expected less than {TOTAL_SHARDS}")]
    IndexOutOfRange {
        /// The index found.
        got: u8,
    },
    /// The payload is not `max(1, ⌈n/3⌉)` bytes for the original length `n`.
    #[error(
        "shard payload is {got} bytes, expected {expected} for an original of {original_len} bytes"
    )]
    PayloadLength {
        /// The payload length received.
        got: usize,
        /// The length the original length implies.
        expected: u64,
        /// The original length in the header.
        original_len: u64,
    },
    /// The payload does not hash to the header's payload hash: the shard is corrupt.
    #[error("shard payload hashes to {got}, expected {expected}")]
    PayloadHash {
        /// SHA3-256 of the payload received.
        got: Hash32,
        /// The payload hash in the header.
        expected: Hash32,
    },
    /// Fewer distinct shards than [`DATA_SHARDS`] were given to [`decode`].
    #[error("{got} distinct shards, expected at least {expected}")]
    TooFewShards {
        /// Distinct shard indices given.
        got: usize,
        /// [`DATA_SHARDS`].
        expected: usize,
    },
    /// Two shards given to [`decode`] describe different objects.
    #[error("shard {index} disagrees with shard {first} on the {field}")]
    HeaderMismatch {
        /// The index of the first shard given, whose header is the reference.
        first: u8,
        /// The index of the shard that disagrees.
        index: u8,
        /// Which header field differs: `kind`, `key`, `original length` or `original hash`.
        field: &'static str,
    },
    /// The Reed–Solomon codec refused the shards (should not happen with checked headers).
    #[error("Reed-Solomon reconstruction failed: {reason}")]
    Codec {
        /// The codec's words.
        reason: String,
    },
    /// The rebuilt bytes do not hash to the original hash in the headers.
    #[error("rebuilt object hashes to {got}, expected {expected}")]
    OriginalHash {
        /// SHA3-256 of the rebuilt bytes.
        got: Hash32,
        /// The original hash in the headers.
        expected: Hash32,
    },
    /// The rebuilt object's key (its hash, or a batch's Merkle root) is not the key named.
    #[error("rebuilt {kind} has key {got}, expected {expected}")]
    KeyMismatch {
        /// The object kind.
        kind: ObjectKind,
        /// The key computed from the rebuilt bytes.
        got: Hash32,
        /// The key in the headers.
        expected: Hash32,
    },
    /// The rebuilt bytes of a batch are not a batch, so they have no Merkle root.
    #[error("rebuilt batch {key} is not a batch: {source}")]
    NotABatch {
        /// The key in the headers.
        key: Hash32,
        /// Why the bytes are not a batch.
        source: BatchError,
    },
}

/// One shard of one object: its header fields and payload.
///
/// Built only by [`encode`] or [`Shard::from_bytes`], so a `Shard` always has a consistent
/// geometry and a payload that hashes to its payload hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    kind: ObjectKind,
    key: Hash32,
    index: u8,
    original_len: u64,
    original_hash: Hash32,
    payload_hash: Hash32,
    payload: Vec<u8>,
}

impl Shard {
    /// The kind of the object this shard belongs to.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// The key of the object this shard belongs to.
    pub fn key(&self) -> &Hash32 {
        &self.key
    }

    /// The shard's index, `0..6`: `0..3` data, `3..6` parity. Store `i` holds shard `i`.
    pub fn index(&self) -> usize {
        usize::from(self.index)
    }

    /// The length of the original object.
    pub fn original_len(&self) -> u64 {
        self.original_len
    }

    /// SHA3-256 of the original object.
    pub fn original_hash(&self) -> &Hash32 {
        &self.original_hash
    }

    /// SHA3-256 of [`Shard::payload`].
    pub fn payload_hash(&self) -> &Hash32 {
        &self.payload_hash
    }

    /// The shard's share of the coded object.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The shard as stored: header then payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.kind.code());
        out.push(self.index);
        out.push(DATA_SHARDS as u8);
        out.push(PARITY_SHARDS as u8);
        out.extend_from_slice(&self.key.0);
        out.extend_from_slice(&self.original_len.to_be_bytes());
        out.extend_from_slice(&self.original_hash.0);
        out.extend_from_slice(&self.payload_hash.0);
        out.extend_from_slice(&self.payload);
        out
    }

    /// Parses and checks one stored shard: header fields, payload length and payload hash.
    ///
    /// # Errors
    /// A [`ShardError`] naming the first field that is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShardError> {
        let (header, payload) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or(ShardError::TooShort {
                got: bytes.len(),
                expected: HEADER_LEN,
            })?;
        let mut r = Reader(header);
        let magic: [u8; 4] = r.array();
        if magic != MAGIC {
            return Err(ShardError::BadMagic { got: magic });
        }
        let [version] = r.array();
        if version != VERSION {
            return Err(ShardError::UnsupportedVersion {
                got: version,
                expected: VERSION,
            });
        }
        let [kind] = r.array();
        let kind = ObjectKind::from_code(kind).ok_or(ShardError::UnknownKind { got: kind })?;
        let [index, data, parity] = r.array();
        if usize::from(data) != DATA_SHARDS || usize::from(parity) != PARITY_SHARDS {
            return Err(ShardError::BadGeometry { data, parity });
        }
        if usize::from(index) >= TOTAL_SHARDS {
            return Err(ShardError::IndexOutOfRange { got: index });
        }
        let key = Hash32(r.array());
        let original_len = u64::from_be_bytes(r.array());
        let original_hash = Hash32(r.array());
        let payload_hash = Hash32(r.array());
        let expected = payload_len(original_len);
        if u64::try_from(payload.len()).ok() != Some(expected) {
            return Err(ShardError::PayloadLength {
                got: payload.len(),
                expected,
                original_len,
            });
        }
        let got = Hash32::digest(payload);
        if got != payload_hash {
            return Err(ShardError::PayloadHash {
                got,
                expected: payload_hash,
            });
        }
        Ok(Self {
            kind,
            key,
            index,
            original_len,
            original_hash,
            payload_hash,
            payload: payload.to_vec(),
        })
    }
}

/// Cuts an object into its six shards: shard `i` goes to store `i`.
///
/// The key is written into the headers as given; [`decode`] checks it against the rebuilt
/// bytes, so a caller should pass [`object_key`]`(kind, bytes)`.
pub fn encode(kind: ObjectKind, key: Hash32, bytes: &[u8]) -> [Shard; TOTAL_SHARDS] {
    let original_len = bytes.len() as u64;
    let original_hash = Hash32::digest(bytes);
    let size = bytes.len().div_ceil(DATA_SHARDS).max(1);
    let mut payloads: [Vec<u8>; TOTAL_SHARDS] = Default::default();
    let mut chunks = bytes.chunks(size);
    for payload in payloads.iter_mut() {
        let mut p = chunks.next().unwrap_or_default().to_vec();
        p.resize(size, 0);
        *payload = p;
    }
    // 3 + 3 is a valid geometry and every payload has the same nonzero length, which are the
    // only conditions under which the codec fails.
    #[allow(clippy::expect_used)]
    codec()
        .encode(&mut payloads)
        .expect("3+3 shards of one nonzero size");
    let mut index = 0u8;
    payloads.map(|payload| {
        let shard = Shard {
            kind,
            key,
            index,
            original_len,
            original_hash,
            payload_hash: Hash32::digest(&payload),
            payload,
        };
        index += 1;
        shard
    })
}

/// Rebuilds an object from any three or more of its shards, in any order.
///
/// Every shard must describe the same object (kind, key, original length and hash); repeated
/// indices are ignored. When more than three shards are given and the first three that
/// reconstruct do not give the original, every other choice of three is tried, so one forged
/// but self-consistent shard among four or more does not stop the rebuild. The result is
/// returned only if it hashes to the original hash and its key is the key named (for a batch,
/// its Merkle root).
///
/// # Errors
/// [`ShardError::TooFewShards`], [`ShardError::HeaderMismatch`], or the last verification
/// failure ([`ShardError::OriginalHash`], [`ShardError::KeyMismatch`],
/// [`ShardError::NotABatch`]).
pub fn decode(shards: impl IntoIterator<Item = Shard>) -> Result<Vec<u8>, ShardError> {
    let mut slots: [Option<Shard>; TOTAL_SHARDS] = Default::default();
    let mut first: Option<(u8, ObjectKind, Hash32, u64, Hash32)> = None;
    for shard in shards {
        let this = (
            shard.index,
            shard.kind,
            shard.key,
            shard.original_len,
            shard.original_hash,
        );
        match first {
            None => first = Some(this),
            Some((first, kind, key, len, hash)) => {
                let field = if shard.kind != kind {
                    Some("kind")
                } else if shard.key != key {
                    Some("key")
                } else if shard.original_len != len {
                    Some("original length")
                } else if shard.original_hash != hash {
                    Some("original hash")
                } else {
                    None
                };
                if let Some(field) = field {
                    return Err(ShardError::HeaderMismatch {
                        first,
                        index: shard.index,
                        field,
                    });
                }
            }
        }
        if let Some(slot) = slots.get_mut(shard.index()) {
            slot.get_or_insert(shard);
        }
    }
    let present: Vec<usize> = (0..TOTAL_SHARDS)
        .filter(|i| slots.get(*i).is_some_and(Option::is_some))
        .collect();
    let (Some((_, kind, key, original_len, original_hash)), true) =
        (first, present.len() >= DATA_SHARDS)
    else {
        return Err(ShardError::TooFewShards {
            got: present.len(),
            expected: DATA_SHARDS,
        });
    };
    let mut last = None;
    for chosen in triples(&present) {
        match rebuild(&slots, chosen, kind, key, original_len, original_hash) {
            Ok(bytes) => return Ok(bytes),
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or(ShardError::TooFewShards {
        got: present.len(),
        expected: DATA_SHARDS,
    }))
}

/// Every choice of three of `present`, data shards first (the cheapest rebuild first).
fn triples(present: &[usize]) -> impl Iterator<Item = [usize; 3]> + '_ {
    let n = present.len();
    (0..n).flat_map(move |a| {
        (a + 1..n).flat_map(move |b| {
            (b + 1..n)
                .filter_map(move |c| Some([*present.get(a)?, *present.get(b)?, *present.get(c)?]))
        })
    })
}

/// Reconstructs from exactly the shards at `chosen` and checks the result.
fn rebuild(
    slots: &[Option<Shard>; TOTAL_SHARDS],
    chosen: [usize; 3],
    kind: ObjectKind,
    key: Hash32,
    original_len: u64,
    original_hash: Hash32,
) -> Result<Vec<u8>, ShardError> {
    let mut work: Vec<Option<Vec<u8>>> = (0..TOTAL_SHARDS)
        .map(|i| {
            if chosen.contains(&i) {
                slots.get(i)?.as_ref().map(|s| s.payload.clone())
            } else {
                None
            }
        })
        .collect();
    codec()
        .reconstruct_data(&mut work)
        .map_err(|e| ShardError::Codec {
            reason: format!("{e:?}"),
        })?;
    let mut bytes = Vec::new();
    for data in work.iter().take(DATA_SHARDS).flatten() {
        bytes.extend_from_slice(data);
    }
    // Payload lengths were checked against `original_len` when each shard was parsed, so
    // `original_len <= bytes.len()` and the conversion cannot fail.
    bytes.truncate(usize::try_from(original_len).unwrap_or(usize::MAX));
    let got = Hash32::digest(&bytes);
    if got != original_hash {
        return Err(ShardError::OriginalHash {
            got,
            expected: original_hash,
        });
    }
    let got = object_key(kind, &bytes).map_err(|source| ShardError::NotABatch { key, source })?;
    if got != key {
        return Err(ShardError::KeyMismatch {
            kind,
            got,
            expected: key,
        });
    }
    Ok(bytes)
}

/// The 3 + 3 codec.
fn codec() -> ReedSolomon {
    // Constant, valid geometry: `new` fails only for zero or more than 256 shards.
    #[allow(clippy::expect_used)]
    ReedSolomon::new(DATA_SHARDS, PARITY_SHARDS).expect("3+3 is a valid geometry")
}

/// `max(1, ⌈n/3⌉)`: the payload length of every shard of an `n`-byte object.
fn payload_len(original_len: u64) -> u64 {
    original_len.div_ceil(DATA_SHARDS as u64).max(1)
}

/// Reads fixed-size fields off the front of a header already known to be long enough.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some((head, rest)) = self.0.split_first_chunk::<N>() {
            out = *head;
            self.0 = rest;
        }
        out
    }
}
