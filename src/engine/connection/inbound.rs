//! Handing decoded messages to the socket: straight into a lock-free pipe that the socket
//! reads when it syncs. A spooled zocket sender's messages each carry their sequence number
//! in a last frame (`pipe::tag_frame`), which the socket strips as it checks them against
//! duplicates. A publisher's subscriptions take the same pipe, with the bytes in flight
//! bounded here (`Pattern::incoming_byte_bound`) and the per-peer bound applied by the
//! socket as it reads them.

use super::*;
use crate::pipe::tag_frame;
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
    /// Takes one decoded message: written straight to the socket's pipe when it has room,
    /// else queued for [`Connection::deliver`]. Fails when the peer goes past the bytes the
    /// pattern lets it have in flight.
    pub(super) fn take_message(&mut self, mut msg: Parts) -> Result<(), CloseReason> {
        let tag = self.rx_acks.take_tag();
        if tag.is_some() {
            self.rx_acks.start_timer();
        }
        if self.rx_acks.stream.is_some() {
            msg.push(tag_frame(tag)); // last: no frame moves for it, here or where it goes
        }
        let Some(direct) = &mut self.direct else {
            self.pending_in.push_back(msg);
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
        if self.config.conflate && self.rx_acks.stream.is_none() {
            // CONFLATE: never stop reading; past the pipe's room, a new message replaces
            // the one waiting (the socket keeps only the newest it has).
            if let Err(msg) = direct.tx.write(msg, false) {
                self.pending_in.clear();
                self.pending_in.push_back(msg);
            }
            return Ok(());
        }
        if !self.pending_in.is_empty() {
            self.pending_in.push_back(msg);
        } else if let Err(msg) = direct.tx.write(msg, false) {
            self.pending_in.push_back(msg);
            self.paused = true;
        }
        Ok(())
    }

    /// Hands what was decoded to the socket: publishes the pipe's new messages, waking the
    /// socket if it slept on it.
    pub(super) fn deliver(&mut self) {
        // Counted before the socket can see them: `stats` never lags what was received.
        if self.uncounted_in.0 > 0 {
            let (messages, bytes) = std::mem::take(&mut self.uncounted_in);
            if let Some(counters) = &self.counters {
                counters.add_in(messages, bytes);
            }
        }
        let Some(direct) = &mut self.direct else {
            return;
        };
        while let Some(msg) = self.pending_in.pop_front() {
            if let Err(msg) = direct.tx.write(msg, false) {
                self.pending_in.push_front(msg);
                // A conflating connection reads on (the newest replaces what waits).
                self.paused = !self.config.conflate || self.rx_acks.stream.is_some();
                break;
            }
        }
        if direct.tx.flush() == Wake::Reader
            && let Some(attention) = &self.attention
        {
            self.socket.announce(attention);
        }
    }
}
