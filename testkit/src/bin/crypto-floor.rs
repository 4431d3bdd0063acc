//! Bench binary: the crypto floor of an audit, and the time of one certificate check.
//!
//! `crypto-floor floor SNAPSHOT_DIR --chain chain.json` times ONLY the per-block
//! signature checks of a snapshot on one thread — RS256 of every timestamp (keys parsed
//! once), Ed25519 of every sequence attestation, ES384 of every NSM document's COSE
//! signature, and the P-384 signature of every distinct leaf certificate (intermediates
//! are checked once per chain, as the audit's cache does) — and divides by the cores.
//! It then runs the same checks again shared out over all cores at once (one thread per
//! core, each taking every n-th check) and prints that wall time too: on this VM two
//! busy vCPUs each run slower than one alone (0.4–12.6% in the rounds BENCHMARKS.md
//! records), which the division does not see.
//!
//! `crypto-floor ratio SNAPSHOT_DIR --chain chain.json [--zipchain PATH] [--rounds N]`
//! measures the floor and the audit in alternation — floor, audit, floor, audit, …,
//! floor — running `zipchain audit --json` on the snapshot (wall time, as a user sees
//! it) and dividing each audit by the mean of the floors on either side of it; then the
//! median and the largest ratio, against both floors (one thread ÷ cores; and measured
//! on all cores at once, the least time this machine needs for the checks). The VM's speed
//! drifts by ±10% over minutes; bracketing each audit makes that drift move both sides
//! of its ratio alike. The floor's reading of every file first means the audit finds
//! most of the snapshot in the page cache (a cold snapshot makes the audit wait on the
//! disk, which is not what the ratio is about). The host's steal time during each audit
//! is printed.
//!
//! `crypto-floor check CERT --chain chain.json [-n N]` times `check_certificate`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::CborSerializable as _;
use ed25519_dalek::{Signature as EdSignature, Verifier as _, VerifyingKey as EdKey};
use p384::ecdsa::{DerSignature, Signature as P384Signature, VerifyingKey as P384Key};
use rsa::pkcs1v15::{Signature as RsaSignature, VerifyingKey as RsaKey};
use rsa::{BoxedUint, PublicKey as RsaPublicKey};
use sha2::Sha256;
use verifier_core::chain::Auditor;
use verifier_core::nsm::{NsmDocument, NsmLimits};
use verifier_core::sequence::SequenceAttestation;
use verifier_core::trust::TrustDescriptor;
use x509_parser::prelude::{FromDer as _, X509Certificate};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| zipchain_testkit::bench_args::flag(&args, name);
    let chain = PathBuf::from(flag("--chain").ok_or_else(|| anyhow!("--chain chain.json"))?);
    let trust = TrustDescriptor::from_json(&std::fs::read_to_string(&chain)?)?;
    match args.first().map(String::as_str) {
        Some("floor") => {
            let floor = Floor::measure(Path::new(args.get(1).context("SNAPSHOT_DIR")?), &trust)?;
            floor.print();
            Ok(())
        }
        Some("ratio") => {
            let snapshot = Path::new(args.get(1).context("SNAPSHOT_DIR")?);
            let zipchain = flag("--zipchain").unwrap_or_else(|| "target/release/zipchain".into());
            let rounds: usize = flag("--rounds").map_or(Ok(3), |n| n.parse())?;
            ratio(snapshot, &chain, &trust, Path::new(&zipchain), rounds)
        }
        Some("check") => {
            let n: usize = flag("-n").map_or(Ok(200), |n| n.parse())?;
            check(Path::new(args.get(1).context("CERT")?), &trust, n)
        }
        _ => bail!(
            "usage: crypto-floor (floor SNAPSHOT_DIR | ratio SNAPSHOT_DIR [--zipchain PATH] [--rounds N] | check CERT) --chain chain.json"
        ),
    }
}

