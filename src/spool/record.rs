//! The on-disk record: `len (u32 LE) | crc32c of body (u32 LE) | body`, where the body is
//! `seq (u64 LE) | frame count and flags (u32 LE) | [batch id (u64 LE)] | (frame length
//! (u32 LE) | frame bytes)*`. A multipart message is one record.
//!
//! The count's top two bits mark batches (zero for a message on its own, so older spools read
//! the same): [`CONTINUES`], more records of the same atomic batch follow; [`COMMITS`], this
//! record ends a batch that commits a prepared batch, whose id follows the count.

use super::crc32c;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Bytes before the body.
pub(crate) const HEADER_LEN: usize = 8;
/// A body this large is certainly not ours (a flipped length byte): refuse to read it.
pub(crate) const MAX_BODY: u32 = 1 << 30;
/// The longest record the format holds (header included): a longer message is refused.
pub(crate) const MAX_RECORD: u64 = HEADER_LEN as u64 + MAX_BODY as u64;
/// Sequence numbers run from 1 up, one per message: a number past this (2^62, some 146 years
/// at 10^9 messages a second) or 0 in a record, a segment's name or the `acked` file is
/// damage, and the arithmetic on numbers read from the disk cannot overflow.
pub(crate) const MAX_SEQ: u64 = 1 << 62;
/// The shortest record: a message of no frames.
const MIN_RECORD: usize = HEADER_LEN + 12;
/// Count flag: more records of the same batch follow.
const CONTINUES: u32 = 1 << 31;
/// Count flag: the record ends a batch committing a prepared batch; its id follows.
const COMMITS: u32 = 1 << 30;
const COUNT_MASK: u32 = COMMITS - 1;

/// Where a record stands in an atomic batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BatchMark {
    /// More records of the same batch follow: the batch is whole only with its last record.
    pub continues: bool,
    /// The batch this record ends commits the prepared batch with this id.
    pub commits: Option<u64>,
}

/// Bytes the record of `frames` takes, header included (computed without overflow, so a
/// message too large for the format can be refused before it is encoded).
pub(crate) fn encoded_len(frames: &[Bytes]) -> u64 {
    let frames_len: u64 = frames.iter().map(|f| 4 + f.len() as u64).sum();
    HEADER_LEN as u64 + 12 + frames_len
}

/// [`encoded_len`] of a record with `mark`.
pub(crate) fn encoded_len_marked(frames: &[Bytes], mark: BatchMark) -> u64 {
    encoded_len(frames) + if mark.commits.is_some() { 8 } else { 0 }
}

/// Appends the record for message `seq` to `out`. The caller has checked
/// `encoded_len(frames) <= MAX_RECORD`.
pub(crate) fn encode(seq: u64, frames: &[Bytes], out: &mut BytesMut) {
    encode_marked(seq, frames, BatchMark::default(), out);
}

