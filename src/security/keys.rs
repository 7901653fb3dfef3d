//! CURVE key pairs: X25519 keys as libzmq makes them (`zmq_curve_keypair`,
//! `zmq_curve_public`), with the secret half wiped from memory when dropped.

use crate::error::{Error, Result};

/// A CURVE key pair: 32-byte X25519 keys (write them as text with [`crate::z85_encode`]).
/// The secret key is overwritten with zeros when the pair is dropped.
///
/// # Examples
///
/// ```
/// let server = zocket::CurveKeyPair::new()?;
/// assert_eq!(zocket::curve_public(&server.secret_key), server.public_key);
/// let text = zocket::z85_encode(&server.public_key)?; // 40 characters, as libzmq writes it
/// assert_eq!(text.len(), 40);
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct CurveKeyPair {
    /// The public key, given to peers.
    pub public_key: [u8; 32],
    /// The secret key, kept by its owner.
    pub secret_key: [u8; 32],
}

impl CurveKeyPair {
    /// A new random key pair (from the operating system's random source).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the operating system has no randomness to give.
    pub fn new() -> Result<CurveKeyPair> {
        let mut secret_key = [0u8; 32];
        getrandom::fill(&mut secret_key)
            .map_err(|e| Error::Io(std::io::Error::other(format!("no randomness: {e}"))))?;
        let public_key = curve_public(&secret_key);
        Ok(CurveKeyPair {
            public_key,
            secret_key,
        })
    }
}

impl Drop for CurveKeyPair {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret_key);
    }
}

impl std::fmt::Debug for CurveKeyPair {
    /// Shows the public key only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let public = crate::z85_encode(&self.public_key).unwrap_or_default();
        f.debug_struct("CurveKeyPair")
            .field("public_key", &public)
            .finish_non_exhaustive()
    }
}

/// The public key of a CURVE secret key (libzmq's `zmq_curve_public`).
///
/// # Examples
///
/// ```
/// let pair = zocket::CurveKeyPair::new()?;
/// assert_eq!(zocket::curve_public(&pair.secret_key), pair.public_key);
/// # Ok::<(), zocket::Error>(())
/// ```
pub fn curve_public(secret_key: &[u8; 32]) -> [u8; 32] {
    let secret = crypto_box::SecretKey::from(*secret_key);
    *secret.public_key().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of libzmq's own test suite (`testutil_security.cpp`), in Z85.
    #[test]
    fn the_public_key_of_libzmqs_test_secret() {
        let secret = crate::z85_decode("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").unwrap();
        let public = curve_public(&secret.try_into().unwrap());
        assert_eq!(
            crate::z85_encode(&public).unwrap(),
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
        );
    }

    #[test]
    fn new_pairs_differ_and_match_their_public_half() {
        let (a, b) = (CurveKeyPair::new().unwrap(), CurveKeyPair::new().unwrap());
        assert_ne!(a.secret_key, b.secret_key);
        assert_eq!(curve_public(&a.secret_key), a.public_key);
        assert!(!format!("{a:?}").contains(&format!("{:?}", a.secret_key)));
    }
}
