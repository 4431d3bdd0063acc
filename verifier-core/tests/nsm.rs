//! NSM attestation documents (SPEC §1.5) against the 18 real documents in
//! `../shared/vectors/nitro/docs` (provenance in its `README.md` and
//! `MANIFEST.json`), mutations of them, and the conformance chain's documents.
//! Runs natively and on wasm32 (the vectors are embedded at build time).
#![cfg_attr(not(zipchain_vectors), allow(unused))]

// (The vector tests below import it inside their module.)
#[cfg(all(target_arch = "wasm32", target_os = "unknown", not(zipchain_vectors)))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[macro_use]
#[allow(unreachable_pub)]
mod common;

#[cfg(not(zipchain_vectors))]
#[test]
fn skipped() {
    common::vectors_absent("nsm");
}

#[cfg(zipchain_vectors)]
mod vectors {
    use std::collections::BTreeMap;

    use base64::Engine;
    use ciborium::Value;
    use coset::{CborSerializable, CoseSign1};
    use p384::elliptic_curve::scalar::IsHigh;
    use serde_json::Value as Json;
    use zipchain_verifier_core::nsm::{
        CborIssue, CborPart, CertPosition, NsmDocument, NsmError, NsmLimits, NsmPolicy,
        NsmVerifier, VerifyAt,
    };
    // Every verifier below is one per crypto backend, each call checked on all (#19).
    use super::common::{Every, aws_nsm_verifiers, nsm_verifiers};
    use zipchain_verifier_core::time::{UnixMillis, UnixSeconds};

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const MANIFEST: &str = vector_str!("nitro/docs/MANIFEST.json");

    /// Every document in the manifest, by file name.
    fn docs() -> Vec<(&'static str, &'static [u8])> {
        vec![
            (
                "blocky_nitrite_nitro_attestation.cbor",
                vector!("nitro/docs/blocky_nitrite_nitro_attestation.cbor"),
            ),
            (
                "blocky_nitrite_nitro_attestation_debug.cbor",
                vector!("nitro/docs/blocky_nitrite_nitro_attestation_debug.cbor"),
            ),
            (
                "blocky_nitrite_selfsigned_attestation.cbor",
                vector!("nitro/docs/blocky_nitrite_selfsigned_attestation.cbor"),
            ),
            (
                "blocky_nitrite_stag_attestation.cbor",
                vector!("nitro/docs/blocky_nitrite_stag_attestation.cbor"),
            ),
            (
                "evervault_ga_valid_attestation_doc.cbor",
                vector!("nitro/docs/evervault_ga_valid_attestation_doc.cbor"),
            ),
            (
                "evervault_beta_valid_attestation_doc.cbor",
                vector!("nitro/docs/evervault_beta_valid_attestation_doc.cbor"),
            ),
            (
                "evervault_beta_debug_mode_attestation_doc.cbor",
                vector!("nitro/docs/evervault_beta_debug_mode_attestation_doc.cbor"),
            ),
            (
                "marlin_oyster_sdk_aws.cbor",
                vector!("nitro/docs/marlin_oyster_sdk_aws.cbor"),
            ),
            (
                "marlin_oyster_sdk_aws_pcr16.cbor",
                vector!("nitro/docs/marlin_oyster_sdk_aws_pcr16.cbor"),
            ),
            (
                "marlin_oyster_verifier_attestation.cbor",
                vector!("nitro/docs/marlin_oyster_verifier_attestation.cbor"),
            ),
            (
                "tkhq_qos_mock_attestation_doc.cbor",
                vector!("nitro/docs/tkhq_qos_mock_attestation_doc.cbor"),
            ),
            (
                "yawn_nitro_attest_attestation.cbor",
                vector!("nitro/docs/yawn_nitro_attest_attestation.cbor"),
            ),
            (
                "anjuna_attestdoc_sample_prod_doc.cbor",
                vector!("nitro/docs/anjuna_attestdoc_sample_prod_doc.cbor"),
            ),
            (
                "anjuna_attestdoc_sample_prod_doc_with_publickey.cbor",
                vector!("nitro/docs/anjuna_attestdoc_sample_prod_doc_with_publickey.cbor"),
            ),
            (
                "anjuna_attester_sample_attestation_doc_full.cbor",
                vector!("nitro/docs/anjuna_attester_sample_attestation_doc_full.cbor"),
            ),
            (
                "anjuna_attester_sample_prod_doc.cbor",
                vector!("nitro/docs/anjuna_attester_sample_prod_doc.cbor"),
            ),
            (
                "eternis_example_attestation.cbor",
                vector!("nitro/docs/eternis_example_attestation.cbor"),
            ),
            (
                "NEGATIVE_eternis_invalid_attestation_badsig.cbor",
                vector!("nitro/docs/NEGATIVE_eternis_invalid_attestation_badsig.cbor"),
            ),
        ]
    }

    const MANIFEST_CURRENT: &str = vector_str!("nitro/docs-current/MANIFEST.json");

