//! The part of a pipe both halves reach: the two atomic words, the spare chunks, and what each
//! half leaves behind when it is dropped so that the last one can free the items in flight.

use super::chunk::{Chunk, Count, Cursor};
use crate::sync::{AtomicPtr, AtomicUsize, CachePadded, Ordering, UnsafeCell};
use std::ptr;

/// How many emptied chunks a pipe keeps for reuse: a default pipe of 1,000 messages spans four
/// chunks of 256.
pub(super) const SPARES: usize = 4;

pub(super) struct Shared<T, const N: usize> {
    /// Items published to the reader (a [`Count`]), with the flag set while the reader sleeps.
    /// The writer moves the count forward in `flush`; the reader sets the flag in
    /// `check_read`; every change is a read-modify-write or a store by the side that owns the
    /// current state, so a sleep and a flush are always ordered one way or the other.
    pub(super) published: CachePadded<AtomicUsize>,
    pub(super) flow: CachePadded<Flow>,
    /// Chunks the reader emptied, kept for the writer to reuse (null where none). The reader
    /// puts a chunk into an empty slot (a compare-and-swap from null) or frees it when all are
    /// taken; the writer swaps null in to take one. Several, because a queue that swings by
    /// several chunks (the reader drains a full pipe, then the writer refills it) otherwise
    /// frees and allocates a chunk at most turns: 579 allocations of 26 KiB in 200,000
    /// messages at 64 B, which left the I/O thread's heap fragmented.
    pub(super) spares: CachePadded<[AtomicPtr<Chunk<T, N>>; SPARES]>,
    /// Left by the `Writer` when it is dropped: how many items it wrote.
    pub(super) writer_left: UnsafeCell<Option<Count>>,
    /// Left by the `Reader` when it is dropped: where it stood and how many items it read.
    pub(super) reader_left: UnsafeCell<Option<(Cursor<T, N>, Count)>>,
}

/// Flow control, counted in whole messages.
pub(super) struct Flow {
    /// Messages read (a [`Count`], written only by the reader), with the flag set while the
    /// writer waits for room.
    pub(super) word: AtomicUsize,
    /// The message count at which the reader must report that a waiting writer can resume.
    /// Written by the writer only while the flag is clear, before the read-modify-write that
    /// sets it; read by the reader only after it saw the flag set.
    pub(super) wake_at: UnsafeCell<Count>,
    /// How many messages the reader may read before it reports its count (see
    /// `Reader::count_message`): an eighth of the high-water mark, between 1 and 64, so that
    /// the writer's view is never stale by more than that. Set by the writer.
    pub(super) report_every: AtomicUsize,
}

// SAFETY: the raw chunk pointers and the cells are reached under the protocol documented on
// each field (one owner at a time, hand-offs through the atomics), and the items themselves
// only move between threads, hence `T: Send`.
unsafe impl<T: Send, const N: usize> Send for Shared<T, N> {}
// SAFETY: as above; `&Shared` gives access only through that protocol.
unsafe impl<T: Send, const N: usize> Sync for Shared<T, N> {}

impl<T, const N: usize> Shared<T, N> {
    pub(super) fn new() -> Shared<T, N> {
        Shared {
            published: CachePadded(AtomicUsize::new(Count::default().word())),
            flow: CachePadded(Flow {
                word: AtomicUsize::new(Count::default().word()),
                wake_at: UnsafeCell::new(Count::default()),
                report_every: AtomicUsize::new(1),
            }),
            spares: CachePadded(std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut()))),
            writer_left: UnsafeCell::new(None),
            reader_left: UnsafeCell::new(None),
        }
    }
}

impl Flow {
    /// Sets `report_every` for a high-water mark (0: none).
    pub(super) fn set_report_interval(&self, hwm: usize) {
        let every = if hwm == 0 { 64 } else { (hwm / 8).clamp(1, 64) };
        // Relaxed: a hint on how often to report; any value is correct, only the cost changes.
        self.report_every.store(every, Ordering::Relaxed);
    }
}

impl<T, const N: usize> Drop for Shared<T, N> {
    fn drop(&mut self) {
        // Both halves have been dropped (they hold the only references), and the reference
        // count's release/acquire orders their last writes before this.
        let written = self.writer_left.with(|left| unsafe { *left });
        let reader = self.reader_left.with(|left| unsafe { *left });
        let (Some(written), Some((head, read))) = (written, reader) else {
            debug_assert!(false, "a pipe half was dropped without leaving its position");
            return;
        };
        // SAFETY: the items between the reader's count and the writer's were written and
        // never read, and both halves are gone.
        unsafe { head.drop_entries(written.since(read)) };
        let mut chunk = head.chunk;
        while !chunk.is_null() {
            // SAFETY: every chunk from the reader's on is live and linked once; their entries
            // were all read or dropped above.
            let next = unsafe { Chunk::next(chunk) };
            unsafe { Chunk::free(chunk) };
            chunk = next;
        }
        for slot in self.spares.iter() {
            // Relaxed: we are the last owner, see above.
            let spare = slot.load(Ordering::Relaxed);
            if !spare.is_null() {
                // SAFETY: a spare chunk is unlinked and empty.
                unsafe { Chunk::free(spare) };
            }
        }
    }
}
