//! The state a socket shares with the I/O thread: its pipes, its pattern and its options,
//! behind one lock, with the threads blocked on it (parked, see `sleepers`) and readiness
//! watchers.
//!
//! A critical section that changes the pipes can owe wake-ups: to the I/O thread (flush a
//! pipe, resume reading) and to blocked callers. [`Locked`] delivers them when it drops,
//! after unlocking, so no path can forget them.

use super::attention;
use super::dedup::Dedup;
use super::from_io::{self, Detach, FromIo, FromIoReader, FromIoSender};
use super::sleepers::{self, Sleepers};
use super::spool_link::{SpoolLink, SpoolThread};
use crate::inproc::PeerWake;
use crate::message::Parts;
use crate::options::Options;
use crate::pattern::{self, Pattern};
use crate::pipe::{IoWake, Outgoing, Pipe, PipeId, Pipes, Wakes, unsent_seqs};
use crate::socket_type::SocketType;
use crate::sync::{AtomicBool, Ordering};
use crate::ypipe;
use crate::ypipe::Outbox;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// Something that wants to hear when a socket's readiness may have changed (a `Poller`).
pub(crate) trait Watcher: Send + Sync {
    fn notify(&self);
}

/// An endpoint a socket was bound or connected to.
pub(crate) struct EndpointRecord {
    /// As the application gave it.
    pub given: String,
    /// As resolved (the real port after binding port 0).
    pub resolved: String,
    /// Bound (true) or connected (false).
    pub bound: bool,
    /// The pipe made at `connect` (over TCP or IPC), which lives as long as the endpoint.
    pub pipe: Option<PipeId>,
}

/// One socket's shared half.
pub(crate) struct SocketShared {
    pub id: u64,
    pub socket_type: SocketType,
    pub state: Mutex<SocketState>,
    /// Threads blocked in a call on this socket; waking them costs a system call, so it is
    /// skipped when there are none.
    pub sleepers: Sleepers,
    watchers: Mutex<Vec<Weak<dyn Watcher>>>,
    has_watchers: AtomicBool,
    /// The socket's attention flag (the same as [`SocketState::attention`]), for the I/O
    /// threads to raise without the lock.
    pub attention: Arc<AtomicBool>,
    /// Where the I/O threads queue attach and detach commands (see `from_io`).
    pub from_io: FromIoSender,
    /// The socket's monitors, fed by the I/O threads and the application's calls.
    pub monitor: Arc<crate::monitor::Hub>,
    /// Messages and bytes per connection, drops and reconnects.
    pub counters: crate::monitor::Counters,
    /// The last routing id a ROUTER's connection generated for a peer that gave none.
    next_routing_id: std::sync::atomic::AtomicU32,
}

/// What the lock protects.
pub(crate) struct SocketState {
    /// The socket's type (as `SocketShared::socket_type`).
    pub socket_type: SocketType,
    pub pipes: Pipes,
    pub pattern: Box<dyn Pattern>,
    pub opts: Options,
    /// Frames given with SNDMORE, waiting for the last frame.
    pub send_partial: Parts,
    /// The endpoints bound or connected.
    pub endpoints: Vec<EndpointRecord>,
    pub last_endpoint: Option<String>,
    /// Where small outgoing frames are copied.
    pub arena: crate::message::FrameArena,
    /// The spool outgoing messages go through, when the application set one.
    pub spool: Option<SpoolThread>,
    /// Sequence numbers already delivered from spooled zocket senders.
    pub dedup: Dedup,
    /// The check-back for prepared batches, until the spool is set (see `batch`).
    pub checkback: Option<super::batch::CheckbackFn>,
    /// Messages from spooled senders not yet done with (see `finishing`).
    pub finishing: super::finishing::Finishing,
    /// A spooled zocket sender was attached: messages are acknowledged as the application
    /// takes them (see `finishing` for prefetched ones).
    pub acked_senders: bool,
    /// A spooled inproc sender was attached: its messages count as consumed as they leave
    /// the pipe, so none is prefetched.
    pub counted_inproc: bool,
    /// The socket was closed: inproc connections made to it now are refused.
    pub closed: bool,
    /// An inproc pipe may have changed: the next call syncs them (see `sync_polled`). Set by
    /// inproc peers and connections without the lock; a caller about to sleep checks it
    /// after registering among the sleepers, and a writer that sets it wakes them when it sees
    /// one, so no wake-up is lost (see `attention`).
    pub attention: Arc<AtomicBool>,
    /// The last sync left something no wake-up will announce (unread data, spooled messages
    /// not yet confirmed): the next call syncs again, but a waiting caller still sleeps.
    pub resync: bool,
    /// The commands the I/O threads queued (see `from_io`), applied when a call syncs.
    pub from_io: FromIoReader,
    /// The application side's receive state (the same as `Socket`'s), locked after this
    /// state: a spooled sender's connection that ends takes back the messages of it that
    /// were prefetched and not taken (see `detach_sequenced`).
    pub(super) inbox: Arc<Mutex<super::inbox::Inbox>>,
}

