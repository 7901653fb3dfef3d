//! Receiver side of acknowledged delivery: which sequence numbers of each spooled sender's
//! stream were delivered already, so that what a sender sends again (after a lost connection
//! or a restart) reaches the application once.
//!
//! Senders control what is remembered (their stream ids, sequence numbers and low-water
//! marks), so it is bounded three ways:
//! - a stream's delivered numbers above the sender's low-water mark are kept as runs of
//!   consecutive numbers, at most [`DedupLimits::runs_per_stream`] of them: a receiver among
//!   several gets interleaved numbers, one run each, as many as the messages in flight to all
//!   of them (for tiny messages, mostly in kernel buffers: some 150,000), while a receiver that
//!   gets everything keeps one run however far the mark lags;
//! - all streams together keep at most [`DedupLimits::runs`] runs;
//! - at most [`DedupLimits::streams`] streams are remembered. A stream whose connections are
//!   all gone is kept (the sender may come back and send again, even below the mark it
//!   announced: see [`Dedup::detach`]) until room is needed: then the one idle longest goes
//!   first.
//!
//! A connection that would go past a bound is refused or closed (the caller does it, with the
//! reason returned here), and its stream is forgotten, so that it starts afresh when it comes
//! back; duplicates of its last unacknowledged messages may then reach the application. Each
//! forgetting is logged.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

/// The bounds of a [`Dedup`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct DedupLimits {
    /// Runs of delivered numbers one stream may keep.
    pub runs_per_stream: usize,
    /// Runs all streams together may keep (each costs some 40 bytes).
    pub runs: usize,
    /// Streams remembered at once.
    pub streams: usize,
}

impl Default for DedupLimits {
    fn default() -> DedupLimits {
        DedupLimits {
            runs_per_stream: 1 << 18,
            runs: 1 << 20,
            streams: 4096,
        }
    }
}

/// Why a stream cannot be followed: the connection it came on is to be closed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DedupFull {
    #[error("stream {stream:016x} has more than {limit} runs of delivered messages in doubt")]
    Window { stream: u64, limit: usize },
    #[error("delivered messages in doubt exceed {limit} runs over all streams")]
    AllWindows { limit: usize },
    #[error("more than {limit} spooled senders are connected")]
    Streams { limit: usize },
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Dedup {
    streams: HashMap<u64, Window, StreamHash>,
    limits: DedupLimits,
    /// Runs kept over all streams.
    runs: usize,
    /// Counts uses, to find the stream idle longest.
    clock: u64,
}

#[derive(Default)]
struct Window {
    /// The sender's acknowledged low-water mark: everything up to it is old.
    low: u64,
    /// Delivered numbers above `low`, as runs `first → last` (inclusive), neither overlapping
    /// nor adjacent.
    runs: BTreeMap<u64, u64>,
    /// No delivered number is above this (the last run's end, or higher once runs were
    /// dropped): numbers past it are answered without a look into `runs`.
    top: u64,
    /// Live connections of this stream.
    connections: u32,
    /// `Dedup::clock` when last used.
    last_used: u64,
}

impl Window {
    fn contains(&self, seq: u64) -> bool {
        seq <= self.low
            || seq <= self.top
                && self
                    .runs
                    .range(..=seq)
                    .next_back()
                    .is_some_and(|(_, &last)| seq <= last)
    }

    /// Adds `seq` (known absent); returns how many runs were added (1, 0 or -1).
    fn insert(&mut self, seq: u64) -> isize {
        let top = self.top;
        self.top = top.max(seq);
        // The common case: the next number of a stream received in order.
        if seq > top
            && let Some(mut last) = self.runs.last_entry()
            && *last.get() + 1 == seq
        {
            *last.get_mut() = seq;
            return 0;
        }
        let before = self.runs.range(..seq).next_back().map(|(&f, &l)| (f, l));
        let after = seq
            .checked_add(1)
            .and_then(|next| self.runs.get(&next).map(|&last| (next, last)));
        match (before.filter(|&(_, last)| last + 1 == seq), after) {
            (Some((first, _)), Some((next, last))) => {
                self.runs.remove(&next);
                self.runs.insert(first, last);
                -1
            }
            (Some((first, _)), None) => {
                self.runs.insert(first, seq);
                0
            }
            (None, Some((next, last))) => {
                self.runs.remove(&next);
                self.runs.insert(seq, last);
                0
            }
            (None, None) => {
                self.runs.insert(seq, seq);
                1
            }
        }
    }

    /// Removes `seq` if present; returns how many runs were added (1, 0 or -1).
    #[cfg(test)]
    fn remove(&mut self, seq: u64) -> isize {
        let Some((first, last)) = self.runs.range(..=seq).next_back().map(|(&f, &l)| (f, l)) else {
            return 0;
        };
        if seq > last {
            return 0;
        }
        self.runs.remove(&first);
        let mut added = -1;
        if first < seq {
            self.runs.insert(first, seq - 1);
            added += 1;
        }
        if seq < last {
            self.runs.insert(seq + 1, last);
            added += 1;
        }
        added
    }

    /// Raises the mark to `low`, dropping what falls under it; returns the runs dropped.
    fn raise_low(&mut self, low: u64) -> usize {
        if low <= self.low {
            return 0;
        }
        self.low = low;
        let before = self.runs.len();
        let Some(above) = low.checked_add(1) else {
            self.runs.clear();
            return before;
        };
        let mut kept = self.runs.split_off(&above);
        if let Some((_, &last)) = self.runs.iter().next_back()
            && last > low
        {
            kept.insert(above, last);
        }
        self.runs = kept;
        before - self.runs.len()
    }
}

