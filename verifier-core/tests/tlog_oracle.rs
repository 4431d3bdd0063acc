//! Our SPEC §9 log code against a second implementation (issue #16): Cloudflare azul's
//! C2SP crates `tlog_tiles` 0.2 (a port of Go's `sumdb/tlog`: RFC 6962 trees, record and
//! tree proofs, tlog-checkpoint bodies) and `signed_note` 0.2 (a port of Go's
//! `sumdb/note`: signed notes, Ed25519 verifier and signer keys).
//!
//! - Trees: every size 1..=300 and some large ones, over seeded random entries: the same
//!   roots, the same inclusion and consistency proofs, each proof made by one accepted by
//!   the other, and a tampered one refused by both.
//! - Checkpoints: a body we write reads back in `tlog_tiles` with the same origin, size
//!   and root, and one it writes reads back in ours.
//! - Notes: a note signed by our `SignerKey` (0x01) verifies in `signed_note`, and one
//!   signed by `signed_note` verifies in ours; verifier and signer key text is the same
//!   text in both; malformed notes and keys are refused by both, and where we are
//!   stricter the table says why.
//!
//! `signed_note` has no tlog-cosignature/v1 (0x04): it reads a cosigned note's lines as
//! signatures of keys it does not know, and the cosignatures themselves rest on the
//! known answers in `tlog/note.rs` (a real witness's cosignature of a real checkpoint).
//! Native only: the two crates pull older majors of ed25519-dalek, sha2 and base64 than
//! ours, which must never reach the wasm module (Cargo.toml keeps them native dev-deps).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::{Rng, RngCore};
use proptest::test_runner::{RngAlgorithm, TestRng};
use signed_note as sn;
use tlog_tiles as tt;
use zipchain_verifier_core::hash::Hash32;
use zipchain_verifier_core::tlog::checkpoint::{Checkpoint, origin};
use zipchain_verifier_core::tlog::note::{
    ALG_COSIGNATURE_V1, ALG_ED25519, Note, NoteError, SignatureLine, VerifierKey,
};
use zipchain_verifier_core::tlog::signer::SignerKey;
use zipchain_verifier_core::tlog::tree::{self, LogHash};

/// The same random numbers on every run.
fn rng() -> TestRng {
    TestRng::deterministic_rng(RngAlgorithm::ChaCha)
}

// ---------------------------------------------------------------------------
// Trees and proofs

/// `tlog_tiles`' hash storage: the stored hashes of a log, in its index order.
struct Stored(Vec<tt::Hash>);

