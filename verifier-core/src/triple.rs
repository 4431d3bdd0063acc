//! The triple rule of SPEC §5, written once for the audit, the certificate check and
//! the writer: a block `b`, a timestamp `t` with `t.y = H(b)`, and an attestation `a`
//! whose sequence attestation has `a.s.y = b.u ++ H(t)`, made no more than
//! [`CLOCK_SKEW_MS`] before `t.iat`.

use crate::hash::Hash32;
use crate::time::{UnixMillis, UnixSeconds};

/// How far an enclave document may precede the timestamp it sequences, in
/// milliseconds: five minutes of clock skew between the two services (SPEC §5).
pub const CLOCK_SKEW_MS: u64 = 300_000;

/// `y = b.u ++ H(t)`: what the sequencer attests for the block with UUID `uuid`
/// under the timestamp whose key is `timestamp`.
pub fn y(uuid: &[u8; 16], timestamp: &Hash32) -> [u8; 48] {
    let mut y = [0u8; 48];
    y[..16].copy_from_slice(uuid);
    y[16..].copy_from_slice(timestamp.as_bytes());
    y
}

/// The earliest time, Unix milliseconds, at which a document may have been made to
/// sequence a timestamp issued at `iat`: `iat` less [`CLOCK_SKEW_MS`].
pub fn earliest_document_time(iat: UnixSeconds) -> UnixMillis {
    UnixMillis(iat.0.saturating_mul(1000).saturating_sub(CLOCK_SKEW_MS))
}

/// Whether a document made at `document_time` can sequence a timestamp issued at
/// `iat` (SPEC §5: the enclave's clock at most five minutes behind the TSA's).
pub fn in_time(document_time: UnixMillis, iat: UnixSeconds) -> bool {
    document_time.0 >= earliest_document_time(iat).0
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn y_and_the_clock_skew_rule() {
        let t = Hash32([7; 32]);
        let y = y(&[1; 16], &t);
        assert_eq!(y[..16], [1; 16]);
        assert_eq!(y[16..], [7; 32]);
        let iat = UnixSeconds(1_000);
        assert!(in_time(UnixMillis(1_000_000 - 300_000), iat));
        assert!(!in_time(UnixMillis(1_000_000 - 300_001), iat));
        assert!(in_time(UnixMillis(0), UnixSeconds(200)));
    }
}
