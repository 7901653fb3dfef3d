//! Pipes: the bounded queues between a socket and each of its peers.
//!
//! A pipe lives inside its socket's state, behind the socket's lock. What crosses to the I/O
//! thread goes through lock-free pipes (`crate::ypipe`): inbound from a connection (`wire`),
//! outbound to it (`wire_out`, an `Outbox`, also for a spooled socket, whose messages carry
//! their sequence numbers), and both ways for inproc (`inproc`). Wake-ups cross threads only on edges: a pipe's reader is woken only when it slept
//! on it, its writer only when it waited for room.

mod rx_acks;
mod wire;

pub(crate) use wire::{WireRx, WireSeq};

pub(crate) use rx_acks::{AckShare, Origin, RxAcks, read_tag, tag_frame};

use crate::inproc::{InprocEnd, PeerWake};
use crate::message::{Frame, Parts};
use crate::ypipe::{self, Outbox};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// A message on its way to a connection, with its spool sequence number (0: not spooled).
pub(crate) type Outgoing = (u64, Parts);

/// Why a connection closes when its socket's pattern does not take its pipe.
pub(crate) const REFUSED_AT_ATTACH: &str =
    "refused by the socket (PAIR already paired, or routing id in use)";

/// Identifies a pipe within its socket.
pub(crate) type PipeId = u64;

/// The I/O thread's connection handle (a mio token value).
pub(crate) type ConnId = usize;

/// Something the I/O thread must be told after the application touched a pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoWake {
    /// Outbound messages are waiting on an idle connection.
    Flush(ConnId),
    /// Room appeared in the inbound queue of a connection that stopped reading.
    Resume(ConnId),
    /// The pattern refused the connection's peer (it went past a bound): close it.
    Refused(ConnId, &'static str),
    /// As `Flush`, for whichever connection a connector (by its key) has now: the socket
    /// may not have heard of that connection yet, or may still know one that is gone.
    FlushConnector(ConnId),
}

impl IoWake {
    /// The connection to wake.
    pub fn conn(self) -> ConnId {
        match self {
            IoWake::Flush(conn)
            | IoWake::Resume(conn)
            | IoWake::Refused(conn, _)
            | IoWake::FlushConnector(conn) => conn,
        }
    }
}

/// The application thread's direct write to an idle connection (the I/O side implements it),
/// so that a sending thread can skip the hop to the I/O thread.
pub(crate) trait DirectWrite: Send + Sync {
    /// Encodes and writes `msg` now, if the I/O thread has nothing pending on the connection.
    fn try_write(&self, msg: &Parts) -> Direct;
    /// Messages were queued in the pipe while the I/O thread slept on it: the I/O thread
    /// owns the stream again until it has written them (the application must not write
    /// ahead of them).
    fn hand_to_io(&self);
}

/// What a [`DirectWrite::try_write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direct {
    /// Written completely.
    Written,
    /// Not written: the I/O thread owns the stream; queue the message.
    Busy,
    /// Taken, but the socket would block: the I/O thread must be woken to finish it.
    Handed,
}

/// Wake-ups collected under the socket lock; a few fit inline, so the hot path does not
/// allocate for them.
pub(crate) type Wakes = smallvec::SmallVec<[IoWake; 4]>;

