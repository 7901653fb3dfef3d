//! An async face for tokio (the `tokio` feature): [`AsyncSocket`] waits on the socket's
//! readiness descriptor with tokio's `AsyncFd`, so a task waits without a thread.
//!
//! Any reactor that can wait on a file descriptor works the same way, without this feature
//! (tokio's own `AsyncFd` since 1.54 asks for `unsafe` to register any descriptor; the
//! condition holds for a `Socket`, whose descriptor stays open and the same until it drops):
//! `Socket` implements [`AsFd`](std::os::fd::AsFd), and the loop is the one below. Try the
//! operation with [`DONTWAIT`]; on [`Error::WouldBlock`], wait until the descriptor is
//! readable, call [`Socket::events`] (which consumes the signal), and try again. With
//! async-io (smol, async-std), `Async::new(socket)?` and `async_socket.readable().await`;
//! with mio, register `SourceFd(&socket.as_raw_fd())` for `READABLE`, edge-triggered.

use crate::error::{Error, Result};
use crate::{DONTWAIT, IntoFrame, Message, Socket};
use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;

/// A [`Socket`] whose sends and receives are `async`: they wait on tokio's reactor instead of
/// blocking a thread. The socket's options, `bind` and `connect` are reached through
/// [`AsyncSocket::get_ref`].
///
/// # Examples
///
/// ```
/// use zocket::tokio::AsyncSocket;
/// use zocket::{Context, SocketType};
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
/// runtime.block_on(async {
///     let ctx = Context::new();
///     let pull = AsyncSocket::new(ctx.socket(SocketType::Pull)?)?;
///     pull.get_ref().bind("tcp://127.0.0.1:0")?;
///     let push = AsyncSocket::new(ctx.socket(SocketType::Push)?)?;
///     push.get_ref().connect(&pull.get_ref().last_endpoint()?)?;
///     push.send("hello").await?;
///     assert_eq!(pull.recv().await?.as_str(), Some("hello"));
///     Ok::<(), zocket::Error>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AsyncSocket {
    inner: AsyncFd<Socket>,
}

impl AsyncSocket {
    /// Wraps `socket`. Must be called within a tokio runtime with its I/O driver enabled
    /// (otherwise an [`Error::Io`]).
    pub fn new(socket: Socket) -> Result<AsyncSocket> {
        if ::tokio::runtime::Handle::try_current().is_err() {
            let e = std::io::Error::other("zocket::tokio::AsyncSocket needs a tokio runtime");
            return Err(Error::Io(e));
        }
        // SAFETY: the descriptor is the socket's readiness descriptor, which the socket owns
        // and keeps open, unchanged, until it is dropped; `as_raw_fd` always returns it.
        let inner = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) };
        let inner = inner.map_err(|e| Error::Io(std::io::Error::from(e)))?;
        Ok(AsyncSocket { inner })
    }

    /// The socket, for its options, `bind`, `connect` and non-blocking calls.
    pub fn get_ref(&self) -> &Socket {
        self.inner.get_ref()
    }

    /// Unwraps the socket.
    pub fn into_inner(self) -> Socket {
        self.inner.into_inner()
    }

    /// Runs `op` with [`DONTWAIT`] until it no longer would block, waiting on the readiness
    /// descriptor in between.
    async fn retry<T>(&self, mut op: impl FnMut(&Socket) -> Result<T>) -> Result<T> {
        loop {
            match op(self.get_ref()) {
                Err(Error::WouldBlock) => {}
                done => return done,
            }
            let mut ready = self.inner.readable().await?;
            // The signal is consumed before trying again: one that comes after the attempt
            // makes the descriptor readable anew.
            ready.clear_ready();
            self.get_ref().events();
        }
    }

    /// Sends a one-frame message.
    pub async fn send(&self, msg: impl IntoFrame + Clone) -> Result<()> {
        self.retry(|s| s.send(msg.clone(), DONTWAIT)).await
    }

    /// Sends a whole multipart message atomically.
    pub async fn send_multipart<M: AsRef<[u8]>>(&self, parts: &[M]) -> Result<()> {
        self.retry(|s| s.send_multipart(parts.iter().map(|p| p.as_ref()), DONTWAIT))
            .await
    }

    /// Receives one frame (see [`Socket::recv_msg`]).
    pub async fn recv(&self) -> Result<Message> {
        self.retry(|s| s.recv_msg(DONTWAIT)).await
    }

    /// Receives a whole multipart message.
    pub async fn recv_multipart(&self) -> Result<Vec<Vec<u8>>> {
        self.retry(|s| s.recv_multipart(DONTWAIT)).await
    }
}
