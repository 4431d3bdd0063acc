//! Crash-safe file writes: a temporary file in the same directory, fsync, then rename
//! (or link, to refuse overwriting), then fsync of the directory.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use crate::ServiceError;

/// What to do when the target exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Replace it atomically.
    Replace,
    /// Leave it; report [`Written::AlreadyExists`].
    Keep,
}

/// The outcome of [`write_atomic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// The file now holds the new bytes.
    Written,
    /// The file existed and was kept (only with [`Existing::Keep`]).
    AlreadyExists,
}

/// Writes `bytes` to `path` atomically; a private file (mode 0600 on Unix) when `private`.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    private: bool,
    existing: Existing,
) -> Result<Written, ServiceError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| ServiceError::Random {
        reason: e.to_string(),
    })?;
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        hex::encode(nonce)
    ));
    let result = write_temp(&temp, bytes, private).and_then(|()| match existing {
        Existing::Replace => fs::rename(&temp, path)
            .map(|()| Written::Written)
            .map_err(|e| ServiceError::io(path, &e)),
        // A hard link fails if the target exists, so a concurrent creator never loses
        // its file to ours.
        Existing::Keep => match fs::hard_link(&temp, path) {
            Ok(()) => Ok(Written::Written),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Written::AlreadyExists),
            Err(e) => Err(ServiceError::io(path, &e)),
        },
    });
    // After a rename the temporary name is gone; after a link (or a failure) remove it.
    let _ = fs::remove_file(&temp);
    let written = result?;
    sync_dir(dir)?;
    Ok(written)
}

fn write_temp(temp: &Path, bytes: &[u8], private: bool) -> Result<(), ServiceError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(temp).map_err(|e| ServiceError::io(temp, &e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ServiceError::io(temp, &e))
}

/// Makes a rename or link in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), ServiceError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ServiceError::io(dir, &e))?;
    }
    #[cfg(not(unix))]
    let _ = (dir, File::open);
    Ok(())
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<(), ServiceError> {
    fs::create_dir_all(dir).map_err(|e| ServiceError::io(dir, &e))
}

/// Reads `path`; `Ok(None)` when it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, ServiceError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ServiceError::io(path, &e)),
    }
}
