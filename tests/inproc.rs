//! inproc: every socket type over `inproc://`, connect before bind, the summed high-water
//! mark, blocking on a full pipe, leaving (unbind, disconnect, drop), poll, termination, the
//! spool, and zero copy.

#[path = "common/sleeping.rs"]
mod sleeping;

use bytes::Bytes;
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, POLLIN, PollItem, SNDMORE, Socket, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);

fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap();
    s.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    s.set_sndtimeo(Some(TIMEOUT)).unwrap();
    s
}

/// Sends with DONTWAIT until the socket refuses; returns how many went.
fn fill(s: &Socket, limit: usize) -> usize {
    for sent in 0..limit {
        match s.send(&b"x"[..], DONTWAIT) {
            Ok(()) => {}
            Err(Error::WouldBlock) => return sent,
            Err(e) => panic!("send failed: {e}"),
        }
    }
    limit
}

/// Polls `f` until it returns true or the deadline passes.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn push_pull_in_order_and_without_copy() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://pp").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect("inproc://pp").unwrap();
    let payload = Bytes::from(vec![7u8; 100_000]);
    push.send(payload.clone(), 0).unwrap();
    let got = pull.recv_msg(0).unwrap();
    assert_eq!(
        got.bytes().as_ptr(),
        payload.as_ptr(),
        "the same buffer, not a copy"
    );
    let sender = std::thread::spawn(move || {
        for i in 0..100_000u32 {
            push.send(&i.to_le_bytes()[..], 0).unwrap();
        }
        push
    });
    for i in 0..100_000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
    sender.join().unwrap();
}

#[test]
fn connect_before_bind_delivers_what_was_queued() {
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.connect("inproc://later").unwrap();
    for i in 0..10u8 {
        push.send(&[i][..], DONTWAIT).unwrap();
    }
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://later").unwrap();
    for i in 0..10u8 {
        assert_eq!(pull.recv_bytes(0).unwrap(), [i]);
    }
}

#[test]
fn router_connected_before_bind_gets_the_dealer_identity() {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    router.connect("inproc://rd").unwrap();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_routing_id(b"D1").unwrap();
    dealer.bind("inproc://rd").unwrap();
    dealer.send("hello", 0).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        [b"D1".to_vec(), b"hello".to_vec()]
    );
    router.send("D1", SNDMORE).unwrap();
    router.send("back", 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"back");
}

#[test]
fn req_rep_and_dealer_router() {
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    rep.bind("inproc://rr").unwrap();
    let req = socket(&ctx, SocketType::Req);
    req.connect("inproc://rr").unwrap();
    for i in 0..100u32 {
        req.send(&i.to_le_bytes()[..], 0).unwrap();
        let asked = rep.recv_bytes(0).unwrap();
        rep.send(&asked[..], 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), i.to_le_bytes());
    }

    let router = socket(&ctx, SocketType::Router);
    router.bind("inproc://dr").unwrap();
    let dealers: Vec<Socket> = (0..3)
        .map(|i| {
            let d = socket(&ctx, SocketType::Dealer);
            d.set_routing_id(format!("d{i}").as_bytes()).unwrap();
            d.connect("inproc://dr").unwrap();
            d
        })
        .collect();
    for d in &dealers {
        d.send_multipart(["a", "b"], 0).unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let msg = router.recv_multipart(0).unwrap();
        assert_eq!(&msg[1..], [b"a".to_vec(), b"b".to_vec()]);
        router
            .send_multipart([msg[0].clone(), b"reply".to_vec()], 0)
            .unwrap();
        seen.push(msg[0].clone());
    }
    seen.sort();
    assert_eq!(seen, [b"d0".to_vec(), b"d1".to_vec(), b"d2".to_vec()]);
    for d in &dealers {
        assert_eq!(d.recv_bytes(0).unwrap(), b"reply");
    }
}

#[test]
fn pub_sub_filters_and_xpub_sees_subscriptions() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::XPub);
    publisher.bind("inproc://ps").unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.connect("inproc://ps").unwrap();
    sub.set_subscribe(b"a").unwrap();
    assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x01a");
    for topic in ["b1", "a1", "b2", "a2"] {
        publisher.send(topic, 0).unwrap();
    }
    assert_eq!(sub.recv_bytes(0).unwrap(), b"a1");
    assert_eq!(sub.recv_bytes(0).unwrap(), b"a2");
    sub.set_unsubscribe(b"a").unwrap();
    assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x00a");
    publisher.send("a3", 0).unwrap();
    assert!(matches!(sub.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));

    // A PUB that never receives still applies subscriptions before it sends.
    let plain = socket(&ctx, SocketType::Pub);
    plain.bind("inproc://plain").unwrap();
    let xsub = socket(&ctx, SocketType::XSub);
    xsub.connect("inproc://plain").unwrap();
    xsub.send("\x01t", 0).unwrap();
    plain.send("x-dropped", 0).unwrap();
    plain.send("t-kept", 0).unwrap();
    assert_eq!(xsub.recv_bytes(0).unwrap(), b"t-kept");
}

