//! Feeds arbitrary bytes to a connection's protocol state machine, as a peer would, in
//! arbitrary chunk sizes: it must return events or an error, never panic or grow without bound.
//! The body is `zocket::fuzzing::zmtp_protocol`, which `tests/fuzz_corpus.rs` also replays.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zocket::fuzzing::zmtp_protocol(data));
