//! `zipchain pull` (SPEC §6, §2.2): the conformance snapshot replicated to six `file://`
//! stores comes back byte for byte from any three; with four gone the command exits 1,
//! names what it could not rebuild, and writes nothing wrong. `--anonymous` reads cloud
//! buckets published for anyone to read, with no credentials in the environment, on
//! `moto_server`, Azurite and the GCS emulator started on loopback (a server that cannot
//! start fails its test; only `ZIPCHAIN_SKIP_MOTO=1`, `ZIPCHAIN_SKIP_AZURITE=1` or
//! `ZIPCHAIN_SKIP_GCS=1` skips it).
//!
//! The incremental pull (issue #17): a real chain (the test kit's) that grows between pulls
//! into one snapshot directory: each pull fetches only the new objects, and `zipchain
//! audit --state` of the growing snapshot prints what a full audit prints; a pull killed
//! (SIGKILL) midway is completed by the next one; `--since`, `--full`, `--list-timeout`.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use replication::{ShardError, StoreError, Stores};
use verifier_core::snapshot::{ObjectKind, classify_path};
use zipchain_testkit::ChainKit;
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

/// The snapshot tree of `kit`'s objects, as a pull writes it (no `chain.json`).
fn kit_tree(kit: &ChainKit) -> BTreeMap<String, Vec<u8>> {
    kit.snapshot()
        .iter()
        .map(|(kind, key, bytes)| (format!("{}/{}", kind.dir(), key.to_hex()), bytes.to_vec()))
        .collect()
}

/// Replicates through `stores`, as the writer does, every object of `kit` not in
/// `written` yet, and adds it there; returns how many were written now.
fn replicate_new(stores: &Stores, kit: &ChainKit, written: &mut BTreeSet<String>) -> usize {
    replicate_new_names(stores, kit, written).len()
}

/// [`replicate_new`], returning the names (`<kind dir>/<hex>`) written now.
fn replicate_new_names(
    stores: &Stores,
    kit: &ChainKit,
    written: &mut BTreeSet<String>,
) -> BTreeSet<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut now = BTreeSet::new();
    for (kind, key, bytes) in kit.snapshot().iter() {
        let rel = format!("{}/{}", kind.dir(), key.to_hex());
        if written.insert(rel.clone()) {
            runtime
                .block_on(stores.put_object(kind, *key, bytes))
                .unwrap_or_else(|e| panic!("{kind} {key}: {e}"));
            now.insert(rel);
        }
    }
    now
}

/// The six `file://` store URLs of `stores`.
fn urls_of(stores: &Stores) -> Vec<String> {
    (0..6).map(|i| stores.url(i).unwrap().to_owned()).collect()
}

/// `zipchain audit SNAP --chain CHAIN --json`, in full and with `--state STATE`: both
/// print the same and exit alike; returns the resumed audit's JSON.
#[track_caller]
fn audit_with_state_equals_full(snap: &Path, chain: &Path, state: &Path) -> serde_json::Value {
    let args = |more: &[&str]| {
        let mut a = vec![
            "audit".to_owned(),
            snap.display().to_string(),
            "--chain".into(),
            chain.display().to_string(),
            "--json".into(),
        ];
        a.extend(more.iter().map(|s| s.to_string()));
        a
    };
    let full = zipchain(args(&[])).run();
    let resumed = zipchain(args(&["--state", state.to_str().unwrap()])).run();
    assert_eq!(
        resumed.code, full.code,
        "{}\n{}",
        resumed.stderr, full.stderr
    );
    assert_eq!(
        resumed.stdout, full.stdout,
        "audit --state differs from the full audit"
    );
    resumed.json()
}

