//! What the I/O thread needs of a socket's options, taken when the application binds or
//! connects, so that the I/O thread never reads them under the socket's lock. libzmq applies
//! options the same way: a listener or a connecter keeps the options it was created with,
//! and setting one later changes later binds and connects only.

use super::acks::{PROP_ACK, PROP_RECEIPTS, PROP_STREAM};
use super::heartbeat::HeartbeatConfig;
use crate::options::Options;
use crate::socket::shared::SocketState;
use crate::socket::spool_link::SpoolLink;
use crate::socket_type::SocketType;
use crate::zmtp::protocol::LocalConfig;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// The options of one bind or connect, shared by the connections it makes.
pub(crate) struct ConnConfig {
    /// What the handshake announces.
    pub local: LocalConfig,
    pub handshake_ivl: Option<Duration>,
    pub heartbeat: HeartbeatConfig,
    /// Reconnection back-off: the first interval and the most it grows to (0: constant).
    pub reconnect_ivl: Duration,
    pub reconnect_ivl_max: Duration,
    /// The spool the socket sends from, if any (it is set before bind and connect).
    pub spool: Option<Arc<SpoolLink>>,
    /// The high-water marks of the pipes made for connections.
    pub sndhwm: usize,
    pub rcvhwm: usize,
    /// The bytes a peer may have in flight to the pattern (`Pattern::incoming_byte_bound`).
    pub incoming_byte_bound: Option<usize>,
    /// TCP options for the connections (and a connect's time limit).
    pub tcp: crate::transport::TcpTuning,
    pub connect_timeout: Option<Duration>,
    /// Sent first on each connection, after the handshake: PROBE_ROUTER's empty message and
    /// HELLO_MSG.
    pub greetings: Vec<Bytes>,
    /// The context's ZAP client, for server mechanisms (and NULL with a ZAP domain).
    pub zap: Option<Arc<crate::security::zap_client::ZapClient>>,
    /// CONFLATE: the connection keeps reading, keeping only the newest message it could not
    /// hand over yet.
    pub conflate: bool,
}

impl ConnConfig {
    /// Takes the options of `st`, a socket of type `socket_type`, as they are now.
    pub fn snapshot(
        socket_type: SocketType,
        st: &SocketState,
        zap: &Arc<crate::security::zap_client::ZapClient>,
    ) -> Arc<ConnConfig> {
        let mut config = Self::new(socket_type, &st.opts, st.spool_link().cloned());
        config.incoming_byte_bound = st.pattern.incoming_byte_bound();
        config.zap = Some(Arc::clone(zap));
        Arc::new(config)
    }

    /// The options `opts` of a socket of type `socket_type` sending from `spool`.
    pub fn new(socket_type: SocketType, opts: &Options, spool: Option<Arc<SpoolLink>>) -> Self {
        let mut extra_metadata = opts.metadata.clone();
        if socket_type.acknowledges_spools() {
            extra_metadata.push((PROP_ACK.to_string(), Bytes::from_static(b"1")));
        }
        if let Some(receiver) = opts.receipts {
            extra_metadata.push((PROP_RECEIPTS.to_string(), Bytes::from(receiver.encode())));
        }
        if let Some(spool) = &spool {
            let id = format!("{:016x}", spool.stream_id());
            extra_metadata.push((PROP_STREAM.to_string(), Bytes::from(id)));
        }
        ConnConfig {
            local: LocalConfig {
                socket_type,
                identity: opts.routing_id.clone(),
                max_msg_size: opts.max_msg_size.unwrap_or(crate::options::UNLIMITED_MSG_SIZE),
                extra_metadata,
                security: opts.security.security(),
                zap_domain: opts.security.zap_domain.clone(),
                zap_enforce_domain: opts.security.zap_enforce_domain,
            },
            handshake_ivl: opts.handshake_ivl,
            heartbeat: HeartbeatConfig {
                interval: opts.heartbeat_ivl,
                timeout: opts.heartbeat_timeout,
                ttl: opts.heartbeat_ttl,
            },
            reconnect_ivl: opts.reconnect_ivl,
            reconnect_ivl_max: opts.reconnect_ivl_max,
            spool,
            sndhwm: opts.sndhwm,
            rcvhwm: opts.rcvhwm,
            incoming_byte_bound: None,
            tcp: opts.tcp.clone(),
            connect_timeout: opts.connect_timeout,
            greetings: greetings(&opts.lifecycle),
            conflate: opts.conflate,
            zap: None,
        }
    }
}

/// What a connection sends first (see [`ConnConfig::greetings`]).
fn greetings(lifecycle: &crate::options::Lifecycle) -> Vec<Bytes> {
    let probe = lifecycle.probe_router.then(Bytes::new);
    probe.into_iter().chain(lifecycle.hello.clone()).collect()
}
