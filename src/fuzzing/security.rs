//! Fuzz bodies for the secure handshakes: an honest PLAIN or CURVE peer talks to the side
//! under test, and the fuzzer's bytes choose which of the honest peer's flights to damage
//! (and where), then add arbitrary frames after the handshake. Properties: nothing panics;
//! an undamaged conversation completes and carries messages; and under CURVE, whatever the
//! damage, every message delivered is one the honest peer sent (integrity).

use crate::message::Frame;
use crate::socket_type::SocketType;
use crate::zmtp::mechanism::curve::KeyPair;
use crate::zmtp::mechanism::{Security, ZapReply};
use crate::zmtp::outbuf::OutBuf;
use crate::zmtp::protocol::{Event, LocalConfig, Protocol};
use bytes::{Bytes, BytesMut};
use std::io::IoSlice;

/// Which mechanism, and which side the fuzzer attacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The CURVE server meets a damaged client.
    CurveServer,
    /// The CURVE client meets a damaged server.
    CurveClient,
    /// The PLAIN server meets a damaged client (or the client a damaged server).
    Plain {
        /// Attack the server (else the client).
        server: bool,
    },
}

fn take_u8(data: &mut &[u8]) -> u8 {
    match data.split_first() {
        Some((&b, rest)) => {
            *data = rest;
            b
        }
        None => 0,
    }
}

fn drain(out: &mut OutBuf) -> BytesMut {
    let mut all = BytesMut::new();
    loop {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = out.io_slices(&mut slices);
        if n == 0 {
            return all;
        }
        let before = all.len();
        for s in &slices[..n] {
            all.extend_from_slice(s);
        }
        out.advance(all.len() - before);
    }
}

fn configs(target: Target) -> (LocalConfig, LocalConfig) {
    let server_keys = KeyPair::from_secret([1; 32]);
    let client_keys = KeyPair::from_secret([2; 32]);
    let (server, client) = match target {
        Target::Plain { .. } => (
            Security::PlainServer,
            Security::PlainClient {
                username: Bytes::from_static(b"admin"),
                password: Bytes::from_static(b"secret"),
            },
        ),
        _ => (
            Security::CurveServer {
                keys: server_keys.clone(),
            },
            Security::CurveClient {
                keys: client_keys,
                server_key: server_keys.public,
            },
        ),
    };
    let config = |socket_type, security| LocalConfig {
        security,
        ..LocalConfig::new(socket_type, Bytes::new(), 1 << 16)
    };
    (
        config(SocketType::Dealer, server),
        config(SocketType::Dealer, client),
    )
}

/// The ZAP handler of the fuzzed conversation: PLAIN's password must be "secret".
fn zap(query: &crate::zmtp::protocol::ZapQuery) -> ZapReply {
    let good = match query.request.mechanism {
        "PLAIN" => query
            .request
            .credentials
            .get(1)
            .is_some_and(|p| &p[..] == b"secret"),
        _ => true,
    };
    ZapReply {
        status: if good { 200 } else { 400 },
        ..ZapReply::accepted()
    }
}

/// One side of the conversation.
struct Side {
    proto: Protocol,
    out: OutBuf,
    input: BytesMut,
    ready: bool,
    failed: bool,
    delivered: Vec<Vec<Frame>>,
}

impl Side {
    fn new(config: LocalConfig) -> Side {
        let mut out = OutBuf::new();
        let proto = Protocol::new(config, &mut out);
        Side {
            proto,
            out,
            input: BytesMut::new(),
            ready: false,
            failed: false,
            delivered: Vec::new(),
        }
    }

    fn poll(&mut self) {
        while !self.failed {
            match self.proto.poll(&mut self.input, &mut self.out) {
                Ok(Some(Event::Ready)) => self.ready = true,
                Ok(Some(Event::Authenticate(query))) => {
                    let reply = zap(&query);
                    if self.proto.zap_reply(&reply, &mut self.out).is_err() {
                        self.failed = true;
                    }
                }
                Ok(Some(Event::Message(parts))) => self.delivered.push(parts.into_iter().collect()),
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(_) => self.failed = true,
            }
        }
    }
}

/// Damages `flight` as the fuzzer says: a byte says whether (top bit) and how many times;
/// each damage is a 2-byte position and a non-zero XOR mask. Returns whether it changed.
fn damage(flight: &mut BytesMut, data: &mut &[u8]) -> bool {
    let op = take_u8(data);
    if op & 0x80 == 0 || flight.is_empty() {
        return false;
    }
    for _ in 0..=(op & 3) {
        let at = usize::from(u16::from_be_bytes([take_u8(data), take_u8(data)])) % flight.len();
        flight[at] ^= take_u8(data).max(1);
    }
    true
}

/// The target body: see the module's documentation.
pub fn secure_conversation(target: Target, data: &[u8]) {
    let mut data = data;
    let (server_config, client_config) = configs(target);
    let mut server = Side::new(server_config);
    let mut client = Side::new(client_config);
    let attacked_server = matches!(target, Target::CurveServer | Target::Plain { server: true });
    let honest_messages: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 1 + usize::from(i) * 100]).collect();
    let mut damaged = false;
    let mut sent = 0;
    for round in 0..8 {
        for from_server in [false, true] {
            let (from, to) = if from_server {
                (&mut server, &mut client)
            } else {
                (&mut client, &mut server)
            };
            if from.failed {
                continue;
            }
            if from.ready && from_server != attacked_server && round >= 3 && sent < honest_messages.len() {
                let frame = [Frame::from(honest_messages[sent].clone())];
                from.proto.encode_message(&frame, &mut from.out);
                sent += 1;
            }
            let mut flight = drain(&mut from.out);
            if from_server != attacked_server {
                damaged |= damage(&mut flight, &mut data);
            }
            to.input.extend_from_slice(&flight);
            to.poll();
        }
    }
    let victim = if attacked_server { &mut server } else { &mut client };
    if !damaged {
        assert!(victim.ready, "an undamaged {target:?} handshake did not complete");
        assert_eq!(victim.delivered.len(), sent, "undamaged messages were lost");
    }
    let sealed = !matches!(target, Target::Plain { .. });
    if sealed {
        for message in &victim.delivered {
            let body: &[u8] = &message[0];
            assert!(
                message.len() == 1 && honest_messages.iter().any(|m| &m[..] == body),
                "a CURVE peer delivered a message nobody sent"
            );
        }
    }
    // Then arbitrary bytes from the attacker.
    if !victim.failed {
        victim.input.extend_from_slice(data);
        victim.poll();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undamaged_conversations_complete() {
        for target in [
            Target::CurveServer,
            Target::CurveClient,
            Target::Plain { server: true },
            Target::Plain { server: false },
        ] {
            secure_conversation(target, &[]);
        }
    }

    #[test]
    fn damage_anywhere_never_panics_nor_forges() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        for _ in 0..60 {
            let data: Vec<u8> = (0..40)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            secure_conversation(Target::CurveServer, &data);
            secure_conversation(Target::CurveClient, &data);
            secure_conversation(Target::Plain { server: true }, &data);
        }
    }
}
