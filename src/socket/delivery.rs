//! Delivery from a spool: feeds a socket's pipes from its spool as they have room, re-queues
//! what a lost connection did not deliver, and acknowledges the spool as deliveries are
//! confirmed (out of order across peers, so the spool's mark advances over the contiguous
//! prefix).

use super::unrouted::Unrouted;
use crate::message::{Frame, Parts};
use crate::spool::{Spool, SpoolError};
use bytes::Bytes;
use std::collections::BTreeSet;

pub(crate) struct Delivery {
    spool: Box<dyn Spool>,
    /// The next never-dispatched sequence number.
    cursor: u64,
    /// Dispatched before, lost with a connection: to dispatch again first.
    requeue: BTreeSet<u64>,
    /// Confirmed, but above a gap.
    acked_ahead: BTreeSet<u64>,
    /// Every message up to here is confirmed (and acknowledged in the spool).
    low: u64,
    backlog: super::backlog::Backlog,
    /// Monitor events when the backlog crosses the application's limits.
    alert: Option<super::backlog::Alert>,
    /// Appended messages that found no room, kept so that routing them reads nothing back.
    unrouted: Unrouted,
}

/// What [`Delivery`] keeps of unrouted messages: a backlog of up to 32 MiB (some 170,000
/// small messages) routes without reading the spool. Measured at 64 B, with a sender running
/// up to 400,000 messages ahead: 8 MiB had half the stream read back, at ~150 ns a message
/// (decode, checksum, the chunk's copy); 32 MiB took the sender from 743 to 668 ns a message,
/// and its peak memory from 52 to 58 MiB.
const UNROUTED_BYTES: usize = 32 << 20;

impl Delivery {
    pub fn new(spool: Box<dyn Spool>) -> Delivery {
        let low = spool.first_unacked() - 1;
        Delivery {
            spool,
            cursor: low + 1,
            requeue: BTreeSet::new(),
            acked_ahead: BTreeSet::new(),
            low,
            backlog: super::backlog::Backlog::new(std::time::Instant::now()),
            alert: None,
            unrouted: Unrouted::new(UNROUTED_BYTES),
        }
    }

    /// What the spool holds now, and how fast it moves.
    pub fn stats(&mut self) -> crate::spool::SpoolStats {
        let next = self.spool.next_seq();
        let held = next.saturating_sub(self.low + 1) - self.acked_ahead.len() as u64;
        let oldest = (held > 0).then_some(self.low + 1);
        self.backlog.stats(held, oldest, self.spool.size())
    }

    pub fn low_water(&self) -> u64 {
        self.low
    }

    /// Reports to `hub` when the backlog crosses `limits` (`None`: no more reports).
    pub fn set_alert(&mut self, alert: Option<super::backlog::Alert>) {
        self.alert = alert;
        self.check_alert();
    }

    fn check_alert(&mut self) {
        if let Some(alert) = &mut self.alert {
            let held = self.spool.next_seq().saturating_sub(self.low + 1);
            alert.check(held, self.spool.size());
        }
    }

    /// Whether everything appended has been confirmed.
    pub fn is_drained(&self) -> bool {
        self.low + 1 >= self.spool.next_seq()
    }

    pub fn append(&mut self, frames: &[Bytes]) -> Result<u64, SpoolError> {
        let seq = self.spool.append(frames)?;
        self.backlog.appended(seq);
        self.check_alert();
        Ok(seq)
    }

    /// Appends `messages` as one atomic batch (committing prepared batch `commits`).
    pub fn append_batch(&mut self, messages: &[Vec<Bytes>], commits: Option<u64>) -> Result<u64, SpoolError> {
        let first = self.spool.append_batch(messages, commits)?;
        for i in 0..messages.len() as u64 {
            self.backlog.appended(first + i);
        }
        self.check_alert();
        Ok(first)
    }

    /// The spool itself, for prepared batches.
    pub fn spool(&mut self) -> &mut dyn Spool {
        &mut *self.spool
    }

