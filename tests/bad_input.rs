//! Robustness against bad input: whatever a peer sends (a malformed greeting, a bogus or oversized
//! frame, an unknown or invalid command, the wrong socket type, reserved flag bits) closes that
//! one connection, allocates nothing out of proportion, and leaves the socket serving its
//! well-behaved peers; whatever a user passes returns the right error instead of panicking.
//!
//! The bad peers are raw `std::net::TcpStream`s speaking (or failing to speak) ZMTP 3.1 by hand
//! (`common::RawPeer`).

mod common;

use common::*;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

// ---------------------------------------------------------------------------------------------
// zocket sockets under test.

/// A zocket PULL bound on loopback, with a well-behaved zocket PUSH connected to it whose
/// messages must keep arriving whatever the bad peers do.
struct Sink {
    pull: Socket,
    push: Socket,
    endpoint: String,
    sent: u32,
    _ctx: Context,
}

impl Sink {
    fn new(configure: impl FnOnce(&Socket)) -> Sink {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        configure(&pull);
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let endpoint = pull.last_endpoint().unwrap();
        let push = socket(&ctx, SocketType::Push);
        push.connect(&endpoint).unwrap();
        let mut sink = Sink {
            pull,
            push,
            endpoint,
            sent: 0,
            _ctx: ctx,
        };
        sink.good_peer_is_served("before any bad peer");
        sink
    }

    /// The good PUSH sends one message and the PULL receives exactly it.
    fn good_peer_is_served(&mut self, when: &str) {
        self.sent += 1;
        let msg = format!("good message {}", self.sent);
        self.push.send(msg.as_str(), 0).unwrap();
        match self.pull.recv_bytes(0) {
            Ok(got) => assert_eq!(
                String::from_utf8_lossy(&got),
                msg,
                "{when}: the PULL received something other than the good peer's message"
            ),
            Err(e) => panic!("{when}: the good peer's message did not arrive: {e}"),
        }
    }
}

/// Resident memory of this process, from /proc (Linux), in bytes.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

macro_rules! assert_err {
    ($call:expr, $pattern:pat) => {{
        let result = $call;
        assert!(
            matches!(result, Err($pattern)),
            "`{}` returned {:?}, expected Err({})",
            stringify!($call),
            result,
            stringify!($pattern)
        );
    }};
}

// ---------------------------------------------------------------------------------------------
// Malformed greetings.

#[test]
fn http_request_instead_of_a_greeting_is_refused() {
    let mut sink = Sink::new(|_| {});
    let mut raw = RawPeer::connect(&sink.endpoint);
    let _ = raw.try_send_raw(b"GET / HTTP/1.1\r\n\r\n");
    assert_closed(&mut raw, "an HTTP request");
    sink.good_peer_is_served("after an HTTP request");
}

#[test]
fn random_greetings_with_bad_version_bits_are_refused() {
    let mut sink = Sink::new(|_| {});
    for seed in 1..=6u64 {
        let mut bytes = pseudo_random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 64);
        bytes[0] = 0xFF;
        match seed {
            // Byte 9's low bit clear: a ZMTP 1.0 peer.
            1..=3 => bytes[9] &= 0xFE,
            // A versioned signature, but major version 0, 1 or 2.
            _ => {
                bytes[9] = 0x7F;
                bytes[10] = (seed - 4) as u8;
            }
        }
        let mut raw = RawPeer::connect(&sink.endpoint);
        let _ = raw.try_send_raw(&bytes);
        let what = format!("64 random bytes {:02x?}", &bytes[..12]);
        assert_closed(&mut raw, &what);
        sink.good_peer_is_served(&format!("after {what}"));
    }
}

