//! Snapshot directories (SPEC §2.1): `chain.json` beside `blocks/`, `timestamps/`,
//! `attestations/` and `batches/`, each object in `<kind dir>/<64 lowercase hex key>`.
//!
//! Reading: [`DirSnapshot`] lists a directory kind by kind when an audit asks for it and
//! reads its objects on demand (in parallel during an audit, one by one when a certificate
//! is made), so a large snapshot is never held in memory whole; [`DirSnapshot::load`] reads
//! one whole into a [`Snapshot`]. Writing: [`write_object`] writes one object atomically,
//! [`write_snapshot`] a whole in-memory [`Snapshot`] with its `chain.json`.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use verifier_core::certificate::ObjectSource;
use verifier_core::chain::{AuditSource, ListedName, Listing};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{CHAIN_JSON, ObjectKind, Snapshot, classify_path, object_name_key};

use crate::atomic::{self, Durability, Options};

/// Why a snapshot directory, or a file in it, could not be read or written.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirError {
    /// A directory or file could not be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
    /// An object's file is larger than its kind allows ([`ObjectKind::max_len`]); it was
    /// not read.
    #[error("{}: {}", path.display(), too_large(*kind, *size))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The object's kind.
        kind: ObjectKind,
        /// The file's size in bytes.
        size: u64,
    },
    /// A directory or file could not be created or written.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The directory or file.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
    /// Another process (or another pull in this one) is writing the snapshot directory
    /// ([`lock_for_writing`]).
    #[error("{}: another pull is writing this snapshot directory", path.display())]
    Locked {
        /// The directory.
        path: PathBuf,
    },
}

impl DirError {
    /// The directory or file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Read { path, .. }
            | Self::TooLarge { path, .. }
            | Self::Write { path, .. }
            | Self::Locked { path } => path,
        }
    }

    fn read(path: impl Into<PathBuf>, e: &std::io::Error) -> Self {
        Self::Read {
            path: path.into(),
            reason: e.to_string(),
        }
    }

    fn write(path: impl Into<PathBuf>, e: &std::io::Error) -> Self {
        Self::Write {
            path: path.into(),
            reason: e.to_string(),
        }
    }
}

/// The words of [`DirError::TooLarge`]: "file of N bytes; a block is at most 81 bytes".
fn too_large(kind: ObjectKind, size: u64) -> String {
    kind.oversize_reason(size)
        .unwrap_or_else(|| format!("file of {size} bytes"))
}

/// A snapshot directory: its objects are listed and read on demand.
pub struct DirSnapshot {
    root: PathBuf,
    /// Each kind's directory once listed (in [`ObjectKind::ALL`] order), to read by.
    listed: [OnceLock<KindDir>; 4],
}

