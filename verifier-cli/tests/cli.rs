//! End-to-end tests of the `zipchain` binary (SPEC §6): exit codes, `--json` documents
//! and the key lines of the human output, against the shared test vectors.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use common::{copy_dir, failed_checks, read_json, sha3_hex, zipchain};

// ---------------------------------------------------------------- nsm verify

const PROD_DOC: &str = "blocky_nitrite_nitro_attestation.cbor";
const DEBUG_DOC: &str = "blocky_nitrite_nitro_attestation_debug.cbor";
const BADSIG_DOC: &str = "NEGATIVE_eternis_invalid_attestation_badsig.cbor";

fn doc(v: &Path, name: &str) -> PathBuf {
    v.join("nitro/docs").join(name)
}

/// The MANIFEST.json entry of one document.
fn manifest(v: &Path, name: &str) -> Value {
    let all = read_json(&v.join("nitro/docs/MANIFEST.json"));
    all.as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == name)
        .unwrap_or_else(|| panic!("{name} not in MANIFEST.json"))
        .clone()
}

#[test]
fn nsm_verify_production_document() {
    let v = vectors_or_skip!();
    let m = manifest(&v, PROD_DOC);
    let out = zipchain(["nsm", "verify", "--json"])
        .args([doc(&v, PROD_DOC)])
        .run();
    out.code(0);
    let j = out.json();
    assert_eq!(j["valid"], true);
    assert_eq!(j["failed_check"], Value::Null);
    // Checked at the document's own timestamp (Unix seconds here).
    assert_eq!(j["checked_at"], m["timestamp_ms"].as_u64().unwrap() / 1000);
    assert_eq!(j["chain_validity"]["not_after"], m["chain_min_not_after"]);
    assert!(
        j["chain_validity"]["not_before"].as_u64().unwrap() <= j["checked_at"].as_u64().unwrap()
    );
    assert_eq!(j["document"]["module_id"], m["module_id"]);
    assert_eq!(j["document"]["timestamp"], m["timestamp_ms"]);
    assert_eq!(j["document"]["pcrs"]["0"], m["pcr0"]);
    assert_eq!(j["debug"], false);
}

#[test]
fn nsm_verify_production_document_human() {
    let v = vectors_or_skip!();
    let m = manifest(&v, PROD_DOC);
    zipchain(["nsm", "verify"])
        .args([doc(&v, PROD_DOC)])
        .run()
        .code(0)
        .stdout_has("NSM attestation document: VALID")
        .stdout_has("checked at     2024-09-07T14:37:39Z (the document's own timestamp)")
        .stdout_has(m["module_id"].as_str().unwrap());
}

#[test]
fn nsm_verify_debug_document_needs_allow_debug() {
    let v = vectors_or_skip!();
    let out = zipchain(["nsm", "verify", "--json"])
        .args([doc(&v, DEBUG_DOC)])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["failed_check"], "debug");
    // The fields are shown even though a check failed.
    assert_eq!(
        j["document"]["module_id"],
        manifest(&v, DEBUG_DOC)["module_id"]
    );

    let out = zipchain(["nsm", "verify", "--json", "--allow-debug"])
        .args([doc(&v, DEBUG_DOC)])
        .run();
    out.code(0);
    let j = out.json();
    assert_eq!(j["valid"], true);
    assert_eq!(j["debug"], true);
}

#[test]
fn nsm_verify_debug_document_human_names_the_check() {
    let v = vectors_or_skip!();
    zipchain(["nsm", "verify"])
        .args([doc(&v, DEBUG_DOC)])
        .run()
        .code(1)
        .stdout_has("NSM attestation document: INVALID")
        .stdout_has("failed check   debug")
        .stdout_has("checked at     2024-09-07T14:38:06.508Z (the document's own timestamp)");
    zipchain(["nsm", "verify", "--allow-debug"])
        .args([doc(&v, DEBUG_DOC)])
        .run()
        .code(0)
        .stdout_has("debug mode     yes (allowed by --allow-debug)");
}

