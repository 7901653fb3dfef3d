//! Reading a segment's records back in order, a chunk at a time.
//!
//! Messages come back from the disk when the backlog has outgrown the recent cache: one
//! after the other, in order, often millions of them. A `pread` per record (and an `open` per
//! read) cost more than the rest of a spooled send together; a chunk read serves hundreds of
//! small records with one system call.

use crate::spool::record::{self, Decoded};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// How much is read at once.
const CHUNK: usize = 256 << 10;

/// Records larger than this are read on their own, into a buffer that becomes their frames,
/// so that a large message does not keep a chunk alive, nor a chunk hold a large message.
const ALONE: u64 = (CHUNK / 4) as u64;

/// What [`SegmentReader::next`] found.
pub(super) enum Step {
    Record {
        seq: u64,
        frames: Vec<Bytes>,
    },
    /// The end of the segment's valid data.
    End,
    /// A damaged record at `offset`; `skippable` if its length is plausible, and the reader
    /// has moved past it.
    Damaged {
        offset: u64,
        reason: &'static str,
        skippable: bool,
    },
}

/// An open segment, read forward from a position, through a chunk of its bytes.
pub(super) struct SegmentReader {
    segment_first: u64,
    file: File,
    /// Bytes of the file from offset `chunk_at` on.
    chunk: Bytes,
    chunk_at: u64,
    /// The next record's offset and the lowest number it can have.
    offset: u64,
    next_seq: u64,
    /// (number, offset) of the records read last, oldest first: two threads take turns
    /// reading the backlog in order (a sender catching up, the spool thread), each from a
    /// little behind where the other stopped.
    recent: VecDeque<(u64, u64)>,
}

/// Records remembered in [`SegmentReader::recent`].
const RECENT: usize = 4096;

/// Bytes of a record's start that say how long it is and which message it holds.
const PEEK: u64 = record::HEADER_LEN as u64 + 8;

impl SegmentReader {
    /// Opens the segment at `path`, whose first record is `segment_first`, at its start.
    pub fn open(path: &Path, segment_first: u64) -> io::Result<SegmentReader> {
        Ok(SegmentReader {
            segment_first,
            file: File::open(path)?,
            chunk: Bytes::new(),
            chunk_at: 0,
            offset: 0,
            next_seq: segment_first,
            recent: VecDeque::new(),
        })
    }

    /// Whether reading on from here reaches record `seq` of segment `segment_first`, after
    /// stepping back to it if it was read lately.
    pub fn serves(&mut self, segment_first: u64, seq: u64) -> bool {
        if self.segment_first != segment_first {
            return false;
        }
        if self.next_seq <= seq {
            return true;
        }
        let Ok(i) = self.recent.binary_search_by_key(&seq, |&(s, _)| s) else {
            return false;
        };
        self.offset = self.recent[i].1;
        self.next_seq = seq;
        self.recent.truncate(i);
        true
    }

    /// Which segment this reads.
    pub fn segment_first(&self) -> u64 {
        self.segment_first
    }

    /// The lowest number the next record can have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Moves forward to record `seq`, which begins at `offset` (a mark of the segment).
    pub fn seek(&mut self, offset: u64, seq: u64) {
        if seq >= self.next_seq && offset >= self.offset {
            self.offset = offset;
            self.next_seq = seq;
        }
    }

    /// The next record before `seg_len` (the segment's valid length), jumping over `holes`
    /// (damaged ranges skipped on open, as `(start, end)`). Records numbered below `want`
    /// are stepped over by their header, unread and unchecked: the caller serves them
    /// another way (a cache), and damage to one is reported when it is read.
    pub fn next(&mut self, seg_len: u64, holes: &[(u64, u64)], want: u64) -> io::Result<Step> {
        loop {
            while let Some(&(_, end)) = holes.iter().find(|&&(start, _)| start == self.offset) {
                self.offset = end;
            }
            let offset = self.offset;
            if offset + record::HEADER_LEN as u64 > seg_len {
                return Ok(match offset >= seg_len {
                    true => Step::End,
                    false => damaged(offset, "truncated record", false),
                });
            }
            let peek = PEEK.min(seg_len - offset);
            let at = self.window(peek, seg_len)?;
            let header = &self.chunk[at..at + peek as usize];
            let body_len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
            let total = record::HEADER_LEN as u64 + u64::from(body_len);
            if body_len > record::MAX_BODY || offset + total > seg_len {
                return Ok(damaged(offset, "implausible record length", false));
            }
            let seq = header
                .get(8..16)
                .filter(|_| total >= PEEK)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
            // Only the record numbered as expected: one whose number says otherwise is
            // read and checked, so that damage to the number is reported, not stepped over.
            if let Some(seq) = seq
                && seq == self.next_seq
                && seq < want
            {
                self.offset += total;
                self.remember(seq, offset);
                continue;
            }
            return self.read_record(total, seg_len);
        }
    }

