//! Crash-safe file writes: a temporary file in the same directory, fsync, then rename
//! (or hard link, to never overwrite), then fsync of the directory.
//!
//! After a crash the target holds either its old content or all of the new bytes, never
//! a part. Errors are [`std::io::Error`]s; callers name the path in their own errors.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

/// How [`write_atomic_with`] writes. The default replaces the target, durably, with the
/// process's default permissions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// A private file: mode 0600 on Unix (ignored elsewhere).
    pub private: bool,
    /// What to do when the target exists.
    pub existing: Existing,
    /// Whether the write is fsynced.
    pub durability: Durability,
}

/// What to do when the target of a write exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Existing {
    /// Leave it, and report [`Written::AlreadyExists`]. The new file is hard-linked into
    /// place, which fails when the name exists, so a concurrent creator never loses its
    /// file to ours.
    Keep,
    /// Replace it atomically (rename over it).
    #[default]
    Replace,
}

/// The outcome of [`write_atomic_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The target existed and was kept (only with [`Existing::Keep`]).
    AlreadyExists,
    /// The target now holds the new bytes.
    Written,
}

/// How much of a write survives what.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// The file is fsynced but not its directory: the write is durable once the caller
    /// syncs the directory ([`sync_dir`]), one fsync for many files written into one
    /// directory instead of one each.
    FileSynced,
    /// The file and its directory are fsynced: after a machine crash the target holds its
    /// old content or all of the new bytes.
    #[default]
    Synced,
    /// No fsync: readers never see a partial file, but a machine crash may lose the write
    /// (scratch and test snapshots, where an fsync per file costs more than the file).
    Unsynced,
}

/// Writes `bytes` to `path` atomically and durably, replacing what was there: after a
/// crash `path` holds either its old content or all of `bytes`.
///
/// # Errors
/// The first I/O error (the temporary file is removed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, Options::default()).map(|_| ())
}

/// [`write_atomic`] of the concatenation of `parts`, without copying them into one
/// buffer first.
///
/// # Errors
/// The first I/O error (the temporary file is removed).
pub fn write_atomic_parts(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    place(path, parts, Options::default())?;
    sync_dir(parent(path))
}

/// Writes `bytes` to `path` atomically, as `options` say: private or not, replacing or
/// keeping an existing file, synced or not.
///
/// # Errors
/// The first I/O error (the temporary file is removed); an existing target with
/// [`Existing::Keep`] is [`Written::AlreadyExists`], not an error.
pub fn write_atomic_with(path: &Path, bytes: &[u8], options: Options) -> io::Result<Written> {
    let written = place(path, &[bytes], options)?;
    if options.durability == Durability::Synced {
        sync_dir(parent(path))?;
    }
    Ok(written)
}

/// [`write_atomic_with`] of the concatenation of `parts`, without the fsync of the
/// directory.
fn place(path: &Path, parts: &[&[u8]], options: Options) -> io::Result<Written> {
    let temp = parent(path).join(temporary_name(path, std::process::id(), nonce()?));
    let mut file = open_new(&temp, options.private)?;
    let filled = parts
        .iter()
        .try_for_each(|bytes| file.write_all(bytes))
        .and_then(|()| match options.durability {
            Durability::FileSynced | Durability::Synced => file.sync_all(),
            Durability::Unsynced => Ok(()),
        });
    drop(file);
    let placed = filled.and_then(|()| match options.existing {
        Existing::Replace => fs::rename(&temp, path).map(|()| Written::Written),
        Existing::Keep => match fs::hard_link(&temp, path) {
            Ok(()) => Ok(Written::Written),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Written::AlreadyExists),
            Err(e) => Err(e),
        },
    });
    // After a rename the temporary name is gone; after a link, or a failure, remove it.
    if placed.is_err() || options.existing == Existing::Keep {
        let _ = fs::remove_file(&temp);
    }
    placed
}

/// The name of the temporary file for `path`: `.<file name>.<pid>.<16 hex nonce>.tmp`.
fn temporary_name(path: &Path, pid: u32, nonce: u64) -> String {
    format!(
        ".{}.{pid}.{nonce:016x}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
    )
}

