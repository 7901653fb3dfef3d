//! Message frames as seen by the application.

mod arena;
mod frame;
mod properties;

pub use arena::FrameArena;
pub(crate) use frame::{Frame, INLINE_MAX};
pub(crate) use properties::Properties;

use bytes::Bytes;
use smallvec::SmallVec;
use std::ops::Deref;

/// One frame of a message. Small frames are held in place; larger ones are backed by [`Bytes`],
/// so that large payloads travel from the wire to the caller without a copy.
///
/// A multipart message is a sequence of frames; [`Message::more`] tells whether another frame of
/// the same message follows.
///
/// # Examples
///
/// ```
/// let msg = zocket::Message::from("hello");
/// assert_eq!(&msg[..], b"hello");
/// assert_eq!(msg.as_str(), Some("hello"));
/// assert!(!msg.more());
/// ```
#[derive(Clone, Default)]
pub struct Message {
    data: Frame,
    more: bool,
    delivery: Option<Delivery>,
    /// The connection's properties, for a frame from `recv_msg`.
    properties: Option<std::sync::Arc<Properties>>,
}

/// Where a message from a spooled zocket sender stands in its sender's stream: the stream's
/// id and the message's sequence number in it. Numbers grow along a stream, and a message
/// sent again (after a crash or a lost connection) has its first number, so an application
/// can keep its own mark of what it finished with (see [`crate::spool::Receipts`]).
///
/// # Examples
///
/// ```
/// let msg = zocket::Message::from("not from a spooled sender");
/// assert_eq!(msg.delivery(), None);
/// let mark = zocket::Delivery { stream: 0x2a, seq: 7 };
/// assert!(mark.seq > 6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// The sender's stream id (its spool's).
    pub stream: u64,
    /// The message's sequence number in the stream, from 1.
    pub seq: u64,
}

/// Equal payloads and `more` flags (where they came from does not count).
impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self.data == other.data && self.more == other.more
    }
}
impl Eq for Message {}

impl Message {
    /// An empty frame.
    pub fn new() -> Message {
        Message::default()
    }

    /// A frame holding `data`.
    pub fn from_bytes(data: Bytes) -> Message {
        Message::from_frame(Frame::from(data), false)
    }

    /// Whether another frame of the same message follows this one.
    #[doc(alias = "get_more")]
    pub fn more(&self) -> bool {
        self.more
    }

    /// The payload as `Bytes`: a cheap clone for a large frame, a copy for a small one (up to
    /// 23 bytes, held in place rather than shared).
    pub fn bytes(&self) -> Bytes {
        self.data.to_bytes()
    }

    /// The payload, consuming the frame (see [`Message::bytes`]).
    pub fn into_bytes(self) -> Bytes {
        self.data.into_bytes()
    }

    /// The payload as UTF-8 text, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }

    /// For the first frame of a message from a spooled zocket sender: its place in the
    /// sender's stream (what [`Socket::ack`](crate::Socket::ack) acknowledges). `None` for
    /// anything else.
    pub fn delivery(&self) -> Option<Delivery> {
        self.delivery
    }

    /// A property of the connection the message came on, as libzmq's `zmq_msg_gets` reads
    /// them (names compare case-insensitively):
    ///
    /// - `Socket-Type`: the peer's socket type (`"DEALER"`);
    /// - `Routing-Id` (and `Identity`): the routing id the peer announced, if any;
    /// - `Peer-Address`: the peer's IP address (TCP only, without the port);
    /// - the application properties the peer announced (libzmq's `ZMQ_METADATA`, zocket's
    ///   [`Socket::set_metadata`](crate::Socket::set_metadata)), named `X-…`.
    ///
    /// Only frames from [`Socket::recv_msg`](crate::Socket::recv_msg) carry them, from TCP
    /// and IPC peers; values that are not UTF-8 text read as `None`. A socket that connected
    /// keeps one queue per endpoint across reconnections; messages the previous connection
    /// delivered keep its properties.
    ///
    /// # Examples
    ///
    /// ```
    /// use zocket::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let router = ctx.socket(SocketType::Router)?;
    /// router.bind("tcp://127.0.0.1:0")?;
    /// let dealer = ctx.socket(SocketType::Dealer)?;
    /// dealer.set_metadata("X-Service:billing")?;
    /// dealer.connect(&router.last_endpoint()?)?;
    /// dealer.send("hi", 0)?;
    /// let id = router.recv_msg(0)?;
    /// assert_eq!(id.gets("Socket-Type"), Some("DEALER"));
    /// assert_eq!(id.gets("X-Service"), Some("billing"));
    /// assert_eq!(id.gets("Peer-Address"), Some("127.0.0.1"));
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn gets(&self, property: &str) -> Option<&str> {
        self.properties.as_deref()?.get(property)
    }

