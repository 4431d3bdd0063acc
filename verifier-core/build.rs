//! Finds the shared test vectors (`../shared/vectors` beside the repository, or
//! `$ZIPCHAIN_VECTORS`) so that tests can embed them with `include_bytes!` on every
//! target, wasm32 included, without copying them into the repository. Where the
//! folder is absent the vector tests compile to a test that says they were skipped.

use std::path::PathBuf;

use sha2::Digest;

/// SHA-256 of the DER of AWS Nitro Enclaves Root-G1 (`src/nsm/aws_nitro_root_g1.der`).
const AWS_ROOT_SHA256: &str = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

fn main() {
    check_embedded_root();
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

/// Refuses to build with an embedded trust anchor other than AWS Nitro Root-G1.
fn check_embedded_root() {
    let path = "src/nsm/aws_nitro_root_g1.der";
    println!("cargo::rerun-if-changed={path}");
    let der = std::fs::read(path).unwrap_or_default();
    let got: String = sha2::Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        got, AWS_ROOT_SHA256,
        "{path} is not AWS Nitro Enclaves Root-G1"
    );
}
