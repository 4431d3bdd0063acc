//! Timestamp attestations: Cognito-format RS256 JWTs (SPEC §1.3). Filled in by issue #2.
