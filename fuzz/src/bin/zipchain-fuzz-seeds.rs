//! `zipchain-fuzz-seeds DIR`: writes the seed corpus of every fuzz target into
//! `DIR/<target>/`, made from the shared vectors and from a chain the test kit builds
//! through the stand-in services (docs/FUZZING.md). DIR is emptied first.

use std::path::PathBuf;
use std::process::ExitCode;

use verifier_core::snapshot::ObjectKind;
use zipchain_fuzz::seeds::{self, Corpora};
use zipchain_testkit::ChainKit;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: zipchain-fuzz-seeds DIR");
        return ExitCode::from(2);
    };
    let mut corpora = seeds::from_vectors();
    testkit_chain(&mut corpora);
    let _ = std::fs::remove_dir_all(&dir);
    let mut total = 0;
    for (target, files) in &corpora {
        let sub = dir.join(target);
        if let Err(e) = std::fs::create_dir_all(&sub) {
            eprintln!("{}: {e}", sub.display());
            return ExitCode::FAILURE;
        }
        for (name, bytes) in files {
            if let Err(e) = std::fs::write(sub.join(name), bytes) {
                eprintln!("{}: {e}", sub.join(name).display());
                return ExitCode::FAILURE;
            }
        }
        println!("{target:<20} {:>4} seeds", files.len());
        total += files.len();
    }
    println!("{total} seeds in {}", dir.display());
    ExitCode::SUCCESS
}

/// The objects of a short chain the test kit builds with the stand-in TSA and sequencer:
/// blocks, timestamps, attestations and batches as this project's own services make them.
fn testkit_chain(corpora: &mut Corpora) {
    let mut kit = ChainKit::new();
    let genesis = kit.genesis().clone();
    let txs: Vec<Vec<u8>> = (0..40u32)
        .map(|i| format!("testkit-tx-{i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = txs.iter().map(Vec::as_slice).collect();
    let b1 = kit.append(&genesis, &refs);
    kit.append(&b1, &refs[..1]);
    for (kind, key, bytes) in kit.snapshot().iter() {
        let name = format!("testkit-{}", &key.to_hex()[..16]);
        let targets: &[&'static str] = match kind {
            ObjectKind::Block => &["block"],
            ObjectKind::Timestamp => &["jwt"],
            ObjectKind::Attestation => &["nsm", "sequence", "cbor"],
            ObjectKind::Batch => &["batch", "writer_batch", "cbor"],
        };
        for target in targets {
            seeds::add(corpora, target, name.clone(), bytes.to_vec());
        }
    }
}
