//! The shape of an NSM document's certificate chain (SPEC §1.5, issue #13): one path,
//! root first, checked on names and key identifiers before any signature, so that a
//! `cabundle` of look-alike CA certificates (a CA's names copied with other keys) is
//! rejected at once instead of making path building try combinations until its budget
//! of 100 P-384 verifications runs out. The signature counts themselves are checked by
//! the unit tests of `src/nsm/chain.rs`, which share this file's certificate kit.
//!
//! Native only: the test chains are built with rcgen.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(unreachable_pub)] // shared helpers, not all used here
#[macro_use]
mod common;

#[path = "support/ca_kit.rs"]
mod ca_kit;

use ca_kit::{Role, TestChain};
use zipchain_verifier_core::nsm::{
    CertPosition, NsmDocument, NsmError, NsmLimits, NsmPolicy, NsmVerifier, VerifyAt,
};
// One verifier per crypto backend, each call checked on all (#19).
use common::{Every, aws_nsm_verifiers, nsm_verifiers};

const AT_MS: u64 = ca_kit::AT_SECS * 1000;

fn verifier_for(chain: &TestChain) -> Every<NsmVerifier> {
    nsm_verifiers(NsmPolicy {
        root_der: chain.root.clone(),
        ..NsmPolicy::default()
    })
    .unwrap()
}

fn genuine_document(chain: &TestChain) -> Vec<u8> {
    ca_kit::document(&chain.leaf, &chain.cabundle, chain.leaf_key(), AT_MS)
}

/// A document whose leaf names the root as its issuer and whose bundle is the root and
/// seven look-alikes of it: the shape of issue #13's report.
fn stuffed_document(chain: &TestChain) -> Vec<u8> {
    let leaf_key = ca_kit::key_from_seed(60);
    let leaf = ca_kit::cert(
        "attacker leaf",
        Role::Leaf,
        &leaf_key,
        Some((ca_kit::ROOT, &ca_kit::key_from_seed(61))),
        60,
    );
    let mut cabundle = vec![chain.root.clone()];
    cabundle.extend(ca_kit::root_lookalikes(7, 70));
    ca_kit::document(&leaf, &cabundle, &leaf_key, AT_MS)
}

#[test]
fn the_test_chain_verifies() {
    let chain = TestChain::genuine();
    let verified = verifier_for(&chain)
        .verify(&genuine_document(&chain), VerifyAt::DocumentTimestamp)
        .unwrap();
    assert_eq!(verified.checked_at().0, ca_kit::AT_SECS);
    assert_eq!(verified.document().cabundle, chain.cabundle);
}

#[test]
fn a_bundle_of_root_lookalikes_is_rejected_by_its_shape() {
    let chain = TestChain::genuine();
    let doc = stuffed_document(&chain);
    let err = verifier_for(&chain)
        .verify(&doc, VerifyAt::DocumentTimestamp)
        .unwrap_err();
    assert_eq!(
        err,
        NsmError::DuplicateSubject {
            cert: CertPosition::Cabundle(1),
            first: CertPosition::Root
        }
    );
    assert_eq!(err.check(), "chain");
    assert_eq!(
        err.to_string(),
        "cabundle[1] has the same subject name as root; each CA of the path appears once"
    );
}

/// A verifier whose chain cache holds the genuine chain still rejects a stuffed bundle
/// (other bytes, so no cache hit), with the error a fresh verifier gives, and still
/// accepts the genuine document afterwards.
#[test]
fn the_chain_cache_keeps_its_verdicts() {
    let chain = TestChain::genuine();
    let shared = verifier_for(&chain);
    let genuine = genuine_document(&chain);
    let stuffed = stuffed_document(&chain);
    // The genuine leaf over its bundle with a look-alike of the zonal CA appended.
    let mut appended = chain.cabundle.clone();
    appended.push(ca_kit::lookalike(
        ca_kit::ZONAL,
        Role::Ca,
        ca_kit::ZONAL,
        120,
    ));
    let same_leaf = ca_kit::document(&chain.leaf, &appended, chain.leaf_key(), AT_MS);
    for _ in 0..2 {
        assert!(shared.verify(&genuine, VerifyAt::DocumentTimestamp).is_ok());
        for doc in [&stuffed, &same_leaf] {
            let fresh = verifier_for(&chain).verify(doc, VerifyAt::DocumentTimestamp);
            assert!(fresh.is_err());
            assert_eq!(shared.verify(doc, VerifyAt::DocumentTimestamp), fresh);
        }
    }
}