/// The three documents of `nitro/docs-current/` (indefinite-length payload maps of
/// 2025-09 and 2026-08, an empty `public_key` of 2021), as real enclaves make them now:
/// each gets its manifest's verdict, with its fields shown.
#[test]
fn nsm_verify_current_documents() {
    let v = vectors_or_skip!();
    let dir = v.join("nitro/docs-current");
    let all = read_json(&dir.join("MANIFEST.json"));
    let entries = all.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for m in entries {
        let path = dir.join(m["file"].as_str().unwrap());
        let debug = m["debug_mode"] == true;
        let out = zipchain(["nsm", "verify", "--json"]).args([&path]).run();
        let j = out.json();
        if debug {
            out.code(1);
            assert_eq!(j["failed_check"], "debug", "{}", m["file"]);
        } else {
            out.code(0);
            assert_eq!(j["valid"], true, "{}", m["file"]);
            assert_eq!(j["chain_validity"]["not_after"], m["chain_min_not_after"]);
        }
        assert_eq!(j["document"]["module_id"], m["module_id"]);
        assert_eq!(j["document"]["timestamp"], m["timestamp_ms"]);
        assert_eq!(j["document"]["pcrs"]["0"], m["pcr0"]);
        assert_eq!(
            j["document"]["pcrs"].as_object().unwrap().len() as u64,
            m["pcr_count"].as_u64().unwrap()
        );
        for field in ["public_key", "user_data", "nonce"] {
            let shape = match &j["document"][field] {
                Value::Null => "null".to_owned(),
                Value::String(hex) => format!("bstr[{}]", hex.len() / 2),
                other => panic!("{field}: {other}"),
            };
            assert_eq!(shape, m[field].as_str().unwrap(), "{} {field}", m["file"]);
        }
        let out = zipchain(["nsm", "verify", "--json", "--allow-debug"])
            .args([&path])
            .run();
        out.code(0);
        assert_eq!(out.json()["debug"], debug);
    }
    // The human output of the first production document with an indefinite-length map.
    zipchain(["nsm", "verify"])
        .args([dir.join("tkhq_rust_sdk_lib_ce1e1c6e.cbor")])
        .run()
        .code(0)
        .stdout_has("NSM attestation document: VALID")
        .stdout_has("i-02dc40d2256544b3a-enc01995469a96f5a2b");
}

#[test]
fn nsm_verify_bad_signature() {
    let v = vectors_or_skip!();
    let out = zipchain(["nsm", "verify", "--json"])
        .args([doc(&v, BADSIG_DOC)])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["failed_check"], "signature");
    assert!(j["error"].as_str().is_some_and(|e| !e.is_empty()));
}

#[test]
fn nsm_verify_at_a_time_after_the_chain_expired() {
    let v = vectors_or_skip!();
    let not_after = manifest(&v, PROD_DOC)["chain_min_not_after"]
        .as_u64()
        .unwrap();
    // The last millisecond of the chain's last valid second still verifies ...
    let last = not_after * 1000;
    let out = zipchain(["nsm", "verify", "--json", "--at", &last.to_string()])
        .args([doc(&v, PROD_DOC)])
        .run();
    out.code(0);
    assert_eq!(out.json()["checked_at"], not_after);
    // ... one second later the earliest-expiring certificate has expired.
    let after = (not_after + 1) * 1000;
    let out = zipchain(["nsm", "verify", "--json", "--at", &after.to_string()])
        .args([doc(&v, PROD_DOC)])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["failed_check"], "validity");

    zipchain(["nsm", "verify", "--at", &after.to_string()])
        .args([doc(&v, PROD_DOC)])
        .run()
        .code(1)
        .stdout_has("failed check   validity")
        .stdout_has("checked at     2024-09-07T17:37:40.000Z (the time given with --at)");
}

#[test]
fn nsm_verify_under_another_root() {
    let v = vectors_or_skip!();
    let chain = read_json(&v.join("chain/chain.json"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, chain["nitro"]["root_pem"].as_str().unwrap()).unwrap();
    let out = zipchain(["nsm", "verify", "--json", "--root"])
        .args([&root, &doc(&v, PROD_DOC)])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["failed_check"], "root");
}

#[test]
fn nsm_verify_root_that_is_not_pem_is_bad_input() {
    let v = vectors_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, "not a certificate").unwrap();
    zipchain(["nsm", "verify", "--root"])
        .args([&root, &doc(&v, PROD_DOC)])
        .run()
        .code(2);
}

#[test]
fn nsm_verify_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-document.cbor");
    let out = zipchain(["nsm", "verify", "--json"]).args([&missing]).run();
    out.code(2);
    assert!(
        out.json()["error"]
            .as_str()
            .unwrap()
            .contains("cannot read")
    );
    zipchain(["nsm", "verify"])
        .args([&missing])
        .run()
        .code(2)
        .stderr_has("no-such-document.cbor");
}

#[test]
fn nsm_verify_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.cbor");
    std::fs::write(&garbage, b"\xff\xfe this is not an attestation document").unwrap();
    let out = zipchain(["nsm", "verify", "--json"]).args([&garbage]).run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["failed_check"], "cbor");
    assert_eq!(j["document"], Value::Null);
    zipchain(["nsm", "verify"])
        .args([&garbage])
        .run()
        .code(1)
        .stdout_has("failed check   cbor");
}

// ---------------------------------------------------------------- jwt verify

const COGNITO: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_";

/// (pool, token file, token use, iat) of the real Cognito tokens.
const TOKENS: [(&str, &str, &str, u64); 3] = [
    ("PDsy6i0Bf", "id.jwt", "id", 1_587_311_838),
    ("iWcTPhZBA", "id.jwt", "id", 1_617_954_848),
    ("iWcTPhZBA", "access.jwt", "access", 1_617_954_851),
];

