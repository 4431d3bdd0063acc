//! The seed corpora, made at run time from the real vectors (NSM documents, Cognito
//! tokens and key sets, the conformance chain and its certificates) and from what the
//! project's own code makes of the conformance chain (certificates v2, notes,
//! checkpoints, a snapshot `.tar`, shards, audit states). Never committed: the vectors
//! are read in place.

use std::collections::BTreeMap;

use verifier_core::certificate::{Certificate, attach_main_chain, make_certificate};
use verifier_core::chain::ResumableAudit;
use verifier_core::fuzzing;
use verifier_core::hash::Hash32;
use verifier_core::nsm::{NsmDocument, NsmLimits};
use verifier_core::snapshot::ObjectKind;
use verifier_core::tlog::checkpoint::origin;
use verifier_core::tlog::log;
use verifier_core::tlog::note::{Note, cosign_v1, sign_ed25519};
use verifier_core::trust::decode_pem_certificate;

use crate::fixtures::{self, WITNESSES, conformance, key, vector, vector_files, vector_text};
use crate::framing;

/// Seeds by target name, each as (file name, bytes).
pub type Corpora = BTreeMap<&'static str, Vec<(String, Vec<u8>)>>;

/// Adds `bytes` to `target`'s corpus as `name`.
pub fn add(corpora: &mut Corpora, target: &'static str, name: impl Into<String>, bytes: Vec<u8>) {
    corpora
        .entry(target)
        .or_default()
        .push((name.into(), bytes));
}

/// Every seed made from the vectors, for every target.
pub fn from_vectors() -> Corpora {
    let mut c = Corpora::new();
    nsm_and_x509(&mut c);
    tokens(&mut c);
    chain_objects(&mut c);
    certificates_and_notes(&mut c);
    stores_and_states(&mut c);
    for target in crate::TARGETS {
        assert!(
            c.get(target.name).is_some_and(|s| !s.is_empty()),
            "no seed for target {}",
            target.name
        );
    }
    c
}

/// NSM documents of the vectors and the conformance chain; their certificates, payloads
/// and the conformance root.
fn nsm_and_x509(c: &mut Corpora) {
    let mut docs = Vec::new();
    for dir in ["nitro/docs", "nitro/docs-current"] {
        for (name, bytes) in vector_files(dir) {
            if name.ends_with(".cbor") {
                docs.push((name, bytes));
            }
        }
    }
    for (name, bytes) in vector_files("chain/snapshot/attestations") {
        docs.push((format!("conformance-{}", &name[..16]), bytes));
    }
    for (name, doc) in docs {
        if let Ok(parsed) = NsmDocument::parse_unverified(&doc, &NsmLimits::default()) {
            add(
                c,
                "x509",
                format!("{name}-leaf"),
                parsed.certificate.clone(),
            );
            for (i, cert) in parsed.cabundle.iter().enumerate() {
                add(c, "x509", format!("{name}-cabundle{i}"), cert.clone());
            }
            if let Some(user_data) = parsed.user_data.filter(|u| u.len() == 121) {
                add(c, "sequence", format!("{name}-user-data"), user_data);
            }
        }
        if let Ok(sign1) = fuzzing::cose_sign1(&doc, 8) {
            if let Some(payload) = sign1.payload {
                add(c, "cbor", format!("{name}-payload"), payload);
            }
        }
        if name.starts_with("conformance-") {
            add(c, "sequence", name.clone(), doc.clone());
        }
        add(c, "cbor", name.clone(), doc.clone());
        add(c, "nsm", name, doc);
    }
    add(
        c,
        "x509",
        "aws-root-g1",
        vector("nitro/AWS_NitroEnclaves_Root-G1.der"),
    );
    let pem = conformance().trust.nitro().root_pem.clone();
    if let Some(pem) = pem {
        add(
            c,
            "x509",
            "conformance-root",
            decode_pem_certificate(&pem).expect("root_pem"),
        );
    }
}

