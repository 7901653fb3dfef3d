//! The protocol state machine against itself, in memory.

use super::*;
use crate::zmtp::mechanism::{Security, ZapReply};
use std::io::IoSlice;

fn config(socket_type: SocketType) -> LocalConfig {
    LocalConfig {
        socket_type,
        identity: Bytes::new(),
        max_msg_size: 1 << 20,
        extra_metadata: Vec::new(),
        ..LocalConfig::new(socket_type, Bytes::new(), 1 << 20)
    }
}

fn drain(out: &mut OutBuf) -> BytesMut {
    let mut slices = [IoSlice::new(&[]); 64];
    let n = out.io_slices(&mut slices);
    let mut all = BytesMut::new();
    for s in &slices[..n] {
        all.extend_from_slice(s);
    }
    out.advance(all.len());
    all
}

/// Two protocol ends wired to each other in memory.
fn pair(a: SocketType, b: SocketType) -> (Protocol, OutBuf, Protocol, OutBuf) {
    let mut out_a = OutBuf::new();
    let mut out_b = OutBuf::new();
    let pa = Protocol::new(config(a), &mut out_a);
    let pb = Protocol::new(config(b), &mut out_b);
    (pa, out_a, pb, out_b)
}

#[test]
fn handshake_and_messages() {
    let (mut pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Pull);
    let mut to_b = drain(&mut out_a);
    let mut to_a = drain(&mut out_b);
    assert_eq!(pb.poll(&mut to_b, &mut out_b).unwrap(), Some(Event::Ready));
    assert_eq!(pa.poll(&mut to_a, &mut out_a).unwrap(), Some(Event::Ready));
    assert_eq!(pb.peer().unwrap().socket_type, SocketType::Push);
    pa.encode_message(
        &[Frame::from(&b"a"[..]), Frame::from(vec![5u8; 5000])],
        &mut out_a,
    );
    let mut to_b = drain(&mut out_a);
    match pb.poll(&mut to_b, &mut out_b).unwrap() {
        Some(Event::Message(parts)) => {
            assert_eq!(parts.len(), 2);
            assert_eq!(&parts[0][..], b"a");
            assert_eq!(parts[1].len(), 5000);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn mismatched_types_fail_the_handshake() {
    let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Push);
    let mut to_b = drain(&mut out_a);
    assert!(matches!(
        pb.poll(&mut to_b, &mut out_b),
        Err(ProtocolError::IncompatibleSocketType { .. })
    ));
}

#[test]
fn ping_is_answered_and_never_surfaces() {
    let (mut pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
    let mut to_b = drain(&mut out_a);
    pb.poll(&mut to_b, &mut out_b).unwrap();
    let _ = drain(&mut out_b);
    pa.push_ping(10, &mut out_a);
    let mut to_b = drain(&mut out_a);
    assert_eq!(pb.poll(&mut to_b, &mut out_b).unwrap(), Some(Event::PeerTtl(10)));
    assert_eq!(pb.poll(&mut to_b, &mut out_b).unwrap(), None);
    let pong = drain(&mut out_b);
    assert_eq!(&pong[..], b"\x04\x05\x04PONG");
}

#[test]
fn ping_is_answered_on_a_3_0_connection() {
    // libzmq sends PING to 3.0 peers too; we must still answer.
    let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
    let mut to_b = drain(&mut out_a);
    to_b[11] = 0;
    pb.poll(&mut to_b, &mut out_b).unwrap();
    let _ = drain(&mut out_b);
    let mut ping = BytesMut::from(&b"\x04\x09\x04PING\x00\x00ab"[..]);
    assert_eq!(pb.poll(&mut ping, &mut out_b).unwrap(), None);
    assert_eq!(&drain(&mut out_b)[..], b"\x04\x07\x04PONGab");
}

#[test]
fn subscriptions_follow_the_peer_version() {
    let (mut sub, mut out_s, mut publ, mut out_p) = pair(SocketType::Sub, SocketType::Pub);
    let mut to_p = drain(&mut out_s);
    let mut to_s = drain(&mut out_p);
    publ.poll(&mut to_p, &mut out_p).unwrap();
    sub.poll(&mut to_s, &mut out_s).unwrap();
    sub.encode_message(&[Frame::from(&b"\x01news"[..])], &mut out_s);
    let mut wire = drain(&mut out_s);
    assert_eq!(&wire[..], b"\x04\x0e\x09SUBSCRIBEnews");
    let Some(Event::Message(parts)) = publ.poll(&mut wire, &mut out_p).unwrap() else {
        panic!("no subscription")
    };
    assert_eq!(&parts[0][..], b"\x01news");
}

#[test]
fn oversized_message_is_refused() {
    let (mut pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Pull);
    let mut to_b = drain(&mut out_a);
    pb.poll(&mut to_b, &mut out_b).unwrap();
    pa.encode_message(
        &[Frame::from(vec![0u8; 600_000]), Frame::from(vec![0u8; 600_000])],
        &mut out_a,
    );
    let mut wire = drain(&mut out_a);
    assert!(matches!(
        pb.poll(&mut wire, &mut out_b),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn endless_empty_frames_with_more_are_cut_off() {
    let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Push, SocketType::Pull);
    let mut to_b = drain(&mut out_a);
    pb.poll(&mut to_b, &mut out_b).unwrap();
    let mut wire = BytesMut::new();
    for _ in 0..MAX_FRAMES_PER_MESSAGE - 1 {
        wire.extend_from_slice(&[FLAG_MORE, 0]);
    }
    wire.extend_from_slice(&[0, 0]);
    match pb.poll(&mut wire, &mut out_b).unwrap() {
        Some(Event::Message(parts)) => assert_eq!(parts.len(), MAX_FRAMES_PER_MESSAGE),
        other => panic!("a message of exactly the limit was refused: {other:?}"),
    }
    for _ in 0..MAX_FRAMES_PER_MESSAGE + 1 {
        wire.extend_from_slice(&[FLAG_MORE, 0]);
    }
    assert_eq!(
        pb.poll(&mut wire, &mut out_b),
        Err(ProtocolError::TooManyFrames {
            limit: MAX_FRAMES_PER_MESSAGE
        })
    );
}

#[test]
fn pings_from_a_peer_that_never_reads_do_not_pile_up_pongs() {
    let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
    let mut to_b = drain(&mut out_a);
    pb.poll(&mut to_b, &mut out_b).unwrap();
    let ping = b"\x04\x17\x04PING\x00\x000123456789abcdef";
    let mut wire = BytesMut::new();
    for _ in 0..100_000 {
        wire.extend_from_slice(ping);
    }
    while pb.poll(&mut wire, &mut out_b).unwrap().is_some() {}
    assert!(wire.is_empty());
    assert!(
        out_b.len() < MAX_OWED_BEFORE_PONG + 64,
        "{} bytes of PONG queued",
        out_b.len()
    );
    // Once the peer reads, it is answered again.
    drain(&mut out_b);
    wire.extend_from_slice(ping);
    pb.poll(&mut wire, &mut out_b).unwrap();
    assert_eq!(&drain(&mut out_b)[3..7], b"PONG");
}

#[test]
fn unknown_command_is_an_error() {
    let (_pa, mut out_a, mut pb, mut out_b) = pair(SocketType::Pair, SocketType::Pair);
    let mut to_b = drain(&mut out_a);
    pb.poll(&mut to_b, &mut out_b).unwrap();
    let mut wire = BytesMut::from(&b"\x04\x04\x03FOO"[..]);
    assert!(matches!(
        pb.poll(&mut wire, &mut out_b),
        Err(ProtocolError::UnknownCommand(_))
    ));
}

/// Runs two protocol ends against each other until both are quiet, answering ZAP questions
/// with `zap`; returns each side's events, or its error.
fn converse(
    a: LocalConfig,
    b: LocalConfig,
    zap: impl Fn(&ZapQuery) -> Option<ZapReply>,
) -> [Result<Vec<Event>, ProtocolError>; 2] {
    let mut outs = [OutBuf::new(), OutBuf::new()];
    let mut protos = [Protocol::new(a, &mut outs[0]), Protocol::new(b, &mut outs[1])];
    let mut results: [Result<Vec<Event>, ProtocolError>; 2] = [Ok(Vec::new()), Ok(Vec::new())];
    let mut inputs = [BytesMut::new(), BytesMut::new()];
    for _ in 0..10 {
        for side in 0..2 {
            let sent = drain(&mut outs[side]);
            inputs[1 - side].extend_from_slice(&sent);
        }
        for side in 0..2 {
            let Ok(events) = &mut results[side] else { continue };
            loop {
                match protos[side].poll(&mut inputs[side], &mut outs[side]) {
                    Ok(Some(Event::Authenticate(query))) => {
                        let answer = match zap(&query) {
                            Some(reply) => protos[side].zap_reply(&reply, &mut outs[side]),
                            None => protos[side].zap_unavailable(&query, &mut outs[side]),
                        };
                        if let Err(e) = answer {
                            results[side] = Err(e);
                            break;
                        }
                        events.push(Event::Authenticate(query));
                    }
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => break,
                    Err(e) => {
                        results[side] = Err(e);
                        break;
                    }
                }
            }
        }
    }
    results
}

fn secured(socket_type: SocketType, security: Security) -> LocalConfig {
    LocalConfig {
        security,
        ..config(socket_type)
    }
}

fn plain_client(password: &str) -> Security {
    Security::PlainClient {
        username: Bytes::from_static(b"admin"),
        password: Bytes::copy_from_slice(password.as_bytes()),
    }
}

fn check_password(query: &ZapQuery) -> Option<ZapReply> {
    let ok = query
        .request
        .credentials
        .get(1)
        .is_some_and(|p| &p[..] == b"secret");
    Some(ZapReply {
        status: if ok { 200 } else { 400 },
        user_id: Bytes::from_static(b"admin-user"),
        ..ZapReply::accepted()
    })
}

#[test]
fn plain_with_an_accepting_handler_completes_and_names_the_user() {
    let client = secured(SocketType::Req, plain_client("secret"));
    let server = secured(SocketType::Rep, Security::PlainServer);
    let [c, s] = converse(client, server, check_password);
    assert!(c.unwrap().contains(&Event::Ready));
    let events = s.unwrap();
    assert!(matches!(
        events[0],
        Event::Authenticate(ZapQuery {
            handler_required: true,
            ..
        })
    ));
    assert!(events.contains(&Event::Ready));
}

#[test]
fn plain_with_a_wrong_password_fails_both_sides() {
    let client = secured(SocketType::Req, plain_client("wrong"));
    let server = secured(SocketType::Rep, Security::PlainServer);
    let [c, s] = converse(client, server, check_password);
    assert_eq!(c.unwrap_err(), ProtocolError::PeerError("400".into()));
    assert!(matches!(s, Err(ProtocolError::Refused { status: 400, .. })));
}

#[test]
fn plain_without_a_handler_refuses_every_client() {
    let client = secured(SocketType::Req, plain_client("secret"));
    let server = secured(SocketType::Rep, Security::PlainServer);
    let [c, s] = converse(client, server, |_| None);
    assert!(!c.unwrap().contains(&Event::Ready));
    assert!(matches!(s, Err(ProtocolError::Refused { status: 500, .. })));
}

#[test]
fn a_null_peer_meeting_a_plain_server_is_refused() {
    let server = secured(SocketType::Rep, Security::PlainServer);
    let [c, s] = converse(config(SocketType::Req), server, check_password);
    assert!(matches!(s, Err(ProtocolError::MechanismMismatch(_))));
    assert!(c.is_err());
}

#[test]
fn null_asks_zap_only_with_a_domain() {
    let [a, b] = converse(config(SocketType::Pair), config(SocketType::Pair), |_| {
        panic!("NULL without a domain asked ZAP")
    });
    assert_eq!(a.unwrap(), [Event::Ready]);
    assert_eq!(b.unwrap(), [Event::Ready]);
    let with_domain = LocalConfig {
        zap_domain: "global".into(),
        ..config(SocketType::Pair)
    };
    let refuse = |_: &ZapQuery| {
        Some(ZapReply {
            status: 400,
            ..ZapReply::accepted()
        })
    };
    let [a, b] = converse(with_domain.clone(), config(SocketType::Pair), refuse);
    assert!(matches!(a, Err(ProtocolError::Refused { status: 400, .. })));
    assert_eq!(b.unwrap_err(), ProtocolError::PeerError("400".into()));
    // No handler: accepted, unless the domain is enforced.
    let [a, _] = converse(with_domain.clone(), config(SocketType::Pair), |_| None);
    assert!(a.unwrap().contains(&Event::Ready));
    let enforced = LocalConfig {
        zap_enforce_domain: true,
        ..with_domain
    };
    let [a, _] = converse(enforced, config(SocketType::Pair), |_| None);
    assert!(a.is_err());
}
