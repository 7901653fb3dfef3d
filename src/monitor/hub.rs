//! Where a socket's events go: each monitor's bounded queue. The I/O threads and the
//! application threads emit; nothing is built or locked while nobody watches.

use super::events::{MonitorEvent, Peer, SocketEvent};
use crate::context::shared::ContextInner;
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Events a monitor's reader has not taken, at most: beyond, new events are counted as lost
/// (a reader that stopped reading must not make the socket's memory grow).
const QUEUE_BOUND: usize = 10_000;
/// A blocked `Monitor::recv` looks at its context's shutdown this often.
const SHUTDOWN_CHECK: Duration = Duration::from_millis(50);

/// One socket's monitors.
#[derive(Default)]
pub(crate) struct Hub {
    /// Someone watches: events are worth building.
    watched: AtomicBool,
    channels: Mutex<Vec<Arc<Channel>>>,
    /// The thread of the libzmq-form monitor, if one runs (see `forward`).
    forwarder: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Channel {
    /// The events wanted (`SocketEvent::to_raw` bits).
    mask: u32,
    queue: Mutex<Queue>,
    ready: Condvar,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<MonitorEvent>,
    /// No more events come (the socket closed, or the monitor was replaced).
    stopped: bool,
    /// Events dropped because the queue was full.
    lost: u64,
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, event: MonitorEvent) {
        let mut queue = self.lock();
        if queue.stopped {
            return;
        }
        if queue.events.len() >= QUEUE_BOUND {
            queue.lost += 1;
            return;
        }
        queue.events.push_back(event);
        drop(queue);
        self.ready.notify_all();
    }

    /// Queues `MonitorStopped` (past the bound: it must arrive) and ends the stream.
    fn stop(&self, endpoint: &str) {
        let mut queue = self.lock();
        if queue.stopped {
            return;
        }
        queue.events.push_back(MonitorEvent {
            event: SocketEvent::MonitorStopped,
            value: 0,
            endpoint: endpoint.to_string(),
            peer: None,
        });
        queue.stopped = true;
        drop(queue);
        self.ready.notify_all();
    }
}

impl Hub {
    /// Whether any monitor would take an event (a cheap check before building one).
    pub fn watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }

    fn channels(&self) -> MutexGuard<'_, Vec<Arc<Channel>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reports an event to the monitors that want it; `peer` is asked only if one does.
    pub fn emit(&self, event: SocketEvent, value: u64, endpoint: &str, peer: impl FnOnce() -> Option<Peer>) {
        if !self.watched() {
            return;
        }
        let bit = event.to_raw();
        let mut channels = self.channels();
        // A monitor whose reader is gone is forgotten here.
        channels.retain(|c| Arc::strong_count(c) > 1);
        self.watched.store(!channels.is_empty(), Ordering::Relaxed);
        let mut wanting = channels.iter().filter(|c| c.mask & bit != 0).peekable();
        if wanting.peek().is_none() {
            return;
        }
        let event = MonitorEvent {
            event,
            value,
            endpoint: endpoint.to_string(),
            peer: peer(),
        };
        for channel in wanting {
            channel.push(event.clone());
        }
    }

    /// A new monitor taking the events in `mask`. With `exclusive`, the monitors made so far
    /// with `exclusive` stop (libzmq keeps one monitor per socket).
    pub fn subscribe(&self, mask: u32, exclusive: bool, ctx: Weak<ContextInner>) -> Monitor {
        let mut channels = self.channels();
        if exclusive {
            for old in channels.iter().filter(|c| c.mask & EXCLUSIVE != 0) {
                old.stop("");
            }
            channels.retain(|c| c.mask & EXCLUSIVE == 0);
        }
        let channel = Arc::new(Channel {
            mask: if exclusive { mask | EXCLUSIVE } else { mask },
            queue: Mutex::default(),
            ready: Condvar::new(),
        });
        channels.push(Arc::clone(&channel));
        self.watched.store(true, Ordering::Relaxed);
        Monitor { channel, ctx }
    }

    /// Keeps the libzmq-form monitor's thread, to be joined when it stops.
    pub fn set_forwarder(&self, thread: std::thread::JoinHandle<()>) {
        *self.forwarder.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
    }

    /// Waits for the libzmq-form monitor's thread, stopped by the caller (it ends within
    /// its check interval, 50 ms), so that its PAIR socket is gone: the endpoint is free and
    /// the context is not kept alive by it.
    pub fn join_forwarder(&self) {
        let thread = self.forwarder.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// The socket closed: every monitor gets `MonitorStopped`, then nothing more.
    pub fn stop(&self) {
        let mut channels = self.channels();
        for channel in channels.drain(..) {
            channel.stop("");
        }
        self.watched.store(false, Ordering::Relaxed);
    }
}

/// Marks the libzmq-form monitor among a socket's monitors (a bit no event uses).
const EXCLUSIVE: u32 = 0x8000_0000;

/// A socket's events, as values: see [`crate::Socket::monitor_events`].
///
/// Events queue up to a bound (10 000) while nobody reads; beyond it they are counted as
/// [`Monitor::lost`]. Once the socket closes, the last event is
/// [`SocketEvent::MonitorStopped`] and every later call returns [`Error::Terminated`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zocket::{Context, SocketEvent, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// let events = pull.monitor_events()?;
/// pull.bind("tcp://127.0.0.1:0")?;
/// let event = events.recv_timeout(Duration::from_secs(5))?;
/// assert_eq!(event.event, SocketEvent::Listening);
/// assert_eq!(event.endpoint, pull.last_endpoint()?);
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct Monitor {
    channel: Arc<Channel>,
    ctx: Weak<ContextInner>,
}

impl Monitor {
    /// Waits for the next event. Fails with [`Error::Terminated`] once the socket closed
    /// and every event was taken, or when the context is shut down.
    pub fn recv(&self) -> Result<MonitorEvent> {
        self.next(None)
    }

    /// The next event if there is one, [`Error::WouldBlock`] otherwise.
    pub fn try_recv(&self) -> Result<MonitorEvent> {
        self.next(Some(Instant::now()))
    }

    /// Waits at most `timeout` for the next event ([`Error::WouldBlock`] when it expires).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<MonitorEvent> {
        self.next(crate::deadline::after(Instant::now(), timeout))
    }

    /// How many events were dropped because this monitor's queue was full.
    pub fn lost(&self) -> u64 {
        self.channel.lock().lost
    }

    /// Whether the socket stopped reporting (events may still be queued).
    pub(crate) fn is_stopped(&self) -> bool {
        self.channel.lock().stopped
    }

    fn terminated(&self) -> bool {
        self.ctx
            .upgrade()
            .is_some_and(|ctx| ctx.terminated.load(Ordering::Acquire))
    }

    fn next(&self, deadline: Option<Instant>) -> Result<MonitorEvent> {
        let mut queue = self.channel.lock();
        loop {
            if let Some(event) = queue.events.pop_front() {
                return Ok(event);
            }
            if queue.stopped || self.terminated() {
                return Err(Error::Terminated);
            }
            let now = Instant::now();
            let wait = match deadline {
                Some(d) if d <= now => return Err(Error::WouldBlock),
                Some(d) => (d - now).min(SHUTDOWN_CHECK),
                None => SHUTDOWN_CHECK,
            };
            queue = self
                .channel
                .ready
                .wait_timeout(queue, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.channel.lock();
        f.debug_struct("Monitor")
            .field("queued", &queue.events.len())
            .field("stopped", &queue.stopped)
            .field("lost", &queue.lost)
            .finish()
    }
}