fn pool_dir(v: &Path, pool: &str) -> PathBuf {
    v.join(format!("jwt/cognito-us-east-1_{pool}"))
}

#[test]
fn jwt_verify_real_cognito_tokens() {
    let v = vectors_or_skip!();
    for (pool, file, token_use, iat) in TOKENS {
        let dir = pool_dir(&v, pool);
        let out = zipchain(["jwt", "verify", "--json", "--token-use", token_use])
            .args([dir.join(file)])
            .args([
                "--jwks".as_ref(),
                dir.join("jwks.json").as_os_str(),
                "--issuer".as_ref(),
                format!("{COGNITO}{pool}").as_ref(),
            ])
            .run();
        out.code(0);
        let j = out.json();
        assert_eq!(j["valid"], true, "{pool}/{file}");
        assert_eq!(j["iat"], iat, "{pool}/{file}");
        assert_eq!(j["claims"]["token_use"], token_use);
        assert_eq!(j["header"]["alg"], "RS256");
        // No --username-domain: the username is not read as attested bytes.
        assert_eq!(j["attested"], Value::Null);
        let token = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(j["token_hash"], sha3_hex(&token));
    }
}

#[test]
fn jwt_verify_human_output() {
    let v = vectors_or_skip!();
    let dir = pool_dir(&v, "PDsy6i0Bf");
    zipchain(["jwt", "verify"])
        .args([dir.join("id.jwt")])
        .args(["--jwks".as_ref(), dir.join("jwks.json").as_os_str()])
        .args(["--issuer", &format!("{COGNITO}PDsy6i0Bf")])
        .run()
        .code(0)
        .stdout_has("Timestamp JWT: VALID (archival: exp not checked)")
        .stdout_has("issued at (iat)  1587311838 (2020-04-19T15:57:18Z)");
}

#[test]
fn jwt_verify_wrong_issuer() {
    let v = vectors_or_skip!();
    let dir = pool_dir(&v, "PDsy6i0Bf");
    let run = |json: bool| {
        zipchain(["jwt", "verify"])
            .args(json.then_some("--json"))
            .args([dir.join("id.jwt")])
            .args(["--jwks".as_ref(), dir.join("jwks.json").as_os_str()])
            .args(["--issuer", &format!("{COGNITO}iWcTPhZBA")])
            .run()
    };
    let out = run(true);
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["failed_check"], "issuer");
    run(false)
        .code(1)
        .stdout_has("Timestamp JWT: INVALID")
        .stdout_has("failed check   issuer");
}

#[test]
fn jwt_verify_wrong_token_use() {
    let v = vectors_or_skip!();
    let dir = pool_dir(&v, "iWcTPhZBA");
    // An access token read as an ID token (the default), and the other way round.
    for (file, token_use) in [("access.jwt", "id"), ("id.jwt", "access")] {
        let out = zipchain(["jwt", "verify", "--json", "--token-use", token_use])
            .args([dir.join(file)])
            .args(["--jwks".as_ref(), dir.join("jwks.json").as_os_str()])
            .args(["--issuer", &format!("{COGNITO}iWcTPhZBA")])
            .run();
        out.code(1);
        assert_eq!(out.json()["failed_check"], "token_use", "{file}");
    }
    let out = zipchain(["jwt", "verify", "--json"])
        .args([dir.join("access.jwt")])
        .args(["--jwks".as_ref(), dir.join("jwks.json").as_os_str()])
        .args(["--issuer", &format!("{COGNITO}iWcTPhZBA")])
        .run();
    out.code(1);
    assert_eq!(out.json()["failed_check"], "token_use");
}

#[test]
fn jwt_verify_reads_stdin() {
    let v = vectors_or_skip!();
    let dir = pool_dir(&v, "iWcTPhZBA");
    let token = std::fs::read(dir.join("access.jwt")).unwrap();
    let out = zipchain(["jwt", "verify", "-", "--json", "--token-use", "access"])
        .args(["--jwks".as_ref(), dir.join("jwks.json").as_os_str()])
        .args(["--issuer", &format!("{COGNITO}iWcTPhZBA")])
        .stdin(token.clone())
        .run();
    out.code(0);
    let j = out.json();
    assert_eq!(j["valid"], true);
    assert_eq!(j["token_hash"], sha3_hex(&token));
}

