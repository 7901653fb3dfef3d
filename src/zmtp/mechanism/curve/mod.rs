//! CURVE (ZMTP-CURVE, RFC 25, over CurveZMQ, RFC 26): a HELLO / WELCOME / INITIATE / READY
//! handshake of NaCl boxes (X25519, XSalsa20, Poly1305) between long-term and per-connection
//! keys, then every frame travels boxed inside a MESSAGE command.
//!
//! Short nonces count up from 1 as in libzmq: the client boxes HELLO with 1, INITIATE with 2
//! and its MESSAGEs from 3; the server boxes READY with 1 and its MESSAGEs from 2. A side
//! accepts a MESSAGE only with a nonce greater than the last one it took (the peer's
//! INITIATE or READY to start with).
//!
//! The frame that carries a MESSAGE has flags 0 (with LONG when its size needs it): neither
//! COMMAND nor MORE, which travel inside the box. libzmq 4.3.5 sends its MESSAGEs so, and
//! takes the outer COMMAND and MORE bits as the frame's own: given COMMAND it handles every
//! frame as a command and drops the data without a word (checked against pyzmq's libzmq).

mod boxes;
mod cipher;
mod client;
mod cookie;
mod keys;
mod nacl;
mod nonce;
mod server;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_attacks;
#[cfg(test)]
mod tests_fuzz;

pub use client::CurveClient;
pub use keys::KeyPair;
pub use server::CurveServer;

use crate::zmtp::ProtocolError;

/// The size of a public or secret key.
const KEY: usize = 32;
/// The Poly1305 tag that starts every box.
const TAG: usize = 16;

/// HELLO: name, version, padding, C', short nonce, box of 64 zeros.
const HELLO_SIZE: usize = 6 + 2 + 72 + KEY + 8 + (TAG + 64);
/// WELCOME: name, 16-byte nonce, box of S' and the cookie.
const WELCOME_SIZE: usize = 8 + 16 + (TAG + KEY + cookie::COOKIE_SIZE);
/// INITIATE without metadata: name, cookie, short nonce, box of C and the vouch.
const INITIATE_MIN: usize = 9 + cookie::COOKIE_SIZE + 8 + (TAG + KEY + VOUCH_SIZE);
/// READY without metadata: name, short nonce, empty box.
const READY_MIN: usize = 6 + 8 + TAG;
/// The vouch: 16-byte nonce, box of C' and S.
const VOUCH_SIZE: usize = 16 + TAG + 2 * KEY;

/// The failure of a box that does not open: a wrong key, a wrong nonce or altered bytes.
const CRYPTO: &str = "CURVE box does not open";

use crate::security::constant_time_eq as same_bytes;

/// The reason of a peer's ERROR command (`data` follows the name): a length byte, then the
/// reason. Bytes after the reason are ignored, as libzmq does.
fn error_reason(data: &[u8]) -> ProtocolError {
    match data.split_first() {
        Some((&len, rest)) if rest.len() >= usize::from(len) => {
            ProtocolError::PeerError(String::from_utf8_lossy(&rest[..usize::from(len)]).into_owned())
        }
        _ => ProtocolError::BadCommand("malformed ERROR command"),
    }
}
