//! The writing side of a connection: refilling the write buffer from the pipe (and the
//! spool), writing it, and confirming spooled deliveries.

use super::*;
use crate::ypipe::{Read, Wake};

impl Connection {
    /// Confirms spooled deliveries: handed to the socket's spool thread, which acknowledges
    /// the spool (disk work) and refills the pipes.
    pub(super) fn confirm(&self, confirmed: &[u64]) {
        if confirmed.is_empty() {
            return;
        }
        // Handed to the socket's spool thread: the acknowledgement and its sync are disk work.
        if let Some(spool) = &self.config.spool {
            spool.confirm(confirmed);
        }
    }

    /// Writes as much as the socket takes, refilling from the pipe as the buffer drains.
    pub fn write(&mut self) -> Result<(), CloseReason> {
        if self.connecting || self.half_closed_at.is_some() {
            return Ok(());
        }
        if let Some(fast) = &self.fast {
            fast.claim(&mut self.out);
        }
        let result = loop {
            if self.out.len() < REFILL_BELOW {
                self.refill();
            }
            if self.out.is_empty() {
                break Ok(());
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = self.out.io_slices(&mut slices);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => break Err("write returned zero".into()),
                Ok(written) => {
                    self.out.advance(written);
                    self.written += written as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(format!("write failed: {e}")),
            }
        };
        if self.out.is_empty()
            && let (Some(fast), Some(rx)) = (&self.fast, &mut self.out_rx)
        {
            fast.release_if_drained(rx); // nothing pending: the sending thread may write
        }
        if !self.tx_acks.by_peer {
            let mut confirmed = Vec::new();
            self.tx_acks.written(self.written, &mut confirmed);
            self.confirm(&confirmed);
        }
        result
    }

    /// Encodes messages from the lock-free outbound pipe until the buffer is full or the
    /// pipe is empty (its reader is then asleep: the socket's next flush wakes us), each
    /// spooled one tagged with its sequence number for a peer that acknowledges. Draining it
    /// to the low-water mark wakes a sender waiting for room, and a spooled socket's spool
    /// thread routes more. First sends the acknowledgement the application's reads owe a
    /// spooled sender.
    fn refill(&mut self) {
        if let Some(count) = self.rx_acks.due() {
            self.proto.send_command(&Command::Ack(count), &mut self.out);
        }
        let Some(rx) = &mut self.out_rx else { return };
        let spool = self.config.spool.as_ref();
        let low = spool.map_or(0, |s| s.low_water());
        let mut room_made = false;
        // The writer's progress is fetched once per refill (once per write to the stream):
        // fetching it per message would move its cache line between the cores per message.
        let mut fetched = false;
        let (mut messages, mut bytes) = (0, 0);
        while self.out.len() < REFILL_UP_TO {
            let (seq, msg) = match self.attachment.resend.pop_front() {
                Some(again) => again,
                None if !rx.has_known() && std::mem::replace(&mut fetched, true) => break,
                None => match rx.read() {
                    Read::Frame { item, wake, .. } => {
                        room_made |= wake == Wake::Writer;
                        item
                    }
                    Read::Empty | Read::Closed => break,
                },
            };
            if self.tx_acks.by_peer
                && let Some(announce) = self.tx_acks.announce(seq, low)
            {
                self.proto.send_command(&announce, &mut self.out);
            }
            self.proto.encode_message(&msg, &mut self.out);
            messages += 1;
            bytes += msg.iter().map(|f| f.len() as u64).sum::<u64>();
            if seq != 0 {
                self.tx_acks.sent(seq, self.written + self.out.len() as u64, &msg);
            }
        }
        if let Some(counters) = &self.counters
            && messages > 0
        {
            counters.add_out(messages, bytes);
        }
        // Room is announced first: the spool thread's routing syncs and must see it.
        if room_made && let Some(attention) = &self.attention {
            self.socket.announce(attention);
        }
        // Only at the low-water mark, like a waiting sender: a pipe the spool could not fill
        // was found full, which left its writer waiting for exactly this. Asked at every
        // take, the spool thread woke to route a few messages per write, and was woken again.
        if room_made && let Some(spool) = spool {
            spool.route(); // the pipe has room for more of the spool
        }
    }

    /// Sends what the application's reads owe a spooled sender before the connection
    /// closes: its timer will not fire any more, and a message the application took must
    /// not come again, to it or to another receiver.
    pub fn flush_acks(&mut self) {
        if self.rx_acks.pending() && self.half_closed_at.is_none() {
            self.rx_acks.send_now();
            let _ = self.write();
        }
    }

    /// Whether nothing is left to send: the write buffer and the pipe's queue are empty.
    /// Called while the socket closes; messages the pattern queued past the mark are moved
    /// into the pipe here, as no sending thread will do it any more, and a write is asked
    /// for in `wakes`.
    pub fn is_flushed(&mut self, wakes: &mut Vec<IoWake>) -> bool {
        if self.rx_acks.pending() {
            // What the application finished before it closed, not left to the timer.
            self.rx_acks.send_now();
            wakes.push(IoWake::Flush(self.id));
            return false;
        }
        if self.out_rx.as_mut().is_some_and(|rx| rx.peek()) {
            // Queued after the reader slept, before the socket knew the connection to wake.
            wakes.push(IoWake::Flush(self.id));
            return false;
        }
        if self.attachment.out_reader.as_mut().is_some_and(|rx| rx.peek())
            || !self.attachment.resend.is_empty()
        {
            return false; // the handshake is not done; it takes them when it is
        }
        if !self.out.is_empty() || self.fast.as_ref().is_some_and(|f| f.has_leftover()) {
            return false;
        }
        let known = self.attachment.persistent_pipe;
        if known.is_none() && !self.attached_direct {
            return true; // never attached: nothing was queued for it
        }
        // The socket is closed: its state is the I/O thread's now, and what the connections
        // told it is applied here, so that this connection's pipe can be found.
        let socket = Arc::clone(&self.socket);
        let mut guard = socket.lock_io(wakes);
        let st = &mut *guard;
        st.apply_from_io();
        let Some(id) = known.or_else(|| st.pipes.serving(self.id)) else {
            return !st.spool_pending();
        };
        let Some(pipe) = st.pipes.get_mut(id) else {
            return !st.spool_pending();
        };
        if let Some(out) = &mut pipe.wire_out
            && out.has_overflow()
        {
            if out.refresh() {
                st.pipes.wakes.push(IoWake::Flush(self.id));
            }
            return false;
        }
        !pipe.has_outbound() && !st.spool_pending()
    }
}
