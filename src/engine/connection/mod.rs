//! One connection on the I/O thread: a stream, its protocol state, its buffers, and the pipe
//! it feeds once the handshake is done. Writing is in `write.rs`, closing in `close.rs`.

mod attach;
mod auth;
mod close;
mod events;
pub(super) use events::EINPROGRESS;
mod inbound;
mod write;

use super::acks::{
    PROP_ACK, PROP_RECEIPTS, PROP_STREAM, ReceiverAcks, ReceiverId, SenderAcks, parse_stream_id,
};
use super::config::ConnConfig;
use super::fast_path::FastPath;
use super::heartbeat::{Due, Heartbeat};
use crate::message::Parts;
use crate::pipe::{IoWake, Outgoing, PipeId};
use crate::socket::shared::SocketShared;
use crate::sync::AtomicBool;
use crate::transport::Stream;
use crate::ypipe;
use crate::zmtp::command::Command;
use crate::zmtp::outbuf::OutBuf;
use crate::zmtp::protocol::{Event, Protocol};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Instant;

/// Refill the write buffer from the pipe when it holds less than this.
const REFILL_BELOW: usize = 64 * 1024;
/// Stop moving messages from the pipe into the write buffer beyond this.
const REFILL_UP_TO: usize = 256 * 1024;
/// Read buffer reservations range between these sizes (see `Connection::read_chunk`).
const READ_CHUNK_MIN: usize = 64 * 1024;
const READ_CHUNK_MAX: usize = 1024 * 1024;
/// At most this many buffers in one vectored write.
const MAX_IOVECS: usize = 64;
/// Messages decoded for the socket's lock before they are handed over (from a spooled
/// zocket sender), so that a full pipe stops the decoding early.
const DELIVER_BATCH: usize = 256;

/// Where a connection came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// Accepted by the listener bound at this endpoint (on any of the context's threads).
    Listener(std::sync::Arc<str>),
    /// Opened by this thread's connector with this id, for this endpoint.
    Connector(u64, std::sync::Arc<str>),
}

impl Origin {
    /// The socket's endpoint the connection belongs to.
    pub fn endpoint(&self) -> &std::sync::Arc<str> {
        match self {
            Origin::Listener(endpoint) | Origin::Connector(_, endpoint) => endpoint,
        }
    }
}

/// Why a connection ended, when a monitor reports more than a disconnection.
pub(super) enum Ending {
    /// The peer broke the protocol; during the handshake, the event that reports it.
    Protocol(Option<(crate::SocketEvent, u32)>),
    HandshakeTimeout,
    HeartbeatTimeout,
}

/// How a connection is attached to its socket once the handshake completes.
pub(super) struct Attachment {
    /// A pipe created at `connect` that this connection serves (kept across reconnects).
    pub persistent_pipe: Option<PipeId>,
    /// This connection replaces an earlier one of the same connector.
    pub reconnection: bool,
    /// The routing id to give the peer (CONNECT_ROUTING_ID), instead of its own identity.
    pub routing_id: Option<Bytes>,
    /// The persistent pipe's outbound reading end, lent by the connector (see
    /// [`Connection::take_out_reader`]).
    pub out_reader: Option<Box<ypipe::Reader<Outgoing>>>,
    /// Spooled messages an earlier connection of the connector sent and its peer did not
    /// confirm: sent first, before anything newer in the pipe, so that a receiver gets each
    /// stream in order (receipts are high-water marks). Given back as the connection goes.
    pub resend: VecDeque<Outgoing>,
}

