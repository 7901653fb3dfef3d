//! Closing a connection: gracefully (shut down writing, read to the peer's end-of-stream)
//! when its socket closed, and detaching from the pipe when it goes.

use super::*;
use crate::socket::from_io::Detach;

impl Connection {
    /// Closes gracefully once the socket is closed and everything is written: shuts down
    /// the writing half, so the peer reads all we sent and then end-of-stream, and keeps
    /// reading (dropping the input) until the peer's own end-of-stream, which returns the
    /// `Err` that closes the connection. Closing at once instead can lose data: a libzmq
    /// receiver throttled at its high-water mark drops a Unix-domain connection on hang-up
    /// with our last messages still unread in its kernel buffer.
    pub fn half_close(&mut self, now: Instant) -> Result<(), CloseReason> {
        self.half_closed_at = Some(now);
        self.stream
            .shutdown_write()
            .map_err(|e| format!("shutdown failed: {e}"))?;
        // The peer may have hung up already: its end-of-stream raises no new event.
        self.discard_input()
    }

    /// Reads and drops whatever the peer sends after we half-closed, until it would block
    /// (`Ok`) or the peer's end-of-stream (`Err`, which closes the connection).
    pub(super) fn discard_input(&mut self) -> Result<(), CloseReason> {
        loop {
            self.inbuf.clear();
            match self.stream.read_into(&mut self.inbuf, READ_CHUNK_MIN) {
                Ok((0, _)) => return Err("closed gracefully: the peer read to the end".into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read failed while closing: {e}")),
            }
        }
    }

    /// Detaches from the pipe as the connection closes. Messages already decoded are still
    /// delivered; a persistent pipe keeps its queue for the next connection.
    pub fn release(&mut self) {
        if let Some(fast) = self.fast.take() {
            fast.retire(); // the application may still hold it: it must not write any more
        }
        if std::mem::take(&mut self.attached_direct) {
            self.release_direct();
        }
    }

    /// Tells the socket, which detaches on its next sync (see `socket::attach`).
    fn release_direct(&mut self) {
        if let Some(mut direct) = self.direct.take() {
            direct.flush();
        }
        // A spooled sender's messages the application did not take are not acknowledged: they
        // come again, and the socket drops what of them it still holds (`socket::sequenced`).
        let leftover = match self.rx_acks.stream {
            Some(_) => VecDeque::new(),
            None => self.pending_in.drain(..).collect(),
        };
        let persistent = self.attachment.persistent_pipe;
        // A pipe of its own ends with the connection: what it did not take goes back to the
        // socket, which sends spooled messages again (a persistent pipe's stays for the
        // next connection, with the connector).
        let unsent = persistent.is_none().then(|| self.out_rx.take()).flatten();
        let detach = Detach {
            conn: self.id,
            persistent,
            leftover,
            unsent: unsent.map(Box::new),
        };
        // Written but not confirmed by the peer: in doubt, so sent again. To a peer that keeps
        // receipts, the connector's next connection sends them first, before the pipe's newer
        // messages (its receipts are high-water marks); otherwise the spool thread routes
        // them again, to any peer, before anything newer.
        let keep = self.tx_acks.keep_messages;
        let (unconfirmed, mut requeued) = self.tx_acks.take_unconfirmed();
        if keep {
            let later = std::mem::replace(&mut self.attachment.resend, unconfirmed);
            self.attachment.resend.extend(later);
        } else {
            requeued.extend(unconfirmed.iter().map(|(seq, _)| *seq));
        }
        self.socket
            .connection_gone(detach, requeued, self.config.spool.as_deref());
    }
}
