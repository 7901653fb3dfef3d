//! Receiver side of zocket acknowledged delivery, per pipe: where each queued message from a
//! spooled sender came from (its connection, position and sequence number), and which
//! positions of the current connection are done, so that the count the connection
//! acknowledges (ZACK) covers exactly the prefix of positions the receiver is finished with.
//!
//! A position is done when its message was finished by the application (taken, or with
//! receipts or manual acknowledgement, committed), dropped by the receiver (a duplicate of a
//! finished message, or discarded by the pattern), or when a copy it stood for was finished.

use crate::message::{Frame, Parts};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Where a message from a spooled sender came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The pipe's acknowledgement generation (one per connection; 0 is never current).
    pub generation: u64,
    /// Its position among the connection's sequenced messages, from 1.
    pub position: u64,
    /// The sender's stream and the message's sequence number in it.
    pub stream: u64,
    pub seq: u64,
}

/// What a receiving connection shares with its socket: the count the socket is done with
/// (the connection acknowledges it, ZACK), and whether the connection's acknowledgement
/// timer runs. While it runs, the connection sends the count when it fires, unasked; only a
/// count published while it is stopped wakes the connection. A stream of messages then costs
/// one acknowledgement per timer period, not one per batch the application drains.
#[derive(Default)]
pub(crate) struct AckShare {
    handled: AtomicU64,
    timer: AtomicBool,
}

impl AckShare {
    /// Socket side: `count` positions are done. True if the connection must be woken to
    /// acknowledge them.
    pub fn publish(&self, count: u64) -> bool {
        // SeqCst, with `stop_timer` then `handled` on the connection's side: either its last
        // look sees this count, or this load sees its timer stopped and the caller wakes it.
        self.handled.store(count, Ordering::SeqCst);
        !self.timer.load(Ordering::SeqCst)
    }

    /// Connection side: the count to acknowledge.
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::SeqCst)
    }

    /// Connection side: the timer runs; it will look at the count when it fires.
    pub fn start_timer(&self) {
        self.timer.store(true, Ordering::SeqCst);
    }

    /// Connection side: the timer fired; the caller looks at the count next.
    pub fn stop_timer(&self) {
        self.timer.store(false, Ordering::SeqCst);
    }
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct RxAcks {
    /// Connection generation (positions restart with each connection).
    pub generation: u64,
    /// The origin of each inbound message, in queue order (`None`: untagged, or queued before
    /// acknowledged delivery began).
    pub positions: VecDeque<Option<Origin>>,
    /// Done flags of the current generation's positions after `delivered`.
    ledger: VecDeque<bool>,
    /// Every position up to here is done.
    delivered: u64,
    /// What the current connection was last told (`handled`).
    published: u64,
    /// The current connection's count to acknowledge.
    handled: Option<Arc<AckShare>>,
}

impl RxAcks {
    /// Positions done but not yet published, past which a wake-up is worth it.
    const BATCH: u64 = 32;

    /// Records where the message just queued came from, so that `positions` stays in step
    /// with the queue.
    pub fn record(&mut self, origin: Option<Origin>) {
        self.positions.push_back(origin);
    }

    /// A new connection serves the pipe: positions start again, counted into `handled`.
    pub fn start_generation(&mut self, handled: Arc<AckShare>) {
        self.generation += 1;
        (self.delivered, self.published) = (0, 0);
        self.ledger.clear();
        self.handled = Some(handled);
    }

    /// The current connection is gone: nothing is counted for it any more.
    pub fn end_generation(&mut self) {
        self.handled = None;
        self.ledger.clear();
    }

    /// `origin`'s position is done. True if the connection must be woken to acknowledge (a
    /// count was published while its timer was stopped, see [`AckShare`]). A position of an
    /// earlier connection counts for nothing: that connection is gone.
    pub fn mark_done(&mut self, origin: &Origin, queue_empty: bool) -> bool {
        if origin.generation != self.generation || origin.position <= self.delivered {
            return false;
        }
        let index = (origin.position - self.delivered - 1) as usize;
        if self.ledger.len() <= index {
            self.ledger.resize(index + 1, false);
        }
        self.ledger[index] = true;
        while self.ledger.front() == Some(&true) {
            self.ledger.pop_front();
            self.delivered += 1;
        }
        self.publish(queue_empty)
    }

    /// The connection of the current generation died: its messages the application has not
    /// read were never acknowledged, so the sender will send them again. They are taken out
    /// of `inbound`, and their origins returned.
    pub fn drop_unread(&mut self, inbound: &mut VecDeque<Parts>) -> Vec<Origin> {
        debug_assert_eq!(self.positions.len(), inbound.len(), "positions out of step");
        if self.positions.len() != inbound.len() {
            return Vec::new();
        }
        let mut dropped = Vec::new();
        let mut kept = VecDeque::with_capacity(inbound.len());
        let mut kept_positions = VecDeque::with_capacity(inbound.len());
        for (entry, msg) in self.positions.drain(..).zip(inbound.drain(..)) {
            match entry {
                Some(origin) if origin.generation == self.generation => dropped.push(origin),
                _ => {
                    kept.push_back(msg);
                    kept_positions.push_back(entry);
                }
            }
        }
        *inbound = kept;
        self.positions = kept_positions;
        dropped
    }

