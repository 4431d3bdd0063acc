//! Bench binary: the crypto floor of an audit on each crypto backend, the audit against
//! it, and the time of one certificate check.
//!
//! `crypto-floor floor SNAPSHOT_DIR --chain chain.json [--crypto B[,B…]]` times ONLY the
//! per-block signature checks of a snapshot, through verifier-core's crypto seam on
//! backend B (`aws-lc-rs`, `rustcrypto`; default both), keys prepared once as the audit
//! prepares them: RS256 of every timestamp, Ed25519 of every sequence attestation,
//! ES384 of every NSM document's COSE signature, and the P-384 signature of every
//! distinct leaf certificate (intermediates are checked once per chain, as the audit's
//! cache does). It runs them on one thread and divides by the cores, then shared out
//! over all cores at once (one thread per core, each taking every n-th check) and prints
//! that wall time too: on this VM two busy vCPUs each run slower than one alone, which
//! the division does not see.
//!
//! `crypto-floor ratio SNAPSHOT_DIR --chain chain.json [--zipchain PATH] [--rounds N]
//! [--crypto B[,B…]]` measures, for each backend in turn, its floor and
//! `zipchain audit --json --crypto B` on the snapshot (wall time, as a user sees it) in
//! alternation: floor, audit, floor, audit, …, floor, each audit divided by the mean of
//! its backend's floors on either side of it; then, per backend, the median and largest
//! ratio against both floors (one thread ÷ cores; measured on all cores at once) and the
//! audit's blocks per second. The backends alternate within each round, so their figures
//! come from the same minutes of the machine. The VM's speed drifts by ±10% over
//! minutes; bracketing each audit makes that drift move both sides of its ratio alike.
//! Every file of the snapshot is read again (untimed) just before each audit, so the
//! audit finds the snapshot in the page cache (a cold snapshot makes the audit wait on
//! the disk, which is not what the ratio is about). The host's steal time during each
//! audit is printed.
//!
//! `crypto-floor check CERT --chain chain.json [-n N] [--crypto B[,B…]]` times
//! `check_certificate`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::CborSerializable as _;
use verifier_core::chain::Auditor;
use verifier_core::crypto::{
    CryptoBackend, P384Key, RsaKey, SignatureKey, backend_named, backends, es384_signature_from_der,
};
use verifier_core::nsm::{NsmDocument, NsmLimits};
use verifier_core::sequence::SequenceAttestation;
use verifier_core::trust::TrustDescriptor;
use x509_parser::prelude::{FromDer as _, X509Certificate};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| zipchain_testkit::bench_args::flag(&args, name);
    let chain = PathBuf::from(flag("--chain").ok_or_else(|| anyhow!("--chain chain.json"))?);
    let trust = TrustDescriptor::from_json(&std::fs::read_to_string(&chain)?)?;
    let chosen: Vec<&'static dyn CryptoBackend> = match flag("--crypto") {
        None => backends().iter().rev().copied().collect(),
        Some(list) => list
            .split(',')
            .map(|name| backend_named(name).ok_or_else(|| anyhow!("no crypto backend {name:?}")))
            .collect::<Result<_>>()?,
    };
    match args.first().map(String::as_str) {
        Some("floor") => {
            let snapshot = Path::new(args.get(1).context("SNAPSHOT_DIR")?);
            let prepared = Prepared::read(snapshot, &trust)?;
            for backend in chosen {
                Floor::measure(&prepared, backend)?.print();
            }
            Ok(())
        }
        Some("ratio") => {
            let snapshot = Path::new(args.get(1).context("SNAPSHOT_DIR")?);
            let zipchain = flag("--zipchain").unwrap_or_else(|| "target/release/zipchain".into());
            let rounds: usize = flag("--rounds").map_or(Ok(3), |n| n.parse())?;
            ratio(
                snapshot,
                &chain,
                &trust,
                Path::new(&zipchain),
                rounds,
                &chosen,
            )
        }
        Some("check") => {
            let n: usize = flag("-n").map_or(Ok(200), |n| n.parse())?;
            let cert = Path::new(args.get(1).context("CERT")?);
            for backend in chosen {
                check(cert, &trust, n, backend)?;
            }
            Ok(())
        }
        _ => bail!(
            "usage: crypto-floor (floor SNAPSHOT_DIR | ratio SNAPSHOT_DIR [--zipchain PATH] [--rounds N] | check CERT [-n N]) --chain chain.json [--crypto aws-lc-rs,rustcrypto]"
        ),
    }
}

