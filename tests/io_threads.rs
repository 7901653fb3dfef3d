//! Contexts with several I/O threads: connections are spread over the threads, and
//! everything that crosses connections (load balancing, re-queued spooled messages, unbind,
//! routing) still works.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use zocket::spool::MemorySpool;
use zocket::{Context, DONTWAIT, Error, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);
const THREADS: usize = 3;

fn pushers(ctx: &Context, endpoint: &str, count: usize) -> Vec<zocket::Socket> {
    (0..count)
        .map(|_| {
            let push = ctx.socket(SocketType::Push).unwrap();
            push.connect(endpoint).unwrap();
            push
        })
        .collect()
}

#[test]
fn a_pull_fair_queues_from_peers_on_every_thread() {
    let ctx = Context::with_io_threads(THREADS);
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    let senders = pushers(&ctx, &pull.last_endpoint().unwrap(), 7);
    for (i, push) in senders.iter().enumerate() {
        for n in 0..100u32 {
            push.send([i as u8, n as u8], 0).unwrap();
        }
    }
    let mut got = BTreeSet::new();
    while got.len() < 700 {
        let m = pull.recv_bytes(0).expect("every message arrives");
        assert!(got.insert((m[0], m[1])), "no duplicate");
    }
}

/// Sends probes until `pull` has read one (other receivers may read some too).
fn attach(push: &zocket::Socket, pull: &zocket::Socket, others: &[&zocket::Socket]) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "the receiver attaches");
        push.send("probe", 0).unwrap();
        for other in others {
            while other.recv_bytes(DONTWAIT).is_ok() {}
        }
        if pull.recv_bytes(DONTWAIT).is_ok() {
            return;
        }
        std::thread::yield_now();
    }
}

/// A receiver's unacknowledged share, re-queued when it goes, reaches a receiver whose
/// connection is on another I/O thread, without another send. The PUSH's context takes the
/// listener on thread 0, the first accepted connection on thread 1 and the second on thread
/// 0, so the two receivers are on different threads.
#[test]
fn requeued_spool_messages_cross_threads() {
    let ctx = Context::with_io_threads(2);
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(None)).unwrap();
    push.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = push.last_endpoint().unwrap();
    let peers = Context::new();
    let idle = peers.socket(SocketType::Pull).unwrap();
    idle.set_rcvhwm(5).unwrap();
    idle.connect(&endpoint).unwrap();
    attach(&push, &idle, &[]);
    let live = peers.socket(SocketType::Pull).unwrap();
    live.connect(&endpoint).unwrap();
    attach(&push, &live, &[&idle]);
    for i in 0..200u32 {
        push.send(i.to_be_bytes(), 0).unwrap();
    }
    // `live` takes its share until its connection is idle; `idle` reads nothing.
    let mut got = BTreeSet::new();
    live.set_rcvtimeo(Some(Duration::from_millis(200))).unwrap();
    while let Ok(m) = live.recv_bytes(0) {
        if m != b"probe" {
            got.insert(u32::from_be_bytes(m.try_into().unwrap()));
        }
    }
    assert!(got.len() < 200, "the idle receiver holds a share");
    drop(idle); // its share comes back to the spool and goes to `live`, on the other thread
    live.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    while got.len() < 200 {
        let m = live
            .recv_bytes(0)
            .expect("re-queued messages arrive without another send");
        if m != b"probe" {
            got.insert(u32::from_be_bytes(m.try_into().unwrap()));
        }
    }
}

#[test]
fn unbind_closes_what_every_thread_accepted() {
    let ctx = Context::with_io_threads(THREADS);
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    let senders = pushers(&ctx, &endpoint, 6);
    for push in &senders {
        push.send("hello", 0).unwrap();
    }
    for _ in 0..senders.len() {
        assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
    }
    pull.unbind(&endpoint).unwrap();
    // The address is free at once, and nothing more arrives on the old connections.
    let other = ctx.socket(SocketType::Pull).unwrap();
    other.bind(&endpoint).unwrap();
    other.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    for push in &senders {
        push.send("again", 0).unwrap();
    }
    for _ in 0..senders.len() {
        assert_eq!(
            other.recv_bytes(0).unwrap(),
            b"again",
            "reconnected to the new listener"
        );
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn router_replies_reach_dealers_on_every_thread() {
    let ctx = Context::with_io_threads(THREADS);
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    router.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    let dealers: Vec<_> = (0..6u8)
        .map(|i| {
            let dealer = ctx.socket(SocketType::Dealer).unwrap();
            dealer.set_routing_id(&[b'd', i]).unwrap();
            dealer.set_rcvtimeo(Some(TIMEOUT)).unwrap();
            dealer.connect(&router.last_endpoint().unwrap()).unwrap();
            dealer
        })
        .collect();
    for dealer in &dealers {
        dealer.send("ping", 0).unwrap();
    }
    for _ in 0..dealers.len() {
        let parts = router.recv_multipart(0).unwrap();
        router.send_multipart([&parts[0][..], b"pong"], 0).unwrap();
    }
    for dealer in &dealers {
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"pong");
    }
}

#[test]
fn term_with_several_threads_delivers_and_returns() {
    let receiver = Context::new();
    let pull = receiver.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    let ctx = Context::with_io_threads(THREADS);
    let senders = pushers(&ctx, &pull.last_endpoint().unwrap(), 4);
    for push in &senders {
        for n in 0..50u8 {
            push.send([n], 0).unwrap();
        }
    }
    drop(senders);
    ctx.term(); // lingers on every thread until written
    for _ in 0..200 {
        pull.recv_bytes(0).expect("everything queued before term arrives");
    }
}
