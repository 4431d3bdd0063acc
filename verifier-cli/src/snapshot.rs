//! Reading a snapshot (SPEC §2.1) from a directory or a `.tar`, for the core.
//!
//! A directory is listed once and its objects are read on demand (in parallel during
//! an audit, one by one when a certificate is made), so a large snapshot is never
//! held in memory whole. A `.tar` is read into memory and parsed by the core.

use std::path::{Path, PathBuf};

use verifier_core::certificate::ObjectSource;
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

/// A snapshot directory: the objects' paths, read on demand.
pub(crate) struct DirSnapshot {
    root: PathBuf,
    /// Every object file: kind, file name, path.
    pub(crate) objects: Vec<(ObjectKind, String, PathBuf)>,
}

impl SnapshotInput {
    /// Opens `path`: a directory, or a file read as a tar archive.
    pub(crate) fn open(path: &Path) -> Result<Self, InputError> {
        let meta = std::fs::metadata(path).map_err(|source| InputError::Read {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            return Ok(Self::Dir(DirSnapshot::list(path)?));
        }
        let bytes = read_bytes(path)?;
        let snapshot = Snapshot::from_tar(&bytes)
            .map_err(|e| InputError::malformed(path.display().to_string(), e))?;
        Ok(Self::Tar(snapshot))
    }

    /// How many objects there are to examine.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Dir(d) => d.objects.len(),
            Self::Tar(s) => s.len(),
        }
    }
}

impl DirSnapshot {
    fn list(root: &Path) -> Result<Self, InputError> {
        let mut objects = Vec::new();
        for kind in ObjectKind::ALL {
            let dir = root.join(kind.dir());
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(InputError::Read { path: dir, source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| InputError::Read {
                    path: dir.clone(),
                    source,
                })?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let rel = format!("{}/{}", kind.dir(), name);
                if let Some((k, key)) = classify_path(&rel) {
                    if entry.file_type().is_ok_and(|t| t.is_file()) {
                        objects.push((k, key.to_hex(), entry.path()));
                    }
                }
            }
        }
        objects.sort();
        Ok(Self {
            root: root.to_owned(),
            objects,
        })
    }
}

impl ObjectSource for DirSnapshot {
    fn object(&self, kind: ObjectKind, key: &Hash32) -> Result<Option<Vec<u8>>, String> {
        let path = self.root.join(kind.dir()).join(key.to_hex());
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
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
