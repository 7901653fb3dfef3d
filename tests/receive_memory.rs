//! What a receiver that does not read holds for a peer that floods it: its queue, and the
//! bytes of one read still encoded, not a whole read's worth of decoded messages.
//!
//! A 64 KiB read of one-byte messages holds 21,000 of them. Decoded, each costs a message
//! slot (over 100 bytes) where it cost 3 bytes on the wire: decoding them all behind a full
//! queue took a receiver from 6 to 10 MiB in the benchmark. The connection now stops decoding
//! when the queue is full and keeps the rest encoded until the application makes room.
//!
//! The heap is measured with a counting allocator, so this file holds one test.

mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, SocketType};

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

#[test]
fn a_full_queue_keeps_the_rest_of_a_read_encoded() {
    const QUEUE: usize = 10;
    const MESSAGES: usize = 20_000; // 60,000 bytes: one read
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(QUEUE).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let pull_port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let mut raw = RawPeer::handshaken(&endpoint, "PUSH", 1);
    let raw_port = raw.stream().local_addr().unwrap().port();

    let mut flood = Vec::with_capacity(MESSAGES * 3);
    for n in 0..MESSAGES {
        flood.extend_from_slice(&encode_frame(0, &[n as u8]));
    }
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    raw.send_raw(&flood);

    // The connection read the flood once the kernel's queue for it is empty.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tcp_receive_queue(Some(pull_port), raw_port) != Some(0) {
        assert!(Instant::now() < deadline, "the receiver never read the flood");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Decoding follows the read on the same thread within microseconds; watch for a while
    // that the heap does not take on the decoded messages.
    let bound = 512 << 10;
    let watch_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < watch_until {
        let grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
        assert!(
            grown < bound,
            "{grown} bytes more on the heap for {MESSAGES} one-byte messages behind a queue of {QUEUE}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // Everything is still delivered, in order.
    pull.set_rcvtimeo(Some(Duration::from_secs(10))).unwrap();
    for n in 0..MESSAGES {
        assert_eq!(pull.recv_bytes(0).unwrap(), [n as u8], "message {n}");
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}
