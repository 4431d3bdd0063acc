//! SHA3-256, the hash `H` of SPEC §0, and the 32-byte value type it produces.

use core::fmt;

use sha3::{Digest, Sha3_256};

/// A 32-byte SHA3-256 digest: an object key, a Merkle node, a transaction id. Ordered
/// as its bytes are (lexicographically).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Ord for Hash32 {
    /// The bytes' lexicographic order. Natively compared as two big-endian 128-bit
    /// halves: the same order without a call to `memcmp` per comparison (an audit sorts
    /// millions); on wasm32 as bytes, the smaller code.
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let halves = |h: &Self| {
                let (hi, lo) = h.0.split_at(16);
                let half = |b: &[u8]| u128::from_be_bytes(b.try_into().unwrap_or([0; 16]));
                (half(hi), half(lo))
            };
            halves(self).cmp(&halves(other))
        }
        #[cfg(target_arch = "wasm32")]
        {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for Hash32 {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash32 {
    /// The all-zero value (`0^32`), the parent timestamp hash of the genesis block.
    pub const ZERO: Self = Self([0u8; 32]);

    /// `H(data)`: SHA3-256 of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Self(Sha3_256::digest(data).into())
    }

    /// Parses exactly 64 lowercase hex digits, the one spelling SPEC §0 gives a hash and
    /// the only one an object's file name may have; `None` for anything else. Listings of
    /// hundreds of thousands of names go through it.
    pub fn from_lower_hex(text: &[u8]) -> Option<Self> {
        /// Each byte's value as a lowercase hex digit, or `INVALID`.
        const INVALID: u8 = 0xFF;
        const DIGITS: [u8; 256] = {
            let mut table = [INVALID; 256];
            let mut i = 0;
            while i < 16 {
                table[b"0123456789abcdef"[i] as usize] = i as u8;
                i += 1;
            }
            table
        };
        let text: &[u8; 64] = text.try_into().ok()?;
        let mut out = [0u8; 32];
        // Every digit looked up first, one check for all of them after (no branch per
        // digit: directory listings of millions of names come through here).
        let mut bad = 0u8;
        for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
            let (hi, lo) = (DIGITS[usize::from(pair[0])], DIGITS[usize::from(pair[1])]);
            bad |= (hi | lo) & 0xF0;
            *byte = (hi << 4) | (lo & 0x0F);
        }
        (bad == 0).then_some(Self(out))
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
    fn lower_hex_agrees_with_the_hex_crate_on_every_byte_in_every_place() {
        let h = Hash32::digest(b"y").to_hex().into_bytes();
        for at in [0, 1, 31, 62, 63] {
            for b in 0..=255u8 {
                let mut text = h.clone();
                text[at] = b;
                let ours = Hash32::from_lower_hex(&text);
                let lower = b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
                let theirs = lower
                    .then(|| hex::decode(&text).ok())
                    .flatten()
                    .map(|v| v.to_vec());
                assert_eq!(ours.map(|h| h.0.to_vec()), theirs, "byte {b} at {at}");
            }
        }
    }

    #[test]
    fn the_order_is_the_bytes_order() {
        let mut hashes: Vec<Hash32> = (0..500u32)
            .map(|i| Hash32::digest(&i.to_le_bytes()))
            .collect();
        // Hashes that differ in one byte only, early and late.
        for at in [0, 15, 16, 31] {
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut h = Hash32::ZERO;
                h.0[at] = b;
                hashes.push(h);
            }
        }
        for a in &hashes {
            for b in hashes.iter().take(60) {
                assert_eq!(a.cmp(b), a.0.cmp(&b.0));
                assert_eq!(a.partial_cmp(b), Some(a.0.cmp(&b.0)));
            }
        }
    }

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
