//! The main chain: validating every object of a snapshot and choosing the main chain
//! with the corrected `omc` of SPEC §5.
//!
//! The work is split in two so that the expensive half runs in parallel and the
//! memory stays small on large snapshots:
//!
//! 1. [`Auditor::examine`] checks ONE object (hash against its name, format, JWT,
//!    NSM and sequence signatures) and keeps only the compact facts `omc` needs.
//!    It takes `&self` and can run on many threads at once.
//! 2. [`AuditBuilder`] gathers the facts, forms the valid triples `(b, t, a)` and
//!    runs [`omc`] in O(n log n): every index is built once, nothing is rescanned.
//!
//! [`Auditor::audit_source`] does both over any [`AuditSource`] (a directory read on
//! demand by the caller's I/O, or an in-memory [`Snapshot`]: [`Auditor::audit`]).
//!
//! One concern per file: `examine` (one object, and a whole in-memory snapshot),
//! `builder` ([`AuditBuilder`]: triples, main chain, findings), `omc` (the algorithm
//! and its packed join), `coverage` (sequence gaps), `collections` (the one index
//! sort, seeded hash maps, the group index), `report` ([`Audit`], [`AuditReport`]),
//! `source` ([`AuditSource`] and the audit loop over it), `resume` ([`ResumableAudit`]:
//! an audit kept between runs that verifies only new objects), `known_names` (a kept
//! audit's lookup of the names it has seen, that a listing streams past).
//! The imports below serve them all (each file has `use super::*`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use serde::Serialize;

use crate::batch::{Batch, BatchBudget};
use crate::block::Block;
use crate::certificate::ObjectSource;
use crate::crypto::CryptoBackend;
use crate::hash::Hash32;
use crate::nsm::{NsmVerifier, VerifyAt};
use crate::sequence::{
    CheckError, SequenceVerifier, SequencerKey, VerifiedAttestation, check_with,
};
use crate::snapshot::{ObjectKind, Snapshot};
use crate::time::{UnixMillis, UnixSeconds};
use crate::timestamp::TimestampVerifier;
use crate::tlog::note::VerifierKey;
use crate::tlog::policy::WitnessPolicy;
use crate::trust::{TrustDescriptor, TrustError};

pub use crate::triple::CLOCK_SKEW_MS;

mod builder;
mod collections;
mod coverage;
mod examine;
mod known_names;
mod omc;
mod report;
mod resume;
mod resume_codec;
#[cfg(test)]
mod resume_tests;
mod source;
#[cfg(test)]
mod tests;

pub use builder::*;
pub use collections::*;
use coverage::*;
pub use examine::*;
pub use omc::*;
pub use report::*;
pub use resume::{Changes, ListingDiff, ResumableAudit, ResumeError};
pub use resume_codec::{
    FINAL_RECORD, MAIN_RECORD, STATE_VERSION, StateBytes, StateDecoder, StateError, StateParts,
};
pub use source::*;
