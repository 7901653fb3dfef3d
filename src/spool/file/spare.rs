//! An acknowledged segment kept to become the next one.
//!
//! A new segment costs its file system the zeros that extend it ahead of the appends (see
//! `mapped`): page-cache pages allocated and zero-filled, blocks reserved, and all of it
//! thrown away again when the segment is deleted. Profiled at 64 B, that was some 40% of an
//! append. Instead, the first acknowledged segment that is worth it is renamed aside, and
//! the next roll renames it to the new segment's name and stores over its old records.
//!
//! What an earlier life leaves after the new records is numbered lower than the new
//! segment's first record (it was acknowledged), so an open after a crash reads it as a
//! crash tail and cuts it (see `recovery`); a clean close cuts it too.
//!
//! The spare's name does not end in `.seg`: an open never counts it as a segment, and
//! deletes it. Under a durable policy the directory is synced once the spare has its new
//! name, before any record lands in it, so that a power loss cannot bring back the old name
//! over new records.

use super::super::SpoolError;
use super::dir::{fsync_dir, io_err};
use std::fs::{self, File, OpenOptions};
use std::path::Path;

const NAME: &str = "spare.tmp";

/// Renames acknowledged segment `path` aside, to be reused.
pub(super) fn keep(dir: &Path, path: &Path) -> Result<(), SpoolError> {
    fs::rename(path, dir.join(NAME)).map_err(io_err(path))
}

/// Removes a spare left by an earlier run (or by this one, on close).
pub(super) fn remove(dir: &Path) -> Result<(), SpoolError> {
    let spare = dir.join(NAME);
    match fs::remove_file(&spare) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&spare)(e)),
        _ => Ok(()),
    }
}

/// Renames the spare to `path`, the next segment, and opens it for appends; under a durable
/// policy, syncs the directory before returning.
pub(super) fn reuse(dir: &Path, path: &Path, durable: bool) -> Result<File, SpoolError> {
    let spare = dir.join(NAME);
    fs::rename(&spare, path).map_err(io_err(&spare))?;
    if durable {
        fsync_dir(dir)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::NAME;
    use std::path::Path;

    fn record(i: u64) -> Vec<Bytes> {
        vec![Bytes::from(format!(
            "message {i:06} {}",
            "x".repeat((i % 40) as usize)
        ))]
    }

    /// What a killed process leaves: the files as they are, copied aside (the spool, still
    /// open, holds the directory's lock).
    fn copy_dir(from: &Path, to: &Path) {
        let _ = fs::remove_dir_all(to);
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
            }
        }
    }

    #[test]
    fn a_reused_segment_never_gives_back_its_earlier_records() {
        let base = std::env::temp_dir().join(format!("zocket-spare-{}", std::process::id()));
        let (dir, crashed) = (base.join("live"), base.join("crashed"));
        let _ = fs::remove_dir_all(&base);
        let config = FileSpoolConfig {
            segment_size: 16 << 10,
            fsync: FsyncPolicy::Never,
            ..FileSpoolConfig::default()
        };
        let mut spool = FileSpool::open_with(&dir, config.clone()).unwrap();
        if spool.mapping.is_none() {
            return; // appends use pwrite on this file system: segments are not reused
        }
        let mut appended = 0;
        let mut append = |spool: &mut FileSpool| {
            appended += 1;
            assert_eq!(spool.append(&record(appended)).unwrap(), appended);
        };
        while spool.segments.len() < 3 {
            append(&mut spool);
        }
        spool.ack(spool.segments[0].last_seq).unwrap();
        assert!(spool.spare, "the acknowledged segment is kept aside");
        assert!(dir.join(NAME).exists());
        // The next roll takes it, and a few records go over its earlier ones.
        while spool.spare {
            append(&mut spool);
        }
        assert!(!dir.join(NAME).exists(), "renamed to the new segment");
        for _ in 0..5 {
            append(&mut spool);
        }
        let active = spool.segments.back().unwrap();
        let stale = fs::metadata(&active.path).unwrap().len() - active.len;
        assert!(stale > 1000, "earlier records follow the new ones: {stale} bytes");
        let report = crate::spool::inspect(&dir).unwrap();
        let newest = report.segments.last().unwrap();
        assert_eq!(
            newest.records,
            active.last_seq - active.first_seq + 1,
            "{newest:?}"
        );
        assert_eq!(
            newest.preallocated, stale,
            "the earlier records are room for appends"
        );
        assert!(newest.damage.is_empty(), "{newest:?}");
        let (acked, active_name, torn_at) = (
            spool.acked,
            active.path.file_name().unwrap().to_owned(),
            active.len,
        );
        copy_dir(&dir, &crashed);
        drop(spool);
        // And the next record torn half-way, over the earlier ones: its header and number.
        let mut torn = Vec::new();
        torn.extend_from_slice(&40u32.to_le_bytes());
        torn.extend_from_slice(&0xdead_beefu32.to_le_bytes());
        torn.extend_from_slice(&(appended + 1).to_le_bytes());
        let file = OpenOptions::new()
            .write(true)
            .open(crashed.join(active_name))
            .unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &torn, torn_at).unwrap();

        let mut reopened = FileSpool::open_with(&crashed, config).unwrap();
        assert!(reopened.corruptions().is_empty(), "a crash tail, not damage");
        for seq in acked + 1..=appended {
            assert_eq!(reopened.read(seq).unwrap(), Some(record(seq)), "message {seq}");
        }
        assert_eq!(
            reopened.read(appended + 1).unwrap(),
            None,
            "nothing after the last"
        );
        assert_eq!(reopened.append(&record(appended + 1)).unwrap(), appended + 1);
        drop(reopened);
        assert!(!dir.join(NAME).exists(), "a close removes the spare");
        fs::remove_dir_all(&base).unwrap();
    }
}
