//! # zipchain fuzz targets
//!
//! One target per parser of outside input (issue #18), run by AFL++ through `cargo afl`
//! on the stable toolchain (`src/bin/zipchain-fuzz.rs`), by this crate's tests on seed
//! corpora and their mutations, and by `scripts/fuzz.sh` in CI. docs/FUZZING.md says how
//! to run them and what the long runs found.
//!
//! - [`targets`]: the targets and the properties they assert;
//! - [`fixtures`]: what they check inputs against, read from the shared vectors;
//! - [`seeds`]: the seed corpora, made from the vectors at run time (never committed);
//! - [`mutate`]: deterministic mutations of an input, for the tests and the differential
//!   tests;
//! - [`framing`]: several inputs in one;
//! - [`differential`]: the bookkeeping of the differential tests.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod differential;
pub mod fixtures;
pub mod framing;
pub mod mutate;
pub mod seeds;
pub mod targets;

/// A fuzz target: its name (the fuzzer's argument and the corpus folder), what it
/// parses, and the function the fuzzer calls.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The name.
    pub name: &'static str,
    /// What it parses, in words.
    pub about: &'static str,
    /// Runs one input; panics when a property fails.
    pub run: fn(&[u8]),
}

/// Every target, in the order CI runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "nsm",
        about: "NSM attestation documents (COSE_Sign1/CBOR), verified and as a verdict",
        run: targets::nsm,
    },
    Target {
        name: "x509",
        about: "X.509 certificates: nsm/x509.rs, webpki, as a trusted root",
        run: targets::x509,
    },
    Target {
        name: "cbor",
        about: "the strict CBOR walker, the payload item decoder, COSE_Sign1",
        run: targets::cbor,
    },
    Target {
        name: "jwt",
        about: "timestamp JWTs under the Cognito and conformance pools",
        run: targets::jwt,
    },
    Target {
        name: "jwks",
        about: "JWK sets, and the JWT verdict under them",
        run: targets::jwks,
    },
    Target {
        name: "block",
        about: "81-byte blocks",
        run: targets::block,
    },
    Target {
        name: "batch",
        about: "canonical CBOR batches",
        run: targets::batch,
    },
    Target {
        name: "sequence",
        about: "sequence attestations and check(K_S+, a)",
        run: targets::sequence,
    },
    Target {
        name: "certificate",
        about: "certificates v1 and v2 under a fixed descriptor",
        run: targets::certificate,
    },
    Target {
        name: "note",
        about: "signed notes and verifier keys",
        run: targets::note,
    },
    Target {
        name: "checkpoint",
        about: "checkpoint bodies",
        run: targets::checkpoint,
    },
    Target {
        name: "trust",
        about: "trust descriptors chain.json",
        run: targets::trust,
    },
    Target {
        name: "snapshot",
        about: "snapshot .tar files, read and audited",
        run: targets::snapshot,
    },
    Target {
        name: "shard",
        about: "replication shards and their decoding",
        run: targets::shard,
    },
    Target {
        name: "resume_state",
        about: "ResumableAudit::decode (three framed parts)",
        run: targets::resume_state,
    },
    Target {
        name: "audit_state",
        about: "the audit state directory's files (three framed parts)",
        run: targets::audit_state,
    },
    Target {
        name: "writer_batch",
        about: "the writer's POST /v1/batch body",
        run: targets::writer_batch,
    },
    Target {
        name: "writer_cosignatures",
        about: "the writer's POST /v1/checkpoint/cosignatures body",
        run: targets::writer_cosignatures,
    },
    Target {
        name: "witness_add_checkpoint",
        about: "the witness's POST /add-checkpoint body, and its decision",
        run: targets::witness_add_checkpoint,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
