//! Waiting on several sockets at once (what `zmq_poll` does).

use crate::error::Result;
use crate::socket::Socket;
use crate::socket::shared::Watcher;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub use crate::socket::{POLLIN, POLLOUT};

/// One socket to poll, the events wanted, and after [`poll`] the events ready.
pub struct PollItem<'a> {
    socket: &'a Socket,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// Watches `socket` for `events` ([`POLLIN`], [`POLLOUT`] or both).
    pub fn new(socket: &'a Socket, events: i16) -> PollItem<'a> {
        PollItem {
            socket,
            events,
            revents: 0,
        }
    }

    /// The events found ready by the last [`poll`].
    pub fn revents(&self) -> i16 {
        self.revents
    }

    /// Whether the socket was readable at the last [`poll`].
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }

    /// Whether the socket was writable at the last [`poll`].
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }
}

/// Wakes a waiting `poll`: a generation counter, so that no change is missed between the
/// readiness check and the wait.
#[derive(Default)]
struct PollSignal {
    generation: Mutex<u64>,
    cond: Condvar,
}

impl Watcher for PollSignal {
    fn notify(&self) {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cond.notify_all();
    }
}

/// Waits until at least one item is ready or `timeout` passes (`None`: forever). Returns the
/// number of ready items; each item's [`PollItem::revents`] says what is ready.
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    let signal = Arc::new(PollSignal::default());
    let watcher: Arc<dyn Watcher> = signal.clone();
    for item in items.iter() {
        item.socket.shared().add_watcher(&watcher);
    }
    let deadline = crate::deadline::from_now(timeout);
    let ready = loop {
        let seen = *signal.generation.lock().unwrap_or_else(|e| e.into_inner());
        let ready = match check(items) {
            Ok(ready) => ready,
            Err(e) => break Err(e),
        };
        if ready > 0 {
            break Ok(ready);
        }
        let generation = signal.generation.lock().unwrap_or_else(|e| e.into_inner());
        if *generation != seen {
            continue;
        }
        match deadline {
            None => drop(signal.cond.wait(generation).unwrap_or_else(|e| e.into_inner())),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    break Ok(0);
                }
                drop(
                    signal
                        .cond
                        .wait_timeout(generation, d - now)
                        .unwrap_or_else(|e| e.into_inner()),
                );
            }
        }
    };
    for item in items.iter() {
        item.socket.shared().remove_watcher(&watcher);
    }
    ready
}

/// Fills in each item's ready events; fails if a socket's I/O thread died.
fn check(items: &mut [PollItem<'_>]) -> Result<usize> {
    let mut ready = 0;
    for item in items.iter_mut() {
        item.socket.check_io()?;
        item.revents = item.socket.events() & item.events;
        if item.revents != 0 {
            ready += 1;
        }
    }
    Ok(ready)
}
