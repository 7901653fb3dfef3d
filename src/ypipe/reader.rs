//! The consuming half of a pipe.

use super::chunk::{Chunk, Count, Cursor, Entry};
use super::shared::Shared;
use super::{CHUNK_LEN, Read, Wake};
use crate::sync::{Arc, CachePadded, Ordering};
use std::ptr;

/// The consuming half of a pipe: see the [module documentation](super).
///
/// `Send` but neither `Sync` nor `Clone`: there is exactly one reader.
pub(crate) struct Reader<T, const N: usize = CHUNK_LEN> {
    state: CachePadded<ReaderState<T, N>>,
    shared: Arc<Shared<T, N>>,
}

// SAFETY: the reader's state is only touched through `&mut self`; what it shares with the
// writer goes through `Shared`'s protocol.
unsafe impl<T: Send, const N: usize> Send for Reader<T, N> {}

struct ReaderState<T, const N: usize> {
    /// The next slot to read, and the number of items read.
    head: Cursor<T, N>,
    read: Count,
    /// The item count published as last seen: items up to it can be read without atomics.
    limit: Count,
    /// Complete messages read, and the count last stored into `Flow::word` (which only we
    /// move forward): the count is reported in batches (see `count_message`).
    messages: Count,
    reported: Count,
    /// The delimiter was read.
    closed: bool,
}

impl<T, const N: usize> Reader<T, N> {
    pub(super) fn new(shared: Arc<Shared<T, N>>, first: *mut Chunk<T, N>) -> Self {
        let zero = Count::default();
        Reader {
            state: CachePadded(ReaderState {
                head: Cursor::start_of(first),
                read: zero,
                limit: zero,
                messages: zero,
                reported: zero,
                closed: false,
            }),
            shared,
        }
    }

    /// Whether an item (a frame or the delimiter) can be read. If not, the reader is now
    /// asleep, atomically with the check: the next [`Writer::flush`](super::Writer::flush)
    /// that publishes something returns [`Wake::Reader`]. Already asleep, it stays so.
    ///
    /// After [`Read::Closed`] it returns false and nothing will wake the reader.
    #[inline]
    pub(crate) fn check_read(&mut self) -> bool {
        let s = &mut *self.state;
        if s.read != s.limit {
            return true;
        }
        if s.closed {
            return false;
        }
        // Success, Relaxed: going to sleep publishes nothing; the wake-up is ordered by this
        // word's modification order alone. Failure, Acquire: pairs with the Release of
        // `Writer::flush`, so the slots it published are visible before we read them.
        match self.shared.published.compare_exchange(
            s.read.word(),
            s.read.flagged(),
            Ordering::Relaxed,
            Ordering::Acquire,
        ) {
            Ok(_) => false,
            Err(word) => {
                let (limit, asleep) = Count::from_word(word);
                if asleep {
                    return false;
                }
                debug_assert!(limit != s.read);
                s.limit = limit;
                true
            }
        }
    }

    /// Whether an item is known to be published without looking at the shared word: a reader
    /// that takes only these between its [`check_read`](Self::check_read)s fetches the
    /// writer's progress once per batch, not once per item.
    pub(crate) fn has_known(&self) -> bool {
        self.state.read != self.state.limit
    }

    /// Whether an item can be read, like [`check_read`](Self::check_read) but without going
    /// to sleep when none can: for an awake reader that spins a little before it sleeps.
    /// While asleep it sees nothing new (the flush that ends the sleep still returns
    /// [`Wake::Reader`], and the owner still consumes that wake-up).
    pub(crate) fn peek(&mut self) -> bool {
        let s = &mut *self.state;
        if s.read != s.limit {
            return true;
        }
        // Acquire: pairs with the Release of `Writer::flush`, as in `check_read`.
        let (limit, asleep) = Count::from_word(self.shared.published.load(Ordering::Acquire));
        if asleep || limit == s.read {
            return false;
        }
        s.limit = limit;
        true
    }

