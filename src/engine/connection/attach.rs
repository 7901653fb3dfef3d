//! Attaching a connection to its socket when the handshake is done, without the socket's
//! lock: the connection makes its pipes and tells the socket (`socket::from_io`), which
//! attaches them on its next call. A spooled zocket sender's messages go the same way, each
//! with its sequence number, and the socket counts what the application took for the
//! connection to acknowledge.

use super::inbound::DirectIn;
use super::*;
use crate::message::Frame;
use crate::socket::from_io::{Attach, FromIo, Sequenced};
use std::sync::atomic::AtomicUsize;

impl Connection {
    pub(super) fn on_handshake(&mut self) -> Result<(), CloseReason> {
        self.handshake_deadline = None;
        self.heartbeat = Heartbeat::start(self.config.heartbeat, Instant::now());
        let Some(peer) = self.proto.peer() else {
            return Err("handshake finished without the peer's metadata".into());
        };
        let peer_identity = peer.identity.clone();
        let peer_confirms = peer.metadata.get(PROP_ACK).is_some();
        let peer_keeps_receipts = peer.metadata.get(PROP_RECEIPTS).is_some();
        let receiver = peer
            .metadata
            .get(PROP_RECEIPTS)
            .and_then(|v| ReceiverId::parse(v));
        self.rx_acks.stream = peer.metadata.get(PROP_STREAM).and_then(|v| parse_stream_id(v));
        self.attention = Some(Arc::clone(&self.socket.attention));
        self.tx_acks.by_peer = self.config.spool.is_some() && peer_confirms;
        self.tx_acks.keep_messages =
            self.tx_acks.by_peer && peer_keeps_receipts && self.attachment.persistent_pipe.is_some();
        // Ids beginning with a zero byte are the generated ones (libzmq reserves them): one a
        // peer announces is ignored, so that it cannot take a generated id's place.
        let peer_identity = match peer_identity.first() {
            Some(0) => Bytes::new(),
            _ => peer_identity,
        };
        let mut routing_id = self.attachment.routing_id.clone().unwrap_or(peer_identity);
        if routing_id.is_empty() && self.socket.socket_type == crate::SocketType::Router {
            // Generated here rather than by the socket, so that monitors name the peer.
            routing_id = self.socket.generate_routing_id();
        }
        self.report_handshake(&routing_id);
        for greeting in &self.config.greetings {
            let msg: Parts = std::iter::once(Frame::from(greeting.clone())).collect();
            self.proto.encode_message(&msg, &mut self.out);
        }
        let properties = Arc::new(self.properties());
        self.attach_direct(routing_id, properties, receiver);
        Ok(())
    }

    /// What `Message::gets` reads on this connection's messages: the peer's READY
    /// properties (not zocket's own), its routing id and its IP address.
    fn properties(&self) -> crate::message::Properties {
        let mut properties = crate::message::Properties::default();
        let Some(peer) = self.proto.peer() else {
            return properties;
        };
        // The connection's own first; a peer cannot announce them in its place.
        if !peer.identity.is_empty() {
            properties.insert("Routing-Id", peer.identity.clone());
        }
        if let Some(ip) = self.stream.peer_ip() {
            properties.insert("Peer-Address", Bytes::from(ip));
        }
        // What our ZAP handler said of the peer comes before what the peer says of itself.
        for (name, value) in &peer.zap_properties {
            if let Ok(name) = std::str::from_utf8(name) {
                properties.insert(name, value.clone());
            }
        }
        const RESERVED: [&str; 3] = ["Routing-Id", "Peer-Address", "User-Id"];
        for (name, value) in peer.metadata.iter() {
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let reserved = RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name));
            if !reserved && !name.starts_with("X-Zocket-") {
                properties.insert(name, value.clone());
            }
        }
        properties
    }

    /// The persistent pipe's outbound reading end, for the connector to keep until the next
    /// connection (taken as the connection goes).
    pub fn take_out_reader(&mut self) -> Option<ypipe::Reader<Outgoing>> {
        self.attachment.persistent_pipe?;
        self.out_rx
            .take()
            .or_else(|| self.attachment.out_reader.take().map(|reader| *reader))
    }

    /// What the connector must send first on its next connection (see
    /// [`Attachment::resend`]), taken as the connection goes.
    pub fn take_resend(&mut self) -> VecDeque<Outgoing> {
        std::mem::take(&mut self.attachment.resend)
    }

    /// Makes the pipes and hands the socket its ends.
    fn attach_direct(
        &mut self,
        routing_id: Bytes,
        properties: Arc<crate::message::Properties>,
        receiver: Option<ReceiverId>,
    ) {
        let (in_tx, in_rx) = ypipe::channel(self.config.rcvhwm);
        let in_flight = self
            .config
            .incoming_byte_bound
            .map(|bound| (Arc::new(AtomicUsize::new(0)), bound));
        let outbound = match self.attachment.persistent_pipe {
            Some(_) => {
                self.out_rx = self.attachment.out_reader.take().map(|reader| *reader);
                None
            }
            None => {
                let (tx, rx) = ypipe::channel(self.config.sndhwm);
                self.out_rx = Some(rx);
                Some(tx)
            }
        };
        // Spooled sockets track every byte they write, so they always write from here.
        if self.config.spool.is_none() {
            self.fast = self.new_fast_path();
        }
        let attach = Attach {
            conn: self.id,
            persistent: self.attachment.persistent_pipe,
            reconnection: self.attachment.reconnection,
            routing_id: Frame::from(routing_id),
            properties,
            sndhwm: self.config.sndhwm,
            rcvhwm: self.config.rcvhwm,
            inbound: in_rx,
            in_flight: in_flight.as_ref().map(|(count, _)| Arc::clone(count)),
            outbound,
            fast: self.fast.clone().map(|f| f as _),
            sequenced: self.rx_acks.stream.map(|stream| {
                let handled = Arc::new(crate::pipe::AckShare::default());
                self.rx_acks.handled = Some(Arc::clone(&handled));
                Sequenced { stream, handled }
            }),
            // Only a pipe of its own can be retired (see `socket::attach`).
            receiver: receiver
                .filter(|_| self.config.spool.is_some() && self.attachment.persistent_pipe.is_none()),
        };
        self.direct = Some(DirectIn::new(in_tx, in_flight));
        self.attached_direct = true;
        self.socket.tell(FromIo::Attach(Box::new(attach)));
        if let Some(spool) = &self.config.spool {
            // Its spool thread syncs (attaching the pipe) and routes what waits to the new
            // peer, whether or not the application calls.
            spool.route();
        }
    }

    fn new_fast_path(&self) -> Option<Arc<FastPath>> {
        // Boxed frames are encoded here only: the nonces are this connection's.
        let encoder = self.proto.encoder()?;
        match FastPath::new(&self.stream, encoder, self.counters.clone()) {
            Ok(fast) => Some(Arc::new(fast)),
            Err(e) => {
                log::debug!("no direct-write path for this connection: {e}");
                None
            }
        }
    }
}
