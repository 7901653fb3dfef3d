//! A readiness file descriptor for plugging a socket into another event loop (what libzmq's
//! `ZMQ_FD` does): it becomes readable when the socket's readiness may have changed.

use super::shared::{SocketShared, Watcher};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
