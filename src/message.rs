//! Message frames as seen by the application.

use bytes::Bytes;
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

/// A whole message (all its frames) as it travels through pipes: delivered atomically.
pub(crate) type Parts = SmallVec<[Bytes; 2]>;
