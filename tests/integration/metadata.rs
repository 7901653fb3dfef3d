//! Message metadata (`Message::gets`): the properties of the connection each received frame
//! came on, with libzmq's names, from zocket and libzmq peers, kept apart per peer when
//! messages from several peers are taken in one batch.

use std::time::{Duration, Instant};
use zocket::{Context, SocketType};

const DEADLINE: Duration = Duration::from_secs(5);

#[test]
fn a_router_reads_its_peers_type_id_address_and_application_properties() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_routing_id(b"alice").unwrap();
    dealer.set_metadata("X-Service:billing").unwrap();
    dealer.set_metadata("X-Shard:7").unwrap();
    dealer.connect(&router.last_endpoint().unwrap()).unwrap();
    dealer.send_multipart(["one", "two"], 0).unwrap();
    let frames: Vec<zocket::Message> = (0..3).map(|_| router.recv_msg(0).unwrap()).collect();
    for frame in &frames {
        assert_eq!(frame.gets("Socket-Type"), Some("DEALER"), "on every frame");
        assert_eq!(
            frame.gets("routing-id"),
            Some("alice"),
            "names compare ignoring case"
        );
        assert_eq!(frame.gets("Identity"), Some("alice"));
        assert_eq!(frame.gets("Peer-Address"), Some("127.0.0.1"));
        assert_eq!(frame.gets("X-Service"), Some("billing"));
        assert_eq!(frame.gets("X-Shard"), Some("7"));
        assert_eq!(frame.gets("X-Missing"), None);
        assert_eq!(
            frame.gets("X-Zocket-Ack"),
            None,
            "zocket's own properties stay hidden"
        );
    }
    assert_eq!(&frames[0][..], b"alice");
    assert!(!frames[2].more());
}

#[test]
fn batched_messages_from_two_peers_keep_their_own_properties() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let pushes: Vec<_> = ["X-Who:a", "X-Who:b"]
        .iter()
        .map(|property| {
            let push = ctx.socket(SocketType::Push).unwrap();
            push.set_metadata(property).unwrap();
            push.connect(&endpoint).unwrap();
            push
        })
        .collect();
    // Both connected before anything is sent, so that fair queuing interleaves them.
    let deadline = Instant::now() + DEADLINE;
    while pull.stats().peers.len() < 2 {
        assert!(Instant::now() < deadline, "both peers connect");
        std::thread::sleep(Duration::from_millis(2));
    }
    for n in 0..200u32 {
        for (push, who) in pushes.iter().zip(["a", "b"]) {
            push.send(format!("{who}{n}").as_str(), 0).unwrap();
        }
    }
    let mut seen = [0; 2];
    for _ in 0..400 {
        let msg = pull.recv_msg(0).unwrap();
        let who = msg.gets("X-Who").expect("every message names its sender");
        assert_eq!(
            &msg[..1],
            who.as_bytes(),
            "the properties of the message's own peer"
        );
        seen[(who == "b") as usize] += 1;
    }
    assert_eq!(seen, [200, 200]);
}

#[test]
fn ipc_peers_have_a_type_but_no_address_and_inproc_frames_have_none() {
    let ctx = Context::new();
    let dir = std::env::temp_dir().join(format!("zocket-meta-{}", std::process::id()));
    let _ = std::fs::create_dir(&dir);
    let endpoint = format!("ipc://{}/s", dir.display());
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(&endpoint).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("x", 0).unwrap();
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!(msg.gets("Socket-Type"), Some("PUSH"));
    assert_eq!(msg.gets("Peer-Address"), None);
    let _ = std::fs::remove_dir_all(&dir);

    let inproc = ctx.socket(SocketType::Pull).unwrap();
    inproc.bind("inproc://meta").unwrap();
    let local = ctx.socket(SocketType::Push).unwrap();
    local.connect("inproc://meta").unwrap();
    local.send("y", 0).unwrap();
    assert_eq!(inproc.recv_msg(0).unwrap().gets("Socket-Type"), None);
}

#[test]
fn set_metadata_refuses_what_is_not_an_application_property() {
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    for bad in [
        "X-Key",
        "Key:v",
        "X-:v",
        "X-Zocket-Ack:1",
        "x-zocket-stream:1",
        "é-Zocket:1",
    ] {
        assert!(dealer.set_metadata(bad).is_err(), "{bad:?} is refused");
    }
    dealer.set_metadata("X-Empty:").unwrap();
}

