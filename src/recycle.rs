//! Buffers that are cut into frames and taken back once every frame cut from them is dropped.
//!
//! A frame cut from a [`BytesMut`] keeps the whole allocation alive. Freeing it when the last
//! frame goes (often on another thread) and allocating the next one costs the allocator's
//! locks, and for large buffers its trimming and the page faults of touching fresh memory
//! again: at 64 KiB messages that was two page faults per message. A [`Recycler`] keeps the
//! handles of recently used buffers and hands one back out once it is unique again.
//!
//! Memory: a recycler keeps at most `max_spares` buffers and `max_bytes` of capacity, so a
//! burst of large frames does not stay resident for ever.

use bytes::BytesMut;
use std::collections::VecDeque;

/// How many of the oldest buffers [`Recycler::take`] tries.
const TRIES: usize = 2;

/// Recently used buffers, oldest first, each reusable once its frames are dropped.
pub(crate) struct Recycler {
    /// Each handle with the capacity of its whole allocation.
    spent: VecDeque<(BytesMut, usize)>,
    kept_bytes: usize,
    max_spares: usize,
    max_bytes: usize,
}

impl Recycler {
    /// Keeps at most `max_spares` buffers and `max_bytes` of their capacity.
    pub const fn new(max_spares: usize, max_bytes: usize) -> Recycler {
        Recycler {
            spent: VecDeque::new(),
            kept_bytes: 0,
            max_spares,
            max_bytes,
        }
    }

    /// An empty buffer with room for at least `len` bytes: a kept one whose frames are all
    /// dropped, or a new one. Returns it with the capacity of its whole allocation.
    pub fn take(&mut self, len: usize) -> (BytesMut, usize) {
        // Frames are mostly dropped in the order they were made: the oldest buffers are the
        // ones to try, and trying them all would cost a scan per frame while all are in use.
        let reusable = self
            .spent
            .iter_mut()
            .take(TRIES)
            .position(|(buf, capacity)| *capacity >= len && buf.try_reclaim(len));
        if let Some((mut buf, capacity)) = reusable.and_then(|at| self.spent.remove(at)) {
            self.kept_bytes -= capacity;
            buf.clear();
            return (buf, capacity);
        }
        let buf = BytesMut::with_capacity(len);
        let capacity = buf.capacity();
        (buf, capacity)
    }

    /// Keeps `buf`, whose frames may still be alive, for a later [`Recycler::take`].
    /// `capacity` is what `take` returned with it.
    pub fn keep(&mut self, buf: BytesMut, capacity: usize) {
        if capacity > self.max_bytes || self.max_spares == 0 {
            return;
        }
        self.spent.push_back((buf, capacity));
        self.kept_bytes += capacity;
        while self.spent.len() > self.max_spares || self.kept_bytes > self.max_bytes {
            let Some((_, oldest)) = self.spent.pop_front() else {
                break;
            };
            self.kept_bytes -= oldest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_once_its_frames_are_dropped() {
        let mut recycler = Recycler::new(4, 1 << 20);
        let (mut buf, capacity) = recycler.take(1000);
        let address = buf.as_ptr();
        buf.extend_from_slice(&[7; 1000]);
        let frame = buf.split().freeze();
        recycler.keep(buf, capacity);
        // The frame is alive: the buffer is not reusable, a new one comes out.
        let (other, other_capacity) = recycler.take(1000);
        assert_ne!(other.as_ptr(), address);
        recycler.keep(other, other_capacity);
        drop(frame);
        let (again, _) = recycler.take(1000);
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty() && again.capacity() >= 1000);
    }

    #[test]
    fn bounds_hold_in_count_and_bytes() {
        let mut recycler = Recycler::new(3, 10_000);
        for _ in 0..10 {
            let (buf, capacity) = recycler.take(4000);
            recycler.keep(buf, capacity);
            assert!(recycler.spent.len() <= 3);
            assert!(recycler.kept_bytes <= 10_000);
        }
        let (buf, capacity) = recycler.take(20_000);
        recycler.keep(buf, capacity);
        assert!(
            recycler.kept_bytes <= 10_000,
            "a buffer over the byte bound is not kept"
        );
    }

    #[test]
    fn only_the_oldest_buffers_are_tried() {
        // A scan of every kept buffer per frame cost microseconds while all were in use.
        let mut recycler = Recycler::new(64, 1 << 20);
        let mut alive = Vec::new();
        for _ in 0..TRIES {
            let (mut buf, capacity) = recycler.take(100);
            buf.extend_from_slice(&[1; 100]);
            alive.push(buf.split().freeze());
            recycler.keep(buf, capacity);
        }
        let (free, capacity) = recycler.take(100);
        let free_address = free.as_ptr();
        recycler.keep(free, capacity);
        let (next, _) = recycler.take(100);
        assert_ne!(
            next.as_ptr(),
            free_address,
            "a buffer behind the oldest ones was tried"
        );
        drop(alive);
    }

    #[test]
    fn a_smaller_spare_is_not_handed_out_for_a_larger_need() {
        let mut recycler = Recycler::new(4, 1 << 20);
        let (buf, capacity) = recycler.take(100);
        recycler.keep(buf, capacity);
        let (big, _) = recycler.take(5000);
        assert!(big.capacity() >= 5000);
    }
}
