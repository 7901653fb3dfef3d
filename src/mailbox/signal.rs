//! The wake-up behind a mailbox: raised by a sender when the receiver slept, waited on by the
//! receiver, and (std build) pollable through a file descriptor.
//!
//! # Implementation notes
//!
//! The std build uses mio: an eventfd-backed [`mio::Waker`] registered in a [`mio::Poll`] of
//! its own. The crate may use neither `libc` nor `rustix`, std has no eventfd, and mio keeps
//! its waker's eventfd private; but the `Poll`'s epoll descriptor is itself pollable, readable
//! exactly while the waker has fired and the receiver has not yet consumed it (mio registers
//! with `EPOLLET`, so each eventfd write queues one event and `epoll_wait` takes it off). That
//! descriptor is the readiness fd, and waiting with a timeout is `Poll::poll`. It costs two
//! descriptors per mailbox instead of one.
//!
//! The loom build cannot run an eventfd: it counts signals under a loom `Mutex` and waits on a
//! loom `Condvar`, so that the models can assert on the count.

#[cfg(not(all(test, loom)))]
pub(super) use self::real::{Signal, Wait, new};

#[cfg(all(test, loom))]
pub(super) use self::model::{Signal, Wait, new};

/// Compiled in every build: the sockets' readiness descriptors use it directly (they are not
/// modelled), and the loom build only runs the models.
pub(crate) mod real {
    use crate::sync::{AtomicUsize, Ordering};
    use mio::{Events, Poll, Token, Waker};
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd};
    use std::time::{Duration, Instant};

    /// The sending side: raises the signal.
    pub(crate) struct Signal {
        waker: Waker,
        /// Signals raised and not yet consumed: at most one, checked in debug builds.
        unconsumed: AtomicUsize,
        /// Signals raised since the start, for the tests.
        #[cfg(test)]
        raised: AtomicUsize,
    }

    /// The receiving side: waits for the signal and consumes it.
    pub(crate) struct Wait {
        poll: Poll,
        events: Events,
    }

    const WAKER: Token = Token(0);

    pub(crate) fn new() -> io::Result<(Signal, Wait)> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let signal = Signal {
            waker,
            unconsumed: AtomicUsize::new(0),
            #[cfg(test)]
            raised: AtomicUsize::new(0),
        };
        let wait = Wait {
            poll,
            events: Events::with_capacity(1),
        };
        Ok((signal, wait))
    }

    impl Signal {
        /// Wakes the receiver. Called once per sleep of the receiver.
        pub(crate) fn raise(&self) -> io::Result<()> {
            // Release: pairs with the Acquire swap in `consumed`; the eventfd write and the
            // epoll report in between are the real hand-off, this keeps the count in step.
            let before = self.unconsumed.fetch_add(1, Ordering::Release);
            debug_assert_eq!(before, 0, "two signals for one sleep");
            // Relaxed: a statistic read after the threads are joined.
            #[cfg(test)]
            self.raised.fetch_add(1, Ordering::Relaxed);
            self.waker.wake()
        }

        /// Signals raised since the start, and how many of them are not consumed.
        #[cfg(test)]
        pub(crate) fn counts(&self) -> (usize, usize) {
            // Relaxed: read after the threads that raise are joined.
            (
                self.raised.load(Ordering::Relaxed),
                self.unconsumed.load(Ordering::Relaxed),
            )
        }

        /// Records that the receiver consumed the signal.
        fn consumed(&self) {
            // Acquire: pairs with the Release in `raise`.
            let before = self.unconsumed.swap(0, Ordering::Acquire);
            debug_assert_eq!(before, 1, "one signal consumed per sleep");
        }
    }

    impl Wait {
        /// Waits until the signal is raised or `timeout` passes (`None`: no limit), and
        /// consumes it. Returns whether it was raised.
        ///
        /// # Errors
        /// What `epoll_wait` returns, except `EINTR`, after which it waits again.
        pub(crate) fn wait(&mut self, signal: &Signal, timeout: Option<Duration>) -> io::Result<bool> {
            // A deadline beyond what `Instant` holds is no deadline.
            let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
            loop {
                let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                match self.poll.poll(&mut self.events, remaining) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
                if !self.events.is_empty() {
                    signal.consumed();
                    return Ok(true);
                }
                // No event: a timeout, or a spurious return of `epoll_wait`.
                if remaining.is_some_and(|r| r.is_zero()) {
                    return Ok(false);
                }
            }
        }

        /// The pollable descriptor: readable while a signal is raised and not consumed.
        pub(crate) fn fd(&self) -> BorrowedFd<'_> {
            self.poll.registry().as_fd()
        }
    }
}

#[cfg(all(test, loom))]
mod model {
    use crate::sync::{Condvar, Mutex};
    use std::io;
    use std::time::Duration;

    /// Counts signals for the models.
    pub(in crate::mailbox) struct Signal {
        counts: Mutex<Counts>,
        raised_cond: Condvar,
    }

    #[derive(Default)]
    struct Counts {
        /// Raised and not yet consumed.
        pending: usize,
        /// Raised since the start.
        raised: usize,
    }

    /// Waits on [`Signal`]'s count.
    pub(in crate::mailbox) struct Wait;

    pub(in crate::mailbox) fn new() -> io::Result<(Signal, Wait)> {
        let signal = Signal {
            counts: Mutex::new(Counts::default()),
            raised_cond: Condvar::new(),
        };
        Ok((signal, Wait))
    }

    impl Signal {
        pub(in crate::mailbox) fn raise(&self) -> io::Result<()> {
            let mut counts = self.counts.lock().unwrap();
            assert_eq!(counts.pending, 0, "two signals for one sleep");
            counts.pending += 1;
            counts.raised += 1;
            self.raised_cond.notify_one();
            Ok(())
        }

        /// Signals raised since the start, and how many of them are not consumed.
        pub(in crate::mailbox) fn counts(&self) -> (usize, usize) {
            let counts = self.counts.lock().unwrap();
            (counts.raised, counts.pending)
        }
    }

    impl Wait {
        /// As the std version; loom has no clock, so any timeout means "do not block".
        pub(in crate::mailbox) fn wait(
            &mut self,
            signal: &Signal,
            timeout: Option<Duration>,
        ) -> io::Result<bool> {
            let mut counts = signal.counts.lock().unwrap();
            while counts.pending == 0 {
                if timeout.is_some() {
                    return Ok(false);
                }
                counts = signal.raised_cond.wait(counts).unwrap();
            }
            assert_eq!(counts.pending, 1, "one signal consumed per sleep");
            counts.pending = 0;
            Ok(true)
        }
    }
}
