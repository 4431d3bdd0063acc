//! One fuzz target per parser of outside input. Each takes the fuzzer's bytes and
//! panics only when a property fails: the parser panicked, an error's message grew with
//! the input, or an accepted input does not encode back to itself (where the format has
//! one encoding) or disagrees with another reader of the same bytes.

use std::sync::OnceLock;

use rustls_pki_types::CertificateDer;
use verifier_core::batch::{Batch, BatchBudget};
use verifier_core::block::Block;
use verifier_core::certificate::{check_certificate, check_certificate_with_snapshot};
use verifier_core::chain::ResumableAudit;
use verifier_core::fuzzing;
use verifier_core::hash::Hash32;
use verifier_core::nsm::{CborPart, NsmDocument, NsmLimits, NsmPolicy, NsmVerifier, VerifyAt};
use verifier_core::sequence::{self, SequenceAttestation};
use verifier_core::snapshot::{Snapshot, SnapshotBudget};
use verifier_core::timestamp::{Jwks, verify_rs256_jws};
use verifier_core::tlog::checkpoint::Checkpoint;
use verifier_core::tlog::note::{Note, VerifierKey};
use verifier_core::trust::TrustDescriptor;
use verifier_core::verdict;

use crate::fixtures::{self, conformance};
use crate::framing;

/// The longest error message any reader may give, in bytes: what a message quotes of its
/// input is bounded, so a crafted input cannot make a long report.
pub const MAX_MESSAGE: usize = 2048;

/// Panics when `message` is longer than [`MAX_MESSAGE`].
pub fn bounded(what: &str, message: &str) {
    assert!(
        message.len() <= MAX_MESSAGE,
        "{what}: a {}-byte message: {}…",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
}

/// The text of `data` when it is UTF-8 (the text formats' readers take `&str`).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The NSM verifiers: AWS's root, and the conformance chain's test root and PCRs.
fn nsm_verifiers() -> &'static [NsmVerifier; 2] {
    static ONCE: OnceLock<[NsmVerifier; 2]> = OnceLock::new();
    ONCE.get_or_init(|| {
        let policy = conformance()
            .trust
            .nsm_policy()
            .expect("conformance policy");
        [
            NsmVerifier::aws(),
            NsmVerifier::new(policy).expect("conformance NSM verifier"),
        ]
    })
}

/// NSM attestation documents (COSE_Sign1 over CBOR, SPEC §1.5): parsed unverified,
/// verified under both roots, and as the verdict every face shows.
pub fn nsm(data: &[u8]) {
    let parsed = NsmDocument::parse_unverified(data, &NsmLimits::default());
    if let Err(e) = &parsed {
        bounded("parse_unverified", &e.to_string());
    }
    for verifier in nsm_verifiers() {
        match verifier.verify(data, VerifyAt::DocumentTimestamp) {
            Ok(v) => assert_eq!(
                Some(v.document()),
                parsed.as_ref().ok(),
                "verified, but parse_unverified reads another document"
            ),
            Err(e) => {
                assert!(!e.check().is_empty());
                bounded("verify", &e.to_string());
            }
        }
    }
    let v = verdict::nsm::verify(
        data,
        &verdict::nsm::NsmRequest {
            root_pem: None,
            at_ms: None,
            allow_debug: None,
        },
    );
    assert_eq!(v.valid, v.checks.iter().all(|c| c.ok), "{:?}", v.checks);
    assert_eq!(v.document.is_some(), parsed.is_ok());
}

/// X.509 certificates: the NSM chain's DER reader (`nsm/x509.rs`), webpki's parse, and
/// the certificate as a policy's trusted root.
pub fn x509(data: &[u8]) {
    match fuzzing::x509_fields(data) {
        Ok(fields) => {
            // Its dotted OID and the names are what reports show.
            bounded("key algorithm", &fields.key_algorithm);
        }
        Err(reason) => bounded("x509", &reason),
    }
    let der = CertificateDer::from(data);
    let _ = webpki::EndEntityCert::try_from(&der);
    if let Err(e) = NsmVerifier::new(NsmPolicy {
        root_der: data.to_vec(),
        ..NsmPolicy::default()
    }) {
        bounded("root", &e.to_string());
    }
}