impl SocketShared {
    pub fn new(id: u64, socket_type: SocketType) -> SocketShared {
        let attention = Arc::new(AtomicBool::new(false));
        let (from_io, from_io_rx) = from_io::queue();
        SocketShared {
            id,
            socket_type,
            state: Mutex::new(SocketState {
                socket_type,
                pipes: Pipes::new(),
                pattern: pattern::for_type(socket_type),
                opts: Options::default(),
                send_partial: Parts::new(),
                endpoints: Vec::new(),
                last_endpoint: None,
                arena: Default::default(),
                spool: None,
                dedup: Dedup::default(),
                checkback: None,
                finishing: Default::default(),
                acked_senders: false,
                counted_inproc: false,
                closed: false,
                attention: Arc::clone(&attention),
                resync: false,
                from_io: from_io_rx,
                inbox: Default::default(),
            }),
            sleepers: Sleepers::default(),
            watchers: Mutex::new(Vec::new()),
            has_watchers: AtomicBool::new(false),
            attention,
            from_io,
            monitor: Default::default(),
            counters: Default::default(),
            // Apart from the ROUTER's own generator (inproc peers), which starts at the same
            // value: the two count up from opposite halves of the range.
            next_routing_id: std::sync::atomic::AtomicU32::new(
                std::process::id().wrapping_mul(2_654_435_761) ^ 0x8000_0000,
            ),
        }
    }

    /// The pattern dropped `count` more messages: counted, and reported to the monitors and
    /// the log at most ten times a second.
    pub fn report_drops(&self, count: u64, endpoint: impl FnOnce() -> String) {
        let total = self.counters.add_drops(count);
        if self.counters.drop_report_due() {
            log::debug!(
                "{} socket: {total} messages dropped so far (high-water mark or unknown routing id)",
                self.socket_type
            );
            let event = crate::SocketEvent::Dropped;
            self.monitor.emit(event, total, &endpoint(), || None);
        }
    }

    /// A routing id for a ROUTER's peer that gave none: libzmq's form, a zero byte then a
    /// 32-bit big-endian counter (ids beginning with a zero byte are reserved for this).
    pub fn generate_routing_id(&self) -> bytes::Bytes {
        let n = self
            .next_routing_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .wrapping_add(1);
        let mut id = [0; 5];
        id[1..].copy_from_slice(&n.to_be_bytes());
        bytes::Bytes::copy_from_slice(&id)
    }

    /// Locks the state. A poisoned lock (a panic elsewhere while holding it) is recovered:
    /// the state is plain data that stays consistent between statements.
    pub fn lock(&self) -> MutexGuard<'_, SocketState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the state for an application thread: the wake-ups the critical section owes
    /// go to the I/O thread when the guard drops. Blocked callers are not notified unless
    /// the section asks ([`Locked::notify_on_drop`]): application-side changes rarely make
    /// another application thread ready, and a spurious notify wakes every waiter.
    pub fn lock_app<'a>(&'a self, io: &'a dyn WakeIo) -> Locked<'a> {
        Locked {
            guard: Some(self.lock()),
            shared: self,
            sink: WakeSink::Io(io),
            notify: false,
        }
    }

