//! Bench binary: the crypto floor of an audit, and the time of one certificate check.
//!
//! `crypto-floor floor SNAPSHOT_DIR --chain chain.json` times ONLY the per-block
//! signature checks of a snapshot on one thread — RS256 of every timestamp (keys parsed
//! once), Ed25519 of every sequence attestation, ES384 of every NSM document's COSE
//! signature, and the P-384 signature of every distinct leaf certificate (intermediates
//! are checked once per chain, as the audit's cache does) — and divides by the cores.
//! The audit's wall time over this floor is the ratio BENCHMARKS.md records.
//!
//! `crypto-floor check CERT --chain chain.json [-n N]` times `check_certificate`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    let flag = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let chain = PathBuf::from(flag("--chain").ok_or_else(|| anyhow!("--chain chain.json"))?);
    let trust = TrustDescriptor::from_json(&std::fs::read_to_string(&chain)?)?;
    match args.first().map(String::as_str) {
        Some("floor") => floor(Path::new(args.get(1).context("SNAPSHOT_DIR")?), &trust),
        Some("check") => {
            let n: usize = flag("-n").map_or(Ok(200), |n| n.parse())?;
            check(Path::new(args.get(1).context("CERT")?), &trust, n)
        }
        _ => bail!("usage: crypto-floor (floor SNAPSHOT_DIR | check CERT) --chain chain.json"),
    }
}

fn files(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        out.push(std::fs::read(e?.path())?);
    }
    Ok(out)
}

fn floor(snapshot: &Path, trust: &TrustDescriptor) -> Result<()> {
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
        let fields = NsmDocument::parse_unverified(&doc, &limits).map_err(|e| anyhow!("{e}"))?;
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
            let (_, issuer) = X509Certificate::from_der(&issuer_der).map_err(|e| anyhow!("{e}"))?;
            let issuer_key =
                P384Key::from_sec1_bytes(&issuer.public_key().subject_public_key.data)?;
            leaves.push((
                issuer_key,
                leaf.tbs_certificate.as_ref().to_vec(),
                DerSignature::try_from(leaf.signature_value.data.as_ref())?,
            ));
        }
    }

    let start = Instant::now();
    let mut bad = 0usize;
    for (input, sig) in &jwts {
        // One verify per token in the usual case: the first key is the one in use.
        if !keys
            .iter()
            .any(|(_, k)| k.verify(input.as_bytes(), sig).is_ok())
        {
            bad += 1;
        }
    }
    let t_rsa = start.elapsed();
    let start = Instant::now();
    for (msg, sig) in &seqs {
        seq_key.verify_strict(msg, sig)?;
    }
    let t_ed = start.elapsed();
    let start = Instant::now();
    for (key, tbs, sig) in &coses {
        key.verify(tbs, sig)?;
    }
    for (key, tbs, sig) in &leaves {
        key.verify(tbs, sig)?;
    }
    let t_p384 = start.elapsed();
    let total = t_rsa + t_ed + t_p384;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "objects: {} timestamps ({bad} not verifying), {} attestations, {} distinct leaf certificates",
        jwts.len(),
        coses.len(),
        leaves.len()
    );
    println!(
        "one thread: RS256 {:.2} s, Ed25519 {:.2} s, P-384 {:.2} s, total {:.2} s",
        t_rsa.as_secs_f64(),
        t_ed.as_secs_f64(),
        t_p384.as_secs_f64(),
        total.as_secs_f64()
    );
    println!(
        "crypto floor on {cores} cores: {:.2} s",
        total.as_secs_f64() / cores as f64
    );
    Ok(())
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
