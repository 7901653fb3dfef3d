//! A readiness file descriptor for plugging a socket into another event loop (what libzmq's
//! `ZMQ_FD` does): it becomes readable when the socket's readiness may have changed.
//!
//! It is the mailbox's signal (`mailbox::signal`): an eventfd, watched by an epoll descriptor
//! of its own, which is the descriptor handed out. At most one signal is outstanding: a
//! notification raises it only if none is pending, and [`ReadinessFd::clear`] marks it no
//! longer pending only once it has consumed it.

use super::shared::{SocketShared, Watcher};
use crate::mailbox::signal::real::{self, Signal, Wait};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A file descriptor that becomes readable when a socket's readiness may have changed.
pub(crate) struct ReadinessFd {
    signal: Signal,
    wait: Mutex<Wait>,
    fd: RawFd,
    /// A signal was raised (or is about to be) and not consumed yet.
    pending: AtomicBool,
}

impl ReadinessFd {
    pub fn new() -> std::io::Result<ReadinessFd> {
        let (signal, wait) = real::new()?;
        let fd = wait.fd().as_raw_fd();
        // Not pending: the first notification (at registration) raises the first signal.
        Ok(ReadinessFd {
            signal,
            wait: Mutex::new(wait),
            fd,
            pending: AtomicBool::new(false),
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd
    }

    /// Consumes the signal, before the caller checks readiness.
    pub fn clear(&self) {
        // Acquire: pairs with `notify`'s swap, so that what the notifier changed is seen by
        // the readiness check that follows.
        if !self.pending.load(Ordering::Acquire) {
            return;
        }
        let mut wait = self.wait.lock().unwrap_or_else(|e| e.into_inner());
        // A notifier may have marked the signal pending and not raised it yet: then nothing
        // is consumed, the signal stays pending, and the descriptor turns readable when it
        // comes, which is a spurious wake-up at worst.
        if matches!(wait.wait(&self.signal, Some(Duration::ZERO)), Ok(true)) {
            // AcqRel RMW: a notify that came between the consume and here saw `pending` set
            // and raised nothing; reading its write makes its change visible to our caller.
            self.pending.swap(false, Ordering::AcqRel);
        }
    }
}

impl Watcher for ReadinessFd {
    fn notify(&self) {
        if !self.pending.swap(true, Ordering::AcqRel)
            && let Err(e) = self.signal.raise()
        {
            log::warn!("could not signal a socket's readiness descriptor: {e}");
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_signal_is_outstanding_until_cleared() {
        let fd = ReadinessFd::new().unwrap();
        fd.notify();
        fd.notify();
        assert_eq!(fd.signal.counts(), (1, 1), "the second notify raises nothing");
        fd.clear();
        assert_eq!(fd.signal.counts(), (1, 0), "clear consumes the signal");
        fd.clear();
        assert_eq!(fd.signal.counts(), (1, 0), "nothing pending: nothing to consume");
        fd.notify();
        assert_eq!(fd.signal.counts(), (2, 1), "the next change signals again");
    }

    #[test]
    fn a_signal_marked_but_not_raised_stays_pending() {
        let fd = ReadinessFd::new().unwrap();
        // A notifier between its swap and its raise, as `clear` may find it.
        fd.pending.store(true, Ordering::SeqCst);
        fd.clear();
        assert!(fd.pending.load(Ordering::SeqCst), "nothing was consumed");
        fd.signal.raise().unwrap(); // the notifier goes on
        fd.clear();
        assert!(!fd.pending.load(Ordering::SeqCst));
        assert_eq!(fd.signal.counts(), (1, 0));
    }
}
