//! Verdicts as every face shows them: the named checks that ran, in order, each
//! passed or failed with what it found (issue #14: the core decides, the faces
//! render).
//!
//! The verifiers ([`crate::nsm::NsmVerifier`], [`crate::timestamp::TimestampVerifier`],
//! [`crate::chain::Auditor`], [`crate::certificate`]) stop at the first failed check
//! and return it as a typed error whose `check()` names it. This module turns such a
//! result into the list a reader sees: the checks that must have passed before that
//! one could fail, then the failed one; or every check, passed. The order is the
//! verifiers' own, written here once, so that the CLI, the wasm module and the page
//! cannot drift from it.
//!
//! The submodules build each face's whole verdict from its raw inputs (bytes and
//! JSON text, the options a face was given): [`nsm`] (`verifyNsmDocument`,
//! `zipchain nsm verify`'s document), [`jwt`] (`verifyTimestamp`), [`audit`]
//! (`auditSnapshot`, the SPEC §6 fields of `zipchain audit --json`) and
//! [`certificate`] (`checkCertificate`). A face converts its arguments, calls one of
//! them and renders what it returns.

pub mod audit;
pub mod certificate;
pub mod jwt;
pub mod nsm;

use serde::Serialize;

use crate::chain::Audit;
use crate::nsm::{AWS_NITRO_ROOT_G1_SHA256, NsmDocument, NsmError, VerifiedNsmDocument};
use crate::timestamp::{TimestampError, TimestampPolicy, VerifiedTimestamp};

/// One named check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name of the check (`NsmError::check`, `TimestampError::check`, the
    /// certificate and audit checks).
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was checked, or why it failed.
    pub detail: String,
}

impl Check {
    /// A passed check.
    pub fn passed(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            detail: detail.into(),
        }
    }

    /// A failed check.
    pub fn failed(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: false,
            detail: detail.into(),
        }
    }
}

/// The NSM checks in the order [`crate::nsm::NsmVerifier::verify`] runs them.
pub const NSM_CHECKS: [&str; 9] = [
    "cbor",
    "cose",
    "fields",
    "root",
    "chain",
    "validity",
    "signature",
    "debug",
    "pcrs",
];

/// The NSM checks that must have passed before the check `failed` can fail.
/// `chain` and `validity` are interleaved in the verifier (profiles, then validity,
/// then path and signatures), so a failure of either vouches for neither; `cose`
/// may fail before the payload's CBOR is checked, so it vouches for nothing.
pub fn nsm_passed_before(failed: &str) -> &'static [&'static str] {
    match failed {
        "fields" => &NSM_CHECKS[..2],
        "root" => &NSM_CHECKS[..3],
        "chain" | "validity" => &NSM_CHECKS[..4],
        "signature" => &NSM_CHECKS[..6],
        "debug" => &NSM_CHECKS[..7],
        "pcrs" => &NSM_CHECKS[..8],
        _ => &[],
    }
}

/// What the details of an NSM verdict's passed checks are made from, beside the
/// result: the document as parsed without verification, and how the face was asked.
#[derive(Clone, Copy, Debug, Default)]
pub struct NsmAsked<'a> {
    /// The document's fields, when it parses at all.
    pub document: Option<&'a NsmDocument>,
    /// Where a trusted root other than AWS's came from, in the face's words (such as
    /// `options.root`); `None` for the pinned AWS Nitro Enclaves Root-G1.
    pub custom_root: Option<&'a str>,
    /// The face's name for allowing debug-mode documents (such as `allowDebug`), when
    /// it was set.
    pub allow_debug: Option<&'a str>,
    /// The time the caller gave, Unix milliseconds; `None` for the document's own.
    pub at_ms: Option<u64>,
    /// Whether the policy lists allowed PCR values; without a list the `pcrs` check
    /// has nothing to compare and is not shown when the document passes.
    pub pcr_allow_list: bool,
}

/// The checks of an NSM document's verification: all passed on success; otherwise
/// those passed before the failed one, then it.
pub fn nsm_checks(
    result: &Result<VerifiedNsmDocument, NsmError>,
    asked: &NsmAsked<'_>,
) -> Vec<Check> {
    match result {
        Ok(verified) => {
            let ran = if asked.pcr_allow_list {
                &NSM_CHECKS[..]
            } else {
                nsm_passed_before("pcrs")
            };
            ran.iter()
                .map(|name| Check::passed(name, nsm_passed(name, asked, Some(verified))))
                .collect()
        }
        Err(e) => {
            let failed = e.check();
            let mut checks: Vec<Check> = nsm_passed_before(failed)
                .iter()
                .map(|name| Check::passed(name, nsm_passed(name, asked, None)))
                .collect();
            checks.push(Check::failed(failed, e.to_string()));
            checks
        }
    }
}

