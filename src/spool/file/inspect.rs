//! A read-only look at a spool directory, for tooling (`examples/spool_inspect.rs`): its
//! segments, their records, the acknowledgement mark and any damage, without taking the
//! directory's lock, so it works on a spool in use (what it reports may then be a moment
//! old).

use super::super::record::{self, Decoded};
use super::super::{SpoolError, crc32c};
use super::dir::{io_err, list_segments};
use bytes::Bytes;
use std::fs;
use std::path::{Path, PathBuf};

/// What [`inspect`] found in a spool directory.
///
/// # Examples
///
/// ```
/// use zocket::spool::{inspect, FileSpool, Spool};
/// let dir = std::env::temp_dir().join(format!("zocket-doc-inspect-{}", std::process::id()));
/// let mut spool = FileSpool::open(&dir)?;
/// spool.append(&[bytes::Bytes::from("one")])?;
/// spool.sync()?;
/// let report = inspect(&dir)?;
/// assert_eq!(report.unacked(), 1);
/// assert!(report.segments.iter().all(|s| s.damage.is_empty()));
/// # drop(spool);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), zocket::spool::SpoolError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SpoolReport {
    /// The spool's stream id, if its file is whole.
    pub stream_id: Option<u64>,
    /// Every message up to this one is acknowledged (0: none); `None` if the mark's file is
    /// damaged.
    pub acked: Option<u64>,
    /// The segments, oldest first.
    pub segments: Vec<SegmentReport>,
}

impl SpoolReport {
    /// Messages held and not acknowledged (with an unknown mark, all of them).
    pub fn unacked(&self) -> u64 {
        self.segments.iter().map(|s| s.unacked).sum()
    }

    /// Whether any segment is damaged.
    pub fn damaged(&self) -> bool {
        self.segments.iter().any(|s| !s.damage.is_empty())
    }
}

/// One segment file.
///
/// # Examples
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("zocket-doc-segment-{}", std::process::id()));
/// # let mut spool = zocket::spool::FileSpool::open(&dir)?;
/// # zocket::spool::Spool::append(&mut spool, &[bytes::Bytes::from("x")])?;
/// # zocket::spool::Spool::sync(&mut spool)?;
/// for segment in zocket::spool::inspect(&dir)?.segments {
///     println!("{}: {} records, {} unacknowledged", segment.path.display(), segment.records, segment.unacked);
/// }
/// # drop(spool);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), zocket::spool::SpoolError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentReport {
    /// The segment file.
    pub path: PathBuf,
    /// The sequence number its name says it starts at.
    pub first_seq: u64,
    /// Whole, valid records.
    pub records: u64,
    /// The highest sequence number among them.
    pub last_seq: Option<u64>,
    /// Records above the acknowledgement mark.
    pub unacked: u64,
    /// The file's size.
    pub bytes: u64,
    /// Zeros after the last record: room preallocated for appends (the open spool's active
    /// segment, or one left by a crash, which the next open cuts). After a power loss they
    /// may also stand for appends that never reached the disk, within the fsync policy's
    /// window. In a segment that reuses an acknowledged one, its earlier records, numbered
    /// lower, count here too: appends overwrite them.
    pub preallocated: u64,
    /// Where records are damaged: (byte offset, what is wrong). Damage at the very end of the
    /// newest segment is usually a write torn by a crash, which the next open cuts.
    pub damage: Vec<(u64, &'static str)>,
}

/// A valid record numbered lower than the one before it.
const OUT_OF_SEQUENCE: &str = "record out of sequence";

/// Looks at the spool in `dir` without changing or locking anything.
///
/// # Errors
/// [`SpoolError::Io`] if the directory or a segment cannot be read.
///
/// # Examples
///
/// ```
/// use zocket::spool::{FileSpool, Spool};
/// let dir = std::env::temp_dir().join(format!("zocket-doc-inspect-{}", std::process::id()));
/// let mut spool = FileSpool::open(&dir)?;
/// spool.append(&[bytes::Bytes::from_static(b"hello")])?;
/// let report = zocket::spool::inspect(&dir)?;
/// assert_eq!((report.unacked(), report.damaged()), (1, false));
/// # drop(spool);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), zocket::spool::SpoolError>(())
/// ```
pub fn inspect(dir: impl AsRef<Path>) -> Result<SpoolReport, SpoolError> {
    let dir = dir.as_ref();
    let stream_id = fs::read(dir.join("stream-id"))
        .ok()
        .and_then(|b| Some(u64::from_le_bytes(b.get(..8)?.try_into().ok()?)));
    let acked = match fs::read(dir.join("acked")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(0),
        Err(e) => return Err(io_err(&dir.join("acked"))(e)),
        Ok(b) if b.len() == 12 && crc32c::extend(0, &b[..8]).to_le_bytes()[..] == b[8..] => {
            Some(u64::from_le_bytes(b[..8].try_into().unwrap_or_default()))
        }
        Ok(_) => None,
    };
    let mut segments = Vec::new();
    for (first_seq, path) in list_segments(dir)? {
        let data = Bytes::from(fs::read(&path).map_err(io_err(&path))?);
        segments.push(scan(first_seq, path, &data, acked.unwrap_or(0)));
    }
    Ok(SpoolReport {
        stream_id,
        acked,
        segments,
    })
}

/// Reads every record of one segment, passing over damage to the next valid record.
fn scan(first_seq: u64, path: PathBuf, data: &Bytes, acked: u64) -> SegmentReport {
    let mut report = SegmentReport {
        path,
        first_seq,
        records: 0,
        last_seq: None,
        unacked: 0,
        bytes: data.len() as u64,
        preallocated: 0,
        damage: Vec::new(),
    };
    let mut offset = 0;
    while offset < data.len() {
        let min_seq = report.last_seq.map_or(first_seq, |s| s + 1);
        let reason = match record::decode(&data.slice(offset..)) {
            Decoded::Record { seq, len, .. } if seq >= min_seq => {
                report.records += 1;
                report.unacked += u64::from(seq > acked);
                report.last_seq = report.last_seq.max(Some(seq));
                offset += len;
                continue;
            }
            Decoded::Record { .. } => OUT_OF_SEQUENCE,
            Decoded::Incomplete => "truncated record",
            Decoded::Corrupt(reason) => reason,
        };
        let zeros = data[offset..].iter().all(|&b| b == 0);
        let later = match zeros {
            true => None,
            false => record::find_record(data, offset, min_seq),
        };
        if later.is_none() && (zeros || reason == OUT_OF_SEQUENCE) {
            report.preallocated = (data.len() - offset) as u64;
            break;
        }
        report.damage.push((offset as u64, reason));
        match later {
            Some((at, _)) => offset = at,
            None => break,
        }
    }
    report
}
