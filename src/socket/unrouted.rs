//! Spooled messages that were appended but found no room in a pipe, kept in memory (up to a
//! byte budget) so that routing them later does not read them back from the spool.
//!
//! Purely a cache: every message here is in the spool too, so dropping one only costs a read.
//! Messages are moved in, not cloned: a message that could not be routed would otherwise be
//! dropped, and reading it back (decode, checksum, a slice of a shared chunk) costs more than
//! keeping it.

use crate::message::Parts;
use std::collections::VecDeque;

/// Bytes counted per kept message on top of its payload (the parts' vector and handles).
const OVERHEAD: usize = 128;

/// Unrouted messages in increasing sequence order (not necessarily contiguous: a message
/// that did not fit the budget is read back from the spool instead).
pub(crate) struct Unrouted {
    entries: VecDeque<(u64, Parts)>,
    bytes: usize,
    limit: usize,
}

fn cost(parts: &Parts) -> usize {
    parts.iter().map(|frame| frame.len()).sum::<usize>() + OVERHEAD
}

impl Unrouted {
    /// Keeps at most `limit` bytes (payload plus a fixed overhead per message).
    pub fn new(limit: usize) -> Unrouted {
        Unrouted {
            entries: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// Keeps message `seq`, newer than any kept, if the budget allows.
    pub fn keep(&mut self, seq: u64, parts: Parts) {
        let cost = cost(&parts);
        let newest = self.entries.back().is_none_or(|(last, _)| *last < seq);
        if newest && self.bytes + cost <= self.limit {
            self.bytes += cost;
            self.entries.push_back((seq, parts));
        }
    }

    /// Gives back message `seq`, taken but not routed after all, if it is older than any
    /// kept, whatever the budget: what is given back is a batch at most (taken from here or
    /// read, moments before), and is the next to route. The budget stays reached once a
    /// sender runs ahead, since appends take the room routing frees: held to it, every batch
    /// given back was dropped, to be read back from the disk.
    pub fn put_back(&mut self, seq: u64, parts: Parts) {
        let cost = cost(&parts);
        let oldest = self.entries.front().is_none_or(|(first, _)| *first > seq);
        if oldest {
            self.bytes += cost;
            self.entries.push_front((seq, parts));
        }
    }

    /// Takes message `seq` if it is kept; forgets the older ones (routed or confirmed some
    /// other way). `seq` below everything kept (a re-sent message) changes nothing.
    pub fn take(&mut self, seq: u64) -> Option<Parts> {
        while let Some((first, _)) = self.entries.front() {
            if *first > seq {
                return None;
            }
            let (first, parts) = self.entries.pop_front().expect("front");
            self.bytes -= cost(&parts);
            if first == seq {
                return Some(parts);
            }
        }
        None
    }

    #[cfg(test)]
    fn seqs(&self) -> Vec<u64> {
        self.entries.iter().map(|(seq, _)| *seq).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Frame;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn parts(seq: u64, len: usize) -> Parts {
        let mut payload = vec![0u8; len];
        payload[..8.min(len)].copy_from_slice(&seq.to_le_bytes()[..8.min(len)]);
        Parts::from_iter([Frame::from(Bytes::from(payload))])
    }

    #[test]
    fn keeps_in_order_within_the_budget() {
        let mut unrouted = Unrouted::new(3 * (64 + OVERHEAD));
        for seq in 1..=5 {
            unrouted.keep(seq, parts(seq, 64));
        }
        assert_eq!(unrouted.seqs(), [1, 2, 3], "the budget holds three");
        unrouted.keep(2, parts(2, 64));
        assert_eq!(
            unrouted.seqs(),
            [1, 2, 3],
            "an older message is not kept at the back"
        );
        assert!(unrouted.take(0).is_none(), "a re-sent message below everything");
        assert_eq!(unrouted.seqs(), [1, 2, 3]);
        assert!(unrouted.take(2).is_some());
        assert_eq!(unrouted.seqs(), [3], "1 was routed some other way");
        unrouted.put_back(2, parts(2, 64));
        assert_eq!(unrouted.seqs(), [2, 3]);
        unrouted.put_back(3, parts(3, 64));
        assert_eq!(unrouted.seqs(), [2, 3], "only older ones go back in front");
        for seq in 4..=6 {
            unrouted.keep(seq, parts(seq, 64));
        }
        assert_eq!(unrouted.seqs(), [2, 3, 4], "the budget holds three");
        unrouted.put_back(1, parts(1, 64));
        assert_eq!(unrouted.seqs(), [1, 2, 3, 4], "given back whatever the budget");
        assert!(unrouted.take(1).is_some());
        assert!(unrouted.take(5).is_none());
        assert_eq!(unrouted.bytes, 0, "everything taken or forgotten");
    }

    proptest! {
        /// Whatever the operations, a taken message is the one kept under its number, the
        /// numbers stay increasing, the byte count holds, and only a message given back
        /// goes past the budget.
        #[test]
        fn take_returns_what_was_kept(ops in proptest::collection::vec((0u8..3, 0u64..40, 0usize..300), 0..200)) {
            let limit = 2000;
            let mut unrouted = Unrouted::new(limit);
            for (op, seq, len) in ops {
                match op {
                    0 => {
                        let before = unrouted.bytes;
                        unrouted.keep(seq, parts(seq, len.max(8)));
                        prop_assert!(unrouted.bytes == before || unrouted.bytes <= limit);
                    }
                    1 => unrouted.put_back(seq, parts(seq, len.max(8))),
                    _ => {
                        if let Some(taken) = unrouted.take(seq) {
                            prop_assert_eq!(&taken[0][..8], &seq.to_le_bytes()[..]);
                        }
                        prop_assert!(unrouted.entries.front().is_none_or(|(s, _)| *s > seq));
                    }
                }
                let seqs = unrouted.seqs();
                prop_assert!(seqs.windows(2).all(|w| w[0] < w[1]));
                prop_assert_eq!(unrouted.bytes, unrouted.entries.iter().map(|(_, p)| cost(p)).sum::<usize>());
            }
        }
    }
}
