//! Sequence attestations (SPEC §1.4). Filled in by issue #2.