/// Cognito tokens, RFC JWS examples and key sets, and the conformance chain's timestamps.
fn tokens(c: &mut Corpora) {
    for (dir, _) in fixtures::COGNITO_POOLS {
        for (name, bytes) in vector_files(&format!("jwt/{dir}")) {
            let target = if name.ends_with(".json") {
                "jwks"
            } else {
                "jwt"
            };
            add(c, target, format!("{dir}-{name}"), trim(bytes));
        }
    }
    add(
        c,
        "jwt",
        "rfc7515-a2",
        trim(vector("jwt/rfc7515-a2/token.jwt")),
    );
    add(
        c,
        "jwt",
        "rfc7520-4.1",
        trim(vector("jwt/rfc7520-4.1/token.jws")),
    );
    add(
        c,
        "jwks",
        "rfc7520-4.1",
        vector("jwt/rfc7520-4.1/jwks.json"),
    );
    add(
        c,
        "jwks",
        "rfc7515-a2-jwk",
        vector("jwt/rfc7515-a2/jwk.public.json"),
    );
    let chain: serde_json::Value =
        serde_json::from_str(&conformance().chain_json_v1).expect("chain.json");
    add(
        c,
        "jwks",
        "conformance",
        chain["timestamp"]["jwks"].to_string().into_bytes(),
    );
    for (name, bytes) in vector_files("chain/snapshot/timestamps") {
        add(c, "jwt", format!("conformance-{}", &name[..16]), bytes);
    }
}

/// A text file's bytes without the newline at its end.
fn trim(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(u8::is_ascii_whitespace) {
        bytes.pop();
    }
    bytes
}

/// Blocks and batches of the conformance chain (a batch is also a writer's batch body),
/// and its trust descriptor as v1 and v2.
fn chain_objects(c: &mut Corpora) {
    for (name, bytes) in vector_files("chain/snapshot/blocks") {
        add(
            c,
            "block",
            format!("hex-{}", &name[..16]),
            hex::encode(&bytes).into_bytes(),
        );
        add(c, "block", &name[..16], bytes);
    }
    for (name, bytes) in vector_files("chain/snapshot/batches") {
        add(c, "batch", &name[..16], bytes.clone());
        add(c, "writer_batch", &name[..16], bytes.clone());
        add(c, "cbor", format!("batch-{}", &name[..16]), bytes);
    }
    let conf = conformance();
    add(
        c,
        "trust",
        "conformance-v1",
        conf.chain_json_v1.clone().into_bytes(),
    );
    add(
        c,
        "trust",
        "conformance-v2",
        conf.chain_json.clone().into_bytes(),
    );
}

/// The conformance certificates (v1), the same as v2 under a checkpoint cosigned by two
/// witnesses, that note, its body, its keys, and the writer's note with cosignatures.
fn certificates_and_notes(c: &mut Corpora) {
    let conf = conformance();
    let genesis = conf.trust.genesis();
    let leaves = log::leaves(&conf.audit.main_chain);
    let body = log::checkpoint(&genesis, &leaves).to_body();
    let mut note = Note {
        text: body.clone(),
        signatures: vec![sign_ed25519(&body, &origin(&genesis), &key(1))],
    };
    for (i, name) in WITNESSES.iter().enumerate().take(2) {
        note.signatures
            .push(cosign_v1(&body, name, &key(2 + i as u8), 1_800_000_000));
    }
    let note = note.to_text();
    add(c, "note", "cosigned", note.clone().into_bytes());
    add(c, "checkpoint", "conformance", body.into_bytes());
    for (i, k) in fixtures::witness_keys().into_iter().enumerate() {
        add(c, "note", format!("witness-key-{i}"), k.into_bytes());
    }
    if let Some(k) = conf.trust.log_key() {
        add(c, "note", "log-key", k.to_text().into_bytes());
    }
    for (name, bytes) in vector_files("chain/certificates") {
        add(c, "certificate", format!("v1-{name}"), bytes.clone());
        let Ok(cert) = serde_json::from_slice::<Certificate>(&bytes) else {
            continue;
        };
        let tx = Hash32::from_hex(&cert.tx).expect("tx");
        let mut v2 = make_certificate(&conf.auditor, &conf.audit, &conf.snapshot, &tx)
            .expect("make_certificate")
            .expect("final");
        attach_main_chain(&mut v2, &note, &leaves).expect("attach_main_chain");
        let json = serde_json::to_string_pretty(&v2).expect("certificate JSON");
        add(c, "certificate", format!("v2-{name}"), json.into_bytes());
    }
    let writer = fixtures::writer_checkpoints();
    let latest = writer.latest().expect("the writer signed a checkpoint");
    let mut posted = Note::parse(&latest).expect("the writer's note");
    for (i, name) in WITNESSES.iter().enumerate() {
        posted.signatures.push(cosign_v1(
            &posted.text,
            name,
            &key(2 + i as u8),
            1_800_000_000,
        ));
    }
    add(
        c,
        "writer_cosignatures",
        "latest-cosigned",
        posted.to_text().into_bytes(),
    );
    add(c, "writer_cosignatures", "latest", latest.into_bytes());
    add_checkpoint_requests(c, &note);
}