impl DirSnapshot {
    /// The snapshot directory at `root`, not listed yet.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            listed: Default::default(),
        }
    }

    /// The snapshot's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The objects of `kind`: every regular file of its directory named by 64 lowercase
    /// hex digits, sorted by name (none when the directory does not exist).
    ///
    /// # Errors
    /// [`DirError::Read`] when the directory exists but cannot be listed or opened.
    pub fn list(&self, kind: ObjectKind) -> Result<KindDir, DirError> {
        let mut names = Vec::new();
        let mut listing = self.list_each(kind, &mut |key| names.push(key))?;
        names.sort_unstable();
        listing.names = names;
        Ok(listing)
    }

    /// Passes the objects of `kind` to `each` as the directory lists them (in no
    /// order, none kept), and returns the kind's directory to read them by, its
    /// `names` empty.
    ///
    /// # Errors
    /// [`DirError::Read`] when the directory exists but cannot be listed or opened.
    pub fn list_each(
        &self,
        kind: ObjectKind,
        each: &mut dyn FnMut(Hash32),
    ) -> Result<KindDir, DirError> {
        let path = self.root.join(kind.dir());
        let exists = each_entry(&path, |name, entry| {
            if let Some(key) = object_name_key(name).filter(|_| is_file(entry)) {
                each(key);
            }
        })?;
        let handle = match exists {
            true => Some(DirHandle::open(&path).map_err(|e| DirError::read(&path, &e))?),
            false => None,
        };
        Ok(KindDir {
            names: Vec::new(),
            kind,
            handle,
            path,
        })
    }

    /// Every object into memory, with `chain.json` when it can be read. A file whose name
    /// is not `<kind dir>/<64 hex>` (a temporary file, say) is skipped and counted
    /// ([`Snapshot::ignored`]); every other entry is read whole, without a size limit.
    ///
    /// # Errors
    /// [`DirError::Read`] when a kind's directory exists but cannot be listed, or an
    /// object cannot be read.
    pub fn load(&self) -> Result<Snapshot, DirError> {
        let mut snapshot = Snapshot::new();
        if let Ok(bytes) = std::fs::read(self.root.join(CHAIN_JSON)) {
            snapshot.set_chain_json(Some(bytes));
        }
        for kind in ObjectKind::ALL {
            let dir = self.root.join(kind.dir());
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(DirError::read(&dir, &e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| DirError::read(&dir, &e))?;
                let rel = format!("{}/{}", kind.dir(), entry.file_name().to_string_lossy());
                let Some((kind, key)) = classify_path(&rel) else {
                    snapshot.note_ignored();
                    continue;
                };
                let path = entry.path();
                let bytes = std::fs::read(&path).map_err(|e| DirError::read(&path, &e))?;
                snapshot.insert(kind, key, bytes);
            }
        }
        Ok(snapshot)
    }
}

/// One kind's directory, listed: the object names, and a handle to read them by.
pub struct KindDir {
    /// The object file names (64 lowercase hex digits) as hashes, sorted: 32 bytes a
    /// name, where a `String` took about 100 (a million-block snapshot lists four
    /// million; issue #19).
    pub names: Vec<Hash32>,
    kind: ObjectKind,
    handle: Option<DirHandle>,
    path: PathBuf,
}

