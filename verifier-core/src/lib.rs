//! # zipchain verifier core
//!
//! The offline verifier of the zipchain "trusted services" ledger (SPEC v1,
//! `../shared/SPEC.md`). Sans-IO in the manner of `rustls`/`rustls-webpki`: every
//! function takes bytes and the time to check at, and returns a typed verdict.
//! Nothing here reads a file, the network or a clock; the CLI, the WASM module
//! and the writer are thin adapters over this crate.
//!
//! Modules, one concern each:
//! - [`crypto`]: the crypto seam, RS256, ES384 and Ed25519 behind one trait, with a pure-Rust
//!   backend (the default) and, natively with the `aws-lc` feature, aws-lc-rs.
//! - [`hash`]: SHA3-256 and the 32-byte [`hash::Hash32`] used for every object key.
//! - [`time`]: [`time::UnixMillis`] and [`time::UnixSeconds`]; time is always an argument.
//! - [`nsm`]: AWS Nitro NSM attestation documents (SPEC §1.5).
//! - [`timestamp`]: Cognito-format RS256 timestamp JWTs (SPEC §1.3).
//! - [`sequence`]: the 121-byte sequence attestation and `check(K_S+, a)` (SPEC §1.4, §1.5).
//! - [`trust`]: the trust descriptor `chain.json` that pins `b0`, `K_S+` and the timestamp pool (SPEC §1.6).
//! - [`merkle`]: RFC 9162 Merkle roots and inclusion proofs over transaction ids (SPEC §1.1).
//! - [`block`]: the 81-byte block `⟨u, m^H, t^H⟩` (SPEC §1.2).
//! - [`batch`]: the strict canonical CBOR batch of transactions (SPEC §1.1).
//! - [`snapshot`]: the snapshot layout, read from a tar in memory, and object keys (SPEC §2.1).
//! - [`chain`]: validating a snapshot and choosing the main chain with `omc` (SPEC §5).
//! - [`certificate`]: `makeCertificate` and the certificate check (SPEC §3, §5).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod batch;
pub mod block;
mod cbor;
pub mod certificate;
pub mod chain;
pub mod crypto;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hash;
mod json;
pub mod merkle;
pub mod nsm;
pub mod sequence;
pub mod snapshot;
mod text;
pub mod time;
pub mod timestamp;
pub mod tlog;
pub mod triple;
pub mod trust;
pub mod verdict;