/// [`encode`], with the record's place in a batch.
pub(crate) fn encode_marked(seq: u64, frames: &[Bytes], mark: BatchMark, out: &mut BytesMut) {
    let id_len = if mark.commits.is_some() { 8 } else { 0 };
    let body_len = 12 + id_len + frames.iter().map(|f| 4 + f.len()).sum::<usize>();
    out.reserve(HEADER_LEN + body_len);
    let start = out.len();
    out.put_u32_le(body_len as u32);
    out.put_u32_le(0); // checksum, filled in below
    out.put_u64_le(seq);
    let mut count = frames.len() as u32;
    if mark.continues {
        count |= CONTINUES;
    }
    if mark.commits.is_some() {
        count |= COMMITS;
    }
    out.put_u32_le(count);
    if let Some(id) = mark.commits {
        out.put_u64_le(id);
    }
    for f in frames {
        out.put_u32_le(f.len() as u32);
        out.extend_from_slice(f);
    }
    let crc = crc32c::extend(0, &out[start + HEADER_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// What a byte range holds at its start.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A whole, valid record of `len` bytes (header included).
    Record {
        seq: u64,
        frames: Vec<Bytes>,
        len: usize,
        mark: BatchMark,
    },
    /// The bytes end inside a record: a torn write if this is the end of the file.
    Incomplete,
    /// The record is damaged.
    Corrupt(&'static str),
}

/// Decodes the record at the start of `buf`.
pub(crate) fn decode(buf: &Bytes) -> Decoded {
    decode_at(buf, 0)
}

/// Decodes the record at offset `start` of `buf`. The checks read `buf` in place; only the
/// frames are made into `Bytes`, slices of it (a reference count each).
pub(crate) fn decode_at(buf: &Bytes, start: usize) -> Decoded {
    let bytes = buf.get(start..).unwrap_or_default();
    if bytes.len() < HEADER_LEN {
        return Decoded::Incomplete;
    }
    let body_len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if !(12..=MAX_BODY).contains(&body_len) {
        return Decoded::Corrupt("implausible record length");
    }
    let total = HEADER_LEN + body_len as usize;
    if bytes.len() < total {
        return Decoded::Incomplete;
    }
    let body = &bytes[HEADER_LEN..total];
    if crc32c::extend(0, body) != crc {
        return Decoded::Corrupt("checksum mismatch");
    }
    // Sized once from the count (bounded by the body's length): growing it showed in the
    // profile of reading back.
    let count = body.get(8..12).map_or(0, |b| {
        (u32::from_le_bytes(b.try_into().expect("4 bytes")) & COUNT_MASK) as usize
    });
    let mut frames = Vec::with_capacity(count.min(body.len() / 4));
    let body_at = start + HEADER_LEN;
    match parse_body(body, |range| {
        frames.push(buf.slice(body_at + range.start..body_at + range.end))
    }) {
        Some((seq, _)) if seq == 0 || seq > MAX_SEQ => Decoded::Corrupt("implausible sequence number"),
        Some((seq, mark)) => Decoded::Record {
            seq,
            frames,
            len: total,
            mark,
        },
        None => Decoded::Corrupt("frame lengths do not match the record length"),
    }
}

/// Looks for a whole, valid record after damage found at `damaged_at`: the first one at a
/// later offset whose sequence number is at least `min_seq`, and no higher than the records
/// that fit between `damaged_at` and it could account for. Returns its offset and number.
///
/// Cheap checks (a plausible length that fits, a sequence number in that window) come before
/// the checksum, so zero-filled or random bytes are passed over quickly.
pub(crate) fn find_record(buf: &Bytes, damaged_at: usize, min_seq: u64) -> Option<(usize, u64)> {
    let last_start = buf.len().checked_sub(MIN_RECORD)?;
    for at in damaged_at + 1..=last_start {
        let body_len = u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
        if !(12..=MAX_BODY).contains(&body_len) || HEADER_LEN + body_len as usize > buf.len() - at {
            continue;
        }
        let seq = u64::from_le_bytes(buf[at + 8..at + 16].try_into().expect("8 bytes"));
        let most_missing = ((at - damaged_at) / MIN_RECORD) as u64;
        if seq < min_seq || seq - min_seq > most_missing {
            continue;
        }
        if let Decoded::Record { seq, .. } = decode(&buf.slice(at..)) {
            return Some((at, seq));
        }
    }
    None
}

/// Reads a record's body, handing each frame's range in it to `frame`.
fn parse_body(body: &[u8], mut frame: impl FnMut(std::ops::Range<usize>)) -> Option<(u64, BatchMark)> {
    let mut rest = body;
    let seq = rest.get_u64_le();
    let raw = rest.get_u32_le();
    let mut mark = BatchMark {
        continues: raw & CONTINUES != 0,
        commits: None,
    };
    if raw & COMMITS != 0 {
        if rest.len() < 8 {
            return None;
        }
        mark.commits = Some(rest.get_u64_le());
    }
    let count = (raw & COUNT_MASK) as usize;
    if count > rest.len() / 4 + 1 {
        return None;
    }
    for _ in 0..count {
        if rest.len() < 4 {
            return None;
        }
        let len = rest.get_u32_le() as usize;
        if rest.len() < len {
            return None;
        }
        let at = body.len() - rest.len();
        frame(at..at + len);
        rest.advance(len);
    }
    rest.is_empty().then_some((seq, mark))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn torn_and_flipped_records_are_detected() {
        let mut buf = BytesMut::new();
        encode(7, &[Bytes::from_static(b"hello"), Bytes::new()], &mut buf);
        let whole = buf.freeze();
        match decode(&whole) {
            Decoded::Record { seq, frames, len, .. } => {
                assert_eq!((seq, len), (7, whole.len()));
                assert_eq!(frames, vec![Bytes::from_static(b"hello"), Bytes::new()]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decode(&whole.slice(..whole.len() - 1)), Decoded::Incomplete);
        let mut flipped = whole.to_vec();
        flipped[HEADER_LEN + 9] ^= 0x40;
        assert_eq!(
            decode(&Bytes::from(flipped)),
            Decoded::Corrupt("checksum mismatch")
        );
        let mut bad_len = whole.to_vec();
        bad_len[3] = 0x7F;
        assert!(matches!(decode(&Bytes::from(bad_len)), Decoded::Corrupt(_)));
    }

    fn record(seq: u64, payload: &[u8]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode(seq, &[Bytes::copy_from_slice(payload)], &mut buf);
        buf.to_vec()
    }

    #[test]
    fn encoded_len_matches_encode() {
        let frames = [
            Bytes::from_static(b"abc"),
            Bytes::new(),
            Bytes::from(vec![7; 300]),
        ];
        let mut buf = BytesMut::new();
        encode(1, &frames, &mut buf);
        assert_eq!(encoded_len(&frames), buf.len() as u64);
        assert_eq!(encoded_len(&[]), MIN_RECORD as u64);
    }

    #[test]
    fn find_record_skips_damage_and_ignores_zeros_and_stale_numbers() {
        let mut file = record(5, b"five");
        let damaged_at = file.len();
        file.extend_from_slice(&[0u8; 100]);
        assert_eq!(
            find_record(&Bytes::from(file.clone()), damaged_at, 6),
            None,
            "zeros only"
        );
        let next_at = file.len();
        file.extend(record(9, b"nine"));
        let buf = Bytes::from(file);
        assert_eq!(find_record(&buf, damaged_at, 6), Some((next_at, 9)));
        assert_eq!(
            find_record(&buf, damaged_at, 10),
            None,
            "an older number is stale"
        );
        // 100 damaged bytes can hide at most 5 records of 20 bytes: 6..=11, not 12.
        let mut far = vec![0u8; 100];
        far.extend(record(12, b""));
        assert_eq!(find_record(&Bytes::from(far), 0, 6), None);
    }

    proptest! {
        #[test]
        fn round_trip(seq in any::<u64>(),
                      frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..5)) {
            let frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
            let mut buf = BytesMut::new();
            encode(seq, &frames, &mut buf);
            let whole = buf.freeze();
            match seq {
                1..=MAX_SEQ => prop_assert_eq!(decode(&whole), Decoded::Record { seq, frames, len: whole.len(), mark: BatchMark::default() }),
                _ => prop_assert_eq!(decode(&whole), Decoded::Corrupt("implausible sequence number")),
            }
        }

        #[test]
        fn batch_marks_round_trip(seq in 1..=MAX_SEQ, continues in any::<bool>(), commits in any::<Option<u64>>(),
                                  frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 0..4)) {
            let frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
            let mark = BatchMark { continues, commits };
            let mut buf = BytesMut::new();
            encode_marked(seq, &frames, mark, &mut buf);
            prop_assert_eq!(encoded_len_marked(&frames, mark), buf.len() as u64);
            let whole = buf.freeze();
            prop_assert_eq!(decode(&whole), Decoded::Record { seq, frames, len: whole.len(), mark });
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                       at in 0usize..300, min_seq in any::<u64>()) {
            let bytes = Bytes::from(bytes);
            let _ = decode(&bytes);
            let _ = find_record(&bytes, at, min_seq);
        }
    }
}