pub(super) struct Connection {
    /// The id pipes and wake-ups know this connection by (token and thread).
    id: crate::pipe::ConnId,
    pub socket: Arc<SocketShared>,
    /// The socket's options when it bound or connected (see `ConnConfig`).
    config: Arc<ConnConfig>,
    pub origin: Origin,
    /// The socket's endpoint this connection belongs to (bound, or given to `connect`).
    pub endpoint: Arc<str>,
    /// The peer as monitors and logs name it (its address once known, its routing id after
    /// the handshake).
    pub peer: crate::Peer,
    /// Why it ended, when that is more than a disconnection.
    ending: Option<Ending>,
    /// What it moved, in the socket's counters (from the handshake on).
    counters: Option<Arc<crate::monitor::PeerCounters>>,
    /// Messages and bytes decoded and not yet added to the counters (added as they are
    /// handed to the socket).
    uncounted_in: (u64, u64),
    pub stream: Stream,
    /// A non-blocking connect is still in progress.
    pub connecting: bool,
    /// When the socket closed and everything was written, this connection shut down its
    /// writing half at this moment; it now reads and drops input until the peer's
    /// end-of-stream (see [`Connection::half_close`]).
    pub half_closed_at: Option<Instant>,
    pub handshake_deadline: Option<Instant>,
    /// While connecting: when the attempt is abandoned (CONNECT_TIMEOUT).
    connect_deadline: Option<Instant>,
    proto: Protocol,
    inbuf: BytesMut,
    out: OutBuf,
    /// Attached without the socket's lock: the socket knows this connection by its id.
    attached_direct: bool,
    attachment: Attachment,
    /// Decoded messages the pipe had no room for yet.
    pending_in: VecDeque<Parts>,
    /// The lock-free inbound pipe to the socket, when the socket needs no look at messages
    /// as they arrive.
    direct: Option<inbound::DirectIn>,
    /// Reading stopped because the pipe's inbound queue is full.
    paused: bool,
    /// Bytes of this connection written to the kernel so far.
    written: u64,
    tx_acks: SenderAcks,
    rx_acks: ReceiverAcks,
    /// The lock-free outbound pipe from the socket, when it has one (see `Pipe::wire_out`).
    out_rx: Option<ypipe::Reader<Outgoing>>,
    /// The socket's flag that its pipes need a look, raised with a wake-up when the inbound
    /// pipe gets data the socket slept on, or draining the outbound pipe made room for a
    /// waiting sender (set at the handshake).
    attention: Option<Arc<AtomicBool>>,
    /// The application's direct-write path, shared with the pipe.
    fast: Option<Arc<FastPath>>,
    heartbeat: Heartbeat,
    /// The handshake's ZAP question, until it is answered.
    zap: Option<auth::ZapWait>,
    /// How much buffer a read reserves: grows while reads fill it (a stream), shrinks when
    /// they do not (request/reply), so streams get few, large allocations (far fewer page
    /// faults: 64 KiB messages went from ~1.5 faults per message to ~0.1) and idle
    /// connections stay small.
    read_chunk: usize,
}

/// Why a connection must close.
pub(super) type CloseReason = String;

impl Connection {
    pub fn new(
        id: crate::pipe::ConnId,
        socket: Arc<SocketShared>,
        config: Arc<ConnConfig>,
        origin: Origin,
        stream: Stream,
        connecting: bool,
        attachment: Attachment,
    ) -> Connection {
        let mut out = OutBuf::new();
        let proto = Protocol::new(config.local.clone(), &mut out);
        let handshake_deadline = crate::deadline::from_now(config.handshake_ivl);
        let connect_deadline = config
            .connect_timeout
            .filter(|_| connecting)
            .and_then(|t| crate::deadline::from_now(Some(t)));
        let peer = crate::Peer {
            address: if connecting { None } else { stream.peer_endpoint() },
            routing_id: None,
        };
        Connection {
            id,
            socket,
            config,
            endpoint: Arc::clone(origin.endpoint()),
            origin,
            peer,
            ending: None,
            counters: None,
            uncounted_in: (0, 0),
            stream,
            connecting,
            half_closed_at: None,
            handshake_deadline,
            connect_deadline,
            proto,
            inbuf: BytesMut::with_capacity(8192),
            out,
            attached_direct: false,
            attachment,
            pending_in: VecDeque::new(),
            direct: None,
            paused: false,
            written: 0,
            tx_acks: SenderAcks::default(),
            rx_acks: ReceiverAcks::default(),
            out_rx: None,
            attention: None,
            fast: None,
            heartbeat: Heartbeat::default(),
            zap: None,
            read_chunk: READ_CHUNK_MIN,
        }
    }

    /// Handles readiness: completes a pending connect, reads, then writes. Unless `drain` is
    /// set, a read that returns less than it asked for ends the reading: the socket is empty,
    /// and (edge-triggered) any later data or end-of-stream raises a new event.
    pub fn on_event(&mut self, drain: bool) -> Result<(), CloseReason> {
        if self.connecting {
            match self.stream.finish_connect() {
                Ok(true) => self.on_connected(),
                Ok(false) => return Ok(()),
                Err(e) => return Err(format!("connect failed: {e}")),
            }
        }
        self.read(drain)?;
        self.write()
    }

    /// Grows the read reservation while full reads carry large messages (at least 16 KiB
    /// each on average), shrinks it otherwise. Small messages keep 64 KiB chunks: each
    /// frame keeps its chunk alive, and large chunks pinned by a few small frames would cost
    /// memory (1 MiB chunks took a 1-byte stream's receiver from 9 to 74 MB).
    fn adapt_read_chunk(&mut self, read: usize, asked: usize, messages: usize) {
        let large = read >= messages.max(1) * 16 * 1024;
        if read == asked && large {
            self.read_chunk = (self.read_chunk * 2).min(READ_CHUNK_MAX);
        } else if read < asked / 4 || !large {
            self.read_chunk = (self.read_chunk / 2).max(READ_CHUNK_MIN);
        }
    }