    /// Reads and checks the record of `total` bytes at the reader's offset.
    fn read_record(&mut self, total: u64, seg_len: u64) -> io::Result<Step> {
        let offset = self.offset;
        let decoded = match total > ALONE {
            true => record::decode(&self.read_alone(total)?),
            false => {
                let at = self.window(total, seg_len)?;
                record::decode_at(&self.chunk, at)
            }
        };
        self.offset += total;
        match decoded {
            Decoded::Record { seq, frames, .. } => {
                self.remember(seq, offset);
                // Slices of the chunk, not copies: a message read back lives until its
                // connection wrote it (or, for a peer that keeps receipts, until it is
                // confirmed), and the ones in flight are mostly neighbours, so they keep a
                // few chunks alive, not one each.
                Ok(Step::Record { seq, frames })
            }
            Decoded::Incomplete => Ok(damaged(offset, "truncated record", false)),
            Decoded::Corrupt(reason) => Ok(damaged(offset, reason, true)),
        }
    }

    /// Record `seq` began at `offset`: the next one is numbered higher.
    fn remember(&mut self, seq: u64, offset: u64) {
        self.next_seq = seq.saturating_add(1); // a record from disk may say anything
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        if self.recent.back().is_none_or(|&(last, _)| last < seq) {
            self.recent.push_back((seq, offset));
        }
    }

    /// Where the `len` bytes at the reader's offset are in the chunk, which is read again from
    /// there if it does not hold them.
    fn window(&mut self, len: u64, seg_len: u64) -> io::Result<usize> {
        let start = self.offset;
        let in_chunk = start >= self.chunk_at && start + len <= self.chunk_at + self.chunk.len() as u64;
        if !in_chunk {
            let want = (CHUNK as u64).max(len).min(seg_len - start) as usize;
            // Reused when no frame refers into it any more, else a fresh one.
            let mut buf = std::mem::take(&mut self.chunk)
                .try_into_mut()
                .unwrap_or_else(|_| BytesMut::new());
            buf.clear();
            buf.resize(want, 0);
            self.file.read_exact_at(&mut buf, start)?;
            self.chunk = buf.freeze();
            self.chunk_at = start;
        }
        Ok((start - self.chunk_at) as usize)
    }

    /// A large record read into its own buffer.
    fn read_alone(&mut self, total: u64) -> io::Result<Bytes> {
        let mut buf = vec![0u8; total as usize];
        self.file.read_exact_at(&mut buf, self.offset)?;
        Ok(Bytes::from(buf))
    }
}

fn damaged(offset: u64, reason: &'static str, skippable: bool) -> Step {
    Step::Damaged {
        offset,
        reason,
        skippable,
    }
}

#[cfg(test)]
mod tests {
    use crate::spool::Spool;
    use crate::spool::file::{FileSpool, FileSpoolConfig, FsyncPolicy};
    use bytes::Bytes;

    fn message(i: u64) -> Vec<Bytes> {
        // Sizes around the chunk's and `ALONE`'s edges, and frames of several kinds.
        let len = match i % 97 {
            0 => 3 * super::ALONE as usize,
            1 => super::ALONE as usize - 40,
            n => (n * n * 7 % 3000) as usize,
        };
        let fill = (i % 251) as u8;
        vec![
            Bytes::from(vec![fill; len]),
            Bytes::from(i.to_be_bytes().to_vec()),
        ]
    }

