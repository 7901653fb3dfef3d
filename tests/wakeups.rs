//! Blocked calls are woken, never lost: many threads block at once on the same sockets
//! (sends held by a high-water mark of 1, receives with nothing to read, a `poll`), over
//! inproc, TCP and IPC, and every message must arrive exactly once before a deadline. A lost
//! wake-up leaves a thread parked for ever, which the deadline turns into a failure (and a
//! context shutdown then frees the threads).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use zocket::{Context, POLLIN, PollItem, SocketType};

const SENDERS: usize = 3;
const RECEIVERS: usize = 3;
const PER_SENDER: usize = 3_000;
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs the storm over `endpoint`: one PUSH shared by `SENDERS` threads, one PULL shared by
/// `RECEIVERS` threads and a poller, high-water marks of 1 on both.
fn storm(endpoint: &str) {
    let ctx = Context::new();
    let pull = Arc::new(ctx.socket(SocketType::Pull).unwrap());
    pull.set_rcvhwm(1).unwrap();
    pull.bind(endpoint).unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let push = Arc::new(ctx.socket(SocketType::Push).unwrap());
    push.set_sndhwm(1).unwrap();
    push.connect(&endpoint).unwrap();

    let total = SENDERS * PER_SENDER;
    let received = Arc::new(AtomicUsize::new(0));
    let (got_tx, got_rx) = mpsc::channel::<Vec<u32>>();
    let mut threads = Vec::new();
    for sender in 0..SENDERS {
        let push = Arc::clone(&push);
        threads.push(std::thread::spawn(move || {
            for n in 0..PER_SENDER {
                let id = (sender * PER_SENDER + n) as u32;
                if push.send(&id.to_le_bytes()[..], 0).is_err() {
                    return; // the context was shut down after a failure
                }
            }
        }));
    }
    for _ in 0..RECEIVERS {
        let (pull, received, got_tx) = (Arc::clone(&pull), Arc::clone(&received), got_tx.clone());
        threads.push(std::thread::spawn(move || {
            let mut got = Vec::new();
            while received.load(Ordering::SeqCst) < total {
                match pull.recv_bytes(0) {
                    Ok(m) => {
                        got.push(u32::from_le_bytes(m[..4].try_into().unwrap()));
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => break, // shut down: the last message came, or the test failed
                }
            }
            got_tx.send(got).unwrap();
        }));
    }
    drop(got_tx);
    let poller = {
        let pull = Arc::clone(&pull);
        let received = Arc::clone(&received);
        std::thread::spawn(move || {
            let mut wakes = 0u64;
            while received.load(Ordering::SeqCst) < total {
                let mut items = [PollItem::new(&pull, POLLIN)];
                match zocket::poll(&mut items, Some(Duration::from_millis(200))) {
                    Ok(_) => wakes += 1,
                    Err(_) => break,
                }
            }
            wakes
        })
    };

    let started = Instant::now();
    while received.load(Ordering::SeqCst) < total && started.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(20));
    }
    let done = received.load(Ordering::SeqCst);
    // Receivers blocked after the last message, and any thread a lost wake-up left parked,
    // are released by the shutdown.
    ctx.shutdown();
    for t in threads {
        t.join().unwrap();
    }
    poller.join().unwrap();
    assert_eq!(
        done, total,
        "{done} of {total} messages within {DEADLINE:?}: a wake-up was lost"
    );
    let mut seen = HashSet::new();
    for got in got_rx.iter() {
        for id in got {
            assert!(seen.insert(id), "message {id} arrived twice");
        }
    }
    assert_eq!(seen.len(), total, "every message arrived once");
}

#[test]
fn many_blocked_threads_on_one_socket_over_inproc() {
    storm("inproc://wakeups");
}

#[test]
fn many_blocked_threads_on_one_socket_over_tcp() {
    storm("tcp://127.0.0.1:0");
}