#[test]
fn a_growing_chain_pulled_incrementally_audits_with_state_as_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(&dir.path().join("stores")).unwrap();
    let urls = urls_of(&stores);
    let (snap, state) = (dir.path().join("snapshot"), dir.path().join("state"));
    let mut kit = ChainKit::new();
    // The trust descriptor, from the kit's own snapshot directory.
    let kit_dir = dir.path().join("kit");
    kit.write_dir(&kit_dir).unwrap();
    let chain = kit_dir.join("chain.json");
    let mut written = BTreeSet::new();

    let b0 = kit.genesis().clone();
    let main = kit.extend(&b0, 4, "a");
    let mut withheld = None;
    let mut heights = Vec::new();
    for step in 0..4 {
        match step {
            0 => {}
            // A fork, and a block whose attestation is withheld (a gap above it) with
            // more blocks on it.
            1 => {
                let fork = kit.append(&main[1], &[b"fork"]);
                kit.append(&fork, &[b"fork child"]);
                let held_back = kit.append_withheld(&main[3], &[b"withheld"]);
                kit.extend(&held_back, 3, "after");
                withheld = Some(held_back);
            }
            // The gap fills.
            2 => kit.publish(withheld.as_ref().unwrap()),
            // An equivocation, and more blocks.
            _ => {
                kit.equivocate(&main[0], &[b"twin"], 2);
                let tip = kit.blocks().last().unwrap().clone();
                kit.extend(&tip, 2, "late");
            }
        }
        let before = written.len();
        let new = replicate_new_names(&stores, &kit, &mut written);
        let run = zipchain(pull_args(&urls, &snap)).args(["--json"]).run();
        run.code(0);
        let j = run.json();
        assert_eq!(j["mode"], "incremental");
        assert_eq!(j["rebuilt"], new.len(), "only the new objects");
        assert_eq!(j["held"], before);
        assert_eq!(j["objects"], written.len());
        let named: BTreeSet<String> = ObjectKind::ALL
            .iter()
            .flat_map(|kind| {
                j["new"][kind.to_string()]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|key| format!("{}/{}", kind.dir(), key.as_str().unwrap()))
            })
            .collect();
        assert_eq!(named, new, "the report names the new objects");
        assert_eq!(tree(&snap), kit_tree(&kit));
        let audit = audit_with_state_equals_full(&snap, &chain, &state);
        heights.push(audit["main_chain_height"].as_u64().unwrap());
    }
    // The gap held the chain back until it filled.
    assert_eq!(heights[..3], [4, 4, 8]);

    // Nothing new: nothing fetched, and the people's summary says what is held.
    zipchain(pull_args(&urls, &snap))
        .run()
        .code(0)
        .stdout_has(&format!("{} already held, 0 rebuilt", written.len()));
}

#[test]
fn since_needs_an_existing_snapshot_and_full_repairs_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(&dir.path().join("stores")).unwrap();
    let urls = urls_of(&stores);
    let mut kit = ChainKit::new();
    let mut written = BTreeSet::new();
    replicate_new(&stores, &kit, &mut written);
    let snap = dir.path().join("snapshot");
    // A mistyped path is not pulled into from scratch.
    let run = zipchain(pull_args(&urls, &snap))
        .args(["--since", "--json"])
        .run();
    run.code(2).stderr_has("is not a snapshot directory");
    assert!(!snap.exists());
    zipchain(pull_args(&urls, &snap)).run().code(0);
    let b0 = kit.genesis().clone();
    kit.extend(&b0, 2, "b");
    let new = replicate_new(&stores, &kit, &mut written);
    let run = zipchain(pull_args(&urls, &snap))
        .args(["--since", "--json"])
        .run();
    run.code(0);
    assert_eq!(run.json()["rebuilt"], new);
    assert_eq!(tree(&snap), kit_tree(&kit));

    // A damaged file: the incremental pull trusts what is there, --full replaces it.
    let (rel, _) = kit_tree(&kit).into_iter().next().unwrap();
    std::fs::write(snap.join(&rel), b"damaged").unwrap();
    let run = zipchain(pull_args(&urls, &snap)).args(["--json"]).run();
    assert_eq!(run.json()["rebuilt"], 0);
    let run = zipchain(pull_args(&urls, &snap))
        .args(["--full", "--json"])
        .run();
    run.code(0);
    let j = run.json();
    assert_eq!(
        (j["mode"].as_str(), j["held"].as_u64()),
        (Some("full"), Some(0))
    );
    assert_eq!(j["rebuilt"], written.len());
    assert_eq!(tree(&snap), kit_tree(&kit));
    zipchain(pull_args(&urls, &snap))
        .args(["--since", "--full"])
        .run()
        .code(2);
}

