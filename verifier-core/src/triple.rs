//! The triple rule of SPEC §5, written once for the audit, the certificate check and
//! the writer: a block `b`, a timestamp `t` with `t.y = H(b)`, and an attestation `a`
//! whose sequence attestation has `a.s.y = b.u ++ H(t)`, made no more than
//! [`CLOCK_SKEW_MS`] before `t.iat`.

use crate::block::Block;
use crate::hash::Hash32;
use crate::sequence::VerifiedAttestation;
use crate::time::{UnixMillis, UnixSeconds};
use crate::timestamp::VerifiedTimestamp;

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

/// Why a block, a timestamp and an attestation, each valid on its own, do not form a
/// valid triple (SPEC §5).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TripleError {
    /// `t.y != H(b)`.
    #[error("the timestamp attests {attested}, not H(b) = {block}")]
    TimestampOfOtherBlock {
        /// What the timestamp attests, hex (empty when it attests nothing).
        attested: String,
        /// `H(b)`.
        block: Hash32,
    },
    /// `a.s.y != b.u ++ H(t)`.
    #[error("the attestation sequences {got}, not b.u ++ H(t) = {expected}")]
    AttestationOfOtherBytes {
        /// `b.u ++ H(t)`, hex.
        expected: String,
        /// `a.s.y`, hex.
        got: String,
    },
    /// The document was made more than [`CLOCK_SKEW_MS`] before `t.iat`.
    #[error(
        "document made at {document_ms} ms, more than five minutes before the timestamp ({iat} s): clocks disagree"
    )]
    DocumentTooEarly {
        /// The NSM document's timestamp, Unix milliseconds.
        document_ms: u64,
        /// `t.iat`, Unix seconds.
        iat: u64,
    },
}

/// A valid triple `(b, t, a)`: made only by [`bind`], from a block and a timestamp
/// and an attestation that each passed their own checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundTriple {
    block: Hash32,
    parent: Hash32,
    timestamp: Hash32,
    attestation: Hash32,
    k: u64,
    iat: UnixSeconds,
    batch_root: Hash32,
}

impl BoundTriple {
    /// `H(b)`.
    pub fn block(&self) -> Hash32 {
        self.block
    }
    /// `b.t^H`, the parent's timestamp hash.
    pub fn parent(&self) -> Hash32 {
        self.parent
    }
    /// `H(t)`.
    pub fn timestamp(&self) -> Hash32 {
        self.timestamp
    }
    /// `H(a)`.
    pub fn attestation(&self) -> Hash32 {
        self.attestation
    }
    /// `a.s.k`, the sequence number.
    pub fn k(&self) -> u64 {
        self.k
    }
    /// `t.iat`.
    pub fn iat(&self) -> UnixSeconds {
        self.iat
    }
    /// `b.m^H`.
    pub fn batch_root(&self) -> Hash32 {
        self.batch_root
    }
}

/// Checks that `attestation` sequences the block with UUID `uuid` under the timestamp
/// `timestamp` (its hash) issued at `iat`: `a.s.y = b.u ++ H(t)`, and the document
/// made no more than [`CLOCK_SKEW_MS`] before `iat`.
///
/// # Errors
/// The relation that does not hold.
pub fn check_sequenced(
    uuid: &[u8; 16],
    timestamp: &Hash32,
    iat: UnixSeconds,
    attestation: &VerifiedAttestation,
) -> Result<(), TripleError> {
    let expected = y(uuid, timestamp);
    let got = attestation.sequence().y;
    if got != expected {
        return Err(TripleError::AttestationOfOtherBytes {
            expected: hex::encode(expected),
            got: hex::encode(got),
        });
    }
    if !in_time(attestation.timestamp(), iat) {
        return Err(TripleError::DocumentTooEarly {
            document_ms: attestation.timestamp().0,
            iat: iat.0,
        });
    }
    Ok(())
}

/// Binds block `block`, timestamp `timestamp` and attestation `attestation` into a
/// valid triple (SPEC §5): `t.y = H(b)`, then [`check_sequenced`].
///
/// # Errors
/// The relation that does not hold.
pub fn bind(
    block: &Block,
    timestamp: &VerifiedTimestamp,
    attestation: &VerifiedAttestation,
) -> Result<BoundTriple, TripleError> {
    let block_hash = block.hash();
    if timestamp.attested() != Some(block_hash.as_bytes().as_slice()) {
        return Err(TripleError::TimestampOfOtherBlock {
            attested: timestamp.attested().map(hex::encode).unwrap_or_default(),
            block: block_hash,
        });
    }
    let timestamp_hash = timestamp.token_hash();
    check_sequenced(&block.uuid, &timestamp_hash, timestamp.iat(), attestation)?;
    Ok(BoundTriple {
        block: block_hash,
        parent: block.parent_timestamp,
        timestamp: timestamp_hash,
        attestation: attestation.hash(),
        k: attestation.sequence().k,
        iat: timestamp.iat(),
        batch_root: block.batch_root,
    })
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
