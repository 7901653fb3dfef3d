//! The application side's handle on a context's I/O threads: starting them, queueing commands
//! to one or all of them, routing wake-ups to the thread that owns the connection, and the
//! context-wide states every call checks (shut down, or a thread died).

use super::{Command, reactor};
use crate::error::{Error, Result};
use crate::live_count::{Live, LiveCount};
use crate::pipe::{ConnId, Wakes};
use crate::socket::shared::{SocketShared, WakeIo};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;

/// The most I/O threads a context may have: a connection id keeps the thread's index in its
/// low byte.
pub(crate) const MAX_IO_THREADS: usize = 64;

/// The connection id of a connection: its token on its I/O thread, and that thread's index.
pub(crate) fn conn_id(thread: usize, token: mio::Token) -> ConnId {
    (token.0 << 8) | thread
}

/// The I/O thread and the token of a connection id.
pub(crate) fn split_conn_id(conn: ConnId) -> (usize, mio::Token) {
    (conn & 0xff, mio::Token(conn >> 8))
}

/// One I/O thread: its command queue and the waker of its event loop.
pub(crate) struct IoThread {
    queue: Mutex<Vec<Command>>,
    waker: mio::Waker,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl IoThread {
    /// Queues commands; the thread is woken only when the queue was empty. Dropped once the
    /// context failed: a caller waiting for a reply sees the channel close.
    fn send_all(&self, failed: bool, cmds: impl IntoIterator<Item = Command>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if failed {
            return;
        }
        let was_empty = queue.is_empty();
        queue.extend(cmds);
        if was_empty && !queue.is_empty() {
            drop(queue);
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake an I/O thread: {e}");
            }
        }
    }

    /// The commands queued since the last call (on the I/O thread).
    pub(super) fn take_commands(&self, into: &mut Vec<Command>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *queue, into);
    }

    fn join(&self) {
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
}

/// A context's I/O threads.
pub(crate) struct IoThreads {
    threads: Vec<IoThread>,
    /// Round-robin position for new listeners, connectors and accepted connections.
    next: AtomicUsize,
    /// Connector ids, handed out by the application threads (see [`IoThreads::new_connector`]).
    next_connector: AtomicUsize,
    /// Why a thread died, once one has (a panic or a failed poll).
    failure: OnceLock<String>,
    /// The context was shut down: application calls fail with `Terminated`.
    terminated: AtomicBool,
    /// The sockets served, to wake their blocked callers on shutdown or failure.
    sockets: Mutex<Vec<Weak<SocketShared>>>,
    /// Spool threads still running: `shutdown` waits for them, so that every spool is closed
    /// (synced, unlocked) when the context is gone.
    spool_threads: Arc<LiveCount>,
}

impl IoThreads {
    /// Starts `count` I/O threads (at least 1, at most [`MAX_IO_THREADS`]).
    pub fn start(count: usize) -> io::Result<Arc<IoThreads>> {
        let count = count.clamp(1, MAX_IO_THREADS);
        let mut polls = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for _ in 0..count {
            let poll = mio::Poll::new()?;
            let waker = mio::Waker::new(poll.registry(), super::WAKER)?;
            threads.push(IoThread {
                queue: Mutex::new(Vec::new()),
                waker,
                thread: Mutex::new(None),
            });
            polls.push(poll);
        }
        let set = Arc::new(IoThreads {
            threads,
            next: AtomicUsize::new(0),
            next_connector: AtomicUsize::new(1),
            failure: OnceLock::new(),
            terminated: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
            spool_threads: Arc::default(),
        });
        for (index, poll) in polls.into_iter().enumerate() {
            let for_thread = Arc::clone(&set);
            let spawned = std::thread::Builder::new()
                .name("zocket-io".into())
                .spawn(move || run_thread(poll, index, for_thread));
            match spawned {
                Ok(handle) => {
                    *set.threads[index]
                        .thread
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(handle);
                }
                Err(e) => {
                    set.shutdown(); // the threads already started
                    return Err(e);
                }
            }
        }
        Ok(set)
    }

    /// How many threads there are.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// The thread that takes the next listener, connector or accepted connection.
    pub fn next_index(&self) -> usize {
        // Relaxed: only spreads work; no other memory depends on it.
        self.next.fetch_add(1, Ordering::Relaxed) % self.threads.len()
    }

    /// A new connector's key: the thread that will run it and its id there, packed as a
    /// connection id is, so that a socket can wake "whichever connection this connector has
    /// now" (`IoWake::FlushConnector`) without knowing it.
    pub fn new_connector(&self) -> ConnId {
        // Relaxed: only uniqueness matters.
        let id = self.next_connector.fetch_add(1, Ordering::Relaxed);
        conn_id(self.next_index(), mio::Token(id))
    }

