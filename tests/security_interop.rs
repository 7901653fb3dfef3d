//! PLAIN, CURVE and ZAP against libzmq (through pyzmq, whose libzmq has CURVE): zocket as
//! the server with a libzmq client and the other way round, over TCP and IPC.
//!
//! - CURVE: REQ/REP (multipart, 100 KB), DEALER/ROUTER (routing ids, 1,000 messages) and
//!   XPUB/SUB (the subscription travels boxed; one side's PINGs and the other's PONGs keep
//!   an idle link up), with no ZAP handler: any client that knows the server's key is
//!   accepted, by either implementation.
//! - PLAIN with a ZAP handler that accepts, one that refuses, and none (every client
//!   refused).
//! - Refusals: a wrong server key, a client key the handler does not know, a wrong
//!   password, NULL meeting CURVE. Nothing is delivered; the monitors say why.
//! - The `User-Id` a ZAP handler gives: the PLAIN user name, the CURVE client's Z85 key.
//!
//! Each libzmq peer is one `python3 -c PEER CONFIG` process: it prints `ENDPOINT ...` when it
//! has bound, `EVENT NAME VALUE` for what its monitor saw, `ZAP ...` for the requests its
//! hand-written ZAP handler got, and `OK` when its part passed; it exits non-zero on any
//! failure, and by itself after `alarm` seconds whatever happens. After `OK` it waits for its
//! standard input to close before it exits, so that its last replies go out and its
//! connections stay up while the test looks at the zocket side.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use zocket::monitor::{PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH};
use zocket::{Context, CurveKeyPair, Monitor, MonitorEvent, Socket, SocketEvent, SocketType};

/// How long anything that should happen may take.
const DEADLINE: Duration = Duration::from_secs(5);
/// How long a refused peer's message is waited for (it must not come).
const NOTHING_WAIT: Duration = Duration::from_secs(1);

/// The libzmq peer. Its configuration is a JSON object in `sys.argv[1]`:
/// `role` (rep, req, router, dealer, xpub, sub), `bind` or `connect`, `sec` (the mechanism
/// and keys), `zap` (the ZAP handler, with the server), `heartbeat` ([ivl, timeout] in ms),
/// `refused` (a client sends one message that must stay queued, and does nothing else),
/// `expect_event` ([[name, value or null], ...]: wait for one of those monitor events first),
/// `nothing` (a server expects no message at all within that many ms), `alarm`.
const PEER: &str = r#"
import json, os, signal, sys, threading, time, traceback
import zmq
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

cfg = json.loads(sys.argv[1])
signal.alarm(cfg.get("alarm", 20))
T = 5000
ctx = zmq.Context()

_say_lock = threading.Lock()

def say(*words):
    # One line at a time: the ZAP handler and the monitor print from their own threads.
    with _say_lock:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()

def fail(why):
    say("FAIL", why)
    sys.stdout.flush()
    os._exit(1)

def check(cond, why):
    if not cond:
        fail(why)

def requests():
    return [[b"hello"], [b"multi", b"part", b"message"],
            [bytes(i % 251 for i in range(100 * 1024))], [b"", b"empty first"], [b"bye"]]

def start_zap(zap):
    kind = zap["kind"]
    if kind in ("plain", "curve"):
        from zmq.auth.thread import ThreadAuthenticator
        auth = ThreadAuthenticator(ctx)
        auth.start()
        if kind == "plain":
            auth.configure_plain(domain="*", passwords=zap["users"])
        else:
            keys = set(zap["keys"])
            class Keys:
                def callback(self, domain, key):
                    return (key.decode() if isinstance(key, bytes) else key) in keys
            auth.configure_curve_callback(domain="*", credentials_provider=Keys())
        return auth
    # A hand-written handler: one fixed answer, every request reported.
    handler = ctx.socket(zmq.REP)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")
    def serve():
        while True:
            try:
                req = handler.recv_multipart()
            except zmq.ZMQError:
                return
            creds = [z85.encode(c).decode() if req[5] == b"CURVE" else c.decode("latin-1")
                     for c in req[6:]]
            say("ZAP", req[5].decode(), req[3].decode() or "-", *creds)
            handler.send_multipart([b"1.0", req[1], zap["status"].encode(), b"test handler",
                                    zap.get("user", "").encode(), b""])
    threading.Thread(target=serve, daemon=True).start()
    return handler

def secure(s):
    sec = cfg.get("sec") or {}
    mech = sec.get("mech", "null")
    if mech.startswith("curve"):
        s.setsockopt(zmq.CURVE_SECRETKEY, sec["secret"].encode())
        s.setsockopt(zmq.CURVE_PUBLICKEY, sec["public"].encode())
        if mech == "curve_server":
            s.setsockopt(zmq.CURVE_SERVER, 1)
        else:
            s.setsockopt(zmq.CURVE_SERVERKEY, sec["server"].encode())
    elif mech == "plain_server":
        s.setsockopt(zmq.PLAIN_SERVER, 1)
    elif mech == "plain_client":
        s.setsockopt(zmq.PLAIN_USERNAME, sec["user"].encode())
        s.setsockopt(zmq.PLAIN_PASSWORD, sec["password"].encode())

