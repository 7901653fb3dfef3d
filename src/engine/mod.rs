//! The I/O thread: one mio `Poll` loop per context, driven by commands from application
//! threads and by socket readiness.

pub(crate) mod acks;
mod connection;
mod connector;
pub(crate) mod fast_path;
mod heartbeat;
mod reactor;

use crate::error::{Error, Result};
use crate::pipe::{IoWake, PipeId};
use crate::socket::shared::SocketShared;
use crate::transport::{Listener, PeerAddr};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;

/// The waker's token; other tokens are handed out from 1 upwards and never reused.
const WAKER: mio::Token = mio::Token(0);

/// What application threads ask of the I/O thread.
pub(crate) enum Command {
    Bind {
        socket: Arc<SocketShared>,
        listener: Listener,
        endpoint: String,
    },
    Connect {
        socket: Arc<SocketShared>,
        endpoint: String,
        addr: PeerAddr,
        /// The pipe created at `connect`, kept across reconnects (None: one per connection).
        pipe: Option<PipeId>,
        /// CONNECT_ROUTING_ID: the routing id to give this peer.
        routing_id: Option<bytes::Bytes>,
    },
    /// Stop listening; `done` is signalled once the listener is closed (the address is free).
    Unbind {
        socket_id: u64,
        endpoint: String,
        done: Done,
    },
    Disconnect {
        socket_id: u64,
        endpoint: String,
    },
    Wake(IoWake),
    /// The application closed the socket: flush per linger, then forget it.
    Close {
        socket_id: u64,
        /// Signalled once the socket's listeners are closed (lingering goes on after).
        done: Done,
    },
    /// The context is gone: finish lingering sockets and exit.
    Shutdown,
    /// Makes the I/O thread panic, to test what callers see when it dies.
    #[cfg(test)]
    Crash,
}

/// A one-shot reply from the I/O thread.
pub(crate) type Done = Option<std::sync::mpsc::SyncSender<()>>;

/// Creates a reply channel for a command whose completion the caller waits for.
pub(crate) fn done_channel() -> (Done, std::sync::mpsc::Receiver<()>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    (Some(tx), rx)
}

/// Waits for a command's completion; the I/O thread answers within microseconds, the bound
/// only guards against a thread that died.
pub(crate) fn wait_done(rx: std::sync::mpsc::Receiver<()>) {
    let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
}

/// The application side's handle on the I/O thread.
pub(crate) struct IoThread {
    queue: Mutex<Vec<Command>>,
    waker: mio::Waker,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Why the thread died, once it has (a panic or a failed poll).
    failure: OnceLock<String>,
    /// The context was shut down: application calls fail with `Terminated`.
    terminated: AtomicBool,
    /// The sockets served, to wake their blocked callers if the thread dies.
    sockets: Mutex<Vec<Weak<SocketShared>>>,
}

