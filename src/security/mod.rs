//! Security: Z85 text for keys (RFC 32) and CURVE key pairs. The PLAIN and CURVE
//! mechanisms and ZAP come next (issue 12).

mod keys;
mod z85;

pub use keys::{CurveKeyPair, curve_public};
pub use z85::{z85_decode, z85_encode};
