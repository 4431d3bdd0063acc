//! Every fuzz target on its seed corpus and on deterministic mutations of it, without
//! the fuzzer: the harness works, every seed passes its own properties, and the first
//! mutations do not break them either. (The fuzzer itself runs in `scripts/fuzz.sh`.)

use zipchain_fuzz::{TARGETS, mutate, seeds};

/// Mutations per target (fewer for the targets that audit a whole snapshot).
fn budget(target: &str) -> usize {
    match target {
        "snapshot" => 40,
        "nsm" | "sequence" | "certificate" | "audit_state" => 400,
        _ => 2000,
    }
}

#[test]
fn every_target_passes_its_seeds_and_their_mutations() {
    let corpora = seeds::from_vectors();
    for target in TARGETS {
        let seeds = &corpora[target.name];
        let inputs: Vec<&[u8]> = seeds.iter().map(|(_, b)| b.as_slice()).collect();
        for (name, bytes) in seeds {
            eprintln!("{} seed {name} ({} bytes)", target.name, bytes.len());
            (target.run)(bytes);
        }
        let per_seed = budget(target.name).div_ceil(inputs.len());
        let mut ran = 0;
        for input in &inputs {
            for (i, m) in mutate::mutations(input, &inputs, per_seed).enumerate() {
                let result = std::panic::catch_unwind(|| (target.run)(&m));
                assert!(
                    result.is_ok(),
                    "target {} failed on mutation {i} of a {}-byte seed: {}",
                    target.name,
                    input.len(),
                    hex::encode(&m)
                );
                ran += 1;
            }
        }
        eprintln!("{}: {} seeds, {ran} mutations", target.name, seeds.len());
    }
}