impl KindDir {
    /// Reads object `name` into `buf` (reused between calls, grown as needed) and
    /// passes its bytes to `f`. A file larger than its kind's limit
    /// ([`ObjectKind::max_len`]) is refused unread; one larger than [`LARGE_OBJECT`]
    /// is read while no other thread reads one (so a snapshot of many large files
    /// holds one at a time), and `buf` gives its memory back afterwards.
    ///
    /// # Errors
    /// [`DirError::Read`] or [`DirError::TooLarge`], naming the file.
    pub fn with_object<R>(
        &self,
        name: &str,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, DirError> {
        let path = || self.path.join(name);
        let read_err = |e| DirError::read(path(), &e);
        let handle = self
            .handle
            .as_ref()
            .ok_or_else(|| read_err(std::io::Error::from(std::io::ErrorKind::NotFound)))?;
        let mut file = handle.open_file(name).map_err(read_err)?;
        let size = file.metadata().map_err(read_err)?.len();
        if size > self.kind.max_len() {
            return Err(DirError::TooLarge {
                path: path(),
                kind: self.kind,
                size,
            });
        }
        let _one_at_a_time = (size > LARGE_OBJECT).then(|| {
            LARGE_READS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        let len = read_capped(&mut file, size, self.kind.max_len(), buf).map_err(read_err)?;
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
pub const LARGE_OBJECT: u64 = 16 << 20;

/// Held while a large object is read and examined.
static LARGE_READS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Reads `file`, whose size was `size` bytes a moment ago, to its end into `buf` (see
/// [`read_whole`]), refusing one that turns out longer than `max` bytes (it grew after
/// its size was read).
fn read_capped(file: &mut File, size: u64, max: u64, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let len = read_whole(&mut file.take(max.saturating_add(1)), size, buf)?;
    if len as u64 > max {
        return Err(std::io::Error::other(format!(
            "the file grew past {max} bytes while it was read"
        )));
    }
    Ok(len)
}

/// Reads `file` to its end into `buf`, with no `statx`/`lseek` for a size hint and no
/// allocation once `buf` is as large as the largest object (what `std::fs::read` spends
/// on each of 400k files). `size` is the file's size as its metadata gave it: each read
/// asks for at least one byte more, so a read that returns fewer bytes than asked and
/// ends exactly at `size` is the end of the file, and the `read` that would return 0 is
/// not made (one system call of four per object). A file that grew meanwhile is read on
/// to its new end.
fn read_whole(
    file: &mut impl std::io::Read,
    size: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            let grown = buf
                .len()
                .saturating_mul(2)
                .max(64 * 1024)
                .max(size.saturating_add(1));
            buf.resize(grown, 0);
        }
        let spare = buf.get_mut(filled..).unwrap_or_default();
        let asked = spare.len();
        match file.read(spare) {
            Ok(0) => return Ok(filled),
            Ok(n) => {
                filled += n;
                if filled == size && n < asked {
                    return Ok(filled);
                }
            }
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
        let path = object_path(&self.root, kind, key);
        let cannot = |e: std::io::Error| DirError::read(&path, &e).to_string();
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(cannot(e)),
        };
        let size = file.metadata().map_err(cannot)?.len();
        if size > kind.max_len() {
            return Err(DirError::TooLarge { path, kind, size }.to_string());
        }
        let mut buf = Vec::new();
        let len = read_capped(&mut file, size, kind.max_len(), &mut buf).map_err(cannot)?;
        buf.truncate(len);
        Ok(Some(buf))
    }
}

/// The audit lists each kind once and reads objects through that listing's handle.
impl AuditSource for DirSnapshot {
    type Error = DirError;

    fn names(&self, kind: ObjectKind) -> Result<Listing, DirError> {
        let mut listing = self.list(kind)?;
        let names = std::mem::take(&mut listing.names);
        let _ = self.listed[kind_index(kind)].set(listing);
        Ok(Listing {
            keys: names,
            other: Vec::new(),
        })
    }

    fn each_name(
        &self,
        kind: ObjectKind,
        each: &mut dyn FnMut(ListedName<'_>),
    ) -> Result<(), DirError> {
        let listing = self.list_each(kind, &mut |key| each(ListedName::Key(key)))?;
        let _ = self.listed[kind_index(kind)].set(listing);
        Ok(())
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

/// Where the object of `kind` named `key` lives in the snapshot directory `root`:
/// `root/<kind dir>/<hex key>`.
pub fn object_path(root: &Path, kind: ObjectKind, key: &Hash32) -> PathBuf {
    root.join(kind.dir()).join(key.to_hex())
}

/// Creates `root` and its four kind directories (nothing to do for those that exist).
///
/// # Errors
/// [`DirError::Write`] naming the directory that cannot be made.
pub fn create_kind_dirs(root: &Path) -> Result<(), DirError> {
    for kind in ObjectKind::ALL {
        let dir = root.join(kind.dir());
        atomic::create_dir(&dir).map_err(|e| DirError::write(&dir, &e))?;
    }
    Ok(())
}

/// Writes one object atomically to `root/<kind dir>/<hex key>` (its directory must
/// exist, see [`create_kind_dirs`]), replacing what was there: a file at an object's
/// name is always a whole one. With [`Durability::Synced`] the file and its directory
/// are fsynced; with [`Durability::FileSynced`] only the file, and the caller ends with
/// [`sync_kind_dirs`].
///
/// # Errors
/// [`DirError::Write`] naming the object's file.
pub fn write_object(
    root: &Path,
    kind: ObjectKind,
    key: &Hash32,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), DirError> {
    let path = object_path(root, kind, key);
    atomic::write_atomic_with(&path, bytes, options(durability))
        .map(|_| ())
        .map_err(|e| DirError::write(&path, &e))
}

/// What one kind's directory of a snapshot holds, for a writer that adds to it
/// ([`scan_objects`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindScan {
    /// The keys of its objects: regular files named by 64 lowercase hex digits, in no
    /// particular order.
    pub keys: Vec<Hash32>,
    /// Temporary files of atomic writes ([`atomic::is_temporary_name`]): left behind by a
    /// writer that was killed, or being written right now by one that is not.
    pub leftovers: Vec<PathBuf>,
}

/// Lists `root/<kind dir>` once: the objects it holds and the temporary files in it
/// (nothing when the directory does not exist). Other entries are left out.
///
/// # Errors
/// [`DirError::Read`] when the directory exists but cannot be listed.
pub fn scan_objects(root: &Path, kind: ObjectKind) -> Result<KindScan, DirError> {
    let mut scan = KindScan::default();
    each_entry(&root.join(kind.dir()), |name, entry| {
        match classify_path(&format!("{}/{name}", kind.dir())) {
            Some((_, key)) if is_file(entry) => scan.keys.push(key),
            None if atomic::is_temporary_name(name) && is_file(entry) => {
                scan.leftovers.push(entry.path());
            }
            _ => {}
        }
    })?;
    Ok(scan)
}

/// Calls `f` with the name and the entry of each entry of the directory `path` whose name
/// is UTF-8; `false` when the directory does not exist.
///
/// # Errors
/// [`DirError::Read`] when the directory exists but cannot be listed.
fn each_entry(path: &Path, mut f: impl FnMut(&str, &std::fs::DirEntry)) -> Result<bool, DirError> {
    let read_err = |e| DirError::read(path, &e);
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(read_err(e)),
    };
    for entry in entries {
        let entry = entry.map_err(read_err)?;
        if let Some(name) = entry.file_name().to_str() {
            f(name, &entry);
        }
    }
    Ok(true)
}

/// Whether a directory entry is a regular file (not following a symbolic link).
fn is_file(entry: &std::fs::DirEntry) -> bool {
    entry.file_type().is_ok_and(|t| t.is_file())
}

/// An exclusive lock on a snapshot directory, held by a writer that adds objects to it
/// (`zipchain pull`) until dropped.
#[derive(Debug)]
pub struct WriteLock {
    _dir: File,
}

/// Takes the exclusive write lock of the snapshot directory `root` (which must exist):
/// an advisory `flock` on the directory itself, so no file is added to the snapshot,
/// and the lock goes with the process however it ends. Outside Unix nothing is locked.
///
/// # Errors
/// [`DirError::Locked`] when another holder has it (it is not waited for);
/// [`DirError::Read`] when `root` cannot be opened.
pub fn lock_for_writing(root: &Path) -> Result<WriteLock, DirError> {
    let dir = File::open(root).map_err(|e| DirError::read(root, &e))?;
    #[cfg(unix)]
    rustix::fs::flock(&dir, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        if e == rustix::io::Errno::WOULDBLOCK {
            DirError::Locked {
                path: root.to_owned(),
            }
        } else {
            DirError::read(root, &e.into())
        }
    })?;
    Ok(WriteLock { _dir: dir })
}

/// Writes `snapshot` as a SPEC §2.1 directory under `root`: its kind directories, its
/// `chain.json` if it has one, and every object, each atomically (on several threads).
/// With [`Durability::Synced`] every file is fsynced, and each directory once at the end
/// ([`sync_kind_dirs`]).
///
/// # Errors
/// [`DirError::Write`] naming a directory or file that cannot be written (one of them
/// when several fail).
pub fn write_snapshot(
    snapshot: &Snapshot,
    root: &Path,
    durability: Durability,
) -> Result<(), DirError> {
    create_kind_dirs(root)?;
    // The directories are synced once, at the end.
    let per_file = options(match durability {
        Durability::Synced => Durability::FileSynced,
        other => other,
    });
    if let Some(json) = snapshot.chain_json() {
        let path = root.join(CHAIN_JSON);
        atomic::write_atomic_with(&path, json, per_file).map_err(|e| DirError::write(&path, &e))?;
    }
    let objects: Vec<(ObjectKind, &Hash32, &[u8])> = snapshot.iter().collect();
    let write_all = |chunk: &[(ObjectKind, &Hash32, &[u8])]| {
        chunk.iter().try_for_each(|&(kind, key, bytes)| {
            let path = object_path(root, kind, key);
            atomic::write_atomic_with(&path, bytes, per_file)
                .map(|_| ())
                .map_err(|e| DirError::write(&path, &e))
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = objects.len().div_ceil(threads).max(WRITES_PER_THREAD);
    std::thread::scope(|scope| {
        let mut chunks = objects.chunks(per_thread);
        let here = chunks.next();
        let spawned: Vec<_> = chunks
            .map(|chunk| {
                let thread =
                    std::thread::Builder::new().spawn_scoped(scope, move || write_all(chunk));
                (chunk, thread)
            })
            .collect();
        let mut result = here.map_or(Ok(()), write_all);
        for (chunk, thread) in spawned {
            let written = match thread {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had: write the chunk here.
                Err(_) => write_all(chunk),
            };
            result = result.and(written);
        }
        result
    })?;
    if durability == Durability::Synced {
        sync_kind_dirs(root)?;
    }
    Ok(())
}

/// Makes what was written into `root` and its kind directories durable (an fsync of each):
/// the end of a run of [`write_object`]s with [`Durability::FileSynced`].
///
/// # Errors
/// [`DirError::Write`] naming the directory that cannot be synced.
pub fn sync_kind_dirs(root: &Path) -> Result<(), DirError> {
    for kind in ObjectKind::ALL {
        let dir = root.join(kind.dir());
        atomic::sync_dir(&dir).map_err(|e| DirError::write(&dir, &e))?;
    }
    atomic::sync_dir(root).map_err(|e| DirError::write(root, &e))
}

/// Objects a thread of [`write_snapshot`] writes at least: fewer are not worth a thread.
const WRITES_PER_THREAD: usize = 256;

/// Replace, not private, with `durability`.
fn options(durability: Durability) -> Options {
    Options {
        durability,
        ..Options::default()
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
        let hash = |name: &str| Hash32::from_hex(name).unwrap();
        assert_eq!(listing.names, vec![hash(&b), hash(&a)]);

        let mut buf = Vec::new();
        let read = |name: &str, buf: &mut Vec<u8>| listing.with_object(name, buf, <[u8]>::to_vec);
        assert_eq!(read(&a, &mut buf).unwrap(), big);
        assert_eq!(read(&b, &mut buf).unwrap(), b"ten bytes!");

        let missing = read(&"d".repeat(64), &mut buf).unwrap_err();
        assert!(missing.to_string().contains(&"d".repeat(64)), "{missing}");

        // A kind without a directory has no objects.
        assert!(snapshot.list(ObjectKind::Batch).unwrap().names.is_empty());
    }

    /// A reader that gives at most `step` bytes a call and counts its calls.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
        calls: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            let n = out.len().min(self.step).min(self.bytes.len());
            let (head, rest) = self.bytes.split_at(n);
            out[..n].copy_from_slice(head);
            self.bytes = rest;
            Ok(n)
        }
    }

    #[test]
    fn a_file_is_read_whole_whatever_its_reads_return() {
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let read = |step: usize, size: u64, buf: &mut Vec<u8>| {
            let mut reader = Trickle {
                bytes: &content,
                step,
                calls: 0,
            };
            let len = read_whole(&mut reader, size, buf).unwrap();
            assert_eq!(buf[..len], content[..], "step {step}, size {size}");
            reader.calls
        };
        let mut buf = Vec::new();
        // The size known and each read whole: one read, no read that returns 0.
        assert_eq!(read(usize::MAX, content.len() as u64, &mut buf), 1);
        // Short reads before the end: read on until the size is reached.
        assert_eq!(read(7_000, content.len() as u64, &mut buf), 29);
        // The file grew after its size was read, or its size was not known: read on
        // until a read returns 0.
        assert_eq!(read(usize::MAX, 1_000, &mut Vec::new()), 4);
        assert_eq!(read(usize::MAX, 0, &mut Vec::new()), 4);
        // A read that fills the buffer exactly is never taken for the end.
        let mut exact = vec![0; content.len()];
        assert_eq!(read(usize::MAX, content.len() as u64, &mut exact), 2);
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

    #[test]
    fn errors_read_as_the_cli_has_always_written_them() {
        let path = PathBuf::from("snap/blocks/x");
        let read = DirError::read(&path, &std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(
            read.to_string(),
            "cannot read snap/blocks/x: entity not found"
        );
        let large = DirError::TooLarge {
            path: path.clone(),
            kind: ObjectKind::Block,
            size: 82,
        };
        assert_eq!(
            large.to_string(),
            "snap/blocks/x: file of 82 bytes; a block is at most 81 bytes"
        );
        assert_eq!(large.path(), path);
    }

    #[test]
    fn a_scan_finds_the_objects_and_the_temporary_files_left_behind() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(
            scan_objects(root.path(), ObjectKind::Block).unwrap(),
            KindScan::default()
        );
        create_kind_dirs(root.path()).unwrap();
        let key = Hash32::digest(b"one");
        write_object(
            root.path(),
            ObjectKind::Block,
            &key,
            b"one",
            Durability::Unsynced,
        )
        .unwrap();
        let blocks = root.path().join("blocks");
        let temp = blocks.join(format!(".{}.4242.00000000deadbeef.tmp", "ab".repeat(32)));
        std::fs::write(&temp, b"half").unwrap();
        // Neither objects nor temporary files: left alone and out of the scan.
        std::fs::write(blocks.join("notes.txt"), b"x").unwrap();
        std::fs::create_dir(blocks.join("c".repeat(64))).unwrap();
        let scan = scan_objects(root.path(), ObjectKind::Block).unwrap();
        assert_eq!(scan.keys, vec![key]);
        assert_eq!(scan.leftovers, vec![temp]);
        assert_eq!(
            scan_objects(root.path(), ObjectKind::Batch).unwrap(),
            KindScan::default()
        );
    }

    #[cfg(unix)]
    #[test]
    fn one_writer_holds_a_snapshot_directory_at_a_time() {
        let root = tempfile::tempdir().unwrap();
        let held = lock_for_writing(root.path()).unwrap();
        let err = lock_for_writing(root.path()).unwrap_err();
        assert_eq!(
            err,
            DirError::Locked {
                path: root.path().to_owned()
            }
        );
        assert!(err.to_string().contains("another pull"), "{err}");
        drop(held);
        let _again = lock_for_writing(root.path()).unwrap();
        // Nothing was added to the directory.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        assert!(matches!(
            lock_for_writing(&root.path().join("missing")),
            Err(DirError::Read { .. })
        ));
    }

    /// A snapshot of `n` blocks (made-up bytes under made-up keys) and a `chain.json`.
    fn snapshot_of(n: u16) -> Snapshot {
        let mut snapshot = Snapshot::new();
        for i in 0..n {
            let key = Hash32::digest(&i.to_be_bytes());
            snapshot.insert(ObjectKind::Block, key, i.to_be_bytes().repeat(40));
        }
        snapshot.insert(
            ObjectKind::Batch,
            Hash32::digest(b"batch"),
            b"batch".to_vec(),
        );
        snapshot.set_chain_json(Some(b"{}\n".to_vec()));
        snapshot
    }

    #[test]
    fn a_written_snapshot_loads_back_the_same() {
        // Unsynced, more objects than one thread writes, so several threads write.
        for (durability, n) in [
            (Durability::Synced, 20),
            (Durability::FileSynced, 20),
            (Durability::Unsynced, 1000),
        ] {
            let root = tempfile::tempdir().unwrap();
            let out = root.path().join("snapshot");
            let snapshot = snapshot_of(n);
            write_snapshot(&snapshot, &out, durability).unwrap();
            let loaded = DirSnapshot::new(&out).load().unwrap();
            assert_eq!(loaded, snapshot);
            assert_eq!(loaded.ignored(), 0, "no temporary file is left");
            for kind in ObjectKind::ALL {
                assert!(out.join(kind.dir()).is_dir(), "{kind}");
            }
        }
    }

    #[test]
    fn an_object_is_written_under_its_hex_key_and_load_skips_other_files() {
        let root = tempfile::tempdir().unwrap();
        create_kind_dirs(root.path()).unwrap();
        let key = Hash32::digest(b"t");
        write_object(
            root.path(),
            ObjectKind::Timestamp,
            &key,
            b"old",
            Durability::Synced,
        )
        .unwrap();
        write_object(
            root.path(),
            ObjectKind::Timestamp,
            &key,
            b"t",
            Durability::Synced,
        )
        .unwrap();
        let path = object_path(root.path(), ObjectKind::Timestamp, &key);
        assert_eq!(path, root.path().join("timestamps").join(key.to_hex()));
        assert_eq!(std::fs::read(&path).unwrap(), b"t");
        let other = Hash32::digest(b"u");
        write_object(
            root.path(),
            ObjectKind::Timestamp,
            &other,
            b"u",
            Durability::FileSynced,
        )
        .unwrap();
        sync_kind_dirs(root.path()).unwrap();
        std::fs::remove_file(object_path(root.path(), ObjectKind::Timestamp, &other)).unwrap();
        std::fs::write(root.path().join("timestamps/.partial"), b"x").unwrap();

        let loaded = DirSnapshot::new(root.path()).load().unwrap();
        assert_eq!(loaded.get(ObjectKind::Timestamp, &key), Some(&b"t"[..]));
        assert_eq!((loaded.len(), loaded.ignored()), (1, 1));
        assert_eq!(loaded.chain_json(), None);
        // Read through the audit's and the certificate's interfaces too.
        let source = DirSnapshot::new(root.path());
        assert_eq!(source.names(ObjectKind::Timestamp).unwrap().keys, [key]);
        let mut seen = Vec::new();
        AuditSource::with_object(
            &source,
            ObjectKind::Timestamp,
            &key.to_hex(),
            &mut Vec::new(),
            &mut |b| seen = b.to_vec(),
        )
        .unwrap();
        assert_eq!(seen, b"t");
        assert_eq!(
            source.object(ObjectKind::Timestamp, &key).unwrap(),
            Some(b"t".to_vec())
        );
        assert_eq!(source.object(ObjectKind::Block, &key).unwrap(), None);
    }

    #[test]
    fn write_errors_name_the_file() {
        let root = tempfile::tempdir().unwrap();
        let key = Hash32::digest(b"b");
        // No kind directories.
        let err = write_object(
            root.path(),
            ObjectKind::Block,
            &key,
            b"b",
            Durability::Synced,
        )
        .unwrap_err();
        assert_eq!(
            err.path(),
            object_path(root.path(), ObjectKind::Block, &key)
        );
        assert!(err.to_string().starts_with("cannot write "), "{err}");
        // A file where the root should be.
        let file = root.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = create_kind_dirs(&file.join("out")).unwrap_err();
        assert_eq!(err.path(), file.join("out/blocks"));
    }
}