    /// Found by review: the numbers in segment names and records come from the disk, and
    /// numbers near `u64::MAX` (or a segment named 0) overflowed the recovery's and the
    /// reader's arithmetic. Whatever they say, opening, reading and appending return.
    #[test]
    fn extreme_numbers_on_disk_are_damage_not_a_panic() {
        use crate::spool::file::OnCorruption;
        use crate::spool::record;
        let record_of = |seq: u64| {
            let mut out = bytes::BytesMut::new();
            record::encode(seq, &message(seq % 1000), &mut out);
            out.to_vec()
        };
        let cases: [(&str, Vec<u8>); 4] = [
            ("18446744073709551615", record_of(u64::MAX)),
            ("00000000000000000000", Vec::new()),
            ("00000000000000000000", record_of(0)),
            (
                "00000000000000000001",
                [record_of(1), record_of(u64::MAX), record_of(2)].concat(),
            ),
        ];
        for (i, (name, bytes)) in cases.iter().enumerate() {
            for on_corruption in [OnCorruption::Fail, OnCorruption::Skip] {
                let dir = std::env::temp_dir().join(format!("zocket-extreme-{}-{i}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(format!("{name}.seg")), bytes).unwrap();
                // And an acknowledgement mark at the end of the numbers, checksum valid.
                let mut acked = u64::MAX.to_le_bytes().to_vec();
                acked.extend(crate::spool::crc32c::extend(0, &acked).to_le_bytes());
                std::fs::write(dir.join("acked"), acked).unwrap();
                let config = FileSpoolConfig {
                    cache_bytes: 0,
                    fsync: FsyncPolicy::Never,
                    on_corruption,
                    ..FileSpoolConfig::default()
                };
                if let Ok(mut spool) = FileSpool::open_with(&dir, config) {
                    for seq in [0, 1, 2, 3, u64::MAX] {
                        let _ = spool.read(seq);
                    }
                    let _ = spool.append(&message(7));
                }
                std::fs::remove_dir_all(&dir).unwrap();
            }
        }
    }

    /// A fresh spool in a directory of its own, with no cache: every read goes to the reader.
    fn uncached_spool(name: &str, segment_size: u64) -> (std::path::PathBuf, FileSpool) {
        let dir = std::env::temp_dir().join(format!("zocket-reader-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = FileSpoolConfig {
            cache_bytes: 0,
            segment_size,
            fsync: FsyncPolicy::Never,
            ..FileSpoolConfig::default()
        };
        (dir.clone(), FileSpool::open_with(&dir, config).unwrap())
    }

    /// A read steps over the records before its own by their headers, but one whose number
    /// is not the next expected is read and checked: damage to the number is reported, not
    /// stepped over (with `(next..wanted)` as the test, a record numbered one too high was
    /// skipped silently). Then marks: a read far ahead lands near its record.
    #[test]
    fn a_damaged_number_on_the_way_is_reported() {
        use crate::spool::SpoolError;
        use std::os::unix::fs::FileExt;
        let (dir, mut spool) = uncached_spool("number", FileSpoolConfig::default().segment_size);
        let message = |i: u64| vec![Bytes::from(vec![i as u8; 16])];
        for i in 1..=2000u64 {
            spool.append(&message(i)).unwrap();
        }
        // Each record: 8 bytes of header, 12 of number and count, 4 of length, 16 of frame.
        let record = 40u64;
        let segment = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "seg"))
            .unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&segment).unwrap();
        file.write_all_at(&11u64.to_le_bytes(), 9 * record + 8).unwrap(); // record 10 says 11
        assert_eq!(spool.read(5).unwrap(), Some(message(5)));
        assert!(
            matches!(spool.read(14), Err(SpoolError::Corrupt { offset, .. }) if offset == 9 * record),
            "record 10's number is damaged"
        );
        assert_eq!(spool.read(1999).unwrap(), Some(message(1999)), "through a mark");
        assert_eq!(
            spool.read(1500).unwrap(),
            Some(message(1500)),
            "from the start, through a mark"
        );
        drop(spool);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// With no cache, every read goes through the reader: in order while the segment grows
    /// under it, then out of order, across segments and chunk edges.
    #[test]
    fn reads_every_record_back_in_and_out_of_order() {
        let (dir, mut spool) = uncached_spool("order", 4 << 20);
        let mut read = 1;
        for i in 1..=3000u64 {
            assert_eq!(spool.append(&message(i)).unwrap(), i);
            if i % 7 == 0 {
                while read <= i {
                    assert_eq!(spool.read(read).unwrap(), Some(message(read)), "record {read}");
                    read += 1;
                }
            }
        }
        // Two readers taking turns, each a little behind the other (a sender catching up,
        // the spool thread): served by stepping back, not by reading from the start.
        let mut behind = 1;
        for ahead in (33..=3000u64).step_by(32) {
            for i in ahead - 32..ahead {
                assert_eq!(spool.read(i).unwrap(), Some(message(i)), "record {i}");
            }
            assert_eq!(
                spool.read(behind).unwrap(),
                Some(message(behind)),
                "record {behind}"
            );
            behind += 31;
        }
        for i in [2999, 5, 1500, 6, 7, 2000, 97, 98, 1, 3000] {
            assert_eq!(spool.read(i).unwrap(), Some(message(i)), "record {i}");
        }
        assert_eq!(spool.read(3001).unwrap(), None);
        drop(spool);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
