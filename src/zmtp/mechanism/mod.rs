//! Security mechanisms (NULL, PLAIN, CURVE) as sans-I/O handshakes: command bodies in,
//! command bodies out, and, for CURVE, the cipher that boxes every frame afterwards. The
//! protocol state machine frames the commands and drives ZAP through [`Step::Authenticate`].

pub mod curve;
mod null;
pub mod plain;
pub mod zap;

use super::ProtocolError;
use super::command::Metadata;
use bytes::{Bytes, BytesMut};
pub(crate) use null::NullHandshake;
pub use zap::{ZapReply, ZapRequest};

/// The security a connection uses, as the socket's options chose it.
#[derive(Clone, Default)]
pub enum Security {
    /// No security (ZMTP's NULL mechanism).
    #[default]
    Null,
    /// PLAIN client: sends these credentials.
    PlainClient {
        /// User name (at most 255 bytes).
        username: Bytes,
        /// Password (at most 255 bytes).
        password: Bytes,
    },
    /// PLAIN server: asks ZAP about each client.
    PlainServer,
    /// CURVE client with its long-term key pair, knowing the server's public key.
    CurveClient {
        /// Our long-term key pair.
        keys: curve::KeyPair,
        /// The server's long-term public key.
        server_key: [u8; 32],
    },
    /// CURVE server with its long-term key pair.
    CurveServer {
        /// Our long-term key pair.
        keys: curve::KeyPair,
    },
}

impl Security {
    /// The mechanism's name in the greeting.
    pub fn name(&self) -> &'static [u8] {
        match self {
            Security::Null => b"NULL",
            Security::PlainClient { .. } | Security::PlainServer => b"PLAIN",
            Security::CurveClient { .. } | Security::CurveServer { .. } => b"CURVE",
        }
    }

    /// Whether this side announces itself as the server in the greeting.
    pub fn as_server(&self) -> bool {
        matches!(self, Security::PlainServer | Security::CurveServer { .. })
    }

    /// Starts a handshake that will announce `metadata` (our READY/INITIATE properties).
    pub(crate) fn handshake(&self, metadata: Metadata) -> Box<dyn Handshake> {
        match self {
            Security::Null => Box::new(NullHandshake::new(metadata)),
            Security::PlainClient { username, password } => Box::new(plain::PlainClient::new(
                username.clone(),
                password.clone(),
                metadata,
            )),
            Security::PlainServer => Box::new(plain::PlainServer::new(metadata)),
            Security::CurveClient { keys, server_key } => {
                Box::new(curve::CurveClient::new(keys.clone(), *server_key, metadata))
            }
            Security::CurveServer { keys } => Box::new(curve::CurveServer::new(keys.clone(), metadata)),
        }
    }
}

impl std::fmt::Debug for Security {
    /// Names the mechanism and role only: no credential or key is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = if self.as_server() { "server" } else { "client" };
        write!(f, "{} {role}", String::from_utf8_lossy(self.name()))
    }
}

/// What a handshake needs after a step.
#[derive(Debug)]
pub enum Step {
    /// Waiting for the peer's next command.
    Continue,
    /// The server asks ZAP before it goes on: hand the answer to
    /// [`Handshake::on_zap_reply`].
    Authenticate(ZapRequest),
    /// The handshake is complete: the peer's metadata (its READY or INITIATE properties).
    Done(Metadata),
}

/// One side of a mechanism's handshake. Every method appends the command bodies to send
/// (command name included, frame header excluded) to `sends`, in order. Errors close the
/// connection; an ERROR command to send first, if any, is already in `sends`.
pub trait Handshake: Send {
    /// Starts the handshake right after the greetings were exchanged.
    fn start(&mut self, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError>;

    /// A command from the peer (`body` holds the name and the data).
    fn on_command(&mut self, body: Bytes, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError>;

    /// The ZAP handler's answer to the request of [`Step::Authenticate`]. Status 200 goes
    /// on; 300 fails without an ERROR command; 400 and 500 fail after sending ERROR with the
    /// status code as the reason (libzmq's behaviour).
    fn on_zap_reply(&mut self, reply: &ZapReply, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError>;

    /// After [`Step::Done`]: the cipher for the data phase, or `None` when frames travel in
    /// clear (NULL, PLAIN).
    fn cipher(&mut self) -> Option<Box<dyn Cipher>>;
}

/// Boxes and unboxes frames after a CURVE handshake.
pub trait Cipher: Send {
    /// Seals one frame (`flags` holds MORE and COMMAND) into a MESSAGE command body,
    /// appended to `out` (command name included, frame header excluded).
    fn seal(&mut self, flags: u8, payload: &[u8], out: &mut BytesMut);

    /// Opens a MESSAGE command body (name included), in place: the frame's flags and
    /// payload. A nonce not greater than the previous one, or a box that fails to open, is
    /// an error.
    fn open(&mut self, body: BytesMut) -> Result<(u8, Bytes), ProtocolError>;
}

/// Builds a command body: length-prefixed name, then the data.
pub(crate) fn command_body(name: &[u8], parts: &[&[u8]]) -> Bytes {
    let mut body = BytesMut::with_capacity(1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    body.extend_from_slice(&[name.len() as u8]);
    body.extend_from_slice(name);
    for part in parts {
        body.extend_from_slice(part);
    }
    body.freeze()
}

/// Splits a command body into its name and data.
pub(crate) fn split_command(body: &[u8]) -> Result<(&[u8], &[u8]), ProtocolError> {
    let Some((&len, rest)) = body.split_first() else {
        return Err(ProtocolError::BadCommand("empty command frame"));
    };
    let len = usize::from(len);
    if len == 0 || rest.len() < len {
        return Err(ProtocolError::BadCommand("command name overruns the frame"));
    }
    Ok(rest.split_at(len))
}
