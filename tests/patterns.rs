//! REQ/REP, DEALER/ROUTER, PUB/SUB, XPUB/XSUB, poll and proxy over real TCP and IPC sockets.

#[path = "common/sleeping.rs"]
mod sleeping;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh bind endpoint for each transport.
fn endpoints() -> [String; 2] {
    ["tcp://127.0.0.1:0".to_string(), ipc_endpoint()]
}

fn ipc_endpoint() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("zocket-pat-{}-{n}.sock", std::process::id()));
    format!("ipc://{}", path.display())
}

fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap();
    s.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    s.set_sndtimeo(Some(TIMEOUT)).unwrap();
    s
}

fn bound(ctx: &Context, t: SocketType, ep: &str) -> (Socket, String) {
    let s = socket(ctx, t);
    s.bind(ep).unwrap();
    let real = s.last_endpoint().unwrap();
    (s, real)
}

/// A bind endpoint for the k-th of several sockets (IPC needs distinct paths).
fn nth(ep: &str, k: usize) -> String {
    if ep.starts_with("ipc") {
        format!("{ep}.{k}")
    } else {
        ep.to_string()
    }
}

#[test]
fn req_load_balances_over_several_reps() {
    for ep in endpoints() {
        let ctx = Context::new();
        let req = socket(&ctx, SocketType::Req);
        let reps: Vec<Socket> = (0..3)
            .map(|k| {
                let (rep, real) = bound(&ctx, SocketType::Rep, &nth(&ep, k));
                req.connect(&real).unwrap();
                rep
            })
            .collect();
        let workers: Vec<_> = reps
            .into_iter()
            .enumerate()
            .map(|(k, rep)| {
                std::thread::spawn(move || {
                    let mut served = 0;
                    rep.set_rcvtimeo(Some(Duration::from_millis(500))).unwrap();
                    while let Ok(parts) = rep.recv_multipart(0) {
                        let mut reply = parts.clone();
                        reply.push(vec![k as u8]);
                        rep.send_multipart(reply, 0).unwrap();
                        served += 1;
                    }
                    served
                })
            })
            .collect();
        for i in 0..30u32 {
            req.send_multipart([&b"q"[..], &i.to_be_bytes()[..]], 0).unwrap();
            let reply = req.recv_multipart(0).unwrap();
            assert_eq!(reply.len(), 3);
            assert_eq!(reply[1], i.to_be_bytes());
        }
        let served: Vec<i32> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(served.iter().sum::<i32>(), 30);
        assert!(
            served.iter().all(|&n| n == 10),
            "round-robin over {ep}: {served:?}"
        );
    }
}