fn files(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        out.push(std::fs::read(e?.path())?);
    }
    Ok(out)
}

/// The one-thread times of a snapshot's signature checks, by algorithm, and the wall
/// time of the same checks shared out over all cores at once.
struct Floor {
    timestamps: usize,
    bad: usize,
    attestations: usize,
    leaves: usize,
    rsa: Duration,
    ed25519: Duration,
    p384: Duration,
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
            "objects: {} timestamps ({} not verifying), {} attestations, {} distinct leaf certificates",
            self.timestamps, self.bad, self.attestations, self.leaves
        );
        println!(
            "one thread: RS256 {:.2} s, Ed25519 {:.2} s, P-384 {:.2} s, total {:.2} s",
            self.rsa.as_secs_f64(),
            self.ed25519.as_secs_f64(),
            self.p384.as_secs_f64(),
            self.total().as_secs_f64()
        );
        println!(
            "crypto floor on {} cores: {:.2} s (one thread ÷ {}); measured on {} cores at once: {:.2} s",
            cores(),
            self.on_cores().as_secs_f64(),
            cores(),
            cores(),
            self.all_cores.as_secs_f64()
        );
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Rounds of audits bracketed by floors (floor, audit, floor, audit, … floor): each
/// audit is divided by the mean of the floors just before and just after it, so that a
/// drift of the VM's speed during the round moves both sides of its ratio alike; then
/// the median and the largest of the rounds' ratios.
fn ratio(
    snapshot: &Path,
    chain: &Path,
    trust: &TrustDescriptor,
    zipchain: &Path,
    rounds: usize,
) -> Result<()> {
    let mut ratios = Vec::new();
    let mut measured_ratios = Vec::new();
    let mut before = Floor::measure(snapshot, trust)?;
    println!(
        "floor 0: one thread {:.2} s (RS256 {:.2} + Ed25519 {:.2} + P-384 {:.2}); on {} cores at once {:.2} s",
        before.total().as_secs_f64(),
        before.rsa.as_secs_f64(),
        before.ed25519.as_secs_f64(),
        before.p384.as_secs_f64(),
        cores(),
        before.all_cores.as_secs_f64()
    );
    for round in 1..=rounds.max(1) {
        let steal = steal_seconds();
        let start = Instant::now();
        let status = Command::new(zipchain)
            .arg("audit")
            .arg(snapshot)
            .arg("--chain")
            .arg(chain)
            .arg("--json")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", zipchain.display()))?;
        let audit = start.elapsed();
        let stolen = steal_seconds()
            .zip(steal)
            .map(|(after, before)| after - before);
        if !status.success() {
            bail!("zipchain audit failed ({status}): the snapshot must audit clean");
        }
        let after = Floor::measure(snapshot, trust)?;
        let floor = (before.on_cores() + after.on_cores()) / 2;
        let measured = (before.all_cores + after.all_cores) / 2;
        let r = audit.as_secs_f64() / floor.as_secs_f64();
        let m = audit.as_secs_f64() / measured.as_secs_f64();
        println!(
            "round {round}: audit {:.2} s{}; floor one thread before {:.2} s, after {:.2} s (RS256 {:.2} + Ed25519 {:.2} + P-384 {:.2}), mean ÷ {} = {:.2} s: audit / floor {r:.3}; floor on {} cores at once before {:.2} s, after {:.2} s: audit / that {m:.3}",
            audit.as_secs_f64(),
            stolen.map_or(String::new(), |s| format!(" ({s:.1} s stolen by the host)")),
            before.total().as_secs_f64(),
            after.total().as_secs_f64(),
            after.rsa.as_secs_f64(),
            after.ed25519.as_secs_f64(),
            after.p384.as_secs_f64(),
            cores(),
            floor.as_secs_f64(),
            cores(),
            before.all_cores.as_secs_f64(),
            after.all_cores.as_secs_f64()
        );
        ratios.push(r);
        measured_ratios.push(m);
        before = after;
    }
    summarize("audit / (floor one thread ÷ cores)", &mut ratios);
    summarize("audit / floor on all cores at once", &mut measured_ratios);
    Ok(())
}

