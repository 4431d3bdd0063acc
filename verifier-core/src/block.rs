//! The 81-byte block `b = ⟨u, m^H, t^H⟩` (SPEC §1.2).
//!
//! ```text
//! 0x01 ++ u (16) ++ m^H (32) ++ t^H (32)
//! ```
//! `H(b)` is SHA3-256 of these bytes. The encoding is fixed-size and has one form, so a block
//! re-encodes to exactly the bytes it was decoded from.
//!
//! The writer puts a UUIDv4 in `u`, but the verifier treats `u` as opaque 16 bytes and does not
//! check the version or variant bits: `u` is only ever compared and hashed, and conforming
//! chains in the wild (the conformance vectors among them) use UUIDs such as
//! `00000000-0000-0000-0000-00000000001e`.

use crate::hash::Hash32;

/// The length of an encoded block.
pub const BLOCK_LEN: usize = 81;

/// The format version, the first byte of every block.
pub const BLOCK_VERSION: u8 = 0x01;

/// A decoded block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    /// `u`: the block's 16-byte UUID, opaque to the verifier (see the module docs).
    pub uuid: [u8; 16],
    /// `m^H`: the Merkle root of the block's batch (SPEC §1.1).
    pub batch_root: Hash32,
    /// `t^H`: the hash of the parent block's timestamp JWT; `0^32` for the genesis block.
    pub parent_timestamp: Hash32,
}

impl Block {
    /// The 81 bytes `0x01 ++ u ++ m^H ++ t^H`.
    pub fn encode(&self) -> [u8; BLOCK_LEN] {
        let mut out = [0u8; BLOCK_LEN];
        let (version, rest) = out.split_at_mut(1);
        let (uuid, rest) = rest.split_at_mut(16);
        let (batch_root, parent) = rest.split_at_mut(32);
        version.copy_from_slice(&[BLOCK_VERSION]);
        uuid.copy_from_slice(&self.uuid);
        batch_root.copy_from_slice(self.batch_root.as_bytes());
        parent.copy_from_slice(self.parent_timestamp.as_bytes());
        out
    }

    /// Parses the 81 bytes of a block.
    ///
    /// # Errors
    /// - [`BlockError::WrongLength`] unless `bytes` is exactly [`BLOCK_LEN`] bytes long;
    /// - [`BlockError::UnknownVersion`] unless the first byte is [`BLOCK_VERSION`].
    pub fn decode(bytes: &[u8]) -> Result<Self, BlockError> {
        let bytes: &[u8; BLOCK_LEN] = bytes.try_into().map_err(|_| BlockError::WrongLength {
            got: bytes.len(),
            expected: BLOCK_LEN,
        })?;
        let (version, rest) = bytes.split_at(1);
        let (uuid, rest) = rest.split_at(16);
        let (batch_root, parent) = rest.split_at(32);
        if version != [BLOCK_VERSION] {
            return Err(BlockError::UnknownVersion {
                got: bytes[0],
                expected: BLOCK_VERSION,
            });
        }
        Ok(Self {
            uuid: to_array(uuid),
            batch_root: Hash32(to_array(batch_root)),
            parent_timestamp: Hash32(to_array(parent)),
        })
    }

    /// `H(b)`: SHA3-256 of the encoded block, the block's key and the `y` its timestamp attests.
    pub fn hash(&self) -> Hash32 {
        Hash32::digest(&self.encode())
    }

    /// Whether the block has the genesis block's shape: `t^H = 0^32`.
    ///
    /// This does not make it *the* genesis block: that is the one whose hash the trust
    /// descriptor names (SPEC §1.6, §5).
    pub fn is_genesis_shaped(&self) -> bool {
        self.parent_timestamp == Hash32::ZERO
    }
}

impl TryFrom<&[u8]> for Block {
    type Error = BlockError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::decode(bytes)
    }
}

/// Copies a slice whose length the caller has already fixed; zero-filled otherwise.
fn to_array<const N: usize>(slice: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = slice.get(..N) {
        out.copy_from_slice(src);
    }
    out
}

/// Why bytes are not a block.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The bytes are not exactly [`BLOCK_LEN`] long.
    #[error("a block is {expected} bytes, got {got}")]
    WrongLength {
        /// The number of bytes given.
        got: usize,
        /// [`BLOCK_LEN`].
        expected: usize,
    },
    /// The version byte is not [`BLOCK_VERSION`].
    #[error("block version byte is {got:#04x}, expected {expected:#04x}")]
    UnknownVersion {
        /// The first byte.
        got: u8,
        /// [`BLOCK_VERSION`].
        expected: u8,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sample() -> Block {
        Block {
            uuid: *b"0123456789abcdef",
            batch_root: Hash32::digest(b"m"),
            parent_timestamp: Hash32::digest(b"t"),
        }
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let bytes = b.encode();
        assert_eq!(bytes[0], 0x01);
        assert_eq!(&bytes[1..17], b"0123456789abcdef");
        assert_eq!(&bytes[17..49], Hash32::digest(b"m").as_bytes());
        assert_eq!(&bytes[49..], Hash32::digest(b"t").as_bytes());
        assert_eq!(Block::decode(&bytes), Ok(b));
        assert_eq!(b.hash(), Hash32::digest(&bytes));
        assert!(!b.is_genesis_shaped());
    }

    #[test]
    fn genesis_shape() {
        let b = Block {
            parent_timestamp: Hash32::ZERO,
            ..sample()
        };
        assert!(b.is_genesis_shaped());
    }

    #[test]
    fn rejects_wrong_length_and_version() {
        let bytes = sample().encode();
        assert_eq!(
            Block::decode(&bytes[..80]),
            Err(BlockError::WrongLength {
                got: 80,
                expected: 81
            })
        );
        let mut long = bytes.to_vec();
        long.push(0);
        assert_eq!(
            Block::decode(&long),
            Err(BlockError::WrongLength {
                got: 82,
                expected: 81
            })
        );
        assert!(Block::decode(&[]).is_err());
        let mut v2 = bytes;
        v2[0] = 0x02;
        let err = Block::decode(&v2).unwrap_err();
        assert_eq!(
            err,
            BlockError::UnknownVersion {
                got: 2,
                expected: 1
            }
        );
        assert_eq!(err.to_string(), "block version byte is 0x02, expected 0x01");
    }
}
