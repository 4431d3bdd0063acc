//! Verification speed (issues #2 and #19; results in `BENCHMARKS.md`), on every crypto
//! backend compiled in (`<backend>` is `rustcrypto`, and `aws-lc-rs` with
//! `--features aws-lc`):
//!
//! - `nsm/real/<backend>`: every distinct real NSM document of the vectors that both
//!   verifiers accept, each with a fresh [`NsmVerifier`] (nothing cached: 4 or 5 P-384
//!   verifications a document), one document after another;
//! - `nsm/real/nitro_attest`: the `nitro_attest` crate (ring) on the same documents at
//!   their timestamps, the speed to beat (issue #19: three times, natively);
//! - `nsm/blocky/cold/<backend>`: the Blocky production document with a fresh verifier
//!   per document, so no cached certificate signature (5 P-384 verifications);
//! - `nsm/blocky/warm/<backend>`: one verifier reused, the CA signatures cached as in
//!   an audit of one enclave's documents;
//! - `nsm/blocky/parse`: only the strict parse (`NsmDocument::parse_unverified`);
//! - `nsm/nitro_attest`: `nitro_attest` on the Blocky document at its timestamp;
//! - `jwt/cognito/<backend>`: `TimestampVerifier::validate` on a real Cognito ID token;
//! - `jwt/cognito+jwks/<backend>`: the same with the JWKS parsed each time, as the wasm
//!   export `verifyTimestamp` does (compare with `verifier-wasm/bench/bench.mjs`);
//! - `sequence/verify/<backend>`: a sequence attestation's Ed25519 signature
//!   (`verify_strict`'s rules), the key prepared once as an audit prepares it.
//!
//! The backends run in one process, one after the other for each measure, so their
//! figures come from the same minutes of the machine. Each reports elements/s =
//! documents (tokens, attestations) per second.
//! Run: `cargo bench -p zipchain-verifier-core --bench verify --features aws-lc`. The vectors are read
//! at run time from `../shared/vectors` beside the repository (or `$ZIPCHAIN_VECTORS`);
//! without them the bench says so and measures nothing.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use zipchain_verifier_core::crypto::backends;
use zipchain_verifier_core::nsm::{NsmDocument, NsmLimits, NsmPolicy, NsmVerifier, VerifyAt};
use zipchain_verifier_core::sequence::{SequenceAttestation, SequenceVerifier, SequencerKey};
use zipchain_verifier_core::timestamp::{Jwks, TimestampPolicy, TimestampVerifier, TokenUse};

const BLOCKY_DOC: &str = "nitro/docs/blocky_nitrite_nitro_attestation.cbor";
/// The Blocky document's signed `timestamp`, in milliseconds.
const BLOCKY_TIMESTAMP_MS: i128 = 1_725_719_859_545;
const COGNITO_DIR: &str = "jwt/cognito-us-east-1_PDsy6i0Bf";
const COGNITO_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf";

fn vectors_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ZIPCHAIN_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"));
    dir.join(BLOCKY_DOC).is_file().then_some(dir)
}

fn nsm(c: &mut Criterion, vectors: &std::path::Path) {
    let doc = std::fs::read(vectors.join(BLOCKY_DOC)).expect("read the Blocky document");
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(BLOCKY_TIMESTAMP_MS * 1_000_000)
        .expect("a valid time");

    // Both verifiers must accept the document, or the comparison means nothing.
    NsmVerifier::aws()
        .verify(&doc, VerifyAt::DocumentTimestamp)
        .expect("ours accepts the Blocky document");
    nitro_attest::UnparsedAttestationDoc::from(&doc[..])
        .parse_and_verify(at)
        .expect("nitro_attest accepts the Blocky document");

    let mut group = c.benchmark_group("nsm");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));
    for backend in backends() {
        let policy = || NsmPolicy::default();
        group.bench_function(format!("blocky/cold/{}", backend.name()), |b| {
            b.iter(|| {
                NsmVerifier::with_backend(policy(), *backend)
                    .expect("the AWS root")
                    .verify(black_box(&doc), VerifyAt::DocumentTimestamp)
                    .expect("valid")
            })
        });
        let warm = NsmVerifier::with_backend(policy(), *backend).expect("the AWS root");
        group.bench_function(format!("blocky/warm/{}", backend.name()), |b| {
            b.iter(|| {
                warm.verify(black_box(&doc), VerifyAt::DocumentTimestamp)
                    .expect("valid")
            })
        });
    }
    let limits = NsmLimits::default();
    group.bench_function("blocky/parse", |b| {
        b.iter(|| NsmDocument::parse_unverified(black_box(&doc), &limits).expect("parses"))
    });
    group.bench_function("nitro_attest", |b| {
        b.iter(|| {
            nitro_attest::UnparsedAttestationDoc::from(black_box(&doc[..]))
                .parse_and_verify(at)
                .expect("valid")
        })
    });
    group.finish();
}