/// What the passed NSM check `name` checked.
fn nsm_passed(name: &str, asked: &NsmAsked<'_>, verified: Option<&VerifiedNsmDocument>) -> String {
    let document = asked.document;
    match name {
        "cbor" => "well-formed CBOR within the depth budget, nothing after it: the envelope definite-length in shortest form, the payload as the NSM wrote it".into(),
        "cose" => "COSE_Sign1, protected header {1: -35} (ES384), empty unprotected header, 96-byte signature".into(),
        "fields" => match document {
            Some(doc) => format!(
                "module_id {}, digest {}, timestamp {} ms, {} PCRs, {} cabundle certificates",
                doc.module_id,
                doc.digest,
                doc.timestamp.0,
                doc.pcrs.len(),
                doc.cabundle.len()
            ),
            None => "the payload fields follow the AWS rules".into(),
        },
        "root" => match asked.custom_root {
            Some(source) => format!("cabundle[0] is the trusted root given in {source}"),
            None => format!(
                "cabundle[0] is AWS Nitro Enclaves Root-G1 (SHA-256 {AWS_NITRO_ROOT_G1_SHA256})"
            ),
        },
        "chain" => format!(
            "the leaf chains to the root through cabundle[1..] ({} intermediates), ECDSA P-384 / SHA-384",
            document.map_or(0, |doc| doc.cabundle.len().saturating_sub(1))
        ),
        "validity" => match verified {
            Some(v) => format!(
                "every certificate is valid at {} s (the chain is valid from {} s to {} s)",
                v.checked_at().0,
                v.chain_validity().not_before.0,
                v.chain_validity().not_after.0
            ),
            None => match (asked.at_ms, document) {
                (Some(ms), _) => format!("every certificate is valid at {} s", ms / 1000),
                (None, Some(doc)) => format!(
                    "every certificate is valid at {} s, the document's timestamp",
                    doc.timestamp.0 / 1000
                ),
                (None, None) => "every certificate is valid".into(),
            },
        },
        "signature" => "the ES384 signature verifies with the leaf certificate's key".into(),
        "debug" => {
            let debug = verified
                .map(VerifiedNsmDocument::is_debug)
                .or(document.map(NsmDocument::is_debug));
            match asked.allow_debug {
                Some(option) if debug == Some(true) => format!(
                    "debug-mode document (PCR0 all zero), accepted because {option} is set"
                ),
                _ => "not a debug-mode document (PCR0 is not all zero)".into(),
            }
        }
        "pcrs" => "every PCR the policy lists has its allowed value".into(),
        _ => String::new(),
    }
}

/// The JWT checks in the order [`crate::timestamp::TimestampVerifier::validate`]
/// runs them; the time relations of the claims are checked last but reported under
/// `claims`.
pub const JWT_CHECKS: [&str; 9] = [
    "format",
    "header",
    "alg",
    "kid",
    "signature",
    "claims",
    "issuer",
    "token_use",
    "username",
];

/// The JWT checks that must have passed before `e` could be found.
pub fn jwt_passed_before(e: &TimestampError) -> Vec<&'static str> {
    match e {
        // iat, exp, auth_time and their relations are checked after the username.
        TimestampError::Claim { .. }
        | TimestampError::AuthTimeAfterIat { .. }
        | TimestampError::ExpNotAfterIat { .. }
        | TimestampError::LifetimeTooLong { .. } => JWT_CHECKS
            .iter()
            .copied()
            .filter(|name| *name != "claims")
            .collect(),
        // The key set and the policy are checked before any token.
        TimestampError::Jwks { .. }
        | TimestampError::JwkKidMismatch { .. }
        | TimestampError::Policy { .. } => Vec::new(),
        _ => JWT_CHECKS
            .iter()
            .copied()
            .take_while(|name| *name != e.check())
            .collect(),
    }
}

/// The checks of a token's validation under `policy`: all passed on success;
/// otherwise those passed before the failed one, then it.
pub fn jwt_checks(
    result: &Result<VerifiedTimestamp, TimestampError>,
    policy: &TimestampPolicy,
) -> Vec<Check> {
    match result {
        Ok(verified) => JWT_CHECKS
            .iter()
            .map(|name| Check::passed(name, jwt_passed(name, policy, Some(verified))))
            .collect(),
        Err(e) => {
            let mut checks: Vec<Check> = jwt_passed_before(e)
                .into_iter()
                .map(|name| Check::passed(name, jwt_passed(name, policy, None)))
                .collect();
            checks.push(Check::failed(e.check(), e.to_string()));
            checks
        }
    }
}

