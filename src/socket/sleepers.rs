//! The threads blocked on one socket, and how they are woken: each parks on its own futex
//! (`std::thread::park`), and whoever changes what they wait for unparks them. This replaces a
//! condition variable, which made the waking thread pass through the sleepers' lock.
//!
//! # Protocol
//!
//! - A thread about to sleep registers itself, then checks its condition, then parks unless
//!   the check said it may go on. It unregisters when it wakes.
//! - A thread that changed the condition then calls [`Sleepers::wake_all`], which unparks
//!   every registered thread, and costs one atomic read-modify-write when none is.
//! - No wake-up is lost: if the waker looked at the count before the sleeper registered, the
//!   sleeper's check comes after the change and sees it; otherwise the waker unparks it, and
//!   an unpark that comes before the park makes the park return at once (a thread keeps one
//!   wake-up token).
//! - A parked thread may also return for no reason (a stray token, a timeout): callers check
//!   their condition again, as with a condition variable.
//!
//! Several threads may sleep on one socket at once (a `recv` and a `send` on a DEALER), which
//! is why this is a list of threads rather than one eventfd: a signal consumed by one sleeper
//! would be lost to the other.

use crate::sync::{AtomicUsize, Mutex, Ordering, thread};
use smallvec::SmallVec;
use std::time::Duration;

/// The threads blocked on one socket.
#[derive(Default)]
pub(crate) struct Sleepers {
    /// How many threads are registered: read by wakers without the list's lock.
    count: AtomicUsize,
    threads: Mutex<SmallVec<[thread::Thread; 2]>>,
}

impl Sleepers {
    /// Registers the calling thread, runs `check` (which says whether the caller may go on
    /// without sleeping), and if it said no, runs `sleep`, which must release what the caller
    /// holds, call [`park`], and take it back. Returns what `check` or `sleep` returned.
    pub(crate) fn sleep_unless<G>(
        &self,
        guard: G,
        check: impl FnOnce(&G) -> bool,
        sleep: impl FnOnce(G) -> G,
    ) -> G {
        let me = thread::current();
        let id = me.id();
        self.lock().push(me);
        // SeqCst RMW: the registration must be visible to a waker's look (`wake_all`) before
        // the check reads what the waker changed (see `attention` for why an RMW).
        self.count.fetch_add(1, Ordering::SeqCst);
        let guard = if check(&guard) { guard } else { sleep(guard) };
        self.count.fetch_sub(1, Ordering::SeqCst);
        let mut threads = self.lock();
        if let Some(at) = threads.iter().position(|t| t.id() == id) {
            threads.swap_remove(at);
        }
        guard
    }

    /// Unparks every registered thread. Cheap when none is.
    pub(crate) fn wake_all(&self) {
        if !self.any() {
            return;
        }
        for sleeper in self.lock().iter() {
            sleeper.unpark();
        }
    }

    /// Whether a thread is registered (a read-modify-write, see `attention`).
    pub(crate) fn any(&self) -> bool {
        self.count.fetch_add(0, Ordering::SeqCst) > 0
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, SmallVec<[thread::Thread; 2]>> {
        self.threads.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parks the calling thread until it is unparked or `timeout` passes (`None`: no limit). It
/// may also return early, for no reason.
pub(crate) fn park(timeout: Option<Duration>) {
    #[cfg(not(all(test, loom)))]
    match timeout {
        None => thread::park(),
        Some(t) => thread::park_timeout(t),
    }
    // loom has no timed park; the models wait without a limit.
    #[cfg(all(test, loom))]
    {
        let _ = timeout;
        thread::park();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    #[test]
    fn a_change_made_before_the_park_still_wakes_the_sleeper() {
        let sleepers = Arc::new(Sleepers::default());
        let flag = Arc::new(AtomicBool::new(false));
        let waker = {
            let (sleepers, flag) = (sleepers.clone(), flag.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                while !sleepers.any() && Instant::now() < deadline {
                    std::thread::yield_now();
                }
                flag.store(true, Ordering::SeqCst);
                sleepers.wake_all(); // may come before the park: the token keeps it
            })
        };
        let started = Instant::now();
        loop {
            sleepers.sleep_unless(
                (),
                |_| flag.load(Ordering::SeqCst),
                |()| park(Some(Duration::from_secs(10))),
            );
            if flag.load(Ordering::SeqCst) {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the wake-up was lost");
        waker.join().unwrap();
        assert!(!sleepers.any());
        assert!(sleepers.lock().is_empty());
    }

    #[test]
    fn a_check_that_passes_does_not_park() {
        let sleepers = Sleepers::default();
        let parked = sleepers.sleep_unless(false, |_| true, |_| true);
        assert!(!parked);
        assert!(!sleepers.any());
    }

    /// Two calls asleep on one socket at once, a `send` held by the high-water mark and a
    /// `recv` with nothing to read: room wakes the send, and a message wakes the recv.
    #[test]
    fn a_blocked_send_and_a_blocked_recv_on_one_socket_each_wake_for_their_own_cause() {
        use crate::{Context, DONTWAIT, SocketType};
        let ctx = Context::new();
        let a = ctx.socket(SocketType::Dealer).unwrap();
        a.set_rcvhwm(1).unwrap();
        a.bind("inproc://two-sleepers").unwrap();
        let b = ctx.socket(SocketType::Dealer).unwrap();
        b.set_sndhwm(1).unwrap();
        b.connect("inproc://two-sleepers").unwrap();
        let mut queued = 0;
        while b.send("queued", DONTWAIT).is_ok() {
            queued += 1;
            assert!(queued <= 2, "the high-water marks hold");
        }
        std::thread::scope(|scope| {
            let sender = scope.spawn(|| b.send("late", 0));
            let receiver = scope.spawn(|| b.recv_bytes(0));
            let deadline = Instant::now() + Duration::from_secs(10);
            while b.shared().sleepers.count.load(Ordering::SeqCst) < 2 {
                assert!(Instant::now() < deadline, "both calls sleep");
                std::thread::yield_now();
            }
            assert_eq!(a.recv_bytes(0).unwrap(), b"queued");
            sender.join().unwrap().expect("room wakes the blocked send");
            assert!(!receiver.is_finished(), "nothing was sent to b");
            a.send("reply", 0).unwrap();
            assert_eq!(receiver.join().unwrap().unwrap(), b"reply");
        });
        let mut rest = Vec::new();
        while let Ok(m) = a.recv_bytes(DONTWAIT) {
            rest.push(m);
        }
        let mut expected = vec![b"queued".to_vec(); queued - 1];
        expected.push(b"late".to_vec());
        assert_eq!(rest, expected, "every message arrives once, in order");
    }

    #[test]
    fn every_sleeper_is_woken() {
        let sleepers = Arc::new(Sleepers::default());
        let flag = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (sleepers, flag) = (sleepers.clone(), flag.clone());
                std::thread::spawn(move || {
                    while !flag.load(Ordering::SeqCst) {
                        sleepers.sleep_unless(
                            (),
                            |_| flag.load(Ordering::SeqCst),
                            |()| park(Some(Duration::from_secs(30))),
                        );
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while sleepers.count.load(Ordering::SeqCst) < 3 {
            assert!(Instant::now() < deadline, "the sleepers never registered");
            std::thread::yield_now();
        }
        let started = Instant::now();
        flag.store(true, Ordering::SeqCst);
        sleepers.wake_all();
        for t in threads {
            t.join().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a sleeper was not woken"
        );
    }
}
