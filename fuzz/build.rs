//! Declares `cfg(fuzzing)`, which `cargo afl` passes to the instrumented build.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
}
