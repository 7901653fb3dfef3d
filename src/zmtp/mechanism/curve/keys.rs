//! Key pairs, and the precomputed shared keys (NaCl's `crypto_box_beforenm`) boxes use.

use super::nonce;
use crate::zmtp::ProtocolError;
use crypto_box::aead::consts::{U0, U16, U24};
use crypto_box::aead::{self, AeadCore, AeadInPlace};
use crypto_box::{Nonce, PublicKey, SalsaBox, SecretKey, Tag};
use zeroize::{Zeroize, Zeroizing};

/// A CURVE key pair (X25519): the public key, and the secret key, wiped when dropped.
#[derive(Clone)]
pub struct KeyPair {
    /// The public key, given to peers.
    pub public: [u8; 32],
    secret: Zeroizing<[u8; 32]>,
}

impl KeyPair {
    /// The pair of a secret key: computes its public key.
    pub fn from_secret(secret: [u8; 32]) -> KeyPair {
        let mut copy = secret;
        let pair = KeyPair {
            public: public_of(&copy),
            secret: Zeroizing::new(copy),
        };
        copy.zeroize();
        pair
    }

    /// The secret key.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// A new random pair (the transient keys of a connection).
    pub(crate) fn generate() -> Result<KeyPair, ProtocolError> {
        let mut secret = Zeroizing::new([0u8; 32]);
        nonce::fill_random(&mut secret[..])?;
        Ok(KeyPair {
            public: public_of(&secret),
            secret,
        })
    }

    /// The shared key between this pair's secret and `peer`: boxes to and from `peer`.
    pub(super) fn shared(&self, peer: &[u8; 32]) -> SharedKey {
        shared(peer, &self.secret)
    }
}

impl std::fmt::Debug for KeyPair {
    /// Shows the public key only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

// crypto_box 0.9's `SecretKey` wipes its scalar when dropped but not its copy of the bytes,
// so the `SecretKey` values here live only for the one computation they serve; the keys we
// keep are `Zeroizing` arrays, and `SalsaBox` (the precomputed key) wipes itself.

/// The public key of `secret`.
fn public_of(secret: &[u8; 32]) -> [u8; 32] {
    SecretKey::from_bytes(*secret).public_key().to_bytes()
}

/// The precomputed key of `secret` with the public key `peer`.
pub(super) fn shared(peer: &[u8; 32], secret: &[u8; 32]) -> SharedKey {
    SharedKey {
        key: SalsaBox::new(&PublicKey::from(*peer), &SecretKey::from_bytes(*secret)),
        #[cfg(test)]
        inputs: (*peer, Zeroizing::new(*secret)),
    }
}

/// A precomputed shared key (NaCl's `crypto_box_beforenm`), wiped when dropped.
pub(super) struct SharedKey {
    key: SalsaBox,
    /// What the key was computed from, for tests that clone a handshake (`SalsaBox` is not
    /// `Clone`).
    #[cfg(test)]
    inputs: ([u8; 32], Zeroizing<[u8; 32]>),
}

impl AeadCore for SharedKey {
    type NonceSize = U24;
    type TagSize = U16;
    type CiphertextOverhead = U0;
}

impl AeadInPlace for SharedKey {
    fn encrypt_in_place_detached(&self, nonce: &Nonce, aad: &[u8], buffer: &mut [u8]) -> aead::Result<Tag> {
        self.key.encrypt_in_place_detached(nonce, aad, buffer)
    }

    fn decrypt_in_place_detached(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        buffer: &mut [u8],
        tag: &Tag,
    ) -> aead::Result<()> {
        self.key.decrypt_in_place_detached(nonce, aad, buffer, tag)
    }
}

#[cfg(test)]
impl Clone for SharedKey {
    fn clone(&self) -> SharedKey {
        shared(&self.inputs.0, &self.inputs.1)
    }
}
