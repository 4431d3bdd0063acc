//! The sequencer core: every document passes `check(K_S+, a)` under the test CA root,
//! numbering follows SPEC §1.4, and the embedded stand-in's state round-trips.

use std::time::Instant;

use nsm_issuer::TestCa;
use verifier_core::nsm::{NsmPolicy, NsmVerifier, VerifyAt};
use verifier_core::sequence::{CheckError, SequenceAttestation, SequencerKey, check};
use verifier_core::time::UnixMillis;
use zipchain_services::ServiceError;
use zipchain_services::sequencer::{STATE_FILE, SequencedDocument, Sequencer, self_measurement};

const NOW: UnixMillis = UnixMillis(1_795_000_000_000);

fn sequencer() -> (Sequencer, NsmVerifier) {
    let ca = TestCa::generate(NOW).unwrap();
    let module_id = ca.module_id().to_string();
    let policy = NsmPolicy {
        root_der: ca.root_der().to_vec(),
        pcrs: [(0u8, self_measurement().to_vec())].into(),
        ..NsmPolicy::default()
    };
    let sequencer = Sequencer::new(ca, module_id, self_measurement()).unwrap();
    (sequencer, NsmVerifier::new(policy).unwrap())
}

fn y(i: u8) -> [u8; 48] {
    let mut y = [i; 48];
    y[0] = 0xee;
    y
}

fn checked(seq: &Sequencer, nsm: &NsmVerifier, doc: &SequencedDocument) -> SequenceAttestation {
    let key = SequencerKey::from_bytes(seq.public_key()).unwrap();
    let verified = check(&key, nsm, &doc.document, VerifyAt::DocumentTimestamp).unwrap();
    assert_eq!(*verified.sequence(), doc.attestation);
    let fields = verified.document().document();
    assert_eq!(fields.public_key.as_deref(), Some(&seq.public_key()[..]));
    assert_eq!(
        fields.user_data.as_deref(),
        Some(&doc.attestation.encode()[..])
    );
    assert_eq!(fields.nonce, None);
    assert_eq!(fields.module_id, seq.module_id());
    *verified.sequence()
}

#[test]
fn documents_pass_check_and_k_increments() {
    let (mut seq, nsm) = sequencer();
    for i in 0..3u8 {
        let now = UnixMillis(NOW.0 + u64::from(i) * 1000);
        let doc = seq.sequence(y(i), now).unwrap();
        assert_eq!(doc.k, u64::from(i));
        let a = checked(&seq, &nsm, &doc);
        assert_eq!((a.y, a.k), (y(i), u64::from(i)));
        let verified = nsm
            .verify(&doc.document, VerifyAt::DocumentTimestamp)
            .unwrap();
        assert_eq!(verified.document().timestamp, now);
    }
    assert_eq!(seq.count(), 3);
    assert_eq!(seq.lookup(&y(1)), Some(1));
    assert_eq!(seq.lookup(&y(9)), None);
}

#[test]
fn repeated_y_gets_same_k_and_g() {
    let (mut seq, nsm) = sequencer();
    let first = seq.sequence(y(1), NOW).unwrap();
    seq.sequence(y(2), NOW).unwrap();
    let again = seq.sequence(y(1), UnixMillis(NOW.0 + 5000)).unwrap();
    assert_eq!(again.k, 0);
    assert_eq!(again.attestation, first.attestation);
    // A fresh document (new timestamp) with the same user_data.
    assert_ne!(again.document, first.document);
    checked(&seq, &nsm, &again);
    assert_eq!(seq.count(), 2);
    assert_eq!(seq.sequence(y(3), NOW).unwrap().k, 2);
}

#[test]
fn another_key_is_rejected() {
    let (mut seq, nsm) = sequencer();
    let doc = seq.sequence(y(1), NOW).unwrap();
    let other = SequencerKey::from_bytes(
        Sequencer::new(TestCa::generate(NOW).unwrap(), "m", [1; 48])
            .unwrap()
            .public_key(),
    )
    .unwrap();
    let err = check(&other, &nsm, &doc.document, VerifyAt::DocumentTimestamp).unwrap_err();
    assert!(
        matches!(err, CheckError::PublicKeyMismatch { .. }),
        "got {err:?}"
    );
    // And another CA's root does not anchor the document.
    let stranger = NsmVerifier::new(NsmPolicy {
        root_der: TestCa::generate(NOW).unwrap().root_der().to_vec(),
        ..NsmPolicy::default()
    })
    .unwrap();
    let key = SequencerKey::from_bytes(seq.public_key()).unwrap();
    assert!(check(&key, &stranger, &doc.document, VerifyAt::DocumentTimestamp).is_err());
}