/// Requests to the witness (C2SP tlog-witness `add-checkpoint`) for the checkpoint of the
/// conformance chain signed by its log key: from nothing held, from the checkpoint of its
/// first three blocks with the consistency proof, and with a wrong old size.
fn add_checkpoint_requests(c: &mut Corpora, cosigned: &str) {
    use base64::Engine as _;
    let conf = conformance();
    let genesis = conf.trust.genesis();
    let body = log::checkpoint_of(&genesis, &conf.log).to_body();
    let signed = Note {
        text: body.clone(),
        signatures: vec![sign_ed25519(&body, &origin(&genesis), &key(1))],
    }
    .to_text();
    let held = fixtures::witness_held().size;
    let proof: String = conf
        .log
        .consistency_proof(held, conf.log.len())
        .expect("a consistency proof")
        .iter()
        .map(|h| format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h)))
        .collect();
    add(
        c,
        "witness_add_checkpoint",
        "from-nothing",
        format!("old 0\n\n{signed}").into_bytes(),
    );
    add(
        c,
        "witness_add_checkpoint",
        "from-held",
        format!("old {held}\n{proof}\n{signed}").into_bytes(),
    );
    add(
        c,
        "witness_add_checkpoint",
        "cosigned-note",
        format!("old {held}\n{proof}\n{cosigned}").into_bytes(),
    );
    add(
        c,
        "witness_add_checkpoint",
        "old-above",
        format!("old 99\n\n{signed}").into_bytes(),
    );
}

/// The conformance snapshot as a `.tar`, its objects as shards, and its audit state as
/// the core encodes it and as the state directory stores it.
fn stores_and_states(c: &mut Corpora) {
    let conf = conformance();
    add(c, "snapshot", "conformance", snapshot_tar(true));
    add(
        c,
        "snapshot",
        "conformance-no-chain-json",
        snapshot_tar(false),
    );
    for kind in ObjectKind::ALL {
        if let Some((key, bytes)) = conf.snapshot.objects(kind).next() {
            for shard in replication::shard::encode(kind, *key, bytes) {
                add(
                    c,
                    "shard",
                    format!("{}-{}", kind.name(), shard.index()),
                    shard.to_bytes(),
                );
            }
        }
    }
    let mut state = ResumableAudit::new(&conf.auditor);
    conf.auditor
        .resume_source(&mut state, &conf.snapshot, &mut |_, _| {})
        .expect("resume the conformance snapshot");
    let bytes = state.encode();
    add(
        c,
        "resume_state",
        "conformance",
        framing::join(&[&bytes.main, &bytes.finals, &bytes.rest]),
    );
    let dir = fixtures::scratch_dir("seed-state");
    {
        let mut state_dir =
            snapshot_fs::audit_state::StateDir::open(&dir).expect("a state directory");
        state_dir.save(&mut state).expect("save the state");
    }
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_default();
    add(
        c,
        "audit_state",
        "conformance",
        framing::join(&[
            &read("state.bin"),
            &read("main-0.bin"),
            &read("finals-0.bin"),
        ]),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The conformance snapshot as a `.tar` (SPEC §2.1 layout), with or without `chain.json`.
pub fn snapshot_tar(with_chain_json: bool) -> Vec<u8> {
    let conf = conformance();
    let mut tar = tar::Builder::new(Vec::new());
    let mut append = |path: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, path, bytes)
            .expect("tar in memory");
    };
    if with_chain_json {
        append("chain.json", vector_text("chain/chain.json").as_bytes());
    }
    for (kind, key, bytes) in conf.snapshot.iter() {
        append(&format!("{}/{}", kind.dir(), key.to_hex()), bytes);
    }
    tar.into_inner().expect("tar in memory")
}
