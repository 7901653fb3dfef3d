//! What a wrong key, an altered byte, a replay, a forged vouch, a wrong size or an
//! arbitrary command does: an error, never a panic, never a connection.

use super::client::{Initiate, hello_body, open_welcome};
use super::keys::KeyPair;
use super::tests::{accepted, connected, metadata, pair, run, seal};
use super::{CRYPTO, CurveClient, CurveServer};
use crate::zmtp::ProtocolError;
use crate::zmtp::command::Metadata;
use crate::zmtp::mechanism::{Handshake, Step, ZapReply};
use bytes::Bytes;
use bytes::BytesMut;

pub(super) fn sides() -> (CurveClient, CurveServer) {
    let (client_keys, server_keys) = (pair(), pair());
    let client = CurveClient::new(client_keys, server_keys.public, metadata("DEALER"));
    (client, CurveServer::new(server_keys, metadata("ROUTER")))
}

fn flipped(body: &Bytes, at: usize) -> Bytes {
    let mut bytes = body.to_vec();
    bytes[at] ^= 0x01;
    Bytes::from(bytes)
}

#[test]
fn a_wrong_server_key_fails_the_hello() {
    let server = pair();
    let mut client = CurveClient::new(pair(), pair().public, Metadata::new());
    let mut server = CurveServer::new(server, Metadata::new());
    let mut sends = Vec::new();
    client.start(&mut sends).unwrap();
    let result = server.on_command(sends.pop().unwrap(), &mut sends);
    assert!(
        matches!(result, Err(ProtocolError::Handshake(CRYPTO))),
        "{result:?}"
    );
    assert!(sends.is_empty(), "no WELCOME, no ERROR");
}

/// Both sides at each step of one handshake, to clone: after HELLO (the server waiting for
/// INITIATE is also there), after INITIATE, after READY was sent.
pub(super) struct Steps {
    pub(super) client_after_hello: CurveClient,
    pub(super) welcome: Bytes,
    pub(super) server_after_welcome: CurveServer,
    pub(super) initiate: Bytes,
    pub(super) client_after_initiate: CurveClient,
    pub(super) ready: Bytes,
}

pub(super) fn steps() -> Steps {
    let (mut client, mut server) = sides();
    let mut sends = Vec::new();
    client.start(&mut sends).unwrap();
    let client_after_hello = client.clone();
    server.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    let server_after_welcome = server.clone();
    let welcome = sends.pop().unwrap();
    client.on_command(welcome.clone(), &mut sends).unwrap();
    let client_after_initiate = client.clone();
    let initiate = sends.pop().unwrap();
    server.on_command(initiate.clone(), &mut sends).unwrap();
    server.on_zap_reply(&accepted(), &mut sends).unwrap();
    let ready = sends.pop().unwrap();
    // The unaltered commands pass from the cloned states.
    assert!(
        client_after_hello
            .clone()
            .on_command(welcome.clone(), &mut Vec::new())
            .is_ok()
    );
    // A cookie is good once: the same INITIATE again, even to the state that took it, fails.
    assert_eq!(
        server_after_welcome
            .clone()
            .on_command(initiate.clone(), &mut Vec::new())
            .unwrap_err(),
        ProtocolError::Handshake("CURVE cookie used twice")
    );
    assert!(
        client_after_initiate
            .clone()
            .on_command(ready.clone(), &mut Vec::new())
            .is_ok()
    );
    Steps {
        client_after_hello,
        welcome,
        server_after_welcome,
        initiate,
        client_after_initiate,
        ready,
    }
}

