//! The socket monitor, both forms, and the counters: every event a socket reports, provoked
//! over real sockets, with the values libzmq gives (descriptors, intervals, protocol error
//! codes), the peer named in the typed form, and libzmq's own reader decoding zocket's
//! two-frame events.

mod common;

use common::{DEADLINE, RawPeer, greeting};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use zocket::monitor::{PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, PROTOCOL_ERROR_ZMTP_UNSPECIFIED};
use zocket::{Context, Monitor, MonitorEvent, SocketEvent, SocketType};

use common::next_event as next_of;

/// Every event until `last` (included), in order.
fn events_until(monitor: &Monitor, last: SocketEvent) -> Vec<MonitorEvent> {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = monitor
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no {last:?} within {DEADLINE:?} (saw {seen:?}): {e}"));
        let done = event.event == last;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn kinds(events: &[MonitorEvent]) -> Vec<SocketEvent> {
    events.iter().map(|e| e.event).collect()
}

/// A port nobody listens on (bound, then closed).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_listener_reports_listening_accepted_handshake_disconnected_and_closed() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor_events().unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let listening = next_of(&events, SocketEvent::Listening);
    assert_eq!(listening.endpoint, endpoint);
    assert!(listening.value > 2, "the listener's descriptor: {listening:?}");

    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    let accepted = next_of(&events, SocketEvent::Accepted);
    let handshake = next_of(&events, SocketEvent::HandshakeSucceeded);
    let peer = handshake.peer.clone().expect("the handshake names the peer");
    assert_eq!(accepted.peer.unwrap().address, peer.address);
    assert!(peer.address.as_deref().unwrap().starts_with("tcp://127.0.0.1:"));
    assert_eq!(peer.routing_id, None, "a PUSH announces no identity");
    assert_eq!(handshake.endpoint, endpoint);

    drop(push);
    let disconnected = next_of(&events, SocketEvent::Disconnected);
    assert_eq!(
        disconnected.value, accepted.value,
        "the accepted connection's descriptor"
    );
    assert_eq!(disconnected.peer, Some(peer));

    pull.unbind(&endpoint).unwrap();
    let closed = next_of(&events, SocketEvent::Closed);
    assert_eq!((closed.value, closed.endpoint), (listening.value, endpoint));

    drop(pull);
    assert_eq!(next_of(&events, SocketEvent::MonitorStopped).value, 0);
    assert!(matches!(events.recv(), Err(zocket::Error::Terminated)));
}

#[test]
fn a_connector_reports_delays_failures_retries_and_reconnections() {
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    dealer.set_reconnect_ivl_max(Duration::from_millis(20)).unwrap();
    let events = dealer.monitor_events().unwrap();
    let port = free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    dealer.connect(&endpoint).unwrap();
    let seen = events_until(&events, SocketEvent::ConnectRetried);
    let retried = seen.last().unwrap();
    assert_eq!(retried.value, 20, "the reconnect interval in ms");
    assert_eq!(retried.endpoint, endpoint);
    // A TCP connect is in progress at first, then refused: its descriptor is closed.
    assert_eq!(
        kinds(&seen),
        [
            SocketEvent::ConnectDelayed,
            SocketEvent::Closed,
            SocketEvent::ConnectRetried
        ]
    );
    assert_eq!(seen[0].value, libc::EINPROGRESS as u64);
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind(&endpoint).unwrap();
    let connected = next_of(&events, SocketEvent::Connected);
    assert!(connected.value > 2);
    assert_eq!(
        connected.peer.unwrap().address.as_deref(),
        Some(endpoint.as_str())
    );
    next_of(&events, SocketEvent::HandshakeSucceeded);

    // The peer goes: disconnected, retried; it comes back: a reconnection is counted.
    drop(router);
    assert_eq!(next_of(&events, SocketEvent::Disconnected).value, connected.value);
    next_of(&events, SocketEvent::ConnectRetried);
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind(&endpoint).unwrap();
    next_of(&events, SocketEvent::HandshakeSucceeded);
    assert_eq!(dealer.stats().reconnects, 1);
}

#[test]
fn a_bind_that_fails_reports_the_errno() {
    let ctx = Context::new();
    let first = ctx.socket(SocketType::Pull).unwrap();
    first.bind("tcp://127.0.0.1:0").unwrap();
    let taken = first.last_endpoint().unwrap();
    let second = ctx.socket(SocketType::Pull).unwrap();
    let events = second.monitor_events().unwrap();
    assert!(second.bind(&taken).is_err());
    let failed = next_of(&events, SocketEvent::BindFailed);
    assert_eq!(failed.value, 98, "EADDRINUSE");
    assert_eq!(failed.endpoint, taken);
}

