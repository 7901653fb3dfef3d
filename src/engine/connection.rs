//! One connection on the I/O thread: a stream, its protocol state, its buffers, and the pipe
//! it feeds once the handshake is done.

use crate::core::SocketShared;
use crate::message::Parts;
use crate::pipe::{IoWake, PipeId};
use crate::transport::Stream;
use crate::zmtp::outbuf::OutBuf;
use crate::zmtp::protocol::{Event, LocalConfig, Protocol};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Instant;

/// Refill the write buffer from the pipe when it holds less than this.
const REFILL_BELOW: usize = 64 * 1024;
/// Stop moving messages from the pipe into the write buffer beyond this.
const REFILL_UP_TO: usize = 256 * 1024;
/// At most this many buffers in one vectored write.
const MAX_IOVECS: usize = 64;

/// Where a connection came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    Listener(mio::Token),
    Connector(u64),
}

/// How a connection is attached to its socket once the handshake completes.
pub(super) struct Attachment {
    /// A pipe created at `connect` that this connection serves (kept across reconnects).
    pub persistent_pipe: Option<PipeId>,
    /// This connection replaces an earlier one of the same connector.
    pub reconnection: bool,
    /// The routing id to give the peer (CONNECT_ROUTING_ID), instead of its own identity.
    pub routing_id: Option<Bytes>,
}

pub(super) struct Connection {
    pub token: mio::Token,
    pub socket: Arc<SocketShared>,
    pub origin: Origin,
    pub stream: Stream,
    /// A non-blocking connect is still in progress.
    pub connecting: bool,
    pub handshake_deadline: Option<Instant>,
    proto: Protocol,
    inbuf: BytesMut,
    out: OutBuf,
    pipe: Option<PipeId>,
    attachment: Attachment,
    /// Decoded messages the pipe had no room for yet.
    pending_in: VecDeque<Parts>,
    /// Reading stopped because the pipe's inbound queue is full.
    paused: bool,
}

/// Why a connection must close.
pub(super) type CloseReason = String;

impl Connection {
    pub fn new(
        token: mio::Token,
        socket: Arc<SocketShared>,
        origin: Origin,
        stream: Stream,
        connecting: bool,
        attachment: Attachment,
    ) -> Connection {
        let (local, handshake_ivl) = {
            let st = socket.lock();
            let local = LocalConfig {
                socket_type: socket.socket_type,
                identity: st.opts.routing_id.clone(),
                max_msg_size: st.opts.max_msg_size.unwrap_or(crate::options::UNLIMITED_MSG_SIZE),
                extra_metadata: Vec::new(),
            };
            (local, st.opts.handshake_ivl)
        };
        let mut out = OutBuf::new();
        let proto = Protocol::new(local, &mut out);
        Connection {
            token,
            socket,
            origin,
            stream,
            connecting,
            handshake_deadline: handshake_ivl.map(|d| Instant::now() + d),
            proto,
            inbuf: BytesMut::with_capacity(8192),
            out,
            pipe: None,
            attachment,
            pending_in: VecDeque::new(),
            paused: false,
        }
    }

    /// Handles readiness: completes a pending connect, reads, then writes.
    pub fn on_event(&mut self, scratch: &mut [u8], wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        if self.connecting {
            match self.stream.finish_connect() {
                Ok(true) => self.connecting = false,
                Ok(false) => return Ok(()),
                Err(e) => return Err(format!("connect failed: {e}")),
            }
        }
        self.read(scratch, wakes)?;
        self.write()
    }

    /// The application made room in the inbound queue: deliver what waited, read on.
    pub fn resume(&mut self, scratch: &mut [u8], wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        self.paused = false;
        self.deliver(wakes);
        self.read(scratch, wakes)?;
        self.write()
    }

