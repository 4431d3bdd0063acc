//! SPEC §9 through the real binary: `audit --checkpoint-out`, `witness keygen`, `cosign`
//! (and every refusal of §9.3), `verify --checkpoint` and `check` of the certificate v2
//! offline, on the conformance chain.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use verifier_core::tlog::checkpoint::Checkpoint;
use verifier_core::tlog::note::{ALG_COSIGNATURE_V1, ALG_ED25519, Note, VerifierKey, sign_ed25519};

use common::{Output, copy_dir, read_json, sha3_hex, zipchain};

const WITNESSES: [&str; 3] = ["w1.example", "w2.example", "w3.example"];

/// The log key of the test chain.
fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

/// Everything a test needs: three witness keys, a v2 descriptor naming them (quorum 2)
/// and the log key, the conformance snapshot and its audited checkpoint body.
struct Setup {
    dir: tempfile::TempDir,
    snapshot: PathBuf,
    chain: PathBuf,
    keys: Vec<PathBuf>,
    origin: String,
    body: String,
}

impl Setup {
    fn new(v: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = Vec::new();
        let mut vkeys = Vec::new();
        for name in WITNESSES {
            let path = dir.path().join(format!("{name}.key"));
            let out = zipchain(["witness", "keygen", "--name", name, "-o"])
                .args([&path])
                .run();
            out.code(0);
            vkeys.push(out.stdout.trim_end().to_owned());
            keys.push(path);
        }
        let mut chain = read_json(&v.join("chain/chain.json"));
        let origin = format!("zipchain/{}", chain["genesis"].as_str().unwrap());
        let log_vkey =
            VerifierKey::new(&origin, ALG_ED25519, log_key().verifying_key().as_bytes()).unwrap();
        chain["zipchain_chain"] = 2.into();
        chain["log_key"] = log_vkey.to_text().into();
        chain["witnesses"] = serde_json::json!({ "keys": vkeys, "quorum": 2 });
        let chain_path = dir.path().join("chain.json");
        std::fs::write(&chain_path, chain.to_string()).unwrap();

        let snapshot = v.join("chain/snapshot");
        let body_path = dir.path().join("checkpoint");
        zipchain(["audit", "--chain"])
            .args([&chain_path, &snapshot])
            .arg_path("--checkpoint-out", &body_path)
            .run()
            .code(0)
            .stdout_has("Checkpoint: 6 entries, written to");
        let body = std::fs::read_to_string(&body_path).unwrap();
        Setup {
            dir,
            snapshot,
            chain: chain_path,
            keys,
            origin,
            body,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to a file named `name` in the test directory.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `zipchain cosign` of `note` by witness `w` with state file `state`, on `snapshot`.
    fn cosign_on(&self, snapshot: &Path, note: &str, w: usize, state: &str) -> Output {
        let note = self.file(&format!("note-{w}-{state}"), note);
        zipchain(["cosign"])
            .args([&note])
            .arg_path("--snapshot", snapshot)
            .arg_path("--chain", &self.chain)
            .arg_path("--key", &self.keys[w])
            .arg_path("--state", &self.path(state))
            .run()
    }

    fn cosign(&self, note: &str, w: usize, state: &str) -> Output {
        self.cosign_on(&self.snapshot, note, w, state)
    }

    /// The body signed by the log key.
    fn log_signed(&self) -> String {
        Note {
            text: self.body.clone(),
            signatures: vec![sign_ed25519(&self.body, &self.origin, &log_key())],
        }
        .to_text()
    }
}

trait ArgPath {
    fn arg_path(self, flag: &str, path: &Path) -> Self;
}

impl ArgPath for common::TestCommand {
    fn arg_path(self, flag: &str, path: &Path) -> Self {
        self.args([Path::new(flag), path])
    }
}

/// A checkpoint body of `origin` with `size` and `root`.
fn body(origin: &str, size: u64, root: [u8; 32]) -> String {
    Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    }
    .to_body()
}

/// Asserts a refusal: exit 1, nothing on stdout, the rule named on stderr.
#[track_caller]
fn refused(out: &Output, rule: &str) {
    out.code(1).stderr_has(&format!("refused ({rule})"));
    assert_eq!(out.stdout, "", "no signature on stdout when refused");
}

#[cfg(unix)]
#[test]
fn keygen_writes_a_private_key_file_and_prints_its_verifier_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.key");
    let out = zipchain(["witness", "keygen", "--name", "witness.example", "-o"])
        .args([&path])
        .run();
    out.code(0);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(out.stdout.lines().count(), 1);
    let vkey = VerifierKey::parse(out.stdout.trim_end()).unwrap();
    assert_eq!(vkey.name(), "witness.example");
    assert_eq!(vkey.algorithm(), ALG_COSIGNATURE_V1);
    let text = std::fs::read_to_string(&path).unwrap();
    let id = hex::encode(vkey.id());
    assert!(
        text.starts_with(&format!("PRIVATE+KEY+witness.example+{id}+")) && text.ends_with('\n'),
        "{text}"
    );
    let secret = STANDARD
        .decode(text.trim_end().splitn(5, '+').nth(4).unwrap())
        .unwrap();
    assert_eq!((secret.len(), secret[0]), (33, ALG_COSIGNATURE_V1));
    let public = SigningKey::from_bytes(&secret[1..].try_into().unwrap()).verifying_key();
    assert_eq!(public.as_bytes(), &vkey.public_key());

