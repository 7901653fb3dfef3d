//! Listeners: binding, accepting, unbinding.

use super::*;
use crate::SocketEvent;

impl Reactor {
    pub(super) fn listen(
        &mut self,
        socket: Arc<SocketShared>,
        mut listener: Listener,
        endpoint: String,
        config: Arc<ConnConfig>,
    ) {
        let token = self.token();
        if let Err(e) = self
            .poll
            .registry()
            .register(listener.source(), token, Interest::READABLE)
        {
            log::error!("cannot watch listener {endpoint}: {e}");
            return;
        }
        let socket_id = socket.id;
        self.socket_entry(socket);
        self.listeners.insert(
            token,
            ListenerEntry {
                socket_id,
                endpoint: endpoint.into(),
                listener,
                config,
            },
        );
    }

    /// Closes the socket's listener at `endpoint` and the connections it accepted (on any
    /// thread: each thread is asked).
    pub(super) fn unbind(&mut self, socket_id: u64, endpoint: &str) {
        let found: Vec<Token> = self
            .listeners
            .iter()
            .filter(|(_, l)| l.socket_id == socket_id && *l.endpoint == *endpoint)
            .map(|(t, _)| *t)
            .collect();
        for token in found {
            self.close_listener(token);
        }
        let accepted: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| c.socket.id == socket_id)
            .filter(|(_, c)| matches!(&c.origin, Origin::Listener(e) if **e == *endpoint))
            .map(|(t, _)| *t)
            .collect();
        for t in accepted {
            self.close_conn(t, "unbound");
        }
    }

    /// Stops listening: the address is free once this returns.
    pub(super) fn close_listener(&mut self, token: Token) {
        let Some(mut l) = self.listeners.remove(&token) else {
            return;
        };
        let _ = self.poll.registry().deregister(l.listener.source());
        let fd = l.listener.raw_fd();
        if let Some(socket) = self.sockets.get(&l.socket_id) {
            log::info!(
                "{} socket: stopped listening on {}",
                socket.shared.socket_type,
                l.endpoint
            );
            socket
                .shared
                .monitor
                .emit(SocketEvent::Closed, fd, &l.endpoint, || None);
        }
    }

    pub(super) fn accept(&mut self, token: Token) {
        loop {
            let Some(entry) = self.listeners.get(&token) else {
                return;
            };
            let socket_id = entry.socket_id;
            let endpoint = Arc::clone(&entry.endpoint);
            let stream = match entry.listener.accept(&entry.config.tcp) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // Out of descriptors and the like: log and try later.
                    log::warn!("accept failed on {}: {e}", entry.endpoint);
                    if let Some(socket) = self.sockets.get(&socket_id) {
                        let errno = e.raw_os_error().unwrap_or(0) as u64;
                        let event = SocketEvent::AcceptFailed;
                        socket.shared.monitor.emit(event, errno, &endpoint, || None);
                    }
                    return;
                }
            };
            let Some(socket) = self.sockets.get(&socket_id).map(|s| Arc::clone(&s.shared)) else {
                return;
            };
            let peer = || {
                let address = stream.peer_endpoint();
                Some(crate::Peer {
                    address,
                    routing_id: None,
                })
            };
            socket
                .monitor
                .emit(SocketEvent::Accepted, stream.raw_fd(), &endpoint, peer);
            // Accepted connections are spread over the context's I/O threads.
            let target = if self.io.len() == 1 {
                self.index
            } else {
                self.io.next_index()
            };
            let config = Arc::clone(&entry.config);
            if target == self.index {
                let origin = Origin::Listener(endpoint);
                let _ = self.add_conn(socket, config, origin, stream, false, unattached());
            } else {
                self.io.send_to(
                    target,
                    Command::Adopt {
                        socket,
                        stream,
                        endpoint,
                        config,
                    },
                );
            }
        }
    }
}