#[test]
fn each_of_several_reqs_gets_its_own_answer() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (rep, real) = bound(&ctx, SocketType::Rep, &ep);
        let server = std::thread::spawn(move || {
            for _ in 0..5 * 50 {
                let q = rep.recv_bytes(0).unwrap();
                rep.send([&b"re:"[..], &q[..]].concat(), 0).unwrap();
            }
        });
        let clients: Vec<_> = (0..5u8)
            .map(|k| {
                let ctx = ctx.clone();
                let real = real.clone();
                std::thread::spawn(move || {
                    let req = socket(&ctx, SocketType::Req);
                    req.connect(&real).unwrap();
                    for i in 0..50u8 {
                        req.send([k, i], 0).unwrap();
                        assert_eq!(req.recv_bytes(0).unwrap(), [b'r', b'e', b':', k, i]);
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        server.join().unwrap();
    }
}

#[test]
fn req_rep_state_machine_errors() {
    let ctx = Context::new();
    let (rep, real) = bound(&ctx, SocketType::Rep, "tcp://127.0.0.1:0");
    let req = socket(&ctx, SocketType::Req);
    req.connect(&real).unwrap();
    assert!(matches!(req.recv_bytes(0), Err(Error::WrongState(_))));
    assert!(matches!(rep.send("x", 0), Err(Error::WrongState(_))));
    req.send("one", 0).unwrap();
    assert!(matches!(req.send("two", 0), Err(Error::WrongState(_))));
    assert_eq!(rep.recv_bytes(0).unwrap(), b"one");
    assert!(matches!(rep.recv_bytes(DONTWAIT), Err(Error::WrongState(_))));
    rep.send("answer", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"answer");
}

#[test]
fn req_relaxed_recovers_after_a_lost_reply() {
    let ctx = Context::new();
    let (rep, real) = bound(&ctx, SocketType::Rep, "tcp://127.0.0.1:0");
    let req = socket(&ctx, SocketType::Req);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.connect(&real).unwrap();
    req.send("first", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"first");
    // The reply to "first" is late; the client gives up and asks again.
    req.send("second", 0).unwrap();
    rep.send("late answer to first", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"second");
    rep.send("answer to second", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"answer to second");
}

#[test]
fn router_replies_reach_the_right_dealer() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (router, real) = bound(&ctx, SocketType::Router, &ep);
        let dealers: Vec<Socket> = (0..5u8)
            .map(|k| {
                let d = socket(&ctx, SocketType::Dealer);
                d.set_routing_id(&[b'd', k]).unwrap();
                d.connect(&real).unwrap();
                d.send_multipart([&b"hello"[..], &[k][..]], 0).unwrap();
                d
            })
            .collect();
        for _ in 0..5 {
            let msg = router.recv_multipart(0).unwrap();
            assert_eq!(msg.len(), 3);
            assert_eq!(msg[0], [b'd', msg[2][0]], "routing id is the dealer's");
            router
                .send_multipart([msg[0].clone(), b"for".to_vec(), msg[0].clone()], 0)
                .unwrap();
        }
        for (k, d) in dealers.iter().enumerate() {
            assert_eq!(
                d.recv_multipart(0).unwrap(),
                vec![b"for".to_vec(), vec![b'd', k as u8]]
            );
        }
    }
}

#[test]
fn router_generates_ids_and_mandatory_rejects_unknown_ones() {
    let ctx = Context::new();
    let (router, real) = bound(&ctx, SocketType::Router, "tcp://127.0.0.1:0");
    router.set_router_mandatory(true).unwrap();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.connect(&real).unwrap();
    dealer.send("hi", 0).unwrap();
    let msg = router.recv_multipart(0).unwrap();
    assert_eq!(msg[0].len(), 5, "libzmq-style generated id");
    assert_eq!(msg[0][0], 0);
    assert!(matches!(
        router.send_multipart([&b"nobody"[..], &b"x"[..]], 0),
        Err(Error::HostUnreachable)
    ));
    router
        .send_multipart([msg[0].clone(), b"back".to_vec()], 0)
        .unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"back");
}

#[test]
fn router_to_router_with_connect_routing_id() {
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::Router);
    server.set_routing_id(b"server").unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let real = server.last_endpoint().unwrap();
    let client = socket(&ctx, SocketType::Router);
    client.set_routing_id(b"client").unwrap();
    client.set_router_mandatory(true).unwrap();
    client.set_connect_routing_id(b"srv").unwrap();
    client.connect(&real).unwrap();
    // The route exists once the handshake is done.
    let deadline = Instant::now() + TIMEOUT;
    while let Err(Error::HostUnreachable) = client.send_multipart([&b"srv"[..], &b"ping"[..]], 0) {
        assert!(Instant::now() < deadline, "route to the server never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        server.recv_multipart(0).unwrap(),
        vec![b"client".to_vec(), b"ping".to_vec()]
    );
}

/// Sends `msg` from `publ` until `sub` receives something, so subscriptions are in place.
fn await_subscription(publ: &Socket, sub: &Socket, probe: &[u8]) {
    let deadline = Instant::now() + TIMEOUT;
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    loop {
        publ.send(probe, 0).unwrap();
        if sub.recv_bytes(0).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "subscription never arrived");
    }
    while sub.recv_bytes(0).is_ok() {}
    sub.set_rcvtimeo(Some(TIMEOUT)).unwrap();
}

