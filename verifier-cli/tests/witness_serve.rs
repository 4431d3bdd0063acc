//! `zipchain witness serve` (SPEC §9.3, §9.6; issue #17) through the real binary: real
//! chains built with the test kit and replicated to six `file://` stores, requests over
//! HTTP on loopback. Every status of C2SP tlog-witness; a request built by an independent
//! implementation (Cloudflare azul's `signed_note` and `tlog_tiles`) cosigned, and the
//! cosignature checked by it; the held checkpoint surviving SIGKILL right after a `200`;
//! a forked snapshot never cosigned twice; `503` while behind or when four stores are gone.
//! Faults (issue #18): a full disk (its state directory, or only `cosigned/`, on a filled
//! tmpfs) and stores on a killed Azurite are `503` with `Retry-After`, never a
//! cosignature; SIGKILL again and again mid-round leaves it whole.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use replication::Stores;
use serde_json::Value;
use verifier_core::snapshot::Snapshot;
use verifier_core::tlog::add_checkpoint::AddCheckpoint;
use verifier_core::tlog::checkpoint::{Checkpoint, origin};
use verifier_core::tlog::log;
use verifier_core::tlog::note::{ALG_ED25519, Note, VerifierKey, sign_ed25519};
use verifier_core::tlog::tree::{LogHash, LogTree, leaf_hash};
use zipchain_testkit::azurite::Azurite;
use zipchain_testkit::tmpfs::Tmpfs;
use zipchain_testkit::{BuiltBlock, ChainKit};

use common::witness::{Reply, Witness, check_cosigned, expect, http, keygen};
use common::zipchain;

/// The log key of every test chain.
fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

/// A chain of the test kit, its v2 descriptor (with the log key) and six `file://` stores.
struct Chain {
    dir: tempfile::TempDir,
    kit: ChainKit,
    stores: Stores,
    chain_json: PathBuf,
    origin: String,
}

impl Chain {
    /// A chain of `b0` and `n` more blocks, replicated.
    fn new(n: usize) -> (Self, Vec<BuiltBlock>) {
        let mut kit = ChainKit::new();
        let b0 = kit.genesis().clone();
        let mut blocks = vec![b0.clone()];
        blocks.extend(kit.extend(&b0, n, "tx"));
        let c = Self::of(kit);
        c.replicate(c.kit.snapshot());
        (c, blocks)
    }

    /// The chain of `kit`, with its descriptor made v2 with the log key, and six empty
    /// stores.
    fn of(kit: ChainKit) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let origin = origin(&kit.trust().genesis());
        let log_vkey =
            VerifierKey::new(&origin, ALG_ED25519, log_key().verifying_key().as_bytes()).unwrap();
        let mut chain: Value = serde_json::from_str(&kit.trust().to_json_pretty()).unwrap();
        chain["zipchain_chain"] = 2.into();
        chain["log_key"] = log_vkey.to_text().into();
        let chain_json = dir.path().join("chain.json");
        std::fs::write(&chain_json, chain.to_string()).unwrap();
        let stores = Stores::local(&dir.path().join("stores")).unwrap();
        Self {
            dir,
            kit,
            stores,
            chain_json,
            origin,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store_urls(&self) -> Vec<String> {
        (0..6)
            .map(|i| self.stores.url(i).unwrap().to_owned())
            .collect()
    }

    /// Writes every object of `snapshot` to the stores (write-once: again is a no-op).
    fn replicate(&self, snapshot: &Snapshot) {
        replicate_to(&self.stores, snapshot);
    }

    /// The log of the kit's current main chain (as the witness will audit it).
    fn log(&self) -> LogTree {
        log::tree(&self.kit.audit().main_chain)
    }

    /// The note of the checkpoint of `tree`'s first `size` entries, signed by the log key.
    fn note(&self, tree: &LogTree, size: u64) -> Note {
        let text = Checkpoint {
            origin: self.origin.clone(),
            size,
            root: tree.root(size).unwrap(),
        }
        .to_body();
        Note {
            signatures: vec![sign_ed25519(&text, &self.origin, &log_key())],
            text,
        }
    }

    /// The request from `old` to `size` of `tree`, with its consistency proof.
    fn request(&self, tree: &LogTree, old: u64, size: u64) -> String {
        let note = self.note(tree, size);
        AddCheckpoint {
            old,
            proof: tree.consistency_proof(old, size).unwrap(),
            checkpoint: Checkpoint::parse(&note.text).unwrap(),
            note,
        }
        .to_body()
    }
}

/// Writes every object of `snapshot` to `stores`.
fn replicate_to(stores: &Stores, snapshot: &Snapshot) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (kind, key, bytes) in snapshot.iter() {
        runtime
            .block_on(stores.put_object(kind, *key, bytes))
            .unwrap();
    }
}

impl Witness {
    /// Starts a witness of `chain`'s stores with state `state` and key `key`.
    fn start(chain: &Chain, key: &Path, state: &Path, extra: &[&str]) -> Self {
        Self::start_with(chain, &chain.store_urls(), key, state, extra)
    }

