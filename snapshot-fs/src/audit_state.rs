//! The directory where a resumed audit keeps its state between runs (issue #17:
//! `zipchain audit --state DIR`, the witness daemon's `--state DIR`).
//!
//! The core encodes a [`ResumableAudit`] as three parts ([`StateParts`]); this module
//! stores them so that a crash at any point leaves the last complete state readable:
//!
//! - `main-<g>.bin` and `finals-<g>.bin`: the two parts that only grow, appended to (and
//!   fsynced) in place; a full rewrite goes to the next generation `g + 1`, so that the
//!   files the current `state.bin` names are never cut while it names them;
//! - `state.bin`: the rest part, the generation, and the length and CRC-32 of the bytes of
//!   each appended file it covers, with a CRC-32 of its own; replaced atomically, last.
//!
//! After a crash, bytes appended beyond the lengths `state.bin` records are ignored (and
//! cut at the next save). A file whose covered bytes do not match their CRC, a damaged
//! `state.bin`, a state of another format, chain or trust descriptor are a
//! [`StateDirError`] that says to rebuild, never a wrong audit. `DIR/lock` holds an
//! exclusive lock while the directory is open, so two processes never write one state.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use verifier_core::chain::{
    Auditor, FINAL_RECORD, MAIN_RECORD, ResumableAudit, StateError, StateParts,
};

use crate::atomic::{self, sync_dir};

/// The first bytes of `state.bin`.
const MAGIC: &[u8; 16] = b"zipchain-state\0\x01";

/// Why a state directory cannot be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Another process holds the directory.
    #[error("{path}: another process is using this state directory")]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// A file is damaged: its bytes do not match what `state.bin` records.
    #[error(
        "{path}: the audit state is damaged ({what}); rebuild it (zipchain audit --rebuild-state)"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What does not match.
        what: &'static str,
    },
    /// The core cannot read the state back.
    #[error("{path}: {source}; rebuild it (zipchain audit --rebuild-state)")]
    State {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: StateError,
    },
}

/// What `state.bin` records about one appended file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Covered {
    /// Bytes of the file that belong to the state.
    len: u64,
    /// CRC-32 of those bytes.
    crc: u32,
}

/// An open state directory (locked until dropped).
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    _lock: File,
    /// The generation the next save appends to.
    generation: u64,
    /// What the files of `generation` hold of the state (nothing until a load or a save).
    main: Covered,
    finals: Covered,
    /// The generation of a `state.bin` found but not loaded (a rebuild): its files are
    /// removed once a new state replaces it.
    stale: Option<u64>,
}

