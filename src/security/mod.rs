//! Security: Z85 text for keys (RFC 32), CURVE key pairs, and the context's ZAP client. The
//! mechanisms themselves are in `zmtp::mechanism`, the ready-made ZAP handler in `auth`.

mod keys;
mod z85;
pub(crate) mod zap_client;

pub use keys::{CurveKeyPair, curve_public};
pub use z85::{z85_decode, z85_encode};

/// Compares two byte strings (secrets) in a time that depends on their lengths only.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}
