//! Arbitrary bytes as commands at every step of the handshake, and as MESSAGEs after it:
//! errors, never a panic.

use super::cipher::CurveCipher;
use super::tests::run;
use super::tests_attacks::{Steps, sides, steps};
use crate::zmtp::mechanism::{Cipher, Handshake};
use bytes::Bytes;
use bytes::BytesMut;
use proptest::prelude::*;

/// Arbitrary bodies, and bodies with a real command name and size but arbitrary contents.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let named = |name: &'static [u8], len: std::ops::Range<usize>| {
        proptest::collection::vec(any::<u8>(), len).prop_map(move |mut rest| {
            let mut body = name.to_vec();
            body.append(&mut rest);
            body
        })
    };
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        named(b"\x05HELLO\x01\x00", 192..193),
        named(b"\x05HELLO", 0..300),
        named(b"\x07WELCOME", 160..161),
        named(b"\x08INITIATE", 240..400),
        named(b"\x05READY", 0..100),
        named(b"\x05ERROR", 0..20),
        named(b"\x07MESSAGE", 0..100),
    ]
}

thread_local! {
    /// One handshake's steps, and one pair of connected ciphers, for every case.
    static STEPS: Steps = steps();
    static CIPHERS: (CurveCipher, CurveCipher) = {
        let (mut client, mut server) = sides();
        run(&mut client, &mut server);
        (client.take_cipher().unwrap(), server.take_cipher().unwrap())
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_commands_never_panic(bodies in proptest::collection::vec(bodies(), 1..4)) {
        STEPS.with(|steps| {
            let mut fresh = sides().1;
            let mut server = steps.server_after_welcome.clone();
            let mut client = steps.client_after_hello.clone();
            let mut ready = steps.client_after_initiate.clone();
            let mut sends = Vec::new();
            for body in &bodies {
                let _ = fresh.on_command(Bytes::copy_from_slice(body), &mut sends);
                let _ = server.on_command(Bytes::copy_from_slice(body), &mut sends);
                let _ = client.on_command(Bytes::copy_from_slice(body), &mut sends);
                let _ = ready.on_command(Bytes::copy_from_slice(body), &mut sends);
            }
        });
    }

    #[test]
    fn arbitrary_messages_never_panic(body in bodies()) {
        CIPHERS.with(|(client, server)| {
            prop_assert!(client.clone().open(BytesMut::from(&body[..])).is_err());
            prop_assert!(server.clone().open(BytesMut::from(&body[..])).is_err());
            Ok(())
        })?;
    }
}
