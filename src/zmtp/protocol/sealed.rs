//! Frames boxed by a CURVE cipher: each travels as a MESSAGE command body in a frame whose
//! outer flags say nothing (libzmq sends them with neither COMMAND nor MORE, and takes an outer
//! COMMAND bit as the frame's own, dropping it): MORE and COMMAND are inside the box.

use super::super::ProtocolError;
use super::super::frame::{self, FLAG_COMMAND, FLAG_MORE};
use super::super::mechanism::Cipher;
use super::super::outbuf::OutBuf;
use crate::message;
use bytes::BytesMut;

/// Bytes a MESSAGE adds around a frame's payload: its name (8), nonce (8), MAC (16) and the
/// boxed flags byte.
pub(super) const OVERHEAD: usize = 8 + 8 + 16 + 1;

/// Boxes one frame and queues it as a MESSAGE.
pub(super) fn push(cipher: &mut dyn Cipher, flags: u8, payload: &[u8], out: &mut OutBuf) {
    let staging = out.staging();
    let before = staging.len();
    frame::encode_header(0, OVERHEAD + payload.len(), staging);
    cipher.seal(flags, payload, staging);
    debug_assert_eq!(
        staging.len() - before,
        OVERHEAD
            + payload.len()
            + if OVERHEAD + payload.len() > frame::SHORT_MAX {
                9
            } else {
                2
            }
    );
    let n = staging.len() - before;
    out.staged(n);
}

/// Opens a MESSAGE frame: whether the boxed frame is a command, whether more follow, and
/// its payload, which may be at most `budget` bytes.
pub(super) fn open(
    cipher: &mut dyn Cipher,
    body: BytesMut,
    budget: u64,
) -> Result<(bool, bool, message::Frame), ProtocolError> {
    // Whatever the outer flags say, the frame is a MESSAGE (libzmq's rule).
    let (flags, payload) = cipher.open(body)?;
    if payload.len() as u64 > budget {
        return Err(ProtocolError::TooLarge {
            size: payload.len() as u64,
            limit: budget,
        });
    }
    let command = flags & FLAG_COMMAND != 0;
    let more = flags & FLAG_MORE != 0;
    if command && more {
        return Err(ProtocolError::BadFrame("a command frame has the MORE flag"));
    }
    let body = match message::Frame::inline(&payload) {
        Some(small) if !command => small,
        _ => message::Frame::from(payload),
    };
    Ok((command, more, body))
}
