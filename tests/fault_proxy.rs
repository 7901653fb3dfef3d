//! Faults between two zocket peers, put there by a proxy (`common::fault_proxy`): a stalled
//! path (open, silent), resets, latency and 1-byte segments. Heartbeats must drop a stalled
//! connection and the connector must reconnect; REQ with REQ_RELAXED must recover; a spooled
//! PUSH → PULL pipeline must lose nothing and duplicate nothing across all of it.

mod common;

use common::fault_proxy::FaultProxy;
use common::socket;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use zocket::spool::{FileSpool, Spool};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

const HEARTBEAT_IVL: Duration = Duration::from_millis(100);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(400);
const RECONNECT_IVL: Duration = Duration::from_millis(20);
/// What a loaded 2-core machine may add to any timing.
const SLACK: Duration = Duration::from_millis(1000);
const DEADLINE: Duration = Duration::from_secs(20);

fn with_heartbeats(s: &Socket) {
    s.set_heartbeat_ivl(Some(HEARTBEAT_IVL)).unwrap();
    s.set_heartbeat_timeout(Some(HEARTBEAT_TIMEOUT)).unwrap();
}

/// A stalled path: PINGs go unanswered, so the connector drops the connection within
/// HEARTBEAT_IVL + HEARTBEAT_TIMEOUT (and not before HEARTBEAT_TIMEOUT - HEARTBEAT_IVL),
/// reconnects, and messages flow over the new connection; a healthy path is never dropped.
#[test]
fn heartbeats_drop_a_stalled_connection_and_the_connector_reconnects() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    with_heartbeats(&pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let proxy = FaultProxy::start(&pull.last_endpoint().unwrap());
    let push = socket(&ctx, SocketType::Push);
    with_heartbeats(&push);
    push.set_reconnect_ivl(RECONNECT_IVL).unwrap();
    push.connect(&proxy.endpoint).unwrap();

    // Healthy for three heartbeat timeouts, with traffic now and then: one connection.
    let healthy_until = Instant::now() + 3 * HEARTBEAT_TIMEOUT;
    let mut n = 0u32;
    while Instant::now() < healthy_until {
        push.send(n.to_be_bytes(), 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), n.to_be_bytes());
        n += 1;
        std::thread::sleep(Duration::from_millis(50)); // traffic at a modest pace
    }
    assert_eq!(proxy.accepted(), 1, "heartbeats dropped a healthy connection");

    let stalled_at = Instant::now();
    proxy.stall_live();
    let limit = HEARTBEAT_IVL + HEARTBEAT_TIMEOUT + RECONNECT_IVL + SLACK;
    assert!(
        proxy.wait_accepted(2, DEADLINE),
        "the connector never replaced a stalled connection"
    );
    let took = stalled_at.elapsed();
    eprintln!("stalled connection replaced after {took:?}");
    assert!(
        took <= limit,
        "a stalled connection was replaced only after {took:?}"
    );
    assert!(
        took + HEARTBEAT_IVL >= HEARTBEAT_TIMEOUT,
        "a stalled connection was dropped after {took:?}, before the heartbeat timeout"
    );
    push.send("after the stall", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"after the stall");

    // Once the old path works again, what is left of it closes (both ends dropped it).
    proxy.resume_live();
    assert!(
        proxy.wait_live_at_most(1, DEADLINE),
        "the stalled connection was kept open by one side"
    );
    push.send("at the end", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"at the end");
}

/// A REP in its own thread that answers every request with `re:` and the request, until the
/// returned flag is set.
fn echoing_rep(ctx: &Context) -> (String, Arc<AtomicBool>) {
    let rep = socket(ctx, SocketType::Rep);
    rep.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = rep.last_endpoint().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            if let Ok(request) = rep.recv_bytes(0) {
                let mut reply = b"re:".to_vec();
                reply.extend(request);
                let _ = rep.send(reply, 0);
            }
        }
    });
    (endpoint, stop)
}

