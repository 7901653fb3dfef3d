//! A plain model of a spool, and a harness that applies the same operations to a real spool
//! and to the model and checks every answer. Shared by `tests/spool_model.rs` (proptest) and
//! the `spool_ops` fuzz target, so it uses the public API only, plus two documented facts of
//! the file format: segment files are named by their first sequence number, and a record is
//! `len (u32 LE) | crc | body` with a body of `seq | count | (frame length | frame)*`.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use zocket::spool::{FileSpool, FileSpoolConfig, FsyncPolicy, MemorySpool, OnCorruption, Spool, SpoolError};

/// One frame: its length and the byte that fills it.
#[derive(Clone, Debug)]
pub struct Frame {
    pub len: usize,
    pub fill: u8,
}

/// The settings a file spool is (re)opened with.
#[derive(Clone, Debug)]
pub struct Config {
    pub segment_size: u64,
    pub cache_bytes: usize,
    pub quota: Option<u64>,
    pub fsync: FsyncPolicy,
}

/// What a crash or power loss can leave at the end of the newest segment.
#[derive(Clone, Debug)]
pub enum Tail {
    /// The last `n` bytes are gone.
    Truncate(u64),
    /// `n` zero bytes were appended (the length grew, the blocks were never written).
    Zeros(usize),
    /// Stale bytes appended. The harness sets their top bit, so that they can never hold a
    /// valid record with a plausible length or sequence number: garbage must stay garbage
    /// for the model to be right.
    Garbage(Vec<u8>),
    /// The last `n` bytes are replaced by `m` zeros.
    TruncateThenZeros(u64, usize),
}

#[derive(Clone, Debug)]
pub enum Op {
    Append(Vec<Frame>),
    /// Reads a sequence number picked from the value (see [`pick_seq`]).
    Read(u64),
    /// Acknowledges up to a sequence number picked from the value.
    Ack(u64),
    Sync,
    /// Closes and reopens with other settings (a file spool; nothing for a memory spool).
    Reopen(Config),
    /// Closes, damages the end of the newest segment, and reopens (a file spool only).
    CrashTail(Tail),
}

/// Small values pick around the live range (0, acknowledged, live, next, beyond); large ones
/// are used as they are.
pub fn pick_seq(raw: u64, next: u64) -> u64 {
    if raw >= 1 << 32 { raw } else { raw % (next + 2) }
}

fn frames_of(frames: &[Frame]) -> Vec<Bytes> {
    frames.iter().map(|f| Bytes::from(vec![f.fill; f.len])).collect()
}

/// Bytes a message takes in a file spool (its record, from the documented format).
pub fn record_len(frames: &[Frame]) -> u64 {
    20 + frames.iter().map(|f| 4 + f.len as u64).sum::<u64>()
}

fn payload_len(frames: &[Frame]) -> u64 {
    frames.iter().map(|f| f.len as u64).sum()
}

/// The model: live messages by number.
#[derive(Default)]
struct Model {
    first: u64,
    next: u64,
    live: BTreeMap<u64, Vec<Frame>>,
}

impl Model {
    fn new() -> Model {
        Model {
            first: 1,
            next: 1,
            live: BTreeMap::new(),
        }
    }

    fn ack(&mut self, seq: u64) {
        let seq = seq.min(self.next - 1);
        if seq >= self.first {
            self.live = self.live.split_off(&(seq + 1));
            self.first = seq + 1;
        }
    }

    /// Only messages below `next` survived a crash.
    fn truncate(&mut self, next: u64) {
        self.live.split_off(&next);
        self.next = next;
    }
}

enum Real {
    File(Box<FileSpool>),
    Memory(MemorySpool),
    Closed,
}

/// A real spool and its model, driven together.
pub struct Harness {
    real: Real,
    model: Model,
    dir: Option<PathBuf>,
    config: Config,
    stream_id: u64,
}

fn unique_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("zocket-model-{}-{n}", std::process::id()))
}

fn open_file(dir: &Path, config: &Config) -> FileSpool {
    let config = FileSpoolConfig {
        segment_size: config.segment_size,
        fsync: config.fsync,
        quota: config.quota,
        on_corruption: OnCorruption::Fail,
        cache_bytes: config.cache_bytes,
    };
    match FileSpool::open_with(dir, config) {
        Ok(s) => {
            assert!(s.corruptions().is_empty(), "{:?}", s.corruptions());
            s
        }
        Err(e) => panic!("open failed: {e}"),
    }
}

impl Harness {
    /// A file spool in a new temporary directory (removed when the harness is dropped).
    pub fn file(config: Config) -> Harness {
        let dir = unique_dir();
        let _ = std::fs::remove_dir_all(&dir);
        let spool = open_file(&dir, &config);
        let stream_id = spool.stream_id();
        Harness {
            real: Real::File(Box::new(spool)),
            model: Model::new(),
            dir: Some(dir),
            config,
            stream_id,
        }
    }

    /// A memory spool with the quota of `config` (its other settings do not apply).
    pub fn memory(config: Config) -> Harness {
        let spool = MemorySpool::new(config.quota);
        let stream_id = spool.stream_id();
        Harness {
            real: Real::Memory(spool),
            model: Model::new(),
            dir: None,
            config,
            stream_id,
        }
    }

    fn spool(&mut self) -> &mut dyn Spool {
        match &mut self.real {
            Real::File(s) => &mut **s,
            Real::Memory(s) => s,
            Real::Closed => unreachable!("the spool is always reopened"),
        }
    }

