//! The default spool: a directory of append-only segment files.
//!
//! Layout of the directory:
//! - `NNNNNNNNNNNNNNNNNNNN.seg`: segments, named by the sequence number of their first record;
//!   each is a run of records (see `record.rs`), rolled when it reaches the segment size;
//! - `acked`: the highest acknowledged sequence number (u64 LE + CRC-32C), replaced atomically;
//! - `stream-id`: the stream's identity (u64 LE), written once.
//!
//! Recovery on open scans every segment: a torn last record (a crash in the middle of a write)
//! is cut off; any other damage is reported with its file and offset, and either fails the open
//! ([`OnCorruption::Fail`], the default) or is skipped and listed in
//! [`FileSpool::corruptions`] ([`OnCorruption::Skip`]).

use super::record::{self, Decoded};
use super::{Spool, SpoolError, crc32c, new_stream_id};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// When appended data and acknowledgements are forced to stable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every append and acknowledgement: nothing is lost even on power failure; slow.
    Always,
    /// At most this long after an append (checked on each spool call): a power failure can
    /// lose that window; a process crash loses nothing (the data is in the kernel).
    Every(Duration),
    /// Never: the operating system writes back when it likes.
    Never,
}

/// What to do when a damaged record is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCorruption {
    /// Refuse to open (or to read), naming the file and offset.
    Fail,
    /// Skip the damaged record(s), report them in [`FileSpool::corruptions`] and the log.
    Skip,
}

/// Settings of a [`FileSpool`].
#[derive(Clone, Debug)]
pub struct FileSpoolConfig {
    /// A segment is rolled when it would grow past this many bytes (default 64 MiB).
    pub segment_size: u64,
    /// Durability policy (default: every 100 ms).
    pub fsync: FsyncPolicy,
    /// Most bytes held on disk; an append beyond it fails with [`SpoolError::Full`]
    /// (default: no quota).
    pub quota: Option<u64>,
    /// Damaged records: fail or skip (default: fail).
    pub on_corruption: OnCorruption,
    /// Recently appended messages kept in memory too, so that delivering them does not read
    /// the disk back (default 8 MiB).
    pub cache_bytes: usize,
}

impl Default for FileSpoolConfig {
    fn default() -> FileSpoolConfig {
        FileSpoolConfig {
            segment_size: 64 << 20,
            fsync: FsyncPolicy::Every(Duration::from_millis(100)),
            quota: None,
            on_corruption: OnCorruption::Fail,
            cache_bytes: 8 << 20,
        }
    }
}

struct Segment {
    first_seq: u64,
    /// Sequence number of its last record (`first_seq - 1` when empty).
    last_seq: u64,
    path: PathBuf,
    len: u64,
}

/// Where the last disk read stopped, so the next one in order continues from there.
struct ReadCursor {
    segment_first: u64,
    offset: u64,
    next_seq: u64,
}

/// A spool kept in a directory of segment files. See the module documentation for the format.
pub struct FileSpool {
    dir: PathBuf,
    config: FileSpoolConfig,
    segments: VecDeque<Segment>,
    active: File,
    next_seq: u64,
    acked: u64,
    acked_persisted: u64,
    size: u64,
    cache: VecDeque<(u64, Vec<Bytes>, usize)>,
    cache_size: usize,
    cursor: Option<ReadCursor>,
    last_sync: Instant,
    unsynced: bool,
    stream_id: u64,
    corruptions: Vec<SpoolError>,
    encode_buf: BytesMut,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

impl FileSpool {
    /// Opens (or creates) the spool in `dir` with default settings.
    pub fn open(dir: impl AsRef<Path>) -> Result<FileSpool, SpoolError> {
        FileSpool::open_with(dir, FileSpoolConfig::default())
    }

