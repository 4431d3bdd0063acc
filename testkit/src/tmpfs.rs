//! A small file system that tests can fill up (issue #18): a `tmpfs` of a few MiB mounted
//! on a directory with `mount -t tmpfs -o size=…`, unmounted when dropped. Writes to it
//! fail with `ENOSPC` ("No space left on device") once it is full, as a real full disk's
//! do, part-way through a `write` included.
//!
//! Mounting needs root (CI runs as root; so does this project's development machine). A
//! test that needs one calls [`Tmpfs::mount_or_skip`]: when the mount fails, that
//! **panics** with the reason, so the test fails; only `ZIPCHAIN_SKIP_TMPFS=1` set
//! explicitly skips it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that, set to `1`, skips the tests that mount a tmpfs.
pub const SKIP_ENV: &str = "ZIPCHAIN_SKIP_TMPFS";

/// A mounted tmpfs, unmounted (lazily, so that a process still holding a file in it does
/// not keep it mounted) when dropped.
#[derive(Debug)]
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` on `path` (created if missing), or returns `None` when
    /// `ZIPCHAIN_SKIP_TMPFS=1`.
    ///
    /// # Panics
    /// When it cannot be mounted: the test that asked fails, with the reason.
    pub fn mount_or_skip(path: &Path, bytes: u64) -> Option<Self> {
        if crate::loopback::skipped(SKIP_ENV, "a tmpfs") {
            return None;
        }
        match Self::mount(path, bytes) {
            Ok(fs) => Some(fs),
            Err(reason) => panic!(
                "cannot mount a tmpfs on {}: {reason}\n(mounting needs root; set {SKIP_ENV}=1 to skip the full-disk tests)",
                path.display()
            ),
        }
    }

    /// Mounts a tmpfs of `bytes` on `path` (created if missing).
    ///
    /// # Errors
    /// The reason, in words: the directory cannot be made, or `mount` failed (its
    /// output).
    pub fn mount(path: &Path, bytes: u64) -> Result<Self, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes},mode=0755"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fills the file system: writes zeros to a new file `name` in it until a write fails
    /// with "No space left on device". Returns the file (remove it to free the space).
    ///
    /// # Errors
    /// When the file cannot be made, or a write fails otherwise.
    pub fn fill(&self, name: &str) -> Result<PathBuf, String> {
        let path = self.path.join(name);
        let mut file = std::fs::File::create(&path).map_err(|e| format!("{name}: {e}"))?;
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => return Err(format!("{name}: {e}")),
            }
        }
        // Bytes down to one: the last partly used page is taken too.
        loop {
            match file.write(&[0u8]) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => return Err(format!("{name}: {e}")),
            }
        }
        Ok(path)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_full_tmpfs_refuses_writes_until_freed() {
        let dir = tempfile::tempdir().unwrap();
        let Some(fs) = Tmpfs::mount_or_skip(&dir.path().join("disk"), 256 * 1024) else {
            return;
        };
        let filler = fs.fill("filler").unwrap();
        let e = std::fs::write(fs.path().join("more"), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
        std::fs::remove_file(filler).unwrap();
        std::fs::write(fs.path().join("more"), b"x").unwrap();
    }
}