#[test]
fn jwt_verify_ignores_one_trailing_newline() {
    let v = vectors_or_skip!();
    let dir = pool_dir(&v, "PDsy6i0Bf");
    let token = std::fs::read(dir.join("id.jwt")).unwrap();
    assert_ne!(token.last(), Some(&b'\n'), "the vector has no newline");
    let tmp = tempfile::tempdir().unwrap();
    for (name, end) in [("lf.jwt", "\n"), ("crlf.jwt", "\r\n")] {
        let path = tmp.path().join(name);
        let mut bytes = token.clone();
        bytes.extend_from_slice(end.as_bytes());
        std::fs::write(&path, bytes).unwrap();
        let out = zipchain(["jwt", "verify", "--json"])
            .args([&path])
            .args(["--jwks".as_ref(), dir.join("jwks.json").as_os_str()])
            .args(["--issuer", &format!("{COGNITO}PDsy6i0Bf")])
            .run();
        out.code(0);
        // H(t) is of the token exactly as issued, without the newline.
        assert_eq!(out.json()["token_hash"], sha3_hex(&token), "{name}");
    }
}

/// Writes the conformance chain's JWKS to a file; returns (issuer, jwks path).
fn conformance_jwks(v: &Path, dir: &Path) -> (String, PathBuf) {
    let chain = read_json(&v.join("chain/chain.json"));
    let path = dir.join("jwks.json");
    std::fs::write(&path, chain["timestamp"]["jwks"].to_string()).unwrap();
    (
        chain["timestamp"]["issuer"].as_str().unwrap().to_owned(),
        path,
    )
}

#[test]
fn jwt_verify_username_domain_prints_the_attested_block_hash() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let (issuer, jwks) = conformance_jwks(&v, tmp.path());
    let labels = read_json(&v.join("chain/expected.json"))["labels"].clone();
    let labels = labels.as_object().unwrap();
    assert!(!labels.is_empty());
    for (name, label) in labels {
        let ts = v
            .join("chain/snapshot/timestamps")
            .join(label["timestamp"].as_str().unwrap());
        let out = zipchain(["jwt", "verify", "--json", "--username-domain", "bky.sh"])
            .args([&ts])
            .args(["--jwks".as_ref(), jwks.as_os_str()])
            .args(["--issuer", &issuer])
            .run();
        out.code(0);
        let j = out.json();
        assert_eq!(j["attested"], label["block"], "{name}");
        assert_eq!(j["iat"], label["iat"], "{name}");
        assert_eq!(j["token_hash"], label["timestamp"], "{name}");
    }
    let b2 = &labels["b2"];
    zipchain(["jwt", "verify", "--username-domain", "bky.sh"])
        .args([v
            .join("chain/snapshot/timestamps")
            .join(b2["timestamp"].as_str().unwrap())])
        .args(["--jwks".as_ref(), jwks.as_os_str()])
        .args(["--issuer", &issuer])
        .run()
        .code(0)
        .stdout_has(&format!(
            "attested bytes   {}",
            b2["block"].as_str().unwrap()
        ));
    // Another domain: the username is not `hex@D`.
    let out = zipchain([
        "jwt",
        "verify",
        "--json",
        "--username-domain",
        "example.com",
    ])
    .args([v
        .join("chain/snapshot/timestamps")
        .join(b2["timestamp"].as_str().unwrap())])
    .args(["--jwks".as_ref(), jwks.as_os_str()])
    .args(["--issuer", &issuer])
    .run();
    out.code(1);
    assert_eq!(out.json()["failed_check"], "username");
}

#[test]
fn jwt_verify_cognito_username_is_not_hex_at_domain() {
    let v = vectors_or_skip!();
    let dir = pool_dir(&v, "PDsy6i0Bf");
    let out = zipchain(["jwt", "verify", "--json", "--username-domain", "bky.sh"])
        .args([dir.join("id.jwt")])
        .args(["--jwks".as_ref(), dir.join("jwks.json").as_os_str()])
        .args(["--issuer", &format!("{COGNITO}PDsy6i0Bf")])
        .run();
    out.code(1);
    assert_eq!(out.json()["failed_check"], "username");
}

