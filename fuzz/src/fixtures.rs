//! What the targets check inputs against, made once per process from the shared vectors
//! (read in place, never copied): the conformance chain's trust descriptor as v2 (its
//! log key and three witnesses, fixed keys), its snapshot and audit, the Cognito key sets,
//! and the writer's checkpoints for that chain.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use verifier_core::chain::{Audit, Auditor};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, Snapshot};
use verifier_core::timestamp::{Jwks, TimestampPolicy, TimestampVerifier, TokenUse};
use verifier_core::tlog::checkpoint::origin;
use verifier_core::tlog::log;
use verifier_core::tlog::note::{ALG_COSIGNATURE_V1, ALG_ED25519, VerifierKey};
use verifier_core::tlog::policy::WitnessPolicy;
use verifier_core::tlog::signer::SignerKey;
use verifier_core::tlog::tree::LogTree;
use verifier_core::trust::{TrustDescriptor, WitnessesTrust};
use zipchain_writer::checkpoints::Checkpoints;

/// The witnesses of the v2 descriptor; witness `i` signs with [`key`]`(2 + i)`.
pub const WITNESSES: [&str; 3] = ["w1.example", "w2.example", "w3.example"];

/// How many witnesses must cosign.
pub const QUORUM: u64 = 2;

/// The Cognito pools of the vectors, as (folder under `jwt/`, issuer).
pub const COGNITO_POOLS: [(&str, &str); 2] = [
    (
        "cognito-us-east-1_iWcTPhZBA",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_iWcTPhZBA",
    ),
    (
        "cognito-us-east-1_PDsy6i0Bf",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf",
    ),
];

/// The fixed Ed25519 key `seed` (all 32 bytes `seed`): 1 is the log key, 2.. the witnesses.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The shared vectors: `$ZIPCHAIN_VECTORS`, or `../shared/vectors` beside the repository.
pub fn vectors_dir() -> PathBuf {
    std::env::var_os("ZIPCHAIN_VECTORS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
        PathBuf::from,
    )
}

/// The bytes of `path` under the vectors, or a panic that says where they were looked for
/// (the fuzzer and its tests cannot run without them).
pub fn vector(path: &str) -> Vec<u8> {
    let full = vectors_dir().join(path);
    std::fs::read(&full).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the fuzz targets read the shared vectors: set ZIPCHAIN_VECTORS)",
            full.display()
        )
    })
}

/// [`vector`] as text.
pub fn vector_text(path: &str) -> String {
    String::from_utf8(vector(path)).unwrap_or_else(|_| panic!("{path} is not UTF-8"))
}

/// Every file of the folder `path` under the vectors, sorted by name, as (name, bytes).
pub fn vector_files(path: &str) -> Vec<(String, Vec<u8>)> {
    let dir = vectors_dir().join(path);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bytes = vector(&format!("{path}/{name}"));
            (name, bytes)
        })
        .collect()
}

/// The conformance chain and everything made from it.
pub struct Conformance {
    /// `chain/chain.json` as written (v1).
    pub chain_json_v1: String,
    /// The descriptor as v2: log key [`key`]`(1)`, witnesses [`WITNESSES`], quorum [`QUORUM`].
    pub trust: TrustDescriptor,
    /// `trust` as JSON text.
    pub chain_json: String,
    /// The auditor of `trust`.
    pub auditor: Auditor,
    /// The snapshot `chain/snapshot/`.
    pub snapshot: Snapshot,
    /// Its audit under `auditor`.
    pub audit: Audit,
    /// The log of its main chain.
    pub log: LogTree,
}

/// The conformance chain, made on first use.
pub fn conformance() -> &'static Conformance {
    static ONCE: OnceLock<Conformance> = OnceLock::new();
    ONCE.get_or_init(|| {
        let chain_json_v1 = vector_text("chain/chain.json");
        let v1 = TrustDescriptor::from_json(&chain_json_v1).expect("chain/chain.json");
        let trust = v2_descriptor(&v1);
        let chain_json = trust.to_json_pretty();
        let auditor = Auditor::new(&trust).expect("the conformance descriptor");
        let snapshot = conformance_snapshot();
        let audit = auditor.audit(&snapshot, &mut |_, _| {});
        let log = log::tree(&audit.main_chain);
        Conformance {
            chain_json_v1,
            trust,
            chain_json,
            auditor,
            snapshot,
            audit,
            log,
        }
    })
}

