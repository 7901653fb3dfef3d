//! A spooled socket's delivery, off the I/O threads: sending threads append to the spool,
//! I/O threads report confirmations, lost deliveries and room, and the socket's spool thread
//! does everything else that touches the disk (reads back, acknowledgements and their
//! syncs) and routes what it read into the pipes.
//!
//! The spool and its bookkeeping are behind their own lock, which no I/O thread takes: a
//! slow disk or an fsync stalls this socket's spool thread and its senders, never the reactor
//! or another socket. The spool thread takes the socket's lock only for the moment it queues
//! messages that were already read; a sender holds it across its append, to route the
//! message at once when a pipe has room (`append_routed`). Lock order: the socket's, then
//! the delivery's, then the work queue's.

use super::delivery::Delivery;
use super::shared::{SocketShared, WakeIo};
use super::sleepers::{Sleepers, park};
use crate::live_count::Live;
use crate::message::Frame;
use crate::spool::{Spool, SpoolError};
use bytes::Bytes;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Instant;

/// Messages the spool thread reads back per trip to the socket's lock. Each trip takes the
/// spool's lock twice and the socket's once, syncs the polled pipes and may wake the I/O
/// thread: measured at 64 B (2M messages, a sender running ahead), 32 cost the sender
/// 822-842 ns a message, 256 709-742 (128 and 1024 in between).
const ROUTE_BATCH: usize = 256;
/// Payload bytes the spool thread reads back per trip at most (what 32 messages of 64 KiB
/// took before the batch grew): the spool's lock is held while it reads them.
const ROUTE_BATCH_BYTES: usize = 2 << 20;

/// What the spool thread has been asked to do.
#[derive(Default)]
struct Work {
    confirmed: Vec<u64>,
    requeued: Vec<u64>,
    /// Pipes may have room, a peer appeared, or messages were appended.
    route: bool,
    stop: bool,
    /// Ask the check-back again about prepared batches it did not know (`batch`).
    recheck: bool,
    /// Send again everything in flight (a receiver that keeps receipts connected again).
    requeue_in_flight: bool,
    /// Re-queues were taken by the spool thread and are not applied to the delivery yet:
    /// senders must not route newer messages meanwhile. Survives the taking, like `stop`.
    requeues_applying: bool,
    /// The spool thread waits for work: a request must wake it (otherwise it will see the
    /// request when it looks next, and waking it would cost a system call per request).
    idle: bool,
}

impl Work {
    /// Whether lost deliveries wait to be re-queued, or are being re-queued.
    fn requeues_waiting(&self) -> bool {
        !self.requeued.is_empty() || self.requeue_in_flight || self.requeues_applying
    }
}

/// The delivery shared by a socket's threads (see the module documentation).
pub(crate) struct SpoolLink {
    delivery: Mutex<Delivery>,
    /// Senders blocked on the quota, woken when confirmations free room under it.
    room: Sleepers,
    work: Mutex<Work>,
    work_ready: Condvar,
    stream_id: u64,
    /// Mirrors of the bookkeeping for the I/O threads: the acknowledged mark (sent with each
    /// spooled message) and whether everything appended is confirmed (for the linger).
    low: AtomicU64,
    drained: AtomicBool,
    /// Mirrors [`Work::requeues_waiting`], stored under the work's lock at each change, for
    /// the sending threads' look per append.
    requeues: AtomicBool,
    /// The application's check-back for prepared batches left by an earlier run, and the
    /// batches it answered `Unknown` about, asked again every [`RECHECK`] (`batch`).
    pub(super) checkback: Mutex<Option<super::batch::CheckbackFn>>,
    pub(super) undecided: Mutex<Vec<u64>>,
    /// When the spool thread asks about `undecided` again.
    pub(super) next_recheck: Mutex<Instant>,
    /// The spool's group commit, if it syncs every append: appends sync after the lock.
    group: Option<Arc<dyn crate::spool::GroupSync>>,
}

/// How often prepared batches the check-back did not know are asked about again.
pub(super) const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