    /// The next messages to route, up to `max`, re-queued ones first, read from the spool;
    /// nothing is marked dispatched until [`Delivery::dispatched`] says it was routed. A
    /// message gone from the spool (acknowledged before a restart, or a damaged record the
    /// spool skipped) counts as confirmed, or the acknowledged mark would stop there for good;
    /// one that cannot be read is logged and skipped. The batch ends after `max_bytes` of
    /// payload too, so that large messages make short batches.
    pub fn next_batch(&mut self, max: usize, max_bytes: usize) -> Vec<(u64, Parts)> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        self.read_next(max, |seq, parts| {
            bytes += parts.iter().map(|frame| frame.len()).sum::<usize>();
            batch.push((seq, parts));
            bytes < max_bytes
        });
        batch
    }

    /// The next message to route, as [`Delivery::next_batch`] of one, without a vector: a
    /// sending thread catches up one message at a time.
    pub fn next_one(&mut self) -> Option<(u64, Parts)> {
        let mut one = None;
        self.read_next(1, |seq, parts| {
            one = Some((seq, parts));
            false
        });
        one
    }

    /// Hands the next messages to route, up to `max`, to `take` (see
    /// [`Delivery::next_batch`]), while it says to go on.
    fn read_next(&mut self, max: usize, mut take: impl FnMut(u64, Parts) -> bool) {
        let (mut count, mut last) = (0, None);
        while count < max {
            let Some(seq) = self.peek_next(last) else {
                break;
            };
            let parts = match self.unrouted.take(seq) {
                Some(parts) => parts,
                None => match self.spool.read(seq) {
                    Ok(Some(frames)) => frames.into_iter().map(Frame::from).collect(),
                    // A gap is consumed only once everything before it was routed.
                    _ if count > 0 => break,
                    Ok(None) => {
                        self.dispatched(seq);
                        self.confirm([seq]);
                        continue;
                    }
                    Err(e) => {
                        log::error!("spool read of message {seq} failed, it is skipped: {e}");
                        self.dispatched(seq);
                        continue;
                    }
                },
            };
            let more = take(seq, parts);
            count += 1;
            last = Some(seq);
            if !more {
                break;
            }
        }
    }

    /// Keeps appended message `seq`, which found no room, for [`Delivery::next_batch`].
    pub fn keep_unrouted(&mut self, seq: u64, parts: Parts) {
        self.unrouted.keep(seq, parts);
    }

    /// Gives back messages from [`Delivery::next_batch`] that were not routed after all
    /// (`first`, then `rest`, in the batch's order), so that the next batch need not read them
    /// again. They go in newest first: each must be older than what is kept.
    pub fn put_back(
        &mut self,
        first: Option<(u64, Parts)>,
        rest: impl DoubleEndedIterator<Item = (u64, Parts)>,
    ) {
        for (seq, parts) in rest.rev().chain(first) {
            if self.is_undispatched(seq) {
                self.unrouted.put_back(seq, parts);
            }
        }
    }

    /// The next message to route after `after` (None: the first), re-queued ones first.
    fn peek_next(&self, after: Option<u64>) -> Option<u64> {
        let requeued = match after {
            None => self.requeue.first().copied(),
            Some(after) if self.requeue.contains(&after) => self.requeue.range(after + 1..).next().copied(),
            Some(_) => None,
        };
        if requeued.is_some() {
            return requeued;
        }
        let next = match after {
            Some(after) if !self.requeue.contains(&after) => after + 1,
            _ => self.cursor,
        };
        (next < self.spool.next_seq()).then_some(next)
    }

    /// Whether `seq` is the next message to route: nothing re-queued, nothing older waiting.
    pub fn is_next_to_route(&self, seq: u64) -> bool {
        self.requeue.is_empty() && self.cursor == seq
    }

    /// Whether any message waits to be routed (re-queued, or never dispatched).
    pub fn has_undispatched(&self) -> bool {
        !self.requeue.is_empty() || self.cursor < self.spool.next_seq()
    }

    /// Whether what waits to be routed is only never-dispatched messages (nothing re-queued).
    pub fn in_order_backlog(&self) -> bool {
        self.requeue.is_empty()
    }

    /// Whether `seq`, from an earlier [`Delivery::next_batch`], still waits to be routed
    /// (another thread may have routed it since).
    pub fn is_undispatched(&self, seq: u64) -> bool {
        seq >= self.cursor || self.requeue.contains(&seq)
    }

    /// A message from [`Delivery::next_batch`] was routed to a pipe.
    pub fn dispatched(&mut self, seq: u64) {
        if !self.requeue.remove(&seq) {
            self.cursor = self.cursor.max(seq + 1);
        }
    }

    /// Messages that were dispatched but whose delivery is now in doubt.
    pub fn requeue(&mut self, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            if seq > self.low && !self.acked_ahead.contains(&seq) {
                self.requeue.insert(seq);
            }
        }
    }

    /// Every message dispatched and not confirmed is sent again (where it went is in doubt).
    pub fn requeue_in_flight(&mut self) {
        for seq in self.low + 1..self.cursor {
            if !self.acked_ahead.contains(&seq) {
                self.requeue.insert(seq);
            }
        }
    }

    /// Confirms deliveries; acknowledges the spool over the contiguous prefix.
    pub fn confirm(&mut self, seqs: impl IntoIterator<Item = u64>) {
        let before = self.low;
        for seq in seqs {
            if seq == self.low + 1 && self.acked_ahead.is_empty() {
                self.low = seq; // in order, the common case: no set to keep
            } else if seq > self.low {
                self.acked_ahead.insert(seq);
            }
            if !self.requeue.is_empty() {
                self.requeue.remove(&seq); // re-sent meanwhile: no need any more
            }
        }
        while self.acked_ahead.remove(&(self.low + 1)) {
            self.low += 1;
        }
        if self.low > before {
            self.backlog.confirmed(self.low - before, self.low);
            self.check_alert();
        }
        if self.low > before
            && let Err(e) = self.spool.ack(self.low)
        {
            log::error!("spool acknowledgement up to {} failed: {e}", self.low);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::MemorySpool;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn confirm_advances_over_the_contiguous_prefix() {
        let mut spool = MemorySpool::new(None);
        for i in 0..5u8 {
            spool.append(&[Bytes::copy_from_slice(&[i])]).unwrap();
        }
        let mut d = Delivery::new(Box::new(spool));
        d.confirm([2, 3]);
        assert_eq!(d.low_water(), 0);
        d.confirm([1]);
        assert_eq!(d.low_water(), 3);
        d.requeue([3, 4]);
        assert_eq!(
            d.requeue.iter().copied().collect::<Vec<_>>(),
            [4],
            "confirmed ones are not re-sent"
        );
        d.confirm([4, 5]);
        assert!(d.is_drained());
    }

    /// A spool that counts its reads.
    struct CountingSpool(MemorySpool, Arc<AtomicUsize>);

    impl Spool for CountingSpool {
        fn append(&mut self, frames: &[Bytes]) -> Result<u64, SpoolError> {
            self.0.append(frames)
        }
        fn read(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError> {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.read(seq)
        }
        fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
            self.0.ack(seq)
        }
        fn sync(&mut self) -> Result<(), SpoolError> {
            self.0.sync()
        }
        fn size(&self) -> u64 {
            self.0.size()
        }
        fn first_unacked(&self) -> u64 {
            self.0.first_unacked()
        }
        fn next_seq(&self) -> u64 {
            self.0.next_seq()
        }
        fn stream_id(&self) -> u64 {
            self.0.stream_id()
        }
    }

    /// Messages kept unrouted are routed without a read, and so are those of a batch given
    /// back because no pipe had room (before the fix, only the first given back was kept).
    #[test]
    fn unrouted_messages_and_those_given_back_are_not_read_again() {
        let reads = Arc::new(AtomicUsize::new(0));
        let mut d = Delivery::new(Box::new(CountingSpool(MemorySpool::new(None), reads.clone())));
        for i in 0..6u8 {
            let seq = d.append(&[Bytes::copy_from_slice(&[i])]).unwrap();
            d.keep_unrouted(seq, Parts::from_iter([Frame::copy_from_slice(&[i])]));
        }
        let mut batch = d.next_batch(4, usize::MAX).into_iter();
        assert_eq!(reads.load(Ordering::Relaxed), 0, "all four were kept");
        let first = batch.next();
        d.put_back(first, batch);
        let again: Vec<u64> = d.next_batch(6, usize::MAX).iter().map(|(seq, _)| *seq).collect();
        assert_eq!(again, [1, 2, 3, 4, 5, 6]);
        assert_eq!(
            reads.load(Ordering::Relaxed),
            0,
            "the four given back were kept too"
        );
    }

    /// A batch ends at its byte budget as well as at its count.
    #[test]
    fn a_batch_ends_after_its_bytes() {
        let mut d = Delivery::new(Box::new(MemorySpool::new(None)));
        for _ in 0..6 {
            d.append(&[Bytes::from(vec![7u8; 10])]).unwrap();
        }
        let seqs = |batch: Vec<(u64, Parts)>| batch.iter().map(|(seq, _)| *seq).collect::<Vec<_>>();
        assert_eq!(seqs(d.next_batch(6, 25)), [1, 2, 3], "the third passes 25 bytes");
        assert_eq!(seqs(d.next_batch(2, 1000)), [1, 2], "nothing was dispatched");
        assert_eq!(seqs(d.next_batch(6, 1)), [1], "one at least");
    }
}