#[test]
fn every_altered_byte_of_welcome_initiate_and_ready_fails() {
    let steps = steps();
    for at in 0..steps.welcome.len() {
        let mut client = steps.client_after_hello.clone();
        let mut sends = Vec::new();
        assert!(
            client
                .on_command(flipped(&steps.welcome, at), &mut sends)
                .is_err(),
            "WELCOME byte {at}"
        );
        assert!(sends.is_empty());
    }
    for at in 0..steps.initiate.len() {
        let mut server = steps.server_after_welcome.clone();
        let mut sends = Vec::new();
        // The cookie was used by `steps`: an altered INITIATE must fail its checks before
        // it would come to that.
        let result = server.on_command(flipped(&steps.initiate, at), &mut sends);
        assert!(
            matches!(&result, Err(e) if *e != ProtocolError::Handshake("CURVE cookie used twice")),
            "INITIATE byte {at}: {result:?}"
        );
        assert!(sends.is_empty());
        assert!(server.cipher().is_none());
    }
    for at in 0..steps.ready.len() {
        let mut client = steps.client_after_initiate.clone();
        assert!(
            client
                .on_command(flipped(&steps.ready, at), &mut Vec::new())
                .is_err(),
            "READY byte {at}"
        );
        assert!(client.cipher().is_none());
    }
}

#[test]
fn replayed_reordered_and_altered_messages_fail() {
    let (_, mut client, mut server) = connected();
    let first = seal(&mut *client, 0, b"one");
    let second = seal(&mut *client, 0, b"two");
    let third = seal(&mut *client, 0, b"three");
    assert!(server.open(BytesMut::from(&second[..])).is_ok());
    assert!(
        server.open(BytesMut::from(&second[..])).is_err(),
        "the same nonce twice"
    );
    assert!(
        server.open(BytesMut::from(&first[..])).is_err(),
        "a smaller nonce"
    );
    for at in 0..third.len() {
        assert!(
            server.open(BytesMut::from(&flipped(&third, at)[..])).is_err(),
            "MESSAGE byte {at}"
        );
    }
    assert_eq!(
        &server.open(BytesMut::from(&third[..])).unwrap().1[..],
        b"three",
        "nonces may skip"
    );
    // A server's MESSAGE sent back to the server: the other prefix, it does not open.
    let from_server = seal(&mut *server, 0, b"x");
    let (_, _, mut other_server) = connected();
    assert!(other_server.open(BytesMut::from(&from_server[..])).is_err());
    let echoed = seal(&mut *client, 0, b"x");
    assert!(
        client.open(BytesMut::from(&echoed[..])).is_err(),
        "our own MESSAGE reflected"
    );
}

/// Plays the client by hand up to INITIATE, whose parts `build` may alter.
fn forged_initiate(
    build: impl FnOnce(&KeyPair, &[u8; 32], &KeyPair, &[u8; 32], &[u8; 96]) -> Bytes,
) -> Result<Step, ProtocolError> {
    let (client_keys, server_keys) = (pair(), pair());
    let server_public = server_keys.public;
    let mut server = CurveServer::new(server_keys, Metadata::new());
    let transient = KeyPair::generate().unwrap();
    let to_server = transient.shared(&server_public);
    let mut sends = Vec::new();
    server
        .on_command(hello_body(&transient.public, &to_server, 1), &mut sends)
        .unwrap();
    let (server_transient, cookie) = open_welcome(&sends.pop().unwrap(), &to_server).unwrap();
    let initiate = build(
        &client_keys,
        &server_public,
        &transient,
        &server_transient,
        &cookie,
    );
    server.on_command(initiate, &mut sends)
}

#[test]
fn a_hand_played_client_is_accepted() {
    let result = forged_initiate(|keys, server_key, transient, server_transient, cookie| {
        let metadata = Metadata::new();
        let initiate = Initiate {
            keys,
            server_key,
            transient,
            cookie,
            metadata: &metadata,
        };
        initiate
            .body(&transient.shared(server_transient), 2, server_transient)
            .unwrap()
    });
    assert!(matches!(result, Ok(Step::Authenticate(_))), "{result:?}");
}

#[test]
fn a_vouch_sealed_to_the_long_term_key_is_refused() {
    let result = forged_initiate(|keys, server_key, transient, server_transient, cookie| {
        let metadata = Metadata::new();
        let initiate = Initiate {
            keys,
            server_key,
            transient,
            cookie,
            metadata: &metadata,
        };
        initiate
            .body(&transient.shared(server_transient), 2, server_key)
            .unwrap()
    });
    assert!(matches!(result, Err(ProtocolError::Handshake(_))), "{result:?}");
}

