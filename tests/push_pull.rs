//! PUSH/PULL and PAIR over real TCP and IPC sockets on loopback.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh bind endpoint for each transport.
fn endpoints() -> [String; 2] {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("zocket-pp-{}-{n}.sock", std::process::id()));
    [
        "tcp://127.0.0.1:0".to_string(),
        format!("ipc://{}", path.display()),
    ]
}

fn pull_bound(ctx: &Context, ep: &str) -> (zocket::Socket, String) {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    pull.bind(ep).unwrap();
    let real = pull.last_endpoint().unwrap();
    (pull, real)
}

#[test]
fn hundred_thousand_messages_arrive_in_order() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (pull, real) = pull_bound(&ctx, &ep);
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&real).unwrap();
        let sender = std::thread::spawn(move || {
            for i in 0u32..100_000 {
                push.send(i.to_be_bytes(), 0).unwrap();
            }
            push
        });
        for i in 0u32..100_000 {
            let m = pull.recv_bytes(0).unwrap();
            assert_eq!(m, i.to_be_bytes(), "message {i} over {ep}");
        }
        drop(sender.join().unwrap());
    }
}

#[test]
fn multipart_and_large_messages_are_whole() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (pull, real) = pull_bound(&ctx, &ep);
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&real).unwrap();
        push.send("a", zocket::SNDMORE).unwrap();
        push.send("", zocket::SNDMORE).unwrap();
        push.send(vec![7u8; 300], 0).unwrap();
        let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
        push.send(big.clone(), 0).unwrap();
        let parts = pull.recv_multipart(0).unwrap();
        assert_eq!(parts, vec![b"a".to_vec(), vec![], vec![7u8; 300]]);
        let first = pull.recv_msg(0).unwrap();
        assert!(!first.more());
        assert_eq!(first.len(), big.len());
        assert!(first[..] == big[..], "16 MiB payload differs over {ep}");
    }
}

/// Frame sizes around every edge of the receive paths: inline (23), the one-byte size form
/// (255), the encoder's copy limit (4 KiB), a body read into a buffer of its own (32 KiB to
/// 1 MiB) and the growing read buffer beyond.
fn frame_size(rng: &mut u64) -> usize {
    const EDGES: [usize; 14] = [
        0,
        1,
        23,
        24,
        255,
        256,
        4095,
        4096,
        32767,
        32768,
        65536,
        1 << 20,
        (1 << 20) + 1,
        3 << 20,
    ];
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let pick = (*rng >> 8) as usize;
    match pick % 4 {
        0 => EDGES[pick / 4 % EDGES.len()],
        1 => pick / 4 % 64,
        2 => 30_000 + pick / 4 % 100_000,
        _ => pick / 4 % (1 << 20),
    }
}

fn frame_bytes(message: usize, frame: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 7 + message * 13 + frame * 101) as u8)
        .collect()
}

/// Random multipart messages of the sizes above arrive whole and in order: a wrong split
/// between the shared read buffer and a body's own buffer shows as a wrong byte or length.
#[test]
fn frames_of_every_size_arrive_intact() {
    const MESSAGES: usize = 300;
    let seed = std::env::var("ZOCKET_FRAME_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    for ep in endpoints() {
        let ctx = Context::new();
        let (pull, real) = pull_bound(&ctx, &ep);
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&real).unwrap();
        let mut rng = seed;
        let shapes: Vec<Vec<usize>> = (0..MESSAGES)
            .map(|_| {
                let frames = 1 + (frame_size(&mut rng) % 3);
                (0..frames).map(|_| frame_size(&mut rng)).collect()
            })
            .collect();
        let sent = shapes.clone();
        let sender = std::thread::spawn(move || {
            for (m, shape) in sent.iter().enumerate() {
                let frames: Vec<Vec<u8>> = shape
                    .iter()
                    .enumerate()
                    .map(|(f, &len)| frame_bytes(m, f, len))
                    .collect();
                push.send_multipart(frames, 0).unwrap();
            }
            push
        });
        for (m, shape) in shapes.iter().enumerate() {
            let got = pull.recv_multipart(0).unwrap();
            let lens: Vec<usize> = got.iter().map(Vec::len).collect();
            assert_eq!(&lens, shape, "message {m} over {ep} (ZOCKET_FRAME_SEED={seed})");
            for (f, frame) in got.iter().enumerate() {
                assert!(
                    frame[..] == frame_bytes(m, f, shape[f])[..],
                    "message {m} frame {f} over {ep} differs (ZOCKET_FRAME_SEED={seed})"
                );
            }
        }
        drop(sender.join().unwrap());
    }
}

