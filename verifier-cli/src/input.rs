//! Reading what the user names: files, stdin, PEM. Every failure here is exit code 2.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Input that could not be read or understood (exit code 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A snapshot directory, or an object in it, could not be read.
    #[error(transparent)]
    Dir(#[from] snapshot_fs::dir::DirError),
    /// An audit state directory (`--state`) could not be used.
    #[error(transparent)]
    State(#[from] snapshot_fs::audit_state::StateDirError),
    /// The input was read but is not of the expected form.
    #[error("{what}: {reason}")]
    Malformed {
        /// What was being read.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl InputError {
    /// A malformed-input error about `what`.
    pub(crate) fn malformed(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// Reads a whole file, or stdin when the path is `-`.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|source| InputError::Read {
                path: path.to_owned(),
                source,
            })?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads a UTF-8 text file (or stdin for `-`).
pub(crate) fn read_text(path: &Path) -> Result<String, InputError> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes)
        .map_err(|_| InputError::malformed(path.display().to_string(), "not UTF-8 text"))
}

/// Strips exactly one trailing `\n` or `\r\n`, as editors and `echo` add one.
pub(crate) fn strip_one_newline(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}
