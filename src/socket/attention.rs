//! How a thread that writes without the socket's lock (a connection handing messages over
//! through its pipe, an inproc peer) wakes a caller that waits under the lock: no wake-up is
//! lost, and nobody pays a system call while nobody waits.
//!
//! # Protocol
//!
//! - The writer publishes (flushes its pipe, closes it, makes room), raises the socket's
//!   `attention` flag, then looks for waiters ([`announce`]).
//! - A caller about to wait counts itself among the waiters, then looks at the flag
//!   ([`wait_unless_raised`]).
//! - One of them sees the other (Dekker's pattern): the caller sees the flag and looks again
//!   instead of sleeping, or the writer sees the caller and notifies. Each side's look is a
//!   read-modify-write, not a load: an RMW reads the latest value of its location, so the
//!   argument holds under acquire/release alone. With plain SeqCst loads it needs SeqCst's
//!   single total order, which loom does not model (it treats SeqCst as AcqRel and finds the
//!   lost wake-up that real SeqCst forbids).
//! - The writer passes through the socket's lock before it notifies. A caller that counted
//!   itself holds the lock until its condition variable has put it to sleep, so the
//!   notification cannot fall between the caller's look and its sleep.
//! - Whoever syncs the pipes clears the flag before reading them (`sync_polled`), so a flag
//!   raised during the read survives for the next look.
//!
//! The loom model `loom_attention_no_wake_up_is_lost` checks this under every interleaving.

use crate::sync::{AtomicBool, AtomicUsize, Ordering};

/// Writer side, after publishing: raises `attention`; if a caller counted itself in
/// `waiters`, or `other_watchers` says someone else listens, passes through the socket's lock
/// with `pass_lock`, then wakes them with `notify`.
pub(crate) fn announce(
    attention: &AtomicBool,
    waiters: &AtomicUsize,
    other_watchers: impl FnOnce() -> bool,
    pass_lock: impl FnOnce(),
    notify: impl FnOnce(),
) {
    attention.swap(true, Ordering::SeqCst);
    if waiters.fetch_add(0, Ordering::SeqCst) > 0 || other_watchers() {
        pass_lock();
        notify();
    }
}

/// Caller side, holding the socket's lock as `guard`: counts itself in `waiters`, then sleeps
/// with `sleep` (which releases the lock while it sleeps and takes it back) unless
/// `attention` was raised since the caller last looked. Returns the guard either way: the
/// caller looks again.
pub(crate) fn wait_unless_raised<G>(
    attention: &AtomicBool,
    waiters: &AtomicUsize,
    guard: G,
    sleep: impl FnOnce(G) -> G,
) -> G {
    waiters.fetch_add(1, Ordering::SeqCst);
    let guard = if attention.fetch_or(false, Ordering::SeqCst) {
        guard
    } else {
        sleep(guard)
    };
    waiters.fetch_sub(1, Ordering::SeqCst);
    guard
}

#[cfg(all(test, loom))]
mod loom_tests;
