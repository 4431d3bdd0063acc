//! Bench binary: `omc` alone, and the whole post-validation audit step
//! (`AuditBuilder::finish`: triples, `omc`, forks, findings), over pre-validated
//! synthetic chains of 10k, 100k and 1M blocks with forks.
//!
//! Run: `cargo bench -p zipchain-verifier-core --bench omc` (add sizes as arguments,
//! e.g. `-- 10000 100000`; `--omc-only` skips the audit-finish timing). Prints the median of
//! several runs per size and the 1M/100k ratio, which must stay at or below 12 (linear
//! growth is 10); with both sizes, also that ratio measured in alternating 100k/1M rounds
//! (the figure to quote: both sides of each ratio ran under the same machine conditions).
//!
//! `--hostile` instead times `AuditBuilder::finish` on chains of the same shape whose
//! keys are random (SHA3 outputs) and crafted (every block hash, parent field,
//! attested hash and UUID sharing its first 24 bytes, as a block builder or timestamp
//! requester can choose them, issue #13), in alternating rounds at 10k and 100k blocks
//! (or the sizes given), and prints the crafted/random ratio, which must stay near 1.

use std::time::{Duration, Instant};

use zipchain_verifier_core::block::Block;
use zipchain_verifier_core::chain::{AuditBuilder, Examined, ValidTriple, omc};
use zipchain_verifier_core::hash::Hash32;
use zipchain_verifier_core::snapshot::{ObjectKind, Snapshot};
use zipchain_verifier_core::time::{UnixMillis, UnixSeconds};

/// One synthetic block: its facts as `examine` would have produced them.
struct Synthetic {
    block: Hash32,
    uuid: [u8; 16],
    parent: Hash32,
    timestamp: Hash32,
    attestation: Hash32,
    k: u64,
}

/// A random-looking key: SHA3 of the tag and number.
fn h(tag: u8, n: u64) -> Hash32 {
    let mut b = [0u8; 9];
    b[0] = tag;
    b[1..].copy_from_slice(&n.to_be_bytes());
    Hash32::digest(&b)
}

/// A crafted key: 24 bytes shared by every key, then the tag and number, so that any
/// map hashing a prefix of the key sees one value.
fn crafted(tag: u8, n: u64) -> Hash32 {
    let mut b = [0xaa; 32];
    b[24] = tag;
    b[25..].copy_from_slice(&n.to_be_bytes()[1..]);
    Hash32(b)
}

/// A main chain of `n` blocks; every 10th main-chain block also gets a losing branch
/// of two blocks (sequenced after the winning sibling), so ~20% of blocks are orphans.
fn chain(n: u64) -> (Hash32, Vec<Synthetic>) {
    chain_of(n, h)
}

/// [`chain`] with its keys (and UUIDs, from the block keys' last 16 bytes) made by `key`.
fn chain_of(n: u64, key: fn(u8, u64) -> Hash32) -> (Hash32, Vec<Synthetic>) {
    let mut out = Vec::with_capacity((n + n / 5) as usize);
    let mut k = 0u64;
    let mut next_id = 0u64;
    let mut make = |parent: Hash32, k: u64, out: &mut Vec<Synthetic>| {
        let id = next_id;
        next_id += 1;
        let block = key(1, id);
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&block.as_bytes()[16..]);
        let s = Synthetic {
            block,
            uuid,
            parent,
            timestamp: key(2, id),
            attestation: key(3, id),
            k,
        };
        let t = s.timestamp;
        out.push(s);
        t
    };
    let genesis_t = make(Hash32::ZERO, k, &mut out);
    let genesis = out[0].block;
    let mut tip_t = genesis_t;
    for height in 1..n {
        k += 1;
        let main_t = make(tip_t, k, &mut out);
        if height % 10 == 0 {
            k += 1;
            let fork_t = make(tip_t, k, &mut out);
            k += 1;
            make(fork_t, k, &mut out);
        }
        tip_t = main_t;
    }
    (genesis, out)
}

fn triples(blocks: &[Synthetic]) -> Vec<ValidTriple> {
    blocks
        .iter()
        .map(|s| ValidTriple {
            block: s.block,
            parent: s.parent,
            timestamp: s.timestamp,
            attestation: s.attestation,
            k: s.k,
            iat: UnixSeconds(s.k),
            batch_root: Hash32::ZERO,
        })
        .collect()
}

