//! What a pipe reads from its TCP and IPC connections: each connection's lock-free inbound
//! pipe, and a spooled sender's position in it.

use super::ConnId;
use crate::message::Parts;
use crate::ypipe;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// A spooled sender's connection, as its pipe's reader sees it.
pub(crate) struct WireSeq {
    pub stream: u64,
    /// Sequenced messages read from this connection so far (what its ZACK counts).
    pub position: u64,
    /// The pipe's acknowledgement generation this connection counts in (`RxAcks`).
    pub generation: u64,
    /// The sender's acknowledged mark as last noted from this connection: it changes once
    /// per acknowledgement, not per message.
    pub noted_low: u64,
    /// Its stream went past the receiver's bounds: the connection is being closed, and what
    /// it still sends is dropped unread.
    pub refused: bool,
}

/// The receiving half of a connection's lock-free inbound pipe: the connection writes decoded
/// messages into it on the I/O thread; the socket moves them into [`Pipe::inbound`] when it
/// syncs, through the pattern if it filters. Used unless something must look at messages as
/// they arrive (the duplicate check for a spooled zocket sender).
pub(crate) struct WireRx {
    pub rx: ypipe::Reader<Parts>,
    /// The connection writing it, to resume when it stopped on a full pipe.
    pub conn: ConnId,
    /// The connection closed: once the pipe reads empty, `tail` is all that is left.
    pub closed: bool,
    /// What the connection decoded but could not write before it closed: read after the pipe.
    pub tail: VecDeque<Parts>,
    /// A message read that the pattern could not take yet (its queue was full).
    pub held: Option<Parts>,
    /// Bytes of subscriptions written by the connection and not yet read, when the pattern
    /// bounds them (see `Pattern::incoming_byte_bound`): the socket subtracts what it reads.
    pub in_flight: Option<Arc<AtomicUsize>>,
    /// The peer is a spooled zocket sender: each message ends with its tag frame.
    pub sequenced: Option<WireSeq>,
}