#[test]
fn many_blocked_threads_on_one_socket_over_ipc() {
    let path = std::env::temp_dir().join(format!("zocket-wakeups-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    storm(&format!("ipc://{}", path.display()));
    let _ = std::fs::remove_file(&path);
}

/// A SUB with a send high-water mark of 1 subscribes to many topics before it connects:
/// all but one subscription wait past the mark, in order, and enter the pipe as the
/// connection drains it (the drain wakes the socket, whose next call moves them). The
/// subscriber only receives; every topic must reach it before a deadline.
fn subscriptions_past_the_mark(endpoint: &str) {
    const TOPICS: u16 = 200;
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.bind(endpoint).unwrap();
    let endpoint = publisher.last_endpoint().unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_sndhwm(1).unwrap();
    for topic in 0..TOPICS {
        sub.set_subscribe(&topic.to_be_bytes()).unwrap();
    }
    sub.connect(&endpoint).unwrap();
    sub.set_rcvtimeo(Some(Duration::from_millis(20))).unwrap();
    let mut heard = HashSet::new();
    let deadline = Instant::now() + DEADLINE;
    while heard.len() < TOPICS as usize {
        assert!(
            Instant::now() < deadline,
            "only {} of {TOPICS} subscriptions reached the publisher",
            heard.len()
        );
        for topic in (0..TOPICS).filter(|t| !heard.contains(t)) {
            publisher.send(&topic.to_be_bytes()[..], 0).unwrap();
        }
        while let Ok(m) = sub.recv_bytes(0) {
            heard.insert(u16::from_be_bytes([m[0], m[1]]));
        }
    }
}

#[test]
fn subscriptions_queued_past_the_mark_all_arrive_over_tcp() {
    subscriptions_past_the_mark("tcp://127.0.0.1:0");
}

#[test]
fn subscriptions_queued_past_the_mark_all_arrive_over_inproc() {
    subscriptions_past_the_mark("inproc://past-the-mark");
}

/// The same subscriptions, but the SUB is closed right after making them: what still waits
/// past the mark is moved into the pipe by the closing I/O thread, which must then write it
/// (within the linger), as no application thread will call again.
#[test]
fn subscriptions_queued_past_the_mark_are_delivered_after_the_subscriber_closes() {
    const TOPICS: u16 = 200;
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = xpub.last_endpoint().unwrap();
    xpub.set_rcvtimeo(Some(Duration::from_secs(10))).unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_sndhwm(1).unwrap();
    sub.connect(&endpoint).unwrap();
    for topic in 0..TOPICS {
        sub.set_subscribe(&topic.to_be_bytes()).unwrap();
    }
    drop(sub);
    hear_subscriptions(&xpub, HashSet::new(), TOPICS);
}

/// Receives subscriptions on `xpub` until `topics` distinct ones were heard.
fn hear_subscriptions(xpub: &zocket::Socket, mut heard: HashSet<u16>, topics: u16) {
    while heard.len() < topics as usize {
        let m = xpub
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("{} of {topics} subscriptions arrived, then: {e}", heard.len()));
        if m.first() == Some(&1) {
            heard.insert(u16::from_be_bytes([m[1], m[2]]));
        }
    }
}

/// The same, from a SUB that binds: its connection attached without the socket's lock, so the
/// closing I/O thread must find the pipe through what the connection told the socket (before,
/// 2 of 200 arrived).
#[test]
fn a_bound_subscribers_subscriptions_past_the_mark_are_delivered_after_it_closes() {
    const TOPICS: u16 = 200;
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_sndhwm(1).unwrap();
    sub.bind("tcp://127.0.0.1:0").unwrap();
    for topic in 0..TOPICS {
        sub.set_subscribe(&topic.to_be_bytes()).unwrap();
    }
    let xpub = ctx.socket(SocketType::XPub).unwrap();
    xpub.connect(&sub.last_endpoint().unwrap()).unwrap();
    xpub.set_rcvtimeo(Some(Duration::from_secs(10))).unwrap();
    // The SUB attaches the connection on a call, and sends the first subscription; the rest
    // wait past the mark of 1.
    let mut heard = HashSet::new();
    let deadline = Instant::now() + DEADLINE;
    while heard.is_empty() {
        sub.events();
        if let Ok(m) = xpub.recv_bytes(zocket::DONTWAIT) {
            heard.insert(u16::from_be_bytes([m[1], m[2]]));
        }
        assert!(Instant::now() < deadline, "no subscription reached the XPUB");
    }
    drop(sub);
    hear_subscriptions(&xpub, heard, TOPICS);
}
