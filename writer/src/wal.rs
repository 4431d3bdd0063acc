//! The write-ahead log: the durable queue of acknowledged transactions.
//!
//! `DIR/wal/` holds append-only segment files named by the index of their first record
//! (`00000000000000000042.wal`, twenty digits) and a `cursor` file: the index below which
//! every record is retired (its transaction final on the main chain). A record is
//!
//! ```text
//! len: u32 little-endian | crc32(data): u32 little-endian | data (len bytes)
//! ```
//!
//! Records are appended in groups, one `write` and one `fdatasync` per group (group
//! commit), and a write is acknowledged only after its group's `fdatasync`. At startup a
//! record that is cut short or fails its checksum ends its segment: it was being written
//! when the writer died, so it was never acknowledged, and the segment is truncated there.
//! Retiring writes the cursor (atomically) and deletes every segment whose records all
//! lie below it. Only this module names the log's files: the appender owns the [`Wal`],
//! and whoever makes records final (StoreIt) retires them through the [`WalRetirer`] the
//! log hands out ([`Wal::retirer`]), by index, never by path.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use crate::fsio;

/// Bytes of a record's header.
pub const HEADER_LEN: usize = 8;

/// The largest record accepted when reading (a larger length is a torn or corrupt header).
pub const MAX_RECORD_LEN: usize = 1 << 30;

/// A segment is closed and a new one begun once it reaches this size.
pub const SEGMENT_BYTES: u64 = 64 << 20;

/// The cursor file's name.
pub const CURSOR_FILE: &str = "cursor";

/// A record read back at startup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its index: records are numbered from 0 across all segments.
    pub index: u64,
    /// The transaction bytes.
    pub data: Bytes,
}

/// Why the log could not be read or written.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    /// A file or directory could not be read or written.
    #[error("write-ahead log {}: {reason}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's words.
        reason: String,
    },
    /// The cursor file does not hold a number.
    #[error("write-ahead log cursor {}: got {got:?}, expected a decimal record index", path.display())]
    BadCursor {
        /// The cursor file.
        path: PathBuf,
        /// What it holds.
        got: String,
    },
}

fn io(path: &Path, e: &std::io::Error) -> WalError {
    WalError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The open log: appends go to the newest segment.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    len: u64,
    next: u64,
    buf: Vec<u8>,
    retirer: WalRetirer,
    /// A failed append left bytes past `len` that could not be cut off yet.
    torn: bool,
}

