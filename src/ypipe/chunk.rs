//! The storage of a pipe: a forward-linked list of fixed chunks of `N` slots, and the wrapping
//! counts that positions are compared with.

use crate::sync::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;

/// What a slot holds: a frame, or the delimiter that [`super::Writer::close`] appends after the
/// last message.
pub(super) enum Entry<T> {
    Frame { item: T, more: bool },
    Delimiter,
}

#[cfg(test)]
thread_local! {
    /// Chunks allocated by this thread, for the tests that check reuse.
    pub(super) static CHUNKS_ALLOCATED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

type Slot<T> = UnsafeCell<MaybeUninit<Entry<T>>>;

/// `N` slots and the link to the next chunk. Each slot is written once by the writer and read
/// (moved out) once by the reader before the chunk is recycled.
#[repr(align(128))]
pub(super) struct Chunk<T, const N: usize> {
    slots: [Slot<T>; N],
    /// Written by the writer when it links the next chunk, before any item of that chunk is
    /// published; read by the reader once it has read an item of the next chunk's range.
    next: UnsafeCell<*mut Chunk<T, N>>,
}

impl<T, const N: usize> Chunk<T, N> {
    /// A new, empty chunk on the heap.
    pub(super) fn alloc() -> *mut Chunk<T, N> {
        const { assert!(N > 0, "a chunk needs at least one slot") };
        #[cfg(test)]
        CHUNKS_ALLOCATED.with(|count| count.set(count.get() + 1));
        Box::into_raw(Box::new(Chunk {
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            next: UnsafeCell::new(ptr::null_mut()),
        }))
    }

    /// Frees a chunk made by [`Chunk::alloc`]. Its slots must hold no value (they are not
    /// dropped).
    ///
    /// # Safety
    /// `chunk` came from `alloc`, is freed once, and no other thread uses it.
    pub(super) unsafe fn free(chunk: *mut Chunk<T, N>) {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(chunk) });
    }

    /// The chunk linked after `chunk` (null if none).
    ///
    /// # Safety
    /// `chunk` is live, and its link was written before this thread's last acquire of a count
    /// that covers an item of the next chunk (or by this thread).
    pub(super) unsafe fn next(chunk: *mut Chunk<T, N>) -> *mut Chunk<T, N> {
        // SAFETY: the caller's contract.
        unsafe { (*chunk).next.with(|next| *next) }
    }

    /// Links `next` after `chunk`.
    ///
    /// # Safety
    /// Only the writer calls it, on a chunk whose successor no item published so far lies in.
    pub(super) unsafe fn set_next(chunk: *mut Chunk<T, N>, next: *mut Chunk<T, N>) {
        // SAFETY: the caller's contract.
        unsafe { (*chunk).next.with_mut(|link| *link = next) }
    }
}

/// A position in the list: a chunk and a slot index in `0..=N` (`N`: past the chunk's end; the
/// next access moves on to the next chunk first).
pub(super) struct Cursor<T, const N: usize> {
    pub(super) chunk: *mut Chunk<T, N>,
    pub(super) index: usize,
}

impl<T, const N: usize> Clone for Cursor<T, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, const N: usize> Copy for Cursor<T, N> {}

impl<T, const N: usize> Cursor<T, N> {
    pub(super) fn start_of(chunk: *mut Chunk<T, N>) -> Cursor<T, N> {
        Cursor { chunk, index: 0 }
    }

    pub(super) fn at_chunk_end(&self) -> bool {
        self.index == N
    }

    /// Stores `entry` in the current slot and steps past it.
    ///
    /// # Safety
    /// Only the writer calls it; the slot is empty and the reader does not use it until a
    /// count covering it is published.
    pub(super) unsafe fn put(&mut self, entry: Entry<T>) {
        debug_assert!(self.index < N);
        // SAFETY: the chunk is live and the slot index is in bounds; the caller's contract
        // makes the access exclusive.
        unsafe {
            (*self.chunk).slots[self.index].with_mut(|slot| {
                (*slot).write(entry);
            })
        };
        self.index += 1;
    }

    /// Moves the entry out of the current slot and steps past it.
    ///
    /// # Safety
    /// The slot holds an entry that nobody else touches and that is taken only once.
    pub(super) unsafe fn take(&mut self) -> Entry<T> {
        debug_assert!(self.index < N);
        // SAFETY: the caller's contract.
        let entry = unsafe { (*self.chunk).slots[self.index].with_mut(|slot| (*slot).assume_init_read()) };
        self.index += 1;
        entry
    }

    /// Drops `count` entries from here on, following links across chunks.
    ///
    /// # Safety
    /// The `count` slots from here hold entries that nobody else touches.
    pub(super) unsafe fn drop_entries(mut self, count: usize) {
        for _ in 0..count {
            if self.at_chunk_end() {
                // SAFETY: the entries continue in the linked chunk.
                self = Cursor::start_of(unsafe { Chunk::next(self.chunk) });
            }
            // SAFETY: the caller's contract.
            drop(unsafe { self.take() });
        }
    }
}

/// A wrapping count kept shifted left by one bit, so that bit 0 of the same atomic word can
/// carry a flag ("reader asleep", "writer waiting"). Counts are only compared for equality and
/// subtracted, so wrapping past `usize::MAX` is harmless.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Count(usize);

impl Count {
    const FLAG: usize = 1;

    pub(super) fn next(self) -> Count {
        Count(self.0.wrapping_add(2))
    }

    /// The count `n` steps before this one.
    pub(super) fn minus(self, n: usize) -> Count {
        Count(self.0.wrapping_sub(n.wrapping_shl(1)))
    }

    /// How many steps `earlier` is behind this count.
    pub(super) fn since(self, earlier: Count) -> usize {
        self.0.wrapping_sub(earlier.0) >> 1
    }

    /// The atomic word for this count with the flag clear.
    pub(super) fn word(self) -> usize {
        self.0
    }

    /// The atomic word for this count with the flag set.
    pub(super) fn flagged(self) -> usize {
        self.0 | Count::FLAG
    }

    /// Splits an atomic word into its count and its flag.
    pub(super) fn from_word(word: usize) -> (Count, bool) {
        (Count(word & !Count::FLAG), word & Count::FLAG != 0)
    }
}
