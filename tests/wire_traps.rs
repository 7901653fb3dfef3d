//! The "wire traps" of DESIGN.md, one test each: places where other ZMTP implementations broke
//! interoperability with libzmq. Each test drives a zocket socket against a raw peer written by
//! hand over `std::net::TcpStream` (`common::RawPeer`), and checks the bytes on the wire.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::io;
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, SocketType};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parts_text(parts: &[Vec<u8>]) -> Vec<String> {
    parts.iter().map(|p| text(p)).collect()
}

// ---------------------------------------------------------------------------------------------
// Trap 1: libzmq fills the greeting's padding with its identity length + 1.

#[test]
fn greeting_padding_need_not_be_zero() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    let random: [u8; 8] = pseudo_random(42, 8).try_into().unwrap();
    let paddings: [[u8; 8]; 5] = [
        [0, 0, 0, 0, 0, 0, 0, 1], // libzmq, no identity
        [0, 0, 0, 0, 0, 0, 0, 6], // libzmq, 5-byte identity
        [0xFF; 8],
        random,
        [0; 8],
    ];
    for (i, padding) in paddings.into_iter().enumerate() {
        let mut raw = RawPeer::connect(&endpoint);
        raw.handshake_with(greeting(1, padding), &[("Socket-Type", b"PUSH")]);
        let msg = format!("padding {padding:02x?}");
        raw.send_message(&[msg.as_bytes()]);
        match pull.recv_bytes(0) {
            Ok(got) => assert_eq!(text(&got), msg, "case {i}"),
            Err(e) => panic!("a greeting with padding {padding:02x?} was not accepted: {e}"),
        }

        // zocket's own greeting: 0xFF, padding (ignored), 0x7F, 3.1, NULL, as-server 0, zeros.
        let g = raw.peer_greeting.unwrap();
        assert_eq!(g[0], 0xFF, "greeting {g:02x?}");
        assert_eq!(g[9], 0x7F, "greeting {g:02x?}");
        assert_eq!((g[10], g[11]), (3, 1), "zocket must announce ZMTP 3.1: {g:02x?}");
        assert_eq!(&g[12..32], b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(g[32], 0, "as-server must be 0 for NULL");
        assert!(g[33..].iter().all(|&b| b == 0), "filler must be zero: {g:02x?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 2: libzmq sends PING to peers that announced 3.0 too.

#[test]
fn ping_on_a_3_0_connection_is_answered_with_pong() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    for minor in [0u8, 1] {
        let mut raw = RawPeer::handshaken(&endpoint, "PUSH", minor);
        let contexts: [(u16, &[u8]); 4] = [
            (0, b""),
            (0, b"ctx-1"),
            (300, b"0123456789abcdef"), // 16 bytes, the maximum
            (1, &[0, 0xFF, 0x04]),
        ];
        for (ttl, context) in contexts {
            raw.send_ping(ttl, context);
            let pong = raw.read_frame();
            let expected = encode_frame(FLAG_COMMAND, &command_body("PONG", context));
            assert_eq!(
                pong.wire, expected,
                "ZMTP 3.{minor} peer, PING ttl {ttl} context {context:02x?}: expected PONG {expected:02x?}"
            );
        }
        let msg = format!("data after PINGs on 3.{minor}");
        raw.send_message(&[msg.as_bytes()]);
        assert_eq!(text(&pull.recv_bytes(0).unwrap()), msg);
        assert!(
            matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
            "a PING or PONG reached the PULL application"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 3: commands never reach the REQ/REP state machine or the application.

#[test]
fn ping_and_pong_never_reach_a_pull_application() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
    raw.send_ping(0, b"a");
    raw.send_command("PONG", b"unsolicited");
    raw.send_message(&[b"first"]);
    raw.send_ping(10, b"b");
    raw.send_message(&[b"second", b"part"]);
    assert_eq!(pull.recv_bytes(0).unwrap(), b"first");
    assert_eq!(
        pull.recv_multipart(0).unwrap(),
        vec![b"second".to_vec(), b"part".to_vec()]
    );
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    assert_eq!(raw.read_command("PONG").command_data(), b"a");
    assert_eq!(raw.read_command("PONG").command_data(), b"b");
}

#[test]
fn ping_never_reaches_the_rep_state_machine() {
    let ctx = Context::new();
    let (rep, endpoint) = bound(&ctx, SocketType::Rep);
    let mut raw = RawPeer::handshaken(&endpoint, "REQ", 1);
    raw.send_ping(0, b"p1");
    raw.send_message(&[b"", b"hello"]);
    raw.send_ping(0, b"p2");
    assert_eq!(rep.recv_multipart(0).unwrap(), vec![b"hello".to_vec()]);
    rep.send("world", 0).unwrap();
    assert_eq!(parts_text(&raw.read_message()), ["", "world"]);
    // A second round trip: the PINGs did not leave REP waiting for something else.
    raw.send_message(&[b"", b"again"]);
    assert_eq!(rep.recv_multipart(0).unwrap(), vec![b"again".to_vec()]);
    rep.send("again-reply", 0).unwrap();
    assert_eq!(parts_text(&raw.read_message()), ["", "again-reply"]);
    assert_eq!(raw.read_command("PONG").command_data(), b"p1");
    assert_eq!(raw.read_command("PONG").command_data(), b"p2");
}

#[test]
fn ping_never_reaches_the_req_state_machine() {
    let ctx = Context::new();
    let listener = RawListener::bind();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&listener.endpoint).unwrap();
    req.send("q1", 0).unwrap();
    let mut raw = listener.accept();
    raw.handshake(1, &[("Socket-Type", b"REP")]);
    assert_eq!(parts_text(&raw.read_message()), ["", "q1"]);
    raw.send_ping(0, b"r1");
    raw.send_message(&[b"", b"a1"]);
    assert_eq!(req.recv_multipart(0).unwrap(), vec![b"a1".to_vec()]);
    req.send("q2", 0).unwrap();
    assert_eq!(parts_text(&raw.read_message()), ["", "q2"]);
    raw.send_command("PONG", b"stray");
    raw.send_message(&[b"", b"a2"]);
    assert_eq!(req.recv_multipart(0).unwrap(), vec![b"a2".to_vec()]);
    assert_eq!(raw.read_command("PONG").command_data(), b"r1");
}

#[test]
fn subscribe_and_cancel_commands_never_reach_non_publishers() {
    // SUBSCRIBE/CANCEL mean something only to PUB/XPUB. Sent to any other socket type they must
    // not surface as data (ignoring them, or dropping the connection, are both acceptable).
    const D1: &[u8] = b"d1";
    const EMPTY: &[u8] = b"";
    /// (socket under test, the raw peer's type, message the peer sends, what the app gets)
    type Case = (
        SocketType,
        &'static str,
        &'static [&'static [u8]],
        &'static [&'static [u8]],
    );
    let cases: [Case; 6] = [
        (SocketType::Pull, "PUSH", &[D1], &[D1]),
        (SocketType::Pair, "PAIR", &[D1], &[D1]),
        (SocketType::Dealer, "DEALER", &[D1], &[D1]),
        (SocketType::Router, "DEALER", &[D1], &[EMPTY, D1]),
        (SocketType::Rep, "REQ", &[EMPTY, D1], &[D1]),
        (SocketType::Sub, "PUB", &[D1], &[D1]),
    ];
    let mut leaks = Vec::new();
    for (socket_type, peer_type, sent, expected) in cases {
        let ctx = Context::new();
        let (s, endpoint) = bound(&ctx, socket_type);
        if socket_type == SocketType::Sub {
            s.set_subscribe(b"").unwrap();
        }
        let mut raw = RawPeer::connect(&endpoint);
        // An empty Identity: a ROUTER generates the routing id, which is blanked below.
        raw.handshake(1, &[("Socket-Type", peer_type.as_bytes()), ("Identity", b"")]);
        raw.send_command("SUBSCRIBE", b"topic");
        raw.send_command("CANCEL", b"topic");
        raw.send_command("SUBSCRIBE", b"");
        raw.send_message(sent);
        let want: Vec<Vec<u8>> = expected.iter().map(|p| p.to_vec()).collect();
        let deadline = Instant::now() + DEADLINE;
        // Everything the application receives up to the data message (or the connection's end).
        loop {
            match s.recv_multipart(DONTWAIT) {
                Ok(mut got) => {
                    if socket_type == SocketType::Router {
                        got[0].clear();
                    }
                    if got == want {
                        break;
                    }
                    leaks.push(format!("{socket_type} received {got:?}"));
                    continue;
                }
                Err(Error::WouldBlock) => {}
                Err(e) => panic!("{socket_type}: recv failed: {e}"),
            }
            if raw.wait_closed(READ_SLICE) {
                break; // refusing the peer outright is acceptable too
            }
            assert!(
                Instant::now() < deadline,
                "{socket_type}: neither the data nor a closed connection"
            );
        }
        if socket_type == SocketType::Rep {
            s.send("reply", 0).unwrap(); // REP must answer before it may receive again
        }
        let rest = s.recv_multipart(DONTWAIT);
        if !matches!(rest, Err(Error::WouldBlock)) {
            leaks.push(format!("{socket_type} then received {rest:?}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "SUBSCRIBE/CANCEL commands reached the application as data:\n{}",
        leaks.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Trap 4: property names compare case-insensitively; zocket sends them in canonical casing.

#[test]
fn property_names_compare_case_insensitively() {
    let ctx = Context::new();
    let (pull, endpoint) = bound(&ctx, SocketType::Pull);
    for name in ["socket-type", "SOCKET-TYPE", "sOcKeT-tYpE", "Socket-Type"] {
        let mut raw = RawPeer::connect(&endpoint);
        raw.handshake(1, &[(name, b"PUSH")]);
        raw.send_message(&[name.as_bytes()]);
        match pull.recv_bytes(0) {
            Ok(got) => assert_eq!(text(&got), name),
            Err(e) => panic!("a READY with property {name:?} was not accepted: {e}"),
        }
    }

    let (router, endpoint) = bound(&ctx, SocketType::Router);
    for (i, name) in ["identity", "IDENTITY", "Identity"].into_iter().enumerate() {
        let id = format!("peer-{i}");
        let mut raw = RawPeer::connect(&endpoint);
        raw.handshake(1, &[("socket-type", b"DEALER"), (name, id.as_bytes())]);
        raw.send_message(&[b"hello"]);
        let got = router.recv_multipart(0).unwrap();
        assert_eq!(
            parts_text(&got),
            [id.as_str(), "hello"],
            "property {name:?} was not taken as the routing id"
        );
        router.send_multipart([id.as_str(), "back"], 0).unwrap();
        assert_eq!(parts_text(&raw.read_message()), ["back"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 5: REQ, DEALER and ROUTER send Identity in READY (possibly empty); others do not.

#[test]
fn identity_property_is_sent_by_req_dealer_and_router_only() {
    // The RFC 37 / libzmq example: a DEALER with an empty identity, 41-byte body.
    let dealer_example: &[u8] =
        b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00";
    let cases: [(SocketType, &str, &str, bool); 11] = [
        (SocketType::Req, "REQ", "REP", true),
        (SocketType::Dealer, "DEALER", "ROUTER", true),
        (SocketType::Router, "ROUTER", "DEALER", true),
        (SocketType::Rep, "REP", "REQ", false),
        (SocketType::Push, "PUSH", "PULL", false),
        (SocketType::Pull, "PULL", "PUSH", false),
        (SocketType::Pub, "PUB", "SUB", false),
        (SocketType::Sub, "SUB", "PUB", false),
        (SocketType::XPub, "XPUB", "SUB", false),
        (SocketType::XSub, "XSUB", "PUB", false),
        (SocketType::Pair, "PAIR", "PAIR", false),
    ];
    let ctx = Context::new();
    for (socket_type, name, peer, sends_identity) in cases {
        let (_s, endpoint) = bound(&ctx, socket_type);
        let raw = RawPeer::handshaken(&endpoint, peer, 1);
        let ready = raw.peer_ready.unwrap();
        let mut props: Vec<(&str, &[u8])> = vec![("Socket-Type", name.as_bytes())];
        if sends_identity {
            props.push(("Identity", b""));
        }
        // Types that can receive from a spooled zocket sender announce, as an application
        // (X-) property, that they acknowledge delivery; libzmq ignores it.
        if matches!(name, "PULL" | "DEALER" | "ROUTER" | "REP" | "PAIR") {
            props.push(("X-Zocket-Ack", b"1"));
        }
        let expected = encode_frame(FLAG_COMMAND, &ready_body(&props));
        assert_eq!(
            ready.wire,
            expected,
            "{name}'s READY: got {:?}, expected {:?}",
            ready_props(&ready.body),
            props
        );
        if socket_type == SocketType::Dealer {
            // The RFC example's properties, then zocket's own.
            assert_eq!(
                &ready.wire[2..],
                &[&dealer_example[2..], b"\x0cX-Zocket-Ack\x00\x00\x00\x011"].concat()[..]
            );
        }
    }

    // With a routing id, on the connecting side too.
    let listener = RawListener::bind();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_routing_id(b"client-7").unwrap();
    dealer.connect(&listener.endpoint).unwrap();
    let mut raw = listener.accept();
    raw.handshake(1, &[("Socket-Type", b"ROUTER"), ("Identity", b"")]);
    let ready = raw.peer_ready.clone().unwrap();
    assert_eq!(
        ready.wire,
        encode_frame(
            FLAG_COMMAND,
            &ready_body(&[
                ("Socket-Type", b"DEALER"),
                ("Identity", b"client-7"),
                ("X-Zocket-Ack", b"1")
            ])
        ),
        "DEALER with routing id: {:?}",
        ready_props(&ready.body)
    );
}

// ---------------------------------------------------------------------------------------------
// Trap 6: a frame's 64-bit length is checked against the maximum message size first.

#[test]
fn long_frame_sizes_are_checked_against_maxmsgsize_before_allocating() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_maxmsgsize(Some(1024)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let good = socket(&ctx, SocketType::Push);
    good.connect(&endpoint).unwrap();
    let mut served = 0;
    let mut good_peer_is_served = |when: &str| {
        served += 1;
        let msg = format!("good {served}");
        good.send(msg.as_str(), 0).unwrap();
        match pull.recv_bytes(0) {
            Ok(got) => assert_eq!(text(&got), msg, "{when}"),
            Err(e) => panic!("{when}: the good peer was not served: {e}"),
        }
    };
    good_peer_is_served("before");

    // Decoders must accept the long form for small bodies, up to the limit itself.
    let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
    let mut out = long_header(0, 2);
    out.extend_from_slice(b"hi");
    out.extend(long_header(0, 1024));
    out.extend_from_slice(&[7; 1024]);
    raw.send_raw(&out);
    assert_eq!(
        pull.recv_bytes(0).expect("a 2-byte body in a long-form frame"),
        b"hi"
    );
    assert_eq!(
        pull.recv_bytes(0)
            .expect("a long-form frame of exactly MAXMSGSIZE"),
        vec![7; 1024]
    );
    good_peer_is_served("after long-form frames within the limit");

    let sizes: [(&str, u8, u64); 6] = [
        ("1025 bytes", 0, 1025),
        ("2^40 bytes", 0, 1 << 40),
        ("2^62 bytes", 0, 1 << 62),
        ("2^63-1 bytes", 0, i64::MAX as u64),
        ("2^64-1 bytes", 0, u64::MAX),
        ("a 2^40-byte command", FLAG_COMMAND, 1 << 40),
    ];
    for (what, flags, size) in sizes {
        let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
        raw.send_raw(&long_header(flags, size));
        assert_closed(
            &mut raw,
            &format!("a long frame announcing {what} (MAXMSGSIZE 1024)"),
        );
        good_peer_is_served(&format!("after a long frame announcing {what}"));
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));

    // Without MAXMSGSIZE, sizes beyond the spec's 2^63-1 are still refused.
    let (pull2, endpoint2) = bound(&ctx, SocketType::Pull);
    let mut raw = RawPeer::handshaken(&endpoint2, "PUSH", 1);
    raw.send_raw(&long_header(0, u64::MAX));
    assert_closed(&mut raw, "a long frame announcing 2^64-1 bytes (no MAXMSGSIZE)");
    drop(pull2);
}

// ---------------------------------------------------------------------------------------------
// Trap 7: subscriptions travel as 1/0 messages to 3.0 peers, as commands to 3.1 peers, and
// both forms are accepted from anyone.

fn expected_subscription(minor: u8, subscribe: bool, topic: &[u8]) -> Vec<u8> {
    if minor == 0 {
        let mut body = vec![u8::from(subscribe)];
        body.extend_from_slice(topic);
        encode_frame(0, &body)
    } else {
        let name = if subscribe { "SUBSCRIBE" } else { "CANCEL" };
        encode_frame(FLAG_COMMAND, &command_body(name, topic))
    }
}

#[test]
fn sub_sends_subscriptions_in_the_form_of_the_publishers_version() {
    for minor in [0u8, 1] {
        let ctx = Context::new();
        let listener = RawListener::bind();
        let sub = socket(&ctx, SocketType::Sub);
        sub.set_subscribe(b"topic").unwrap();
        sub.connect(&listener.endpoint).unwrap();
        let mut raw = listener.accept();
        raw.handshake(minor, &[("Socket-Type", b"PUB")]);
        let frame = raw.read_frame();
        assert_eq!(
            frame.wire,
            expected_subscription(minor, true, b"topic"),
            "SUB's subscription to a ZMTP 3.{minor} publisher"
        );
        if minor == 1 {
            assert_eq!(frame.wire, b"\x04\x0f\x09SUBSCRIBEtopic");
        } else {
            assert_eq!(frame.wire, b"\x00\x06\x01topic");
        }

        // Subscriptions made once connected, and cancellations, follow the same rule.
        sub.set_subscribe(b"more").unwrap();
        assert_eq!(raw.read_frame().wire, expected_subscription(minor, true, b"more"));
        sub.set_unsubscribe(b"topic").unwrap();
        assert_eq!(
            raw.read_frame().wire,
            expected_subscription(minor, false, b"topic")
        );

        // And the data flows, filtered.
        raw.send_message(&[b"topic-1"]);
        raw.send_message(&[b"more-1"]);
        assert_eq!(sub.recv_bytes(0).unwrap(), b"more-1", "ZMTP 3.{minor} publisher");
        assert!(matches!(sub.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    }
}

#[derive(Clone, Copy, Debug)]
enum Form {
    Command,
    Message,
}

fn send_subscription(raw: &mut RawPeer, form: Form, subscribe: bool, topic: &[u8]) {
    match form {
        Form::Command => raw.send_command(if subscribe { "SUBSCRIBE" } else { "CANCEL" }, topic),
        Form::Message => {
            let mut body = vec![u8::from(subscribe)];
            body.extend_from_slice(topic);
            raw.send_message(&[&body]);
        }
    }
}

/// The first frame of a message read within a short slice, if any.
fn poll_message(raw: &mut RawPeer, label: &str) -> Option<String> {
    match raw.read_message_until(Instant::now() + READ_SLICE) {
        Ok(parts) => Some(text(&parts[0])),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => None,
        Err(e) => panic!("{label}: reading from the PUB failed: {e}"),
    }
}

#[test]
fn pub_accepts_subscribe_commands_and_subscription_messages() {
    for (minor, form) in [
        (1u8, Form::Command),
        (0, Form::Message),
        (1, Form::Message),
        (0, Form::Command),
    ] {
        let label = format!("a ZMTP 3.{minor} SUB subscribing with a {form:?}");
        let ctx = Context::new();
        let (publ, endpoint) = bound(&ctx, SocketType::Pub);
        let mut raw = RawPeer::handshaken(&endpoint, "SUB", minor);
        send_subscription(&mut raw, form, true, b"topic");

        // Publish until the subscription took effect; non-matching messages never arrive.
        let deadline = Instant::now() + DEADLINE;
        let mut i = 0u32;
        loop {
            assert!(Instant::now() < deadline, "{label}: no matching message arrived");
            i += 1;
            publ.send(format!("other-{i}"), 0).unwrap();
            publ.send(format!("topic-{i}"), 0).unwrap();
            if let Some(first) = poll_message(&mut raw, &label) {
                assert!(first.starts_with("topic-"), "{label}: received {first:?}");
                break;
            }
        }

        // Cancel, then subscribe to a marker: once a marker arrives the cancel took effect, and
        // no topic message published after it may follow.
        send_subscription(&mut raw, form, false, b"topic");
        send_subscription(&mut raw, form, true, b"mark");
        let mut first_mark: Option<u32> = None;
        let mut marks = 0;
        while marks < 5 {
            assert!(
                Instant::now() < deadline,
                "{label}: the marker subscription never took effect"
            );
            i += 1;
            publ.send(format!("topic-{i}"), 0).unwrap();
            publ.send(format!("mark-{i}"), 0).unwrap();
            let Some(msg) = poll_message(&mut raw, &label) else {
                continue;
            };
            if let Some(n) = msg.strip_prefix("mark-") {
                first_mark.get_or_insert(n.parse().unwrap());
                marks += 1;
            } else if let Some(n) = msg.strip_prefix("topic-") {
                let n: u32 = n.parse().unwrap();
                if let Some(mark) = first_mark {
                    assert!(
                        n <= mark,
                        "{label}: topic-{n} arrived after the CANCEL (mark-{mark})"
                    );
                }
            } else {
                panic!("{label}: received {msg:?}");
            }
        }
        assert!(
            raw.commands.is_empty(),
            "{label}: PUB sent commands {:?}",
            raw.commands
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Trap 8: SUB re-sends every subscription on a new connection, after a reconnect too.

/// Reads `n` frames and returns their wire bytes as a set (subscription order is free).
/// Reads `n` frames, calling `prod` while none comes: as in libzmq, a socket re-sends its
/// subscriptions after a reconnect when the application next calls into it.
fn read_frame_set(raw: &mut RawPeer, n: usize, prod: impl Fn()) -> BTreeSet<Vec<u8>> {
    let deadline = Instant::now() + DEADLINE;
    let mut frames = BTreeSet::new();
    while frames.len() < n {
        prod();
        match raw.read_frame_until(Instant::now() + Duration::from_millis(20)) {
            Ok(frame) => {
                frames.insert(frame.wire);
            }
            Err(e) => assert!(Instant::now() < deadline, "reading a frame from zocket: {e}"),
        }
    }
    frames
}

#[test]
fn sub_resends_subscriptions_after_a_reconnect() {
    let ctx = Context::new();
    let listener = RawListener::bind();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    sub.set_subscribe(b"a").unwrap();
    sub.set_subscribe(b"bb").unwrap();
    sub.connect(&listener.endpoint).unwrap();
    // The next connection, handshaken as a ZMTP 3.`minor` publisher: both subscriptions come
    // first, in the form for that version (in any order).
    let accept_publisher = |minor: u8, when: &str| {
        let mut raw = listener.accept();
        raw.handshake(minor, &[("Socket-Type", b"PUB")]);
        let expected: BTreeSet<Vec<u8>> = [&b"a"[..], b"bb"]
            .into_iter()
            .map(|topic| expected_subscription(minor, true, topic))
            .collect();
        let prod = || {
            sub.events();
        };
        assert_eq!(read_frame_set(&mut raw, 2, prod), expected, "{when}");
        raw
    };

    let mut first = accept_publisher(1, "first connection");
    first.send_message(&[b"a-1"]);
    assert_eq!(sub.recv_bytes(0).unwrap(), b"a-1");
    drop(first);

    // The reconnection, this time to a publisher speaking ZMTP 3.1 again.
    let mut second = accept_publisher(1, "after the reconnect");
    // Nothing else (no duplicate subscription) before the answer to a PING sent now.
    second.send_ping(0, b"sync");
    let next = second.read_frame();
    assert_eq!(
        next.wire,
        encode_frame(FLAG_COMMAND, &command_body("PONG", b"sync")),
        "after the reconnect"
    );
    second.send_message(&[b"bb-2"]);
    assert_eq!(sub.recv_bytes(0).unwrap(), b"bb-2");
    drop(second);

    // And once more, to a publisher speaking ZMTP 3.0: the same subscriptions, as messages.
    let mut third = accept_publisher(0, "after a reconnect to 3.0");
    third.send_message(&[b"a-3"]);
    third.send_message(&[b"c-3"]);
    third.send_message(&[b"bb-3"]);
    assert_eq!(sub.recv_bytes(0).unwrap(), b"a-3");
    assert_eq!(sub.recv_bytes(0).unwrap(), b"bb-3");
}

// ---------------------------------------------------------------------------------------------
// Heartbeats: zocket sends PINGs when asked, and drops a peer that stays silent.

#[test]
fn heartbeats_are_sent_and_a_silent_peer_is_dropped() {
    let ctx = Context::new();
    let listener = RawListener::bind();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_heartbeat_ivl(Some(Duration::from_millis(50))).unwrap();
    dealer
        .set_heartbeat_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    dealer
        .set_heartbeat_ttl(Some(Duration::from_millis(2000)))
        .unwrap();
    dealer.connect(&listener.endpoint).unwrap();
    let mut raw = listener.accept();
    raw.handshake(1, &[("Socket-Type", b"ROUTER"), ("Identity", b"")]);
    // PINGs arrive, with the TTL in tenths of a second; the raw peer answers none of them.
    let ping = raw.read_command("PING");
    assert_eq!(&ping.command_data()[..2], &20u16.to_be_bytes());
    // Silent for the timeout: zocket closes the connection.
    assert_closed(&mut raw, "a peer that never answers heartbeats");
}

#[test]
fn a_peer_that_answers_keeps_the_connection() {
    let ctx = Context::new();
    let listener = RawListener::bind();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_heartbeat_ivl(Some(Duration::from_millis(20))).unwrap();
    dealer
        .set_heartbeat_timeout(Some(Duration::from_millis(60)))
        .unwrap();
    dealer.connect(&listener.endpoint).unwrap();
    let mut raw = listener.accept();
    raw.handshake(1, &[("Socket-Type", b"ROUTER"), ("Identity", b"")]);
    // Answer every PING for many timeouts' worth of time.
    let until = Instant::now() + Duration::from_millis(600);
    let mut pings = 0;
    while Instant::now() < until {
        let ping = raw.read_command("PING");
        raw.send_command("PONG", &ping.command_data()[2..]);
        pings += 1;
    }
    assert!(pings >= 10, "only {pings} PINGs in 600 ms at a 20 ms interval");
    // Still the same connection: a message arrives on it.
    dealer.send("alive", 0).unwrap();
    assert_eq!(raw.read_message(), vec![b"alive".to_vec()]);
}

/// What a pattern queues when a connection attaches (an XSUB's subscriptions) goes out before
/// anything the application sends afterwards, even a send that may write straight to the
/// stream (one after a receive): the attach takes the stream back for the I/O thread. The
/// XSUB's first call attaches the connection once it is idle, with a message waiting and its
/// stream released to direct writes.
#[test]
fn what_the_pattern_sends_at_attach_is_not_overtaken_by_a_direct_write() {
    for round in 0..10 {
        let ctx = Context::new();
        let xsub = socket(&ctx, SocketType::XSub);
        xsub.bind("tcp://127.0.0.1:0").unwrap();
        xsub.send(&b"\x01A"[..], 0).unwrap(); // no peer yet: remembered, sent at attach
        let mut xpub = RawPeer::connect(&xsub.last_endpoint().unwrap());
        xpub.handshake(1, &[("Socket-Type", b"XPUB")]);
        // A PONG after the message: the XSUB's connection has read the message and is idle,
        // with its stream released to direct writes.
        xpub.send_message(&[b"A welcome"]);
        xpub.send_ping(0, b"idle?");
        xpub.read_command("PONG");
        // Attaches the connection (queueing the SUBSCRIBE) and takes the message, which lets
        // the next send write directly.
        assert_eq!(xsub.recv_bytes(0).unwrap(), b"A welcome");
        xsub.send(&b"\x00A"[..], 0).unwrap();
        let first = xpub.read_frame();
        assert_eq!(first.wire, expected_subscription(1, true, b"A"), "round {round}");
        assert_eq!(xpub.read_frame().wire, expected_subscription(1, false, b"A"));
    }
}
