//! `zipchain nsm verify DOC [--root PEM] [--at MS] [--allow-debug]` (SPEC §6).

use serde_json::json;
use verifier_core::nsm::{NsmDocument, NsmPolicy, NsmVerifier, VerifyAt};
use verifier_core::time::UnixMillis;
use verifier_core::trust::decode_pem_certificate;
use verifier_core::verdict::nsm::NsmDocumentView;

use crate::Outcome;
use crate::args::NsmVerifyArgs;
use crate::input::{InputError, read_bytes, read_text};
use crate::report::{print_json, print_text, rfc3339_millis, rfc3339_seconds};

pub(crate) fn verify(args: NsmVerifyArgs) -> Result<Outcome, InputError> {
    let doc = read_bytes(&args.doc)?;
    let mut policy = NsmPolicy {
        allow_debug: args.allow_debug,
        ..NsmPolicy::default()
    };
    if let Some(root) = &args.root {
        let pem = read_text(root)?;
        policy.root_der = decode_pem_certificate(&pem)
            .map_err(|e| InputError::malformed(root.display().to_string(), e))?;
    }
    let verifier = NsmVerifier::with_backend(policy, args.output.crypto.backend())
        .map_err(|e| InputError::malformed("trusted root", e))?;
    let at = match args.at {
        Some(ms) => VerifyAt::Millis(UnixMillis(ms)),
        None => VerifyAt::DocumentTimestamp,
    };
    let result = verifier.verify(&doc, at);
    // Show the fields even when a check failed, if the document parses at all.
    let parsed = NsmDocument::parse_unverified(&doc, &verifier.policy().limits).ok();
    let outcome = if result.is_ok() {
        Outcome::Valid
    } else {
        Outcome::Invalid
    };
    if args.output.json {
        let mut out = json!({
            "valid": result.is_ok(),
            "failed_check": result.as_ref().err().map(|e| e.check()),
            "error": result.as_ref().err().map(ToString::to_string),
            "document": parsed.as_ref().map(document_json),
        });
        if let Ok(v) = &result {
            out["checked_at"] = json!(v.checked_at().0);
            out["chain_validity"] = json!({
                "not_before": v.chain_validity().not_before.0,
                "not_after": v.chain_validity().not_after.0,
            });
            out["debug"] = json!(v.is_debug());
        }
        print_json(&out);
        return Ok(outcome);
    }
    let mut text = String::new();
    match &result {
        Ok(v) => {
            text.push_str("NSM attestation document: VALID\n");
            let how = match at {
                VerifyAt::DocumentTimestamp => "the document's own timestamp",
                VerifyAt::Millis(_) => "the time given with --at",
            };
            text.push_str(&format!(
                "  checked at     {} ({how})\n",
                rfc3339_seconds(v.checked_at().0)
            ));
            text.push_str(&format!(
                "  chain valid    {} .. {}\n",
                rfc3339_seconds(v.chain_validity().not_before.0),
                rfc3339_seconds(v.chain_validity().not_after.0)
            ));
            text.push_str(&format!(
                "  debug mode     {}\n",
                if v.is_debug() {
                    "yes (allowed by --allow-debug)"
                } else {
                    "no"
                }
            ));
        }
        Err(e) => {
            text.push_str(&format!(
                "NSM attestation document: INVALID\n  failed check   {}\n  reason         {e}\n",
                e.check()
            ));
            // The time matters when a certificate was not valid then: say which it was.
            let when = match at {
                VerifyAt::Millis(ms) => Some((ms.0, "the time given with --at")),
                VerifyAt::DocumentTimestamp => parsed
                    .as_ref()
                    .map(|d| (d.timestamp.0, "the document's own timestamp")),
            };
            if let Some((ms, how)) = when {
                text.push_str(&format!(
                    "  checked at     {} ({how})\n",
                    rfc3339_millis(ms)
                ));
            }
        }
    }
    if let Some(d) = &parsed {
        text.push_str(&document_text(d));
    }
    print_text(&text);
    Ok(outcome)
}

/// The document's fields as `zipchain nsm verify --json` has always shown them: the
/// core's view, in snake_case, without `debug` (a verdict field beside it).
fn document_json(d: &NsmDocument) -> serde_json::Value {
    let v = NsmDocumentView::from(d);
    json!({
        "module_id": v.module_id,
        "digest": v.digest,
        "timestamp": v.timestamp,
        "pcrs": v
            .pcrs
            .iter()
            .map(|(index, value)| (index.to_string(), json!(value)))
            .collect::<serde_json::Map<_, _>>(),
        "certificate": v.certificate,
        "cabundle": v.cabundle,
        "public_key": v.public_key,
        "user_data": v.user_data,
        "nonce": v.nonce,
    })
}

fn short_bytes(v: &Option<Vec<u8>>) -> String {
    match v {
        None => "absent (null)".to_owned(),
        Some(b) if b.is_empty() => "empty".to_owned(),
        Some(b) if b.len() <= 32 => format!("{} bytes: {}", b.len(), hex::encode(b)),
        Some(b) => format!("{} bytes: {}…", b.len(), hex::encode(&b[..32])),
    }
}

fn document_text(d: &NsmDocument) -> String {
    let mut t = String::new();
    t.push_str(&format!("  module_id      {}\n", d.module_id));
    t.push_str(&format!("  digest         {}\n", d.digest));
    t.push_str(&format!(
        "  timestamp      {} ({})\n",
        d.timestamp.0,
        rfc3339_millis(d.timestamp.0)
    ));
    t.push_str(&format!("  pcrs           {} registers\n", d.pcrs.len()));
    for (i, v) in &d.pcrs {
        if v.iter().any(|&b| b != 0) {
            t.push_str(&format!("    PCR{i:<2}        {}\n", hex::encode(v)));
        }
    }
    let zero = d
        .pcrs
        .values()
        .filter(|v| v.iter().all(|&b| b == 0))
        .count();
    if zero > 0 {
        t.push_str(&format!("    ({zero} all-zero registers not shown)\n"));
    }
    t.push_str(&format!("  certificate    {} bytes\n", d.certificate.len()));
    t.push_str(&format!(
        "  cabundle       {} certificates\n",
        d.cabundle.len()
    ));
    t.push_str(&format!(
        "  public_key     {}\n",
        short_bytes(&d.public_key)
    ));
    t.push_str(&format!("  user_data      {}\n", short_bytes(&d.user_data)));
    t.push_str(&format!("  nonce          {}\n", short_bytes(&d.nonce)));
    t
}