/// A REQ with REQ_RELAXED and REQ_CORRELATE, 300 ms receive timeout, connected to `endpoint`.
fn relaxed_req(ctx: &Context, endpoint: &str, configure: impl FnOnce(&Socket)) -> Socket {
    let req = socket(ctx, SocketType::Req);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.set_rcvtimeo(Some(Duration::from_millis(300))).unwrap();
    req.set_reconnect_ivl(RECONNECT_IVL).unwrap();
    configure(&req);
    req.connect(endpoint).unwrap();
    req
}

/// Sends `request` until a reply comes (lazy pirate with REQ_RELAXED); the reply, or `None`
/// after `within`.
fn request_until_answered(req: &Socket, request: &str, within: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        req.send(request, 0).unwrap();
        match req.recv_bytes(0) {
            Ok(reply) => return Some(reply),
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("recv on a relaxed REQ: {e}"),
        }
    }
    None
}

/// A REQ whose request is lost in a stalled path recovers with REQ_RELAXED: after a reset,
/// and through heartbeats; and a late reply to an abandoned request is never taken for the
/// answer to the next one.
#[test]
fn req_relaxed_recovers_from_stalls_and_resets() {
    let ctx = Context::new();
    // No heartbeats at the REP: only the REQ may give up on a stalled path.
    let (endpoint, stop) = echoing_rep(&ctx);
    let proxy = FaultProxy::start(&endpoint);

    // A reset.
    let req = relaxed_req(&ctx, &proxy.endpoint, |_| {});
    assert_eq!(request_until_answered(&req, "q1", DEADLINE).unwrap(), b"re:q1");
    proxy.stall_live();
    req.send("q2", 0).unwrap();
    assert!(
        matches!(req.recv_bytes(0), Err(Error::WouldBlock)),
        "a reply through a stall"
    );
    proxy.reset_all();
    let reply = request_until_answered(&req, "q3", DEADLINE).expect("no reply after a reset");
    assert_eq!(reply, b"re:q3");
    drop(req);

    // A stall that heartbeats detect.
    let req = relaxed_req(&ctx, &proxy.endpoint, with_heartbeats);
    assert_eq!(request_until_answered(&req, "h1", DEADLINE).unwrap(), b"re:h1");
    let before = proxy.accepted();
    proxy.stall_live();
    let reply = request_until_answered(&req, "h2", DEADLINE).expect("no reply after a stall");
    assert_eq!(reply, b"re:h2");
    assert!(
        proxy.accepted() > before,
        "the answer came without a new connection"
    );
    drop(req);

    // A late reply: the path stalls with q2 in it, q3 follows it, then the path resumes.
    let req = relaxed_req(&ctx, &proxy.endpoint, |_| {});
    assert_eq!(request_until_answered(&req, "l1", DEADLINE).unwrap(), b"re:l1");
    proxy.stall_live();
    req.send("l2", 0).unwrap();
    assert!(
        matches!(req.recv_bytes(0), Err(Error::WouldBlock)),
        "a reply through a stall"
    );
    req.send("l3", 0).unwrap();
    proxy.resume_live();
    req.set_rcvtimeo(Some(DEADLINE)).unwrap();
    assert_eq!(
        req.recv_bytes(0).unwrap(),
        b"re:l3",
        "the late reply to l2 was taken"
    );
    stop.store(true, Ordering::SeqCst);
}

fn unique_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("zocket-faultproxy-{}-{name}", std::process::id()))
}

/// One fault of the pipeline's schedule: applied, then undone after `lasting`.
struct Phase {
    lasting: Duration,
    name: &'static str,
    apply: fn(&FaultProxy),
    undo: fn(&FaultProxy),
}

fn no_op(_: &FaultProxy) {}

/// Normal traffic between two faults.
const PIPELINE_GAP: Duration = Duration::from_millis(300);

