//! # zipchain verifier for JavaScript
//!
//! The `wasm-bindgen` adapter over [`verifier_core`] (crate
//! `zipchain-verifier-core`) for browsers and Node (SPEC §8). It has no logic of
//! its own, in the manner of azul's `tlog_tiles_wasm`: each export takes its input
//! from JS, calls the core and maps the result to a JS value. Nothing here reads a
//! clock; JS passes times in.
//!
//! Exports:
//! - `sha3_256Hex(bytes: Uint8Array): string` — `H` of SPEC §0.
//! - `verifyNsmDocument(bytes: Uint8Array, options?: { root?: string, atMs?: number,
//!   allowDebug?: boolean }): { valid, checks, document }` — SPEC §1.5.
//! - `verifyTimestamp(token: string, jwks: object | string, options: { issuer: string,
//!   tokenUse?: "id" | "access", usernameDomain?: string }): { valid, checks, claims,
//!   attested }` — SPEC §1.3.
//! - `checkCertificate(cert: object | string, chain: object | string, options?: {
//!   snapshot?: Uint8Array }): { valid, mainChainChecked, checks, tx, height,
//!   notBefore, notAfter }` — SPEC §3.
//! - `auditSnapshot(tarBytes: Uint8Array, chain: object | string, onProgress?:
//!   (done, total) => void)`: the fields of `zipchain audit --json` in camelCase,
//!   with `mainChain`, `valid` and `checks` — SPEC §6.
//! - `describeBlock(hex: string)`: a block's fields, for the page (not re-exported by
//!   the npm package).
//!
//! The npm package `zipchain-verifier` (`npm/`, `scripts/build-npm.sh`) wraps this
//! module's `wasm-bindgen --target web` output with `init()` and TypeScript types.
//!
//! Verdicts never throw: invalid input gives `valid: false` and `checks`, the list
//! of checks run in order, each `{ name, ok, detail }`, the last one failed and
//! named as the core names it ([`verifier_core::nsm::NsmError::check`],
//! `TimestampError::check`).
//! Only misuse throws a `TypeError`: an argument of the wrong type, an unknown
//! option, an option of the wrong type.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use serde::Serialize;
use serde::de::DeserializeOwned;
use verifier_core::chain::HashSeed;
use verifier_core::hash::Hash32;
use verifier_core::timestamp::TokenUse;
use verifier_core::verdict;
use verifier_core::verdict::certificate::CertificateView;
use verifier_core::verdict::jwt::JwksInput;
use verifier_core::verdict::nsm::NsmRequest;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::{JsValue, wasm_bindgen};

/// Runs once when the module is instantiated: makes a Rust panic show its message
/// in the JS console (a panic would otherwise surface only as "unreachable").
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// `H(bytes)`: the SHA3-256 of `bytes` (SPEC §0) as 64 lowercase hex digits.
///
/// Accepts any `Uint8Array` (or array of numbers); never throws for its contents.
#[wasm_bindgen(js_name = sha3_256Hex)]
pub fn sha3_256_hex(bytes: &[u8]) -> String {
    Hash32::digest(bytes).to_hex()
}