#[test]
fn a_vouch_for_another_server_or_transient_key_is_refused() {
    let result = forged_initiate(|keys, _, transient, server_transient, cookie| {
        let metadata = Metadata::new();
        let other = pair().public;
        let initiate = Initiate {
            keys,
            server_key: &other,
            transient,
            cookie,
            metadata: &metadata,
        };
        initiate
            .body(&transient.shared(server_transient), 2, server_transient)
            .unwrap()
    });
    assert!(matches!(result, Err(ProtocolError::Handshake(_))), "{result:?}");
    let result = forged_initiate(|keys, server_key, transient, server_transient, cookie| {
        let metadata = Metadata::new();
        let other = KeyPair::generate().unwrap();
        let initiate = Initiate {
            keys,
            server_key,
            transient: &other,
            cookie,
            metadata: &metadata,
        };
        initiate
            .body(&transient.shared(server_transient), 2, server_transient)
            .unwrap()
    });
    assert!(matches!(result, Err(ProtocolError::Handshake(_))), "{result:?}");
}

#[test]
fn a_cookie_from_another_connection_is_refused() {
    // Two connections to the same server key: INITIATE carries the first one's cookie to
    // the second one.
    let server_keys = pair();
    let mut first = CurveServer::new(server_keys.clone(), Metadata::new());
    let mut second = CurveServer::new(server_keys.clone(), Metadata::new());
    let transient = KeyPair::generate().unwrap();
    let to_server = transient.shared(&server_keys.public);
    let mut sends = Vec::new();
    first
        .on_command(hello_body(&transient.public, &to_server, 1), &mut sends)
        .unwrap();
    let (server_transient, cookie) = open_welcome(&sends.pop().unwrap(), &to_server).unwrap();
    second
        .on_command(hello_body(&transient.public, &to_server, 1), &mut sends)
        .unwrap();
    sends.clear();
    let keys = pair();
    let metadata = Metadata::new();
    let initiate = Initiate {
        keys: &keys,
        server_key: &server_keys.public,
        transient: &transient,
        cookie: &cookie,
        metadata: &metadata,
    };
    let body = initiate
        .body(&transient.shared(&server_transient), 2, &server_transient)
        .unwrap();
    // The cookie key is process-wide: the replayed INITIATE opens on either connection, but
    // on one only (s' travels in the cookie, so a second session would accept replayed
    // MESSAGEs).
    let on_second = second.on_command(body.clone(), &mut sends);
    let on_first = first.on_command(body, &mut sends);
    assert!(matches!(on_second, Ok(Step::Authenticate(_))));
    assert_eq!(
        on_first.unwrap_err(),
        ProtocolError::Handshake("CURVE cookie used twice")
    );
}

#[test]
fn wrong_sizes_of_every_command_fail() {
    let (mut client, mut server) = sides();
    let (wire, _, _) = run(&mut client, &mut server);
    let resized = |body: &Bytes, len: usize| {
        let mut bytes = body.to_vec();
        bytes.resize(len, 0);
        Bytes::from(bytes)
    };
    for len in [6, 8, 199, 201, 400] {
        let (_, mut server) = sides();
        let result = server.on_command(resized(&wire.hello, len), &mut Vec::new());
        assert!(
            matches!(result, Err(ProtocolError::BadCommand(_))),
            "HELLO of {len}: {result:?}"
        );
    }
    for len in [8, 167, 169] {
        let (mut client, _) = sides();
        client.start(&mut Vec::new()).unwrap();
        let result = client.on_command(resized(&wire.welcome, len), &mut Vec::new());
        assert!(
            matches!(result, Err(ProtocolError::BadCommand(_))),
            "WELCOME of {len}: {result:?}"
        );
    }
    for len in [9, 104, 113, 256] {
        let (mut client, mut server) = sides();
        let mut sends = Vec::new();
        client.start(&mut sends).unwrap();
        server.on_command(sends.pop().unwrap(), &mut sends).unwrap();
        let result = server.on_command(resized(&wire.initiate, len), &mut sends);
        assert!(
            matches!(result, Err(ProtocolError::BadCommand(_))),
            "INITIATE of {len}: {result:?}"
        );
    }
    for len in [6, 13, 29] {
        let (mut client, mut server) = sides();
        let mut sends = Vec::new();
        client.start(&mut sends).unwrap();
        server.on_command(sends.pop().unwrap(), &mut sends).unwrap();
        client.on_command(sends.pop().unwrap(), &mut sends).unwrap();
        let result = client.on_command(resized(&wire.ready, len), &mut sends);
        assert!(
            matches!(result, Err(ProtocolError::BadCommand(_))),
            "READY of {len}: {result:?}"
        );
    }
    let (_, mut client, _) = connected();
    for body in [
        &b""[..],
        b"\x07MESSAG",
        b"\x07MESSAGE",
        &[
            b'\x07', b'M', b'E', b'S', b'S', b'A', b'G', b'E', 0, 0, 0, 0, 0, 0, 0, 9,
        ][..],
    ] {
        assert!(client.open(BytesMut::from(body)).is_err(), "{body:?}");
    }
    let mut short = seal(&mut *client, 0, b"").to_vec();
    short.pop();
    assert!(client.open(BytesMut::from(&short[..])).is_err());
    for body in [&b""[..], b"\x00", b"\x09HELLO"] {
        let (_, mut server) = sides();
        assert!(
            server
                .on_command(Bytes::copy_from_slice(body), &mut Vec::new())
                .is_err()
        );
    }
}

