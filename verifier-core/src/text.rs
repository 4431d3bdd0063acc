//! Error text that stays short whatever the input holds: errors end up in reports,
//! logs and JSON verdicts, so they quote at most a bounded part of what they found.

/// The most bytes of an input's text that an error shows, counted as the text is
/// printed with `{:?}` (escapes included). Enough for every real Cognito issuer
/// (at most about 75 characters quoted) and kid (44); anything longer is input no
/// honest token or descriptor has.
pub(crate) const SHOWN_BYTES: usize = 96;

/// The most bytes of a parser's message (which may quote input) an error keeps whole.
const REASON_BYTES: usize = 192;

/// `text` as an error may show it (a claim value, a key id, an issuer, a name): whole
/// when it fits in [`SHOWN_BYTES`] bytes printed, otherwise the longest prefix that fits,
/// cut at a character boundary, followed by `…(N bytes)` with `N` the length of the whole
/// text. So an error's `Display` and fields stay short whatever an input holds: errors
/// end up in reports, logs and JSON verdicts.
pub(crate) fn bounded(text: &str) -> String {
    match prefix_within(text, SHOWN_BYTES) {
        None => text.to_string(),
        Some(head) => format!("{head}…({} bytes)", text.len()),
    }
}

/// A parser's message as an error keeps it (`serde_json` and webpki messages quote the
/// offending input, and their useful end, such as `at line 1 column 9`, comes after
/// it): whole when it fits in [`REASON_BYTES`] bytes printed, otherwise its beginning
/// and its end around `…(N bytes)…`.
pub(crate) fn bounded_reason(text: &str) -> String {
    if prefix_within(text, REASON_BYTES).is_none() {
        return text.to_string();
    }
    let head = prefix_within(text, 2 * REASON_BYTES / 3).unwrap_or(text);
    let tail = suffix_within(text, REASON_BYTES / 4);
    format!("{head}…({} bytes)…{tail}", text.len())
}

/// How many bytes `c` takes when printed with `{:?}` (never less than its UTF-8 length).
fn printed_len(c: char) -> usize {
    c.escape_debug().map(char::len_utf8).sum()
}

/// The longest prefix of `text` that prints within `max` bytes, or `None` when all of
/// `text` does.
fn prefix_within(text: &str, max: usize) -> Option<&str> {
    let mut printed = 0;
    for (at, c) in text.char_indices() {
        printed += printed_len(c);
        if printed > max {
            return text.get(..at);
        }
    }
    None
}

/// The longest suffix of `text` that prints within `max` bytes.
fn suffix_within(text: &str, max: usize) -> &str {
    let mut printed = 0;
    let mut start = text.len();
    for (at, c) in text.char_indices().rev() {
        printed += printed_len(c);
        if printed > max {
            break;
        }
        start = at;
    }
    text.get(start..).unwrap_or_default()
}