/// Verifies one AWS Nitro NSM attestation document (SPEC §1.5, §8).
///
/// `bytes` is a `Uint8Array` of the raw document. `options` (optional):
/// `root`, the trusted root as one PEM `CERTIFICATE` block (default AWS Nitro
/// Enclaves Root-G1); `atMs`, the Unix time in milliseconds to check the
/// certificates at (default the document's own timestamp); `allowDebug`, accept
/// debug-mode documents (default false).
///
/// Returns `{ valid, checks: [{ name, ok, detail }], document }`: `document` holds
/// the fields (bytes as lowercase hex) whenever the document parses, even when it
/// is invalid (then nothing in it is authenticated), and is `null` otherwise.
///
/// # Errors
/// A `TypeError` when `bytes` is not a `Uint8Array` or `options` is not an object
/// of the options above with the right types.
#[wasm_bindgen(js_name = verifyNsmDocument)]
pub fn verify_nsm_document(bytes: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let bytes = bytes
        .dyn_into::<js_sys::Uint8Array>()
        .map_err(|_| type_error("verifyNsmDocument: bytes must be a Uint8Array"))?;
    check_option_names(
        &options,
        &["root", "atMs", "allowDebug"],
        "verifyNsmDocument",
    )?;
    if !(options.is_undefined() || options.is_null() || options.is_object()) {
        return Err(type_error("verifyNsmDocument: options must be an object"));
    }
    let options = NsmOptions {
        root: option_string(&options, "root", "verifyNsmDocument")?,
        at_ms: option_safe_integer(&options, "atMs", "verifyNsmDocument")?,
        allow_debug: option_bool(&options, "allowDebug", "verifyNsmDocument")?,
    };
    let request = NsmRequest {
        root_pem: options.root.as_deref().map(|pem| (pem, "options.root")),
        at_ms: options.at_ms,
        allow_debug: options.allow_debug.unwrap_or(false).then_some("allowDebug"),
    };
    to_js(&verdict::nsm::verify(&bytes.to_vec(), &request))
}

/// Validates one Cognito-format RS256 timestamp JWT, archivally: `exp` is not
/// compared with any time (SPEC §1.3, §8).
///
/// `token` is the compact JWS as a string, exactly as issued (no surrounding
/// whitespace). `jwks` is the pool's JWK Set, as an object or as JSON text.
/// `options`: `issuer` (required), the exact `iss`; `tokenUse`, `"id"` (default)
/// or `"access"`; `usernameDomain`, when given the username must be
/// `<lowercase hex>@<domain>` and the hex is returned as `attested`.
///
/// Returns `{ valid, checks: [{ name, ok, detail }], claims, attested }`: `claims`
/// the verified claims object and `attested` the attested bytes as hex (or
/// `null`); both are `null` when the token is invalid. A JWKS that is not a set of
/// usable RS256 keys is a verdict too (check `jwks`).
///
/// # Errors
/// A `TypeError` when `token` is not a string, `jwks` neither an object nor a
/// string, or `options` not an object with a string `issuer` and the options
/// above with the right types.
#[wasm_bindgen(js_name = verifyTimestamp)]
pub fn verify_timestamp(
    token: JsValue,
    jwks: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let token = token
        .as_string()
        .ok_or_else(|| type_error("verifyTimestamp: token must be a string"))?;
    let jwks = if let Some(text) = jwks.as_string() {
        JwksInput::Json(text)
    } else if jwks.is_object() {
        JwksInput::Value(from_js(&jwks, "verifyTimestamp: jwks")?)
    } else {
        return Err(type_error(
            "verifyTimestamp: jwks must be a JWK Set object or its JSON text",
        ));
    };
    if !options.is_object() {
        return Err(type_error(
            "verifyTimestamp: options must be an object with at least `issuer`",
        ));
    }
    check_option_names(
        &options,
        &["issuer", "tokenUse", "usernameDomain"],
        "verifyTimestamp",
    )?;
    let options = TimestampOptions {
        issuer: option_string(&options, "issuer", "verifyTimestamp")?
            .ok_or_else(|| type_error("verifyTimestamp: options.issuer must be a string"))?,
        token_use: option_string(&options, "tokenUse", "verifyTimestamp")?,
        username_domain: option_string(&options, "usernameDomain", "verifyTimestamp")?,
    };
    let token_use = match options.token_use.as_deref() {
        None => TokenUse::Id,
        Some(name) => TokenUse::from_name(name).ok_or_else(|| {
            type_error(&format!(
                "verifyTimestamp: options.tokenUse must be \"id\" or \"access\", got {name:?}"
            ))
        })?,
    };
    to_js(&verdict::jwt::verify(
        &token,
        &jwks,
        options.issuer,
        token_use,
        options.username_domain,
    ))
}