/// Accepts one raw connection from a zocket socket that connects, for handshake attacks.
fn raw_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    (listener, endpoint)
}

#[test]
fn a_bad_greeting_is_a_protocol_failure_with_libzmqs_code() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor_events().unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let mut raw = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: zocket\r\n\r\n").unwrap();
    raw.write_all(&[b' '; 64]).unwrap();
    let failed = next_of(&events, SocketEvent::HandshakeFailedProtocol);
    assert_eq!(failed.value, PROTOCOL_ERROR_ZMTP_UNSPECIFIED as u64);
    assert!(
        failed
            .peer
            .unwrap()
            .address
            .unwrap()
            .starts_with("tcp://127.0.0.1:")
    );
    next_of(&events, SocketEvent::Disconnected);
}

#[test]
fn a_mechanism_mismatch_reports_its_code_on_the_connecting_side() {
    let (listener, endpoint) = raw_server();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    let events = push.monitor_events().unwrap();
    push.connect(&endpoint).unwrap();
    let (stream, _) = listener.accept().unwrap();
    let mut raw = RawPeer::new(stream);
    let mut plain = greeting(1, [0; 8]);
    plain[12..17].copy_from_slice(b"PLAIN");
    plain[17..32].fill(0);
    raw.send_raw(&plain);
    let failed = next_of(&events, SocketEvent::HandshakeFailedProtocol);
    assert_eq!(failed.value, PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH as u64);
    assert_eq!(failed.endpoint, endpoint);
    next_of(&events, SocketEvent::Disconnected);
}

#[test]
fn a_silent_peer_times_out_on_heartbeats_and_is_named() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_heartbeat_ivl(Some(Duration::from_millis(30))).unwrap();
    router
        .set_heartbeat_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let events = router.monitor_events().unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.last_endpoint().unwrap();
    // Completes the handshake as a DEALER named "silent", then never answers a PING.
    let mut raw = RawPeer::connect(&endpoint);
    raw.handshake(1, &[("Socket-Type", b"DEALER"), ("Identity", b"silent")]);
    let timed_out = next_of(&events, SocketEvent::HeartbeatTimeout);
    let peer = timed_out.peer.expect("the peer that timed out");
    assert_eq!(peer.routing_id.as_deref(), Some(&b"silent"[..]));
    assert_eq!(
        peer.address.as_deref(),
        Some(&*format!("tcp://{}", raw.local_addr()))
    );
    let disconnected = next_of(&events, SocketEvent::Disconnected);
    assert_eq!(
        disconnected.peer.unwrap().routing_id.as_deref(),
        Some(&b"silent"[..])
    );
}

#[test]
fn a_router_names_peers_by_the_routing_id_it_generated() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    let events = router.monitor_events().unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.connect(&router.last_endpoint().unwrap()).unwrap();
    let handshake = next_of(&events, SocketEvent::HandshakeSucceeded);
    let id = handshake.peer.unwrap().routing_id.expect("a generated id");
    assert_eq!(
        (id.len(), id[0]),
        (5, 0),
        "libzmq's form: a zero byte and a counter"
    );
    dealer.send("hello", 0).unwrap();
    let msg = router.recv_multipart(0).unwrap();
    assert_eq!(
        msg[0], id,
        "the id the application sees is the one the monitor named"
    );
}