/// Names that do not link are rejected as the `chain` check's, with the link named.
#[test]
fn a_leaf_that_names_another_issuer_is_rejected_before_any_signature() {
    let chain = TestChain::genuine();
    let leaf = ca_kit::cert(
        ca_kit::LEAF,
        Role::Leaf,
        chain.leaf_key(),
        Some((ca_kit::REGIONAL, &ca_kit::key_from_seed(2))),
        5,
    );
    let doc = ca_kit::document(&leaf, &chain.cabundle, chain.leaf_key(), AT_MS);
    let err = verifier_for(&chain)
        .verify(&doc, VerifyAt::DocumentTimestamp)
        .unwrap_err();
    assert_eq!(
        err,
        NsmError::Chain {
            reason: "certificate names an issuer that is not the subject of cabundle[3], \
                     the certificate above it in the bundle"
                .into()
        }
    );
    assert_eq!(err.check(), "chain");
}

#[cfg(zipchain_vectors)]
mod vectors {
    use super::*;

    const BLOCKY: &[u8] = vector!("nitro/docs/blocky_nitrite_nitro_attestation.cbor");

    fn parts(doc: &[u8]) -> NsmDocument {
        NsmDocument::parse_unverified(doc, &NsmLimits::default()).unwrap()
    }

    /// Real documents of both encodings (debug ones among them) keep verifying under
    /// the shape check.
    #[test]
    fn real_documents_have_the_shape() {
        for doc in [
            BLOCKY,
            vector!("nitro/docs-current/hf_nitrite_nitrite_test_6c096a02.cbor"),
            vector!("nitro/docs-current/tkhq_rust_sdk_lib_ce1e1c6e.cbor"),
            vector!("nitro/docs-current/worldcoin_world_chain_real_attestation_13a44c64.cbor"),
        ] {
            let verified = nsm_verifiers(NsmPolicy {
                allow_debug: true,
                ..NsmPolicy::default()
            })
            .unwrap()
            .verify(doc, VerifyAt::DocumentTimestamp)
            .unwrap();
            assert_eq!(verified.document().cabundle.len(), 4);
        }
    }

    /// The real chain with the root repeated as an intermediate, or an intermediate
    /// repeated below itself: rejected by the shape (or the pathLen) before the
    /// signatures, and so before the COSE signature (which these edits break).
    #[test]
    fn real_bundles_with_repeated_cas_are_rejected() {
        let blocky = parts(BLOCKY);
        let bundle = &blocky.cabundle;
        let rebuilt = |cabundle: Vec<Vec<u8>>| {
            let doc = ca_kit::document(
                &blocky.certificate,
                &cabundle,
                &ca_kit::key_from_seed(1),
                blocky.timestamp.0,
            );
            aws_nsm_verifiers()
                .verify(&doc, VerifyAt::DocumentTimestamp)
                .unwrap_err()
        };
        let mut root_twice = bundle.clone();
        root_twice.insert(1, bundle[0].clone());
        assert_eq!(
            rebuilt(root_twice),
            NsmError::DuplicateSubject {
                cert: CertPosition::Cabundle(1),
                first: CertPosition::Root
            }
        );
        // The regional CA (pathLen 2) twice: its pathLen already forbids a fourth CA.
        let mut regional_twice = bundle.clone();
        regional_twice.insert(2, bundle[1].clone());
        assert!(matches!(
            rebuilt(regional_twice),
            NsmError::PathLenExceeded { .. }
        ));
        // Unchanged, only re-signed with a wrong key: the chain passes, the COSE
        // signature fails.
        assert_eq!(rebuilt(bundle.clone()), NsmError::Signature);
    }
}
