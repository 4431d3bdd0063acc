//! Hostile chains and certificates through the `zipchain` binary (issue #13): a
//! sequencer that equivocated gets no certificate and fails every check against its
//! snapshot; a forged leaf position fails against the snapshot's batch and is reported
//! as unproven without it; a back-dated block and upper-case hex are refused. The chains
//! are real ones made by the test kit's stand-in services.

// The shared helpers; their vector macro is for the tests of the shared vectors.
#[allow(unused_macros)]
mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use verifier_core::certificate::{Certificate, CertificateChain, CertificateInclusion};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::ObjectKind;
use zipchain_testkit::{
    ChainKit, Equivocating, document_time, equivocating_chain, random_uuid, seal,
};

use common::{Output, failed_checks, zipchain};

/// The kit's snapshot written as a directory under `dir/name`; returns its path.
fn write_snapshot(kit: &ChainKit, dir: &Path, name: &str) -> PathBuf {
    let snap = dir.join(name);
    kit.write_dir(&snap).unwrap();
    snap
}

/// The kit's trust descriptor as a file beside the snapshots.
fn write_chain(kit: &ChainKit, dir: &Path) -> PathBuf {
    let path = dir.join("chain.json");
    std::fs::write(&path, kit.trust().to_json_pretty()).unwrap();
    path
}

fn tx_hex(d: &[u8]) -> String {
    Hash32::digest(d).to_hex()
}

fn object_path(snap: &Path, kind: ObjectKind, key: &Hash32) -> PathBuf {
    snap.join(kind.dir()).join(key.to_hex())
}

fn verify(snap: &Path, chain: &Path, tx: &str, extra: &[&str]) -> Output {
    zipchain(["verify", "--tx", tx])
        .args(extra)
        .args([snap.as_os_str(), "--chain".as_ref(), chain.as_os_str()])
        .run()
}

fn check(cert: &Path, chain: &Path, snapshot: Option<&Path>, json: bool) -> Output {
    let mut cmd = zipchain(["check"]);
    if json {
        cmd = cmd.args(["--json"]);
    }
    if let Some(snap) = snapshot {
        cmd = cmd.args(["--snapshot".as_ref(), snap.as_os_str()]);
    }
    cmd.args([cert.as_os_str(), "--chain".as_ref(), chain.as_os_str()])
        .run()
}

fn check_detail(verdict: &Value, name: &str) -> String {
    verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {verdict}"))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Writes the snapshot directory as a tar, the layout at the archive's root.
fn write_tar(snap: &Path, out: &Path) {
    let mut builder = tar::Builder::new(Vec::new());
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for kind in ObjectKind::ALL {
        for entry in std::fs::read_dir(snap.join(kind.dir())).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            entries.push((format!("{}/{name}", kind.dir()), entry.path()));
        }
    }
    entries.sort();
    for (rel, path) in entries {
        builder.append_path_with_name(&path, rel).unwrap();
    }
    std::fs::write(out, builder.into_inner().unwrap()).unwrap();
}

// ---------------------------------------------------------------- 1. equivocation

