//! The data phase: every frame, data or command, travels as a MESSAGE command whose box
//! holds a flags byte and the frame's body.
//!
//! Inside the box libzmq writes its own message flags: bit 0 MORE, bit 1 COMMAND (its
//! `msg_t::more` and `msg_t::command`); zocket's frame flags put COMMAND at bit 2, so both
//! directions convert. Other bits of the box's flags byte are ignored, as libzmq does.

use super::keys::SharedKey;
use super::nacl::PrefixKey;
use super::nonce;
use super::{CRYPTO, TAG};
use crate::zmtp::ProtocolError;
use crate::zmtp::frame::{FLAG_COMMAND, FLAG_MORE};
use crate::zmtp::mechanism::Cipher;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The MESSAGE command's name, length byte included.
const NAME: &[u8; 8] = b"\x07MESSAGE";
/// The bytes a MESSAGE adds to a frame's body: name, nonce, tag and flags.
const OVERHEAD: usize = NAME.len() + 8 + TAG + 1;

/// MORE inside a MESSAGE box.
const BOX_MORE: u8 = 0x01;
/// COMMAND inside a MESSAGE box.
const BOX_COMMAND: u8 = 0x02;

/// zocket's frame flags as the flags byte inside a MESSAGE box.
pub(super) fn to_box_flags(flags: u8) -> u8 {
    let mut out = 0;
    if flags & FLAG_MORE != 0 {
        out |= BOX_MORE;
    }
    if flags & FLAG_COMMAND != 0 {
        out |= BOX_COMMAND;
    }
    out
}

/// The flags byte of a MESSAGE box as zocket's frame flags.
pub(super) fn from_box_flags(flags: u8) -> u8 {
    let mut out = 0;
    if flags & BOX_MORE != 0 {
        out |= FLAG_MORE;
    }
    if flags & BOX_COMMAND != 0 {
        out |= FLAG_COMMAND;
    }
    out
}

/// Seals and opens MESSAGE commands with the connection's precomputed transient key, its
/// HSalsa20 step done once per direction (a MESSAGE nonce is a fixed prefix and a counter).
#[cfg_attr(test, derive(Clone))]
pub(super) struct CurveCipher {
    send: PrefixKey,
    recv: PrefixKey,
    /// The counter of our next MESSAGE.
    next_send: u64,
    /// The counter of the peer's last accepted box (its INITIATE or READY at first).
    last_recv: u64,
}

impl CurveCipher {
    /// The client's cipher: it sends from `next_send` on, after the server's READY counter.
    pub(super) fn client(key: SharedKey, next_send: u64, last_recv: u64) -> CurveCipher {
        CurveCipher {
            send: key.prefixed(nonce::MESSAGE_C),
            recv: key.prefixed(nonce::MESSAGE_S),
            next_send,
            last_recv,
        }
    }

    /// The server's cipher: it sends from `next_send` on, after the client's INITIATE
    /// counter.
    pub(super) fn server(key: SharedKey, next_send: u64, last_recv: u64) -> CurveCipher {
        CurveCipher {
            send: key.prefixed(nonce::MESSAGE_S),
            recv: key.prefixed(nonce::MESSAGE_C),
            next_send,
            last_recv,
        }
    }
}

impl Cipher for CurveCipher {
    fn seal(&mut self, flags: u8, payload: &[u8], out: &mut BytesMut) {
        let counter = self.next_send;
        // 2^64 frames never happen; were the counter spent anyway, the last nonce is never
        // reused: the frame goes out as a box nobody can open and the peer disconnects.
        let spent = counter == u64::MAX;
        self.next_send = counter.saturating_add(1);
        out.reserve(OVERHEAD + payload.len());
        out.extend_from_slice(NAME);
        out.put_u64(counter);
        let start = out.len();
        // The plaintext is the flags byte then the payload, encrypted from `payload` into
        // `out` (zeroed first, then written once).
        out.resize(start + TAG + 1 + payload.len(), 0);
        if spent {
            return;
        }
        let (tag, text) = out[start..].split_at_mut(TAG);
        text[0] = to_box_flags(flags);
        tag.copy_from_slice(&self.send.seal(&counter.to_be_bytes(), text, payload));
    }

    fn open(&mut self, mut body: BytesMut) -> Result<(u8, Bytes), ProtocolError> {
        if body.get(..NAME.len()) != Some(&NAME[..]) {
            return Err(ProtocolError::BadCommand(
                "expected a MESSAGE command after the CURVE handshake",
            ));
        }
        if body.len() < OVERHEAD {
            return Err(ProtocolError::BadCommand("CURVE MESSAGE too short"));
        }
        let counter = nonce::counter(&body[NAME.len()..]).unwrap_or(0);
        if counter <= self.last_recv {
            return Err(ProtocolError::BadCommand(
                "CURVE MESSAGE nonce not above the last one",
            ));
        }
        let mut text = body.split_off(NAME.len() + 8);
        let (tag, boxed) = text.split_at_mut(TAG);
        let tag: &[u8; TAG] = (&*tag).try_into().expect("16 bytes");
        if !self.recv.open(&counter.to_be_bytes(), tag, boxed) {
            return Err(ProtocolError::BadCommand(CRYPTO));
        }
        self.last_recv = counter;
        text.advance(TAG);
        let flags = from_box_flags(text.get_u8());
        Ok((flags, text.freeze()))
    }
}
