//! What a monitor reports: the event kinds with libzmq's numbers, one event, and the peer it
//! concerns.

/// A connection to the peer is established (value: the connection's file descriptor).
pub const EVENT_CONNECTED: i32 = 0x0001;
/// A connect is in progress and will complete later (value: the errno, `EINPROGRESS`).
pub const EVENT_CONNECT_DELAYED: i32 = 0x0002;
/// The socket will try to connect again (value: the reconnect interval in milliseconds).
pub const EVENT_CONNECT_RETRIED: i32 = 0x0004;
/// The socket listens on an endpoint (value: the listener's file descriptor).
pub const EVENT_LISTENING: i32 = 0x0008;
/// Binding failed (value: the errno).
pub const EVENT_BIND_FAILED: i32 = 0x0010;
/// A connection was accepted (value: its file descriptor).
pub const EVENT_ACCEPTED: i32 = 0x0020;
/// Accepting a connection failed (value: the errno).
pub const EVENT_ACCEPT_FAILED: i32 = 0x0040;
/// A listener or a connection attempt was closed (value: its file descriptor).
pub const EVENT_CLOSED: i32 = 0x0080;
/// Closing failed (value: the errno). zocket never reports it: closing a descriptor it owns
/// cannot fail in a way it could act on.
pub const EVENT_CLOSE_FAILED: i32 = 0x0100;
/// A connection was lost (value: its file descriptor).
pub const EVENT_DISCONNECTED: i32 = 0x0200;
/// The monitor stops: the socket closed or another monitor replaced this one (value: 0).
pub const EVENT_MONITOR_STOPPED: i32 = 0x0400;
/// The handshake failed for no reason the protocol names: the peer hung up or timed out
/// (value: the errno, or 0).
pub const EVENT_HANDSHAKE_FAILED_NO_DETAIL: i32 = 0x0800;
/// The handshake succeeded (value: 0).
pub const EVENT_HANDSHAKE_SUCCEEDED: i32 = 0x1000;
/// The handshake failed on a protocol error (value: one of the `PROTOCOL_ERROR_*` codes in
/// [`crate::monitor`]).
pub const EVENT_HANDSHAKE_FAILED_PROTOCOL: i32 = 0x2000;
/// The handshake failed on authentication (value: the ZAP status code).
pub const EVENT_HANDSHAKE_FAILED_AUTH: i32 = 0x4000;
/// Every libzmq event.
pub const EVENT_ALL: i32 = 0xFFFF;

/// libzmq's protocol error codes, the value of [`EVENT_HANDSHAKE_FAILED_PROTOCOL`].
pub const PROTOCOL_ERROR_ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
/// A command arrived where the handshake expects another.
pub const PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
/// A command is malformed.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
/// An ERROR command is malformed.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
/// A READY command is malformed.
pub const PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY: u32 = 0x1000_0016;
/// The peer's metadata is invalid (no or an incompatible `Socket-Type`, a bad `Identity`).
pub const PROTOCOL_ERROR_ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
/// The peer uses another security mechanism.
pub const PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
/// A CURVE box did not open (a wrong key, or damaged bytes).
pub const PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
/// A CURVE vouch does not match the connection.
pub const PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: u32 = 0x1000_0003;

/// What happened, as a monitor reports it.
///
/// The first fifteen are libzmq's events, with its numbers ([`SocketEvent::to_raw`]); the
/// last four are zocket's own and only the typed monitor ([`crate::Socket::monitor_events`])
/// reports them, as libzmq's event frame has no room for them.
///
/// # Examples
///
/// ```
/// use zocket::{EVENT_ACCEPTED, SocketEvent};
/// assert_eq!(SocketEvent::Accepted.to_raw(), EVENT_ACCEPTED as u32);
/// assert_eq!(SocketEvent::from_raw(0x0020), Some(SocketEvent::Accepted));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketEvent {
    /// See [`EVENT_CONNECTED`].
    Connected,
    /// See [`EVENT_CONNECT_DELAYED`].
    ConnectDelayed,
    /// See [`EVENT_CONNECT_RETRIED`].
    ConnectRetried,
    /// See [`EVENT_LISTENING`].
    Listening,
    /// See [`EVENT_BIND_FAILED`].
    BindFailed,
    /// See [`EVENT_ACCEPTED`].
    Accepted,
    /// See [`EVENT_ACCEPT_FAILED`].
    AcceptFailed,
    /// See [`EVENT_CLOSED`].
    Closed,
    /// See [`EVENT_CLOSE_FAILED`].
    CloseFailed,
    /// See [`EVENT_DISCONNECTED`].
    Disconnected,
    /// See [`EVENT_MONITOR_STOPPED`].
    MonitorStopped,
    /// See [`EVENT_HANDSHAKE_FAILED_NO_DETAIL`].
    HandshakeFailedNoDetail,
    /// See [`EVENT_HANDSHAKE_SUCCEEDED`].
    HandshakeSucceeded,
    /// See [`EVENT_HANDSHAKE_FAILED_PROTOCOL`].
    HandshakeFailedProtocol,
    /// See [`EVENT_HANDSHAKE_FAILED_AUTH`].
    HandshakeFailedAuth,
    /// zocket's own: the peer sent nothing, not even a heartbeat, for the heartbeat timeout;
    /// the connection is closed (a [`SocketEvent::Disconnected`] follows). Value: 0.
    HeartbeatTimeout,
    /// zocket's own: messages were dropped at the high-water mark (PUB, XPUB) or for an
    /// unknown routing id (ROUTER without ROUTER_MANDATORY). Value: how many the socket
    /// dropped in total so far. Reported at most ten times a second; [`crate::Socket::stats`]
    /// has the exact count at any time.
    Dropped,
    /// zocket's own: a spooled socket's backlog reached a limit of its
    /// [`crate::spool::BacklogAlert`]. Value: the messages held.
    BacklogHigh,
    /// zocket's own: the backlog fell back to half of every limit. Value: the messages held.
    BacklogNormal,
}