/// Checks a certificate (SPEC §3, §8), offline.
///
/// `cert` is the certificate (`cert.json`) and `chain` the trust descriptor
/// (`chain.json`), each as an object or as JSON text. `options` (optional):
/// `snapshot`, a `.tar` of a snapshot (SPEC §2.1) as a `Uint8Array`; given it, the
/// snapshot is audited and the block's main-chain position, the transaction's
/// first occurrence and its position within the block (the batch's leaf index and
/// size, in `inclusion`) are checked too, and a sequencer that equivocated fails
/// the check `equivocation`. Without it, the `inclusion` detail says that the
/// position within the block is not proven.
///
/// Returns `{ valid, mainChainChecked, checks: [{ name, ok, detail }], tx, height,
/// notBefore, notAfter }`: `checks` are the core's checks in order
/// ([`verifier_core::certificate::check_certificate_with_snapshot`]: `format`, `chain`,
/// `lower_timestamp`, … and with a snapshot `main_chain`, `first_occurrence`, and
/// `equivocation` only when it fails);
/// `tx`, `height`, `notBefore`, `notAfter` are the certificate's claims (`null`
/// when it could not be read). `mainChainChecked` is `false` without a snapshot:
/// then `valid` says nothing about main-chain position. A trust descriptor that
/// cannot be used is the single failed check `trust_descriptor`; a snapshot that is
/// not a readable tar, a failed check `snapshot` after the others.
///
/// # Errors
/// A `TypeError` when `cert` or `chain` is neither an object nor a string, or
/// `options` is not an object whose only option, `snapshot`, is a `Uint8Array`.
#[wasm_bindgen(js_name = checkCertificate)]
pub fn check_certificate(
    cert: JsValue,
    chain: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let cert = json_text(
        cert,
        "checkCertificate: cert",
        "a certificate object or its JSON text",
    )?;
    let chain = json_text(
        chain,
        "checkCertificate: chain",
        "a trust descriptor object or its JSON text",
    )?;
    if !(options.is_undefined() || options.is_null() || options.is_object()) {
        return Err(type_error("checkCertificate: options must be an object"));
    }
    check_option_names(&options, &["snapshot"], "checkCertificate")?;
    let snapshot = if options.is_object() {
        let value = js_sys::Reflect::get(&options, &JsValue::from_str("snapshot"))?;
        if value.is_undefined() || value.is_null() {
            None
        } else {
            Some(
                value
                    .dyn_into::<js_sys::Uint8Array>()
                    .map_err(|_| {
                        type_error(
                            "checkCertificate: options.snapshot must be a Uint8Array (a .tar)",
                        )
                    })?
                    .to_vec(),
            )
        }
    } else {
        None
    };
    to_js(&CertificateView::from(verdict::certificate::check(
        &cert,
        &chain,
        snapshot.as_deref(),
        hash_seed(),
    )))
}

