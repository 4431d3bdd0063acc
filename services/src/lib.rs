//! # zipchain trusted-service stand-ins
//!
//! The services of SPEC §7.2 and §7.3 as libraries, free of HTTP, so that the writer can
//! embed them in-process, a test kit can drive them directly, and the HTTP binaries stay
//! thin adapters:
//!
//! - [`tsa`]: [`tsa::TimestampAuthority`], the local stand-in for Amazon Cognito. It signs
//!   RS256 JWTs in the exact Cognito ID-token shape whose username attests `hex(y)@domain`.
//! - [`sequencer`]: [`sequencer::Sequencer`], the enclave application's core. It numbers
//!   each new `y` and wraps the signed sequence attestation in an NSM document issued by
//!   an [`attestation::AttestationSource`]: the stand-in test CA
//!   ([`attestation::StandInNsm`]), or `/dev/nsm` in a real Nitro enclave (`enclave`, with
//!   the cargo feature `enclave`; docs/ENCLAVE.md).
//! - [`chain_kit`]: builds the trust descriptor (SPEC §1.6) that pins a TSA, a sequencer
//!   and a test CA root.
//!
//! - [`http`]: the daemons `zipchain-tsa` and `zipchain-sequencer` (SPEC §7.2, §7.3) as
//!   axum routers, and [`client`]: the async clients a writer calls them with.
//!
//! Only [`http`] reads a clock; everywhere else every time is an argument, as in the
//! verifier core.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod attestation;
pub mod chain_kit;
pub mod client;
#[cfg(feature = "enclave")]
pub mod enclave;
mod error;
pub mod http;
pub mod sequencer;
pub mod tsa;

pub use error::ServiceError;
