//! Points in time, always passed in by the caller: this crate never reads a clock.
//!
//! The unit is in the type's name (as azul's `extract_timestamp_millis`): NSM
//! documents count milliseconds, X.509 and JWTs count seconds.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (the NSM document `timestamp` unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnixMillis(pub u64);

/// Seconds since the Unix epoch (X.509 validity, JWT `iat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnixSeconds(pub u64);

impl UnixMillis {
    /// The whole seconds in this instant, rounded down (`floor(ms / 1000)`).
    pub fn to_seconds(self) -> UnixSeconds {
        UnixSeconds(self.0 / 1000)
    }
}

impl UnixSeconds {
    /// This instant in milliseconds, saturating at `u64::MAX`.
    pub fn to_millis(self) -> UnixMillis {
        UnixMillis(self.0.saturating_mul(1000))
    }
}

/// An inclusive window `[not_before, not_after]` in seconds, e.g. the
/// intersection of the validity periods of a certificate chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidityWindow {
    /// The first second at which everything in the window is valid.
    pub not_before: UnixSeconds,
    /// The last second at which everything in the window is valid.
    pub not_after: UnixSeconds,
}

impl ValidityWindow {
    /// Whether `t` lies inside the window (both ends inclusive).
    pub fn contains(&self, t: UnixSeconds) -> bool {
        self.not_before <= t && t <= self.not_after
    }
}