#[test]
fn jwt_verify_without_jwks_is_a_usage_error() {
    let out = zipchain(["jwt", "verify", "token.jwt", "--issuer", "https://x"]).run();
    out.code(2).stderr_has("--jwks");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn jwt_verify_unreadable_jwks_is_bad_input() {
    let v = vectors_or_skip!();
    let dir = pool_dir(&v, "PDsy6i0Bf");
    let tmp = tempfile::tempdir().unwrap();
    let jwks = tmp.path().join("jwks.json");
    std::fs::write(&jwks, "{ not json").unwrap();
    zipchain(["jwt", "verify"])
        .args([dir.join("id.jwt")])
        .args(["--jwks".as_ref(), jwks.as_os_str()])
        .args(["--issuer", &format!("{COGNITO}PDsy6i0Bf")])
        .run()
        .code(2);
}

// ---------------------------------------------------------------- audit

/// The SPEC §6 fields of `zipchain audit --json`, in its order.
const AUDIT_FIELDS: [&str; 13] = [
    "main_chain_height",
    "main_chain_tip",
    "blocks",
    "timestamps",
    "attestations",
    "batches",
    "orphaned_blocks",
    "invalid_objects",
    "sequence_gap_at",
    "equivocations",
    "transactions_final",
    "first_time",
    "last_time",
];

fn snapshot(v: &Path) -> PathBuf {
    v.join("chain/snapshot")
}

fn chain_json(v: &Path) -> PathBuf {
    v.join("chain/chain.json")
}

fn expected(v: &Path) -> Value {
    read_json(&v.join("chain/expected.json"))
}

/// `zipchain audit SNAPSHOT --chain chain.json --json`, run to completion.
fn audit_json(v: &Path, snap: &Path, code: i32) -> Value {
    let out = zipchain(["audit", "--json"])
        .args([snap])
        .args(["--chain".as_ref(), chain_json(v).as_os_str()])
        .run();
    out.code(code);
    out.json()
}

/// Files in one kind directory of a snapshot.
fn count_files(snap: &Path, kind: &str) -> usize {
    std::fs::read_dir(snap.join(kind)).unwrap().count()
}

/// The key of the gap variant in expected.json and the attestation it removes.
fn gap_variant(expected: &Value) -> (Value, String) {
    let (key, value) = expected
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("gap"))
        .expect("expected.json has a gap variant");
    let removed = key
        .split("attestations/")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the gap variant names the attestation it removes");
    (value.clone(), removed.to_owned())
}

/// A copy of the snapshot without the attestation the gap variant removes.
fn gap_snapshot(v: &Path, dir: &Path) -> PathBuf {
    let (_, removed) = gap_variant(&expected(v));
    let snap = dir.join("gap-snapshot");
    copy_dir(&snapshot(v), &snap);
    std::fs::remove_file(snap.join("attestations").join(removed)).unwrap();
    snap
}

#[test]
fn audit_json_has_exactly_the_spec_fields_and_values() {
    let v = vectors_or_skip!();
    let snap = snapshot(&v);
    let e = expected(&v);
    let full = &e["full"];
    let labels = e["labels"].as_object().unwrap();
    let j = audit_json(&v, &snap, 0);

    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, AUDIT_FIELDS, "exactly the SPEC §6 fields, in order");

    assert_eq!(j["main_chain_height"], full["main_chain_height"]);
    assert_eq!(j["main_chain_tip"], full["main_chain_tip"]);
    for kind in ["blocks", "timestamps", "attestations", "batches"] {
        assert_eq!(j[kind], count_files(&snap, kind), "{kind}");
    }
    assert_eq!(j["orphaned_blocks"], full["orphaned_blocks"]);
    assert_eq!(j["sequence_gap_at"], Value::Null);
    assert_eq!(j["sequence_gap_at"], full["sequence_gap_at"]);
    assert_eq!(j["equivocations"], json!([]));

    let invalid = j["invalid_objects"].as_array().unwrap();
    let wanted = full["invalid_objects"].as_array().unwrap();
    assert_eq!(invalid.len(), wanted.len());
    for (got, want) in invalid.iter().zip(wanted) {
        let fields: Vec<&str> = got
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["kind", "key", "reason"]);
        assert_eq!(got["kind"], want["kind"]);
        assert_eq!(got["key"], want["key"]);
        assert!(got["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }

    // Distinct transactions of the main-chain blocks after b0.
    let main: Vec<&Value> = full["main_chain"].as_array().unwrap().iter().collect();
    let label_of = |block: &Value| {
        labels
            .values()
            .find(|l| &l["block"] == block)
            .unwrap_or_else(|| panic!("no label for {block}"))
    };
    let mut txs = std::collections::BTreeSet::new();
    for block in &main[1..] {
        for tx in label_of(block)["txs"].as_array().unwrap() {
            txs.insert(tx.as_str().unwrap());
        }
    }
    for tx in full["final"].as_object().unwrap().keys() {
        assert!(txs.contains(tx.as_str()), "{tx}");
    }
    for tx in full["not_final"].as_array().unwrap() {
        assert!(!txs.contains(tx.as_str().unwrap()), "{tx}");
    }
    assert_eq!(j["transactions_final"], txs.len());
    assert_eq!(j["first_time"], label_of(main[0])["iat"]);
    assert_eq!(j["last_time"], label_of(main[main.len() - 1])["iat"]);
}

/// A chain made by the stand-in enclave, whose NSM documents have today's AWS encoding
/// (an indefinite-length payload map), audits clean through the binary.
#[test]
fn audit_of_a_chain_with_indefinite_length_attestations() {
    let mut kit = zipchain_testkit::ChainKit::new();
    let mut parent = kit.genesis().clone();
    for h in 1..=3 {
        parent = kit.append(&parent, &[format!("tx {h}").as_bytes()]);
    }
    let dir = tempfile::tempdir().unwrap();
    kit.write_dir(dir.path()).unwrap();
    for entry in std::fs::read_dir(dir.path().join("attestations")).unwrap() {
        let doc = std::fs::read(entry.unwrap().path()).unwrap();
        // 84 44 a1013822 a0 59 <len16> bf … ff 58 60 <signature>
        assert_eq!((doc[7], doc[10]), (0x59, 0xbf), "payload map head");
    }
    let out = zipchain(["audit", "--json", "--strict", "--chain"])
        .args([dir.path().join("chain.json"), dir.path().to_path_buf()])
        .run();
    out.code(0);
    let j = out.json();
    assert_eq!(j["main_chain_height"], 3);
    assert_eq!(j["attestations"], 4);
    assert_eq!(j["invalid_objects"], json!([]));
}

#[test]
fn audit_strict_fails_on_invalid_objects() {
    let v = vectors_or_skip!();
    let out = zipchain(["audit", "--strict", "--json"])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(1);
    assert_eq!(out.json()["main_chain_height"], 5);
    zipchain(["audit", "--strict"])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(1)
        .stdout_has("Invalid objects: 2 (--strict: the audit fails)");
}

#[test]
fn audit_gap_variant_stops_before_the_gap() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let snap = gap_snapshot(&v, tmp.path());
    let (want, _) = gap_variant(&expected(&v));
    let j = audit_json(&v, &snap, 0);
    assert_eq!(j["main_chain_height"], 4);
    assert_eq!(j["main_chain_height"], want["main_chain_height"]);
    assert_eq!(j["main_chain_tip"], want["main_chain_tip"]);
    assert_eq!(j["sequence_gap_at"], 7);
    assert_eq!(j["sequence_gap_at"], want["sequence_gap_at"]);
    assert_eq!(
        j["attestations"],
        count_files(&snapshot(&v), "attestations") - 1
    );

    zipchain(["audit"])
        .args([&snap])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(0)
        .stdout_has("Main chain: height 4")
        .stdout_has("Sequence gap: the chain stops before sequence number 7");
}

