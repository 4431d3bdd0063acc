//! The trust descriptor the stand-ins' chain publishes: built from a TSA, a sequencer and
//! a test CA, it round-trips through JSON and yields verifiers that accept their output.

use nsm_issuer::TestCa;
use verifier_core::hash::Hash32;
use verifier_core::nsm::{NsmVerifier, VerifyAt};
use verifier_core::sequence::check;
use verifier_core::time::UnixMillis;
use verifier_core::trust::TrustDescriptor;
use zipchain_services::ServiceError;
use zipchain_services::chain_kit::trust_descriptor;
use zipchain_services::sequencer::Sequencer;
use zipchain_services::tsa::TimestampAuthority;

const NOW: UnixMillis = UnixMillis(1_795_000_000_000);

#[test]
fn descriptor_round_trips_and_verifies_the_services() {
    let tsa = TimestampAuthority::generate(
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Kit",
        "bky.sh",
    )
    .unwrap();
    let ca = TestCa::generate(NOW).unwrap();
    let root_pem = ca.root_pem();
    let module_id = ca.module_id().to_string();
    let pcr0 = [0x42u8; 48];
    let mut seq = Sequencer::new(ca, module_id, pcr0).unwrap();
    let genesis = Hash32::digest(b"genesis block");

    for pcr in [Some(pcr0), None] {
        let descriptor = trust_descriptor(&tsa, seq.public_key(), &root_pem, pcr, genesis).unwrap();
        let json = descriptor.to_json_pretty();
        let reread = TrustDescriptor::from_json(&json).unwrap();
        assert_eq!(reread, descriptor);
        assert_eq!(reread.to_json_pretty(), json);
        assert_eq!(reread.genesis(), genesis);
        assert_eq!(reread.sequencer_key().to_bytes(), seq.public_key());
        assert_eq!(reread.timestamp(), &tsa.timestamp_trust());
        assert_eq!(reread.root_der(), Some(seq.ca().root_der()));
        assert_eq!(
            reread.pcrs().get(&0).map(Vec::as_slice),
            pcr.as_ref().map(|p| &p[..])
        );
        assert!(!reread.nitro().allow_debug);

        // The descriptor's verifiers accept what the services produce.
        let y = [7u8; 32];
        let token = tsa.issue(&y, NOW.to_seconds().0).unwrap();
        let verified = reread
            .timestamp_verifier()
            .unwrap()
            .validate(&token)
            .unwrap();
        assert_eq!(verified.attested(), Some(&y[..]));
        let doc = seq.sequence([9u8; 48], NOW).unwrap();
        let nsm = NsmVerifier::new(reread.nsm_policy().unwrap()).unwrap();
        check(
            &reread.sequencer_key(),
            &nsm,
            &doc.document,
            VerifyAt::DocumentTimestamp,
        )
        .unwrap();
    }

    // A PCR0 the sequencer does not have is refused by the descriptor's policy.
    let strict =
        trust_descriptor(&tsa, seq.public_key(), &root_pem, Some([1; 48]), genesis).unwrap();
    let nsm = NsmVerifier::new(strict.nsm_policy().unwrap()).unwrap();
    let doc = seq.sequence([9u8; 48], NOW).unwrap();
    assert!(
        check(
            &strict.sequencer_key(),
            &nsm,
            &doc.document,
            VerifyAt::DocumentTimestamp
        )
        .is_err()
    );
}

#[test]
fn bad_inputs_are_errors() {
    let tsa = TimestampAuthority::generate("https://issuer", "bky.sh").unwrap();
    let root_pem = TestCa::generate(NOW).unwrap().root_pem();
    let genesis = Hash32::digest(b"g");
    // Not a curve point (y = 2 does not decompress).
    let mut bad_key = [0u8; 32];
    bad_key[0] = 2;
    let err = trust_descriptor(&tsa, bad_key, &root_pem, None, genesis).unwrap_err();
    assert!(matches!(err, ServiceError::SequencerKey(_)), "got {err:?}");
    let key = Sequencer::new(TestCa::generate(NOW).unwrap(), "m", [1; 48])
        .unwrap()
        .public_key();
    let err = trust_descriptor(&tsa, key, "not a PEM", None, genesis).unwrap_err();
    assert!(matches!(err, ServiceError::Trust(_)), "got {err:?}");
}
