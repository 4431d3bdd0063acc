//! Reading a snapshot (SPEC §2.1) from a directory or a `.tar`, for the core.
//!
//! A directory is read on demand through [`snapshot_fs::dir::DirSnapshot`] (listed kind
//! by kind when an audit asks for it, its objects read in parallel during an audit, one by
//! one when a certificate is made), so a large snapshot is never held in memory whole. A
//! `.tar` is read into memory and parsed by the core.

use std::path::Path;

use snapshot_fs::dir::DirSnapshot;
use verifier_core::certificate::ObjectSource;
use verifier_core::chain::{AuditSource, ListedName, Listing};
use verifier_core::hash::Hash32;
use verifier_core::snapshot::{ObjectKind, Snapshot};

use crate::input::{InputError, read_bytes};

/// A snapshot the CLI can audit.
pub(crate) enum SnapshotInput {
    /// A directory in the SPEC §2.1 layout.
    Dir(DirSnapshot),
    /// A `.tar` of one, parsed into memory.
    Tar(Snapshot),
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

impl AuditSource for SnapshotInput {
    type Error = InputError;

    fn names(&self, kind: ObjectKind) -> Result<Listing, InputError> {
        match self {
            Self::Dir(d) => Ok(d.names(kind)?),
            Self::Tar(s) => Ok(s.names(kind).unwrap_or_else(|never| match never {})),
        }
    }

    fn each_name(
        &self,
        kind: ObjectKind,
        each: &mut dyn FnMut(ListedName<'_>),
    ) -> Result<(), InputError> {
        match self {
            Self::Dir(d) => Ok(d.each_name(kind, each)?),
            Self::Tar(s) => {
                s.each_name(kind, each)
                    .unwrap_or_else(|never| match never {});
                Ok(())
            }
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
