//! The verdict on one NSM attestation document (SPEC §1.5), from its bytes and the
//! options a face was given.

use serde::Serialize;

use super::{Check, NsmAsked, nsm_checks};
use crate::nsm::{AWS_NITRO_ROOT_G1_DER, NsmDocument, NsmLimits, NsmPolicy, NsmVerifier, VerifyAt};
use crate::sequence::SequenceAttestation;
use crate::time::UnixMillis;
use crate::trust::decode_pem_certificate;

/// How a face was asked to verify a document, with its own names for its options
/// (they appear in the checks' details).
#[derive(Clone, Copy, Debug, Default)]
pub struct NsmRequest<'a> {
    /// A trusted root as PEM instead of AWS Nitro Enclaves Root-G1, and the face's
    /// name for where it came from (such as `options.root`).
    pub root_pem: Option<(&'a str, &'a str)>,
    /// The time to check certificates at, Unix milliseconds; `None` for the
    /// document's own timestamp.
    pub at_ms: Option<u64>,
    /// Accept debug-mode documents, and the face's name for that option (such as
    /// `allowDebug`).
    pub allow_debug: Option<&'a str>,
}

/// The verdict on an NSM document: every check that ran, and its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NsmVerdict {
    /// Every check passed.
    pub valid: bool,
    /// The checks that ran, in order ([`super::NSM_CHECKS`]).
    pub checks: Vec<Check>,
    /// The document's fields when it parses at all (not authenticated unless `valid`).
    pub document: Option<NsmDocumentView>,
}

/// An NSM document's fields as text: bytes as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NsmDocumentView {
    /// `module_id`.
    pub module_id: String,
    /// `digest` (`"SHA384"`).
    pub digest: String,
    /// `timestamp`, Unix milliseconds.
    pub timestamp: u64,
    /// PCR index to value, by ascending index (in JSON, an object whose keys are
    /// the indices as decimal strings).
    #[serde(serialize_with = "pairs_as_map")]
    pub pcrs: Vec<(u8, String)>,
    /// The signing certificate (DER).
    pub certificate: String,
    /// The CA bundle (DER each), root first.
    pub cabundle: Vec<String>,
    /// `public_key`.
    pub public_key: Option<String>,
    /// `user_data`.
    pub user_data: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// PCR0 all zero: a debug-mode enclave.
    pub debug: bool,
    /// The sequence number `k` (decimal: it may exceed 2^53) when the document is
    /// shaped as a zipchain sequencer's (SPEC §1.4: a 32-byte `public_key`, `K_S+`,
    /// and `user_data` a sequence attestation); not verified unless the verdict is.
    pub sequence: Option<String>,
}

impl From<&NsmDocument> for NsmDocumentView {
    fn from(doc: &NsmDocument) -> Self {
        Self {
            module_id: doc.module_id.clone(),
            digest: doc.digest.clone(),
            timestamp: doc.timestamp.0,
            // In the document's (ascending) order: no map to build or sort, which the
            // wasm module would carry only for this (issue #5).
            pcrs: doc
                .pcrs
                .iter()
                .map(|(&index, value)| (index, hex::encode(value)))
                .collect(),
            certificate: hex::encode(&doc.certificate),
            cabundle: doc.cabundle.iter().map(hex::encode).collect(),
            public_key: doc.public_key.as_ref().map(hex::encode),
            user_data: doc.user_data.as_ref().map(hex::encode),
            nonce: doc.nonce.as_ref().map(hex::encode),
            debug: doc.is_debug(),
            sequence: doc
                .user_data
                .as_deref()
                .filter(|_| doc.public_key.as_ref().is_some_and(|key| key.len() == 32))
                .and_then(|data| SequenceAttestation::decode(data).ok())
                .map(|s| s.k.to_string()),
        }
    }
}

/// `(index, value)` pairs as a JSON object.
fn pairs_as_map<S: serde::Serializer>(pairs: &[(u8, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(index, value)| (index, value)))
}

/// Verifies the document `bytes` as `request` asks: a root PEM that cannot be read
/// is the failed check `root`; otherwise the checks of [`NsmVerifier::verify`].
pub fn verify(bytes: &[u8], request: &NsmRequest<'_>) -> NsmVerdict {
    let parsed = NsmDocument::parse_unverified(bytes, &NsmLimits::default()).ok();
    let (valid, checks) = verify_parsed(bytes, parsed.as_ref(), request);
    NsmVerdict {
        valid,
        checks,
        document: parsed.as_ref().map(NsmDocumentView::from),
    }
}

/// [`verify`]'s checks, given the document as parsed without verification.
fn verify_parsed(
    bytes: &[u8],
    parsed: Option<&NsmDocument>,
    request: &NsmRequest<'_>,
) -> (bool, Vec<Check>) {
    let fail = |check: Check| (false, vec![check]);
    let root_der = match request.root_pem {
        None => AWS_NITRO_ROOT_G1_DER.to_vec(),
        Some((pem, name)) => match decode_pem_certificate(pem) {
            Ok(der) => der,
            Err(e) => return fail(Check::failed("root", format!("{name}: {e}"))),
        },
    };
    let verifier = match NsmVerifier::new(NsmPolicy {
        root_der,
        allow_debug: request.allow_debug.is_some(),
        ..NsmPolicy::default()
    }) {
        Ok(verifier) => verifier,
        Err(e) => return fail(Check::failed(e.check(), e.to_string())),
    };
    let at = request.at_ms.map_or(VerifyAt::DocumentTimestamp, |ms| {
        VerifyAt::Millis(UnixMillis(ms))
    });
    let asked = NsmAsked {
        document: parsed,
        custom_root: request.root_pem.map(|(_, name)| name),
        allow_debug: request.allow_debug,
        at_ms: request.at_ms,
        pcr_allow_list: !verifier.policy().pcrs.is_empty(),
    };
    let result = verifier.verify(bytes, at);
    (result.is_ok(), nsm_checks(&result, &asked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_verdict_naming_cbor() {
        let verdict = verify(&[0xff, 0x00], &NsmRequest::default());
        assert!(!verdict.valid);
        assert!(verdict.document.is_none());
        assert_eq!(verdict.checks.len(), 1);
        assert_eq!(verdict.checks[0].name, "cbor");
        assert!(!verdict.checks[0].ok);
    }

    #[test]
    fn a_bad_root_pem_is_a_verdict_naming_root_and_the_option() {
        let request = NsmRequest {
            root_pem: Some(("not a PEM", "options.root")),
            ..NsmRequest::default()
        };
        let verdict = verify(&[0xff], &request);
        assert!(!verdict.valid);
        assert_eq!(verdict.checks.len(), 1);
        assert_eq!(verdict.checks[0].name, "root");
        assert!(verdict.checks[0].detail.starts_with("options.root: "));
    }
}
