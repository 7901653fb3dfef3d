//! Spools: where an outgoing socket keeps every accepted message until it is delivered, so
//! that a crash, an absent peer or a full queue loses nothing.
//!
//! A spool numbers messages 1, 2, 3, … in the order they are appended, hands them back by
//! number, and forgets them once acknowledged. [`FileSpool`] keeps them on disk;
//! [`MemorySpool`] keeps them in memory (for tests, or to bound memory with a quota without
//! persistence). Implement [`Spool`] to plug in another store.

mod crc32c;
mod file;
mod memory;
mod receipts;
mod record;

pub use file::{FileSpool, FileSpoolConfig, FsyncPolicy, OnCorruption, SegmentReport, SpoolReport, inspect};
pub use memory::MemorySpool;
pub use receipts::{FileReceipts, Receipts};

use bytes::Bytes;
use std::path::PathBuf;

/// What can go wrong in a spool.
///
/// # Examples
///
/// ```
/// use zocket::spool::{MemorySpool, Spool, SpoolError};
/// let mut spool = MemorySpool::new(Some(4));
/// let refused = spool.append(&[bytes::Bytes::from("too big")]);
/// assert!(matches!(refused, Err(SpoolError::TooLarge { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// The disk quota would be exceeded; nothing was appended.
    #[error("spool full: {size} bytes held, quota {limit} bytes")]
    Full {
        /// Bytes held now.
        size: u64,
        /// The configured quota.
        limit: u64,
    },
    /// The message can never be spooled, however much is acknowledged: it is larger than the
    /// quota, or than the record format holds (1 GiB). Nothing was appended.
    #[error("message too large for the spool: {size} bytes, {bound} allows {limit} bytes")]
    TooLarge {
        /// Bytes the message would take in the spool (with its framing, for a file spool).
        size: u64,
        /// The bound it exceeds.
        limit: u64,
        /// Which bound: "the quota" or "the record format".
        bound: &'static str,
    },
    /// Another [`FileSpool`] (in this process or another) has the directory open.
    #[error("spool directory {dir} is locked: another FileSpool has it open")]
    Locked {
        /// The spool's directory.
        dir: PathBuf,
    },
    /// A file operation failed (directory not writable, disk full, …).
    #[error("spool I/O error on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The spool cannot do this (a custom [`Spool`] without atomic or prepared batches).
    #[error("the spool does not support {0}")]
    Unsupported(&'static str),
    /// A record is damaged (found on open, or when reading back).
    #[error("corrupt spool record in {path} at byte {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Limits on a spooled socket's backlog that its monitors hear about
/// ([`crate::Socket::set_backlog_alert`]): [`crate::SocketEvent::BacklogHigh`] once the spool
/// holds at least `messages` messages or `bytes` bytes, then
/// [`crate::SocketEvent::BacklogNormal`] once it is back to half of each.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zocket::{Context, SocketEvent, SocketType, spool::{BacklogAlert, MemorySpool}};
///
/// let ctx = Context::new();
/// let push = ctx.socket(SocketType::Push)?;
/// push.set_spool(MemorySpool::new(None))?;
/// let events = push.monitor_events()?;
/// push.set_backlog_alert(Some(BacklogAlert { messages: Some(2), bytes: None }))?;
/// push.send("one", 0)?;
/// push.send("two", 0)?; // nobody takes them: the backlog reaches 2
/// let event = events.recv_timeout(Duration::from_secs(5))?;
/// assert_eq!((event.event, event.value), (SocketEvent::BacklogHigh, 2));
/// # Ok::<(), zocket::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BacklogAlert {
    /// Messages held (not yet confirmed delivered).
    pub messages: Option<u64>,
    /// Bytes held, as the spool counts them.
    pub bytes: Option<u64>,
}

/// What a spooled socket holds, and how fast it moves (`Socket::spool_stats`).
///
/// # Examples
///
/// ```
/// let push = zocket::Context::new().socket(zocket::SocketType::Push)?;
/// push.set_spool(zocket::spool::MemorySpool::new(None))?;
/// push.send("queued", zocket::DONTWAIT)?; // no peer yet: it waits in the spool
/// let stats = push.spool_stats()?;
/// assert_eq!(stats.messages, 1);
/// assert!(stats.oldest_age.is_some());
/// # Ok::<(), zocket::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpoolStats {
    /// Messages held: appended and not yet confirmed delivered.
    pub messages: u64,
    /// Bytes the spool holds (on disk, for a file spool).
    pub bytes: u64,
    /// How long the oldest message held has waited (for messages left by an earlier run: at
    /// least since the spool was set on this socket). `None` when nothing is held.
    pub oldest_age: Option<std::time::Duration>,
    /// Messages appended per second, over about the last 10 seconds.
    pub in_rate: f64,
    /// Messages confirmed delivered per second, over about the last 10 seconds.
    pub out_rate: f64,
}

