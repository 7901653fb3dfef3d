//! The per-connection protocol state machine: greeting, the security mechanism's handshake
//! (with its ZAP question), then frames (boxed under CURVE) assembled into whole messages.
//! Bytes in, events out, bytes to write queued in an [`OutBuf`]; no I/O.

mod sealed;

use super::ProtocolError;
use super::command::{Command, Metadata};
use super::frame::{self, FLAG_COMMAND, FLAG_MORE};
use super::greeting::{GREETING_LEN, Greeting};
use super::mechanism::{Cipher, Handshake, NullHandshake, Security, Step, ZapReply, ZapRequest};
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
    /// The security mechanism and role.
    pub security: Security,
    /// The ZAP domain (libzmq `ZMQ_ZAP_DOMAIN`); empty for none.
    pub zap_domain: String,
    /// libzmq `ZMQ_ZAP_ENFORCE_DOMAIN`.
    pub zap_enforce_domain: bool,
}

impl LocalConfig {
    /// A NULL-mechanism configuration with no extra metadata.
    pub fn new(socket_type: SocketType, identity: Bytes, max_msg_size: u64) -> LocalConfig {
        LocalConfig {
            socket_type,
            identity,
            max_msg_size,
            extra_metadata: Vec::new(),
            security: Security::Null,
            zap_domain: String::new(),
            zap_enforce_domain: false,
        }
    }

    /// Whether a server asks ZAP, and if so whether a missing handler fails the handshake
    /// (libzmq's rules: NULL asks only with a domain; PLAIN always, and needs a handler;
    /// CURVE asks unless ZAP_ENFORCE_DOMAIN is set without a domain, and needs a handler
    /// only under ZAP_ENFORCE_DOMAIN).
    fn zap_policy(&self) -> Option<bool> {
        let domain_set = !self.zap_domain.is_empty();
        let enforce = self.zap_enforce_domain;
        match self.security {
            Security::Null => domain_set.then_some(enforce),
            Security::PlainServer => Some(true),
            Security::CurveServer { .. } => (domain_set || !enforce).then_some(enforce),
            Security::PlainClient { .. } | Security::CurveClient { .. } => None,
        }
    }

    fn metadata(&self) -> Metadata {
        let mut meta = Metadata::new();
        meta.insert("Socket-Type", self.socket_type.name());
        if self.socket_type.sends_identity() {
            meta.insert("Identity", self.identity.clone());
        }
        for (name, value) in &self.extra_metadata {
            meta.insert(name, value.clone());
        }
        meta
    }
}

/// What the peer announced in its handshake.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The peer's socket type.
    pub socket_type: SocketType,
    /// The peer's `Identity` property (empty if it sent none).
    pub identity: Bytes,
    /// All properties of the peer's READY (or INITIATE).
    pub metadata: Metadata,
    /// The properties our ZAP handler gave the peer: `User-Id` and the reply's metadata.
    /// They take precedence over the peer's own.
    pub zap_properties: Vec<(Bytes, Bytes)>,
}

/// A ZAP request the connection must put to the context's handler.
#[derive(Debug, PartialEq, Eq)]
pub struct ZapQuery {
    /// The mechanism's request (its credentials).
    pub request: ZapRequest,
    /// Without a handler bound, the handshake fails (otherwise it goes on as accepted).
    pub handler_required: bool,
}

/// Something the peer said.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// The handshake is complete; messages may flow.
    Ready,
    /// The handshake waits for the ZAP handler: answer with [`Protocol::zap_reply`] or
    /// [`Protocol::zap_unavailable`], then poll again.
    Authenticate(ZapQuery),
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
    /// The mechanism's handshake; `awaiting_zap` while the ZAP handler decides.
    Handshake {
        awaiting_zap: bool,
    },
    Active,
}

/// One connection's ZMTP state.
pub struct Protocol {
    local: LocalConfig,
    state: State,
    handshake: Box<dyn Handshake>,
    /// An event to return before reading more: a ZAP query made by the mechanism's start,
    /// or the end of a handshake that a ZAP reply completed.
    pending: Option<Step>,
    /// Boxes every frame once a CURVE handshake is done.
    cipher: Option<Box<dyn Cipher>>,
    /// Properties the ZAP handler gave the peer (`User-Id`, metadata).
    zap_properties: Vec<(Bytes, Bytes)>,
    peer: Option<PeerInfo>,
    peer_minor: u8,
    partial: Parts,
    partial_size: u64,
}