#[test]
fn drops_at_a_router_are_counted_and_reported() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    let events = router.monitor_events().unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    for _ in 0..5 {
        router.send_multipart(["nobody", "lost"], 0).unwrap();
    }
    assert_eq!(router.stats().drops, 5);
    let first = next_of(&events, SocketEvent::Dropped);
    assert_eq!(first.value, 1, "the first drop is reported at once");
    // Later ones are reported at most ten times a second, each with the total so far.
    let deadline = Instant::now() + DEADLINE;
    loop {
        router.send_multipart(["nobody", "lost"], 0).unwrap();
        match events.try_recv() {
            Ok(event) => {
                assert_eq!(event.event, SocketEvent::Dropped);
                assert_eq!(event.value, router.stats().drops);
                assert!(event.value > 5);
                break;
            }
            Err(_) => assert!(Instant::now() < deadline, "no later drop report"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn drops_at_a_publishers_high_water_mark_are_counted() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.set_sndhwm(4).unwrap();
    let events = publisher.monitor_events().unwrap();
    publisher.bind("tcp://127.0.0.1:0").unwrap();
    let subscriber = ctx.socket(SocketType::Sub).unwrap();
    subscriber.set_rcvhwm(4).unwrap();
    subscriber.set_subscribe(b"").unwrap();
    subscriber.connect(&publisher.last_endpoint().unwrap()).unwrap();
    // The subscription has arrived once a message gets through.
    let deadline = Instant::now() + DEADLINE;
    loop {
        publisher.send("probe", 0).unwrap();
        if subscriber.recv_bytes(zocket::DONTWAIT).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The subscriber reads nothing more: its queue, both kernel buffers, then the
    // publisher's queue fill, and the rest is dropped.
    let big = vec![7u8; 64 * 1024];
    let sent = 2_000u64;
    for _ in 0..sent {
        publisher.send(&big[..], 0).unwrap();
    }
    let stats = publisher.stats();
    assert!(stats.drops > 0, "{stats:?}");
    assert!(stats.drops < sent, "{stats:?}");
    assert!(next_of(&events, SocketEvent::Dropped).value > 0);
}

#[test]
fn counters_add_up_per_peer_and_per_socket() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let pushes: Vec<_> = (0..2)
        .map(|_| {
            let push = ctx.socket(SocketType::Push).unwrap();
            push.connect(&endpoint).unwrap();
            push
        })
        .collect();
    for (i, push) in pushes.iter().enumerate() {
        for _ in 0..=i * 10 {
            push.send_multipart(["ab", "cde"], 0).unwrap();
        }
    }
    for _ in 0..12 {
        pull.recv_multipart(0).unwrap();
    }
    let stats = pull.stats();
    assert_eq!((stats.messages_in, stats.bytes_in), (12, 60), "{stats:?}");
    let mut per_peer: Vec<u64> = stats.peers.iter().map(|p| p.messages_in).collect();
    per_peer.sort();
    assert_eq!(per_peer, [1, 11]);
    assert!(stats.peers.iter().all(|p| p.endpoint == endpoint));
    let sent: u64 = pushes.iter().map(|p| p.stats().messages_out).sum();
    assert_eq!(sent, 12);
    // A closed connection's counts stay in the socket's totals.
    drop(pushes);
    let deadline = Instant::now() + DEADLINE;
    while !pull.stats().peers.is_empty() {
        assert!(Instant::now() < deadline, "the connections never closed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(pull.stats().messages_in, 12);
}

#[test]
fn libzmqs_form_reaches_a_pair_reader_and_stops_with_the_socket() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.monitor(
        "inproc://pull.monitor",
        zocket::EVENT_LISTENING | zocket::EVENT_CLOSED,
    )
    .unwrap();
    let reader = ctx.socket(SocketType::Pair).unwrap();
    reader.connect("inproc://pull.monitor").unwrap();
    reader.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap(); // ACCEPTED etc. are not asked for
    pull.unbind(&endpoint).unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let frames = reader.recv_multipart(0).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].len(), 6);
        got.push(MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap());
    }
    assert_eq!(kinds(&got), [SocketEvent::Listening, SocketEvent::Closed]);
    assert!(got.iter().all(|e| e.endpoint == endpoint));
    drop(pull);
    let frames = reader.recv_multipart(0).unwrap();
    let stopped = MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap();
    assert_eq!(stopped.event, SocketEvent::MonitorStopped);
}

#[test]
fn a_monitor_must_be_inproc_and_a_second_one_replaces_the_first() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    assert!(pull.monitor("tcp://127.0.0.1:0", zocket::EVENT_ALL).is_err());
    assert!(
        pull.monitor("inproc://m", 0x1_0000).is_err(),
        "beyond libzmq's 16 bits"
    );
    pull.monitor("inproc://first", zocket::EVENT_ALL).unwrap();
    let first = ctx.socket(SocketType::Pair).unwrap();
    first.connect("inproc://first").unwrap();
    first.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.monitor("inproc://second", zocket::EVENT_ALL).unwrap();
    let frames = first.recv_multipart(0).unwrap();
    let stopped = MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap();
    assert_eq!(stopped.event, SocketEvent::MonitorStopped);
}

/// pyzmq's `parse_monitor_message` (libzmq's own reader) decodes zocket's events: they are
/// moved from the monitor's inproc PAIR to a TCP PAIR that a Python process reads.
#[test]
fn pyzmqs_monitor_parser_decodes_zocket_events() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import zmq.utils.monitor"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped: needs python3 with pyzmq (pip install pyzmq)");
        return;
    }
    let ctx = Context::new();
    let bridge = ctx.socket(SocketType::Pair).unwrap();
    bridge.bind("tcp://127.0.0.1:0").unwrap();
    let script = r#"