/// The strict CBOR walker of both layers, the payload's item decoder and the COSE_Sign1
/// reader; what the walker passes, the decoder must read.
pub fn cbor(data: &[u8]) {
    let limits = NsmLimits::default();
    let document = fuzzing::cbor_check(data, CborPart::Document, limits.max_cbor_depth);
    let payload = fuzzing::cbor_check(data, CborPart::Payload, limits.max_cbor_depth);
    for e in [&document, &payload]
        .into_iter()
        .flat_map(|r| r.as_ref().err())
    {
        bounded("cbor", &e.to_string());
    }
    let item = fuzzing::cbor_item(data);
    if payload.is_ok() {
        assert!(
            matches!(item, Ok(_) | Err("a text string that is not UTF-8")),
            "the walker passed a payload the decoder refuses: {item:?}"
        );
    }
    if let Ok(sign1) = fuzzing::cose_sign1(data, limits.max_cbor_depth) {
        assert!(document.is_ok());
        let signed =
            fuzzing::sig_structure(&sign1.protected, sign1.payload.as_deref().unwrap_or(&[]));
        assert!(
            matches!(fuzzing::cbor_item(&signed), Ok(fuzzing::CborItem::Array(a)) if a.len() == 4),
            "Sig_structure is not a 4-item array"
        );
    }
}

/// Timestamp JWTs (SPEC §1.3): validated under each Cognito pool of the vectors and the
/// conformance chain's, and the bare RS256 JWS check.
pub fn jwt(data: &[u8]) {
    let Some(token) = text(data) else { return };
    for verifier in fixtures::timestamp_verifiers() {
        match verifier.validate(token) {
            Ok(v) => assert_eq!(v.token_hash(), Hash32::digest(data)),
            Err(e) => {
                assert!(!e.check().is_empty());
                bounded("validate", &e.to_string());
            }
        }
        if let Err(e) = verify_rs256_jws(token, &verifier.policy().jwks) {
            bounded("jws", &e.to_string());
        }
    }
}

/// JWK sets (the pool's keys, SPEC §1.6), read strictly, and as the verdict a face shows.
pub fn jwks(data: &[u8]) {
    let Some(json) = text(data) else { return };
    match Jwks::from_json(json) {
        Ok(jwks) => {
            let _ = jwks.check_cognito_kids();
            assert!(jwks.kids().count() <= jwks.len());
        }
        Err(e) => bounded("jwks", &e.to_string()),
    }
    let token = fixtures::vector_text("jwt/cognito-us-east-1_PDsy6i0Bf/id.jwt");
    let v = verdict::jwt::verify(
        token.trim(),
        &verdict::jwt::JwksInput::Json(json.to_owned()),
        fixtures::COGNITO_POOLS[1].1.to_owned(),
        verifier_core::timestamp::TokenUse::Id,
        None,
    );
    assert_eq!(v.valid, v.checks.iter().all(|c| c.ok));
}

/// Blocks (81 bytes, SPEC §1.2): one encoding, and the view the faces show.
pub fn block(data: &[u8]) {
    if let Ok(block) = Block::decode(data) {
        assert_eq!(
            block.encode().as_slice(),
            data,
            "a block decodes but does not re-encode"
        );
    }
    if let Some(hex) = text(data) {
        let _ = verdict::certificate::describe_block(hex);
    }
}

/// Batches (strict canonical CBOR, SPEC §1.1): one encoding, and the two streaming
/// readers agree with the decoder.
pub fn batch(data: &[u8]) {
    let budget = BatchBudget::default();
    let decoded = Batch::decode_with_budget(data, &budget);
    let ids = Batch::tx_ids_of(data, &budget);
    let root = Batch::root_of(data, &budget);
    match &decoded {
        Ok(batch) => {
            assert_eq!(
                batch.encode(),
                data,
                "a batch decodes but does not re-encode"
            );
            assert_eq!(ids.as_ref().ok(), Some(&batch.tx_ids()));
            assert_eq!(root.as_ref().ok(), Some(&batch.root()));
        }
        Err(e) => {
            bounded("batch", &e.to_string());
            assert!(
                ids.is_err() && root.is_err(),
                "the streaming readers accept what decode refuses"
            );
        }
    }
}

