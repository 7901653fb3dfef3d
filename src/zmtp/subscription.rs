//! The one-frame form of a subscription that travels through pipes and to ZMTP 3.0 peers:
//! first byte 1 (subscribe) or 0 (unsubscribe), then the prefix. ZMTP 3.1 peers get the same
//! as SUBSCRIBE/CANCEL commands (see `protocol`).

use crate::message::{Frame, INLINE_MAX, Parts};
use bytes::{BufMut, BytesMut};

/// Builds the message that subscribes to (or unsubscribes from) `prefix`.
pub(crate) fn encode(subscribe: bool, prefix: &[u8]) -> Parts {
    let frame = if prefix.len() < INLINE_MAX {
        let mut body = [0; INLINE_MAX];
        body[0] = u8::from(subscribe);
        body[1..=prefix.len()].copy_from_slice(prefix);
        Frame::copy_from_slice(&body[..=prefix.len()])
    } else {
        let mut body = BytesMut::with_capacity(prefix.len() + 1);
        body.put_u8(u8::from(subscribe));
        body.extend_from_slice(prefix);
        Frame::from(body.freeze())
    };
    let mut parts = Parts::new();
    parts.push(frame);
    parts
}

/// Reads a subscription message: `Some((subscribe?, prefix))`, or `None` for any other message.
pub(crate) fn decode(msg: &[Frame]) -> Option<(bool, Frame)> {
    let [frame] = msg else { return None };
    match frame.first() {
        Some(1) => Some((true, frame.skip(1))),
        Some(0) => Some((false, frame.skip(1))),
        _ => None,
    }
}

/// The bytes `msg` subscribes to, if it is a subscription (what a publisher's per-peer bound
/// counts); 0 for anything else.
pub(crate) fn subscribed_bytes(msg: &[Frame]) -> usize {
    match msg {
        [frame] if frame.first() == Some(&1) => frame.len() - 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_messages() {
        assert_eq!(
            decode(&encode(true, b"topic")),
            Some((true, Frame::from(&b"topic"[..])))
        );
        let long = [7u8; 100];
        assert_eq!(
            decode(&encode(true, &long)),
            Some((true, Frame::copy_from_slice(&long)))
        );
        assert_eq!(decode(&encode(false, b"")), Some((false, Frame::new())));
        assert_eq!(decode(&[Frame::from(&b"\x02x"[..])]), None);
        assert_eq!(decode(&[Frame::from(&b"\x01a"[..]), Frame::new()]), None);
        assert_eq!(decode(&[]), None);
    }
}