    /// Opens (or creates) the spool in `dir`, recovering what a previous run left.
    pub fn open_with(dir: impl AsRef<Path>, config: FileSpoolConfig) -> Result<FileSpool, SpoolError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let stream_id = load_or_create_stream_id(&dir)?;
        let mut corruptions = Vec::new();
        let acked = load_acked(&dir, config.on_corruption, &mut corruptions)?;
        let found = list_segments(&dir)?;
        let newest = found.len().saturating_sub(1);
        let mut scanned = VecDeque::new();
        for (i, (first_seq, path)) in found.into_iter().enumerate() {
            // A torn record can only be the last one written, in the newest segment.
            let is_last = i == newest;
            let seg = scan_segment(first_seq, &path, is_last, config.on_corruption, &mut corruptions)?;
            if seg.last_seq <= acked && !is_last {
                fs::remove_file(&seg.path).map_err(io_err(&seg.path))?;
                continue;
            }
            scanned.push_back(seg);
        }
        // Segments are deleted only once acknowledged, so whatever lies before the oldest one
        // left was acknowledged, even if the acknowledgement file lags behind (a crash
        // between the two).
        let acked = match scanned.front() {
            Some(first) => acked.max(first.first_seq.saturating_sub(1)),
            None => acked,
        };
        let next_seq = scanned
            .back()
            .map_or(acked + 1, |s| s.last_seq + 1)
            .max(acked + 1);
        let needs_new = match scanned.back() {
            None => true,
            Some(s) => s.len >= config.segment_size || s.last_seq + 1 != next_seq,
        };
        if needs_new {
            let path = dir.join(segment_name(next_seq));
            scanned.push_back(Segment {
                first_seq: next_seq,
                last_seq: next_seq - 1,
                path,
                len: 0,
            });
        }
        let active_path = &scanned.back().expect("an active segment").path;
        let active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(active_path)
            .map_err(io_err(active_path))?;
        let size = scanned.iter().map(|s| s.len).sum();
        for c in &corruptions {
            log::error!("spool {}: {c}", dir.display());
        }
        Ok(FileSpool {
            dir,
            config,
            segments: scanned,
            active,
            next_seq,
            acked,
            acked_persisted: acked,
            size,
            cache: VecDeque::new(),
            cache_size: 0,
            cursor: None,
            last_sync: Instant::now(),
            unsynced: false,
            stream_id,
            corruptions,
            encode_buf: BytesMut::new(),
        })
    }

    /// Damaged records found (and skipped, with [`OnCorruption::Skip`]).
    pub fn corruptions(&self) -> &[SpoolError] {
        &self.corruptions
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn roll(&mut self) -> Result<(), SpoolError> {
        if self.config.fsync != FsyncPolicy::Never {
            let path = &self.segments.back().expect("active").path;
            self.active.sync_data().map_err(io_err(path))?;
        }
        let path = self.dir.join(segment_name(self.next_seq));
        self.active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        self.segments.push_back(Segment {
            first_seq: self.next_seq,
            last_seq: self.next_seq - 1,
            path,
            len: 0,
        });
        Ok(())
    }

    /// Applies the fsync policy after a change.
    fn maybe_sync(&mut self) -> Result<(), SpoolError> {
        let due = match self.config.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::Every(d) => self.last_sync.elapsed() >= d,
            // Still write the ack file now and then, so a restart does not resend everything.
            FsyncPolicy::Never => self.last_sync.elapsed() >= Duration::from_millis(100),
        };
        if due && (self.unsynced || self.acked != self.acked_persisted) {
            self.flush(self.config.fsync != FsyncPolicy::Never)?;
        }
        Ok(())
    }