impl StateDir {
    /// Opens (creating it when missing, mode 0700 on Unix) and locks `path`.
    ///
    /// # Errors
    /// [`StateDirError::Locked`] when another process holds it; I/O errors.
    pub fn open(path: &Path) -> Result<Self, StateDirError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| StateDirError::Io { path: p, source }
        };
        if !path.is_dir() {
            fs::create_dir_all(path).map_err(io(path))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io(path))?;
            }
        }
        let lock_path = path.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        #[cfg(unix)]
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
            |_| StateDirError::Locked {
                path: path.to_path_buf(),
            },
        )?;
        // A state already there is not touched until a new one replaces it: a save
        // that does not continue it writes the next generation.
        let stale = fs::read(path.join("state.bin")).ok().and_then(|b| {
            b.get(MAGIC.len()..MAGIC.len() + 8)
                .and_then(|g| g.try_into().ok())
                .map(u64::from_le_bytes)
        });
        Ok(Self {
            path: path.to_path_buf(),
            _lock: lock,
            generation: stale.map_or(0, |g| g.wrapping_add(1)),
            main: Covered::default(),
            finals: Covered::default(),
            stale,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kept audit of the chain `auditor` checks, or `None` when the directory holds
    /// none yet.
    ///
    /// # Errors
    /// A damaged, foreign or unreadable state ([`StateDirError`]); the caller may then
    /// start again from [`ResumableAudit::new`] (`--rebuild-state`).
    pub fn load(&mut self, auditor: &Auditor) -> Result<Option<ResumableAudit>, StateDirError> {
        let state_path = self.path.join("state.bin");
        let Some(bytes) =
            atomic::read_if_exists(&state_path).map_err(|source| StateDirError::Io {
                path: state_path.clone(),
                source,
            })?
        else {
            return Ok(None);
        };
        let damaged = |what| StateDirError::Damaged {
            path: state_path.clone(),
            what,
        };
        let (body, crc) = bytes
            .split_last_chunk::<4>()
            .ok_or_else(|| damaged("too short"))?;
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return Err(damaged("checksum"));
        }
        let mut r = body;
        let mut take = |n: usize| -> Result<&[u8], StateDirError> {
            let (head, tail) = r.split_at_checked(n).ok_or_else(|| damaged("truncated"))?;
            r = tail;
            Ok(head)
        };
        if take(MAGIC.len())? != MAGIC {
            return Err(damaged("not a state file"));
        }
        let u64_of = |b: &[u8]| b.try_into().map(u64::from_le_bytes).unwrap_or(0);
        let u32_of = |b: &[u8]| b.try_into().map(u32::from_le_bytes).unwrap_or(0);
        let generation = u64_of(take(8)?);
        let main = Covered {
            len: u64_of(take(8)?),
            crc: u32_of(take(4)?),
        };
        let finals = Covered {
            len: u64_of(take(8)?),
            crc: u32_of(take(4)?),
        };
        let rest = r;
        let mut decoder =
            ResumableAudit::decoder(auditor, rest, main.len, finals.len).map_err(|source| {
                StateDirError::State {
                    path: self.path.clone(),
                    source,
                }
            })?;
        // The decoder holds what it read: the file's bytes go before the records come.
        drop(bytes);
        let count = decoder.main_count();
        self.read_covered(
            &self.part_path("main", generation),
            (main, MAIN_RECORD, count),
            &mut |r| decoder.push_main(r),
        )?;
        let count = decoder.finals_count();
        self.read_covered(
            &self.part_path("finals", generation),
            (finals, FINAL_RECORD, count),
            &mut |r| decoder.push_final(r),
        )?;
        let state = decoder.finish().map_err(|source| StateDirError::State {
            path: self.path.clone(),
            source,
        })?;
        self.generation = generation;
        self.main = main;
        self.finals = finals;
        self.stale = None;
        Ok(Some(state))
    }

    /// Streams the first `count` records of `size` bytes of `path` to `record`, and
    /// checks the first `covered.len` bytes against their CRC. Records past `count`
    /// (appended by a run that stopped before it replaced `state.bin`) are not the
    /// state's: they are not fed. A record the state cannot be made of is reported once
    /// the bytes are known to be those the state recorded.
    fn read_covered(
        &self,
        path: &Path,
        (covered, size, count): (Covered, usize, usize),
        record: &mut dyn FnMut(&[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateDirError> {
        let io = |source| StateDirError::Io {
            path: path.to_path_buf(),
            source,
        };
        let damaged = |what| StateDirError::Damaged {
            path: path.to_path_buf(),
            what,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound && covered.len == 0 => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        let mut reader = BufReader::with_capacity(1 << 16, file.take(covered.len));
        let mut hasher = crc32fast::Hasher::new();
        let mut buffer = vec![0u8; size.max(1)];
        let mut read = 0u64;
        let mut fed = 0;
        let mut refused = None;
        while read < covered.len {
            let want = usize::try_from((covered.len - read).min(size as u64)).unwrap_or(size);
            let chunk = buffer.get_mut(..want).unwrap_or_default();
            reader.read_exact(chunk).map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => damaged("shorter than the state records"),
                _ => io(e),
            })?;
            hasher.update(chunk);
            read += want as u64;
            if refused.is_none() && want == size && fed < count {
                fed += 1;
                if let Err(e) = record(chunk) {
                    refused = Some(e);
                }
            }
        }
        if hasher.finalize() != covered.crc {
            return Err(damaged("checksum"));
        }
        match refused {
            Some(source) => Err(StateDirError::State {
                path: self.path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }

    /// Stores `state` durably (what changed since its last save, then `state.bin`) and
    /// marks it written.
    ///
    /// # Errors
    /// The first I/O error; the previous state stays readable.
    pub fn save(&mut self, state: &mut ResumableAudit) -> Result<(), StateDirError> {
        let parts: StateParts = state.encode_parts();
        // A state that does not continue the files (written whole again) goes to a new
        // generation, so that the files the current state.bin names are never cut.
        let rewrite = parts.main_offset != self.main.len || parts.finals_offset != self.finals.len;
        let (generation, main, finals) = if rewrite {
            (
                self.generation.wrapping_add(1),
                Covered::default(),
                Covered::default(),
            )
        } else {
            (self.generation, self.main, self.finals)
        };
        let main = self.append(
            &self.part_path("main", generation),
            main,
            parts.main_offset,
            parts.main_records(),
        )?;
        let finals = self.append(
            &self.part_path("finals", generation),
            finals,
            parts.finals_offset,
            parts.final_records(),
        )?;
        if generation != self.generation || self.stale.is_some() {
            sync_dir(&self.path).map_err(|source| StateDirError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        // state.bin: the header, the rest part and a CRC of both, written without a
        // copy of the rest part (tens of megabytes at a million blocks).
        let rest = parts.rest;
        let mut header = Vec::with_capacity(64);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&generation.to_le_bytes());
        header.extend_from_slice(&main.len.to_le_bytes());
        header.extend_from_slice(&main.crc.to_le_bytes());
        header.extend_from_slice(&finals.len.to_le_bytes());
        header.extend_from_slice(&finals.crc.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header);
        crc.update(&rest);
        let crc = crc.finalize().to_le_bytes();
        let state_path = self.path.join("state.bin");
        atomic::write_atomic_parts(&state_path, &[&header, &rest, &crc]).map_err(|source| {
            StateDirError::Io {
                path: state_path,
                source,
            }
        })?;
        // Generations no longer named: best effort.
        let old = [
            (generation != self.generation).then_some(self.generation),
            self.stale.take(),
        ];
        for g in old.into_iter().flatten().filter(|g| *g != generation) {
            for part in ["main", "finals"] {
                let _ = fs::remove_file(self.part_path(part, g));
            }
        }
        self.generation = generation;
        self.main = main;
        self.finals = finals;
        state.mark_written();
        Ok(())
    }

    /// Writes `records` at `offset` of the appended file `path` whose first `covered`
    /// bytes belong to the state (`offset` is `covered.len`, or 0 in a new generation),
    /// cutting what a crash left beyond, and fsyncs it; the records are streamed, never
    /// all in memory.
    fn append<const N: usize>(
        &self,
        path: &Path,
        covered: Covered,
        offset: u64,
        records: impl Iterator<Item = [u8; N]>,
    ) -> Result<Covered, StateDirError> {
        let io = |source| StateDirError::Io {
            path: path.to_path_buf(),
            source,
        };
        if offset != covered.len {
            return Err(StateDirError::Damaged {
                path: path.to_path_buf(),
                what: "the state does not continue where the file ends",
            });
        }
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io)?;
        f.set_len(offset).map_err(io)?;
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut hasher = crc32fast::Hasher::new_with_initial(covered.crc);
        let mut written = 0u64;
        let mut out = BufWriter::with_capacity(1 << 16, &mut f);
        for record in records {
            out.write_all(&record).map_err(io)?;
            hasher.update(&record);
            written += N as u64;
        }
        out.flush().map_err(io)?;
        drop(out);
        f.sync_all().map_err(io)?;
        Ok(Covered {
            len: offset + written,
            crc: hasher.finalize(),
        })
    }

    fn part_path(&self, part: &str, generation: u64) -> PathBuf {
        self.path.join(format!("{part}-{generation}.bin"))
    }
}