    /// Starts a witness of `chain` reading the stores `urls`.
    fn start_with(
        chain: &Chain,
        urls: &[String],
        key: &Path,
        state: &Path,
        extra: &[&str],
    ) -> Self {
        Witness::spawn(&chain.chain_json, urls, key, state, chain.dir.path(), extra)
    }
}

#[test]
fn add_checkpoint_answers_every_status_of_c2sp_tlog_witness() {
    let (chain, _) = Chain::new(6);
    let (key, vkey) = keygen(chain.dir.path(), "w1.example");
    let w = Witness::start(&chain, &key, &chain.path("w1"), &[]);
    let own = chain.log();
    assert_eq!(own.len(), 7);

    // 200: from nothing to 3 entries; the line is a cosignature/v1 that verifies.
    let r = w.post(&chain.request(&own, 0, 3));
    expect(&w, &r, 200);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let time = check_cosigned(&r, &chain.note(&own, 3), &vkey);
    assert!(time.abs_diff(now) < 60, "cosigned at {time}, now {now}");
    // The state file holds it, as `zipchain cosign --state` keeps it.
    let genesis = chain.kit.trust().genesis().to_hex();
    let held = std::fs::read_to_string(chain.path("w1").join("cosigned").join(&genesis)).unwrap();
    assert_eq!(held, chain.note(&own, 3).text);

    // 409: the old size is not the held one; the body is the held size.
    for old in [0, 2] {
        let r = w.post(&chain.request(&own, old, 5));
        expect(&w, &r, 409);
        assert_eq!(r.body, "3\n");
        assert_eq!(r.header("content-type"), Some("text/x.tlog.size"));
    }
    // 409: the held size with another root.
    let mut leaves: Vec<LogHash> = own.leaves().to_vec();
    leaves[2] = leaf_hash(b"another entry");
    let other = LogTree::from_leaves(leaves.iter().copied());
    let r = w.post(&chain.request(&other, 3, 3));
    expect(&w, &r, 409);
    assert_eq!(r.body, "3\n");

    // 422: a consistency proof that does not verify.
    let mut body = chain.request(&own, 3, 5);
    let proof = STANDARD.encode(own.consistency_proof(3, 5).unwrap()[0]);
    body = body.replacen(&proof, &STANDARD.encode([7u8; 32]), 1);
    expect(&w, &w.post(&body), 422);
    // 422: consistent with what it holds, but not its own main chain's root.
    let mut theirs = own.leaves()[..3].to_vec();
    theirs.extend([leaf_hash(b"x"), leaf_hash(b"y")]);
    let theirs = LogTree::from_leaves(theirs);
    let r = w.post(&chain.request(&theirs, 3, 5));
    expect(&w, &r, 422);
    assert!(
        r.body
            .contains("not the root of the witness's audited main chain"),
        "{}",
        r.body
    );

    // 404: another origin (signed by that origin's own key).
    let foreign = chain
        .request(&own, 3, 5)
        .replace(&chain.origin, "zipchain/00");
    let r = w.post(&foreign);
    expect(&w, &r, 404);

    // 403: not signed by the log key; a log signature that does not verify.
    let note = chain.note(&own, 5);
    let stranger = Note {
        signatures: vec![sign_ed25519(
            &note.text,
            "stranger",
            &SigningKey::from_bytes(&[9; 32]),
        )],
        text: note.text.clone(),
    };
    let body = format!(
        "old 3\n{}\n{}",
        own.consistency_proof(3, 5)
            .unwrap()
            .iter()
            .map(|h| format!("{}\n", STANDARD.encode(h)))
            .collect::<String>(),
        stranger.to_text()
    );
    expect(&w, &w.post(&body), 403);
    let mut bad = note.clone();
    bad.signatures[0].signature[3] ^= 1;
    let body = chain
        .request(&own, 3, 5)
        .replace(&note.to_text(), &bad.to_text());
    expect(&w, &w.post(&body), 403);

    // 400: malformed bodies; an old size above the checkpoint's; 64 proof lines; a body
    // over the limit.
    let good = chain.request(&own, 3, 5);
    for bad in [
        "".to_owned(),
        "hello\n".to_owned(),
        good.replacen("old 3\n", "old 03\n", 1),
        good.replacen("old 3\n", "old 3\r\n", 1),
        good.replacen(
            &format!("\n\n{}", chain.origin),
            &format!("\n{}", chain.origin),
            1,
        ),
        good.replacen(&format!("\u{2014} {}", chain.origin), "- x", 1),
        format!("old 3\n\n{}", chain.note(&own, 5).text),
        chain.request(&own, 3, 5).replacen("old 3\n", "old 6\n", 1),
        format!(
            "old 3\n{}\n{}",
            format!("{}\n", STANDARD.encode([1u8; 32])).repeat(64),
            note.to_text()
        ),
        "x".repeat(verifier_core::tlog::add_checkpoint::MAX_REQUEST_LEN + 1),
    ] {
        let r = w.post(&bad);
        assert_eq!(r.status, 400, "{:?} -> {r:?}", &bad[..bad.len().min(80)]);
    }

    // 200 again: from 3 to 5 with the proof, and the same checkpoint again.
    let r = w.post(&chain.request(&own, 3, 5));
    check_cosigned(&r, &chain.note(&own, 5), &vkey);
    let r = w.post(&chain.request(&own, 5, 5));
    check_cosigned(&r, &chain.note(&own, 5), &vkey);

    // Health and metrics say what happened.
    let health: Value = serde_json::from_str(&w.get("/healthz").body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["main_chain_size"], 7);
    assert_eq!(health["cosigned_size"], 5);
    assert_eq!(health["origin"], chain.origin.as_str());
    assert_eq!(w.metric("zipchain_witness_checkpoints_cosigned_total"), 3.0);
    assert_eq!(w.metric("zipchain_witness_main_chain_size"), 7.0);
    assert_eq!(w.metric("zipchain_witness_cosigned_size"), 5.0);
    assert_eq!(
        w.metric("zipchain_witness_checkpoints_refused_total{status=\"409\",reason=\"old_size\"}"),
        2.0
    );
    assert_eq!(
        w.metric("zipchain_witness_checkpoints_refused_total{status=\"422\",reason=\"root\"}"),
        1.0
    );
    assert_eq!(
        w.metric("zipchain_witness_checkpoints_refused_total{status=\"400\",reason=\"malformed\"}"),
        10.0
    );
    assert!(w.metric("zipchain_witness_rounds_total") >= 1.0);
    assert!(w.metric("zipchain_witness_last_audit_timestamp_seconds") > 1.7e9);
    // The key is nowhere in the log.
    let key_text = std::fs::read_to_string(&key).unwrap();
    let secret = key_text.trim().rsplit('+').next().unwrap();
    assert!(!w.logs().contains(secret));
    assert!(w.logs().contains("cosigned"), "{}", w.logs());
    assert_eq!(w.get("/nothing").status, 404);
    assert_eq!(w.get("/add-checkpoint").status, 405);
}

