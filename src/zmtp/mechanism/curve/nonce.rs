//! The 24-byte nonces of CurveZMQ: a short nonce is a 16-byte prefix and an 8-byte
//! big-endian counter (only the counter travels); a long nonce is an 8-byte prefix and 16
//! random bytes (only the random part travels).

use crate::zmtp::ProtocolError;

/// Prefix of the client's HELLO box.
pub(super) const HELLO: &[u8; 16] = b"CurveZMQHELLO---";
/// Prefix of the server's WELCOME box (long).
pub(super) const WELCOME: &[u8; 8] = b"WELCOME-";
/// Prefix of the cookie's secretbox (long).
pub(super) const COOKIE: &[u8; 8] = b"COOKIE--";
/// Prefix of the client's INITIATE box.
pub(super) const INITIATE: &[u8; 16] = b"CurveZMQINITIATE";
/// Prefix of the vouch inside INITIATE (long).
pub(super) const VOUCH: &[u8; 8] = b"VOUCH---";
/// Prefix of the server's READY box.
pub(super) const READY: &[u8; 16] = b"CurveZMQREADY---";
/// Prefix of the MESSAGE boxes the client sends.
pub(super) const MESSAGE_C: &[u8; 16] = b"CurveZMQMESSAGEC";
/// Prefix of the MESSAGE boxes the server sends.
pub(super) const MESSAGE_S: &[u8; 16] = b"CurveZMQMESSAGES";

/// A short nonce: `prefix` and the big-endian counter.
pub(super) fn short(prefix: &[u8; 16], counter: u64) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// A long nonce: `prefix` and the 16 bytes that travel.
pub(super) fn long(prefix: &[u8; 8], tail: &[u8; 16]) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(tail);
    nonce
}

/// Reads the 8-byte counter of a short nonce; `bytes` holds at least 8 bytes.
pub(super) fn counter(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// Fills `bytes` from the operating system's random source.
pub(super) fn fill_random(bytes: &mut [u8]) -> Result<(), ProtocolError> {
    getrandom::fill(bytes).map_err(|_| ProtocolError::Handshake("no randomness for CURVE"))
}

/// Bytes from the operating system's random source (for public values: nonce tails).
pub(super) fn random<const N: usize>() -> Result<[u8; N], ProtocolError> {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes)?;
    Ok(bytes)
}
