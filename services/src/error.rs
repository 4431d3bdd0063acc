//! The one error type of the stand-in services.

use std::path::PathBuf;

use nsm_issuer::IssuerError;
use verifier_core::sequence::SequenceError;
use verifier_core::trust::TrustError;

/// Why a stand-in service could not do what was asked.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// A file or directory could not be read, written or created.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        reason: String,
    },
    /// An existing key file does not hold a usable key. It is left untouched.
    #[error("{}: not a usable {expected}: {reason} (the file was left as it is; move it away to create a new key)", path.display())]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What the file should hold, e.g. "PKCS#8 PEM RSA-2048 private key".
        expected: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A saved sequencer state file does not hold a usable state. It is left untouched.
    #[error("{}: not a usable sequencer state: {reason}", path.display())]
    BadStateFile {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("the system random source failed: {reason}")]
    Random {
        /// The error reported.
        reason: String,
    },
    /// An RSA key could not be generated, encoded or used.
    #[error("RSA {operation} failed: {reason}")]
    Rsa {
        /// What was being done.
        operation: &'static str,
        /// The error reported.
        reason: String,
    },
    /// A configuration value is unusable.
    #[error("{what} {got:?} is unusable: {reason}")]
    Config {
        /// Which value.
        what: &'static str,
        /// The value given.
        got: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// A time plus a token lifetime does not fit in 64 bits.
    #[error("iat {iat} + lifetime {lifetime} s does not fit in 64 bits")]
    TimeOverflow {
        /// The issue time asked for, in seconds.
        iat: u64,
        /// The token lifetime, in seconds.
        lifetime: u64,
    },
    /// Every sequence number has been used.
    #[error("the sequence counter is exhausted: got {count} attestations, the most is {max}")]
    CounterExhausted {
        /// How many attestations have been made.
        count: u64,
        /// The largest number of attestations.
        max: u64,
    },
    /// The stand-in NSM issuer failed (e.g. the time is outside the test root's validity).
    #[error("the test CA could not issue: {0}")]
    Issuer(#[from] IssuerError),
    /// A sequencer key is not a valid Ed25519 public key.
    #[error("sequencer key: {0}")]
    SequencerKey(#[from] SequenceError),
    /// The trust descriptor could not be assembled.
    #[error("trust descriptor: {0}")]
    Trust(#[from] TrustError),
    /// `/dev/nsm` could not issue a document (only with the `enclave` feature).
    #[cfg(feature = "enclave")]
    #[error("the NSM: {0}")]
    Nsm(#[from] crate::enclave::NsmError),
}

impl ServiceError {
    /// An [`ServiceError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, error: &std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            reason: error.to_string(),
        }
    }
}