#[test]
fn several_pushers_are_each_served() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (pull, real) = pull_bound(&ctx, &ep);
        let pushers: Vec<_> = (0..4u8)
            .map(|k| {
                let push = ctx.socket(SocketType::Push).unwrap();
                push.connect(&real).unwrap();
                for i in 0..100u8 {
                    push.send([k, i], 0).unwrap();
                }
                push
            })
            .collect();
        let mut next = [0u8; 4];
        for _ in 0..400 {
            let m = pull.recv_bytes(0).unwrap();
            let k = m[0] as usize;
            assert_eq!(m[1], next[k], "per-sender order");
            next[k] += 1;
        }
        assert_eq!(next, [100; 4]);
        drop(pushers);
    }
}

#[test]
fn one_pusher_spreads_over_several_pullers() {
    for ep in endpoints() {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        let pullers: Vec<_> = (0..3)
            .map(|k| {
                let ep = if ep.starts_with("ipc") {
                    format!("{ep}.{k}")
                } else {
                    ep.clone()
                };
                let (pull, real) = pull_bound(&ctx, &ep);
                push.connect(&real).unwrap();
                pull
            })
            .collect();
        for i in 0..300u32 {
            push.send(i.to_be_bytes(), 0).unwrap();
        }
        let mut total = 0;
        for pull in &pullers {
            let mut got = 0;
            pull.set_rcvtimeo(Some(Duration::from_millis(500))).unwrap();
            while pull.recv_bytes(0).is_ok() {
                got += 1;
            }
            assert!(got >= 50, "a puller got only {got} of 300 over {ep}");
            total += got;
        }
        assert_eq!(total, 300);
    }
}

#[test]
fn high_water_mark_blocks_then_resumes() {
    for ep in endpoints() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_rcvhwm(10).unwrap();
        pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
        pull.bind(&ep).unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndhwm(10).unwrap();
        push.connect(&pull.last_endpoint().unwrap()).unwrap();
        let payload = vec![0u8; 64 * 1024];
        // Fill the pipes and kernel buffers until DONTWAIT refuses.
        let mut sent = 0;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match push.send(payload.clone(), DONTWAIT) {
                Ok(()) => sent += 1,
                Err(Error::WouldBlock) => {
                    // Refused: is it for good? Give the I/O thread a moment to drain, retry.
                    if (0..20).all(|_| {
                        std::thread::sleep(Duration::from_millis(5));
                        !push.can_send()
                    }) {
                        break;
                    }
                }
                Err(e) => panic!("unexpected {e}"),
            }
            assert!(Instant::now() < deadline, "never reached the high-water mark");
            assert!(sent < 10_000, "HWM not enforced");
        }
        assert!(sent >= 20, "sent only {sent} before blocking");
        // A blocking send now waits until the puller drains.
        let blocked = std::thread::spawn(move || {
            push.send("last", 0).unwrap();
            push
        });
        for _ in 0..sent {
            assert_eq!(pull.recv_bytes(0).unwrap().len(), payload.len());
        }
        assert_eq!(pull.recv_bytes(0).unwrap(), b"last");
        drop(blocked.join().unwrap());
    }
}