/// Writes the snapshot directory as a tar, under `top/` or at the archive's root.
fn write_tar(snap: &Path, out: &Path, top: Option<&str>) {
    let mut builder = tar::Builder::new(Vec::new());
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for kind in ["blocks", "timestamps", "attestations", "batches"] {
        for entry in std::fs::read_dir(snap.join(kind)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            entries.push((format!("{kind}/{name}"), entry.path()));
        }
    }
    entries.sort();
    for (rel, path) in entries {
        let name = match top {
            Some(top) => format!("{top}/{rel}"),
            None => rel,
        };
        builder.append_path_with_name(&path, name).unwrap();
    }
    std::fs::write(out, builder.into_inner().unwrap()).unwrap();
}

#[test]
fn audit_tar_snapshot_gives_the_same_report() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let from_dir = audit_json(&v, &snapshot(&v), 0);
    for top in [Some("snapshot"), None] {
        let tar = tmp.path().join(format!("{}.tar", top.unwrap_or("flat")));
        write_tar(&snapshot(&v), &tar, top);
        assert_eq!(
            audit_json(&v, &tar, 0),
            from_dir,
            "tar with top dir {top:?}"
        );
    }
    // The gap variant as a tar too.
    let gap = gap_snapshot(&v, tmp.path());
    let gap_tar = tmp.path().join("gap.tar");
    write_tar(&gap, &gap_tar, Some("gap"));
    assert_eq!(audit_json(&v, &gap_tar, 0), audit_json(&v, &gap, 0));
}

#[test]
fn audit_unreadable_snapshot_or_descriptor_is_bad_input() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let out = zipchain(["audit", "--json"])
        .args([tmp.path().join("no-such-snapshot")])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(2);
    assert!(out.json()["error"].is_string());

    // A file that is not a tar.
    let not_tar = tmp.path().join("snapshot.tar");
    std::fs::write(&not_tar, vec![b'x'; 1500]).unwrap();
    zipchain(["audit"])
        .args([&not_tar])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(2);

    let bad_chain = tmp.path().join("chain.json");
    for text in [
        "{ not json".to_owned(),
        // Unknown fields are rejected (SPEC §1.6).
        {
            let mut c = read_json(&chain_json(&v));
            c["extra"] = json!(1);
            c.to_string()
        },
        // A genesis that is not hex.
        {
            let mut c = read_json(&chain_json(&v));
            c["genesis"] = json!("zz");
            c.to_string()
        },
    ] {
        std::fs::write(&bad_chain, &text).unwrap();
        let out = zipchain(["audit"])
            .args([snapshot(&v)])
            .args(["--chain".as_ref(), bad_chain.as_os_str()])
            .run();
        out.code(2).stderr_has("chain.json");
    }
    zipchain(["audit"])
        .args([snapshot(&v)])
        .args([
            "--chain".as_ref(),
            tmp.path().join("missing.json").as_os_str(),
        ])
        .run()
        .code(2);
}

