//! A TCP proxy for tests that puts faults between two peers: latency, a stall (forwarding
//! stops, connections stay open: the half-dead peer heartbeats exist for), resets (RST on both
//! sides), and 1-byte segments. Controlled at runtime from the test.
//!
//! Each proxied connection (a "link") runs four threads: a reader and a writer per direction,
//! joined by a queue of timestamped chunks, so latency delays data without slowing the rate.
//! Every blocking call has a short timeout, so each thread notices a fault or a close quickly.

use socket2::SockRef;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How often a blocked proxy thread looks at the faults and the closed flag.
const SLICE: Duration = Duration::from_millis(5);

/// The faults applied to forwarding, as set by the test.
#[derive(Clone, Copy, Debug, Default)]
struct Faults {
    latency: Duration,
    stalled: bool,
    one_byte_segments: bool,
}

struct Shared {
    target: SocketAddr,
    faults: Mutex<Faults>,
    links: Mutex<Vec<Weak<Link>>>,
    accepted: AtomicUsize,
    stop: AtomicBool,
}

impl Shared {
    fn faults(&self) -> Faults {
        *self.faults.lock().unwrap()
    }
}

/// One proxied connection: the client's stream and ours to the target.
struct Link {
    client: TcpStream,
    server: TcpStream,
    /// Closing: every thread of the link exits at its next look.
    closed: AtomicBool,
    /// This link alone forwards nothing (see [`FaultProxy::stall_live`]).
    stalled: AtomicBool,
}

