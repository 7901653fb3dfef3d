//! Socket options and their defaults (libzmq's, unless noted).

use bytes::Bytes;
use std::time::Duration;

/// How long a closing socket keeps trying to deliver queued messages by default.
///
/// libzmq's default is to wait forever, which can hang a program at exit when a peer is gone;
/// zocket waits at most this long. Set `Some(..)`/`None` with `Socket::set_linger`.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(2);

/// The message-size limit when none is set: 2^47 bytes (128 TiB), more than any machine can
/// hold, so a frame announcing more (a bogus size) is refused at once instead of being read
/// until memory runs out (libzmq fails the allocation instead).
pub(crate) const UNLIMITED_MSG_SIZE: u64 = 1 << 47;

/// Every option a socket carries.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub sndhwm: usize,
    pub rcvhwm: usize,
    pub linger: Option<Duration>,
    pub sndtimeo: Option<Duration>,
    pub rcvtimeo: Option<Duration>,
    pub reconnect_ivl: Duration,
    pub reconnect_ivl_max: Duration,
    pub handshake_ivl: Option<Duration>,
    pub max_msg_size: Option<u64>,
    pub routing_id: Bytes,
    pub connect_routing_id: Option<Bytes>,
    pub immediate: bool,
    pub heartbeat_ivl: Option<Duration>,
    pub heartbeat_timeout: Option<Duration>,
    pub heartbeat_ttl: Option<Duration>,
    /// The socket keeps receipts (`Socket::set_receipts`): its identity, which it announces
    /// to its peers.
    pub receipts: Option<ReceiverId>,
    /// Application properties announced to peers (`ZMQ_METADATA`): `X-` names.
    pub metadata: Vec<(String, Bytes)>,
    /// The pattern's options as last set, for their getters (the pattern applies them).
    pub pattern: PatternFlags,
    /// TCP options for listeners and connections.
    pub tcp: crate::transport::TcpTuning,
    /// How long a TCP connect may take before it is abandoned and retried (`None`: the
    /// system's timeout).
    pub connect_timeout: Option<Duration>,
    /// Messages and signals at a peer's arrival and departure (see `socket::lifecycle`).
    pub lifecycle: Lifecycle,
    /// CONFLATE: a peer's queue keeps only its newest message.
    pub conflate: bool,
    /// PLAIN, CURVE and ZAP options.
    pub security: SecurityOptions,
}

/// libzmq's options for a peer's arrival and departure.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lifecycle {
    /// PROBE_ROUTER: an empty message to each new peer.
    pub probe_router: bool,
    /// ROUTER_NOTIFY: an empty message from a peer as it connects (bit 1) and disconnects
    /// (bit 2).
    pub router_notify: u8,
    /// HELLO_MSG: sent to each new peer.
    pub hello: Option<Bytes>,
    /// DISCONNECT_MSG: received from a peer as it goes.
    pub disconnect: Option<Bytes>,
    /// HICCUP_MSG: received when a connection of a connect comes back after an interruption.
    pub hiccup: Option<Bytes>,
}

/// The pattern options' values, as the application last set them.
#[derive(Clone, Debug, Default)]
pub(crate) struct PatternFlags {
    pub req_relaxed: bool,
    pub req_correlate: bool,
    pub router_mandatory: bool,
    pub router_handover: bool,
    pub xpub_verbose: bool,
    pub xpub_verboser: bool,
    pub xpub_manual: bool,
    pub xpub_welcome_msg: Option<Bytes>,
    pub xpub_nodrop: bool,
    pub xpub_manual_last_value: bool,
    pub invert_matching: bool,
    pub xsub_verbose_unsubscribe: bool,
    pub only_first_subscribe: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: Some(DEFAULT_LINGER),
            sndtimeo: None,
            rcvtimeo: None,
            reconnect_ivl: Duration::from_millis(100),
            reconnect_ivl_max: Duration::ZERO,
            handshake_ivl: Some(Duration::from_secs(30)),
            max_msg_size: None,
            routing_id: Bytes::new(),
            connect_routing_id: None,
            immediate: false,
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            receipts: None,
            metadata: Vec::new(),
            pattern: PatternFlags::default(),
            tcp: Default::default(),
            connect_timeout: None,
            lifecycle: Lifecycle::default(),
            conflate: false,
            security: SecurityOptions::default(),
        }
    }
}

/// Which mechanism a socket's options chose (libzmq `ZMQ_MECHANISM`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum MechanismKind {
    #[default]
    Null,
    Plain,
    Curve,
}

/// The security options, as libzmq keeps them: the last option set picks the mechanism.
#[derive(Clone, Default)]
pub(crate) struct SecurityOptions {
    pub mechanism: MechanismKind,
    pub as_server: bool,
    pub plain_username: Option<String>,
    pub plain_password: Option<String>,
    pub curve_public: Option<[u8; 32]>,
    pub curve_secret: Option<zeroize::Zeroizing<[u8; 32]>>,
    pub curve_server_key: Option<[u8; 32]>,
    pub zap_domain: String,
    pub zap_enforce_domain: bool,
}

impl std::fmt::Debug for SecurityOptions {
    /// Shows the mechanism and role, never a credential or key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityOptions")
            .field("mechanism", &self.mechanism)
            .field("as_server", &self.as_server)
            .field("zap_domain", &self.zap_domain)
            .finish_non_exhaustive()
    }
}

/// A receiver that keeps receipts, as it announces itself in `X-Zocket-Receipts`: its durable
/// identity and the socket's (a new one per socket), both 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReceiverId {
    pub durable: u64,
    pub socket: u64,
}

impl ReceiverId {
    pub fn encode(self) -> String {
        format!("{:016x}-{:016x}", self.durable, self.socket)
    }

    pub fn parse(value: &[u8]) -> Option<ReceiverId> {
        let (durable, socket) = std::str::from_utf8(value).ok()?.split_once('-')?;
        let hex = |s: &str| (s.len() == 16).then(|| u64::from_str_radix(s, 16).ok()).flatten();
        Some(ReceiverId {
            durable: hex(durable)?,
            socket: hex(socket)?,
        })
    }
}
