//! The client side: HELLO, then INITIATE once WELCOME came, then READY ends the handshake.

use super::boxes;
use super::cipher::CurveCipher;
use super::cookie::COOKIE_SIZE;
use super::keys::{KeyPair, SharedKey};
use super::nonce;
use super::{CRYPTO, HELLO_SIZE, KEY, READY_MIN, TAG, WELCOME_SIZE, error_reason};
use crate::zmtp::ProtocolError;
use crate::zmtp::command::Metadata;
use crate::zmtp::mechanism::{Cipher, Handshake, Step, ZapReply, split_command};
use bytes::{BufMut, Bytes, BytesMut};

// Tests clone a handshake to try many inputs at one step.
#[cfg_attr(test, derive(Clone))]
enum State {
    /// `start` not called yet.
    Idle,
    /// HELLO sent: our transient pair C'/c' and the key between c' and S.
    AwaitWelcome {
        transient: KeyPair,
        to_server: SharedKey,
    },
    /// INITIATE sent: the key between c' and S'.
    AwaitReady { key: SharedKey },
    /// READY opened: the cipher, until taken.
    Done { cipher: Option<CurveCipher> },
    /// An error ended the handshake.
    Failed,
}

/// The client side of CURVE: proves it holds its long-term key pair to a server whose
/// public key it knows.
#[cfg_attr(test, derive(Clone))]
pub struct CurveClient {
    keys: KeyPair,
    server_key: [u8; KEY],
    ours: Metadata,
    /// The counter of our next short nonce (HELLO 1, INITIATE 2, MESSAGEs from 3).
    next_nonce: u64,
    state: State,
}

impl CurveClient {
    /// A client with the long-term pair `keys`, talking to the server of public key
    /// `server_key`, announcing `metadata` in its INITIATE.
    pub fn new(keys: KeyPair, server_key: [u8; 32], metadata: Metadata) -> CurveClient {
        CurveClient {
            keys,
            server_key,
            ours: metadata,
            next_nonce: 1,
            state: State::Idle,
        }
    }

    fn take_nonce(&mut self) -> u64 {
        let counter = self.next_nonce;
        self.next_nonce += 1;
        counter
    }

    /// WELCOME: opens it and sends INITIATE.
    fn welcome(
        &mut self,
        body: &[u8],
        transient: &KeyPair,
        to_server: &SharedKey,
        sends: &mut Vec<Bytes>,
    ) -> Result<State, ProtocolError> {
        let (server_transient, cookie) = open_welcome(body, to_server)?;
        let key = transient.shared(&server_transient);
        let counter = self.take_nonce();
        let initiate = Initiate {
            keys: &self.keys,
            server_key: &self.server_key,
            transient,
            cookie: &cookie,
            metadata: &self.ours,
        };
        sends.push(initiate.body(&key, counter, &server_transient)?);
        Ok(State::AwaitReady { key })
    }

    /// READY: opens it and ends the handshake.
    fn ready(&self, body: &[u8], key: SharedKey) -> Result<(State, Metadata), ProtocolError> {
        if body.len() < READY_MIN {
            return Err(ProtocolError::BadCommand("CURVE READY too short"));
        }
        let counter = nonce::counter(&body[6..]).unwrap_or(0);
        let plain = boxes::open(&key, &nonce::short(nonce::READY, counter), &body[14..])
            .ok_or(ProtocolError::Handshake(CRYPTO))?;
        let peer = Metadata::decode(Bytes::copy_from_slice(&plain))?;
        let cipher = CurveCipher::client(key, self.next_nonce, counter);
        Ok((State::Done { cipher: Some(cipher) }, peer))
    }

    /// The cipher once the handshake is done (handed out once).
    pub(super) fn take_cipher(&mut self) -> Option<CurveCipher> {
        match &mut self.state {
            State::Done { cipher } => cipher.take(),
            _ => None,
        }
    }
}

impl Handshake for CurveClient {
    fn start(&mut self, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        if !matches!(self.state, State::Idle) {
            self.state = State::Failed;
            return Err(ProtocolError::Handshake("CURVE handshake started twice"));
        }
        self.state = State::Failed;
        let transient = KeyPair::generate()?;
        let to_server = transient.shared(&self.server_key);
        let counter = self.take_nonce();
        sends.push(hello_body(&transient.public, &to_server, counter));
        self.state = State::AwaitWelcome { transient, to_server };
        Ok(Step::Continue)
    }

