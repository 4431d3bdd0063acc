//! `make-snapshot`: writes a test-kit chain of N main-chain blocks, with forks, as a
//! SPEC §2.1 snapshot directory (`chain.json`, `blocks/`, `timestamps/`,
//! `attestations/`, `batches/`), for the full-audit benchmark.
//!
//! Every object is real: RS256 timestamps from the kit's TSA, NSM documents from its
//! sequencer and test CA. The work is a two-stage pipeline, since the timestamp chain
//! is strictly sequential (block `i+1` names `H(t_i)`, and `t_i` signs `H(b_i)`):
//! one thread builds blocks and signs their JWTs (RSA), the main thread sequences them
//! (Ed25519 + P-384) in the same order, and files are written by rayon in batches.
//! Build it with `--release`: both signatures are slow unoptimised.
//!
//! Shape: the main chain `b1..bN`; at every `--fork-every`-th height `h` a losing
//! branch of `--fork-len` blocks on `b(h-1)`, built and sequenced right after `bh`, so
//! it has higher sequence numbers and loses (SPEC §5). Block `bh` holds
//! `--txs` transactions `"block <h> tx <i>"`; fork blocks hold `"fork <h>.<j>"`.
//!
//! `--equivocation-out FILE` also has a rolled-back twin of the sequencer number a
//! sibling of `b1` (on `b0`, transaction `"equivocal"`) with `b1`'s sequence number 1,
//! and writes that block's four objects, NOT into the snapshot, but into FILE as JSON
//! `{"sequence": 1, "objects": [{"path": "blocks/<hex>", "base64": "…"}, …]}`: added to
//! the snapshot they make one whose sequencer equivocated (SPEC §5), for the npm tests.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Parser;
use rayon::prelude::*;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_testkit::{
    ChainKit, Sealed, create_dirs, document_time, random_uuid, seal, write_object,
};

/// Writes a test-kit chain as a snapshot directory.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Output directory (created; must not hold a snapshot already).
    #[arg(long, short)]
    out: PathBuf,
    /// Main-chain blocks after genesis.
    #[arg(long, short = 'n', default_value_t = 1000)]
    blocks: u64,
    /// A losing fork at every this many heights (0: no forks).
    #[arg(long, default_value_t = 100)]
    fork_every: u64,
    /// Blocks in each losing fork.
    #[arg(long, default_value_t = 2)]
    fork_len: u64,
    /// Transactions per main-chain block.
    #[arg(long, default_value_t = 4)]
    txs: u64,
    /// Also write the objects of an equivocating sibling of b1 to this JSON file.
    #[arg(long)]
    equivocation_out: Option<PathBuf>,
}

/// Objects written per rayon batch.
const FLUSH_EVERY: usize = 4096;

