//! The one-frame form of a subscription that travels through pipes and to ZMTP 3.0 peers:
//! first byte 1 (subscribe) or 0 (unsubscribe), then the prefix. ZMTP 3.1 peers get the same
//! as SUBSCRIBE/CANCEL commands (see `protocol`).

use crate::message::Parts;
use bytes::{BufMut, Bytes, BytesMut};

/// Builds the message that subscribes to (or unsubscribes from) `prefix`.
pub(crate) fn encode(subscribe: bool, prefix: &[u8]) -> Parts {
    let mut body = BytesMut::with_capacity(prefix.len() + 1);
    body.put_u8(u8::from(subscribe));
    body.extend_from_slice(prefix);
    let mut parts = Parts::new();
    parts.push(body.freeze());
    parts
}

/// Reads a subscription message: `Some((subscribe?, prefix))`, or `None` for any other message.
pub(crate) fn decode(msg: &[Bytes]) -> Option<(bool, Bytes)> {
    let [frame] = msg else { return None };
    match frame.first() {
        Some(1) => Some((true, frame.slice(1..))),
        Some(0) => Some((false, frame.slice(1..))),
        _ => None,
    }
}

/// The bytes `msg` subscribes to, if it is a subscription (what a publisher's per-peer bound
/// counts); 0 for anything else.
pub(crate) fn subscribed_bytes(msg: &[Bytes]) -> usize {
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
            Some((true, Bytes::from_static(b"topic")))
        );
        assert_eq!(decode(&encode(false, b"")), Some((false, Bytes::new())));
        assert_eq!(decode(&[Bytes::from_static(b"\x02x")]), None);
        assert_eq!(decode(&[Bytes::from_static(b"\x01a"), Bytes::new()]), None);
        assert_eq!(decode(&[]), None);
    }
}
