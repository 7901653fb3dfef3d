//! The context: owns the I/O thread shared by its sockets.

use crate::core::SocketShared;
use crate::engine::IoThread;
use crate::error::Result;
use crate::socket::Socket;
use crate::socket_type::SocketType;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A zocket context: the I/O thread and the sockets that use it.
///
/// Cloning is cheap and shares the same I/O thread. The thread starts with the first socket.
/// When the last clone and the last socket are dropped, the context flushes what sockets
/// still hold (each for at most its linger period, 2 s by default) and joins the thread, so a
/// program never hangs at exit for longer than the largest linger it set.
#[derive(Clone, Default)]
pub struct Context {
    inner: Arc<ContextInner>,
}

#[derive(Default)]
pub(crate) struct ContextInner {
    io: Mutex<Option<Arc<IoThread>>>,
    next_socket: AtomicU64,
}

impl Context {
    /// A new context. No thread is started until the first socket.
    pub fn new() -> Context {
        Context::default()
    }

    /// Opens a socket of the given type.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        let io = self.inner.io()?;
        io.check()?;
        let id = self.inner.next_socket.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = Arc::new(SocketShared::new(id, socket_type));
        io.register(&shared);
        Ok(Socket::new(shared, io, Arc::clone(&self.inner)))
    }
}

impl ContextInner {
    fn io(&self) -> Result<Arc<IoThread>> {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(io) = &*io {
            return Ok(Arc::clone(io));
        }
        let started = IoThread::start()?;
        *io = Some(Arc::clone(&started));
        Ok(started)
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        let io = self.io.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(io) = io {
            io.shutdown();
        }
    }
}
