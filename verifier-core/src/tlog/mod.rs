//! Finality that travels (SPEC §9): the main-chain log, its checkpoints and the signed
//! notes that carry them, in the C2SP formats (`tlog-checkpoint`, `signed-note`,
//! `tlog-cosignature`) so that existing witnesses and tools work.
//!
//! `tree` is the log's SHA-256 Merkle tree with its inclusion and consistency proofs;
//! `note` the signed notes, verifier keys, Ed25519 note signatures and cosignatures;
//! `signer` the signer-key text of log and witness keys;
//! `checkpoint` the checkpoint body of a zipchain main chain; `log` the log of an
//! audit's main chain; `policy` the witness
//! policy and the check of a cosigned checkpoint under it; `witness` what a witness may
//! cosign (SPEC §9.3) and the cosigning; `add_checkpoint` the C2SP tlog-witness request
//! and the witness daemon's answer to it (SPEC §9.6).

pub mod add_checkpoint;
pub mod checkpoint;
pub mod log;
pub mod note;
pub mod policy;
pub mod signer;
pub mod tree;
pub mod witness;
