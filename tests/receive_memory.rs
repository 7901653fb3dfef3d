//! What a receiver that does not read holds for a peer that floods it: its queue, and the
//! bytes of one read still encoded, not a whole read's worth of decoded messages.
//!
//! A 64 KiB read of one-byte messages holds 21,000 of them. Decoded, each costs a message
//! slot (over 100 bytes) where it cost 3 bytes on the wire: decoding them all behind a full
//! queue took a receiver from 6 to 10 MiB in the benchmark. The connection now stops decoding
//! when the queue is full and keeps the rest encoded until the application makes room, both
//! where messages go through a lock-free pipe (PULL) and where the pattern takes them under
//! the socket's lock (XPUB's subscriptions). Before that change the two cases here took on
//! 4.5 MB and 580 KB.
//!
//! The heap is measured with a counting allocator, so this file holds one test.

mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A queue of 10 messages: everything past it stays encoded.
const QUEUE: usize = 10;
/// What the heap may take on while a flood of one read waits.
const BOUND: i64 = 256 << 10;

/// Waits until `condition` holds, for up to 10 seconds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Binds `socket` on loopback with a queue of [`QUEUE`] and has a raw peer of type
/// `peer_type` send `messages` (each already encoded). The first `QUEUE + 1` fill the queue
/// and pause the connection; the rest then arrive whole in the kernel before the connection
/// reads again, which it does once `receive` (called repeatedly) has made room. Returns the
/// most the heap grew from before the rest was sent, watched for 300 ms after that read
/// (decoding follows a read on the same thread within microseconds).
fn heap_growth_for(socket: &Socket, peer_type: &str, messages: &[Vec<u8>], mut receive: impl FnMut()) -> i64 {
    socket.set_rcvhwm(QUEUE).unwrap();
    socket.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = socket.last_endpoint().unwrap();
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let mut raw = RawPeer::handshaken(&endpoint, peer_type, 1);
    let raw_port = raw.stream().local_addr().unwrap().port();
    let queued = || tcp_receive_queue(Some(port), raw_port);

    raw.send_raw(&messages[..=QUEUE].concat());
    wait_until("the first messages were never read", || queued() == Some(0));
    let rest = messages[QUEUE + 1..].concat();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    raw.send_raw(&rest);
    let all_there = || queued() == Some(rest.len() as u64);
    wait_until("the rest never arrived whole", all_there);
    while queued().is_some_and(|q| q == rest.len() as u64) {
        receive();
    }
    let mut most = 0;
    let watch_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < watch_until {
        most = most.max(LIVE_BYTES.load(Ordering::Relaxed) - before);
        std::thread::sleep(Duration::from_millis(5));
    }
    std::mem::forget(raw); // kept open: the socket drains what it held back
    most
}

/// Runs [`heap_growth_for`] with `messages`, checks the bound, then that every message
/// arrives in order as `expected(n)`.
fn flood(socket: &Socket, peer_type: &str, messages: &[Vec<u8>], expected: impl Fn(usize) -> Vec<u8>) {
    socket.set_rcvtimeo(Some(Duration::from_secs(10))).unwrap();
    let next = std::cell::Cell::new(0usize);
    let take = || {
        let n = next.get();
        assert_eq!(socket.recv_bytes(0).unwrap(), expected(n), "message {n}");
        next.set(n + 1);
    };
    let grown = heap_growth_for(socket, peer_type, messages, take);
    assert!(
        grown < BOUND,
        "{grown} bytes more on the heap for {} messages from a {peer_type} behind a queue of {QUEUE}",
        messages.len()
    );
    while next.get() < messages.len() {
        take();
    }
    assert!(matches!(socket.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

// One test: the allocator counts the whole process, so the cases run one after the other.
#[test]
fn a_full_queue_keeps_the_rest_of_a_read_encoded() {
    let ctx = Context::new();

    // A PULL (messages through its lock-free pipe): 20,000 one-byte messages, 60,000 bytes.
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let messages: Vec<Vec<u8>> = (0..20_000).map(|n| encode_frame(0, &[n as u8])).collect();
    flood(&pull, "PUSH", &messages, |n| vec![n as u8]);

    // An XPUB (subscriptions through the pattern, under the socket's lock): 3,500 distinct
    // SUBSCRIBE commands, 63,000 bytes.
    let xpub = ctx.socket(SocketType::XPub).unwrap();
    let topic = |n: usize| format!("t{n:05}").into_bytes();
    let subscriptions: Vec<Vec<u8>> = (0..3_500)
        .map(|n| encode_frame(FLAG_COMMAND, &command_body("SUBSCRIBE", &topic(n))))
        .collect();
    flood(&xpub, "SUB", &subscriptions, |n| [&[1u8][..], &topic(n)].concat());
}
