//! Attaching a connection to its socket when the handshake is done. Usually without the
//! socket's lock: the connection makes its pipes and tells the socket (`socket::from_io`),
//! which attaches them on its next call. Under the lock when the peer is a spooled zocket
//! sender: its messages are checked for duplicates as they arrive.

use super::inbound::DirectIn;
use super::*;
use crate::message::Frame;
use crate::socket::from_io::{Attach, FromIo};
use std::sync::atomic::AtomicUsize;

impl Connection {
    pub(super) fn on_handshake(&mut self, wakes: &mut Vec<IoWake>) -> Result<(), CloseReason> {
        self.handshake_deadline = None;
        self.heartbeat = Heartbeat::start(self.config.heartbeat, Instant::now());
        let Some(peer) = self.proto.peer() else {
            return Err("handshake finished without the peer's metadata".into());
        };
        let peer_identity = peer.identity.clone();
        let peer_confirms = peer.metadata.get(PROP_ACK).is_some();
        self.rx_acks.stream = peer.metadata.get(PROP_STREAM).and_then(|v| parse_stream_id(v));
        self.attention = Some(Arc::clone(&self.socket.attention));
        self.tx_acks.by_peer = self.config.spool.is_some() && peer_confirms;
        match self.rx_acks.stream {
            None => {
                self.attach_direct(peer_identity);
                Ok(())
            }
            Some(stream) => self.attach_locked(stream, peer_identity, wakes),
        }
    }

    /// The persistent pipe's outbound reading end, for the connector to keep until the next
    /// connection (taken as the connection goes).
    pub fn take_out_reader(&mut self) -> Option<ypipe::Reader<Outgoing>> {
        self.attachment.persistent_pipe?;
        self.out_rx
            .take()
            .or_else(|| self.attachment.out_reader.take().map(|reader| *reader))
    }

    /// Makes the pipes and hands the socket its ends.
    fn attach_direct(&mut self, peer_identity: Bytes) {
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
            routing_id: Frame::from(self.attachment.routing_id.clone().unwrap_or(peer_identity)),
            sndhwm: self.config.sndhwm,
            rcvhwm: self.config.rcvhwm,
            inbound: in_rx,
            in_flight: in_flight.as_ref().map(|(count, _)| Arc::clone(count)),
            outbound,
            fast: self.fast.clone().map(|f| f as _),
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
        match FastPath::new(&self.stream, self.proto.encoder()) {
            Ok(fast) => Some(Arc::new(fast)),
            Err(e) => {
                log::debug!("no direct-write path for this connection: {e}");
                None
            }
        }
    }

    /// Attaches under the socket's lock the connection of a spooled sender's `stream` (see
    /// the module's notes).
    fn attach_locked(
        &mut self,
        stream: u64,
        peer_identity: Bytes,
        wakes: &mut Vec<IoWake>,
    ) -> Result<(), CloseReason> {
        let socket = Arc::clone(&self.socket);
        let mut guard = socket.lock_io(wakes);
        let st = &mut *guard;
        let id = match self.attachment.persistent_pipe {
            Some(id) => {
                let Some(pipe) = st.pipes.get_mut(id) else {
                    return Err("the connection's pipe is gone".into());
                };
                pipe.conn = Some(self.id);
                pipe.read_paused = false;
                if self.attachment.reconnection {
                    st.pattern.reconnected(id, &mut st.pipes);
                }
                self.out_rx = self.attachment.out_reader.take().map(|reader| *reader);
                id
            }
            None => {
                let (mut pipe, out_reader) = st.new_wire_pipe();
                pipe.routing_id = Frame::from(self.attachment.routing_id.clone().unwrap_or(peer_identity));
                pipe.conn = Some(self.id);
                let id = st
                    .attach_pipe(pipe)
                    .ok_or_else(|| crate::pipe::REFUSED_AT_ATTACH.to_string())?;
                self.out_rx = Some(out_reader);
                id
            }
        };
        self.pipe = Some(id);
        st.dedup.attach(stream).map_err(|e| e.to_string())?;
        // Spooled sockets track every byte they write, so they always write from here.
        if st.spool.is_none() {
            self.fast = self.new_fast_path();
            if let (Some(pipe), Some(fast)) = (st.pipes.get_mut(id), &self.fast) {
                pipe.fast = Some(Arc::clone(fast) as _);
            }
        }
        st.acked_senders = true;
        if let Some(pipe) = st.pipes.get_mut(id) {
            // Positions restart with each connection; older queued messages keep theirs.
            let rx = pipe.rx.get_or_insert_with(RxAcks::default);
            rx.generation += 1;
            (rx.ghost_upto, rx.delivered, rx.sent) = (0, 0, 0);
        }
        st.dispatch_spool();
        Ok(())
    }
}
