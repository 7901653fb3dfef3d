//! The victim: a zocket socket bound on loopback in a child process, serving a good peer
//! while the parent attacks it. It prints its endpoint, then serves until its stdin closes.
//!
//! Roles (environment `ZOCKET_HOSTILE_VICTIM`):
//! - `pull`: prints `got <first frame>` for every message whose first frame starts with
//!   `probe`, and counts the others;
//! - `router`: echoes every message to its sender;
//! - `pub`, `xpub`: publishes `probe-<n>` every few milliseconds (and a flood of messages
//!   with the `flood` option); `xpub` reads the subscriptions unless `read_subs=0`.
//!
//! Commands on stdin: `mark` (prints `mark <n>`: the next probe number it will publish),
//! `count` (prints `count <n>`: other messages received).
//!
//! Options (environment `ZOCKET_HOSTILE_OPTS`, space-separated `key=value`): `maxmsgsize`,
//! `sndhwm`, `rcvhwm`, `handshake_ms`, `handover`, `flood` (message size, 0 = none),
//! `flood_batch` (messages per tick), `read_subs` (0 or 1).

use crate::common::child;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::Duration;
use zocket::{Context, DONTWAIT, Socket, SocketType};

pub const ROLE_ENV: &str = "ZOCKET_HOSTILE_VICTIM";
pub const OPTS_ENV: &str = "ZOCKET_HOSTILE_OPTS";
/// How long one turn of the serving loop waits for input.
const TICK: Duration = Duration::from_millis(5);

struct Opts(HashMap<String, u64>);

impl Opts {
    fn from_env() -> Opts {
        let text = std::env::var(OPTS_ENV).unwrap_or_default();
        let map = text
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("key=value");
                (k.to_string(), v.parse().expect("a number"))
            })
            .collect();
        Opts(map)
    }

    fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key).copied()
    }

    fn apply(&self, s: &Socket) {
        if let Some(size) = self.get("maxmsgsize") {
            s.set_maxmsgsize(Some(size)).unwrap();
        }
        if let Some(hwm) = self.get("sndhwm") {
            s.set_sndhwm(hwm as usize).unwrap();
        }
        if let Some(hwm) = self.get("rcvhwm") {
            s.set_rcvhwm(hwm as usize).unwrap();
        }
        if let Some(ms) = self.get("handshake_ms") {
            s.set_handshake_ivl(Some(Duration::from_millis(ms))).unwrap();
        }
        if self.get("handover") == Some(1) {
            s.set_router_handover(true).unwrap();
        }
    }
}

/// Runs the victim `role` until stdin closes.
pub fn serve(role: &str) {
    let opts = Opts::from_env();
    let socket_type = match role {
        "pull" => SocketType::Pull,
        "router" => SocketType::Router,
        "pub" => SocketType::Pub,
        "xpub" => SocketType::XPub,
        other => panic!("unknown victim role {other}"),
    };
    let ctx = Context::new();
    let socket = ctx.socket(socket_type).unwrap();
    socket.set_linger(Some(Duration::ZERO)).unwrap();
    socket.set_rcvtimeo(Some(TICK)).unwrap();
    opts.apply(&socket);
    socket.bind("tcp://127.0.0.1:0").unwrap();
    child::report(format!("endpoint {}", socket.last_endpoint().unwrap()));
    let commands = child::commands();
    let mut state = State {
        next_probe: 0,
        others: 0,
        flood: Bytes::from(vec![b'f'; opts.get("flood").unwrap_or(0) as usize]),
        flood_batch: opts.get("flood_batch").unwrap_or(50) as usize,
        read_subs: opts.get("read_subs") != Some(0),
    };
    loop {
        let publisher = matches!(socket_type, SocketType::Pub | SocketType::XPub);
        let command = if publisher {
            // Publishers pace themselves on the command channel.
            match commands.recv_timeout(TICK) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match commands.try_recv() {
                Ok(c) => Some(c),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => break,
            }
        };
        if let Some(command) = command {
            state.obey(&command);
        }
        match socket_type {
            SocketType::Pull => state.pull_turn(&socket),
            SocketType::Router => state.router_turn(&socket),
            _ => state.publish_turn(&socket, socket_type == SocketType::XPub),
        }
    }
}

struct State {
    next_probe: u64,
    others: u64,
    flood: Bytes,
    flood_batch: usize,
    read_subs: bool,
}

impl State {
    fn obey(&mut self, command: &str) {
        match command.trim() {
            "mark" => child::report(format!("mark {}", self.next_probe)),
            "count" => child::report(format!("count {}", self.others)),
            other => panic!("unknown command {other:?}"),
        }
    }

    fn pull_turn(&mut self, socket: &Socket) {
        if let Ok(parts) = socket.recv_frames(0) {
            self.note(&parts[0]);
            while let Ok(parts) = socket.recv_frames(DONTWAIT) {
                self.note(&parts[0]);
            }
        }
    }

    fn note(&mut self, first: &[u8]) {
        if first.starts_with(b"probe") && first.len() <= 64 {
            child::report(format!("got {}", String::from_utf8_lossy(first)));
        } else {
            self.others += 1;
        }
    }

    fn router_turn(&mut self, socket: &Socket) {
        if let Ok(parts) = socket.recv_frames(0) {
            let _ = socket.send_multipart(parts, DONTWAIT);
            while let Ok(parts) = socket.recv_frames(DONTWAIT) {
                let _ = socket.send_multipart(parts, DONTWAIT);
            }
        }
    }

    fn publish_turn(&mut self, socket: &Socket, xpub: bool) {
        if xpub && self.read_subs {
            while socket.recv_frames(DONTWAIT).is_ok() {
                self.others += 1;
            }
        }
        let _ = socket.send(format!("probe-{}", self.next_probe), DONTWAIT);
        self.next_probe += 1;
        if !self.flood.is_empty() {
            for _ in 0..self.flood_batch {
                let _ = socket.send(self.flood.clone(), DONTWAIT);
            }
        }
    }
}
