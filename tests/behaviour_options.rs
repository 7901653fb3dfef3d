//! libzmq's pattern-behaviour and lifecycle options over real sockets: CONFLATE,
//! PROBE_ROUTER, ROUTER_NOTIFY, INVERT_MATCHING, XPUB_NODROP, XPUB_MANUAL_LAST_VALUE,
//! XSUB_VERBOSE_UNSUBSCRIBE, ONLY_FIRST_SUBSCRIBE, HELLO_MSG, DISCONNECT_MSG, HICCUP_MSG.
//! Interop with libzmq for the ones the wire shows is in `tests/integration/interop_options.rs`.

use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

const DEADLINE: Duration = Duration::from_secs(5);

fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(Some(DEADLINE)).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

fn bound(ctx: &Context, kind: SocketType) -> (Socket, String) {
    let s = socket(ctx, kind);
    s.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = s.last_endpoint().unwrap();
    (s, endpoint)
}

/// Sends `probe` until `sub` receives something: the subscription has arrived.
fn until_subscribed(publisher: &Socket, sub: &Socket, probe: &[u8]) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        publisher.send(probe, 0).unwrap();
        if sub.recv_bytes(DONTWAIT).is_ok() {
            while sub.recv_bytes(DONTWAIT).is_ok() {}
            return;
        }
        assert!(Instant::now() < deadline, "the subscription never arrived");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn conflate_keeps_only_the_newest_message() {
    let ctx = Context::new();
    let (publisher, endpoint) = bound(&ctx, SocketType::Pub);
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_conflate(true).unwrap();
    sub.set_subscribe(b"").unwrap();
    sub.connect(&endpoint).unwrap();
    until_subscribed(&publisher, &sub, b"probe");
    let before = sub.stats().messages_in;
    for n in 1..=100u32 {
        publisher.send(n.to_string().as_str(), 0).unwrap();
    }
    let deadline = Instant::now() + DEADLINE;
    while sub.stats().messages_in < before + 100 {
        assert!(Instant::now() < deadline, "the messages never arrived");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(sub.recv_bytes(0).unwrap(), b"100");
    assert!(matches!(sub.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn probe_router_and_router_notify_announce_peers() {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    router
        .set_router_notify(zocket::NOTIFY_CONNECT | zocket::NOTIFY_DISCONNECT)
        .unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.last_endpoint().unwrap();
    assert!(socket(&ctx, SocketType::Pub).set_probe_router(true).is_err());
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_probe_router(true).unwrap();
    dealer.set_routing_id(b"d1").unwrap();
    dealer.connect(&endpoint).unwrap();
    // The notification and the probe, each an empty message from "d1".
    for _ in 0..2 {
        assert_eq!(router.recv_multipart(0).unwrap(), [b"d1".to_vec(), vec![]]);
    }
    drop(dealer);
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        [b"d1".to_vec(), vec![]],
        "disconnected"
    );
    assert!(socket(&ctx, SocketType::Dealer).set_router_notify(1).is_err());
}

#[test]
fn invert_matching_delivers_what_does_not_match() {
    let ctx = Context::new();
    let (publisher, endpoint) = bound(&ctx, SocketType::Pub);
    publisher.set_invert_matching(true).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_invert_matching(true).unwrap();
    sub.set_subscribe(b"a").unwrap();
    sub.connect(&endpoint).unwrap();
    until_subscribed(&publisher, &sub, b"probe");
    // Probes still on their way are read up to a marker.
    publisher.send("end of probes", 0).unwrap();
    while sub.recv_bytes(0).unwrap() != b"end of probes" {}
    publisher.send("a1", 0).unwrap();
    publisher.send("b1", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"b1");
    assert!(publisher.invert_matching() && sub.invert_matching());
}

#[test]
fn xpub_nodrop_refuses_instead_of_dropping() {
    let ctx = Context::new();
    let (xpub, endpoint) = bound(&ctx, SocketType::XPub);
    xpub.set_xpub_nodrop(true).unwrap();
    xpub.set_sndhwm(2).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_rcvhwm(2).unwrap();
    sub.set_subscribe(b"").unwrap();
    sub.connect(&endpoint).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01", "the subscription");
    let big = vec![9u8; 256 * 1024];
    let mut sent = 0u64;
    let deadline = Instant::now() + DEADLINE;
    loop {
        match xpub.send(&big[..], DONTWAIT) {
            Ok(()) => sent += 1,
            Err(Error::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(Instant::now() < deadline, "never full");
    }
    assert_eq!(xpub.stats().drops, 0, "nothing dropped");
    for _ in 0..sent {
        assert_eq!(sub.recv_bytes(0).unwrap().len(), big.len());
    }
}

#[test]
fn xpub_manual_last_value_sends_the_next_message_to_the_newcomer_only() {
    let ctx = Context::new();
    let (xpub, endpoint) = bound(&ctx, SocketType::XPub);
    xpub.set_xpub_manual_last_value(true).unwrap();
    let first = socket(&ctx, SocketType::Sub);
    first.set_subscribe(b"t").unwrap();
    first.connect(&endpoint).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
    xpub.set_subscribe(b"t").unwrap();
    xpub.send("t:for the first", 0).unwrap(); // the first subscriber's last value
    assert_eq!(first.recv_bytes(0).unwrap(), b"t:for the first");
    let second = socket(&ctx, SocketType::Sub);
    second.set_subscribe(b"t").unwrap();
    second.connect(&endpoint).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
    xpub.set_subscribe(b"t").unwrap();
    xpub.send("t:cached", 0).unwrap();
    assert_eq!(second.recv_bytes(0).unwrap(), b"t:cached");
    xpub.send("t:everyone", 0).unwrap();
    assert_eq!(first.recv_bytes(0).unwrap(), b"t:everyone", "not t:cached");
    assert_eq!(second.recv_bytes(0).unwrap(), b"t:everyone");
}

#[test]
fn xsub_verbose_unsubscribe_and_only_first_subscribe() {
    let ctx = Context::new();
    let (xpub, endpoint) = bound(&ctx, SocketType::XPub);
    xpub.set_xpub_verboser(true).unwrap();
    xpub.set_only_first_subscribe(true).unwrap();
    let xsub = socket(&ctx, SocketType::XSub);
    xsub.set_xsub_verbose_unsubscribe(true).unwrap();
    xsub.set_only_first_subscribe(true).unwrap();
    xsub.connect(&endpoint).unwrap();
    for msg in [b"\x01x", b"\x01x", b"\x00x", b"\x00x"] {
        xsub.send(&msg[..], 0).unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), msg, "each one forwarded");
    }
    // A subscription with data after it: the whole message arrives, and it subscribes.
    xsub.send_multipart([&b"\x01news"[..], b"from the subscriber"], 0)
        .unwrap();
    assert_eq!(
        xpub.recv_multipart(0).unwrap(),
        [b"\x01news".to_vec(), b"from the subscriber".to_vec()]
    );
    xpub.send("news: it worked", 0).unwrap();
    assert_eq!(xsub.recv_bytes(0).unwrap(), b"news: it worked");
}

#[test]
fn hello_disconnect_and_hiccup_messages() {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    // Set before `bind`: as in libzmq, connections take the options of their bind.
    router.set_hello_msg(Some(b"hello from router")).unwrap();
    router.set_disconnect_msg(Some(b"gone")).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.last_endpoint().unwrap();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_routing_id(b"d").unwrap();
    dealer.set_hiccup_msg(Some(b"hiccup")).unwrap();
    dealer.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    dealer.connect(&endpoint).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"hello from router");
    // The router goes and comes back on the same port: the dealer hears of the hiccup and
    // the new router greets it.
    drop(router);
    let router = socket(&ctx, SocketType::Router);
    router.set_hello_msg(Some(b"hello again")).unwrap();
    router.set_disconnect_msg(Some(b"gone")).unwrap();
    let deadline = Instant::now() + DEADLINE;
    while router.bind(&endpoint).is_err() {
        assert!(Instant::now() < deadline, "cannot bind again");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut got = vec![dealer.recv_bytes(0).unwrap(), dealer.recv_bytes(0).unwrap()];
    got.sort();
    assert_eq!(got, [b"hello again".to_vec(), b"hiccup".to_vec()]);
    drop(dealer);
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        [b"d".to_vec(), b"gone".to_vec()]
    );
}

/// Review regressions.
#[test]
fn lifecycle_messages_only_where_libzmq_has_them() {
    let ctx = Context::new();
    // Before, an XPUB queued a DISCONNECT_MSG nobody reads: the dead pipe stayed, and with
    // XPUB_NODROP every later send blocked.
    assert!(
        socket(&ctx, SocketType::XPub)
            .set_disconnect_msg(Some(b"bye"))
            .is_err()
    );
    assert!(
        socket(&ctx, SocketType::Push)
            .set_hiccup_msg(Some(b"again"))
            .is_err()
    );
    assert!(
        socket(&ctx, SocketType::Router)
            .set_disconnect_msg(Some(b"bye"))
            .is_ok()
    );
    assert!(
        socket(&ctx, SocketType::Dealer)
            .set_hiccup_msg(Some(b"again"))
            .is_ok()
    );
}

/// A backlog larger than a sync's batch, with a receive mark of 1, over TCP and inproc:
/// the newest message is the one received (before, the 256th, or plain FIFO).
#[test]
fn conflate_keeps_the_newest_of_a_long_backlog() {
    for transport in ["tcp://127.0.0.1:0", "inproc://conflate-backlog"] {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        pull.set_conflate(true).unwrap();
        pull.set_rcvhwm(1).unwrap();
        pull.bind(transport).unwrap();
        let push = socket(&ctx, SocketType::Push);
        push.set_sndhwm(0).unwrap();
        push.connect(&pull.last_endpoint().unwrap()).unwrap();
        push.send("first", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"first", "{transport}");
        for n in 1..=1000u32 {
            push.send(n.to_string().as_str(), 0).unwrap();
        }
        push.send("last", 0).unwrap();
        // Everything read is older than "last" and the queue never holds two.
        let deadline = Instant::now() + DEADLINE;
        let mut taken = 0;
        loop {
            let msg = pull.recv_bytes(0).unwrap();
            taken += 1;
            if msg == b"last" {
                break;
            }
            assert!(Instant::now() < deadline);
        }
        assert!(taken < 1000, "{transport}: {taken} messages taken, not conflated");
    }
}

#[test]
fn a_last_value_for_a_peer_that_left_goes_to_everyone() {
    let ctx = Context::new();
    let (xpub, endpoint) = bound(&ctx, SocketType::XPub);
    xpub.set_xpub_manual_last_value(true).unwrap();
    let stays = socket(&ctx, SocketType::Sub);
    stays.set_subscribe(b"t").unwrap();
    stays.connect(&endpoint).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
    xpub.set_subscribe(b"t").unwrap();
    xpub.send("t:0", 0).unwrap();
    assert_eq!(stays.recv_bytes(0).unwrap(), b"t:0");
    let leaves = socket(&ctx, SocketType::Sub);
    leaves.set_subscribe(b"t").unwrap();
    leaves.connect(&endpoint).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
    xpub.set_subscribe(b"t").unwrap(); // the next send is for `leaves` only...
    drop(leaves); // ...which goes first
    let deadline = Instant::now() + DEADLINE;
    while xpub.stats().peers.len() > 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(2));
    }
    // The XPUB learns of it at its next call; then the send goes to everyone left.
    let _ = xpub.recv_bytes(DONTWAIT);
    xpub.send("t:1", 0).unwrap();
    assert_eq!(stays.recv_bytes(0).unwrap(), b"t:1");
}
