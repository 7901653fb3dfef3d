//! A damaged CURVE client (its honest flights damaged where the fuzzer says, then arbitrary
//! frames) against zocket's CURVE server: no panic, and no message delivered that the client
//! did not send. The body is `zocket::fuzzing::secure_conversation`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zocket::fuzzing::secure_conversation(zocket::fuzzing::Target::CurveServer, data));
