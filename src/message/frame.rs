//! One frame's payload as it travels through pipes: small ones in place, large ones shared.
//!
//! A small frame held as [`Bytes`] costs a refcount on a buffer that another thread made, or
//! drops: at millions of messages a second that cache line crosses cores on every message. A
//! frame of up to [`INLINE_MAX`] bytes is therefore copied into the frame itself, which is no
//! larger than a `Bytes`. Larger frames stay `Bytes`, so that they travel from the read buffer
//! (or from the application) to the other side without a copy.

use bytes::Bytes;
use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Frames up to this many bytes are held inline: the most that keeps a [`Frame`] as small as
/// a `Bytes` (32 bytes on 64-bit targets, checked by a test).
pub(crate) const INLINE_MAX: usize = 23;

/// A frame's payload: inline when small, a shared [`Bytes`] otherwise.
#[derive(Clone)]
pub struct Frame(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, data: [u8; INLINE_MAX] },
    Shared(Bytes),
}

impl Frame {
    /// An empty frame.
    pub const fn new() -> Frame {
        Frame(Repr::Inline {
            len: 0,
            data: [0; INLINE_MAX],
        })
    }

    /// A small frame held inline, or `None` when `data` is larger than [`INLINE_MAX`].
    pub fn inline(data: &[u8]) -> Option<Frame> {
        if data.len() > INLINE_MAX {
            return None;
        }
        let mut inline = [0; INLINE_MAX];
        inline[..data.len()].copy_from_slice(data);
        Some(Frame(Repr::Inline {
            len: data.len() as u8,
            data: inline,
        }))
    }

    /// `bytes` as they are, even when small: for payloads that are parsed in place rather than
    /// handed over (a command's body).
    pub fn shared(bytes: Bytes) -> Frame {
        Frame(Repr::Shared(bytes))
    }

    /// A frame holding a copy of `data`.
    pub fn copy_from_slice(data: &[u8]) -> Frame {
        Frame::inline(data).unwrap_or_else(|| Frame(Repr::Shared(Bytes::copy_from_slice(data))))
    }

    /// The shared buffer behind a large frame, for writers that queue it without a copy.
    pub fn as_shared(&self) -> Option<&Bytes> {
        match &self.0 {
            Repr::Shared(bytes) => Some(bytes),
            Repr::Inline { .. } => None,
        }
    }

    /// The payload as `Bytes`: free for a large frame, a copy (an allocation) for a small one.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Shared(bytes) => bytes,
            Repr::Inline { len, data } => Bytes::copy_from_slice(&data[..usize::from(len)]),
        }
    }

    /// The payload as `Bytes`, keeping the frame (see [`Frame::into_bytes`]).
    pub fn to_bytes(&self) -> Bytes {
        self.clone().into_bytes()
    }

    /// The frame without its first `n` bytes.
    pub fn skip(&self, n: usize) -> Frame {
        match &self.0 {
            Repr::Shared(bytes) if bytes.len() - n > INLINE_MAX => Frame(Repr::Shared(bytes.slice(n..))),
            _ => Frame::copy_from_slice(&self[n..]),
        }
    }
}

impl Default for Frame {
    fn default() -> Frame {
        Frame::new()
    }
}

impl From<Bytes> for Frame {
    /// Small payloads are copied inline and the `Bytes` dropped here, on the thread that made it.
    fn from(bytes: Bytes) -> Frame {
        Frame::inline(&bytes).unwrap_or(Frame(Repr::Shared(bytes)))
    }
}

impl From<&Bytes> for Frame {
    fn from(bytes: &Bytes) -> Frame {
        Frame::inline(bytes).unwrap_or_else(|| Frame(Repr::Shared(bytes.clone())))
    }
}

impl From<&'static [u8]> for Frame {
    fn from(data: &'static [u8]) -> Frame {
        Frame::from(Bytes::from_static(data))
    }
}

impl From<Vec<u8>> for Frame {
    fn from(data: Vec<u8>) -> Frame {
        Frame::inline(&data).unwrap_or_else(|| Frame(Repr::Shared(Bytes::from(data))))
    }
}

impl Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, data } => &data[..usize::from(*len)],
            Repr::Shared(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Borrow<[u8]> for Frame {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self[..] == other[..]
    }
}
impl Eq for Frame {}

impl PartialEq<[u8]> for Frame {
    fn eq(&self, other: &[u8]) -> bool {
        &self[..] == other
    }
}

impl Hash for Frame {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self[..].hash(state);
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&Bytes::copy_from_slice(self), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_frame_is_no_larger_than_bytes() {
        assert_eq!(std::mem::size_of::<Frame>(), std::mem::size_of::<Bytes>());
    }

    #[test]
    fn small_frames_are_inline_and_large_ones_shared() {
        let large = Bytes::from(vec![7u8; INLINE_MAX + 1]);
        let frame = Frame::from(large.clone());
        assert_eq!(frame.as_shared().map(|b| b.as_ptr()), Some(large.as_ptr()));
        assert!(
            Frame::from(Bytes::from(vec![7u8; INLINE_MAX]))
                .as_shared()
                .is_none()
        );
        assert!(Frame::new().is_empty());
    }

    proptest! {
        #[test]
        fn every_way_in_keeps_the_payload(data in proptest::collection::vec(any::<u8>(), 0..64), cut in 0usize..64) {
            let bytes = Bytes::from(data.clone());
            for frame in [
                Frame::copy_from_slice(&data),
                Frame::from(bytes.clone()),
                Frame::from(&bytes),
                Frame::from(data.clone()),
            ] {
                prop_assert_eq!(&frame[..], &data[..]);
                prop_assert_eq!(&frame.to_bytes()[..], &data[..]);
                let cut = cut.min(data.len());
                prop_assert_eq!(&frame.skip(cut)[..], &data[cut..]);
                prop_assert!(frame == Frame::copy_from_slice(&data));
            }
        }
    }
}
