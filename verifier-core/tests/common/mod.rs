//! Shared helpers for the integration tests: the shared vectors, embedded at
//! compile time so that the same tests run natively and on wasm32 under node.
#![allow(dead_code, unused_macros)]

/// The bytes of a file under `../shared/vectors/`, e.g. `vector!("nitro/docs/x.cbor")`.
/// Only usable under `#[cfg(zipchain_vectors)]` (set by `build.rs` when the folder exists).
macro_rules! vector {
    ($path:literal) => {
        include_bytes!(concat!(env!("ZIPCHAIN_VECTORS_DIR"), "/", $path)).as_slice()
    };
}

/// Like [`vector!`] but as text.
macro_rules! vector_str {
    ($path:literal) => {
        include_str!(concat!(env!("ZIPCHAIN_VECTORS_DIR"), "/", $path))
    };
}

/// Says, once per test binary that has no vectors, why its vector tests did not run.
pub fn vectors_absent(test: &str) {
    eprintln!(
        "SKIPPED {test}: ../shared/vectors not found when this test was built (set ZIPCHAIN_VECTORS and rebuild)"
    );
}

macro_rules! embedded {
    ($($path:literal,)*) => {
        vec![$(($path, vector!($path)),)*]
    };
}

/// Every file of `chain/snapshot/`, as `(path under vectors/, bytes)`.
#[cfg(zipchain_vectors)]
pub fn conformance_files() -> Vec<(&'static str, &'static [u8])> {
    embedded![
        "chain/snapshot/attestations/2f0f42324245b7dd1d48aa6243bbde443fb9766bc96379cb6ce915b064d7c3e0",
        "chain/snapshot/attestations/61da76ff1a2aaf4738e24eadf038ec64e75504045a06c08ed27c8c4b620dbba3",
        "chain/snapshot/attestations/7374bf54817f9e70ba9d7aa3bc19ad7b1613c900644319aef184c524bf270604",
        "chain/snapshot/attestations/86bc21e36f30d19583dbcf4e85c07a4f6db825b92e55fdb8efc033634a48e665",
        "chain/snapshot/attestations/89ea6872cdef6334748a683228b0800cb0d490f797e253ff44406678f4c806d4",
        "chain/snapshot/attestations/8cc2ab8fc64c2ae233cfb6d037eba755209c0ed325fffd3bf0d33fd15aee8df6",
        "chain/snapshot/attestations/b88a0e74540ee14d2fe7337102d94aabd28b481647bbb9cd44eb8b93c678d1bf",
        "chain/snapshot/attestations/c985b06b609204e97b4df469ae340762879340fdb6c0b3e021cf2d36d2de7f3b",
        "chain/snapshot/attestations/c9fb0984630254d11b39cc4fc08656bbddbc9bb1ebe2c5294822633df7ac8951",
        "chain/snapshot/batches/63180593b8527661258dab5c820290d88b2eaa5824d89d15e31532913470f175",
        "chain/snapshot/batches/68e576501e91ed42593a8fe225affbc20a496b35b96caa8144a1a41691700247",
        "chain/snapshot/batches/7a4faa0a0ddd2ff29aed28461d4235c7a5a0095c0be7ea9f20bda1af9a549064",
        "chain/snapshot/batches/844346b85d7c2c33835d8974fb58e0df4379f087815461a589e32563da7f8bdd",
        "chain/snapshot/batches/ae1fcc165f0a884e54d7a189e96d6b0be74ccd88d84947324d719531df61abf9",
        "chain/snapshot/batches/b4a93aa7530fd2f62d4cf77eebea4f0f346c32a3969d27b1394e263421398fd7",
        "chain/snapshot/batches/d06e3e187c51f787ca9567eeacab9b0cd22728630858b1add2c5216abfc12bba",
        "chain/snapshot/batches/dfef01505fdb8e30e3e15e9fad50b373b64747cf3fa7ee736cf3fb259b532202",
        "chain/snapshot/batches/f746ae0ce3ea07886a837d6c0e1162f29215439adfefca8a6b08b2a598ece29e",
        "chain/snapshot/blocks/06058cbe5f9cfb25ad1996f1d91d47f6b82ad26e9b6a00c5288f380508b60e8a",
        "chain/snapshot/blocks/16df13dd1951244904c73a36e5f715cc3f4c62c3340c558b3ea43d322c191dcc",
        "chain/snapshot/blocks/22132426519a7d99bf9f91c037c89cf0b631dbaf18c70064123bff26367c84f0",
        "chain/snapshot/blocks/2e5dfdbb1798d54026b6ffd3b6fa797a7724625001529142f5d410660286532e",
        "chain/snapshot/blocks/37a10ed1c58f39d100575f3ff61c1f985d8e11767a089a6b47683b92abeef1f1",
        "chain/snapshot/blocks/5b73ff4510b13d54a199c6b1f27dafe56c6d3acf375392eebe56145f7aaa9a01",
        "chain/snapshot/blocks/7f2fad4d2f59599339975e39c9a3fc83331f1f097f1014407b0a4c997d7b8e5b",
        "chain/snapshot/blocks/b81f0a229826aca9047fa94fce361b97001d1a1f607c6284e3438febb62cc5f8",
        "chain/snapshot/blocks/c7ff13ae1d903ad69001cf71e49253e0f31d4088bc926940ca6201ed0639c0c8",
        "chain/snapshot/blocks/fd97a97370412e58c9486173fe298edbecc7ffea1296c0a049d7b14813ff23da",
        "chain/snapshot/timestamps/37fce08b5ca10a7443868b8c47d67f518e1c432e0fada355b3f84e2069b53e1c",
        "chain/snapshot/timestamps/4431b2d9f3544dc8042802d1a075646e061b2843570b92cbebd7b0599c92117a",
        "chain/snapshot/timestamps/551b17840006765d8c7810f94a6b5b9dfa4d62be21f1d1e5391f6f65b61f8ba4",
        "chain/snapshot/timestamps/6e41bc12145a879089bff2f329f81f3eae339438049a577231f4d7569576fa7e",
        "chain/snapshot/timestamps/6f2d06ddafa66c695a7975e92b484019748ba0b96be77ff4ebfacbf0ee6d07bb",
        "chain/snapshot/timestamps/6f6e129ae0bec3bf3c63172d059e79f5c8768d7ba17fb30b9012afbaacbccbbd",
        "chain/snapshot/timestamps/73786e429a3026717d32d2d9f03ef622ab98293ffa3cdc7049d1b2e22eaf0ba8",
        "chain/snapshot/timestamps/bb8b7251fbce1e5e123c7b4b01287f7b43dd9a30e6f0415916ac5d308e5ee114",
        "chain/snapshot/timestamps/cf84d1c8a1b59d6e60cb476e5ebb8aaf043fce24029f5e5b6cc74b158b9747dd",
        "chain/snapshot/timestamps/f00a0cc01ce25ed8313e886b55fddef1c27f9661c3e68531fe6ac422ebc8f873",
    ]
}