/// zocket's properties reach a libzmq peer, which reads them with its own `zmq_msg_gets`.
#[test]
fn a_libzmq_router_reads_zocket_properties() {
    let zctx = zmq::Context::new();
    let router = zctx.socket(zmq::ROUTER).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    router.set_rcvtimeo(5000).unwrap();
    let endpoint = router.get_last_endpoint().unwrap().unwrap();
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_metadata("X-Service:billing").unwrap();
    dealer.connect(&endpoint).unwrap();
    dealer.send("hello", 0).unwrap();
    let mut id = router.recv_msg(0).unwrap();
    assert_eq!(id.gets("X-Service"), Some("billing"));
    assert_eq!(id.gets("Socket-Type"), Some("DEALER"));
}

/// A libzmq peer's application properties (pyzmq's `ZMQ_METADATA`) reach zocket.
#[test]
fn zocket_reads_a_libzmq_peers_properties() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import zmq"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped: needs python3 with pyzmq (pip install pyzmq)");
        return;
    }
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    router.set_rcvtimeo(Some(DEADLINE * 2)).unwrap();
    let script = r#"
import sys, zmq
s = zmq.Context().socket(zmq.DEALER)
s.setsockopt(zmq.METADATA, b"X-Lang:python")
s.setsockopt(zmq.ROUTING_ID, b"py")
s.connect(sys.argv[1])
s.send(b"hi")
s.recv()
"#;
    let mut python = std::process::Command::new("python3")
        .args(["-c", script, &router.last_endpoint().unwrap()])
        .spawn()
        .unwrap();
    let id = router.recv_msg(0).unwrap();
    assert_eq!(id.gets("X-Lang"), Some("python"));
    assert_eq!(id.gets("Routing-Id"), Some("py"));
    assert_eq!(id.gets("Socket-Type"), Some("DEALER"));
    let body = router.recv_msg(0).unwrap();
    assert_eq!(body.gets("X-Lang"), Some("python"));
    router.send_multipart([&id[..], b"bye"], 0).unwrap();
    assert!(python.wait().unwrap().success());
}

/// Review regression: a connect-side socket keeps its queue across reconnections; what the
/// previous peer sent and the application had not read yet keeps that peer's properties
/// (before, it reported the new connection's).
#[test]
fn unread_messages_keep_their_peers_properties_across_a_reconnection() {
    let ctx = Context::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let router = |name: &str| {
        let r = ctx.socket(SocketType::Router).unwrap();
        r.set_metadata(&format!("X-Name:{name}")).unwrap();
        r.set_rcvtimeo(Some(DEADLINE)).unwrap();
        let deadline = Instant::now() + DEADLINE;
        while r.bind(&endpoint).is_err() {
            assert!(Instant::now() < deadline, "cannot bind {endpoint}");
            std::thread::sleep(Duration::from_millis(5));
        }
        r
    };
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    dealer.set_rcvtimeo(Some(DEADLINE)).unwrap();
    let events = dealer.monitor_events().unwrap();
    let wait_for = |kind: zocket::SocketEvent| {
        let deadline = Instant::now() + DEADLINE;
        while events.recv_timeout(DEADLINE).unwrap().event != kind {
            assert!(Instant::now() < deadline, "no {kind:?}");
        }
    };
    dealer.connect(&endpoint).unwrap();
    let a = router("A");
    dealer.send("hi", 0).unwrap();
    let id = a.recv_multipart(0).unwrap()[0].clone();
    for n in 0..3 {
        a.send_multipart([&id[..], format!("from A {n}").as_bytes()], 0)
            .unwrap();
    }
    let deadline = Instant::now() + DEADLINE;
    while dealer.stats().messages_in < 3 {
        assert!(Instant::now() < deadline, "A's messages never arrived");
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(a);
    wait_for(zocket::SocketEvent::Disconnected);
    let b = router("B");
    // Sent once connected to B: a message sent while A's connection dies may die with it.
    wait_for(zocket::SocketEvent::HandshakeSucceeded);
    dealer.send("hi again", 0).unwrap();
    let id = b.recv_multipart(0).unwrap()[0].clone();
    b.send_multipart([&id[..], b"from B"], 0).unwrap();
    for n in 0..3 {
        let msg = dealer.recv_msg(0).unwrap();
        assert_eq!(&msg[..], format!("from A {n}").as_bytes());
        assert_eq!(msg.gets("X-Name"), Some("A"), "message {n} came from A");
    }
    let msg = dealer.recv_msg(0).unwrap();
    assert_eq!(&msg[..], b"from B");
    assert_eq!(msg.gets("X-Name"), Some("B"));
}