    // Never over an existing file; a bad name is bad usage.
    zipchain(["witness", "keygen", "--name", "other", "-o"])
        .args([&path])
        .run()
        .code(2)
        .stderr_has("never overwritten");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    zipchain(["witness", "keygen", "--name", "a+b", "-o"])
        .args([dir.path().join("x.key")])
        .run()
        .code(2);
    let json = zipchain(["witness", "keygen", "--json", "--name", "j", "-o"])
        .args([dir.path().join("j.key")])
        .run();
    json.code(0);
    assert!(
        json.json()["verifier_key"]
            .as_str()
            .unwrap()
            .starts_with("j+")
    );
}

#[test]
fn two_witnesses_cosign_and_the_certificate_v2_checks_final_offline() {
    let v = vectors_or_skip!();
    let s = Setup::new(&v);
    assert!(
        s.body.starts_with(&format!("{}\n6\n", s.origin)),
        "{}",
        s.body
    );
    assert_eq!(s.body.lines().count(), 3);

    let signed = s.log_signed();
    let one = s.cosign(&signed, 0, "state-1");
    one.code(0);
    assert!(
        one.stdout.starts_with(&signed),
        "appended after the log's line"
    );
    let line = &one.stdout[signed.len()..];
    assert!(line.starts_with("\u{2014} w1.example ") && line.ends_with('\n'));
    assert_eq!(line.lines().count(), 1);
    assert_eq!(std::fs::read_to_string(s.path("state-1")).unwrap(), s.body);
    let two = s.cosign(&one.stdout, 1, "state-2");
    two.code(0);
    assert!(two.stdout.starts_with(&one.stdout));
    assert_eq!(Note::parse(&two.stdout).unwrap().signatures.len(), 3);
    // A body alone becomes body, empty line, the line.
    let alone = s.cosign(&s.body, 2, "state-3");
    alone.code(0);
    assert!(
        alone
            .stdout
            .starts_with(&format!("{}\n\u{2014} w3.example ", s.body))
    );
    // The same checkpoint again is consistent with the state.
    s.cosign(&s.body, 2, "state-3").code(0);

    let note = s.file("cosigned", &two.stdout);
    let cert = s.path("cert.json");
    zipchain(["verify", "--chain"])
        .args([&s.chain, &s.snapshot])
        .args(["--tx", &sha3_hex(b"tx-2d")])
        .arg_path("--checkpoint", &note)
        .arg_path("-o", &cert)
        .run()
        .code(0);
    let c = read_json(&cert);
    assert_eq!(c["zipchain_certificate"], 2);
    assert_eq!(
        c["main_chain"]["checkpoint"],
        Value::from(two.stdout.clone())
    );
    assert_eq!(c["main_chain"]["leaf_index"], 2);

    zipchain(["check", "--chain"])
        .args([&s.chain, &cert])
        .run()
        .code(0)
        .stdout_has(
            "Certificate: VALID \u{2014} FINAL on the main chain at height 2 \
             (2 of 3 witnesses: w1.example, w2.example; quorum 2)\n",
        );
    let out = zipchain(["check", "--json", "--chain"])
        .args([&s.chain, &cert])
        .run();
    out.code(0);
    let j = out.json();
    assert_eq!(j["main_chain_checked"], true);
    assert_eq!(
        j["main_chain_proof"],
        serde_json::json!({"witnesses": 2, "quorum": 2})
    );
    // Who vouched, by name, and the checkpoint's size (6 entries: heights 0 to 5).
    assert_eq!(
        j["main_chain_witnesses"],
        serde_json::json!({
            "vouched": ["w1.example", "w2.example"],
            "known": WITNESSES,
            "checkpoint_size": 6,
        })
    );

    // Under one cosignature the certificate is written, but does not pass offline.
    let weak = s.file("one", &one.stdout);
    let cert1 = s.path("cert1.json");
    zipchain(["verify", "--chain"])
        .args([&s.chain, &s.snapshot])
        .args(["--tx", &sha3_hex(b"tx-2d")])
        .arg_path("--checkpoint", &weak)
        .arg_path("-o", &cert1)
        .run()
        .code(0);
    zipchain(["check", "--chain"])
        .args([&s.chain, &cert1])
        .run()
        .code(1)
        .stdout_has("Certificate: INVALID\n")
        .stdout_has("FAIL  main_chain_proof");
}

