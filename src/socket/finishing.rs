//! Finishing messages from spooled zocket senders: when the receiver is done with one, its
//! position is acknowledged to its connection, its number joins what `Dedup` drops as a
//! duplicate, and copies of it that arrived meanwhile (held as shadows) are dropped too.
//!
//! - By default a message is done as the application takes it.
//! - With receipts ([`crate::spool::Receipts`]) it is done once its receipt is committed:
//!   at the next receive, or at [`crate::Socket::ack`] with manual acknowledgement. Receipts
//!   of a stream are committed in increasing order, over the prefix of finished messages.
//!
//! A copy that arrives while its original is queued or taken but not done is held back: it is
//! dropped once the original is done, and queued in its place if the original is dropped
//! unread (its connection died). Acknowledging it at once would let the sender forget a
//! message the receiver may still lose.

use super::shared::SocketState;
use crate::Delivery;
use crate::error::{Error, Result};
use crate::message::Parts;
use crate::pipe::{IoWake, Origin, PipeId};
use crate::spool::Receipts;
use std::collections::{BTreeMap, HashMap};

/// Why a spooled sender's connection is closed when the receiver cannot follow its stream.
pub(super) const PAST_BOUNDS: &str = "a spooled sender went past what the receiver remembers";

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Finishing {
    pub receipts: Option<Box<dyn Receipts>>,
    /// Messages are finished by `Socket::ack`, not by the next receive.
    pub manual: bool,
    /// Messages queued or taken, not yet done, by (stream, seq), with the copies of each
    /// that arrived since.
    pending: HashMap<(u64, u64), Vec<Shadow>>,
    /// Taken by the application and not yet done, by (stream, seq).
    taken: BTreeMap<(u64, u64), Taken>,
}

struct Shadow {
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
    fn done_when_taken(&self) -> bool {
        self.receipts.is_none() && !self.manual
    }

    /// Whether messages taken wait to be finished.
    pub fn has_taken(&self) -> bool {
        !self.taken.is_empty()
    }
}

impl SocketState {
    /// Applies what the pattern took from the queues in one receive: the message it returned
    /// (`returned`, the last taken) is the application's now, the others were discarded. The
    /// returned message's place in its stream, if it came from a spooled sender.
    pub(super) fn after_take(&mut self, returned: bool) -> Option<Delivery> {
        let popped = std::mem::take(&mut self.pipes.popped);
        let last = popped.len().wrapping_sub(1);
        let mut delivery = None;
        for (i, (pipe, origin, discarded)) in popped.into_iter().enumerate() {
            if discarded || i != last || !returned {
                self.done(pipe, origin);
                continue;
            }
            delivery = Some(Delivery {
                stream: origin.stream,
                seq: origin.seq,
            });
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
        delivery
    }

    /// Finishes every message taken (automatic acknowledgement, at the next receive).
    pub(super) fn finish_taken(&mut self) -> Result<()> {
        let mut streams = Vec::new();
        for (&(stream, _), taken) in &mut self.finishing.taken {
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

    /// Commits the receipts of `stream`'s finished messages, lowest first, up to the first
    /// one not finished; each is done once its receipt is durable.
    fn commit_finished(&mut self, stream: u64) -> Result<()> {
        loop {
            let Some((&key, taken)) = self
                .finishing
                .taken
                .range((stream, 0)..=(stream, u64::MAX))
                .next()
            else {
                return Ok(());
            };
            if !taken.finished {
                return Ok(());
            }
            if let Some(receipts) = &mut self.finishing.receipts {
                receipts.commit(key.0, key.1)?;
            }
            if let Some(taken) = self.finishing.taken.remove(&key) {
                self.done(taken.pipe, taken.origin);
            }
        }
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
        let shadows = self.finishing.pending.remove(&(origin.stream, origin.seq));
        for shadow in shadows.into_iter().flatten() {
            self.pipes.mark_done(shadow.pipe, &shadow.origin);
        }
    }

    /// A message from a spooled sender arrived on `pipe`, from `origin`: false if it is
    /// not to be queued (a duplicate of one done, dropped; or a copy of one pending, held).
    pub(super) fn admit_copy(&mut self, pipe: PipeId, origin: Origin, msg: Parts) -> Option<Parts> {
        let key = (origin.stream, origin.seq);
        if self.dedup.is_duplicate(origin.stream, origin.seq) {
            self.pipes.mark_done(pipe, &origin);
            return None;
        }
        if let Some(shadows) = self.finishing.pending.get_mut(&key) {
            shadows.push(Shadow { pipe, origin, msg });
            return None;
        }
        self.finishing.pending.insert(key, Vec::new());
        Some(msg)
    }

    /// Messages from `origins` were dropped unread (their connection died): a copy held for
    /// each takes its place, or it is forgotten. Copies that came on the dead connection
    /// (`pipe` in `generation`) are dropped first: they come again.
    pub(super) fn dropped_unread(&mut self, pipe: PipeId, generation: u64, origins: &[Origin]) {
        for shadows in self.finishing.pending.values_mut() {
            shadows.retain(|s| s.pipe != pipe || s.origin.generation != generation);
        }
        for origin in origins {
            let key = (origin.stream, origin.seq);
            let Some(shadows) = self.finishing.pending.get_mut(&key) else {
                continue;
            };
            let promoted = loop {
                if shadows.is_empty() {
                    break None;
                }
                let shadow = shadows.remove(0);
                if let Some(p) = self.pipes.get_mut(shadow.pipe).filter(|p| !p.detached) {
                    p.push_inbound(shadow.msg, Some(shadow.origin));
                    break Some(());
                }
            };
            if promoted.is_none() {
                self.finishing.pending.remove(&key);
            }
        }
    }

    /// Closes every connection of `stream` (see `Dedup`'s bounds); what they still send is
    /// dropped unread.
    fn refuse_stream(&mut self, stream: u64) {
        let ids = self.pipes.polled.clone();
        for id in ids {
            let Some(pipe) = self.pipes.get_mut(id) else {
                continue;
            };
            let mut conns = smallvec::SmallVec::<[_; 2]>::new();
            for wire in &mut pipe.wire {
                if let Some(seq) = wire.sequenced.as_mut().filter(|s| s.stream == stream) {
                    seq.refused = true;
                    conns.push(wire.conn);
                }
            }
            let refused = conns.into_iter().map(|conn| IoWake::Refused(conn, PAST_BOUNDS));
            self.pipes.wakes.extend(refused);
        }
    }

    /// Receipts for spooled senders' streams (see `Socket::set_receipts`): the marks of the
    /// streams already followed apply at once.
    pub(super) fn set_receipts(&mut self, mut receipts: Box<dyn Receipts>) -> Result<()> {
        for stream in self.dedup.streams() {
            let mark = receipts.load(stream)?;
            self.dedup.note_low(stream, mark);
        }
        self.finishing.receipts = Some(receipts);
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
