//! The default spool: a directory of append-only segment files.
//!
//! Layout of the directory:
//! - `NNNNNNNNNNNNNNNNNNNN.seg`: segments, named by the sequence number of their first record;
//!   each is a run of records (see `record.rs`), rolled when it reaches the segment size;
//! - `acked`: the highest acknowledged sequence number (u64 LE + CRC-32C), replaced atomically;
//! - `stream-id`: the stream's identity (u64 LE), written once;
//! - `lock`: held with an exclusive `flock` while a [`FileSpool`] has the directory open.
//!
//! Recovery on open scans every segment. What a crash or power loss leaves after the last
//! record of the newest segment (a torn record, zeros, garbage) is cut; damage before valid
//! records is corruption, reported with its file and offset, and either fails the open
//! ([`OnCorruption::Fail`], the default) or is skipped and listed in
//! [`FileSpool::corruptions`] ([`OnCorruption::Skip`]). The exact rule is in `recovery.rs`.
//!
//! Durability (`durability.rs`): the active segment's data, the `acked` file and the
//! directory's entries (created and deleted segments, the renames of `acked` and `stream-id`)
//! are fsynced per the [`FsyncPolicy`].

mod barrier;
mod batches;
mod cache;
mod config;
pub(super) mod dir;
mod durability;
mod inspect;
mod mapped;
mod marks;
mod prepared;
mod read_back;
mod reader;
mod recovery;
mod spare;
#[cfg(test)]
mod tests;

use super::record;
use super::{Spool, SpoolError};
use bytes::{Bytes, BytesMut};
use cache::RecentCache;
pub use config::{FileSpoolConfig, FsyncPolicy, OnCorruption};
use dir::{io_err, segment_name};
use durability::Durability;
pub use inspect::{SegmentReport, SpoolReport, inspect};
use mapped::{Mapping, map_active};
use marks::Marks;
use prepared::PreparedStore;
use reader::SegmentReader;
use recovery::recover_segments;
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Segment {
    first_seq: u64,
    /// Sequence number of its last record (`first_seq - 1` when empty).
    last_seq: u64,
    path: PathBuf,
    len: u64,
    /// Damaged byte ranges `(start, end)` skipped on open ([`OnCorruption::Skip`]): reads
    /// jump from `start` to the valid record at `end`.
    holes: Vec<(u64, u64)>,
    /// Where some of its records begin, for reads that jump.
    marks: Marks,
}

/// A spool kept in a directory of segment files. See the module documentation for the format.
///
/// The directory is locked while the spool is open: a second [`FileSpool::open`] of it, in
/// this process or another, fails with [`SpoolError::Locked`].
///
/// # Examples
///
/// ```
/// use zocket::{Context, SocketType, spool::FileSpool};
/// let dir = std::env::temp_dir().join(format!("zocket-doc-spool-{}", std::process::id()));
/// let ctx = Context::new();
/// let push = ctx.socket(SocketType::Push)?;
/// push.set_spool(FileSpool::open(&dir)?)?;
/// push.connect("tcp://127.0.0.1:5999")?; // nobody there yet: the message waits on disk
/// push.send("kept until delivered", 0)?;
/// # drop(push);
/// # drop(ctx);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct FileSpool {
    dir: PathBuf,
    config: FileSpoolConfig,
    segments: VecDeque<Segment>,
    active: Arc<File>,
    /// The active segment mapped for appends (`None`: appends use `pwrite`).
    mapping: Option<Mapping>,
    /// Whether an acknowledged segment is renamed aside, to become the next one (see
    /// `spare`).
    spare: bool,
    next_seq: u64,
    acked: u64,
    size: u64,
    cache: RecentCache,
    /// Where the last disk read stopped, so that the next one in order goes on from there.
    reader: Option<SegmentReader>,
    stream_id: u64,
    corruptions: Vec<SpoolError>,
    encode_buf: BytesMut,
    durability: Durability,
    prepared: PreparedStore,
    /// Prepared batches committed (appended) whose file is not deleted yet: no longer listed.
    committed: std::collections::HashSet<u64>,
    /// The directory's lock: declared after `durability`, so it is released only after the
    /// sync thread has stopped.
    _lock: File,
}