#[test]
fn verify_refuses_a_checkpoint_that_does_not_cover_the_block() {
    let v = vectors_or_skip!();
    let s = Setup::new(&v);
    // The gap variant's checkpoint (5 entries, heights 0 to 4) does not cover tx-5b's
    // block at height 5.
    let (_, gap_body) = gap(&v, &s);
    let signed = Note {
        text: gap_body.clone(),
        signatures: vec![sign_ed25519(&gap_body, &s.origin, &log_key())],
    };
    let note = s.file("gap-note", &signed.to_text());
    zipchain(["verify", "--chain"])
        .args([&s.chain, &s.snapshot])
        .args(["--tx", &sha3_hex(b"tx-5b")])
        .arg_path("--checkpoint", &note)
        .run()
        .code(1)
        .stdout_has("NO CERTIFICATE v2: the checkpoint does not prove height 5");
    // It does cover tx-2d's.
    zipchain(["verify", "--chain"])
        .args([&s.chain, &s.snapshot])
        .args(["--tx", &sha3_hex(b"tx-2d")])
        .arg_path("--checkpoint", &note)
        .run()
        .code(0)
        .stdout_has("\"zipchain_certificate\": 2");
    // A body without signatures is not a signed note: bad input.
    let bare = s.file("bare", &gap_body);
    zipchain(["verify", "--chain"])
        .args([&s.chain, &s.snapshot])
        .args(["--tx", &sha3_hex(b"tx-2d")])
        .arg_path("--checkpoint", &bare)
        .run()
        .code(2);
}

#[test]
fn every_refusal_of_spec_9_3_exits_1_without_a_signature() {
    let v = vectors_or_skip!();
    let s = Setup::new(&v);
    let cp = Checkpoint::parse(&s.body).unwrap();

    let other = body(&format!("zipchain/{}", "00".repeat(32)), 6, cp.root);
    refused(&s.cosign(&other, 0, "a"), "same origin");
    refused(&s.cosign(&body(&s.origin, 6, [7; 32]), 0, "a"), "own root");
    refused(
        &s.cosign(&body(&s.origin, 7, cp.root), 0, "a"),
        "own main chain",
    );
    let mut bad = Note::parse(&s.log_signed()).unwrap();
    bad.signatures[0].signature[0] ^= 1;
    refused(&s.cosign(&bad.to_text(), 0, "a"), "log signature");
    assert!(!s.path("a").exists(), "no state written on a refusal");

    // The state: the same size with another root, and an inconsistent larger tree.
    s.file("b", &body(&s.origin, 6, [3; 32]));
    refused(&s.cosign(&s.body, 0, "b"), "consistency");
    s.file("c", &body(&s.origin, 3, [3; 32]));
    refused(&s.cosign(&s.body, 0, "c"), "consistency");
    assert_eq!(
        std::fs::read_to_string(s.path("c")).unwrap(),
        body(&s.origin, 3, [3; 32]),
        "the state never goes back"
    );

    // The gap variant's main chain (5 entries) is a prefix: cosigned after the full one,
    // it is refused as smaller; cosigned first, the full one then extends it.
    let (gap, gap_body) = gap(&v, &s);
    assert!(gap_body.starts_with(&format!("{}\n5\n", s.origin)));
    s.cosign(&s.body, 1, "d").code(0);
    refused(&s.cosign(&gap_body, 1, "d"), "never go back");
    s.cosign_on(&gap, &gap_body, 2, "e").code(0);
    refused(&s.cosign_on(&gap, &s.body, 2, "e"), "own main chain");
    s.cosign(&s.body, 2, "e").code(0);
    assert_eq!(std::fs::read_to_string(s.path("e")).unwrap(), s.body);

    // Already cosigned by this key.
    let once = s.cosign(&s.body, 0, "f");
    once.code(0);
    refused(&s.cosign(&once.stdout, 0, "f"), "already cosigned");
}

