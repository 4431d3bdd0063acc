//! The sequencer inside a real AWS Nitro enclave (cargo feature `enclave`): [`NsmDevice`],
//! an [`AttestationSource`] that asks `/dev/nsm` for each document through the
//! `aws-nitro-enclaves-nsm-api` crate, and the vsock port the daemon listens on.
//!
//! Nothing here can run outside an enclave: [`NsmDevice::open`] fails with
//! [`NsmError::Open`] where `/dev/nsm` is missing. What can be tested without Nitro
//! hardware is the mapping between the sequencer's requests and the NSM's messages
//! ([`attestation_request`], [`document_from`], [`module_id_from`], [`pcr_from`]); the
//! rest is described, step by step, in `docs/ENCLAVE.md`.

use aws_nitro_enclaves_nsm_api::api::{ErrorCode, Request, Response};
use aws_nitro_enclaves_nsm_api::driver::{nsm_exit, nsm_init, nsm_process_request};
use serde_bytes::ByteBuf;
use verifier_core::time::UnixMillis;

use crate::ServiceError;
use crate::attestation::{AttestationRequest, AttestationSource};

/// The NSM's device file.
pub const NSM_DEVICE: &str = "/dev/nsm";

/// The most bytes the NSM takes in each of `public_key`, `user_data` and `nonce`.
pub const MAX_FIELD_LEN: usize = 1024;

/// Why the NSM could not do what was asked.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NsmError {
    /// The device file could not be opened: not inside a Nitro enclave, or the enclave's
    /// kernel has no `nsm` driver.
    #[error("cannot open {path}: not inside a Nitro enclave, or its kernel has no nsm driver")]
    Open {
        /// The device file.
        path: &'static str,
    },
    /// A field of the request is longer than the NSM takes.
    #[error("{field} has {len} bytes, the NSM takes at most {max}")]
    TooLarge {
        /// `public_key`, `user_data` or `nonce`.
        field: &'static str,
        /// Its length.
        len: usize,
        /// [`MAX_FIELD_LEN`].
        max: usize,
    },
    /// The NSM answered an error code.
    #[error("the NSM refused {request}: {code} ({meaning})")]
    Refused {
        /// The request: `Attestation`, `DescribeNSM` or `DescribePCR`.
        request: &'static str,
        /// The NSM's error code, by name (`InvalidArgument`, `InputTooLarge`, …).
        code: &'static str,
        /// What the code means, in words.
        meaning: &'static str,
    },
    /// The NSM answered with a response of another kind.
    #[error("the NSM answered {request} with a {got} response, expected {expected}")]
    UnexpectedResponse {
        /// The request.
        request: &'static str,
        /// The kind of response received.
        got: &'static str,
        /// The kind expected.
        expected: &'static str,
    },
    /// The NSM answered an empty attestation document.
    #[error("the NSM answered an empty attestation document")]
    EmptyDocument,
}

/// The NSM's error `code` by name, and what it means.
pub fn describe_error(code: &ErrorCode) -> (&'static str, &'static str) {
    match code {
        ErrorCode::Success => ("Success", "an error response that says success"),
        ErrorCode::InvalidArgument => ("InvalidArgument", "an input argument is invalid"),
        ErrorCode::InvalidIndex => ("InvalidIndex", "the PCR index is out of bounds"),
        ErrorCode::InvalidResponse => (
            "InvalidResponse",
            "the response does not correspond to the request",
        ),
        ErrorCode::ReadOnlyIndex => ("ReadOnlyIndex", "the PCR is locked"),
        ErrorCode::InvalidOperation => (
            "InvalidOperation",
            "the NSM lacks the capability for this request",
        ),
        ErrorCode::BufferTooSmall => ("BufferTooSmall", "the response buffer is too small"),
        ErrorCode::InputTooLarge => ("InputTooLarge", "the request is too large"),
        ErrorCode::InternalError => (
            "InternalError",
            "the NSM failed internally (or the ioctl failed)",
        ),
    }
}

/// The NSM `Attestation` request for `request`.
///
/// # Errors
/// [`NsmError::TooLarge`] when a field is over [`MAX_FIELD_LEN`] bytes.
pub fn attestation_request(request: AttestationRequest<'_>) -> Result<Request, NsmError> {
    let field = |name: &'static str, bytes: &[u8]| {
        if bytes.len() > MAX_FIELD_LEN {
            Err(NsmError::TooLarge {
                field: name,
                len: bytes.len(),
                max: MAX_FIELD_LEN,
            })
        } else {
            Ok(ByteBuf::from(bytes))
        }
    };
    Ok(Request::Attestation {
        public_key: Some(field("public_key", request.public_key)?),
        user_data: Some(field("user_data", request.user_data)?),
        nonce: request.nonce.map(|n| field("nonce", n)).transpose()?,
    })
}

