//! PLAIN, client and server in turn (the first byte chooses), each against a damaged peer:
//! no panic, and an undamaged conversation completes. The body is `zocket::fuzzing::secure_conversation`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&side, rest)) = data.split_first() else { return };
    let target = zocket::fuzzing::Target::Plain { server: side & 1 == 0 };
    zocket::fuzzing::secure_conversation(target, rest)
});