/// Prints the median, the largest and all of `ratios`, sorted.
fn summarize(what: &str, ratios: &mut [f64]) {
    ratios.sort_by(f64::total_cmp);
    let median = match ratios.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => ratios[n / 2],
        n => (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0,
    };
    let largest = ratios.last().copied().unwrap_or(f64::NAN);
    let sorted: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
    println!(
        "{what} over {} rounds: median {median:.3}, largest {largest:.3} (target <= 1.3); sorted: {}",
        ratios.len(),
        sorted.join(" ")
    );
}

/// CPU time the hypervisor gave other guests, all vCPUs together (`steal` in
/// `/proc/stat`, in USER_HZ = 1/100 s), where the system reports it.
fn steal_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let steal: f64 = cpu.split_whitespace().nth(7)?.parse().ok()?;
    Some(steal / 100.0)
}

/// Every per-block signature check of a snapshot, read and parsed (untimed), ready to run.
struct Checks {
    keys: Vec<(String, RsaKey<Sha256>)>,
    jwts: Vec<(String, RsaSignature)>,
    seq_key: EdKey,
    seqs: Vec<(Vec<u8>, EdSignature)>,
    coses: Vec<(P384Key, Vec<u8>, P384Signature)>,
    leaves: Vec<(P384Key, Vec<u8>, DerSignature)>,
}

/// The time one share of the checks took, by algorithm, and the tokens that verified
/// under no key.
struct ShareTimes {
    rsa: Duration,
    ed25519: Duration,
    p384: Duration,
    bad: usize,
}

impl Checks {
    fn prepare(snapshot: &Path, trust: &TrustDescriptor) -> Result<Checks> {
        // Inputs prepared outside the timed loops: only the signature checks are timed.
        let jwks = &trust.timestamp().jwks;
        let keys: Vec<(String, RsaKey<Sha256>)> = jwks["keys"]
            .as_array()
            .context("jwks.keys")?
            .iter()
            .map(|k| -> Result<_> {
                let n = URL_SAFE_NO_PAD.decode(k["n"].as_str().context("n")?)?;
                let e = URL_SAFE_NO_PAD.decode(k["e"].as_str().context("e")?)?;
                let key = RsaPublicKey::new(
                    BoxedUint::from_be_slice_vartime(&n),
                    BoxedUint::from_be_slice_vartime(&e),
                )?;
                Ok((k["kid"].as_str().unwrap_or("").to_owned(), RsaKey::new(key)))
            })
            .collect::<Result<_>>()?;
        let mut jwts = Vec::new();
        for token in files(&snapshot.join("timestamps"))? {
            let text = String::from_utf8(token)?;
            let (input, sig) = text.rsplit_once('.').context("jwt")?;
            jwts.push((
                input.to_owned(),
                RsaSignature::try_from(URL_SAFE_NO_PAD.decode(sig)?.as_slice())?,
            ));
        }
        let seq_key = EdKey::from_bytes(trust.sequencer_key().as_bytes())?;
        let mut seqs = Vec::new();
        let mut coses = Vec::new();
        let mut leaves = Vec::new();
        let mut seen_leaves = HashSet::new();
        let limits = NsmLimits::default();
        for doc in files(&snapshot.join("attestations"))? {
            let fields =
                NsmDocument::parse_unverified(&doc, &limits).map_err(|e| anyhow!("{e}"))?;
            let s = SequenceAttestation::decode(fields.user_data.as_deref().unwrap_or(&[]))?;
            seqs.push((
                SequenceAttestation::signed_message(&s.y, s.k),
                EdSignature::from_bytes(&s.g),
            ));
            let (_, leaf) =
                X509Certificate::from_der(&fields.certificate).map_err(|e| anyhow!("{e}"))?;
            let leaf_key = P384Key::from_sec1_bytes(&leaf.public_key().subject_public_key.data)?;
            let sign1 = coset::CoseSign1::from_slice(&doc).map_err(|e| anyhow!("{e:?}"))?;
            let tbs = sign1.tbs_data(b"");
            coses.push((leaf_key, tbs, P384Signature::from_slice(&sign1.signature)?));
            if seen_leaves.insert(fields.certificate.clone()) {
                let issuer_der = fields.cabundle.last().context("cabundle")?.clone();
                let (_, issuer) =
                    X509Certificate::from_der(&issuer_der).map_err(|e| anyhow!("{e}"))?;
                let issuer_key =
                    P384Key::from_sec1_bytes(&issuer.public_key().subject_public_key.data)?;
                leaves.push((
                    issuer_key,
                    leaf.tbs_certificate.as_ref().to_vec(),
                    DerSignature::try_from(leaf.signature_value.data.as_ref())?,
                ));
            }
        }

        Ok(Checks {
            keys,
            jwts,
            seq_key,
            seqs,
            coses,
            leaves,
        })
    }

