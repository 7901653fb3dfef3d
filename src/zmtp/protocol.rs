//! The per-connection protocol state machine: greeting, NULL handshake, then frames assembled
//! into whole messages. Bytes in, events out, bytes to write queued in an [`OutBuf`]; no I/O.

use super::ProtocolError;
use super::command::{Command, Metadata};
use super::frame::{self, FLAG_COMMAND, FLAG_MORE};
use super::greeting::{GREETING_LEN, Greeting, MECHANISM_NULL};
use super::outbuf::OutBuf;
use super::subscription;
use crate::message::{Frame, Parts};
use crate::socket_type::SocketType;
use bytes::{Bytes, BytesMut};

/// Most frames one message may have. Each frame costs memory whatever its size (empty frames
/// with MORE cost nothing against the maximum message size), so a peer that keeps sending them
/// is cut off here: its connection is closed. libzmq has no such limit; real applications send
/// a few frames, a few thousand at most, so 65,536 leaves them a wide margin and bounds the
/// frame bookkeeping of a message being received to about 2 MiB.
pub const MAX_FRAMES_PER_MESSAGE: usize = 1 << 16;

/// Replies the protocol owes (PONG) are skipped while this much is already waiting to be
/// written: a peer that sends PINGs and never reads cannot grow our write buffer. libzmq keeps
/// at most one PONG pending; any traffic resets a heartbeat timeout, libzmq's and ours.
pub const MAX_OWED_BEFORE_PONG: usize = 1 << 20;

/// Largest handshake command accepted (READY or ERROR), in bytes.
const MAX_HANDSHAKE_FRAME: u64 = u16::MAX as u64 * 64;

/// What this side announces in the handshake.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// Our socket type.
    pub socket_type: SocketType,
    /// Our routing id (sent as `Identity` by REQ, DEALER and ROUTER).
    pub identity: Bytes,
    /// Largest message accepted from the peer, in bytes (all frames together).
    pub max_msg_size: u64,
    /// Extra metadata properties (`X-` names) to announce.
    pub extra_metadata: Vec<(String, Bytes)>,
}

/// What the peer announced in its handshake.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The peer's socket type.
    pub socket_type: SocketType,
    /// The peer's `Identity` property (empty if it sent none).
    pub identity: Bytes,
    /// All properties of the peer's READY.
    pub metadata: Metadata,
}

/// Something the peer said.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// The handshake is complete; messages may flow.
    Ready,
    /// A whole message. Subscriptions arriving as SUBSCRIBE/CANCEL commands are turned into the
    /// one-frame message form (first byte 1 or 0), so that patterns see a single form.
    Message(Parts),
    /// zocket acknowledged delivery: the next message has this sequence number.
    Seq {
        /// Sequence number of the next message.
        seq: u64,
        /// The sender's acknowledged low-water mark.
        low: u64,
    },
    /// zocket acknowledged delivery: the peer has delivered this many sequenced messages.
    Ack(u64),
    /// The peer's heartbeat (already answered) asks to be dropped if nothing arrives within
    /// this many tenths of a second.
    PeerTtl(u16),
}

enum State {
    Greeting,
    Ready,
    Active,
}

/// One connection's ZMTP state.
pub struct Protocol {
    local: LocalConfig,
    state: State,
    peer: Option<PeerInfo>,
    peer_minor: u8,
    partial: Parts,
    partial_size: u64,
}

impl Protocol {
    /// Starts a connection: queues our greeting and our READY into `out` at once (the NULL
    /// mechanism has nothing to wait for, and sending both saves a round trip).
    pub fn new(local: LocalConfig, out: &mut OutBuf) -> Protocol {
        out.push_slice(&Greeting::ours().encode());
        let mut meta = Metadata::new();
        meta.insert("Socket-Type", local.socket_type.name());
        if local.socket_type.sends_identity() {
            meta.insert("Identity", local.identity.clone());
        }
        for (name, value) in &local.extra_metadata {
            meta.insert(name, value.clone());
        }
        push_command(&Command::Ready(meta), out);
        Protocol {
            local,
            state: State::Greeting,
            peer: None,
            peer_minor: 0,
            partial: Parts::new(),
            partial_size: 0,
        }
    }