#[test]
fn pair_takes_one_peer() {
    let ctx = Context::new();
    let a = socket(&ctx, SocketType::Pair);
    a.bind("inproc://pair").unwrap();
    let b = socket(&ctx, SocketType::Pair);
    b.connect("inproc://pair").unwrap();
    b.send("ping", 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"ping");
    a.send("pong", 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"pong");
    // A second peer is refused while the first is there, and taken once it left.
    let c = socket(&ctx, SocketType::Pair);
    c.connect("inproc://pair").unwrap();
    assert!(matches!(c.send("x", DONTWAIT), Err(Error::WouldBlock)));
    eventually("the refused peer learns it", || !c.can_send());
    drop(b);
    eventually("the first peer's leaving is seen", || !a.can_send());
    let d = socket(&ctx, SocketType::Pair);
    d.connect("inproc://pair").unwrap();
    eventually("the new peer is taken", || a.can_send());
    d.send("again", 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"again");
}

#[test]
fn high_water_mark_is_the_sum_of_both_sides() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(7).unwrap();
    pull.bind("inproc://hwm").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(5).unwrap();
    push.connect("inproc://hwm").unwrap();
    assert_eq!(fill(&push, 1000), 12);
}

#[test]
fn a_blocked_sender_resumes_as_the_receiver_drains() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(1).unwrap();
    pull.bind("inproc://slow").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(1).unwrap();
    push.connect("inproc://slow").unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..20_000u32 {
            push.send(&i.to_le_bytes()[..], 0).unwrap();
        }
    });
    for i in 0..20_000u32 {
        if i % 1000 == 0 {
            std::thread::sleep(Duration::from_millis(2)); // let the sender block
        }
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
    sender.join().unwrap();
}

#[test]
fn both_directions_at_once_do_not_deadlock() {
    let ctx = Context::new();
    let a = socket(&ctx, SocketType::Pair);
    a.set_sndhwm(2).unwrap();
    a.set_rcvhwm(2).unwrap();
    a.bind("inproc://duplex").unwrap();
    let b = socket(&ctx, SocketType::Pair);
    b.set_sndhwm(2).unwrap();
    b.set_rcvhwm(2).unwrap();
    b.connect("inproc://duplex").unwrap();
    let a = std::sync::Arc::new(a);
    let b = std::sync::Arc::new(b);
    let mut threads = Vec::new();
    for (tx, rx) in [(a.clone(), b.clone()), (b.clone(), a.clone())] {
        threads.push(std::thread::spawn(move || {
            for i in 0..20_000u32 {
                tx.send(&i.to_le_bytes()[..], 0).unwrap();
            }
        }));
        threads.push(std::thread::spawn(move || {
            for i in 0..20_000u32 {
                assert_eq!(rx.recv_bytes(0).unwrap(), i.to_le_bytes());
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn unbind_ends_the_connections_but_keeps_what_arrived() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://ub").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect("inproc://ub").unwrap();
    for i in 0..5u8 {
        push.send(&[i][..], 0).unwrap();
    }
    pull.unbind("inproc://ub").unwrap();
    for i in 0..5u8 {
        assert_eq!(pull.recv_bytes(0).unwrap(), [i]);
    }
    eventually("the pusher sees its peer gone", || !push.can_send());
    // The name is free again; the old connection does not come back.
    let pull2 = socket(&ctx, SocketType::Pull);
    pull2.bind("inproc://ub").unwrap();
    assert!(!push.can_send());
}

#[test]
fn disconnect_and_drop_free_the_peer() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://dd").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect("inproc://dd").unwrap();
    assert!(push.can_send());
    push.disconnect("inproc://dd").unwrap();
    assert!(!push.can_send());
    push.connect("inproc://dd").unwrap();
    push.send("after", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"after");
    drop(pull);
    eventually("the pusher sees the binder gone", || !push.can_send());
    assert!(matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn a_blocked_sender_is_not_stuck_when_the_receiver_goes() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(1).unwrap();
    pull.bind("inproc://gone").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(1).unwrap();
    push.set_sndtimeo(Some(Duration::from_millis(200))).unwrap();
    push.connect("inproc://gone").unwrap();
    assert_eq!(fill(&push, 100), 2);
    drop(pull);
    // With its only peer gone the send times out (no peer), rather than hanging.
    assert!(matches!(push.send("x", 0), Err(Error::WouldBlock)));
}

#[test]
fn names_are_checked() {
    let ctx = Context::new();
    let a = socket(&ctx, SocketType::Push);
    a.bind("inproc://taken").unwrap();
    let b = socket(&ctx, SocketType::Pull);
    assert!(matches!(b.bind("inproc://taken"), Err(Error::AddrInUse(_))));
    assert!(matches!(b.bind("inproc://"), Err(Error::InvalidEndpoint { .. })));
    let c = socket(&ctx, SocketType::Push);
    assert!(matches!(
        c.connect("inproc://taken"),
        Err(Error::InvalidEndpoint { .. })
    ));
    // Names are per context.
    let other = Context::new();
    let d = socket(&other, SocketType::Pull);
    d.bind("inproc://taken").unwrap();
    assert_eq!(a.last_endpoint().unwrap(), "inproc://taken");
    drop(a);
    b.bind("inproc://taken").unwrap();
}

#[test]
fn poll_wakes_on_an_inproc_message() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://poll").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect("inproc://poll").unwrap();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        push.send("wake", 0).unwrap();
        push
    });
    let mut items = [PollItem::new(&pull, POLLIN)];
    let ready = zocket::poll(&mut items, Some(TIMEOUT)).unwrap();
    assert_eq!(ready, 1);
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"wake");
    sender.join().unwrap();
}

#[test]
fn shutdown_wakes_a_recv_blocked_on_inproc() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://term").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect("inproc://term").unwrap();
    let (task_tx, task_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        task_tx.send(sleeping::this_task()).unwrap();
        pull.recv_bytes(0)
    });
    sleeping::wait_until_sleeping(&task_rx.recv().unwrap(), TIMEOUT);
    ctx.shutdown();
    assert!(matches!(waiter.join().unwrap(), Err(Error::Terminated)));
}