    /// Runs the checks whose index is `share` modulo `shares`, timing each algorithm.
    fn run(&self, share: usize, shares: usize) -> Result<ShareTimes> {
        let start = Instant::now();
        let mut bad = 0usize;
        for (input, sig) in self.jwts.iter().skip(share).step_by(shares.max(1)) {
            // One verify per token in the usual case: the first key is the one in use.
            if !self
                .keys
                .iter()
                .any(|(_, k)| k.verify(input.as_bytes(), sig).is_ok())
            {
                bad += 1;
            }
        }
        let rsa = start.elapsed();
        let start = Instant::now();
        for (msg, sig) in self.seqs.iter().skip(share).step_by(shares.max(1)) {
            self.seq_key.verify_strict(msg, sig)?;
        }
        let ed25519 = start.elapsed();
        let start = Instant::now();
        for (key, tbs, sig) in self.coses.iter().skip(share).step_by(shares.max(1)) {
            key.verify(tbs, sig)?;
        }
        for (key, tbs, sig) in self.leaves.iter().skip(share).step_by(shares.max(1)) {
            key.verify(tbs, sig)?;
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
    /// Times every per-block signature check of the snapshot on one thread, then the
    /// same checks shared out over all cores at once (the inputs are read and parsed
    /// first, untimed).
    fn measure(snapshot: &Path, trust: &TrustDescriptor) -> Result<Floor> {
        let checks = Checks::prepare(snapshot, trust)?;
        let one = checks.run(0, 1)?;
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
            timestamps: checks.jwts.len(),
            bad: one.bad,
            attestations: checks.coses.len(),
            leaves: checks.leaves.len(),
            rsa: one.rsa,
            ed25519: one.ed25519,
            p384: one.p384,
            all_cores,
        })
    }
}

fn check(cert: &Path, trust: &TrustDescriptor, n: usize) -> Result<()> {
    let text = std::fs::read_to_string(cert)?;
    let start = Instant::now();
    for _ in 0..n {
        let auditor = Auditor::new(trust)?;
        let v = verifier_core::certificate::check_certificate(&text, &auditor, None);
        if !v.valid {
            bail!("certificate invalid: {:?}", v.first_failure());
        }
    }
    let cold = start.elapsed() / u32::try_from(n)?;
    let auditor = Auditor::new(trust)?;
    let start = Instant::now();
    for _ in 0..n {
        let v = verifier_core::certificate::check_certificate(&text, &auditor, None);
        if !v.valid {
            bail!("certificate invalid");
        }
    }
    let warm = start.elapsed() / u32::try_from(n)?;
    println!(
        "check_certificate: {:.3} ms per check with a fresh verifier (descriptor parsed, no cache), {:.3} ms reusing one",
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
    Ok(())
}
