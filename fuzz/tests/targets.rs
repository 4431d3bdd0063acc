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

/// Found by AFL++ (`writer_cosignatures`, 7 crashes, one bug): a checkpoint of another
/// origin was refused with its origin quoted whole, so a request's 6 KB origin line came
/// back in the writer's `400` (and the witness's and the certificate check's messages
/// likewise). Each seed's origin made 6,000 bytes long must still pass the targets'
/// bounds on messages.
#[test]
fn a_long_origin_is_quoted_within_bounds() {
    let corpora = seeds::from_vectors();
    let long = format!("zipchain{}", "A".repeat(6000));
    let mut ran = 0;
    for name in [
        "writer_cosignatures",
        "witness_add_checkpoint",
        "certificate",
    ] {
        let target = TARGETS.iter().find(|t| t.name == name).unwrap();
        for (_, seed) in &corpora[name] {
            let Ok(text) = std::str::from_utf8(seed) else {
                continue;
            };
            let Some(origin) = text.lines().find(|l| l.contains("zipchain/")) else {
                continue;
            };
            let start = origin.find("zipchain/").unwrap();
            let end = origin[start..]
                .find(['"', '\\'])
                .map_or(origin.len(), |e| start + e);
            let mutated = text.replace(&origin[start..end], &long);
            (target.run)(mutated.as_bytes());
            ran += 1;
        }
    }
    assert!(ran >= 3, "{ran} seeds had an origin");
}