/// The gap variant's snapshot (the conformance chain without g_orphan's attestation) and
/// its checkpoint body.
fn gap(v: &Path, s: &Setup) -> (PathBuf, String) {
    let expected = read_json(&v.join("chain/expected.json"));
    let key = expected
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with("gap"))
        .unwrap();
    let removed = key
        .split("attestations/")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap();
    let snap = s.path("gap-snapshot");
    copy_dir(&s.snapshot, &snap);
    std::fs::remove_file(snap.join("attestations").join(removed)).unwrap();
    let out = s.path("gap-checkpoint");
    zipchain(["audit", "--chain"])
        .args([&s.chain, &snap])
        .arg_path("--checkpoint-out", &out)
        .run()
        .code(0);
    (snap, std::fs::read_to_string(out).unwrap())
}

#[test]
fn unusable_input_exits_2() {
    let v = vectors_or_skip!();
    let s = Setup::new(&v);
    // A state of another origin.
    s.file(
        "other",
        &body(&format!("zipchain/{}", "00".repeat(32)), 6, [0; 32]),
    );
    let out = s.cosign(&s.body, 0, "other");
    out.code(2).stderr_has("the state holds a checkpoint of");
    assert_eq!(out.stdout, "");
    // A note that is neither a body nor a signed note, a checkpoint with an extension
    // line, a state that is not a checkpoint, a key file that is not a key.
    s.cosign("hello\n", 0, "x").code(2);
    s.cosign(&format!("{}ext\n", s.body), 0, "x").code(2);
    s.file("garbage", "not a checkpoint\n");
    s.cosign(&s.body, 0, "garbage").code(2);
    let note = s.file("n", &s.body);
    zipchain(["cosign"])
        .args([&note])
        .arg_path("--snapshot", &s.snapshot)
        .arg_path("--chain", &s.chain)
        .arg_path("--key", &s.chain)
        .arg_path("--state", &s.path("y"))
        .run()
        .code(2)
        .stderr_has("not a signer key");
}

#[test]
fn a_witness_refuses_a_chain_whose_sequencer_equivocated() {
    let eq = zipchain_testkit::equivocating_chain();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshot");
    eq.kit.write_dir(&snap).unwrap();
    let chain = dir.path().join("chain.json");
    std::fs::write(&chain, eq.kit.trust().to_json_pretty()).unwrap();
    let body_path = dir.path().join("checkpoint");
    zipchain(["audit", "--chain"])
        .args([&chain, &snap])
        .arg_path("--checkpoint-out", &body_path)
        .run();
    let key = dir.path().join("w.key");
    zipchain(["witness", "keygen", "--name", "w", "-o"])
        .args([&key])
        .run()
        .code(0);
    let out = zipchain(["cosign"])
        .args([&body_path])
        .arg_path("--snapshot", &snap)
        .arg_path("--chain", &chain)
        .arg_path("--key", &key)
        .arg_path("--state", &dir.path().join("state"))
        .run();
    refused(&out, "no equivocation");
}
