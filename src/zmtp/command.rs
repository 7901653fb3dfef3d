//! ZMTP commands (READY, ERROR, SUBSCRIBE, CANCEL, PING, PONG) and READY metadata.

use super::ProtocolError;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Most properties a peer's READY may carry. libzmq sends two or three (Socket-Type, Identity
/// and the application's `X-` properties); each kept property costs some 64 bytes whatever its
/// size on the wire (5 bytes at least), so a READY made of tiny properties is refused here.
pub const MAX_PROPERTIES: usize = 1024;

/// Metadata properties of a READY command: names compare case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    props: Vec<(Bytes, Bytes)>,
}

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Adds a property (sent in the casing given).
    pub fn insert(&mut self, name: &str, value: impl Into<Bytes>) {
        self.props
            .push((Bytes::copy_from_slice(name.as_bytes()), value.into()));
    }

    /// The value of property `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// All properties, in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Bytes)> {
        self.props.iter().map(|(n, v)| (&n[..], v))
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        for (name, value) in &self.props {
            out.put_u8(name.len() as u8);
            out.extend_from_slice(name);
            out.put_u32(value.len() as u32);
            out.extend_from_slice(value);
        }
    }

    pub(crate) fn decode(mut body: Bytes) -> Result<Metadata, ProtocolError> {
        let mut props = Vec::new();
        while body.has_remaining() {
            let name_len = usize::from(body.get_u8());
            if name_len == 0 || body.len() < name_len + 4 {
                return Err(ProtocolError::BadCommand("malformed metadata property"));
            }
            if props.len() == MAX_PROPERTIES {
                return Err(ProtocolError::BadCommand("too many metadata properties"));
            }
            let name = body.split_to(name_len);
            let value_len = body.get_u32() as usize;
            if value_len > i32::MAX as usize || body.len() < value_len {
                return Err(ProtocolError::BadCommand("metadata value overruns the command"));
            }
            props.push((name, body.split_to(value_len)));
        }
        Ok(Metadata { props })
    }
}

/// A ZMTP command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// NULL handshake: the peer's metadata.
    Ready(Metadata),
    /// Fatal error with a reason.
    Error(Bytes),
    /// ZMTP 3.1 subscription to a prefix.
    Subscribe(Bytes),
    /// ZMTP 3.1 cancellation of a prefix.
    Cancel(Bytes),
    /// Heartbeat request: time-to-live in tenths of a second, and a context to echo.
    Ping {
        /// Time-to-live hint in deciseconds (0 = none).
        ttl: u16,
        /// Context bytes to echo in the PONG (at most 16 are kept).
        context: Bytes,
    },
    /// Heartbeat reply.
    Pong(Bytes),
    /// zocket acknowledged delivery (only between peers that both announced
    /// `X-Zocket-Ack`): the next message carries spool sequence number `seq`; every message of
    /// the stream up to `low` has been acknowledged by some receiver.
    Seq {
        /// Sequence number of the next message.
        seq: u64,
        /// The sender's acknowledged low-water mark.
        low: u64,
    },
    /// zocket acknowledged delivery: the receiver has handed the first `count` sequenced
    /// messages of this connection to its application.
    Ack(u64),
}

impl Command {
    /// Parses a command frame's body.
    pub fn decode(mut body: Bytes) -> Result<Command, ProtocolError> {
        if body.is_empty() {
            return Err(ProtocolError::BadCommand("empty command frame"));
        }
        let name_len = usize::from(body.get_u8());
        if name_len == 0 || body.len() < name_len {
            return Err(ProtocolError::BadCommand("command name overruns the frame"));
        }
        let name = body.split_to(name_len);
        Ok(match &name[..] {
            b"READY" => Command::Ready(Metadata::decode(body)?),
            b"ERROR" => {
                let len = usize::from(*body.first().unwrap_or(&0));
                if body.len() < 1 + len {
                    return Err(ProtocolError::BadCommand("ERROR reason overruns the frame"));
                }
                Command::Error(body.slice(1..1 + len))
            }
            b"SUBSCRIBE" => Command::Subscribe(body),
            b"CANCEL" => Command::Cancel(body),
            b"PING" => {
                if body.len() < 2 {
                    return Err(ProtocolError::BadCommand("PING without a TTL"));
                }
                let ttl = body.get_u16();
                Command::Ping { ttl, context: body }
            }
            b"PONG" => Command::Pong(body),
            b"ZSEQ" if body.len() == 16 => Command::Seq {
                seq: body.get_u64(),
                low: body.get_u64(),
            },
            b"ZACK" if body.len() == 8 => Command::Ack(body.get_u64()),
            b"ZSEQ" | b"ZACK" => {
                return Err(ProtocolError::BadCommand(
                    "acknowledgement command of the wrong size",
                ));
            }
            _ => return Err(ProtocolError::UnknownCommand(lossy(&name))),
        })
    }

