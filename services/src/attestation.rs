//! Where the sequencer's NSM documents come from: the [`AttestationSource`] trait, so that
//! the same [`Sequencer`](crate::sequencer::Sequencer) code runs on the stand-in test CA
//! ([`StandInNsm`], in tests and in the stand-in daemon) and on `/dev/nsm` in a real Nitro
//! enclave (`NsmDevice` in the `enclave` module, behind the cargo feature `enclave`).
//!
//! A source is asked for exactly what `/dev/nsm` takes: `public_key`, `user_data` and an
//! optional `nonce` ([`AttestationRequest`]). Everything else in the document (module id,
//! PCRs, timestamp, certificates) is the source's own: the stand-in writes what it was
//! configured with, the NSM what the hypervisor measured.

use nsm_issuer::{DocumentRequest, PayloadEncoding, TestCa};
use verifier_core::time::UnixMillis;

use crate::ServiceError;

/// What one NSM attestation document attests, as `/dev/nsm`'s `Attestation` request takes
/// it. Each field is at most 1024 bytes for a real NSM (SPEC §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttestationRequest<'a> {
    /// `public_key` (the sequencer puts `K_S+` here).
    pub public_key: &'a [u8],
    /// `user_data` (the sequencer puts the 121-byte sequence attestation here).
    pub user_data: &'a [u8],
    /// `nonce`, or CBOR null when `None` (the sequencer sends none).
    pub nonce: Option<&'a [u8]>,
}

/// Something that issues NSM attestation documents: the stand-in test CA or `/dev/nsm`.
pub trait AttestationSource: Send {
    /// The module id written in every document.
    fn module_id(&self) -> &str;

    /// The PCR0 written in every document (48 bytes for SHA-384).
    fn pcr0(&self) -> &[u8];

    /// Issues one document (untagged COSE_Sign1, as `/dev/nsm` returns it) for `request`.
    /// `now` is the document's timestamp for the stand-in, which reads no clock; a real
    /// NSM ignores it and writes its own.
    ///
    /// # Errors
    /// The source's failure as a [`ServiceError`]: [`ServiceError::Issuer`] for the
    /// stand-in, `ServiceError::Nsm` for `/dev/nsm`.
    fn attest(
        &mut self,
        request: AttestationRequest<'_>,
        now: UnixMillis,
    ) -> Result<Vec<u8>, ServiceError>;

    /// The stand-in's test CA, whose root a trust descriptor pins; `None` (the default)
    /// for a real NSM, whose documents chain to the AWS Nitro Enclaves root.
    fn test_ca(&self) -> Option<&TestCa> {
        None
    }
}

impl<S: AttestationSource + ?Sized> AttestationSource for Box<S> {
    fn module_id(&self) -> &str {
        (**self).module_id()
    }

    fn pcr0(&self) -> &[u8] {
        (**self).pcr0()
    }

    fn attest(
        &mut self,
        request: AttestationRequest<'_>,
        now: UnixMillis,
    ) -> Result<Vec<u8>, ServiceError> {
        (**self).attest(request, now)
    }

    fn test_ca(&self) -> Option<&TestCa> {
        (**self).test_ca()
    }
}

/// The stand-in NSM: the test CA ([`TestCa`]) and the document template (module id,
/// PCRs, payload encoding) it fills in for each request.
#[derive(Debug)]
pub struct StandInNsm {
    ca: TestCa,
    /// Module id, PCRs and encoding; `public_key`, `user_data` and `nonce` come with
    /// each request.
    template: DocumentRequest,
}

impl StandInNsm {
    /// Documents issued by `ca` with `module_id` and PCR0 `pcr0` (other PCRs as
    /// [`DocumentRequest::default_pcrs`]).
    pub fn new(ca: TestCa, module_id: impl Into<String>, pcr0: [u8; 48]) -> Self {
        let mut template = DocumentRequest::new(module_id);
        template.pcrs.insert(0, pcr0.to_vec());
        Self { ca, template }
    }

    /// The test CA.
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Sets how the outer payload map of the next documents is encoded (see
    /// [`Sequencer::set_payload_encoding`](crate::sequencer::Sequencer::set_payload_encoding)).
    pub fn set_payload_encoding(&mut self, encoding: PayloadEncoding) {
        self.template.encoding = encoding;
    }
}

impl AttestationSource for StandInNsm {
    fn module_id(&self) -> &str {
        &self.template.module_id
    }

    fn pcr0(&self) -> &[u8] {
        self.template
            .pcrs
            .get(&0)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Issues through [`TestCa::issue`], which first renews the CA's certificates when
    /// they would not last at `now`.
    fn attest(
        &mut self,
        request: AttestationRequest<'_>,
        now: UnixMillis,
    ) -> Result<Vec<u8>, ServiceError> {
        let mut document = self.template.clone();
        document.public_key = Some(request.public_key.to_vec());
        document.user_data = Some(request.user_data.to_vec());
        document.nonce = request.nonce.map(<[u8]>::to_vec);
        Ok(self.ca.issue(&document, now)?)
    }

    fn test_ca(&self) -> Option<&TestCa> {
        Some(&self.ca)
    }
}
