//! `zipchain pull` (SPEC §6, §2.2): the conformance snapshot replicated to six `file://`
//! stores comes back byte for byte from any three; with four gone the command exits 1,
//! names what it could not rebuild, and writes nothing wrong. `--anonymous` reads cloud
//! buckets published for anyone to read, with no credentials in the environment, on
//! `moto_server`, Azurite and the GCS emulator started on loopback (a server that cannot
//! start fails its test; only `ZIPCHAIN_SKIP_MOTO=1`, `ZIPCHAIN_SKIP_AZURITE=1` or
//! `ZIPCHAIN_SKIP_GCS=1` skips it).

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use replication::{ShardError, StoreError, Stores};
use verifier_core::snapshot::{ObjectKind, classify_path};
use zipchain_testkit::azurite::Azurite;
use zipchain_testkit::gcs_emulator::GcsEmulator;
use zipchain_testkit::moto::{BucketLock, MotoServer};

use common::zipchain;

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    zipchain_testkit::read_tree(dir).unwrap()
}

/// Six `file://` stores under `base` holding the conformance snapshot; returns their URLs
/// and the snapshot tree expected back (without the one block file whose name is not its
/// hash, which the writer refuses to replicate).
fn replicate(snapshot: &Path, base: &Path) -> (Vec<String>, BTreeMap<String, Vec<u8>>) {
    let stores = Stores::local(base).unwrap();
    let mut expected = tree(snapshot);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (rel, bytes) in expected.clone() {
        let (kind, key) = classify_path(&rel).unwrap();
        match runtime.block_on(stores.put_object(kind, key, &bytes)) {
            Ok(()) => {}
            Err(StoreError::Object(ShardError::KeyMismatch { .. })) => {
                expected.remove(&rel);
            }
            Err(e) => panic!("{rel}: {e}"),
        }
    }
    let urls = (0..6).map(|i| stores.url(i).unwrap().to_owned()).collect();
    (urls, expected)
}

fn store_dir(base: &Path, i: usize) -> PathBuf {
    base.join(format!("store-{i}"))
}

fn pull_args(urls: &[String], out: &Path) -> Vec<String> {
    let mut args = vec!["pull".to_owned()];
    for url in urls {
        args.push("--store".into());
        args.push(url.clone());
    }
    args.push("-o".into());
    args.push(out.display().to_string());
    args
}

fn corrupt_every_file(dir: &Path) {
    for (rel, mut bytes) in tree(dir) {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(dir.join(rel), bytes).unwrap();
    }
}

#[test]
fn pull_rebuilds_the_snapshot_from_any_three_stores() {
    let v = vectors_or_skip!();
    let snapshot = v.join("chain/snapshot");
    for lost in [[0, 1, 2], [3, 4, 5], [1, 2, 5], [0, 3, 4]] {
        let base = tempfile::tempdir().unwrap();
        let (urls, expected) = replicate(&snapshot, base.path());
        assert_eq!(expected.len() + 1, tree(&snapshot).len());
        // One store deleted, one corrupted, one emptied of shards.
        std::fs::remove_dir_all(store_dir(base.path(), lost[0])).unwrap();
        corrupt_every_file(&store_dir(base.path(), lost[1]));
        for kind in ["blocks", "timestamps", "attestations", "batches"] {
            let _ = std::fs::remove_dir_all(store_dir(base.path(), lost[2]).join(kind));
        }
        let out = base.path().join("rebuilt");
        let run = zipchain(pull_args(&urls, &out)).args(["--json"]).run();
        run.code(0);
        let j = run.json();
        assert_eq!(j["complete"], true);
        assert_eq!(j["objects"], expected.len());
        assert_eq!(j["rebuilt"], expected.len());
        assert_eq!(j["unrecoverable"], serde_json::json!([]));
        assert_eq!(j["stores_answered"], 5);
        assert_eq!(j["stores"][lost[0]]["answered"], false);
        assert_eq!(j["bad_shards"].as_array().unwrap().len(), expected.len());
        assert_eq!(tree(&out), expected, "lost {lost:?}");
    }
}

#[test]
fn pull_human_output() {
    let v = vectors_or_skip!();
    let base = tempfile::tempdir().unwrap();
    let (urls, expected) = replicate(&v.join("chain/snapshot"), base.path());
    let out = base.path().join("rebuilt");
    zipchain(pull_args(&urls, &out))
        .run()
        .code(0)
        .stdout_has("Pull: COMPLETE")
        .stdout_has(&format!("{} rebuilt", expected.len()))
        .stdout_has("Not rebuilt: none");
    assert_eq!(tree(&out), expected);
}

