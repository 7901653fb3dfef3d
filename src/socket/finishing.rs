//! Finishing messages from spooled zocket senders: when the receiver is done with one, its
//! position is acknowledged to its connection, its number joins what `Dedup` drops as a
//! duplicate, and copies of it that arrived meanwhile (held back) are dropped too.
//!
//! - By default a message is done as the application takes it. A prefetched one (see
//!   `Socket::next_message`) is done at the socket's next look after that, at the latest
//!   when the application takes the batch's last.
//! - With receipts ([`crate::spool::Receipts`]) it is done once its receipt is committed:
//!   at the next receive, or at [`crate::Socket::ack`] with manual acknowledgement.
//!
//! Receipts are high-water marks, so a receipt for `s` must not be committed while a lower
//! number of the same stream may still reach the application: one queued unread (on another
//! connection of the same stream), taken and not finished, or dropped unread when its
//! connection died (it comes again: "awaited"). Finished messages wait, unacknowledged, until
//! every lower one is done.
//!
//! A copy that arrives while its original is pending is held back: it is dropped once the
//! original is done, and queued instead if the original is dropped unread (its connection
//! died). Acknowledging it at once would let the sender forget a message the receiver may
//! still lose. Held copies count against their pipe's high-water mark, and a connection that
//! sends one number twice is closed.

use super::ordered_map::{Key, OrderedMap};
use super::shared::SocketState;
use crate::Delivery;
use crate::error::{Error, Result};
use crate::message::Parts;
use crate::pipe::{ConnId, IoWake, Origin, PipeId};
use crate::spool::Receipts;
use std::collections::BTreeSet;

/// Why a spooled sender's connection is closed when the receiver cannot follow its stream.
pub(super) const PAST_BOUNDS: &str = "a spooled sender went past what the receiver remembers";
/// Why a connection that sends a sequence number twice is closed.
const SENT_TWICE: &str = "a spooled sender sent one sequence number twice on one connection";
/// Numbers of one stream awaited at most (dropped unread, to come again); past it the oldest
/// is given up, with a warning.
const MAX_AWAITED: usize = 1 << 16;

/// Where a receipt store keeps the receiver's identity (spooled senders' stream ids are odd).
const IDENTITY_STREAM: u64 = 0;

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Finishing {
    pub receipts: Option<Box<dyn Receipts>>,
    /// Messages are finished by `Socket::ack`, not by the next receive.
    pub manual: bool,
    /// Messages queued or taken, not yet done, by (stream, seq).
    pending: OrderedMap<Pending>,
    /// Taken by the application and not yet done, by (stream, seq).
    taken: OrderedMap<Taken>,
    /// Dropped unread with their connection, with receipts: they come again.
    awaited: BTreeSet<Key>,
}

/// A pending message: where its original came from, and the copies held back.
struct Pending {
    pipe: PipeId,
    generation: u64,
    copies: Vec<Copy>,
}

struct Copy {
    pipe: PipeId,
    origin: Origin,
    msg: Parts,
}

struct Taken {
    pipe: PipeId,
    origin: Origin,
    finished: bool,
}

impl Finishing {
    /// Whether a message is done as soon as the application takes it.
    pub(super) fn done_when_taken(&self) -> bool {
        self.receipts.is_none() && !self.manual
    }

    /// Whether messages taken wait to be finished.
    pub fn has_taken(&self) -> bool {
        !self.taken.is_empty()
    }

    /// The lowest number of `stream` that is not done: pending or awaited.
    fn lowest_open(&self, stream: u64) -> Option<u64> {
        let range = (stream, 0)..=(stream, u64::MAX);
        let pending = self.pending.first_of(stream).map(|k| k.1);
        let awaited = self.awaited.range(range).next().map(|k| k.1);
        match (pending, awaited) {
            (Some(p), Some(a)) => Some(p.min(a)),
            (p, a) => p.or(a),
        }
    }
}

impl SocketState {
    /// Applies what the pattern took from the queues in one receive: the message it returned
    /// (`returned`, the last taken) is the application's now, the others were discarded. The
    /// returned message's place in its stream, if it came from a spooled sender.
    pub(super) fn after_take(&mut self, returned: bool) -> Option<Delivery> {
        let (pipe, origin) = self.take_popped(returned)?;
        self.taken_by_application(pipe, origin);
        Some(Delivery {
            stream: origin.stream,
            seq: origin.seq,
        })
    }

    /// Finishes the messages the pattern discarded in one receive, and gives back where the
    /// one it returned (`returned`, the last taken) came from, if from a spooled sender.
    pub(super) fn take_popped(&mut self, returned: bool) -> Option<(PipeId, Origin)> {
        let popped = std::mem::take(&mut self.pipes.popped);
        let last = popped.len().wrapping_sub(1);
        let mut kept = None;
        for (i, (pipe, origin, discarded)) in popped.into_iter().enumerate() {
            let Some(origin) = origin else { continue };
            if discarded || i != last || !returned {
                self.done(pipe, origin);
            } else {
                kept = Some((pipe, origin));
            }
        }
        kept
    }

