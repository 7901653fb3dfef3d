//! The handshake and the data phase through the `Handshake` and `Cipher` traits, the wire
//! layout (sizes, nonce counters, flags) and the boxes against NaCl's own test vector.

use super::boxes;
use super::keys::KeyPair;
use super::nonce;
use super::{CurveClient, CurveServer};
use crate::zmtp::command::Metadata;
use crate::zmtp::frame::{FLAG_COMMAND, FLAG_MORE};
use crate::zmtp::mechanism::{Cipher, Handshake, Step, ZapReply};
use bytes::{Bytes, BytesMut};
use crypto_box::{PublicKey, SalsaBox, SecretKey};

pub(super) fn accepted() -> ZapReply {
    ZapReply {
        status: 200,
        status_text: "OK".into(),
        user_id: Bytes::new(),
        metadata: Metadata::new(),
    }
}

pub(super) fn metadata(socket_type: &str) -> Metadata {
    let mut meta = Metadata::new();
    meta.insert("Socket-Type", Bytes::copy_from_slice(socket_type.as_bytes()));
    meta
}

/// A fresh long-term pair.
pub(super) fn pair() -> KeyPair {
    KeyPair::generate().unwrap()
}

/// Each command of a handshake, as sent.
pub(super) struct Wire {
    pub(super) hello: Bytes,
    pub(super) welcome: Bytes,
    pub(super) initiate: Bytes,
    pub(super) ready: Bytes,
}

/// Runs a whole handshake between `client` and `server`, checking each step.
pub(super) fn run(client: &mut dyn Handshake, server: &mut dyn Handshake) -> (Wire, Metadata, Metadata) {
    let mut sends = Vec::new();
    assert!(matches!(server.start(&mut sends), Ok(Step::Continue)));
    assert!(sends.is_empty());
    assert!(matches!(client.start(&mut sends), Ok(Step::Continue)));
    let hello = sends.pop().unwrap();
    assert!(matches!(
        server.on_command(hello.clone(), &mut sends),
        Ok(Step::Continue)
    ));
    let welcome = sends.pop().unwrap();
    assert!(matches!(
        client.on_command(welcome.clone(), &mut sends),
        Ok(Step::Continue)
    ));
    let initiate = sends.pop().unwrap();
    let Ok(Step::Authenticate(request)) = server.on_command(initiate.clone(), &mut sends) else {
        panic!("no ZAP request after INITIATE");
    };
    assert!(sends.is_empty());
    assert_eq!(request.mechanism, "CURVE");
    assert_eq!(request.credentials.len(), 1);
    let Ok(Step::Done(client_meta)) = server.on_zap_reply(&accepted(), &mut sends) else {
        panic!("the server did not finish");
    };
    let ready = sends.pop().unwrap();
    let Ok(Step::Done(server_meta)) = client.on_command(ready.clone(), &mut sends) else {
        panic!("the client did not finish");
    };
    assert!(sends.is_empty());
    let wire = Wire {
        hello,
        welcome,
        initiate,
        ready,
    };
    (wire, client_meta, server_meta)
}

/// A client and a server that completed their handshake, with their ciphers.
pub(super) fn connected() -> (Wire, Box<dyn Cipher>, Box<dyn Cipher>) {
    let (client_keys, server_keys) = (pair(), pair());
    let mut client = CurveClient::new(client_keys, server_keys.public, metadata("DEALER"));
    let mut server = CurveServer::new(server_keys, metadata("ROUTER"));
    let (wire, _, _) = run(&mut client, &mut server);
    (wire, client.cipher().unwrap(), server.cipher().unwrap())
}

pub(super) fn seal(cipher: &mut dyn Cipher, flags: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    cipher.seal(flags, payload, &mut out);
    out.freeze()
}

#[test]
fn a_handshake_exchanges_metadata_and_the_client_key() {
    let (client_keys, server_keys) = (pair(), pair());
    let client_public = client_keys.public;
    let mut client = CurveClient::new(client_keys, server_keys.public, metadata("REQ"));
    let mut server = CurveServer::new(server_keys, metadata("REP"));
    assert!(client.cipher().is_none());
    let mut sends = Vec::new();
    client.start(&mut sends).unwrap();
    server.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    client.on_command(sends.pop().unwrap(), &mut sends).unwrap();
    let Ok(Step::Authenticate(request)) = server.on_command(sends.pop().unwrap(), &mut sends) else {
        panic!("no ZAP request");
    };
    assert_eq!(&request.credentials[0][..], &client_public[..]);
    assert!(server.cipher().is_none());
    let Ok(Step::Done(peer)) = server.on_zap_reply(&accepted(), &mut sends) else {
        panic!("no READY");
    };
    assert_eq!(peer.get("socket-type").map(|v| &v[..]), Some(&b"REQ"[..]));
    let Ok(Step::Done(peer)) = client.on_command(sends.pop().unwrap(), &mut sends) else {
        panic!("READY refused");
    };
    assert_eq!(peer.get("Socket-Type").map(|v| &v[..]), Some(&b"REP"[..]));
    assert!(client.cipher().is_some());
    assert!(client.cipher().is_none(), "the cipher is handed out once");
}

#[test]
fn frames_travel_both_ways_with_their_flags() {
    let (_, mut client, mut server) = connected();
    let big = vec![0xa5u8; 70_000];
    for flags in [0, FLAG_MORE, FLAG_COMMAND, FLAG_MORE | FLAG_COMMAND] {
        for payload in [&b""[..], b"hello", &big] {
            let sealed = seal(&mut *client, flags, payload);
            assert_eq!(
                server.open(BytesMut::from(&sealed[..])).unwrap(),
                (flags, Bytes::copy_from_slice(payload))
            );
            let sealed = seal(&mut *server, flags, payload);
            assert_eq!(
                client.open(BytesMut::from(&sealed[..])).unwrap(),
                (flags, Bytes::copy_from_slice(payload))
            );
        }
    }
}

