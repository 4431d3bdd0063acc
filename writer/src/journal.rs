//! The local mirror `DIR/objects/`: every object the writer makes, in the SPEC §2.1
//! snapshot layout, written atomically before it is replicated. It doubles as the journal
//! the writer recovers from: at startup the real audit runs over it.

use std::fs;
use std::path::{Path, PathBuf};

use verifier_core::certificate::ObjectSource;
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, Snapshot, classify_path};

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
        for kind in ObjectKind::ALL {
            let dir = root.join(kind.dir());
            fs::create_dir_all(&dir).map_err(|e| io(&dir, &e))?;
        }
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
        self.root.join(kind.dir()).join(key.to_hex())
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
        fsio::write_atomic(&path, bytes).map_err(|e| io(&path, &e))
    }

    /// The object's bytes, or `None` when it is not mirrored.
    ///
    /// # Errors
    /// [`MirrorError::Io`] when it exists but cannot be read.
    pub fn get(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, MirrorError> {
        let path = self.path(kind, key);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, &e)),
        }
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
    let mut snapshot = Snapshot::new();
    let chain = root.join("chain.json");
    if let Ok(bytes) = fs::read(&chain) {
        snapshot.set_chain_json(Some(bytes));
    }
    for kind in ObjectKind::ALL {
        let dir = root.join(kind.dir());
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&dir, &e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io(&dir, &e))?;
            let name = entry.file_name();
            let rel = format!("{}/{}", kind.dir(), name.to_string_lossy());
            let Some((kind, key)) = classify_path(&rel) else {
                snapshot.note_ignored();
                continue;
            };
            let path = entry.path();
            let bytes = fs::read(&path).map_err(|e| io(&path, &e))?;
            snapshot.insert(kind, key, bytes);
        }
    }
    Ok(snapshot)
}

impl ObjectSource for Mirror {
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        self.get(kind, key).map_err(|e| e.to_string())
    }
}