/// What the passed JWT check `name` checked.
fn jwt_passed(
    name: &str,
    policy: &TimestampPolicy,
    verified: Option<&VerifiedTimestamp>,
) -> String {
    let claim = |key: &str| {
        verified
            .and_then(|v| v.claims().get(key).or_else(|| v.header().get(key)))
            .map(|value| value.to_string())
    };
    match name {
        "format" => "three segments of unpadded base64url".into(),
        "header" => {
            "the JOSE header is a strict JSON object without crit, jku, x5u, jwk or x5c".into()
        }
        "alg" => "alg is \"RS256\"".into(),
        "kid" => match claim("kid") {
            Some(kid) => format!("kid {kid} names a key of the JWKS"),
            None => "kid names a key of the JWKS".into(),
        },
        "signature" => "the RS256 signature verifies with that key".into(),
        "claims" => match verified {
            Some(v) => format!(
                "the claims are a strict JSON object; iat {} (the attested time), exp not compared with any time",
                v.iat().0
            ),
            None => "the claims are a strict JSON object".into(),
        },
        "issuer" => format!("iss is {:?}", policy.issuer),
        "token_use" => format!("token_use is {:?}", policy.token_use.as_str()),
        "username" => {
            let username_claim = policy.token_use.username_claim();
            match (
                verified.and_then(VerifiedTimestamp::attested),
                &policy.username_domain,
            ) {
                (Some(bytes), Some(domain)) => format!(
                    "{username_claim} is <hex>@{domain}, attesting {} bytes",
                    bytes.len()
                ),
                _ => match claim(username_claim) {
                    Some(username) => format!("{username_claim} is {username}"),
                    None => format!("{username_claim} is a string"),
                },
            }
        }
        _ => String::new(),
    }
}

/// The checks of an audit, after the `trust_descriptor` and `snapshot` checks a
/// face makes when it loads them: `main_chain` (a valid genesis block, SPEC §5) and
/// `equivocation` (no sequence number given twice). Both fail an audit whatever its
/// other findings: [`Audit::has_fatal_findings`] is exactly "one of these failed".
pub fn audit_checks(audit: &Audit) -> Vec<Check> {
    let main_chain = match audit.height() {
        Some(height) => Check::passed(
            "main_chain",
            format!(
                "height {height}, {} transactions final",
                audit.final_transactions.len()
            ),
        ),
        None => Check::failed(
            "main_chain",
            "empty: no valid genesis block with sequence number 0",
        ),
    };
    let equivocation = if audit.equivocations.is_empty() {
        Check::passed(
            "equivocation",
            "no sequence number was given to two different blocks",
        )
    } else {
        Check::failed(
            "equivocation",
            format!(
                "the sequencer gave {} sequence numbers twice",
                audit.equivocations.len()
            ),
        )
    };
    vec![main_chain, equivocation]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_nsm_check_is_preceded_by_the_ones_before_it() {
        // Each check vouches only for checks earlier in the order, never for itself.
        for (i, name) in NSM_CHECKS.iter().enumerate() {
            let before = nsm_passed_before(name);
            assert!(!before.contains(name), "{name}");
            assert!(before.iter().all(|b| NSM_CHECKS[..i].contains(b)), "{name}");
        }
        assert_eq!(nsm_passed_before("pcrs").len(), 8);
        assert_eq!(nsm_passed_before("cbor"), &[] as &[&str]);
        assert_eq!(nsm_passed_before("fields"), &["cbor", "cose"]);
        assert_eq!(
            nsm_passed_before("signature"),
            &["cbor", "cose", "fields", "root", "chain", "validity"]
        );
        assert!(nsm_passed_before("cose").is_empty());
        assert!(nsm_passed_before("no such check").is_empty());
    }

    #[test]
    fn every_jwt_error_names_a_known_check_and_what_passed_before() {
        let errors = [
            TimestampError::AuthTimeAfterIat {
                auth_time: 2,
                iat: crate::time::UnixSeconds(1),
            },
            TimestampError::Policy { reason: "x".into() },
            TimestampError::Issuer {
                got: None,
                expected: "i".into(),
            },
        ];
        let expected: [&[&str]; 3] = [
            &[
                "format",
                "header",
                "alg",
                "kid",
                "signature",
                "issuer",
                "token_use",
                "username",
            ],
            &[],
            &["format", "header", "alg", "kid", "signature", "claims"],
        ];
        let iat = TimestampError::Claim {
            name: "iat",
            got: None,
            expected: "an integer >= 0",
        };
        assert_eq!(jwt_passed_before(&iat).len(), 8);
        assert!(!jwt_passed_before(&iat).contains(&"claims"));
        for (e, want) in errors.iter().zip(expected) {
            assert_eq!(jwt_passed_before(e), want, "{e}");
            assert!(JWT_CHECKS.contains(&e.check()) || e.check() == "policy");
        }
    }
}
