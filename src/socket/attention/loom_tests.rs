//! loom model of the attention protocol: a connection writes messages into its lock-free pipe
//! and announces them; the application thread syncs under the socket's lock and parks when it
//! found nothing. A lost wake-up leaves the application asleep for ever, which loom reports as
//! a deadlock.

use super::*;
use crate::socket::sleepers::{Sleepers, park};
use crate::sync::{Arc, AtomicBool, Mutex, Ordering, thread};
use crate::ypipe::{self, Read, Wake, loom_model as model};

/// The parts of a socket the protocol touches: the lock (guarding the pipe's reader, as the
/// socket's state does), its sleepers and the flag.
struct Socket {
    state: Mutex<ypipe::Reader<u32>>,
    sleepers: Sleepers,
    attention: AtomicBool,
}

/// The connection: writes and flushes each message, announcing it when the reader slept.
fn connection(socket: &Socket, mut tx: ypipe::Writer<u32>, messages: u32) {
    for n in 0..messages {
        tx.write(n, false).expect("no high-water mark");
        if tx.flush() == Wake::Reader {
            announce(
                &socket.attention,
                &socket.sleepers,
                || false,
                || socket.sleepers.wake_all(),
            );
        }
    }
}

/// The application: syncs (clears the flag, reads the pipe until it is empty) and waits
/// until it has every message.
fn application(socket: &Socket, messages: u32) -> Vec<u32> {
    let mut got = Vec::new();
    let mut guard = socket.state.lock().unwrap();
    loop {
        if socket.attention.swap(false, Ordering::SeqCst) {
            while let Read::Frame { item, .. } = guard.read() {
                got.push(item);
            }
        }
        if got.len() == messages as usize {
            return got;
        }
        guard = wait_unless_raised(&socket.attention, &socket.sleepers, guard, |g| {
            drop(g);
            park(None);
            socket.state.lock().unwrap()
        });
    }
}

fn run(messages: u32) {
    model(move || {
        let (tx, rx) = ypipe::channel::<u32>(0);
        // As a connection opens its pipe: the reader starts awake and the flag raised.
        let socket = Arc::new(Socket {
            state: Mutex::new(rx),
            sleepers: Sleepers::default(),
            attention: AtomicBool::new(true),
        });
        let writer = {
            let socket = Arc::clone(&socket);
            thread::spawn(move || connection(&socket, tx, messages))
        };
        let got = application(&socket, messages);
        writer.join().unwrap();
        assert_eq!(got, (0..messages).collect::<Vec<_>>());
    });
}

#[test]
fn loom_attention_no_wake_up_is_lost() {
    run(2);
}

#[test]
fn loom_attention_one_message() {
    run(1);
}
