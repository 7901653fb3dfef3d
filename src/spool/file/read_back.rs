//! Reading a message back from the segments, for a backlog that outgrew the memory caches.

use super::super::SpoolError;
use super::dir::io_err;
use super::reader::{SegmentReader, Step};
use super::{FileSpool, OnCorruption};
use bytes::Bytes;
use std::path::Path;

/// Records a read steps over from where the reader is rather than look for a mark.
const WALK: u64 = 32;

impl FileSpool {
    pub(super) fn read_from_disk(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError> {
        let idx = match self.segments.binary_search_by_key(&seq, |s| s.first_seq) {
            Ok(i) => i,
            Err(0) => return Ok(None),
            Err(i) => i - 1,
        };
        let seg = &self.segments[idx];
        if seq > seg.last_seq {
            return Ok(None);
        }
        // The reader kept from the last read serves the next one in most cases. It is used
        // where it lies (it is some 350 bytes, and moving it out and back per read showed in
        // the profile), and nothing is cloned per read: the path and the holes are borrowed.
        if !self
            .reader
            .as_mut()
            .is_some_and(|kept| kept.serves(seg.first_seq, seq))
        {
            self.reader = None;
            let opened = SegmentReader::open(&seg.path, seg.first_seq).map_err(io_err(&seg.path))?;
            self.reader = Some(opened);
        }
        // Most reads are of the reader's next record or one close by: the marks are looked up
        // (a binary search, which showed in the profile) only for a longer way.
        if let Some(reader) = self.reader.as_mut()
            && seq.saturating_sub(reader.next_seq()) > WALK
            && let Some((mark_seq, offset)) = seg.marks.at_or_before(seq)
            && mark_seq > reader.next_seq()
        {
            reader.seek(offset, mark_seq);
        }
        loop {
            let seg = &self.segments[idx];
            let Some(reader) = self.reader.as_mut() else {
                return Ok(None);
            };
            // A reader that fails, ends or passes `seq` is not kept: the next read opens anew.
            let step = match reader.next(seg.len, &seg.holes, seq) {
                Ok(step) => step,
                Err(e) => {
                    self.reader = None;
                    return Err(io_err(&self.segments[idx].path)(e));
                }
            };
            match step {
                Step::Record { seq: found, frames } if found == seq => return Ok(Some(frames)),
                Step::Record { seq: found, .. } if found < seq => {}
                // Skipped on open as damaged, or the end.
                Step::Record { .. } | Step::End => {
                    self.reader = None;
                    return Ok(None);
                }
                Step::Damaged {
                    offset,
                    reason,
                    skippable,
                } => {
                    // Damaged since the open. A plausible length lets the reader go on past it.
                    let path = seg.path.clone();
                    if let Err(e) = self.damaged(&path, offset, reason) {
                        self.reader = None;
                        return Err(e);
                    }
                    if !skippable {
                        self.reader = None;
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn damaged(&mut self, path: &Path, offset: u64, reason: &'static str) -> Result<(), SpoolError> {
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
        Ok(())
    }
}
