//! The sequencer through its `AttestationSource` trait object: what it asks the source for
//! (exactly `/dev/nsm`'s `public_key`, `user_data`, `nonce`), that a failing source uses up
//! no `k`, and that the HTTP service of a source without a test CA (as in an enclave)
//! answers `/v1/root.pem` with `404`.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use nsm_issuer::TestCa;
use tower::ServiceExt as _;
use verifier_core::nsm::{NsmPolicy, NsmVerifier, VerifyAt};
use verifier_core::sequence::{SequencerKey, check};
use verifier_core::time::UnixMillis;
use zipchain_services::ServiceError;
use zipchain_services::attestation::{AttestationRequest, AttestationSource, StandInNsm};
use zipchain_services::http::{SequencerState, sequencer_app};
use zipchain_services::sequencer::Sequencer;

const NOW: UnixMillis = UnixMillis(1_795_000_000_000);
const PCR0: [u8; 48] = [0x42; 48];

/// One request as the source saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    public_key: Vec<u8>,
    user_data: Vec<u8>,
    nonce: Option<Vec<u8>>,
}

/// A source that records what it is asked, issues through the stand-in, fails when told
/// to, and (like a real NSM) shows no test CA.
struct Recording {
    inner: StandInNsm,
    seen: Arc<Mutex<Vec<Seen>>>,
    fail: Arc<Mutex<bool>>,
}

impl AttestationSource for Recording {
    fn module_id(&self) -> &str {
        self.inner.module_id()
    }

    fn pcr0(&self) -> &[u8] {
        self.inner.pcr0()
    }

    fn attest(
        &mut self,
        request: AttestationRequest<'_>,
        now: UnixMillis,
    ) -> Result<Vec<u8>, ServiceError> {
        self.seen.lock().unwrap().push(Seen {
            public_key: request.public_key.to_vec(),
            user_data: request.user_data.to_vec(),
            nonce: request.nonce.map(<[u8]>::to_vec),
        });
        // Far outside the test root's validity: the stand-in's own error.
        let now = if *self.fail.lock().unwrap() {
            UnixMillis(0)
        } else {
            now
        };
        self.inner.attest(request, now)
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn recording() -> (
    Box<dyn AttestationSource>,
    NsmVerifier,
    Log,
    Arc<Mutex<bool>>,
) {
    let ca = TestCa::generate(NOW).unwrap();
    let policy = NsmPolicy {
        root_der: ca.root_der().to_vec(),
        pcrs: [(0u8, PCR0.to_vec())].into(),
        ..NsmPolicy::default()
    };
    let module_id = ca.module_id().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fail = Arc::new(Mutex::new(false));
    let source = Recording {
        inner: StandInNsm::new(ca, module_id, PCR0),
        seen: seen.clone(),
        fail: fail.clone(),
    };
    (
        Box::new(source),
        NsmVerifier::new(policy).unwrap(),
        seen,
        fail,
    )
}

#[test]
fn the_sequencer_runs_on_a_boxed_source() {
    let (source, nsm, seen, fail) = recording();
    let module_id = source.module_id().to_string();
    let mut seq: Sequencer<Box<dyn AttestationSource>> = Sequencer::from_seed_with([7; 32], source);
    assert_eq!(seq.module_id(), module_id);
    assert_eq!(seq.pcr0(), PCR0);
    let key = SequencerKey::from_bytes(seq.public_key()).unwrap();

    for i in 0..3u8 {
        let doc = seq.sequence([i; 48], NOW).unwrap();
        assert_eq!(doc.k, u64::from(i));
        let verified = check(&key, &nsm, &doc.document, VerifyAt::DocumentTimestamp).unwrap();
        assert_eq!(*verified.sequence(), doc.attestation);
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            last,
            Seen {
                public_key: seq.public_key().to_vec(),
                user_data: doc.attestation.encode().to_vec(),
                nonce: None,
            }
        );
    }

    // A failing source is the sequencer's error, and the new y gets no number.
    *fail.lock().unwrap() = true;
    let err = seq.sequence([9; 48], NOW).unwrap_err();
    assert!(matches!(err, ServiceError::Issuer(_)), "got {err:?}");
    assert_eq!((seq.count(), seq.lookup(&[9; 48])), (3, None));
    *fail.lock().unwrap() = false;
    assert_eq!(seq.sequence([9; 48], NOW).unwrap().k, 3);
    assert_eq!(seq.sequence([1; 48], NOW).unwrap().k, 1);
    assert_eq!(seen.lock().unwrap().len(), 6);
}

#[test]
fn the_stand_in_source_is_the_default_sequencers() {
    let ca = TestCa::generate(NOW).unwrap();
    let root = ca.root_der().to_vec();
    let module_id = ca.module_id().to_string();
    let seq = Sequencer::from_seed([1; 32], ca, module_id.clone(), PCR0);
    assert_eq!(seq.source().module_id(), module_id);
    assert_eq!(seq.source().pcr0(), PCR0);
    assert_eq!(
        seq.source().test_ca().map(TestCa::root_der),
        Some(root.as_slice())
    );
    let boxed = seq.boxed();
    assert_eq!(boxed.module_id(), module_id);
    assert!(boxed.source().test_ca().is_some());
}

#[tokio::test]
async fn a_source_without_a_test_ca_serves_no_root() {
    let (source, _, _, _) = recording();
    let state = SequencerState::new(Sequencer::with_source(source).unwrap(), None);
    assert_eq!(state.root_pem(), None);
    assert_eq!(state.measurement().1, PCR0.to_vec());
    let app = sequencer_app(Arc::new(state));
    let get = |path: &str| {
        Request::builder()
            .method("GET")
            .uri(path)
            .body(Body::empty())
            .unwrap()
    };
    let response = app.clone().oneshot(get("/v1/root.pem")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        json["error"].as_str().unwrap().contains("AWS Nitro"),
        "{json}"
    );
    let request = Request::builder()
        .method("POST")
        .uri("/v1/sequence")
        .body(Body::from(vec![5u8; 48]))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