    fn on_command(&mut self, body: Bytes, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        let (name, data) = split_command(&body)?;
        match (std::mem::replace(&mut self.state, State::Failed), name) {
            (State::AwaitWelcome { transient, to_server }, b"WELCOME") => {
                self.state = self.welcome(&body, &transient, &to_server, sends)?;
                Ok(Step::Continue)
            }
            (State::AwaitReady { key }, b"READY") => {
                let (state, peer) = self.ready(&body, key)?;
                self.state = state;
                Ok(Step::Done(peer))
            }
            (State::AwaitWelcome { .. } | State::AwaitReady { .. }, b"ERROR") => Err(error_reason(data)),
            _ => Err(ProtocolError::Handshake("unexpected command")),
        }
    }

    fn on_zap_reply(&mut self, _reply: &ZapReply, _sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        self.state = State::Failed;
        Err(ProtocolError::Handshake("unexpected ZAP reply at a CURVE client"))
    }

    fn cipher(&mut self) -> Option<Box<dyn Cipher>> {
        self.take_cipher().map(|c| Box::new(c) as Box<dyn Cipher>)
    }
}

/// The HELLO command: version 1.0, padding, C', the short nonce and the box of 64 zeros
/// from c' to S.
pub(super) fn hello_body(transient: &[u8; KEY], to_server: &SharedKey, counter: u64) -> Bytes {
    let mut body = BytesMut::with_capacity(HELLO_SIZE);
    body.extend_from_slice(b"\x05HELLO");
    body.extend_from_slice(&[1, 0]);
    body.put_bytes(0, 72);
    body.extend_from_slice(transient);
    body.put_u64(counter);
    let start = body.len();
    body.put_bytes(0, TAG + 64);
    boxes::seal_in_place(
        to_server,
        &nonce::short(nonce::HELLO, counter),
        &mut body[start..],
    );
    body.freeze()
}

/// Opens a WELCOME command (name included): the server's transient key S' and the cookie.
pub(super) fn open_welcome(
    body: &[u8],
    to_server: &SharedKey,
) -> Result<([u8; KEY], [u8; COOKIE_SIZE]), ProtocolError> {
    if body.len() != WELCOME_SIZE {
        return Err(ProtocolError::BadCommand("CURVE WELCOME of the wrong size"));
    }
    let mut tail = [0u8; 16];
    tail.copy_from_slice(&body[8..24]);
    let plain = boxes::open(to_server, &nonce::long(nonce::WELCOME, &tail), &body[24..])
        .ok_or(ProtocolError::Handshake(CRYPTO))?;
    let (Ok(server_transient), Ok(cookie)) = (plain[..KEY].try_into(), plain[KEY..].try_into()) else {
        return Err(ProtocolError::BadCommand("CURVE WELCOME of the wrong size"));
    };
    Ok((server_transient, cookie))
}

/// What INITIATE carries, but for the keys of its boxes.
pub(super) struct Initiate<'a> {
    /// Our long-term pair (C sent, c signs the vouch).
    pub(super) keys: &'a KeyPair,
    /// The server's long-term key S, vouched for.
    pub(super) server_key: &'a [u8; KEY],
    /// Our transient pair (C' vouched for).
    pub(super) transient: &'a KeyPair,
    /// The server's cookie, handed back.
    pub(super) cookie: &'a [u8; COOKIE_SIZE],
    /// Our metadata.
    pub(super) metadata: &'a Metadata,
}

impl Initiate<'_> {
    /// The INITIATE command: the cookie, the short nonce and the box from c' to S' (`key`)
    /// of C, the vouch and the metadata. The vouch is the box from c to `vouch_to` (S'; only
    /// tests pass anything else) of C' and S.
    pub(super) fn body(
        &self,
        key: &SharedKey,
        counter: u64,
        vouch_to: &[u8; KEY],
    ) -> Result<Bytes, ProtocolError> {
        let vouch_tail: [u8; 16] = nonce::random()?;
        let mut vouched = [0u8; 2 * KEY];
        vouched[..KEY].copy_from_slice(&self.transient.public);
        vouched[KEY..].copy_from_slice(self.server_key);
        let vouch = boxes::seal(
            &self.keys.shared(vouch_to),
            &nonce::long(nonce::VOUCH, &vouch_tail),
            &vouched,
        );

        let mut metadata = BytesMut::new();
        self.metadata.encode(&mut metadata);
        let mut body = BytesMut::with_capacity(super::INITIATE_MIN + metadata.len());
        body.extend_from_slice(b"\x08INITIATE");
        body.extend_from_slice(self.cookie);
        body.put_u64(counter);
        let start = body.len();
        body.put_bytes(0, TAG);
        body.extend_from_slice(&self.keys.public);
        body.extend_from_slice(&vouch_tail);
        body.extend_from_slice(&vouch);
        body.extend_from_slice(&metadata);
        boxes::seal_in_place(key, &nonce::short(nonce::INITIATE, counter), &mut body[start..]);
        Ok(body.freeze())
    }
}
