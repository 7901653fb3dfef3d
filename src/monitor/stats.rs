//! Counters: per connection, kept by whoever moves its messages (the I/O thread, or the
//! application writing directly), and per socket, what closed connections counted plus drops
//! and reconnects.

use super::events::Peer;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Drops are reported to monitors and the log at most this often.
const DROP_REPORT_EVERY: Duration = Duration::from_millis(100);

/// What one connection moved. The I/O thread adds once per read or write batch, not per
/// message.
#[derive(Default)]
pub(crate) struct PeerCounters {
    endpoint: String,
    peer: Peer,
    messages_in: AtomicU64,
    bytes_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_out: AtomicU64,
}

impl PeerCounters {
    pub fn new(endpoint: &str, peer: Peer) -> PeerCounters {
        PeerCounters {
            endpoint: endpoint.to_string(),
            peer,
            ..PeerCounters::default()
        }
    }

    pub fn add_in(&self, messages: u64, bytes: u64) {
        self.messages_in.fetch_add(messages, Relaxed);
        self.bytes_in.fetch_add(bytes, Relaxed);
    }

    pub fn add_out(&self, messages: u64, bytes: u64) {
        self.messages_out.fetch_add(messages, Relaxed);
        self.bytes_out.fetch_add(bytes, Relaxed);
    }

    fn snapshot(&self) -> PeerStats {
        PeerStats {
            endpoint: self.endpoint.clone(),
            peer: self.peer.clone(),
            messages_in: self.messages_in.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            messages_out: self.messages_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
        }
    }
}

/// One socket's counters.
#[derive(Default)]
pub(crate) struct Counters {
    live: Mutex<Vec<Arc<PeerCounters>>>,
    /// What closed connections counted.
    closed: Mutex<PeerStats>,
    drops: AtomicU64,
    pub reconnects: AtomicU64,
    /// When drops were last reported.
    drops_reported: Mutex<Option<Instant>>,
}

impl Counters {
    fn live(&self) -> MutexGuard<'_, Vec<Arc<PeerCounters>>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts dropped messages; returns the total.
    pub fn add_drops(&self, count: u64) -> u64 {
        self.drops.fetch_add(count, Relaxed) + count
    }

    /// Whether drops are due to be reported again (the first time, then at most every
    /// `DROP_REPORT_EVERY`).
    pub fn drop_report_due(&self) -> bool {
        let mut last = self.drops_reported.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_some_and(|t| now.saturating_duration_since(t) < DROP_REPORT_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// A connection completed its handshake: its counters join the socket's.
    pub fn open(&self, endpoint: &str, peer: Peer) -> Arc<PeerCounters> {
        let counters = Arc::new(PeerCounters::new(endpoint, peer));
        self.live().push(Arc::clone(&counters));
        counters
    }

    /// A connection closed: what it counted stays in the socket's totals.
    pub fn close(&self, counters: &Arc<PeerCounters>) {
        self.live().retain(|c| !Arc::ptr_eq(c, counters));
        let last = counters.snapshot();
        let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
        closed.messages_in += last.messages_in;
        closed.bytes_in += last.bytes_in;
        closed.messages_out += last.messages_out;
        closed.bytes_out += last.bytes_out;
    }

    pub fn snapshot(&self) -> SocketStats {
        let peers: Vec<PeerStats> = self.live().iter().map(|c| c.snapshot()).collect();
        let closed = self.closed.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let sum = |f: fn(&PeerStats) -> u64| f(&closed) + peers.iter().map(f).sum::<u64>();
        SocketStats {
            messages_in: sum(|p| p.messages_in),
            bytes_in: sum(|p| p.bytes_in),
            messages_out: sum(|p| p.messages_out),
            bytes_out: sum(|p| p.bytes_out),
            drops: self.drops.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            peers,
        }
    }
}

/// A socket's counters, from [`crate::Socket::stats`].
///
/// Messages and bytes are counted where they meet the wire (TCP and IPC; inproc pipes are
/// not counted): a message is in when the socket's I/O thread decoded it, out when it was
/// encoded for the kernel. Bytes are payload bytes, without ZMTP framing.
///
/// # Examples
///
/// ```
/// let ctx = zocket::Context::new();
/// let pull = ctx.socket(zocket::SocketType::Pull)?;
/// let stats = pull.stats();
/// assert_eq!((stats.messages_in, stats.drops, stats.peers.len()), (0, 0, 0));
/// # Ok::<(), zocket::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketStats {
    /// Messages received from peers, over the socket's life.
    pub messages_in: u64,
    /// Their payload bytes.
    pub bytes_in: u64,
    /// Messages sent to peers.
    pub messages_out: u64,
    /// Their payload bytes.
    pub bytes_out: u64,
    /// Messages dropped at the high-water mark (PUB, XPUB) or for an unknown routing id
    /// (ROUTER).
    pub drops: u64,
    /// Connections made again after a connected peer was lost.
    pub reconnects: u64,
    /// Each connection open now.
    pub peers: Vec<PeerStats>,
}

/// One connection's counters (see [`SocketStats`]).
///
/// # Examples
///
/// ```
/// let stats = zocket::PeerStats::default();
/// assert_eq!(stats.messages_out, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// The socket's endpoint the connection belongs to (bound or connected).
    pub endpoint: String,
    /// The peer.
    pub peer: Peer,
    /// Messages received from it.
    pub messages_in: u64,
    /// Their payload bytes.
    pub bytes_in: u64,
    /// Messages sent to it.
    pub messages_out: u64,
    /// Their payload bytes.
    pub bytes_out: u64,
}