#[test]
fn a_failed_issue_uses_no_k() {
    let (mut seq, _) = sequencer();
    seq.sequence(y(1), NOW).unwrap();
    // Long before the test root's validity: the CA refuses.
    let err = seq.sequence(y(2), UnixMillis(1_000_000)).unwrap_err();
    assert!(matches!(err, ServiceError::Issuer(_)), "got {err:?}");
    assert_eq!(seq.count(), 1);
    assert_eq!(seq.sequence(y(2), NOW).unwrap().k, 1);
}

#[test]
fn documents_verify_weeks_later() {
    let (mut seq, nsm) = sequencer();
    let later = UnixMillis(NOW.0 + 40 * 24 * 3600 * 1000);
    let doc = seq.sequence(y(1), later).unwrap();
    checked(&seq, &nsm, &doc);
}

#[test]
fn state_round_trip_continues_the_counter() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("seq");
    let ca_dir = temp.path().join("ca");
    let (mut seq, nsm) = sequencer();
    let first = seq.sequence(y(1), NOW).unwrap();
    seq.sequence(y(2), NOW).unwrap();
    assert!(!Sequencer::state_exists(&dir));
    seq.save_state(&dir).unwrap();
    seq.ca().save(&ca_dir).unwrap();
    assert!(Sequencer::state_exists(&dir));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let mut restored = Sequencer::load_state(&dir, TestCa::load(&ca_dir).unwrap()).unwrap();
    assert_eq!(restored.public_key(), seq.public_key());
    assert_eq!(restored.module_id(), seq.module_id());
    assert_eq!(restored.pcr0(), seq.pcr0());
    assert_eq!(restored.count(), 2);
    let again = restored.sequence(y(1), NOW).unwrap();
    assert_eq!(again.attestation, first.attestation);
    let next = restored.sequence(y(3), NOW).unwrap();
    assert_eq!(next.k, 2);
    checked(&restored, &nsm, &next);

    // Saving again replaces the file atomically.
    restored.save_state(&dir).unwrap();
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let reloaded = Sequencer::load_state(&dir, TestCa::load(&ca_dir).unwrap()).unwrap();
    assert_eq!(reloaded.count(), 3);
}

#[test]
fn bad_state_files_are_errors() {
    let temp = tempfile::tempdir().unwrap();
    let ca = || TestCa::generate(NOW).unwrap();
    let err = Sequencer::load_state(temp.path(), ca()).unwrap_err();
    assert!(matches!(err, ServiceError::Io { .. }), "got {err:?}");

    let (mut seq, _) = sequencer();
    seq.sequence(y(1), NOW).unwrap();
    seq.save_state(temp.path()).unwrap();
    let path = temp.path().join(STATE_FILE);
    let good = std::fs::read_to_string(&path).unwrap();
    let y1 = hex::encode(y(1));
    let pk = hex::encode(seq.public_key());
    for bad in [
        "{".to_string(),
        good.replace(&y1, &format!("{y1}\", \"{y1}")),
        good.replace(&pk, &"00".repeat(32)),
        good.replace(&y1, "abcd"),
        good.replace(
            "\"zipchain_sequencer_state\": 1",
            "\"zipchain_sequencer_state\": 2",
        ),
    ] {
        assert_ne!(bad, good);
        std::fs::write(&path, &bad).unwrap();
        let err = Sequencer::load_state(temp.path(), ca()).unwrap_err();
        assert!(
            matches!(err, ServiceError::BadStateFile { .. }),
            "got {err:?} for {bad}"
        );
    }
}

#[test]
fn self_measurement_is_the_program_hash() {
    use sha2::Digest as _;
    let program = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert_eq!(
        self_measurement().to_vec(),
        sha2::Sha384::digest(&program).to_vec()
    );
    assert_ne!(self_measurement(), [0; 48]);
}

#[test]
fn a_thousand_attestations() {
    let (mut seq, nsm) = sequencer();
    let key = SequencerKey::from_bytes(seq.public_key()).unwrap();
    let start = Instant::now();
    let mut docs = Vec::new();
    for i in 0..1000u64 {
        let mut y = [0u8; 48];
        y[..8].copy_from_slice(&i.to_be_bytes());
        let doc = seq.sequence(y, UnixMillis(NOW.0 + i)).unwrap();
        assert_eq!(doc.k, i);
        if i % 97 == 0 {
            docs.push(doc);
        }
    }
    eprintln!("1000 sequence calls took {:?}", start.elapsed());
    for doc in &docs {
        check(&key, &nsm, &doc.document, VerifyAt::DocumentTimestamp).unwrap();
    }
}
