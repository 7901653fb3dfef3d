//! Waiting on several sockets at once (what `zmq_poll` does).

use crate::error::Result;
use crate::socket::Socket;
use crate::socket::shared::Watcher;
use crate::socket::sleepers::park;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

mod fds;

pub use crate::socket::{POLLIN, POLLOUT};

/// One socket (or file descriptor) to poll, the events wanted, and after [`poll`] the events
/// ready.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zocket::{Context, PollItem, SocketType, POLLIN};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// let mut items = [pull.as_poll_item(POLLIN), PollItem::from_fd(0, POLLIN)]; // and stdin
/// let ready = zocket::poll(&mut items, Some(Duration::from_millis(1)))?;
/// assert!(!items[0].is_readable());
/// # let _ = ready;
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct PollItem<'a> {
    target: Target<'a>,
    events: i16,
    revents: i16,
}

enum Target<'a> {
    Socket(&'a Socket),
    Fd(RawFd),
}

impl<'a> PollItem<'a> {
    /// Watches `socket` for `events` ([`POLLIN`], [`POLLOUT`] or both).
    pub fn new(socket: &'a Socket, events: i16) -> PollItem<'a> {
        PollItem {
            target: Target::Socket(socket),
            events,
            revents: 0,
        }
    }

    /// Watches a file descriptor that is not a zocket socket (stdin, a pipe, a socket of
    /// another library) for `events`: [`POLLIN`] for readable, [`POLLOUT`] for writable, as
    /// `poll(2)` reports them. The descriptor must stay open while it is polled.
    pub fn from_fd(fd: RawFd, events: i16) -> PollItem<'static> {
        PollItem {
            target: Target::Fd(fd),
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
/// readiness check and the wait, and the polling thread to unpark (an unpark that comes before
/// the park is kept, so the park returns at once).
struct PollSignal {
    generation: AtomicU64,
    thread: Thread,
}

impl PollSignal {
    /// This thread's signal, reused from its last `poll` when nothing else holds it any more
    /// (a watcher list keeps a `Weak` only while the poll lasts), so that a loop of polls does
    /// not allocate.
    fn for_this_thread() -> Arc<PollSignal> {
        thread_local! {
            static LAST: std::cell::RefCell<Option<Arc<PollSignal>>> = const { std::cell::RefCell::new(None) };
        }
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some(signal) if Arc::strong_count(signal) == 1 && Arc::weak_count(signal) == 0 => {
                    Arc::clone(signal)
                }
                _ => {
                    let signal = Arc::new(PollSignal {
                        generation: AtomicU64::new(0),
                        thread: std::thread::current(),
                    });
                    *last = Some(Arc::clone(&signal));
                    signal
                }
            }
        })
    }
}

impl Watcher for PollSignal {
    fn notify(&self) {
        // SeqCst: the change that caused the notify comes before, and the poller's look at the
        // generation after its readiness check; see `poll`.
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Waits until at least one item is ready or `timeout` passes (`None`: forever). Returns the
/// number of ready items; each item's [`PollItem::revents`] says what is ready.
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    if items.iter().any(|item| matches!(item.target, Target::Fd(_))) {
        return fds::poll_with_fds(items, timeout);
    }
    let signal = PollSignal::for_this_thread();
    let watcher: Arc<dyn Watcher> = signal.clone();
    for socket in sockets(items) {
        socket.shared().add_watcher(&watcher);
    }
    let deadline = crate::deadline::from_now(timeout);
    let ready = loop {
        let seen = signal.generation.fetch_add(0, Ordering::SeqCst);
        let ready = match check(items) {
            Ok(ready) => ready,
            Err(e) => break Err(e),
        };
        if ready > 0 {
            break Ok(ready);
        }
        if signal.generation.fetch_add(0, Ordering::SeqCst) != seen {
            continue;
        }
        match deadline {
            None => park(None),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    break Ok(0);
                }
                park(Some(d - now));
            }
        }
    };
    for socket in sockets(items) {
        socket.shared().remove_watcher(&watcher);
    }
    ready
}

fn sockets<'a>(items: &'a [PollItem<'_>]) -> impl Iterator<Item = &'a Socket> {
    items.iter().filter_map(|item| match item.target {
        Target::Socket(socket) => Some(socket),
        Target::Fd(_) => None,
    })
}

/// Fills in each socket item's ready events; fails if a socket's I/O thread died.
fn check(items: &mut [PollItem<'_>]) -> Result<usize> {
    let mut ready = 0;
    for item in items.iter_mut() {
        let Target::Socket(socket) = item.target else {
            continue;
        };
        socket.check_io()?;
        item.revents = socket.events() & item.events;
        if item.revents != 0 {
            ready += 1;
        }
    }
    Ok(ready)
}
