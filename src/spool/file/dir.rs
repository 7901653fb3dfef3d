//! The spool directory's small files and entries: the lock, the stream id, the
//! acknowledgement mark, segment names, and fsync of the directory itself.

use super::super::{SpoolError, crc32c, new_stream_id};
use super::OnCorruption;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(in crate::spool) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// Takes the directory's exclusive lock (`flock` on the `lock` file), held as long as the
/// returned file is open. The lock belongs to the open file description, so a second open in
/// the same process is refused too; the kernel releases it when the process dies, so a crash
/// leaves no stale lock. The `lock` file is never deleted (deleting it would let two openers
/// lock two different files).
pub(in crate::spool) fn lock(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(SpoolError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
            log::warn!(
                "spool {}: the file system cannot lock files; nothing stops a second opener",
                dir.display()
            );
            Ok(file)
        }
        Err(TryLockError::Error(e)) => Err(SpoolError::Io { path, source: e }),
    }
}

/// Makes the directory's entries (files created, renamed or deleted in it) durable.
pub(in crate::spool) fn fsync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// The segment files, by first sequence number, oldest first.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, SpoolError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let first = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u64>().ok());
        match first {
            Some(first) if (1..=super::super::record::MAX_SEQ).contains(&first) => found.push((first, path)),
            Some(_) => log::error!(
                "spool {}: ignoring {}: no segment starts there",
                dir.display(),
                path.display()
            ),
            None => {}
        }
    }
    found.sort();
    Ok(found)
}

/// Writes `bytes` to `name` by replacing it: a temporary file, synced when `durable`, then
/// renamed over. The caller syncs the directory to make the rename itself durable.
fn replace(dir: &Path, name: &str, bytes: &[u8], durable: bool) -> Result<(), SpoolError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    if durable {
        f.sync_data().map_err(io_err(&tmp))?;
    }
    let path = dir.join(name);
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// The acknowledgement mark (0 if there is none yet). A damaged file fails the open, or with
/// [`OnCorruption::Skip`] counts as 0: everything is delivered again, duplicates but no loss.
pub(super) fn load_acked(
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
        if crc32c::extend(0, &bytes[..8]) == crc && seq <= super::super::record::MAX_SEQ {
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
            Ok(0)
        }
    }
}

/// Replaces the acknowledgement mark (u64 LE + CRC-32C); see [`replace`].
pub(super) fn store_acked(dir: &Path, seq: u64, durable: bool) -> Result<(), SpoolError> {
    let mut bytes = seq.to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32c::extend(0, &bytes).to_le_bytes());
    replace(dir, "acked", &bytes, durable)
}

/// The stream id, created (durably unless `durable` is false) on first use.
pub(super) fn load_or_create_stream_id(dir: &Path, durable: bool) -> Result<u64, SpoolError> {
    let path = dir.join("stream-id");
    match fs::read(&path) {
        Ok(b) if b.len() == 8 => return Ok(u64::from_le_bytes(b[..].try_into().expect("8 bytes"))),
        Ok(_) => {} // torn by a crash during creation: nothing was spooled yet
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SpoolError::Io { path, source: e }),
    }
    let id = new_stream_id();
    replace(dir, "stream-id", &id.to_le_bytes(), durable)?;
    if durable {
        fsync_dir(dir)?;
    }
    Ok(id)
}
