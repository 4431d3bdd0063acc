//! A TCP proxy on loopback that fails on command, between the writer and a service it
//! calls (issue #18): it forwards, answers nothing, delays every answer, or drops every
//! connection, as a service that is up, hung, slow or down would. Switching the fault
//! cuts the connections open through it, so that no pooled keep-alive connection slips
//! past the new fault.
//!
//! Plain threads and blocking sockets: it carries a few requests a second (the sequencer,
//! the timestamp service, a store), and has no runtime of its own to share with a test's.
//! The `fault-proxy` binary runs one for scripts, its fault read from a file.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What the proxy does with the connections it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways, as it comes.
    Forward,
    /// Forward, but hold every chunk of the answer this long first: a slow service.
    Delay(Duration),
    /// Accept and read, never answer: a service that hangs (clients time out).
    Stall,
    /// Close every connection at once, unanswered: a service that is down.
    Down,
}

impl Fault {
    /// Reads a fault as the `fault-proxy` control file spells it: `forward`, `stall`,
    /// `down`, or `delay <milliseconds>`.
    ///
    /// # Errors
    /// The text, when it is none of these.
    pub fn parse(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["forward"] => Ok(Self::Forward),
            ["stall"] => Ok(Self::Stall),
            ["down"] => Ok(Self::Down),
            ["delay", ms] => ms
                .parse()
                .map(|ms| Self::Delay(Duration::from_millis(ms)))
                .map_err(|_| format!("delay {ms:?}: expected milliseconds")),
            _ => Err(format!(
                "{text:?}: expected forward, stall, down or delay <ms>"
            )),
        }
    }
}

/// What the accepting thread and the connections share.
#[derive(Debug)]
struct Inner {
    upstream: SocketAddr,
    fault: Mutex<Fault>,
    /// The client side of every open connection, to cut them when the fault changes.
    open: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
    stopped: AtomicBool,
}

impl Inner {
    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cut_all(&self) {
        for (_, stream) in self.open().drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// A running proxy; it stops (and cuts its connections) when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

impl FaultProxy {
    /// A proxy to `upstream` on a free loopback port, forwarding.
    ///
    /// # Errors
    /// When no port can be bound.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream)
    }

    /// A proxy to `upstream` listening on `listen`, forwarding.
    ///
    /// # Errors
    /// When `listen` cannot be bound.
    pub fn start_on(listen: SocketAddr, upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            upstream,
            fault: Mutex::new(Fault::Forward),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let shared = Arc::clone(&inner);
        std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || accept_loop(&listener, &shared))?;
        Ok(Self { addr, inner })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fault now.
    pub fn fault(&self) -> Fault {
        self.inner.fault()
    }

    /// Switches to `fault`, cutting every connection open through the proxy.
    pub fn set(&self, fault: Fault) {
        *self
            .inner
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = fault;
        self.inner.cut_all();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees `stopped`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        self.inner.cut_all();
    }
}

fn accept_loop(listener: &TcpListener, inner: &Arc<Inner>) {
    for client in listener.incoming() {
        if inner.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let inner = Arc::clone(inner);
        let _ = std::thread::Builder::new()
            .name("fault-proxy-conn".into())
            .spawn(move || connection(client, &inner));
    }
}

/// Serves one accepted connection under the fault of the moment.
fn connection(client: TcpStream, inner: &Arc<Inner>) {
    let fault = inner.fault();
    if fault == Fault::Down {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
    match client.try_clone() {
        Ok(handle) => {
            inner.open().insert(id, handle);
        }
        Err(_) => return,
    }
    match fault {
        Fault::Stall => drain(client),
        Fault::Forward | Fault::Delay(_) => forward(client, inner, fault),
        Fault::Down => {}
    }
    if let Some(stream) = inner.open().remove(&id) {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Reads and drops everything until the client or a fault switch closes it.
fn drain(mut client: TcpStream) {
    let mut buf = [0u8; 8192];
    while matches!(client.read(&mut buf), Ok(n) if n > 0) {}
}

fn forward(client: TcpStream, inner: &Arc<Inner>, fault: Fault) {
    let Ok(upstream) = TcpStream::connect_timeout(&inner.upstream, Duration::from_secs(5)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = upstream.set_nodelay(true);
    let _ = client.set_nodelay(true);
    let (Ok(client_in), Ok(upstream_out)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let delay = match fault {
        Fault::Delay(d) => d,
        _ => Duration::ZERO,
    };
    let up = std::thread::spawn(move || copy(client_in, upstream_out, Duration::ZERO));
    copy(upstream, client, delay);
    let _ = up.join();
}

/// Copies `from` to `to` until either closes, holding each chunk `delay` first; then
/// closes both.
fn copy(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut buf = [0u8; 16384];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An echo server: answers each chunk with itself.
    fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let mut s = s.unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    fn ask(proxy: &FaultProxy, timeout: Duration) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(proxy.addr())?;
        s.set_read_timeout(Some(timeout))?;
        s.write_all(b"ping")?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf)?;
        Ok(buf.to_vec())
    }

    #[test]
    fn each_fault_does_what_it_says() {
        let proxy = FaultProxy::start(echo()).unwrap();
        let second = Duration::from_secs(1);
        assert_eq!(ask(&proxy, second).unwrap(), b"ping");

        // A connection open across a switch is cut.
        let mut open = TcpStream::connect(proxy.addr()).unwrap();
        open.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        open.read_exact(&mut buf).unwrap();
        proxy.set(Fault::Down);
        open.set_read_timeout(Some(second)).unwrap();
        assert!(matches!(open.read(&mut buf), Ok(0) | Err(_)));
        assert!(ask(&proxy, second).is_err(), "down");

        proxy.set(Fault::Stall);
        let e = ask(&proxy, Duration::from_millis(300)).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        );

        proxy.set(Fault::Delay(Duration::from_millis(300)));
        let started = Instant::now();
        assert_eq!(ask(&proxy, second).unwrap(), b"ping");
        assert!(started.elapsed() >= Duration::from_millis(300));

        proxy.set(Fault::Forward);
        assert_eq!(ask(&proxy, second).unwrap(), b"ping");
    }

    #[test]
    fn faults_parse_as_the_control_file_spells_them() {
        assert_eq!(Fault::parse("forward\n"), Ok(Fault::Forward));
        assert_eq!(Fault::parse(" stall "), Ok(Fault::Stall));
        assert_eq!(Fault::parse("down"), Ok(Fault::Down));
        assert_eq!(
            Fault::parse("delay 1500"),
            Ok(Fault::Delay(Duration::from_millis(1500)))
        );
        assert!(Fault::parse("delay soon").is_err());
        assert!(Fault::parse("up").is_err());
    }
}
