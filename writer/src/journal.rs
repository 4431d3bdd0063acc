//! The local mirror `DIR/objects/`: every object the writer makes, in the SPEC §2.1
//! snapshot layout, written atomically before it is replicated. It doubles as the journal
//! the writer recovers from: at startup the real audit runs over it. Its files are listed,
//! read and written through [`snapshot_fs`].

use std::fs;
use std::path::{Path, PathBuf};

use snapshot_fs::atomic::Durability;
use snapshot_fs::dir::{self, DirError, DirSnapshot};
use verifier_core::certificate::ObjectSource;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, Snapshot};

use crate::fsio;

/// Why the mirror could not be read or written.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// A file or directory could not be read or written.
    #[error("object mirror {}: {reason}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
}

fn io(path: &Path, e: &std::io::Error) -> MirrorError {
    MirrorError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The mirror's words for a snapshot directory error: its file, and the operating
/// system's words.
impl From<DirError> for MirrorError {
    fn from(e: DirError) -> Self {
        let path = e.path().to_path_buf();
        let reason = match e {
            DirError::Read { reason, .. } | DirError::Write { reason, .. } => reason,
            other => other.to_string(),
        };
        Self::Io { path, reason }
    }
}

/// A SPEC §2.1 directory of objects.
#[derive(Clone, Debug)]
pub struct Mirror {
    root: PathBuf,
}

impl Mirror {
    /// Opens the mirror at `root`, creating it and its four kind directories.
    ///
    /// # Errors
    /// [`MirrorError::Io`] when a directory cannot be made.
    pub fn open(root: &Path) -> Result<Self, MirrorError> {
        dir::create_kind_dirs(root)?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The mirror's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the object of `kind` named `key` lives.
    pub fn path(&self, kind: ObjectKind, key: &Hash32) -> PathBuf {
        dir::object_path(&self.root, kind, key)
    }

    /// Writes an object durably (temporary file, fsync, rename, directory fsync); an
    /// existing file with the same bytes is left as it is.
    ///
    /// # Errors
    /// [`MirrorError::Io`].
    pub fn put(&self, kind: ObjectKind, key: &Hash32, bytes: &[u8]) -> Result<(), MirrorError> {
        let path = self.path(kind, key);
        if fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        Ok(dir::write_object(
            &self.root,
            kind,
            key,
            bytes,
            Durability::Synced,
        )?)
    }

    /// The object's bytes, or `None` when it is not mirrored.
    ///
    /// # Errors
    /// [`MirrorError::Io`] when it exists but cannot be read.
    pub fn get(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, MirrorError> {
        let path = self.path(kind, key);
        fsio::read_if_exists(&path).map_err(|e| io(&path, &e))
    }

    /// Every object of the mirror as an in-memory snapshot (files whose names are not
    /// `<kind dir>/<64 hex>`, such as temporary files, are skipped).
    ///
    /// # Errors
    /// [`MirrorError::Io`] when a directory or file cannot be read.
    pub fn load(&self) -> Result<Snapshot, MirrorError> {
        load_snapshot_dir(&self.root)
    }
}

/// Reads a SPEC §2.1 snapshot directory into memory (`chain.json` too, if present).
///
/// # Errors
/// [`MirrorError::Io`] when a directory or file cannot be read.
pub fn load_snapshot_dir(root: &Path) -> Result<Snapshot, MirrorError> {
    Ok(DirSnapshot::new(root).load()?)
}

impl ObjectSource for Mirror {
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        self.get(kind, key).map_err(|e| e.to_string())
    }
}
