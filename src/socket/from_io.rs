//! What the I/O threads tell a socket without taking its lock: a connection finished its
//! handshake (attach its pipes), or it closed (detach them). The I/O threads queue these
//! commands; the socket applies them on the application side when a call syncs, before it
//! reads the pipes (see `polled`); a spooled socket's spool thread syncs too. Connections
//! whose messages must be checked as they arrive (from a spooled zocket sender) still attach
//! under the lock.
//!
//! The queue is a ypipe whose writing end the I/O threads share behind a mutex that only they
//! take; the socket alone reads it, under its own lock, which the I/O threads do not take for
//! this. A command raises the socket's attention flag (`SocketShared::tell`), which makes the
//! next call sync; `attach.rs` applies the commands.

use crate::message::{Frame, Parts};
use crate::pipe::{ConnId, DirectWrite, PipeId};
use crate::ypipe;
use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// Slots per chunk of the command pipe.
const CHUNK_LEN: usize = 16;

/// A command from an I/O thread to a socket.
pub(crate) enum FromIo {
    Attach(Box<Attach>),
    Detach(Detach),
}

/// A connection finished its handshake: here are its pipes.
pub(crate) struct Attach {
    pub conn: ConnId,
    /// The pipe made at `connect` that this connection serves, if any; otherwise the socket
    /// makes a new one (and the pattern may refuse it).
    pub persistent: Option<PipeId>,
    /// A persistent pipe's connection came back after a reconnect.
    pub reconnection: bool,
    /// The peer's routing id (ROUTER), for a new pipe.
    pub routing_id: Frame,
    /// The peer's handshake properties, for `Message::gets`.
    pub properties: Arc<crate::message::Properties>,
    pub sndhwm: usize,
    pub rcvhwm: usize,
    /// The messages the connection decodes.
    pub inbound: ypipe::Reader<Parts>,
    /// Their bytes in flight, when the pattern bounds them.
    pub in_flight: Option<Arc<AtomicUsize>>,
    /// For a new pipe: the writing end of the connection's outbound pipe.
    pub outbound: Option<ypipe::Writer<crate::pipe::Outgoing>>,
    /// The connection's direct-write path, if it has one.
    pub fast: Option<Arc<dyn DirectWrite>>,
    /// The peer is a spooled zocket sender: each message comes with its sequence number.
    pub sequenced: Option<Sequenced>,
    /// For a spooled socket's pipe of its own: the peer keeps receipts, with this identity.
    pub receiver: Option<crate::options::ReceiverId>,
}

/// A spooled sender's connection (see `socket::sequenced`).
pub(crate) struct Sequenced {
    /// The sender's stream id.
    pub stream: u64,
    /// How many of the connection's sequenced messages the application took (or that were
    /// duplicates): raised by the socket, acknowledged by the connection.
    pub handled: Arc<crate::pipe::AckShare>,
}

/// A connection closed: nothing more will come on its inbound pipe but `leftover`, what it
/// decoded and could not write there.
pub(crate) struct Detach {
    pub conn: ConnId,
    pub persistent: Option<PipeId>,
    pub leftover: VecDeque<Parts>,
    /// For a pipe of its own, its outbound reading end, with what it did not take.
    pub unsent: Option<Box<ypipe::Reader<crate::pipe::Outgoing>>>,
}

/// The I/O threads' end of a socket's command queue.
pub(crate) struct FromIoSender {
    writer: Mutex<ypipe::Writer<FromIo, CHUNK_LEN>>,
}

/// The socket's end.
pub(crate) type FromIoReader = ypipe::Reader<FromIo, CHUNK_LEN>;

/// A new command queue.
pub(crate) fn queue() -> (FromIoSender, FromIoReader) {
    let (writer, reader) = ypipe::with_chunk_len(0); // commands are never refused
    let sender = FromIoSender {
        writer: Mutex::new(writer),
    };
    (sender, reader)
}

impl FromIoSender {
    /// Queues `command` (never refused: the queue has no high-water mark).
    pub fn push(&self, command: FromIo) {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writer.write(command, false);
        let _ = writer.flush();
    }
}