/// One peer's queues.
pub(crate) struct Pipe {
    pub inbound: VecDeque<Parts>,
    /// Messages to send, through a lock-free pipe that the connection reads, each with its
    /// spool sequence number.
    pub wire_out: Option<Outbox<Outgoing>>,
    pub sndhwm: usize,
    pub rcvhwm: usize,
    /// The peer's routing id (ROUTER) or announced identity.
    pub routing_id: Frame,
    /// The serving connection's properties, given to what `recv_msg` returns from it; the
    /// previous connection's for the first `old_queued` messages of `inbound` (and those
    /// still to come from its `wire` entry), which it sent.
    pub properties: Option<Arc<crate::message::Properties>>,
    pub old_properties: Option<Arc<crate::message::Properties>>,
    pub old_queued: usize,
    /// Set while messages of a previous connection are being queued (they count in
    /// `old_queued`).
    pub queuing_old: bool,
    /// CONFLATE: a new message replaces what waits (not with acknowledged delivery).
    pub conflate: bool,
    /// The live connection serving this pipe, if any.
    pub conn: Option<ConnId>,
    /// The connector serving this pipe, for one made at `connect` (its key).
    pub connector: Option<ConnId>,
    /// The peer is gone for good: no more sends; removed once `inbound` is drained.
    pub detached: bool,
    /// Acknowledged delivery from a spooled zocket sender, when the peer is one.
    pub rx: Option<RxAcks>,
    /// The pattern refused this peer (it went past a bound): its connection closes with
    /// this reason.
    pub refused: Option<&'static str>,
    /// The connection's direct-write path, once its handshake is done.
    pub fast: Option<Arc<dyn DirectWrite>>,
    /// Copies of pending messages from spooled senders held back for this pipe (see
    /// `socket::finishing`): they count against the receive high-water mark.
    pub held_copies: usize,
    /// The peer's identity, when it keeps receipts and this socket sends from a spool over a
    /// pipe of the connection's own.
    pub receiver: Option<crate::options::ReceiverId>,
    /// The socket's end of an inproc connection: messages go to and come from the peer
    /// socket's pipe directly, with no connection in between.
    pub inproc: Option<Box<InprocEnd>>,
    /// Messages from connections that hand them over without the socket's lock, oldest
    /// connection first (a persistent pipe outlives its connections).
    pub wire: VecDeque<WireRx>,
}

impl Pipe {
    pub fn new(sndhwm: usize, rcvhwm: usize) -> Pipe {
        Pipe {
            inbound: VecDeque::new(),
            wire_out: None,
            sndhwm,
            rcvhwm,
            routing_id: Frame::new(),
            properties: None,
            old_properties: None,
            old_queued: 0,
            queuing_old: false,
            conflate: false,
            conn: None,
            connector: None,
            detached: false,
            rx: None,
            refused: None,
            fast: None,
            held_copies: 0,
            receiver: None,
            inproc: None,
            wire: VecDeque::new(),
        }
    }

    /// Queues a message for the application. With acknowledged delivery on the pipe, `origin`
    /// is where it came from on a spooled sender's connection (see [`RxAcks::record`]).
    pub fn push_inbound(&mut self, msg: Parts, origin: Option<Origin>) {
        if self.conflate && self.rx.is_none() {
            self.inbound.clear();
            self.old_queued = 0;
        }
        self.old_queued += usize::from(self.queuing_old);
        self.inbound.push_back(msg);
        if let Some(rx) = &mut self.rx {
            rx.record(origin);
        }
    }

    /// Gives the pipe a lock-free outbound pipe (see [`Pipe::wire_out`]); returns its
    /// reading end, for the connections.
    pub fn open_wire_out(&mut self) -> ypipe::Reader<Outgoing> {
        let (tx, rx) = ypipe::channel(self.sndhwm);
        self.wire_out = Some(Outbox::new(tx));
        rx
    }

    /// Whether a message may be queued now (below the send high-water mark; 0 = no limit).
    pub fn can_write(&self) -> bool {
        if let Some(end) = &self.inproc {
            return !self.detached && end.can_write();
        }
        !self.detached && self.wire_out.as_ref().is_some_and(Outbox::can_write)
    }

    /// Whether messages wait to be taken by a connection, here (the outbound pipe's reading
    /// end, with the connection or its connector, is checked there).
    pub fn has_outbound(&self) -> bool {
        self.wire_out.as_ref().is_some_and(Outbox::has_overflow)
    }

    /// A detached pipe with nothing left to read can be forgotten.
    pub fn drained(&self) -> bool {
        self.inbound.is_empty()
            && self.wire.is_empty()
            && self.inproc.as_ref().is_none_or(|end| end.rx_done())
    }

    /// Whether the inbound queue is at its high-water mark.
    pub fn inbound_full(&self) -> bool {
        self.rcvhwm != 0 && self.inbound.len() >= self.rcvhwm
    }
}

/// Pipes by id: one slot per pipe, reused once the pipe is gone. An id holds its slot's index
/// (low 32 bits) and the slot's generation (high bits, from 1), so a lookup is an index and a
/// compare, and the id of a removed pipe never finds the slot's next pipe.
#[derive(Default)]
struct Slots {
    slots: Vec<(PipeId, Option<Pipe>)>,
    free: Vec<usize>,
}