impl FileSpool {
    /// Opens (or creates) the spool in `dir` with default settings.
    ///
    /// # Errors
    /// See [`FileSpool::open_with`].
    pub fn open(dir: impl AsRef<Path>) -> Result<FileSpool, SpoolError> {
        FileSpool::open_with(dir, FileSpoolConfig::default())
    }

    /// Opens (or creates) the spool in `dir`, recovering what a previous run left.
    ///
    /// # Errors
    /// [`SpoolError::Locked`] if another `FileSpool` has the directory open;
    /// [`SpoolError::Corrupt`] for damage (with [`OnCorruption::Fail`]);
    /// [`SpoolError::Io`] if the directory or a file cannot be used.
    pub fn open_with(dir: impl AsRef<Path>, config: FileSpoolConfig) -> Result<FileSpool, SpoolError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock = dir::lock(&dir)?;
        spare::remove(&dir)?;
        let durable = config.fsync != FsyncPolicy::Never;
        let stream_id = dir::load_or_create_stream_id(&dir, durable)?;
        let mut corruptions = Vec::new();
        let acked = dir::load_acked(&dir, config.on_corruption, &mut corruptions)?;
        let found = dir::list_segments(&dir)?;
        // Segments are deleted only once acknowledged, so whatever lies before the oldest one
        // left was acknowledged, even if the acknowledgement file lags behind (a crash
        // between deleting segments and recording the mark).
        let acked = match found.first() {
            Some(&(first, _)) => acked.max(first.saturating_sub(1)),
            None => acked,
        };
        let mut committed = Vec::new();
        let (mut scanned, mut dir_changed) = recover_segments(
            &found,
            acked,
            config.on_corruption,
            durable,
            &mut corruptions,
            &mut committed,
        )?;
        let prepared = PreparedStore::open(&dir, durable, &committed)?;
        let next_seq = scanned
            .back()
            .map_or(acked + 1, |s| s.last_seq + 1)
            .max(acked + 1);
        let needs_new = match scanned.back() {
            None => true,
            Some(s) => s.len >= config.segment_size || s.last_seq + 1 != next_seq,
        };
        if needs_new {
            scanned.push_back(Segment {
                first_seq: next_seq,
                last_seq: next_seq - 1,
                path: dir.join(segment_name(next_seq)),
                len: 0,
                holes: Vec::new(),
                marks: Marks::default(),
            });
            dir_changed = true;
        }
        let active_path = scanned.back().expect("an active segment").path.clone();
        let active = Arc::new(open_for_append(&active_path)?);
        let active_len = scanned.back().map_or(0, |s| s.len);
        let mapping = map_active(&active, &active_path, active_len, config.segment_size);
        let durability = Durability::start(&dir, config.fsync, Arc::clone(&active), active_path, acked)?;
        if dir_changed {
            durability.dir_changed();
        }
        let size = scanned.iter().map(|s| s.len).sum();
        for c in &corruptions {
            log::error!("spool {}: {c}", dir.display());
        }
        let mut spool = FileSpool {
            dir,
            cache: RecentCache::new(config.cache_bytes),
            config,
            segments: scanned,
            active,
            mapping,
            spare: false,
            next_seq,
            acked,
            size,
            reader: None,
            stream_id,
            corruptions,
            encode_buf: BytesMut::new(),
            durability,
            prepared,
            committed: Default::default(),
            _lock: lock,
        };
        // The newest segment was kept even if acknowledged; if a new one was started after
        // it, it can go now.
        spool.delete_acked_segments()?;
        Ok(spool)
    }

    /// The policy's part after an append: with the group commit on, the caller syncs (see
    /// `Spool::group_sync`).
    fn after_append(&self) -> Result<(), SpoolError> {
        match self.durability.grouped() {
            true => self.durability.check(),
            false => self.durability.after_change(),
        }
    }

    /// Damaged records found (and skipped, with [`OnCorruption::Skip`]).
    pub fn corruptions(&self) -> &[SpoolError] {
        &self.corruptions
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn active_segment(&self) -> &Segment {
        self.segments.back().expect("an active segment")
    }

    /// Starts a new segment at `next_seq`. The full one is synced first (per the policy), so
    /// that data not yet synced is only ever at the end of the newest segment.
    fn roll(&mut self) -> Result<(), SpoolError> {
        self.cut_preallocated()?;
        if self.durability.durable() {
            let path = &self.active_segment().path;
            self.active.sync_data().map_err(io_err(path))?;
        }
        let path = self.dir.join(segment_name(self.next_seq));
        let reused = match std::mem::take(&mut self.spare) {
            true => spare::reuse(&self.dir, &path, self.durability.durable())
                .inspect_err(|e| log::warn!("spool: a new segment instead of the spare: {e}"))
                .ok(),
            false => None,
        };
        let file = Arc::new(match reused {
            Some(file) => file,
            None => open_for_append(&path)?,
        });
        self.mapping = map_active(&file, &path, 0, self.config.segment_size);
        self.active = Arc::clone(&file);
        self.durability.set_active(file, path.clone());
        self.durability.dir_changed();
        self.segments.push_back(Segment {
            first_seq: self.next_seq,
            last_seq: self.next_seq - 1,
            path,
            len: 0,
            holes: Vec::new(),
            marks: Marks::default(),
        });
        Ok(())
    }

    /// Deletes the segments whose records are all acknowledged (never the active one). The
    /// mark is recorded by the next flush, after the deletion: if a crash comes in between,
    /// open infers the mark from the oldest segment left.
    fn delete_acked_segments(&mut self) -> Result<(), SpoolError> {
        while self.segments.len() > 1 && self.segments[0].last_seq <= self.acked {
            let oldest = &self.segments[0];
            // Kept for the next roll if its file is most of a segment (the zeros it spares),
            // and appends store into a mapping (which is what the zeros are written for).
            if !self.spare && self.mapping.is_some() && oldest.len >= self.config.segment_size / 2 {
                spare::keep(&self.dir, &oldest.path)?;
                self.spare = true;
            } else {
                fs::remove_file(&oldest.path).map_err(io_err(&oldest.path))?;
            }
            let seg = self.segments.pop_front().expect("front");
            self.size -= seg.len;
            if self
                .reader
                .as_ref()
                .is_some_and(|r| r.segment_first() == seg.first_seq)
            {
                self.reader = None;
            }
            self.durability.dir_changed();
        }
        Ok(())
    }

    /// Refuses a message that can never fit, and makes room if everything is acknowledged
    /// but still held by the active segment.
    fn check_room(&mut self, len: u64) -> Result<(), SpoolError> {
        self.check_fits(len)?;
        let Some(limit) = self.config.quota else {
            return Ok(());
        };
        if self.size + len > limit && self.acked + 1 == self.next_seq {
            // Everything is acknowledged, but the active segment is never deleted: start a
            // new one so that it can go, or the message would wait forever.
            if self.active_segment().len > 0 {
                self.roll()?;
            }
            self.delete_acked_segments()?;
        }
        if self.size + len > limit {
            return Err(SpoolError::Full {
                size: self.size,
                limit,
            });
        }
        Ok(())
    }

    /// Refuses `len` bytes of records that could never be appended (past the format's or the
    /// quota's bound).
    fn check_fits(&self, len: u64) -> Result<(), SpoolError> {
        if len > record::MAX_RECORD {
            return Err(SpoolError::TooLarge {
                size: len,
                limit: record::MAX_RECORD,
                bound: "the record format",
            });
        }
        let Some(limit) = self.config.quota else {
            return Ok(());
        };
        if len > limit {
            return Err(SpoolError::TooLarge {
                size: len,
                limit,
                bound: "the quota",
            });
        }
        Ok(())
    }

    /// Unmaps the active segment and cuts what lies past its last record (zeros written
    /// ahead, or a recycled segment's earlier records), so that only the newest segment ever
    /// ends with a crash tail.
    fn cut_preallocated(&mut self) -> Result<(), SpoolError> {
        self.mapping = None;
        let seg = self.active_segment();
        let file_len = self.active.metadata().map_err(io_err(&seg.path))?.len();
        if file_len > seg.len {
            self.active.set_len(seg.len).map_err(io_err(&seg.path))?;
        }
        Ok(())
    }

    /// Writes the encoded record at the end of the active segment: a store into its mapping,
    /// or a `pwrite`. On a failed `pwrite`, cuts what was written of it, so that a torn
    /// record never lies before later ones.
    fn write_record(&mut self) -> Result<(), SpoolError> {
        let len = self.active_segment().len;
        // The path is cloned only for an error: an append must not allocate.
        let error = |spool: &Self, source| SpoolError::Io {
            path: spool.active_segment().path.clone(),
            source,
        };
        if let Some(mapping) = &mut self.mapping {
            match mapping.store(&self.active, len, &self.encode_buf) {
                Ok(true) => return Ok(()),
                Ok(false) => {}                       // larger than the mapping: written below
                Err(e) => return Err(error(self, e)), // nothing stored
            }
        }
        let Err(e) = self.active.write_all_at(&self.encode_buf, len) else {
            return Ok(());
        };
        let err = error(self, e);
        // The cut also removes preallocated blocks: the mapping must not store past it.
        self.mapping = None;
        if let Err(cut) = self.active.set_len(len) {
            log::error!("spool {}: cannot cut a failed append ({cut})", self.dir.display());
            self.durability.fail(&err);
        }
        Err(err)
    }

    /// The durability state, for the unit tests of the sync thread.
    #[cfg(test)]
    fn durability(&self) -> &Durability {
        &self.durability
    }
}

