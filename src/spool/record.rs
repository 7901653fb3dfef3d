//! The on-disk record: `len (u32 LE) | crc32c of body (u32 LE) | body`, where the body is
//! `seq (u64 LE) | frame count (u32 LE) | (frame length (u32 LE) | frame bytes)*`. A
//! multipart message is one record.

use super::crc32c;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Bytes before the body.
pub(crate) const HEADER_LEN: usize = 8;
/// A body this large is certainly not ours (a flipped length byte): refuse to read it.
pub(crate) const MAX_BODY: u32 = 1 << 30;

/// Appends the record for message `seq` to `out`.
pub(crate) fn encode(seq: u64, frames: &[Bytes], out: &mut BytesMut) {
    let body_len = 12 + frames.iter().map(|f| 4 + f.len()).sum::<usize>();
    out.reserve(HEADER_LEN + body_len);
    let start = out.len();
    out.put_u32_le(body_len as u32);
    out.put_u32_le(0); // checksum, filled in below
    out.put_u64_le(seq);
    out.put_u32_le(frames.len() as u32);
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
    },
    /// The bytes end inside a record: a torn write if this is the end of the file.
    Incomplete,
    /// The record is damaged.
    Corrupt(&'static str),
}

/// Decodes the record at the start of `buf`.
pub(crate) fn decode(buf: &Bytes) -> Decoded {
    if buf.len() < HEADER_LEN {
        return Decoded::Incomplete;
    }
    let body_len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if !(12..=MAX_BODY).contains(&body_len) {
        return Decoded::Corrupt("implausible record length");
    }
    let total = HEADER_LEN + body_len as usize;
    if buf.len() < total {
        return Decoded::Incomplete;
    }
    let body = buf.slice(HEADER_LEN..total);
    if crc32c::extend(0, &body) != crc {
        return Decoded::Corrupt("checksum mismatch");
    }
    match parse_body(body) {
        Some((seq, frames)) => Decoded::Record {
            seq,
            frames,
            len: total,
        },
        None => Decoded::Corrupt("frame lengths do not match the record length"),
    }
}

fn parse_body(mut body: Bytes) -> Option<(u64, Vec<Bytes>)> {
    let seq = body.get_u64_le();
    let count = body.get_u32_le() as usize;
    if count > body.len() / 4 + 1 {
        return None;
    }
    let mut frames = Vec::with_capacity(count);
    for _ in 0..count {
        if body.len() < 4 {
            return None;
        }
        let len = body.get_u32_le() as usize;
        if body.len() < len {
            return None;
        }
        frames.push(body.split_to(len));
    }
    body.is_empty().then_some((seq, frames))
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
            Decoded::Record { seq, frames, len } => {
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

    proptest! {
        #[test]
        fn round_trip(seq in any::<u64>(),
                      frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..5)) {
            let frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
            let mut buf = BytesMut::new();
            encode(seq, &frames, &mut buf);
            let whole = buf.freeze();
            prop_assert_eq!(decode(&whole), Decoded::Record { seq, frames, len: whole.len() });
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&Bytes::from(bytes));
        }
    }
}