#[test]
fn greetings_with_another_mechanism_or_bad_fields_are_refused() {
    let mut sink = Sink::new(|_| {});
    let mut plain = greeting(1, [0; 8]);
    plain[12..17].copy_from_slice(b"PLAIN");
    let mut lower = greeting(1, [0; 8]);
    lower[12..16].copy_from_slice(b"null");
    let mut empty = greeting(1, [0; 8]);
    empty[12..16].copy_from_slice(&[0; 4]);
    let mut as_server = greeting(1, [0; 8]);
    as_server[32] = 7;
    for (what, bytes) in [
        ("PLAIN mechanism", plain),
        ("lower-case mechanism", lower),
        ("empty mechanism", empty),
        ("as-server flag 7", as_server),
    ] {
        let mut raw = RawPeer::connect(&sink.endpoint);
        let mut out = bytes.to_vec();
        out.extend(encode_frame(
            FLAG_COMMAND,
            &ready_body(&[("Socket-Type", b"PUSH")]),
        ));
        let _ = raw.try_send_raw(&out);
        assert_closed(&mut raw, what);
        sink.good_peer_is_served(&format!("after a greeting with {what}"));
    }
}

#[test]
fn a_peer_that_stalls_in_the_greeting_is_dropped_after_the_handshake_interval() {
    let mut sink = Sink::new(|pull| pull.set_handshake_ivl(Some(Duration::from_millis(200))).unwrap());
    let mut raw = RawPeer::connect(&sink.endpoint);
    let _ = raw.try_send_raw(&greeting(1, [0; 8])[..10]);
    assert_closed(&mut raw, "a peer that sent 10 bytes of greeting and stalled");
    sink.good_peer_is_served("after a stalled greeting");
}

// ---------------------------------------------------------------------------------------------
// Bogus and oversized frames.

#[test]
fn a_frame_announcing_2_pow_62_bytes_is_refused_without_allocating() {
    // Default options: no MAXMSGSIZE. 2^62 bytes is within the spec's 2^63-1 but no machine
    // can hold it; libzmq fails to allocate it and drops the connection.
    let mut sink = Sink::new(|_| {});
    let rss_before = rss_bytes();
    let mut raw = RawPeer::handshaken(&sink.endpoint, "PUSH", 1);
    let _ = raw.try_send_raw(&long_header(0, 1 << 62));
    // Trickle a little of the announced body, as an attacker would.
    let _ = raw.try_send_raw(&vec![0x55; 256 * 1024]);
    sink.good_peer_is_served("while a peer announces a 2^62-byte frame");
    if let (Some(before), Some(after)) = (rss_before, rss_bytes()) {
        assert!(
            after < before + (256 << 20),
            "resident memory grew from {before} to {after} bytes after a 2^62-byte announcement"
        );
    }
    assert_closed(&mut raw, "a frame announcing 2^62 bytes (no MAXMSGSIZE set)");
    sink.good_peer_is_served("after a frame announcing 2^62 bytes");
}

#[test]
fn a_huge_frame_in_place_of_ready_is_refused() {
    let mut sink = Sink::new(|_| {});
    let mut raw = RawPeer::connect(&sink.endpoint);
    let mut out = greeting(1, [0; 8]).to_vec();
    out.extend(long_header(FLAG_COMMAND, 1 << 62));
    let _ = raw.try_send_raw(&out);
    assert_closed(&mut raw, "a 2^62-byte command frame in place of READY");
    sink.good_peer_is_served("after a 2^62-byte command frame in place of READY");
}

#[test]
fn messages_beyond_maxmsgsize_close_the_connection() {
    let mut sink = Sink::new(|pull| pull.set_maxmsgsize(Some(1024)).unwrap());

    // Exactly at the limit is fine.
    let mut raw = RawPeer::handshaken(&sink.endpoint, "PUSH", 1);
    raw.send_message(&[&[0xAB; 1024]]);
    let got = sink
        .pull
        .recv_bytes(0)
        .expect("a 1024-byte message under a 1024-byte limit");
    assert_eq!(got, vec![0xAB; 1024]);
    sink.good_peer_is_served("after a message of exactly MAXMSGSIZE");

    // A 4 KiB frame.
    let _ = raw.try_send_message(&[&[0xCD; 4096]]);
    assert_closed(&mut raw, "a 4 KiB frame beyond MAXMSGSIZE 1024");
    sink.good_peer_is_served("after a 4 KiB frame beyond MAXMSGSIZE 1024");

    // Three frames of 400 bytes: each fits, the message does not.
    let mut raw = RawPeer::handshaken(&sink.endpoint, "PUSH", 1);
    let _ = raw.try_send_message(&[&[1; 400], &[2; 400], &[3; 400]]);
    assert_closed(&mut raw, "a 1200-byte multipart message beyond MAXMSGSIZE 1024");
    sink.good_peer_is_served("after a 1200-byte multipart message");
    assert_err!(sink.pull.recv_bytes(DONTWAIT), Error::WouldBlock);
}

