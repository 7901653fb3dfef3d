//! The ZMTP 3.x protocol core, with no I/O at all: greeting, frames, commands, the NULL
//! handshake and message assembly. Fed with bytes, it returns events and bytes to write, so it
//! can be driven from any thread or event loop, fuzzed and property-tested in isolation.

pub mod command;
pub mod frame;
pub mod greeting;
pub mod mechanism;
pub mod outbuf;
pub mod protocol;
pub(crate) mod subscription;

use crate::socket_type::SocketType;

/// Why a connection's protocol failed. The connection is closed; other peers carry on.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
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
    /// Our ZAP handler (or the absence of one) refused the peer.
    #[error("authentication refused ({status}): {reason}")]
    Refused {
        /// The ZAP status code: 300, 400 or 500.
        status: u16,
        /// The handler's reason.
        reason: String,
    },
}

impl ProtocolError {
    /// How a monitor reports this error when it ends a handshake: libzmq's event and value
    /// (`None`: no handshake event, only the disconnection; libzmq reports a peer's ERROR
    /// that way unless it carries a ZAP status code).
    pub(crate) fn handshake_event(&self) -> Option<(crate::SocketEvent, u32)> {
        use crate::SocketEvent::{HandshakeFailedAuth, HandshakeFailedProtocol};
        use crate::monitor::*;
        let code = match self {
            ProtocolError::BadGreeting(_) | ProtocolError::UnsupportedVersion(_) => {
                PROTOCOL_ERROR_ZMTP_UNSPECIFIED
            }
            ProtocolError::MechanismMismatch(_) => PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
            ProtocolError::Handshake(_) | ProtocolError::IncompatibleSocketType { .. } => match self {
                ProtocolError::Handshake(what)
                    if what.contains("expected") || what.contains("before READY") =>
                {
                    PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
                }
                ProtocolError::Handshake(what) if what.contains("does not open") => {
                    PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
                }
                ProtocolError::Handshake(what) if what.starts_with("CURVE") => {
                    PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE
                }
                _ => PROTOCOL_ERROR_ZMTP_INVALID_METADATA,
            },
            ProtocolError::BadCommand(_) | ProtocolError::BadFrame(_) => {
                PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED
            }
            ProtocolError::UnknownCommand(_)
            | ProtocolError::TooLarge { .. }
            | ProtocolError::TooManyFrames { .. } => PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
            ProtocolError::Refused { status, .. } => {
                return Some((HandshakeFailedAuth, u32::from(*status)));
            }
            ProtocolError::PeerError(reason) => {
                let status = reason.parse::<u32>().ok().filter(|s| (300..600).contains(s))?;
                return Some((HandshakeFailedAuth, status));
            }
        };
        Some((HandshakeFailedProtocol, code))
    }
}