#[test]
fn spooled_messages_not_consumed_go_to_the_next_peer() {
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.set_spool(zocket::spool::MemorySpool::new(None)).unwrap();
    let first = socket(&ctx, SocketType::Pull);
    first.bind("inproc://spool1").unwrap();
    push.connect("inproc://spool1").unwrap();
    for i in 0..10u8 {
        push.send(&[i][..], 0).unwrap();
    }
    for i in 0..3u8 {
        assert_eq!(first.recv_bytes(0).unwrap(), [i]);
    }
    drop(first);
    let second = socket(&ctx, SocketType::Pull);
    second.bind("inproc://spool2").unwrap();
    push.connect("inproc://spool2").unwrap();
    for i in 3..10u8 {
        assert_eq!(
            second.recv_bytes(0).unwrap(),
            [i],
            "the unconsumed ones, in order"
        );
    }
    assert!(matches!(second.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

/// The pipe fills long before the spool drains; once the sender stops calling, the
/// receiver's reads alone must move the rest of the spool into the pipe.
#[test]
fn a_spooled_sender_that_stops_calling_still_drains() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(10).unwrap();
    pull.bind("inproc://drain").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(10).unwrap();
    push.set_spool(zocket::spool::MemorySpool::new(None)).unwrap();
    push.connect("inproc://drain").unwrap();
    for i in 0..5_000u32 {
        push.send(&i.to_le_bytes()[..], 0).unwrap();
    }
    for i in 0..5_000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
}

/// A spool at its quota frees space only as the receiving application takes messages; the
/// receiver's consumption alone must wake the sender blocked on the quota.
#[test]
fn a_sender_blocked_on_its_spool_quota_resumes_as_the_receiver_consumes() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://quota").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_spool(zocket::spool::MemorySpool::new(Some(400)))
        .unwrap();
    push.connect("inproc://quota").unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..2_000u32 {
            push.send(&i.to_le_bytes()[..], 0).unwrap();
        }
        push
    });
    for i in 0..2_000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
    sender.join().unwrap();
}

/// A socket blocked in `send` while messages it has not read wait in its queue must sleep,
/// not spin on the unread data (checked through the thread's CPU time).
#[test]
fn a_blocked_sender_with_unread_messages_sleeps() {
    let ctx = Context::new();
    let a = socket(&ctx, SocketType::Pair);
    a.set_sndhwm(1).unwrap();
    a.set_rcvhwm(1).unwrap();
    a.bind("inproc://sleep").unwrap();
    let b = socket(&ctx, SocketType::Pair);
    b.set_sndhwm(1).unwrap();
    b.set_rcvhwm(1).unwrap();
    b.connect("inproc://sleep").unwrap();
    for _ in 0..10 {
        let _ = b.send("to a", DONTWAIT);
    }
    a.set_sndtimeo(Some(Duration::from_millis(500))).unwrap();
    assert_eq!(fill(&a, 100), 2);
    let started = cpu_time();
    assert!(matches!(a.send("blocked", 0), Err(Error::WouldBlock)));
    let spent = cpu_time() - started;
    assert!(
        spent < Duration::from_millis(100),
        "the blocked send burnt {spent:?} of CPU"
    );
}

/// CPU time of the calling thread.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}