    /// The application (or the pattern) took the queue's front: where it came from.
    pub fn on_pop(&mut self) -> Option<Origin> {
        self.positions.pop_front().flatten()
    }

    /// The queue drained: what is done is published. True if the connection must be woken.
    pub fn on_drained(&mut self) -> bool {
        self.publish(true)
    }

    /// Whether positions of the current connection wait to be done.
    #[cfg(test)]
    pub fn undone(&self) -> usize {
        self.ledger.len()
    }

    fn publish(&mut self, queue_empty: bool) -> bool {
        let due = self.delivered >= self.published + Self::BATCH
            || (queue_empty && self.delivered > self.published);
        let Some(handled) = self.handled.as_ref().filter(|_| due) else {
            return false;
        };
        self.published = self.delivered;
        handled.publish(self.delivered)
    }
}

/// The last frame of each message from a spooled sender's connection on its way to the
/// socket: its ZSEQ tag (sequence number and the sender's low-water mark), or empty for a
/// message that came without one. Inline: 16 bytes.
pub(crate) fn tag_frame(tag: Option<(u64, u64)>) -> Frame {
    let Some((seq, low)) = tag else {
        return Frame::new();
    };
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&seq.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    Frame::copy_from_slice(&bytes)
}

/// Reads a [`tag_frame`].
pub(crate) fn read_tag(frame: &[u8]) -> Option<(u64, u64)> {
    let seq = u64::from_be_bytes(frame.get(..8)?.try_into().ok()?);
    let low = u64::from_be_bytes(frame.get(8..16)?.try_into().ok()?);
    Some((seq, low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_untagged_is_empty() {
        assert_eq!(read_tag(&tag_frame(Some((7, u64::MAX)))), Some((7, u64::MAX)));
        assert!(tag_frame(None).is_empty());
        assert_eq!(read_tag(&tag_frame(None)), None);
    }

    fn origin(rx: &RxAcks, position: u64) -> Origin {
        Origin {
            generation: rx.generation,
            position,
            stream: 7,
            seq: 500 + position,
        }
    }

    /// Positions count only as a contiguous prefix: one not done holds back the count, however
    /// many after it are. Before, the count was the highest position taken, so a copy dropped
    /// as a duplicate acknowledged messages still queued before it.
    #[test]
    fn the_count_covers_only_the_prefix_of_done_positions() {
        let handled = Arc::new(AckShare::default());
        let mut rx = RxAcks::default();
        rx.start_generation(Arc::clone(&handled));
        for pos in [2, 3, 5] {
            assert!(!rx.mark_done(&origin(&rx, pos), true), "position 1 is not done");
        }
        assert_eq!(handled.handled(), 0);
        assert!(rx.mark_done(&origin(&rx, 1), true));
        assert_eq!(handled.handled(), 3);
        assert_eq!(rx.undone(), 2, "4 pending, 5 done");
        assert!(rx.mark_done(&origin(&rx, 4), true));
        assert_eq!(handled.handled(), 5);
        assert!(!rx.mark_done(&origin(&rx, 4), true), "done twice counts once");
    }

    #[test]
    fn counts_are_published_in_batches_and_when_the_queue_drains() {
        let handled = Arc::new(AckShare::default());
        let mut rx = RxAcks::default();
        rx.start_generation(Arc::clone(&handled));
        let due: Vec<u64> = (1..=40u64)
            .filter(|&n| rx.mark_done(&origin(&rx, n), n == 40))
            .collect();
        assert_eq!(due, [32, 40]);
        assert_eq!(handled.handled(), 40);
        // While the connection's timer runs, it sends the count unwoken.
        handled.start_timer();
        assert!(!rx.mark_done(&origin(&rx, 41), true));
        assert_eq!(handled.handled(), 41);
        handled.stop_timer();
        // A gone connection is told nothing more, and an earlier one's positions count for
        // nothing in the next.
        let old = origin(&rx, 42);
        rx.end_generation();
        assert!(!rx.mark_done(&old, true));
        rx.start_generation(Arc::clone(&handled));
        assert!(!rx.mark_done(&old, true));
        assert_eq!(handled.handled(), 41);
    }

    #[test]
    fn unread_messages_of_the_current_connection_are_dropped_in_step() {
        let mut rx = RxAcks::default();
        rx.start_generation(Arc::new(AckShare::default()));
        let mut inbound = VecDeque::new();
        rx.record(None);
        inbound.push_back(Parts::new());
        for pos in 1..=3 {
            rx.record(Some(origin(&rx, pos)));
            inbound.push_back(Parts::new());
        }
        let dropped: Vec<u64> = rx.drop_unread(&mut inbound).iter().map(|o| o.seq).collect();
        assert_eq!(dropped, [501, 502, 503]);
        assert_eq!((inbound.len(), rx.positions.len()), (1, 1));
        assert_eq!(rx.on_pop(), None);
    }
}