    /// The peer's handshake, once [`Event::Ready`] has been returned.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// Whether the handshake is complete.
    pub fn is_active(&self) -> bool {
        matches!(self.state, State::Active)
    }

    /// Consumes bytes from `input` until one event is complete or more bytes are needed.
    /// Replies the protocol owes (PONG, ERROR) are queued into `out`. After an error the
    /// connection must be closed (flushing `out` first is polite).
    pub fn poll(&mut self, input: &mut BytesMut, out: &mut OutBuf) -> Result<Option<Event>, ProtocolError> {
        loop {
            match self.state {
                State::Greeting => {
                    Greeting::check_prefix(input)?;
                    if input.len() < GREETING_LEN {
                        return Ok(None);
                    }
                    let raw: [u8; GREETING_LEN] =
                        input.split_to(GREETING_LEN)[..].try_into().expect("64 bytes");
                    let greeting = Greeting::decode(&raw)?;
                    if greeting.mechanism != MECHANISM_NULL {
                        push_command(&Command::Error(Bytes::from_static(b"mechanism mismatch")), out);
                        return Err(ProtocolError::MechanismMismatch(
                            String::from_utf8_lossy(&greeting.mechanism).into_owned(),
                        ));
                    }
                    self.peer_minor = greeting.minor;
                    self.state = State::Ready;
                }
                State::Ready => {
                    let Some(f) = frame::decode_frame(input, MAX_HANDSHAKE_FRAME)? else {
                        return Ok(None);
                    };
                    if !f.command {
                        return Err(ProtocolError::Handshake("a message arrived before READY"));
                    }
                    match Command::decode(f.body.into_bytes())? {
                        Command::Ready(metadata) => {
                            self.accept_ready(metadata, out)?;
                            self.state = State::Active;
                            return Ok(Some(Event::Ready));
                        }
                        Command::Error(reason) => {
                            return Err(ProtocolError::PeerError(
                                String::from_utf8_lossy(&reason).into_owned(),
                            ));
                        }
                        _ => return Err(ProtocolError::Handshake("expected READY")),
                    }
                }
                State::Active => return self.poll_active(input, out),
            }
        }
    }

    fn accept_ready(&mut self, metadata: Metadata, out: &mut OutBuf) -> Result<(), ProtocolError> {
        let Some(type_name) = metadata.get("Socket-Type") else {
            return Err(ProtocolError::Handshake("READY without Socket-Type"));
        };
        let Some(peer_type) = SocketType::from_name(type_name) else {
            return Err(ProtocolError::Handshake("unknown Socket-Type"));
        };
        if !self.local.socket_type.compatible_with(peer_type) {
            push_command(&Command::Error(Bytes::from_static(b"Invalid socket type")), out);
            return Err(ProtocolError::IncompatibleSocketType {
                local: self.local.socket_type,
                peer: peer_type,
            });
        }
        let identity = metadata.get("Identity").cloned().unwrap_or_default();
        if identity.len() > 255 {
            return Err(ProtocolError::Handshake("Identity longer than 255 bytes"));
        }
        self.peer = Some(PeerInfo {
            socket_type: peer_type,
            identity,
            metadata,
        });
        Ok(())
    }

