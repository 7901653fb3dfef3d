//! The server side: WELCOME for a HELLO, ZAP's verdict on INITIATE, then READY.

use super::boxes;
use super::cipher::CurveCipher;
use super::cookie::{self, COOKIE_SIZE};
use super::keys::{self, KeyPair, SharedKey};
use super::nonce;
use super::{CRYPTO, HELLO_SIZE, INITIATE_MIN, KEY, TAG, VOUCH_SIZE, WELCOME_SIZE, same_bytes};
use crate::zmtp::ProtocolError;
use crate::zmtp::command::Metadata;
use crate::zmtp::mechanism::zap::{self, ZapReply, ZapRequest};
use crate::zmtp::mechanism::{Cipher, Handshake, Step, split_command};
use bytes::{BufMut, Bytes, BytesMut};

/// The counter of the server's READY nonce; its MESSAGEs follow from the next one.
const READY_NONCE: u64 = 1;

// Tests clone a handshake to try many inputs at one step.
#[cfg_attr(test, derive(Clone))]
enum State {
    /// Waiting for HELLO.
    AwaitHello,
    /// WELCOME sent: the client's transient key C' only; our transient secret s' travels in
    /// the cookie (see `cookie.rs`).
    AwaitInitiate { client: [u8; KEY] },
    /// INITIATE checked, waiting for ZAP: the key between s' and C', the client's metadata
    /// and its INITIATE counter.
    AwaitZap {
        key: SharedKey,
        peer: Metadata,
        last_recv: u64,
    },
    /// READY sent: the cipher, until taken.
    Done { cipher: Option<CurveCipher> },
    /// An error ended the handshake.
    Failed,
}

/// The server side of CURVE: accepts clients that know its public key, and hands each
/// client's long-term public key to ZAP.
#[cfg_attr(test, derive(Clone))]
pub struct CurveServer {
    keys: KeyPair,
    ours: Metadata,
    state: State,
}

impl CurveServer {
    /// A server with the long-term pair `keys`, announcing `metadata` in its READY.
    pub fn new(keys: KeyPair, metadata: Metadata) -> CurveServer {
        CurveServer {
            keys,
            ours: metadata,
            state: State::AwaitHello,
        }
    }

    /// HELLO: checks it and answers WELCOME.
    fn hello(&self, body: &[u8], sends: &mut Vec<Bytes>) -> Result<State, ProtocolError> {
        if body.len() != HELLO_SIZE {
            return Err(ProtocolError::BadCommand("CURVE HELLO of the wrong size"));
        }
        if body[6..8] != [1, 0] {
            return Err(ProtocolError::BadCommand("CURVE HELLO of an unknown version"));
        }
        let mut client = [0u8; KEY];
        client.copy_from_slice(&body[80..112]);
        let counter = nonce::counter(&body[112..]).unwrap_or(0);
        let to_client = self.keys.shared(&client);
        if boxes::open(&to_client, &nonce::short(nonce::HELLO, counter), &body[120..]).is_none() {
            return Err(ProtocolError::Handshake(CRYPTO));
        }

        let transient = KeyPair::generate()?;
        let cookie = cookie::make(&client, transient.secret())?;
        let tail: [u8; 16] = nonce::random()?;
        let mut welcome = BytesMut::with_capacity(WELCOME_SIZE);
        welcome.extend_from_slice(b"\x07WELCOME");
        welcome.extend_from_slice(&tail);
        let start = welcome.len();
        welcome.put_bytes(0, TAG);
        welcome.extend_from_slice(&transient.public);
        welcome.extend_from_slice(&cookie);
        boxes::seal_in_place(
            &to_client,
            &nonce::long(nonce::WELCOME, &tail),
            &mut welcome[start..],
        );
        sends.push(welcome.freeze());
        Ok(State::AwaitInitiate { client })
    }