impl Dedup {
    #[cfg(test)]
    pub fn with_limits(limits: DedupLimits) -> Dedup {
        Dedup {
            limits,
            ..Dedup::default()
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A connection from `stream` is up. Makes room by forgetting the stream idle longest if
    /// needed; fails if every remembered stream is connected.
    pub fn attach(&mut self, stream: u64) -> Result<(), DedupFull> {
        let now = self.tick();
        if !self.streams.contains_key(&stream)
            && self.streams.len() >= self.limits.streams
            && !self.forget_idlest()
        {
            return Err(DedupFull::Streams {
                limit: self.limits.streams,
            });
        }
        let w = self.streams.entry(stream).or_default();
        w.connections += 1;
        w.last_used = now;
        Ok(())
    }

    /// A connection from `stream` is gone. The stream is remembered until room is needed
    /// (see [`Dedup::attach`]), even when nothing above its mark was delivered: the mark is
    /// what the sender told us it had confirmed, which its spool may not have recorded yet
    /// when it crashes, so a restarted sender can send again messages at or below it.
    pub fn detach(&mut self, stream: u64) {
        let now = self.tick();
        let Some(w) = self.streams.get_mut(&stream) else {
            return;
        };
        w.connections = w.connections.saturating_sub(1);
        w.last_used = now;
    }

    /// [`Dedup::detach`] for a connection that had a stream, if it had one.
    pub fn detach_if(&mut self, stream: Option<u64>) {
        if let Some(stream) = stream {
            self.detach(stream);
        }
    }

    /// Forgets the stream without connections that was used longest ago; false if none.
    fn forget_idlest(&mut self) -> bool {
        let idlest = self
            .streams
            .iter()
            .filter(|(_, w)| w.connections == 0)
            .min_by_key(|(_, w)| w.last_used)
            .map(|(&stream, _)| stream);
        let Some(stream) = idlest else {
            return false;
        };
        log::warn!(
            "forgetting which messages of idle spooled sender {stream:016x} were delivered, to \
             make room: should it send them again, the application gets them again"
        );
        self.drop_stream(stream);
        true
    }

    fn drop_stream(&mut self, stream: u64) {
        if let Some(w) = self.streams.remove(&stream) {
            self.runs -= w.runs.len();
        }
    }

    /// Records `seq` of `stream` as delivered, with the sender's low-water mark `low`.
    /// `Ok(false)` if it was delivered already. An error means the stream went past a bound:
    /// it is forgotten, and its connection must be closed.
    pub fn accept(&mut self, stream: u64, seq: u64, low: u64) -> Result<bool, DedupFull> {
        let now = self.tick();
        let w = self.streams.entry(stream).or_default();
        w.last_used = now;
        self.runs -= w.raise_low(low);
        if w.contains(seq) {
            return Ok(false);
        }
        self.runs = self.runs.saturating_add_signed(w.insert(seq));
        if w.runs.len() > self.limits.runs_per_stream {
            let limit = self.limits.runs_per_stream;
            log::warn!("forgetting spooled sender {stream:016x}: more than {limit} runs in doubt");
            self.drop_stream(stream);
            return Err(DedupFull::Window { stream, limit });
        }
        while self.runs > self.limits.runs && self.forget_idlest() {}
        if self.runs > self.limits.runs {
            let limit = self.limits.runs;
            log::warn!("forgetting spooled sender {stream:016x}: all streams hold {limit} runs");
            self.drop_stream(stream);
            return Err(DedupFull::AllWindows { limit });
        }
        Ok(true)
    }

    /// Raises `stream`'s mark to `low` (the sender's, or a receipt's): everything up to it is
    /// old.
    pub fn note_low(&mut self, stream: u64, low: u64) {
        if let Some(w) = self.streams.get_mut(&stream) {
            self.runs -= w.raise_low(low);
        }
    }

    /// Forgets `seq` of `stream`, as if never delivered.
    #[cfg(test)]
    pub fn forget(&mut self, stream: u64, seq: u64) {
        if let Some(w) = self.streams.get_mut(&stream) {
            self.runs = self.runs.saturating_add_signed(w.remove(seq));
        }
    }

    /// Whether `seq` of `stream` was delivered already.
    pub fn is_duplicate(&self, stream: u64, seq: u64) -> bool {
        self.streams.get(&stream).is_some_and(|w| w.contains(seq))
    }
}

/// Hashes stream ids, looked up several times per message: a multiply folded over a key
/// drawn per receiver, which peers cannot see (they choose their stream ids), instead of
/// SipHash's rounds. Lookups are bounded by [`DedupLimits::streams`] anyway.
#[derive(Clone, Copy)]
struct StreamHash(u64);

impl Default for StreamHash {
    fn default() -> StreamHash {
        StreamHash(std::collections::hash_map::RandomState::new().hash_one(0u64) | 1)
    }
}

impl BuildHasher for StreamHash {
    type Hasher = StreamHasher;
    fn build_hasher(&self) -> StreamHasher {
        StreamHasher {
            key: self.0,
            state: 0,
        }
    }
}

struct StreamHasher {
    key: u64,
    state: u64,
}

impl Hasher for StreamHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let product = u128::from(self.state ^ n ^ self.key) * u128::from(self.key.rotate_left(32) | 1);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(test)]
mod tests;
