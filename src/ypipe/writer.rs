//! The producing half of a pipe.

use super::chunk::{Chunk, Count, Cursor, Entry};
use super::shared::Shared;
use super::{CHUNK_LEN, Wake};
use crate::sync::{Arc, CachePadded, Ordering};
use std::ptr;

/// The producing half of a pipe: see the [module documentation](super).
///
/// `Send` but neither `Sync` nor `Clone`: there is exactly one writer.
pub(crate) struct Writer<T, const N: usize = CHUNK_LEN> {
    state: CachePadded<WriterState<T, N>>,
    shared: Arc<Shared<T, N>>,
}

// SAFETY: the writer's state is only touched through `&mut self`; what it shares with the
// reader goes through `Shared`'s protocol.
unsafe impl<T: Send, const N: usize> Send for Writer<T, N> {}

struct WriterState<T, const N: usize> {
    /// The next slot to fill, and the number of items written.
    tail: Cursor<T, N>,
    written: Count,
    /// The end of the last complete message, and the number of items up to it.
    complete: Cursor<T, N>,
    completed: Count,
    /// The item count last stored into `published`.
    flushed: Count,
    /// Complete messages written, and the reader's count of messages read as last seen.
    messages: Count,
    peer_read: Count,
    /// The high-water mark in messages (0: none), and the number of queued messages at or
    /// below which a writer that hit it may write again.
    hwm: usize,
    resume_at: usize,
    /// Set when the pipe was found full; cleared once it has drained to `resume_at`.
    blocked: bool,
}

impl<T, const N: usize> Writer<T, N> {
    pub(super) fn new(shared: Arc<Shared<T, N>>, first: *mut Chunk<T, N>, hwm: usize) -> Self {
        shared.flow.set_report_interval(hwm);
        let start = Cursor::start_of(first);
        let zero = Count::default();
        Writer {
            state: CachePadded(WriterState {
                tail: start,
                written: zero,
                complete: start,
                completed: zero,
                flushed: zero,
                messages: zero,
                peer_read: zero,
                hwm,
                resume_at: super::resume_level(hwm),
                blocked: false,
            }),
            shared,
        }
    }

    /// Appends one frame; `more` says that further frames of the same message follow. Frames
    /// become visible to the reader only once the message's last frame is written and
    /// [`flush`](Self::flush) is called.
    ///
    /// The high-water mark is checked at the first frame of a message: the later frames of a
    /// message that was accepted are always accepted.
    ///
    /// # Errors
    /// `Err(item)` gives the frame back when the pipe holds `hwm` messages. The writer is then
    /// waiting: its owner flushes what it wrote and waits until the reader's
    /// [`Read::Frame`](super::Read::Frame) returns [`Wake::Writer`], at `lwm` messages.
    #[inline]
    pub(crate) fn write(&mut self, item: T, more: bool) -> Result<(), T> {
        let starts_message = self.state.written == self.state.completed;
        if starts_message && !self.has_room() {
            return Err(item);
        }
        self.push(Entry::Frame { item, more });
        if !more {
            let s = &mut *self.state;
            s.complete = s.tail;
            s.completed = s.written;
            s.messages = s.messages.next();
        }
        Ok(())
    }

    /// Publishes every complete message written so far (an unfinished message stays hidden).
    ///
    /// Returns [`Wake::Reader`] when the reader had gone to sleep on an empty pipe: the owner
    /// must then wake it. That happens exactly once per sleep; otherwise [`Wake::None`].
    #[inline]
    pub(crate) fn flush(&mut self) -> Wake {
        let s = &mut *self.state;
        if s.flushed == s.completed {
            return Wake::None;
        }
        let published = &self.shared.published;
        // Release: publishes the slots written so far; pairs with the Acquire failure of the
        // reader's compare-exchange in `Reader::check_read` (and the load in `peek`). Relaxed
        // on failure: the reader's going to sleep publishes nothing we read.
        let wake = match published.compare_exchange(
            s.flushed.word(),
            s.completed.word(),
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            Ok(_) => Wake::None,
            Err(word) => {
                // Only the reader changes the word besides us, and only to say it sleeps.
                debug_assert_eq!(word, s.flushed.flagged(), "published word corrupted");
                // Release: same pairing as above; the reader is asleep, and this store both
                // publishes and wakes it (nobody else writes the word meanwhile).
                published.store(s.completed.word(), Ordering::Release);
                Wake::Reader
            }
        };
        s.flushed = s.completed;
        wake
    }

    /// Changes the high-water mark (0: none) for the messages written from now on. A writer
    /// waiting for room re-checks at its next write against the new mark.
    pub(crate) fn set_hwm(&mut self, hwm: usize) {
        let s = &mut *self.state;
        s.hwm = hwm;
        s.resume_at = super::resume_level(hwm);
        self.shared.flow.set_report_interval(hwm);
    }