/// The conformance chain's snapshot (`chain/snapshot/`) in memory.
#[cfg(zipchain_vectors)]
pub fn conformance_snapshot() -> zipchain_verifier_core::snapshot::Snapshot {
    let mut s = zipchain_verifier_core::snapshot::Snapshot::default();
    for (path, bytes) in conformance_files() {
        let rel = path.strip_prefix("chain/snapshot/").unwrap_or(path);
        let (kind, key) = zipchain_verifier_core::snapshot::classify_path(rel)
            .unwrap_or_else(|| panic!("{rel} is not an object path"));
        s.insert(kind, key, bytes.to_vec());
    }
    s
}

/// One verifier per crypto backend compiled in (`rustcrypto`, and `aws-lc-rs` with the
/// `aws-lc` feature), so that the same tests run on every backend: each call is made on
/// every verifier and must give the same result, which it returns (issue #19).
#[derive(Debug)]
pub struct Every<V>(pub Vec<V>);

impl<V> Every<V> {
    /// A verifier for each backend.
    pub fn new(
        make: impl Fn(&'static dyn zipchain_verifier_core::crypto::CryptoBackend) -> V,
    ) -> Self {
        Self(
            zipchain_verifier_core::crypto::backends()
                .iter()
                .map(|b| make(*b))
                .collect(),
        )
    }

    /// A verifier for each backend, or the error every backend gives alike.
    pub fn try_new<E: core::fmt::Debug + PartialEq>(
        make: impl Fn(&'static dyn zipchain_verifier_core::crypto::CryptoBackend) -> Result<V, E>,
    ) -> Result<Self, E> {
        let made: Vec<Result<V, E>> = zipchain_verifier_core::crypto::backends()
            .iter()
            .map(|b| make(*b))
            .collect();
        let errors: Vec<Option<&E>> = made.iter().map(|r| r.as_ref().err()).collect();
        assert!(
            errors.iter().all(|e| *e == errors[0]),
            "the backends disagree: {errors:?}"
        );
        made.into_iter().collect::<Result<Vec<V>, E>>().map(Self)
    }

    /// `f` on every backend's verifier: the same result on each, returned.
    pub fn same<T: core::fmt::Debug + PartialEq>(&self, f: impl Fn(&V) -> T) -> T {
        let mut all = self.0.iter().map(&f);
        let first = all.next().expect("at least one backend");
        for other in all {
            assert_eq!(other, first, "the backends disagree");
        }
        first
    }

    /// The default backend's verifier (for what does not verify anything).
    pub fn first(&self) -> &V {
        &self.0[0]
    }
}

use zipchain_verifier_core::nsm::{
    NsmError, NsmPolicy, NsmVerifier, VerifiedNsmDocument, VerifyAt,
};

/// NSM verifiers for `policy` on every backend.
pub fn nsm_verifiers(policy: NsmPolicy) -> Result<Every<NsmVerifier>, NsmError> {
    Every::try_new(|b| NsmVerifier::with_backend(policy.clone(), b))
}

/// [`NsmVerifier::aws`] on every backend.
pub fn aws_nsm_verifiers() -> Every<NsmVerifier> {
    nsm_verifiers(NsmPolicy::default()).expect("the AWS root is usable")
}

impl Every<NsmVerifier> {
    /// [`NsmVerifier::verify`] on every backend.
    pub fn verify(&self, document: &[u8], at: VerifyAt) -> Result<VerifiedNsmDocument, NsmError> {
        self.same(|v| v.verify(document, at))
    }

    /// [`NsmVerifier::policy`].
    pub fn policy(&self) -> &NsmPolicy {
        self.first().policy()
    }
}

use zipchain_verifier_core::timestamp::{
    TimestampError, TimestampPolicy, TimestampVerifier, VerifiedTimestamp,
};

/// Timestamp verifiers for `policy` on every backend.
pub fn timestamp_verifiers(
    policy: TimestampPolicy,
) -> Result<Every<TimestampVerifier>, TimestampError> {
    Every::try_new(|b| TimestampVerifier::with_backend(policy.clone(), b))
}

impl Every<TimestampVerifier> {
    /// [`TimestampVerifier::validate`] on every backend.
    pub fn validate(&self, token: &str) -> Result<VerifiedTimestamp, TimestampError> {
        self.same(|v| v.validate(token))
    }

    /// [`TimestampVerifier::policy`].
    pub fn policy(&self) -> &TimestampPolicy {
        self.first().policy()
    }
}

use zipchain_verifier_core::chain::Auditor;
use zipchain_verifier_core::trust::{TrustDescriptor, TrustError};

/// Auditors for `trust` on every backend.
pub fn auditors(trust: &TrustDescriptor) -> Result<Every<Auditor>, TrustError> {
    Every::try_new(|b| Auditor::with_backend(trust, b))
}