#[test]
fn connect_before_bind() {
    for ep in endpoints() {
        let ctx = Context::new();
        // Learn a free port first, then release it so the pusher connects to nothing.
        let real = {
            let probe = ctx.socket(SocketType::Pull).unwrap();
            probe.bind(&ep).unwrap();
            let real = probe.last_endpoint().unwrap();
            probe.unbind(&real).unwrap();
            real
        };
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
        push.connect(&real).unwrap();
        push.send("early", 0).unwrap();
        let deadline = Instant::now() + TIMEOUT;
        let pull = loop {
            let pull = ctx.socket(SocketType::Pull).unwrap();
            match pull.bind(&real) {
                Ok(()) => break pull,
                Err(Error::AddrInUse(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10)); // the probe's unbind is asynchronous
                }
                Err(e) => panic!("bind {real}: {e}"),
            }
        };
        pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"early");
    }
}

#[test]
fn pusher_reconnects_when_the_puller_restarts() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (pull, real) = pull_bound(&ctx, &ep);
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
        push.connect(&real).unwrap();
        push.send("before", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"before");
        drop(pull);
        // A new puller on the same endpoint; the pusher finds it by itself.
        let deadline = Instant::now() + TIMEOUT;
        let pull = loop {
            let pull = ctx.socket(SocketType::Pull).unwrap();
            match pull.bind(&real) {
                Ok(()) => break pull,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("rebind {real}: {e}"),
            }
        };
        pull.set_rcvtimeo(Some(Duration::from_millis(100))).unwrap();
        // Messages sent into a connection that was dying may be lost (as with libzmq); keep
        // sending until one arrives, then check an ordered run.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            push.send("probe", 0).unwrap();
            if pull.recv_bytes(0).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "pusher never reconnected over {ep}");
        }
        while pull.recv_bytes(DONTWAIT).is_ok() {}
        for i in 0..100u32 {
            push.send(i.to_be_bytes(), 0).unwrap();
        }
        pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
        for i in 0..100u32 {
            let m = pull.recv_bytes(0).unwrap();
            if m == b"probe" {
                continue;
            }
            assert_eq!(m, i.to_be_bytes());
        }
    }
}

#[test]
fn pair_talks_both_ways() {
    for ep in endpoints() {
        let ctx = Context::new();
        let a = ctx.socket(SocketType::Pair).unwrap();
        a.bind(&ep).unwrap();
        let b = ctx.socket(SocketType::Pair).unwrap();
        b.connect(&a.last_endpoint().unwrap()).unwrap();
        for s in [&a, &b] {
            s.set_rcvtimeo(Some(TIMEOUT)).unwrap();
        }
        for i in 0..100u32 {
            b.send(i.to_be_bytes(), 0).unwrap();
            assert_eq!(a.recv_bytes(0).unwrap(), i.to_be_bytes());
            a.send_multipart([&b"re"[..], &i.to_be_bytes()[..]], 0).unwrap();
            assert_eq!(
                b.recv_multipart(0).unwrap(),
                vec![b"re".to_vec(), i.to_be_bytes().to_vec()]
            );
        }
    }
}

#[test]
fn linger_delivers_what_was_queued_at_close() {
    for ep in endpoints() {
        let ctx = Context::new();
        let (pull, real) = pull_bound(&ctx, &ep);
        {
            let push = ctx.socket(SocketType::Push).unwrap();
            push.connect(&real).unwrap();
            for i in 0..1000u32 {
                push.send(i.to_be_bytes(), 0).unwrap();
            }
        } // closed at once; lingering delivers the rest
        for i in 0..1000u32 {
            assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes());
        }
    }
}

#[test]
fn timeouts_and_dontwait() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    pull.set_rcvtimeo(Some(Duration::from_millis(50))).unwrap();
    let start = Instant::now();
    assert!(matches!(pull.recv_bytes(0), Err(Error::WouldBlock)));
    assert!(start.elapsed() >= Duration::from_millis(50));
    let push = ctx.socket(SocketType::Push).unwrap();
    assert!(
        matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)),
        "no peer: nowhere to queue"
    );
    push.set_sndtimeo(Some(Duration::from_millis(50))).unwrap();
    assert!(matches!(push.send("x", 0), Err(Error::WouldBlock)));
}

