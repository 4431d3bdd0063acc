//! The checkpoint body of a zipchain main chain (SPEC §9.2, C2SP tlog-checkpoint):
//! `zipchain/<hex genesis>\n<n>\n<base64 root>\n`, with no extension lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::tree::LogHash;
use crate::hash::Hash32;
use crate::text::bounded;

/// The origin line of the chain whose genesis block hash is `genesis`.
pub fn origin(genesis: &Hash32) -> String {
    format!("zipchain/{genesis}")
}

/// A checkpoint: the log's origin, its size and its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The origin line.
    pub origin: String,
    /// The number of entries, `n = h + 1`.
    pub size: u64,
    /// The SHA-256 root of the tree of the `n` entries.
    pub root: LogHash,
}

/// Why a note's text is not a checkpoint body.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Not three lines: origin, size, root.
    #[error("a checkpoint body is three lines (origin, size, root), got {lines}")]
    Lines {
        /// How many lines there were.
        lines: usize,
    },
    /// The size is not a decimal number without leading zeros (its line, shortened when
    /// long).
    #[error("the size {0:?} is not a decimal number without leading zeros")]
    Size(String),
    /// The root is not the standard padded base64 of 32 bytes (its line, shortened when
    /// long).
    #[error("the root {0:?} is not the standard base64 of 32 bytes")]
    Root(String),
    /// The origin is empty.
    #[error("the origin line is empty")]
    Origin,
}

impl Checkpoint {
    /// The origin line as a message quotes it: whole when short, otherwise shortened
    /// with its length (an origin is any line a request sends).
    pub fn origin_shown(&self) -> String {
        crate::text::bounded(&self.origin)
    }

    /// The body: three lines, each ending in `\n`.
    pub fn to_body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Reads a checkpoint body strictly: exactly three lines, each ending in `\n`.
    ///
    /// # Errors
    /// [`CheckpointError`] naming what is wrong.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let lines: Vec<&str> = body
            .strip_suffix('\n')
            .unwrap_or(body)
            .split('\n')
            .collect();
        if !body.ends_with('\n') || lines.len() != 3 {
            return Err(CheckpointError::Lines { lines: lines.len() });
        }
        let (origin, size, root) = (lines[0], lines[1], lines[2]);
        if origin.is_empty() {
            return Err(CheckpointError::Origin);
        }
        let size_value = parse_size(size).ok_or_else(|| CheckpointError::Size(bounded(size)))?;
        let root_value: LogHash = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| CheckpointError::Root(bounded(root)))?;
        Ok(Self {
            origin: origin.to_owned(),
            size: size_value,
            root: root_value,
        })
    }
}

/// A tree size as C2SP writes it: ASCII decimal without leading zeros (`0` alone for
/// zero), at most `u64::MAX`.
pub fn parse_size(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    text.parse::<u64>().ok().filter(|_| canonical)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Found by the long run of the `checkpoint` fuzz target (docs/FUZZING.md): a long
    /// size or root line came back whole in the message (escaped, up to eight times its
    /// length).
    #[test]
    fn a_long_bad_line_is_quoted_within_bounds() {
        let long = "\u{1b}".repeat(4000);
        let root = STANDARD.encode([7u8; 32]);
        for body in [format!("o\n17\n{long}\n"), format!("o\n{long}\n{root}\n")] {
            let message = Checkpoint::parse(&body).unwrap_err().to_string();
            assert!(message.len() < 512, "{} bytes: {message}", message.len());
        }
    }

    #[test]
    fn a_body_round_trips_and_bad_bodies_are_named() {
        let c = Checkpoint {
            origin: origin(&Hash32([0xab; 32])),
            size: 17,
            root: [7; 32],
        };
        let body = c.to_body();
        assert!(body.starts_with(&format!("zipchain/{}\n17\n", "ab".repeat(32))));
        assert_eq!(Checkpoint::parse(&body), Ok(c.clone()));
        let root = STANDARD.encode([7u8; 32]);
        for (bad, what) in [
            (format!("o\n17\n{root}"), "lines"),
            (format!("o\n17\n{root}\next\n"), "lines"),
            (format!("o\n017\n{root}\n"), "size"),
            (format!("o\n+17\n{root}\n"), "size"),
            (format!("o\n\n{root}\n"), "size"),
            ("o\n17\nAAAA\n".to_owned(), "root"),
            (format!("o\n17\n{}\n", root.trim_end_matches('=')), "root"),
            (format!("\n17\n{root}\n"), "origin"),
        ] {
            let err = Checkpoint::parse(&bad).unwrap_err();
            let named = match err {
                CheckpointError::Lines { .. } => "lines",
                CheckpointError::Size(_) => "size",
                CheckpointError::Root(_) => "root",
                CheckpointError::Origin => "origin",
            };
            assert_eq!(named, what, "{bad:?}: {err}");
        }
    }
}
