//! A damaged CURVE server against zocket's CURVE client: no panic, and no message delivered
//! that the server did not send. The body is `zocket::fuzzing::secure_conversation`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zocket::fuzzing::secure_conversation(zocket::fuzzing::Target::CurveClient, data));
