//! Receiver side of zocket acknowledged delivery, per pipe: which connection position each
//! queued message from a spooled sender had, so that popping it tells how far the
//! application got, and the count the connection acknowledges (ZACK).

use crate::message::{Frame, Parts};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// See the module documentation.
#[derive(Default)]
pub(crate) struct RxAcks {
    /// Connection generation (positions restart with each connection).
    pub generation: u64,
    /// (generation, position, sequence number) of each inbound message, in queue order.
    pub positions: VecDeque<(u64, u64, u64)>,
    /// Position of the last message dropped (a duplicate, or refused by the pattern): it
    /// counts as handled once the queue before it drains.
    ghost_upto: u64,
    /// Position up to which messages were handed to the application.
    delivered: u64,
    /// What the current connection was last told (`handled`).
    published: u64,
    /// The current connection's count to acknowledge.
    handled: Option<Arc<AtomicU64>>,
}

impl RxAcks {
    /// Positions handed over but not yet published, past which a wake-up is worth it.
    const BATCH: u64 = 32;

    /// Records where the message just queued came from: (position, sequence number) on the
    /// current connection, or nowhere (untagged, or from an earlier connection), so that
    /// `positions` stays in step with the queue.
    pub fn record(&mut self, origin: Option<(u64, u64)>) {
        let entry = match origin {
            Some((position, seq)) => (self.generation, position, seq),
            None => (0, 0, 0), // generation 0 is never current
        };
        self.positions.push_back(entry);
    }

    /// A new connection serves the pipe: positions start again, counted into `handled`.
    pub fn start_generation(&mut self, handled: Arc<AtomicU64>) {
        self.generation += 1;
        (self.ghost_upto, self.delivered, self.published) = (0, 0, 0);
        self.handled = Some(handled);
    }

    /// The current connection is gone: nothing is counted for it any more.
    pub fn end_generation(&mut self) {
        self.handled = None;
    }

    /// A message at `position` will never be read: it counts as handled once everything
    /// queued before it is. True if an acknowledgement is due.
    pub fn ghost(&mut self, position: u64, queue_empty: bool) -> bool {
        self.ghost_upto = position;
        if queue_empty {
            self.delivered = self.delivered.max(position);
        }
        self.publish(queue_empty)
    }

    /// The connection of the current generation died: its messages the application has not
    /// read were never acknowledged, so the sender will send them again. They are taken out
    /// of `inbound` (and their sequence numbers returned) so that the new copies are not
    /// mistaken for duplicates of messages that then never get read.
    pub fn drop_unread(&mut self, inbound: &mut VecDeque<Parts>) -> Vec<u64> {
        debug_assert_eq!(self.positions.len(), inbound.len(), "positions out of step");
        if self.positions.len() != inbound.len() {
            return Vec::new();
        }
        let mut dropped = Vec::new();
        let mut kept = VecDeque::with_capacity(inbound.len());
        let mut kept_positions = VecDeque::with_capacity(inbound.len());
        for (entry, msg) in self.positions.drain(..).zip(inbound.drain(..)) {
            if entry.0 == self.generation {
                dropped.push(entry.2);
            } else {
                kept.push_back(msg);
                kept_positions.push_back(entry);
            }
        }
        *inbound = kept;
        self.positions = kept_positions;
        dropped
    }

    /// The application took the queue's front. True if an acknowledgement is due: the
    /// count is published, and the connection must be woken to send it.
    pub fn on_pop(&mut self, queue_now_empty: bool) -> bool {
        if let Some((generation, pos, _)) = self.positions.pop_front()
            && generation == self.generation
        {
            self.delivered = self.delivered.max(pos);
        }
        if queue_now_empty {
            self.delivered = self.delivered.max(self.ghost_upto);
        }
        self.publish(queue_now_empty)
    }

    fn publish(&mut self, queue_empty: bool) -> bool {
        let due = self.delivered >= self.published + Self::BATCH
            || (queue_empty && self.delivered > self.published);
        let Some(handled) = self.handled.as_ref().filter(|_| due) else {
            return false;
        };
        // Release: the connection reads it with Acquire (`ReceiverAcks::due`).
        handled.store(self.delivered, Ordering::Release);
        self.published = self.delivered;
        true
    }
}

/// The first frame of each message from a spooled sender's connection on its way to the
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

    /// Messages queued without an origin (from an unspooled connection earlier on the same
    /// pipe, or untagged) count for nothing: taking them acknowledges none of the spooled
    /// sender's. Before every queued message recorded an entry, popping 32 of them counted
    /// 32 of the sender's, which the application had not taken.
    #[test]
    fn messages_without_an_origin_acknowledge_nothing() {
        let handled = Arc::new(AtomicU64::new(0));
        let mut rx = RxAcks::default();
        rx.start_generation(Arc::clone(&handled));
        for _ in 0..40 {
            rx.record(None);
        }
        for pos in 1..=40 {
            rx.record(Some((pos, 500 + pos)));
        }
        for _ in 0..40 {
            rx.on_pop(false);
        }
        assert_eq!(
            handled.load(Ordering::Relaxed),
            0,
            "untagged messages acknowledged"
        );
        let due: Vec<u64> = (1..=40u64).filter(|&n| rx.on_pop(n == 40)).collect();
        assert_eq!(due, [32, 40]);
        assert_eq!(handled.load(Ordering::Relaxed), 40);
    }

    #[test]
    fn counts_are_published_in_batches_and_when_the_queue_drains() {
        let handled = Arc::new(AtomicU64::new(0));
        let mut rx = RxAcks::default();
        rx.start_generation(Arc::clone(&handled));
        for pos in 1..=40 {
            rx.positions.push_back((rx.generation, pos, 100 + pos));
        }
        let due: Vec<u64> = (1..=40u64).filter(|&n| rx.on_pop(n == 40)).collect();
        assert_eq!(due, [32, 40]);
        assert_eq!(handled.load(Ordering::Relaxed), 40);
        // A duplicate after that counts once the queue is empty.
        assert!(rx.ghost(41, true));
        assert_eq!(handled.load(Ordering::Relaxed), 41);
        // A gone connection is told nothing more.
        rx.end_generation();
        assert!(!rx.ghost(42, true));
        assert_eq!(handled.load(Ordering::Relaxed), 41);
    }
}
