//! The snapshot: what the verifier reads (SPEC §2.1).
//!
//! ```text
//! chain.json                  optional copy of the trust descriptor (never trusted by itself)
//! blocks/<hex H(b)>           81-byte blocks
//! timestamps/<hex H(t)>       JWT text
//! attestations/<hex H(a)>     NSM documents
//! batches/<hex m^H>           CBOR batches
//! ```
//!
//! Sans-IO: the core never opens a file. A [`Snapshot`] is filled from a `.tar` already in
//! memory ([`Snapshot::from_tar`]), or by an adapter that walks a directory and passes each
//! file's relative path through [`SnapshotPath::parse`] (or [`classify_path`]) to
//! [`Snapshot::insert`]. Files that match no object path are counted as ignored.
//!
//! Storing an object under a name does not make the name right: the audit compares each name
//! with [`object_key`] (the hash of the bytes, or for a batch its Merkle root) and reports the
//! files that differ as invalid objects.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::batch::{Batch, BatchBudget, BatchError};
use crate::hash::Hash32;

/// The file name of the optional trust descriptor copy at the snapshot's root.
pub const CHAIN_JSON: &str = "chain.json";

/// The four kinds of stored object.
///
/// Serialized as `block`, `timestamp`, `attestation`, `batch` (the `kind` of an invalid object
/// in the audit report, SPEC §6); stored under `blocks/`, `timestamps/`, `attestations/`,
/// `batches/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// An 81-byte block `b`, stored under `H(b)`.
    Block,
    /// A timestamp JWT `t`, stored under `H(t)`.
    Timestamp,
    /// An NSM enclave attestation `a`, stored under `H(a)`.
    Attestation,
    /// A CBOR batch `m`, stored under its Merkle root `m^H`.
    Batch,
}

impl ObjectKind {
    /// Every kind, in the order of the SPEC's layout.
    pub const ALL: [Self; 4] = [Self::Block, Self::Timestamp, Self::Attestation, Self::Batch];

    /// The singular name: `block`, `timestamp`, `attestation`, `batch`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Timestamp => "timestamp",
            Self::Attestation => "attestation",
            Self::Batch => "batch",
        }
    }

    /// The directory the kind is stored in: `blocks`, `timestamps`, `attestations`, `batches`.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Block => "blocks",
            Self::Timestamp => "timestamps",
            Self::Attestation => "attestations",
            Self::Batch => "batches",
        }
    }

    /// The kind's one-byte code in zipchain's binary formats (a shard's header, a resumed
    /// audit's state): its place in [`ObjectKind::ALL`], 0 to 3.
    pub fn code(self) -> u8 {
        match self {
            Self::Block => 0,
            Self::Timestamp => 1,
            Self::Attestation => 2,
            Self::Batch => 3,
        }
    }

    /// The kind whose [`ObjectKind::code`] is `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// The kind stored in directory `dir`, if any.
    pub fn from_dir(dir: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.dir() == dir)
    }

    /// The largest object of this kind the verifier reads, in bytes: a block is 81
    /// bytes (SPEC §1.2); a timestamp JWT at most 16 KiB (real Cognito ID tokens are
    /// about 1 KiB); an NSM document at most 17 KiB (its payload at most 16 KiB, AWS's
    /// CDDL, plus the COSE envelope); a batch at most [`BatchBudget::DEFAULT`]'s 1 GiB.
    /// A larger file is an invalid object, reported without being read.
    pub fn max_len(self) -> u64 {
        match self {
            Self::Block => crate::block::BLOCK_LEN as u64,
            Self::Timestamp => 16 << 10,
            Self::Attestation => 17 << 10,
            Self::Batch => BatchBudget::DEFAULT.max_bytes as u64,
        }
    }

    /// The reason an object of this kind and `len` bytes is refused unread, or `None`
    /// when it is within [`ObjectKind::max_len`].
    pub fn oversize_reason(self, len: u64) -> Option<String> {
        (len > self.max_len()).then(|| {
            format!(
                "file of {len} bytes; a {self} is at most {} bytes",
                self.max_len()
            )
        })
    }

    fn index(self) -> usize {
        match self {
            Self::Block => 0,
            Self::Timestamp => 1,
            Self::Attestation => 2,
            Self::Batch => 3,
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key an object of `kind` must be stored under: `H(bytes)` for blocks, timestamps and
/// attestations; the Merkle root `m^H` of the decoded batch for batches (not the hash of the
/// batch's bytes).
///
/// # Errors
/// [`BatchError`] when `kind` is [`ObjectKind::Batch`] and the bytes are not a batch.
pub fn object_key(kind: ObjectKind, bytes: &[u8]) -> Result<Hash32, BatchError> {
    match kind {
        ObjectKind::Block | ObjectKind::Timestamp | ObjectKind::Attestation => {
            Ok(Hash32::digest(bytes))
        }
        ObjectKind::Batch => Ok(Batch::decode(bytes)?.root()),
    }
}

/// A path inside a snapshot that means something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotPath {
    /// `chain.json`.
    ChainJson,
    /// `<kind dir>/<64 lowercase hex>`.
    Object(ObjectKind, Hash32),
}

impl SnapshotPath {
    /// Classifies a path relative to the snapshot's root, with `/` separators.
    ///
    /// `.` and empty components are skipped (`./blocks/<hex>` is `blocks/<hex>`). Anything but
    /// `chain.json` or `<kind dir>/<64 lowercase hex>` is `None`, as is any path with a `..`
    /// component or a leading `/`.
    pub fn parse(rel: &str) -> Option<Self> {
        if rel.starts_with('/') {
            return None;
        }
        let mut parts = components(rel.as_bytes())?.into_iter();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(b"chain.json"), None, None) => Some(Self::ChainJson),
            (Some(dir), Some(name), None) => {
                let kind = ObjectKind::from_dir(core::str::from_utf8(dir).ok()?)?;
                Some(Self::Object(kind, parse_name(name)?))
            }
            _ => None,
        }
    }
}

