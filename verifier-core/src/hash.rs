//! SHA3-256, the hash `H` of SPEC §0, and the 32-byte value type it produces.

use core::fmt;

use sha3::{Digest, Sha3_256};

/// A 32-byte SHA3-256 digest: an object key, a Merkle node, a transaction id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The all-zero value (`0^32`), the parent timestamp hash of the genesis block.
    pub const ZERO: Self = Self([0u8; 32]);

    /// `H(data)`: SHA3-256 of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Self(Sha3_256::digest(data).into())
    }

    /// Parses exactly 64 lowercase hex digits, the one spelling SPEC §0 gives a hash and
    /// the only one an object's file name may have; `None` for anything else. A table
    /// lookup per digit: listings of hundreds of thousands of names go through it.
    pub fn from_lower_hex(text: &[u8]) -> Option<Self> {
        /// The value of each byte as a lowercase hex digit, 0xff when it is none.
        const DIGIT: [u8; 256] = {
            let mut t = [0xffu8; 256];
            let mut i = 0;
            while i < 10 {
                t[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                t[b'a' as usize + i] = 10 + i as u8;
                i += 1;
            }
            t
        };
        let text: &[u8; 64] = text.try_into().ok()?;
        let mut out = [0u8; 32];
        let mut bad = 0u8;
        for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
            let (hi, lo) = (DIGIT[usize::from(pair[0])], DIGIT[usize::from(pair[1])]);
            bad |= hi | lo;
            *byte = (hi << 4) | (lo & 0x0f);
        }
        (bad & 0xf0 == 0).then_some(Self(out))
    }

    /// Parses 64 lowercase or uppercase hex digits.
    ///
    /// # Errors
    /// [`HexError`] when the text is not exactly 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, HexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| HexError {
            expected_bytes: 32,
            got_chars: text.len(),
        })?;
        Ok(Self(out))
    }

    /// Lowercase hex, as SPEC §0 writes every hash.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for Hash32 {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for Hash32 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash32 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Text that was meant to be a fixed-length hex value and is not.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected_bytes} bytes as {} hex digits, got {got_chars} characters that are not", expected_bytes * 2)]
pub struct HexError {
    /// How many bytes the hex should encode.
    pub expected_bytes: usize,
    /// How many characters were given.
    pub got_chars: usize,
}

#[cfg(test)]
mod tests {

    #[test]
    fn lower_hex_takes_exactly_64_lowercase_digits() {
        let h = Hash32::digest(b"x");
        assert_eq!(Hash32::from_lower_hex(h.to_hex().as_bytes()), Some(h));
        assert_eq!(
            Hash32::from_lower_hex(h.to_hex().to_uppercase().as_bytes()),
            None
        );
        let mut odd = h.to_hex().into_bytes();
        for bad in [b'g', b'/', b':', b'`', b'G', 0, 0xff] {
            odd[17] = bad;
            assert_eq!(Hash32::from_lower_hex(&odd), None, "{bad}");
        }
        assert_eq!(Hash32::from_lower_hex(&h.to_hex().as_bytes()[1..]), None);
        assert_eq!(Hash32::from_lower_hex(b""), None);
        let all: Vec<u8> = (0..=255u8).collect();
        let text = hex::encode(&all[..32]);
        assert_eq!(
            Hash32::from_lower_hex(text.as_bytes()).map(|h| h.0.to_vec()),
            Some(all[..32].to_vec())
        );
    }

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn sha3_256_known_answers() {
        // FIPS 202 / NIST CSRC example values.
        assert_eq!(
            Hash32::digest(b"").to_hex(),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
        assert_eq!(
            Hash32::digest(b"abc").to_hex(),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = Hash32::digest(b"x");
        assert_eq!(Hash32::from_hex(&h.to_hex()), Ok(h));
        assert!(Hash32::from_hex("abc").is_err());
        assert!(Hash32::from_hex(&"zz".repeat(32)).is_err());
    }
}