    /// The application has the message from `origin` (on `pipe`): it is done now, or taken
    /// until it is finished (receipts, manual acknowledgement).
    pub(super) fn taken_by_application(&mut self, pipe: PipeId, origin: Origin) {
        if self.finishing.done_when_taken() {
            self.done(pipe, origin);
        } else {
            let taken = Taken {
                pipe,
                origin,
                finished: false,
            };
            self.finishing.taken.insert((origin.stream, origin.seq), taken);
        }
    }

    /// Finishes every message taken (automatic acknowledgement, at the next receive).
    pub(super) fn finish_taken(&mut self) -> Result<()> {
        let mut streams = Vec::new();
        for (&(stream, _), taken) in self.finishing.taken.iter_mut() {
            taken.finished = true;
            if streams.last() != Some(&stream) {
                streams.push(stream);
            }
        }
        streams
            .into_iter()
            .try_for_each(|stream| self.commit_finished(stream))
    }

    /// The application finished with the message `delivery` names (manual acknowledgement).
    pub(super) fn finish(&mut self, delivery: Delivery) -> Result<()> {
        let key = (delivery.stream, delivery.seq);
        let Some(taken) = self.finishing.taken.get_mut(&key) else {
            return Err(Error::WrongState(
                "not a message received from a spooled sender and awaiting acknowledgement",
            ));
        };
        taken.finished = true;
        self.commit_finished(delivery.stream)
    }

    /// Commits the receipts of `stream`'s finished messages while the lowest number of the
    /// stream not yet done is one of them; each is done once its receipt is durable.
    fn commit_finished(&mut self, stream: u64) -> Result<()> {
        while let Some(seq) = self.finishing.lowest_open(stream) {
            let key = (stream, seq);
            if !self.finishing.taken.get(&key).is_some_and(|t| t.finished) {
                return Ok(());
            }
            if let Some(receipts) = &mut self.finishing.receipts {
                receipts.commit(stream, seq)?;
            }
            if let Some(taken) = self.finishing.taken.remove(&key) {
                self.done(taken.pipe, taken.origin);
            }
        }
        Ok(())
    }

    /// The receiver is done with the message from `origin` (on `pipe`): its position is
    /// acknowledged, and its copies are dropped.
    pub(super) fn done(&mut self, pipe: PipeId, origin: Origin) {
        self.pipes.mark_done(pipe, &origin);
        if let Err(e) = self.dedup.accept(origin.stream, origin.seq, 0) {
            // The stream is forgotten: its connections close, as following it further would
            // bring it back.
            log::warn!("closing a spooled sender's connections: {e}");
            self.refuse_stream(origin.stream);
        }
        if let Some(pending) = self.finishing.pending.remove(&(origin.stream, origin.seq)) {
            for copy in pending.copies {
                self.release_copy(copy.pipe);
                self.pipes.mark_done(copy.pipe, &copy.origin);
            }
        }
    }

    /// A message from a spooled sender arrived on `pipe` from `origin`, on connection
    /// `conn`: it, to queue, or `None` if it is not to be queued (a duplicate of one done,
    /// dropped; a copy of one pending, held back; or sent twice on one connection, which
    /// closes it).
    pub(super) fn admit_copy(
        &mut self,
        pipe: PipeId,
        conn: ConnId,
        origin: Origin,
        msg: Parts,
    ) -> Option<Parts> {
        let key = (origin.stream, origin.seq);
        if self.dedup.is_duplicate(origin.stream, origin.seq) {
            self.pipes.mark_done(pipe, &origin);
            return None;
        }
        if let Some(pending) = self.finishing.pending.get_mut(&key) {
            let same_connection = |p: PipeId, generation: u64| p == pipe && generation == origin.generation;
            if same_connection(pending.pipe, pending.generation)
                || pending
                    .copies
                    .iter()
                    .any(|c| same_connection(c.pipe, c.origin.generation))
            {
                log::warn!("closing a spooled sender's connection: {SENT_TWICE}");
                self.refuse_wire(pipe, conn, SENT_TWICE);
                return None;
            }
            pending.copies.push(Copy { pipe, origin, msg });
            if let Some(p) = self.pipes.get_mut(pipe) {
                p.held_copies += 1;
            }
            return None;
        }
        self.finishing.awaited.remove(&key);
        let pending = Pending {
            pipe,
            generation: origin.generation,
            copies: Vec::new(),
        };
        self.finishing.pending.insert(key, pending);
        Some(msg)
    }

