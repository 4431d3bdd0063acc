//! Every class of hostile input the fuzz targets try (issue #18, docs/FUZZING.md "Hostile
//! input is a clear answer"), given to the `zipchain` binary: each is a clear answer,
//! exit 1 with the failed check named when the input was read and found invalid, exit 2
//! with an error when it cannot be read, and never a crash (exit 101 or a signal).

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use common::{Output, failed_checks, read_json, zipchain};

/// A megabyte of nesting: CBOR arrays (`0x81 …`) or JSON arrays (`[[[…]]]`).
const DEEP: usize = 1 << 20;

fn deep_cbor() -> Vec<u8> {
    let mut out = vec![0x81; DEEP];
    out.push(0);
    out
}

fn deep_json() -> String {
    format!("{}0{}", "[".repeat(DEEP), "]".repeat(DEEP))
}

/// `zipchain` answered, and did not crash.
#[track_caller]
fn answered(out: &Output, code: i32) -> Value {
    out.code(code);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.json()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn hostile_nsm_documents_name_the_failed_check() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let real = std::fs::read(v.join("nitro/docs/blocky_nitrite_nitro_attestation.cbor")).unwrap();
    let mut flipped = real.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("empty", Vec::new(), "cbor"),
        ("truncated", real[..real.len() / 2].to_vec(), "cbor"),
        ("trailing byte", [&real[..], &[0]].concat(), "cbor"),
        ("deep nesting", deep_cbor(), "cbor"),
        ("not COSE", vec![0x83, 0x01, 0x02, 0x03], "cose"),
        ("signature bit flipped", flipped, "signature"),
    ];
    for (what, bytes, check) in cases {
        let doc = write(tmp.path(), "doc.cbor", bytes);
        let j = answered(&zipchain(["nsm", "verify", "--json"]).args([&doc]).run(), 1);
        assert_eq!(j["failed_check"], check, "{what}");
        assert_eq!(j["valid"], false, "{what}");
    }
}