/// `<kind dir>/<64 lowercase hex>` as a kind and key; `None` for every other path (see
/// [`SnapshotPath::parse`]; `chain.json` is `None` here too).
pub fn classify_path(rel: &str) -> Option<(ObjectKind, Hash32)> {
    match SnapshotPath::parse(rel)? {
        SnapshotPath::Object(kind, key) => Some((kind, key)),
        SnapshotPath::ChainJson => None,
    }
}

/// The components of a path, without `.` and empty ones; `None` if one is `..`.
fn components(path: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    for part in path.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return None,
            part => out.push(part),
        }
    }
    Some(out)
}

/// A file name of exactly 64 lowercase hex digits.
fn parse_name(name: &[u8]) -> Option<Hash32> {
    if name.len() != 64 || !name.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(name, &mut out).ok()?;
    Some(Hash32(out))
}

/// The key an object file named `name` has in its kind's directory: `name` must be
/// exactly 64 lowercase hex digits (SPEC §2.1); `None` for any other file. The same
/// rule as a `.tar` snapshot's entries, one pass over the name (a directory listing of
/// hundreds of thousands of names goes through it).
pub fn object_name_key(name: &str) -> Option<Hash32> {
    Hash32::from_lower_hex(name.as_bytes())
}

/// Limits on what [`Snapshot::from_tar_with_budget`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotBudget {
    /// The most tar entries (files, directories and the rest) read.
    pub max_entries: usize,
    /// The largest object file read.
    pub max_object_bytes: u64,
}

impl SnapshotBudget {
    /// 2^26 entries (a chain of sixteen million blocks, four files each) and objects up to
    /// [`crate::batch::BatchBudget::DEFAULT`]'s largest batch (1 GiB). The tar is in memory
    /// already, so these bound the work, not the memory.
    pub const DEFAULT: Self = Self {
        max_entries: 1 << 26,
        max_object_bytes: 1 << 30,
    };
}