    fn read(&mut self, scratch: &mut [u8], wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        if self.connecting {
            return Ok(());
        }
        loop {
            if self.paused {
                return Ok(());
            }
            match self.stream.read(scratch) {
                Ok(0) => return Err("peer closed the connection".into()),
                Ok(n) => self.inbuf.extend_from_slice(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read failed: {e}")),
            }
            self.decode(wakes)?;
        }
    }

    fn decode(&mut self, wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        loop {
            match self.proto.poll(&mut self.inbuf, &mut self.out) {
                Ok(Some(Event::Ready)) => self.on_handshake(wakes)?,
                Ok(Some(Event::Message(msg))) => self.pending_in.push_back(msg),
                Ok(None) => break,
                Err(e) => {
                    self.deliver(wakes);
                    let _ = self.write(); // flush an ERROR command if one was queued
                    return Err(e.to_string());
                }
            }
        }
        self.deliver(wakes);
        Ok(())
    }

    fn on_handshake(&mut self, wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        self.handshake_deadline = None;
        let peer_identity = self.proto.peer().map(|p| p.identity.clone()).unwrap_or_default();
        let mut guard = self.socket.lock();
        let st = &mut *guard;
        let id = match self.attachment.persistent_pipe {
            Some(id) => {
                let Some(pipe) = st.pipes.get_mut(id) else {
                    return Err("the connection's pipe is gone".into());
                };
                pipe.conn = Some(self.token.0);
                pipe.io_idle = false;
                pipe.read_paused = false;
                if self.attachment.reconnection {
                    st.pattern.reconnected(id, &mut st.pipes);
                }
                id
            }
            None => {
                let mut pipe = st.new_pipe();
                pipe.routing_id = self.attachment.routing_id.clone().unwrap_or(peer_identity);
                pipe.conn = Some(self.token.0);
                pipe.io_idle = false;
                st.attach_pipe(pipe).ok_or_else(|| {
                    "refused by the socket (PAIR already paired, or routing id in use)".to_string()
                })?
            }
        };
        self.pipe = Some(id);
        wakes.extend(st.take_wakes());
        drop(guard);
        self.socket.notify();
        Ok(())
    }

    /// Hands decoded messages to the pattern; pauses reading when the pipe is full.
    fn deliver(&mut self, wakes: &mut Vec<IoWake>) {
        let Some(id) = self.pipe else { return };
        if self.pending_in.is_empty() {
            return;
        }
        let mut guard = self.socket.lock();
        let st = &mut *guard;
        while let Some(msg) = self.pending_in.pop_front() {
            if let Err(msg) = st.pattern.incoming(id, msg, &mut st.pipes) {
                self.pending_in.push_front(msg);
                self.paused = true;
                if let Some(pipe) = st.pipes.get_mut(id) {
                    pipe.read_paused = true;
                }
                break;
            }
        }
        wakes.extend(st.take_wakes());
        drop(guard);
        self.socket.notify();
    }

    /// Writes as much as the socket takes, refilling from the pipe as the buffer drains.
    pub fn write(&mut self) -> Result<(), CloseReason> {
        if self.connecting {
            return Ok(());
        }
        loop {
            if self.out.len() < REFILL_BELOW {
                self.refill();
            }
            if self.out.is_empty() {
                return Ok(());
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = self.out.io_slices(&mut slices);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err("write returned zero".into()),
                Ok(written) => self.out.advance(written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write failed: {e}")),
            }
        }
    }

    /// Moves queued messages from the pipe into the write buffer, encoding them.
    fn refill(&mut self) {
        let Some(id) = self.pipe else { return };
        let mut guard = self.socket.lock();
        let Some(pipe) = guard.pipes.get_mut(id) else {
            return;
        };
        let was_full = !pipe.detached && !pipe.can_write();
        let mut moved = false;
        while self.out.len() < REFILL_UP_TO {
            let Some(msg) = pipe.outbound.pop_front() else {
                break;
            };
            self.proto.encode_message(&msg, &mut self.out);
            moved = true;
        }
        pipe.io_idle = pipe.outbound.is_empty();
        drop(guard);
        if moved && was_full {
            self.socket.notify();
        }
    }

    /// Whether nothing is left to send: the write buffer and the pipe's queue are empty.
    pub fn is_flushed(&self) -> bool {
        if !self.out.is_empty() {
            return false;
        }
        let Some(id) = self.pipe.or(self.attachment.persistent_pipe) else {
            return true;
        };
        let st = self.socket.lock();
        st.pipes.get(id).is_none_or(|p| p.outbound.is_empty())
    }

    /// Detaches from the pipe as the connection closes. Messages already decoded are still
    /// delivered; a persistent pipe keeps its queue for the next connection.
    pub fn release(&mut self) {
        let Some(id) = self.pipe.take() else { return };
        let mut guard = self.socket.lock();
        let st = &mut *guard;
        if let Some(pipe) = st.pipes.get_mut(id) {
            pipe.inbound.extend(self.pending_in.drain(..));
        }
        if self.attachment.persistent_pipe == Some(id) {
            if let Some(pipe) = st.pipes.get_mut(id) {
                pipe.conn = None;
                pipe.io_idle = true;
                pipe.read_paused = false;
            }
        } else {
            st.detach_pipe(id);
        }
        drop(guard);
        self.socket.notify();
    }
}