#[test]
fn verify_refuses_to_certify_when_the_sequencer_equivocated() {
    let Equivocating {
        kit,
        chain: [_, _, b2, _, _],
        e,
    } = equivocating_chain();
    let tmp = tempfile::tempdir().unwrap();
    let snap = write_snapshot(&kit, tmp.path(), "full");
    let chain = write_chain(&kit, tmp.path());
    // The audit fails: equivocation is fatal.
    zipchain(["audit", "--chain"])
        .args([chain.as_os_str(), snap.as_os_str()])
        .run()
        .code(1)
        .stdout_has("EQUIVOCATION (fatal)");

    // Whichever block won the tie, and for a transaction below the equivocation too.
    let winner: &[u8] = if b2.block < e.block {
        b"2"
    } else {
        b"equivocal"
    };
    for tx in [winner, b"1"] {
        let cert = tmp.path().join("cert.json");
        let out = verify(
            &snap,
            &chain,
            &tx_hex(tx),
            &["--json", "-o", cert.to_str().unwrap()],
        );
        out.code(1);
        assert!(!cert.exists(), "nothing is written");
        let j = out.json();
        assert_eq!(j["found"], false);
        assert_eq!(j["tx"], tx_hex(tx));
        let reason = j["reason"].as_str().unwrap();
        assert!(
            reason.contains("equivocated") && reason.contains("sequence number 2 "),
            "{reason}"
        );
        assert_eq!(j["equivocations"][0]["sequence"], 2);

        // For people: the refusal names the number and the attestations; no certificate
        // on stdout.
        let out = verify(&snap, &chain, &tx_hex(tx), &[]);
        out.code(1)
            .stdout_has("NO CERTIFICATE")
            .stdout_has("sequence number 2 ")
            .stdout_has(&e.attestation.unwrap().to_hex());
        assert!(
            !out.stdout.contains("zipchain_certificate"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn conflicting_certificates_both_fail_against_the_equivocating_snapshot() {
    let Equivocating {
        kit,
        chain: [_, _, b2, _, _],
        e,
    } = equivocating_chain();
    let tmp = tempfile::tempdir().unwrap();
    let full = write_snapshot(&kit, tmp.path(), "full");
    let chain = write_chain(&kit, tmp.path());
    let full_tar = tmp.path().join("full.tar");
    write_tar(&full, &full_tar);

    // Deleting one of the two attestations hides the equivocation, and each half gives
    // its own certificate at height 2 with sequence number 2.
    let mut certs = Vec::new();
    for (hidden, kept, d) in [(&e, &b2, &b"2"[..]), (&b2, &e, &b"equivocal"[..])] {
        let name = format!("without-{}", hidden.block);
        let half = write_snapshot(&kit, tmp.path(), &name);
        std::fs::remove_file(object_path(
            &half,
            ObjectKind::Attestation,
            &hidden.attestation.unwrap(),
        ))
        .unwrap();
        let cert = tmp.path().join(format!("{name}.json"));
        verify(&half, &chain, &tx_hex(d), &["-o", cert.to_str().unwrap()]).code(0);
        let c: Value = common::read_json(&cert);
        assert_eq!(
            (c["height"].clone(), c["sequence"].clone()),
            (json!(2), json!(2))
        );
        assert_eq!(c["block"].as_str().unwrap().len(), 162);
        assert_eq!(
            Hash32::digest(&hex::decode(c["block"].as_str().unwrap()).unwrap()),
            kept.block
        );
        // It checks against its own half.
        check(&cert, &chain, Some(&half), false).code(0);
        certs.push(cert);
    }

    for cert in &certs {
        // Alone, a certificate cannot know.
        check(cert, &chain, None, false)
            .code(0)
            .stdout_has("main-chain position NOT checked");
        // With the full snapshot (directory or tar): the named check fails.
        for snap in [&full, &full_tar] {
            let out = check(cert, &chain, Some(snap), true);
            out.code(1);
            let j = out.json();
            assert_eq!(j["valid"], false);
            assert!(
                failed_checks(&j).contains(&"equivocation".to_owned()),
                "{:?}",
                failed_checks(&j)
            );
            let d = check_detail(&j, "equivocation");
            assert!(d.contains("sequence number 2 "), "{d}");
        }
        check(cert, &chain, Some(&full), false)
            .code(1)
            .stdout_has("Certificate: INVALID")
            .stdout_has("  FAIL  equivocation: ");
    }
}

// ---------------------------------------------------------------- 2. leaf position

#[test]
fn a_forged_leaf_position_fails_against_the_snapshot_and_is_unproven_alone() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let txs: [&[u8]; 5] = [b"t0", b"t1", b"t2", b"t3", b"t4"];
    let b1 = kit.append(&b0, &txs);
    kit.append(&b1, &[b"after"]);
    let tmp = tempfile::tempdir().unwrap();
    let snap = write_snapshot(&kit, tmp.path(), "snap");
    let chain = write_chain(&kit, tmp.path());
    let tar = tmp.path().join("snap.tar");
    write_tar(&snap, &tar);

    let honest = tmp.path().join("honest.json");
    verify(
        &snap,
        &chain,
        &tx_hex(b"t4"),
        &["-o", honest.to_str().unwrap()],
    )
    .code(0);
    let mut cert = common::read_json(&honest);
    assert_eq!(cert["inclusion"]["leaf_index"], 4);
    assert_eq!(cert["inclusion"]["tree_size"], 5);
    assert_eq!(cert["inclusion"]["path"].as_array().unwrap().len(), 1);
    // Leaf 4 of 5 hangs right of the root with the path [H(leaves 0..3)]: leaf 1 of 2
    // with the same path leads to the same root.
    cert["inclusion"]["leaf_index"] = json!(1);
    cert["inclusion"]["tree_size"] = json!(2);
    let forged = tmp.path().join("forged.json");
    std::fs::write(&forged, serde_json::to_string_pretty(&cert).unwrap()).unwrap();

    // Alone it passes, saying plainly that the position is not proven.
    let out = check(&forged, &chain, None, true);
    out.code(0);
    let j = out.json();
    assert_eq!(j["position_checked"], false);
    let d = check_detail(&j, "inclusion");
    assert!(d.contains("position within the block is NOT proven"), "{d}");
    check(&forged, &chain, None, false)
        .code(0)
        .stdout_has("position within the block NOT proven");

    // With the snapshot's batch, the position is the batch's: rejected.
    for s in [&snap, &tar] {
        let out = check(&forged, &chain, Some(s), true);
        out.code(1);
        let j = out.json();
        assert_eq!(failed_checks(&j), ["inclusion"]);
        assert_eq!(j["position_checked"], true);
        let d = check_detail(&j, "inclusion");
        assert!(
            d.contains("first at leaf 4 of 5") && d.contains("not at leaf 1 of 2"),
            "{d}"
        );
    }

    // The honest certificate: proven, and the human output has no NOT-proven line.
    let out = check(&honest, &chain, Some(&snap), true);
    out.code(0);
    assert_eq!(out.json()["position_checked"], true);
    let out = check(&honest, &chain, Some(&snap), false);
    out.code(0);
    assert!(!out.stdout.contains("NOT proven"), "{}", out.stdout);
}

// ---------------------------------------------------------------- 3. strictness

/// A chain whose block 2 was timestamped one second before its parent (a timestamp
/// service whose clock stepped back): the audit takes it, but no certificate can span
/// an interval that ends before it begins.
#[test]
fn a_back_dated_block_gets_no_certificate_and_a_hand_made_one_fails_time_bounds() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let b1 = kit.append(&b0, &[b"1"]);
    kit.advance(10);
    let sealed = seal(
        kit.tsa(),
        &b1,
        random_uuid().unwrap(),
        vec![b"back-dated".to_vec()],
        b1.iat - 1,
    );
    kit.store_sealed(&sealed);
    let mut b2 = sealed.built.clone();
    let made = document_time(kit.clock());
    let doc = kit.sequencer_mut().sequence(b2.y(), made).unwrap();
    kit.attach(&mut b2, doc, true);
    let b2 = kit.record(b2);

    let tmp = tempfile::tempdir().unwrap();
    let snap = write_snapshot(&kit, tmp.path(), "snap");
    let chain = write_chain(&kit, tmp.path());
    let out = zipchain(["audit", "--json", "--chain"])
        .args([chain.as_os_str(), snap.as_os_str()])
        .run();
    out.code(0);
    assert_eq!(out.json()["main_chain_height"], 2);

    // verify refuses (a verdict, exit 1), writing nothing.
    let cert_path = tmp.path().join("cert.json");
    let out = verify(
        &snap,
        &chain,
        &tx_hex(b"back-dated"),
        &["--json", "-o", cert_path.to_str().unwrap()],
    );
    out.code(1);
    assert!(!cert_path.exists());
    let reason = out.json()["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("after the upper one"), "{reason}");

    // The certificate such a chain would give, made by hand: every object is genuine,
    // only the order of the two times is wrong.
    let read =
        |kind: ObjectKind, key: &Hash32| std::fs::read(object_path(&snap, kind, key)).unwrap();
    let tx = Hash32::digest(b"back-dated");
    let proof = verifier_core::merkle::prove(&[tx], 0).unwrap();
    let cert = Certificate {
        zipchain_certificate: 1,
        chain: CertificateChain {
            genesis: b0.block.to_hex(),
            sequencer_key: kit.trust().sequencer_key().to_hex(),
        },
        tx: tx.to_hex(),
        height: 2,
        sequence: b2.k.unwrap(),
        block: hex::encode(read(ObjectKind::Block, &b2.block)),
        lower: String::from_utf8(read(ObjectKind::Timestamp, &b1.timestamp)).unwrap(),
        upper: String::from_utf8(read(ObjectKind::Timestamp, &b2.timestamp)).unwrap(),
        attestation: {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .encode(read(ObjectKind::Attestation, &b2.attestation.unwrap()))
        },
        inclusion: CertificateInclusion {
            leaf_index: proof.leaf_index,
            tree_size: proof.tree_size,
            path: proof.path.iter().map(Hash32::to_hex).collect(),
        },
        main_chain: None,
        not_before: b1.iat,
        not_after: b2.iat,
    };
    assert!(cert.not_before > cert.not_after);
    std::fs::write(&cert_path, serde_json::to_string_pretty(&cert).unwrap()).unwrap();
    for s in [None, Some(snap.as_path())] {
        let out = check(&cert_path, &chain, s, true);
        out.code(1);
        let j = out.json();
        assert_eq!(failed_checks(&j), ["time_bounds"], "snapshot {s:?}");
        let d = check_detail(&j, "time_bounds");
        assert!(d.contains("is after not_after"), "{d}");
    }
}

#[test]
fn upper_case_hex_in_a_certificate_is_a_format_failure() {
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    kit.append(&b0, &[b"a", b"b", b"c"]);
    let tmp = tempfile::tempdir().unwrap();
    let snap = write_snapshot(&kit, tmp.path(), "snap");
    let chain = write_chain(&kit, tmp.path());
    let honest = tmp.path().join("honest.json");
    verify(
        &snap,
        &chain,
        &tx_hex(b"b"),
        &["-o", honest.to_str().unwrap()],
    )
    .code(0);
    let cert = common::read_json(&honest);
    for (field, pointer) in [
        ("tx", "/tx"),
        ("block", "/block"),
        ("chain.genesis", "/chain/genesis"),
        ("chain.sequencer_key", "/chain/sequencer_key"),
        ("inclusion.path[0]", "/inclusion/path/0"),
    ] {
        let mut c = cert.clone();
        let slot = c.pointer_mut(pointer).unwrap();
        *slot = json!(slot.as_str().unwrap().to_uppercase());
        let path = tmp.path().join("upper.json");
        std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
        for s in [None, Some(snap.as_path())] {
            let out = check(&path, &chain, s, true);
            out.code(1);
            let j = out.json();
            assert_eq!(failed_checks(&j), ["format"], "{field}");
            let d = check_detail(&j, "format");
            assert!(d.starts_with(&format!("{field}: upper-case hex")), "{d}");
        }
    }
}
