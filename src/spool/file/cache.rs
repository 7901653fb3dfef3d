//! Recently appended messages kept in memory, so that delivering them does not read the disk.

use bytes::Bytes;
use smallvec::SmallVec;
use std::collections::VecDeque;

/// A cached message's frames: most messages have one or two, kept without an allocation.
type Frames = SmallVec<[Bytes; 2]>;

/// Bytes counted per cached message on top of its payload (the vector, the `Bytes` handles).
const OVERHEAD: usize = 64;
/// Messages smaller than this are not cached (see [`RecentCache::insert`]).
pub(super) const MIN_PAYLOAD: usize = 512;

/// The newest messages, up to a byte budget. A message larger than the whole budget is not
/// cached, so the numbers held are increasing but not contiguous: look-ups are by number.
pub(super) struct RecentCache {
    entries: VecDeque<(u64, Frames, usize)>,
    size: usize,
    limit: usize,
}

impl RecentCache {
    pub fn new(limit: usize) -> RecentCache {
        RecentCache {
            entries: VecDeque::new(),
            size: 0,
            limit,
        }
    }

    /// Keeps message `seq` (higher than any kept before), evicting the oldest as needed.
    /// Small messages are not kept: reading them back in order, chunk by chunk from pages the
    /// kernel has, costs about what the cache's bookkeeping did per append.
    pub fn insert(&mut self, seq: u64, frames: &[Bytes]) {
        let payload = frames.iter().map(Bytes::len).sum::<usize>();
        let cost = payload + OVERHEAD;
        if payload < MIN_PAYLOAD || cost > self.limit {
            return;
        }
        self.entries.push_back((seq, Frames::from(frames), cost));
        self.size += cost;
        while self.size > self.limit {
            let Some((_, _, n)) = self.entries.pop_front() else {
                break;
            };
            self.size -= n;
        }
    }

    /// Message `seq`, if it is kept.
    pub fn get(&self, seq: u64) -> Option<Vec<Bytes>> {
        // Outside what is kept (always, for small messages): no search.
        let (first, last) = (self.entries.front()?.0, self.entries.back()?.0);
        if !(first..=last).contains(&seq) {
            return None;
        }
        let i = self.entries.binary_search_by_key(&seq, |(s, _, _)| *s).ok()?;
        Some(self.entries[i].1.to_vec())
    }

    /// Forgets every message up to and including `seq`.
    pub fn forget_through(&mut self, seq: u64) {
        while self.entries.front().is_some_and(|(s, _, _)| *s <= seq) {
            let (_, _, n) = self.entries.pop_front().expect("front");
            self.size -= n;
        }
    }
}
