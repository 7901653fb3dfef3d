//! Handing decoded messages to the socket: straight into a lock-free pipe that the socket
//! reads when it syncs (the usual case), or under the socket's lock through the pattern from a
//! spooled zocket sender, whose messages must be checked as they arrive (duplicates, and the
//! positions its acknowledgements count). A publisher's subscriptions take the lock-free
//! pipe, with the bytes in flight bounded here (`Pattern::incoming_byte_bound`) and the
//! per-peer bound applied by the socket as it reads them.

use super::*;
use crate::sync::Ordering;
use crate::ypipe::{self, Wake};
use crate::zmtp::subscription::subscribed_bytes;
use std::sync::atomic::AtomicUsize;

/// The connection's half of a lock-free inbound pipe (see [`crate::pipe::WireRx`]).
pub(super) struct DirectIn {
    tx: ypipe::Writer<Parts>,
    /// The bytes taken and not yet read by the socket, and their bound, when the pattern
    /// bounds them (`Pattern::incoming_byte_bound`).
    in_flight: Option<(Arc<AtomicUsize>, usize)>,
}

impl DirectIn {
    pub(super) fn new(tx: ypipe::Writer<Parts>, in_flight: Option<(Arc<AtomicUsize>, usize)>) -> Self {
        DirectIn { tx, in_flight }
    }

    /// Publishes what was written (the connection is going: the socket is told next).
    pub(super) fn flush(&mut self) {
        let _ = self.tx.flush();
    }
}

impl Connection {
    /// Takes one decoded message: written straight to the socket's pipe when that pipe is
    /// lock-free and has room, else queued for [`Connection::deliver`]. Fails when the peer
    /// goes past the bytes the pattern lets it have in flight.
    pub(super) fn take_message(&mut self, tag: Option<(u64, u64)>, msg: Parts) -> Result<(), CloseReason> {
        let Some(direct) = &mut self.direct else {
            self.pending_in.push_back((tag, msg));
            return Ok(());
        };
        if let Some((count, bound)) = &direct.in_flight {
            let len = subscribed_bytes(&msg);
            if len > 0 && count.fetch_add(len, Ordering::Relaxed) + len > *bound {
                return Err(format!(
                    "more than {bound} bytes of subscriptions waiting for the socket to apply"
                ));
            }
        }
        if !self.pending_in.is_empty() {
            self.pending_in.push_back((tag, msg));
        } else if let Err(msg) = direct.tx.write(msg, false) {
            self.pending_in.push_back((tag, msg));
            self.paused = true;
        }
        Ok(())
    }

    /// Hands what was decoded to the socket: publishes the lock-free pipe's new messages
    /// (waking the socket if it slept on it), or delivers under the lock.
    pub(super) fn deliver(&mut self, wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        let Some(direct) = &mut self.direct else {
            return self.deliver_locked(wakes);
        };
        while let Some((tag, msg)) = self.pending_in.pop_front() {
            if let Err(msg) = direct.tx.write(msg, false) {
                self.pending_in.push_front((tag, msg));
                self.paused = true;
                break;
            }
        }
        if direct.tx.flush() == Wake::Reader
            && let Some(attention) = &self.attention
        {
            self.socket.announce(attention);
        }
        Ok(())
    }

    /// Hands decoded messages to the pattern; pauses reading when the pipe is full. Messages
    /// from a spooled zocket sender are checked against duplicates and their positions kept,
    /// so that the application's reads can be acknowledged. Fails when the sender's stream
    /// goes past what the receiver remembers (see `Dedup`).
    fn deliver_locked(&mut self, wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        let Some(id) = self.pipe else { return Ok(()) };
        if self.pending_in.is_empty() {
            return Ok(());
        }
        let mut failure = None;
        let mut guard = self.socket.lock_io(wakes);
        let st = &mut *guard;
        while let Some((tag, msg)) = self.pending_in.pop_front() {
            let sequenced = self.rx_acks.stream.zip(tag);
            if let Some((stream, (seq, _))) = sequenced
                && st.dedup.is_duplicate(stream, seq)
            {
                self.rx_acks.position += 1;
                ghost(st.pipes.get_mut(id), self.rx_acks.position);
                continue;
            }
            let queued_before = st.pipes.get(id).map_or(0, |p| p.inbound.len());
            if let Err(msg) = st.pattern.incoming(id, msg, &mut st.pipes) {
                self.pending_in.push_front((tag, msg));
                self.paused = true;
                if let Some(pipe) = st.pipes.get_mut(id) {
                    pipe.read_paused = true;
                }
                break;
            }
            if let Some(reason) = st.pipes.get(id).and_then(|p| p.refused) {
                failure = Some(reason.to_string());
                break;
            }
            if let Some((stream, (seq, low))) = sequenced {
                self.rx_acks.position += 1;
                let position = self.rx_acks.position;
                if let Err(e) = st.dedup.accept(stream, seq, low) {
                    failure = Some(e.to_string());
                }
                let pipe = st.pipes.get_mut(id);
                match pipe {
                    Some(p) if p.inbound.len() > queued_before => {
                        if let Some(rx) = &mut p.rx {
                            rx.positions.push_back((rx.generation, position, seq));
                        }
                    }
                    other => ghost(other, position), // the pattern dropped it: counts as handled
                }
                if failure.is_some() {
                    break;
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// A sequenced message that will never be read (a duplicate, or dropped by the pattern):
/// it counts as delivered once everything queued before it is.
fn ghost(pipe: Option<&mut crate::pipe::Pipe>, position: u64) {
    let Some(pipe) = pipe else { return };
    let empty = pipe.inbound.is_empty();
    if let Some(rx) = &mut pipe.rx {
        rx.ghost_upto = position;
        if empty {
            rx.delivered = rx.delivered.max(position);
        }
    }
}