/// Whether `name` is the name of a temporary file [`write_atomic_with`] makes for some
/// target (`.<target name>.<pid>.<16 hex nonce>.tmp`): one that an interrupted process
/// (SIGKILL, a crash) left behind, or one being written right now.
pub fn is_temporary_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((rest, nonce)) = inner.rsplit_once('.') else {
        return false;
    };
    let Some((target, pid)) = rest.rsplit_once('.') else {
        return false;
    };
    !target.is_empty()
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && nonce.len() == 16
        && nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The temporary file's nonce: random, not a per-process counter.
///
/// The temporary file is created with `create_new`, so it is always a file this call
/// made, with this call's mode (0600 when private). Process ids repeat (a daemon in a
/// container is pid 1 on every start), so a counter with the pid would meet the
/// temporary files a crashed run left behind: `create_new` would then fail on every
/// start, and reusing the file instead would keep its old permissions. 64 random bits
/// cost one `getrandom` call, small next to the fsyncs.
fn nonce() -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("random source: {e}")))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Creates `temp`, which must not exist; private (0600) on Unix when `private`.
fn open_new(temp: &Path, private: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(temp)
}

/// Makes the renames, creations and deletions in `dir` durable (fsync of the directory;
/// nothing to do outside Unix, where a directory cannot be opened as a file).
///
/// # Errors
/// The I/O error.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` and its parents (nothing to do when it exists).
///
/// # Errors
/// The I/O error.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Reads `path`; `Ok(None)` when it does not exist.
///
/// # Errors
/// Any I/O error but "not found".
pub fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// `path`'s directory (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cursor");
        write_atomic(&path, b"1\n").unwrap();
        write_atomic(&path, b"22\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"22\n");
        assert_eq!(names(dir.path()), ["cursor"]);
    }

    #[test]
    fn keep_leaves_an_existing_file_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let keep = Options {
            existing: Existing::Keep,
            ..Options::default()
        };
        assert_eq!(
            write_atomic_with(&path, b"first", keep).unwrap(),
            Written::Written
        );
        assert_eq!(
            write_atomic_with(&path, b"second", keep).unwrap(),
            Written::AlreadyExists
        );
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["key.pem"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_mode_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let private = Options {
            private: true,
            ..Options::default()
        };
        write_atomic_with(&path, b"{}", private).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn unsynced_writes_are_whole_files_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("object");
        let unsynced = Options {
            durability: Durability::Unsynced,
            ..Options::default()
        };
        write_atomic_with(&path, b"bytes", unsynced).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"bytes");
        assert_eq!(names(dir.path()), ["object"]);
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let target = dir.path().join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        assert!(write_atomic(&target, b"bytes").is_err());
        assert_eq!(names(dir.path()), ["taken"]);
        // A missing directory: nothing is created at all.
        let err = write_atomic(&dir.path().join("no/such/file"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn temporary_names_are_recognised_and_nothing_else() {
        let target = Path::new("blocks").join("ab".repeat(32));
        for (pid, nonce) in [(1, 0), (4_000_000, u64::MAX), (77, 0x0123_4567_89ab_cdef)] {
            let name = temporary_name(&target, pid, nonce);
            assert!(is_temporary_name(&name), "{name}");
        }
        for name in [
            "ab".repeat(32),
            ".x.1.0123456789abcdef".into(),
            "x.1.0123456789abcdef.tmp".into(),
            "..1.0123456789abcdef.tmp".into(),
            ".x..0123456789abcdef.tmp".into(),
            ".x.1.0123456789ABCDEF.tmp".into(),
            ".x.1.0123456789abcde.tmp".into(),
            ".x.a1.0123456789abcdef.tmp".into(),
            ".tmp".into(),
            String::new(),
        ] {
            assert!(!is_temporary_name(&name), "{name}");
        }
    }

    #[test]
    fn helpers() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        create_dir(&deep).unwrap();
        create_dir(&deep).unwrap();
        sync_dir(&deep).unwrap();
        assert_eq!(read_if_exists(&deep.join("none")).unwrap(), None);
        fs::write(deep.join("some"), b"x").unwrap();
        assert_eq!(
            read_if_exists(&deep.join("some")).unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(parent(Path::new("bare")), Path::new("."));
        assert_eq!(parent(Path::new("a/b")), Path::new("a"));
    }
}