    /// Applies `op` to both, panicking on the first difference.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Append(frames) => self.append(frames),
            Op::Read(raw) => {
                let seq = pick_seq(*raw, self.model.next);
                let got = self
                    .spool()
                    .read(seq)
                    .unwrap_or_else(|e| panic!("read {seq}: {e}"));
                let want = self.model.live.get(&seq).map(|f| frames_of(f));
                assert_eq!(got, want, "read({seq})");
            }
            Op::Ack(raw) => {
                let seq = pick_seq(*raw, self.model.next);
                self.spool().ack(seq).unwrap_or_else(|e| panic!("ack {seq}: {e}"));
                self.model.ack(seq);
            }
            Op::Sync => self.spool().sync().unwrap_or_else(|e| panic!("sync: {e}")),
            Op::Reopen(config) => {
                if self.dir.is_some() {
                    self.config = config.clone();
                    self.reopen(None);
                }
            }
            Op::CrashTail(tail) => {
                if self.dir.is_some() {
                    self.reopen(Some(tail));
                }
            }
        }
        self.check_counters();
    }

    fn append(&mut self, frames: &[Frame]) {
        let bytes = frames_of(frames);
        let is_file = self.dir.is_some();
        let len = if is_file {
            record_len(frames)
        } else {
            payload_len(frames)
        };
        let quota = self.config.quota;
        match self.spool().append(&bytes) {
            Ok(seq) => {
                assert_eq!(seq, self.model.next, "append numbered");
                assert!(quota.is_none_or(|q| len <= q), "accepted over the quota");
                self.model.live.insert(seq, frames.to_vec());
                self.model.next += 1;
            }
            Err(SpoolError::TooLarge { size, limit, .. }) => {
                assert_eq!((size, Some(limit)), (len, quota), "TooLarge only above the quota");
            }
            Err(SpoolError::Full { size, limit }) => {
                assert_eq!(Some(limit), quota);
                assert!(len <= limit, "Full for a message that can never fit");
                assert!(size + len > limit, "Full with room: {size} + {len} <= {limit}");
                // Full must pass: with everything acknowledged, the same message fits.
                let last = self.model.next - 1;
                self.spool()
                    .ack(last)
                    .unwrap_or_else(|e| panic!("ack {last}: {e}"));
                self.model.ack(last);
                match self.spool().append(&bytes) {
                    Ok(seq) => {
                        assert_eq!(seq, self.model.next, "append numbered");
                        self.model.live.insert(seq, frames.to_vec());
                        self.model.next += 1;
                    }
                    Err(e) => panic!("an emptied spool still refuses {len} bytes: {e}"),
                }
            }
            Err(e) => panic!("append: {e}"),
        }
    }

    fn check_counters(&mut self) {
        let (first, next) = (self.model.first, self.model.next);
        let live_len: u64 = if self.dir.is_some() {
            self.model.live.values().map(|f| record_len(f)).sum()
        } else {
            self.model.live.values().map(|f| payload_len(f)).sum()
        };
        let stream_id = self.stream_id;
        let spool = self.spool();
        assert_eq!(
            (spool.first_unacked(), spool.next_seq()),
            (first, next),
            "first_unacked, next_seq"
        );
        assert_eq!(spool.stream_id(), stream_id, "the stream id is kept");
        match self.real {
            Real::Memory(ref s) => assert_eq!(s.size(), live_len, "memory size"),
            Real::File(ref s) => assert!(s.size() >= live_len, "file size below live records"),
            Real::Closed => {}
        }
    }

    /// Closes the file spool, damages the newest segment's end if asked, and reopens.
    fn reopen(&mut self, tail: Option<&Tail>) {
        self.real = Real::Closed; // drops (and unlocks) the spool
        let dir = self.dir.clone().expect("a file spool");
        if let Some(tail) = tail {
            let next = damage_newest_segment(&dir, tail);
            if let Some(next) = next {
                let next = next.max(self.model.first);
                self.model.truncate(next.min(self.model.next));
            }
        }
        self.real = Real::File(Box::new(open_file(&dir, &self.config)));
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.real = Real::Closed;
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Damages the newest segment as `tail` says, and returns the number of the first record
/// that did not survive (`None` if there is no segment).
fn damage_newest_segment(dir: &Path, tail: &Tail) -> Option<u64> {
    let mut segments: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let first = path.file_name()?.to_str()?.strip_suffix(".seg")?.parse().ok()?;
            Some((first, path))
        })
        .collect();
    segments.sort();
    let (first_seq, path) = segments.pop()?;
    let before = std::fs::read(&path).unwrap();
    let mut after = before.clone();
    match tail {
        Tail::Truncate(n) => after.truncate(before.len().saturating_sub(*n as usize)),
        Tail::Zeros(n) => after.resize(before.len() + n, 0),
        Tail::Garbage(bytes) => after.extend(bytes.iter().map(|b| b | 0x80)),
        Tail::TruncateThenZeros(n, m) => {
            after.truncate(before.len().saturating_sub(*n as usize));
            after.resize(after.len() + m, 0);
        }
    }
    std::fs::write(&path, &after).unwrap();
    // The records whose bytes are all unchanged survive (the prefix up to the damage).
    let mut offset = 0usize;
    let mut survivors = 0u64;
    while offset + 4 <= before.len() {
        let len = u32::from_le_bytes(before[offset..offset + 4].try_into().unwrap()) as usize + 8;
        let end = offset + len;
        let Some(original) = before.get(offset..end) else {
            break;
        };
        if after.get(offset..end) != Some(original) {
            break;
        }
        offset = end;
        survivors += 1;
    }
    Some(first_seq + survivors)
}