    /// Locks the state on the I/O thread: the wake-ups go into `wakes` (run by the reactor)
    /// and blocked callers are notified when the guard drops, unless the section says the
    /// change cannot matter to them ([`Locked::set_notify`]).
    pub fn lock_io<'a>(&'a self, wakes: &'a mut Vec<IoWake>) -> Locked<'a> {
        Locked {
            guard: Some(self.lock()),
            shared: self,
            sink: WakeSink::Local(wakes),
            notify: true,
        }
    }

    /// Wakes blocked callers and watchers: readiness may have changed.
    /// Must be called after the state change was made under the lock (and the lock released),
    /// so that a sleeper either saw the change or was registered (see `sleepers`).
    pub fn notify(&self) {
        self.sleepers.wake_all();
        if !self.has_watchers.load(Ordering::SeqCst) {
            return;
        }
        let mut watchers = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        watchers.retain(|w| match w.upgrade() {
            Some(w) => {
                w.notify();
                true
            }
            None => false,
        });
        self.has_watchers.store(!watchers.is_empty(), Ordering::SeqCst);
    }

    #[cfg(test)]
    pub fn has_watchers(&self) -> bool {
        self.has_watchers.load(Ordering::SeqCst)
    }

    pub fn add_watcher(&self, watcher: &Arc<dyn Watcher>) {
        let mut watchers = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        watchers.push(Arc::downgrade(watcher));
        self.has_watchers.store(true, Ordering::SeqCst);
    }

    pub fn remove_watcher(&self, watcher: &Arc<dyn Watcher>) {
        let target = Arc::as_ptr(watcher) as *const ();
        self.watchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|w| w.as_ptr() as *const () != target);
    }

    /// Unlocks and parks until woken or `timeout` passes, unless a lock-free writer raised
    /// `attention` since the caller looked (see [`super::attention`]); locks again before
    /// returning. The return may be spurious: the caller checks again.
    pub fn wait<'a>(
        &'a self,
        guard: MutexGuard<'a, SocketState>,
        timeout: Option<std::time::Duration>,
    ) -> MutexGuard<'a, SocketState> {
        let attention = Arc::clone(&guard.attention);
        attention::wait_unless_raised(&attention, &self.sleepers, guard, |guard| {
            drop(guard);
            sleepers::park(timeout);
            self.lock()
        })
    }

    /// A lock-free writer's wake-up after it published (see [`super::attention`]): raises
    /// `attention`, and wakes blocked callers and watchers if there are any. It never takes
    /// the socket's lock.
    /// Queues `command` from an I/O thread and wakes the socket (a thread blocked on it, or a
    /// watcher); the socket applies it on its next sync (see `attach`).
    pub fn tell(&self, command: FromIo) {
        self.from_io.push(command);
        self.announce(&self.attention);
    }

    /// A connection that attached without the lock is gone. The socket is told first, then
    /// a spooled socket's spool thread gets back what the connection wrote but its peer did
    /// not confirm, and is asked to route: its sync applies the detach, which re-sends what
    /// the pipe still held, whether or not the application calls. (Requeued before the
    /// detach, messages could be routed back into the dying pipe, and wait there.)
    pub fn connection_gone(&self, detach: Detach, unconfirmed: Vec<u64>, spool: Option<&SpoolLink>) {
        self.tell(FromIo::Detach(detach));
        if let Some(spool) = spool {
            spool.requeue(unconfirmed);
            spool.route();
        }
    }

    pub fn announce(&self, attention: &AtomicBool) {
        attention::announce(
            attention,
            &self.sleepers,
            || self.has_watchers.load(Ordering::SeqCst),
            || self.notify(),
        );
    }
}