#[test]
fn subscription_filtering() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (publ, real) = bound(&ctx, SocketType::Pub, &ep);
        let all = socket(&ctx, SocketType::Sub);
        all.set_subscribe(b"").unwrap();
        let news = socket(&ctx, SocketType::Sub);
        news.set_subscribe(b"news").unwrap();
        news.set_subscribe(b"news.sport").unwrap(); // overlaps: still one copy per message
        news.set_subscribe(b"weather").unwrap();
        for s in [&all, &news] {
            s.connect(&real).unwrap();
        }
        await_subscription(&publ, &all, b"news.probe");
        await_subscription(&publ, &news, b"news.probe");
        news.set_unsubscribe(b"weather").unwrap();
        // The unsubscription travels after the subscription probes; wait until it applies.
        let deadline = Instant::now() + TIMEOUT;
        news.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
        loop {
            publ.send("weather.probe", 0).unwrap();
            publ.send("news.marker", 0).unwrap();
            let first = news.recv_bytes(0).unwrap();
            while news.recv_bytes(0).is_ok() {}
            if first == b"news.marker" {
                break;
            }
            assert!(Instant::now() < deadline, "unsubscribe never applied");
        }
        while all.recv_bytes(DONTWAIT).is_ok() {}
        for s in [&all, &news] {
            s.set_rcvtimeo(Some(TIMEOUT)).unwrap();
        }
        for topic in ["news.sport.1", "weather.2", "other.3", "news.4"] {
            publ.send(topic, 0).unwrap();
        }
        publ.send("end", 0).unwrap();
        let mut got_all = Vec::new();
        while let Ok(m) = all.recv_bytes(0) {
            let m = String::from_utf8(m).unwrap();
            if m.ends_with(".probe") || m == "news.marker" {
                continue; // late copies of the probes sent while waiting above
            }
            got_all.push(m);
            if got_all.last().unwrap() == "end" {
                break;
            }
        }
        assert_eq!(got_all, ["news.sport.1", "weather.2", "other.3", "news.4", "end"]);
        assert_eq!(news.recv_bytes(0).unwrap(), b"news.sport.1");
        assert_eq!(news.recv_bytes(0).unwrap(), b"news.4");
        assert!(matches!(news.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    }
}

#[test]
fn slow_subscriber_loses_messages_fast_one_gets_all() {
    let ctx = Context::new();
    // A listener keeps the options of its bind, as in libzmq: one bind per pipe size.
    let publ = socket(&ctx, SocketType::Pub);
    publ.set_sndhwm(1_000_000).unwrap();
    publ.bind("tcp://127.0.0.1:0").unwrap();
    let real = publ.last_endpoint().unwrap();
    let fast = socket(&ctx, SocketType::Sub);
    fast.set_subscribe(b"").unwrap();
    fast.connect(&real).unwrap();
    await_subscription(&publ, &fast, b"probe");
    publ.set_sndhwm(10).unwrap(); // the peers of the next bind get small pipes
    publ.bind("tcp://127.0.0.1:0").unwrap();
    let slow_endpoint = publ.last_endpoint().unwrap();
    let slow = socket(&ctx, SocketType::Sub);
    slow.set_rcvhwm(10).unwrap();
    slow.set_subscribe(b"").unwrap();
    slow.connect(&slow_endpoint).unwrap();
    await_subscription(&publ, &slow, b"probe");
    while fast.recv_bytes(DONTWAIT).is_ok() {}

    const N: u32 = 20_000;
    let reader = std::thread::spawn(move || {
        for i in 0..N {
            let m = fast.recv_bytes(0).unwrap();
            assert_eq!(&m[..4], i.to_be_bytes(), "fast subscriber lost or reordered");
        }
    });
    let payload = vec![0u8; 1024];
    for i in 0..N {
        let mut m = i.to_be_bytes().to_vec();
        m.extend_from_slice(&payload);
        publ.send(m, 0).unwrap(); // never blocks
    }
    reader.join().unwrap();
    slow.set_rcvtimeo(Some(Duration::from_millis(300))).unwrap();
    let mut slow_got = 0;
    while slow.recv_bytes(0).is_ok() {
        slow_got += 1;
    }
    assert!(slow_got < N, "the slow subscriber should have lost messages");
}

