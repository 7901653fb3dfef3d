//! Plugging a socket into another event loop: `events()`, the readiness descriptor
//! (libzmq's `ZMQ_FD`) and `AsFd`, which tokio's `AsyncFd`, async-io (smol, async-std) and
//! mio's `SourceFd` all take.

use super::{POLLIN, POLLOUT, Socket, readiness};
use crate::error::Result;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

impl Socket {
    /// The events ready now: [`crate::POLLIN`] and/or [`crate::POLLOUT`] (libzmq
    /// `ZMQ_EVENTS`). Also consumes the signal of [`Socket::readiness_fd`].
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let push = ctx.socket(zocket::SocketType::Push)?;
    /// assert_eq!(push.events() & zocket::POLLIN, 0);
    /// # Ok::<(), zocket::Error>(())
    /// ```
    #[doc(alias = "get_events")]
    pub fn events(&self) -> i16 {
        if self.readiness_watched.is_completed() {
            self.readiness.clear();
        }
        let mut events = 0;
        if self.can_recv() {
            events |= POLLIN;
        }
        if self.can_send() {
            events |= POLLOUT;
        }
        events
    }

    /// A file descriptor for another event loop (libzmq `ZMQ_FD`): it becomes readable when
    /// this socket's readiness may have changed. The same descriptor is what
    /// [`AsFd`](std::os::fd::AsFd) gives.
    ///
    /// The contract is libzmq's, edge-triggered:
    /// - The fd is readable right after this first call, so that messages that arrived before
    ///   anyone watched are not missed: start by calling [`Socket::events`].
    /// - It is a signal, not a level. After it fires, call [`Socket::events`] (which resets
    ///   it), then receive (or send) until [`crate::Error::WouldBlock`]; only then wait on the
    ///   fd again. Waiting while `events()` still reports `POLLIN` may wait forever.
    /// - Wake-ups can be spurious: `events()` may report nothing new.
    ///
    /// The fd belongs to the socket: do not read from or close it. It is made with the socket
    /// (so this never fails); the socket watches its own readiness for it only from the first
    /// time it is asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let pull = ctx.socket(zocket::SocketType::Pull)?;
    /// let fd = pull.readiness_fd()?;
    /// assert!(fd > 2);
    /// # Ok::<(), zocket::Error>(())
    /// ```
    #[doc(alias = "get_fd")]
    pub fn readiness_fd(&self) -> Result<RawFd> {
        Ok(self.watched_readiness().raw_fd())
    }

    /// An item for [`crate::poll`] watching this socket for `events` (the same as
    /// [`crate::PollItem::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = zocket::Context::new();
    /// let push = ctx.socket(zocket::SocketType::Push)?;
    /// let mut items = [push.as_poll_item(zocket::POLLIN)];
    /// assert_eq!(zocket::poll(&mut items, Some(Duration::ZERO))?, 0);
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn as_poll_item(&self, events: i16) -> crate::PollItem<'_> {
        crate::PollItem::new(self, events)
    }

    pub(crate) fn watched_readiness(&self) -> &readiness::ReadinessFd {
        self.readiness_watched
            .call_once(|| readiness::watch_with_fd(&self.shared, &self.readiness));
        &self.readiness
    }
}

/// The readiness descriptor ([`Socket::readiness_fd`]), for reactors that wait on a file
/// descriptor, with its edge-triggered contract.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// let ctx = zocket::Context::new();
/// let pull = ctx.socket(zocket::SocketType::Pull)?;
/// let fd = pull.as_fd();
/// # let _ = fd;
/// # Ok::<(), zocket::Error>(())
/// ```
impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor is owned by `self.readiness`, which lives as long as `self`.
        unsafe { BorrowedFd::borrow_raw(self.watched_readiness().raw_fd()) }
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.watched_readiness().raw_fd()
    }
}
