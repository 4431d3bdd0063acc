//! Time per input byte as crafted hostile inputs grow from 1 KiB to 4 MiB (issue #18):
//! for each reader and shape, the least thread CPU time of repeated runs at each size, in
//! ns per byte, and the ratio of the largest size's to the smallest's. A reader whose work
//! grows faster than its input shows a ratio well above 1; BENCHMARKS.md records the
//! table ("Hostile input scaling").
//!
//! `cargo bench -p zipchain-fuzz --bench scaling` (release build; about a minute).
//! Reads the shared vectors for the conformance chain's trust descriptor.

use std::hint::black_box;
use std::time::{Duration, Instant};

use verifier_core::batch::Batch;
use verifier_core::fuzzing::{cbor_check, cbor_item, x509_fields};
use verifier_core::nsm::{CborPart, NsmDocument, NsmLimits};
use verifier_core::snapshot::Snapshot;
use verifier_core::timestamp::Jwks;
use verifier_core::tlog::note::Note;
use verifier_core::trust::TrustDescriptor;

/// Input sizes, bytes.
const SIZES: [usize; 5] = [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22];

/// A DER TLV.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// A certificate whose TBS holds `extensions` and a subject Name of `rdns`, about
/// `size` bytes in all.
fn certificate(extensions: &[Vec<u8>], rdns: &[Vec<u8>]) -> Vec<u8> {
    let alg = tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]),
    );
    let name = tlv(0x30, &rdns.concat());
    let time = tlv(0x17, b"250101000000Z");
    let validity = tlv(0x30, &[time.clone(), time].concat());
    let spki = tlv(
        0x30,
        &[
            tlv(
                0x30,
                &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            ),
            tlv(0x03, &[0x00, 0x04, 0x01]),
        ]
        .concat(),
    );
    let mut tbs = [
        tlv(0xa0, &tlv(0x02, &[0x02])),
        tlv(0x02, &[0x01]),
        alg.clone(),
        name.clone(),
        validity,
        name,
        spki,
    ]
    .concat();
    if !extensions.is_empty() {
        tbs.extend(tlv(0xa3, &tlv(0x30, &extensions.concat())));
    }
    tlv(0x30, &[tlv(0x30, &tbs), alg, tlv(0x03, &[0x00])].concat())
}

/// Distinct extensions (OID 1.2.<i>, not critical, empty value) filling `size` bytes.
fn many_extensions(size: usize) -> Vec<u8> {
    let n = size / 12;
    let exts: Vec<Vec<u8>> = (0..n as u32)
        .map(|i| {
            let mut oid = vec![0x2a];
            let mut arc = vec![(i & 0x7f) as u8];
            let mut rest = i >> 7;
            while rest > 0 {
                arc.insert(0, 0x80 | (rest & 0x7f) as u8);
                rest >>= 7;
            }
            oid.extend(arc);
            tlv(0x30, &[tlv(0x06, &oid), tlv(0x04, &[])].concat())
        })
        .collect();
    certificate(
        &exts,
        &[tlv(
            0x31,
            &tlv(
                0x30,
                &[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, b"x")].concat(),
            ),
        )],
    )
}

/// A subject Name of many one-attribute RDNs filling `size` bytes.
fn many_rdns(size: usize) -> Vec<u8> {
    let rdn = tlv(
        0x31,
        &tlv(
            0x30,
            &[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, b"x")].concat(),
        ),
    );
    certificate(&[], &vec![rdn; size / 11 / 2])
}