// ---------------------------------------------------------------------------------------------
// Unknown and invalid commands.

#[test]
fn an_unknown_command_closes_the_connection() {
    let mut sink = Sink::new(|_| {});
    let mut raw = RawPeer::handshaken(&sink.endpoint, "PUSH", 1);
    let _ = raw.try_send_raw(b"\x04\x04\x03FOO");
    assert_closed(&mut raw, "an unknown command FOO after the handshake");
    sink.good_peer_is_served("after an unknown command");

    let mut raw = RawPeer::connect(&sink.endpoint);
    let mut out = greeting(1, [0; 8]).to_vec();
    out.extend_from_slice(b"\x04\x04\x03FOO");
    let _ = raw.try_send_raw(&out);
    assert_closed(&mut raw, "an unknown command FOO in place of READY");
    sink.good_peer_is_served("after an unknown command in place of READY");
}

#[test]
fn invalid_handshake_commands_close_the_connection() {
    let mut sink = Sink::new(|_| {});
    let frame = |flags: u8, body: &[u8]| encode_frame(flags, body);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("READY without Socket-Type", frame(FLAG_COMMAND, &ready_body(&[]))),
        (
            "READY with an unknown Socket-Type",
            frame(FLAG_COMMAND, &ready_body(&[("Socket-Type", b"BANANA")])),
        ),
        ("a data message before READY", frame(0, b"hello")),
        ("an empty command frame", frame(FLAG_COMMAND, b"")),
        (
            "a command name longer than the frame",
            frame(FLAG_COMMAND, b"\x09READY"),
        ),
        (
            "a property overrunning READY",
            frame(FLAG_COMMAND, b"\x05READY\x0bSocket-Type\x00\x00\x10\x00PUSH"),
        ),
        (
            "a property with an empty name",
            frame(FLAG_COMMAND, b"\x05READY\x00\x00\x00\x00\x00"),
        ),
        (
            "ERROR in place of READY",
            frame(FLAG_COMMAND, &command_body("ERROR", b"\x04nope")),
        ),
        (
            "PING in place of READY",
            frame(FLAG_COMMAND, &command_body("PING", b"\x00\x00")),
        ),
    ];
    for (what, bytes) in cases {
        let mut raw = RawPeer::connect(&sink.endpoint);
        let mut out = greeting(1, [0; 8]).to_vec();
        out.extend(bytes);
        let _ = raw.try_send_raw(&out);
        assert_closed(&mut raw, what);
        sink.good_peer_is_served(&format!("after {what}"));
    }

    let after_handshake: [(&str, Vec<u8>); 4] = [
        (
            "a second READY",
            frame(FLAG_COMMAND, &ready_body(&[("Socket-Type", b"PUSH")])),
        ),
        ("PING without a TTL", frame(FLAG_COMMAND, b"\x04PING")),
        (
            "ERROR from the peer",
            frame(FLAG_COMMAND, &command_body("ERROR", b"\x04nope")),
        ),
        (
            "a command frame with MORE",
            frame(FLAG_COMMAND | FLAG_MORE, &command_body("PING", b"\0\0")),
        ),
    ];
    for (what, bytes) in after_handshake {
        let mut raw = RawPeer::handshaken(&sink.endpoint, "PUSH", 1);
        let _ = raw.try_send_raw(&bytes);
        assert_closed(&mut raw, what);
        sink.good_peer_is_served(&format!("after {what}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Mismatched socket types.

/// A zocket PUSH bound on loopback and a zocket PULL connected to it, a first message through.
fn bound_push_and_pull(ctx: &Context) -> (Socket, Socket, String) {
    let (push, endpoint) = bound(ctx, SocketType::Push);
    let pull = socket(ctx, SocketType::Pull);
    pull.connect(&endpoint).unwrap();
    push.send("before", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"before");
    (push, pull, endpoint)
}

#[test]
fn a_raw_push_announcing_itself_to_a_zocket_push_is_refused() {
    let ctx = Context::new();
    let (push, pull, endpoint) = bound_push_and_pull(&ctx);

    let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
    assert_closed(&mut raw, "a PUSH peer of a PUSH socket");
    // Whatever zocket sent after its READY may only be an ERROR command.
    let mut rest = &raw.inbuf[..];
    while let Some((frame, used)) = parse_frame(rest) {
        assert_eq!(
            frame.command_name(),
            Some(&b"ERROR"[..]),
            "zocket sent {frame:?} to a peer of the wrong type"
        );
        rest = &rest[used..];
    }

    // The refused peer never joined the load balancing: every message reaches the good PULL.
    for i in 0..20 {
        push.send(format!("after {i}"), 0).unwrap();
    }
    for i in 0..20 {
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("after {i}").as_bytes());
    }
}

#[test]
fn a_zocket_push_connecting_to_a_zocket_push_delivers_nothing() {
    let ctx = Context::new();
    let (bound, pull, endpoint) = bound_push_and_pull(&ctx);

    let wrong = socket(&ctx, SocketType::Push);
    wrong.set_reconnect_ivl(Duration::from_millis(5)).unwrap();
    wrong.connect(&endpoint).unwrap();
    match wrong.send("never delivered", DONTWAIT) {
        Ok(()) | Err(Error::WouldBlock) => {}
        Err(e) => panic!("send on a PUSH connected to a PUSH: {e:?}"),
    }
    assert_err!(wrong.recv_bytes(DONTWAIT), Error::NotSupported(_));

    // While the wrong peer keeps reconnecting (every 5 ms) and being refused, every message of
    // the bound PUSH reaches the good PULL: the wrong peer never takes a share.
    let until = Instant::now() + Duration::from_millis(300);
    let mut i = 0u32;
    while Instant::now() < until {
        bound.send(format!("after {i}"), 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("after {i}").as_bytes());
        i += 1;
    }
    drop(wrong);
    bound.send("last", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"last");
}

// ---------------------------------------------------------------------------------------------
// Reserved flag bits.

#[test]
fn frames_with_reserved_flag_bits_close_the_connection() {
    let mut sink = Sink::new(|_| {});
    for flags in [0x08u8, 0x10, 0x20, 0x40, 0x80, 0xF8, 0x09, 0x0C] {
        let mut raw = RawPeer::handshaken(&sink.endpoint, "PUSH", 1);
        let _ = raw.try_send_frame(flags, b"bad");
        let what = format!("a frame with flags {flags:#04x}");
        assert_closed(&mut raw, &what);
        sink.good_peer_is_served(&format!("after {what}"));
    }
    assert_err!(sink.pull.recv_bytes(DONTWAIT), Error::WouldBlock);
}

// ---------------------------------------------------------------------------------------------
// Bad user input.

#[test]
fn bad_endpoints_return_the_right_errors() {
    let ctx = Context::new();
    let s = socket(&ctx, SocketType::Pull);
    assert_err!(s.bind("tcp://nohost"), Error::InvalidEndpoint { .. });
    // As in libzmq, a name that does not resolve (yet) is retried, not refused.
    s.connect("tcp://no.such.host.invalid:5555").unwrap();
    assert_err!(s.connect("tcp://not a host!:5555"), Error::InvalidEndpoint { .. });
    assert_err!(s.bind("foo://x"), Error::UnsupportedTransport(_));
    assert_err!(s.connect("foo://x"), Error::UnsupportedTransport(_));
    assert_err!(s.bind("tcp://127.0.0.1:99999"), Error::InvalidEndpoint { .. });
    assert_err!(s.connect("tcp://127.0.0.1:99999"), Error::InvalidEndpoint { .. });
    assert_err!(s.bind("tcp://127.0.0.1:-1"), Error::InvalidEndpoint { .. });
    assert_err!(s.bind("tcp://:5555"), Error::InvalidEndpoint { .. });
    assert_err!(s.bind("nonsense"), Error::InvalidEndpoint { .. });
    assert_err!(s.bind(""), Error::InvalidEndpoint { .. });
    assert_err!(s.bind("ipc://"), Error::InvalidEndpoint { .. });
    assert_err!(s.connect("tcp://127.0.0.1:0"), Error::InvalidEndpoint { .. });
    assert_err!(s.connect("tcp://*:5555"), Error::InvalidEndpoint { .. });
    // None of the failures left a trace, and the socket still works.
    assert_err!(s.unbind("foo://x"), Error::EndpointNotFound(_));
    assert_err!(s.disconnect("tcp://not a host!:5555"), Error::EndpointNotFound(_));
    s.disconnect("tcp://no.such.host.invalid:5555").unwrap(); // the one that was accepted
    s.bind("tcp://127.0.0.1:0").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect(&s.last_endpoint().unwrap()).unwrap();
    push.send("still works", 0).unwrap();
    assert_eq!(s.recv_bytes(0).unwrap(), b"still works");
}

#[test]
fn binding_a_port_in_use_is_addr_in_use() {
    let ctx = Context::new();
    let (_first, endpoint) = bound(&ctx, SocketType::Pull);
    let second = socket(&ctx, SocketType::Pull);
    assert_err!(second.bind(&endpoint), Error::AddrInUse(_));

    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = other.local_addr().unwrap().port();
    assert_err!(
        second.bind(&format!("tcp://127.0.0.1:{port}")),
        Error::AddrInUse(_)
    );

    // The failed binds did not register anything, and the socket still binds elsewhere.
    assert_err!(second.unbind(&endpoint), Error::EndpointNotFound(_));
    second.bind("tcp://127.0.0.1:0").unwrap();
    assert_ne!(second.last_endpoint().unwrap(), endpoint);
}

#[test]
fn unbind_and_disconnect_of_unknown_endpoints_are_endpoint_not_found() {
    let ctx = Context::new();
    let s = socket(&ctx, SocketType::Pull);
    assert_err!(s.unbind("tcp://127.0.0.1:5555"), Error::EndpointNotFound(_));
    assert_err!(s.disconnect("tcp://127.0.0.1:5555"), Error::EndpointNotFound(_));
    s.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = s.last_endpoint().unwrap();
    s.unbind(&endpoint).unwrap();
    assert_err!(s.unbind(&endpoint), Error::EndpointNotFound(_));
    let c = socket(&ctx, SocketType::Push);
    c.connect(&endpoint).unwrap();
    c.disconnect(&endpoint).unwrap();
    assert_err!(c.disconnect(&endpoint), Error::EndpointNotFound(_));
}

#[test]
fn unbind_of_a_connected_endpoint_and_disconnect_of_a_bound_one_are_endpoint_not_found() {
    // libzmq keeps binds and connects apart: zmq_unbind of a connected endpoint is ENOENT.
    let ctx = Context::new();
    let (bound, endpoint) = bound(&ctx, SocketType::Pull);
    let connected = socket(&ctx, SocketType::Push);
    connected.connect(&endpoint).unwrap();
    // Every step is recorded, so that a failure shows the whole behaviour.
    let steps = [
        (
            "connected.unbind(connected endpoint)",
            connected.unbind(&endpoint),
        ),
        ("bound.disconnect(bound endpoint)", bound.disconnect(&endpoint)),
        (
            "connected.disconnect(connected endpoint)",
            connected.disconnect(&endpoint),
        ),
        ("bound.unbind(bound endpoint)", bound.unbind(&endpoint)),
    ];
    let outcome: Vec<String> = steps.iter().map(|(what, r)| format!("{what} -> {r:?}")).collect();
    let ok = matches!(
        steps.map(|(_, r)| r),
        [
            Err(Error::EndpointNotFound(_)),
            Err(Error::EndpointNotFound(_)),
            Ok(()),
            Ok(())
        ]
    );
    assert!(
        ok,
        "expected EndpointNotFound, EndpointNotFound, Ok, Ok; got:\n{}",
        outcome.join("\n")
    );
}

#[test]
fn operations_the_socket_type_lacks_are_not_supported() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    assert_err!(pull.send("x", 0), Error::NotSupported(_));
    assert_err!(pull.send("x", DONTWAIT), Error::NotSupported(_));
    assert_err!(pull.send_multipart(["a", "b"], 0), Error::NotSupported(_));
    let push = socket(&ctx, SocketType::Push);
    assert_err!(push.recv_bytes(0), Error::NotSupported(_));
    assert_err!(push.recv_bytes(DONTWAIT), Error::NotSupported(_));
    assert_err!(push.recv_multipart(0), Error::NotSupported(_));
    let sub = socket(&ctx, SocketType::Sub);
    assert_err!(sub.send("x", 0), Error::NotSupported(_));
    let publ = socket(&ctx, SocketType::Pub);
    assert_err!(publ.recv_bytes(0), Error::NotSupported(_));
    // A bound PULL with a peer still refuses to send.
    pull.bind("tcp://127.0.0.1:0").unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("hello", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
    assert_err!(pull.send("x", 0), Error::NotSupported(_));
    assert_err!(push.recv_bytes(0), Error::NotSupported(_));
}

#[test]
fn wrong_state_and_bad_options_return_errors() {
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    assert_err!(rep.send("reply before request", 0), Error::WrongState(_));
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let req = socket(&ctx, SocketType::Req);
    assert_err!(req.recv_bytes(0), Error::WrongState(_));
    req.connect(&rep.last_endpoint().unwrap()).unwrap();
    req.send("one", 0).unwrap();
    assert_err!(req.send("two", 0), Error::WrongState(_));
    assert_eq!(rep.recv_bytes(0).unwrap(), b"one");
    assert_err!(rep.recv_bytes(0), Error::WrongState(_));
    rep.send("reply", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"reply");

    assert_err!(req.set_routing_id(b""), Error::InvalidOption(_));
    assert_err!(req.set_routing_id(&[0, 1, 2]), Error::InvalidOption(_));
    assert_err!(req.set_routing_id(&[7; 256]), Error::InvalidOption(_));
    assert_err!(req.set_reconnect_ivl(Duration::ZERO), Error::InvalidOption(_));
    assert_err!(req.set_subscribe(b"topic"), Error::InvalidOption(_));
    assert_err!(rep.set_req_relaxed(true), Error::InvalidOption(_));
    let empty: [&str; 0] = [];
    assert_err!(req.send_multipart(empty, 0), Error::InvalidOption(_));
    let fresh = socket(&ctx, SocketType::Pair);
    assert_err!(fresh.last_endpoint(), Error::InvalidOption(_));
}

/// Review regressions: a peer cannot announce the properties the connection sets itself
/// (`Peer-Address`, `Routing-Id`), nor an id of the generated form (a zero byte first).
#[test]
fn a_peer_cannot_forge_its_address_or_a_generated_id() {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&endpoint);
    raw.handshake(
        1,
        &[
            ("Socket-Type", b"DEALER"),
            ("Identity", b"\x00fake"),
            ("Peer-Address", b"10.9.8.7"),
        ],
    );
    raw.send_raw(&encode_message(&[b"hello"]));
    router.set_rcvtimeo(Some(Duration::from_secs(5))).unwrap();
    let id = router.recv_msg(0).unwrap();
    assert_ne!(&id[..], b"\x00fake", "a generated id instead");
    assert_eq!(id.len(), 5);
    assert_eq!(id.gets("Peer-Address"), Some("127.0.0.1"));
    assert_eq!(router.recv_bytes(0).unwrap(), b"hello");
}
