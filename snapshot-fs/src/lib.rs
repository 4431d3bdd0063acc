//! # zipchain-snapshot-fs
//!
//! The one place where native zipchain crates touch snapshot directories and write files
//! that must survive a crash. It owns:
//!
//! - [`atomic`]: crash-safe writes (a temporary file in the same directory, fsync, rename
//!   or hard link, fsync of the directory), private (0600) files, and the small helpers
//!   around them (`sync_dir`, `create_dir`, `read_if_exists`). The writer, the stand-in
//!   services and the snapshot writes below all go through it.
//! - [`dir`]: the SPEC §2.1 snapshot directory (`chain.json`, `blocks/`, `timestamps/`,
//!   `attestations/`, `batches/`): [`dir::DirSnapshot`] lists and reads one on demand for an
//!   audit (it implements the core's `AuditSource` and `ObjectSource`) or loads it whole,
//!   and [`dir::write_object`] / [`dir::write_snapshot`] write objects into one. The CLI,
//!   the writer's object mirror, `zipchain pull` and the test kit use it.
//!
//! - [`audit_state`]: the directory where a resumed audit keeps its state between runs
//!   (`zipchain audit --state`, the witness daemon), crash-safe and locked.
//!
//! `verifier-core` stays sans-IO: it defines the formats and the traits, this crate does
//! the file system. Native only; neither `verifier-core` nor `verifier-wasm` depends on it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod atomic;
pub mod audit_state;
pub mod dir;
