//! Regression tests for promises that broke: a closing sender's last messages reaching a
//! throttled libzmq receiver, re-queued spooled messages that waited for the next `send`,
//! huge durations, and the readiness fd.

#[path = "../common/slow_spool.rs"]
mod slow_spool;

use slow_spool::SlowSpool;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use zocket::spool::MemorySpool;
use zocket::{Context, DONTWAIT, Error, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);

fn ipc_endpoint(name: &str) -> String {
    let path = std::env::temp_dir().join(format!("zocket-trust-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    format!("ipc://{}", path.display())
}

/// A zocket PUSH sends 2000 messages (every tenth one three-part) to a libzmq PULL at its
/// default receive HWM, then closes at once with the default linger. The PULL's
/// application reads slowly, so libzmq's input is throttled when the sender closes. Closing
/// at once made libzmq drop the Unix-domain connection on hang-up with about half the stream
/// unread; the graceful close (shut down writing, wait for the peer's end-of-stream) delivers
/// everything.
fn close_reaches_throttled_libzmq_pull(endpoint: &str) {
    const COUNT: usize = 2000;
    let zctx = zmq::Context::new();
    let pull = zctx.socket(zmq::PULL).unwrap();
    pull.set_rcvhwm(1000).unwrap();
    pull.set_rcvtimeo(TIMEOUT.as_millis() as i32).unwrap();
    pull.bind(endpoint).unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();

    let (closed_tx, closed_rx) = mpsc::channel();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        for i in 0..COUNT {
            let body = [i as u8; 64];
            if i % 10 == 0 {
                push.send_multipart([&body[..], b"two", b"three"], 0).unwrap();
            } else {
                push.send(&body[..], 0).unwrap();
            }
        }
        drop(push);
        drop(ctx); // returns once lingering is over
        closed_tx.send(()).unwrap();
    });

    let mut received = 0;
    while received < COUNT {
        let Ok(parts) = pull.recv_multipart(0) else { break };
        let expected = if received % 10 == 0 { 3 } else { 1 };
        assert_eq!(parts.len(), expected, "message {received}");
        assert_eq!(parts[0], vec![received as u8; 64], "message {received}");
        received += 1;
        // A slow application: the sender finishes long before the reading does.
        std::thread::sleep(Duration::from_micros(100));
    }
    assert_eq!(received, COUNT, "the libzmq PULL lost messages at close");
    closed_rx
        .recv_timeout(TIMEOUT)
        .expect("the sender's context closes");
    sender.join().unwrap();
}

#[test]
fn closing_push_delivers_everything_to_a_throttled_libzmq_pull_over_ipc() {
    close_reaches_throttled_libzmq_pull(&ipc_endpoint("graceful"));
}

#[test]
fn closing_push_delivers_everything_to_a_throttled_libzmq_pull_over_tcp() {
    close_reaches_throttled_libzmq_pull("tcp://127.0.0.1:*");
}

/// A closed socket whose peer never hangs up is still closed once the linger runs out.
#[test]
fn graceful_close_ends_with_the_linger_when_the_peer_never_hangs_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::from_millis(300))).unwrap();
    push.connect(&endpoint).unwrap();
    let (_peer, _) = listener.accept().unwrap(); // reads nothing, never closes
    let started = Instant::now();
    drop(push);
    drop(ctx);
    assert!(started.elapsed() < TIMEOUT, "the context waited past its linger");
}

