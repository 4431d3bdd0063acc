//! Starting a test server on loopback: spawn it, wait until its port accepts connections,
//! and report why not when it does not (shared by [`crate::azurite`] and
//! [`crate::gcs_emulator`]).

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
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

/// Spawns `command` (stdout and stderr piped) and waits up to `startup` until `port` on
/// 127.0.0.1 accepts connections; afterwards its output is drained by a thread so that a
/// full pipe never stalls it.
///
/// # Errors
/// The reason, in words: it could not be run, it exited (with its output), or it did not
/// listen in time (it is then killed).
pub(crate) fn spawn_and_wait(
    mut command: Command,
    what: &str,
    port: u16,
    startup: Duration,
) -> Result<Child, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
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
    Ok(child)
}