#[test]
fn audit_human_output_draws_the_fork() {
    let v = vectors_or_skip!();
    let e = expected(&v);
    let labels = &e["labels"];
    let short = |name: &str| labels[name]["block"].as_str().unwrap()[..12].to_owned();
    let out = zipchain(["audit"])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(0)
        .stdout_has(&format!(
            "Main chain: height 5, tip {} (sequence number 8)",
            e["full"]["main_chain_tip"].as_str().unwrap()
        ))
        .stdout_has("Time range: 2026-11-18T11:06:40Z .. 2026-11-18T11:06:52Z")
        .stdout_has("Transactions final: 12")
        .stdout_has("Objects read: 10 blocks, 10 timestamps, 9 attestations, 9 batches")
        .stdout_has("Forks: 1 (3 orphaned blocks)")
        .stdout_has(&format!("  height 1 {}\n", short("b1")))
        .stdout_has(&format!(
            "   ├── {} k=2      MAIN CHAIN: lowest sequence number among the siblings\n",
            short("b2")
        ))
        .stdout_has(&format!(
            "   └── {} k=3      lost to k=2 (3 blocks in this branch)\n",
            short("b2_fork")
        ))
        .stdout_has("Equivocation: none")
        .stdout_has("Invalid objects: 2 (reported and ignored)");
    // Progress goes to stderr, never to stdout; --json output is one document.
    assert!(!out.stdout.contains('\u{1b}'));
}

// ---------------------------------------------------------------- verify

fn tx_id(label: &str) -> String {
    sha3_hex(label.as_bytes())
}

#[test]
fn verify_writes_the_conformance_certificates() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    for (label, height) in [("tx-2d", 2), ("tx-1a", 1), ("tx-5b", 5)] {
        let cert = tmp.path().join(format!("{label}.json"));
        let out = zipchain(["verify", "--json", "--tx", &tx_id(label), "-o"])
            .args([&cert, &snapshot(&v)])
            .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
            .run();
        out.code(0);
        let j = out.json();
        assert_eq!(j["found"], true);
        assert_eq!(j["tx"], tx_id(label));
        assert_eq!(j["height"], height);
        let want = read_json(&v.join(format!("chain/certificates/{label}.json")));
        assert_eq!(read_json(&cert), want, "{label}");
    }
}