impl SpoolLink {
    fn new(mut spool: Box<dyn Spool>) -> SpoolLink {
        let stream_id = spool.stream_id();
        let group = spool.group_sync();
        let delivery = Delivery::new(spool);
        let link = SpoolLink {
            low: AtomicU64::new(delivery.low_water()),
            drained: AtomicBool::new(delivery.is_drained()),
            requeues: AtomicBool::new(false),
            delivery: Mutex::new(delivery),
            room: Sleepers::default(),
            work: Mutex::new(Work::default()),
            work_ready: Condvar::new(),
            stream_id,
            checkback: Mutex::new(None),
            undecided: Mutex::new(Vec::new()),
            next_recheck: Mutex::new(Instant::now()),
            group,
        };
        link.request(|w| w.route = true); // messages left by an earlier run go first
        link
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Delivery> {
        self.delivery.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn publish(&self, delivery: &Delivery) {
        // Stored only when changed: I/O threads read both per write, and a store per append
        // would take their cache line from them each time.
        let (low, drained) = (delivery.low_water(), delivery.is_drained());
        if self.low.load(Ordering::Relaxed) != low {
            self.low.store(low, Ordering::Release);
        }
        if self.drained.load(Ordering::Relaxed) != drained {
            self.drained.store(drained, Ordering::Release);
        }
    }

    fn request(&self, change: impl FnOnce(&mut Work)) {
        let mut work = self.work.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut work);
        self.requeues.store(work.requeues_waiting(), Ordering::Release);
        if work.idle {
            work.idle = false;
            drop(work);
            self.work_ready.notify_one();
        }
    }

    /// The spool's stream id, announced to receivers.
    pub fn stream_id(&self) -> u64 {
        self.stream_id
    }

    /// What the spool holds now, and how fast it moves.
    pub fn stats(&self) -> crate::spool::SpoolStats {
        self.lock().stats()
    }

    /// See `Delivery::set_alert`.
    pub fn set_alert(&self, alert: Option<super::backlog::Alert>) {
        self.lock().set_alert(alert);
    }

    /// Every message up to this one is confirmed.
    pub fn low_water(&self) -> u64 {
        self.low.load(Ordering::Acquire)
    }

    /// Whether the spool still holds messages not confirmed delivered.
    pub fn is_pending(&self) -> bool {
        !self.drained.load(Ordering::Acquire)
    }

    /// Deliveries confirmed (by a receiver's acknowledgement, or written to a peer that does
    /// not acknowledge).
    pub fn confirm(&self, seqs: &[u64]) {
        if !seqs.is_empty() {
            self.request(|w| w.confirmed.extend_from_slice(seqs));
        }
    }

    /// Deliveries in doubt (their connection was lost): to send again.
    pub fn requeue(&self, seqs: impl IntoIterator<Item = u64>) {
        let seqs: Vec<u64> = seqs.into_iter().filter(|&s| s != 0).collect();
        if !seqs.is_empty() {
            self.request(|w| w.requeued.extend(seqs));
        }
    }

    /// Whether lost deliveries wait to be re-queued by the spool thread's next round.
    fn requeues_waiting(&self) -> bool {
        self.requeues.load(Ordering::Acquire)
    }

    /// Everything dispatched and not yet confirmed is to be sent again, lowest first, before
    /// anything newer (see `socket::attach`, a receiver's older connection retired).
    pub fn requeue_in_flight(&self) {
        self.request(|w| w.requeue_in_flight = true);
    }

    /// Pipes may have room for more (or a peer appeared).
    pub fn route(&self) {
        self.request(|w| w.route = true);
    }

    /// Appends a message, waiting while the quota is reached if `deadline` allows (`None`:
    /// forever; a past deadline: not at all) and `alive` says the context lives.
    pub fn append(
        &self,
        frames: &[Frame],
        deadline: Option<Option<Instant>>,
        alive: impl Fn() -> crate::Result<()>,
    ) -> crate::Result<()> {
        // The spool takes `Bytes`: small frames get one each, once, not at each retry.
        let frames: SmallVec<[Bytes; 3]> = frames.iter().map(Frame::to_bytes).collect();
        self.append_waiting(deadline, alive, |delivery| delivery.append(&frames))
    }

    /// Appends a message from a sending thread that holds the socket's lock, and routes it
    /// into a pipe at once, as an unspooled message, when a pipe has room: first the few
    /// older ones that wait (the spool thread routes a longer backlog, and what lost
    /// connections left), then this one. The common case then costs no trip through the
    /// spool thread. `Ok(Some(parts))` hands the message back when the quota is reached, for
    /// the caller to wait on it without the socket's lock.
    ///
    /// Not with a group commit: there a message may leave only once its sync is done, which
    /// happens after the lock (see [`SpoolLink::append_waiting`]).
    pub fn append_routed(
        &self,
        st: &mut super::shared::SocketState,
        parts: crate::message::Parts,
    ) -> Result<Option<crate::message::Parts>, SpoolError> {
        debug_assert!(self.group.is_none());
        let mut delivery = self.lock();
        let (appended, parts) = append_moved(&mut delivery, parts);
        let seq = match appended {
            Ok(seq) => seq,
            Err(SpoolError::Full { .. }) => return Ok(Some(parts)),
            Err(e) => return Err(e),
        };
        let outcome = match self.requeues_waiting() {
            true => {
                delivery.keep_unrouted(seq, parts);
                Routed::Later
            }
            false => route_in_order(&mut delivery, st, seq, parts),
        };
        self.publish(&delivery);
        drop(delivery);
        // Without room, the I/O thread asks for a route once it drains the pipe to its low-water
        // mark (a full pipe leaves its writer waiting for that).
        if outcome == Routed::Later {
            self.route();
        }
        Ok(None)
    }

    /// Whether appends route from the sending thread ([`SpoolLink::append_routed`]).
    pub fn routes_appends(&self) -> bool {
        self.group.is_none()
    }

    /// Appends a batch of messages atomically (see `Spool::append_batch`), waiting for the
    /// quota as [`SpoolLink::append`] does.
    pub fn append_batch(
        &self,
        messages: &[Vec<Bytes>],
        commits: Option<u64>,
        deadline: Option<Option<Instant>>,
        alive: impl Fn() -> crate::Result<()>,
    ) -> crate::Result<()> {
        self.append_waiting(deadline, alive, |delivery| {
            delivery.append_batch(messages, commits)
        })
    }

    /// Runs `op` (an append), waiting and retrying while the quota is reached, as `deadline`
    /// allows; then routes what was appended.
    pub(super) fn append_waiting(
        &self,
        deadline: Option<Option<Instant>>,
        alive: impl Fn() -> crate::Result<()>,
        mut op: impl FnMut(&mut Delivery) -> Result<u64, SpoolError>,
    ) -> crate::Result<()> {
        let mut delivery = self.lock();
        loop {
            match op(&mut delivery) {
                Ok(_) => break,
                Err(full @ SpoolError::Full { .. }) => {
                    alive()?;
                    let Some(deadline) = deadline else {
                        return Err(full.into());
                    };
                    let wait = match deadline {
                        None => None,
                        Some(at) => match at.checked_duration_since(Instant::now()) {
                            Some(left) if !left.is_zero() => Some(left),
                            _ => return Err(full.into()),
                        },
                    };
                    // The quota is checked again under the lock at the top of the loop: a
                    // confirmation that frees room after we unlock unparks us. The context's
                    // end is checked after registering, as `wake_waiters` may have looked
                    // before.
                    delivery = self.room.sleep_unless(
                        delivery,
                        |_| alive().is_err(),
                        |delivery| {
                            drop(delivery);
                            park(wait);
                            self.lock()
                        },
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.publish(&delivery);
        let mark = self.group.as_ref().map(|group| group.mark());
        drop(delivery);
        // Synced outside the lock, so that senders appending meanwhile share the next sync.
        if let (Some(group), Some(mark)) = (&self.group, mark) {
            group.sync_through(mark)?;
        }
        self.route();
        Ok(())
    }

    /// How long until undecided prepared batches are to be asked about again; `None` if there
    /// are none.
    fn recheck_in(&self) -> Option<std::time::Duration> {
        if !self.has_undecided() {
            return None;
        }
        let at = *self.next_recheck.lock().unwrap_or_else(|e| e.into_inner());
        Some(at.saturating_duration_since(Instant::now()))
    }

    /// Wakes senders waiting on the quota, so that they see the context end.
    pub fn wake_waiters(&self) {
        self.room.wake_all();
    }

    /// The next work, or `None` once stopped. Confirmations that came before the stop are
    /// still applied: the last acknowledgements of a closing socket often arrive just before
    /// it goes, and dropping them would send those messages again after a restart.
    fn next_work(&self) -> Option<Work> {
        let mut work = self.work.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // Due whatever woke us, so that a busy spool thread still asks again.
            work.recheck |= self.recheck_in().is_some_and(|left| left.is_zero());
            let stop = work.stop;
            let busy = !work.confirmed.is_empty() || !work.requeued.is_empty() || work.requeue_in_flight;
            if busy || ((work.route || work.recheck) && !stop) {
                let taken = std::mem::take(&mut *work);
                work.stop = taken.stop;
                work.requeues_applying = !taken.requeued.is_empty() || taken.requeue_in_flight;
                self.requeues.store(work.requeues_waiting(), Ordering::Release);
                return Some(taken);
            }
            if stop {
                return None;
            }
            work.idle = true;
            if let Some(left) = self.recheck_in() {
                let (again, _) = self
                    .work_ready
                    .wait_timeout(work, left)
                    .unwrap_or_else(|e| e.into_inner());
                work = again;
            } else {
                work = self.work_ready.wait(work).unwrap_or_else(|e| e.into_inner());
            }
            work.idle = false;
        }
    }

    /// One round of the spool thread: bookkeeping, then routing while pipes take messages.
    fn run_once(&self, work: Work, socket: &Weak<SocketShared>, io: &Weak<dyn WakeIo + Send + Sync>) {
        {
            let mut delivery = self.lock();
            delivery.requeue(work.requeued);
            delivery.confirm(work.confirmed);
            if work.requeue_in_flight {
                delivery.requeue_in_flight();
            }
            // Applied: senders see them in the delivery now (lock order: delivery, then work).
            let mut w = self.work.lock().unwrap_or_else(|e| e.into_inner());
            w.requeues_applying = false;
            self.requeues.store(w.requeues_waiting(), Ordering::Release);
            drop(w);
            self.publish(&delivery);
        }
        self.room.wake_all();
        if work.stop {
            return; // the socket is gone: nothing to route, and no reason to read the disk
        }
        if work.recheck {
            self.check_back();
        }
        loop {
            let batch = self.lock().next_batch(ROUTE_BATCH, ROUTE_BATCH_BYTES);
            let (Some(socket), Some(io)) = (socket.upgrade(), io.upgrade()) else {
                return;
            };
            let mut guard = socket.lock_app(&*io);
            guard.notify_on_drop();
            guard.sync_polled(); // inproc peers' confirmations and room
            // The sync may have found deliveries lost (a peer that left): they go out before
            // this batch, whose messages are newer, so the round ends here and the next one
            // re-queues them first.
            let lost_first = self.requeues_waiting();
            let st = &mut *guard;
            // Marked dispatched before the socket's lock is released: a sending thread routes
            // in order under both locks too (`append_routed`), and skips what is marked.
            let mut delivery = self.lock();
            let read = batch.len();
            let mut routed = 0;
            let mut batch = batch.into_iter();
            let mut unsent = None;
            while !lost_first && let Some((seq, parts)) = batch.next() {
                if !delivery.is_undispatched(seq) {
                    routed += 1; // a sending thread routed it meanwhile
                    continue;
                }
                if !st.pattern.can_send(&st.pipes) {
                    unsent = Some((seq, parts));
                    break;
                }
                if !send_seq(st, seq, parts) {
                    break;
                }
                delivery.dispatched(seq);
                routed += 1;
            }
            delivery.put_back(unsent, batch);
            // A sender may have appended after this batch was read, and found no room that
            // this round's sync found: it asked for no route, so look again while there is room.
            let more = delivery.has_undispatched() && st.pattern.can_send(&st.pipes);
            self.publish(&delivery);
            drop(delivery);
            drop(guard);
            if routed < read || !more {
                return;
            }
        }
    }
}

/// Older messages a sending thread routes before its own; a longer backlog is left to the
/// spool thread, so that a send does not stall behind it (64 reads and routes are some
/// 10 µs). Measured at 64 B: 0 gave 1.1-1.8M msg/s, 16 about 1.76M, 64 and 256 about 1.95M:
/// what the sender routes under the locks it holds anyway saves the spool thread a trip.
const CATCH_UP: usize = 64;

/// What became of an appended message in [`SpoolLink::append_routed`].
#[derive(PartialEq, Eq)]
enum Routed {
    Now,
    /// No pipe has room (or no peer): the I/O thread, or the next peer, asks for a route.
    NoRoom,
    /// Left to the spool thread.
    Later,
}

/// Routes the few older messages that wait, then `parts` (message `seq`), while a pipe has
/// room. Both the socket's lock and the spool's are held.
fn route_in_order(
    delivery: &mut Delivery,
    st: &mut super::shared::SocketState,
    seq: u64,
    parts: crate::message::Parts,
) -> Routed {
    let mut caught_up = 0;
    while !delivery.is_next_to_route(seq) {
        if caught_up == CATCH_UP || !delivery.in_order_backlog() {
            delivery.keep_unrouted(seq, parts);
            return Routed::Later;
        }
        if !st.pattern.can_send(&st.pipes) {
            delivery.keep_unrouted(seq, parts);
            return Routed::NoRoom;
        }
        let Some((older, older_parts)) = delivery.next_one() else {
            delivery.keep_unrouted(seq, parts);
            return Routed::Later;
        };
        if !send_seq(st, older, older_parts) {
            delivery.keep_unrouted(seq, parts);
            return Routed::Later;
        }
        delivery.dispatched(older);
        caught_up += 1;
    }
    if !st.pattern.can_send(&st.pipes) {
        delivery.keep_unrouted(seq, parts);
        return Routed::NoRoom;
    }
    if !send_seq(st, seq, parts) {
        return Routed::Later;
    }
    delivery.dispatched(seq);
    Routed::Now
}

/// Appends `parts`, moved out of their frames and back rather than cloned: a clone and its
/// drop are two atomic operations on a count the I/O thread changes too, as it drops earlier
/// frames. A one-frame message, the common case, takes no vector.
fn append_moved(
    delivery: &mut Delivery,
    mut parts: crate::message::Parts,
) -> (Result<u64, SpoolError>, crate::message::Parts) {
    if parts.len() == 1 {
        let bytes = parts.pop().map(Frame::into_bytes).unwrap_or_default();
        let appended = delivery.append(std::slice::from_ref(&bytes));
        parts.push(Frame::from(bytes));
        return (appended, parts);
    }
    let frames: SmallVec<[Bytes; 3]> = parts.into_iter().map(Frame::into_bytes).collect();
    let appended = delivery.append(&frames);
    (appended, frames.into_iter().map(Frame::from).collect())
}

/// Routes spooled message `seq` through the pattern; whether it went into a pipe.
fn send_seq(st: &mut super::shared::SocketState, seq: u64, parts: crate::message::Parts) -> bool {
    st.pipes.sending_seq = seq;
    let sent = st.pattern.send(parts, &mut st.pipes);
    st.pipes.sending_seq = 0;
    sent.is_ok()
}

/// A socket's spool thread; stopping it (on drop) closes the spool once the thread exits.
pub(crate) struct SpoolThread {
    pub link: Arc<SpoolLink>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SpoolThread {
    /// Starts delivering from `spool` for `socket`, whose wake-ups go to `io`; the thread
    /// holds `live` until it ends.
    /// `checkback` is to decide the prepared batches an earlier run left (the caller runs it,
    /// `SpoolLink::check_back_all`, once it holds no lock).
    pub fn start(
        spool: Box<dyn Spool>,
        checkback: Option<super::batch::CheckbackFn>,
        socket: &Arc<SocketShared>,
        io: Weak<dyn WakeIo + Send + Sync>,
        live: Live,
    ) -> std::io::Result<SpoolThread> {
        let link = Arc::new(SpoolLink::new(spool));
        *link.checkback.lock().unwrap_or_else(|e| e.into_inner()) = checkback;
        let (worker, socket) = (Arc::clone(&link), Arc::downgrade(socket));
        let thread = std::thread::Builder::new()
            .name("zocket-spool".into())
            .spawn(move || {
                while let Some(work) = worker.next_work() {
                    worker.run_once(work, &socket, &io);
                }
                // The socket may have been dropped here (this thread held it last): the spool
                // closes with the last handle, before the context stops waiting for us.
                drop(worker);
                drop(live);
            })?;
        Ok(SpoolThread {
            link,
            thread: Some(thread),
        })
    }
}

impl Drop for SpoolThread {
    fn drop(&mut self) {
        self.link.request(|w| w.stop = true);
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            // Joined, so that the spool is closed (its files synced, its lock released) when
            // the socket is gone.
            let _ = thread.join();
        }
    }
}
