//! How a thread that writes without the socket's lock (a connection handing messages over
//! through its pipe, an inproc peer) wakes a caller blocked on the socket: no wake-up is lost,
//! the writer never takes the socket's lock, and nobody pays a system call while nobody
//! sleeps.
//!
//! # Protocol
//!
//! - The writer publishes (flushes its pipe, closes it, makes room), raises the socket's
//!   `attention` flag, then looks for sleepers ([`announce`]).
//! - A caller about to sleep registers itself among the sleepers, then looks at the flag
//!   ([`wait_unless_raised`]).
//! - One of them sees the other (Dekker's pattern): the caller sees the flag and looks again
//!   instead of sleeping, or the writer sees the caller and unparks it (see
//!   [`Sleepers`](super::sleepers::Sleepers): an unpark before the park is not lost). Each
//!   side's look is a read-modify-write, not a load: an RMW reads the latest value of its
//!   location, so the argument holds under acquire/release alone. With plain SeqCst loads it
//!   needs SeqCst's single total order, which loom does not model (it treats SeqCst as AcqRel
//!   and finds the lost wake-up that real SeqCst forbids).
//! - Whoever syncs the pipes clears the flag before reading them (`sync_polled`), so a flag
//!   raised during the read survives for the next look.
//!
//! The loom model `loom_attention_no_wake_up_is_lost` checks this under every interleaving.

use super::sleepers::Sleepers;
use crate::sync::{AtomicBool, Ordering};

/// Writer side, after publishing: raises `attention`; if a caller sleeps, or
/// `other_watchers` says someone else listens, wakes them with `notify`.
pub(crate) fn announce(
    attention: &AtomicBool,
    sleepers: &Sleepers,
    other_watchers: impl FnOnce() -> bool,
    notify: impl FnOnce(),
) {
    attention.swap(true, Ordering::SeqCst);
    if sleepers.any() || other_watchers() {
        notify();
    }
}

/// Caller side, holding the socket's lock as `guard`: registers among `sleepers`, then
/// sleeps with `sleep` (which releases the lock, parks, and takes the lock back) unless
/// `attention` was raised since the caller last looked. Returns the guard either way: the
/// caller looks again.
pub(crate) fn wait_unless_raised<G>(
    attention: &AtomicBool,
    sleepers: &Sleepers,
    guard: G,
    sleep: impl FnOnce(G) -> G,
) -> G {
    sleepers.sleep_unless(guard, |_| attention.fetch_or(false, Ordering::SeqCst), sleep)
}

#[cfg(all(test, loom))]
mod loom_tests;
