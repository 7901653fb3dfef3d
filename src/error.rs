//! The one error type of the library.

use std::io;

/// Everything that can go wrong in a zocket call.
///
/// Each variant names the libzmq errno it corresponds to, so that code ported from libzmq
/// can map its error handling one to one.
///
/// # Examples
///
/// ```
/// use zocket::{Context, Error, SocketType, DONTWAIT};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// match pull.recv_bytes(DONTWAIT) {
///     Err(Error::WouldBlock) => {} // nothing yet: libzmq's EAGAIN
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(pull.connect("nonsense"), Err(Error::InvalidEndpoint { .. })));
/// # Ok::<(), zocket::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operation would block: no message to receive, no room to send, or the timeout
    /// expired (libzmq `EAGAIN`).
    #[error("operation would block (no message ready, queue full, or timeout expired)")]
    WouldBlock,
    /// The endpoint string could not be parsed or resolved (libzmq `EINVAL`).
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The endpoint names a transport zocket does not speak (libzmq `EPROTONOSUPPORT`).
    #[error("unsupported transport in `{0}`: use tcp:// or ipc://")]
    UnsupportedTransport(String),
    /// The address is already in use by another socket (libzmq `EADDRINUSE`).
    #[error("address already in use: {0}")]
    AddrInUse(String),
    /// The address is not local to this machine (libzmq `EADDRNOTAVAIL`).
    #[error("address not available: {0}")]
    AddrNotAvailable(String),
    /// `unbind` or `disconnect` named an endpoint this socket is not bound or connected to
    /// (libzmq `ENOENT`).
    #[error("endpoint not bound or connected on this socket: {0}")]
    EndpointNotFound(String),
    /// An option value is out of range or does not apply to this socket type (libzmq `EINVAL`).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The operation is not supported by this socket type, e.g. `send` on PULL
    /// (libzmq `ENOTSUP`).
    #[error("operation not supported by this socket type: {0}")]
    NotSupported(&'static str),
    /// The operation is not allowed in the socket's current state, e.g. two sends in a row on
    /// REQ (libzmq `EFSM`).
    #[error("operation not allowed in the current state: {0}")]
    WrongState(&'static str),
    /// A ROUTER with ROUTER_MANDATORY was asked to send to a routing id it does not know
    /// (libzmq `EHOSTUNREACH`).
    #[error("no peer with this routing id (host unreachable)")]
    HostUnreachable,
    /// The message is larger than the socket's maximum message size (libzmq `EMSGSIZE`).
    #[error("message too large: {size} bytes, limit {limit}")]
    MessageTooLarge {
        /// The size of the message.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The context was terminated (libzmq `ETERM`).
    #[error("context was terminated")]
    Terminated,
    /// The socket's spool failed or is full (with `DONTWAIT` or once the send timeout
    /// expired; otherwise `send` waits for deliveries to free room).
    #[error("spool: {0}")]
    Spool(#[from] crate::spool::SpoolError),
    /// An operating-system error.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Shorthand for `Result<T, zocket::Error>`.
///
/// # Examples
///
/// ```
/// fn endpoint_of(socket: &zocket::Socket) -> zocket::Result<String> {
///     socket.last_endpoint()
/// }
/// # let ctx = zocket::Context::new();
/// # assert!(endpoint_of(&ctx.socket(zocket::SocketType::Pull)?).is_err());
/// # Ok::<(), zocket::Error>(())
/// ```
pub type Result<T> = std::result::Result<T, Error>;

/// libzmq's own error numbers, above the system's (`ZMQ_HAUSNUMERO` + n).
const ZMQ_HAUSNUMERO: i32 = 156_384_712;
/// libzmq `EFSM`: the operation is not allowed in the socket's state.
pub const EFSM: i32 = ZMQ_HAUSNUMERO + 51;
/// libzmq `ETERM`: the context was terminated.
pub const ETERM: i32 = ZMQ_HAUSNUMERO + 53;

impl Error {
    /// The errno libzmq reports for this error, for code ported from libzmq that compares
    /// numbers: `EAGAIN`, `EINVAL`, `EADDRINUSE`, …, and libzmq's own [`EFSM`] and
    /// [`ETERM`]. An operating-system error gives its own number (`EIO` if it has none).
    ///
    /// # Examples
    ///
    /// ```
    /// let pull = zocket::Context::new().socket(zocket::SocketType::Pull)?;
    /// let err = pull.recv_bytes(zocket::DONTWAIT).unwrap_err(); // EAGAIN: nothing to receive
    /// let os = std::io::Error::from_raw_os_error(err.errno());
    /// assert_eq!(os.kind(), std::io::ErrorKind::WouldBlock);
    /// assert_eq!(zocket::Error::Terminated.errno(), zocket::ETERM);
    /// # Ok::<(), zocket::Error>(())
    /// ```
    #[doc(alias = "zmq_errno")]
    pub fn errno(&self) -> i32 {
        match self {
            Error::WouldBlock => libc::EAGAIN,
            Error::InvalidEndpoint { .. } | Error::InvalidOption(_) => libc::EINVAL,
            Error::UnsupportedTransport(_) => libc::EPROTONOSUPPORT,
            Error::AddrInUse(_) => libc::EADDRINUSE,
            Error::AddrNotAvailable(_) => libc::EADDRNOTAVAIL,
            Error::EndpointNotFound(_) => libc::ENOENT,
            Error::NotSupported(_) => libc::ENOTSUP,
            Error::WrongState(_) => EFSM,
            Error::HostUnreachable => libc::EHOSTUNREACH,
            Error::MessageTooLarge { .. } => libc::EMSGSIZE,
            Error::Terminated => ETERM,
            Error::Spool(crate::spool::SpoolError::Full { .. }) => libc::EAGAIN,
            Error::Spool(_) => libc::EIO,
            Error::Io(e) => e.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

impl From<Error> for io::Error {
    /// An operating-system error comes back as it was; the others get the closest
    /// [`io::ErrorKind`] and keep the zocket error as their source.
    fn from(err: Error) -> io::Error {
        let err = match err {
            Error::Io(e) => return e,
            err => err,
        };
        let kind = match &err {
            Error::WouldBlock => io::ErrorKind::WouldBlock,
            Error::InvalidEndpoint { .. } | Error::InvalidOption(_) => io::ErrorKind::InvalidInput,
            Error::AddrInUse(_) => io::ErrorKind::AddrInUse,
            Error::AddrNotAvailable(_) => io::ErrorKind::AddrNotAvailable,
            Error::EndpointNotFound(_) => io::ErrorKind::NotFound,
            Error::NotSupported(_) | Error::UnsupportedTransport(_) => io::ErrorKind::Unsupported,
            Error::HostUnreachable => io::ErrorKind::HostUnreachable,
            Error::MessageTooLarge { .. } => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}