impl IoThread {
    /// Starts the I/O thread.
    pub fn start() -> io::Result<Arc<IoThread>> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let io = Arc::new(IoThread {
            queue: Mutex::new(Vec::new()),
            waker,
            thread: Mutex::new(None),
            failure: OnceLock::new(),
            terminated: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&io);
        let handle = std::thread::Builder::new()
            .name("zocket-io".into())
            .spawn(move || {
                let reactor = reactor::Reactor::new(poll, Arc::clone(&for_thread));
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reactor.run()));
                let reason = match outcome {
                    Ok(Ok(())) => return,
                    Ok(Err(reason)) => reason,
                    Err(panic) => panic_reason(panic.as_ref()),
                };
                for_thread.fail(reason);
            })?;
        *io.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(io)
    }

    /// Queues commands; the thread is woken only when the queue was empty.
    pub fn send_all(&self, cmds: impl IntoIterator<Item = Command>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if self.failure.get().is_some() {
            return; // dropped: a caller waiting for a reply sees the channel close
        }
        let was_empty = queue.is_empty();
        queue.extend(cmds);
        if was_empty && !queue.is_empty() {
            drop(queue);
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake the I/O thread: {e}");
            }
        }
    }

    /// Remembers a socket, so that its blocked callers are woken if this thread dies.
    pub fn register(&self, socket: &Arc<SocketShared>) {
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        sockets.retain(|s| s.strong_count() > 0);
        sockets.push(Arc::downgrade(socket));
    }

    /// `Ok` while the context is alive; once it was shut down or its thread died, the
    /// error every call returns.
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

    /// Records why the thread died and wakes every blocked caller.
    fn fail(&self, reason: String) {
        log::error!("the zocket I/O thread failed: {reason}; calls on its sockets now fail");
        let _ = self.failure.set(reason);
        // Queued commands are dropped, so callers waiting for a reply return at once.
        drop(std::mem::take(
            &mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()),
        ));
        self.wake_every_socket();
    }

    /// Makes every blocked and later application call fail with `Terminated` (libzmq
    /// `zmq_ctx_shutdown`). The thread goes on: dropped sockets still linger.
    pub fn terminate(&self) {
        // Release: pairs with the Acquire load in `check`.
        self.terminated.store(true, Ordering::Release);
        self.wake_every_socket();
    }

    /// Wakes every blocked caller so that it sees [`IoThread::check`] fail. Taking each
    /// socket's lock before notifying means a caller that checked before the change is
    /// already waiting, so it is woken.
    fn wake_every_socket(&self) {
        let sockets: Vec<Arc<SocketShared>> = self
            .sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for socket in sockets {
            drop(socket.lock());
            socket.notify();
        }
    }

    pub fn send(&self, cmd: Command) {
        self.send_all(std::iter::once(cmd));
    }

    pub fn wake_all(&self, wakes: crate::pipe::Wakes) {
        if !wakes.is_empty() {
            self.send_all(wakes.into_iter().map(Command::Wake));
        }
    }

    fn take_commands(&self, into: &mut Vec<Command>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *queue, into);
    }

    #[cfg(test)]
    pub(crate) fn crash(&self) {
        self.send(Command::Crash);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// Asks the thread to finish and waits for it (it lingers per socket options first).
    pub fn shutdown(&self) {
        self.send(Command::Shutdown);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
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

#[cfg(test)]
mod tests {
    use crate::{Context, DONTWAIT, Error, POLLIN, PollItem, SocketType};
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    fn is_io_failure(result: crate::Result<impl std::fmt::Debug>) -> bool {
        matches!(result, Err(Error::Io(e)) if e.to_string().contains("I/O thread failed"))
    }

    /// A dead I/O thread leaves no caller hanging: blocked `recv` and `poll` return an
    /// error, and so does every later call.
    #[test]
    fn a_dead_io_thread_fails_blocked_and_later_calls() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let other = ctx.socket(SocketType::Pull).unwrap();
        std::thread::scope(|scope| {
            let blocked_recv = scope.spawn(|| {
                let started = Instant::now();
                (pull.recv_bytes(0), started.elapsed())
            });
            let blocked_poll = scope.spawn(|| {
                let mut items = [PollItem::new(&other, POLLIN)];
                crate::poll(&mut items, None)
            });
            let deadline = Instant::now() + Duration::from_secs(5);
            while pull.shared().waiters.load(Ordering::SeqCst) == 0 || !other.shared().has_watchers() {
                assert!(Instant::now() < deadline, "both calls block");
                std::thread::yield_now();
            }
            pull.io().crash();
            let (result, _) = blocked_recv.join().unwrap();
            assert!(is_io_failure(result), "a blocked recv fails");
            assert!(
                is_io_failure(blocked_poll.join().unwrap()),
                "a blocked poll fails"
            );
        });
        assert!(is_io_failure(pull.recv_bytes(DONTWAIT)));
        let push = ctx.socket(SocketType::Push);
        assert!(is_io_failure(push.map(|_| ())), "a new socket fails");
        assert!(is_io_failure(pull.bind("tcp://127.0.0.1:0")));
    }
}