impl Slots {
    fn insert(&mut self, pipe: Pipe) -> PipeId {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push((0, None));
            self.slots.len() - 1
        });
        let slot = &mut self.slots[index];
        let generation = (slot.0 >> 32) + 1;
        slot.0 = (generation << 32) | index as u64;
        slot.1 = Some(pipe);
        slot.0
    }

    fn slot(&self, id: PipeId) -> Option<&(PipeId, Option<Pipe>)> {
        self.slots
            .get((id & 0xFFFF_FFFF) as usize)
            .filter(|slot| slot.0 == id)
    }

    fn get(&self, id: &PipeId) -> Option<&Pipe> {
        self.slot(*id)?.1.as_ref()
    }

    fn get_mut(&mut self, id: &PipeId) -> Option<&mut Pipe> {
        let slot = self.slots.get_mut((id & 0xFFFF_FFFF) as usize)?;
        if slot.0 != *id {
            return None;
        }
        slot.1.as_mut()
    }

    fn remove(&mut self, id: &PipeId) -> Option<Pipe> {
        let index = (id & 0xFFFF_FFFF) as usize;
        let slot = self.slots.get_mut(index)?;
        if slot.0 != *id {
            return None;
        }
        let pipe = slot.1.take()?;
        self.free.push(index);
        Some(pipe)
    }
}

/// All pipes of a socket, plus the wake-ups owed to the I/O thread.
#[derive(Default)]
pub(crate) struct Pipes {
    map: Slots,
    /// Wake-ups to hand to the I/O thread once the socket lock is released.
    pub wakes: Wakes,
    /// Detached pipes drained by the application: to be forgotten by the pattern.
    pub dead: Vec<PipeId>,
    /// The spool sequence number of the message being routed (0: not spooled).
    pub sending_seq: u64,
    /// A receive happened since the last direct write: the next send may write directly.
    /// Request/reply traffic alternates, so each send gets the fast path; a stream of sends
    /// (PUSH, PUB, a busy DEALER) leaves writing to the I/O thread, which batches.
    pub fast_credit: bool,
    /// Pipes whose lock-free outbound pipe was full: rechecked when the socket is woken.
    pub out_blocked: smallvec::SmallVec<[PipeId; 2]>,
    /// The pipes whose messages arrive through a lock-free pipe the socket reads itself:
    /// inproc connections, and connections that hand messages over directly (see
    /// [`Pipe::wire`]).
    pub polled: Vec<PipeId>,
    /// The pipe of each connection attached without the socket's lock (see `from_io`).
    pub by_conn: std::collections::HashMap<ConnId, PipeId>,
    /// inproc peers to wake once the socket lock is released.
    pub peer_wakes: smallvec::SmallVec<[Arc<dyn PeerWake>; 2]>,
    /// Spool sequence numbers of messages an inproc peer left with unconsumed: to re-send.
    pub lost_seqs: Vec<u64>,
    /// Once a spooled sender is attached: every message taken from the queues since the
    /// socket last looked (see `socket::finishing`), with the pipe it came from, where it came
    /// from if a spooled sender sent it, and whether the pattern discarded it
    /// (`clear_inbound`).
    pub popped: smallvec::SmallVec<[(PipeId, Option<Origin>, bool); 2]>,
    /// Record every take in `popped` (a spooled sender was attached).
    pub track_pops: bool,
    /// The properties of the pipe the last `pop_in` took from (`source_taken`: since the
    /// socket last cleared it), kept without a reference count change while they stay the same.
    pub source: Option<Arc<crate::message::Properties>>,
    pub source_taken: bool,
    /// Messages the pattern dropped (high-water mark, unknown routing id) since the socket
    /// last counted them.
    pub dropped: u64,
}

impl Pipes {
    /// No pipes yet; the first send may write directly.
    pub fn new() -> Pipes {
        Pipes {
            fast_credit: true,
            ..Pipes::default()
        }
    }

    pub fn insert(&mut self, pipe: Pipe) -> PipeId {
        let inproc = pipe.inproc.is_some();
        let id = self.map.insert(pipe);
        if inproc {
            self.polled.push(id);
        }
        id
    }

    /// Adds a connection's lock-free inbound pipe to pipe `id` (after any earlier one).
    pub fn add_wire(
        &mut self,
        id: PipeId,
        rx: ypipe::Reader<Parts>,
        conn: ConnId,
        in_flight: Option<Arc<AtomicUsize>>,
        stream: Option<u64>,
    ) {
        let Some(pipe) = self.map.get_mut(&id) else {
            return;
        };
        pipe.wire.push_back(WireRx {
            rx,
            conn,
            closed: false,
            tail: VecDeque::new(),
            held: None,
            in_flight,
            sequenced: stream.map(|stream| WireSeq {
                stream,
                position: 0,
                generation: 0,
                noted_low: 0,
                refused: false,
            }),
        });
        if !self.polled.contains(&id) {
            self.polled.push(id);
        }
    }

