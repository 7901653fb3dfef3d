//! The typed socket options, named after libzmq's.

use super::Socket;
use crate::error::{Error, Result};
use crate::pattern::PatternOption;
use bytes::Bytes;
use std::time::Duration;

/// Typed options. Each setter documents the libzmq option it mirrors.
impl Socket {
    /// Send high-water mark: messages queued per peer before `send` blocks (or drops, on
    /// PUB); 0 = no limit. Applies to peers attached afterwards (libzmq `ZMQ_SNDHWM`).
    pub fn set_sndhwm(&self, hwm: usize) -> Result<()> {
        self.with_options(|o| o.sndhwm = hwm);
        Ok(())
    }
    /// The send high-water mark.
    #[doc(alias = "get_sndhwm")]
    pub fn sndhwm(&self) -> usize {
        self.with_options(|o| o.sndhwm)
    }
    /// Receive high-water mark: messages queued per peer before reading from it pauses
    /// (libzmq `ZMQ_RCVHWM`).
    pub fn set_rcvhwm(&self, hwm: usize) -> Result<()> {
        self.with_options(|o| o.rcvhwm = hwm);
        Ok(())
    }
    /// The receive high-water mark.
    #[doc(alias = "get_rcvhwm")]
    pub fn rcvhwm(&self) -> usize {
        self.with_options(|o| o.rcvhwm)
    }
    /// How long closing waits to deliver queued messages; `None` = forever
    /// (libzmq `ZMQ_LINGER`; zocket's default is 2 s, see [`crate::DEFAULT_LINGER`]).
    pub fn set_linger(&self, linger: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.linger = linger);
        Ok(())
    }
    /// The linger period.
    #[doc(alias = "get_linger")]
    pub fn linger(&self) -> Option<Duration> {
        self.with_options(|o| o.linger)
    }
    /// Send timeout: `None` blocks forever (libzmq `ZMQ_SNDTIMEO`).
    pub fn set_sndtimeo(&self, timeout: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.sndtimeo = timeout);
        Ok(())
    }
    /// The send timeout (`None`: block forever).
    #[doc(alias = "get_sndtimeo")]
    pub fn sndtimeo(&self) -> Option<Duration> {
        self.with_options(|o| o.sndtimeo)
    }
    /// Receive timeout: `None` blocks forever (libzmq `ZMQ_RCVTIMEO`).
    pub fn set_rcvtimeo(&self, timeout: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.rcvtimeo = timeout);
        Ok(())
    }
    /// The receive timeout (`None`: block forever).
    #[doc(alias = "get_rcvtimeo")]
    pub fn rcvtimeo(&self) -> Option<Duration> {
        self.with_options(|o| o.rcvtimeo)
    }
    /// First reconnection interval (libzmq `ZMQ_RECONNECT_IVL`, default 100 ms).
    pub fn set_reconnect_ivl(&self, ivl: Duration) -> Result<()> {
        if ivl.is_zero() {
            return Err(Error::InvalidOption("reconnect interval must be positive".into()));
        }
        self.with_options(|o| o.reconnect_ivl = ivl);
        Ok(())
    }
    /// The first reconnect interval.
    #[doc(alias = "get_reconnect_ivl")]
    pub fn reconnect_ivl(&self) -> Duration {
        self.with_options(|o| o.reconnect_ivl)
    }
    /// Upper bound of the exponential back-off; zero keeps the interval constant
    /// (libzmq `ZMQ_RECONNECT_IVL_MAX`).
    pub fn set_reconnect_ivl_max(&self, ivl: Duration) -> Result<()> {
        self.with_options(|o| o.reconnect_ivl_max = ivl);
        Ok(())
    }
    /// The largest reconnect interval (zero: the interval stays constant).
    #[doc(alias = "get_reconnect_ivl_max")]
    pub fn reconnect_ivl_max(&self) -> Duration {
        self.with_options(|o| o.reconnect_ivl_max)
    }
    /// Time allowed for the ZMTP handshake; `None` = no limit (libzmq `ZMQ_HANDSHAKE_IVL`,
    /// default 30 s).
    pub fn set_handshake_ivl(&self, ivl: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.handshake_ivl = ivl);
        Ok(())
    }
    /// How long a handshake may take (`None`: no limit).
    #[doc(alias = "get_handshake_ivl")]
    pub fn handshake_ivl(&self) -> Option<Duration> {
        self.with_options(|o| o.handshake_ivl)
    }
    /// Largest message accepted from a peer, in bytes; a peer that sends more is
    /// disconnected. `None` = no limit (libzmq `ZMQ_MAXMSGSIZE`).
    #[doc(alias = "set_max_msg_size")]
    pub fn set_maxmsgsize(&self, size: Option<u64>) -> Result<()> {
        self.with_options(|o| o.max_msg_size = size);
        Ok(())
    }
    /// The largest message accepted from a peer (`None`: no limit).
    #[doc(alias = "get_maxmsgsize")]
    pub fn maxmsgsize(&self) -> Option<u64> {
        self.with_options(|o| o.max_msg_size)
    }
    /// This socket's routing id, announced to peers (libzmq `ZMQ_ROUTING_ID`): 1 to 255
    /// bytes, not starting with a zero byte.
    #[doc(alias = "set_identity")]
    pub fn set_routing_id(&self, id: &[u8]) -> Result<()> {
        if id.is_empty() || id.len() > 255 || id[0] == 0 {
            return Err(Error::InvalidOption(
                "a routing id is 1-255 bytes, not starting with 0".into(),
            ));
        }
        self.with_options(|o| o.routing_id = Bytes::copy_from_slice(id));
        Ok(())
    }
    /// The routing id this socket announces.
    #[doc(alias = "get_identity")]
    #[doc(alias = "get_routing_id")]
    pub fn routing_id(&self) -> Vec<u8> {
        self.with_options(|o| o.routing_id.to_vec())
    }
    /// Adds an application property that this socket announces to every peer it connects
    /// with from now on, as `"X-Name:value"` (libzmq `ZMQ_METADATA`); peers read it with
    /// [`crate::Message::gets`]. The name must start with `X-` (names of zocket's own
    /// properties, `X-Zocket-…`, are refused).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let dealer = ctx.socket(zocket::SocketType::Dealer)?;
    /// dealer.set_metadata("X-Region:eu-west")?;
    /// assert!(dealer.set_metadata("Region:eu-west").is_err());
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_metadata(&self, property: &str) -> Result<()> {
        let invalid = || Error::InvalidOption(format!("metadata {property:?}: expected \"X-Name:value\""));
        let (name, value) = property.split_once(':').ok_or_else(invalid)?;
        let reserved = name
            .as_bytes()
            .get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"X-Zocket-"));
        if !name.starts_with("X-") || name.len() < 3 || name.len() > 255 || reserved {
            return Err(invalid());
        }
        let value = Bytes::copy_from_slice(value.as_bytes());
        self.with_options(|o| o.metadata.push((name.to_string(), value)));
        Ok(())
    }
    /// The application properties this socket announces, as `"X-Name:value"`.
    #[doc(alias = "get_metadata")]
    pub fn metadata(&self) -> Vec<String> {
        self.with_options(|o| {
            let text = |(n, v): &(String, Bytes)| format!("{n}:{}", String::from_utf8_lossy(v));
            o.metadata.iter().map(text).collect()
        })
    }
    /// The routing id to give the peer of the next `connect` (libzmq
    /// `ZMQ_CONNECT_ROUTING_ID`), for ROUTER sockets addressing peers they connect to.
    pub fn set_connect_routing_id(&self, id: &[u8]) -> Result<()> {
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidOption("a routing id is 1-255 bytes".into()));
        }
        self.with_options(|o| o.connect_routing_id = Some(Bytes::copy_from_slice(id)));
        Ok(())
    }
    /// Queue messages only to peers whose connection is complete (libzmq `ZMQ_IMMEDIATE`).
    pub fn set_immediate(&self, on: bool) -> Result<()> {
        self.with_options(|o| o.immediate = on);
        Ok(())
    }
    /// Whether messages are queued only for completed connections.
    #[doc(alias = "get_immediate")]
    pub fn immediate(&self) -> bool {
        self.with_options(|o| o.immediate)
    }
    /// Send a ZMTP PING on each connection at this interval, and drop a connection whose peer
    /// sends nothing at all for the heartbeat timeout after a PING (libzmq
    /// `ZMQ_HEARTBEAT_IVL`; `None`, the default, sends none). Applies to new connections.
    pub fn set_heartbeat_ivl(&self, ivl: Option<Duration>) -> Result<()> {
        if ivl.is_some_and(|d| d.is_zero()) {
            return Err(Error::InvalidOption("heartbeat interval must be positive".into()));
        }
        self.with_options(|o| o.heartbeat_ivl = ivl);
        Ok(())
    }
    /// The heartbeat interval (`None`: no heartbeats).
    #[doc(alias = "get_heartbeat_ivl")]
    pub fn heartbeat_ivl(&self) -> Option<Duration> {
        self.with_options(|o| o.heartbeat_ivl)
    }
    /// How long to wait for any traffic after a PING before dropping the connection
    /// (libzmq `ZMQ_HEARTBEAT_TIMEOUT`; default: the heartbeat interval).
    pub fn set_heartbeat_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.heartbeat_timeout = timeout);
        Ok(())
    }
    /// How long a peer may stay silent once heartbeats are on (`None`: the interval).
    #[doc(alias = "get_heartbeat_timeout")]
    pub fn heartbeat_timeout(&self) -> Option<Duration> {
        self.with_options(|o| o.heartbeat_timeout)
    }
    /// The time-to-live announced in our PINGs: the peer drops the connection if it hears
    /// nothing from us for that long (libzmq `ZMQ_HEARTBEAT_TTL`, tenths of a second on the
    /// wire, at most 6553.5 s).
    pub fn set_heartbeat_ttl(&self, ttl: Option<Duration>) -> Result<()> {
        if ttl.is_some_and(|d| d > Duration::from_millis(6_553_500)) {
            return Err(Error::InvalidOption("heartbeat TTL is at most 6553.5 s".into()));
        }
        self.with_options(|o| o.heartbeat_ttl = ttl);
        Ok(())
    }
    /// The time-to-live announced in this socket's PINGs.
    #[doc(alias = "get_heartbeat_ttl")]
    pub fn heartbeat_ttl(&self) -> Option<Duration> {
        self.with_options(|o| o.heartbeat_ttl)
    }
    /// SUB: receive messages starting with `prefix` (empty = everything).
    pub fn set_subscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_pattern_option(PatternOption::Subscribe(Bytes::copy_from_slice(prefix)))
    }
    /// SUB: remove one subscription to `prefix`.
    pub fn set_unsubscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_pattern_option(PatternOption::Unsubscribe(Bytes::copy_from_slice(prefix)))
    }
    /// REQ: allow a new request before the reply came (libzmq `ZMQ_REQ_RELAXED`).
    pub fn set_req_relaxed(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::ReqRelaxed(on))?;
        self.with_options(|o| o.pattern.req_relaxed = on);
        Ok(())
    }
    /// Whether `set_req_relaxed` turned it on.
    #[doc(alias = "get_req_relaxed")]
    pub fn req_relaxed(&self) -> bool {
        self.with_options(|o| o.pattern.req_relaxed)
    }
    /// REQ: tag requests with an id and drop replies that do not match
    /// (libzmq `ZMQ_REQ_CORRELATE`).
    pub fn set_req_correlate(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::ReqCorrelate(on))?;
        self.with_options(|o| o.pattern.req_correlate = on);
        Ok(())
    }
    /// Whether `set_req_correlate` turned it on.
    #[doc(alias = "get_req_correlate")]
    pub fn req_correlate(&self) -> bool {
        self.with_options(|o| o.pattern.req_correlate)
    }
    /// ROUTER: fail with `HostUnreachable` on unknown routing ids, and block (or
    /// `WouldBlock`) on full peers, instead of dropping (libzmq `ZMQ_ROUTER_MANDATORY`).
    pub fn set_router_mandatory(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::RouterMandatory(on))?;
        self.with_options(|o| o.pattern.router_mandatory = on);
        Ok(())
    }
    /// Whether `set_router_mandatory` turned it on.
    #[doc(alias = "get_router_mandatory")]
    pub fn router_mandatory(&self) -> bool {
        self.with_options(|o| o.pattern.router_mandatory)
    }
    /// ROUTER: a new peer with a routing id in use takes it over (libzmq
    /// `ZMQ_ROUTER_HANDOVER`); otherwise the newcomer is refused.
    pub fn set_router_handover(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::RouterHandover(on))?;
        self.with_options(|o| o.pattern.router_handover = on);
        Ok(())
    }
    /// Whether `set_router_handover` turned it on.
    #[doc(alias = "get_router_handover")]
    pub fn router_handover(&self) -> bool {
        self.with_options(|o| o.pattern.router_handover)
    }
    /// XPUB: pass every subscription to the application, not only new ones
    /// (libzmq `ZMQ_XPUB_VERBOSE`).
    pub fn set_xpub_verbose(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubVerbose(on))?;
        self.with_options(|o| o.pattern.xpub_verbose = on);
        Ok(())
    }
    /// Whether `set_xpub_verbose` turned it on.
    #[doc(alias = "get_xpub_verbose")]
    pub fn xpub_verbose(&self) -> bool {
        self.with_options(|o| o.pattern.xpub_verbose)
    }
    /// XPUB: pass every subscription and unsubscription (libzmq `ZMQ_XPUB_VERBOSER`).
    pub fn set_xpub_verboser(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubVerboser(on))?;
        self.with_options(|o| o.pattern.xpub_verboser = on);
        Ok(())
    }
    /// Whether `set_xpub_verboser` turned it on.
    #[doc(alias = "get_xpub_verboser")]
    pub fn xpub_verboser(&self) -> bool {
        self.with_options(|o| o.pattern.xpub_verboser)
    }
    /// XPUB: the application decides subscriptions with `set_subscribe` after reading each
    /// request (libzmq `ZMQ_XPUB_MANUAL`).
    pub fn set_xpub_manual(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubManual(on))?;
        self.with_options(|o| o.pattern.xpub_manual = on);
        Ok(())
    }
    /// Whether `set_xpub_manual` turned it on.
    #[doc(alias = "get_xpub_manual")]
    pub fn xpub_manual(&self) -> bool {
        self.with_options(|o| o.pattern.xpub_manual)
    }
    /// XPUB: a message sent to each new subscriber (libzmq `ZMQ_XPUB_WELCOME_MSG`).
    pub fn set_xpub_welcome_msg(&self, msg: Option<&[u8]>) -> Result<()> {
        let msg = msg.map(Bytes::copy_from_slice);
        self.set_pattern_option(PatternOption::XpubWelcomeMsg(msg.clone()))?;
        self.with_options(|o| o.pattern.xpub_welcome_msg = msg);
        Ok(())
    }
    /// The welcome message set with `set_xpub_welcome_msg`.
    #[doc(alias = "get_xpub_welcome_msg")]
    pub fn xpub_welcome_msg(&self) -> Option<Vec<u8>> {
        self.with_options(|o| o.pattern.xpub_welcome_msg.as_ref().map(|m| m.to_vec()))
    }
}