impl tt::HashReader for Stored {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tt::Hash>, tt::tlog::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(tt::tlog::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// A log of `n` random 64-byte entries: our leaf hashes and `tlog_tiles`' storage of the
/// same entries (hashed by `tlog_tiles` itself).
fn random_log(n: usize, rng: &mut TestRng) -> (Vec<LogHash>, Stored) {
    let mut leaves = Vec::with_capacity(n);
    let mut stored = Stored(Vec::with_capacity(2 * n));
    for i in 0..n {
        let mut entry = [0u8; 64];
        rng.fill_bytes(&mut entry);
        let record = tt::record_hash(&entry);
        let ours = tree::leaf_hash(&entry);
        assert_eq!(ours, record.0, "leaf hash of entry {i}");
        leaves.push(ours);
        let new = tt::stored_hashes_for_record_hash(i as u64, record, &stored).unwrap();
        stored.0.extend(new);
    }
    (leaves, stored)
}

fn theirs(hashes: &[LogHash]) -> Vec<tt::Hash> {
    hashes.iter().map(|&h| tt::Hash(h)).collect()
}

fn ours(hashes: &[tt::Hash]) -> Vec<LogHash> {
    hashes.iter().map(|h| h.0).collect()
}

/// The ways a proof is tampered with: one bit of one hash, one hash dropped, one added.
fn tampered(proof: &[LogHash], rng: &mut TestRng) -> Vec<(&'static str, Vec<LogHash>)> {
    let mut out = Vec::new();
    if !proof.is_empty() {
        let mut flipped = proof.to_vec();
        let i = rng.random_range(0..proof.len());
        flipped[i][rng.random_range(0..32usize)] ^= 1u8 << rng.random_range(0..8u32);
        out.push(("a flipped bit", flipped));
        out.push(("the last hash dropped", proof[..proof.len() - 1].to_vec()));
    }
    let mut longer = proof.to_vec();
    longer.push([0x5a; 32]);
    out.push(("a hash added", longer));
    out
}

/// A few of `0..n`: all when `n <= all`, else the ends, the middle and random ones.
fn some_of(n: u64, all: u64, rng: &mut TestRng) -> Vec<u64> {
    if n <= all {
        return (0..n).collect();
    }
    let mut picks = vec![0, 1, n / 2, n - 2, n - 1];
    picks.extend((0..4).map(|_| rng.random_range(0..n)));
    picks.sort_unstable();
    picks.dedup();
    picks
}

/// Asserts that what `what` describes is accepted by both implementations, or refused
/// by both.
fn both<E1: std::fmt::Debug, E2: std::fmt::Debug>(
    accept: bool,
    what: &str,
    (by_us, by_them): (Result<(), E1>, Result<(), E2>),
) {
    assert!(
        by_us.is_ok() == accept && by_them.is_ok() == accept,
        "{what}: ours {by_us:?}, theirs {by_them:?}"
    );
}

/// Inclusion of `index` in the first `size` leaves: the same proof from both, accepted
/// by both; tampered proofs, another leaf, another index refused by both.
fn check_inclusion(leaves: &[LogHash], stored: &Stored, size: u64, index: u64, rng: &mut TestRng) {
    let n = size as usize;
    let root = tree::root(&leaves[..n]);
    let leaf = leaves[index as usize];
    let check = |leaf: &LogHash, at: u64, proof: &[LogHash]| {
        (
            tree::verify_inclusion(leaf, at, size, proof, &root),
            tt::check_record(&theirs(proof), size, tt::Hash(root), at, tt::Hash(*leaf)),
        )
    };
    let mine = tree::inclusion_proof(&leaves[..n], index).unwrap();
    let other = tt::prove_record(size, index, stored).unwrap();
    assert_eq!(mine, ours(&other), "inclusion proof of {index} in {size}");
    let what = format!("inclusion of {index} in {size}");
    both(true, &what, check(&leaf, index, &mine));
    for (how, bad) in tampered(&mine, rng) {
        both(false, &format!("{what}, {how}"), check(&leaf, index, &bad));
    }
    let stranger = tree::leaf_hash(&[0xee; 64]);
    both(
        false,
        &format!("{what}, another leaf"),
        check(&stranger, index, &mine),
    );
    if size > 1 {
        let elsewhere = (index + 1) % size;
        both(
            false,
            &format!("{what} claimed for {elsewhere}"),
            check(&leaf, elsewhere, &mine),
        );
    }
}

/// Consistency from the first `old` leaves to the first `size`: the same proof from
/// both, accepted by both; tampered proofs and another old tree refused by both.
fn check_consistency(leaves: &[LogHash], stored: &Stored, size: u64, old: u64, rng: &mut TestRng) {
    let (n, m) = (size as usize, old as usize);
    let root = tree::root(&leaves[..n]);
    let old_root = tree::root(&leaves[..m]);
    let mine = tree::consistency_proof(&leaves[..n], old).unwrap();
    // `tlog_tiles` proves and checks from size 1 on; from 0 every tree is consistent.
    if old == 0 {
        assert!(mine.is_empty());
        assert_eq!(
            tree::verify_consistency(0, size, &old_root, &root, &mine),
            Ok(())
        );
        return;
    }
    let check = |old_root: &LogHash, proof: &[LogHash]| {
        (
            tree::verify_consistency(old, size, old_root, &root, proof),
            tt::check_tree(
                &theirs(proof),
                size,
                tt::Hash(root),
                old,
                tt::Hash(*old_root),
            ),
        )
    };
    let other = tt::prove_tree(size, old, stored).unwrap();
    assert_eq!(mine, ours(&other), "consistency proof {old} -> {size}");
    let what = format!("consistency {old} -> {size}");
    both(true, &what, check(&old_root, &mine));
    for (how, bad) in tampered(&mine, rng) {
        both(false, &format!("{what}, {how}"), check(&old_root, &bad));
    }
    // The root of another tree of the old size (the last old leaf replaced).
    let mut forked = leaves[..m].to_vec();
    forked[m - 1] = tree::leaf_hash(&[0xee; 64]);
    both(
        false,
        &format!("{what} from a fork"),
        check(&tree::root(&forked), &mine),
    );
}

#[test]
fn our_tree_and_proofs_match_tlog_tiles_on_every_size_to_300() {
    let mut rng = rng();
    let (leaves, stored) = random_log(300, &mut rng);
    assert_eq!(tree::root(&[]), tt::tree_hash(0, &stored).unwrap().0);
    for size in 1..=300u64 {
        let root = tree::root(&leaves[..size as usize]);
        assert_eq!(
            root,
            tt::tree_hash(size, &stored).unwrap().0,
            "root of {size}"
        );
        for index in some_of(size, 40, &mut rng) {
            check_inclusion(&leaves, &stored, size, index, &mut rng);
        }
        let mut olds = some_of(size + 1, 40, &mut rng);
        olds.push(size);
        for old in olds {
            check_consistency(&leaves, &stored, size, old, &mut rng);
        }
    }
}

#[test]
fn our_tree_and_proofs_match_tlog_tiles_on_large_sizes() {
    let mut rng = rng();
    let sizes = [
        511, 512, 513, 4095, 4096, 4097, 65_535, 65_536, 65_537, 70_001,
    ];
    let (leaves, stored) = random_log(70_001, &mut rng);
    for size in sizes {
        let root = tree::root(&leaves[..size as usize]);
        assert_eq!(
            root,
            tt::tree_hash(size, &stored).unwrap().0,
            "root of {size}"
        );
        let index = rng.random_range(0..size);
        check_inclusion(&leaves, &stored, size, index, &mut rng);
        check_inclusion(&leaves, &stored, size, size - 1, &mut rng);
        let old = rng.random_range(1..=size);
        check_consistency(&leaves, &stored, size, old, &mut rng);
        check_consistency(&leaves, &stored, size, size - 1, &mut rng);
    }
}

// ---------------------------------------------------------------------------
// Checkpoint bodies

#[test]
fn checkpoint_bodies_read_the_same_in_both() {
    let mut rng = rng();
    let mut sizes = vec![0, 1, 2, 17, u64::MAX];
    sizes.extend((0..50).map(|_| rng.next_u64() >> rng.random_range(0..64)));
    for size in sizes {
        let (mut genesis, mut root) = ([0u8; 32], [0u8; 32]);
        rng.fill_bytes(&mut genesis);
        rng.fill_bytes(&mut root);
        let ours_cp = Checkpoint {
            origin: origin(&Hash32(genesis)),
            size,
            root,
        };
        let body = ours_cp.to_body();
        let read = tt::Checkpoint::from_bytes(body.as_bytes()).unwrap();
        assert_eq!(
            (read.origin(), read.size(), read.hash().0, read.extension()),
            (ours_cp.origin.as_str(), size, root, "")
        );
        let made = tt::Checkpoint::new(&ours_cp.origin, size, tt::Hash(root), "").unwrap();
        assert_eq!(made.to_bytes(), body.as_bytes());
        assert_eq!(
            Checkpoint::parse(&String::from_utf8(made.to_bytes()).unwrap()),
            Ok(ours_cp)
        );
    }
}

/// `tlog_tiles`' own examples (its checkpoint.rs tests, from Go's `sumdb/tlog`).
const TT_ROOT: &str = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=";

#[test]
fn tlog_tiles_example_bodies_and_what_we_refuse_beyond_them() {
    let plain = format!("example.com/origin\n123\n{TT_ROOT}\n");
    let c = Checkpoint::parse(&plain).unwrap();
    let theirs_cp = tt::Checkpoint::from_bytes(plain.as_bytes()).unwrap();
    assert_eq!(
        (c.origin.as_str(), c.size, c.root),
        (theirs_cp.origin(), 123, theirs_cp.hash().0)
    );
    assert_eq!(tt::record_hash(b"hello world").0, c.root);
    assert_eq!(
        Checkpoint::parse(&format!("e\n123\n{TT_ROOT}\n"))
            .unwrap()
            .origin,
        "e"
    );

    // Refused by both: their bad examples, and non-canonical sizes and base64.
    let noncanonical = {
        // The last digit before `=` carries two unused bits; set one.
        let mut r = TT_ROOT.to_owned();
        r.replace_range(42..43, "1");
        r
    };
    for bad in [
        format!("\n123\n{TT_ROOT}\n"),
        format!("example.com/origin\n0xabcdef\n{TT_ROOT}\n"),
        format!("example.com/origin\n18446744073709551616\n{TT_ROOT}\n"),
        format!("example.com/origin\n0123\n{TT_ROOT}\n"),
        format!("example.com/origin\n+123\n{TT_ROOT}\n"),
        format!(
            "example.com/origin\n123\n{}\n",
            TT_ROOT.trim_end_matches('=')
        ),
        format!("example.com/origin\n123\n{noncanonical}\n"),
        "example.com/origin\n123\nQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBCg==\n".to_owned(),
        format!("example.com/origin\n123\n{TT_ROOT}"),
        format!("example.com/origin\n123\n{TT_ROOT}\nabc\n\n"),
        format!("example.com/origin\n123\n{TT_ROOT}\nabc\ndef"),
    ] {
        assert!(Checkpoint::parse(&bad).is_err(), "we read {bad:?}");
        assert!(
            tt::Checkpoint::from_bytes(bad.as_bytes()).is_err(),
            "tlog_tiles reads {bad:?}"
        );
    }
    // Only we refuse extension lines: C2SP tlog-checkpoint allows them, SPEC §9.2 does
    // not ("No extension lines (a verifier rejects them)"), so that one root and size
    // have one body, and one signature means one thing.
    let extended = format!("example.com/origin\n123\n{TT_ROOT}\nabc\ndef\n");
    assert_eq!(
        tt::Checkpoint::from_bytes(extended.as_bytes())
            .unwrap()
            .extension(),
        "abc\ndef\n"
    );
    assert!(Checkpoint::parse(&extended).is_err());
}

// ---------------------------------------------------------------------------
// Signed notes and keys

/// C2SP signed-note's example key pair and note, as `signed_note`'s docs ship them.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn verifiers(vkeys: &[&str]) -> sn::VerifierList {
    sn::VerifierList::new(
        vkeys
            .iter()
            .map(|v| Box::new(sn::StandardVerifier::new(v).unwrap()) as Box<dyn sn::Verifier>)
            .collect(),
    )
}

/// Both read `text` as a note and refuse it: `vkey` signed it, but not this text.
fn assert_bad_signature_in_both(text: &str, vkey: &VerifierKey) {
    let by_us = Note::parse(text)
        .unwrap()
        .verify(std::slice::from_ref(vkey));
    assert!(
        matches!(by_us, Err(NoteError::BadSignature { .. })),
        "{by_us:?}"
    );
    let by_them = sn::Note::from_bytes(text.as_bytes())
        .unwrap()
        .verify(&verifiers(&[&vkey.to_text()]));
    assert!(
        matches!(by_them, Err(sn::NoteError::InvalidSignature { .. })),
        "{by_them:?}"
    );
}

fn u32_id(id: [u8; 4]) -> u32 {
    u32::from_be_bytes(id)
}

#[test]
fn the_c2sp_example_key_signs_the_same_signature_in_both() {
    let key = SignerKey::parse(PETER_SKEY, ALG_ED25519).unwrap();
    assert_eq!(key.to_text(), format!("{PETER_SKEY}\n"));
    assert_eq!(key.verifier_key().to_text(), PETER_VKEY);
    // Ed25519 is deterministic: our line is the example's, byte for byte.
    assert_eq!(key.sign(PETER_TEXT, 0).to_line(), PETER_LINE);
    let signer = sn::StandardSigner::new(PETER_SKEY).unwrap();
    let mut theirs_note = sn::Note::new(PETER_TEXT.as_bytes(), &[]).unwrap();
    theirs_note.add_sigs(&[&signer]).unwrap();
    assert_eq!(
        theirs_note.to_bytes(),
        format!("{PETER_TEXT}\n{PETER_LINE}").into_bytes()
    );
}

#[test]
fn notes_signed_by_one_verify_in_the_other() {
    let mut rng = rng();
    for i in 0..20u32 {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let name = format!("log{i}.example/{}", rng.next_u32());
        let key = SignerKey::new(&name, ALG_ED25519, seed).unwrap();
        let vkey = key.verifier_key();
        // Key text: the same in both, and the same key id.
        let their_verifier = sn::StandardVerifier::new(&vkey.to_text()).unwrap();
        assert_eq!(
            (
                sn::Verifier::name(&their_verifier),
                sn::Verifier::key_id(&their_verifier)
            ),
            (name.as_str(), u32_id(vkey.id()))
        );
        let skey_text = key.to_text();
        let signer = sn::StandardSigner::new(skey_text.trim_end()).unwrap();
        assert_eq!(sn::Signer::key_id(&signer), u32_id(vkey.id()));

        let mut root = [0u8; 32];
        rng.fill_bytes(&mut root);
        let body = Checkpoint {
            origin: name.clone(),
            size: u64::from(i) * 1000 + 7,
            root,
        }
        .to_body();

        // Ours signs, signed_note verifies.
        let ours_note = Note {
            text: body.clone(),
            signatures: vec![key.sign(&body, 0)],
        }
        .to_text();
        let read = sn::Note::from_bytes(ours_note.as_bytes()).unwrap();
        let (verified, unverified) = read.verify(&verifiers(&[&vkey.to_text()])).unwrap();
        assert_eq!((verified.len(), unverified.len()), (1, 0));
        assert_eq!(read.text(), body.as_bytes());

        // signed_note signs, ours verifies.
        let mut theirs_note = sn::Note::new(body.as_bytes(), &[]).unwrap();
        theirs_note.add_sigs(&[&signer]).unwrap();
        let text = String::from_utf8(theirs_note.to_bytes()).unwrap();
        assert_eq!(text, ours_note, "Ed25519 is deterministic: the same note");
        let note = Note::parse(&text).unwrap();
        assert_eq!(
            note.verify(std::slice::from_ref(&vkey)).unwrap(),
            vec![Some(None)]
        );
        // And a changed body is refused by both.
        let changed = text.replacen('\n', "0\n", 1);
        assert_bad_signature_in_both(&changed, &vkey);
    }
}

#[test]
fn key_ids_agree_for_both_algorithms_and_signed_note_has_no_cosignature_v1() {
    let mut rng = rng();
    for i in 0..50 {
        let mut public = [0u8; 32];
        rng.fill_bytes(&mut public);
        let name = format!("w{i}.example");
        for algorithm in [ALG_ED25519, ALG_COSIGNATURE_V1] {
            let ours_id = zipchain_verifier_core::tlog::note::key_id(&name, algorithm, &public);
            let key = [&[algorithm][..], &public].concat();
            assert_eq!(
                u32_id(ours_id),
                sn::key_id(&name, &key),
                "{name} 0x{algorithm:02x}"
            );
        }
    }
    // A witness's verifier key (0x04) is read by us and refused as an unknown algorithm
    // by signed_note, which knows only Ed25519 note signatures.
    let witness = SignerKey::new("w.example", ALG_COSIGNATURE_V1, [4; 32]).unwrap();
    let text = witness.verifier_key().to_text();
    assert_eq!(VerifierKey::parse(&text).unwrap().to_text(), text);
    assert!(matches!(
        sn::StandardVerifier::new(&text),
        Err(sn::VerifierError::Alg)
    ));
}

#[test]
fn a_cosigned_checkpoint_reads_in_signed_note_with_the_cosignatures_as_unknown_keys() {
    let log = SignerKey::new("zipchain/ab", ALG_ED25519, [1; 32]).unwrap();
    let w1 = SignerKey::new("w1.example", ALG_COSIGNATURE_V1, [2; 32]).unwrap();
    let w2 = SignerKey::new("w2.example", ALG_COSIGNATURE_V1, [3; 32]).unwrap();
    let body = Checkpoint {
        origin: "zipchain/ab".into(),
        size: 5,
        root: [9; 32],
    }
    .to_body();
    // An ML-DSA-44 cosignature (0x06, 2420 bytes) of a key neither of us knows.
    let unknown = SignatureLine {
        name: "pq.example".into(),
        id: [6, 6, 6, 6],
        signature: vec![0x42; 8 + 2420],
    };
    let note = Note {
        text: body.clone(),
        signatures: vec![
            log.sign(&body, 0),
            w1.sign(&body, 1_800_000_000),
            unknown,
            w2.sign(&body, 1_800_000_001),
        ],
    };
    let text = note.to_text();
    let read = sn::Note::from_bytes(text.as_bytes()).unwrap();
    let (verified, unverified) = read
        .verify(&verifiers(&[&log.verifier_key().to_text()]))
        .unwrap();
    assert_eq!(
        verified.iter().map(sn::Signature::name).collect::<Vec<_>>(),
        ["zipchain/ab"]
    );
    let lines: Vec<(&str, u32, usize)> = unverified
        .iter()
        .map(|s| (s.name(), s.id(), s.signature().len()))
        .collect();
    assert_eq!(
        lines,
        [
            ("w1.example", u32_id(w1.verifier_key().id()), 72),
            ("pq.example", 0x0606_0606, 2428),
            ("w2.example", u32_id(w2.verifier_key().id()), 72),
        ]
    );
    assert_eq!(read.to_bytes(), text.as_bytes());
    let keys = [log.verifier_key(), w1.verifier_key(), w2.verifier_key()];
    assert_eq!(
        Note::parse(&text).unwrap().verify(&keys).unwrap(),
        vec![
            Some(None),
            Some(Some(1_800_000_000)),
            Some(Some(1_800_000_001))
        ]
    );
}

/// How a malformed input fares: refused by both, or only by us (and why).
enum Expect {
    BothRefuse,
    OnlyWeRefuse(&'static str),
}

#[test]
fn malformed_notes_are_refused_by_both_or_by_us_for_a_stated_reason() {
    use Expect::{BothRefuse, OnlyWeRefuse};
    let key = SignerKey::new("log.example", ALG_ED25519, [7; 32]).unwrap();
    let body = format!("log.example\n3\n{TT_ROOT}\n");
    let line = key.sign(&body, 0).to_line();
    let good = format!("{body}\n{line}");
    assert!(Note::parse(&good).is_ok() && sn::Note::from_bytes(good.as_bytes()).is_ok());
    let b64 = line.trim_end().rsplit(' ').next().unwrap().to_owned();
    // 68 bytes: the last digit before the single `=` has two unused bits; set one.
    let noncanonical = {
        let mut b = b64.clone();
        let at = b.len() - 2;
        let bumped = b"AEIMQUYcgkosw048"
            .iter()
            .position(|&c| c == b.as_bytes()[at])
            .map(|i| char::from(b"BFJNRVZdhlptx159"[i]))
            .unwrap();
        b.replace_range(at..=at, &bumped.to_string());
        b
    };
    let many: String = (0..101).map(|_| line.clone()).collect();
    let cases: Vec<(&str, String, Expect)> = vec![
        (
            "no empty line before the signatures",
            format!("{body}{line}"),
            BothRefuse,
        ),
        ("no signature lines", format!("{body}\n"), BothRefuse),
        (
            "no newline after the last line",
            good.trim_end().to_owned(),
            BothRefuse,
        ),
        (
            "a hyphen for the em dash",
            good.replace('\u{2014}', "-"),
            BothRefuse,
        ),
        (
            "no space before the signature",
            good.replace(&format!(" {b64}"), &b64),
            BothRefuse,
        ),
        (
            "an empty key name",
            good.replace("\u{2014} log.example ", "\u{2014}  "),
            BothRefuse,
        ),
        (
            "a `+` in the key name",
            good.replace("\u{2014} log.example", "\u{2014} log+example"),
            BothRefuse,
        ),
        (
            "unpadded base64",
            good.replace(&b64, b64.trim_end_matches('=')),
            BothRefuse,
        ),
        (
            "non-canonical base64",
            good.replace(&b64, &noncanonical),
            BothRefuse,
        ),
        (
            "a signature of four bytes",
            good.replace(&b64, "AAAAAA=="),
            BothRefuse,
        ),
        (
            "a carriage return",
            good.replacen('\n', "\r\n", 1),
            BothRefuse,
        ),
        ("101 signature lines", format!("{body}\n{many}"), BothRefuse),
        (
            "an empty line in the text",
            format!("extra\n\n{good}"),
            OnlyWeRefuse(
                "signed_note (as Go's note) splits at the last empty line and signs what is \
                 above; C2SP tlog-checkpoint bodies have no empty line, so we refuse it at once",
            ),
        ),
        (
            "an empty text",
            format!("\n\n{line}"),
            OnlyWeRefuse("no checkpoint is empty; signed_note takes the text \"\\n\""),
        ),
        (
            "DEL in the text",
            good.replacen("log.example\n", "log.exam\u{7f}ple\n", 1),
            OnlyWeRefuse(
                "C2SP forbids the controls below U+0020; we refuse every Unicode control \
                 character (char::is_control), which no origin line needs",
            ),
        ),
        (
            "more than 64 KiB",
            format!("{}\n{line}", "x\n".repeat(40_000)),
            OnlyWeRefuse(
                "our bound (MAX_NOTE_LEN, as the note code runs in the browser) is 64 KiB; \
                 signed_note's is 1 MB; a checkpoint with 100 cosignatures is under 12 KiB",
            ),
        ),
    ];
    for (what, text, expect) in cases {
        let by_us = Note::parse(&text);
        assert!(
            matches!(by_us, Err(NoteError::Malformed(_))),
            "{what}: we read it: {by_us:?}"
        );
        let by_them = sn::Note::from_bytes(text.as_bytes());
        match expect {
            BothRefuse => assert!(by_them.is_err(), "{what}: signed_note reads it"),
            OnlyWeRefuse(why) => assert!(
                by_them.is_ok(),
                "{what}: signed_note refuses it too ({why})"
            ),
        }
    }
}

#[test]
fn known_keys_signing_badly_twice_or_not_at_all() {
    let key = SignerKey::new("log.example", ALG_ED25519, [7; 32]).unwrap();
    let vkey = key.verifier_key();
    let known = verifiers(&[&vkey.to_text()]);
    let body = format!("log.example\n3\n{TT_ROOT}\n");
    let line = key.sign(&body, 0);
    let note = |signatures: Vec<SignatureLine>| {
        Note {
            text: body.clone(),
            signatures,
        }
        .to_text()
    };
    let mut bad = line.clone();
    bad.signature[0] ^= 1;

    // A known key's bad signature: both refuse the note.
    let text = note(vec![bad.clone()]);
    assert_bad_signature_in_both(&text, &vkey);

    // A known key twice (the second line bad): signed_note, as Go's note, drops every
    // line of a key after its first and so accepts it; we refuse the note, so that no
    // key is ever counted twice and no unchecked line of a known key rides along
    // (SPEC §9.5's "distinct keys"; issue #16's bad input "one key counted twice").
    for twice in [vec![line.clone(), line.clone()], vec![line.clone(), bad]] {
        let text = note(twice);
        assert!(matches!(
            Note::parse(&text)
                .unwrap()
                .verify(std::slice::from_ref(&vkey)),
            Err(NoteError::DuplicateSignature { .. })
        ));
        let (verified, _) = sn::Note::from_bytes(text.as_bytes())
            .unwrap()
            .verify(&known)
            .unwrap();
        assert_eq!(verified.len(), 1);
    }

    // Only keys neither knows: signed_note refuses ("no verifiable signatures"); we
    // report that no known key signed, and the quorum check then fails (policy.rs).
    let other = SignerKey::new("other.example", ALG_ED25519, [8; 32]).unwrap();
    let text = note(vec![other.sign(&body, 0)]);
    assert_eq!(
        Note::parse(&text)
            .unwrap()
            .verify(std::slice::from_ref(&vkey)),
        Ok(vec![None])
    );
    assert!(matches!(
        sn::Note::from_bytes(text.as_bytes())
            .unwrap()
            .verify(&known),
        Err(sn::NoteError::UnverifiedNote)
    ));
}

#[test]
fn malformed_verifier_keys_are_refused_by_both_or_by_us_for_a_stated_reason() {
    use Expect::{BothRefuse, OnlyWeRefuse};
    let (name, id, b64) = {
        let mut parts = PETER_VKEY.splitn(3, '+');
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };
    let unknown_alg = {
        let key = [&[0x06u8][..], &[0x11; 32]].concat();
        let b64 = base64_standard(&key);
        format!("{name}+{:08x}+{b64}", sn::key_id(name, &key))
    };
    // A key of the right id for its bytes, so that only its length is wrong.
    let short_key = {
        let key = [1u8; 32];
        format!(
            "{name}+{:08x}+{}",
            sn::key_id(name, &key),
            base64_standard(&key)
        )
    };
    let cases: Vec<(&str, String, Expect)> = vec![
        ("no key", format!("{name}+{id}"), BothRefuse),
        (
            "another key id",
            format!("{name}+c74f20a4+{b64}"),
            BothRefuse,
        ),
        (
            "a short key id",
            format!("{name}+c74f20a+{b64}"),
            BothRefuse,
        ),
        (
            "a space in the name",
            format!("Peter Neumann+{id}+{b64}"),
            BothRefuse,
        ),
        ("an empty name", format!("+{id}+{b64}"), BothRefuse),
        (
            "padding where none belongs",
            format!("{name}+{id}+{b64}="),
            BothRefuse,
        ),
        ("a key of 31 bytes", short_key, BothRefuse),
        ("algorithm 0x06", unknown_alg, BothRefuse),
        (
            "an uppercase key id",
            format!("{name}+{}+{b64}", id.to_uppercase()),
            OnlyWeRefuse(
                "one spelling per key: the descriptor's keys and a note's lines are compared \
                 as written; signed_note (as Go's strconv.ParseUint) takes either case",
            ),
        ),
    ];
    for (what, text, expect) in cases {
        assert!(
            matches!(VerifierKey::parse(&text), Err(NoteError::Key(_))),
            "{what}: we read {text}"
        );
        let by_them = sn::StandardVerifier::new(&text);
        match expect {
            BothRefuse => assert!(by_them.is_err(), "{what}: signed_note reads {text}"),
            OnlyWeRefuse(why) => assert!(
                by_them.is_ok(),
                "{what}: signed_note refuses it too ({why})"
            ),
        }
    }
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