fn pipeline_phases() -> Vec<Phase> {
    let phase = |lasting, name, apply, undo| Phase {
        lasting,
        name,
        apply,
        undo,
    };
    vec![
        phase(Duration::ZERO, "a reset", FaultProxy::reset_all, no_op),
        phase(
            HEARTBEAT_IVL + HEARTBEAT_TIMEOUT + SLACK,
            "a stall of the live path: heartbeats replace it, then it resumes",
            FaultProxy::stall_live,
            FaultProxy::resume_live,
        ),
        phase(
            Duration::from_millis(500),
            "50 ms of latency",
            |p| p.set_latency(Duration::from_millis(50)),
            |p| p.set_latency(Duration::ZERO),
        ),
        phase(
            Duration::from_millis(500),
            "1-byte segments",
            |p| p.set_one_byte_segments(true),
            |p| p.set_one_byte_segments(false),
        ),
        phase(
            Duration::from_millis(200),
            "a short stall of everything",
            |p| p.set_stalled(true),
            |p| p.set_stalled(false),
        ),
        phase(Duration::ZERO, "a reset", FaultProxy::reset_all, no_op),
        phase(
            Duration::from_millis(300),
            "1-byte segments ended by a reset",
            |p| p.set_one_byte_segments(true),
            |p| {
                p.reset_all();
                p.set_one_byte_segments(false);
            },
        ),
    ]
}

/// Receives numbered messages into `seen`, failing on a duplicate; true if one came.
fn receive_numbered(pull: &Socket, seen: &mut BTreeSet<u64>, out_of_order: &mut u32) -> bool {
    match pull.recv_bytes(0) {
        Ok(m) => {
            let n = u64::from_be_bytes(m[..].try_into().unwrap());
            if seen.last().is_some_and(|&last| n < last) {
                *out_of_order += 1;
            }
            assert!(seen.insert(n), "message {n} reached the application twice");
            true
        }
        Err(Error::WouldBlock) => false,
        Err(e) => panic!("recv: {e}"),
    }
}

