//! ZMTP 3.x frames: the flags byte, the short and long size forms, and the body.

use super::ProtocolError;
use crate::message;
use bytes::{Buf, BufMut, BytesMut};

/// Flag bit: another frame of this message follows.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit: the size is 8 bytes (big-endian) instead of 1.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit: the frame is a command, not message data.
pub const FLAG_COMMAND: u8 = 0x04;
const RESERVED_BITS: u8 = !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND);

/// Bodies up to this size use the 1-byte size form (as libzmq does).
pub const SHORT_MAX: usize = 255;

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Another frame of the same message follows.
    pub more: bool,
    /// The frame is a command.
    pub command: bool,
    /// The payload: inline when small, unless the frame is a command.
    pub body: message::Frame,
}

/// The header of a frame once its flags and size are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Flags byte (MORE and COMMAND bits; LONG is implied by the encoding).
    pub flags: u8,
    /// Body size in bytes.
    pub size: u64,
    /// How many bytes the header itself took (2 or 9).
    pub header_len: usize,
}

/// Parses a frame header from the start of `input` without consuming anything.
/// Returns `Ok(None)` when more bytes are needed.
pub fn parse_header(input: &[u8]) -> Result<Option<Header>, ProtocolError> {
    let Some(&flags) = input.first() else {
        return Ok(None);
    };
    if flags & RESERVED_BITS != 0 {
        return Err(ProtocolError::BadFrame("reserved flag bits are set"));
    }
    if flags & FLAG_COMMAND != 0 && flags & FLAG_MORE != 0 {
        return Err(ProtocolError::BadFrame("a command frame has the MORE flag"));
    }
    if flags & FLAG_LONG == 0 {
        let Some(&size) = input.get(1) else {
            return Ok(None);
        };
        return Ok(Some(Header {
            flags: flags & !FLAG_LONG,
            size: u64::from(size),
            header_len: 2,
        }));
    }
    if input.len() < 9 {
        return Ok(None);
    }
    let size = (&input[1..9]).get_u64();
    if size > i64::MAX as u64 {
        return Err(ProtocolError::BadFrame("frame size exceeds 2^63-1"));
    }
    Ok(Some(Header {
        flags: flags & !FLAG_LONG,
        size,
        header_len: 9,
    }))
}

/// Writes a frame header for a body of `size` bytes.
pub fn encode_header(flags: u8, size: usize, out: &mut impl BufMut) {
    if size <= SHORT_MAX {
        out.put_u8(flags);
        out.put_u8(size as u8);
    } else {
        out.put_u8(flags | FLAG_LONG);
        out.put_u64(size as u64);
    }
}

/// Writes a whole frame (header and body) into `out`.
pub fn encode_frame(flags: u8, body: &[u8], out: &mut BytesMut) {
    encode_header(flags, body.len(), out);
    out.extend_from_slice(body);
}

/// Decodes one frame from the front of `input`, consuming it. Enforces `max_size` on the body
/// before any memory is reserved for it. Returns `Ok(None)` when more bytes are needed, and
/// reserves room in `input` for the rest of the frame (at most 1 MiB at a time, so a peer that
/// announces a huge frame does not make us allocate before it sends).
pub fn decode_frame(input: &mut BytesMut, max_size: u64) -> Result<Option<Frame>, ProtocolError> {
    let Some(header) = take_header(input, max_size)? else {
        return Ok(None);
    };
    let command = header.flags & FLAG_COMMAND != 0;
    let size = header.size as usize;
    // A small message frame is copied out, so that no refcount on the read buffer crosses to
    // the application's thread; the rest are slices of it.
    let body = match message::Frame::inline(&input[..size]) {
        Some(small) if !command => {
            input.advance(size);
            small
        }
        _ => message::Frame::shared(input.split_to(size).freeze()),
    };
    Ok(Some(Frame {
        more: header.flags & FLAG_MORE != 0,
        command,
        body,
    }))
}