#[test]
fn three_unreachable_stores_cost_one_list_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::local(&dir.path().join("stores")).unwrap();
    let kit = ChainKit::new();
    replicate_new(&stores, &kit, &mut BTreeSet::new());
    // Stores 0, 2 and 4 are S3 endpoints on a loopback port nobody listens on.
    let mut urls = urls_of(&stores);
    for i in [0, 2, 4] {
        urls[i] = format!("s3://gone-{i}");
    }
    let port = zipchain_testkit::moto::free_port().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let env = [
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "nobody"),
        ("AWS_SECRET_ACCESS_KEY", "nothing"),
        ("AWS_REGION", "us-east-1"),
    ];
    let snap = dir.path().join("snapshot");
    let run = zipchain(pull_args(&urls, &snap))
        .args(["--json", "--list-timeout", "0.5"])
        .only_env(env)
        .run();
    run.code(0);
    let j = run.json();
    assert_eq!(j["stores_answered"], 3);
    for i in [0, 2, 4] {
        assert_eq!(
            j["stores"][i]["error"],
            "listing blocks/ got no answer within 0.5 s"
        );
    }
    assert_eq!(tree(&snap), kit_tree(&kit));
    for bad in ["0", "-1", "x", "inf", "100000"] {
        zipchain(pull_args(&urls, &snap))
            .args([format!("--list-timeout={bad}")])
            .run()
            .code(2)
            .stderr_has("--list-timeout");
    }
}

/// The objects of a pull in the order it fetches them: by kind, then key.
fn fetch_order(tree: &BTreeMap<String, Vec<u8>>) -> Vec<(ObjectKind, String)> {
    let mut order: Vec<(ObjectKind, String)> = tree
        .keys()
        .map(|rel| (classify_path(rel).unwrap().0, rel.clone()))
        .collect();
    order.sort();
    order
}

/// Object files (not temporary ones) under `dir` (none when it does not exist yet).
fn object_files(dir: &Path) -> usize {
    if !dir.exists() {
        return 0;
    }
    tree(dir)
        .keys()
        .filter(|rel| classify_path(rel).is_some())
        .count()
}

/// A pull is made to hang midway: the shards of 16 objects (as many as it fetches at once)
/// are FIFOs that never get a writer, so once the objects before them are written, every
/// fetch waits. It is killed with SIGKILL there, and the next pull completes the snapshot:
/// it keeps what the first one wrote, without reading it, and fetches the rest.
#[test]
fn a_pull_killed_midway_is_completed_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("stores");
    let stores = Stores::local(&base).unwrap();
    let urls = urls_of(&stores);
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    kit.extend(&b0, 20, "many");
    replicate_new(&stores, &kit, &mut BTreeSet::new());
    let expected = kit_tree(&kit);
    let order = fetch_order(&expected);
    const WRITTEN_FIRST: usize = 40;
    assert!(order.len() > WRITTEN_FIRST + 16, "{} objects", order.len());
    let mut saved = Vec::new();
    for (j, (_, rel)) in order.iter().enumerate().skip(WRITTEN_FIRST).take(16) {
        let shard = store_dir(&base, j % 6).join(rel);
        saved.push((shard.clone(), std::fs::read(&shard).unwrap()));
        std::fs::remove_file(&shard).unwrap();
        let made = Command::new("mkfifo").arg(&shard).status().unwrap();
        assert!(made.success(), "mkfifo {}", shard.display());
    }

    let snap = dir.path().join("snapshot");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zipchain"))
        .args(pull_args(&urls, &snap))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while object_files(&snap) < WRITTEN_FIRST {
        assert!(
            Instant::now() < deadline,
            "the pull wrote {}",
            object_files(&snap)
        );
        assert!(child.try_wait().unwrap().is_none(), "the pull ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the pull hangs");
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed midway: the objects before the FIFOs, each whole, and nothing else.
    let first = tree(&snap);
    assert_eq!(first.len(), WRITTEN_FIRST, "{:?}", first.keys());
    for (rel, bytes) in &first {
        assert_eq!(Some(bytes), expected.get(rel), "{rel}");
    }

    for (shard, bytes) in saved {
        std::fs::remove_file(&shard).unwrap();
        std::fs::write(&shard, bytes).unwrap();
    }
    let run = zipchain(pull_args(&urls, &snap)).args(["--json"]).run();
    run.code(0);
    let j = run.json();
    assert_eq!(j["held"], WRITTEN_FIRST);
    assert_eq!(j["rebuilt"], expected.len() - WRITTEN_FIRST);
    assert_eq!(tree(&snap), expected);
}
