//! A socket's buffers for the frames it copies from borrowed data.

use super::Frame;
use crate::recycle::Recycler;
use bytes::BytesMut;

/// Frames up to this size (and larger than [`super::INLINE_MAX`]) are copied into a socket's
/// arena instead of allocated one by one.
const ARENA_FRAME_MAX: usize = 256;
/// The arena allocates in chunks of this size.
const ARENA_CHUNK: usize = 32 * 1024;
/// Used-up chunks kept for reuse once every frame in them is dropped: enough for a stream at
/// the default high-water marks (2,000 small frames in flight) to reuse chunks for ever.
const ARENA_SPARES: usize = 4;
/// Larger copied frames up to this size get a buffer of their own, reused once dropped.
const RECYCLED_FRAME_MAX: usize = 256 * 1024;
/// What a socket keeps of those buffers, bounded because every socket keeps its own (with the
/// small-frame chunks, at most 384 KiB a socket): a stream of 64 KiB frames reuses 4, which
/// took an inproc stream from 2.2 page faults per message to 0.1 (1 MiB, 16 buffers: 0.02).
const RECYCLED_BYTES: usize = 256 * 1024;

/// A socket's buffers for outgoing frames it copies: small ones share a chunk, larger ones
/// get a buffer each, and a buffer whose frames were all dropped is reused, so that sending
/// borrowed data does not allocate once the socket is warm.
pub struct FrameArena {
    chunk: BytesMut,
    chunk_capacity: usize,
    chunks: Recycler,
    large: Recycler,
}

impl Default for FrameArena {
    fn default() -> FrameArena {
        FrameArena {
            chunk: BytesMut::new(),
            chunk_capacity: 0,
            chunks: Recycler::new(ARENA_SPARES, ARENA_SPARES * ARENA_CHUNK),
            large: Recycler::new(RECYCLED_BYTES / (ARENA_FRAME_MAX + 1), RECYCLED_BYTES),
        }
    }
}

impl FrameArena {
    /// A frame holding a copy of `data`.
    pub(crate) fn copy(&mut self, data: &[u8]) -> Frame {
        if let Some(frame) = Frame::inline(data) {
            return frame;
        }
        if data.len() > RECYCLED_FRAME_MAX {
            return Frame::copy_from_slice(data);
        }
        if data.len() > ARENA_FRAME_MAX {
            let (mut buf, capacity) = self.large.take(data.len());
            buf.extend_from_slice(data);
            let frame = buf.split().freeze();
            self.large.keep(buf, capacity);
            return Frame::from(frame);
        }
        if self.chunk.capacity() < data.len() {
            let (fresh, capacity) = self.chunks.take(ARENA_CHUNK);
            let used = std::mem::replace(&mut self.chunk, fresh);
            let used_capacity = std::mem::replace(&mut self.chunk_capacity, capacity);
            if used_capacity > 0 {
                self.chunks.keep(used, used_capacity);
            }
        }
        self.chunk.extend_from_slice(data);
        Frame::from(self.chunk.split().freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_frames_are_independent_copies() {
        let mut arena = FrameArena::default();
        let frames: Vec<Frame> = (0..5000u32).map(|i| arena.copy(&i.to_be_bytes())).collect();
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(&f[..], (i as u32).to_be_bytes());
        }
        assert_eq!(arena.copy(&[9u8; 300]).len(), 300);
        assert!(arena.copy(b"").is_empty());
    }

    #[test]
    fn arena_reuses_a_chunk_only_when_its_frames_are_gone() {
        const KEPT: &[u8] = b"kept, and too long to be inline";
        let mut arena = FrameArena::default();
        let kept = arena.copy(KEPT);
        let first = kept.as_ptr();
        // Fill past several chunks while `kept` lives: its chunk must not be reused.
        let mut live = Vec::new();
        for i in 0..(ARENA_CHUNK / 100) * 3 {
            live.push(arena.copy(&[i as u8; 100]));
            assert_ne!(live.last().unwrap().as_ptr(), first);
        }
        assert_eq!(&kept[..], KEPT);
        for (i, f) in live.iter().enumerate() {
            assert_eq!(&f[..], [i as u8; 100], "frame {i} unchanged");
        }
        let mut old: Vec<usize> = live.iter().map(|f| f.as_ptr() as usize).collect();
        old.sort_unstable();
        drop(live);
        drop(kept);
        // Everything dropped: the next chunks are the spares, used again from their start.
        for i in 0..(ARENA_CHUNK / 100) * 2 {
            let at = arena.copy(&[i as u8; 100]).as_ptr() as usize;
            let nearest = old.partition_point(|&p| p <= at);
            let near = |k: usize| old.get(k).is_some_and(|&p| p.abs_diff(at) <= 100);
            assert!(
                near(nearest) || (nearest > 0 && near(nearest - 1)),
                "frame {i} in a new chunk"
            );
        }
    }

    #[test]
    fn arena_reuses_a_large_frame_buffer_once_dropped() {
        let mut arena = FrameArena::default();
        let payload = vec![7u8; 64 * 1024];
        let first = arena.copy(&payload);
        let address = first.as_ptr();
        let second = arena.copy(&payload);
        assert_ne!(second.as_ptr(), address, "a live frame's buffer is not reused");
        drop(first);
        let third = arena.copy(&payload);
        assert_eq!(third.as_ptr(), address);
        assert_eq!(&third[..], &payload[..]);
        assert_eq!(&second[..], &payload[..]);
        // Past the bound, frames get a buffer of their own and nothing is kept.
        let huge = vec![1u8; RECYCLED_FRAME_MAX + 1];
        assert_eq!(&arena.copy(&huge)[..], &huge[..]);
    }
}
