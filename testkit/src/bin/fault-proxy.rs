//! `fault-proxy`: a loopback TCP proxy whose fault a script sets (issue #18,
//! `scripts/soak.sh`): [`zipchain_testkit::fault_proxy`] as a process.
//!
//! `fault-proxy --listen ADDR --upstream ADDR --control FILE`: forwards ADDR to the
//! upstream address, and every 100 ms reads FILE: `forward`, `stall` (accept, never
//! answer), `down` (close every connection at once) or `delay <ms>` (hold every answer
//! chunk that long); a missing file is `forward`, anything else leaves the fault as it
//! is (write the file atomically). A change cuts every open connection.
//! Prints `listening on http://ADDR` and runs until killed; exit 2 for bad usage.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use zipchain_testkit::fault_proxy::{Fault, FaultProxy};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fault-proxy: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| -> Result<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .ok_or_else(|| {
                anyhow!("usage: fault-proxy --listen ADDR --upstream ADDR --control FILE")
            })
    };
    let listen: SocketAddr = flag("--listen")?.parse().context("--listen")?;
    let upstream: SocketAddr = flag("--upstream")?.parse().context("--upstream")?;
    let control = PathBuf::from(flag("--control")?);
    let proxy =
        FaultProxy::start_on(listen, upstream).with_context(|| format!("listen on {listen}"))?;
    println!("listening on {}", proxy.url());
    loop {
        let wanted = match std::fs::read_to_string(&control) {
            Ok(text) => match Fault::parse(&text) {
                Ok(fault) => fault,
                // Half written, say: the fault stays as it is, and the next read decides.
                Err(e) => {
                    eprintln!("fault-proxy: {}: {e}; unchanged", control.display());
                    proxy.fault()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Fault::Forward,
            Err(e) => return Err(anyhow!("{}: {e}", control.display())),
        };
        if wanted != proxy.fault() {
            eprintln!("fault-proxy {}: {wanted:?}", proxy.addr());
            proxy.set(wanted);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