/// When one of two PULLs goes away, the spooled messages it never acknowledged are
/// re-queued to the other one, and must reach it without the application sending again.
/// `by_disconnect`: the PUSH connected and disconnects from A; otherwise the PUSH bound and
/// A's socket is dropped.
fn requeued_spool_messages_arrive_unprompted(by_disconnect: bool) {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(None)).unwrap();
    let a = ctx.socket(SocketType::Pull).unwrap();
    a.set_rcvhwm(10).unwrap();
    let b = ctx.socket(SocketType::Pull).unwrap();
    let mut a_endpoint = String::new();
    if by_disconnect {
        a.bind("tcp://127.0.0.1:0").unwrap();
        a_endpoint = a.last_endpoint().unwrap();
        b.bind("tcp://127.0.0.1:0").unwrap();
        push.connect(&a_endpoint).unwrap();
        push.connect(&b.last_endpoint().unwrap()).unwrap();
    } else {
        push.bind("tcp://127.0.0.1:0").unwrap();
        a.connect(&push.last_endpoint().unwrap()).unwrap();
        b.connect(&push.last_endpoint().unwrap()).unwrap();
    }
    // Wait for both peers, so the messages are spread over both: probes until each has
    // one (a peer that attached late misses the first), then every probe is read.
    let deadline = Instant::now() + TIMEOUT;
    let (mut sent, mut probes) = (0, [0, 0]);
    for s in [&a, &b] {
        s.set_rcvtimeo(Some(Duration::from_millis(50))).unwrap();
    }
    while probes.contains(&0) || probes[0] + probes[1] < sent {
        assert!(Instant::now() < deadline, "both PULLs receive a probe");
        if probes.contains(&0) {
            push.send("probe", 0).unwrap();
            sent += 1;
        }
        for (s, n) in [&a, &b].into_iter().zip(&mut probes) {
            if s.recv_bytes(0).is_ok() {
                *n += 1;
            }
        }
    }
    const COUNT: u32 = 200;
    for i in 0..COUNT {
        push.send(i.to_be_bytes(), 0).unwrap();
    }
    // B takes its share; A reads nothing, so its share stays unacknowledged.
    let mut got = std::collections::BTreeSet::new();
    b.set_rcvtimeo(Some(Duration::from_millis(100))).unwrap();
    while let Ok(m) = b.recv_bytes(0) {
        got.insert(u32::from_be_bytes(m.try_into().unwrap()));
    }
    assert!(got.len() < COUNT as usize, "A took a share");
    if by_disconnect {
        push.disconnect(&a_endpoint).unwrap();
    } else {
        a.set_linger(Some(Duration::ZERO)).unwrap();
        drop(a);
    }
    // No more sends: the re-queued share must arrive by itself.
    b.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    while got.len() < COUNT as usize {
        let m = b
            .recv_bytes(0)
            .expect("the re-queued messages arrive without another send");
        got.insert(u32::from_be_bytes(m.try_into().unwrap()));
    }
}

#[test]
fn requeued_spool_messages_arrive_when_a_pull_dies() {
    requeued_spool_messages_arrive_unprompted(false);
}

#[test]
fn requeued_spool_messages_arrive_when_a_pull_is_disconnected() {
    requeued_spool_messages_arrive_unprompted(true);
}

/// Every duration option accepts `Duration::MAX` (meaning "never") without panicking, on
/// the caller's thread or the I/O thread, and the sockets keep working.
#[test]
fn huge_durations_mean_never_and_do_not_panic() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    for s in [&pull, &push] {
        s.set_rcvtimeo(Some(Duration::MAX)).unwrap();
        s.set_sndtimeo(Some(Duration::MAX)).unwrap();
        s.set_linger(Some(Duration::MAX)).unwrap();
        s.set_handshake_ivl(Some(Duration::MAX)).unwrap();
        s.set_heartbeat_ivl(Some(Duration::MAX)).unwrap();
        s.set_heartbeat_timeout(Some(Duration::MAX)).unwrap();
        s.set_reconnect_ivl_max(Duration::MAX).unwrap();
    }
    push.set_reconnect_ivl(Duration::MAX).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("through", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"through");
    // A poll with a huge timeout returns as soon as something is ready.
    push.send("again", 0).unwrap();
    let mut items = [zocket::PollItem::new(&pull, zocket::POLLIN)];
    assert_eq!(zocket::poll(&mut items, Some(Duration::MAX)).unwrap(), 1);
    assert_eq!(pull.recv_bytes(0).unwrap(), b"again");
    // A connector with an endless reconnect interval never retries, and does not panic.
    let nobody = ctx.socket(SocketType::Push).unwrap();
    nobody.set_reconnect_ivl(Duration::MAX).unwrap();
    nobody.set_linger(Some(Duration::ZERO)).unwrap();
    nobody.connect("tcp://127.0.0.1:1").unwrap();
    for s in [&pull, &push] {
        s.set_linger(Some(Duration::ZERO)).unwrap();
    }
    // The I/O thread is alive: a fresh pair still talks.
    let a = ctx.socket(SocketType::Pair).unwrap();
    a.bind("tcp://127.0.0.1:0").unwrap();
    let b = ctx.socket(SocketType::Pair).unwrap();
    b.connect(&a.last_endpoint().unwrap()).unwrap();
    b.send("alive", 0).unwrap();
    a.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"alive");
}