/// `v1` with the log key and witnesses of the fixed keys.
fn v2_descriptor(v1: &TrustDescriptor) -> TrustDescriptor {
    let log_key = VerifierKey::new(
        &origin(&v1.genesis()),
        ALG_ED25519,
        key(1).verifying_key().as_bytes(),
    )
    .expect("log key");
    v1.clone()
        .with_checkpoints(
            Some(log_key.to_text()),
            Some(WitnessesTrust {
                keys: witness_keys(),
                quorum: QUORUM,
            }),
        )
        .expect("v2 descriptor")
}

/// The witnesses' verifier keys, as text.
pub fn witness_keys() -> Vec<String> {
    WITNESSES
        .iter()
        .zip(2u8..)
        .map(|(name, seed)| {
            VerifierKey::new(
                name,
                ALG_COSIGNATURE_V1,
                key(seed).verifying_key().as_bytes(),
            )
            .expect("witness key")
            .to_text()
        })
        .collect()
}

/// The snapshot of `chain/snapshot/`.
pub fn conformance_snapshot() -> Snapshot {
    let mut snapshot = Snapshot::new();
    for kind in ObjectKind::ALL {
        for (name, bytes) in vector_files(&format!("chain/snapshot/{}", kind.dir())) {
            let key = Hash32::from_hex(&name).expect("an object named by its hex key");
            snapshot.insert(kind, key, bytes);
        }
    }
    snapshot
}

/// The JWKS and timestamp verifier of each Cognito pool of the vectors, and of the
/// conformance chain.
pub fn timestamp_verifiers() -> &'static [TimestampVerifier] {
    static ONCE: OnceLock<Vec<TimestampVerifier>> = OnceLock::new();
    ONCE.get_or_init(|| {
        let mut verifiers: Vec<TimestampVerifier> = COGNITO_POOLS
            .iter()
            .map(|(dir, issuer)| {
                let jwks = Jwks::from_json(&vector_text(&format!("jwt/{dir}/jwks.json")))
                    .expect("a Cognito JWKS");
                TimestampVerifier::new(TimestampPolicy {
                    issuer: (*issuer).to_owned(),
                    token_use: TokenUse::Id,
                    username_domain: None,
                    jwks,
                })
                .expect("a Cognito policy")
            })
            .collect();
        verifiers.push(
            conformance()
                .trust
                .timestamp_verifier()
                .expect("the conformance timestamp policy"),
        );
        verifiers
    })
}

/// The writer's checkpoints for the conformance chain (log key [`key`]`(1)`, the v2
/// descriptor's witnesses), with the checkpoint of its main chain signed; kept in a
/// directory of the system's temporary folder for the life of the process.
pub fn writer_checkpoints() -> &'static Checkpoints {
    static ONCE: OnceLock<Checkpoints> = OnceLock::new();
    ONCE.get_or_init(|| {
        let c = conformance();
        let genesis = c.trust.genesis();
        let signer = SignerKey::new(&origin(&genesis), ALG_ED25519, [1; 32]).expect("log key");
        let policy = WitnessPolicy::new(&witness_keys(), QUORUM).expect("witness policy");
        let dir = scratch_dir("writer-checkpoints");
        let checkpoints =
            Checkpoints::open(signer, genesis, Some(policy), dir).expect("checkpoints dir");
        checkpoints.sign(&c.log).expect("sign the checkpoint");
        checkpoints
    })
}

/// The checkpoint of the conformance chain's first three blocks: what the witness target's
/// witness holds in its second run of each request.
pub fn witness_held() -> &'static verifier_core::tlog::checkpoint::Checkpoint {
    static ONCE: OnceLock<verifier_core::tlog::checkpoint::Checkpoint> = OnceLock::new();
    ONCE.get_or_init(|| {
        let c = conformance();
        let first = LogTree::from_leaves(c.log.leaves()[..3].iter().copied());
        log::checkpoint_of(&c.trust.genesis(), &first)
    })
}

/// A fresh directory `name` of this process under the system's temporary folder, unique
/// to this call (tests on several threads make seeds at once).
pub fn scratch_dir(name: &str) -> PathBuf {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "zipchain-fuzz-{}-{call}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}