    /// Takes the next frame, or reports an empty pipe (the reader is then asleep, as with
    /// [`check_read`](Self::check_read)) or the writer's close.
    #[inline]
    pub(crate) fn read(&mut self) -> Read<T> {
        if !self.check_read() {
            return if self.state.closed {
                Read::Closed
            } else {
                Read::Empty
            };
        }
        if self.state.head.at_chunk_end() {
            self.next_chunk();
        }
        let s = &mut *self.state;
        // SAFETY: `check_read` saw the slot published, and only the reader takes it.
        let entry = unsafe { s.head.take() };
        s.read = s.read.next();
        match entry {
            Entry::Frame { item, more } => {
                let caught_up = s.read == s.limit;
                let wake = if more {
                    Wake::None
                } else {
                    self.count_message(caught_up)
                };
                Read::Frame { item, more, wake }
            }
            Entry::Delimiter => {
                s.closed = true;
                Read::Closed
            }
        }
    }

    /// Moves to the next chunk and leaves the emptied one as a spare, or frees it when the
    /// writer already has enough.
    fn next_chunk(&mut self) {
        let s = &mut *self.state;
        let emptied = s.head.chunk;
        // SAFETY: an item of the next chunk is published, and the link was written before it.
        let next = unsafe { Chunk::next(emptied) };
        debug_assert!(!next.is_null());
        s.head = Cursor::start_of(next);
        for slot in self.shared.spares.iter() {
            // Release: pairs with the Acquire swap in `Writer::next_chunk`, which reuses the
            // chunk after our last reads of it. A failure reads a chunk we put there earlier
            // (the writer only takes), so it needs no ordering.
            if slot
                .compare_exchange(ptr::null_mut(), emptied, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: an emptied chunk nobody else references.
        unsafe { Chunk::free(emptied) };
    }

    /// Counts one more message read and tells whether a writer waiting for room must be woken:
    /// once per wait, when the queue has drained to the writer's resume level.
    ///
    /// The count is reported to the writer every few messages (`Flow::report_every`), after each message
    /// while the writer waits, and whenever the reader has read everything published
    /// (`caught_up`), so that it is current before the reader can go to sleep. Reporting each message would move the word's cache line
    /// between the cores once per message; a writer that meanwhile sees a stale count only
    /// finds the pipe full a little early, and the report that reaches its resume level
    /// wakes it.
    fn count_message(&mut self, caught_up: bool) -> Wake {
        let s = &mut *self.state;
        s.messages = s.messages.next();
        let flow = &self.shared.flow;
        // Relaxed: only a hint that a writer waits, so that it resumes exactly at its mark;
        // the compare-exchange below is what decides.
        let waiting = || Count::from_word(flow.word.load(Ordering::Relaxed)).1;
        // Relaxed: see `Flow::report_every`.
        let every = flow.report_every.load(Ordering::Relaxed);
        if !caught_up && s.messages.since(s.reported) < every && !waiting() {
            return Wake::None;
        }
        let (before, now) = (s.reported, s.messages);
        s.reported = now;
        // Release: pairs with the Acquire load in `Writer::has_room` (see `Flow::wake_at`).
        // Acquire on failure: pairs with the Release of the writer's compare-exchange that set
        // the flag, so its `wake_at` is visible.
        match flow
            .word
            .compare_exchange(before.word(), now.word(), Ordering::Release, Ordering::Acquire)
        {
            Ok(_) => Wake::None,
            Err(word) => {
                debug_assert_eq!(word, before.flagged(), "only the writer sets the flag");
                // SAFETY: the writer wrote `wake_at` before setting the flag and does not
                // touch it while the flag is set.
                let wake_at = flow.wake_at.with(|at| unsafe { *at });
                debug_assert!(wake_at.since(before) >= 1, "wake_at is ahead while waiting");
                // The writer does not change the word while the flag is set, so plain stores
                // suffice. Release: as the compare-exchange above.
                if wake_at.since(before) <= now.since(before) {
                    flow.word.store(now.word(), Ordering::Release);
                    Wake::Writer
                } else {
                    flow.word.store(now.flagged(), Ordering::Release);
                    Wake::None
                }
            }
        }
    }
}

impl<T, const N: usize> Drop for Reader<T, N> {
    fn drop(&mut self) {
        let left = (self.state.head, self.state.read);
        // SAFETY: only the reader writes this cell, once; the reference count orders it
        // before the drop of `Shared`.
        self.shared
            .reader_left
            .with_mut(|cell| unsafe { *cell = Some(left) });
    }
}