fn builder(genesis: Hash32, blocks: &[Synthetic]) -> AuditBuilder {
    let mut b = AuditBuilder::new(genesis);
    for s in blocks {
        b.add(
            ObjectKind::Block,
            Examined::Block {
                key: s.block,
                block: Block {
                    uuid: s.uuid,
                    batch_root: Hash32::ZERO,
                    parent_timestamp: s.parent,
                },
            },
        );
        b.add(
            ObjectKind::Timestamp,
            Examined::Timestamp {
                key: s.timestamp,
                attests: s.block,
                iat: UnixSeconds(s.k),
            },
        );
        let y = zipchain_verifier_core::triple::y(&s.uuid, &s.timestamp);
        b.add(
            ObjectKind::Attestation,
            Examined::Attestation {
                key: s.attestation,
                y,
                k: s.k,
                document_time: UnixMillis(s.k * 1000),
            },
        );
    }
    b
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let omc_only = std::env::args().any(|a| a == "--omc-only");
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if std::env::args().any(|a| a == "--hostile") {
        let sizes = if sizes.is_empty() {
            vec![10_000, 100_000]
        } else {
            sizes
        };
        for n in sizes {
            hostile(n);
        }
        return;
    }
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        sizes
    };
    let mut omc_times = Vec::new();
    let mut finish_times = Vec::new();
    for &n in &sizes {
        let (genesis, blocks) = chain(n);
        let ts = triples(&blocks);
        let runs = if n >= 1_000_000 { 5 } else { 9 };
        let mut t_omc = Vec::new();
        let mut height = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let choice = omc(genesis, &ts);
            t_omc.push(start.elapsed());
            height = choice.chain.len();
        }
        let mut t_finish = Vec::new();
        let mut orphans = 0;
        for _ in 0..if omc_only { 0 } else { runs } {
            let b = builder(genesis, &blocks);
            let start = Instant::now();
            let audit = b.finish(&Snapshot::new());
            t_finish.push(start.elapsed());
            orphans = audit.orphaned_blocks.len();
        }
        if t_finish.is_empty() {
            t_finish.push(Duration::ZERO);
        }
        let (m_omc, m_fin) = (median(t_omc), median(t_finish));
        println!(
            "omc n={n:>8} blocks={:>8} main_chain={height:>8} orphans={orphans:>7}  omc {:>10.3} ms  audit-finish {:>10.3} ms",
            blocks.len(),
            m_omc.as_secs_f64() * 1e3,
            m_fin.as_secs_f64() * 1e3
        );
        omc_times.push((n, m_omc));
        finish_times.push((n, m_fin));
    }
    let ratio = |times: &[(u64, Duration)]| {
        let a = times.iter().find(|(n, _)| *n == 100_000)?.1;
        let b = times.iter().find(|(n, _)| *n == 1_000_000)?.1;
        Some(b.as_secs_f64() / a.as_secs_f64())
    };
    if let (Some(r1), Some(r2)) = (ratio(&omc_times), ratio(&finish_times)) {
        println!("ratio 1M/100k: omc {r1:.2} (must be <= 12), audit-finish {r2:.2} (no target)");
    }
    if sizes.contains(&100_000) && sizes.contains(&1_000_000) {
        paired_ratio();
    }
}

/// Rounds of the paired `omc` measurement.
const PAIRED_ROUNDS: usize = 15;

/// The 1M/100k ratio of `omc` measured in alternation: each round times 100k, then 1M,
/// back to back, so both sides of one ratio ran under the same conditions (on a shared
/// VM the machine's speed drifts by ±25% between runs, which moves a ratio of medians
/// taken minutes apart by as much). Prints the median of the per-round ratios.
fn paired_ratio() {
    let (g_small, small) = chain(100_000);
    let (g_large, large) = chain(1_000_000);
    let (ts_small, ts_large) = (triples(&small), triples(&large));
    drop((small, large));
    // One untimed call each: the first touches of freshly allocated memory.
    let _ = (omc(g_small, &ts_small), omc(g_large, &ts_large));
    let mut ratios = Vec::with_capacity(PAIRED_ROUNDS);
    let (mut smalls, mut larges) = (Vec::new(), Vec::new());
    for _ in 0..PAIRED_ROUNDS {
        let start = Instant::now();
        let a = omc(g_small, &ts_small);
        let t_small = start.elapsed();
        let start = Instant::now();
        let b = omc(g_large, &ts_large);
        let t_large = start.elapsed();
        assert!(a.chain.len() == 100_000 && b.chain.len() == 1_000_000);
        ratios.push(t_large.as_secs_f64() / t_small.as_secs_f64());
        smalls.push(t_small);
        larges.push(t_large);
    }
    ratios.sort_by(f64::total_cmp);
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.1}")).collect();
    println!(
        "paired ratio 1M/100k over {PAIRED_ROUNDS} alternating rounds: median {:.2} (must be <= 12); sorted: {}; medians 100k {:.3} ms, 1M {:.3} ms",
        ratios[ratios.len() / 2],
        shown.join(" "),
        median(smalls).as_secs_f64() * 1e3,
        median(larges).as_secs_f64() * 1e3,
    );
}

/// Rounds of the random/crafted comparison.
const HOSTILE_ROUNDS: usize = 7;

/// `AuditBuilder::finish` on random and on crafted keys of one chain shape, in
/// alternating rounds; prints both medians and the median of the per-round ratios.
fn hostile(n: u64) {
    let (g_random, random) = chain_of(n, h);
    let (g_crafted, evil) = chain_of(n, crafted);
    let run = |genesis: Hash32, blocks: &[Synthetic]| {
        let b = builder(genesis, blocks);
        let start = Instant::now();
        let audit = b.finish(&Snapshot::new());
        let took = start.elapsed();
        assert_eq!(audit.main_chain.len() as u64, n);
        took
    };
    let (mut rs, mut cs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..HOSTILE_ROUNDS {
        let r = run(g_random, &random);
        let c = run(g_crafted, &evil);
        ratios.push(c.as_secs_f64() / r.as_secs_f64());
        rs.push(r);
        cs.push(c);
    }
    ratios.sort_by(f64::total_cmp);
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "audit-finish n={n:>8} blocks={:>8}: random {:>9.3} ms, crafted {:>9.3} ms; crafted/random median {:.2} over {HOSTILE_ROUNDS} alternating rounds (sorted: {})",
        random.len(),
        median(rs).as_secs_f64() * 1e3,
        median(cs).as_secs_f64() * 1e3,
        ratios[ratios.len() / 2],
        shown.join(" "),
    );
}