/// Sequence attestations: the 121-byte `(y, k, g)` (SPEC §1.4) with one encoding, its
/// signature under the conformance key, and `check(K_S+, a)` of a whole attestation.
pub fn sequence(data: &[u8]) {
    let c = conformance();
    let key = c.trust.sequencer_key();
    if let Ok(s) = SequenceAttestation::decode(data) {
        assert_eq!(s.encode().as_slice(), data);
        let _ = s.verify(&key);
    }
    match sequence::check(&key, &nsm_verifiers()[1], data, VerifyAt::DocumentTimestamp) {
        Ok(v) => assert_eq!(v.hash(), Hash32::digest(data)),
        Err(e) => bounded("check", &e.to_string()),
    }
}

/// Certificates v1 and v2 (SPEC §3, §9.5) under the conformance descriptor as v2, without
/// and with its snapshot's audit; every check's detail is bounded.
pub fn certificate(data: &[u8]) {
    let Some(json) = text(data) else { return };
    let c = conformance();
    let alone = check_certificate(json, &c.auditor, None);
    let audited = check_certificate_with_snapshot(json, &c.auditor, &c.audit, &c.snapshot);
    for v in [&alone, &audited] {
        assert_eq!(
            v.valid,
            v.checks.iter().all(|check| check.ok),
            "{:?}",
            v.checks
        );
        for check in &v.checks {
            bounded(check.name, &check.detail);
        }
    }
    // Not compared: with a snapshot a v2 certificate is checked as in SPEC §3, its
    // `main_chain` unread (SPEC §9.5), so the two verdicts may differ either way.
}

/// Signed notes and verifier keys (C2SP signed-note, SPEC §9): one encoding, and each
/// signature checked against the conformance log and witness keys.
pub fn note(data: &[u8]) {
    let Some(text) = text(data) else { return };
    match Note::parse(text) {
        Ok(note) => {
            assert_eq!(note.to_text(), text, "a note parses but does not re-encode");
            let known: Vec<VerifierKey> = fixtures::witness_keys()
                .iter()
                .filter_map(|k| VerifierKey::parse(k).ok())
                .chain(conformance().trust.log_key().cloned())
                .collect();
            if let Err(e) = note.verify(&known) {
                bounded("verify", &e.to_string());
            }
        }
        Err(e) => bounded("note", &e.to_string()),
    }
    if let Ok(key) = VerifierKey::parse(text) {
        assert_eq!(
            key.to_text(),
            text,
            "a verifier key parses but does not re-encode"
        );
    }
}

/// Checkpoint bodies (C2SP tlog-checkpoint): one encoding.
pub fn checkpoint(data: &[u8]) {
    let Some(body) = text(data) else { return };
    match Checkpoint::parse(body) {
        Ok(checkpoint) => assert_eq!(checkpoint.to_body(), body),
        Err(e) => bounded("checkpoint", &e.to_string()),
    }
}

/// Trust descriptors `chain.json` (SPEC §1.6, §9.2): read strictly; one that reads writes
/// back to a descriptor with the same fingerprint, and makes an auditor or says why not.
pub fn trust(data: &[u8]) {
    let Some(json) = text(data) else { return };
    match TrustDescriptor::from_json(json) {
        Ok(trust) => {
            let again = TrustDescriptor::from_json(&trust.to_json_pretty())
                .expect("a descriptor's own JSON reads back");
            assert_eq!(again.audit_fingerprint(), trust.audit_fingerprint());
            if let Err(e) = verifier_core::chain::Auditor::new(&trust) {
                bounded("auditor", &e.to_string());
            }
        }
        Err(e) => bounded("trust", &e.to_string()),
    }
}

/// Snapshots as `.tar` (SPEC §2.1): read under a small budget, then audited under the
/// conformance descriptor.
pub fn snapshot(data: &[u8]) {
    let budget = SnapshotBudget {
        max_entries: 4096,
        max_object_bytes: 1 << 20,
    };
    match Snapshot::from_tar_with_budget(data, &budget) {
        Ok(snapshot) => {
            let audit = conformance().auditor.audit(&snapshot, &mut |_, _| {});
            let checks = verdict::audit_checks(&audit);
            assert!(!checks.is_empty());
        }
        Err(e) => bounded("snapshot", &e.to_string()),
    }
}