    /// When this connection's timers (handshake, heartbeats) next need attention.
    pub fn timer_deadline(&self) -> Option<Instant> {
        let connect = self.connect_deadline.filter(|_| self.connecting);
        [
            self.handshake_deadline,
            self.heartbeat.deadline(),
            connect,
            self.rx_acks.timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers that are due: fails the connection when the handshake or the peer's
    /// heartbeats took too long, sends a PING when one is due, and the acknowledgement the
    /// application's reads owe a spooled sender.
    pub fn on_timer(&mut self, now: Instant) -> Result<(), CloseReason> {
        if self.rx_acks.timer_fired(now) {
            self.write()?; // its refill sends the ZACK
        }
        if self.connecting && self.connect_deadline.is_some_and(|d| d <= now) {
            return Err("connect timed out".into());
        }
        if self.handshake_deadline.is_some_and(|d| d <= now) {
            self.ending = Some(Ending::HandshakeTimeout);
            return Err("handshake timed out".into());
        }
        match self.heartbeat.poll(now) {
            Due::Nothing => Ok(()),
            Due::Expired => {
                self.ending = Some(Ending::HeartbeatTimeout);
                Err("heartbeat timed out: nothing from the peer".into())
            }
            Due::Ping(ttl) => {
                self.proto.push_ping(ttl, &mut self.out);
                self.write()
            }
        }
    }

    /// The application made room in the inbound queue: deliver what waited, read on.
    pub fn resume(&mut self) -> Result<(), CloseReason> {
        self.paused = false;
        self.deliver();
        if !self.paused {
            self.decode()?;
        }
        self.read(true)?;
        self.write()
    }

    fn read(&mut self, drain: bool) -> Result<(), CloseReason> {
        if self.connecting {
            return Ok(());
        }
        if self.half_closed_at.is_some() {
            return self.discard_input();
        }
        loop {
            if self.paused {
                return Ok(());
            }
            let (read, asked) = match self.stream.read_into(&mut self.inbuf, self.read_chunk) {
                Ok((0, _)) => return Err("peer closed the connection".into()),
                Ok(counts) => {
                    self.heartbeat.on_traffic();
                    counts
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read failed: {e}")),
            };
            let messages = self.decode()?;
            if !self.paused {
                self.adapt_read_chunk(read, asked, messages);
            }
            if read < asked && !drain {
                return Ok(());
            }
        }
    }

    /// Decodes what was read; returns how many messages it held.
    fn decode(&mut self) -> Result<usize, CloseReason> {
        let mut messages = 0;
        loop {
            match self.proto.poll(&mut self.inbuf, &mut self.out) {
                Ok(Some(Event::Ready)) => self.on_handshake()?,
                Ok(Some(Event::Message(msg))) => {
                    messages += 1;
                    self.uncounted_in.0 += 1;
                    self.uncounted_in.1 += msg.iter().map(|f| f.len() as u64).sum::<u64>();
                    self.take_message(msg)?;
                    if self.pending_in.len() >= DELIVER_BATCH {
                        self.deliver();
                    }
                    if self.paused {
                        // The rest stays encoded in the read buffer (a few bytes a message)
                        // until the application makes room.
                        break;
                    }
                }
                Ok(Some(Event::Authenticate(query))) => {
                    // The reactor puts it to the ZAP client; the answer resumes decoding.
                    self.zap = Some(auth::ZapWait { query, ticket: None });
                    break;
                }
                Ok(Some(Event::Seq { seq, low })) => self.rx_acks.announced(seq, low),
                Ok(Some(Event::PeerTtl(ttl))) => self.heartbeat.on_peer_ttl(ttl, Instant::now()),
                Ok(Some(Event::Ack(count))) => {
                    let mut confirmed = Vec::new();
                    self.tx_acks.peer_confirmed(count, &mut confirmed);
                    self.confirm(&confirmed);
                }
                Ok(None) => break,
                Err(e) => {
                    self.deliver();
                    if !self.proto.is_active() {
                        return Err(self.fail_handshake(e));
                    }
                    let _ = self.write(); // flush an ERROR command if one was queued
                    self.ending = Some(Ending::Protocol(None));
                    return Err(e.to_string());
                }
            }
        }
        self.deliver();
        Ok(messages)
    }
}
