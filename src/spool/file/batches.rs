//! Atomic and prepared batches of a [`FileSpool`]: a batch's records are written in one go
//! and never span segments (recovery cuts one torn at the end, see `recovery`); prepared
//! batches live in the prepared store until committed (appended with their id) or forgotten.

use super::super::SpoolError;
use super::super::record;
use super::FileSpool;
use bytes::Bytes;

impl FileSpool {
    pub(super) fn append_batch_records(
        &mut self,
        messages: &[Vec<Bytes>],
        commits: Option<u64>,
    ) -> Result<u64, SpoolError> {
        self.durability.check()?;
        let first = self.next_seq;
        let Some(last) = messages.len().checked_sub(1) else {
            return Ok(first);
        };
        let mark = |i: usize| batch_mark(i, last, commits);
        let len = batch_len(messages, commits);
        self.check_room(len)?;
        // A batch never spans segments: recovery cuts a batch torn at the newest one's end.
        let active_len = self.active_segment().len;
        if active_len > 0 && active_len + len > self.config.segment_size {
            self.roll()?;
        }
        self.encode_buf.clear();
        for (i, frames) in messages.iter().enumerate() {
            record::encode_marked(first + i as u64, frames, mark(i), &mut self.encode_buf);
        }
        self.write_record()?;
        let seg = self.segments.back_mut().expect("an active segment");
        seg.marks.note(first, seg.len);
        seg.len += len;
        seg.last_seq = first + last as u64;
        self.size += len;
        self.next_seq = first + messages.len() as u64;
        for (i, frames) in messages.iter().enumerate() {
            self.cache.insert(first + i as u64, frames);
        }
        self.durability.appended();
        if let Some(id) = commits {
            // Its prepared file goes next: the append must not be lost to a power failure
            // that the deletion survives (unless the policy syncs nothing).
            if self.durability.durable() {
                self.durability.flush_durably()?;
            }
            self.committed.insert(id);
        }
        self.after_append()?;
        Ok(first)
    }

    pub(super) fn prepare_batch(&mut self, id: u64, messages: &[Vec<Bytes>]) -> Result<(), SpoolError> {
        self.durability.check()?;
        // Refused now if it could never be committed.
        self.check_fits(batch_len(messages, Some(id)))?;
        self.prepared.save(id, messages)
    }

    pub(super) fn prepared_ids(&mut self) -> Result<Vec<u64>, SpoolError> {
        let mut ids = self.prepared.ids()?;
        ids.retain(|id| !self.committed.contains(id));
        Ok(ids)
    }

    pub(super) fn read_prepared_batch(&mut self, id: u64) -> Result<Option<Vec<Vec<Bytes>>>, SpoolError> {
        if self.committed.contains(&id) {
            return Ok(None);
        }
        self.prepared.load(id)
    }

    pub(super) fn forget_prepared_batch(&mut self, id: u64) -> Result<(), SpoolError> {
        self.prepared.remove(id)?;
        self.committed.remove(&id);
        Ok(())
    }
}

/// The place of record `i` of a batch whose last record is `last`.
fn batch_mark(i: usize, last: usize, commits: Option<u64>) -> record::BatchMark {
    record::BatchMark {
        continues: i < last,
        commits: commits.filter(|_| i == last),
    }
}

/// Bytes the records of a batch take.
fn batch_len(messages: &[Vec<Bytes>], commits: Option<u64>) -> u64 {
    let last = messages.len().saturating_sub(1);
    messages
        .iter()
        .enumerate()
        .map(|(i, frames)| record::encoded_len_marked(frames, batch_mark(i, last, commits)))
        .sum()
}
