//! Reading a snapshot (SPEC §2.1) from a directory or a `.tar`, for the core.
//!
//! A directory is listed kind by kind when an audit asks for it, and its objects are
//! read on demand (in parallel during an audit, one by one when a certificate is made),
//! so a large snapshot is never held in memory whole. A `.tar` is read into memory and
//! parsed by the core.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use verifier_core::certificate::ObjectSource;
use verifier_core::chain::AuditSource;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, Snapshot, classify_path};

use crate::input::{InputError, read_bytes};

/// A snapshot the CLI can audit.
pub(crate) enum SnapshotInput {
    /// A directory in the SPEC §2.1 layout.
    Dir(DirSnapshot),
    /// A `.tar` of one, parsed into memory.
    Tar(Snapshot),
}

/// A snapshot directory: its objects are listed and read on demand.
pub(crate) struct DirSnapshot {
    root: PathBuf,
    /// Each kind's directory once listed (in [`ObjectKind::ALL`] order), to read by.
    listed: [OnceLock<KindDir>; 4],
}

impl SnapshotInput {
    /// Opens `path`: a directory, or a file read as a tar archive.
    pub(crate) fn open(path: &Path) -> Result<Self, InputError> {
        let meta = std::fs::metadata(path).map_err(|source| InputError::Read {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            return Ok(Self::Dir(DirSnapshot::new(path)));
        }
        let bytes = read_bytes(path)?;
        let snapshot = Snapshot::from_tar(&bytes)
            .map_err(|e| InputError::malformed(path.display().to_string(), e))?;
        Ok(Self::Tar(snapshot))
    }
}

impl DirSnapshot {
    /// The snapshot directory at `root`, not listed yet.
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            listed: Default::default(),
        }
    }

    /// The objects of `kind`: every regular file of its directory named by 64 lowercase
    /// hex digits, sorted by name (none when the directory does not exist).
    pub(crate) fn list(&self, kind: ObjectKind) -> Result<KindDir, InputError> {
        let path = self.root.join(kind.dir());
        let read_err = |source| InputError::Read {
            path: path.clone(),
            source,
        };
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KindDir {
                    names: Vec::new(),
                    kind,
                    handle: None,
                    path,
                });
            }
            Err(source) => return Err(read_err(source)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(read_err)?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if classify_path(&format!("{}/{name}", kind.dir())).is_some()
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                names.push(name);
            }
        }
        names.sort_unstable();
        let handle = DirHandle::open(&path).map_err(read_err)?;
        Ok(KindDir {
            names,
            kind,
            handle: Some(handle),
            path,
        })
    }
}

/// One kind's directory, listed: the object names, and a handle to read them by.
pub(crate) struct KindDir {
    /// The object file names (64 lowercase hex digits), sorted.
    pub(crate) names: Vec<String>,
    kind: ObjectKind,
    handle: Option<DirHandle>,
    path: PathBuf,
}