import sys, zmq
from zmq.utils.monitor import parse_monitor_message
s = zmq.Context().socket(zmq.PAIR)
s.connect(sys.argv[1])
s.send(b"ready")
for _ in range(int(sys.argv[2])):
    e = parse_monitor_message(s.recv_multipart())
    print(int(e["event"]), e["value"], e["endpoint"].decode(), flush=True)
"#;
    let mut python = std::process::Command::new("python3")
        .args(["-c", script, &bridge.last_endpoint().unwrap(), "2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    bridge.set_rcvtimeo(Some(DEADLINE * 2)).unwrap();
    assert_eq!(bridge.recv_bytes(0).unwrap(), b"ready");

    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.monitor("inproc://to.python", zocket::EVENT_ALL).unwrap();
    let reader = ctx.socket(SocketType::Pair).unwrap();
    reader.connect("inproc://to.python").unwrap();
    reader.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    pull.unbind(&endpoint).unwrap();
    let mut expected = Vec::new();
    for _ in 0..2 {
        let frames = reader.recv_multipart(0).unwrap();
        let event = MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap();
        expected.push(format!(
            "{} {} {}",
            event.event.to_raw(),
            event.value,
            event.endpoint
        ));
        bridge.send_multipart(frames, 0).unwrap();
    }
    let output = python.wait_with_output_within(DEADLINE * 2);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines, expected.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        expected[0].split(' ').next(),
        Some("8"),
        "LISTENING first: {expected:?}"
    );
}

trait WaitWithin {
    fn wait_with_output_within(&mut self, within: Duration) -> String;
}