#[test]
fn commands_have_libzmqs_sizes() {
    let server_keys = pair();
    let mut client = CurveClient::new(pair(), server_keys.public, Metadata::new());
    let mut server = CurveServer::new(server_keys, Metadata::new());
    let (wire, _, _) = run(&mut client, &mut server);
    assert_eq!(wire.hello.len(), 200);
    assert_eq!(&wire.hello[..8], b"\x05HELLO\x01\x00");
    assert!(
        wire.hello[8..80].iter().all(|&b| b == 0),
        "anti-amplification padding"
    );
    assert_eq!(wire.welcome.len(), 168);
    assert_eq!(&wire.welcome[..8], b"\x07WELCOME");
    assert_eq!(wire.initiate.len(), 257, "INITIATE without metadata");
    assert_eq!(&wire.initiate[..9], b"\x08INITIATE");
    assert_eq!(wire.ready.len(), 30, "READY without metadata");
    assert_eq!(&wire.ready[..6], b"\x05READY");

    // Socket-Type = DEALER / ROUTER: 1 + 11 + 4 + 6 bytes of metadata each.
    let (wire, _, _) = connected();
    assert_eq!(wire.initiate.len(), 257 + 22);
    assert_eq!(wire.ready.len(), 30 + 22);
}

#[test]
fn short_nonces_count_as_libzmqs() {
    let (wire, mut client, mut server) = connected();
    assert_eq!(&wire.hello[112..120], &1u64.to_be_bytes());
    assert_eq!(&wire.initiate[105..113], &2u64.to_be_bytes());
    assert_eq!(&wire.ready[6..14], &1u64.to_be_bytes());
    for n in 3..6u64 {
        let sealed = seal(&mut *client, 0, b"x");
        assert_eq!(&sealed[..8], b"\x07MESSAGE");
        assert_eq!(
            &sealed[8..16],
            &n.to_be_bytes(),
            "client MESSAGEs go on from INITIATE"
        );
        server.open(BytesMut::from(&sealed[..])).unwrap();
    }
    for n in 2..5u64 {
        let sealed = seal(&mut *server, 0, b"x");
        assert_eq!(
            &sealed[8..16],
            &n.to_be_bytes(),
            "server MESSAGEs go on from READY"
        );
        client.open(BytesMut::from(&sealed[..])).unwrap();
    }
}

#[test]
fn the_box_inside_message_uses_libzmqs_flag_bits() {
    // A cipher built from known transient keys, to open its box by hand.
    let (a, b) = (pair(), pair());
    let mut client = super::cipher::CurveCipher::client(a.shared(&b.public), 3, 1);
    let server_side = b.shared(&a.public);
    for (flags, inside) in [
        (0, 0),
        (FLAG_MORE, 1),
        (FLAG_COMMAND, 2),
        (FLAG_MORE | FLAG_COMMAND, 3),
    ] {
        let sealed = seal(&mut client, flags, b"payload");
        assert_eq!(sealed.len(), 8 + 8 + 16 + 1 + 7);
        let counter = u64::from_be_bytes(sealed[8..16].try_into().unwrap());
        let plain = boxes::open(
            &server_side,
            &nonce::short(b"CurveZMQMESSAGEC", counter),
            &sealed[16..],
        )
        .unwrap();
        assert_eq!(plain[0], inside);
        assert_eq!(&plain[1..], b"payload");
    }
    // Unknown bits inside the box are dropped, as libzmq does.
    assert_eq!(super::cipher::from_box_flags(0xff), FLAG_MORE | FLAG_COMMAND);
}

use super::nacl::tests::{BOX_MESSAGE, BOX_NONCE, BOX_SEALED, hex};

/// NaCl's `tests/box.c`: Alice's secret key, Bob's public key, the nonce, the message and
/// `crypto_box`'s output after its 16 zero bytes: our boxes are the same bytes.
#[test]
fn boxes_match_nacls_crypto_box() {
    let alice_secret = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    let bob_public = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    let nonce: [u8; 24] = hex(BOX_NONCE).try_into().unwrap();
    let message = hex(BOX_MESSAGE);
    let expected = hex(BOX_SEALED);
    let key = SalsaBox::new(
        &PublicKey::from_slice(&bob_public).unwrap(),
        &SecretKey::from_slice(&alice_secret).unwrap(),
    );
    assert_eq!(boxes::seal(&key, &nonce, &message), expected);
    assert_eq!(&boxes::open(&key, &nonce, &expected).unwrap()[..], &message[..]);
    // Through our own key type too.
    let alice = KeyPair::from_secret(alice_secret.try_into().unwrap());
    assert_eq!(
        boxes::seal(&alice.shared(&bob_public.try_into().unwrap()), &nonce, &message),
        expected
    );
}

#[test]
fn a_key_pair_computes_libzmqs_public_key() {
    // libzmq's test suite keys (testutil_security.cpp), in Z85.
    let secret = crate::z85_decode("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").unwrap();
    let pair = KeyPair::from_secret(secret.clone().try_into().unwrap());
    assert_eq!(
        crate::z85_encode(&pair.public).unwrap(),
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    );
    assert_eq!(&pair.secret()[..], &secret[..]);
    let shown = format!("{pair:?}");
    assert!(!shown.contains(&format!("{:?}", pair.secret())));
    let copy = pair.clone();
    assert_eq!(copy.public, pair.public);
}
