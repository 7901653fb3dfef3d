//! A greeting and a READY with arbitrary properties, to every socket type, then arbitrary
//! frames: the handshake succeeds exactly when it should, the peer's metadata reads back as
//! sent, and nothing panics. The body is `zocket::fuzzing::handshake`, which
//! `tests/fuzz_corpus.rs` also replays.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zocket::fuzzing::handshake(data));
