//! The NULL mechanism: each side sends READY with its metadata. With a ZAP domain set, a
//! side first asks its ZAP handler (libzmq's rule), and sends READY only once accepted.

use super::zap::{self, ZapReply, ZapRequest};
use super::{Cipher, Handshake, Step, split_command};
use crate::zmtp::ProtocolError;
use crate::zmtp::command::{Command, Metadata};
use bytes::{Bytes, BytesMut};

/// One side of a NULL handshake.
pub(crate) struct NullHandshake {
    ours: Metadata,
    ask_zap: bool,
    ready_sent: bool,
    peer: Option<Metadata>,
}

impl NullHandshake {
    /// A handshake that announces `ours` at once.
    pub fn new(ours: Metadata) -> NullHandshake {
        NullHandshake {
            ours,
            ask_zap: false,
            ready_sent: false,
            peer: None,
        }
    }

    /// A handshake that asks ZAP first and announces `ours` once accepted.
    pub fn with_zap(ours: Metadata) -> NullHandshake {
        NullHandshake {
            ask_zap: true,
            ..NullHandshake::new(ours)
        }
    }

    fn send_ready(&mut self, sends: &mut Vec<Bytes>) {
        sends.push(ready(&self.ours));
        self.ready_sent = true;
    }

    fn progress(&mut self) -> Step {
        match (self.ready_sent, self.peer.take()) {
            (true, Some(peer)) => Step::Done(peer),
            (_, peer) => {
                self.peer = peer;
                Step::Continue
            }
        }
    }
}

/// A READY command body with `metadata`.
pub(crate) fn ready(metadata: &Metadata) -> Bytes {
    let mut body = BytesMut::new();
    Command::Ready(metadata.clone()).encode_body(&mut body);
    body.freeze()
}

/// The metadata of a command named `name` (READY or INITIATE), or the peer's ERROR.
pub(crate) fn expect_properties(body: Bytes, name: &[u8]) -> Result<Metadata, ProtocolError> {
    let (found, data) = split_command(&body)?;
    if found == name {
        let start = body.len() - data.len();
        return Metadata::decode(body.slice(start..));
    }
    Err(peer_error(found, data).unwrap_or(ProtocolError::Handshake("unexpected command")))
}

/// The error an ERROR command from the peer reports (`None` for any other command).
pub(crate) fn peer_error(name: &[u8], data: &[u8]) -> Option<ProtocolError> {
    if name != b"ERROR" {
        return None;
    }
    let reason = match data.split_first() {
        Some((&len, rest)) => &rest[..usize::from(len).min(rest.len())],
        None => &[][..],
    };
    Some(ProtocolError::PeerError(
        String::from_utf8_lossy(reason).into_owned(),
    ))
}

impl Handshake for NullHandshake {
    fn start(&mut self, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        if self.ask_zap {
            return Ok(Step::Authenticate(ZapRequest {
                mechanism: "NULL",
                credentials: Vec::new(),
            }));
        }
        self.send_ready(sends);
        Ok(Step::Continue)
    }

    fn on_command(&mut self, body: Bytes, _sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        if self.peer.is_some() {
            return Err(ProtocolError::Handshake("a second READY"));
        }
        self.peer = Some(expect_properties(body, b"READY").map_err(|e| match e {
            ProtocolError::Handshake(_) => ProtocolError::Handshake("expected READY"),
            other => other,
        })?);
        Ok(self.progress())
    }

    fn on_zap_reply(&mut self, reply: &ZapReply, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        zap::refusal(reply, sends)?;
        self.send_ready(sends);
        Ok(self.progress())
    }

    fn cipher(&mut self) -> Option<Box<dyn Cipher>> {
        None
    }
}