impl Wal {
    /// Opens (creating) the log in `dir`, truncates a torn tail, and returns it with every
    /// record not yet retired, in order.
    ///
    /// # Errors
    /// [`WalError`] when the directory or a file cannot be read or written.
    pub fn open(dir: &Path) -> Result<(Self, Vec<Record>), WalError> {
        fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
        let cursor = read_cursor(dir)?;
        let segments = list_segments(dir)?;
        let mut records = Vec::new();
        let mut next = cursor;
        let mut last: Option<(PathBuf, u64)> = None;
        for (start, path) in &segments {
            let bytes = fs::read(path).map_err(|e| io(path, &e))?;
            let (datas, good) = parse(&bytes);
            if good < bytes.len() {
                tracing::warn!(
                    segment = %path.display(),
                    kept = good,
                    dropped = bytes.len() - good,
                    "dropping a torn or corrupt record at the end of a log segment (never acknowledged)"
                );
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| io(path, &e))?;
                file.set_len(good as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io(path, &e))?;
            }
            for (i, data) in datas.into_iter().enumerate() {
                let index = start + i as u64;
                if index >= cursor {
                    records.push(Record {
                        index,
                        data: Bytes::copy_from_slice(data),
                    });
                }
                next = next.max(index + 1);
            }
            last = Some((path.clone(), good as u64));
        }
        next = next.max(segments.last().map_or(0, |(s, _)| *s));
        // Append to the newest segment when its records run up to `next`; else begin one.
        let (path, len) = match last {
            Some((path, len)) if len < SEGMENT_BYTES && segment_end(&segments, next) => (path, len),
            _ => (segment_path(dir, next), 0),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, &e))?;
        fsio::sync_dir(dir).map_err(|e| io(dir, &e))?;
        Ok((
            Self {
                dir: dir.to_path_buf(),
                file,
                path,
                len,
                next,
                buf: Vec::with_capacity(1 << 16),
                torn: false,
                retirer: WalRetirer {
                    inner: Arc::new(Retired {
                        dir: dir.to_path_buf(),
                        cursor: Mutex::new(cursor),
                    }),
                },
            },
            records,
        ))
    }

    /// The index the next record gets.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// The handle that retires this log's records once they are final: give it to the
    /// stage that makes them final, while the appender keeps the log itself.
    pub fn retirer(&self) -> WalRetirer {
        self.retirer.clone()
    }

    /// Appends `datas` as consecutive records with one write and one `fdatasync`, and
    /// returns the index of the first. Nothing is acknowledged unless this returns `Ok`.
    ///
    /// A failed append leaves the log as it was: whatever part of the group reached the
    /// file is cut off again, so that the next group follows the last good record. (A
    /// full disk writes part of a group; left there, it would be a torn record in the
    /// middle of the segment, and at the next start the records after it, acknowledged,
    /// would be dropped with it.) Until that cut succeeds, appends fail.
    ///
    /// # Errors
    /// [`WalError::Io`] when the write or the sync fails, or a torn tail cannot be cut
    /// off; nothing of the group is acknowledged.
    pub fn append<'a>(&mut self, datas: impl Iterator<Item = &'a [u8]>) -> Result<u64, WalError> {
        if self.torn {
            self.cut_torn_tail()?;
        }
        if self.len >= SEGMENT_BYTES {
            self.rotate()?;
        }
        self.buf.clear();
        let first = self.next;
        let mut count = 0u64;
        for data in datas {
            let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
            self.buf.extend_from_slice(&len.to_le_bytes());
            self.buf
                .extend_from_slice(&crc32fast::hash(data).to_le_bytes());
            self.buf.extend_from_slice(data);
            count += 1;
        }
        if let Err(e) = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data())
        {
            self.torn = true;
            if let Err(cut) = self.cut_torn_tail() {
                tracing::error!(%cut, "a failed append could not be cut off; appends wait for it");
            }
            return Err(io(&self.path, &e));
        }
        self.len += self.buf.len() as u64;
        self.next += count;
        Ok(first)
    }

    /// Truncates the segment back to its last good record (`len`) after a failed append,
    /// and syncs that.
    fn cut_torn_tail(&mut self) -> Result<(), WalError> {
        self.file
            .set_len(self.len)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| io(&self.path, &e))?;
        self.torn = false;
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), WalError> {
        let path = segment_path(&self.dir, self.next);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, &e))?;
        fsio::sync_dir(&self.dir).map_err(|e| io(&self.dir, &e))?;
        // Only now: a failure above leaves the log appending to the old segment.
        self.file = file;
        self.path = path;
        self.len = 0;
        Ok(())
    }
}

/// Whether appending at `next` continues the newest of `segments`.
fn segment_end(segments: &[(u64, PathBuf)], next: u64) -> bool {
    segments.last().is_some_and(|(start, _)| *start <= next)
}

/// Retires records of one log: a handle made by [`Wal::retirer`], cheap to clone and to
/// send to another task or thread. Retiring is blocking file I/O (call it off the async
/// threads, e.g. in `spawn_blocking`); concurrent calls are taken one at a time.
///
/// Crash safety: the cursor is written atomically (temporary file, fsync, rename,
/// directory fsync) before any segment is deleted, so a crash at any point leaves either
/// the old cursor with every segment it needs, or the new cursor.
#[derive(Clone, Debug)]
pub struct WalRetirer {
    inner: Arc<Retired>,
}

/// What a [`WalRetirer`] shares with its clones.
#[derive(Debug)]
struct Retired {
    /// The log's directory.
    dir: PathBuf,
    /// The cursor last written (or read at open): records below it are retired.
    cursor: Mutex<u64>,
}

impl WalRetirer {
    /// Retires every record below `cursor` (one past the last record of a final block):
    /// writes the cursor file, then deletes the segments whose records all lie below it
    /// (never the newest segment, which the appender writes). A `cursor` at or below the
    /// one already written changes nothing: the cursor never moves back.
    ///
    /// # Errors
    /// [`WalError::Io`] when the cursor cannot be written or a segment not deleted; the
    /// records stay unretired (and are skipped at the next start, being final) until a
    /// later retirement succeeds.
    pub fn retire(&self, cursor: u64) -> Result<(), WalError> {
        let mut retired = self
            .inner
            .cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cursor <= *retired {
            return Ok(());
        }
        retire(&self.inner.dir, cursor)?;
        *retired = cursor;
        Ok(())
    }