    fn poll_active(
        &mut self,
        input: &mut BytesMut,
        out: &mut OutBuf,
    ) -> Result<Option<Event>, ProtocolError> {
        loop {
            let budget = self.local.max_msg_size.saturating_sub(self.partial_size);
            let Some(f) = frame::decode_frame(input, budget)? else {
                return Ok(None);
            };
            if f.command {
                if let Some(event) = self.on_command(f.body.into_bytes(), out)? {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.partial.len() >= MAX_FRAMES_PER_MESSAGE {
                return Err(ProtocolError::TooManyFrames {
                    limit: MAX_FRAMES_PER_MESSAGE,
                });
            }
            self.partial_size += f.body.len() as u64;
            self.partial.push(f.body);
            if !f.more {
                self.partial_size = 0;
                return Ok(Some(Event::Message(std::mem::take(&mut self.partial))));
            }
        }
    }

    fn on_command(&mut self, body: Bytes, out: &mut OutBuf) -> Result<Option<Event>, ProtocolError> {
        match Command::decode(body)? {
            Command::Ping { ttl, context } => {
                if out.len() < MAX_OWED_BEFORE_PONG {
                    push_command(&Command::Pong(context), out);
                }
                Ok((ttl > 0).then_some(Event::PeerTtl(ttl)))
            }
            Command::Pong(_) => Ok(None),
            Command::Seq { seq, low } => Ok(Some(Event::Seq { seq, low })),
            Command::Ack(count) => Ok(Some(Event::Ack(count))),
            // Subscriptions mean something only to publishers; other types ignore them.
            Command::Subscribe(topic) if self.is_publisher() => {
                Ok(Some(Event::Message(subscription::encode(true, &topic))))
            }
            Command::Cancel(topic) if self.is_publisher() => {
                Ok(Some(Event::Message(subscription::encode(false, &topic))))
            }
            Command::Subscribe(_) | Command::Cancel(_) => Ok(None),
            Command::Error(reason) => Err(ProtocolError::PeerError(
                String::from_utf8_lossy(&reason).into_owned(),
            )),
            Command::Ready(_) => Err(ProtocolError::BadCommand("READY after the handshake")),
        }
    }

    fn is_publisher(&self) -> bool {
        matches!(self.local.socket_type, SocketType::Pub | SocketType::XPub)
    }

    /// Encodes one whole message (see [`Encoder::encode_message`]).
    pub fn encode_message(&self, parts: &[Frame], out: &mut OutBuf) {
        self.encoder().encode_message(parts, out);
    }

    /// The message encoder for this connection, usable from another thread.
    pub fn encoder(&self) -> Encoder {
        Encoder {
            socket_type: self.local.socket_type,
            peer_minor: self.peer_minor,
        }
    }

    /// Queues a PING (heartbeat) with the given TTL in deciseconds.
    pub fn push_ping(&self, ttl: u16, out: &mut OutBuf) {
        push_command(
            &Command::Ping {
                ttl,
                context: Bytes::new(),
            },
            out,
        );
    }
}

/// Encodes messages for one connection once its handshake is done: all it needs is the local
/// socket type and the peer's protocol version.
#[derive(Clone, Copy, Debug)]
pub struct Encoder {
    socket_type: SocketType,
    peer_minor: u8,
}

impl Encoder {
    /// An encoder for a ZMTP 3.1 peer of a socket of this type (the connection's comes from
    /// its handshake).
    #[cfg(all(test, loom))]
    pub fn for_model(socket_type: SocketType) -> Encoder {
        Encoder {
            socket_type,
            peer_minor: 1,
        }
    }

    /// Encodes one whole message. On SUB and XSUB sockets, a one-frame message whose first
    /// byte is 1 or 0 is a subscription: it goes to a ZMTP 3.1 peer as SUBSCRIBE or CANCEL, and
    /// to a 3.0 peer as it is.
    pub fn encode_message(&self, parts: &[Frame], out: &mut OutBuf) {
        if self.peer_minor >= 1
            && matches!(self.socket_type, SocketType::Sub | SocketType::XSub)
            && let Some((subscribe, prefix)) = subscription::decode(parts)
        {
            let prefix = prefix.into_bytes();
            let command = if subscribe {
                Command::Subscribe(prefix)
            } else {
                Command::Cancel(prefix)
            };
            return push_command(&command, out);
        }
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.iter().enumerate() {
            let flags = if i < last { FLAG_MORE } else { 0 };
            let staging = out.staging();
            let before = staging.len();
            frame::encode_header(flags, part.len(), staging);
            let header_len = staging.len() - before;
            out.staged(header_len);
            out.push_frame(part);
        }
    }
}

/// Queues a command frame.
pub fn push_command(cmd: &Command, out: &mut OutBuf) {
    let mut body = BytesMut::new();
    cmd.encode_body(&mut body);
    let staging = out.staging();
    let before = staging.len();
    frame::encode_frame(FLAG_COMMAND, &body, staging);
    let n = staging.len() - before;
    out.staged(n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::IoSlice;

    fn config(socket_type: SocketType) -> LocalConfig {
        LocalConfig {
            socket_type,
            identity: Bytes::new(),
            max_msg_size: 1 << 20,
            extra_metadata: Vec::new(),
        }
    }

    fn drain(out: &mut OutBuf) -> BytesMut {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = out.io_slices(&mut slices);
        let mut all = BytesMut::new();
        for s in &slices[..n] {
            all.extend_from_slice(s);
        }
        out.advance(all.len());
        all
    }

    /// Two protocol ends wired to each other in memory.
    fn pair(a: SocketType, b: SocketType) -> (Protocol, OutBuf, Protocol, OutBuf) {
        let mut out_a = OutBuf::new();
        let mut out_b = OutBuf::new();
        let pa = Protocol::new(config(a), &mut out_a);
        let pb = Protocol::new(config(b), &mut out_b);
        (pa, out_a, pb, out_b)
    }

    #[test]
    fn handshake_and_messages() {
        let (mut pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Pull);
        let mut to_b = drain(&mut out_a);
        let mut to_a = drain(&mut out_b);
        assert_eq!(pb.poll(&mut to_b, &mut out_b).unwrap(), Some(Event::Ready));
        assert_eq!(pa.poll(&mut to_a, &mut out_a).unwrap(), Some(Event::Ready));
        assert_eq!(pb.peer().unwrap().socket_type, SocketType::Push);
        pa.encode_message(
            &[Frame::from(&b"a"[..]), Frame::from(vec![5u8; 5000])],
            &mut out_a,
        );
        let mut to_b = drain(&mut out_a);
        match pb.poll(&mut to_b, &mut out_b).unwrap() {
            Some(Event::Message(parts)) => {
                assert_eq!(parts.len(), 2);
                assert_eq!(&parts[0][..], b"a");
                assert_eq!(parts[1].len(), 5000);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn mismatched_types_fail_the_handshake() {
        let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Push);
        let mut to_b = drain(&mut out_a);
        assert!(matches!(
            pb.poll(&mut to_b, &mut out_b),
            Err(ProtocolError::IncompatibleSocketType { .. })
        ));
    }

    #[test]
    fn ping_is_answered_and_never_surfaces() {
        let (pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
        let mut to_b = drain(&mut out_a);
        pb.poll(&mut to_b, &mut out_b).unwrap();
        let _ = drain(&mut out_b);
        pa.push_ping(10, &mut out_a);
        let mut to_b = drain(&mut out_a);
        assert_eq!(pb.poll(&mut to_b, &mut out_b).unwrap(), Some(Event::PeerTtl(10)));
        assert_eq!(pb.poll(&mut to_b, &mut out_b).unwrap(), None);
        let pong = drain(&mut out_b);
        assert_eq!(&pong[..], b"\x04\x05\x04PONG");
    }

    #[test]
    fn ping_is_answered_on_a_3_0_connection() {
        // libzmq sends PING to 3.0 peers too; we must still answer.
        let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
        let mut to_b = drain(&mut out_a);
        to_b[11] = 0;
        pb.poll(&mut to_b, &mut out_b).unwrap();
        let _ = drain(&mut out_b);
        let mut ping = BytesMut::from(&b"\x04\x09\x04PING\x00\x00ab"[..]);
        assert_eq!(pb.poll(&mut ping, &mut out_b).unwrap(), None);
        assert_eq!(&drain(&mut out_b)[..], b"\x04\x07\x04PONGab");
    }

    #[test]
    fn subscriptions_follow_the_peer_version() {
        let (mut sub, mut out_s, mut publ, mut out_p) = pair(SocketType::Sub, SocketType::Pub);
        let mut to_p = drain(&mut out_s);
        let mut to_s = drain(&mut out_p);
        publ.poll(&mut to_p, &mut out_p).unwrap();
        sub.poll(&mut to_s, &mut out_s).unwrap();
        sub.encode_message(&[Frame::from(&b"\x01news"[..])], &mut out_s);
        let mut wire = drain(&mut out_s);
        assert_eq!(&wire[..], b"\x04\x0e\x09SUBSCRIBEnews");
        let Some(Event::Message(parts)) = publ.poll(&mut wire, &mut out_p).unwrap() else {
            panic!("no subscription")
        };
        assert_eq!(&parts[0][..], b"\x01news");
    }

    #[test]
    fn oversized_message_is_refused() {
        let (pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Pull);
        let mut to_b = drain(&mut out_a);
        pb.poll(&mut to_b, &mut out_b).unwrap();
        pa.encode_message(
            &[Frame::from(vec![0u8; 600_000]), Frame::from(vec![0u8; 600_000])],
            &mut out_a,
        );
        let mut wire = drain(&mut out_a);
        assert!(matches!(
            pb.poll(&mut wire, &mut out_b),
            Err(ProtocolError::TooLarge { .. })
        ));
    }

    #[test]
    fn endless_empty_frames_with_more_are_cut_off() {
        let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Pull);
        let mut to_b = drain(&mut out_a);
        pb.poll(&mut to_b, &mut out_b).unwrap();
        let mut wire = BytesMut::new();
        for _ in 0..MAX_FRAMES_PER_MESSAGE - 1 {
            wire.extend_from_slice(&[FLAG_MORE, 0]);
        }
        wire.extend_from_slice(&[0, 0]);
        match pb.poll(&mut wire, &mut out_b).unwrap() {
            Some(Event::Message(parts)) => assert_eq!(parts.len(), MAX_FRAMES_PER_MESSAGE),
            other => panic!("a message of exactly the limit was refused: {other:?}"),
        }
        for _ in 0..MAX_FRAMES_PER_MESSAGE + 1 {
            wire.extend_from_slice(&[FLAG_MORE, 0]);
        }
        assert_eq!(
            pb.poll(&mut wire, &mut out_b),
            Err(ProtocolError::TooManyFrames {
                limit: MAX_FRAMES_PER_MESSAGE
            })
        );
    }

    #[test]
    fn pings_from_a_peer_that_never_reads_do_not_pile_up_pongs() {
        let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
        let mut to_b = drain(&mut out_a);
        pb.poll(&mut to_b, &mut out_b).unwrap();
        let ping = b"\x04\x17\x04PING\x00\x000123456789abcdef";
        let mut wire = BytesMut::new();
        for _ in 0..100_000 {
            wire.extend_from_slice(ping);
        }
        while pb.poll(&mut wire, &mut out_b).unwrap().is_some() {}
        assert!(wire.is_empty());
        assert!(
            out_b.len() < MAX_OWED_BEFORE_PONG + 64,
            "{} bytes of PONG queued",
            out_b.len()
        );
        // Once the peer reads, it is answered again.
        drain(&mut out_b);
        wire.extend_from_slice(ping);
        pb.poll(&mut wire, &mut out_b).unwrap();
        assert_eq!(&drain(&mut out_b)[3..7], b"PONG");
    }

    #[test]
    fn unknown_command_is_an_error() {
        let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
        let mut to_b = drain(&mut out_a);
        pb.poll(&mut to_b, &mut out_b).unwrap();
        let mut wire = BytesMut::from(&b"\x04\x04\x03FOO"[..]);
        assert!(matches!(
            pb.poll(&mut wire, &mut out_b),
            Err(ProtocolError::UnknownCommand(_))
        ));
    }
}