    fn flush(&mut self, durable: bool) -> Result<(), SpoolError> {
        if durable && self.unsynced {
            let path = &self.segments.back().expect("active").path;
            self.active.sync_data().map_err(io_err(path))?;
        }
        if self.acked != self.acked_persisted {
            store_acked(&self.dir, self.acked, durable)?;
            self.acked_persisted = self.acked;
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn read_from_disk(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError> {
        let idx = match self.segments.binary_search_by_key(&seq, |s| s.first_seq) {
            Ok(i) => i,
            Err(0) => return Ok(None),
            Err(i) => i - 1,
        };
        let seg = &self.segments[idx];
        if seq > seg.last_seq {
            return Ok(None);
        }
        let (mut offset, mut next) = match &self.cursor {
            Some(c) if c.segment_first == seg.first_seq && c.next_seq <= seq => (c.offset, c.next_seq),
            _ => (0, seg.first_seq),
        };
        let file = File::open(&seg.path).map_err(io_err(&seg.path))?;
        let mut header = [0u8; record::HEADER_LEN];
        while offset < seg.len {
            file.read_exact_at(&mut header, offset)
                .map_err(io_err(&seg.path))?;
            let body_len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
            let total = record::HEADER_LEN as u64 + u64::from(body_len);
            if body_len > record::MAX_BODY || offset + total > seg.len {
                return self.damaged(&seg.path.clone(), offset, "implausible record length");
            }
            let mut buf = vec![0u8; total as usize];
            file.read_exact_at(&mut buf, offset).map_err(io_err(&seg.path))?;
            match record::decode(&Bytes::from(buf)) {
                Decoded::Record {
                    seq: found, frames, ..
                } => {
                    offset += total;
                    next = found + 1;
                    if found == seq {
                        self.cursor = Some(ReadCursor {
                            segment_first: seg.first_seq,
                            offset,
                            next_seq: next,
                        });
                        return Ok(Some(frames));
                    }
                    if found > seq {
                        return Ok(None); // skipped on open as damaged
                    }
                }
                Decoded::Incomplete => return self.damaged(&seg.path.clone(), offset, "truncated record"),
                Decoded::Corrupt(reason) => {
                    if self.config.on_corruption == OnCorruption::Fail {
                        return Err(SpoolError::Corrupt {
                            path: seg.path.clone(),
                            offset,
                            reason,
                        });
                    }
                    offset += total;
                    next += 1;
                }
            }
        }
        let _ = next;
        Ok(None)
    }

    fn damaged(
        &mut self,
        path: &Path,
        offset: u64,
        reason: &'static str,
    ) -> Result<Option<Vec<Bytes>>, SpoolError> {
        let err = SpoolError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        };
        if self.config.on_corruption == OnCorruption::Fail {
            return Err(err);
        }
        log::error!("spool {}: {err}", self.dir.display());
        self.corruptions.push(err);
        Ok(None)
    }
}

impl Spool for FileSpool {
    fn append(&mut self, frames: &[Bytes]) -> Result<u64, SpoolError> {
        let seq = self.next_seq;
        self.encode_buf.clear();
        record::encode(seq, frames, &mut self.encode_buf);
        let len = self.encode_buf.len() as u64;
        if let Some(limit) = self.config.quota
            && self.size + len > limit
        {
            return Err(SpoolError::Full {
                size: self.size,
                limit,
            });
        }
        let active_len = self.segments.back().expect("active").len;
        if active_len > 0 && active_len + len > self.config.segment_size {
            self.roll()?;
        }
        let path = &self.segments.back().expect("active").path;
        self.active.write_all(&self.encode_buf).map_err(io_err(path))?;
        let seg = self.segments.back_mut().expect("active");
        seg.len += len;
        seg.last_seq = seq;
        self.size += len;
        self.next_seq += 1;
        self.unsynced = true;
        let payload: usize = frames.iter().map(Bytes::len).sum::<usize>() + 64;
        if payload <= self.config.cache_bytes {
            self.cache.push_back((seq, frames.to_vec(), payload));
            self.cache_size += payload;
            while self.cache_size > self.config.cache_bytes {
                let Some((_, _, n)) = self.cache.pop_front() else {
                    break;
                };
                self.cache_size -= n;
            }
        }
        self.maybe_sync()?;
        Ok(seq)
    }

    fn read(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError> {
        if seq <= self.acked || seq >= self.next_seq {
            return Ok(None);
        }
        // The cache holds increasing sequence numbers with gaps (a message larger than the
        // cache is not cached), so it is searched by number, never indexed by position.
        if let Ok(i) = self.cache.binary_search_by_key(&seq, |(s, _, _)| *s) {
            return Ok(Some(self.cache[i].1.clone()));
        }
        self.read_from_disk(seq)
    }

    fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        let seq = seq.min(self.next_seq - 1);
        if seq <= self.acked {
            return Ok(());
        }
        self.acked = seq;
        while self.cache.front().is_some_and(|(s, _, _)| *s <= seq) {
            let (_, _, n) = self.cache.pop_front().expect("front");
            self.cache_size -= n;
        }
        if self.segments.len() > 1 && self.segments[0].last_seq <= seq {
            // Record the acknowledgement before deleting what it covers, so that a crash in
            // between never leaves the mark behind the oldest segment on disk.
            self.flush(self.config.fsync != FsyncPolicy::Never)?;
        }
        while self.segments.len() > 1 && self.segments[0].last_seq <= seq {
            let seg = self.segments.pop_front().expect("front");
            fs::remove_file(&seg.path).map_err(io_err(&seg.path))?;
            self.size -= seg.len;
            if self
                .cursor
                .as_ref()
                .is_some_and(|c| c.segment_first == seg.first_seq)
            {
                self.cursor = None;
            }
        }
        self.maybe_sync()
    }

    fn sync(&mut self) -> Result<(), SpoolError> {
        self.flush(true)
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
}

impl Drop for FileSpool {
    fn drop(&mut self) {
        if let Err(e) = self.flush(self.config.fsync != FsyncPolicy::Never) {
            log::error!("spool {}: flushing on close failed: {e}", self.dir.display());
        }
    }
}

fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, SpoolError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let first = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first {
            found.push((first, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Reads a segment, checks every record, and cuts a torn tail (only in the newest segment).
fn scan_segment(
    first_seq: u64,
    path: &Path,
    is_last: bool,
    on_corruption: OnCorruption,
    corruptions: &mut Vec<SpoolError>,
) -> Result<Segment, SpoolError> {
    let data = Bytes::from(fs::read(path).map_err(io_err(path))?);
    let mut offset = 0usize;
    let mut expected = first_seq;
    let mut report = |offset: usize, reason: &'static str| -> Result<(), SpoolError> {
        let err = SpoolError::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason,
        };
        match on_corruption {
            OnCorruption::Fail => Err(err),
            OnCorruption::Skip => {
                corruptions.push(err);
                Ok(())
            }
        }
    };
    while offset < data.len() {
        match record::decode(&data.slice(offset..)) {
            Decoded::Record { seq, len, .. } if seq == expected => {
                offset += len;
                expected += 1;
            }
            Decoded::Record { len, .. } => {
                report(offset, "record out of sequence")?;
                offset += len;
                expected += 1;
            }
            Decoded::Incomplete if is_last => {
                log::warn!("spool {}: cutting a torn record at byte {offset}", path.display());
                let file = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
                file.set_len(offset as u64).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
                break;
            }
            Decoded::Incomplete => {
                report(offset, "segment truncated in the middle of a record")?;
                break;
            }
            Decoded::Corrupt(reason) => {
                report(offset, reason)?;
                // A plausible length lets the scan step over just this record.
                let body_len = u32::from_le_bytes(data[offset..offset + 4].try_into().expect("4 bytes"));
                let total = record::HEADER_LEN + body_len as usize;
                if body_len > record::MAX_BODY || offset + total > data.len() {
                    break;
                }
                offset += total;
                expected += 1;
            }
        }
    }
    Ok(Segment {
        first_seq,
        last_seq: expected - 1,
        path: path.to_path_buf(),
        len: offset as u64,
    })
}

fn load_acked(
    dir: &Path,
    on_corruption: OnCorruption,
    corruptions: &mut Vec<SpoolError>,
) -> Result<u64, SpoolError> {
    let path = dir.join("acked");
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(SpoolError::Io { path, source: e }),
    };
    if bytes.len() == 12 {
        let seq = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(bytes[8..].try_into().expect("4 bytes"));
        if crc32c::extend(0, &bytes[..8]) == crc {
            return Ok(seq);
        }
    }
    let err = SpoolError::Corrupt {
        path,
        offset: 0,
        reason: "damaged acknowledgement file",
    };
    match on_corruption {
        OnCorruption::Fail => Err(err),
        OnCorruption::Skip => {
            corruptions.push(err);
            Ok(0) // everything is delivered again: duplicates, never loss
        }
    }
}

fn store_acked(dir: &Path, seq: u64, durable: bool) -> Result<(), SpoolError> {
    let tmp = dir.join("acked.tmp");
    let mut bytes = seq.to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32c::extend(0, &bytes).to_le_bytes());
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(&bytes).map_err(io_err(&tmp))?;
    if durable {
        f.sync_data().map_err(io_err(&tmp))?;
    }
    let path = dir.join("acked");
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

fn load_or_create_stream_id(dir: &Path) -> Result<u64, SpoolError> {
    let path = dir.join("stream-id");
    match fs::read(&path) {
        Ok(b) if b.len() == 8 => return Ok(u64::from_le_bytes(b[..].try_into().expect("8 bytes"))),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SpoolError::Io { path, source: e }),
    }
    let id = new_stream_id();
    let mut f = File::create(&path).map_err(io_err(&path))?;
    f.write_all(&id.to_le_bytes()).map_err(io_err(&path))?;
    f.sync_all().map_err(io_err(&path))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zocket-spool-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn msg(i: u32) -> Vec<Bytes> {
        vec![
            Bytes::copy_from_slice(&i.to_be_bytes()),
            Bytes::from(vec![b'x'; (i % 50) as usize]),
        ]
    }

    fn small_segments() -> FileSpoolConfig {
        FileSpoolConfig {
            segment_size: 1024,
            ..FileSpoolConfig::default()
        }
    }

    #[test]
    fn append_read_ack_reopen() {
        let dir = temp_dir("basic");
        {
            let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
            for i in 1..=200 {
                assert_eq!(s.append(&msg(i)).unwrap(), u64::from(i));
            }
            s.ack(120).unwrap();
            assert_eq!(s.read(120).unwrap(), None);
            assert_eq!(s.read(121).unwrap(), Some(msg(121)));
        }
        let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
        assert_eq!(s.first_unacked(), 121);
        assert_eq!(s.next_seq(), 201);
        for i in 121..=200 {
            assert_eq!(
                s.read(u64::from(i)).unwrap(),
                Some(msg(i)),
                "record {i} after reopen"
            );
        }
        let segments_before = list_segments(&dir).unwrap().len();
        s.ack(200).unwrap();
        assert!(
            list_segments(&dir).unwrap().len() < segments_before,
            "acked segments deleted"
        );
        assert_eq!(s.append(&msg(201)).unwrap(), 201);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lagging_acknowledgement_file_never_strands_the_mark() {
        // A crash between deleting acknowledged segments and recording the mark: simulate it
        // by putting back an old acknowledgement file.
        let dir = temp_dir("lag");
        {
            let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
            for i in 1..=200 {
                s.append(&msg(i)).unwrap();
            }
        }
        store_acked(&dir, 0, false).unwrap();
        {
            let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
            s.ack(150).unwrap();
        }
        store_acked(&dir, 3, false).unwrap();
        let s = FileSpool::open_with(&dir, small_segments()).unwrap();
        let first_on_disk = list_segments(&dir).unwrap()[0].0;
        assert!(first_on_disk > 4, "acknowledged segments were deleted");
        assert_eq!(
            s.first_unacked(),
            first_on_disk,
            "the mark starts at the oldest record left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn torn_tail_is_cut() {
        let dir = temp_dir("torn");
        {
            let mut s = FileSpool::open(&dir).unwrap();
            for i in 1..=10 {
                s.append(&msg(i)).unwrap();
            }
        }
        let (_, path) = list_segments(&dir).unwrap().pop().unwrap();
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let mut s = FileSpool::open(&dir).unwrap();
        assert_eq!(s.next_seq(), 10, "the torn 10th record is gone");
        assert_eq!(s.read(9).unwrap(), Some(msg(9)));
        assert_eq!(s.append(&msg(10)).unwrap(), 10);
        drop(s);
        let mut s = FileSpool::open(&dir).unwrap();
        assert_eq!(s.read(10).unwrap(), Some(msg(10)));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flipped_byte_is_reported_or_skipped() {
        let dir = temp_dir("flip");
        {
            let mut s = FileSpool::open(&dir).unwrap();
            for i in 1..=10 {
                s.append(&msg(i)).unwrap();
            }
        }
        let (_, path) = list_segments(&dir).unwrap().pop().unwrap();
        let mut data = fs::read(&path).unwrap();
        let mut offset = 0;
        for _ in 0..4 {
            offset += 8 + u32::from_le_bytes(data[offset..offset + 4].try_into().unwrap()) as usize;
        }
        data[offset + 20] ^= 0x01; // inside the 5th record's body
        fs::write(&path, &data).unwrap();
        match FileSpool::open(&dir) {
            Err(SpoolError::Corrupt {
                offset: at, reason, ..
            }) => {
                assert_eq!(at, offset as u64);
                assert_eq!(reason, "checksum mismatch");
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a flipped byte went unnoticed"),
        }
        let config = FileSpoolConfig {
            on_corruption: OnCorruption::Skip,
            ..FileSpoolConfig::default()
        };
        let mut s = FileSpool::open_with(&dir, config).unwrap();
        assert_eq!(s.corruptions().len(), 1);
        assert_eq!(s.read(4).unwrap(), Some(msg(4)));
        assert_eq!(
            s.read(5).unwrap(),
            None,
            "the damaged record is skipped, and reported"
        );
        assert_eq!(s.read(6).unwrap(), Some(msg(6)));
        assert_eq!(s.next_seq(), 11);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_length_is_reported() {
        let dir = temp_dir("len");
        {
            let mut s = FileSpool::open(&dir).unwrap();
            for i in 1..=3 {
                s.append(&msg(i)).unwrap();
            }
            s.append(&msg(4)).unwrap();
        }
        let (_, path) = list_segments(&dir).unwrap().pop().unwrap();
        let mut data = fs::read(&path).unwrap();
        data[3] = 0x50; // first record's length now absurd
        fs::write(&path, &data).unwrap();
        assert!(matches!(
            FileSpool::open(&dir),
            Err(SpoolError::Corrupt { offset: 0, .. })
        ));
        let config = FileSpoolConfig {
            on_corruption: OnCorruption::Skip,
            ..FileSpoolConfig::default()
        };
        let s = FileSpool::open_with(&dir, config).unwrap();
        assert_eq!(
            s.corruptions().len(),
            1,
            "the rest of the segment is reported lost"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn quota_refuses_and_keeps_everything_accepted() {
        let dir = temp_dir("quota");
        let config = FileSpoolConfig {
            quota: Some(300),
            segment_size: 100,
            ..FileSpoolConfig::default()
        };
        let mut s = FileSpool::open_with(&dir, config.clone()).unwrap();
        let mut accepted = 0;
        loop {
            match s.append(&msg(accepted + 1)) {
                Ok(_) => accepted += 1,
                Err(SpoolError::Full { .. }) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(accepted > 0);
        for i in 1..=accepted {
            assert_eq!(s.read(u64::from(i)).unwrap(), Some(msg(i)));
        }
        s.ack(u64::from(accepted)).unwrap();
        assert!(s.append(&msg(accepted + 1)).is_ok(), "acknowledging frees room");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let file = temp_dir("not-a-dir");
        fs::write(&file, b"x").unwrap();
        match FileSpool::open(file.join("sub")) {
            Err(SpoolError::Io { path, .. }) => assert!(path.starts_with(&file)),
            other => panic!("expected an I/O error, got {:?}", other.err()),
        }
        fs::remove_file(&file).unwrap();
    }

    #[test]
    fn reading_back_from_disk_after_the_cache() {
        let dir = temp_dir("cache");
        let config = FileSpoolConfig {
            cache_bytes: 200,
            segment_size: 500,
            ..FileSpoolConfig::default()
        };
        let mut s = FileSpool::open_with(&dir, config).unwrap();
        for i in 1..=100 {
            s.append(&msg(i)).unwrap();
        }
        for i in 1..=100 {
            assert_eq!(s.read(u64::from(i)).unwrap(), Some(msg(i)));
        }
        assert_eq!(
            s.read(37).unwrap(),
            Some(msg(37)),
            "random access goes back in the file"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
