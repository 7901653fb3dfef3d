//! The bodies of the cargo-fuzz targets (`fuzz/fuzz_targets/`), here so that `cargo test`
//! replays their committed corpora through the very same code (`tests/fuzz_corpus.rs`) without a
//! nightly toolchain. Each takes arbitrary bytes and panics only on a bug. Not a stable API.

mod security;
pub use security::{Target, secure_conversation};

use crate::pattern::trie::Trie;
use crate::socket_type::SocketType;
use crate::zmtp::command::MAX_PROPERTIES;
use crate::zmtp::frame::{FLAG_COMMAND, encode_frame};
use crate::zmtp::greeting::Greeting;
use crate::zmtp::outbuf::OutBuf;
use crate::zmtp::protocol::{Event, LocalConfig, Protocol};
use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;

fn config(socket_type: SocketType) -> LocalConfig {
    LocalConfig {
        socket_type,
        identity: Bytes::new(),
        max_msg_size: 1 << 16,
        extra_metadata: Vec::new(),
        ..LocalConfig::new(socket_type, Bytes::new(), 1 << 16)
    }
}

/// Feeds `input` to `proto` in pieces of `chunk` bytes, polling after each; stops at the
/// first error. Returns the events.
fn feed(proto: &mut Protocol, out: &mut OutBuf, input: &[u8], chunk: usize) -> (Vec<Event>, bool) {
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match proto.poll(&mut buf, out) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(_) => return (events, true),
            }
        }
    }
    (events, false)
}

/// Target `zmtp_protocol`: arbitrary bytes from a peer, in arbitrary chunk sizes, to the
/// protocol state machine of a PULL, PUB, ROUTER or SUB; half the inputs get a valid greeting
/// first, so that the frame decoder is reached.
pub fn zmtp_protocol(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let socket_type = [
        SocketType::Pull,
        SocketType::Pub,
        SocketType::Router,
        SocketType::Sub,
    ][usize::from(mode & 3)];
    let mut out = OutBuf::new();
    let mut proto = Protocol::new(config(socket_type), &mut out);
    let mut input = Vec::new();
    if mode & 4 != 0 {
        input.extend_from_slice(&Greeting::ours().encode());
    }
    input.extend_from_slice(rest);
    feed(&mut proto, &mut out, &input, usize::from(mode >> 3));
}

/// Takes `n` bytes (fewer at the end) from the front of `data`.
fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(n.min(data.len()));
    *data = tail;
    head
}

fn take_u8(data: &mut &[u8]) -> u8 {
    take(data, 1).first().copied().unwrap_or(0)
}

/// Target `handshake`: a valid greeting, then a READY whose properties come from the input,
/// to each socket type. The READY is either built from a property list (then the outcome is
/// predicted: the handshake succeeds exactly when the first `Socket-Type` names a compatible
/// type, the first `Identity` is at most 255 bytes and there are at most
/// `MAX_PROPERTIES`; and the peer's metadata must read back as sent) or taken raw. The rest
/// of the input follows as frames.
///
/// Layout: local type, flags (bit 0: ZMTP 3.1; bit 1: raw body; bits 2-5: a `Socket-Type` to
/// prepend, none if above 11), chunk size, property count, then per property a name length
/// (0 means 1), name, a 2-byte value length and value; then the frames.
pub fn handshake(data: &[u8]) {
    let mut data = data;
    let local = SocketType::ALL[usize::from(take_u8(&mut data)) % SocketType::ALL.len()];
    let flags = take_u8(&mut data);
    let chunk = usize::from(take_u8(&mut data));
    let mut props: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if let Some(&peer) = SocketType::ALL.get(usize::from(flags >> 2 & 0x0F)) {
        props.push((b"Socket-Type".to_vec(), peer.name().as_bytes().to_vec()));
    }
    let raw = flags & 2 != 0;
    let mut body = vec![5u8];
    body.extend_from_slice(b"READY");
    if raw {
        let len = usize::from(take_u8(&mut data)) * 16;
        body.extend_from_slice(take(&mut data, len));
    } else {
        for _ in 0..take_u8(&mut data) {
            let name_len = usize::from(take_u8(&mut data)).max(1);
            let mut name = take(&mut data, name_len).to_vec();
            name.resize(name_len, b'x');
            let value_len = usize::from(u16::from_be_bytes([take_u8(&mut data), take_u8(&mut data)]));
            props.push((name, take(&mut data, value_len).to_vec()));
        }
        for (name, value) in &props {
            body.push(name.len() as u8);
            body.extend_from_slice(name);
            body.extend_from_slice(&(value.len() as u32).to_be_bytes());
            body.extend_from_slice(value);
        }
    }
    let mut greeting = Greeting::ours();
    greeting.minor = flags & 1;
    let mut input = greeting.encode().to_vec();
    let mut frame = BytesMut::new();
    encode_frame(FLAG_COMMAND, &body, &mut frame);
    input.extend_from_slice(&frame);
    let ready_len = input.len();
    input.extend_from_slice(data);

    let mut out = OutBuf::new();
    let mut proto = Protocol::new(config(local), &mut out);
    let (events, _) = feed(&mut proto, &mut out, &input[..ready_len], chunk);
    let ready = events.first() == Some(&Event::Ready);
    if !raw {
        let first = |wanted: &str| {
            props
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(wanted.as_bytes()))
                .map(|(_, v)| v.as_slice())
        };
        let expected = props.len() <= MAX_PROPERTIES
            && body.len() <= usize::from(u16::MAX) * 64
            && first("Socket-Type")
                .and_then(SocketType::from_name)
                .is_some_and(|peer| local.compatible_with(peer))
            && first("Identity").is_none_or(|id| id.len() <= 255);
        assert_eq!(ready, expected, "handshake outcome for {local:?} with {props:?}");
        if ready {
            let peer = proto.peer().expect("peer info after READY");
            let got: Vec<(Vec<u8>, Vec<u8>)> = peer
                .metadata
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect();
            assert_eq!(got, props, "metadata read back");
            assert_eq!(peer.identity.as_ref(), first("Identity").unwrap_or(b""));
        }
    }
    if ready {
        assert!(proto.is_active());
        let peer = proto.peer().expect("peer info after READY");
        assert!(local.compatible_with(peer.socket_type) && peer.identity.len() <= 255);
        feed(&mut proto, &mut out, &input[ready_len..], chunk);
    }
}

