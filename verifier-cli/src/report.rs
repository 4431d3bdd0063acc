//! Output for people and for programs. Library crates never print; this module does.

use std::io::Write;

/// Prints one JSON document on stdout, fields in the order the type declares them.
/// A closed pipe is not an error.
pub(crate) fn print_json(value: &impl serde::Serialize) {
    let mut out = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
    let _ = writeln!(out, "{text}");
}

/// Prints human text on stdout. A closed pipe is not an error.
pub(crate) fn print_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
}

/// Unix seconds as an RFC 3339 UTC time, e.g. `2024-09-07T14:37:39Z`.
pub(crate) fn rfc3339_seconds(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Unix milliseconds as an RFC 3339 UTC time with milliseconds.
pub(crate) fn rfc3339_millis(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

/// The `  ok    name` or `  FAIL  name: reason` line of one check.
pub(crate) fn check_line(name: &str, ok: bool, detail: &str) -> String {
    if ok {
        format!("  ok    {name}\n")
    } else {
        format!("  FAIL  {name}: {detail}\n")
    }
}
