//! Shared helpers for the integration tests: the shared vectors, embedded at
//! compile time so that the same tests run natively and on wasm32 under node.
#![allow(dead_code, unused_macros)]

/// The bytes of a file under `../shared/vectors/`, e.g. `vector!("nitro/docs/x.cbor")`.
/// Only usable under `#[cfg(zipchain_vectors)]` (set by `build.rs` when the folder exists).
macro_rules! vector {
    ($path:literal) => {
        include_bytes!(concat!(env!("ZIPCHAIN_VECTORS_DIR"), "/", $path)).as_slice()
    };
}

/// Like [`vector!`] but as text.
macro_rules! vector_str {
    ($path:literal) => {
        include_str!(concat!(env!("ZIPCHAIN_VECTORS_DIR"), "/", $path))
    };
}

/// Says, once per test binary that has no vectors, why its vector tests did not run.
pub fn vectors_absent(test: &str) {
    eprintln!(
        "SKIPPED {test}: ../shared/vectors not found when this test was built (set ZIPCHAIN_VECTORS and rebuild)"
    );
}