    /// Encodes the command's body (name and data), without the frame header.
    pub fn encode_body(&self, out: &mut BytesMut) {
        let put_name = |name: &[u8], out: &mut BytesMut| {
            out.put_u8(name.len() as u8);
            out.extend_from_slice(name);
        };
        match self {
            Command::Ready(meta) => {
                put_name(b"READY", out);
                meta.encode(out);
            }
            Command::Error(reason) => {
                put_name(b"ERROR", out);
                let len = reason.len().min(255);
                out.put_u8(len as u8);
                out.extend_from_slice(&reason[..len]);
            }
            Command::Subscribe(topic) => {
                put_name(b"SUBSCRIBE", out);
                out.extend_from_slice(topic);
            }
            Command::Cancel(topic) => {
                put_name(b"CANCEL", out);
                out.extend_from_slice(topic);
            }
            Command::Ping { ttl, context } => {
                put_name(b"PING", out);
                out.put_u16(*ttl);
                out.extend_from_slice(&context[..context.len().min(16)]);
            }
            Command::Pong(context) => {
                put_name(b"PONG", out);
                out.extend_from_slice(&context[..context.len().min(16)]);
            }
            Command::Seq { seq, low } => {
                put_name(b"ZSEQ", out);
                out.put_u64(*seq);
                out.put_u64(*low);
            }
            Command::Ack(count) => {
                put_name(b"ZACK", out);
                out.put_u64(*count);
            }
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(cmd: Command) {
        let mut body = BytesMut::new();
        cmd.encode_body(&mut body);
        assert_eq!(Command::decode(body.freeze()).unwrap(), cmd);
    }

    #[test]
    fn commands_round_trip() {
        let mut meta = Metadata::new();
        meta.insert("Socket-Type", "DEALER");
        meta.insert("Identity", "");
        round_trip(Command::Ready(meta));
        round_trip(Command::Error(Bytes::from_static(b"nope")));
        round_trip(Command::Subscribe(Bytes::from_static(b"topic")));
        round_trip(Command::Cancel(Bytes::new()));
        round_trip(Command::Ping {
            ttl: 30,
            context: Bytes::from_static(b"ctx"),
        });
        round_trip(Command::Pong(Bytes::from_static(b"ctx")));
        round_trip(Command::Seq { seq: 7, low: 3 });
        round_trip(Command::Ack(42));
    }

    #[test]
    fn ready_matches_the_rfc_dealer_example() {
        let mut meta = Metadata::new();
        meta.insert("Socket-Type", "DEALER");
        meta.insert("Identity", "");
        let mut body = BytesMut::new();
        Command::Ready(meta).encode_body(&mut body);
        assert_eq!(body.len(), 41);
        assert_eq!(&body[..6], b"\x05READY");
    }

    #[test]
    fn property_names_are_case_insensitive() {
        let mut meta = Metadata::new();
        meta.insert("socket-type", "PUSH");
        assert_eq!(&meta.get("Socket-Type").unwrap()[..], b"PUSH");
    }

    #[test]
    fn unknown_and_truncated_commands_are_errors() {
        assert!(matches!(
            Command::decode(Bytes::from_static(b"\x05HELLO")),
            Err(ProtocolError::UnknownCommand(_))
        ));
        assert!(Command::decode(Bytes::from_static(b"\x09SUB")).is_err());
        assert!(Command::decode(Bytes::from_static(b"\x05READY\x04Nam")).is_err());
        assert!(Command::decode(Bytes::from_static(b"\x05READY\x01Z\xff\xff\xff\xff")).is_err());
    }

    #[test]
    fn a_ready_with_too_many_properties_is_refused() {
        let ready = |count: usize| {
            let mut meta = Metadata::new();
            for i in 0..count {
                meta.insert(&format!("X-{i}"), "");
            }
            let mut body = BytesMut::new();
            Command::Ready(meta).encode_body(&mut body);
            Command::decode(body.freeze())
        };
        assert!(ready(MAX_PROPERTIES).is_ok());
        assert_eq!(
            ready(MAX_PROPERTIES + 1),
            Err(ProtocolError::BadCommand("too many metadata properties"))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_command_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Command::decode(Bytes::from(bytes));
        }

        #[test]
        fn metadata_round_trips(props in proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9-]{0,20}", proptest::collection::vec(any::<u8>(), 0..100)), 0..6)) {
            let mut meta = Metadata::new();
            for (name, value) in &props {
                meta.insert(name, Bytes::from(value.clone()));
            }
            let cmd = Command::Ready(meta);
            let mut body = BytesMut::new();
            cmd.encode_body(&mut body);
            prop_assert_eq!(Command::decode(body.freeze()).unwrap(), cmd);
        }
    }
}