/// Opens a segment for appends, which write at its logical end (not `O_APPEND`: the file
/// extends past it when preallocated for the mapping).
fn open_for_append(path: &Path) -> Result<File, SpoolError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path))
}

impl Spool for FileSpool {
    fn append(&mut self, frames: &[Bytes]) -> Result<u64, SpoolError> {
        self.durability.check()?;
        let len = record::encoded_len(frames);
        self.check_room(len)?;
        let active_len = self.active_segment().len;
        if active_len > 0 && active_len + len > self.config.segment_size {
            self.roll()?;
        }
        let seq = self.next_seq;
        self.encode_buf.clear();
        record::encode(seq, frames, &mut self.encode_buf);
        self.write_record()?;
        let seg = self.segments.back_mut().expect("an active segment");
        seg.marks.note(seq, seg.len);
        seg.len += len;
        seg.last_seq = seq;
        self.size += len;
        self.next_seq += 1;
        self.cache.insert(seq, frames);
        self.durability.after_append()?;
        Ok(seq)
    }

    fn read(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError> {
        if seq <= self.acked || seq >= self.next_seq {
            return Ok(None);
        }
        if let Some(frames) = self.cache.get(seq) {
            return Ok(Some(frames));
        }
        self.read_from_disk(seq)
    }

    fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        let seq = seq.min(self.next_seq - 1);
        if seq <= self.acked {
            return Ok(());
        }
        self.acked = seq;
        self.cache.forget_through(seq);
        self.durability.acked(seq);
        self.delete_acked_segments()?;
        self.durability.after_change()
    }