#[test]
fn xpub_sees_subscribe_and_unsubscribe() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (xpub, real) = bound(&ctx, SocketType::XPub, &ep);
        let sub = socket(&ctx, SocketType::Sub);
        sub.connect(&real).unwrap();
        sub.set_subscribe(b"abc").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01abc");
        let sub2 = socket(&ctx, SocketType::Sub);
        sub2.connect(&real).unwrap();
        sub2.set_subscribe(b"abc").unwrap(); // not new: not passed on without verbose
        sub2.set_subscribe(b"xyz").unwrap();
        // Once xyz is seen, sub2's abc (sent before it on the same connection) is in place.
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01xyz");
        sub.set_unsubscribe(b"abc").unwrap(); // still wanted by sub2: not passed on
        sub.set_subscribe(b"marker").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01marker");
        sub2.set_unsubscribe(b"abc").unwrap(); // the last one: passed on
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00abc");
        drop(sub2); // its remaining subscription goes with it
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00xyz");
    }
}

#[test]
fn xpub_verbose_and_welcome_message() {
    let ctx = Context::new();
    let (xpub, real) = bound(&ctx, SocketType::XPub, "tcp://127.0.0.1:0");
    xpub.set_xpub_verbose(true).unwrap();
    xpub.set_xpub_welcome_msg(Some(b"welcome")).unwrap();
    let mut subs = Vec::new();
    for _ in 0..2 {
        let sub = socket(&ctx, SocketType::Sub);
        sub.set_subscribe(b"wel").unwrap();
        sub.connect(&real).unwrap();
        // As in libzmq, the XPUB attaches the connection (and sends the welcome) on a call.
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01wel");
        assert_eq!(sub.recv_bytes(0).unwrap(), b"welcome");
        subs.push(sub); // kept: dropping it would unsubscribe
    }
}

#[test]
fn xsub_sends_subscriptions_as_messages() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (publ, real) = bound(&ctx, SocketType::Pub, &ep);
        let xsub = socket(&ctx, SocketType::XSub);
        xsub.connect(&real).unwrap();
        xsub.send(b"\x01t", 0).unwrap();
        await_subscription(&publ, &xsub, b"t-probe");
        publ.send("u-not-matching", 0).unwrap();
        publ.send("t-yes", 0).unwrap();
        assert_eq!(xsub.recv_bytes(0).unwrap(), b"t-yes");
    }
}