/// Audits a snapshot (SPEC §5, §6, §8): verifies every object, runs `omc` and
/// reports as `zipchain audit --json` does, in camelCase.
///
/// `tarBytes` is a `.tar` of a snapshot (SPEC §2.1) as a `Uint8Array`; `chain` the
/// trust descriptor as an object or JSON text; `onProgress` (optional) is called as
/// `onProgress(done, total)` while objects are examined (at most about a hundred
/// times, and always once at the end).
///
/// Returns the fields of `zipchain audit --json`: `mainChainHeight`,
/// `mainChainTip`, `blocks`, `timestamps`, `attestations`, `batches`,
/// `orphanedBlocks`, `invalidObjects` (`[{ kind, key, reason }]`), `sequenceGapAt`,
/// `equivocations` (`[{ sequence, attestations, ys }]`), `transactionsFinal`,
/// `firstTime`, `lastTime`; and beside them `mainChain` (the block hashes, `b0`
/// first), `valid` (as `zipchain audit`'s exit status: a non-empty main chain and
/// no equivocation) and `checks` (`trust_descriptor`, `snapshot`, `main_chain`,
/// `equivocation`). A trust descriptor or tar that cannot be read is a verdict
/// naming it, with nothing counted.
///
/// # Errors
/// A `TypeError` when `tarBytes` is not a `Uint8Array`, `chain` neither an object
/// nor a string, or `onProgress` given but not a function; whatever `onProgress`
/// throws is rethrown once the audit is done (it is not called again after it threw).
#[wasm_bindgen(js_name = auditSnapshot)]
pub fn audit_snapshot(
    tar_bytes: JsValue,
    chain: JsValue,
    on_progress: JsValue,
) -> Result<JsValue, JsValue> {
    let tar = tar_bytes
        .dyn_into::<js_sys::Uint8Array>()
        .map_err(|_| type_error("auditSnapshot: tarBytes must be a Uint8Array (a .tar)"))?
        .to_vec();
    let chain = json_text(
        chain,
        "auditSnapshot: chain",
        "a trust descriptor object or its JSON text",
    )?;
    let callback = if on_progress.is_undefined() || on_progress.is_null() {
        None
    } else {
        Some(
            on_progress
                .dyn_into::<js_sys::Function>()
                .map_err(|_| type_error("auditSnapshot: onProgress must be a function"))?,
        )
    };
    let mut thrown: Option<JsValue> = None;
    let mut last_reported = 0usize;
    let mut progress = |done: usize, total: usize| {
        let Some(f) = &callback else { return };
        if thrown.is_some() {
            return;
        }
        let step = (total / 100).max(1);
        if done != total && done < last_reported.saturating_add(step) {
            return;
        }
        last_reported = done;
        if let Err(e) = f.call2(
            &JsValue::NULL,
            &JsValue::from(done as f64),
            &JsValue::from(total as f64),
        ) {
            thrown = Some(e);
        }
    };
    let verdict = verdict::audit::audit_tar(&tar, &chain, hash_seed(), &mut progress);
    if let Some(e) = thrown {
        return Err(e);
    }
    to_js(&verdict)
}

/// A certificate's `block` (81 bytes as hex, SPEC §1.2) decoded for display:
/// `{ uuid, batchRoot, parentTimestamp }`, or `null` when it is not a block. Not
/// part of the npm package's API (SPEC §8): the page shows it beside the verdict.
#[wasm_bindgen(js_name = describeBlock)]
pub fn describe_block(hex: &str) -> Result<JsValue, JsValue> {
    to_js(&verdict::certificate::describe_block(hex))
}

/// `cert`/`chain` as JSON text: a string as it is, an object serialised.
fn json_text(value: JsValue, what: &str, expected: &str) -> Result<String, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    if !value.is_object() || value.is_function() {
        return Err(type_error(&format!("{what} must be {expected}")));
    }
    json_stringify(&value, what)
}

/// A secret seed for the audit's hash maps: std has no random source on
/// `wasm32-unknown-unknown`, so it comes from JS (`Math.random`, 2 × 32 bits; only its
/// unpredictability matters, see `HashSeed`).
fn hash_seed() -> HashSeed {
    #[cfg(target_arch = "wasm32")]
    {
        let half = || (js_sys::Math::random() * 4_294_967_296.0) as u64;
        HashSeed::new(half() << 32 | half())
    }
    #[cfg(not(target_arch = "wasm32"))]
    HashSeed::random()
}

/// `verifyNsmDocument`'s options, as JS passes them.
#[derive(Debug, Default)]
struct NsmOptions {
    /// The trusted root as PEM; `None` for AWS Nitro Enclaves Root-G1.
    root: Option<String>,
    /// The time to check certificates at, Unix milliseconds.
    at_ms: Option<u64>,
    /// Accept debug-mode documents.
    allow_debug: Option<bool>,
}

