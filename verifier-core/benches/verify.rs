//! Verification speed (issue #2; results in `BENCHMARKS.md`):
//!
//! - `nsm/blocky/cold`: the Blocky production document with a fresh [`NsmVerifier`]
//!   per document, so no cached certificate signature (5 P-384 verifications);
//! - `nsm/blocky/warm`: one verifier reused, the CA signatures cached as in an
//!   audit of one enclave's documents;
//! - `nsm/blocky/parse`: only the strict parse (`NsmDocument::parse_unverified`);
//! - `nsm/nitro_attest`: the `nitro_attest` crate (ring) on the same document at
//!   its timestamp, the speed we must match;
//! - `jwt/cognito`: `TimestampVerifier::validate` on a real Cognito ID token;
//! - `jwt/cognito+jwks`: the same with the JWKS parsed each time, as the wasm export
//!   `verifyTimestamp` does (compare with `verifier-wasm/bench/bench.mjs`);
//! - `sequence/verify`: `SequenceAttestation::verify` (Ed25519 `verify_strict`).
//!
//! Each reports elements/s = documents (tokens, attestations) per second.
//! Run: `cargo bench -p zipchain-verifier-core --bench verify`. The vectors are read
//! at run time from `../shared/vectors` beside the repository (or `$ZIPCHAIN_VECTORS`);
//! without them the bench says so and measures nothing.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use zipchain_verifier_core::nsm::{NsmDocument, NsmLimits, NsmVerifier, VerifyAt};
use zipchain_verifier_core::sequence::{SequenceAttestation, SequencerKey};
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
    group.bench_function("blocky/cold", |b| {
        b.iter(|| {
            NsmVerifier::aws()
                .verify(black_box(&doc), VerifyAt::DocumentTimestamp)
                .expect("valid")
        })
    });
    let warm = NsmVerifier::aws();
    group.bench_function("blocky/warm", |b| {
        b.iter(|| {
            warm.verify(black_box(&doc), VerifyAt::DocumentTimestamp)
                .expect("valid")
        })
    });
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

    let mut group = c.benchmark_group("jwt");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cognito", |b| {
        b.iter(|| verifier.validate(black_box(&token)).expect("valid"))
    });
    // What the wasm export `verifyTimestamp` does per call: parse the JWKS, then validate.
    group.bench_function("cognito+jwks", |b| {
        b.iter(|| {
            TimestampVerifier::new(TimestampPolicy {
                issuer: COGNITO_ISSUER.to_string(),
                token_use: TokenUse::Id,
                username_domain: None,
                jwks: Jwks::from_json(black_box(&jwks)).expect("the pool's JWKS"),
            })
            .expect("a usable policy")
            .validate(black_box(&token))
            .expect("valid")
        })
    });
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
    group.bench_function("verify", |b| {
        b.iter(|| black_box(&attestation).verify(&key).expect("valid"))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    match vectors_dir() {
        Some(vectors) => {
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