    /// Leaves pipe `id`'s inproc connection, if it is one: the peer is told, and what it had
    /// not consumed of ours is to be re-sent.
    pub fn leave_inproc(&mut self, id: PipeId) {
        let Some(end) = self.map.get_mut(&id).and_then(|p| p.inproc.as_mut()) else {
            return;
        };
        let (peer, unconfirmed) = end.leave();
        self.peer_wakes.extend(peer);
        self.lost_seqs.extend(unconfirmed);
    }

    /// The pipe connection `conn` writes into, if it attached without the socket's lock.
    pub fn serving(&self, conn: ConnId) -> Option<PipeId> {
        self.by_conn.get(&conn).copied()
    }

    pub fn get(&self, id: PipeId) -> Option<&Pipe> {
        self.map.get(&id)
    }

    /// The ids of every pipe.
    pub fn ids(&self) -> impl Iterator<Item = PipeId> + '_ {
        self.map
            .slots
            .iter()
            .filter(|(_, p)| p.is_some())
            .map(|(id, _)| *id)
    }

    pub fn get_mut(&mut self, id: PipeId) -> Option<&mut Pipe> {
        self.map.get_mut(&id)
    }

    pub fn remove(&mut self, id: PipeId) -> Option<Pipe> {
        self.leave_inproc(id);
        let pipe = self.map.remove(&id)?;
        self.polled.retain(|&p| p != id);
        Some(pipe)
    }

    /// The pattern refuses pipe `id`'s peer: its connection closes with `reason` (see
    /// [`Pipe::refused`]).
    pub fn refuse(&mut self, id: PipeId, reason: &'static str) {
        let Some(pipe) = self.map.get_mut(&id) else {
            return;
        };
        pipe.refused.get_or_insert(reason);
        // Each time: a pipe made at `connect` may have been refused under an earlier
        // connection, and the peer goes past the bound again under this one.
        if let Some(conn) = pipe.conn {
            self.wakes.push(IoWake::Refused(conn, reason));
        }
    }

    pub fn can_write(&self, id: PipeId) -> bool {
        self.map.get(&id).is_some_and(Pipe::can_write)
    }

    pub fn has_inbound(&self, id: PipeId) -> bool {
        self.map.get(&id).is_some_and(|p| !p.inbound.is_empty())
    }

    /// Queues `msg` on pipe `id` regardless of its high-water mark; records a flush wake-up if
    /// the I/O thread is idle on it. Returns false if the pipe is gone.
    pub fn push_out(&mut self, id: PipeId, msg: Parts) -> bool {
        let Some(pipe) = self.map.get_mut(&id) else {
            return false;
        };
        if pipe.detached {
            return false;
        }
        if let Some(end) = pipe.inproc.as_mut() {
            if end.write(msg, self.sending_seq) {
                self.peer_wakes.extend(end.peer());
            }
            return true;
        }
        // The credit goes with every message, written directly or not (see `fast_credit`).
        let credit = std::mem::take(&mut self.fast_credit);
        let Some(out) = pipe.wire_out.as_mut() else {
            return false;
        };
        let direct = match &pipe.fast {
            Some(fast) if credit => fast.try_write(&msg),
            _ => Direct::Busy,
        };
        let wake = match direct {
            Direct::Written => false,
            Direct::Handed => true,
            Direct::Busy => {
                let wake = out.write((self.sending_seq, msg));
                if !out.can_write() && !self.out_blocked.contains(&id) {
                    self.out_blocked.push(id);
                }
                wake
            }
        };
        if wake {
            wake_connection(pipe, &mut self.wakes);
        }
        true
    }

    /// Rechecks the outbound pipes that were full, moving what waited past the mark into
    /// them. Called when the socket is woken (a connection drained one to its low-water mark).
    pub fn refresh_blocked(&mut self) {
        let mut i = 0;
        while i < self.out_blocked.len() {
            let id = self.out_blocked[i];
            let Some(pipe) = self.map.get_mut(&id) else {
                self.out_blocked.swap_remove(i);
                continue;
            };
            let Some(out) = pipe.wire_out.as_mut() else {
                self.out_blocked.swap_remove(i);
                continue;
            };
            let (wake, full) = (out.refresh(), !out.can_write());
            if wake {
                wake_connection(pipe, &mut self.wakes);
            }
            if full {
                i += 1;
            } else {
                self.out_blocked.swap_remove(i);
            }
        }
    }

    /// Takes the next inbound message of pipe `id`. A message from a spooled sender is
    /// recorded in [`Pipes::popped`], for the socket to finish.
    pub fn pop_in(&mut self, id: PipeId) -> Option<Parts> {
        let pipe = self.map.get_mut(&id)?;
        let msg = pipe.inbound.pop_front()?;
        self.source_taken = true;
        let from = match pipe.old_queued {
            0 => &pipe.properties,
            _ => {
                pipe.old_queued -= 1;
                &pipe.old_properties
            }
        };
        let ptr = |p: &Option<Arc<crate::message::Properties>>| p.as_ref().map(Arc::as_ptr);
        if ptr(&self.source) != ptr(from) {
            self.source = from.clone();
        }
        if let Some(end) = &pipe.inproc
            && end.consumed_one(pipe.inbound.is_empty())
        {
            self.peer_wakes.extend(end.peer());
        }
        if self.track_pops {
            let origin = pipe.rx.as_mut().and_then(RxAcks::on_pop);
            self.popped.push((id, origin, false));
        }
        if pipe.inbound.is_empty()
            && pipe.rx.as_mut().is_some_and(RxAcks::on_drained)
            && let Some(conn) = pipe.conn
        {
            self.wakes.push(IoWake::Flush(conn)); // what is done is due once the queue drains
        }
        self.forget_if_done(id);
        Some(msg)
    }

    /// Drops everything queued on pipe `id` for the application (REQ_RELAXED's stale
    /// replies); what came from spooled senders is recorded as discarded.
    pub fn clear_inbound(&mut self, id: PipeId) {
        let Some(pipe) = self.map.get_mut(&id) else {
            return;
        };
        pipe.inbound.clear();
        pipe.old_queued = 0;
        if let Some(rx) = &mut pipe.rx {
            let discarded = rx
                .positions
                .drain(..)
                .flatten()
                .map(|origin| (id, Some(origin), true));
            self.popped.extend(discarded);
        }
    }

    /// `origin`'s position on pipe `id` is done: its connection is woken if an
    /// acknowledgement is due.
    pub fn mark_done(&mut self, id: PipeId, origin: &Origin) {
        let Some(pipe) = self.map.get_mut(&id) else {
            return;
        };
        let empty = pipe.inbound.is_empty();
        if pipe.rx.as_mut().is_some_and(|rx| rx.mark_done(origin, empty))
            && let Some(conn) = pipe.conn
        {
            self.wakes.push(IoWake::Flush(conn));
        }
    }

    /// Forgets pipe `id` if it is detached and nothing is left to read in it; true if so.
    pub fn forget_if_done(&mut self, id: PipeId) -> bool {
        if !self.get(id).is_some_and(|p| p.detached && p.drained()) {
            return false;
        }
        self.remove(id);
        self.dead.push(id);
        true
    }
}

/// Messages entered pipe's outbound pipe while its connection slept on it (or a direct
/// write was left unfinished): the connection owns its stream again, so that no direct
/// write overtakes them, and is woken to write them. A pipe made at `connect` wakes its
/// connector's current connection, which the socket may not have heard of yet (the one it
/// knows may be gone).
fn wake_connection(pipe: &Pipe, wakes: &mut Wakes) {
    if let Some(fast) = &pipe.fast {
        fast.hand_to_io();
    }
    if let Some(key) = pipe.connector {
        wakes.push(IoWake::FlushConnector(key));
    } else if let Some(conn) = pipe.conn {
        wakes.push(IoWake::Flush(conn));
    }
}

/// The spool sequence numbers of what `reader` still holds, read to its end (its writer is
/// gone): deliveries that never reached the connection, to send again.
pub(crate) fn unsent_seqs(reader: &mut ypipe::Reader<Outgoing>) -> Vec<u64> {
    let mut seqs = Vec::new();
    while let ypipe::Read::Frame { item: (seq, _), .. } = reader.read() {
        if seq != 0 {
            seqs.push(seq);
        }
    }
    seqs
}

#[cfg(test)]
mod tests;