#[test]
fn hostile_timestamps_and_key_sets_are_answered() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let pool = v.join("jwt/cognito-us-east-1_PDsy6i0Bf");
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf";
    let token = std::fs::read_to_string(pool.join("id.jwt")).unwrap();
    let token = token.trim();
    let (h, rest) = token.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    use base64::Engine as _;
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let mut sig = s.as_bytes().to_vec();
    sig[5] = if sig[5] == b'A' { b'B' } else { b'A' };
    let cases: Vec<(&str, String, &str)> = vec![
        ("two segments", format!("{h}.{p}"), "format"),
        ("not base64url", format!("{h}.{p}.!!!"), "format"),
        (
            "deep JSON header",
            format!("{}.{p}.{s}", b64(&deep_json())),
            "header",
        ),
        (
            "header not an object",
            format!("{}.{p}.{s}", b64("[1]")),
            "header",
        ),
        (
            "alg none",
            format!("{}.{p}.", b64(r#"{"alg":"none"}"#)),
            "alg",
        ),
        (
            "unknown kid",
            format!("{}.{p}.{s}", b64(r#"{"alg":"RS256","kid":"nope"}"#)),
            "kid",
        ),
        (
            "signature changed",
            format!("{h}.{p}.{}", String::from_utf8(sig).unwrap()),
            "signature",
        ),
    ];
    for (what, token, check) in cases {
        let file = write(tmp.path(), "token.jwt", token);
        let out = zipchain(["jwt", "verify", "--json"])
            .args([&file])
            .args(["--jwks".as_ref(), pool.join("jwks.json").as_os_str()])
            .args(["--issuer", issuer])
            .run();
        let j = answered(&out, 1);
        assert_eq!(j["failed_check"], check, "{what}");
    }
    // A key set that cannot be read is unreadable input.
    for (what, jwks) in [
        ("not JSON", "{ not json".to_owned()),
        ("deep JSON", deep_json()),
        ("no keys", r#"{"keys":[]}"#.to_owned()),
        (
            "a key that is not RSA",
            r#"{"keys":[{"kty":"EC","kid":"k"}]}"#.to_owned(),
        ),
    ] {
        let file = write(tmp.path(), "jwks.json", jwks);
        let out = zipchain(["jwt", "verify", "--json"])
            .args([pool.join("id.jwt")])
            .args(["--jwks".as_ref(), file.as_os_str()])
            .args(["--issuer", issuer])
            .run();
        let j = answered(&out, 2);
        assert!(j["error"].is_string(), "{what}: {j}");
    }
}

#[test]
fn hostile_certificates_and_descriptors_are_answered() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let chain = v.join("chain/chain.json");
    let cert = read_json(&v.join("chain/certificates/tx-2d.json"));
    let check = |cert: &Path, chain: &Path| {
        zipchain(["check", "--json"])
            .args([cert])
            .args(["--chain".as_ref(), chain.as_os_str()])
            .run()
    };
    // Read, and found invalid: exit 1 naming the check.
    let with = |key: &str, value: Value| {
        let mut c = cert.clone();
        c[key] = value;
        c.to_string()
    };
    let cases = [
        ("an unknown member", with("extra", json!(1)), "format"),
        (
            "a block that is not hex",
            with("block", json!("zz")),
            "format",
        ),
        (
            "a truncated attestation",
            with("attestation", json!("hEShATgi")),
            "attestation",
        ),
        (
            "another transaction",
            with("tx", json!("00".repeat(32))),
            "inclusion",
        ),
    ];
    for (what, text, failed) in cases {
        let file = write(tmp.path(), "cert.json", text);
        let j = answered(&check(&file, &chain), 1);
        assert!(
            failed_checks(&j).contains(&failed.to_owned()),
            "{what}: {j}"
        );
    }
    // A height far beyond the chain: alone a certificate v1 does not prove its height
    // (SPEC §3); with the snapshot it fails `main_chain`.
    let file = write(tmp.path(), "cert.json", with("height", json!(u64::MAX)));
    let out = zipchain(["check", "--json"])
        .args([&file])
        .args(["--chain".as_ref(), chain.as_os_str()])
        .args(["--snapshot".as_ref(), v.join("chain/snapshot").as_os_str()])
        .run();
    let j = answered(&out, 1);
    assert!(failed_checks(&j).contains(&"main_chain".to_owned()), "{j}");
    // Not a certificate at all, or a descriptor that cannot be read: exit 2.
    for (what, text) in [
        ("not JSON", "not json".to_owned()),
        ("deep JSON", deep_json()),
    ] {
        let file = write(tmp.path(), "cert.json", &text);
        let j = answered(&check(&file, &chain), 2);
        assert!(j["error"].is_string(), "certificate {what}");
        let file = write(tmp.path(), "chain.json", &text);
        let good = write(tmp.path(), "good.json", cert.to_string());
        let j = answered(&check(&good, &file), 2);
        assert!(j["error"].is_string(), "descriptor {what}");
    }
}

#[test]
fn hostile_snapshots_are_answered() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let chain = v.join("chain/chain.json");
    let audit = |snapshot: &Path| {
        zipchain(["audit", "--json"])
            .args([snapshot])
            .args(["--chain".as_ref(), chain.as_os_str()])
            .run()
    };
    // A tar of the conformance snapshot, then broken ways.
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_dir_all(".", v.join("chain/snapshot")).unwrap();
    let tar = tar.into_inner().unwrap();
    for (what, bytes) in [
        ("not a tar", vec![b'x'; 1500]),
        ("a truncated tar", tar[..700].to_vec()),
        ("a header with a bad checksum", {
            let mut t = tar.clone();
            t[148] ^= 1;
            t
        }),
    ] {
        let file = write(tmp.path(), "snapshot.tar", bytes);
        let j = answered(&audit(&file), 2);
        assert!(j["error"].is_string(), "{what}");
    }
    // Objects that are not what their names say are invalid objects of a valid audit.
    let dir = tmp.path().join("snap");
    common::copy_dir(&v.join("chain/snapshot"), &dir);
    std::fs::write(dir.join("blocks").join("ab".repeat(32)), [0u8; 81]).unwrap();
    std::fs::write(dir.join("batches").join("cd".repeat(32)), deep_cbor()).unwrap();
    let j = answered(&audit(&dir), 0);
    let invalid: Vec<&str> = j["invalid_objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert!(invalid.contains(&"ab".repeat(32).as_str()), "{j}");
    assert!(invalid.contains(&"cd".repeat(32).as_str()), "{j}");
    let out = zipchain(["audit", "--json", "--strict"])
        .args([&dir])
        .args(["--chain".as_ref(), chain.as_os_str()])
        .run();
    answered(&out, 1);
}