    /// The three documents of `nitro/docs-current/`, as real enclaves make them now.
    fn current_docs() -> Vec<(&'static str, &'static [u8])> {
        vec![
            (
                "hf_nitrite_nitrite_test_6c096a02.cbor",
                vector!("nitro/docs-current/hf_nitrite_nitrite_test_6c096a02.cbor"),
            ),
            (
                "tkhq_rust_sdk_lib_ce1e1c6e.cbor",
                vector!("nitro/docs-current/tkhq_rust_sdk_lib_ce1e1c6e.cbor"),
            ),
            (
                "worldcoin_world_chain_real_attestation_13a44c64.cbor",
                vector!("nitro/docs-current/worldcoin_world_chain_real_attestation_13a44c64.cbor"),
            ),
        ]
    }

    /// tkhq's production document of 2025-09-16, the first public one whose payload
    /// map is indefinite-length (`bf … ff`).
    const TKHQ: &[u8] = vector!("nitro/docs-current/tkhq_rust_sdk_lib_ce1e1c6e.cbor");

    /// The primary vector: Blocky's production-style document, timestamp
    /// 1725719859545 = 2024-09-07T14:37:39.545Z.
    const BLOCKY: &[u8] = vector!("nitro/docs/blocky_nitrite_nitro_attestation.cbor");

    struct Entry {
        file: &'static str,
        bytes: &'static [u8],
        meta: Json,
    }

    impl Entry {
        fn u64(&self, key: &str) -> u64 {
            self.meta[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{}: {key}", self.file))
        }
        fn debug(&self) -> bool {
            self.meta["debug_mode"].as_bool().unwrap()
        }
        /// A genuine AWS document (valid chain and signature at its own timestamp).
        fn genuine(&self) -> bool {
            self.meta["cose_sig_valid"] == Json::Bool(true)
                && self.meta["chain_valid_at_doc_timestamp"] == Json::Bool(true)
        }
    }

    /// Every entry of both manifests (`docs/` and `docs-current/`) with its bytes.
    fn entries() -> Vec<Entry> {
        let mut manifest: Vec<Json> = serde_json::from_str(MANIFEST).unwrap();
        let current: Vec<Json> = serde_json::from_str(MANIFEST_CURRENT).unwrap();
        manifest.extend(current);
        let mut docs = docs();
        docs.extend(current_docs());
        assert_eq!(
            manifest.len(),
            docs.len(),
            "every manifest entry is embedded"
        );
        manifest
            .into_iter()
            .map(|meta| {
                let file = meta["file"].as_str().unwrap();
                let (file, bytes) = docs.iter().copied().find(|(f, _)| *f == file).unwrap();
                Entry { file, bytes, meta }
            })
            .collect()
    }

    fn debug_verifier() -> Every<NsmVerifier> {
        nsm_verifiers(NsmPolicy {
            allow_debug: true,
            ..NsmPolicy::default()
        })
        .unwrap()
    }

    fn at_secs(secs: u64) -> VerifyAt {
        VerifyAt::Millis(UnixMillis(secs * 1000))
    }

    #[test]
    fn every_document_gets_its_manifest_verdict() {
        let aws = aws_nsm_verifiers();
        let debug = debug_verifier();
        let (mut production, mut debug_docs) = (0, 0);
        for e in entries() {
            let verdict = aws.verify(e.bytes, VerifyAt::DocumentTimestamp);
            if e.genuine() && !e.debug() {
                production += 1;
                let v = verdict.unwrap_or_else(|err| panic!("{}: {err}", e.file));
                assert!(!v.is_debug());
                let doc = v.document();
                assert_eq!(
                    doc.module_id,
                    e.meta["module_id"].as_str().unwrap(),
                    "{}",
                    e.file
                );
                assert_eq!(doc.timestamp, UnixMillis(e.u64("timestamp_ms")));
                assert_eq!(doc.digest, "SHA384");
                assert_eq!(doc.pcrs.len() as u64, e.u64("pcr_count"));
                assert_eq!(
                    hex::encode(doc.pcr(0).unwrap()),
                    e.meta["pcr0"].as_str().unwrap()
                );
                assert_eq!(
                    hex::encode(doc.pcr(1).unwrap()),
                    e.meta["pcr1"].as_str().unwrap()
                );
                assert_eq!(doc.cabundle.len() as u64, e.u64("cabundle_len"));
                assert_eq!(
                    v.checked_at(),
                    UnixMillis(e.u64("timestamp_ms")).to_seconds()
                );
                let window = v.chain_validity();
                assert_eq!(
                    window.not_after,
                    UnixSeconds(e.u64("chain_min_not_after")),
                    "{}",
                    e.file
                );
                assert_eq!(
                    window.not_before,
                    UnixSeconds(e.u64("leaf_not_before")),
                    "{}",
                    e.file
                );
                assert!(window.contains(v.checked_at()));
            } else if e.genuine() {
                debug_docs += 1;
                assert_eq!(verdict, Err(NsmError::DebugMode), "{}", e.file);
                assert_eq!(verdict.unwrap_err().check(), "debug");
                let v = debug.verify(e.bytes, VerifyAt::DocumentTimestamp).unwrap();
                assert!(v.is_debug());
                assert!(v.document().pcr(0).unwrap().iter().all(|b| *b == 0));
                assert_eq!(
                    v.document().module_id,
                    e.meta["module_id"].as_str().unwrap()
                );
            } else {
                // The bad-signature and the self-signed documents.
                assert!(verdict.is_err(), "{}", e.file);
                assert!(debug.verify(e.bytes, VerifyAt::DocumentTimestamp).is_err());
            }
        }
        assert_eq!((production, debug_docs), (12, 7));
    }

