//! One module per subcommand; each turns its arguments into a checked
//! configuration, calls verifier-core and reports.

pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod cosign;
pub(crate) mod jwt;
pub(crate) mod nsm;
pub(crate) mod pull;
pub(crate) mod verify;
pub(crate) mod witness;