/// A CBOR head.
fn head(major: u8, n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    match n {
        0..=23 => out.push((major << 5) | n as u8),
        24..=0xff => out.extend([(major << 5) | 24, n as u8]),
        0x100..=0xffff => {
            out.push((major << 5) | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push((major << 5) | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
    out
}

/// A CBOR array of `size` zeros.
fn cbor_long_array(size: usize) -> Vec<u8> {
    [head(4, size as u64), vec![0; size]].concat()
}

/// An indefinite CBOR map of `size / 2` entries `0: 0`.
fn cbor_indefinite_map(size: usize) -> Vec<u8> {
    [vec![0xbf], [0x00, 0x00].repeat(size / 2), vec![0xff]].concat()
}

/// A COSE_Sign1 whose signature is `size` bytes: the envelope walk reads it all.
fn cose_long_signature(size: usize) -> Vec<u8> {
    [
        vec![0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x41, 0x00],
        head(2, size as u64),
        vec![0; size],
    ]
    .concat()
}

/// A batch of `size / 2` one-byte transactions.
fn batch_many_txs(size: usize) -> Vec<u8> {
    let n = size / 2;
    let mut out = head(4, n as u64);
    for i in 0..n {
        out.extend([0x41, i as u8]);
    }
    out
}

/// A JSON object of `size / 12` distinct members (the strict reader checks each name).
fn json_many_members(size: usize) -> String {
    let members: Vec<String> = (0..size / 12).map(|i| format!("\"m{i:07}\":0")).collect();
    format!("{{{}}}", members.join(","))
}

/// A JWK Set of `size / 30` empty-ish keys.
fn jwks_many_keys(size: usize) -> String {
    let keys = vec![r#"{"kty":"oct","k":"AA"}"#; size / 22];
    format!("{{\"keys\":[{}]}}", keys.join(","))
}

/// A signed note with as many signature lines as fit (capped at 100 and 64 KiB).
fn note_many_lines(size: usize) -> String {
    let line = "— w.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n";
    let text = "origin\n".repeat((size / 2 / 7).max(1));
    format!("{text}\n{}", line.repeat((size / 2 / line.len()).max(1)))
}

/// A tar of `size / 1024` empty files under `blocks/`.
fn tar_many_entries(size: usize) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for i in 0..size / 1024 {
        let mut header = tar::Header::new_ustar();
        header.set_size(0);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("blocks/{i:064x}"), &[][..])
            .expect("tar in memory");
    }
    tar.into_inner().expect("tar in memory")
}

/// The CPU time this thread has used: unlike wall time, not inflated when other
/// processes share the machine (it still counts the page faults of the reader's own
/// allocations).
fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("CLOCK_THREAD_CPUTIME_ID");
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// The least thread CPU time of repeated runs of `f`: at least 5 runs and 300 ms.
fn best(f: &mut dyn FnMut()) -> Duration {
    let mut best = Duration::MAX;
    let start = Instant::now();
    let mut runs = 0;
    while runs < 5 || start.elapsed() < Duration::from_millis(300) {
        let t = thread_cpu();
        f();
        best = best.min(thread_cpu().saturating_sub(t));
        runs += 1;
    }
    best
}

type Case = (&'static str, &'static str, fn(usize) -> Vec<u8>, fn(&[u8]));

fn main() {
    let cases: Vec<Case> = vec![
        (
            "nsm/x509.rs",
            "certificate with many extensions",
            many_extensions,
            |b| {
                let _ = black_box(x509_fields(b));
            },
        ),
        ("nsm/x509.rs", "Name with many RDNs", many_rdns, |b| {
            let _ = black_box(x509_fields(b));
        }),
        (
            "nsm/cbor.rs + item.rs",
            "long array",
            cbor_long_array,
            |b| {
                let _ = black_box(cbor_check(b, CborPart::Payload, 8));
                let _ = black_box(cbor_item(b));
            },
        ),
        (
            "nsm/cbor.rs + item.rs",
            "indefinite map",
            cbor_indefinite_map,
            |b| {
                let _ = black_box(cbor_check(b, CborPart::Payload, 8));
                let _ = black_box(cbor_item(b));
            },
        ),
        (
            "NsmDocument::parse_unverified",
            "COSE_Sign1, long signature",
            cose_long_signature,
            |b| {
                let _ = black_box(NsmDocument::parse_unverified(b, &NsmLimits::default()));
            },
        ),
        ("Batch::decode", "many transactions", batch_many_txs, |b| {
            let _ = black_box(Batch::decode(b));
        }),
        (
            "TrustDescriptor::from_json",
            "object with many members",
            |n| json_many_members(n).into_bytes(),
            |b| {
                let _ = black_box(TrustDescriptor::from_json(
                    std::str::from_utf8(b).unwrap_or(""),
                ));
            },
        ),
        (
            "Jwks::from_json",
            "many keys",
            |n| jwks_many_keys(n).into_bytes(),
            |b| {
                let _ = black_box(Jwks::from_json(std::str::from_utf8(b).unwrap_or("")));
            },
        ),
        (
            "Note::parse",
            "many lines (64 KiB cap)",
            |n| note_many_lines(n).into_bytes(),
            |b| {
                let _ = black_box(Note::parse(std::str::from_utf8(b).unwrap_or("")));
            },
        ),
        (
            "Snapshot::from_tar",
            "many entries",
            tar_many_entries,
            |b| {
                let _ = black_box(Snapshot::from_tar(b));
            },
        ),
    ];
    println!(
        "| reader | crafted input | ns/byte at 1 KiB | 16 KiB | 256 KiB | 1 MiB | 1 MiB ÷ 1 KiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (reader, shape, make, run) in cases {
        let per_byte: Vec<f64> = SIZES
            .iter()
            .map(|&size| {
                let input = make(size);
                let t = best(&mut || run(black_box(&input)));
                t.as_nanos() as f64 / input.len().max(1) as f64
            })
            .collect();
        println!(
            "| {reader} | {shape} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            per_byte[0],
            per_byte[1],
            per_byte[2],
            per_byte[3],
            per_byte[4],
            per_byte[4] / per_byte[0],
            per_byte[4] / per_byte[2]
        );
    }
}