events = []
def drain(mon, until=None, timeout_ms=0):
    """Monitor events into `events` (printed); with `until` (a list of [name, value or
    None]), waits for one of those."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = max(0, int((deadline - time.monotonic()) * 1000))
        if not mon.poll(left if until else 0):
            return False
        ev = recv_monitor_message(mon)
        name = zmq.Event(ev["event"]).name
        events.append((name, ev["value"]))
        say("EVENT", name, ev["value"])
        if until and any(name == n and v in (None, ev["value"]) for n, v in until):
            return True

def main():
    if cfg.get("zap"):
        start_zap(cfg["zap"])
    role = cfg["role"]
    kinds = {"rep": zmq.REP, "req": zmq.REQ, "router": zmq.ROUTER, "dealer": zmq.DEALER,
             "xpub": zmq.XPUB, "sub": zmq.SUB}
    s = ctx.socket(kinds[role])
    s.linger = 0
    s.rcvtimeo = T
    s.sndtimeo = T
    secure(s)
    if "routing_id" in cfg:
        s.setsockopt(zmq.ROUTING_ID, cfg["routing_id"].encode())
    if "heartbeat" in cfg:
        ivl, timeout = cfg["heartbeat"]
        s.setsockopt(zmq.HEARTBEAT_IVL, ivl)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, timeout)
        s.setsockopt(zmq.HEARTBEAT_TTL, timeout)
    mon = s.get_monitor_socket()
    if "bind" in cfg:
        s.bind(cfg["bind"])
        say("ENDPOINT", s.last_endpoint.decode())
    else:
        s.connect(cfg["connect"])
    if role == "sub":
        s.setsockopt(zmq.SUBSCRIBE, b"A")

    if cfg.get("refused"):
        s.send(b"refused?")  # a client the server refuses: this stays queued
    if "expect_event" in cfg:
        want = cfg["expect_event"]
        check(drain(mon, want, T), "no %s event (saw %s)" % (want, events))
    if "nothing" in cfg:
        s.rcvtimeo = cfg["nothing"]
        try:
            got = s.recv_multipart()
            fail("a refused peer's message was delivered: %r" % got[:3])
        except zmq.Again:
            say("NOTHING")
    elif cfg.get("refused"):
        pass
    elif role == "rep":
        for _ in range(cfg["count"]):
            frames = s.recv_multipart(copy=False)
            try:
                say("USER", frames[0].get("User-Id"))
            except zmq.ZMQError:
                pass  # no ZAP handler, no user id
            s.send_multipart([f.bytes[::-1] for f in frames])
    elif role == "req":
        for req in requests():
            s.send_multipart(req)
            check(s.recv_multipart() == [f[::-1] for f in req], "reply to %r" % req[0][:10])
    elif role == "router":
        peer = cfg["peer_id"].encode()
        for n in range(cfg["count"]):
            rid, body = s.recv_multipart(copy=False)
            check(rid.bytes == peer, "routing id %r" % rid.bytes)
            if n == 0:
                check(body.get("Identity") == cfg["peer_id"], "the dealer's Identity property")
            s.send_multipart([rid.bytes, body.bytes + b"!"])
    elif role == "dealer":
        count = cfg["count"]
        for n in range(count):
            s.send(b"%d" % n)
        for n in range(count):
            reply = s.recv(copy=False)
            check(reply.bytes == b"%d!" % n, "reply %d: %r" % (n, reply.bytes))
            if n == 0:
                check(reply.get("Identity") == cfg["peer_id"], "the router's Identity property")
    elif role == "xpub":
        check(s.recv() == b"\x01A", "the subscription")
        for n in range(3):
            s.send(b"B%d" % n)
            s.send(b"A%d" % n)
        time.sleep(cfg["idle_ms"] / 1000)  # the link stays idle: only heartbeats cross it
        s.send(b"B3")
        s.send(b"Aafter")
        check(s.recv() == b"\x00A", "the unsubscription")
    elif role == "sub":
        got = [s.recv() for _ in range(4)]
        check(got == [b"A0", b"A1", b"A2", b"Aafter"], "published: %r" % got)
        s.setsockopt(zmq.UNSUBSCRIBE, b"A")
    drain(mon)
    say("OK")
    # Until the test is done with this peer: its last replies go out, its link stays up.
    sys.stdin.read()

try:
    main()
except Exception:
    traceback.print_exc()
    fail("exception")
sys.stdout.flush()
os._exit(0)
"#;

// ---------------------------------------------------------------------------------------------
// The python peer.

/// Whether python3 with a CURVE-capable pyzmq is there (checked once).
fn have_pyzmq() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    let have = *HAVE.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import zmq, zmq.auth.thread; assert zmq.has('curve')"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !have {
        println!("skipped: needs python3 with pyzmq built with CURVE (pip install pyzmq)");
    }
    have
}

/// A running libzmq peer; killed if still running when dropped.
struct Py {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Py {
    fn spawn(config: &str) -> Py {
        let mut child = Command::new("python3")
            .args(["-c", PEER, config])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { return };
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Py {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    fn report(&self) -> String {
        format!(
            "python printed {:?}, stderr: {}",
            self.seen,
            self.stderr.lock().unwrap()
        )
    }

    /// Waits for a line starting with `prefix`; returns the rest.
    fn line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                }
                Err(e) => panic!("no {prefix:?} line from python ({e}); {}", self.report()),
            }
        }
    }

    /// The endpoint the peer bound.
    fn endpoint(&mut self) -> String {
        self.line("ENDPOINT ")
    }

    /// Lets the peer go, waits for it to end, checks it passed; returns its lines.
    fn finish(mut self) -> Vec<String> {
        self.stdin.take();
        let deadline = Instant::now() + DEADLINE * 2;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("python did not end; {}", self.report())
                }
            }
        }
        let status = self.child.wait().unwrap();
        // Its standard error closed with it: all of it is read.
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        assert!(
            status.success() && self.seen.iter().any(|l| l == "OK"),
            "python failed ({status}); {}",
            self.report()
        );
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Py {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The monitor events a peer printed, as (name, value).
fn py_events(lines: &[String]) -> Vec<(String, u64)> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("EVENT "))
        .map(|e| {
            let (name, value) = e.split_once(' ').unwrap();
            (name.to_string(), value.parse().unwrap())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Configuration pieces (JSON text; Z85 and paths have no characters to escape).

fn z85(key: &[u8; 32]) -> String {
    zocket::z85_encode(key).unwrap()
}

fn curve_server_sec(keys: &CurveKeyPair) -> String {
    format!(
        r#"{{"mech": "curve_server", "secret": "{}", "public": "{}"}}"#,
        z85(&keys.secret_key),
        z85(&keys.public_key)
    )
}

fn curve_client_sec(keys: &CurveKeyPair, server: &[u8; 32]) -> String {
    format!(
        r#"{{"mech": "curve_client", "secret": "{}", "public": "{}", "server": "{}"}}"#,
        z85(&keys.secret_key),
        z85(&keys.public_key),
        z85(server)
    )
}

fn plain_client_sec(user: &str, password: &str) -> String {
    format!(r#"{{"mech": "plain_client", "user": "{user}", "password": "{password}"}}"#)
}

const PLAIN_SERVER_SEC: &str = r#"{"mech": "plain_server"}"#;
const NULL_SEC: &str = r#"{"mech": "null"}"#;

#[derive(Clone, Copy, Debug)]
enum Transport {
    Tcp,
    Ipc,
}

/// A directory of its own for each IPC endpoint, removed at the end.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("zsec-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Transport {
    /// An endpoint to bind (`tcp` with libzmq's or zocket's wildcard port), with the
    /// directory that must outlive it.
    fn bind_endpoint(self, for_python: bool) -> (String, Option<TempDir>) {
        match self {
            Transport::Tcp if for_python => ("tcp://127.0.0.1:*".into(), None),
            Transport::Tcp => ("tcp://127.0.0.1:0".into(), None),
            Transport::Ipc => {
                let dir = TempDir::new();
                (format!("ipc://{}/s", dir.0.display()), Some(dir))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The zocket side.

/// A socket that does not linger on what a refused peer never took.
fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s.set_rcvtimeo(Some(DEADLINE)).unwrap();
    s.set_sndtimeo(Some(DEADLINE)).unwrap();
    s
}

fn curve_server(ctx: &Context, kind: SocketType, keys: &CurveKeyPair) -> Socket {
    let s = socket(ctx, kind);
    s.set_curve_server(true).unwrap();
    s.set_curve_secretkey(&keys.secret_key).unwrap();
    assert!(s.curve_server());
    s
}

fn curve_client(ctx: &Context, kind: SocketType, keys: &CurveKeyPair, server: &[u8; 32]) -> Socket {
    let s = socket(ctx, kind);
    s.set_curve_serverkey(server).unwrap();
    s.set_curve_secretkey(&keys.secret_key).unwrap();
    s.set_curve_publickey(&keys.public_key).unwrap();
    assert_eq!(s.mechanism(), zocket::Mechanism::Curve);
    s
}

fn plain_client(ctx: &Context, kind: SocketType, user: &str, password: &str) -> Socket {
    let s = socket(ctx, kind);
    s.set_plain_username(Some(user)).unwrap();
    s.set_plain_password(Some(password)).unwrap();
    assert_eq!(s.mechanism(), zocket::Mechanism::Plain);
    s
}

fn plain_server(ctx: &Context, kind: SocketType) -> Socket {
    let s = socket(ctx, kind);
    s.set_plain_server(true).unwrap();
    assert!(s.plain_server());
    s
}

/// The requests both sides send: one frame, several, 100 KB, an empty frame first.
fn requests() -> Vec<Vec<Vec<u8>>> {
    vec![
        vec![b"hello".to_vec()],
        vec![b"multi".to_vec(), b"part".to_vec(), b"message".to_vec()],
        vec![(0..100 * 1024).map(|i| (i % 251) as u8).collect()],
        vec![Vec::new(), b"empty first".to_vec()],
        vec![b"bye".to_vec()],
    ]
}

fn reversed(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames.iter().map(|f| f.iter().rev().copied().collect()).collect()
}

/// The next event of `kind` within the deadline; the others seen on the way are returned
/// in the panic message.
fn next_event(monitor: &Monitor, kind: SocketEvent) -> MonitorEvent {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(event) if event.event == kind => return event,
            Ok(event) => seen.push((event.event, event.value)),
            Err(e) => {
                seen.truncate(12);
                panic!("no {kind:?} within {DEADLINE:?} ({e}); saw {seen:?}...")
            }
        }
    }
}

/// The events a monitor has now, without waiting.
fn pending_events(monitor: &Monitor) -> Vec<(SocketEvent, u64)> {
    std::iter::from_fn(|| monitor.try_recv().ok())
        .map(|e| (e.event, e.value))
        .collect()
}

/// Nothing arrives within [`NOTHING_WAIT`].
fn assert_nothing_delivered(s: &Socket) {
    s.set_rcvtimeo(Some(NOTHING_WAIT)).unwrap();
    match s.recv_multipart(0) {
        Err(zocket::Error::WouldBlock) => {}
        other => panic!("a refused peer's message was delivered: {other:?}"),
    }
}

/// A refused zocket client: its message stayed queued, no connection ever carried it.
fn assert_still_queued(client: &Socket) {
    let stats = client.stats();
    assert_eq!(stats.messages_out, 0, "{stats:?}");
    assert!(stats.peers.is_empty(), "no live connection: {stats:?}");
}

// ---------------------------------------------------------------------------------------------
// 1. CURVE, no ZAP handler: REQ/REP, DEALER/ROUTER, XPUB/SUB.

fn curve_req_rep(transport: Transport, zocket_serves: bool) {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys) = (CurveKeyPair::new().unwrap(), CurveKeyPair::new().unwrap());
    let ctx = Context::new();
    if zocket_serves {
        let rep = curve_server(&ctx, SocketType::Rep, &server_keys);
        let (endpoint, _dir) = transport.bind_endpoint(false);
        rep.bind(&endpoint).unwrap();
        let py = Py::spawn(&format!(
            r#"{{"role": "req", "connect": "{}", "sec": {}}}"#,
            rep.last_endpoint().unwrap(),
            curve_client_sec(&client_keys, &server_keys.public_key)
        ));
        for request in requests() {
            let got = rep
                .recv_multipart(0)
                .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
            assert_eq!(got, request);
            rep.send_multipart(reversed(&got), 0).unwrap();
        }
        py.finish();
    } else {
        let (endpoint, _dir) = transport.bind_endpoint(true);
        let mut py = Py::spawn(&format!(
            r#"{{"role": "rep", "bind": "{endpoint}", "count": {}, "sec": {}}}"#,
            requests().len(),
            curve_server_sec(&server_keys)
        ));
        let req = curve_client(&ctx, SocketType::Req, &client_keys, &server_keys.public_key);
        req.connect(&py.endpoint()).unwrap();
        for request in requests() {
            req.send_multipart(request.clone(), 0).unwrap();
            let reply = req
                .recv_multipart(0)
                .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
            assert_eq!(reply, reversed(&request));
        }
        py.finish();
    }
}

#[test]
fn curve_req_rep_zocket_server_tcp() {
    curve_req_rep(Transport::Tcp, true);
}

#[test]
fn curve_req_rep_libzmq_server_tcp() {
    curve_req_rep(Transport::Tcp, false);
}

#[test]
fn curve_req_rep_zocket_server_ipc() {
    curve_req_rep(Transport::Ipc, true);
}

#[test]
fn curve_req_rep_libzmq_server_ipc() {
    curve_req_rep(Transport::Ipc, false);
}

const ROUTED: usize = 1000;

fn curve_dealer_router(transport: Transport, zocket_serves: bool) {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys) = (CurveKeyPair::new().unwrap(), CurveKeyPair::new().unwrap());
    let ctx = Context::new();
    if zocket_serves {
        let router = curve_server(&ctx, SocketType::Router, &server_keys);
        router.set_routing_id(b"zocket-router").unwrap();
        let (endpoint, _dir) = transport.bind_endpoint(false);
        router.bind(&endpoint).unwrap();
        let py = Py::spawn(&format!(
            r#"{{"role": "dealer", "connect": "{}", "routing_id": "py-dealer",
                "peer_id": "zocket-router", "count": {ROUTED}, "sec": {}}}"#,
            router.last_endpoint().unwrap(),
            curve_client_sec(&client_keys, &server_keys.public_key)
        ));
        for n in 0..ROUTED {
            let id = router
                .recv_msg(0)
                .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
            assert_eq!(&id[..], b"py-dealer", "the dealer's routing id");
            assert!(id.more());
            let body = router.recv_msg(0).unwrap();
            assert_eq!(&body[..], n.to_string().as_bytes());
            if n == 0 {
                assert_eq!(body.gets("Identity"), Some("py-dealer"));
                assert_eq!(body.gets("Socket-Type"), Some("DEALER"));
            }
            router
                .send_multipart([id.to_vec(), format!("{n}!").into_bytes()], 0)
                .unwrap();
        }
        py.finish();
    } else {
        let (endpoint, _dir) = transport.bind_endpoint(true);
        let mut py = Py::spawn(&format!(
            r#"{{"role": "router", "bind": "{endpoint}", "peer_id": "zocket-dealer",
                "routing_id": "py-router", "count": {ROUTED}, "sec": {}}}"#,
            curve_server_sec(&server_keys)
        ));
        let dealer = curve_client(&ctx, SocketType::Dealer, &client_keys, &server_keys.public_key);
        dealer.set_routing_id(b"zocket-dealer").unwrap();
        dealer.connect(&py.endpoint()).unwrap();
        for n in 0..ROUTED {
            dealer.send(n.to_string().as_str(), 0).unwrap();
        }
        for n in 0..ROUTED {
            let reply = dealer
                .recv_msg(0)
                .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
            assert_eq!(&reply[..], format!("{n}!").as_bytes());
            if n == 0 {
                assert_eq!(reply.gets("Identity"), Some("py-router"));
                assert_eq!(reply.gets("Socket-Type"), Some("ROUTER"));
            }
        }
        py.finish();
    }
}

#[test]
fn curve_dealer_router_zocket_server_tcp() {
    curve_dealer_router(Transport::Tcp, true);
}

#[test]
fn curve_dealer_router_libzmq_server_tcp() {
    curve_dealer_router(Transport::Tcp, false);
}

#[test]
fn curve_dealer_router_zocket_server_ipc() {
    curve_dealer_router(Transport::Ipc, true);
}

#[test]
fn curve_dealer_router_libzmq_server_ipc() {
    curve_dealer_router(Transport::Ipc, false);
}

/// Heartbeats: every 100 ms, a peer silent for 500 ms after a PING is dropped, and the link
/// stays idle for 1 s (ten intervals) between two batches of messages. One side sends the
/// PINGs, the other has no heartbeat of its own: then only its PONGs keep the link up (any
/// traffic, the peer's own PINGs included, would stop the pinging side's timeout).
const HEARTBEAT_IVL: Duration = Duration::from_millis(100);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(500);
const IDLE: Duration = Duration::from_millis(1000);

/// Which side sends the PINGs (and drops the link when no PONG comes back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pinger {
    Zocket,
    Libzmq,
}

fn heartbeats(s: &Socket) {
    s.set_heartbeat_ivl(Some(HEARTBEAT_IVL)).unwrap();
    s.set_heartbeat_timeout(Some(HEARTBEAT_TIMEOUT)).unwrap();
    s.set_heartbeat_ttl(Some(HEARTBEAT_TIMEOUT)).unwrap();
}

/// One handshake on each side, and no connection dropped or failed: `ours` are the zocket
/// side's events, `lines` what the python peer printed.
fn assert_link_held(ours: &[(SocketEvent, u64)], lines: &[String]) {
    let lost = |e: &SocketEvent| {
        matches!(
            e,
            SocketEvent::Disconnected
                | SocketEvent::HeartbeatTimeout
                | SocketEvent::HandshakeFailedNoDetail
                | SocketEvent::HandshakeFailedProtocol
                | SocketEvent::HandshakeFailedAuth
        )
    };
    assert!(
        !ours.iter().any(|(e, _)| lost(e)),
        "the zocket side lost its link: {ours:?}"
    );
    let handshakes = ours.iter().filter(|(e, _)| *e == SocketEvent::HandshakeSucceeded);
    assert_eq!(handshakes.count(), 1, "one handshake, no reconnection: {ours:?}");
    // What the peer saw until it passed (it may see the end of the link afterwards).
    let upto_ok = &lines[..lines.iter().position(|l| l == "OK").unwrap()];
    let theirs = py_events(upto_ok);
    assert!(
        !theirs
            .iter()
            .any(|(e, _)| e == "DISCONNECTED" || e.starts_with("HANDSHAKE_FAILED")),
        "the libzmq side lost its link: {theirs:?}"
    );
    let handshakes = theirs.iter().filter(|(e, _)| e == "HANDSHAKE_SUCCEEDED");
    assert_eq!(
        handshakes.count(),
        1,
        "one handshake, no reconnection: {theirs:?}"
    );
}

fn curve_pub_sub(transport: Transport, zocket_serves: bool, pinger: Pinger) {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys) = (CurveKeyPair::new().unwrap(), CurveKeyPair::new().unwrap());
    let ctx = Context::new();
    let heartbeat = match pinger {
        Pinger::Libzmq => format!(
            r#""heartbeat": [{}, {}], "#,
            HEARTBEAT_IVL.as_millis(),
            HEARTBEAT_TIMEOUT.as_millis()
        ),
        Pinger::Zocket => String::new(),
    };
    if zocket_serves {
        let xpub = curve_server(&ctx, SocketType::XPub, &server_keys);
        if pinger == Pinger::Zocket {
            heartbeats(&xpub);
        }
        let monitor = xpub.monitor_events().unwrap();
        let (endpoint, _dir) = transport.bind_endpoint(false);
        xpub.bind(&endpoint).unwrap();
        let py = Py::spawn(&format!(
            r#"{{"role": "sub", "connect": "{}", {heartbeat}"sec": {}}}"#,
            xpub.last_endpoint().unwrap(),
            curve_client_sec(&client_keys, &server_keys.public_key)
        ));
        let sub = xpub
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
        assert_eq!(sub, b"\x01A", "the subscription, unboxed");
        for n in 0..3 {
            xpub.send(format!("B{n}").as_str(), 0).unwrap();
            xpub.send(format!("A{n}").as_str(), 0).unwrap();
        }
        // The subject of the test: an idle link, kept up by PING and PONG alone.
        std::thread::sleep(IDLE);
        xpub.send("B3", 0).unwrap();
        xpub.send("Aafter", 0).unwrap();
        let unsub = xpub
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
        assert_eq!(unsub, b"\x00A", "the unsubscription, unboxed");
        let ours = pending_events(&monitor);
        let lines = py.finish();
        assert_link_held(&ours, &lines);
    } else {
        let (endpoint, _dir) = transport.bind_endpoint(true);
        let mut py = Py::spawn(&format!(
            r#"{{"role": "xpub", "bind": "{endpoint}", {heartbeat}"idle_ms": {},
                "sec": {}}}"#,
            IDLE.as_millis(),
            curve_server_sec(&server_keys)
        ));
        let sub = curve_client(&ctx, SocketType::Sub, &client_keys, &server_keys.public_key);
        if pinger == Pinger::Zocket {
            heartbeats(&sub);
        }
        let monitor = sub.monitor_events().unwrap();
        sub.set_subscribe(b"A").unwrap();
        sub.connect(&py.endpoint()).unwrap();
        sub.set_rcvtimeo(Some(DEADLINE + IDLE)).unwrap();
        let mut got = Vec::new();
        for _ in 0..4 {
            let msg = sub
                .recv_bytes(0)
                .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
            got.push(String::from_utf8(msg).unwrap());
        }
        assert_eq!(got, ["A0", "A1", "A2", "Aafter"], "only the prefix's messages");
        let ours = pending_events(&monitor);
        sub.set_unsubscribe(b"A").unwrap();
        let lines = py.finish();
        assert_link_held(&ours, &lines);
        assert_eq!(sub.stats().reconnects, 0);
    }
}

#[test]
fn curve_pub_sub_zocket_server_tcp_zocket_pings() {
    curve_pub_sub(Transport::Tcp, true, Pinger::Zocket);
}

#[test]
fn curve_pub_sub_zocket_server_tcp_libzmq_pings() {
    curve_pub_sub(Transport::Tcp, true, Pinger::Libzmq);
}

#[test]
fn curve_pub_sub_libzmq_server_tcp_zocket_pings() {
    curve_pub_sub(Transport::Tcp, false, Pinger::Zocket);
}

#[test]
fn curve_pub_sub_libzmq_server_tcp_libzmq_pings() {
    curve_pub_sub(Transport::Tcp, false, Pinger::Libzmq);
}

#[test]
fn curve_pub_sub_zocket_server_ipc_zocket_pings() {
    curve_pub_sub(Transport::Ipc, true, Pinger::Zocket);
}

#[test]
fn curve_pub_sub_zocket_server_ipc_libzmq_pings() {
    curve_pub_sub(Transport::Ipc, true, Pinger::Libzmq);
}

#[test]
fn curve_pub_sub_libzmq_server_ipc_zocket_pings() {
    curve_pub_sub(Transport::Ipc, false, Pinger::Zocket);
}

#[test]
fn curve_pub_sub_libzmq_server_ipc_libzmq_pings() {
    curve_pub_sub(Transport::Ipc, false, Pinger::Libzmq);
}

// ---------------------------------------------------------------------------------------------
// 2. PLAIN, with a ZAP handler that accepts, one that refuses, and none.

/// A zocket ZAP handler of the application's own: a REP socket at inproc://zeromq.zap.01
/// that gives every request the same answer and hands the requests to the test.
struct ZapRep {
    requests: mpsc::Receiver<Vec<Vec<u8>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ZapRep {
    fn start(ctx: &Context, status: &'static str, user_id: &'static str) -> ZapRep {
        let rep = socket(ctx, SocketType::Rep);
        rep.bind("inproc://zeromq.zap.01").unwrap();
        // Short receives, so that the thread sees `stop` soon.
        rep.set_rcvtimeo(Some(Duration::from_millis(50))).unwrap();
        let (tx, requests) = mpsc::channel();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let request = match rep.recv_multipart(0) {
                    Ok(request) => request,
                    Err(zocket::Error::WouldBlock) => continue,
                    Err(e) => panic!("the ZAP handler's socket failed: {e}"),
                };
                let reply: Vec<&[u8]> = vec![
                    b"1.0",
                    &request[1],
                    status.as_bytes(),
                    b"test handler",
                    user_id.as_bytes(),
                    b"",
                ];
                rep.send_multipart(reply, 0).unwrap();
                let _ = tx.send(request);
            }
        });
        ZapRep {
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The first request the handler answered.
    fn request(&self) -> Vec<Vec<u8>> {
        self.requests
            .recv_timeout(DEADLINE)
            .expect("the ZAP handler was asked")
    }
}

impl Drop for ZapRep {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A zocket server answers the requests of `py_config`'s python REQ (the list of
/// [`requests`]); returns the User-Id of each.
fn serve_requests(rep: &Socket, py: &Py) -> Vec<Option<String>> {
    let mut users = Vec::new();
    for request in requests() {
        let mut frames = Vec::new();
        loop {
            let frame = rep.recv_msg(0).unwrap_or_else(|e| panic!("{e}; {}", py.report()));
            users.push(frame.gets("User-Id").map(str::to_owned));
            let more = frame.more();
            frames.push(frame.to_vec());
            if !more {
                break;
            }
        }
        assert_eq!(frames, request);
        rep.send_multipart(reversed(&frames), 0).unwrap();
    }
    users
}

fn lines_with<'a>(lines: &'a [String], prefix: &str) -> Vec<&'a str> {
    lines.iter().filter_map(|l| l.strip_prefix(prefix)).collect()
}

/// libzmq's PLAIN ERROR command is not RFC 24's: its `error_prefix` is the C literal
/// `"\x05ERROR"`, whose hex escape swallows the `E` (`\x05E` is 0x5E, `^`), so libzmq 4.3.5
/// sends `^RROR` + reason (`5e 52 52 4f 52 03 "400"`) and looks for that same prefix in the
/// ERROR it receives. A libzmq PLAIN client refused by zocket's correct ERROR
/// (`05 "ERROR" 03 "400"`) therefore reports an unexpected command, not HANDSHAKE_FAILED_AUTH;
/// either is accepted (the refusal itself is checked by what is delivered).
const LIBZMQ_PLAIN_CLIENT_REFUSED: &str =
    r#"[["HANDSHAKE_FAILED_AUTH", 400], ["HANDSHAKE_FAILED_PROTOCOL", 268435457]]"#;

/// A zocket PLAIN client refused by a libzmq server: the handshake fails, and zocket reads
/// libzmq's `^RROR` (see [`LIBZMQ_PLAIN_CLIENT_REFUSED`]) as the refusal it is: status 400.
fn refused_by_a_libzmq_plain_server(monitor: &Monitor) {
    let failure = next_handshake_failure(monitor);
    assert_eq!(
        (failure.event, failure.value),
        (SocketEvent::HandshakeFailedAuth, 400),
        "{failure:?}"
    );
}

#[test]
fn plain_libzmq_server_with_an_accepting_handler() {
    if !have_pyzmq() {
        return;
    }
    let mut py = Py::spawn(&format!(
        r#"{{"role": "rep", "bind": "tcp://127.0.0.1:*", "count": {}, "sec": {PLAIN_SERVER_SEC},
            "zap": {{"kind": "plain", "users": {{"admin": "secret"}}}}}}"#,
        requests().len()
    ));
    let ctx = Context::new();
    let req = plain_client(&ctx, SocketType::Req, "admin", "secret");
    req.connect(&py.endpoint()).unwrap();
    for request in requests() {
        req.send_multipart(request.clone(), 0).unwrap();
        let reply = req
            .recv_multipart(0)
            .unwrap_or_else(|e| panic!("{e}; {}", py.report()));
        assert_eq!(reply, reversed(&request));
    }
    let lines = py.finish();
    let users = lines_with(&lines, "USER ");
    assert_eq!(users.len(), requests().len(), "{lines:?}");
    assert!(users.iter().all(|u| *u == "admin"), "libzmq's User-Id: {users:?}");
}

#[test]
fn plain_libzmq_server_with_a_refusing_handler() {
    if !have_pyzmq() {
        return;
    }
    let mut py = Py::spawn(&format!(
        r#"{{"role": "rep", "bind": "tcp://127.0.0.1:*", "sec": {PLAIN_SERVER_SEC},
            "zap": {{"kind": "reply", "status": "400"}},
            "expect_event": [["HANDSHAKE_FAILED_AUTH", 400]], "nothing": {}}}"#,
        NOTHING_WAIT.as_millis()
    ));
    let ctx = Context::new();
    let req = plain_client(&ctx, SocketType::Req, "admin", "secret");
    let monitor = req.monitor_events().unwrap();
    req.connect(&py.endpoint()).unwrap();
    req.send("refused?", 0).unwrap();
    refused_by_a_libzmq_plain_server(&monitor);
    let lines = py.finish();
    assert!(lines.iter().any(|l| l == "NOTHING"), "{lines:?}");
    // zocket's HELLO, as libzmq read it.
    assert_eq!(
        lines_with(&lines, "ZAP ").first(),
        Some(&"PLAIN 127.0.0.1 admin secret"),
        "{lines:?}"
    );
    assert_still_queued(&req);
}

#[test]
fn plain_libzmq_server_without_a_handler_refuses_everyone() {
    if !have_pyzmq() {
        return;
    }
    let mut py = Py::spawn(&format!(
        r#"{{"role": "rep", "bind": "tcp://127.0.0.1:*", "sec": {PLAIN_SERVER_SEC},
            "expect_event": [["HANDSHAKE_FAILED_NO_DETAIL", {}]], "nothing": {}}}"#,
        libc::EFAULT,
        NOTHING_WAIT.as_millis()
    ));
    let ctx = Context::new();
    let req = plain_client(&ctx, SocketType::Req, "admin", "secret");
    req.connect(&py.endpoint()).unwrap();
    req.send("refused?", 0).unwrap();
    let lines = py.finish();
    assert!(lines.iter().any(|l| l == "NOTHING"), "{lines:?}");
    assert_still_queued(&req);
}

#[test]
fn plain_zocket_authenticator_accepts_and_names_the_user() {
    if !have_pyzmq() {
        return;
    }
    let ctx = Context::new();
    let auth = zocket::auth::Authenticator::start(&ctx).unwrap();
    auth.allow("127.0.0.1");
    auth.configure_plain("*", [("admin", "secret")]);
    let rep = plain_server(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "req", "connect": "{}", "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        plain_client_sec("admin", "secret")
    ));
    let users = serve_requests(&rep, &py);
    assert!(
        users.iter().all(|u| u.as_deref() == Some("admin")),
        "every frame's User-Id: {users:?}"
    );
    py.finish();
}

#[test]
fn plain_zocket_server_with_an_accepting_zap_socket() {
    if !have_pyzmq() {
        return;
    }
    let ctx = Context::new();
    let zap = ZapRep::start(&ctx, "200", "someone");
    let rep = plain_server(&ctx, SocketType::Rep);
    rep.set_zap_domain("test-domain").unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "req", "connect": "{}", "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        plain_client_sec("admin", "secret")
    ));
    let users = serve_requests(&rep, &py);
    assert!(users.iter().all(|u| u.as_deref() == Some("someone")), "{users:?}");
    py.finish();
    // libzmq's HELLO, as zocket's server put it to the handler.
    let request = zap.request();
    let expected: [&[u8]; 5] = [b"1.0", b"test-domain", b"127.0.0.1", b"PLAIN", b"admin"];
    let got: Vec<&[u8]> = [0, 2, 3, 5, 6].iter().map(|&i| &request[i][..]).collect();
    assert_eq!(got, expected, "{request:?}");
    assert_eq!(request[7], b"secret");
    assert_eq!(request.len(), 8);
}

#[test]
fn plain_zocket_server_with_a_refusing_zap_socket() {
    if !have_pyzmq() {
        return;
    }
    let ctx = Context::new();
    let _zap = ZapRep::start(&ctx, "400", "");
    let rep = plain_server(&ctx, SocketType::Rep);
    let monitor = rep.monitor_events().unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "req", "connect": "{}", "refused": true,
            "expect_event": {LIBZMQ_PLAIN_CLIENT_REFUSED}, "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        plain_client_sec("admin", "secret")
    ));
    let refused = next_event(&monitor, SocketEvent::HandshakeFailedAuth);
    assert_eq!(refused.value, 400, "the handler's status code");
    assert_nothing_delivered(&rep);
    py.finish();
}

/// A handshake failure of any kind on a zocket server's monitor.
fn next_handshake_failure(monitor: &Monitor) -> MonitorEvent {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(event) => match event.event {
                SocketEvent::HandshakeFailedAuth
                | SocketEvent::HandshakeFailedNoDetail
                | SocketEvent::HandshakeFailedProtocol => return event,
                SocketEvent::HandshakeSucceeded => panic!("the handshake succeeded: {seen:?}"),
                other => seen.push(other),
            },
            Err(e) => {
                seen.truncate(12);
                panic!("no handshake failure within {DEADLINE:?} ({e}); saw {seen:?}...")
            }
        }
    }
}

#[test]
fn plain_zocket_server_without_a_handler_refuses_everyone() {
    if !have_pyzmq() {
        return;
    }
    let ctx = Context::new();
    let rep = plain_server(&ctx, SocketType::Rep);
    let monitor = rep.monitor_events().unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "req", "connect": "{}", "refused": true, "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        plain_client_sec("admin", "secret")
    ));
    let failure = next_handshake_failure(&monitor);
    println!("zocket's PLAIN server without a handler reports {failure:?}");
    assert_nothing_delivered(&rep);
    py.finish();
}

// ---------------------------------------------------------------------------------------------
// 3. Refusals: wrong server key, unknown client key, wrong password, NULL against CURVE.

#[test]
fn curve_zocket_client_with_a_wrong_server_key() {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys, wrong) = (
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
    );
    let mut py = Py::spawn(&format!(
        r#"{{"role": "rep", "bind": "tcp://127.0.0.1:*", "sec": {},
            "expect_event": [["HANDSHAKE_FAILED_PROTOCOL", {PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC}]],
            "nothing": {}}}"#,
        curve_server_sec(&server_keys),
        NOTHING_WAIT.as_millis()
    ));
    let ctx = Context::new();
    let dealer = curve_client(&ctx, SocketType::Dealer, &client_keys, &wrong.public_key);
    dealer.connect(&py.endpoint()).unwrap();
    dealer.send("refused?", 0).unwrap();
    let lines = py.finish();
    assert!(lines.iter().any(|l| l == "NOTHING"), "{lines:?}");
    assert_still_queued(&dealer);
}

#[test]
fn curve_libzmq_client_with_a_wrong_server_key() {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys, wrong) = (
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
    );
    let ctx = Context::new();
    let rep = curve_server(&ctx, SocketType::Rep, &server_keys);
    let monitor = rep.monitor_events().unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "dealer", "connect": "{}", "refused": true, "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        curve_client_sec(&client_keys, &wrong.public_key)
    ));
    let failure = next_event(&monitor, SocketEvent::HandshakeFailedProtocol);
    assert_eq!(
        failure.value,
        u64::from(PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
        "a HELLO that does not open, as libzmq reports it"
    );
    assert_nothing_delivered(&rep);
    py.finish();
}

#[test]
fn curve_zocket_authenticator_refuses_an_unknown_client_key() {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys, known) = (
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
    );
    let ctx = Context::new();
    let auth = zocket::auth::Authenticator::start(&ctx).unwrap();
    auth.configure_curve("*", [known.public_key]);
    let rep = curve_server(&ctx, SocketType::Rep, &server_keys);
    let monitor = rep.monitor_events().unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "dealer", "connect": "{}", "refused": true,
            "expect_event": [["HANDSHAKE_FAILED_AUTH", 400]], "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        curve_client_sec(&client_keys, &server_keys.public_key)
    ));
    let refused = next_event(&monitor, SocketEvent::HandshakeFailedAuth);
    assert_eq!(refused.value, 400);
    assert_nothing_delivered(&rep);
    py.finish();
}

#[test]
fn curve_libzmq_authenticator_refuses_an_unknown_zocket_key() {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys, known) = (
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
        CurveKeyPair::new().unwrap(),
    );
    let mut py = Py::spawn(&format!(
        r#"{{"role": "rep", "bind": "tcp://127.0.0.1:*", "sec": {},
            "zap": {{"kind": "curve", "keys": ["{}"]}},
            "expect_event": [["HANDSHAKE_FAILED_AUTH", 400]], "nothing": {}}}"#,
        curve_server_sec(&server_keys),
        z85(&known.public_key),
        NOTHING_WAIT.as_millis()
    ));
    let ctx = Context::new();
    let dealer = curve_client(&ctx, SocketType::Dealer, &client_keys, &server_keys.public_key);
    let monitor = dealer.monitor_events().unwrap();
    dealer.connect(&py.endpoint()).unwrap();
    dealer.send("refused?", 0).unwrap();
    let refused = next_event(&monitor, SocketEvent::HandshakeFailedAuth);
    assert_eq!(refused.value, 400, "the status code of libzmq's ERROR");
    let lines = py.finish();
    assert!(lines.iter().any(|l| l == "NOTHING"), "{lines:?}");
    assert_still_queued(&dealer);
}

#[test]
fn plain_zocket_authenticator_refuses_a_wrong_password() {
    if !have_pyzmq() {
        return;
    }
    let ctx = Context::new();
    let auth = zocket::auth::Authenticator::start(&ctx).unwrap();
    auth.configure_plain("*", [("admin", "secret")]);
    let rep = plain_server(&ctx, SocketType::Rep);
    let monitor = rep.monitor_events().unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "req", "connect": "{}", "refused": true,
            "expect_event": {LIBZMQ_PLAIN_CLIENT_REFUSED}, "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        plain_client_sec("admin", "wrong")
    ));
    let refused = next_event(&monitor, SocketEvent::HandshakeFailedAuth);
    assert_eq!(refused.value, 400);
    assert_nothing_delivered(&rep);
    py.finish();
}

#[test]
fn plain_libzmq_authenticator_refuses_a_wrong_password() {
    if !have_pyzmq() {
        return;
    }
    let mut py = Py::spawn(&format!(
        r#"{{"role": "rep", "bind": "tcp://127.0.0.1:*", "sec": {PLAIN_SERVER_SEC},
            "zap": {{"kind": "plain", "users": {{"admin": "secret"}}}},
            "expect_event": [["HANDSHAKE_FAILED_AUTH", 400]], "nothing": {}}}"#,
        NOTHING_WAIT.as_millis()
    ));
    let ctx = Context::new();
    let req = plain_client(&ctx, SocketType::Req, "admin", "wrong");
    let monitor = req.monitor_events().unwrap();
    req.connect(&py.endpoint()).unwrap();
    req.send("refused?", 0).unwrap();
    refused_by_a_libzmq_plain_server(&monitor);
    let lines = py.finish();
    assert!(lines.iter().any(|l| l == "NOTHING"), "{lines:?}");
    assert_still_queued(&req);
}

/// NULL against CURVE, on the zocket side: a mechanism mismatch when zocket read libzmq's
/// whole greeting first; otherwise libzmq, which saw the mismatch in zocket's greeting,
/// closed the connection before its own greeting's mechanism went out (no detail then).
fn mismatch_or_closed(monitor: &Monitor) {
    let failure = next_handshake_failure(monitor);
    match failure.event {
        SocketEvent::HandshakeFailedProtocol => assert_eq!(
            failure.value,
            u64::from(PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
            "{failure:?}"
        ),
        SocketEvent::HandshakeFailedNoDetail => {}
        _ => panic!("a mechanism mismatch reported as {failure:?}"),
    }
}

#[test]
fn a_null_libzmq_client_meets_a_zocket_curve_server() {
    if !have_pyzmq() {
        return;
    }
    let server_keys = CurveKeyPair::new().unwrap();
    let ctx = Context::new();
    let rep = curve_server(&ctx, SocketType::Rep, &server_keys);
    let monitor = rep.monitor_events().unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "dealer", "connect": "{}", "refused": true, "sec": {NULL_SEC},
            "expect_event": [["HANDSHAKE_FAILED_PROTOCOL", {PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH}]]}}"#,
        rep.last_endpoint().unwrap(),
    ));
    mismatch_or_closed(&monitor);
    assert_nothing_delivered(&rep);
    py.finish();
}

#[test]
fn a_null_zocket_client_meets_a_libzmq_curve_server() {
    if !have_pyzmq() {
        return;
    }
    let server_keys = CurveKeyPair::new().unwrap();
    let mut py = Py::spawn(&format!(
        r#"{{"role": "rep", "bind": "tcp://127.0.0.1:*", "sec": {},
            "expect_event": [["HANDSHAKE_FAILED_PROTOCOL", {PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH}]],
            "nothing": {}}}"#,
        curve_server_sec(&server_keys),
        NOTHING_WAIT.as_millis()
    ));
    let ctx = Context::new();
    let dealer = socket(&ctx, SocketType::Dealer);
    let monitor = dealer.monitor_events().unwrap();
    dealer.connect(&py.endpoint()).unwrap();
    dealer.send("refused?", 0).unwrap();
    mismatch_or_closed(&monitor);
    let lines = py.finish();
    assert!(lines.iter().any(|l| l == "NOTHING"), "{lines:?}");
    assert_still_queued(&dealer);
}

// ---------------------------------------------------------------------------------------------
// 4. The User-Id of a CURVE client (the PLAIN one: `plain_zocket_authenticator_...`).

#[test]
fn curve_zocket_authenticator_names_the_client_by_its_key() {
    if !have_pyzmq() {
        return;
    }
    let (server_keys, client_keys) = (CurveKeyPair::new().unwrap(), CurveKeyPair::new().unwrap());
    let ctx = Context::new();
    let auth = zocket::auth::Authenticator::start(&ctx).unwrap();
    auth.allow("127.0.0.1");
    auth.configure_curve("*", [client_keys.public_key]);
    let rep = curve_server(&ctx, SocketType::Rep, &server_keys);
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let py = Py::spawn(&format!(
        r#"{{"role": "req", "connect": "{}", "sec": {}}}"#,
        rep.last_endpoint().unwrap(),
        curve_client_sec(&client_keys, &server_keys.public_key)
    ));
    let users = serve_requests(&rep, &py);
    let key = z85(&client_keys.public_key);
    assert!(
        users.iter().all(|u| u.as_deref() == Some(key.as_str())),
        "every frame's User-Id is {key}: {users:?}"
    );
    py.finish();
}