impl SocketState {
    /// A new pipe with the socket's current high-water marks.
    pub fn new_pipe(&self) -> Pipe {
        let mut pipe = Pipe::new(self.opts.sndhwm, self.opts.rcvhwm);
        pipe.conflate = self.opts.conflate;
        pipe
    }

    /// A new pipe for a connection, with a lock-free outbound pipe whose reading end is
    /// returned for the connection.
    pub fn new_wire_pipe(&self) -> (Pipe, ypipe::Reader<Outgoing>) {
        let mut pipe = self.new_pipe();
        let reader = pipe.open_wire_out();
        (pipe, reader)
    }

    /// Adds a pipe and offers it to the pattern; `None` if the pattern refused it.
    pub fn attach_pipe(&mut self, pipe: Pipe) -> Option<PipeId> {
        let id = self.pipes.insert(pipe);
        if self.pattern.attach(id, &mut self.pipes) {
            self.greet(id);
            Some(id)
        } else {
            self.pipes.remove(id);
            None
        }
    }

    /// The peer behind pipe `id` is gone for good: drop what was queued for it; keep what it
    /// sent until the application has read it. Spooled messages queued for it are sent again
    /// (to another peer, or later): those in the outbound pipe's reading end `unsent`, when
    /// the connection gave it back (otherwise its connector requeues them), and those still
    /// waiting past the mark.
    pub fn detach_pipe(&mut self, id: PipeId, unsent: Option<&mut ypipe::Reader<Outgoing>>) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.detached = true;
        pipe.conn = None;
        pipe.fast = None;
        let overflow = pipe
            .wire_out
            .take()
            .map(Outbox::into_overflow)
            .unwrap_or_default();
        let mut lost = unsent.map(unsent_seqs).unwrap_or_default();
        lost.extend(overflow.into_iter().map(|(seq, _)| seq).filter(|&seq| seq != 0));
        self.pipes.leave_inproc(id);
        lost.append(&mut self.pipes.lost_seqs);
        if let Some(spool) = self.spool_link() {
            spool.requeue(lost);
        }
        self.farewell(id);
        if self.pipes.get(id).is_some_and(Pipe::drained) {
            self.pipes.remove(id);
            self.pipes.dead.push(id);
        }
        self.reap();
        self.dispatch_spool();
    }

    /// The socket's spool delivery, if it sends from a spool.
    pub fn spool_link(&self) -> Option<&Arc<SpoolLink>> {
        self.spool.as_ref().map(|s| &s.link)
    }

    /// Routes spooled messages into pipes that have room.
    pub fn dispatch_spool(&mut self) {
        if let Some(spool) = self.spool_link() {
            spool.route();
        }
    }

    /// Whether the spool still holds messages not confirmed delivered.
    pub fn spool_pending(&self) -> bool {
        self.spool_link().is_some_and(|s| s.is_pending())
    }

    /// Lets the pattern forget pipes that were drained after their peer left.
    pub fn reap(&mut self) {
        while let Some(id) = self.pipes.dead.pop() {
            self.pattern.detach(id, &mut self.pipes);
        }
    }

    /// Takes the wake-ups owed to the I/O thread.
    fn take_wakes(&mut self) -> Wakes {
        if self.pipes.wakes.is_empty() {
            return Wakes::new(); // the common case, without moving the inline buffer
        }
        std::mem::take(&mut self.pipes.wakes)
    }
}

/// The I/O threads as an application thread reaches them: a sink for wake-ups.
pub(crate) trait WakeIo {
    /// Hands each wake-up to the thread that owns its connection.
    fn wake_all(&self, wakes: Wakes);
}