impl Default for SnapshotBudget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The files of a snapshot, by kind and key, as bytes not yet checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    chain_json: Option<Vec<u8>>,
    // INVARIANT: indexed by `ObjectKind::index`.
    objects: [BTreeMap<Hash32, Vec<u8>>; 4],
    /// Object files over their kind's limit, left unread: kind, name, size.
    oversized: Vec<(ObjectKind, Hash32, u64)>,
    ignored: usize,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `bytes` as the object of `kind` named `key`, returning what was stored there before.
    pub fn insert(&mut self, kind: ObjectKind, key: Hash32, bytes: Vec<u8>) -> Option<Vec<u8>> {
        self.map_mut(kind).insert(key, bytes)
    }

    /// Removes the object of `kind` named `key`, returning its bytes.
    pub fn remove(&mut self, kind: ObjectKind, key: &Hash32) -> Option<Vec<u8>> {
        self.map_mut(kind).remove(key)
    }

    /// The bytes of the object of `kind` named `key`.
    pub fn get(&self, kind: ObjectKind, key: &Hash32) -> Option<&[u8]> {
        self.map(kind).get(key).map(Vec::as_slice)
    }

    /// The objects of `kind`, by name in ascending order.
    pub fn objects(&self, kind: ObjectKind) -> impl Iterator<Item = (&Hash32, &[u8])> {
        self.map(kind)
            .iter()
            .map(|(key, bytes)| (key, bytes.as_slice()))
    }

    /// Every object, kind by kind ([`ObjectKind::ALL`] order), then by name.
    pub fn iter(&self) -> impl Iterator<Item = (ObjectKind, &Hash32, &[u8])> {
        ObjectKind::ALL.into_iter().flat_map(move |kind| {
            self.objects(kind)
                .map(move |(key, bytes)| (kind, key, bytes))
        })
    }

    /// The number of objects of `kind`.
    pub fn count(&self, kind: ObjectKind) -> usize {
        self.map(kind).len()
    }

    /// The number of objects of every kind.
    pub fn len(&self) -> usize {
        self.objects.iter().map(BTreeMap::len).sum()
    }

    /// Whether the snapshot holds no object (a `chain.json` alone is still empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of `chain.json`, if the snapshot has one. Never trusted by itself.
    pub fn chain_json(&self) -> Option<&[u8]> {
        self.chain_json.as_deref()
    }

    /// Sets (or clears) `chain.json`.
    pub fn set_chain_json(&mut self, bytes: Option<Vec<u8>>) {
        self.chain_json = bytes;
    }

    /// The object files that were over their kind's limit ([`ObjectKind::max_len`]) and
    /// so were not read: kind, name and size. The audit reports each as invalid.
    pub fn oversized(&self) -> &[(ObjectKind, Hash32, u64)] {
        &self.oversized
    }

    /// Notes an object file over its kind's limit, not read (for adapters that read a
    /// directory).
    pub fn note_oversized(&mut self, kind: ObjectKind, key: Hash32, size: u64) {
        if !self
            .oversized
            .iter()
            .any(|(k, n, _)| *k == kind && *n == key)
        {
            self.oversized.push((kind, key, size));
        }
    }

    /// The number of files that matched no object path and were ignored.
    pub fn ignored(&self) -> usize {
        self.ignored
    }

    /// Counts one more ignored file (for adapters that read a directory).
    pub fn note_ignored(&mut self) {
        self.ignored = self.ignored.saturating_add(1);
    }

    /// Reads a `.tar` snapshot (ustar, GNU or pax) from memory, within
    /// [`SnapshotBudget::DEFAULT`].
    ///
    /// # Errors
    /// See [`Snapshot::from_tar_with_budget`].
    pub fn from_tar(bytes: &[u8]) -> Result<Self, SnapshotError> {
        Self::from_tar_with_budget(bytes, &SnapshotBudget::DEFAULT)
    }

    /// Reads a `.tar` snapshot (ustar, GNU or pax) from memory.
    ///
    /// The layout may sit at the archive's root (`blocks/…`, `./blocks/…`, as made by
    /// `tar cf snap.tar -C snap .`) or under one top-level directory (`snap/blocks/…`, as made
    /// by `tar cf snap.tar snap`). Files at the root win: a top-level directory is looked
    /// into only when no object or `chain.json` is at the root. Directories are skipped;
    /// other files, links and special entries that match no object path are counted in
    /// [`Snapshot::ignored`]. A name that appears twice with the same bytes is read once.
    ///
    /// # Errors
    /// - [`SnapshotError::Tar`]: the archive is malformed or truncated;
    /// - [`SnapshotError::PathTraversal`]: an entry's path is absolute or has a `..` component;
    /// - [`SnapshotError::TooManyEntries`], [`SnapshotError::ObjectTooLarge`]: over the budget;
    /// - [`SnapshotError::MultipleTopDirectories`]: objects under two top-level directories and
    ///   none at the root, so it is unclear which snapshot to read;
    /// - [`SnapshotError::ConflictingDuplicate`]: one path twice with different bytes.
    pub fn from_tar_with_budget(
        bytes: &[u8],
        budget: &SnapshotBudget,
    ) -> Result<Self, SnapshotError> {
        let mut snapshot = Self::new();
        let mut candidates = Vec::new();
        let mut archive = tar::Archive::new(bytes);
        let entries = archive.entries().map_err(SnapshotError::tar)?;
        for (index, entry) in entries.enumerate() {
            if index >= budget.max_entries {
                return Err(SnapshotError::TooManyEntries {
                    max: budget.max_entries,
                });
            }
            let mut entry = entry.map_err(SnapshotError::tar)?;
            let path = entry.path_bytes().into_owned();
            let lossy = || String::from_utf8_lossy(&path).into_owned();
            let Some(parts) = components(&path).filter(|_| !path.starts_with(b"/")) else {
                return Err(SnapshotError::PathTraversal { path: lossy() });
            };
            let entry_type = entry.header().entry_type();
            if entry_type.is_dir() || entry_type.is_pax_global_extensions() {
                continue;
            }
            let candidate = Candidate::classify(&parts);
            if !(entry_type.is_file() || entry_type.is_contiguous()) || candidate.is_none() {
                snapshot.note_ignored();
                continue;
            }
            let size = entry.size();
            if size > budget.max_object_bytes {
                return Err(SnapshotError::ObjectTooLarge {
                    path: lossy(),
                    size,
                    max: budget.max_object_bytes,
                });
            }
            let Some(candidate) = candidate else {
                continue;
            };
            // Files over the limit of every kind their path could name are not read.
            if size > candidate.max_len() {
                candidates.push((candidate, lossy(), Err(size)));
                continue;
            }
            let capacity = usize::try_from(size).unwrap_or(0).min(bytes.len());
            let mut data = Vec::with_capacity(capacity);
            entry.read_to_end(&mut data).map_err(SnapshotError::tar)?;
            candidates.push((candidate, lossy(), Ok(data)));
        }

        // Decide where the layout sits: at the root if anything is there, else under the one
        // top-level directory that holds it.
        let at_root = candidates.iter().any(|(c, _, _)| c.at_root.is_some());
        let mut top: Option<&str> = None;
        if !at_root {
            for (c, _, _) in &candidates {
                if let Some((dir, _)) = &c.below_top {
                    match top {
                        None => top = Some(dir),
                        Some(first) if first != dir => {
                            return Err(SnapshotError::MultipleTopDirectories {
                                first: first.to_owned(),
                                second: dir.clone(),
                            });
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let mut chosen = Vec::with_capacity(candidates.len());
        for (c, path, data) in candidates {
            let target = if at_root {
                c.at_root
            } else {
                c.below_top.map(|(_, target)| target)
            };
            match target {
                Some(target) => chosen.push((target, path, data)),
                None => snapshot.note_ignored(),
            }
        }
        for (target, path, data) in chosen {
            snapshot.add_unique(target, path, data)?;
        }
        Ok(snapshot)
    }

    /// Stores a file read from a tar (or notes it unread when `data` is the size of a
    /// file over its kind's limit), refusing a second, different copy of one path.
    fn add_unique(
        &mut self,
        target: SnapshotPath,
        path: String,
        data: Result<Vec<u8>, u64>,
    ) -> Result<(), SnapshotError> {
        let size = match &data {
            Ok(d) => d.len() as u64,
            Err(size) => *size,
        };
        let data = match (target, data) {
            (SnapshotPath::Object(kind, key), _) if size > kind.max_len() => {
                self.note_oversized(kind, key, size);
                return Ok(());
            }
            (SnapshotPath::ChainJson, _) if size > CHAIN_JSON_MAX => {
                self.note_ignored();
                return Ok(());
            }
            (_, Ok(data)) => data,
            // Unread only when over every limit its path could name, handled above.
            (_, Err(_)) => return Ok(()),
        };
        let slot = match target {
            SnapshotPath::ChainJson => &mut self.chain_json,
            SnapshotPath::Object(kind, key) => {
                let map = self.map_mut(kind);
                match map.get(&key) {
                    Some(existing) if *existing != data => {
                        return Err(SnapshotError::ConflictingDuplicate { path });
                    }
                    _ => {
                        map.insert(key, data);
                        return Ok(());
                    }
                }
            }
        };
        match slot {
            Some(existing) if *existing != data => {
                Err(SnapshotError::ConflictingDuplicate { path })
            }
            _ => {
                *slot = Some(data);
                Ok(())
            }
        }
    }

    fn map(&self, kind: ObjectKind) -> &BTreeMap<Hash32, Vec<u8>> {
        &self.objects[kind.index()]
    }

    fn map_mut(&mut self, kind: ObjectKind) -> &mut BTreeMap<Hash32, Vec<u8>> {
        &mut self.objects[kind.index()]
    }
}

/// What a tar entry's path means, read from the root and read from below its first component.
struct Candidate {
    at_root: Option<SnapshotPath>,
    below_top: Option<(String, SnapshotPath)>,
}

impl Candidate {
    /// `None` when the path means nothing either way.
    fn classify(parts: &[&[u8]]) -> Option<Self> {
        let parse = |parts: &[&[u8]]| {
            let joined = parts.join(&b'/');
            SnapshotPath::parse(core::str::from_utf8(&joined).ok()?)
        };
        let at_root = parse(parts);
        let below_top = match parts.split_first() {
            Some((top, rest)) if !rest.is_empty() => {
                let top = core::str::from_utf8(top).ok();
                top.zip(parse(rest))
                    .map(|(top, target)| (top.to_owned(), target))
            }
            _ => None,
        };
        (at_root.is_some() || below_top.is_some()).then_some(Self { at_root, below_top })
    }

    /// The largest file either reading of the path allows.
    fn max_len(&self) -> u64 {
        let limit = |target: &SnapshotPath| match target {
            SnapshotPath::ChainJson => CHAIN_JSON_MAX,
            SnapshotPath::Object(kind, _) => kind.max_len(),
        };
        let below = self.below_top.as_ref().map(|(_, t)| t);
        self.at_root
            .iter()
            .chain(below)
            .map(limit)
            .max()
            .unwrap_or(0)
    }
}

/// The largest `chain.json` copy read from a snapshot (1 MiB; a descriptor with its
/// JWKS and root is a few KiB). A larger one is ignored.
pub const CHAIN_JSON_MAX: u64 = 1 << 20;

/// Why a snapshot could not be read.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The tar archive is malformed or truncated.
    #[error("the snapshot is not a readable tar archive: {reason}")]
    Tar {
        /// What the tar reader said.
        reason: String,
    },
    /// An entry's path is absolute or climbs out of the archive with `..`.
    #[error("tar entry {path:?} is absolute or contains `..`; refusing the archive")]
    PathTraversal {
        /// The entry's path.
        path: String,
    },
    /// More entries than the budget allows.
    #[error("the tar archive has more than {max} entries")]
    TooManyEntries {
        /// [`SnapshotBudget::max_entries`].
        max: usize,
    },
    /// An object file larger than the budget allows.
    #[error("tar entry {path:?} is {size} bytes, more than the limit of {max}")]
    ObjectTooLarge {
        /// The entry's path.
        path: String,
        /// Its size.
        size: u64,
        /// [`SnapshotBudget::max_object_bytes`].
        max: u64,
    },
    /// Objects under two top-level directories and none at the root.
    #[error("the tar archive holds snapshots under both {first:?} and {second:?}, expected one")]
    MultipleTopDirectories {
        /// The first top-level directory seen.
        first: String,
        /// Another one.
        second: String,
    },
    /// One path twice, with different bytes.
    #[error("tar entry {path:?} appears twice with different contents")]
    ConflictingDuplicate {
        /// The entry's path.
        path: String,
    },
}

impl SnapshotError {
    fn tar(err: std::io::Error) -> Self {
        Self::Tar {
            reason: err.to_string(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const HEX: &str = "06058cbe5f9cfb25ad1996f1d91d47f6b82ad26e9b6a00c5288f380508b60e8a";

    #[test]
    fn kinds() {
        for kind in ObjectKind::ALL {
            assert_eq!(ObjectKind::from_dir(kind.dir()), Some(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.name())
            );
        }
        assert_eq!(
            serde_json::from_str::<ObjectKind>("\"attestation\"").unwrap(),
            ObjectKind::Attestation
        );
        assert_eq!(ObjectKind::from_dir("block"), None);
    }

    #[test]
    fn paths() {
        let key = Hash32::from_hex(HEX).unwrap();
        for ok in [
            format!("blocks/{HEX}"),
            format!("./blocks/{HEX}"),
            format!("blocks//{HEX}"),
        ] {
            assert_eq!(classify_path(&ok), Some((ObjectKind::Block, key)), "{ok}");
        }
        assert_eq!(
            classify_path(&format!("batches/{HEX}")),
            Some((ObjectKind::Batch, key))
        );
        assert_eq!(
            SnapshotPath::parse("chain.json"),
            Some(SnapshotPath::ChainJson)
        );
        assert_eq!(
            SnapshotPath::parse("./chain.json"),
            Some(SnapshotPath::ChainJson)
        );
        for bad in [
            format!("blocks/{}", HEX.to_uppercase()),
            format!("blocks/{}", &HEX[1..]),
            format!("blocks/{HEX}0"),
            format!("block/{HEX}"),
            format!("snap/blocks/{HEX}"),
            format!("/blocks/{HEX}"),
            format!("x/../blocks/{HEX}"),
            format!("blocks/{HEX}/x"),
            "blocks".to_owned(),
            "chain.json/x".to_owned(),
            "README".to_owned(),
        ] {
            assert_eq!(SnapshotPath::parse(&bad), None, "{bad}");
        }
        assert_eq!(classify_path("chain.json"), None);
    }

    #[test]
    fn object_keys() {
        assert_eq!(
            object_key(ObjectKind::Block, b"abc"),
            Ok(Hash32::digest(b"abc"))
        );
        let batch = Batch::new(vec![b"abc".to_vec()]);
        assert_eq!(
            object_key(ObjectKind::Batch, &batch.encode()),
            Ok(batch.root())
        );
        assert!(object_key(ObjectKind::Batch, b"abc").is_err());
    }

    #[test]
    fn insert_get_iterate() {
        let key = Hash32::digest(b"b");
        let mut s = Snapshot::new();
        assert!(s.is_empty());
        assert_eq!(s.insert(ObjectKind::Block, key, b"b".to_vec()), None);
        s.insert(ObjectKind::Batch, key, b"m".to_vec());
        assert_eq!(s.get(ObjectKind::Block, &key), Some(&b"b"[..]));
        assert_eq!(s.get(ObjectKind::Timestamp, &key), None);
        assert_eq!(s.count(ObjectKind::Block), 1);
        assert_eq!(s.len(), 2);
        let all: Vec<_> = s.iter().map(|(kind, _, bytes)| (kind, bytes)).collect();
        assert_eq!(
            all,
            [
                (ObjectKind::Block, &b"b"[..]),
                (ObjectKind::Batch, &b"m"[..])
            ]
        );
        assert_eq!(s.remove(ObjectKind::Block, &key), Some(b"b".to_vec()));
        assert_eq!(s.len(), 1);
    }
}