#[test]
fn broker_between_req_clients_and_rep_workers() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (frontend, front_ep) = bound(&ctx, SocketType::Router, &nth(&ep, 0));
        let (backend, back_ep) = bound(&ctx, SocketType::Dealer, &nth(&ep, 1));
        let (control_pub, control_ep) = bound(&ctx, SocketType::Pair, &nth(&ep, 2));
        let control = socket(&ctx, SocketType::Pair);
        control.connect(&control_ep).unwrap();
        let broker = std::thread::spawn(move || {
            zocket::proxy_steerable(&frontend, &backend, None, &control).unwrap();
        });
        let workers: Vec<_> = (0..3u8)
            .map(|k| {
                let rep = socket(&ctx, SocketType::Rep);
                rep.connect(&back_ep).unwrap();
                std::thread::spawn(move || {
                    rep.set_rcvtimeo(Some(Duration::from_millis(500))).unwrap();
                    let mut served = 0;
                    while let Ok(q) = rep.recv_bytes(0) {
                        rep.send([q, vec![k]].concat(), 0).unwrap();
                        served += 1;
                    }
                    served
                })
            })
            .collect();
        let clients: Vec<_> = (0..4u8)
            .map(|c| {
                let ctx = ctx.clone();
                let front_ep = front_ep.clone();
                std::thread::spawn(move || {
                    let req = socket(&ctx, SocketType::Req);
                    req.connect(&front_ep).unwrap();
                    for i in 0..25u8 {
                        req.send([c, i], 0).unwrap();
                        let reply = req.recv_bytes(0).unwrap();
                        assert_eq!(&reply[..2], [c, i]);
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let served: Vec<i32> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(served.iter().sum::<i32>(), 100);
        assert!(served.iter().all(|&n| n > 0), "load spread: {served:?}");
        control_pub.send("TERMINATE", 0).unwrap();
        broker.join().unwrap();
    }
}

#[test]
fn poll_waits_for_the_first_ready_socket() {
    let ctx = Context::new();
    let (a, a_ep) = bound(&ctx, SocketType::Pull, "tcp://127.0.0.1:0");
    let (b, b_ep) = bound(&ctx, SocketType::Pull, "tcp://127.0.0.1:0");
    let push = socket(&ctx, SocketType::Push);
    push.connect(&b_ep).unwrap();
    let _ = a_ep;
    let mut items = [
        zocket::PollItem::new(&a, zocket::POLLIN),
        zocket::PollItem::new(&b, zocket::POLLIN),
    ];
    assert_eq!(
        zocket::poll(&mut items, Some(Duration::from_millis(20))).unwrap(),
        0
    );
    push.send("to b", 0).unwrap();
    assert_eq!(zocket::poll(&mut items, Some(TIMEOUT)).unwrap(), 1);
    assert!(!items[0].is_readable());
    assert!(items[1].is_readable());
    assert_eq!(b.recv_bytes(DONTWAIT).unwrap(), b"to b");
    let mut out = [zocket::PollItem::new(&push, zocket::POLLOUT)];
    assert_eq!(zocket::poll(&mut out, Some(TIMEOUT)).unwrap(), 1);
}

#[test]
fn readiness_fd_signals_a_foreign_event_loop() {
    let ctx = Context::new();
    let (pull, ep) = bound(&ctx, SocketType::Pull, "tcp://127.0.0.1:0");
    let fd = pull.readiness_fd().unwrap();
    assert_eq!(pull.events() & zocket::POLLIN, 0);
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("x", 0).unwrap();
    // Wait on the fd as another event loop would, then check the events.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut pfd = [PollFd {
            fd,
            events: 1,
            revents: 0,
        }];
        let n = unsafe { poll_fds(pfd.as_mut_ptr(), 1, 1000) };
        if n > 0 && pull.events() & zocket::POLLIN != 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the readiness fd never signalled");
    }
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"x");
}

#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

unsafe extern "C" {
    #[link_name = "poll"]
    fn poll_fds(fds: *mut PollFd, nfds: u64, timeout: i32) -> i32;
}