    /// Drops the frames of an unfinished message (written with `more` and not yet completed).
    pub(crate) fn rollback(&mut self) {
        let s = &mut *self.state;
        let unfinished = s.written.since(s.completed);
        // SAFETY: the slots after the last complete message were written by us and never
        // published, so the reader cannot reach them.
        unsafe { s.complete.drop_entries(unfinished) };
        s.tail = s.complete;
        s.written = s.completed;
    }

    /// Ends the pipe: drops an unfinished message, appends the delimiter after the last
    /// message (whatever the high-water mark) and flushes. The reader sees
    /// [`Read::Closed`](super::Read::Closed) once it has read everything before it.
    ///
    /// Returns what [`flush`](Self::flush) returns.
    pub(crate) fn close(mut self) -> Wake {
        self.rollback();
        self.push(Entry::Delimiter);
        let s = &mut *self.state;
        s.complete = s.tail;
        s.completed = s.written;
        self.flush()
    }

    #[inline]
    fn push(&mut self, entry: Entry<T>) {
        let s = &mut *self.state;
        if s.tail.at_chunk_end() {
            s.tail = Cursor::start_of(Self::next_chunk(&self.shared, s.tail.chunk));
        }
        // SAFETY: the slot at the tail is past everything published, so only we touch it.
        unsafe { s.tail.put(entry) };
        s.written = s.written.next();
    }

    /// The chunk after `current`: one left linked by a rollback, else a spare, else a new one.
    fn next_chunk(shared: &Shared<T, N>, current: *mut Chunk<T, N>) -> *mut Chunk<T, N> {
        // SAFETY: `current` is our tail chunk; only we write its link.
        let linked = unsafe { Chunk::next(current) };
        if !linked.is_null() {
            return linked;
        }
        // Acquire: pairs with the Release exchange in `Reader::next_chunk`, so that the
        // reader's last reads of the recycled slots and link happen before we write them again.
        let spare = shared
            .spares
            .iter()
            .map(|slot| slot.swap(ptr::null_mut(), Ordering::Acquire))
            .find(|chunk| !chunk.is_null())
            .unwrap_or(ptr::null_mut());
        let chunk = if spare.is_null() {
            Chunk::alloc()
        } else {
            // SAFETY: the reader has left the spare chunk for good; it is ours now.
            unsafe { Chunk::set_next(spare, ptr::null_mut()) };
            spare
        };
        // SAFETY: no item in the new chunk is published yet.
        unsafe { Chunk::set_next(current, chunk) };
        chunk
    }

    /// Whether a new message may be written; if not, the writer is left waiting (see `write`):
    /// the reader's [`Read::Frame`](super::Read::Frame) returns [`Wake::Writer`] once the
    /// queue is down to the low-water mark.
    #[inline]
    pub(crate) fn has_room(&mut self) -> bool {
        let s = &mut *self.state;
        if s.hwm == 0 || (!s.blocked && s.messages.since(s.peer_read) < s.hwm) {
            return true;
        }
        let flow = &self.shared.flow;
        // Acquire: pairs with the Release of the reader's update in `Reader::count_message`:
        // once we see the waiting flag cleared, the reader is done reading `wake_at`.
        let mut word = flow.word.load(Ordering::Acquire);
        loop {
            let (read, waiting) = Count::from_word(word);
            s.peer_read = read;
            let queued = s.messages.since(read);
            if s.blocked && queued <= s.resume_at {
                debug_assert!(!waiting, "the reader clears the flag when it reaches wake_at");
                s.blocked = false;
            }
            if !s.blocked && queued < s.hwm {
                return true;
            }
            s.blocked = true;
            if waiting {
                // Still waiting since an earlier call: the reader will report.
                return false;
            }
            let wake_at = s.messages.minus(s.resume_at);
            // SAFETY: the flag is clear, so the reader does not read `wake_at` now (the
            // Acquire above orders its last read before us).
            flow.wake_at.with_mut(|at| unsafe { *at = wake_at });
            // Release: publishes `wake_at`; pairs with the Acquire failure of the reader's
            // compare-exchange in `Reader::count_message`. Acquire on failure: as the load.
            match flow
                .word
                .compare_exchange(word, read.flagged(), Ordering::Release, Ordering::Acquire)
            {
                // The count did not move between our check and the flag: the reader will see
                // the flag when it reads the next message.
                Ok(_) => return false,
                // The reader read a message meanwhile: check again.
                Err(now) => word = now,
            }
        }
    }
}

impl<T, const N: usize> Drop for Writer<T, N> {
    fn drop(&mut self) {
        let written = self.state.written;
        // SAFETY: only the writer writes this cell, once; the reference count orders it
        // before the drop of `Shared`.
        self.shared
            .writer_left
            .with_mut(|left| unsafe { *left = Some(written) });
    }
}
