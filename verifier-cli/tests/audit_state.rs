//! `zipchain audit --state DIR` (issue #17) through the binary: on a real chain that
//! grows between runs (forks, a gap that later fills, blocks sequenced twice, an
//! equivocation, a file taken away), the resumed audit prints exactly what a full audit
//! of the same snapshot prints, in JSON and for people, with the same exit code; and a
//! damaged, foreign or busy state directory is a clear error (exit 2), or a full audit
//! again with `--rebuild-state`.

mod common;

use std::path::{Path, PathBuf};

use common::zipchain;
use zipchain_testkit::{BuiltBlock, ChainKit};

/// Runs a full audit and a resumed one of `snap` and asserts they print the same.
#[track_caller]
fn same_as_full(snap: &Path, state: &Path, extra: &[&str]) -> common::Output {
    let chain = snap.join("chain.json");
    let args = |more: &[&str]| {
        let mut a: Vec<String> = vec![
            "audit".into(),
            snap.display().to_string(),
            "--chain".into(),
            chain.display().to_string(),
        ];
        a.extend(more.iter().map(|s| s.to_string()));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let full = zipchain(args(&["--json"])).run();
    let state_arg = state.display().to_string();
    let resumed = zipchain(args(&["--json", "--state", &state_arg])).run();
    assert_eq!(
        resumed.code, full.code,
        "{}\n{}",
        resumed.stderr, full.stderr
    );
    assert_eq!(resumed.stdout, full.stdout, "--json differs");
    // The people's summary too (a second resumed run with nothing new).
    let full_text = zipchain(args(&[])).run();
    let resumed_text = zipchain(args(&["--state", &state_arg])).run();
    assert_eq!(resumed_text.stdout, full_text.stdout);
    assert_eq!(resumed_text.code, full_text.code);
    resumed
}

/// A chain of `n` blocks after `b0` written as a snapshot directory: the temporary
/// directory, the snapshot, where a state goes, the kit and the blocks.
fn snapshot_of(
    n: usize,
) -> (
    tempfile::TempDir,
    PathBuf,
    PathBuf,
    ChainKit,
    Vec<BuiltBlock>,
) {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let state = dir.path().join("state");
    let mut kit = ChainKit::new();
    let b0 = kit.genesis().clone();
    let blocks = kit.extend(&b0, n, "a");
    kit.write_dir(&snap).unwrap();
    (dir, snap, state, kit, blocks)
}

#[test]
fn a_growing_chain_audited_with_state_equals_the_full_audit_at_every_step() {
    let (_dir, snap, state, mut kit, main) = snapshot_of(4);
    let first = same_as_full(&snap, &state, &[]);
    assert_eq!(first.json()["main_chain_height"], 4);
    assert!(state.join("state.bin").is_file());

    // A fork, a block whose attestation is withheld (a gap above it), more blocks.
    let fork = kit.append(&main[1], &[b"fork"]);
    kit.append(&fork, &[b"fork child"]);
    let withheld = kit.append_withheld(&main[3], &[b"withheld"]);
    let after = kit.extend(&withheld, 3, "after");
    kit.write_dir(&snap).unwrap();
    let r = same_as_full(&snap, &state, &[]);
    assert_eq!(
        r.json()["main_chain_height"],
        4,
        "the gap holds the chain back"
    );
    assert!(r.json()["sequence_gap_at"].is_u64());

    // The gap fills; a block is sequenced a second time with its own number.
    kit.publish(&withheld);
    kit.resequence(&after[0]);
    kit.write_dir(&snap).unwrap();
    let r = same_as_full(&snap, &state, &["--strict"]);
    assert_eq!(r.json()["main_chain_height"], 8);

    // An invalid object, then one taken away again.
    let junk = snap.join("blocks").join("00".repeat(32));
    std::fs::write(&junk, b"junk").unwrap();
    same_as_full(&snap, &state, &[]);
    std::fs::remove_file(&junk).unwrap();
    same_as_full(&snap, &state, &[]);

    // An equivocation: a fatal finding, and every later run recomputes.
    kit.equivocate(&main[0], &[b"twin"], 2);
    kit.write_dir(&snap).unwrap();
    let r = same_as_full(&snap, &state, &[]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["equivocations"].as_array().unwrap().len(), 1);
    kit.extend(&after[2], 2, "late");
    kit.write_dir(&snap).unwrap();
    same_as_full(&snap, &state, &[]);
}

#[test]
fn a_second_run_reads_only_new_objects() {
    let (_dir, snap, state, _kit, blocks) = snapshot_of(3);
    same_as_full(&snap, &state, &[]);
    // An object already verified is not read again: made unreadable, the resumed audit
    // does not notice (the snapshot is write-once), while a full audit reports it.
    let seen = snap
        .join("attestations")
        .join(blocks[1].attestation.unwrap().to_hex());
    std::fs::write(&seen, b"changed in place").unwrap();
    let chain = snap.join("chain.json");
    let resumed = zipchain([
        "audit",
        snap.to_str().unwrap(),
        "--chain",
        chain.to_str().unwrap(),
        "--json",
        "--state",
        state.to_str().unwrap(),
    ])
    .run();
    resumed.code(0);
    assert_eq!(resumed.json()["invalid_objects"], serde_json::json!([]));
    // --rebuild-state audits everything again, and finds it.
    let rebuilt = zipchain([
        "audit",
        snap.to_str().unwrap(),
        "--chain",
        chain.to_str().unwrap(),
        "--json",
        "--state",
        state.to_str().unwrap(),
        "--rebuild-state",
    ])
    .run();
    assert_eq!(
        rebuilt.json()["invalid_objects"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn damaged_foreign_and_busy_state_directories_are_clear_errors() {
    let (dir, snap, state, _kit, _) = snapshot_of(0);
    same_as_full(&snap, &state, &[]);
    let chain = snap.join("chain.json");
    let audit = |chain: &Path, extra: &[&str]| {
        let mut args = vec![
            "audit".to_string(),
            snap.display().to_string(),
            "--chain".into(),
            chain.display().to_string(),
            "--state".into(),
            state.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        zipchain(args).run()
    };

    // Another chain's descriptor.
    let other = ChainKit::new();
    let other_chain = dir.path().join("other.json");
    std::fs::write(&other_chain, other.trust().to_json_pretty()).unwrap();
    audit(&other_chain, &[])
        .code(2)
        .stderr_has("another chain or trust descriptor")
        .stderr_has("--rebuild-state");

    // A flipped byte in state.bin, then in the main-chain records.
    let state_bin = state.join("state.bin");
    let good = std::fs::read(&state_bin).unwrap();
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    std::fs::write(&state_bin, &bad).unwrap();
    audit(&chain, &[]).code(2).stderr_has("damaged");
    audit(&chain, &["--rebuild-state"]).code(0);
    let main_file = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("main-")
        })
        .unwrap();
    let mut records = std::fs::read(&main_file).unwrap();
    records[3] ^= 1;
    std::fs::write(&main_file, &records).unwrap();
    audit(&chain, &[]).code(2).stderr_has("damaged");
    audit(&chain, &["--rebuild-state"]).code(0);
    audit(&chain, &[]).code(0);

    // Held by another process.
    let _held = snapshot_fs::audit_state::StateDir::open(&state).unwrap();
    audit(&chain, &[])
        .code(2)
        .stderr_has("another process is using this state directory");
}

/// The state's appended file whose name starts with `part` (`main-` or `finals-`).
fn part_file(state: &Path, part: &str) -> PathBuf {
    std::fs::read_dir(state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(part))
        .unwrap_or_else(|| panic!("no {part}* in {}", state.display()))
}

#[test]
fn records_appended_by_a_run_that_stopped_are_ignored_and_a_cut_part_is_damage() {
    let (_dir, snap, state, _kit, _) = snapshot_of(5);
    let first = same_as_full(&snap, &state, &[]);
    let chain = snap.join("chain.json");
    let audit = || {
        zipchain([
            "audit".to_string(),
            snap.display().to_string(),
            "--chain".into(),
            chain.display().to_string(),
            "--json".into(),
            "--state".into(),
            state.display().to_string(),
        ])
        .run()
    };
    // A run that appended records and stopped before it replaced state.bin: whatever it
    // appended (here records that cannot be) is not the state's.
    for (part, record) in [("main-", 168), ("finals-", 40)] {
        let path = part_file(&state, part);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::iter::repeat_n(0xA5, 2 * record + 7));
        std::fs::write(&path, &bytes).unwrap();
    }
    let again = audit();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, first.stdout);
    // The covered bytes of a part cut short: damage, and a rebuild mends it.
    let main = part_file(&state, "main-");
    let bytes = std::fs::read(&main).unwrap();
    std::fs::write(&main, &bytes[..bytes.len() / 2]).unwrap();
    let cut = audit();
    assert_eq!(cut.code, 2);
    assert!(cut.stderr.contains("damaged"), "{}", cut.stderr);
}