/// One operation on a subscription trie.
#[derive(Clone, Debug)]
pub enum TrieOp {
    /// Subscribe to a prefix.
    Add(Vec<u8>),
    /// Unsubscribe from a prefix.
    Remove(Vec<u8>),
    /// Whether exactly this prefix is subscribed.
    Contains(Vec<u8>),
    /// Whether some subscribed prefix starts this topic.
    Matches(Vec<u8>),
}

/// Decodes operations: per operation a byte (bits 0-1: the kind; bit 2: key bytes folded to
/// a 4-letter alphabet, so that prefixes collide; bits 3-7: key length), then the key.
pub fn decode_trie_ops(data: &[u8]) -> Vec<TrieOp> {
    let mut data = data;
    let mut ops = Vec::new();
    while let Some((&op, rest)) = data.split_first() {
        data = rest;
        let mut key = take(&mut data, usize::from(op >> 3)).to_vec();
        if op & 4 != 0 {
            key.iter_mut().for_each(|b| *b &= 3);
        }
        ops.push(match op & 3 {
            0 => TrieOp::Add(key),
            1 => TrieOp::Remove(key),
            2 => TrieOp::Contains(key),
            _ => TrieOp::Matches(key),
        });
    }
    ops
}

/// Runs `ops` on a trie and on a plain multiset of prefixes; panics where they disagree or
/// where the trie loses its compressed shape.
pub fn check_trie_ops(ops: &[TrieOp]) {
    let mut trie = Trie::default();
    let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    for op in ops {
        match op {
            TrieOp::Add(key) => {
                let count = model.entry(key.clone()).or_default();
                *count += 1;
                assert_eq!(trie.add(key), *count == 1, "add {key:?}");
            }
            TrieOp::Remove(key) => {
                let last = match model.get_mut(key) {
                    Some(count) => {
                        *count -= 1;
                        *count == 0
                    }
                    None => false,
                };
                if last {
                    model.remove(key);
                }
                assert_eq!(trie.remove(key), last, "remove {key:?}");
            }
            TrieOp::Contains(key) => {
                assert_eq!(trie.contains(key), model.contains_key(key), "contains {key:?}");
            }
            TrieOp::Matches(data) => {
                let expected = model.keys().any(|k| data.starts_with(k));
                assert_eq!(trie.matches(data), expected, "matches {data:?}");
            }
        }
        if let Err(e) = trie.check_shape() {
            panic!("after {op:?}: {e}");
        }
    }
    let listed: Vec<Vec<u8>> = trie.prefixes().iter().map(|p| p.to_vec()).collect();
    let expected: Vec<Vec<u8>> = model.keys().cloned().collect();
    assert_eq!(listed, expected, "prefixes");
    assert_eq!(trie.is_empty(), model.is_empty());
}

/// Target `subscription_trie`: [`decode_trie_ops`] then [`check_trie_ops`].
pub fn subscription_trie(data: &[u8]) {
    check_trie_ops(&decode_trie_ops(data));
}
