//! The soak's child processes, each killed (SIGKILL) and restarted at random by the parent:
//!
//! - `push <dir> <endpoint> <id>`: a PUSH sending through the file spool in `dir` the
//!   messages `[id: u32][n: u64]`, n = 1, 2, 3, … continuing after what earlier (killed) runs
//!   appended; when stdin closes, prints `sent <last n>` and lingers until all is delivered;
//! - `rep <endpoint>`: a REP answering each request with `re:` and the request;
//! - `sub <endpoint>`: a SUB of everything, whose messages are increasing numbers; prints
//!   `first <n>` for the first, `dup <n> after <last>` for any number not above the last,
//!   and `received <count>` when stdin closes.

use crate::common::child;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;
use zocket::spool::{FileSpool, Spool};
use zocket::{Context, DONTWAIT, SocketType};

pub const ROLE_ENV: &str = "ZOCKET_SOAK_ROLE";
pub const ARGS_ENV: &str = "ZOCKET_SOAK_ARGS";
/// How long a serving loop waits for a message before looking at its stdin again.
const TICK: Duration = Duration::from_millis(10);

/// Runs the child `role` with its space-separated arguments from the environment.
pub fn run(role: &str) {
    let args = std::env::var(ARGS_ENV).expect("the child's arguments");
    let args: Vec<&str> = args.split_whitespace().collect();
    match (role, args.as_slice()) {
        ("push", [dir, endpoint, id]) => spooled_push(dir, endpoint, id.parse().expect("an id")),
        ("rep", [endpoint]) => rep(endpoint),
        ("sub", [endpoint]) => sub(endpoint),
        other => panic!("unknown soak child {other:?}"),
    }
}

fn stdin_closed(commands: &Receiver<String>) -> bool {
    matches!(commands.try_recv(), Err(TryRecvError::Disconnected))
}

fn spooled_push(dir: &str, endpoint: &str, id: u32) {
    let spool = FileSpool::open(dir).expect("open the spool");
    let mut next = spool.next_seq();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(spool).unwrap();
    push.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    push.set_linger(Some(Duration::from_secs(60))).unwrap();
    push.connect(endpoint).unwrap();
    let commands = child::commands();
    while !stdin_closed(&commands) {
        let mut message = id.to_be_bytes().to_vec();
        message.extend_from_slice(&next.to_be_bytes());
        push.send(message, 0).unwrap(); // message `next` is the spool's record `next`
        next += 1;
        if next.is_multiple_of(10) {
            std::thread::sleep(Duration::from_millis(2)); // a steady stream, not a burst
        }
    }
    child::report(format!("sent {}", next - 1));
    // Dropping the socket lingers until the receiver acknowledged everything.
}

fn rep(endpoint: &str) {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.set_linger(Some(Duration::ZERO)).unwrap();
    rep.set_rcvtimeo(Some(TICK)).unwrap();
    rep.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    rep.connect(endpoint).unwrap();
    let commands = child::commands();
    while !stdin_closed(&commands) {
        if let Ok(request) = rep.recv_bytes(0) {
            let mut reply = b"re:".to_vec();
            reply.extend(request);
            let _ = rep.send(reply, DONTWAIT); // the requester may be gone already
        }
    }
}

fn sub(endpoint: &str) {
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_linger(Some(Duration::ZERO)).unwrap();
    sub.set_rcvtimeo(Some(TICK)).unwrap();
    sub.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    sub.set_subscribe(b"").unwrap();
    sub.connect(endpoint).unwrap();
    let commands = child::commands();
    let mut last: Option<u64> = None;
    let mut count = 0u64;
    while !stdin_closed(&commands) {
        let Ok(m) = sub.recv_bytes(0) else { continue };
        let n = u64::from_be_bytes(m[..].try_into().expect("an 8-byte number"));
        match last {
            None => child::report(format!("first {n}")),
            Some(l) if n <= l => child::report(format!("dup {n} after {l}")),
            Some(_) => {}
        }
        last = Some(n);
        count += 1;
    }
    child::report(format!("received {count}"));
}
