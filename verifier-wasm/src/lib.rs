//! wasm-bindgen adapter over verifier-core. Filled in by issue #2/#5.