/// Reads every object file of the snapshot once, untimed, and returns how long that
/// took: run just before each audit, so that the audit finds the snapshot in the page
/// cache. This VM keeps only about 2.3 GB of file pages and drops them within a minute
/// of other work, so the floor's reading at the start no longer warms a later round's
/// audit; a long warm pass says the snapshot had gone cold.
fn warm(snapshot: &Path) -> Result<Duration> {
    use std::io::Read as _;
    let start = Instant::now();
    let mut buf = Vec::new();
    for dir in ["blocks", "timestamps", "attestations", "batches"] {
        for e in std::fs::read_dir(snapshot.join(dir))? {
            buf.clear();
            std::fs::File::open(e?.path())?.read_to_end(&mut buf)?;
        }
    }
    Ok(start.elapsed())
}

fn files(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        out.push(std::fs::read(e?.path())?);
    }
    Ok(out)
}

/// The one-thread times of a snapshot's signature checks on one backend, by algorithm,
/// and the wall time of the same checks shared out over all cores at once.
struct Floor {
    backend: &'static str,
    timestamps: usize,
    bad: usize,
    attestations: usize,
    leaves: usize,
    rsa: Duration,
    ed25519: Duration,
    p384: Duration,
    /// The CPU time of the one-thread run (its wall time counts the time the machine's
    /// other work took from it; this does not).
    cpu: f64,
    /// Every check, one share per core, all cores at once (wall time).
    all_cores: Duration,
}

impl Floor {
    fn total(&self) -> Duration {
        self.rsa + self.ed25519 + self.p384
    }

    /// The floor on all cores: the one-thread total divided by the cores.
    fn on_cores(&self) -> Duration {
        self.total() / u32::try_from(cores()).unwrap_or(1)
    }