    /// Queues a command to thread `index`.
    pub fn send_to(&self, index: usize, cmd: Command) {
        if let Some(thread) = self.threads.get(index) {
            thread.send_all(self.failure.get().is_some(), std::iter::once(cmd));
        }
    }

    /// Queues one command to every thread (made by `cmd` for each thread index).
    pub fn broadcast(&self, mut cmd: impl FnMut(usize) -> Command) {
        for index in 0..self.threads.len() {
            self.send_to(index, cmd(index));
        }
    }

    /// Thread `index` (on that thread: for taking its commands).
    pub(super) fn thread(&self, index: usize) -> &IoThread {
        &self.threads[index]
    }

    /// Remembers a socket, so that its blocked callers are woken on shutdown or failure.
    pub fn register(&self, socket: &Arc<SocketShared>) {
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        sockets.retain(|s| s.strong_count() > 0);
        sockets.push(Arc::downgrade(socket));
    }

    /// `Ok` while the context is alive; once it was shut down or a thread died, the error
    /// every call returns.
    pub fn check(&self) -> Result<()> {
        // Acquire: pairs with the Release store in `terminate`.
        if self.terminated.load(Ordering::Acquire) {
            return Err(Error::Terminated);
        }
        match self.failure.get() {
            None => Ok(()),
            Some(reason) => Err(Error::Io(io::Error::other(format!(
                "the zocket I/O thread failed: {reason}"
            )))),
        }
    }

    /// Records why a thread died and wakes every blocked caller. The other threads go on
    /// lingering, but every application call fails from now on.
    fn fail(&self, reason: String) {
        log::error!("a zocket I/O thread failed: {reason}; calls on the context's sockets now fail");
        let _ = self.failure.set(reason);
        // Queued commands are dropped, so callers waiting for a reply return at once.
        for thread in &self.threads {
            drop(std::mem::take(
                &mut *thread.queue.lock().unwrap_or_else(|e| e.into_inner()),
            ));
        }
        self.wake_every_socket();
    }

    /// Makes every blocked and later application call fail with `Terminated` (libzmq
    /// `zmq_ctx_shutdown`). The threads go on: dropped sockets still linger.
    pub fn terminate(&self) {
        // Release: pairs with the Acquire load in `check`.
        self.terminated.store(true, Ordering::Release);
        self.wake_every_socket();
    }

    /// Wakes every blocked caller so that it sees [`IoThreads::check`] fail. Taking each
    /// socket's lock before waking means a caller that checked under it before the change has
    /// registered as a sleeper by then, so it is unparked.
    fn wake_every_socket(&self) {
        let sockets: Vec<Arc<SocketShared>> = self
            .sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for socket in sockets {
            let spool = socket.lock().spool_link().cloned();
            socket.notify();
            if let Some(spool) = spool {
                spool.wake_waiters(); // senders waiting on the spool's quota
            }
        }
    }

    /// Makes the first thread panic and waits for it, to test what callers see.
    #[cfg(test)]
    pub(crate) fn crash(&self) {
        self.send_to(0, Command::Crash);
        self.threads[0].join();
    }

    /// Asks every thread to finish and waits for them (they linger per socket options first).
    pub fn shutdown(&self) {
        self.broadcast(|_| Command::Shutdown);
        for thread in &self.threads {
            thread.join();
        }
        self.spool_threads.wait_zero();
    }

    /// Counts a spool thread in until the returned guard drops.
    pub fn spool_thread_started(&self) -> Live {
        self.spool_threads.enter()
    }
}

/// The body of I/O thread `index`: its event loop, with a panic or a failed poll turned into
/// a context failure that callers see.
fn run_thread(poll: mio::Poll, index: usize, set: Arc<IoThreads>) {
    let reactor = reactor::Reactor::new(poll, index, Arc::clone(&set));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reactor.run()));
    let reason = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(reason)) => reason,
        Err(panic) => panic_reason(panic.as_ref()),
    };
    set.fail(reason);
}

/// The message of a panic, for the log and the callers' error.
fn panic_reason(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("panicked: {text}")
}

impl WakeIo for IoThreads {
    /// Hands each wake-up to the thread that owns its connection.
    fn wake_all(&self, wakes: Wakes) {
        if wakes.is_empty() {
            return;
        }
        let failed = self.failure.get().is_some();
        if self.threads.len() == 1 {
            self.threads[0].send_all(failed, wakes.into_iter().map(Command::Wake));
            return;
        }
        for wake in wakes {
            let (index, _) = split_conn_id(wake.conn());
            if let Some(thread) = self.threads.get(index) {
                thread.send_all(failed, std::iter::once(Command::Wake(wake)));
            }
        }
    }
}
