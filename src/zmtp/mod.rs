//! The ZMTP 3.x protocol core, with no I/O at all: greeting, frames, commands, the NULL
//! handshake and message assembly. Fed with bytes, it returns events and bytes to write, so it
//! can be driven from any thread or event loop, fuzzed and property-tested in isolation.

pub mod command;
pub mod frame;
pub mod greeting;
pub mod outbuf;
pub mod protocol;
pub(crate) mod subscription;

use crate::socket_type::SocketType;

/// Why a connection's protocol failed. The connection is closed; other peers carry on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The greeting is not a ZMTP 3.x greeting.
    #[error("malformed greeting: {0}")]
    BadGreeting(&'static str),
    /// The peer speaks a ZMTP version older than 3.0.
    #[error("unsupported ZMTP major version {0}")]
    UnsupportedVersion(u8),
    /// The peer uses another security mechanism.
    #[error("security mechanism mismatch: peer uses {0}")]
    MechanismMismatch(String),
    /// The handshake went wrong.
    #[error("handshake failed: {0}")]
    Handshake(&'static str),
    /// The socket types may not talk to each other.
    #[error("incompatible socket types: {local} cannot talk to {peer}")]
    IncompatibleSocketType {
        /// Our type.
        local: SocketType,
        /// The peer's type.
        peer: SocketType,
    },
    /// A frame header is invalid.
    #[error("malformed frame: {0}")]
    BadFrame(&'static str),
    /// A message exceeds the maximum message size.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Announced size.
        size: u64,
        /// Limit left for this frame.
        limit: u64,
    },
    /// A message has more frames than [`protocol::MAX_FRAMES_PER_MESSAGE`].
    #[error("message has more than {limit} frames")]
    TooManyFrames {
        /// The limit.
        limit: usize,
    },
    /// A command is malformed.
    #[error("malformed command: {0}")]
    BadCommand(&'static str),
    /// A command we do not know.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The peer sent ERROR.
    #[error("peer reported an error: {0}")]
    PeerError(String),
}
