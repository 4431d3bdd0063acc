//! `zipchain jwt verify TOKEN --jwks FILE --issuer ISS [--token-use id|access]
//! [--username-domain D]` (SPEC §6): one JWT as an archival proof (no `exp` check).

use serde_json::json;
use verifier_core::timestamp::{Jwks, TimestampPolicy, TimestampVerifier, TokenUse};

use crate::Outcome;
use crate::args::{JwtVerifyArgs, TokenUseArg};
use crate::input::{InputError, read_text, strip_one_newline};
use crate::report::{print_json, print_text, rfc3339_seconds};

pub(crate) fn verify(args: JwtVerifyArgs) -> Result<Outcome, InputError> {
    let token_text = read_text(&args.token)?;
    let token = strip_one_newline(&token_text);
    let jwks_text = read_text(&args.jwks)?;
    let jwks = Jwks::from_json(&jwks_text)
        .map_err(|e| InputError::malformed(args.jwks.display().to_string(), e))?;
    let policy = TimestampPolicy {
        issuer: args.issuer.clone(),
        token_use: match args.token_use {
            TokenUseArg::Id => TokenUse::Id,
            TokenUseArg::Access => TokenUse::Access,
        },
        username_domain: args.username_domain.clone(),
        jwks,
    };
    let verifier = TimestampVerifier::with_backend(policy, args.output.crypto.backend())
        .map_err(|e| InputError::malformed(args.jwks.display().to_string(), e))?;
    let result = verifier.validate(token);
    let outcome = if result.is_ok() {
        Outcome::Valid
    } else {
        Outcome::Invalid
    };
    if args.output.json {
        let out = match &result {
            Ok(t) => json!({
                "valid": true,
                "failed_check": null,
                "error": null,
                "header": t.header(),
                "claims": t.claims(),
                "iat": t.iat().0,
                "attested": t.attested().map(hex::encode),
                "token_hash": t.token_hash().to_hex(),
            }),
            Err(e) => json!({
                "valid": false,
                "failed_check": e.check(),
                "error": e.to_string(),
            }),
        };
        print_json(&out);
        return Ok(outcome);
    }
    let mut text = String::new();
    match &result {
        Ok(t) => {
            text.push_str("Timestamp JWT: VALID (archival: exp not checked)\n");
            text.push_str(&format!(
                "  issued at (iat)  {} ({})\n",
                t.iat().0,
                rfc3339_seconds(t.iat().0)
            ));
            if let Some(y) = t.attested() {
                text.push_str(&format!("  attested bytes   {}\n", hex::encode(y)));
            }
            text.push_str(&format!("  H(token)         {}\n", t.token_hash()));
            text.push_str("  header\n");
            for (k, v) in t.header() {
                text.push_str(&format!("    {k:<18} {v}\n"));
            }
            text.push_str("  claims\n");
            for (k, v) in t.claims() {
                text.push_str(&format!("    {k:<18} {v}\n"));
            }
        }
        Err(e) => text.push_str(&format!(
            "Timestamp JWT: INVALID\n  failed check   {}\n  reason         {e}\n",
            e.check()
        )),
    }
    print_text(&text);
    Ok(outcome)
}
