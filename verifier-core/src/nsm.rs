//! AWS Nitro NSM attestation documents (SPEC §1.5). Filled in by issue #2.