#[test]
fn context_drop_returns_promptly_with_an_absent_peer() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::from_millis(100))).unwrap();
    push.connect("tcp://127.0.0.1:9").unwrap();
    push.send("lost", 0).unwrap();
    let start = Instant::now();
    drop(push);
    drop(ctx);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn an_address_is_free_again_once_unbind_or_close_returns() {
    for ep in endpoints() {
        let ctx = Context::new();
        let first = ctx.socket(SocketType::Pull).unwrap();
        first.bind(&ep).unwrap();
        let real = first.last_endpoint().unwrap();
        first.unbind(&real).unwrap();
        let second = ctx.socket(SocketType::Pull).unwrap();
        second.bind(&real).unwrap();
        drop(second);
        let third = ctx.socket(SocketType::Pull).unwrap();
        third.bind(&real).unwrap();
    }
}

#[test]
fn host_names_wildcards_and_ipv6() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    pull.bind("tcp://*:0").unwrap();
    let port = pull
        .last_endpoint()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&format!("tcp://localhost:{port}")).unwrap();
    push.send("via a host name to a wildcard bind", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"via a host name to a wildcard bind");
    // IPv6 loopback, where the machine has it.
    let v6 = ctx.socket(SocketType::Pull).unwrap();
    v6.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    if v6.bind("tcp://[::1]:0").is_ok() {
        let ep = v6.last_endpoint().unwrap();
        assert!(ep.starts_with("tcp://[::1]:"), "{ep}");
        push.connect(&ep).unwrap();
        let push6 = ctx.socket(SocketType::Push).unwrap();
        push6.connect(&ep).unwrap();
        push6.send("over IPv6", 0).unwrap();
        assert_eq!(v6.recv_bytes(0).unwrap(), b"over IPv6");
    }
}

/// A PULL that disconnects while its connection is paused (its receive queue full, decoded
/// messages still waiting in the connection) keeps everything that connection had read, in
/// order: what the pipe holds first, then what was waiting behind it.
#[test]
fn disconnecting_keeps_what_was_received_in_order() {
    // A raw PUSH sends the whole stream in one write, so that one read of the PULL's
    // connection takes it all: the connection fills the queue of 5, holds the message the
    // queue refused, and keeps the rest encoded.
    let listener = common::RawListener::bind();
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(5).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    pull.connect(&listener.endpoint).unwrap();
    let mut push = listener.accept();
    push.handshake(1, &[("Socket-Type", b"PUSH")]);
    let push_port = push.stream().local_addr().unwrap().port();
    let mut stream = Vec::new();
    for n in 1..=2000u32 {
        stream.extend(common::encode_message(&[&n.to_be_bytes()]));
    }
    push.send_raw(&stream);
    assert_eq!(pull.recv_bytes(0).unwrap(), 1u32.to_be_bytes());
    let deadline = Instant::now() + TIMEOUT;
    while common::tcp_receive_queue(None, push_port) != Some(0) {
        assert!(Instant::now() < deadline, "the PULL never read what was sent");
        std::thread::sleep(Duration::from_millis(1));
    }
    pull.disconnect(&listener.endpoint).unwrap();
    // The connection closes on its I/O thread; what it decoded follows the queue's contents.
    pull.set_rcvtimeo(Some(Duration::from_millis(500))).unwrap();
    let mut last = 1u32;
    while let Ok(bytes) = pull.recv_bytes(0) {
        let n = u32::from_be_bytes(bytes.try_into().unwrap());
        assert_eq!(n, last + 1, "after {last}: reordered or lost");
        last = n;
    }
    assert!(last > 6, "only {last} kept: what the connection held was dropped");
}
