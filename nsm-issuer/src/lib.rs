//! Stand-in NSM issuer (SPEC §1.5, §7.3). Filled in by issue #2.