    #[test]
    fn bad_signature_document_is_rejected() {
        let doc = vector!("nitro/docs/NEGATIVE_eternis_invalid_attestation_badsig.cbor");
        let err = debug_verifier()
            .verify(doc, VerifyAt::DocumentTimestamp)
            .unwrap_err();
        assert_eq!(err, NsmError::Signature);
        assert_eq!(err.check(), "signature");
    }

    #[test]
    fn self_signed_document_is_rejected() {
        // Blocky's deprecated non-AWS format: unprotected header null, cabundle null.
        let doc = vector!("nitro/docs/blocky_nitrite_selfsigned_attestation.cbor");
        let err = debug_verifier()
            .verify(doc, VerifyAt::DocumentTimestamp)
            .unwrap_err();
        assert!(matches!(err, NsmError::Cose { .. }), "{err:?}");
    }

    #[test]
    fn validity_is_inclusive_and_checked_at_the_given_time() {
        let debug = debug_verifier();
        for e in entries().into_iter().filter(Entry::genuine) {
            let min_not_after = e.u64("chain_min_not_after");
            let leaf_not_before = e.u64("leaf_not_before");
            // Both ends inclusive, and milliseconds round down.
            debug.verify(e.bytes, at_secs(leaf_not_before)).unwrap();
            debug
                .verify(
                    e.bytes,
                    VerifyAt::Millis(UnixMillis(min_not_after * 1000 + 999)),
                )
                .unwrap();
            let err = debug
                .verify(e.bytes, at_secs(min_not_after + 1))
                .unwrap_err();
            assert!(
                matches!(err, NsmError::CertificateExpired { at, not_after, .. }
                    if at == UnixSeconds(min_not_after + 1) && not_after == min_not_after as i64),
                "{}: {err:?}",
                e.file
            );
            assert_eq!(err.check(), "validity");
            let err = debug
                .verify(e.bytes, at_secs(leaf_not_before - 1))
                .unwrap_err();
            assert_eq!(
                err,
                NsmError::CertificateNotYetValid {
                    cert: CertPosition::Leaf,
                    at: UnixSeconds(leaf_not_before - 1),
                    not_before: leaf_not_before as i64,
                },
                "{}",
                e.file
            );
        }
    }

    /// The conformance chain's test root (P-384, AWS shape), a root other than AWS's.
    fn conformance_root_der() -> Vec<u8> {
        let chain: Json = serde_json::from_str(vector_str!("chain/chain.json")).unwrap();
        pem_to_der(chain["nitro"]["root_pem"].as_str().unwrap())
    }

