//! The options whose effect shows on the wire, against libzmq both ways: PROBE_ROUTER,
//! CONFLATE and INVERT_MATCHING.

use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, SocketType};

const DEADLINE: Duration = Duration::from_secs(5);
const TIMEOUT_MS: i32 = 5000;

/// Sets an int option the zmq crate has no setter for.
fn set_int(socket: zmq::Socket, option: u32, value: i32) -> zmq::Socket {
    let raw = socket.into_raw();
    // SAFETY: `raw` is a live libzmq socket; the option takes an int.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            raw,
            option as i32,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>(),
        )
    };
    assert_eq!(rc, 0, "zmq_setsockopt({option})");
    // SAFETY: `raw` came from `into_raw` just above.
    unsafe { zmq::Socket::from_raw(raw) }
}

#[test]
fn probe_router_reaches_a_libzmq_router_and_comes_from_a_libzmq_dealer() {
    let zctx = zmq::Context::new();
    let router = zctx.socket(zmq::ROUTER).unwrap();
    router.set_rcvtimeo(TIMEOUT_MS).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_probe_router(true).unwrap();
    dealer.set_routing_id(b"zocket").unwrap();
    dealer
        .connect(&router.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), [b"zocket".to_vec(), vec![]]);

    let zrouter = ctx.socket(SocketType::Router).unwrap();
    zrouter.set_rcvtimeo(Some(DEADLINE)).unwrap();
    zrouter.bind("tcp://127.0.0.1:0").unwrap();
    let zdealer = zctx.socket(zmq::DEALER).unwrap();
    zdealer.set_probe_router(true).unwrap();
    zdealer.set_identity(b"libzmq").unwrap();
    zdealer.connect(&zrouter.last_endpoint().unwrap()).unwrap();
    assert_eq!(zrouter.recv_multipart(0).unwrap(), [b"libzmq".to_vec(), vec![]]);
}

#[test]
fn conflate_against_libzmq_both_ways() {
    let zctx = zmq::Context::new();
    let ctx = Context::new();
    // libzmq publishes, zocket conflates.
    let publisher = zctx.socket(zmq::PUB).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_conflate(true).unwrap();
    sub.set_subscribe(b"").unwrap();
    sub.connect(&publisher.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        publisher.send("probe", 0).unwrap();
        if sub.recv_bytes(DONTWAIT).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "never subscribed");
        std::thread::sleep(Duration::from_millis(2));
    }
    let before = sub.stats().messages_in;
    for n in 1..=50u32 {
        publisher.send(n.to_string().as_bytes(), 0).unwrap();
    }
    while sub.stats().messages_in < before + 50 {
        assert!(Instant::now() < deadline, "the messages never arrived");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(sub.recv_bytes(DONTWAIT).unwrap(), b"50");
    assert!(sub.recv_bytes(DONTWAIT).is_err());

    // zocket publishes, libzmq conflates.
    let zpub = ctx.socket(SocketType::Pub).unwrap();
    zpub.bind("tcp://127.0.0.1:0").unwrap();
    let zsub = zctx.socket(zmq::SUB).unwrap();
    zsub.set_conflate(true).unwrap();
    zsub.set_subscribe(b"").unwrap();
    zsub.connect(&zpub.last_endpoint().unwrap()).unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        zpub.send("probe", 0).unwrap();
        if zsub.recv_bytes(zmq::DONTWAIT).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "never subscribed");
        std::thread::sleep(Duration::from_millis(2));
    }
    for n in 1..=50u32 {
        zpub.send(n.to_string().as_str(), 0).unwrap();
    }
    zpub.send("last", 0).unwrap();
    // libzmq keeps only the newest: reading until "last" shows no run of all 50.
    let mut seen = 0;
    let deadline = Instant::now() + DEADLINE;
    loop {
        match zsub.recv_bytes(zmq::DONTWAIT) {
            Ok(m) if m == b"last" => break,
            Ok(_) => seen += 1,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
        assert!(Instant::now() < deadline, "\"last\" never arrived");
    }
    assert!(seen < 50, "libzmq conflated zocket's stream ({seen} kept)");
}

#[test]
fn invert_matching_against_a_libzmq_publisher() {
    let zctx = zmq::Context::new();
    let publisher = zctx.socket(zmq::PUB).unwrap();
    let publisher = set_int(publisher, zmq_sys::ZMQ_INVERT_MATCHING, 1);
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_invert_matching(true).unwrap();
    sub.set_subscribe(b"skip").unwrap();
    sub.set_rcvtimeo(Some(DEADLINE)).unwrap();
    sub.connect(&publisher.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    // Connected and subscribed once a marker gets through (libzmq sends everything to a
    // subscriber with no subscription when inverted, so wait on the counts below too).
    let deadline = Instant::now() + DEADLINE;
    loop {
        publisher.send("marker", 0).unwrap();
        if sub.recv_bytes(DONTWAIT).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "never connected");
        std::thread::sleep(Duration::from_millis(2));
    }
    // libzmq filters on its side: once it has the subscription, "skip…" no longer crosses
    // the wire (zocket counts what arrives before its own filter).
    for round in 0.. {
        let sync = format!("sync {round}");
        publisher.send(sync.as_str(), 0).unwrap();
        while sub.recv_bytes(0).unwrap() != sync.as_bytes() {}
        let before = sub.stats().messages_in;
        for _ in 0..10 {
            publisher.send("skip this", 0).unwrap();
        }
        publisher.send("keep", 0).unwrap();
        assert_eq!(sub.recv_bytes(0).unwrap(), b"keep");
        if sub.stats().messages_in - before == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "libzmq never filtered inverted");
    }
}
