//! Recovery on open: checks every record of a segment, cuts what a crash left at the end of
//! the newest one, and tells such a crash tail from real damage.
//!
//! # Crash tail or corruption
//!
//! After the last record that reached the disk, a crash or a power loss can leave a record cut
//! short, zeros (the file's length was updated but its blocks were not written), or garbage
//! (stale blocks, a half-written record, or a reused segment's earlier records, numbered lower
//! than any record the segment holds now, see `spare`). Only appends not yet synced are exposed, and they are
//! all at the end of the newest segment: a segment is synced before the next one is created
//! (unless the policy is `Never`).
//!
//! The rule: damage is a **crash tail**, cut without complaint, when nothing valid after it
//! proves that records were lost: no valid record with a later sequence number follows it in
//! the segment, and either the segment is the newest one or the next segment begins right
//! after the last valid record. Any other damage, that is damage *before* valid records, lost
//! records that later data proves were written: it is **corruption**, reported with its file
//! and offset, and per [`OnCorruption`] it fails the open or is skipped (reads then jump over
//! it). Damage that lost only acknowledged records is skipped with a warning: nothing will
//! read them again.
//!
//! One crash shape counts as corruption by this rule: with `Every` or `Never`, if the kernel
//! wrote back a later page of unsynced appends before an earlier one, a hole is followed by a
//! valid record. The records in the hole were within the window the policy allows to lose,
//! but valid data after them proves they existed, so the open fails by default rather than
//! losing them silently; [`OnCorruption::Skip`] delivers the rest.

use super::super::SpoolError;
use super::super::record::{self, Decoded};
use super::dir::io_err;
use super::marks::Marks;
use super::{OnCorruption, Segment};
use bytes::Bytes;
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

/// Scans every segment (oldest first), deletes those entirely acknowledged (but the newest),
/// and syncs the newest, which a crashed run may have left in the page cache only. Returns the
/// segments kept, and whether the directory changed.
pub(super) fn recover_segments(
    found: &[(u64, PathBuf)],
    acked: u64,
    on_corruption: OnCorruption,
    durable: bool,
    corruptions: &mut Vec<SpoolError>,
    committed: &mut Vec<u64>,
) -> Result<(VecDeque<Segment>, bool), SpoolError> {
    let mut kept = VecDeque::new();
    let mut dir_changed = false;
    for (i, (first_seq, path)) in found.iter().enumerate() {
        let next_first = found.get(i + 1).map(|&(next, _)| next);
        let mut cx = ScanContext {
            next_first,
            acked,
            on_corruption,
            durable,
            corruptions: &mut *corruptions,
            committed: &mut *committed,
        };
        let seg = scan_segment(*first_seq, path, &mut cx)?;
        if seg.last_seq <= acked && next_first.is_some() {
            fs::remove_file(&seg.path).map_err(io_err(&seg.path))?;
            dir_changed = true;
            continue;
        }
        kept.push_back(seg);
    }
    if durable
        && let Some(newest) = kept.back()
        && newest.len > 0
    {
        File::open(&newest.path)
            .and_then(|f| f.sync_all())
            .map_err(io_err(&newest.path))?;
    }
    Ok((kept, dir_changed))
}

/// What the scan of one segment needs to know about the rest of the spool.
struct ScanContext<'a> {
    /// The first sequence number of the next segment (`None` for the newest segment): the
    /// records before it were written.
    next_first: Option<u64>,
    /// The acknowledgement mark: losing records up to it loses nothing.
    acked: u64,
    on_corruption: OnCorruption,
    /// Sync the cut of a crash tail.
    durable: bool,
    /// Corruption found and skipped, for [`OnCorruption::Skip`].
    corruptions: &'a mut Vec<SpoolError>,
    /// The prepared batches whose commit the segments hold.
    committed: &'a mut Vec<u64>,
}

impl ScanContext<'_> {
    /// Damage at `offset` lost records `lost_from..lost_to` (exclusive): corruption if any of
    /// them was not acknowledged yet.
    fn lost(
        &mut self,
        path: &Path,
        offset: usize,
        reason: &'static str,
        lost_from: u64,
        lost_to: u64,
    ) -> Result<(), SpoolError> {
        let err = SpoolError::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason,
        };
        if lost_to.saturating_sub(1) <= self.acked || lost_to <= lost_from {
            log::warn!("spool: skipping damage that lost no unacknowledged record: {err}");
            return Ok(());
        }
        match self.on_corruption {
            OnCorruption::Fail => Err(err),
            OnCorruption::Skip => {
                self.corruptions.push(err);
                Ok(())
            }
        }
    }
}

/// Reads a segment and checks every record, per the rule in the module documentation.
fn scan_segment(first_seq: u64, path: &Path, cx: &mut ScanContext<'_>) -> Result<Segment, SpoolError> {
    let data = Bytes::from(fs::read(path).map_err(io_err(path))?);
    let mut offset = 0usize;
    let mut expected = first_seq;
    let mut holes = Vec::new();
    let mut marks = Marks::default();
    let mut tail_damage = None;
    // Where the batch being read began (offset, sequence number), until its last record.
    let mut open_batch = None;
    while offset < data.len() {
        let damage = match record::decode(&data.slice(offset..)) {
            Decoded::Record { seq, len, mark, .. } if seq == expected => {
                marks.note(seq, offset as u64);
                if mark.continues {
                    open_batch.get_or_insert((offset, seq));
                } else {
                    open_batch = None;
                    cx.committed.extend(mark.commits);
                }
                offset += len;
                expected += 1;
                continue;
            }
            Decoded::Record { seq, .. } if seq > expected => {
                cx.lost(path, offset, "records missing before this one", expected, seq)?;
                expected = seq;
                continue;
            }
            Decoded::Record { .. } => "record out of sequence",
            Decoded::Incomplete => "truncated record",
            Decoded::Corrupt(reason) => reason,
        };
        // Zeros to the end (a preallocated tail, see `mapped`) hide no record.
        let zeros = data[offset..].iter().all(|&b| b == 0);
        let found = match zeros {
            true => None,
            false => record::find_record(&data, offset, expected),
        };
        let Some((at, seq)) = found else {
            tail_damage = Some(damage);
            break;
        };
        cx.lost(path, offset, damage, expected, seq)?;
        holes.push((offset as u64, at as u64));
        offset = at;
        expected = seq;
    }
    // Nothing valid follows `offset` in this segment: a crash tail in the newest segment,
    // and in an older one, lost records if the next segment begins later.
    let cut = match cx.next_first {
        // A batch without its last record was torn by a crash: none of it was accepted.
        None => match open_batch {
            Some((at, seq)) => {
                expected = seq;
                Some(at)
            }
            None => tail_damage.map(|_| offset),
        },
        Some(next) => {
            if tail_damage.is_some() || next > expected {
                let reason = tail_damage.unwrap_or("segment ends before the next one begins");
                cx.lost(path, offset, reason, expected, next)?;
            }
            None
        }
    };
    if let Some(at) = cut {
        holes.retain(|&(start, _)| start < at as u64);
        marks.cut(at as u64);
    }
    let len = match cut {
        Some(at) => {
            log::warn!(
                "spool {}: cutting a crash tail of {} bytes at byte {at}",
                path.display(),
                data.len() - at
            );
            let file = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
            file.set_len(at as u64).map_err(io_err(path))?;
            if cx.durable {
                file.sync_all().map_err(io_err(path))?;
            }
            at as u64
        }
        None => data.len() as u64,
    };
    Ok(Segment {
        first_seq,
        last_seq: expected - 1,
        path: path.to_path_buf(),
        len,
        holes,
        marks,
    })
}
