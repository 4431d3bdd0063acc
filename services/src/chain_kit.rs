//! Assembles the trust descriptor (SPEC §1.6) of a chain run by the stand-ins: what the
//! writer publishes as `chain.json` at genesis and what a test kit hands its verifier.

use std::collections::BTreeMap;

use verifier_core::hash::Hash32;
use verifier_core::sequence::SequencerKey;
use verifier_core::trust::{NitroTrust, TimestampTrust, TrustDescriptor};

use crate::ServiceError;
use crate::tsa::TimestampAuthority;

/// The trust descriptor pinning `genesis` (`H(b0)`), the sequencer key `K_S+`, the
/// timestamp authority `tsa` and the test CA root `ca_root_pem`; with `pcr0`, the
/// descriptor also requires that PCR0 value (an allow-list of one PCR). Debug-mode
/// documents are not allowed.
///
/// # Errors
/// [`ServiceError::SequencerKey`] when `sequencer_key` is not an Ed25519 point,
/// [`ServiceError::Trust`] when the root PEM or the JWKS is unusable.
pub fn trust_descriptor(
    tsa: &TimestampAuthority,
    sequencer_key: [u8; 32],
    ca_root_pem: &str,
    pcr0: Option<[u8; 48]>,
    genesis: Hash32,
) -> Result<TrustDescriptor, ServiceError> {
    trust_descriptor_for(
        tsa.timestamp_trust(),
        sequencer_key,
        Some(ca_root_pem),
        pcr0,
        genesis,
    )
}

/// As [`trust_descriptor`] for a timestamp service known only by its trust section
/// (issuer, token use, username domain, JWKS), e.g. one reached over HTTP; without
/// `ca_root_pem` the descriptor trusts the AWS Nitro Enclaves root.
///
/// # Errors
/// As [`trust_descriptor`].
pub fn trust_descriptor_for(
    timestamp: TimestampTrust,
    sequencer_key: [u8; 32],
    ca_root_pem: Option<&str>,
    pcr0: Option<[u8; 48]>,
    genesis: Hash32,
) -> Result<TrustDescriptor, ServiceError> {
    let key = SequencerKey::from_bytes(sequencer_key)?;
    let nitro = NitroTrust {
        root_pem: ca_root_pem.map(str::to_string),
        pcrs: pcr0.map(|pcr0| BTreeMap::from([("0".to_string(), hex::encode(pcr0))])),
        allow_debug: false,
    };
    Ok(TrustDescriptor::new(genesis, key, timestamp, nitro)?)
}
