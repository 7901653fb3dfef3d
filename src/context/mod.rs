//! The context: owns the I/O thread shared by its sockets.

pub(crate) mod shared;

use shared::ContextInner;

use crate::error::{Error, Result};
use crate::socket::Socket;
use crate::socket::shared::SocketShared;
use crate::socket_type::SocketType;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A zocket context: the I/O thread and the sockets that use it.
///
/// Cloning is cheap and shares the same I/O thread. The thread starts with the first socket.
///
/// # Lifecycle
///
/// - [`Context::shutdown`] makes every blocked and later call on the context's sockets
///   (`send`, `recv`, [`crate::poll`], [`crate::proxy`], `bind`, `connect`) return
///   [`Error::Terminated`] at once, like libzmq's `zmq_ctx_shutdown`. Sockets must still be
///   dropped; what they queued is still delivered for their linger period.
/// - [`Context::term`] shuts down, then waits until every socket is dropped and has finished
///   lingering, and stops the I/O thread (libzmq's `zmq_ctx_term`).
/// - Dropping the last `Context` handle while sockets are alive does not stop them: each
///   socket holds the context, so the sockets keep working, and the I/O thread stops once the
///   last socket is dropped too. Code that hands sockets to other threads and lets the
///   context go out of scope keeps working, as it does with rust-zmq. When the last handle
///   and the last socket are gone, the context flushes what sockets still hold (each for at
///   most its linger period, 2 s by default) and joins the thread, so a program never hangs
///   at exit for longer than the largest linger it set.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zocket::{Context, Error, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("tcp://127.0.0.1:0")?;
/// let waiter = std::thread::spawn(move || pull.recv_bytes(0)); // blocks: nobody sends
/// ctx.shutdown();
/// assert!(matches!(waiter.join().unwrap(), Err(Error::Terminated)));
/// ctx.term(); // every socket is gone: returns at once
/// # Ok::<(), zocket::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl Context {
    /// A new context with one I/O thread. No thread is started until the first socket.
    pub fn new() -> Context {
        Context::default()
    }

    /// A new context whose connections are spread over `count` I/O threads (libzmq
    /// `ZMQ_IO_THREADS`; 1 to 64, the default is 1). Each connection stays on one thread, and
    /// a socket's connections may be on different threads.
    ///
    /// One thread moves several GB/s and millions of small messages per second, and every
    /// thread costs a core when busy. Raise it only when a profile shows the I/O thread
    /// saturated with many busy connections and the machine has idle cores; with one busy
    /// connection a second thread changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::with_io_threads(2);
    /// let pull = ctx.socket(zocket::SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:0")?;
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn with_io_threads(count: usize) -> Context {
        let mut inner = ContextInner::default();
        inner.io_threads = count.clamp(1, crate::engine::MAX_IO_THREADS);
        Context {
            inner: Arc::new(inner),
        }
    }

    /// A handle on the context a socket belongs to.
    pub(crate) fn from_inner(inner: Arc<ContextInner>) -> Context {
        Context { inner }
    }

    /// Opens a socket of the given type.
    ///
    /// # Errors
    ///
    /// [`Error::Terminated`] after [`Context::shutdown`]; [`Error::Io`] if the I/O thread
    /// cannot be started, or the socket's readiness descriptor cannot be made (out of file
    /// descriptors: each socket holds two, as libzmq's holds one).
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        if self.inner.terminated.load(Ordering::Acquire) {
            return Err(Error::Terminated);
        }
        let io = self.inner.io()?;
        io.check()?;
        let id = self.inner.next_socket.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = Arc::new(SocketShared::new(id, socket_type));
        io.register(&shared);
        let socket = Socket::new(shared, io, Arc::clone(&self.inner));
        if socket.is_ok() {
            *self.inner.lock_live() += 1;
        }
        socket
    }

    /// Makes every blocked and later call on this context's sockets return
    /// [`Error::Terminated`] (libzmq `zmq_ctx_shutdown`); blocked calls return within
    /// milliseconds. The sockets must still be dropped; what they queued is delivered for
    /// their linger period as usual. Calling it again does nothing.
    pub fn shutdown(&self) {
        // Release: pairs with the Acquire load in `socket`.
        self.inner.terminated.store(true, Ordering::Release);
        let io = self.inner.io.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(io) = io {
            io.terminate();
        }
    }

    /// Shuts the context down ([`Context::shutdown`]), waits until every socket is dropped
    /// and has finished lingering, then stops the I/O thread (libzmq `zmq_ctx_term`). Blocks
    /// for as long as any socket of the context is alive: drop them (a thread blocked in a
    /// call on one returns [`Error::Terminated`] and can then drop it).
    pub fn term(self) {
        self.shutdown();
        let mut live = self.inner.lock_live();
        while *live > 0 {
            live = self
                .inner
                .all_closed
                .wait(live)
                .unwrap_or_else(|e| e.into_inner());
        }
        drop(live);
        let io = self.inner.io.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(io) = io {
            io.shutdown(); // lingers, then joins the thread
        }
    }
}