    pub(crate) fn from_frame(data: Frame, more: bool) -> Message {
        Message {
            data,
            more,
            delivery: None,
            properties: None,
        }
    }

    pub(crate) fn with_properties(mut self, properties: Option<std::sync::Arc<Properties>>) -> Message {
        self.properties = properties;
        self
    }

    pub(crate) fn with_delivery(mut self, delivery: Option<Delivery>) -> Message {
        self.delivery = delivery;
        self
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
        Message::from_frame(Frame::from(data), false)
    }
}
impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Message {
        Message::from_frame(Frame::copy_from_slice(data), false)
    }
}
impl<const N: usize> From<&[u8; N]> for Message {
    fn from(data: &[u8; N]) -> Message {
        Message::from_frame(Frame::copy_from_slice(data), false)
    }
}
impl<const N: usize> From<[u8; N]> for Message {
    fn from(data: [u8; N]) -> Message {
        Message::from_frame(Frame::copy_from_slice(&data), false)
    }
}
impl From<&Vec<u8>> for Message {
    fn from(data: &Vec<u8>) -> Message {
        Message::from_frame(Frame::copy_from_slice(data), false)
    }
}
impl From<&str> for Message {
    fn from(data: &str) -> Message {
        Message::from_frame(Frame::copy_from_slice(data.as_bytes()), false)
    }
}
impl From<String> for Message {
    fn from(data: String) -> Message {
        Message::from_frame(Frame::from(Bytes::from(data)), false)
    }
}
impl From<&String> for Message {
    fn from(data: &String) -> Message {
        Message::from(data.as_str())
    }
}
impl From<&Message> for Message {
    fn from(m: &Message) -> Message {
        Message::from_frame(m.data.clone(), false)
    }
}

/// A whole message (all its frames) as it travels through pipes: delivered atomically. Three
/// frames inline covers a routed request (routing id, delimiter, body) without allocating.
pub(crate) type Parts = SmallVec<[Frame; 3]>;

/// Anything that can be sent as one frame: borrowed data (`&[u8]`, `&str`, arrays, …) is
/// copied into a per-socket buffer, so small sends do not allocate; owned data (`Vec<u8>`,
/// `String`, `Bytes`, [`Message`]) is moved without a copy. Either way, a payload of up to 23
/// bytes is copied into the frame itself (and an owned buffer freed).
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
    use super::{Frame, FrameArena};

    /// The conversion behind [`super::IntoFrame`], out of users' reach.
    pub trait Sealed {
        /// Converts into the frame's payload.
        fn into_frame(self, arena: &mut FrameArena) -> Frame;
    }
}
use sealed::Sealed;

macro_rules! copied_frame {
    ($($t:ty),*) => {$(
        impl Sealed for $t {
            fn into_frame(self, arena: &mut FrameArena) -> Frame {
                arena.copy(self.as_ref())
            }
        }
    )*};
}
copied_frame!(&[u8], &str, &Vec<u8>, &String, &Bytes);

impl<const N: usize> Sealed for &[u8; N] {
    fn into_frame(self, arena: &mut FrameArena) -> Frame {
        arena.copy(self)
    }
}
impl<const N: usize> Sealed for [u8; N] {
    fn into_frame(self, arena: &mut FrameArena) -> Frame {
        arena.copy(&self)
    }
}
impl Sealed for Vec<u8> {
    fn into_frame(self, _arena: &mut FrameArena) -> Frame {
        Frame::from(self)
    }
}
impl Sealed for String {
    fn into_frame(self, _arena: &mut FrameArena) -> Frame {
        Frame::from(self.into_bytes())
    }
}
impl Sealed for Bytes {
    fn into_frame(self, _arena: &mut FrameArena) -> Frame {
        Frame::from(self)
    }
}
impl Sealed for Message {
    fn into_frame(self, _arena: &mut FrameArena) -> Frame {
        self.data
    }
}
impl Sealed for &Message {
    fn into_frame(self, _arena: &mut FrameArena) -> Frame {
        self.data.clone()
    }
}