impl Protocol {
    /// Starts a connection: queues our greeting and the mechanism's first commands into `out`
    /// at once (NULL's READY needs no answer first, and sending both saves a round trip).
    pub fn new(local: LocalConfig, out: &mut OutBuf) -> Protocol {
        let greeting = Greeting {
            mechanism: local.security.name().to_vec(),
            as_server: local.security.as_server(),
            ..Greeting::ours()
        };
        out.push_slice(&greeting.encode());
        let metadata = local.metadata();
        let mut handshake: Box<dyn Handshake> = match local.security {
            Security::Null if local.zap_policy().is_some() => Box::new(NullHandshake::with_zap(metadata)),
            _ => local.security.handshake(metadata),
        };
        let mut sends = Vec::new();
        let pending = handshake
            .start(&mut sends)
            .ok()
            .filter(|s| !matches!(s, Step::Continue));
        push_bodies(&sends, out);
        Protocol {
            local,
            state: State::Greeting,
            handshake,
            pending,
            cipher: None,
            zap_properties: Vec::new(),
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

    /// Whether frames are boxed (CURVE): they must then be encoded by this connection, not
    /// by an [`Encoder`] elsewhere.
    pub fn is_sealed(&self) -> bool {
        self.cipher.is_some()
    }

    /// Consumes bytes from `input` until one event is complete or more bytes are needed.
    /// Replies the protocol owes (PONG, ERROR, handshake commands) are queued into `out`.
    /// After an error the connection must be closed (flushing `out` first is polite).
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
                    if greeting.mechanism != self.local.security.name() {
                        push_command(&Command::Error(Bytes::from_static(b"mechanism mismatch")), out);
                        return Err(ProtocolError::MechanismMismatch(
                            String::from_utf8_lossy(&greeting.mechanism).into_owned(),
                        ));
                    }
                    self.peer_minor = greeting.minor;
                    self.state = State::Handshake { awaiting_zap: false };
                }
                State::Handshake { awaiting_zap } => {
                    if let Some(step) = self.pending.take() {
                        if let Some(event) = self.on_step(step, out)? {
                            return Ok(Some(event));
                        }
                        continue;
                    }
                    if awaiting_zap {
                        return Ok(None);
                    }
                    let Some(f) = frame::decode_frame(input, MAX_HANDSHAKE_FRAME)? else {
                        return Ok(None);
                    };
                    if !f.command {
                        return Err(ProtocolError::Handshake("a message arrived before READY"));
                    }
                    let mut sends = Vec::new();
                    let step = self.handshake.on_command(f.body.into_bytes(), &mut sends);
                    push_bodies(&sends, out);
                    if let Some(event) = self.on_step(step?, out)? {
                        return Ok(Some(event));
                    }
                }
                State::Active => return self.poll_active(input, out),
            }
        }
    }

    /// What a handshake step means for the connection.
    fn on_step(&mut self, step: Step, out: &mut OutBuf) -> Result<Option<Event>, ProtocolError> {
        match step {
            Step::Continue => Ok(None),
            Step::Authenticate(request) => match self.local.zap_policy() {
                Some(handler_required) => {
                    self.state = State::Handshake { awaiting_zap: true };
                    Ok(Some(Event::Authenticate(ZapQuery {
                        request,
                        handler_required,
                    })))
                }
                None => {
                    let mut sends = Vec::new();
                    let step = self.handshake.on_zap_reply(&ZapReply::accepted(), &mut sends);
                    push_bodies(&sends, out);
                    self.on_step(step?, out)
                }
            },
            Step::Done(metadata) => {
                self.accept_ready(metadata, out)?;
                self.cipher = self.handshake.cipher();
                self.state = State::Active;
                Ok(Some(Event::Ready))
            }
        }
    }

    /// The ZAP handler's answer to an [`Event::Authenticate`]; poll again afterwards.
    pub fn zap_reply(&mut self, reply: &ZapReply, out: &mut OutBuf) -> Result<(), ProtocolError> {
        if !matches!(self.state, State::Handshake { awaiting_zap: true }) {
            return Err(ProtocolError::Handshake("a ZAP reply nobody asked for"));
        }
        self.state = State::Handshake { awaiting_zap: false };
        let mut sends = Vec::new();
        let step = self.handshake.on_zap_reply(reply, &mut sends);
        push_bodies(&sends, out);
        let step = step?;
        self.zap_properties = reply
            .properties()
            .map(|(name, value)| (Bytes::copy_from_slice(name), value.clone()))
            .collect();
        self.pending = Some(step);
        Ok(())
    }

    /// No ZAP handler is bound for an [`Event::Authenticate`]: the handshake fails if the
    /// query required one (silently, as libzmq's does), and goes on as accepted otherwise.
    pub fn zap_unavailable(&mut self, query: &ZapQuery, out: &mut OutBuf) -> Result<(), ProtocolError> {
        if query.handler_required {
            return Err(ProtocolError::Refused {
                status: 500,
                reason: "no ZAP handler is bound at inproc://zeromq.zap.01".into(),
            });
        }
        self.zap_reply(&ZapReply::accepted(), out)
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
            zap_properties: std::mem::take(&mut self.zap_properties),
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
            let wire_budget = match self.cipher {
                Some(_) => budget.saturating_add(sealed::OVERHEAD as u64),
                None => budget,
            };
            let (command, more, body) = match &mut self.cipher {
                Some(cipher) => {
                    let Some((_, boxed)) = frame::decode_raw(input, wire_budget)? else {
                        return Ok(None);
                    };
                    sealed::open(cipher.as_mut(), boxed, budget)?
                }
                None => {
                    let Some(f) = frame::decode_frame(input, wire_budget)? else {
                        return Ok(None);
                    };
                    (f.command, f.more, f.body)
                }
            };
            if command {
                if let Some(event) = self.on_command(body.into_bytes(), out)? {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.partial.len() >= MAX_FRAMES_PER_MESSAGE {
                return Err(ProtocolError::TooManyFrames {
                    limit: MAX_FRAMES_PER_MESSAGE,
                });
            }
            self.partial_size += body.len() as u64;
            self.partial.push(body);
            if !more {
                self.partial_size = 0;
                return Ok(Some(Event::Message(std::mem::take(&mut self.partial))));
            }
        }
    }

    fn on_command(&mut self, body: Bytes, out: &mut OutBuf) -> Result<Option<Event>, ProtocolError> {
        match Command::decode(body)? {
            Command::Ping { ttl, context } => {
                if out.len() < MAX_OWED_BEFORE_PONG {
                    self.send_command(&Command::Pong(context), out);
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

    /// Encodes one whole message (see [`Encoder::encode_message`]), boxing each frame after
    /// a CURVE handshake.
    pub fn encode_message(&mut self, parts: &[Frame], out: &mut OutBuf) {
        let encoder = self.encoder_unsealed();
        match &mut self.cipher {
            Some(cipher) => encoder.encode_sealed(parts, cipher.as_mut(), out),
            None => encoder.encode_message(parts, out),
        }
    }

    /// Queues a command, boxed after a CURVE handshake.
    pub fn send_command(&mut self, cmd: &Command, out: &mut OutBuf) {
        match &mut self.cipher {
            Some(cipher) => {
                let mut body = BytesMut::new();
                cmd.encode_body(&mut body);
                sealed::push(cipher.as_mut(), FLAG_COMMAND, &body, out);
            }
            None => push_command(cmd, out),
        }
    }

    /// The message encoder for this connection, usable from another thread; `None` when
    /// frames are boxed (only this connection may encode them: the nonces are its own).
    pub fn encoder(&self) -> Option<Encoder> {
        (!self.is_sealed()).then(|| self.encoder_unsealed())
    }

    fn encoder_unsealed(&self) -> Encoder {
        Encoder {
            socket_type: self.local.socket_type,
            peer_minor: self.peer_minor,
        }
    }

    /// Queues a PING (heartbeat) with the given TTL in deciseconds.
    pub fn push_ping(&mut self, ttl: u16, out: &mut OutBuf) {
        let ping = Command::Ping {
            ttl,
            context: Bytes::new(),
        };
        self.send_command(&ping, out);
    }
}

/// Queues command bodies a mechanism produced, each in its command frame.
fn push_bodies(bodies: &[Bytes], out: &mut OutBuf) {
    for body in bodies {
        let staging = out.staging();
        let before = staging.len();
        frame::encode_frame(FLAG_COMMAND, body, staging);
        let n = staging.len() - before;
        out.staged(n);
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
        if let Some(command) = self.subscription_command(parts) {
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

    /// [`Encoder::encode_message`] with every frame boxed by `cipher` (libzmq boxes the
    /// subscription commands too).
    fn encode_sealed(&self, parts: &[Frame], cipher: &mut dyn Cipher, out: &mut OutBuf) {
        if let Some(command) = self.subscription_command(parts) {
            let mut body = BytesMut::new();
            command.encode_body(&mut body);
            return sealed::push(cipher, FLAG_COMMAND, &body, out);
        }
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.iter().enumerate() {
            let flags = if i < last { FLAG_MORE } else { 0 };
            sealed::push(cipher, flags, part, out);
        }
    }

    /// The SUBSCRIBE or CANCEL command a SUB's subscription message becomes for a ZMTP 3.1
    /// peer.
    fn subscription_command(&self, parts: &[Frame]) -> Option<Command> {
        if self.peer_minor < 1 || !matches!(self.socket_type, SocketType::Sub | SocketType::XSub) {
            return None;
        }
        let (subscribe, prefix) = subscription::decode(parts)?;
        let prefix = prefix.into_bytes();
        Some(if subscribe {
            Command::Subscribe(prefix)
        } else {
            Command::Cancel(prefix)
        })
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
mod tests;