#[test]
fn while_behind_it_answers_503_with_retry_after_then_200_once_caught_up() {
    let (mut chain, blocks) = Chain::new(3);
    let (key, vkey) = keygen(chain.dir.path(), "w.example");
    let w = Witness::start(&chain, &key, &chain.path("w"), &["--catch-up-wait", "3s"]);
    let r = w.post(&chain.request(&chain.log(), 0, 4));
    check_cosigned(&r, &chain.note(&chain.log(), 4), &vkey);

    // The chain grows, but its objects are not in the stores yet.
    let tip = blocks.last().unwrap().clone();
    chain.kit.extend(&tip, 3, "later");
    let grown = chain.log();
    assert_eq!(grown.len(), 7);
    let started = Instant::now();
    let r = w.post(&chain.request(&grown, 4, 7));
    expect(&w, &r, 503);
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "waited {:?}",
        started.elapsed()
    );
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(
        r.body.contains("fewer than the checkpoint's 7"),
        "{}",
        r.body
    );
    assert_eq!(w.metric("zipchain_witness_audit_lag_entries"), 3.0);
    // Nothing was cosigned: the held size is still 4.
    let r = w.post(&chain.request(&grown, 0, 7));
    expect(&w, &r, 409);
    assert_eq!(r.body, "4\n");

    // The writer replicates the new blocks: the next request pulls them and is cosigned.
    chain.replicate(chain.kit.snapshot());
    let r = w.post(&chain.request(&grown, 4, 7));
    check_cosigned(&r, &chain.note(&grown, 7), &vkey);
    assert_eq!(w.metric("zipchain_witness_main_chain_size"), 7.0);
    assert_eq!(w.metric("zipchain_witness_audit_lag_entries"), 0.0);
}