/// Offset of the payload hash in a shard's header (magic, version, kind, index, counts,
/// key, length, original hash).
const SHARD_PAYLOAD_HASH: usize = 4 + 1 + 1 + 1 + 1 + 1 + 32 + 8 + 32;

/// Replication shards (SPEC §2.2): one encoding; the input with its payload hash fixed
/// up, so that the header's other checks are reached too; and `decode` of the real
/// shards of the object a shard names, one replaced by it, gives that object or an
/// error, never other bytes.
pub fn shard(data: &[u8]) {
    use replication::shard::{self as rs, HEADER_LEN, Shard};
    match Shard::from_bytes(data) {
        Ok(s) => assert_eq!(s.to_bytes(), data),
        Err(e) => bounded("shard", &e.to_string()),
    }
    let Some(payload) = data.get(HEADER_LEN..) else {
        return;
    };
    let mut fixed = data.to_vec();
    fixed[SHARD_PAYLOAD_HASH..HEADER_LEN].copy_from_slice(&Hash32::digest(payload).0);
    let forged = match Shard::from_bytes(&fixed) {
        Ok(s) => s,
        Err(e) => return bounded("shard", &e.to_string()),
    };
    assert_eq!(forged.to_bytes(), fixed);
    let Some(original) = conformance().snapshot.get(forged.kind(), forged.key()) else {
        return;
    };
    let mut shards: Vec<Shard> = rs::encode(forged.kind(), *forged.key(), original).to_vec();
    let index = forged.index();
    shards[index] = forged;
    match rs::decode(shards) {
        Ok(bytes) => assert_eq!(bytes, original, "decode gave bytes other than the object"),
        Err(e) => bounded("decode", &e.to_string()),
    }
}

/// Resumable audit states (`ResumableAudit::decode`, chain/resume_codec.rs), as three
/// framed parts (main, finals, rest): a state that reads is marked written, so it encodes
/// as what follows the records it read; those parts, put back together, read back to a
/// state that encodes the same.
pub fn resume_state(data: &[u8]) {
    let [main, finals, rest] = framing::split::<3>(data);
    let auditor = &conformance().auditor;
    match ResumableAudit::decode(auditor, main, finals, rest) {
        Ok(state) => {
            let bytes = state.encode();
            let cut = |part: &[u8], offset: u64, tail: &[u8]| {
                let offset = usize::try_from(offset).expect("an offset within the part");
                assert!(
                    offset <= part.len(),
                    "the state continues past its own part"
                );
                [&part[..offset], tail].concat()
            };
            let main = cut(main, bytes.main_offset, &bytes.main);
            let finals = cut(finals, bytes.finals_offset, &bytes.finals);
            let again = ResumableAudit::decode(auditor, &main, &finals, &bytes.rest)
                .expect("a state's own encoding reads back");
            assert_eq!(
                again.encode(),
                bytes,
                "a state's encoding is not a fixed point"
            );
        }
        Err(e) => bounded("state", &e.to_string()),
    }
}

/// The state directory's framing (`snapshot_fs::audit_state`): `state.bin`,
/// `main-0.bin` and `finals-0.bin` from three framed parts, loaded for the conformance
/// chain as they are, then again with `state.bin`'s generation, lengths and CRCs made
/// to match the two other files, so that the fuzzer reaches the state they frame.
pub fn audit_state(data: &[u8]) {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| fixtures::scratch_dir("audit-state"));
    let [state, main, finals] = framing::split::<3>(data);
    load_state_dir(dir, state, main, finals);
    if let Some(fixed) = fix_state_file(state, main, finals) {
        load_state_dir(dir, &fixed, main, finals);
    }
}

/// Where `state.bin`'s fields are: magic (16), generation (8), main length (8) and CRC
/// (4), finals length (8) and CRC (4), the rest part, and the file's own CRC (4).
const STATE_HEADER: usize = 16 + 8 + 12 + 12;

