//! Message frames as seen by the application.

use crate::recycle::Recycler;
use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;
use std::ops::Deref;

/// One frame of a message, backed by [`Bytes`] so that large payloads travel from the wire to
/// the caller without a copy.
///
/// A multipart message is a sequence of frames; [`Message::more`] tells whether another frame of
/// the same message follows.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Message {
    data: Bytes,
    more: bool,
}

impl Message {
    /// An empty frame.
    pub fn new() -> Message {
        Message::default()
    }

    /// A frame holding `data`.
    pub fn from_bytes(data: Bytes) -> Message {
        Message { data, more: false }
    }

    /// Whether another frame of the same message follows this one.
    pub fn more(&self) -> bool {
        self.more
    }

    /// The payload as `Bytes` (cheap to clone).
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The payload, consuming the frame.
    pub fn into_bytes(self) -> Bytes {
        self.data
    }

    /// The payload as UTF-8 text, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }

    pub(crate) fn with_more(data: Bytes, more: bool) -> Message {
        Message { data, more }
    }
}

impl Deref for Message {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("len", &self.data.len())
            .field("more", &self.more)
            .finish()
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::from_bytes(data)
    }
}
impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::from_bytes(Bytes::from(data))
    }
}
impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Message {
        Message::from_bytes(Bytes::copy_from_slice(data))
    }
}
impl<const N: usize> From<&[u8; N]> for Message {
    fn from(data: &[u8; N]) -> Message {
        Message::from_bytes(Bytes::copy_from_slice(data))
    }
}
impl<const N: usize> From<[u8; N]> for Message {
    fn from(data: [u8; N]) -> Message {
        Message::from_bytes(Bytes::copy_from_slice(&data))
    }
}
impl From<&Vec<u8>> for Message {
    fn from(data: &Vec<u8>) -> Message {
        Message::from_bytes(Bytes::copy_from_slice(data))
    }
}
impl From<&str> for Message {
    fn from(data: &str) -> Message {
        Message::from_bytes(Bytes::copy_from_slice(data.as_bytes()))
    }
}
impl From<String> for Message {
    fn from(data: String) -> Message {
        Message::from_bytes(Bytes::from(data))
    }
}
impl From<&String> for Message {
    fn from(data: &String) -> Message {
        Message::from(data.as_str())
    }
}
impl From<&Message> for Message {
    fn from(m: &Message) -> Message {
        Message::from_bytes(m.data.clone())
    }
}

/// A whole message (all its frames) as it travels through pipes: delivered atomically. Three
/// frames inline covers a routed request (routing id, delimiter, body) without allocating.
pub(crate) type Parts = SmallVec<[Bytes; 3]>;

/// Frames up to this size are copied into a socket's arena instead of allocated one by one.
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
    pub fn copy(&mut self, data: &[u8]) -> Bytes {
        if data.is_empty() {
            return Bytes::new();
        }
        if data.len() > RECYCLED_FRAME_MAX {
            return Bytes::copy_from_slice(data);
        }
        if data.len() > ARENA_FRAME_MAX {
            let (mut buf, capacity) = self.large.take(data.len());
            buf.extend_from_slice(data);
            let frame = buf.split().freeze();
            self.large.keep(buf, capacity);
            return frame;
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
        self.chunk.split().freeze()
    }
}

/// Anything that can be sent as one frame: borrowed data (`&[u8]`, `&str`, arrays, …) is
/// copied into a per-socket buffer, so small sends do not allocate; owned data (`Vec<u8>`,
/// `String`, `Bytes`, [`Message`]) is moved without a copy.
///
/// The trait is sealed: the conversion is zocket's business.
///
/// # Examples
///
/// ```
/// # let ctx = zocket::Context::new();
/// # let push = ctx.socket(zocket::SocketType::Push)?;
/// push.send("text", zocket::DONTWAIT).ok();
/// push.send(vec![1u8, 2, 3], zocket::DONTWAIT).ok();
/// push.send(bytes::Bytes::from_static(b"shared"), zocket::DONTWAIT).ok();
/// # Ok::<(), zocket::Error>(())
/// ```
pub trait IntoFrame: sealed::Sealed {}

impl<T: sealed::Sealed> IntoFrame for T {}

pub(crate) mod sealed {
    use super::FrameArena;
    use bytes::Bytes;

    /// The conversion behind [`super::IntoFrame`], out of users' reach.
    pub trait Sealed {
        /// Converts into the frame's payload.
        fn into_frame(self, arena: &mut FrameArena) -> Bytes;
    }
}
use sealed::Sealed;

macro_rules! copied_frame {
    ($($t:ty),*) => {$(
        impl Sealed for $t {
            fn into_frame(self, arena: &mut FrameArena) -> Bytes {
                arena.copy(self.as_ref())
            }
        }
    )*};
}
copied_frame!(&[u8], &str, &Vec<u8>, &String, &Bytes);

impl<const N: usize> Sealed for &[u8; N] {
    fn into_frame(self, arena: &mut FrameArena) -> Bytes {
        arena.copy(self)
    }
}
impl<const N: usize> Sealed for [u8; N] {
    fn into_frame(self, arena: &mut FrameArena) -> Bytes {
        arena.copy(&self)
    }
}
impl Sealed for Vec<u8> {
    fn into_frame(self, _arena: &mut FrameArena) -> Bytes {
        Bytes::from(self)
    }
}
impl Sealed for String {
    fn into_frame(self, _arena: &mut FrameArena) -> Bytes {
        Bytes::from(self)
    }
}
impl Sealed for Bytes {
    fn into_frame(self, _arena: &mut FrameArena) -> Bytes {
        self
    }
}
impl Sealed for Message {
    fn into_frame(self, _arena: &mut FrameArena) -> Bytes {
        self.data
    }
}
impl Sealed for &Message {
    fn into_frame(self, _arena: &mut FrameArena) -> Bytes {
        self.data.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_frames_are_independent_copies() {
        let mut arena = FrameArena::default();
        let frames: Vec<Bytes> = (0..5000u32).map(|i| arena.copy(&i.to_be_bytes())).collect();
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(&f[..], (i as u32).to_be_bytes());
        }
        assert_eq!(arena.copy(&[9u8; 300]).len(), 300);
        assert!(arena.copy(b"").is_empty());
    }

    #[test]
    fn arena_reuses_a_chunk_only_when_its_frames_are_gone() {
        let mut arena = FrameArena::default();
        let kept = arena.copy(b"kept");
        let first = kept.as_ptr();
        // Fill past several chunks while `kept` lives: its chunk must not be reused.
        let mut live = Vec::new();
        for i in 0..(ARENA_CHUNK / 100) * 3 {
            live.push(arena.copy(&[i as u8; 100]));
            assert_ne!(live.last().unwrap().as_ptr(), first);
        }
        assert_eq!(&kept[..], b"kept");
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