impl KindDir {
    /// Reads object `name` into `buf` (reused between calls, grown as needed) and
    /// passes its bytes to `f`. A file larger than its kind's limit
    /// ([`ObjectKind::max_len`]) is refused unread; one larger than [`LARGE_OBJECT`]
    /// is read while no other thread reads one (so a snapshot of many large files
    /// holds one at a time), and `buf` gives its memory back afterwards. The error
    /// names the file.
    pub(crate) fn with_object<R>(
        &self,
        name: &str,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, InputError> {
        let path = || self.path.join(name);
        let read_err = |source| InputError::Read {
            path: path(),
            source,
        };
        let handle = self
            .handle
            .as_ref()
            .ok_or_else(|| read_err(std::io::Error::from(std::io::ErrorKind::NotFound)))?;
        let mut file = handle.open_file(name).map_err(read_err)?;
        let size = file.metadata().map_err(read_err)?.len();
        if let Some(reason) = self.kind.oversize_reason(size) {
            return Err(InputError::malformed(path().display().to_string(), reason));
        }
        let _one_at_a_time = (size > LARGE_OBJECT).then(|| {
            LARGE_READS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        let len = read_capped(&mut file, self.kind.max_len(), buf).map_err(read_err)?;
        let out = match buf.get(..len) {
            Some(bytes) => f(bytes),
            None => f(&[]),
        };
        if buf.capacity() as u64 > LARGE_OBJECT {
            *buf = Vec::new();
        }
        Ok(out)
    }
}

/// Objects larger than this (16 MiB; only batches can be) are read one at a time.
pub(crate) const LARGE_OBJECT: u64 = 16 << 20;

/// Held while a large object is read and examined.
static LARGE_READS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Reads `file` to its end into `buf` (see [`read_whole`]), refusing one that turns out
/// longer than `max` bytes (it grew after its size was read).
fn read_capped(file: &mut File, max: u64, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let len = read_whole(&mut file.take(max.saturating_add(1)), buf)?;
    if len as u64 > max {
        return Err(std::io::Error::other(format!(
            "the file grew past {max} bytes while it was read"
        )));
    }
    Ok(len)
}

/// Reads `file` to its end into `buf`: one `read` for a file that fits and one that
/// returns 0, with no `statx`/`lseek` for a size hint and no allocation once `buf` is
/// as large as the largest object (what `std::fs::read` spends on each of 400k files).
fn read_whole(file: &mut impl std::io::Read, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            let grown = buf.len().saturating_mul(2).max(64 * 1024);
            buf.resize(grown, 0);
        }
        let spare = buf.get_mut(filled..).unwrap_or_default();
        match file.read(spare) {
            Ok(0) => return Ok(filled),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// An open directory that files are opened relative to (`openat`), so that each of
/// its 100k objects costs one path component to look up, not the whole path.
#[cfg(unix)]
struct DirHandle(std::os::fd::OwnedFd);

#[cfg(unix)]
impl DirHandle {
    fn open(path: &Path) -> std::io::Result<Self> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self(fd))
    }

    fn open_file(&self, name: &str) -> std::io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::openat(
            &self.0,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }
}

/// Elsewhere, files are opened by their whole path.
#[cfg(not(unix))]
struct DirHandle(PathBuf);

#[cfg(not(unix))]
impl DirHandle {
    fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self(path.to_owned()))
    }

    fn open_file(&self, name: &str) -> std::io::Result<File> {
        File::open(self.0.join(name))
    }
}

impl ObjectSource for DirSnapshot {
    /// The object's bytes, refused unread when the file is larger than its kind's
    /// limit ([`ObjectKind::max_len`]).
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        let path = self.root.join(kind.dir()).join(key.to_hex());
        let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(cannot(e)),
        };
        let size = file.metadata().map_err(cannot)?.len();
        if let Some(reason) = kind.oversize_reason(size) {
            return Err(format!("{}: {reason}", path.display()));
        }
        let mut buf = Vec::new();
        let len = read_capped(&mut file, kind.max_len(), &mut buf).map_err(cannot)?;
        buf.truncate(len);
        Ok(Some(buf))
    }
}

/// The audit lists each kind once and reads objects through that listing's handle.
impl AuditSource for DirSnapshot {
    type Error = InputError;

    fn names(&self, kind: ObjectKind) -> Result<Vec<String>, InputError> {
        let listing = self.list(kind)?;
        let names = listing.names.clone();
        let _ = self.listed[kind_index(kind)].set(listing);
        Ok(names)
    }

    fn with_object(
        &self,
        kind: ObjectKind,
        name: &str,
        buf: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), String> {
        let listing = self.listed[kind_index(kind)]
            .get()
            .ok_or_else(|| format!("{} was not listed", kind.dir()))?;
        listing.with_object(name, buf, f).map_err(|e| e.to_string())
    }
}

/// `kind`'s place in [`ObjectKind::ALL`].
fn kind_index(kind: ObjectKind) -> usize {
    ObjectKind::ALL
        .iter()
        .position(|&k| k == kind)
        .unwrap_or_default()
}