/// `state` naming generation 0 and covering all of `main` and `finals`, with its CRC.
fn fix_state_file(state: &[u8], main: &[u8], finals: &[u8]) -> Option<Vec<u8>> {
    let body_len = state.len().checked_sub(4).filter(|&n| n >= STATE_HEADER)?;
    let mut body = state[..body_len].to_vec();
    body[16..24].copy_from_slice(&0u64.to_le_bytes());
    body[24..32].copy_from_slice(&(main.len() as u64).to_le_bytes());
    body[32..36].copy_from_slice(&crc32fast::hash(main).to_le_bytes());
    body[36..44].copy_from_slice(&(finals.len() as u64).to_le_bytes());
    body[44..48].copy_from_slice(&crc32fast::hash(finals).to_le_bytes());
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    Some(body)
}

fn load_state_dir(dir: &std::path::Path, state: &[u8], main: &[u8], finals: &[u8]) {
    for (name, bytes) in [
        ("state.bin", state),
        ("main-0.bin", main),
        ("finals-0.bin", finals),
    ] {
        std::fs::write(dir.join(name), bytes).expect("scratch directory");
    }
    let mut opened = snapshot_fs::audit_state::StateDir::open(dir).expect("scratch directory");
    if let Err(e) = opened.load(&conformance().auditor) {
        bounded("state dir", &e.to_string());
    }
}

/// The writer's `POST /v1/batch` body: what it accepts is a batch that re-encodes to the
/// body, each transaction with its id.
pub fn writer_batch(data: &[u8]) {
    match zipchain_writer::http::batch_body(data, 1 << 16) {
        Ok(items) => {
            let batch = Batch::decode(data).expect("accepted, so a batch");
            assert_eq!(batch.len(), items.len());
            for ((tx, id), d) in items.iter().zip(batch.txs()) {
                assert_eq!(tx.as_ref(), d.as_slice());
                assert_eq!(*id, Hash32::digest(d));
            }
        }
        Err(e) => bounded("batch body", &e.to_string()),
    }
}

/// The writer's `POST /v1/checkpoint/cosignatures` body: a note with cosignatures of the
/// checkpoint it signed.
pub fn writer_cosignatures(data: &[u8]) {
    let Some(note) = text(data) else { return };
    match fixtures::writer_checkpoints().add_cosignatures(note, &conformance().log) {
        Ok(accepted) => assert!(!accepted.accepted.is_empty()),
        Err(e) => bounded("cosignatures", &e),
    }
}

/// The witness's `POST /add-checkpoint` body (C2SP tlog-witness, SPEC §9.6;
/// `verifier_core::tlog::add_checkpoint`, which `zipchain witness serve` calls): one
/// encoding, and the witness's decision on the conformance chain, holding nothing and
/// holding the checkpoint of its first three blocks; a cosignature it gives verifies
/// under its key.
pub fn witness_add_checkpoint(data: &[u8]) {
    use verifier_core::tlog::add_checkpoint::{AddCheckpoint, add_checkpoint};
    use verifier_core::tlog::witness::WitnessView;
    let request = match AddCheckpoint::parse(data) {
        Ok(request) => request,
        Err(e) => return bounded("add-checkpoint", &e.to_string()),
    };
    assert_eq!(
        request.to_body().as_bytes(),
        data,
        "a request parses but does not re-encode"
    );
    let c = conformance();
    let origin = verifier_core::tlog::checkpoint::origin(&c.trust.genesis());
    let view = WitnessView {
        origin: &origin,
        tree: &c.log,
        equivocations: 0,
        log_key: c.trust.log_key(),
    };
    let held = fixtures::witness_held();
    for held in [None, Some(held)] {
        match add_checkpoint(
            &request,
            &view,
            held,
            fixtures::WITNESSES[0],
            &fixtures::key(2),
            1_800_000_000,
        ) {
            Ok(line) => {
                let note = Note {
                    text: request.note.text.clone(),
                    signatures: vec![line],
                };
                let key = VerifierKey::parse(&fixtures::witness_keys()[0]).expect("witness key");
                let verified = note
                    .verify(std::slice::from_ref(&key))
                    .expect("a note it cosigned");
                assert!(
                    verified[0].is_some(),
                    "the witness's cosignature does not verify"
                );
            }
            Err(refusal) => {
                assert!((400..600).contains(&refusal.status()));
                bounded("refusal", &refusal.to_string());
            }
        }
    }
}