#[test]
fn commands_out_of_order_fail() {
    let (mut client, mut server) = sides();
    let (wire, _, _) = run(&mut client, &mut server);
    let (_, mut server) = sides();
    for body in [&wire.welcome, &wire.initiate, &wire.ready] {
        assert!(matches!(
            server.on_command(body.clone(), &mut Vec::new()),
            Err(ProtocolError::Handshake("unexpected command"))
        ));
    }
    let (mut client, _) = sides();
    assert!(
        client.on_command(wire.welcome.clone(), &mut Vec::new()).is_err(),
        "before HELLO"
    );
    let (mut client, _) = sides();
    client.start(&mut Vec::new()).unwrap();
    assert!(
        client.on_command(wire.ready.clone(), &mut Vec::new()).is_err(),
        "READY before WELCOME"
    );
    assert!(
        client.on_command(wire.welcome.clone(), &mut Vec::new()).is_err(),
        "after a failure"
    );
    // After the handshake, handshake commands are refused too.
    let (mut client, mut server) = sides();
    let (wire, _, _) = run(&mut client, &mut server);
    assert!(client.on_command(wire.ready, &mut Vec::new()).is_err());
    assert!(server.on_command(wire.initiate, &mut Vec::new()).is_err());
    assert!(server.on_zap_reply(&accepted(), &mut Vec::new()).is_err());
    assert!(client.on_zap_reply(&accepted(), &mut Vec::new()).is_err());
}

#[test]
fn an_error_from_the_server_ends_the_handshake() {
    let error = Bytes::from_static(b"\x05ERROR\x03400");
    let (mut client, _) = sides();
    client.start(&mut Vec::new()).unwrap();
    let result = client.on_command(error.clone(), &mut Vec::new());
    assert!(
        matches!(&result, Err(ProtocolError::PeerError(reason)) if reason == "400"),
        "{result:?}"
    );

    let (mut client, mut server) = sides();
    let mut sends = Vec::new();
    client.start(&mut sends).unwrap();
    server.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    client.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    let result = client.on_command(error, &mut sends);
    assert!(
        matches!(&result, Err(ProtocolError::PeerError(reason)) if reason == "400"),
        "{result:?}"
    );

    let (mut client, _) = sides();
    client.start(&mut Vec::new()).unwrap();
    let result = client.on_command(Bytes::from_static(b"\x05ERROR\x09400"), &mut Vec::new());
    assert!(matches!(result, Err(ProtocolError::BadCommand(_))), "{result:?}");
}

#[test]
fn a_zap_refusal_sends_error_and_no_ready() {
    let (mut client, mut server) = sides();
    let mut sends = Vec::new();
    client.start(&mut sends).unwrap();
    server.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    client.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    server.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    let refused = ZapReply {
        status: 400,
        ..accepted()
    };
    assert!(server.on_zap_reply(&refused, &mut sends).is_err());
    assert_eq!(sends.len(), 1);
    assert!(sends[0].starts_with(b"\x05ERROR"));
    assert!(server.cipher().is_none());
}