/// Sends 1, 2, 3, … as 8-byte numbers until `stop`, ten at a time with a pause between (a
/// steady stream, not a burst), waiting while no peer has room; returns the socket and the
/// last number sent.
fn send_numbered(push: Socket, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(Socket, u64)> {
    std::thread::spawn(move || {
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            match push.send((n + 1).to_be_bytes(), DONTWAIT) {
                Ok(()) => {
                    n += 1;
                    if n.is_multiple_of(10) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                Err(Error::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("send: {e}"),
            }
        }
        (push, n)
    })
}

/// A spooled PUSH sends numbered messages through the proxy while it resets, stalls, delays
/// and slices: the PULL's application gets every one exactly once, and the spool ends empty.
#[test]
fn a_spooled_pipeline_loses_and_duplicates_nothing_across_faults() {
    let dir = unique_dir("pipeline");
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    with_heartbeats(&pull);
    pull.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let proxy = FaultProxy::start(&pull.last_endpoint().unwrap());

    let sender_ctx = Context::new();
    let push = sender_ctx.socket(SocketType::Push).unwrap();
    push.set_spool(FileSpool::open(&dir).unwrap()).unwrap();
    with_heartbeats(&push);
    push.set_reconnect_ivl(RECONNECT_IVL).unwrap();
    push.set_linger(Some(Duration::from_secs(10))).unwrap();
    push.connect(&proxy.endpoint).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = send_numbered(push, Arc::clone(&stop));

    let mut seen = BTreeSet::new();
    let mut out_of_order = 0;
    for phase in pipeline_phases() {
        let gap_until = Instant::now() + PIPELINE_GAP;
        while Instant::now() < gap_until {
            receive_numbered(&pull, &mut seen, &mut out_of_order);
        }
        eprintln!("after {} messages: {}", seen.len(), phase.name);
        (phase.apply)(&proxy);
        let until = Instant::now() + phase.lasting;
        while Instant::now() < until {
            receive_numbered(&pull, &mut seen, &mut out_of_order);
        }
        (phase.undo)(&proxy);
    }
    stop.store(true, Ordering::SeqCst);
    let (push, total) = sender.join().unwrap();
    let deadline = Instant::now() + DEADLINE;
    while (seen.len() as u64) < total {
        assert!(
            Instant::now() < deadline,
            "{} of {total} messages arrived; the first missing is {:?}",
            seen.len(),
            (1..=total).find(|n| !seen.contains(n))
        );
        receive_numbered(&pull, &mut seen, &mut out_of_order);
    }
    assert_eq!(seen.last(), Some(&total), "a message that was never sent");
    eprintln!(
        "pipeline: {total} messages delivered once each over {} connections, {out_of_order} out of order",
        proxy.accepted()
    );
    // The sender lingers until everything is acknowledged; then the spool is empty.
    drop(push);
    drop(sender_ctx);
    assert!(
        matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
        "a duplicate at the end"
    );
    let spool = FileSpool::open(&dir).unwrap();
    assert_eq!(
        spool.first_unacked(),
        spool.next_seq(),
        "the spool still holds messages"
    );
    drop(spool);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The proxy itself: a reset reaches both ends as an RST (not a FIN), a stall holds data
/// back without closing, and 1-byte segments still deliver every byte in order.
#[test]
fn the_proxy_resets_stalls_and_slices_as_it_says() {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = FaultProxy::start(&format!("tcp://{}", listener.local_addr().unwrap()));
    let connect = || {
        let client = TcpStream::connect(proxy.endpoint.strip_prefix("tcp://").unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        for s in [&client, &server] {
            s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        }
        (client, server)
    };
    let read_exactly = |s: &mut TcpStream, n: usize| {
        let mut buf = vec![0u8; n];
        s.read_exact(&mut buf).map(|()| buf)
    };

    let (mut client, mut server) = connect();
    proxy.set_one_byte_segments(true);
    let data: Vec<u8> = (0..=255u8).collect();
    client.write_all(&data).unwrap();
    assert_eq!(read_exactly(&mut server, data.len()).unwrap(), data);
    proxy.set_one_byte_segments(false);

    proxy.stall_live();
    client.write_all(b"held").unwrap();
    let held = read_exactly(&mut server, 4);
    assert!(held.is_err(), "data crossed a stalled link: {held:?}");
    proxy.resume_live();
    server.set_read_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(read_exactly(&mut server, 4).unwrap(), b"held");

    proxy.reset_all();
    for (end, mut stream) in [("client", client), ("server", server)] {
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut byte = [0u8; 1];
        let got = stream.read(&mut byte);
        assert!(
            matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset),
            "the {end} end saw {got:?} instead of a reset"
        );
    }
}

/// Without a spool, a reset may lose what was in flight, but never reorders or repeats: the
/// PULL connects (so its pipe outlives each connection) with a tiny receive mark and reads
/// slowly, so each reset catches a connection paused with messages it could not hand over
/// yet; those must come before anything from the next connection.
#[test]
fn resets_never_reorder_or_repeat_what_a_connecting_pull_receives() {
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.bind("tcp://127.0.0.1:0").unwrap();
    let proxy = FaultProxy::start(&push.last_endpoint().unwrap());
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(5).unwrap();
    pull.set_reconnect_ivl(RECONNECT_IVL).unwrap();
    pull.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    pull.connect(&proxy.endpoint).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let sender = send_numbered(push, Arc::clone(&stop));
    let mut last = 0u64;
    let mut received = 0u64;
    let mut take = |pull: &Socket, last: &mut u64| match pull.recv_bytes(0) {
        Ok(bytes) => {
            let n = u64::from_be_bytes(bytes.try_into().expect("an 8-byte number"));
            assert!(n > *last, "message {n} after {last}: reordered or repeated");
            *last = n;
            received += 1;
        }
        Err(Error::WouldBlock) => {}
        Err(e) => panic!("recv: {e}"),
    };
    for reset in 0..8 {
        let until = Instant::now() + Duration::from_millis(150);
        while Instant::now() < until {
            take(&pull, &mut last);
            std::thread::sleep(Duration::from_millis(2)); // slow: the connection pauses
        }
        proxy.reset_all();
        // A paused connection notices the reset once the application reads again.
        let deadline = Instant::now() + DEADLINE;
        while proxy.accepted() < reset + 2 {
            assert!(
                Instant::now() < deadline,
                "the PULL reconnects after reset {reset}"
            );
            take(&pull, &mut last);
        }
    }
    let before = last;
    let deadline = Instant::now() + DEADLINE;
    while last <= before + 100 {
        assert!(Instant::now() < deadline, "messages flow again after the resets");
        take(&pull, &mut last);
    }
    stop.store(true, Ordering::SeqCst);
    drop(sender.join().unwrap());
    eprintln!(
        "{received} messages in order over {} connections",
        proxy.accepted()
    );
}