#[test]
fn verify_human_output_with_output_file() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let cert = tmp.path().join("cert.json");
    zipchain(["verify", "--tx", &tx_id("tx-2d"), "-o"])
        .args([&cert, &snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(0)
        .stdout_has(&format!(
            "Transaction {}: FINAL at height 2 (sequence number 2)",
            tx_id("tx-2d")
        ))
        .stdout_has("certificate written to");
    assert_eq!(
        read_json(&cert),
        read_json(&v.join("chain/certificates/tx-2d.json"))
    );
}

#[test]
fn verify_data_file_prints_the_certificate() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("tx");
    std::fs::write(&data, "tx-5b").unwrap();
    let out = zipchain(["verify", "--data"])
        .args([&data, &snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(0);
    let cert = out.json();
    assert_eq!(cert["height"], 5);
    assert_eq!(cert["tx"], tx_id("tx-5b"));
    assert_eq!(cert, read_json(&v.join("chain/certificates/tx-5b.json")));
}

#[test]
fn verify_transaction_that_is_not_final() {
    let v = vectors_or_skip!();
    let e = expected(&v);
    let not_final = e["full"]["not_final"].as_array().unwrap();
    assert!(not_final.contains(&json!("fork-2")));
    for label in not_final {
        let label = label.as_str().unwrap();
        let out = zipchain(["verify", "--json", "--tx", &tx_id(label)])
            .args([snapshot(&v)])
            .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
            .run();
        out.code(1);
        let j = out.json();
        assert_eq!(j["found"], false, "{label}");
        assert_eq!(j["tx"], tx_id(label));
    }
    zipchain(["verify", "--tx", &tx_id("fork-2")])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(1)
        .stdout_has("NOT FINAL");
}

#[test]
fn verify_gap_variant_makes_tip_transactions_not_final() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let snap = gap_snapshot(&v, tmp.path());
    let (want, _) = gap_variant(&expected(&v));
    for label in want["not_final"].as_array().unwrap() {
        let out = zipchain(["verify", "--json", "--tx", &tx_id(label.as_str().unwrap())])
            .args([&snap])
            .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
            .run();
        out.code(1);
        assert_eq!(out.json()["found"], false, "{label}");
    }
}

#[test]
fn verify_usage_errors() {
    let v = vectors_or_skip!();
    // Neither --tx nor --data.
    zipchain(["verify"])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(2)
        .stderr_has("--tx");
    // Both.
    zipchain(["verify", "--tx", &tx_id("tx-2d"), "--data", "x"])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(2);
    // A --tx that is not 64 hex digits.
    zipchain(["verify", "--tx", "abc"])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(2);
    // An unreadable --data file.
    zipchain(["verify", "--data", "/nonexistent/zipchain-data"])
        .args([snapshot(&v)])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(2);
}

// ---------------------------------------------------------------- check

fn certificates(v: &Path) -> Vec<PathBuf> {
    let mut certs: Vec<PathBuf> = std::fs::read_dir(v.join("chain/certificates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    certs.sort();
    assert!(!certs.is_empty());
    certs
}

#[test]
fn check_conformance_certificates() {
    let v = vectors_or_skip!();
    for cert in certificates(&v) {
        let want = read_json(&cert);
        let out = zipchain(["check", "--json"])
            .args([&cert])
            .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
            .run();
        out.code(0);
        let j = out.json();
        assert_eq!(j["valid"], true, "{}", cert.display());
        assert_eq!(j["main_chain_checked"], false);
        assert_eq!(failed_checks(&j), Vec::<String>::new());
        assert_eq!(j["tx"], want["tx"]);
        assert_eq!(j["height"], want["height"]);
        let names: Vec<&str> = j["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"main_chain"), "{names:?}");

        let out = zipchain(["check", "--json", "--snapshot"])
            .args([&snapshot(&v), &cert])
            .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
            .run();
        out.code(0);
        let j = out.json();
        assert_eq!(j["valid"], true, "{}", cert.display());
        assert_eq!(j["main_chain_checked"], true);
        assert_eq!(failed_checks(&j), Vec::<String>::new());
        let names: Vec<&str> = j["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"main_chain"), "{names:?}");
        assert!(names.contains(&"first_occurrence"), "{names:?}");
    }
}

#[test]
fn check_human_output() {
    let v = vectors_or_skip!();
    let cert = v.join("chain/certificates/tx-2d.json");
    zipchain(["check"])
        .args([&cert])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(0)
        .stdout_has("Certificate: VALID")
        .stdout_has("main-chain position NOT checked")
        .stdout_has("  ok    time_bounds");
    let out = zipchain(["check", "--snapshot"])
        .args([&snapshot(&v), &cert])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(0)
        .stdout_has("Certificate: VALID")
        .stdout_has("  ok    main_chain");
    assert!(!out.stdout.contains("NOT checked"));
}

#[test]
fn check_tampered_time_bound() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let mut cert = read_json(&v.join("chain/certificates/tx-2d.json"));
    let not_after = cert["not_after"].as_u64().unwrap();
    cert["not_after"] = json!(not_after + 1);
    let path = tmp.path().join("tampered.json");
    std::fs::write(&path, serde_json::to_string_pretty(&cert).unwrap()).unwrap();
    let out = zipchain(["check", "--json"])
        .args([&path])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(failed_checks(&j), ["time_bounds"]);
    zipchain(["check"])
        .args([&path])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(1)
        .stdout_has("Certificate: INVALID")
        .stdout_has("  FAIL  time_bounds: ");
}

#[test]
fn check_against_the_gap_snapshot_fails_main_chain() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let snap = gap_snapshot(&v, tmp.path());
    let cert = v.join("chain/certificates/tx-5b.json");
    // Offline, the certificate is still well made ...
    zipchain(["check"])
        .args([&cert])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(0);
    // ... but in the gap variant its block is not on the main chain yet.
    let out = zipchain(["check", "--json", "--snapshot"])
        .args([&snap, &cert])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["valid"], false);
    assert_eq!(j["main_chain_checked"], true);
    let failed = failed_checks(&j);
    assert!(failed.contains(&"main_chain".to_owned()), "{failed:?}");
    // A certificate below the gap still checks against the gap snapshot.
    zipchain(["check", "--snapshot"])
        .args([&snap, &v.join("chain/certificates/tx-2d.json")])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(0);
}

#[test]
fn check_input_that_is_not_json_is_bad_input() {
    let v = vectors_or_skip!();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cert.json");
    std::fs::write(&path, "this is not JSON").unwrap();
    let out = zipchain(["check", "--json"])
        .args([&path])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(2);
    assert!(out.json()["error"].is_string());
    // JSON that is not a certificate is a verdict, not bad input.
    std::fs::write(&path, r#"{"zipchain_certificate": 1}"#).unwrap();
    let out = zipchain(["check", "--json"])
        .args([&path])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run();
    out.code(1);
    assert_eq!(failed_checks(&out.json()), ["format"]);
    zipchain(["check"])
        .args([tmp.path().join("missing.json")])
        .args(["--chain".as_ref(), chain_json(&v).as_os_str()])
        .run()
        .code(2);
}

// ---------------------------------------------------------------- general

#[test]
fn help_and_version_exit_zero() {
    zipchain(["--help"]).run().code(0).stdout_has("audit");
    zipchain(["--version"]).run().code(0).stdout_has("zipchain");
    zipchain(["no-such-command"]).run().code(2);
}