    /// The retirement cursor: every record below it is retired.
    pub fn cursor(&self) -> u64 {
        *self
            .inner
            .cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Retires every record below `cursor`: writes the cursor file, then deletes the segments
/// whose records all lie below it (never the newest segment).
///
/// # Errors
/// [`WalError::Io`] when the cursor cannot be written or a segment not deleted.
fn retire(dir: &Path, cursor: u64) -> Result<(), WalError> {
    let path = dir.join(CURSOR_FILE);
    fsio::write_atomic(&path, format!("{cursor}\n").as_bytes()).map_err(|e| io(&path, &e))?;
    let segments = list_segments(dir)?;
    let mut deleted = false;
    for pair in segments.windows(2) {
        if let [(_, path), (next_start, _)] = pair {
            if *next_start <= cursor {
                fs::remove_file(path).map_err(|e| io(path, &e))?;
                deleted = true;
            }
        }
    }
    if deleted {
        fsio::sync_dir(dir).map_err(|e| io(dir, &e))?;
    }
    Ok(())
}

/// The retirement cursor (0 when there is none yet).
///
/// # Errors
/// [`WalError`] when the file cannot be read or does not hold a number.
fn read_cursor(dir: &Path) -> Result<u64, WalError> {
    let path = dir.join(CURSOR_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| WalError::BadCursor {
            path: path.clone(),
            got: text,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io(&path, &e)),
    }
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}.wal"))
}

/// The segments in `dir`, by first index.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io(dir, &e))? {
        let entry = entry.map_err(|e| io(dir, &e))?;
        let name = entry.file_name();
        let Some(start) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        segments.push((start, entry.path()));
    }
    segments.sort();
    Ok(segments)
}

/// The records of one segment, and the length of its good prefix.
fn parse(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER_LEN) {
        let (len, crc) = header.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(crc.try_into().unwrap_or_default());
        if len > MAX_RECORD_LEN {
            break;
        }
        let Some(data) = bytes.get(at + HEADER_LEN..at + HEADER_LEN + len) else {
            break;
        };
        if crc32fast::hash(data) != crc {
            break;
        }
        out.push(data);
        at += HEADER_LEN + len;
    }
    (out, at)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn datas(records: &[Record]) -> Vec<&[u8]> {
        records.iter().map(|r| r.data.as_ref()).collect()
    }

    #[test]
    fn appends_survive_reopen_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, records) = Wal::open(dir.path()).unwrap();
        assert!(records.is_empty());
        assert_eq!(wal.append([&b"one"[..], b"two"].into_iter()).unwrap(), 0);
        assert_eq!(wal.append([&b"three"[..]].into_iter()).unwrap(), 2);
        drop(wal);
        // A torn record: a header promising more bytes than follow.
        let seg = segment_path(dir.path(), 0);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
        drop(f);
        let (mut wal, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(datas(&records), [&b"one"[..], b"two", b"three"]);
        assert_eq!(records[2].index, 2);
        assert_eq!(wal.append([&b"four"[..]].into_iter()).unwrap(), 3);
        drop(wal);
        let (_, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(datas(&records), [&b"one"[..], b"two", b"three", b"four"]);
    }

    #[test]
    fn a_corrupt_record_ends_the_segment() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.append([&b"good"[..], b"flipped"].into_iter()).unwrap();
        drop(wal);
        let seg = segment_path(dir.path(), 0);
        let mut bytes = fs::read(&seg).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&seg, bytes).unwrap();
        let (wal, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(datas(&records), [&b"good"[..]]);
        assert_eq!(wal.next_index(), 1);
    }

    #[test]
    fn retire_hides_records_and_deletes_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        let retirer = wal.retirer();
        wal.append([&b"a"[..], b"b"].into_iter()).unwrap();
        wal.rotate().unwrap();
        wal.append([&b"c"[..]].into_iter()).unwrap();
        drop(wal);
        // The handle outlives the log it came from.
        retirer.retire(2).unwrap();
        assert_eq!(retirer.cursor(), 2);
        assert!(!segment_path(dir.path(), 0).exists());
        let (mut wal, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(datas(&records), [&b"c"[..]]);
        assert_eq!(records[0].index, 2);
        assert_eq!(wal.append([&b"d"[..]].into_iter()).unwrap(), 3);
        // Retired from another thread while the log is open, as StoreIt does.
        let retirer = wal.retirer();
        assert_eq!(retirer.cursor(), 2, "the cursor read at open");
        std::thread::spawn(move || retirer.retire(4).unwrap())
            .join()
            .unwrap();
        drop(wal);
        let (wal, records) = Wal::open(dir.path()).unwrap();
        assert!(records.is_empty());
        assert_eq!(wal.next_index(), 4);
    }

    #[test]
    fn the_cursor_never_moves_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.append([&b"a"[..], b"b", b"c"].into_iter()).unwrap();
        let retirer = wal.retirer();
        let other = retirer.clone();
        retirer.retire(2).unwrap();
        other.retire(1).unwrap();
        assert_eq!(retirer.cursor(), 2);
        assert_eq!(read_cursor(dir.path()).unwrap(), 2);
        drop(wal);
        let (_, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(datas(&records), [&b"c"[..]]);
    }
}