#[test]
fn pull_with_four_stores_gone_names_what_is_lost_and_writes_nothing_wrong() {
    let v = vectors_or_skip!();
    let base = tempfile::tempdir().unwrap();
    let (urls, expected) = replicate(&v.join("chain/snapshot"), base.path());
    // Two stores deleted, two corrupted: two healthy shards of each object remain.
    std::fs::remove_dir_all(store_dir(base.path(), 0)).unwrap();
    std::fs::remove_dir_all(store_dir(base.path(), 3)).unwrap();
    corrupt_every_file(&store_dir(base.path(), 1));
    corrupt_every_file(&store_dir(base.path(), 5));
    let out = base.path().join("rebuilt");
    let run = zipchain(pull_args(&urls, &out)).args(["--json"]).run();
    run.code(1);
    let j = run.json();
    assert_eq!(j["complete"], false);
    assert_eq!(j["rebuilt"], 0);
    let lost = j["unrecoverable"].as_array().unwrap();
    assert_eq!(lost.len(), expected.len());
    let named: Vec<String> = lost
        .iter()
        .map(|u| {
            let dir = match u["kind"].as_str().unwrap() {
                "block" => "blocks",
                "timestamp" => "timestamps",
                "attestation" => "attestations",
                "batch" => "batches",
                other => panic!("kind {other}"),
            };
            format!("{dir}/{}", u["key"].as_str().unwrap())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(named, expected.keys().cloned().collect::<Vec<_>>());
    assert!(
        lost[0]["reason"]
            .as_str()
            .unwrap()
            .contains("healthy shards")
    );
    // Nothing at all was written: no partial or temporary files either.
    assert!(tree(&out).is_empty(), "{:?}", tree(&out).keys());

    // The human report names them too.
    let run = zipchain(pull_args(&urls, &out)).run();
    run.code(1)
        .stdout_has("Pull: INCOMPLETE")
        .stdout_has(&format!("Not rebuilt (not written): {}", expected.len()));
    let (first, _) = expected.iter().next().unwrap();
    let (kind_dir, key) = first.split_once('/').unwrap();
    assert!(kind_dir.ends_with('s'));
    run.stdout_has(key);
}

#[test]
fn pull_needs_exactly_six_stores() {
    let out = tempfile::tempdir().unwrap();
    let urls: Vec<String> = vec!["memory://".into(); 5];
    zipchain(pull_args(&urls, out.path()))
        .run()
        .code(2)
        .stderr_has("expected exactly 6");
    let urls: Vec<String> = vec!["memory://".into(); 7];
    zipchain(pull_args(&urls, out.path())).run().code(2);
    zipchain(["pull", "-o", "x"]).run().code(2);
}

#[test]
fn pull_rejects_a_bad_url_and_an_unwritable_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut urls: Vec<String> = vec!["memory://".into(); 6];
    urls[4] = "ftp://example/x".into();
    let run = zipchain(pull_args(&urls, dir.path()))
        .args(["--json"])
        .run();
    run.code(2).stderr_has("ftp://example/x");
    assert!(
        run.json()["error"]
            .as_str()
            .unwrap()
            .contains("unsupported scheme")
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let urls: Vec<String> = vec!["memory://".into(); 6];
    zipchain(pull_args(&urls, &file.join("out")))
        .run()
        .code(2)
        .stderr_has("cannot write");
}

#[test]
fn pull_from_six_empty_memory_stores_is_complete_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = vec!["memory://".into(); 6];
    let run = zipchain(pull_args(&urls, dir.path()))
        .args(["--json"])
        .run();
    run.code(0);
    assert_eq!(run.json()["objects"], 0);
}

/// Six buckets or containers `<name>-0` … `<name>-5`, each made by `create`; their
/// `<scheme>://<name>-<i>/chain` store URLs.
fn six(scheme: &str, name: &str, mut create: impl FnMut(&str)) -> Vec<String> {
    (0..6)
        .map(|i| {
            let bucket = format!("{name}-{i}");
            create(&bucket);
            format!("{scheme}://{bucket}/chain")
        })
        .collect()
}

/// Writes four blocks through `urls` opened with `options` (credentials), as the writer
/// does; returns the snapshot tree a pull should give back.
fn write_blocks(urls: &[String], options: Vec<(String, String)>) -> BTreeMap<String, Vec<u8>> {
    let stores = Stores::from_urls_with(urls, options).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut expected = BTreeMap::new();
    for n in [0usize, 1, 1000, 20_000] {
        let bytes: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
        let key = verifier_core::hash::Hash32::digest(&bytes);
        runtime
            .block_on(stores.put_object(ObjectKind::Block, key, &bytes))
            .unwrap();
        expected.insert(format!("blocks/{}", key.to_hex()), bytes);
    }
    expected
}

/// `zipchain pull --anonymous --json` of `urls` into a fresh directory, with only `env`
/// in its environment; the run and the tree it wrote.
fn pull_anonymously(
    urls: &[String],
    env: &[(&str, &str)],
) -> (common::Output, BTreeMap<String, Vec<u8>>) {
    let out = tempfile::tempdir().unwrap();
    let run = zipchain(pull_args(urls, out.path()))
        .args(["--anonymous", "--json"])
        .only_env(env.iter().copied())
        .run();
    (run, tree(out.path()))
}

#[test]
fn pull_anonymous_reads_s3_buckets_only_once_a_bucket_policy_publishes_them() {
    let Some(moto) = MotoServer::start_or_skip() else {
        return;
    };
    let urls = six("s3", "published", |bucket| {
        moto.create_bucket(bucket, BucketLock::Compliance { days: 1 });
    });
    let expected = write_blocks(&urls, moto.store_options());
    // The endpoint, and no credentials at all.
    let env = [
        ("AWS_ENDPOINT", moto.endpoint()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", zipchain_testkit::moto::REGION),
    ];
    // Private buckets: every anonymous GetObject is denied, nothing is written.
    let (run, pulled) = pull_anonymously(&urls, &env);
    run.code(1);
    let report = run.json();
    assert_eq!(report["rebuilt"], 0, "{report:#}");
    let bad = report["bad_shards"].as_array().unwrap();
    assert_eq!(bad.len(), expected.len() * 6, "{report:#}");
    assert!(
        bad.iter()
            .all(|b| b["reason"].as_str().unwrap().contains("403 Forbidden")),
        "{report:#}"
    );
    assert!(
        pulled.keys().all(|k| !k.starts_with("blocks/")),
        "{pulled:?}"
    );
    // Published with a bucket policy (anyone may list and get): the whole snapshot.
    for i in 0..6 {
        moto.make_public(&format!("published-{i}"));
    }
    let (run, pulled) = pull_anonymously(&urls, &env);
    run.code(0);
    assert_eq!(run.json()["rebuilt"], expected.len());
    assert_eq!(pulled, expected);
}

#[test]
fn pull_anonymous_reads_azure_containers_of_public_access_level_container() {
    let Some(azurite) = Azurite::start_or_skip() else {
        return;
    };
    let public = six("az", "public", |c| azurite.create_public_container(c));
    let private = six("az", "private", |c| azurite.create_container(c));
    let expected = write_blocks(&public, azurite.store_options());
    assert_eq!(write_blocks(&private, azurite.store_options()), expected);
    // The account and its endpoint, and no key.
    let endpoint = azurite.endpoint();
    let env = [
        (
            "AZURE_STORAGE_ACCOUNT_NAME",
            zipchain_testkit::azurite::ACCOUNT,
        ),
        ("AZURE_STORAGE_ENDPOINT", endpoint.as_str()),
        ("AZURE_ALLOW_HTTP", "true"),
    ];
    let (run, pulled) = pull_anonymously(&public, &env);
    run.code(0);
    assert_eq!(pulled, expected);
    // Private containers do not even list.
    let (run, pulled) = pull_anonymously(&private, &env);
    run.code(1);
    let report = run.json();
    assert_eq!(report["stores_answered"], 0, "{report:#}");
    for store in report["stores"].as_array().unwrap() {
        let error = store["error"].as_str().unwrap();
        assert!(error.contains("403 Forbidden"), "{error}");
    }
    assert!(
        pulled.keys().all(|k| !k.starts_with("blocks/")),
        "{pulled:?}"
    );
}

#[test]
fn pull_anonymous_reads_gcs_buckets_with_no_credentials() {
    let Some(gcs) = GcsEmulator::start_or_skip() else {
        return;
    };
    let urls = six("gs", "public", |bucket| gcs.create_bucket(bucket));
    let expected = write_blocks(&urls, gcs.store_options());
    // The endpoint, and no credentials: the requests carry none. (The emulator serves
    // every request, so a private bucket cannot be shown refusing here.)
    let base_url = gcs.base_url();
    let env = [
        ("GOOGLE_BASE_URL", base_url.as_str()),
        ("GOOGLE_ALLOW_HTTP", "true"),
    ];
    let (run, pulled) = pull_anonymously(&urls, &env);
    run.code(0);
    assert_eq!(pulled, expected);
}