/// The document of the NSM's answer to an `Attestation` request.
///
/// # Errors
/// [`NsmError::Refused`], [`NsmError::UnexpectedResponse`], [`NsmError::EmptyDocument`].
pub fn document_from(response: Response) -> Result<Vec<u8>, NsmError> {
    match response {
        Response::Attestation { document } if document.is_empty() => Err(NsmError::EmptyDocument),
        Response::Attestation { document } => Ok(document),
        other => Err(unexpected("Attestation", &other, "Attestation")),
    }
}

/// The module id in the NSM's answer to a `DescribeNSM` request.
///
/// # Errors
/// [`NsmError::Refused`], [`NsmError::UnexpectedResponse`].
pub fn module_id_from(response: Response) -> Result<String, NsmError> {
    match response {
        Response::DescribeNSM { module_id, .. } => Ok(module_id),
        other => Err(unexpected("DescribeNSM", &other, "DescribeNSM")),
    }
}

/// The PCR value in the NSM's answer to a `DescribePCR` request.
///
/// # Errors
/// [`NsmError::Refused`], [`NsmError::UnexpectedResponse`].
pub fn pcr_from(response: Response) -> Result<Vec<u8>, NsmError> {
    match response {
        Response::DescribePCR { data, .. } => Ok(data),
        other => Err(unexpected("DescribePCR", &other, "DescribePCR")),
    }
}

/// The error for an answer `got` to `request` that is not the `expected` kind.
fn unexpected(request: &'static str, got: &Response, expected: &'static str) -> NsmError {
    let got = match got {
        Response::Error(code) => {
            let (code, meaning) = describe_error(code);
            return NsmError::Refused {
                request,
                code,
                meaning,
            };
        }
        Response::DescribePCR { .. } => "DescribePCR",
        Response::ExtendPCR { .. } => "ExtendPCR",
        Response::LockPCR => "LockPCR",
        Response::LockPCRs => "LockPCRs",
        Response::DescribeNSM { .. } => "DescribeNSM",
        Response::Attestation { .. } => "Attestation",
        Response::GetRandom { .. } => "GetRandom",
        _ => "unknown",
    };
    NsmError::UnexpectedResponse {
        request,
        got,
        expected,
    }
}

/// `/dev/nsm`, open, with the module id and PCR0 it reported when opened.
#[derive(Debug)]
pub struct NsmDevice {
    fd: i32,
    module_id: String,
    pcr0: Vec<u8>,
}

impl NsmDevice {
    /// Opens [`NSM_DEVICE`] and asks it for its module id (`DescribeNSM`) and PCR0, the
    /// enclave image's measurement (`DescribePCR` of index 0).
    ///
    /// # Errors
    /// [`NsmError::Open`] outside an enclave; the NSM's answers as [`NsmError`].
    pub fn open() -> Result<Self, NsmError> {
        let fd = nsm_init();
        if fd < 0 {
            return Err(NsmError::Open { path: NSM_DEVICE });
        }
        let mut device = Self {
            fd,
            module_id: String::new(),
            pcr0: Vec::new(),
        };
        device.module_id = module_id_from(nsm_process_request(fd, Request::DescribeNSM))?;
        device.pcr0 = pcr_from(nsm_process_request(fd, Request::DescribePCR { index: 0 }))?;
        Ok(device)
    }

    /// Whether the enclave runs in debug mode: PCR0 all zero, documents that a trust
    /// descriptor rejects unless it says `allow_debug`.
    pub fn is_debug(&self) -> bool {
        self.pcr0.iter().all(|b| *b == 0)
    }
}

impl Drop for NsmDevice {
    fn drop(&mut self) {
        nsm_exit(self.fd);
    }
}

impl AttestationSource for NsmDevice {
    fn module_id(&self) -> &str {
        &self.module_id
    }

    fn pcr0(&self) -> &[u8] {
        &self.pcr0
    }