    fn pem_to_der(pem: &str) -> Vec<u8> {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    #[test]
    fn every_document_is_rejected_under_another_root() {
        let other = nsm_verifiers(NsmPolicy {
            root_der: conformance_root_der(),
            allow_debug: true,
            ..NsmPolicy::default()
        })
        .unwrap();
        for e in entries().into_iter().filter(Entry::genuine) {
            let err = other
                .verify(e.bytes, VerifyAt::DocumentTimestamp)
                .unwrap_err();
            assert!(
                matches!(err, NsmError::RootMismatch { .. }),
                "{}: {err:?}",
                e.file
            );
            assert_eq!(err.check(), "root");
        }
    }

    #[test]
    fn conformance_chain_documents_verify_under_their_root() {
        let chain: Json = serde_json::from_str(vector_str!("chain/chain.json")).unwrap();
        let pcrs: BTreeMap<u8, Vec<u8>> = chain["nitro"]["pcrs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.parse().unwrap(),
                    hex::decode(v.as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        let verifier = nsm_verifiers(NsmPolicy {
            root_der: conformance_root_der(),
            pcrs,
            ..NsmPolicy::default()
        })
        .unwrap();
        let docs: [&[u8]; 9] = [
            vector!(
                "chain/snapshot/attestations/2f0f42324245b7dd1d48aa6243bbde443fb9766bc96379cb6ce915b064d7c3e0"
            ),
            vector!(
                "chain/snapshot/attestations/61da76ff1a2aaf4738e24eadf038ec64e75504045a06c08ed27c8c4b620dbba3"
            ),
            vector!(
                "chain/snapshot/attestations/7374bf54817f9e70ba9d7aa3bc19ad7b1613c900644319aef184c524bf270604"
            ),
            vector!(
                "chain/snapshot/attestations/86bc21e36f30d19583dbcf4e85c07a4f6db825b92e55fdb8efc033634a48e665"
            ),
            vector!(
                "chain/snapshot/attestations/89ea6872cdef6334748a683228b0800cb0d490f797e253ff44406678f4c806d4"
            ),
            vector!(
                "chain/snapshot/attestations/8cc2ab8fc64c2ae233cfb6d037eba755209c0ed325fffd3bf0d33fd15aee8df6"
            ),
            vector!(
                "chain/snapshot/attestations/b88a0e74540ee14d2fe7337102d94aabd28b481647bbb9cd44eb8b93c678d1bf"
            ),
            vector!(
                "chain/snapshot/attestations/c985b06b609204e97b4df469ae340762879340fdb6c0b3e021cf2d36d2de7f3b"
            ),
            vector!(
                "chain/snapshot/attestations/c9fb0984630254d11b39cc4fc08656bbddbc9bb1ebe2c5294822633df7ac8951"
            ),
        ];
        for doc in docs {
            let v = verifier.verify(doc, VerifyAt::DocumentTimestamp).unwrap();
            assert_eq!(v.document().public_key.as_ref().map(Vec::len), Some(32));
            assert_eq!(v.document().user_data.as_ref().map(Vec::len), Some(121));
            // ... and not under the AWS root.
            let err = aws_nsm_verifiers()
                .verify(doc, VerifyAt::DocumentTimestamp)
                .unwrap_err();
            assert!(matches!(err, NsmError::RootMismatch { .. }), "{err:?}");
        }
    }

    #[test]
    fn pcr_allow_list() {
        let pcr0 = hex::decode("e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a").unwrap();
        let policy = |pcrs: BTreeMap<u8, Vec<u8>>| {
            nsm_verifiers(NsmPolicy {
                pcrs,
                ..NsmPolicy::default()
            })
            .unwrap()
        };
        policy(BTreeMap::from([(0, pcr0.clone()), (3, vec![0; 48])]))
            .verify(BLOCKY, VerifyAt::DocumentTimestamp)
            .unwrap();
        let err = policy(BTreeMap::from([(1, pcr0.clone())]))
            .verify(BLOCKY, VerifyAt::DocumentTimestamp)
            .unwrap_err();
        assert!(
            matches!(&err, NsmError::PcrMismatch { index: 1, expected, got: Some(_) } if *expected == pcr0)
        );
        assert_eq!(err.check(), "pcrs");
        let err = policy(BTreeMap::from([(16, pcr0.clone())]))
            .verify(BLOCKY, VerifyAt::DocumentTimestamp)
            .unwrap_err();
        assert!(matches!(
            err,
            NsmError::PcrMismatch {
                index: 16,
                got: None,
                ..
            }
        ));
    }

    #[test]
    fn high_s_signatures_are_accepted() {
        // marlin_oyster_sdk_aws has s > n/2 (research nitro-FINDINGS §5).
        let doc = vector!("nitro/docs/marlin_oyster_sdk_aws.cbor");
        let sign1 = CoseSign1::from_slice(doc).unwrap();
        let sig = p384::ecdsa::Signature::from_slice(&sign1.signature).unwrap();
        assert!(bool::from(sig.s().is_high()));
        aws_nsm_verifiers()
            .verify(doc, VerifyAt::DocumentTimestamp)
            .unwrap();
    }

    #[test]
    fn blocky_document_fields() {
        let v = aws_nsm_verifiers()
            .verify(BLOCKY, VerifyAt::DocumentTimestamp)
            .unwrap();
        assert_eq!(v.checked_at(), UnixSeconds(1_725_719_859));
        let doc = v.into_document();
        assert_eq!(doc.public_key, Some(vec![1; 1024]));
        assert_eq!(doc.user_data, Some(vec![1; 1024]));
        assert_eq!(doc.nonce, Some(vec![1; 1024]));
        assert_eq!(
            NsmDocument::parse_unverified(BLOCKY, &NsmLimits::default()).unwrap(),
            doc
        );
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["module_id"], "i-0a22e5c5f24d22174-enc0191cceb4289903f");
        assert_eq!(json["timestamp"], 1_725_719_859_545u64);
        assert_eq!(json["pcrs"]["3"], "00".repeat(48));
    }

    // ---- mutations of the Blocky production document ----

    fn verify(doc: &[u8]) -> Result<(), NsmError> {
        aws_nsm_verifiers()
            .verify(doc, VerifyAt::DocumentTimestamp)
            .map(|_| ())
    }

    fn payload_value(doc: &[u8]) -> Vec<(Value, Value)> {
        let sign1 = CoseSign1::from_slice(doc).unwrap();
        match ciborium::de::from_reader(sign1.payload.unwrap().as_slice()).unwrap() {
            Value::Map(entries) => entries,
            _ => unreachable!(),
        }
    }

    /// The document with its payload replaced (the signature no longer matches).
    fn with_payload(doc: &[u8], payload: Vec<u8>) -> Vec<u8> {
        let mut sign1 = CoseSign1::from_slice(doc).unwrap();
        sign1.payload = Some(payload);
        sign1.to_vec().unwrap()
    }

    fn with_entries(doc: &[u8], entries: Vec<(Value, Value)>) -> Vec<u8> {
        let mut payload = Vec::new();
        ciborium::ser::into_writer(&Value::Map(entries), &mut payload).unwrap();
        with_payload(doc, payload)
    }

    fn with_field(doc: &[u8], field: &str, value: Value) -> Vec<u8> {
        let mut entries = payload_value(doc);
        let slot = entries
            .iter_mut()
            .find(|(k, _)| k.as_text() == Some(field))
            .unwrap();
        slot.1 = value;
        with_entries(doc, entries)
    }

    fn cabundle(doc: &[u8]) -> Vec<Value> {
        let entries = payload_value(doc);
        let (_, v) = entries
            .into_iter()
            .find(|(k, _)| k.as_text() == Some("cabundle"))
            .unwrap();
        v.into_array().unwrap()
    }

    #[test]
    fn the_unmodified_document_round_trips_through_the_helpers() {
        // The 8-byte timestamp is also its minimal form here, so re-encoding the
        // unmodified payload gives back the signed bytes: the mutations below change
        // only what they say.
        let same = with_entries(BLOCKY, payload_value(BLOCKY));
        assert!(same == BLOCKY);
        assert_eq!(verify(&same), Ok(()));
    }

    #[test]
    fn flipped_signature_byte() {
        let mut doc = BLOCKY.to_vec();
        *doc.last_mut().unwrap() ^= 0x01;
        assert_eq!(verify(&doc), Err(NsmError::Signature));
    }

    #[test]
    fn flipped_payload_byte() {
        // Envelope: 84, 44 a1013822, a0, 59 <len16>; the nonce (1024 x 0x01) ends the payload.
        let sign1 = CoseSign1::from_slice(BLOCKY).unwrap();
        let payload_end = 10 + sign1.payload.unwrap().len();
        let mut doc = BLOCKY.to_vec();
        doc[payload_end - 10] ^= 0x01;
        assert_eq!(verify(&doc), Err(NsmError::Signature));
    }

    #[test]
    fn flipped_byte_in_a_cabundle_certificate() {
        let bundle = cabundle(BLOCKY);
        for (i, cert) in bundle.iter().enumerate() {
            let der = cert.as_bytes().unwrap();
            let at = BLOCKY
                .windows(der.len())
                .position(|w| w == der.as_slice())
                .unwrap();
            // The last byte is inside the certificate's signature.
            let mut doc = BLOCKY.to_vec();
            doc[at + der.len() - 1] ^= 0x01;
            let err = verify(&doc).unwrap_err();
            if i == 0 {
                assert!(matches!(err, NsmError::RootMismatch { .. }), "{err:?}");
            } else {
                assert!(
                    matches!(err, NsmError::Chain { .. }),
                    "cabundle[{i}]: {err:?}"
                );
                assert_eq!(err.check(), "chain");
            }
        }
    }

    /// One verifier reused (its certificate-signature cache warm) gives the same
    /// verdicts as fresh ones.
    #[test]
    fn a_shared_verifier_gives_the_same_verdicts() {
        let shared = debug_verifier();
        for _ in 0..2 {
            for e in entries() {
                let fresh = debug_verifier().verify(e.bytes, VerifyAt::DocumentTimestamp);
                assert_eq!(
                    shared.verify(e.bytes, VerifyAt::DocumentTimestamp),
                    fresh,
                    "{}",
                    e.file
                );
            }
            for (i, cert) in cabundle(BLOCKY).iter().enumerate().skip(1) {
                let der = cert.as_bytes().unwrap();
                let at = BLOCKY
                    .windows(der.len())
                    .position(|w| w == der.as_slice())
                    .unwrap();
                let mut doc = BLOCKY.to_vec();
                doc[at + der.len() - 1] ^= 0x01;
                let err = shared
                    .verify(&doc, VerifyAt::DocumentTimestamp)
                    .unwrap_err();
                assert!(
                    matches!(err, NsmError::Chain { .. }),
                    "cabundle[{i}]: {err:?}"
                );
            }
        }
    }

    /// A chain the verifier has checked and cached is checked again at every other
    /// time: inside its validity window it passes, and just outside it fails with the
    /// same error, naming the same certificate, as a fresh verifier gives.
    #[test]
    fn a_cached_chain_is_rechecked_at_each_time() {
        let shared = debug_verifier();
        for e in entries().into_iter().filter(Entry::genuine) {
            let (first, last) = (e.u64("leaf_not_before"), e.u64("chain_min_not_after"));
            for secs in [
                first,
                first - 1,
                last,
                last + 1,
                first,
                last + 1,
                u64::MAX / 1000,
            ] {
                let at = at_secs(secs);
                let fresh = debug_verifier().verify(e.bytes, at);
                assert_eq!(shared.verify(e.bytes, at), fresh, "{} at {secs}", e.file);
                assert_eq!(fresh.is_ok(), (first..=last).contains(&secs));
            }
        }
    }

    #[test]
    fn dropped_or_reordered_cabundle() {
        let bundle = cabundle(BLOCKY);
        let edit = |certs: Vec<Value>| {
            verify(&with_field(BLOCKY, "cabundle", Value::Array(certs))).unwrap_err()
        };

        // Root dropped, or the whole bundle reversed: cabundle[0] is not the root.
        assert!(matches!(
            edit(bundle[1..].to_vec()),
            NsmError::RootMismatch { .. }
        ));
        let reversed: Vec<Value> = bundle.iter().rev().cloned().collect();
        assert!(matches!(edit(reversed), NsmError::RootMismatch { .. }));
        // Intermediates reversed: the instance CA (pathLen 0) would have two CAs below it.
        let mut swapped = bundle.clone();
        swapped[1..].reverse();
        assert_eq!(
            edit(swapped),
            NsmError::PathLenExceeded {
                cert: CertPosition::Cabundle(1),
                path_len: 0,
                below: 2
            }
        );
        // An intermediate missing: no path.
        let missing = vec![bundle[0].clone(), bundle[1].clone(), bundle[3].clone()];
        assert!(matches!(edit(missing), NsmError::Chain { .. }));
        // Only the root.
        assert!(matches!(
            edit(vec![bundle[0].clone()]),
            NsmError::Chain { .. }
        ));
        // Empty.
        assert_eq!(edit(vec![]), NsmError::CabundleCount { count: 0, max: 8 });
    }

    #[test]
    fn trailing_bytes() {
        let mut doc = BLOCKY.to_vec();
        doc.push(0x00);
        assert_eq!(
            verify(&doc),
            Err(NsmError::TrailingData {
                part: CborPart::Document,
                item_len: BLOCKY.len(),
                total_len: BLOCKY.len() + 1
            })
        );
        // In the payload too.
        let sign1 = CoseSign1::from_slice(BLOCKY).unwrap();
        let mut payload = sign1.payload.unwrap();
        let len = payload.len();
        payload.push(0xf6);
        assert_eq!(
            verify(&with_payload(BLOCKY, payload)),
            Err(NsmError::TrailingData {
                part: CborPart::Payload,
                item_len: len,
                total_len: len + 1
            })
        );
    }

    #[test]
    fn indefinite_length_encodings() {
        // The outer array as 9f .. ff.
        let mut doc = BLOCKY.to_vec();
        assert_eq!(doc[0], 0x84);
        doc[0] = 0x9f;
        doc.push(0xff);
        assert_eq!(
            verify(&doc),
            Err(NsmError::Cbor {
                part: CborPart::Document,
                offset: 0,
                issue: CborIssue::IndefiniteLength { major: 4 }
            })
        );
        // The envelope stays definite even around a current (indefinite) payload.
        let mut doc = TKHQ.to_vec();
        assert_eq!(doc[0], 0x84);
        doc[0] = 0x9f;
        doc.push(0xff);
        assert!(matches!(
            verify(&doc),
            Err(NsmError::Cbor {
                part: CborPart::Document,
                offset: 0,
                issue: CborIssue::IndefiniteLength { major: 4 }
            })
        ));
        // The payload map as bf .. ff reads as the same document: the fields parse
        // and the signature is checked over the bytes as received, so the re-encoded
        // document (whose signature covered a9 ..) fails only at the signature.
        let sign1 = CoseSign1::from_slice(BLOCKY).unwrap();
        let mut payload = sign1.payload.unwrap();
        assert_eq!(payload[0], 0xa9);
        payload[0] = 0xbf;
        payload.push(0xff);
        let rewrapped = with_payload(BLOCKY, payload);
        assert_eq!(
            NsmDocument::parse_unverified(&rewrapped, &NsmLimits::default()),
            NsmDocument::parse_unverified(BLOCKY, &NsmLimits::default())
        );
        assert_eq!(verify(&rewrapped), Err(NsmError::Signature));
        // And a genuine indefinite payload re-encoded as definite fails the same way.
        let sign1 = CoseSign1::from_slice(TKHQ).unwrap();
        let payload = sign1.payload.unwrap();
        assert_eq!((payload[0], payload.last()), (0xbf, Some(&0xff)));
        let mut definite = vec![0xa9];
        definite.extend_from_slice(&payload[1..payload.len() - 1]);
        let rewrapped = with_payload(TKHQ, definite);
        assert_eq!(
            NsmDocument::parse_unverified(&rewrapped, &NsmLimits::default()),
            NsmDocument::parse_unverified(TKHQ, &NsmLimits::default())
        );
        assert_eq!(
            aws_nsm_verifiers().verify(&rewrapped, VerifyAt::DocumentTimestamp),
            Err(NsmError::Signature)
        );
        // A missing break, a break where a value belongs, and a nested tag in the
        // current payload: each a named CBOR error.
        let mut open = payload.clone();
        open.pop();
        assert!(matches!(
            NsmDocument::parse_unverified(&with_payload(TKHQ, open), &NsmLimits::default()),
            Err(NsmError::Cbor {
                part: CborPart::Payload,
                offset: 0,
                issue: CborIssue::Truncated
            })
        ));
        let mut early = payload[..payload.len() - 1].to_vec();
        early.extend_from_slice(&[0x65, b'n', b'o', b'n', b'c', b'e', 0xff]);
        assert!(matches!(
            NsmDocument::parse_unverified(&with_payload(TKHQ, early), &NsmLimits::default()),
            Err(NsmError::Cbor {
                part: CborPart::Payload,
                issue: CborIssue::BreakAfterKey,
                ..
            })
        ));
        let mut tagged = payload[..payload.len() - 1].to_vec();
        tagged.extend_from_slice(&[0x61, b'x', 0xc2, 0x41, 0x01, 0xff]);
        assert!(matches!(
            NsmDocument::parse_unverified(&with_payload(TKHQ, tagged), &NsmLimits::default()),
            Err(NsmError::Cbor {
                part: CborPart::Payload,
                issue: CborIssue::Tag { tag: 2 },
                ..
            })
        ));
        // Repeated keys are still caught in an indefinite map.
        let mut repeated = payload[..payload.len() - 1].to_vec();
        repeated.extend_from_slice(&[0x65, b'n', b'o', b'n', b'c', b'e', 0xf6, 0xff]);
        assert_eq!(
            NsmDocument::parse_unverified(&with_payload(TKHQ, repeated), &NsmLimits::default()),
            Err(NsmError::DuplicateField { field: "nonce" })
        );
        // The signature as an indefinite-length byte string (5f 58 60 .. ff).
        let mut doc = BLOCKY[..BLOCKY.len() - 98].to_vec();
        doc.extend_from_slice(&[0x5f]);
        doc.extend_from_slice(&BLOCKY[BLOCKY.len() - 98..]);
        doc.push(0xff);
        assert!(matches!(
            verify(&doc),
            Err(NsmError::Cbor {
                part: CborPart::Document,
                issue: CborIssue::IndefiniteLength { major: 2 },
                ..
            })
        ));
    }

    #[test]
    fn oversized_user_data() {
        let doc = with_field(BLOCKY, "user_data", Value::Bytes(vec![1; 1025]));
        assert_eq!(
            verify(&doc),
            Err(NsmError::FieldLength {
                field: "user_data",
                len: 1025,
                min: 0,
                max: 1024
            })
        );
        assert_eq!(verify(&doc).unwrap_err().check(), "fields");
    }

    #[test]
    fn field_rules() {
        let cases: Vec<(Vec<u8>, NsmError)> = vec![
            (
                with_field(BLOCKY, "digest", Value::Text("SHA256".into())),
                NsmError::Digest {
                    got: "SHA256".into(),
                },
            ),
            (
                with_field(BLOCKY, "timestamp", Value::Integer(0.into())),
                NsmError::ZeroTimestamp,
            ),
            (
                with_field(BLOCKY, "timestamp", Value::Integer((-1).into())),
                NsmError::FieldType {
                    field: "timestamp",
                    expected: "unsigned integer",
                },
            ),
            (
                with_field(BLOCKY, "module_id", Value::Null),
                NsmError::FieldType {
                    field: "module_id",
                    expected: "text string",
                },
            ),
            (
                with_field(BLOCKY, "certificate", Value::Null),
                NsmError::FieldType {
                    field: "certificate",
                    expected: "byte string",
                },
            ),
            (
                with_field(BLOCKY, "public_key", Value::Bytes(vec![0; 1025])),
                NsmError::FieldLength {
                    field: "public_key",
                    len: 1025,
                    min: 0,
                    max: 1024,
                },
            ),
            (
                with_field(BLOCKY, "nonce", Value::Bytes(vec![0; 1025])),
                NsmError::FieldLength {
                    field: "nonce",
                    len: 1025,
                    min: 0,
                    max: 1024,
                },
            ),
            (
                with_field(BLOCKY, "pcrs", Value::Map(vec![])),
                NsmError::PcrCount { count: 0, max: 32 },
            ),
            (
                with_field(
                    BLOCKY,
                    "pcrs",
                    Value::Map(vec![(Value::Integer(32.into()), Value::Bytes(vec![0; 48]))]),
                ),
                NsmError::PcrIndex { index: 32 },
            ),
            (
                with_field(
                    BLOCKY,
                    "pcrs",
                    Value::Map(vec![(Value::Integer(0.into()), Value::Bytes(vec![0; 47]))]),
                ),
                NsmError::PcrLength { index: 0, len: 47 },
            ),
            (
                with_field(
                    BLOCKY,
                    "pcrs",
                    Value::Map(vec![
                        (Value::Integer(1.into()), Value::Bytes(vec![0; 48])),
                        (Value::Integer(1.into()), Value::Bytes(vec![0; 48])),
                    ]),
                ),
                NsmError::DuplicatePcr { index: 1 },
            ),
        ];
        for (doc, expected) in cases {
            assert_eq!(verify(&doc), Err(expected));
        }

        // Unknown, duplicate and missing keys.
        let mut entries = payload_value(BLOCKY);
        entries.push((Value::Text("nitrotpm_pcrs".into()), Value::Null));
        assert_eq!(
            verify(&with_entries(BLOCKY, entries)),
            Err(NsmError::UnknownField {
                key: "nitrotpm_pcrs".into()
            })
        );
        // Errors name what they found within a bound, never all of it: a non-text key
        // by its CBOR type, a long key or digest cut short with its length.
        let mut entries = payload_value(BLOCKY);
        entries.push((
            Value::Array(vec![Value::Integer(7.into()); 2000]),
            Value::Null,
        ));
        assert_eq!(
            verify(&with_entries(BLOCKY, entries)),
            Err(NsmError::UnknownField {
                key: "a key of CBOR type array".into()
            })
        );
        let mut entries = payload_value(BLOCKY);
        entries.push((Value::Text("k".repeat(8000)), Value::Null));
        let Err(NsmError::UnknownField { key }) = verify(&with_entries(BLOCKY, entries)) else {
            panic!("a long unknown key must be refused");
        };
        assert!(key.len() < 200 && key.ends_with("…(8000 bytes)"), "{key}");
        let mut entries = payload_value(BLOCKY);
        for (k, v) in &mut entries {
            if k.as_text() == Some("digest") {
                *v = Value::Text("SHA".repeat(1500));
            }
        }
        let Err(NsmError::Digest { got }) = verify(&with_entries(BLOCKY, entries)) else {
            panic!("a long digest must be refused");
        };
        assert!(got.len() < 200 && got.ends_with("…(4500 bytes)"), "{got}");
        let mut entries = payload_value(BLOCKY);
        entries.push(entries[0].clone());
        assert_eq!(
            verify(&with_entries(BLOCKY, entries)),
            Err(NsmError::DuplicateField { field: "module_id" })
        );
        let mut entries = payload_value(BLOCKY);
        entries.retain(|(k, _)| k.as_text() != Some("digest"));
        assert_eq!(
            verify(&with_entries(BLOCKY, entries)),
            Err(NsmError::MissingField { field: "digest" })
        );
        // Optional fields may be null or left out.
        let mut entries = payload_value(BLOCKY);
        entries.retain(|(k, _)| k.as_text() != Some("nonce"));
        assert_eq!(
            verify(&with_entries(BLOCKY, entries)),
            Err(NsmError::Signature)
        );
        assert_eq!(
            verify(&with_field(BLOCKY, "nonce", Value::Null)),
            Err(NsmError::Signature)
        );
        assert_eq!(
            verify(&with_payload(BLOCKY, vec![0x80])),
            Err(NsmError::PayloadNotMap)
        );
    }

    #[test]
    fn envelope_rules() {
        // Tag 18 (COSE_Sign1) is accepted; other tags are not.
        let mut tagged = vec![0xd2];
        tagged.extend_from_slice(BLOCKY);
        assert_eq!(verify(&tagged), Ok(()));
        let mut other = vec![0xd8, 0x62];
        other.extend_from_slice(BLOCKY);
        assert_eq!(verify(&other), Err(NsmError::UnexpectedTag { tag: 98 }));

        // Protected header other than {1: -35}.
        let mut sign1 = CoseSign1::from_slice(BLOCKY).unwrap();
        sign1.protected.original_data = Some(vec![0xa1, 0x01, 0x26]);
        assert_eq!(
            verify(&sign1.to_vec().unwrap()),
            Err(NsmError::ProtectedHeader {
                got: vec![0xa1, 0x01, 0x26]
            })
        );
        // Non-empty unprotected header.
        let mut sign1 = CoseSign1::from_slice(BLOCKY).unwrap();
        sign1.unprotected.key_id = b"k".to_vec();
        assert_eq!(
            verify(&sign1.to_vec().unwrap()),
            Err(NsmError::UnprotectedHeader)
        );
        // Signature of the wrong length.
        let mut sign1 = CoseSign1::from_slice(BLOCKY).unwrap();
        sign1.signature.pop();
        assert_eq!(
            verify(&sign1.to_vec().unwrap()),
            Err(NsmError::SignatureLength { len: 95 })
        );
        // Empty and detached payloads.
        assert_eq!(
            verify(&with_payload(BLOCKY, vec![])),
            Err(NsmError::PayloadLength { len: 0, max: 16384 })
        );
        let mut sign1 = CoseSign1::from_slice(BLOCKY).unwrap();
        sign1.payload = None;
        assert_eq!(
            verify(&sign1.to_vec().unwrap()),
            Err(NsmError::MissingPayload)
        );
        // Not a COSE_Sign1 at all.
        assert!(matches!(verify(&[0x80]), Err(NsmError::Cose { .. })));
        // Too deep.
        let deep = nsm_verifiers(NsmPolicy {
            limits: NsmLimits {
                max_cbor_depth: 2,
                ..NsmLimits::default()
            },
            ..NsmPolicy::default()
        })
        .unwrap();
        assert!(matches!(
            deep.verify(BLOCKY, VerifyAt::DocumentTimestamp),
            Err(NsmError::Cbor {
                part: CborPart::Payload,
                issue: CborIssue::TooDeep { max: 2 },
                ..
            })
        ));
    }
}