const NUMBERS: [(SocketEvent, u32); 19] = [
    (SocketEvent::Connected, 0x0001),
    (SocketEvent::ConnectDelayed, 0x0002),
    (SocketEvent::ConnectRetried, 0x0004),
    (SocketEvent::Listening, 0x0008),
    (SocketEvent::BindFailed, 0x0010),
    (SocketEvent::Accepted, 0x0020),
    (SocketEvent::AcceptFailed, 0x0040),
    (SocketEvent::Closed, 0x0080),
    (SocketEvent::CloseFailed, 0x0100),
    (SocketEvent::Disconnected, 0x0200),
    (SocketEvent::MonitorStopped, 0x0400),
    (SocketEvent::HandshakeFailedNoDetail, 0x0800),
    (SocketEvent::HandshakeSucceeded, 0x1000),
    (SocketEvent::HandshakeFailedProtocol, 0x2000),
    (SocketEvent::HandshakeFailedAuth, 0x4000),
    (SocketEvent::HeartbeatTimeout, 0x0100_0000),
    (SocketEvent::Dropped, 0x0200_0000),
    (SocketEvent::BacklogHigh, 0x0400_0000),
    (SocketEvent::BacklogNormal, 0x0800_0000),
];

impl SocketEvent {
    /// The event's number: libzmq's `ZMQ_EVENT_*` value, or (zocket's own) a bit above
    /// libzmq's sixteen.
    pub fn to_raw(self) -> u32 {
        NUMBERS
            .iter()
            .find(|(event, _)| *event == self)
            .map_or(0, |(_, raw)| *raw)
    }

    /// The event with this number, if there is one.
    pub fn from_raw(raw: u32) -> Option<SocketEvent> {
        NUMBERS
            .iter()
            .find(|(_, number)| *number == raw)
            .map(|(event, _)| *event)
    }

    /// Whether libzmq knows this event (it fits libzmq's event frame).
    pub fn is_libzmq(self) -> bool {
        self.to_raw() <= EVENT_ALL as u32
    }
}

/// The peer an event concerns.
///
/// # Examples
///
/// ```
/// let peer = zocket::Peer { address: Some("tcp://127.0.0.1:40000".into()), routing_id: None };
/// assert!(peer.address.unwrap().starts_with("tcp://"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peer {
    /// The remote address, as an endpoint (`tcp://10.0.0.7:51234`, `ipc://path`; an IPC
    /// client is usually unnamed, and then this is the listener's path).
    pub address: Option<String>,
    /// For a ROUTER: the routing id the socket knows this peer by (the one the peer gave,
    /// or the one the socket generated). For other types, the identity the peer announced,
    /// if any.
    pub routing_id: Option<Vec<u8>>,
}

/// One event from [`crate::Monitor`].
///
/// # Examples
///
/// ```
/// use zocket::{MonitorEvent, SocketEvent};
/// let event = MonitorEvent {
///     event: SocketEvent::Listening,
///     value: 7,
///     endpoint: "tcp://127.0.0.1:5555".into(),
///     peer: None,
/// };
/// let [first, second] = event.to_libzmq_frames().unwrap();
/// assert_eq!(MonitorEvent::from_libzmq_frames(&first, &second), Some(event));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorEvent {
    /// What happened.
    pub event: SocketEvent,
    /// The event's value, as libzmq gives it (see the `EVENT_*` constants).
    pub value: u64,
    /// The endpoint it happened on: the bound one for listeners and the connections they
    /// accepted, the one given to `connect` for outgoing connections.
    pub endpoint: String,
    /// The peer, for events about a connection.
    pub peer: Option<Peer>,
}

impl MonitorEvent {
    /// libzmq's two frames: the event number (u16) and the value (u32), native-endian, then
    /// the endpoint. `None` for zocket's own events, which libzmq's frame cannot carry.
    pub fn to_libzmq_frames(&self) -> Option<[Vec<u8>; 2]> {
        if !self.event.is_libzmq() {
            return None;
        }
        let mut first = Vec::with_capacity(6);
        first.extend_from_slice(&(self.event.to_raw() as u16).to_ne_bytes());
        first.extend_from_slice(&(self.value.min(u32::MAX as u64) as u32).to_ne_bytes());
        Some([first, self.endpoint.as_bytes().to_vec()])
    }

    /// Parses libzmq's two frames (from any libzmq monitor, or zocket's); `None` if they are
    /// not an event.
    pub fn from_libzmq_frames(first: &[u8], second: &[u8]) -> Option<MonitorEvent> {
        let number: [u8; 2] = first.get(..2)?.try_into().ok()?;
        let value: [u8; 4] = first.get(2..6)?.try_into().ok()?;
        if first.len() != 6 {
            return None;
        }
        Some(MonitorEvent {
            event: SocketEvent::from_raw(u16::from_ne_bytes(number) as u32)?,
            value: u32::from_ne_bytes(value) as u64,
            endpoint: String::from_utf8_lossy(second).into_owned(),
            peer: None,
        })
    }
}