    /// INITIATE: opens the cookie, the box and the vouch, and asks ZAP about C.
    fn initiate(&self, body: &[u8], client: &[u8; KEY]) -> Result<(State, ZapRequest), ProtocolError> {
        if body.len() < INITIATE_MIN {
            return Err(ProtocolError::BadCommand("CURVE INITIATE too short"));
        }
        let secret = cookie::open(&body[9..9 + COOKIE_SIZE], client)?;
        let at = 9 + COOKIE_SIZE;
        let counter = nonce::counter(&body[at..]).unwrap_or(0);
        let key = keys::shared(client, &secret);
        let plain = boxes::open(&key, &nonce::short(nonce::INITIATE, counter), &body[at + 8..])
            .ok_or(ProtocolError::Handshake(CRYPTO))?;
        let (Some(long_term), Some(vouch), Some(metadata)) = (
            plain.get(..KEY),
            plain.get(KEY..KEY + VOUCH_SIZE),
            plain.get(KEY + VOUCH_SIZE..),
        ) else {
            return Err(ProtocolError::BadCommand("CURVE INITIATE too short"));
        };
        let mut long_term_key = [0u8; KEY];
        long_term_key.copy_from_slice(long_term);
        let mut vouch_tail = [0u8; 16];
        vouch_tail.copy_from_slice(&vouch[..16]);
        let vouched = boxes::open(
            &keys::shared(&long_term_key, &secret),
            &nonce::long(nonce::VOUCH, &vouch_tail),
            &vouch[16..],
        )
        .ok_or(ProtocolError::Handshake("CURVE vouch does not open"))?;
        let mut expected = [0u8; 2 * KEY];
        expected[..KEY].copy_from_slice(client);
        expected[KEY..].copy_from_slice(&self.keys.public);
        if !same_bytes(&vouched, &expected) {
            return Err(ProtocolError::Handshake("CURVE vouch for another connection"));
        }
        // Only now, the INITIATE being good: a damaged one must not use up a client's cookie.
        cookie::consume(&body[9..9 + COOKIE_SIZE])?;
        let peer = Metadata::decode(Bytes::copy_from_slice(metadata))?;
        let request = ZapRequest {
            mechanism: "CURVE",
            credentials: vec![Bytes::copy_from_slice(&long_term_key)],
        };
        Ok((
            State::AwaitZap {
                key,
                peer,
                last_recv: counter,
            },
            request,
        ))
    }

    /// The READY command: the short nonce and the box from s' to C' of our metadata.
    fn ready_body(&self, key: &SharedKey) -> Bytes {
        let mut metadata = BytesMut::new();
        self.ours.encode(&mut metadata);
        let mut body = BytesMut::with_capacity(super::READY_MIN + metadata.len());
        body.extend_from_slice(b"\x05READY");
        body.put_u64(READY_NONCE);
        let start = body.len();
        body.put_bytes(0, TAG);
        body.extend_from_slice(&metadata);
        boxes::seal_in_place(key, &nonce::short(nonce::READY, READY_NONCE), &mut body[start..]);
        body.freeze()
    }

    /// The cipher once the handshake is done (handed out once).
    pub(super) fn take_cipher(&mut self) -> Option<CurveCipher> {
        match &mut self.state {
            State::Done { cipher } => cipher.take(),
            _ => None,
        }
    }
}

impl Handshake for CurveServer {
    fn start(&mut self, _sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        Ok(Step::Continue)
    }

    fn on_command(&mut self, body: Bytes, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        let (name, _) = split_command(&body)?;
        match (std::mem::replace(&mut self.state, State::Failed), name) {
            (State::AwaitHello, b"HELLO") => {
                self.state = self.hello(&body, sends)?;
                Ok(Step::Continue)
            }
            (State::AwaitInitiate { client }, b"INITIATE") => {
                // The cookie key is dropped (wiped) here, whatever the outcome.
                let (state, request) = self.initiate(&body, &client)?;
                self.state = state;
                Ok(Step::Authenticate(request))
            }
            _ => Err(ProtocolError::Handshake("unexpected command")),
        }
    }

    fn on_zap_reply(&mut self, reply: &ZapReply, sends: &mut Vec<Bytes>) -> Result<Step, ProtocolError> {
        let State::AwaitZap { key, peer, last_recv } = std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(ProtocolError::Handshake("unexpected ZAP reply"));
        };
        zap::refusal(reply, sends)?;
        sends.push(self.ready_body(&key));
        let cipher = CurveCipher::server(key, READY_NONCE + 1, last_recv);
        self.state = State::Done { cipher: Some(cipher) };
        Ok(Step::Done(peer))
    }

    fn cipher(&mut self) -> Option<Box<dyn Cipher>> {
        self.take_cipher().map(|c| Box::new(c) as Box<dyn Cipher>)
    }
}
