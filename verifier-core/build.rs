//! Finds the shared test vectors (`../shared/vectors` beside the repository, or
//! `$ZIPCHAIN_VECTORS`) so that tests can embed them with `include_bytes!` on every
//! target, wasm32 included, without copying them into the repository. Where the
//! folder is absent the vector tests compile to a test that says they were skipped.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(zipchain_vectors)");
    println!("cargo::rerun-if-env-changed=ZIPCHAIN_VECTORS");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = match std::env::var_os("ZIPCHAIN_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../../shared/vectors"),
    };
    println!("cargo::rerun-if-changed={}", dir.display());
    if dir.join("nitro/docs/MANIFEST.json").is_file() {
        if let Ok(dir) = dir.canonicalize() {
            println!("cargo::rustc-cfg=zipchain_vectors");
            println!("cargo::rustc-env=ZIPCHAIN_VECTORS_DIR={}", dir.display());
        }
    } else {
        println!(
            "cargo::warning=test vectors not found at {} (set ZIPCHAIN_VECTORS); vector tests will be skipped",
            dir.display()
        );
    }
}