impl Link {
    fn is_stalled(&self, shared: &Shared) -> bool {
        self.stalled.load(Ordering::SeqCst) || shared.faults().stalled
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

enum Chunk {
    Data(Instant, Vec<u8>),
    Eof,
}

/// A running proxy: connect to [`endpoint`](FaultProxy::endpoint) instead of the target.
pub struct FaultProxy {
    /// `tcp://127.0.0.1:port` of the proxy.
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port that forwards to `target` (`tcp://host:port`).
    pub fn start(target: &str) -> FaultProxy {
        let target: SocketAddr = target
            .strip_prefix("tcp://")
            .expect("a tcp:// endpoint")
            .parse()
            .expect("an address");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            target,
            faults: Mutex::new(Faults::default()),
            links: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        std::thread::spawn(move || accept_loop(listener, accept_shared));
        FaultProxy { endpoint, shared }
    }

    /// Delays every chunk by `latency` from now on (data already queued keeps its delay).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults.lock().unwrap().latency = latency;
    }

    /// Stops (or resumes) forwarding on every link, present and future, without closing any.
    pub fn set_stalled(&self, stalled: bool) {
        self.shared.faults.lock().unwrap().stalled = stalled;
    }

    /// Stops forwarding on the links open now, for good (until they close); later links
    /// forward normally. A path that went dead while a new one works.
    pub fn stall_live(&self) {
        for link in self.live_links() {
            link.stalled.store(true, Ordering::SeqCst);
        }
    }

    /// Resumes forwarding on the links stalled by [`stall_live`](Self::stall_live).
    pub fn resume_live(&self) {
        for link in self.live_links() {
            link.stalled.store(false, Ordering::SeqCst);
        }
    }

    /// Writes every chunk one byte per `write` (TCP_NODELAY: one byte per segment).
    pub fn set_one_byte_segments(&self, on: bool) {
        self.shared.faults.lock().unwrap().one_byte_segments = on;
    }

    /// Resets every open link on both sides (SO_LINGER 0, then close: an RST each way) and
    /// waits until they are closed.
    pub fn reset_all(&self) {
        let links = self.live_links();
        for link in &links {
            for stream in [&link.client, &link.server] {
                let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
            }
            link.close();
        }
        let weak: Vec<Weak<Link>> = links.iter().map(Arc::downgrade).collect();
        drop(links);
        let deadline = Instant::now() + Duration::from_secs(5);
        while weak.iter().any(|w| w.strong_count() > 0) {
            assert!(
                Instant::now() < deadline,
                "proxy links did not close after a reset"
            );
            std::thread::sleep(SLICE);
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Links open now.
    pub fn live(&self) -> usize {
        self.live_links().len()
    }

    /// Waits until `count` connections were accepted in all; false if not within `within`.
    pub fn wait_accepted(&self, count: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.accepted() < count {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(SLICE);
        }
        true
    }

    /// Waits until at most `count` links are open; false if not within `within`.
    pub fn wait_live_at_most(&self, count: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.live() > count {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(SLICE);
        }
        true
    }

    fn live_links(&self) -> Vec<Arc<Link>> {
        let mut links = self.shared.links.lock().unwrap();
        links.retain(|w| w.upgrade().is_some_and(|l| !l.is_closed()));
        links.iter().filter_map(Weak::upgrade).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for link in self.live_links() {
            link.close();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(shared.target) else {
                    continue; // the target is down: the client sees its connection close
                };
                start_link(client, server, &shared);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(SLICE),
            Err(_) => std::thread::sleep(SLICE),
        }
    }
}

fn start_link(client: TcpStream, server: TcpStream, shared: &Arc<Shared>) {
    for s in [&client, &server] {
        s.set_nonblocking(false).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(SLICE)).unwrap();
        s.set_write_timeout(Some(SLICE)).unwrap();
    }
    let link = Arc::new(Link {
        client,
        server,
        closed: AtomicBool::new(false),
        stalled: AtomicBool::new(false),
    });
    shared.links.lock().unwrap().push(Arc::downgrade(&link));
    let done = Arc::new(AtomicUsize::new(0));
    for to_server in [true, false] {
        let (tx, rx) = channel();
        let (l, s, d) = (Arc::clone(&link), Arc::clone(shared), Arc::clone(&done));
        std::thread::spawn(move || read_side(&l, &s, to_server, &tx));
        let (l, s) = (Arc::clone(&link), Arc::clone(shared));
        std::thread::spawn(move || write_side(&l, &s, to_server, &rx, &d));
    }
}

fn streams(link: &Link, to_server: bool) -> (&TcpStream, &TcpStream) {
    if to_server {
        (&link.client, &link.server)
    } else {
        (&link.server, &link.client)
    }
}

fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Reads one direction into the queue, stamped with the delivery time.
fn read_side(link: &Link, shared: &Shared, to_server: bool, tx: &Sender<Chunk>) {
    let (mut from, _) = streams(link, to_server);
    let mut buf = vec![0u8; 64 * 1024];
    while !link.is_closed() {
        if link.is_stalled(shared) {
            std::thread::sleep(SLICE);
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = tx.send(Chunk::Eof);
                return;
            }
            Ok(n) => {
                let due = Instant::now() + shared.faults().latency;
                let _ = tx.send(Chunk::Data(due, buf[..n].to_vec()));
            }
            Err(e) if is_retry(&e) => {}
            Err(_) => {
                link.close();
                return;
            }
        }
    }
}

/// Writes one direction from the queue when each chunk is due, honouring stalls and 1-byte
/// segments. When both directions ended, the link closes.
fn write_side(link: &Link, shared: &Shared, to_server: bool, rx: &Receiver<Chunk>, done: &AtomicUsize) {
    let (_, mut to) = streams(link, to_server);
    let mut pending: VecDeque<u8> = VecDeque::new();
    let mut eof = false;
    while !link.is_closed() {
        if pending.is_empty() {
            if eof {
                let _ = to.shutdown(Shutdown::Write);
                break;
            }
            match rx.recv_timeout(SLICE) {
                Ok(Chunk::Data(due, bytes)) => {
                    while Instant::now() < due && !link.is_closed() {
                        std::thread::sleep(SLICE.min(due.saturating_duration_since(Instant::now())));
                    }
                    pending.extend(bytes);
                }
                Ok(Chunk::Eof) => eof = true,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            continue;
        }
        if link.is_stalled(shared) {
            std::thread::sleep(SLICE);
            continue;
        }
        let one = shared.faults().one_byte_segments;
        let (front, _) = pending.as_slices();
        let piece = if one { &front[..1] } else { front };
        match to.write(piece) {
            Ok(n) => drop(pending.drain(..n)),
            Err(e) if is_retry(&e) => {}
            Err(_) => {
                link.close();
                break;
            }
        }
    }
    if done.fetch_add(1, Ordering::SeqCst) == 1 {
        link.close(); // both directions finished
    }
}