/// Where a critical section's wake-ups for the I/O thread go.
enum WakeSink<'a> {
    /// From an application thread: queued to the I/O thread, which is woken.
    Io(&'a dyn WakeIo),
    /// On the I/O thread: run by the reactor after the current event.
    Local(&'a mut Vec<IoWake>),
}

/// The locked socket state. Dropping it unlocks, then hands the wake-ups the critical section
/// produced to the I/O thread and, if asked, notifies blocked callers and watchers.
pub(crate) struct Locked<'a> {
    /// Present from creation until drop; `wait` puts it back before returning.
    guard: Option<MutexGuard<'a, SocketState>>,
    shared: &'a SocketShared,
    sink: WakeSink<'a>,
    notify: bool,
}

impl Locked<'_> {
    /// Notify blocked callers and watchers when the guard drops.
    pub fn notify_on_drop(&mut self) {
        self.notify = true;
    }

    /// Hands wake-ups to the I/O thread.
    fn sink(&mut self, wakes: crate::pipe::Wakes) {
        if wakes.is_empty() {
            return;
        }
        match &mut self.sink {
            WakeSink::Io(io) => io.wake_all(wakes),
            WakeSink::Local(local) => local.extend(wakes),
        }
    }

    fn take_wakes(&mut self) -> crate::pipe::Wakes {
        self.guard.as_mut().map(|g| g.take_wakes()).unwrap_or_default()
    }

    fn take_peer_wakes(&mut self) -> PeerWakes {
        match self.guard.as_mut() {
            Some(g) if !g.pipes.peer_wakes.is_empty() => std::mem::take(&mut g.pipes.peer_wakes),
            _ => PeerWakes::new(),
        }
    }

    /// Parks until the socket's state may have changed (see [`SocketShared::wait`]). The wake-ups
    /// owed so far go out first: the I/O thread may need them to produce what we wait for.
    /// inproc peers owed a wake-up are woken with the lock released, and the call returns
    /// without waiting (a spurious wake-up: the caller checks again).
    pub fn wait(&mut self, timeout: Option<Duration>) {
        // A lock-free writer flagged something since the caller looked: read it now (which
        // clears the flag) and let the caller look again instead of sleeping.
        let flagged = self.guard.as_mut().is_some_and(|g| {
            let flagged = g.attention.load(Ordering::SeqCst);
            if flagged {
                g.sync_polled();
            }
            flagged
        });
        let wakes = self.take_wakes();
        self.sink(wakes);
        let peers = self.take_peer_wakes();
        if !peers.is_empty() {
            drop(self.guard.take());
            wake_peers(peers);
            self.guard = Some(self.shared.lock());
            return;
        }
        if flagged {
            return;
        }
        if let Some(guard) = self.guard.take() {
            self.guard = Some(self.shared.wait(guard, timeout));
        }
    }
}

impl std::ops::Deref for Locked<'_> {
    type Target = SocketState;
    fn deref(&self) -> &SocketState {
        self.guard.as_deref().expect("the guard is held until drop")
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut SocketState {
        self.guard.as_deref_mut().expect("the guard is held until drop")
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.as_mut()
            && guard.pipes.dropped != 0
        {
            let dropped = std::mem::take(&mut guard.pipes.dropped);
            let endpoint = || guard.last_endpoint.clone().unwrap_or_default();
            self.shared.report_drops(dropped, endpoint);
        }
        let owes = self
            .guard
            .as_ref()
            .is_some_and(|g| !(g.pipes.wakes.is_empty() && g.pipes.peer_wakes.is_empty()));
        if owes {
            // Unlock before waking: the woken side may want the lock at once.
            let wakes = self.take_wakes();
            let peers = self.take_peer_wakes();
            drop(self.guard.take());
            self.sink(wakes);
            wake_peers(peers);
        } else {
            drop(self.guard.take()); // the common case: nothing to hand over
        }
        if self.notify {
            self.shared.notify();
        }
    }
}

type PeerWakes = smallvec::SmallVec<[Arc<dyn PeerWake>; 2]>;

/// Wakes inproc peers; called with no socket lock held.
fn wake_peers(peers: PeerWakes) {
    for peer in peers {
        peer.wake();
    }
}