/// Decodes one frame's header and takes its body as it lies in `input`, with no copy (for a
/// body the caller transforms in place, such as a CURVE box). Same limits and `Ok(None)`
/// rule as [`decode_frame`].
pub fn decode_raw(input: &mut BytesMut, max_size: u64) -> Result<Option<(Header, BytesMut)>, ProtocolError> {
    let Some(header) = take_header(input, max_size)? else {
        return Ok(None);
    };
    let body = input.split_to(header.size as usize);
    Ok(Some((header, body)))
}

/// Consumes a frame's header once its whole body is in `input` (the body then starts
/// `input`); `Ok(None)` after reserving room for what is missing.
fn take_header(input: &mut BytesMut, max_size: u64) -> Result<Option<Header>, ProtocolError> {
    let Some(header) = parse_header(input)? else {
        return Ok(None);
    };
    if header.size > max_size {
        return Err(ProtocolError::TooLarge {
            size: header.size,
            limit: max_size,
        });
    }
    let total = header.header_len + header.size as usize;
    if input.len() < total {
        let missing = total - input.len();
        input.reserve(missing.min(1 << 20));
        return Ok(None);
    }
    input.advance(header.header_len);
    Ok(Some(header))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_and_long_forms() {
        let mut out = BytesMut::new();
        encode_frame(FLAG_MORE, b"abc", &mut out);
        assert_eq!(&out[..], b"\x01\x03abc");
        let big = vec![7u8; 256];
        let mut out = BytesMut::new();
        encode_frame(0, &big, &mut out);
        assert_eq!(&out[..9], &[0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn long_header_with_small_body_is_accepted() {
        let mut input = BytesMut::from(&[0x02, 0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i'][..]);
        let f = decode_frame(&mut input, u64::MAX).unwrap().unwrap();
        assert_eq!(&f.body[..], b"hi");
        assert!(input.is_empty());
    }

    #[test]
    fn size_checked_before_allocation() {
        let mut input = BytesMut::from(&[0x02, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..]);
        assert!(matches!(
            decode_frame(&mut input, 1 << 20),
            Err(ProtocolError::TooLarge { .. })
        ));
        let mut input = BytesMut::from(&[0x02, 0xFF, 0, 0, 0, 0, 0, 0, 0][..]);
        assert!(decode_frame(&mut input, u64::MAX).is_err());
    }

    #[test]
    fn reserved_bits_rejected() {
        let mut input = BytesMut::from(&[0x08, 0][..]);
        assert!(decode_frame(&mut input, u64::MAX).is_err());
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            frames in proptest::collection::vec(
                (any::<bool>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600)),
                0..8)
        ) {
            let mut wire = BytesMut::new();
            for (more, command, body) in &frames {
                let more = *more && !*command;
                let flags = if *command { FLAG_COMMAND } else if more { FLAG_MORE } else { 0 };
                encode_frame(flags, body, &mut wire);
            }
            for (more, command, body) in &frames {
                let f = decode_frame(&mut wire, u64::MAX).unwrap().unwrap();
                prop_assert_eq!(f.more, *more && !*command);
                prop_assert_eq!(f.command, *command);
                prop_assert_eq!(&f.body[..], &body[..]);
            }
            prop_assert!(wire.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                                      limit in 0u64..100_000) {
            let mut input = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = decode_frame(&mut input, limit) {}
        }

        #[test]
        fn split_input_decodes_the_same(body in proptest::collection::vec(any::<u8>(), 0..1000),
                                        cut in 0usize..1010) {
            let mut wire = BytesMut::new();
            encode_frame(0, &body, &mut wire);
            let cut = cut.min(wire.len());
            let rest = wire.split_off(cut);
            let mut input = wire;
            if cut < rest.len() + cut {
                prop_assert!(decode_frame(&mut input, u64::MAX).unwrap().is_none());
            }
            input.extend_from_slice(&rest);
            let f = decode_frame(&mut input, u64::MAX).unwrap().unwrap();
            prop_assert_eq!(&f.body[..], &body[..]);
        }
    }
}