#[test]
fn with_four_stores_gone_it_answers_503_and_never_cosigns() {
    let (chain, _) = Chain::new(3);
    let (key, _) = keygen(chain.dir.path(), "w.example");
    let w = Witness::start(&chain, &key, &chain.path("w"), &[]);
    let own = chain.log();
    let stores = chain.path("stores");
    for i in 0..4 {
        std::fs::rename(
            stores.join(format!("store-{i}")),
            stores.join(format!("gone-{i}")),
        )
        .unwrap();
    }
    // Of a size it audited already, and of one it has not: 503 both, with Retry-After.
    for size in [3, 4] {
        let r = w.post(&chain.request(&own, 0, size));
        expect(&w, &r, 503);
        assert!(r.header("retry-after").is_some(), "{r:?}");
        assert!(r.body.contains("only 2 of 6 stores answered"), "{}", r.body);
    }
    let health = w.get("/healthz");
    assert_eq!(health.status, 503);
    let health: Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(health["status"], "unhealthy");
    assert!(
        health["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("stores unreachable"),
        "{health}"
    );
    assert!(w.metric("zipchain_witness_pull_errors_total") >= 1.0);
    assert_eq!(w.metric("zipchain_witness_cosigned_size"), 0.0);
    assert!(
        !chain
            .path("w")
            .join("cosigned")
            .join(chain.kit.trust().genesis().to_hex())
            .exists()
    );

    // One store back: three answer, and it cosigns.
    std::fs::rename(stores.join("gone-3"), stores.join("store-3")).unwrap();
    let r = w.post(&chain.request(&own, 0, 4));
    expect(&w, &r, 200);
}

#[test]
fn killed_right_after_a_200_it_restarts_holding_what_it_cosigned() {
    let (chain, _) = Chain::new(6);
    let (key, vkey) = keygen(chain.dir.path(), "w.example");
    let state = chain.path("w");
    let own = chain.log();
    let mut w = Witness::start(&chain, &key, &state, &[]);
    let r = w.post(&chain.request(&own, 0, 6));
    check_cosigned(&r, &chain.note(&own, 6), &vkey);
    // SIGKILL (`Child::kill` on Unix), the moment the answer is in.
    w.child.kill().unwrap();
    w.child.wait().unwrap();
    drop(w);

    let w = Witness::start(&chain, &key, &state, &[]);
    // It holds size 6: a request from 0 is told so.
    let r = w.post(&chain.request(&own, 0, 4));
    expect(&w, &r, 409);
    assert_eq!(r.body, "6\n");
    // Smaller, from the held size: refused (400: the old size is above the checkpoint's).
    let r = w.post(&chain.request(&own, 4, 4).replacen("old 4\n", "old 6\n", 1));
    expect(&w, &r, 400);
    // The same size with another root: refused.
    let mut leaves: Vec<LogHash> = own.leaves().to_vec();
    leaves[5] = leaf_hash(b"forged");
    let forged = LogTree::from_leaves(leaves.iter().copied());
    let r = w.post(&chain.request(&forged, 6, 6));
    expect(&w, &r, 409);
    // Larger but inconsistent with what it holds: refused.
    leaves.push(leaf_hash(b"more"));
    let forged = LogTree::from_leaves(leaves.iter().copied());
    let r = w.post(&chain.request(&forged, 6, 7));
    expect(&w, &r, 422);
    // Its own next one is fine.
    let r = w.post(&chain.request(&own, 6, 7));
    check_cosigned(&r, &chain.note(&own, 7), &vkey);

    // A second daemon on the same directory is refused (exit 2).
    let mut args: Vec<std::ffi::OsString> = vec![
        "witness".into(),
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
    ];
    args.extend(["--key".into(), key.clone().into_os_string()]);
    args.extend(["--chain".into(), chain.chain_json.clone().into_os_string()]);
    args.extend(["--state".into(), state.clone().into_os_string()]);
    for url in chain.store_urls() {
        args.extend(["--store".into(), url.into()]);
    }
    let out = zipchain(args).run();
    out.code(2)
        .stderr_has("another process is using this state directory");
}

#[test]
fn concurrent_requests_never_roll_the_held_checkpoint_back() {
    // C2SP's race: request A (size N) and request B (size N + K) checked at once, B
    // stored, then A stored over it. Every (old, size) pair of the chain, all at once,
    // twice: the held size is the largest one cosigned, and each 200 answered a request
    // whose old size was the held size when it was decided.
    let (chain, _) = Chain::new(7);
    let (key, vkey) = keygen(chain.dir.path(), "w.example");
    let w = Witness::start(&chain, &key, &chain.path("w"), &[]);
    let own = chain.log();
    let mut bodies = Vec::new();
    for old in 0..=8u64 {
        for size in old.max(1)..=8 {
            bodies.push((chain.request(&own, old, size), old, size));
        }
    }
    let answers: Vec<(Reply, u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .chain(bodies.iter())
            .map(|(body, old, size)| {
                let w = &w;
                s.spawn(move || (w.post(body), *old, *size))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut cosigned: Vec<(u64, u64)> = Vec::new();
    for (r, old, size) in &answers {
        match r.status {
            200 => {
                check_cosigned(r, &chain.note(&own, *size), &vkey);
                cosigned.push((*old, *size));
            }
            409 => assert!(r.body.trim().parse::<u64>().is_ok(), "{r:?}"),
            other => panic!("({old}, {size}): {other} {r:?}"),
        }
    }
    // The cosigned requests form one chain of sizes from 0: each one's old size is an
    // earlier one's size (or the same size again).
    cosigned.sort_unstable_by_key(|&(old, size)| (size, old));
    let mut held = 0;
    for (old, size) in &cosigned {
        assert_eq!(
            *old, held,
            "cosigned from {old} while holding {held}: {cosigned:?}"
        );
        held = *size;
    }
    let largest = cosigned.iter().map(|c| c.1).max().unwrap();
    let genesis = chain.kit.trust().genesis().to_hex();
    let file = std::fs::read_to_string(chain.path("w").join("cosigned").join(genesis)).unwrap();
    assert_eq!(Checkpoint::parse(&file).unwrap().size, largest);
    let r = w.post(&chain.request(&own, 0, 1));
    assert_eq!(r.body, format!("{largest}\n"));
}

/// A sequencer that equivocated at `k = 2`: `b0, b1, b2, b3, b4` on one side and `e` (a
/// sibling of `b2`, also numbered 2) on the other. Without `e`'s attestation the main
/// chain is `b0 .. b4`; without `b2`'s it is `b0, b1, e`: two views of one chain whose
/// logs fork at entry 2.
struct Fork {
    chain: Chain,
    /// The snapshot with `b2`'s attestation and not `e`'s.
    a: Snapshot,
    /// The snapshot with `e`'s attestation and not `b2`'s.
    b: Snapshot,
}

fn fork() -> Fork {
    let eq = zipchain_testkit::equivocating_chain();
    let (mut a, mut b) = (eq.kit.snapshot().clone(), eq.kit.snapshot().clone());
    let ak = verifier_core::snapshot::ObjectKind::Attestation;
    a.remove(ak, &eq.e.attestation.unwrap());
    b.remove(ak, &eq.chain[2].attestation.unwrap());
    Fork {
        chain: Chain::of(eq.kit),
        a,
        b,
    }
}

/// The log of the main chain `snapshot` gives under the chain's descriptor.
fn log_of(chain: &Chain, snapshot: &Snapshot) -> LogTree {
    let audit = chain.kit.auditor().audit(snapshot, &mut |_, _| {});
    log::tree(&audit.main_chain)
}

#[test]
fn a_forked_snapshot_is_never_cosigned_twice() {
    let f = fork();
    let (la, lb) = (log_of(&f.chain, &f.a), log_of(&f.chain, &f.b));
    assert_eq!((la.len(), lb.len()), (5, 3));
    assert_ne!(
        la.root(3).unwrap(),
        lb.root(3).unwrap(),
        "the logs fork at entry 2"
    );
    let (key, vkey) = keygen(f.chain.dir.path(), "w.example");

    // The witness's stores hold side A. Requests for both sides, many at once and from
    // every old size: whatever it cosigns is one consistent history.
    f.chain.replicate(&f.a);
    let w = Witness::start(&f.chain, &key, &f.chain.path("w"), &[]);
    // Sides A and B share entries 0 and 1: their checkpoints of sizes 1 and 2 are the
    // same; of size 3 they differ.
    let mut bodies: Vec<(String, u64, LogHash)> = Vec::new();
    for old in 0..=3u64 {
        for size in old.max(1)..=3 {
            bodies.push((
                f.chain.request(&la, old, size),
                size,
                la.root(size).unwrap(),
            ));
            if old == 0 || old == size || old <= 2 && size <= 2 {
                let b_old = if old <= 2 || old == size { old } else { 0 };
                bodies.push((
                    f.chain.request(&lb, b_old, size),
                    size,
                    lb.root(size).unwrap(),
                ));
            }
        }
    }
    let cosigned: Vec<(u64, LogHash)> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .cycle()
            .take(bodies.len() * 3)
            .map(|(body, size, root)| {
                let w = &w;
                s.spawn(move || (w.post(body), *size, *root))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|(r, _, _)| r.status == 200)
            .map(|(_, size, root)| (size, root))
            .collect()
    });
    assert!(!cosigned.is_empty(), "{}", w.logs());
    for (size, root) in &cosigned {
        assert_eq!(
            *root,
            la.root(*size).unwrap(),
            "a checkpoint of size {size} that is not side A's was cosigned: {cosigned:?}"
        );
    }
    // Side B's own checkpoint of size 3, from the held size: refused (422, or 409 at the
    // held size with another root).
    let held = cosigned.iter().map(|(size, _)| *size).max().unwrap();
    let mut proofless = f.chain.request(&lb, 3, 3);
    proofless = proofless.replacen("old 3\n", &format!("old {held}\n"), 1);
    let r = w.post(&proofless);
    assert!(matches!(r.status, 409 | 422), "{r:?}");

    // Then side B's objects reach the stores: the witness sees the equivocation and
    // refuses every checkpoint from then on, its own side's included.
    let r = w.post(&f.chain.request(&la, held, 4));
    check_cosigned(&r, &f.chain.note(&la, 4), &vkey);
    f.chain.replicate(&f.b);
    let r = w.post(&f.chain.request(&la, 4, 5));
    expect(&w, &r, 422);
    assert!(r.body.contains("equivocation"), "{}", r.body);
    let health: Value = serde_json::from_str(&w.get("/healthz").body).unwrap();
    assert_eq!(health["status"], "unhealthy");
    assert!(
        health["reasons"].to_string().contains("equivocation"),
        "{health}"
    );

    // A second witness that only ever sees side B cosigns B, never A.
    let b_stores = Stores::local(&f.chain.path("stores-b")).unwrap();
    replicate_to(&b_stores, &f.b);
    let b_urls: Vec<String> = (0..6)
        .map(|i| b_stores.url(i).unwrap().to_owned())
        .collect();
    let wb = Witness::start_with(&f.chain, &b_urls, &key, &f.chain.path("wb"), &[]);
    let r = wb.post(&f.chain.request(&la, 0, 3));
    expect(&wb, &r, 422);
    let r = wb.post(&f.chain.request(&lb, 0, 3));
    check_cosigned(&r, &f.chain.note(&lb, 3), &vkey);
    let r = wb.post(&f.chain.request(&la, 3, 4));
    assert!(matches!(r.status, 409 | 422 | 503), "{r:?}");
}

/// The independent side: Cloudflare azul's `signed_note` and `tlog_tiles`, a port of Go's
/// `golang.org/x/mod/sumdb/{note,tlog}`, with a cosignature/v1 verifier written here from
/// C2SP tlog-cosignature.
mod independent {
    use ed25519_dalek::{Signature, VerifyingKey};
    use signed_note::{Verifier, key_id};
    use tlog_tiles::{Hash, HashReader};

    /// Stored hashes of a tlog (Go's layout), in memory.
    #[derive(Default)]
    pub(super) struct Tlog {
        pub(super) hashes: Vec<Hash>,
        pub(super) size: u64,
    }

    impl HashReader for Tlog {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            indexes
                .iter()
                .map(|&i| {
                    self.hashes
                        .get(usize::try_from(i).unwrap())
                        .copied()
                        .ok_or(tlog_tiles::Error::InvalidInput("no such hash".into()))
                })
                .collect()
        }
    }

    impl Tlog {
        /// Appends a record.
        pub(super) fn push(&mut self, record: &[u8]) {
            let new = tlog_tiles::stored_hashes(self.size, record, self).unwrap();
            self.hashes.extend(new);
            self.size += 1;
        }
    }

    /// A C2SP tlog-cosignature/v1 verifier (algorithm 0x04): the signature is
    /// `be64(time) ++ Ed25519("cosignature/v1\ntime <time>\n" ++ text)`.
    pub(super) struct CosignatureV1 {
        pub(super) name: String,
        pub(super) key: VerifyingKey,
    }

    impl Verifier for CosignatureV1 {
        fn name(&self) -> &str {
            &self.name
        }

        fn key_id(&self) -> u32 {
            key_id(&self.name, &[&[0x04][..], self.key.as_bytes()].concat())
        }

        fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
            let Some((time, sig)) = sig.split_first_chunk::<8>() else {
                return false;
            };
            let Ok(sig) = Signature::from_slice(sig) else {
                return false;
            };
            let mut signed =
                format!("cosignature/v1\ntime {}\n", u64::from_be_bytes(*time)).into_bytes();
            signed.extend_from_slice(msg);
            self.key.verify_strict(&signed, &sig).is_ok()
        }
    }
}

#[test]
fn a_request_built_by_an_independent_implementation_is_cosigned_and_verifies_there() {
    use signed_note::{Note as AzulNote, StandardSigner, VerifierList};
    use tlog_tiles::Checkpoint as AzulCheckpoint;

    let (chain, _) = Chain::new(9);
    let (key, vkey) = keygen(chain.dir.path(), "witness.example/w1");
    let w = Witness::start(&chain, &key, &chain.path("w"), &[]);

    // The log: entry i is H(b_i) ++ H(t_i) of the main chain (SPEC §9.1).
    let mut tlog = independent::Tlog::default();
    for b in &chain.kit.audit().main_chain {
        tlog.push(&[b.block.as_bytes().as_slice(), b.timestamp.as_bytes()].concat());
    }
    assert_eq!(tlog.size, 10);
    let seed = log_key().to_bytes();
    let pubkey = [&[0x01][..], log_key().verifying_key().as_bytes()].concat();
    let skey = format!(
        "PRIVATE+KEY+{}+{:08x}+{}",
        chain.origin,
        signed_note::key_id(&chain.origin, &pubkey),
        STANDARD.encode([&[0x01][..], &seed].concat())
    );
    let signer = StandardSigner::new(&skey).unwrap();
    let (wname, rest) = vkey.split_once('+').unwrap();
    let wkey: [u8; 33] = STANDARD
        .decode(rest.split_once('+').unwrap().1)
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(wkey[0], 0x04);
    let verifier = independent::CosignatureV1 {
        name: wname.to_owned(),
        key: ed25519_dalek::VerifyingKey::from_bytes(&wkey[1..].try_into().unwrap()).unwrap(),
    };
    let known = VerifierList::new(vec![Box::new(verifier)]);

    let mut old = 0;
    for size in [4u64, 10] {
        let root = tlog_tiles::tree_hash(size, &tlog).unwrap();
        let text = AzulCheckpoint::new(&chain.origin, size, root, "")
            .unwrap()
            .to_bytes();
        let mut note = AzulNote::new(&text, &[]).unwrap();
        note.add_sigs(&[&signer]).unwrap();
        let note = note.to_bytes();
        // The C2SP tlog-witness body, from the spec: old size, proof lines, empty line, note.
        let mut body = format!("old {old}\n").into_bytes();
        if old > 0 {
            for h in tlog_tiles::prove_tree(size, old, &tlog).unwrap() {
                body.extend(format!("{}\n", STANDARD.encode(h.0)).bytes());
            }
        }
        body.push(b'\n');
        body.extend(&note);
        let r = http(&w.url, "POST", "/add-checkpoint", &body);
        expect(&w, &r, 200);
        // The client's way (C2SP): the answer appended to the note, verified with the
        // witness keys it trusts.
        let cosigned =
            AzulNote::from_bytes(&[note.as_slice(), r.body.as_bytes()].concat()).unwrap();
        let (verified, unverified) = cosigned.verify(&known).unwrap();
        assert_eq!(verified.len(), 1, "the witness's cosignature");
        assert_eq!(
            unverified.len(),
            1,
            "the log's own signature, unknown to this verifier"
        );
        assert_eq!(verified[0].name(), wname);
        // A changed answer does not verify there.
        let mut forged = r.body.clone().into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let bad = AzulNote::from_bytes(&[note.as_slice(), &forged].concat()).unwrap();
        assert!(bad.verify(&known).is_err());
        old = size;
    }
    // And the conflict answer is what a C2SP client reads: the held size.
    let root = tlog_tiles::tree_hash(4, &tlog).unwrap();
    let text = AzulCheckpoint::new(&chain.origin, 4, root, "")
        .unwrap()
        .to_bytes();
    let mut note = AzulNote::new(&text, &[]).unwrap();
    note.add_sigs(&[&signer]).unwrap();
    let body = [b"old 0\n\n".as_slice(), &note.to_bytes()].concat();
    let r = http(&w.url, "POST", "/add-checkpoint", &body);
    expect(&w, &r, 409);
    assert_eq!(r.body, "10\n");
}

/// The size of the checkpoint the witness keeps in `state` for `chain` (0 when none).
fn held_size(chain: &Chain, state: &Path) -> u64 {
    let file = state
        .join("cosigned")
        .join(chain.kit.trust().genesis().to_hex());
    std::fs::read_to_string(file).map_or(0, |text| Checkpoint::parse(&text).unwrap().size)
}

/// A `503` with `Retry-After`; nothing cosigned.
#[track_caller]
fn expect_retry_later(w: &Witness, r: &Reply) {
    expect(w, r, 503);
    assert!(r.header("retry-after").is_some(), "{r:?}");
    assert!(!r.body.starts_with('\u{2014}'), "{r:?}");
}

/// Issue #18: the witness's disk fills up. First its whole state directory (a tmpfs
/// filled to the last byte): the round cannot pull, and a new checkpoint is `503` with
/// `Retry-After`, never cosigned; freed, it is. Then only `cosigned/` (another tmpfs on
/// it): the audit is current but the checkpoint cannot be kept, so it is not cosigned
/// either (`503`, `/healthz` says the state is not writable); freed, it is.
#[test]
fn with_a_full_disk_it_answers_503_and_never_cosigns() {
    let (mut chain, blocks) = Chain::new(3);
    let Some(disk) = Tmpfs::mount_or_skip(&chain.path("disk"), 16 << 20) else {
        return;
    };
    let (key, vkey) = keygen(chain.dir.path(), "w.example");
    let state = disk.path().join("w");
    let w = Witness::start(&chain, &key, &state, &[]);
    let r = w.post(&chain.request(&chain.log(), 0, 4));
    check_cosigned(&r, &chain.note(&chain.log(), 4), &vkey);

    // The chain grows; the disk is full before the witness pulls it.
    let tip = blocks.last().unwrap().clone();
    let later = chain.kit.extend(&tip, 3, "later");
    let filler = disk.fill("filler").unwrap();
    chain.replicate(chain.kit.snapshot());
    let grown = chain.log();
    let r = w.post(&chain.request(&grown, 4, 7));
    expect_retry_later(&w, &r);
    assert_eq!(held_size(&chain, &state), 4);
    let health = w.get("/healthz");
    assert_eq!(health.status, 503, "{health:?}");
    assert!(
        health.body.contains("No space left on device"),
        "{health:?}"
    );
    std::fs::remove_file(filler).unwrap();
    let r = w.post(&chain.request(&grown, 4, 7));
    check_cosigned(&r, &chain.note(&grown, 7), &vkey);
    assert_eq!(held_size(&chain, &state), 7);

    // Only `cosigned/` is full: the round pulls and audits, the checkpoint cannot be kept.
    chain.kit.extend(later.last().unwrap(), 1, "last");
    chain.replicate(chain.kit.snapshot());
    let grown = chain.log();
    let cosigned = Tmpfs::mount_or_skip(&state.join("cosigned"), 64 << 10).unwrap();
    let filler = cosigned.fill("filler").unwrap();
    let r = w.post(&chain.request(&grown, 7, 8));
    expect_retry_later(&w, &r);
    assert!(r.body.contains("could not be kept"), "{r:?}");
    let health = w.get("/healthz");
    assert_eq!(health.status, 503, "{health:?}");
    assert!(health.body.contains("state not writable"), "{health:?}");
    std::fs::remove_file(filler).unwrap();
    drop(cosigned);
    let r = w.post(&chain.request(&grown, 7, 8));
    check_cosigned(&r, &chain.note(&grown, 8), &vkey);
    assert_eq!(held_size(&chain, &state), 8);
    w.wait_healthy();
}

/// Issue #18: killed with SIGKILL again and again in the middle of its first rounds
/// (pulling, auditing, saving its audit), the witness comes back whole: it catches up,
/// cosigns the chain's checkpoint, and still refuses another root at a size it held.
#[test]
fn killed_mid_round_again_and_again_it_comes_back_whole() {
    let (chain, _) = Chain::new(40);
    let (key, vkey) = keygen(chain.dir.path(), "w.example");
    let state = chain.path("w");
    let own = chain.log();
    let r = {
        let w = Witness::start(&chain, &key, &state, &[]);
        w.post(&chain.request(&own, 0, 10))
    };
    check_cosigned(&r, &chain.note(&own, 10), &vkey);
    std::fs::remove_dir_all(state.join("snapshot")).unwrap();
    for after_ms in [30, 100, 200, 400, 700, 1200] {
        let mut w = Witness::launch(
            &chain.chain_json,
            &chain.store_urls(),
            &key,
            &state,
            chain.dir.path(),
            &[],
            &[],
        );
        std::thread::sleep(Duration::from_millis(after_ms));
        w.child.kill().unwrap();
        w.child.wait().unwrap();
    }
    let w = Witness::start(&chain, &key, &state, &[]);
    let r = w.post(&chain.request(&own, 10, 41));
    check_cosigned(&r, &chain.note(&own, 41), &vkey);
    assert_eq!(w.metric("zipchain_witness_main_chain_size"), 41.0);
    let mut leaves: Vec<LogHash> = own.leaves().to_vec();
    leaves[40] = leaf_hash(b"forged");
    let forged = LogTree::from_leaves(leaves.iter().copied());
    let r = w.post(&chain.request(&forged, 41, 41));
    expect(&w, &r, 409);
}

/// Issue #18: four of its stores are `az://` containers on a real Azurite, which is
/// killed (SIGKILL) and restarted on its data: while it is down only two stores answer,
/// so a new checkpoint is `503` with `Retry-After` and never cosigned; back, it is.
#[test]
fn its_stores_on_a_killed_azurite_give_503_until_it_is_back() {
    let Some(mut azurite) = Azurite::start_or_skip() else {
        return;
    };
    let (mut chain, blocks) = Chain::new(3);
    let urls: Vec<String> = (0..6)
        .map(|i| {
            if i < 4 {
                let container = format!("witness-{i}");
                azurite.create_container(&container);
                format!("az://{container}/chain")
            } else {
                chain.stores.url(i).unwrap().to_owned()
            }
        })
        .collect();
    let stores = Stores::from_urls_with(&urls, azurite.store_options()).unwrap();
    replicate_to(&stores, chain.kit.snapshot());
    let (key, vkey) = keygen(chain.dir.path(), "w.example");
    let env: Vec<(String, String)> = azurite.env();
    let w = Witness::launch(
        &chain.chain_json,
        &urls,
        &key,
        &chain.path("w"),
        chain.dir.path(),
        // Longer than two rounds with stores that do not answer (a 5 s listing timeout
        // each): the request may come during a round and wait for the next. 8 s was too
        // short for CI's loaded machine; the answer comes as soon as a round ends.
        &["--catch-up-wait", "30s"],
        &env,
    );
    w.wait_healthy();
    let r = w.post(&chain.request(&chain.log(), 0, 4));
    check_cosigned(&r, &chain.note(&chain.log(), 4), &vkey);

    let tip = blocks.last().unwrap().clone();
    chain.kit.extend(&tip, 2, "later");
    replicate_to(&stores, chain.kit.snapshot());
    // Azurite saves its blob index every 5 s: a kill sooner would lose the new blobs.
    std::thread::sleep(Duration::from_secs(6));
    azurite.kill();
    let grown = chain.log();
    let r = w.post(&chain.request(&grown, 4, 6));
    expect_retry_later(&w, &r);
    assert!(r.body.contains("only 2 of 6 stores answered"), "{}", r.body);
    assert_eq!(held_size(&chain, &chain.path("w")), 4);
    azurite.restart().unwrap();
    let r = w.post(&chain.request(&grown, 4, 6));
    check_cosigned(&r, &chain.note(&grown, 6), &vkey);
}