#[test]
fn router_handover_gives_the_id_to_the_newcomer() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router, "tcp://127.0.0.1:0");
    router.set_router_handover(true).unwrap();
    let old = socket(&ctx, SocketType::Dealer);
    old.set_routing_id(b"worker").unwrap();
    old.connect(&ep).unwrap();
    old.send("from old", 0).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        vec![b"worker".to_vec(), b"from old".to_vec()]
    );
    let new = socket(&ctx, SocketType::Dealer);
    new.set_routing_id(b"worker").unwrap();
    new.connect(&ep).unwrap();
    new.send("from new", 0).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        vec![b"worker".to_vec(), b"from new".to_vec()]
    );
    router.send_multipart([&b"worker"[..], &b"reply"[..]], 0).unwrap();
    assert_eq!(
        new.recv_bytes(0).unwrap(),
        b"reply",
        "the id now routes to the newcomer"
    );
    assert!(matches!(old.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn router_without_handover_refuses_a_duplicate_id() {
    let ctx = Context::new();
    let (router, ep) = bound(&ctx, SocketType::Router, "tcp://127.0.0.1:0");
    let first = socket(&ctx, SocketType::Dealer);
    first.set_routing_id(b"same").unwrap();
    first.connect(&ep).unwrap();
    first.send("one", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap()[0], b"same");
    let second = socket(&ctx, SocketType::Dealer);
    second.set_routing_id(b"same").unwrap();
    second.connect(&ep).unwrap();
    second.send("two", 0).unwrap();
    router.set_rcvtimeo(Some(Duration::from_millis(200))).unwrap();
    assert!(
        matches!(router.recv_multipart(0), Err(Error::WouldBlock)),
        "the duplicate is refused"
    );
    router
        .send_multipart([&b"same"[..], &b"still first"[..]], 0)
        .unwrap();
    assert_eq!(first.recv_bytes(0).unwrap(), b"still first");
}

#[test]
fn xpub_manual_lets_the_application_decide() {
    let ctx = Context::new();
    let (xpub, ep) = bound(&ctx, SocketType::XPub, "tcp://127.0.0.1:0");
    xpub.set_xpub_manual(true).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.connect(&ep).unwrap();
    sub.set_subscribe(b"asked").unwrap();
    sub.set_subscribe(b"granted").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01asked");
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01granted");
    // The application grants only one of the two topics asked for.
    xpub.set_subscribe(b"granted").unwrap();
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        xpub.send("asked: not delivered", 0).unwrap();
        xpub.send("granted: delivered", 0).unwrap();
        if let Ok(m) = sub.recv_bytes(0) {
            assert_eq!(m, b"granted: delivered");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the granted subscription never applied"
        );
    }
}

#[test]
fn steerable_proxy_pauses_and_resumes() {
    let ctx = Context::new();
    let (front, front_ep) = bound(&ctx, SocketType::Pull, "tcp://127.0.0.1:0");
    let (back, back_ep) = bound(&ctx, SocketType::Push, "tcp://127.0.0.1:0");
    let (control, control_ep) = bound(&ctx, SocketType::Rep, "tcp://127.0.0.1:0");
    let steer = socket(&ctx, SocketType::Req);
    steer.connect(&control_ep).unwrap();
    let proxy = std::thread::spawn(move || zocket::proxy_steerable(&front, &back, None, &control));
    let command = |cmd: &str| {
        steer.send(cmd, 0).unwrap();
        assert_eq!(steer.recv_bytes(0).unwrap(), b"", "{cmd} acknowledged");
    };
    let input = socket(&ctx, SocketType::Push);
    input.connect(&front_ep).unwrap();
    let output = socket(&ctx, SocketType::Pull);
    output.connect(&back_ep).unwrap();
    input.send("before pause", 0).unwrap();
    assert_eq!(output.recv_bytes(0).unwrap(), b"before pause");
    command("PAUSE");
    input.send("during pause", 0).unwrap();
    output.set_rcvtimeo(Some(Duration::from_millis(200))).unwrap();
    assert!(
        matches!(output.recv_bytes(0), Err(Error::WouldBlock)),
        "paused: nothing forwarded"
    );
    command("RESUME");
    output.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    assert_eq!(output.recv_bytes(0).unwrap(), b"during pause");
    command("TERMINATE");
    proxy.join().unwrap().unwrap();
}

/// A thread blocked in `recv` must not stop another thread from sending on the same socket:
/// a DEALER (over TCP and inproc) sends while its receiving thread waits, and the reply to
/// that send is what wakes the receiver.
#[test]
fn a_thread_blocked_in_recv_does_not_stop_another_from_sending() {
    for endpoint in ["tcp://127.0.0.1:0", "inproc://blocked-recv"] {
        let ctx = Context::new();
        let router = ctx.socket(SocketType::Router).unwrap();
        router.set_rcvtimeo(Some(TIMEOUT)).unwrap();
        router.bind(endpoint).unwrap();
        let dealer = std::sync::Arc::new(ctx.socket(SocketType::Dealer).unwrap());
        dealer.set_rcvtimeo(Some(TIMEOUT)).unwrap();
        dealer.set_sndtimeo(Some(TIMEOUT)).unwrap();
        dealer.connect(&router.last_endpoint().unwrap()).unwrap();
        let (task_tx, task_rx) = std::sync::mpsc::channel();
        let receiver = {
            let dealer = dealer.clone();
            std::thread::spawn(move || {
                task_tx.send(sleeping::this_task()).unwrap();
                dealer.recv_bytes(0)
            })
        };
        sleeping::wait_until_sleeping(&task_rx.recv().unwrap(), TIMEOUT);
        let sent_at = Instant::now();
        dealer.send("request", 0).unwrap();
        assert!(sent_at.elapsed() < TIMEOUT / 2, "{endpoint}: the send waited");
        let request = router.recv_multipart(0).unwrap();
        assert_eq!(request[1], b"request");
        router
            .send_multipart([request[0].clone(), b"reply".to_vec()], 0)
            .unwrap();
        assert_eq!(receiver.join().unwrap().unwrap(), b"reply", "{endpoint}");
    }
}
