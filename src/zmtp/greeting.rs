//! The 64-byte ZMTP 3.x greeting.

use super::ProtocolError;

/// Length of a ZMTP 3.x greeting on the wire.
pub const GREETING_LEN: usize = 64;

/// The NULL security mechanism's name as it appears in the greeting.
pub const MECHANISM_NULL: &[u8] = b"NULL";

/// A decoded greeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// Major version (3 for every peer we talk to).
    pub major: u8,
    /// Minor version: 0 for ZMTP 3.0, 1 for 3.1.
    pub minor: u8,
    /// Mechanism name without its NUL padding.
    pub mechanism: Vec<u8>,
    /// The as-server flag.
    pub as_server: bool,
}

impl Greeting {
    /// The greeting zocket sends: ZMTP 3.1, NULL mechanism.
    pub fn ours() -> Greeting {
        Greeting {
            major: 3,
            minor: 1,
            mechanism: MECHANISM_NULL.to_vec(),
            as_server: false,
        }
    }

    /// Encodes the greeting into its 64 bytes. The padding after the first byte is written the
    /// way libzmq writes it for an empty identity (a big-endian 1), which older peers expect.
    pub fn encode(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xFF;
        out[8] = 0x01;
        out[9] = 0x7F;
        out[10] = self.major;
        out[11] = self.minor;
        let name_len = self.mechanism.len().min(20);
        out[12..12 + name_len].copy_from_slice(&self.mechanism[..name_len]);
        out[32] = u8::from(self.as_server);
        out
    }

    /// Checks the prefix of a greeting as soon as bytes arrive, so that a peer that is not
    /// speaking ZMTP 3.x is refused at once instead of after the handshake timeout.
    pub fn check_prefix(bytes: &[u8]) -> Result<(), ProtocolError> {
        if let Some(&first) = bytes.first()
            && first != 0xFF
        {
            return Err(ProtocolError::BadGreeting("signature does not start with 0xFF"));
        }
        if let Some(&b) = bytes.get(9)
            && b & 1 == 0
        {
            return Err(ProtocolError::UnsupportedVersion(1));
        }
        if let Some(&major) = bytes.get(10)
            && major < 3
        {
            return Err(ProtocolError::UnsupportedVersion(major));
        }
        Ok(())
    }

    /// Decodes a full greeting. The padding bytes 1..=8 are ignored (libzmq fills them).
    pub fn decode(bytes: &[u8; GREETING_LEN]) -> Result<Greeting, ProtocolError> {
        Greeting::check_prefix(bytes)?;
        let raw = &bytes[12..32];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        let mechanism = raw[..end].to_vec();
        // The name is padded with NULs to 20 bytes; anything after the padding starts is not
        // a name libzmq would accept (it compares all 20 bytes).
        if raw[end..].iter().any(|&b| b != 0) {
            return Err(ProtocolError::BadGreeting(
                "bytes after the mechanism name's padding",
            ));
        }
        if mechanism.is_empty()
            || !mechanism
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.+".contains(b))
        {
            return Err(ProtocolError::BadGreeting("invalid mechanism name"));
        }
        if bytes[32] > 1 {
            return Err(ProtocolError::BadGreeting("as-server flag is neither 0 nor 1"));
        }
        Ok(Greeting {
            major: bytes[10],
            minor: bytes[11],
            mechanism,
            as_server: bytes[32] == 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bytes_after_the_mechanism_padding() {
        let mut bytes = Greeting::ours().encode();
        assert!(Greeting::decode(&bytes).is_ok());
        bytes[12 + 5] = b'X'; // "NULL\0X"
        assert!(Greeting::decode(&bytes).is_err());
    }

    #[test]
    fn round_trip() {
        let g = Greeting::ours();
        assert_eq!(Greeting::decode(&g.encode()).unwrap(), g);
    }

    #[test]
    fn libzmq_padding_is_accepted() {
        // libzmq writes identity length + 1 into the padding: do not require zeros.
        let mut bytes = Greeting::ours().encode();
        bytes[1..9].copy_from_slice(&6u64.to_be_bytes());
        assert!(Greeting::decode(&bytes).is_ok());
    }

    #[test]
    fn accepts_3_0_and_later_minors() {
        let mut bytes = Greeting::ours().encode();
        bytes[11] = 0;
        assert_eq!(Greeting::decode(&bytes).unwrap().minor, 0);
        bytes[11] = 7;
        assert_eq!(Greeting::decode(&bytes).unwrap().minor, 7);
    }

    #[test]
    fn rejects_garbage_early() {
        assert!(Greeting::check_prefix(b"GET / HTTP/1.1").is_err());
        assert!(Greeting::check_prefix(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7E]).is_err());
        assert!(Greeting::check_prefix(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 2]).is_err());
        assert!(Greeting::check_prefix(&[0xFF, 0, 0, 0]).is_ok());
    }
}
