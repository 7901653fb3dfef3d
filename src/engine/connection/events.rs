//! What a connection tells the socket's monitors, counters and log: connected, handshake
//! done or failed, closed and why.

use super::*;
use crate::SocketEvent;

/// `EINPROGRESS`, libzmq's value for a connect that completes later.
pub(in crate::engine) const EINPROGRESS: u64 = libc::EINPROGRESS as u64;

impl Connection {
    /// A non-blocking connect completed.
    pub(super) fn on_connected(&mut self) {
        self.connecting = false;
        self.peer.address = self.stream.peer_endpoint();
        log::debug!("{}: connected to {}", self.label(), self.peer_name());
        let fd = self.stream.raw_fd();
        self.socket
            .monitor
            .emit(SocketEvent::Connected, fd, &self.endpoint, || {
                Some(self.peer.clone())
            });
    }

    /// The handshake completed: the peer is known by its routing id from now on, and its
    /// traffic counts.
    pub(super) fn report_handshake(&mut self, routing_id: &Bytes) {
        if self.peer.address.is_none() {
            // An unnamed IPC client: the listener's path says where it came.
            self.peer.address = Some(self.endpoint.to_string());
        }
        self.peer.routing_id = (!routing_id.is_empty()).then(|| routing_id.to_vec());
        self.counters = Some(self.socket.counters.open(&self.endpoint, self.peer.clone()));
        if self.attachment.reconnection {
            self.socket
                .counters
                .reconnects
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        log::debug!("{}: handshake with {} done", self.label(), self.peer_name());
        self.socket
            .monitor
            .emit(SocketEvent::HandshakeSucceeded, 0, &self.endpoint, || {
                Some(self.peer.clone())
            });
    }

    /// The connection is closing for `reason`: the monitors hear why, its counters join the
    /// socket's totals.
    pub fn report_closed(&mut self, reason: &str) {
        if let Some(counters) = self.counters.take() {
            self.socket.counters.close(&counters);
        }
        let fd = self.stream.raw_fd();
        let monitor = &self.socket.monitor;
        let peer = || Some(self.peer.clone());
        if self.connecting {
            // The connector logs its retries (once per back-off step).
            monitor.emit(SocketEvent::Closed, fd, &self.endpoint, || None);
            return;
        }
        match &self.ending {
            Some(Ending::Protocol(_)) => {
                log::info!("{}: dropped {}: {reason}", self.label(), self.peer_name())
            }
            _ => log::debug!("{}: closed {}: {reason}", self.label(), self.peer_name()),
        }
        if !self.proto.is_active() {
            let failure = match &self.ending {
                Some(Ending::Protocol(event)) => *event,
                Some(Ending::HandshakeTimeout) => {
                    Some((SocketEvent::HandshakeFailedNoDetail, libc::ETIMEDOUT as u32))
                }
                _ => Some((SocketEvent::HandshakeFailedNoDetail, 0)),
            };
            if let Some((event, value)) = failure {
                monitor.emit(event, value as u64, &self.endpoint, peer);
            }
        } else if let Some(Ending::HeartbeatTimeout) = self.ending {
            monitor.emit(SocketEvent::HeartbeatTimeout, 0, &self.endpoint, peer);
        }
        monitor.emit(SocketEvent::Disconnected, fd, &self.endpoint, peer);
    }

    /// How logs name the connection: the socket's type and the endpoint.
    pub(super) fn label(&self) -> String {
        format!("{} {}", self.socket.socket_type, self.endpoint)
    }

    /// How logs name the peer: its address, and its routing id when it has one.
    pub(super) fn peer_name(&self) -> String {
        let address = self.peer.address.as_deref().unwrap_or("peer");
        match &self.peer.routing_id {
            Some(id) => format!("{address} (routing id {})", crate::monitor::printable(id)),
            None => address.to_string(),
        }
    }
}
