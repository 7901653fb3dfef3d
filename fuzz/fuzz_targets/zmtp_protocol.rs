//! Feeds arbitrary bytes to a connection's protocol state machine, as a peer would, in
//! arbitrary chunk sizes: it must return events or an error, never panic or grow without bound.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zocket::SocketType;
use zocket::zmtp::greeting::Greeting;
use zocket::zmtp::outbuf::OutBuf;
use zocket::zmtp::protocol::{LocalConfig, Protocol};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let socket_type = [
        SocketType::Pull,
        SocketType::Pub,
        SocketType::Router,
        SocketType::Sub,
    ][usize::from(mode & 3)];
    let local = LocalConfig {
        socket_type,
        identity: bytes::Bytes::new(),
        max_msg_size: 1 << 16,
        extra_metadata: Vec::new(),
    };
    let mut out = OutBuf::new();
    let mut proto = Protocol::new(local, &mut out);
    let mut input = BytesMut::new();
    // Half the inputs start with a valid greeting, so the fuzzer reaches the frame decoder.
    if mode & 4 != 0 {
        input.extend_from_slice(&Greeting::ours().encode());
    }
    let chunk = usize::from(mode >> 3).max(1);
    for piece in rest.chunks(chunk) {
        input.extend_from_slice(piece);
        loop {
            match proto.poll(&mut input, &mut out) {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