impl WaitWithin for std::process::Child {
    /// The child's whole output; kills it and fails if it does not exit in time.
    fn wait_with_output_within(&mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if self.try_wait().unwrap().is_some() {
                let mut out = String::new();
                std::io::Read::read_to_string(self.stdout.as_mut().unwrap(), &mut out).unwrap();
                return out;
            }
            if Instant::now() >= deadline {
                let _ = self.kill();
                panic!("the python reader did not finish within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn an_unwatched_socket_builds_no_events_and_a_dropped_monitor_is_forgotten() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor_events().unwrap();
    drop(events);
    pull.bind("tcp://127.0.0.1:0").unwrap(); // must not fail or queue for nobody
    let later = pull.monitor_events().unwrap();
    assert!(matches!(later.try_recv(), Err(zocket::Error::WouldBlock)));
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    next_of(&later, SocketEvent::HandshakeSucceeded);
}

/// Both forms report the same libzmq events, in the same order, for a connection's life.
#[test]
fn both_forms_report_the_same_events() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router
        .monitor("inproc://router.events", zocket::EVENT_ALL)
        .unwrap();
    let typed = router.monitor_events().unwrap();
    let reader = ctx.socket(SocketType::Pair).unwrap();
    reader.connect("inproc://router.events").unwrap();
    reader.set_rcvtimeo(Some(DEADLINE)).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.last_endpoint().unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.connect(&endpoint).unwrap();
    next_of(&typed, SocketEvent::HandshakeSucceeded);
    drop(dealer);
    next_of(&typed, SocketEvent::Disconnected);
    router.unbind(&endpoint).unwrap();
    drop(router);
    let typed_events = kinds(&events_until(&typed, SocketEvent::MonitorStopped));
    let mut libzmq_events = Vec::new();
    loop {
        let frames = reader.recv_multipart(0).unwrap();
        let event = MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap();
        libzmq_events.push(event.event);
        if event.event == SocketEvent::MonitorStopped {
            break;
        }
    }
    // The typed monitor started after the first; both saw everything from the bind on.
    assert_eq!(
        libzmq_events,
        [
            SocketEvent::Listening,
            SocketEvent::Accepted,
            SocketEvent::HandshakeSucceeded,
            SocketEvent::Disconnected,
            SocketEvent::Closed,
            SocketEvent::MonitorStopped,
        ]
    );
    assert_eq!(typed_events, [SocketEvent::Closed, SocketEvent::MonitorStopped]);
}

#[test]
fn a_zap_status_in_a_handshake_error_is_an_auth_failure() {
    let (listener, endpoint) = raw_server();
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    let events = dealer.monitor_events().unwrap();
    dealer.connect(&endpoint).unwrap();
    let (stream, _) = listener.accept().unwrap();
    let mut raw = RawPeer::new(stream);
    let mut out = greeting(1, [0; 8]).to_vec();
    out.extend(common::encode_frame(
        common::FLAG_COMMAND,
        &common::command_body("ERROR", b"\x03400"),
    ));
    raw.send_raw(&out);
    let failed = next_of(&events, SocketEvent::HandshakeFailedAuth);
    assert_eq!(failed.value, 400, "the ZAP status code");
    next_of(&events, SocketEvent::Disconnected);
}

const ACCEPTOR_ENV: &str = "ZOCKET_MONITOR_ACCEPTOR";

/// The child's entry point for `an_accept_that_fails_reports_the_errno`.
#[test]
#[ignore = "the child process of another case; does nothing when run alone"]
fn acceptor_out_of_descriptors() {
    if common::child::role(ACCEPTOR_ENV).is_none() {
        return;
    }
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor_events().unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    next_of(&events, SocketEvent::Listening);
    // Room for one more descriptor: the first connection is accepted, the next is not.
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or fill the struct we pass; lowering the
    // soft limit below the hard one is always allowed.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
    limit.rlim_cur = open;
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    common::child::report(format!("endpoint {}", pull.last_endpoint().unwrap()));
    let failed = next_of(&events, SocketEvent::AcceptFailed);
    common::child::report(format!("accept-failed {} {}", failed.value, failed.endpoint));
}

#[test]
fn an_accept_that_fails_reports_the_errno() {
    let mut child = common::child::ChildProcess::spawn(
        "acceptor_out_of_descriptors",
        "the acceptor",
        &[(ACCEPTOR_ENV, "1".into())],
    );
    let line = child.expect_line("endpoint ", DEADLINE);
    let endpoint = line.trim_start_matches("endpoint ").to_string();
    let _clients: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap())
        .collect();
    let line = child.expect_line("accept-failed ", DEADLINE);
    assert_eq!(line, format!("24 {endpoint}"), "EMFILE on the listener");
}

/// The connecting side's events through libzmq's form too, in the typed form's order.
#[test]
fn both_forms_report_a_connectors_events() {
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    dealer
        .monitor("inproc://dealer.events", zocket::EVENT_ALL)
        .unwrap();
    let reader = ctx.socket(SocketType::Pair).unwrap();
    reader.connect("inproc://dealer.events").unwrap();
    reader.set_rcvtimeo(Some(DEADLINE)).unwrap();
    let typed = dealer.monitor_events().unwrap();
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    dealer.connect(&endpoint).unwrap();
    next_of(&typed, SocketEvent::ConnectRetried);
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind(&endpoint).unwrap();
    next_of(&typed, SocketEvent::HandshakeSucceeded);
    drop(router);
    next_of(&typed, SocketEvent::Disconnected);
    drop(dealer);
    let mut libzmq_events = Vec::new();
    loop {
        let frames = reader.recv_multipart(0).unwrap();
        let event = MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap();
        if event.event != SocketEvent::MonitorStopped {
            assert_eq!(event.endpoint, endpoint);
        }
        libzmq_events.push(event.event);
        if event.event == SocketEvent::MonitorStopped {
            break;
        }
    }
    // Refused (delayed, closed, retried) any number of times, then connected.
    let connected = libzmq_events
        .iter()
        .position(|e| *e == SocketEvent::Connected)
        .unwrap();
    for attempt in libzmq_events[..connected - 1].chunks(3) {
        assert_eq!(
            attempt,
            [
                SocketEvent::ConnectDelayed,
                SocketEvent::Closed,
                SocketEvent::ConnectRetried
            ],
            "{libzmq_events:?}"
        );
    }
    assert_eq!(
        &libzmq_events[connected - 1..connected + 3],
        [
            SocketEvent::ConnectDelayed,
            SocketEvent::Connected,
            SocketEvent::HandshakeSucceeded,
            SocketEvent::Disconnected,
        ],
        "{libzmq_events:?}"
    );
}

/// Review regression: a second monitor on the same endpoint replaced the first but could
/// not bind (the first one's PAIR still held it), leaving no monitor.
#[test]
fn a_monitor_can_replace_itself_on_the_same_endpoint() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.monitor("inproc://same", zocket::EVENT_ALL).unwrap();
    pull.monitor("inproc://same", zocket::EVENT_LISTENING).unwrap();
    let reader = ctx.socket(SocketType::Pair).unwrap();
    reader.connect("inproc://same").unwrap();
    reader.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let frames = reader.recv_multipart(0).unwrap();
    let event = MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap();
    assert_eq!(event.event, SocketEvent::Listening);
    // Closing the socket ends the monitor and its PAIR: the context has nothing left.
    drop(pull);
    drop(reader);
    let started = std::time::Instant::now();
    ctx.term();
    assert!(started.elapsed() < DEADLINE);
}
