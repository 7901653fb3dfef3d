//! zocket: brokerless messaging sockets in the ZeroMQ family, speaking ZMTP 3.1 over TCP and
//! Unix-domain sockets (and inproc within a process), driven by its own mio I/O thread.
//!
//! - [`Context`] makes [`Socket`]s of a [`SocketType`]; a socket binds, connects, sends and
//!   receives ([`Message`] frames, multipart messages), with libzmq's options as typed
//!   setters and getters.
//! - [`poll`] waits on several sockets (and plain descriptors); [`proxy`] forwards between
//!   two; `Socket` implements [`AsFd`](std::os::fd::AsFd) for other event loops, and the
//!   `tokio` feature adds [`tokio::AsyncSocket`](crate::tokio).
//! - [`monitor`]: what happens on a socket ([`Socket::monitor`] in libzmq's form,
//!   [`Socket::monitor_events`] typed), and its counters ([`Socket::stats`]).
//! - [`spool`]: keep outgoing messages on disk until delivered ([`Socket::set_spool`]), and
//!   receipts for effectively-once delivery ([`Socket::set_receipts`]).
//!
//! ```no_run
//! let ctx = zocket::Context::new();
//! let pull = ctx.socket(zocket::SocketType::Pull)?;
//! pull.bind("tcp://127.0.0.1:0")?;
//! let push = ctx.socket(zocket::SocketType::Push)?;
//! push.connect(&pull.last_endpoint()?)?;
//! push.send("hello", 0)?;
//! assert_eq!(pull.recv_bytes(0)?, b"hello");
//! # Ok::<(), zocket::Error>(())
//! ```
#![warn(missing_docs)]

mod about;
mod context;
mod deadline;
mod engine;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod inproc;
mod live_count;
// used by the core rewrite, issue 10
pub mod auth;
#[allow(dead_code)]
mod mailbox;
mod message;
pub mod monitor;
mod options;
mod pattern;
mod pipe;
mod poller;
mod proxy;
mod recycle;
mod security;
mod socket;
mod socket_type;
pub mod spool;
// used by the core rewrite, issue 10
#[allow(dead_code, unused_imports)]
mod sync;
#[cfg(feature = "tokio")]
pub mod tokio;
mod transport;
mod ypipe;
mod zmtp;

pub use about::{has, version};
pub use context::Context;
pub use error::{EFSM, ETERM, Error, Result};
pub use message::{Delivery, IntoFrame, Message};
pub use monitor::{
    EVENT_ACCEPT_FAILED, EVENT_ACCEPTED, EVENT_ALL, EVENT_BIND_FAILED, EVENT_CLOSE_FAILED, EVENT_CLOSED,
    EVENT_CONNECT_DELAYED, EVENT_CONNECT_RETRIED, EVENT_CONNECTED, EVENT_DISCONNECTED,
    EVENT_HANDSHAKE_FAILED_AUTH, EVENT_HANDSHAKE_FAILED_NO_DETAIL, EVENT_HANDSHAKE_FAILED_PROTOCOL,
    EVENT_HANDSHAKE_SUCCEEDED, EVENT_LISTENING, EVENT_MONITOR_STOPPED, Monitor, MonitorEvent, Peer,
    PeerStats, SocketEvent, SocketStats,
};
pub use options::DEFAULT_LINGER;
pub use poller::{POLLIN, POLLOUT, PollItem, poll};
pub use proxy::{proxy, proxy_steerable};
pub use security::{CurveKeyPair, curve_public, z85_decode, z85_encode};
pub use socket::{
    Batch, BatchId, Checkback, DONTWAIT, Mechanism, NOTIFY_CONNECT, NOTIFY_DISCONNECT, SNDMORE, Socket,
};
pub use socket_type::SocketType;
pub use zmtp::protocol::MAX_FRAMES_PER_MESSAGE;