/// A store of outgoing messages, numbered in append order. Object-safe: sockets hold a
/// `Box<dyn Spool>`.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use zocket::spool::{MemorySpool, Spool};
/// let mut spool: Box<dyn Spool> = Box::new(MemorySpool::new(None));
/// let seq = spool.append(&[Bytes::from("hello")])?;
/// assert_eq!(spool.read(seq)?, Some(vec![Bytes::from("hello")]));
/// spool.ack(seq)?; // delivered: no longer held
/// assert_eq!(spool.first_unacked(), seq + 1);
/// # Ok::<(), zocket::spool::SpoolError>(())
/// ```
pub trait Spool: Send {
    /// Appends one message (all its frames, as one record) and returns its sequence number.
    ///
    /// # Errors
    /// [`SpoolError::Full`] while the quota is reached: acknowledging frees room, so the
    /// caller may wait and retry. [`SpoolError::TooLarge`] when the message could never fit:
    /// retrying is pointless. Implementations must keep that distinction (a socket's `send`
    /// waits on `Full` and fails at once on anything else).
    fn append(&mut self, frames: &[Bytes]) -> Result<u64, SpoolError>;

    /// The message numbered `seq`, or `None` if it was acknowledged (or never appended).
    /// Reading in increasing order is the fast path.
    fn read(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError>;

    /// Acknowledges every message up to and including `seq`: they may be forgotten.
    fn ack(&mut self, seq: u64) -> Result<(), SpoolError>;

    /// Makes everything appended and acknowledged so far durable.
    fn sync(&mut self) -> Result<(), SpoolError>;

    /// Bytes held (on disk, for a file spool).
    fn size(&self) -> u64;

    /// The first message not yet acknowledged (= the next to append when all are).
    fn first_unacked(&self) -> u64;

    /// The number the next appended message gets.
    fn next_seq(&self) -> u64;

    /// A number that identifies this spool's message stream across restarts, so that a
    /// receiver can tell a re-sent message from a new one.
    fn stream_id(&self) -> u64;

    /// Appends `messages` as one batch with consecutive numbers, the first of which it
    /// returns: after a crash, either all of them are in the spool or none is. `commits`
    /// names the prepared batch this append commits: once it is in the spool, that prepared
    /// batch is gone too, also if a crash came before [`Spool::forget_prepared`].
    ///
    /// # Errors
    /// As [`Spool::append`], for the batch as a whole; [`SpoolError::Unsupported`] by default.
    fn append_batch(&mut self, messages: &[Vec<Bytes>], commits: Option<u64>) -> Result<u64, SpoolError> {
        let _ = (messages, commits);
        Err(SpoolError::Unsupported("atomic batches"))
    }

    /// Keeps `messages` as prepared batch `id`: durable, but not delivered until committed
    /// (appended with [`Spool::append_batch`]) or forgotten.
    fn prepare(&mut self, id: u64, messages: &[Vec<Bytes>]) -> Result<(), SpoolError> {
        let _ = (id, messages);
        Err(SpoolError::Unsupported("prepared batches"))
    }

    /// The prepared batches kept, oldest first.
    fn prepared(&mut self) -> Result<Vec<u64>, SpoolError> {
        Ok(Vec::new())
    }

    /// The messages of prepared batch `id`, if it is kept.
    fn read_prepared(&mut self, id: u64) -> Result<Option<Vec<Vec<Bytes>>>, SpoolError> {
        let _ = id;
        Ok(None)
    }

    /// Forgets prepared batch `id` (committed or rolled back).
    fn forget_prepared(&mut self, id: u64) -> Result<(), SpoolError> {
        let _ = id;
        Ok(())
    }

    /// Group commit: a spool that syncs every append (`FsyncPolicy::Always`) may stop syncing
    /// inside [`Spool::append`] and return a [`GroupSync`] instead; the socket then calls
    /// [`GroupSync::sync_through`] after each append, outside its own lock, so that appends
    /// of concurrent senders share one sync. `None` (the default): appends sync themselves.
    fn group_sync(&mut self) -> Option<std::sync::Arc<dyn GroupSync>> {
        None
    }
}

/// Makes a spool's appends durable in groups (see [`Spool::group_sync`]).
///
/// # Examples
///
/// ```
/// use zocket::spool::{GroupSync, SpoolError};
/// // A group sync that syncs nothing (a spool that needs none).
/// struct Nothing;
/// impl GroupSync for Nothing {
///     fn mark(&self) -> u64 { 0 }
///     fn sync_through(&self, _mark: u64) -> Result<(), SpoolError> { Ok(()) }
/// }
/// assert!(Nothing.sync_through(Nothing.mark()).is_ok());
/// ```
pub trait GroupSync: Send + Sync {
    /// A mark covering every change made so far (read while the spool is locked, after an
    /// append).
    fn mark(&self) -> u64;

    /// Returns once everything up to `mark` is durable: syncs, unless a sync that began after
    /// the mark (another sender's) covered it.
    fn sync_through(&self, mark: u64) -> Result<(), SpoolError>;
}

/// A stream id unlikely to collide: time, process id and a counter, mixed.
pub(crate) fn new_stream_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32) ^ COUNTER.fetch_add(1, Ordering::Relaxed);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) | 1
}