    /// Messages from `origins` were dropped unread (their connection died): a copy held for
    /// each is queued instead, or, with receipts, it is awaited. Copies that came on the
    /// dead connection (`pipe` in `generation`) are dropped first: they come again.
    pub(super) fn dropped_unread(&mut self, pipe: PipeId, generation: u64, origins: &[Origin]) {
        let mut released = 0;
        for pending in self.finishing.pending.values_mut() {
            let before = pending.copies.len();
            pending
                .copies
                .retain(|c| c.pipe != pipe || c.origin.generation != generation);
            released += before - pending.copies.len();
        }
        if let Some(p) = self.pipes.get_mut(pipe) {
            p.held_copies = p.held_copies.saturating_sub(released);
        }
        for origin in origins {
            let key = (origin.stream, origin.seq);
            let Some(mut pending) = self.finishing.pending.remove(&key) else {
                continue;
            };
            while !pending.copies.is_empty() {
                let copy = pending.copies.remove(0);
                self.release_copy(copy.pipe);
                if let Some(p) = self.pipes.get_mut(copy.pipe).filter(|p| !p.detached) {
                    p.push_inbound(copy.msg, Some(copy.origin));
                    pending.pipe = copy.pipe;
                    pending.generation = copy.origin.generation;
                    self.finishing.pending.insert(key, pending);
                    break;
                }
            }
            if !self.finishing.pending.contains_key(&key) && self.finishing.receipts.is_some() {
                self.await_again(key);
            }
        }
    }

    /// With receipts, `key` was dropped unread and comes again: no higher receipt of its
    /// stream may be committed before it is done.
    fn await_again(&mut self, key: Key) {
        let awaited = &mut self.finishing.awaited;
        awaited.insert(key);
        let of_stream = awaited.range((key.0, 0)..=(key.0, u64::MAX)).count();
        if of_stream > MAX_AWAITED
            && let Some(&oldest) = awaited.range((key.0, 0)..=(key.0, u64::MAX)).next()
        {
            log::warn!(
                "spooled sender {:016x}: more than {MAX_AWAITED} messages to come again; no \
                 longer waiting for {}",
                oldest.0,
                oldest.1
            );
            awaited.remove(&oldest);
        }
    }

    /// The sender's own mark: everything up to `low` of `stream` is done somewhere. `noted`
    /// is the mark its connection gave last: noting the same one again changes nothing,
    /// unless messages are awaited (forgotten up to the mark, they may have been awaited
    /// since), and the mark changes once per acknowledgement, not per message.
    pub(super) fn note_sender_low(&mut self, stream: u64, low: u64, noted: u64) {
        if low == noted && self.finishing.awaited.is_empty() {
            return;
        }
        self.dedup.note_low(stream, low);
        let below: Vec<Key> = self
            .finishing
            .awaited
            .range((stream, 0)..=(stream, low))
            .copied()
            .collect();
        for key in below {
            self.finishing.awaited.remove(&key);
        }
    }

    fn release_copy(&mut self, pipe: PipeId) {
        if let Some(p) = self.pipes.get_mut(pipe) {
            p.held_copies = p.held_copies.saturating_sub(1);
        }
    }

    /// Closes connection `conn` of pipe `id`; what it still sends is dropped unread.
    fn refuse_wire(&mut self, id: PipeId, conn: ConnId, reason: &'static str) {
        if let Some(pipe) = self.pipes.get_mut(id) {
            for wire in pipe.wire.iter_mut().filter(|w| w.conn == conn) {
                if let Some(seq) = wire.sequenced.as_mut() {
                    seq.refused = true;
                }
            }
        }
        self.pipes.wakes.push(IoWake::Refused(conn, reason));
    }

    /// Closes every connection of `stream` (see `Dedup`'s bounds).
    fn refuse_stream(&mut self, stream: u64) {
        let mut refused = Vec::new();
        for &id in &self.pipes.polled {
            let Some(pipe) = self.pipes.get(id) else {
                continue;
            };
            for wire in &pipe.wire {
                if wire.sequenced.as_ref().is_some_and(|s| s.stream == stream) {
                    refused.push((id, wire.conn));
                }
            }
        }
        for (id, conn) in refused {
            self.refuse_wire(id, conn, PAST_BOUNDS);
        }
    }

    /// Receipts for spooled senders' streams (see `Socket::set_receipts`). The store also
    /// keeps the receiver's durable identity, under stream 0 (no sender's stream is 0): made
    /// on first use, announced to senders.
    pub(super) fn set_receipts(&mut self, mut receipts: Box<dyn Receipts>) -> Result<()> {
        let mut identity = receipts.load(IDENTITY_STREAM)?;
        if identity == 0 {
            identity = crate::spool::new_stream_id();
            receipts.commit(IDENTITY_STREAM, identity)?;
        }
        self.finishing.receipts = Some(receipts);
        self.opts.receipts = Some(crate::options::ReceiverId {
            durable: identity,
            socket: crate::spool::new_stream_id(),
        });
        Ok(())
    }

    /// Before a spooled sender's connection is followed: its stream's receipt, if any,
    /// marks what is old.
    pub(super) fn load_receipt(&mut self, stream: u64) -> Result<()> {
        if let Some(receipts) = &mut self.finishing.receipts {
            let mark = receipts.load(stream)?;
            self.dedup.note_low(stream, mark);
        }
        Ok(())
    }
}