    /// Asks the NSM; `now` is not used (the NSM writes its own timestamp).
    fn attest(
        &mut self,
        request: AttestationRequest<'_>,
        _now: UnixMillis,
    ) -> Result<Vec<u8>, ServiceError> {
        let request = attestation_request(request)?;
        Ok(document_from(nsm_process_request(self.fd, request))?)
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn bytes(value: &Option<ByteBuf>) -> Option<&[u8]> {
        value.as_ref().map(|b| b.as_slice())
    }

    #[test]
    fn the_attestation_request_carries_the_three_fields() {
        let key = [1u8; 32];
        let data = [2u8; 121];
        let request = AttestationRequest {
            public_key: &key,
            user_data: &data,
            nonce: None,
        };
        match attestation_request(request) {
            Ok(Request::Attestation {
                public_key,
                user_data,
                nonce,
            }) => {
                assert_eq!(bytes(&public_key), Some(&key[..]));
                assert_eq!(bytes(&user_data), Some(&data[..]));
                assert_eq!(nonce, None);
            }
            other => panic!("got {other:?}"),
        }
        let nonce = [3u8; 16];
        let with_nonce = AttestationRequest {
            nonce: Some(&nonce),
            ..request
        };
        match attestation_request(with_nonce) {
            Ok(Request::Attestation { nonce: got, .. }) => {
                assert_eq!(bytes(&got), Some(&nonce[..]));
            }
            other => panic!("got {other:?}"),
        }
    }

    #[test]
    fn fields_over_the_limit_are_refused_before_the_nsm() {
        let big = vec![0u8; MAX_FIELD_LEN + 1];
        let fits = vec![0u8; MAX_FIELD_LEN];
        let request = AttestationRequest {
            public_key: &fits,
            user_data: &big,
            nonce: None,
        };
        assert_eq!(
            attestation_request(request).err(),
            Some(NsmError::TooLarge {
                field: "user_data",
                len: MAX_FIELD_LEN + 1,
                max: MAX_FIELD_LEN
            })
        );
        let request = AttestationRequest {
            public_key: &fits,
            user_data: &fits,
            nonce: Some(&big),
        };
        assert!(matches!(
            attestation_request(request),
            Err(NsmError::TooLarge { field: "nonce", .. })
        ));
    }

    #[test]
    fn responses_map_to_documents_or_typed_errors() {
        let document = vec![0x84, 0x44];
        assert_eq!(
            document_from(Response::Attestation {
                document: document.clone()
            }),
            Ok(document)
        );
        assert_eq!(
            document_from(Response::Attestation {
                document: Vec::new()
            }),
            Err(NsmError::EmptyDocument)
        );
        assert_eq!(
            document_from(Response::Error(ErrorCode::InputTooLarge)),
            Err(NsmError::Refused {
                request: "Attestation",
                code: "InputTooLarge",
                meaning: "the request is too large",
            })
        );
        assert_eq!(
            document_from(Response::LockPCRs),
            Err(NsmError::UnexpectedResponse {
                request: "Attestation",
                got: "LockPCRs",
                expected: "Attestation",
            })
        );
        let err = ServiceError::from(NsmError::EmptyDocument);
        assert!(
            err.to_string().contains("empty attestation document"),
            "{err}"
        );
    }

    #[test]
    fn describe_answers_give_the_module_id_and_pcr0() {
        let pcr0 = vec![0xab; 48];
        assert_eq!(
            pcr_from(Response::DescribePCR {
                lock: true,
                data: pcr0.clone()
            }),
            Ok(pcr0)
        );
        assert!(matches!(
            pcr_from(Response::Error(ErrorCode::InvalidIndex)),
            Err(NsmError::Refused {
                request: "DescribePCR",
                code: "InvalidIndex",
                ..
            })
        ));
        assert!(matches!(
            module_id_from(Response::GetRandom { random: vec![1] }),
            Err(NsmError::UnexpectedResponse {
                request: "DescribeNSM",
                got: "GetRandom",
                ..
            })
        ));
    }

    #[test]
    fn every_error_code_has_a_name_and_a_meaning() {
        for code in [
            ErrorCode::Success,
            ErrorCode::InvalidArgument,
            ErrorCode::InvalidIndex,
            ErrorCode::InvalidResponse,
            ErrorCode::ReadOnlyIndex,
            ErrorCode::InvalidOperation,
            ErrorCode::BufferTooSmall,
            ErrorCode::InputTooLarge,
            ErrorCode::InternalError,
        ] {
            let (name, meaning) = describe_error(&code);
            assert_eq!(name, format!("{code:?}"));
            assert!(!meaning.is_empty());
        }
    }

    #[test]
    fn opening_outside_an_enclave_is_a_typed_error() {
        // CI machines have no /dev/nsm; inside an enclave this test is not meaningful.
        if std::path::Path::new(NSM_DEVICE).exists() {
            return;
        }
        assert_eq!(
            NsmDevice::open().err(),
            Some(NsmError::Open { path: NSM_DEVICE })
        );
    }
}
