//! Receipts: what a receiving socket has finished with, per spooled sender's stream, kept
//! where a crash cannot lose it, so that messages a sender sends again after a crash of
//! either side reach the application once.
//!
//! A receipt is a high-water mark: the highest sequence number of the stream the application
//! finished with. The socket commits marks in increasing order, one finished message at a
//! time, and acknowledges a message to its sender only once its receipt is committed.
//! [`FileReceipts`] keeps them in a small log on disk; implement [`Receipts`] on the
//! application's own database to commit the receipt in the same transaction as the work it
//! records.

use super::SpoolError;
use super::crc32c;
use super::file::dir::{fsync_dir, io_err, lock};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A durable store of receipts (see the module documentation). Object-safe: a socket holds a
/// `Box<dyn Receipts>`.
///
/// # Examples
///
/// Receipts kept next to the application's own record, written together:
///
/// ```
/// use std::collections::HashMap;
/// use zocket::spool::{Receipts, SpoolError};
///
/// #[derive(Default)]
/// struct InMemory(HashMap<u64, u64>);
///
/// impl Receipts for InMemory {
///     fn load(&mut self, stream: u64) -> Result<u64, SpoolError> {
///         Ok(self.0.get(&stream).copied().unwrap_or(0))
///     }
///     fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError> {
///         self.0.insert(stream, seq); // a real store makes it durable before returning
///         Ok(())
///     }
/// }
///
/// let socket = zocket::Context::new().socket(zocket::SocketType::Pull)?;
/// socket.set_receipts(InMemory::default())?;
/// # Ok::<(), zocket::Error>(())
/// ```
pub trait Receipts: Send {
    /// The highest sequence number of `stream` the application finished with, or 0.
    fn load(&mut self, stream: u64) -> Result<u64, SpoolError>;

    /// Records that the application finished with message `seq` of `stream` (and, as marks
    /// only grow, with everything before it that reached this socket). Durable when it
    /// returns `Ok`: the message is then acknowledged to its sender, which forgets it.
    fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError>;
}

/// The log's file name in the receipts directory.
const LOG: &str = "receipts.log";
/// One record: stream (u64 LE), sequence number (u64 LE), CRC-32C of those 16 bytes (u32 LE),
/// and a tag (u32 LE) that a torn or foreign record does not have.
const RECORD_LEN: usize = 24;
const TAG: u32 = u32::from_le_bytes(*b"ZRCP");
/// Streams remembered at most: a peer that announces a new stream per connection must not
/// grow the store without bound. The one committed longest ago is forgotten first (should
/// its sender send again what it finished with, it is delivered again).
const MAX_STREAMS: usize = 1 << 16;
/// Records the log may hold beyond one per stream before it is rewritten.
const SLACK: usize = 4096;

/// Receipts in a directory: one append-only log of marks, rewritten when it holds many more
/// records than streams. A commit is one `write` (it survives a crash of the process); with
/// [`FileReceipts::sync_each_commit`], also an `fsync` (it survives a power failure).
///
/// # Examples
///
/// ```
/// let dir = std::env::temp_dir().join(format!("zocket-doc-receipts-{}", std::process::id()));
/// let socket = zocket::Context::new().socket(zocket::SocketType::Pull)?;
/// socket.set_receipts(zocket::spool::FileReceipts::open(&dir)?)?;
/// # drop(socket);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct FileReceipts {
    dir: PathBuf,
    log: File,
    /// stream → (mark, when committed, by `clock`).
    marks: HashMap<u64, (u64, u64)>,
    /// The same by commit time, oldest first: the stream to forget when there are too many.
    by_age: BTreeMap<u64, u64>,
    clock: u64,
    records: usize,
    /// Records beyond one per stream before a rewrite ([`SLACK`]; smaller in tests).
    slack: usize,
    sync: bool,
    _lock: File,
}