impl AuditSource for SnapshotInput {
    type Error = InputError;

    fn names(&self, kind: ObjectKind) -> Result<Vec<String>, InputError> {
        match self {
            Self::Dir(d) => d.names(kind),
            Self::Tar(s) => Ok(s.names(kind).unwrap_or_else(|never| match never {})),
        }
    }

    fn with_object(
        &self,
        kind: ObjectKind,
        name: &str,
        buf: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), String> {
        match self {
            Self::Dir(d) => d.with_object(kind, name, buf, f),
            Self::Tar(s) => s.with_object(kind, name, buf, f),
        }
    }

    fn set_aside(&self) -> Vec<(ObjectKind, Hash32, u64)> {
        match self {
            Self::Dir(_) => Vec::new(),
            Self::Tar(s) => s.set_aside(),
        }
    }
}

impl ObjectSource for SnapshotInput {
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        match self {
            Self::Dir(d) => d.object(kind, key),
            Self::Tar(s) => s.object(kind, key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_listed_sorted_and_read_through_one_reused_buffer() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("attestations");
        std::fs::create_dir(&dir).unwrap();
        let big = vec![0xa5u8; 17 << 10];
        let (a, b) = ("b".repeat(64), "a".repeat(64));
        std::fs::write(dir.join(&a), &big).unwrap();
        std::fs::write(dir.join(&b), b"ten bytes!").unwrap();
        // Not objects: a wrong name, an upper-case name, a directory with a good name.
        std::fs::write(dir.join("notes.txt"), b"x").unwrap();
        std::fs::write(dir.join("A".repeat(64)), b"x").unwrap();
        std::fs::create_dir(dir.join("c".repeat(64))).unwrap();

        let snapshot = DirSnapshot::new(root.path());
        let listing = snapshot.list(ObjectKind::Attestation).unwrap();
        assert_eq!(listing.names, vec![b.clone(), a.clone()]);

        let mut buf = Vec::new();
        let read = |name: &str, buf: &mut Vec<u8>| listing.with_object(name, buf, <[u8]>::to_vec);
        assert_eq!(read(&a, &mut buf).unwrap(), big);
        assert_eq!(read(&b, &mut buf).unwrap(), b"ten bytes!");

        let missing = read(&"d".repeat(64), &mut buf).unwrap_err();
        assert!(missing.to_string().contains(&"d".repeat(64)), "{missing}");

        // A kind without a directory has no objects.
        assert!(snapshot.list(ObjectKind::Batch).unwrap().names.is_empty());
    }

    #[test]
    fn objects_over_their_kind_limit_are_refused_unread() {
        let root = tempfile::tempdir().unwrap();
        let blocks = root.path().join("blocks");
        std::fs::create_dir(&blocks).unwrap();
        // A sparse file of 4 GiB, and a block one byte too long.
        let (sparse, long) = ("e".repeat(64), "f".repeat(64));
        std::fs::File::create(blocks.join(&sparse))
            .unwrap()
            .set_len(4 << 30)
            .unwrap();
        std::fs::write(blocks.join(&long), [1u8; 82]).unwrap();
        let snapshot = DirSnapshot::new(root.path());
        let listing = snapshot.list(ObjectKind::Block).unwrap();
        let mut buf = Vec::new();
        for (name, size) in [(&sparse, 4u64 << 30), (&long, 82)] {
            let err = listing
                .with_object(name, &mut buf, |_| panic!("{name} was read"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!(
                    "file of {size} bytes; a block is at most 81 bytes"
                )),
                "{err}"
            );
            let err = snapshot
                .object(ObjectKind::Block, &Hash32::from_hex(name).unwrap())
                .unwrap_err();
            assert!(err.contains("a block is at most 81 bytes"), "{err}");
        }
        assert!(buf.capacity() < 1 << 20, "nothing large was buffered");
    }
}