/// `verifyTimestamp`'s options, as JS passes them.
#[derive(Debug)]
struct TimestampOptions {
    /// The exact `iss`.
    issuer: String,
    /// `"id"` or `"access"`.
    token_use: Option<String>,
    /// The username domain, when usernames carry attested bytes.
    username_domain: Option<String>,
}

/// A JS `TypeError` with `message`.
fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// Throws a `TypeError` for an option not in `known` (a misspelt option would
/// otherwise be ignored silently). `undefined` and `null` have no options.
fn check_option_names(options: &JsValue, known: &[&str], function: &str) -> Result<(), JsValue> {
    let Some(object) = options.dyn_ref::<js_sys::Object>() else {
        return Ok(());
    };
    for name in js_sys::Object::keys(object).iter() {
        let name = name.as_string().unwrap_or_default();
        if !known.contains(&name.as_str()) {
            return Err(type_error(&format!(
                "{function}: unknown option {name:?}; expected one of {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Option `name` of `options`: `None` when `options` is not an object, or the
/// option is absent, `undefined` or `null`.
fn option_value(options: &JsValue, name: &str) -> Result<Option<JsValue>, JsValue> {
    if !options.is_object() {
        return Ok(None);
    }
    let value = js_sys::Reflect::get(options, &JsValue::from_str(name))?;
    Ok((!value.is_undefined() && !value.is_null()).then_some(value))
}

/// Option `name` read by `read`, or a `TypeError` saying it must be `expected`.
fn option_as<T>(
    options: &JsValue,
    name: &str,
    function: &str,
    expected: &str,
    read: fn(&JsValue) -> Option<T>,
) -> Result<Option<T>, JsValue> {
    option_value(options, name)?
        .map(|value| {
            read(&value).ok_or_else(|| {
                type_error(&format!("{function}: options.{name} must be {expected}"))
            })
        })
        .transpose()
}

/// A string option, or a `TypeError` naming it.
fn option_string(options: &JsValue, name: &str, function: &str) -> Result<Option<String>, JsValue> {
    option_as(options, name, function, "a string", JsValue::as_string)
}

/// A boolean option, or a `TypeError` naming it.
fn option_bool(options: &JsValue, name: &str, function: &str) -> Result<Option<bool>, JsValue> {
    option_as(options, name, function, "a boolean", JsValue::as_bool)
}

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A non-negative integer option (a number that is a safe integer), or a `TypeError`.
fn option_safe_integer(
    options: &JsValue,
    name: &str,
    function: &str,
) -> Result<Option<u64>, JsValue> {
    option_as(
        options,
        name,
        function,
        "a non-negative integer number",
        |value| match value.as_f64() {
            Some(n) if (0.0..=MAX_SAFE_INTEGER).contains(&n) && n.fract() == 0.0 => Some(n as u64),
            _ => None,
        },
    )
}

/// `JSON.stringify(value)` for an object argument, or a `TypeError` naming it
/// (a BigInt or a cycle in it).
fn json_stringify(value: &JsValue, what: &str) -> Result<String, JsValue> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| type_error(&format!("{what} cannot be converted to JSON")))
}

/// Converts an object argument to a JSON value (through `JSON.stringify`), or
/// throws a `TypeError` naming it.
fn from_js<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    serde_json::from_str(&json_stringify(value, what)?)
        .map_err(|e| type_error(&format!("{what}: {e}")))
}

/// Converts a result to a plain JS object (maps as objects, absent as `null`):
/// serialised as JSON text and parsed by `JSON.parse`, which costs the module far
/// less than a serde serializer into JS values (issue #5). Every number in a
/// result is an integer below 2^53.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| JsValue::from_str(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha3_256_hex_abc() {
        // FIPS 202 example "abc"; npm/test/package.test.mjs checks the same value through the package.
        assert_eq!(
            sha3_256_hex(b"abc"),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
    }
}