    fn sync(&mut self) -> Result<(), SpoolError> {
        self.durability.flush_durably()
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn first_unacked(&self) -> u64 {
        self.acked + 1
    }

    fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn stream_id(&self) -> u64 {
        self.stream_id
    }

    fn append_batch(&mut self, messages: &[Vec<Bytes>], commits: Option<u64>) -> Result<u64, SpoolError> {
        self.append_batch_records(messages, commits)
    }

    fn prepare(&mut self, id: u64, messages: &[Vec<Bytes>]) -> Result<(), SpoolError> {
        self.prepare_batch(id, messages)
    }

    fn prepared(&mut self) -> Result<Vec<u64>, SpoolError> {
        self.prepared_ids()
    }

    fn read_prepared(&mut self, id: u64) -> Result<Option<Vec<Vec<Bytes>>>, SpoolError> {
        self.read_prepared_batch(id)
    }

    fn forget_prepared(&mut self, id: u64) -> Result<(), SpoolError> {
        self.forget_prepared_batch(id)
    }

    fn group_sync(&mut self) -> Option<Arc<dyn super::GroupSync>> {
        let grouped = self.durability.group()?;
        Some(Arc::new(grouped))
    }
}

impl Drop for FileSpool {
    fn drop(&mut self) {
        if let Err(e) = self.durability.flush() {
            log::error!("spool {}: flushing on close failed: {e}", self.dir.display());
        }
        if let Err(e) = self.cut_preallocated() {
            log::warn!(
                "spool {}: the next open cuts the preallocated tail: {e}",
                self.dir.display()
            );
        }
        if std::mem::take(&mut self.spare)
            && let Err(e) = spare::remove(&self.dir)
        {
            log::warn!(
                "spool {}: the next open removes the spare segment: {e}",
                self.dir.display()
            );
        }
    }
}
