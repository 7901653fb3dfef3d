//! Where some of a segment's records begin, so that a read back lands near its record.
//!
//! The reader moves forward record by record. Without marks, a read of a message far past
//! the reader's position walked over every record in between; with a cache serving most of a
//! backlog and the disk the rest, that was nearly every record of the stream, read and
//! checked for nothing. A mark per [`MARK_EVERY`] bytes costs 16 bytes of memory per 16 KiB
//! of segment (0.1%), and leaves a read at most that far to walk.

/// Bytes of a segment between two marks, at least.
pub(super) const MARK_EVERY: u64 = 16 << 10;

/// `(sequence number, offset)` of records of one segment, both increasing.
#[derive(Default)]
pub(super) struct Marks {
    entries: Vec<(u64, u64)>,
}

impl Marks {
    /// Notes that record `seq` begins at `offset`, past every record noted before; kept if it
    /// lies far enough past the last mark.
    pub fn note(&mut self, seq: u64, offset: u64) {
        let due = match self.entries.last() {
            None => true,
            Some(&(last_seq, last_offset)) => seq > last_seq && offset >= last_offset + MARK_EVERY,
        };
        if due {
            self.entries.push((seq, offset));
        }
    }

    /// The last mark at or before record `seq`.
    pub fn at_or_before(&self, seq: u64) -> Option<(u64, u64)> {
        let after = self.entries.partition_point(|&(s, _)| s <= seq);
        after.checked_sub(1).map(|i| self.entries[i])
    }

    /// Forgets the marks at or past `offset` (the segment was cut there).
    pub fn cut(&mut self, offset: u64) {
        let keep = self.entries.partition_point(|&(_, o)| o < offset);
        self.entries.truncate(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_per_stretch_and_the_nearest_one_before() {
        let mut marks = Marks::default();
        assert_eq!(marks.at_or_before(5), None);
        let mut offset = 0;
        for seq in 10..1000u64 {
            marks.note(seq, offset);
            offset += 100;
        }
        assert_eq!(marks.at_or_before(9), None, "before the first record");
        assert_eq!(marks.at_or_before(10), Some((10, 0)));
        let per = MARK_EVERY.div_ceil(100);
        assert_eq!(marks.at_or_before(10 + per - 1), Some((10, 0)));
        assert_eq!(marks.at_or_before(10 + per), Some((10 + per, per * 100)));
        let (seq, at) = marks.at_or_before(999).unwrap();
        assert!(999 - seq < per && at == (seq - 10) * 100);
        assert_eq!(marks.entries.len() as u64, 990u64.div_ceil(per));
        marks.note(500, offset + MARK_EVERY); // not past the last record: ignored
        assert_eq!(marks.at_or_before(u64::MAX), Some((seq, at)));
        marks.cut(per * 100);
        assert_eq!(
            marks.at_or_before(u64::MAX),
            Some((10, 0)),
            "cut from that offset on"
        );
        marks.cut(0);
        assert_eq!(marks.at_or_before(u64::MAX), None);
    }
}
