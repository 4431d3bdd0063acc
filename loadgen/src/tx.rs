//! Unique transactions of a fixed size.
//!
//! A transaction is `run nonce (16) ‖ stream (4, big-endian) ‖ counter (8, big-endian)`, padded
//! with `0x5a` to the size asked. The run nonce is the SHA3-256 of the clock and process id, so
//! two runs against the same writer do not resend each other's transactions (a repeated
//! transaction is still acknowledged, but it would not measure a new write).

use std::time::{SystemTime, UNIX_EPOCH};

use verifier_core::hash::Hash32;

/// The smallest transaction that holds the nonce, stream and counter.
pub const MIN_TX_BYTES: usize = 28;

/// Makes the transactions of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxMaker {
    nonce: [u8; 16],
    size: usize,
}

impl TxMaker {
    /// A maker of `size`-byte transactions with a fresh run nonce; `None` below
    /// [`MIN_TX_BYTES`].
    pub fn new(size: usize) -> Option<Self> {
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut seed = clock.to_be_bytes().to_vec();
        seed.extend_from_slice(&std::process::id().to_be_bytes());
        let digest = Hash32::digest(&seed);
        let mut nonce = [0; 16];
        nonce.copy_from_slice(digest.as_bytes().get(..16)?);
        Self::with_nonce(nonce, size)
    }

    /// A maker with a given run nonce (tests).
    pub fn with_nonce(nonce: [u8; 16], size: usize) -> Option<Self> {
        (size >= MIN_TX_BYTES).then_some(Self { nonce, size })
    }

    /// The size of every transaction, in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Transaction number `counter` of stream `stream`.
    pub fn make(&self, stream: u32, counter: u64) -> Vec<u8> {
        let mut tx = Vec::with_capacity(self.size);
        tx.extend_from_slice(&self.nonce);
        tx.extend_from_slice(&stream.to_be_bytes());
        tx.extend_from_slice(&counter.to_be_bytes());
        tx.resize(self.size, 0x5a);
        tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_are_unique_and_sized() {
        let m = TxMaker::with_nonce([1; 16], 64).unwrap();
        assert_eq!(m.make(0, 0).len(), 64);
        assert_ne!(m.make(0, 1), m.make(1, 0));
        assert_ne!(m.make(0, 1), m.make(0, 2));
        assert!(TxMaker::with_nonce([1; 16], 27).is_none());
        assert_ne!(
            TxMaker::new(64).unwrap().make(0, 0),
            TxMaker::with_nonce([0; 16], 64).unwrap().make(0, 0)
        );
    }
}
