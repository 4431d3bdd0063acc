//! Helpers for tests that run the real `zipchain` binary (after ripgrep's
//! `tests/util.rs`): build a command, run it, look at exit code, stdout and stderr.
//!
//! Test vectors are read at run time from `../shared/vectors` (relative to the
//! repository root); a test whose vectors are absent says so on stderr and passes.
#![allow(dead_code)]

pub(crate) mod witness;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `../shared/vectors`, when it is there.
pub(crate) fn vectors() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    dir.is_dir().then_some(dir)
}

/// The vectors directory, or return from the calling test with a note on stderr (not
/// every test file reads the vectors).
#[allow(unused_macros)]
macro_rules! vectors_or_skip {
    () => {
        match common::vectors() {
            Some(dir) => dir,
            None => {
                eprintln!(
                    "SKIPPED {}: ../shared/vectors is absent (the shared test vectors are not \
                     checked out beside the repository)",
                    module_path!()
                );
                return;
            }
        }
    };
}

/// The finished run of one `zipchain` command.
#[derive(Debug)]
pub(crate) struct Output {
    /// The command line, for messages.
    pub(crate) command: String,
    /// Exit code (`-1` when killed by a signal).
    pub(crate) code: i32,
    /// Standard output, as text.
    pub(crate) stdout: String,
    /// Standard error, as text.
    pub(crate) stderr: String,
}

impl Output {
    /// Asserts the exit code, showing everything when it differs.
    #[track_caller]
    pub(crate) fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "`{}` exited {}, expected {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Stdout parsed as exactly one JSON document.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}`: stdout is not one JSON document ({e}):\n{}\n--- stderr\n{}",
                self.command, self.stdout, self.stderr
            )
        })
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub(crate) fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "`{}`: stdout lacks {needle:?}:\n{}",
            self.command,
            self.stdout
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub(crate) fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "`{}`: stderr lacks {needle:?}:\n{}",
            self.command,
            self.stderr
        );
        self
    }
}

/// A `zipchain` command line being built.
pub(crate) struct TestCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

/// `zipchain` with these arguments.
pub(crate) fn zipchain<I, S>(args: I) -> TestCommand
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zipchain"));
    cmd.args(args);
    TestCommand { cmd, stdin: None }
}

impl TestCommand {
    /// Adds arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Runs with only these environment variables: none of the caller's (so no
    /// credentials reach the command).
    pub(crate) fn only_env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.cmd.env_clear().envs(vars);
        self
    }

    /// Feeds these bytes on stdin.
    pub(crate) fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs the command to completion.
    pub(crate) fn run(mut self) -> Output {
        let command = format!(
            "zipchain {}",
            self.cmd
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawn zipchain");
        if let Some(bytes) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(&bytes).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait for zipchain");
        Output {
            command,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// SHA3-256 of `bytes`, hex (the transaction id of a transaction's bytes).
pub(crate) fn sha3_hex(bytes: &[u8]) -> String {
    verifier_core::hash::Hash32::digest(bytes).to_hex()
}

/// Reads a JSON file.
pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The names of the failed checks of a JSON verdict (`check --json`), in order.
pub(crate) fn failed_checks(verdict: &serde_json::Value) -> Vec<String> {
    verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] != true)
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}
