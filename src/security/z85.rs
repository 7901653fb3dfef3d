//! Z85 (ZeroMQ RFC 32): binary as printable text, 5 characters for every 4 bytes, the form
//! CURVE keys are written in.

use crate::error::{Error, Result};

const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Each character's value, or 0xFF for a character outside the alphabet.
const DECODE: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 85 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `data`, whose length must be a multiple of 4, as Z85 text (libzmq's
/// `zmq_z85_encode`).
///
/// # Errors
///
/// [`Error::InvalidOption`] if the length is not a multiple of 4.
///
/// # Examples
///
/// ```
/// let text = zocket::z85_encode(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])?;
/// assert_eq!(text, "HelloWorld"); // RFC 32's example
/// assert!(zocket::z85_encode(b"abc").is_err());
/// # Ok::<(), zocket::Error>(())
/// ```
pub fn z85_encode(data: &[u8]) -> Result<String> {
    if !data.len().is_multiple_of(4) {
        return Err(Error::InvalidOption(format!(
            "Z85 encodes 4-byte groups; {} bytes is not a multiple of 4",
            data.len()
        )));
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut chars = [0u8; 5];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(chars.iter().map(|&c| c as char));
    }
    Ok(text)
}

/// Decodes Z85 `text`, whose length must be a multiple of 5 (libzmq's `zmq_z85_decode`).
///
/// # Errors
///
/// [`Error::InvalidOption`] for a length that is not a multiple of 5, a character outside
/// the Z85 alphabet, or a group whose value does not fit 32 bits.
///
/// # Examples
///
/// ```
/// assert_eq!(zocket::z85_decode("HelloWorld")?, [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
/// assert!(zocket::z85_decode("Hello World").is_err());
/// # Ok::<(), zocket::Error>(())
/// ```
pub fn z85_decode(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let invalid = |reason: String| Error::InvalidOption(format!("Z85: {reason}"));
    if !bytes.len().is_multiple_of(5) {
        return Err(invalid(format!(
            "{} characters is not a multiple of 5",
            bytes.len()
        )));
    }
    let mut data = Vec::with_capacity(bytes.len() / 5 * 4);
    for (index, group) in bytes.chunks_exact(5).enumerate() {
        let mut value: u64 = 0;
        for (offset, &c) in group.iter().enumerate() {
            let digit = DECODE[c as usize];
            if digit == 0xFF {
                let at = index * 5 + offset;
                return Err(invalid(format!("byte {c:#04x} at {at} is not in the alphabet")));
            }
            value = value * 85 + u64::from(digit);
        }
        let value =
            u32::try_from(value).map_err(|_| invalid(format!("group {index} is larger than 32 bits")))?;
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_32_example_and_a_curve_key_vector() {
        let hello = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(z85_encode(&hello).unwrap(), "HelloWorld");
        assert_eq!(z85_decode("HelloWorld").unwrap(), hello);
        // A CURVE public key as the CurveZMQ test suite writes it (32 bytes, 40 characters).
        let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        let raw = z85_decode(key).unwrap();
        assert_eq!(raw.len(), 32);
        assert_eq!(z85_encode(&raw).unwrap(), key);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(z85_decode("Hell").is_err(), "length");
        assert!(z85_decode("Hello World").is_err(), "space");
        assert!(z85_decode("\u{e9}llo").is_err(), "non-ASCII");
        assert!(z85_decode("#####").is_err(), "85^5 - 1 does not fit 32 bits");
        assert!(z85_decode("%nSc0").is_ok(), "2^32 - 1 does");
        assert_eq!(z85_decode("%nSc0").unwrap(), [0xFF; 4]);
        assert!(z85_encode(&[1, 2, 3]).is_err());
        assert_eq!(z85_encode(&[]).unwrap(), "");
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(words in proptest::collection::vec(any::<[u8; 4]>(), 0..64)) {
            let data: Vec<u8> = words.concat();
            prop_assert_eq!(z85_decode(&z85_encode(&data).unwrap()).unwrap(), data);
        }

        #[test]
        fn any_text_decodes_or_fails_cleanly(text in "\\PC{0,40}") {
            let _ = z85_decode(&text);
        }
    }
}
