//! The latest checkpoint a witness cosigned, kept as a file holding its body (SPEC §9.3:
//! "it keeps the latest one it cosigned"): `zipchain cosign --state FILE`, and the file
//! of each origin under `zipchain witness serve --state DIR`. Written atomically and
//! durably (fsynced, its directory too) before any cosignature leaves the process.

use std::path::Path;

use snapshot_fs::atomic::{read_if_exists, write_atomic};
use verifier_core::tlog::checkpoint::Checkpoint;

use crate::input::InputError;

/// The checkpoint in `path`, `None` when there is no file yet (before the first
/// cosignature). An unreadable or damaged file is an error, never `None`: a witness
/// that forgot what it cosigned could go back.
pub(crate) fn read(path: &Path) -> Result<Option<Checkpoint>, InputError> {
    let bytes = read_if_exists(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })?;
    let what = || format!("the state file {}", path.display());
    bytes
        .map(|bytes| {
            let text = String::from_utf8(bytes)
                .map_err(|_| InputError::malformed(what(), "not UTF-8 text"))?;
            Checkpoint::parse(&text).map_err(|e| InputError::malformed(what(), e))
        })
        .transpose()
}

/// Replaces the checkpoint in `path` with `checkpoint`, atomically and durably.
pub(crate) fn write(path: &Path, checkpoint: &Checkpoint) -> Result<(), InputError> {
    write_atomic(path, checkpoint.to_body().as_bytes()).map_err(|source| InputError::Write {
        path: path.to_owned(),
        source,
    })
}