/// Every distinct real document (`nitro/docs`, `nitro/docs-current`) that both our
/// verifier (debug documents allowed) and `nitro_attest` accept at its own timestamp,
/// with that time.
fn real_documents(vectors: &std::path::Path) -> Vec<(Vec<u8>, time::OffsetDateTime)> {
    let policy = NsmPolicy {
        allow_debug: true,
        ..NsmPolicy::default()
    };
    let mut out: Vec<(Vec<u8>, time::OffsetDateTime)> = Vec::new();
    for dir in ["nitro/docs", "nitro/docs-current"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(vectors.join(dir))
            .expect("the vectors' documents")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "cbor"))
            .collect();
        paths.sort();
        for path in paths {
            let doc = std::fs::read(&path).expect("a document");
            let Ok(verified) = NsmVerifier::new(policy.clone())
                .expect("the AWS root")
                .verify(&doc, VerifyAt::DocumentTimestamp)
            else {
                continue;
            };
            let ms = i128::from(verified.document().timestamp.0);
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
                .expect("a valid time");
            let theirs = nitro_attest::UnparsedAttestationDoc::from(&doc[..]).parse_and_verify(at);
            if theirs.is_ok() && out.iter().all(|(d, _)| *d != doc) {
                out.push((doc, at));
            }
        }
    }
    out
}

fn nsm_real(c: &mut Criterion, vectors: &std::path::Path) {
    let docs = real_documents(vectors);
    assert!(
        docs.len() >= 10,
        "only {} real documents verify",
        docs.len()
    );
    let policy = NsmPolicy {
        allow_debug: true,
        ..NsmPolicy::default()
    };
    let mut group = c.benchmark_group("nsm/real");
    group.throughput(Throughput::Elements(docs.len() as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for backend in backends() {
        group.bench_function(backend.name(), |b| {
            b.iter(|| {
                for (doc, _) in &docs {
                    NsmVerifier::with_backend(policy.clone(), *backend)
                        .expect("the AWS root")
                        .verify(black_box(doc), VerifyAt::DocumentTimestamp)
                        .expect("valid");
                }
            })
        });
    }
    group.bench_function("nitro_attest", |b| {
        b.iter(|| {
            for (doc, at) in &docs {
                nitro_attest::UnparsedAttestationDoc::from(black_box(&doc[..]))
                    .parse_and_verify(*at)
                    .expect("valid");
            }
        })
    });
    group.finish();
}

fn jwt(c: &mut Criterion, vectors: &std::path::Path) {
    let dir = vectors.join(COGNITO_DIR);
    let token = std::fs::read_to_string(dir.join("id.jwt")).expect("read id.jwt");
    let token = token.trim_end().to_string();
    let jwks = std::fs::read_to_string(dir.join("jwks.json")).expect("read jwks.json");
    let verifier = TimestampVerifier::new(TimestampPolicy {
        issuer: COGNITO_ISSUER.to_string(),
        token_use: TokenUse::Id,
        username_domain: None,
        jwks: Jwks::from_json(&jwks).expect("the pool's JWKS"),
    })
    .expect("a usable policy");
    verifier
        .validate(&token)
        .expect("the Cognito token verifies");

    let policy = || TimestampPolicy {
        issuer: COGNITO_ISSUER.to_string(),
        token_use: TokenUse::Id,
        username_domain: None,
        jwks: Jwks::from_json(&jwks).expect("the pool's JWKS"),
    };
    let mut group = c.benchmark_group("jwt");
    group.throughput(Throughput::Elements(1));
    for backend in backends() {
        let verifier =
            TimestampVerifier::with_backend(policy(), *backend).expect("a usable policy");
        group.bench_function(format!("cognito/{}", backend.name()), |b| {
            b.iter(|| verifier.validate(black_box(&token)).expect("valid"))
        });
        // What the wasm export `verifyTimestamp` does per call: parse the JWKS, then validate.
        group.bench_function(format!("cognito+jwks/{}", backend.name()), |b| {
            b.iter(|| {
                TimestampVerifier::with_backend(
                    TimestampPolicy {
                        issuer: COGNITO_ISSUER.to_string(),
                        token_use: TokenUse::Id,
                        username_domain: None,
                        jwks: Jwks::from_json(black_box(&jwks)).expect("the pool's JWKS"),
                    },
                    *backend,
                )
                .expect("a usable policy")
                .validate(black_box(&token))
                .expect("valid")
            })
        });
    }
    group.finish();
}

fn sequence(c: &mut Criterion) {
    let signing = SigningKey::from_bytes(&[7u8; 32]);
    let key = SequencerKey::from_bytes(signing.verifying_key().to_bytes()).expect("a key");
    let y = [0x5a; 48];
    let k = 41;
    let g = signing
        .sign(&SequenceAttestation::signed_message(&y, k))
        .to_bytes();
    let attestation = SequenceAttestation { y, k, g };
    attestation.verify(&key).expect("the attestation verifies");

    let mut group = c.benchmark_group("sequence");
    group.throughput(Throughput::Elements(1));
    for backend in backends() {
        let prepared = SequenceVerifier::new(key, *backend).expect("a usable key");
        group.bench_function(format!("verify/{}", backend.name()), |b| {
            b.iter(|| {
                black_box(&attestation)
                    .verify_with(&prepared)
                    .expect("valid")
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    match vectors_dir() {
        Some(vectors) => {
            nsm_real(c, &vectors);
            nsm(c, &vectors);
            jwt(c, &vectors);
        }
        None => {
            eprintln!("SKIPPED nsm/* and jwt/*: ../shared/vectors not found (set ZIPCHAIN_VECTORS)")
        }
    }
    sequence(c);
}

criterion_group!(verify, benches);
criterion_main!(verify);
