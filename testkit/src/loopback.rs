//! Starting a test server on loopback: find its binary, pick a free port, spawn it, wait
//! until its port accepts connections, report why not when it does not, and kill it when
//! dropped (shared by [`crate::azurite`], [`crate::gcs_emulator`] and [`crate::moto`]).

use std::collections::BTreeSet;
use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether the environment variable `skip` is set to `1`; if so, says on stderr that the
/// test is skipped.
pub(crate) fn skipped(skip: &str, server: &str) -> bool {
    if std::env::var(skip).is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: {skip}=1, so this test does not start {server}");
        true
    } else {
        false
    }
}

/// `start()`'s server, or `None` when `skip` is set to `1` (see [`skipped`]).
///
/// # Panics
/// When the server cannot be started: the test that asked fails, with the reason and how
/// to install `server` or skip the `tests` tests.
pub(crate) fn start_or_skip<T>(
    skip: &str,
    server: &str,
    tests: &str,
    start: impl FnOnce() -> Result<T, String>,
) -> Option<T> {
    if skipped(skip, server) {
        return None;
    }
    match start() {
        Ok(server) => Some(server),
        Err(reason) => panic!(
            "cannot start {server}: {reason}\n(run scripts/setup.sh to install it, or set {skip}=1 to skip the {tests} tests)"
        ),
    }
}

/// A server binary: the environment variable `var` when it is set and not empty, else
/// `default`, relative to the test kit's directory.
pub(crate) fn server_binary(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
    }
}

/// `binary` itself when it is a file.
///
/// # Errors
/// That it does not exist, in words.
pub(crate) fn existing(binary: PathBuf) -> Result<PathBuf, String> {
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!("{} does not exist", binary.display()))
    }
}

/// The ports [`free_port`] has handed out in this process.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A loopback port nobody listens on right now, and never handed out before in this
/// process: tests that run in parallel each start their own server, and two of them given
/// the same port would share one server (the second cannot bind, and its test would talk
/// to the first's server until that one is killed: what a CI run once showed).
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> std::io::Result<u16> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
}

/// [`free_port`], its error in words.
pub(crate) fn port() -> Result<u16, String> {
    free_port().map_err(|e| format!("no free loopback port: {e}"))
}

/// A server process, killed (and waited for) when dropped.
#[derive(Debug)]
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `command` (stdout and stderr piped) and waits up to `startup` until `port` on
/// 127.0.0.1 accepts connections; afterwards its output is drained by a thread so that a
/// full pipe never stalls it.
///
/// # Errors
/// The reason, in words: another process already listens on `port` (so a connection
/// there would not prove that this server started), it could not be run, it exited (with
/// its output), or it did not listen in time (it is then killed).
pub(crate) fn spawn_and_wait(
    mut command: Command,
    what: &str,
    port: u16,
    startup: Duration,
) -> Result<Server, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
        return Err(format!(
            "another process already listens on {addr}, so {what} cannot be started there"
        ));
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let deadline = Instant::now() + startup;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut output = String::new();
            if let Some(mut out) = child.stdout.take() {
                let _ = out.read_to_string(&mut output);
            }
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut output);
            }
            return Err(format!("{what} exited with {status}: {output}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{what} did not listen on {addr} within {startup:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let mut pipe = pipe;
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        });
    }
    Ok(Server(child))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_handed_out_once() {
        let mut seen = BTreeSet::new();
        for _ in 0..300 {
            let port = free_port().unwrap();
            assert!(seen.insert(port), "port {port} handed out twice");
        }
    }

    #[test]
    fn a_port_another_process_listens_on_is_refused() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let error =
            spawn_and_wait(Command::new("true"), "true", port, Duration::from_secs(5)).unwrap_err();
        assert!(error.contains("already listens"), "{error}");
    }
}
