//! # zipchain verifier for JavaScript
//!
//! The `wasm-bindgen` adapter over [`verifier_core`] (crate
//! `zipchain-verifier-core`) for browsers and Node (SPEC §8). It has no logic of
//! its own, in the manner of azul's `tlog_tiles_wasm`: each export takes its input
//! from JS, calls the core and maps the result to a JS value. Nothing here reads a
//! clock; JS passes times in.
//!
//! Exports so far:
//! - `sha3_256Hex(bytes: Uint8Array): string` — `H` of SPEC §0.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use verifier_core::hash::Hash32;
use wasm_bindgen::prelude::wasm_bindgen;

/// Runs once when the module is instantiated: makes a Rust panic show its message
/// in the JS console (a panic would otherwise surface only as "unreachable").
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// `H(bytes)`: the SHA3-256 of `bytes` (SPEC §0) as 64 lowercase hex digits.
///
/// Accepts any `Uint8Array` (or array of numbers); never throws for its contents.
#[wasm_bindgen(js_name = sha3_256Hex)]
pub fn sha3_256_hex(bytes: &[u8]) -> String {
    Hash32::digest(bytes).to_hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha3_256_hex_abc() {
        // FIPS 202 example "abc"; verifier-wasm/tests/smoke.mjs checks the same value through JS.
        assert_eq!(
            sha3_256_hex(b"abc"),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
    }
}
