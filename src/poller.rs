//! Waiting on several sockets at once (what `zmq_poll` does), and a readiness file descriptor
//! for plugging a socket into another event loop (what `ZMQ_FD`/`ZMQ_EVENTS` do).

use crate::error::Result;
use crate::socket::Socket;
use crate::socket::shared::{SocketShared, Watcher};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Event flag: a message can be received (libzmq `ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// Event flag: a message can be sent (libzmq `ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;

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

/// A file descriptor that becomes readable when a socket's readiness may have changed.
pub(crate) struct ReadinessFd {
    rx: UnixStream,
    tx: UnixStream,
    pending: AtomicBool,
}

impl ReadinessFd {
    pub fn new() -> std::io::Result<ReadinessFd> {
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        // Not pending: the first notification (at registration) writes the first signal.
        Ok(ReadinessFd {
            rx,
            tx,
            pending: AtomicBool::new(false),
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    /// Consumes the signal, before the caller checks readiness.
    pub fn clear(&self) {
        if self.pending.swap(false, Ordering::AcqRel) {
            let mut buf = [0u8; 64];
            while matches!((&self.rx).read(&mut buf), Ok(n) if n > 0) {}
        }
    }
}

impl Watcher for ReadinessFd {
    fn notify(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            let _ = (&self.tx).write(&[1]);
        }
    }
}

/// Registers a readiness fd with a socket's watchers.
pub(crate) fn watch_with_fd(shared: &SocketShared, fd: &Arc<ReadinessFd>) {
    let watcher: Arc<dyn Watcher> = fd.clone();
    shared.add_watcher(&watcher);
    // The watcher list keeps a weak reference; the socket keeps the strong one. Signal once
    // now: messages may have arrived before anyone watched, and the caller learns of them by
    // checking `events()` after this first wake-up.
    fd.notify();
}