    fn print(&self) {
        println!(
            "{}: {} timestamps ({} not verifying), {} attestations, {} distinct leaf certificates",
            self.backend, self.timestamps, self.bad, self.attestations, self.leaves
        );
        println!(
            "{}: one thread: RS256 {:.2} s, Ed25519 {:.2} s, P-384 {:.2} s, total {:.2} s ({:.1} µs a block)",
            self.backend,
            self.rsa.as_secs_f64(),
            self.ed25519.as_secs_f64(),
            self.p384.as_secs_f64(),
            self.total().as_secs_f64(),
            self.total().as_secs_f64() * 1e6 / self.attestations.max(1) as f64
        );
        println!(
            "{}: one thread's CPU time {:.2} s ({:.1} µs a block)",
            self.backend,
            self.cpu,
            self.cpu * 1e6 / self.attestations.max(1) as f64
        );
        println!(
            "{}: crypto floor on {} cores: {:.2} s (one thread ÷ {}); measured on {} cores at once: {:.2} s ({:.0} blocks/s)",
            self.backend,
            cores(),
            self.on_cores().as_secs_f64(),
            cores(),
            cores(),
            self.all_cores.as_secs_f64(),
            self.attestations as f64 / self.all_cores.as_secs_f64()
        );
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One backend's figures over the rounds of [`ratio`].
#[derive(Default)]
struct Rounds {
    ratios: Vec<f64>,
    measured_ratios: Vec<f64>,
    cpu_ratios: Vec<f64>,
    blocks_per_second: Vec<f64>,
}

/// Rounds of audits bracketed by floors, each backend in turn within a round (floor,
/// audit, floor, … for each): each audit is divided by the mean of its backend's floors
/// just before and just after it, so that a drift of the VM's speed during the round
/// moves both sides of its ratio alike; then, per backend, the median and the largest of
/// the rounds' ratios.
fn ratio(
    snapshot: &Path,
    chain: &Path,
    trust: &TrustDescriptor,
    zipchain: &Path,
    rounds: usize,
    chosen: &[&'static dyn CryptoBackend],
) -> Result<()> {
    let prepared = Prepared::read(snapshot, trust)?;
    let blocks = std::fs::read_dir(snapshot.join("blocks"))?.count();
    let mut before = Vec::new();
    for backend in chosen {
        let floor = Floor::measure(&prepared, *backend)?;
        println!(
            "floor 0, {}: one thread {:.2} s (RS256 {:.2} + Ed25519 {:.2} + P-384 {:.2}); on {} cores at once {:.2} s",
            floor.backend,
            floor.total().as_secs_f64(),
            floor.rsa.as_secs_f64(),
            floor.ed25519.as_secs_f64(),
            floor.p384.as_secs_f64(),
            cores(),
            floor.all_cores.as_secs_f64()
        );
        before.push(floor);
    }
    let mut results: Vec<Rounds> = chosen.iter().map(|_| Rounds::default()).collect();
    for round in 1..=rounds.max(1) {
        for (i, backend) in chosen.iter().enumerate() {
            let warmed = warm(snapshot)?;
            let steal = steal_seconds();
            let children_cpu = cpu_seconds(true);
            let start = Instant::now();
            let status = Command::new(zipchain)
                .arg("audit")
                .arg(snapshot)
                .arg("--chain")
                .arg(chain)
                .arg("--json")
                .arg("--crypto")
                .arg(backend.name())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .with_context(|| format!("running {}", zipchain.display()))?;
            let audit = start.elapsed();
            let audit_cpu = cpu_seconds(true)
                .zip(children_cpu)
                .map_or(f64::NAN, |(after, before)| after - before);
            let stolen = steal_seconds()
                .zip(steal)
                .map(|(after, before)| after - before);
            if !status.success() {
                bail!("zipchain audit failed ({status}): the snapshot must audit clean");
            }
            let after = Floor::measure(&prepared, *backend)?;
            let floor = (before[i].on_cores() + after.on_cores()) / 2;
            let measured = (before[i].all_cores + after.all_cores) / 2;
            let r = audit.as_secs_f64() / floor.as_secs_f64();
            let m = audit.as_secs_f64() / measured.as_secs_f64();
            let per_second = blocks as f64 / audit.as_secs_f64();
            let c = audit_cpu / ((before[i].cpu + after.cpu) / 2.0);
            println!(
                "round {round}, {}: the snapshot read just before the audit (untimed) in {:.2} s",
                backend.name(),
                warmed.as_secs_f64()
            );
            println!(
                "round {round}, {}: audit CPU time {audit_cpu:.2} s, floor's one-thread CPU time before {:.2} s, after {:.2} s: audit / floor in CPU time {c:.3}",
                backend.name(),
                before[i].cpu,
                after.cpu
            );
            println!(
                "round {round}, {}: audit {:.2} s ({per_second:.0} blocks/s){}; floor one thread before {:.2} s, after {:.2} s (RS256 {:.2} + Ed25519 {:.2} + P-384 {:.2}), mean ÷ {} = {:.2} s: audit / floor {r:.3}; floor on {} cores at once before {:.2} s, after {:.2} s: audit / that {m:.3}",
                backend.name(),
                audit.as_secs_f64(),
                stolen.map_or(String::new(), |s| format!(" ({s:.1} s stolen by the host)")),
                before[i].total().as_secs_f64(),
                after.total().as_secs_f64(),
                after.rsa.as_secs_f64(),
                after.ed25519.as_secs_f64(),
                after.p384.as_secs_f64(),
                cores(),
                floor.as_secs_f64(),
                cores(),
                before[i].all_cores.as_secs_f64(),
                after.all_cores.as_secs_f64()
            );
            results[i].ratios.push(r);
            results[i].measured_ratios.push(m);
            results[i].cpu_ratios.push(c);
            results[i].blocks_per_second.push(per_second);
            before[i] = after;
        }
    }
    for (backend, mut result) in chosen.iter().zip(results) {
        let name = backend.name();
        summarize(
            name,
            "audit / (floor one thread ÷ cores)",
            &mut result.ratios,
            " (target <= 1.25)",
        );
        summarize(
            name,
            "audit / floor on all cores at once",
            &mut result.measured_ratios,
            " (target <= 1.25)",
        );
        summarize(
            name,
            &format!("audit, blocks per second ({blocks} blocks)"),
            &mut result.blocks_per_second,
            "",
        );
    }
    Ok(())
}

/// Prints the median, the largest and all of `values`, sorted.
fn summarize(backend: &str, what: &str, values: &mut [f64], target: &str) {
    values.sort_by(f64::total_cmp);
    let median = match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    };
    let largest = values.last().copied().unwrap_or(f64::NAN);
    let sorted: Vec<String> = values.iter().map(|r| format!("{r:.3}")).collect();
    println!(
        "{backend}: {what} over {} rounds: median {median:.3}, largest {largest:.3}{target}; sorted: {}",
        values.len(),
        sorted.join(" ")
    );
}

/// The CPU time (user + system) `/proc/thread-self/stat` or `/proc/self/stat` reports:
/// this thread's (`children` false), or the waited-for children's of this process.
/// In USER_HZ (1/100 s) ticks, as seconds.
fn cpu_seconds(children: bool) -> Option<f64> {
    let path = if children {
        "/proc/self/stat"
    } else {
        "/proc/thread-self/stat"
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name: state is field 3, utime 14, stime 15, cutime 16,
    // cstime 17 (proc(5)).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let (a, b) = if children { (13, 14) } else { (11, 12) };
    let ticks: f64 = fields.get(a)?.parse::<f64>().ok()? + fields.get(b)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU time the hypervisor gave other guests, all vCPUs together (`steal` in
/// `/proc/stat`, in USER_HZ = 1/100 s), where the system reports it.
fn steal_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let steal: f64 = cpu.split_whitespace().nth(7)?.parse().ok()?;
    Some(steal / 100.0)
}

/// A P-384 key by the SEC1 bytes of its certificate.
type P384Keys = HashMap<Vec<u8>, P384Key>;

/// Every per-block signature check of a snapshot, read and parsed (untimed), with the
/// keys decoded by the core, for any backend to prepare.
struct Prepared {
    keys: Vec<RsaKey>,
    jwts: Vec<(String, Vec<u8>)>,
    seq_key: verifier_core::crypto::Ed25519Key,
    seqs: Vec<(Vec<u8>, [u8; 64])>,
    /// (leaf key, Sig_structure, r || s)
    coses: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// (issuer key, TBS, r || s) of every distinct leaf certificate.
    leaves: Vec<(Vec<u8>, Vec<u8>, [u8; 96])>,
    p384_keys: P384Keys,
}

/// [`Prepared`] with the keys prepared by one backend.
struct Checks<'a> {
    prepared: &'a Prepared,
    keys: Vec<Box<dyn SignatureKey>>,
    seq_key: Box<dyn SignatureKey>,
    p384: HashMap<&'a [u8], Arc<dyn SignatureKey>>,
}

/// The time one share of the checks took, by algorithm, and the tokens that verified
/// under no key.
struct ShareTimes {
    rsa: Duration,
    ed25519: Duration,
    p384: Duration,
    bad: usize,
}

fn subject_key(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.public_key().subject_public_key.data.to_vec()
}

impl Prepared {
    fn read(snapshot: &Path, trust: &TrustDescriptor) -> Result<Prepared> {
        let jwks = &trust.timestamp().jwks;
        let keys: Vec<RsaKey> = jwks["keys"]
            .as_array()
            .context("jwks.keys")?
            .iter()
            .map(|k| -> Result<_> {
                let n = URL_SAFE_NO_PAD.decode(k["n"].as_str().context("n")?)?;
                let e = URL_SAFE_NO_PAD.decode(k["e"].as_str().context("e")?)?;
                Ok(RsaKey::new(&n, &e)?)
            })
            .collect::<Result<_>>()?;
        let mut jwts = Vec::new();
        for token in files(&snapshot.join("timestamps"))? {
            let text = String::from_utf8(token)?;
            let (input, sig) = text.rsplit_once('.').context("jwt")?;
            jwts.push((input.to_owned(), URL_SAFE_NO_PAD.decode(sig)?));
        }
        let seq_key = *trust.sequencer_key().ed25519();
        let mut seqs = Vec::new();
        let mut coses = Vec::new();
        let mut leaves = Vec::new();
        let mut p384_keys = P384Keys::new();
        let limits = NsmLimits::default();
        for doc in files(&snapshot.join("attestations"))? {
            let fields =
                NsmDocument::parse_unverified(&doc, &limits).map_err(|e| anyhow!("{e}"))?;
            let s = SequenceAttestation::decode(fields.user_data.as_deref().unwrap_or(&[]))?;
            seqs.push((SequenceAttestation::signed_message(&s.y, s.k), s.g));
            let (_, leaf) =
                X509Certificate::from_der(&fields.certificate).map_err(|e| anyhow!("{e}"))?;
            let leaf_key = subject_key(&leaf);
            let sign1 = coset::CoseSign1::from_slice(&doc).map_err(|e| anyhow!("{e:?}"))?;
            coses.push((
                leaf_key.clone(),
                sign1.tbs_data(b""),
                sign1.signature.clone(),
            ));
            if !p384_keys.contains_key(&leaf_key) {
                p384_keys.insert(leaf_key.clone(), P384Key::from_sec1(&leaf_key)?);
                let issuer_der = fields.cabundle.last().context("cabundle")?;
                let (_, issuer) =
                    X509Certificate::from_der(issuer_der).map_err(|e| anyhow!("{e}"))?;
                let issuer_key = subject_key(&issuer);
                p384_keys.insert(issuer_key.clone(), P384Key::from_sec1(&issuer_key)?);
                leaves.push((
                    issuer_key,
                    leaf.tbs_certificate.as_ref().to_vec(),
                    es384_signature_from_der(leaf.signature_value.data.as_ref())?,
                ));
            }
        }
        Ok(Prepared {
            keys,
            jwts,
            seq_key,
            seqs,
            coses,
            leaves,
            p384_keys,
        })
    }

    /// The keys prepared by `backend` (once, as an audit prepares them).
    fn on(&self, backend: &'static dyn CryptoBackend) -> Result<Checks<'_>> {
        Ok(Checks {
            prepared: self,
            keys: self
                .keys
                .iter()
                .map(|k| backend.rs256(k))
                .collect::<Result<_, _>>()?,
            seq_key: backend.ed25519(&self.seq_key)?,
            p384: self
                .p384_keys
                .iter()
                .map(|(sec1, key)| Ok((sec1.as_slice(), Arc::from(backend.es384(key)?))))
                .collect::<Result<_>>()?,
        })
    }
}

impl Checks<'_> {
    fn p384(&self, sec1: &[u8]) -> Result<&Arc<dyn SignatureKey>> {
        self.p384.get(sec1).context("a P-384 key not prepared")
    }

    /// Runs the checks whose index is `share` modulo `shares`, timing each algorithm.
    fn run(&self, share: usize, shares: usize) -> Result<ShareTimes> {
        let p = self.prepared;
        let start = Instant::now();
        let mut bad = 0usize;
        for (input, sig) in p.jwts.iter().skip(share).step_by(shares.max(1)) {
            // One verify per token in the usual case: the first key is the one in use.
            if !self
                .keys
                .iter()
                .any(|k| k.verify(input.as_bytes(), sig).is_ok())
            {
                bad += 1;
            }
        }
        let rsa = start.elapsed();
        let start = Instant::now();
        for (msg, sig) in p.seqs.iter().skip(share).step_by(shares.max(1)) {
            self.seq_key
                .verify(msg, sig)
                .map_err(|e| anyhow!("sequence attestation: {e}"))?;
        }
        let ed25519 = start.elapsed();
        let start = Instant::now();
        for (key, tbs, sig) in p.coses.iter().skip(share).step_by(shares.max(1)) {
            self.p384(key)?
                .verify(tbs, sig)
                .map_err(|e| anyhow!("COSE: {e}"))?;
        }
        for (key, tbs, sig) in p.leaves.iter().skip(share).step_by(shares.max(1)) {
            self.p384(key)?
                .verify(tbs, sig)
                .map_err(|e| anyhow!("leaf certificate: {e}"))?;
        }
        let p384 = start.elapsed();
        Ok(ShareTimes {
            rsa,
            ed25519,
            p384,
            bad,
        })
    }
}

impl Floor {
    /// Times every per-block signature check of the snapshot on `backend`, on one thread,
    /// then the same checks shared out over all cores at once.
    fn measure(prepared: &Prepared, backend: &'static dyn CryptoBackend) -> Result<Floor> {
        let checks = prepared.on(backend)?;
        let cpu_before = cpu_seconds(false);
        let one = checks.run(0, 1)?;
        let cpu = cpu_seconds(false)
            .zip(cpu_before)
            .map_or(f64::NAN, |(after, before)| after - before);
        let n = cores();
        let start = Instant::now();
        std::thread::scope(|scope| -> Result<()> {
            let threads: Vec<_> = (0..n)
                .map(|share| {
                    let checks = &checks;
                    scope.spawn(move || checks.run(share, n))
                })
                .collect();
            for t in threads {
                t.join().map_err(|_| anyhow!("a floor thread panicked"))??;
            }
            Ok(())
        })?;
        let all_cores = start.elapsed();
        Ok(Floor {
            backend: backend.name(),
            timestamps: prepared.jwts.len(),
            bad: one.bad,
            attestations: prepared.coses.len(),
            leaves: prepared.leaves.len(),
            rsa: one.rsa,
            ed25519: one.ed25519,
            p384: one.p384,
            cpu,
            all_cores,
        })
    }
}

fn check(
    cert: &Path,
    trust: &TrustDescriptor,
    n: usize,
    backend: &'static dyn CryptoBackend,
) -> Result<()> {
    let text = std::fs::read_to_string(cert)?;
    let start = Instant::now();
    for _ in 0..n {
        let auditor = Auditor::with_backend(trust, backend)?;
        let v = verifier_core::certificate::check_certificate(&text, &auditor, None);
        if !v.valid {
            bail!("certificate invalid: {:?}", v.first_failure());
        }
    }
    let cold = start.elapsed() / u32::try_from(n)?;
    let auditor = Auditor::with_backend(trust, backend)?;
    let start = Instant::now();
    for _ in 0..n {
        let v = verifier_core::certificate::check_certificate(&text, &auditor, None);
        if !v.valid {
            bail!("certificate invalid");
        }
    }
    let warm = start.elapsed() / u32::try_from(n)?;
    println!(
        "{}: check_certificate: {:.3} ms per check with a fresh verifier (descriptor parsed, no cache), {:.3} ms reusing one",
        backend.name(),
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
    Ok(())
}
