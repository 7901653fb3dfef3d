//! Closing a socket: its listeners at once, then its connections and connectors as they
//! finish delivering, or when its linger period ends.

use super::*;

/// How long a closed socket's connection waits for the peer's end-of-stream after
/// everything was written, when the linger period does not end the wait first (it is
/// infinite): a peer that never closes cannot keep the context alive for longer.
const HALF_CLOSE_MAX: Duration = Duration::from_secs(10);

impl Reactor {
    pub(super) fn close_socket(&mut self, socket_id: u64, linger: Option<Duration>) {
        let listeners: Vec<Token> = self
            .listeners
            .iter()
            .filter(|(_, l)| l.socket_id == socket_id)
            .map(|(t, _)| *t)
            .collect();
        for token in listeners {
            self.close_listener(token);
        }
        let Some(entry) = self.sockets.get_mut(&socket_id) else {
            return;
        };
        entry.linger_until = Some(crate::deadline::from_now(linger));
    }

    /// Closes what a closed socket no longer needs: flushed connections, connectors with
    /// nothing to deliver, and everything once the linger period is over.
    pub(super) fn finish_closing_sockets(&mut self) {
        let now = Instant::now();
        let closing: Vec<(u64, bool)> = self
            .sockets
            .iter()
            .filter_map(|(id, s)| s.linger_until.map(|until| (*id, until.is_some_and(|u| u <= now))))
            .collect();
        for (socket_id, expired) in closing {
            let gave_up = |c: &Connection| {
                c.half_closed_at
                    .is_some_and(|t| now.saturating_duration_since(t) >= HALF_CLOSE_MAX)
            };
            let expired_conns: Vec<Token> = self
                .conns
                .iter()
                .filter(|(_, c)| c.socket.id == socket_id && (expired || gave_up(c)))
                .map(|(t, _)| *t)
                .collect();
            for token in expired_conns {
                self.close_conn(token, "socket closed: linger expired");
            }
            let wakes = &mut self.wakes;
            let flushed: Vec<Token> = self
                .conns
                .iter_mut()
                .filter(|(_, c)| c.socket.id == socket_id && c.half_closed_at.is_none())
                .filter_map(|(t, c)| c.is_flushed(wakes).then_some(*t))
                .collect();
            for token in flushed {
                self.with_conn(token, |c| c.half_close(now));
            }
            let socket = &self.sockets[&socket_id].shared;
            let done_connectors: Vec<u64> = self
                .connectors
                .iter_mut()
                .filter(|(_, c)| c.socket_id == socket_id)
                .filter_map(|(id, c)| {
                    (expired || (c.conn.is_none() && !has_pending(socket, c))).then_some(*id)
                })
                .collect();
            for id in done_connectors {
                self.remove_connector(id);
            }
            let busy = self.conns.values().any(|c| c.socket.id == socket_id)
                || self.connectors.values().any(|c| c.socket_id == socket_id);
            if !busy {
                self.sockets.remove(&socket_id);
            }
        }
    }
}

/// Whether a closed socket's connector still holds messages to deliver (the socket's state
/// is the I/O thread's alone once the socket is closed).
fn has_pending(socket: &SocketShared, c: &mut Connector) -> bool {
    let Some(id) = c.pipe else { return false };
    if c.out_reader.as_mut().is_some_and(|rx| rx.peek()) || !c.resend.is_empty() {
        return true;
    }
    let st = socket.lock();
    st.pipes.get(id).is_some_and(|p| p.has_outbound()) || st.spool_pending()
}
