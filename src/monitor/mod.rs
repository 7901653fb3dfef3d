//! Watching a socket: events from its listeners and connections, in libzmq's form (two-frame
//! messages on an inproc PAIR, [`crate::Socket::monitor`]) or typed, naming the peer
//! ([`crate::Socket::monitor_events`]), and counters ([`crate::Socket::stats`]).

mod events;
mod forward;
mod hub;
mod stats;

pub use events::*;
pub(crate) use forward::start as start_forwarder;
pub(crate) use hub::Hub;
pub use hub::Monitor;
pub(crate) use stats::{Counters, PeerCounters};
pub use stats::{PeerStats, SocketStats};

/// A routing id as logs show it: text if it is printable, hex otherwise.
pub(crate) fn printable(id: &[u8]) -> String {
    match std::str::from_utf8(id) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => format!("{text:?}"),
        _ => id.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
