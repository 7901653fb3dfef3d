//! PLAIN (RFC 24): the client sends a user name and password in clear, the server asks its
//! ZAP handler about them, then INITIATE and READY exchange the metadata.

use super::null::{expect_properties, peer_error};
use super::zap::{self, ZapReply, ZapRequest};
use super::{Cipher, Handshake, Step, command_body, split_command};
use crate::zmtp::ProtocolError;
use crate::zmtp::command::Metadata;
use bytes::{Bytes, BytesMut};

fn with_properties(name: &[u8], metadata: &Metadata) -> Bytes {
    let mut props = BytesMut::new();
    metadata.encode(&mut props);
    command_body(name, &[&props])
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ClientState {
    AwaitWelcome,
    AwaitReady,
    Done,
}

/// The client side of PLAIN.
pub struct PlainClient {
    username: Bytes,
    password: Bytes,
    ours: Metadata,
    state: ClientState,
}

impl PlainClient {
    /// A client that authenticates as `username` with `password` (each at most 255 bytes;
    /// the options refuse longer ones) and announces `ours`.
    pub fn new(username: Bytes, password: Bytes, ours: Metadata) -> PlainClient {
        PlainClient {
            username,
            password,
            ours,
            state: ClientState::AwaitWelcome,
        }
    }
}

impl Handshake for PlainClient {
    fn start(&mut self, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        let user = &self.username[..self.username.len().min(255)];
        let pass = &self.password[..self.password.len().min(255)];
        sends.push(command_body(
            b"HELLO",
            &[&[user.len() as u8], user, &[pass.len() as u8], pass],
        ));
        Ok(Step::Continue)
    }

    fn on_command(&mut self, body: Bytes, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        match self.state {
            ClientState::AwaitWelcome => {
                if let Some(reason) = libzmq_error(&body) {
                    return Err(ProtocolError::PeerError(reason));
                }
                let (name, data) = split_command(&body)?;
                if let Some(error) = peer_error(name, data) {
                    return Err(error);
                }
                if name != b"WELCOME" || !data.is_empty() {
                    return Err(ProtocolError::Handshake("expected WELCOME"));
                }
                sends.push(with_properties(b"INITIATE", &self.ours));
                self.state = ClientState::AwaitReady;
                Ok(Step::Continue)
            }
            ClientState::AwaitReady => {
                let peer = expect_properties(body, b"READY")?;
                self.state = ClientState::Done;
                Ok(Step::Done(peer))
            }
            ClientState::Done => Err(ProtocolError::Handshake("unexpected command")),
        }
    }

    fn on_zap_reply(&mut self, _: &ZapReply, _: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        Err(ProtocolError::Handshake("a PLAIN client asks no ZAP handler"))
    }

    fn cipher(&mut self) -> Option<Box<dyn Cipher>> {
        None
    }
}

/// The reason of the ERROR a libzmq PLAIN server sends: its prefix is written `"\x05ERROR"`
/// in C, where the hex escape takes the `E` (0x5E, `^`), so the command reads `^RROR` with
/// no length byte (libzmq 4.3.5 and master). Recognised so that a refusal by libzmq is
/// reported as one, with its status code.
fn libzmq_error(body: &[u8]) -> Option<String> {
    let rest = body.strip_prefix(b"^RROR")?;
    let (&len, reason) = rest.split_first()?;
    let reason = reason.get(..usize::from(len))?;
    Some(String::from_utf8_lossy(reason).into_owned())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ServerState {
    AwaitHello,
    AwaitZap,
    AwaitInitiate,
    Done,
}

/// The server side of PLAIN.
pub struct PlainServer {
    ours: Metadata,
    state: ServerState,
}

impl PlainServer {
    /// A server that announces `ours`.
    pub fn new(ours: Metadata) -> PlainServer {
        PlainServer {
            ours,
            state: ServerState::AwaitHello,
        }
    }
}

/// The user name and password of a HELLO's data.
fn credentials(data: &[u8]) -> Result<(Bytes, Bytes), ProtocolError> {
    let malformed = ProtocolError::BadCommand("malformed PLAIN HELLO");
    let (&user_len, rest) = data.split_first().ok_or(malformed.clone())?;
    let user_len = usize::from(user_len);
    if rest.len() < user_len + 1 {
        return Err(malformed);
    }
    let (user, rest) = rest.split_at(user_len);
    let (&pass_len, pass) = rest.split_first().ok_or(malformed.clone())?;
    if pass.len() != usize::from(pass_len) {
        return Err(malformed);
    }
    Ok((Bytes::copy_from_slice(user), Bytes::copy_from_slice(pass)))
}

impl Handshake for PlainServer {
    fn start(&mut self, _: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        Ok(Step::Continue)
    }

    fn on_command(&mut self, body: Bytes, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        match self.state {
            ServerState::AwaitHello => {
                let (name, data) = split_command(&body)?;
                if let Some(error) = peer_error(name, data) {
                    return Err(error);
                }
                if name != b"HELLO" {
                    return Err(ProtocolError::Handshake("expected HELLO"));
                }
                let (user, pass) = credentials(data)?;
                self.state = ServerState::AwaitZap;
                Ok(Step::Authenticate(ZapRequest {
                    mechanism: "PLAIN",
                    credentials: vec![user, pass],
                }))
            }
            ServerState::AwaitInitiate => {
                let peer = expect_properties(body, b"INITIATE")?;
                sends.push(with_properties(b"READY", &self.ours));
                self.state = ServerState::Done;
                Ok(Step::Done(peer))
            }
            ServerState::AwaitZap | ServerState::Done => Err(ProtocolError::Handshake("unexpected command")),
        }
    }

    fn on_zap_reply(&mut self, reply: &ZapReply, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        if self.state != ServerState::AwaitZap {
            return Err(ProtocolError::Handshake("a ZAP reply nobody asked for"));
        }
        zap::refusal(reply, sends)?;
        sends.push(command_body(b"WELCOME", &[]));
        self.state = ServerState::AwaitInitiate;
        Ok(Step::Continue)
    }

    fn cipher(&mut self) -> Option<Box<dyn Cipher>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(socket_type: &str) -> Metadata {
        let mut m = Metadata::new();
        m.insert("Socket-Type", socket_type.to_string());
        m
    }

    /// Runs a PLAIN handshake with the ZAP verdict `reply`; returns each side's result.
    fn handshake(reply: ZapReply) -> (Result<Step, ProtocolError>, Result<Step, ProtocolError>) {
        let mut client = PlainClient::new("admin".into(), "secret".into(), meta("REQ"));
        let mut server = PlainServer::new(meta("REP"));
        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        client.start(&mut to_server).unwrap();
        let hello = to_server.remove(0);
        assert_eq!(&hello[..], b"\x05HELLO\x05admin\x06secret");
        let Step::Authenticate(request) = server.on_command(hello, &mut to_client).unwrap() else {
            panic!("no ZAP request");
        };
        assert_eq!(request.credentials, [Bytes::from("admin"), Bytes::from("secret")]);
        if let Err(e) = server.on_zap_reply(&reply, &mut to_client) {
            let answer = match to_client.pop() {
                Some(error) => client.on_command(error, &mut to_server),
                None => Ok(Step::Continue),
            };
            return (answer, Err(e));
        }
        let welcome = to_client.remove(0);
        assert_eq!(&welcome[..], b"\x07WELCOME");
        client.on_command(welcome, &mut to_server).unwrap();
        let server_done = server.on_command(to_server.remove(0), &mut to_client);
        let client_done = client.on_command(to_client.remove(0), &mut to_server);
        (client_done, server_done)
    }

    #[test]
    fn an_accepted_client_completes_with_both_metadata() {
        let (client, server) = handshake(ZapReply::accepted());
        let Ok(Step::Done(peer)) = client else {
            panic!("{client:?}")
        };
        assert_eq!(&peer.get("Socket-Type").unwrap()[..], b"REP");
        let Ok(Step::Done(peer)) = server else {
            panic!("{server:?}")
        };
        assert_eq!(&peer.get("Socket-Type").unwrap()[..], b"REQ");
    }

    #[test]
    fn a_refused_client_gets_the_status_code() {
        let refused = ZapReply {
            status: 400,
            ..ZapReply::accepted()
        };
        let (client, server) = handshake(refused);
        assert_eq!(client.unwrap_err(), ProtocolError::PeerError("400".into()));
        assert!(matches!(server, Err(ProtocolError::Refused { status: 400, .. })));
    }

    #[test]
    fn a_temporary_failure_disconnects_silently() {
        let later = ZapReply {
            status: 300,
            ..ZapReply::accepted()
        };
        let (client, server) = handshake(later);
        assert!(matches!(client, Ok(Step::Continue)));
        assert!(server.is_err());
    }

    #[test]
    fn libzmqs_misspelt_error_is_read_as_a_refusal() {
        let mut client = PlainClient::new("admin".into(), "wrong".into(), meta("REQ"));
        client.start(&mut Vec::new()).unwrap();
        let answer = client.on_command(Bytes::from_static(b"^RROR\x03400"), &mut Vec::new());
        assert_eq!(answer.unwrap_err(), ProtocolError::PeerError("400".into()));
    }

    #[test]
    fn malformed_hellos_are_refused() {
        for bad in [
            &b"\x05HELLO"[..],
            b"\x05HELLO\x05adm",
            b"\x05HELLO\x01a\x05ab",
            b"\x05HELLO\x01a\x01ab",
        ] {
            let mut server = PlainServer::new(meta("REP"));
            assert!(
                server
                    .on_command(Bytes::copy_from_slice(bad), &mut Vec::new())
                    .is_err(),
                "{bad:?}"
            );
        }
        let mut server = PlainServer::new(meta("REP"));
        assert!(
            server
                .on_command(Bytes::from_static(b"\x05HELLO\x00\x00"), &mut Vec::new())
                .is_ok()
        );
    }
}