/// Waits until `fd` is readable or `timeout` passes; true if readable.
fn fd_readable(fd: std::os::fd::RawFd, timeout: Duration) -> bool {
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(4);
    poll.registry()
        .register(
            &mut mio::unix::SourceFd(&fd),
            mio::Token(0),
            mio::Interest::READABLE,
        )
        .unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match poll.poll(&mut events, Some(left)) {
            Ok(()) if !events.is_empty() => return true,
            Ok(()) if left.is_zero() => return false,
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("poll: {e}"),
        }
    }
}

/// Messages that arrived before anyone asked for the readiness fd are signalled: the fd is
/// readable at once, without calling `events()` first (ZMQ_FD's contract).
#[test]
fn readiness_fd_signals_messages_that_arrived_first() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("early", 0).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while !pull.can_recv() {
        assert!(Instant::now() < deadline, "the message arrives");
        std::thread::yield_now();
    }
    let fd = pull.readiness_fd().unwrap();
    assert!(
        fd_readable(fd, TIMEOUT),
        "the fd signals what arrived before it existed"
    );
    assert_eq!(pull.events() & zocket::POLLIN, zocket::POLLIN);
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"early");
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    // Drained and reset by events(): the next message signals again.
    assert_eq!(pull.events() & zocket::POLLIN, 0);
    push.send("late", 0).unwrap();
    assert!(fd_readable(fd, TIMEOUT), "the fd signals a later message");
    assert_eq!(pull.events() & zocket::POLLIN, zocket::POLLIN);
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"late");
}

/// A spool whose every acknowledgement and read takes long (a slow disk, an fsync under
/// load) must not stall the I/O thread: other sockets of the context keep their round trips
/// fast while the spooled socket's acknowledgements crawl.
#[test]
fn a_slow_spool_does_not_stall_the_reactor() {
    const STALL: Duration = Duration::from_millis(400);

    let ctx = Context::new(); // one I/O thread for everything
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(SlowSpool {
        inner: MemorySpool::new(None),
        read_delay: STALL,
        ack_delay: STALL,
    })
    .unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_rcvtimeo(Some(Duration::from_secs(10))).unwrap();
    req.connect(&rep.last_endpoint().unwrap()).unwrap();
    let echo = std::thread::spawn(move || {
        for _ in 0..40 {
            let m = rep.recv_msg(0).unwrap();
            rep.send(m, 0).unwrap();
        }
    });
    req.send("warm", 0).unwrap();
    req.recv_bytes(0).unwrap();

    // Keep the spooled socket's reads and acknowledgements busy while timing round trips.
    let spooled = std::thread::spawn(move || {
        for i in 0..6u8 {
            push.send(&[i][..], 0).unwrap();
        }
        for i in 0..6u8 {
            assert_eq!(pull.recv_bytes(0).unwrap(), [i]);
        }
        (push, pull)
    });
    let mut slowest = Duration::ZERO;
    for _ in 0..39 {
        let start = Instant::now();
        req.send("ping", 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), b"ping");
        slowest = slowest.max(start.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    echo.join().unwrap();
    let _ = spooled.join().unwrap();
    assert!(
        slowest < STALL / 2,
        "a round trip took {slowest:?} while the spool stalled {STALL:?} per operation"
    );
}