fn main() -> Result<()> {
    let args = Args::parse();
    if args.out.join("chain.json").exists() {
        anyhow::bail!("{} already holds a snapshot", args.out.display());
    }
    let started = Instant::now();
    let mut kit = ChainKit::try_new().context("starting the stand-in services")?;
    create_dirs(&args.out)?;
    kit.write_dir(&args.out)
        .context("writing chain.json and genesis")?;
    let tsa = kit.tsa().clone();
    let genesis = kit.genesis().clone();
    let start_clock = kit.clock();
    let total = args.blocks + args.blocks.checked_div(args.fork_every).unwrap_or(0) * args.fork_len;
    eprintln!(
        "make-snapshot: {} main-chain blocks and {} fork blocks into {}",
        args.blocks,
        total - args.blocks,
        args.out.display()
    );

    let (tx, rx) = mpsc::sync_channel::<Sealed>(1024);
    let producer_args = (args.blocks, args.fork_every, args.fork_len, args.txs);
    std::thread::scope(|scope| -> Result<()> {
        let producer = scope.spawn(move || -> Result<()> {
            let (blocks, fork_every, fork_len, txs) = producer_args;
            let mut clock = start_clock;
            let mut parent = genesis;
            for h in 1..=blocks {
                clock += 1;
                let data = (0..txs)
                    .map(|i| format!("block {h} tx {i}").into_bytes())
                    .collect();
                let main = seal(&tsa, &parent, random_uuid()?, data, clock);
                let next = main.built.clone();
                if tx.send(main).is_err() {
                    return Ok(());
                }
                if fork_every != 0 && h % fork_every == 0 {
                    let mut fork_parent = parent.clone();
                    for j in 0..fork_len {
                        clock += 1;
                        let data = vec![format!("fork {h}.{j}").into_bytes()];
                        let sealed = seal(&tsa, &fork_parent, random_uuid()?, data, clock);
                        fork_parent = sealed.built.clone();
                        if tx.send(sealed).is_err() {
                            return Ok(());
                        }
                    }
                }
                parent = next;
            }
            Ok(())
        });

        let mut pending: Vec<(ObjectKind, Hash32, Vec<u8>)> = Vec::with_capacity(FLUSH_EVERY);
        let mut done = 0u64;
        let mut last_report = Instant::now();
        for sealed in rx {
            let y = sealed.built.y();
            let doc = kit
                .sequencer_mut()
                .sequence(y, document_time(sealed.built.iat))
                .context("sequencing")?;
            for (kind, key, bytes) in sealed.objects() {
                pending.push((kind, key, bytes.to_vec()));
            }
            pending.push((
                ObjectKind::Attestation,
                Hash32::digest(&doc.document),
                doc.document,
            ));
            if pending.len() >= FLUSH_EVERY {
                flush(&args.out, &mut pending)?;
            }
            done += 1;
            if last_report.elapsed().as_secs() >= 5 || done == total {
                last_report = Instant::now();
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "  {done}/{total} blocks, {:.0} blocks/s, {secs:.0} s",
                    done as f64 / secs
                );
            }
        }
        flush(&args.out, &mut pending)?;
        producer
            .join()
            .map_err(|_| anyhow::anyhow!("the block builder panicked"))??;
        Ok(())
    })?;
    if let Some(path) = &args.equivocation_out {
        write_equivocation(&mut kit, path)?;
    }
    eprintln!(
        "make-snapshot: {} blocks in {:.1} s; genesis {}",
        total + 1,
        started.elapsed().as_secs_f64(),
        kit.trust().genesis()
    );
    Ok(())
}

fn flush(out: &std::path::Path, pending: &mut Vec<(ObjectKind, Hash32, Vec<u8>)>) -> Result<()> {
    pending
        .par_iter()
        .try_for_each(|(kind, key, bytes)| write_object(out, *kind, key, bytes))?;
    pending.clear();
    Ok(())
}

/// Has a rolled-back twin of the sequencer give `b1`'s sequence number 1 to a sibling
/// of `b1`, and writes the sibling's four objects to `path` (see the module doc).
fn write_equivocation(kit: &mut ChainKit, path: &std::path::Path) -> Result<()> {
    use base64::Engine as _;
    const K: u64 = 1;
    let genesis = kit.genesis().clone();
    let e = kit.equivocate(&genesis, &[b"equivocal"], K);
    let attestation = e
        .attestation
        .context("the equivocating block is sequenced")?;
    let mut objects = Vec::new();
    for (kind, key) in [
        (ObjectKind::Block, e.block),
        (ObjectKind::Timestamp, e.timestamp),
        (ObjectKind::Attestation, attestation),
        (ObjectKind::Batch, e.batch_root),
    ] {
        let bytes = kit
            .snapshot()
            .get(kind, &key)
            .with_context(|| format!("the equivocating {kind} {key} was stored"))?;
        objects.push(serde_json::json!({
            "path": format!("{}/{key}", kind.dir()),
            "base64": base64::engine::general_purpose::STANDARD.encode(bytes),
        }));
    }
    let json = serde_json::json!({ "sequence": K, "objects": objects });
    std::fs::write(path, format!("{json:#}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