impl FileReceipts {
    /// Opens (or creates) the receipts kept in `dir`. A record torn by a crash at the end of
    /// the log is dropped (its commit had not returned).
    ///
    /// # Errors
    /// [`SpoolError::Locked`] if another `FileReceipts` has the directory open;
    /// [`SpoolError::Io`] if it cannot be created or read; [`SpoolError::Corrupt`] if a
    /// record is damaged before valid ones (not a crash's torn tail: marks would go back, and
    /// messages finished with be delivered again).
    pub fn open(dir: impl AsRef<Path>) -> Result<FileReceipts, SpoolError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock_file = lock(&dir)?;
        let path = dir.join(LOG);
        let mut log = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut bytes = Vec::new();
        log.read_to_end(&mut bytes).map_err(io_err(&path))?;
        let mut receipts = FileReceipts {
            dir,
            log,
            marks: HashMap::new(),
            by_age: BTreeMap::new(),
            clock: 0,
            records: 0,
            slack: SLACK,
            sync: false,
            _lock: lock_file,
        };
        let mut valid = 0;
        for record in bytes.chunks_exact(RECORD_LEN) {
            let Some((stream, seq)) = decode(record) else {
                break;
            };
            receipts.remember(stream, seq);
            receipts.records += 1;
            valid += RECORD_LEN;
        }
        if bytes[valid..]
            .chunks_exact(RECORD_LEN)
            .skip(1)
            .any(|r| decode(r).is_some())
        {
            return Err(SpoolError::Corrupt {
                path,
                offset: valid as u64,
                reason: "damaged receipt before valid ones",
            });
        }
        if valid < bytes.len() {
            log::warn!(
                "receipts {}: dropping {} bytes at the end of the log (a commit torn by a crash)",
                path.display(),
                bytes.len() - valid
            );
            receipts.log.set_len(valid as u64).map_err(io_err(&path))?;
        }
        Ok(receipts)
    }

    /// Also `fsync`s each commit, so that receipts survive a power failure (slower: one disk
    /// flush per message finished).
    pub fn sync_each_commit(mut self, sync: bool) -> FileReceipts {
        self.sync = sync;
        self
    }

    fn remember(&mut self, stream: u64, seq: u64) {
        self.clock += 1;
        let entry = self.marks.entry(stream).or_insert((0, 0));
        self.by_age.remove(&entry.1);
        *entry = (entry.0.max(seq), self.clock);
        if stream != 0 {
            // Stream 0 is the receiver's identity (see `Socket::set_receipts`): never forgotten.
            self.by_age.insert(self.clock, stream);
        }
        if self.marks.len() > MAX_STREAMS
            && let Some((_, oldest)) = self.by_age.pop_first()
        {
            log::warn!("receipts: forgetting stream {oldest:016x}, committed longest ago");
            self.marks.remove(&oldest);
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(LOG)
    }

    /// Rewrites the log with one record per stream, oldest commit first (so that a reopened
    /// store forgets in the same order), atomically: a new file, synced, renamed over it. The
    /// sync is not optional here, as a power failure after the rename could otherwise lose
    /// marks committed long ago; it is rare.
    fn compact(&mut self) -> Result<(), SpoolError> {
        let path = self.path();
        let fresh = self.dir.join(format!("{LOG}.new"));
        let mut bytes = Vec::with_capacity(self.marks.len() * RECORD_LEN);
        if let Some(&(identity, _)) = self.marks.get(&0) {
            bytes.extend_from_slice(&encode(0, identity));
        }
        for stream in self.by_age.values() {
            if let Some(&(seq, _)) = self.marks.get(stream) {
                bytes.extend_from_slice(&encode(*stream, seq));
            }
        }
        let mut file = File::create(&fresh).map_err(io_err(&fresh))?;
        file.write_all(&bytes).map_err(io_err(&fresh))?;
        file.sync_all().map_err(io_err(&fresh))?;
        fs::rename(&fresh, &path).map_err(io_err(&path))?;
        fsync_dir(&self.dir)?;
        self.log = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        self.records = self.marks.len();
        Ok(())
    }
}

impl Receipts for FileReceipts {
    fn load(&mut self, stream: u64) -> Result<u64, SpoolError> {
        Ok(self.marks.get(&stream).map_or(0, |&(seq, _)| seq))
    }

    fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError> {
        if self.load(stream)? >= seq {
            return Ok(());
        }
        let path = self.path();
        self.log.write_all(&encode(stream, seq)).map_err(io_err(&path))?;
        if self.sync {
            self.log.sync_data().map_err(io_err(&path))?;
        }
        self.remember(stream, seq);
        self.records += 1;
        if self.records > self.marks.len() * 2 + self.slack {
            self.compact()?;
        }
        Ok(())
    }
}

fn encode(stream: u64, seq: u64) -> [u8; RECORD_LEN] {
    let mut record = [0; RECORD_LEN];
    record[..8].copy_from_slice(&stream.to_le_bytes());
    record[8..16].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::extend(0, &record[..16]);
    record[16..20].copy_from_slice(&crc.to_le_bytes());
    record[20..].copy_from_slice(&TAG.to_le_bytes());
    record
}

fn decode(record: &[u8]) -> Option<(u64, u64)> {
    let word = |at: usize| u32::from_le_bytes(record[at..at + 4].try_into().unwrap_or_default());
    if word(20) != TAG || word(16) != crc32c::extend(0, &record[..16]) {
        return None;
    }
    let stream = u64::from_le_bytes(record[..8].try_into().ok()?);
    let seq = u64::from_le_bytes(record[8..16].try_into().ok()?);
    Some((stream, seq))
}

#[cfg(all(test, not(loom)))]
mod tests;
