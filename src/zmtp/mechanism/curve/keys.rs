//! Key pairs, and the precomputed shared keys (NaCl's `crypto_box_beforenm`) boxes use.

use super::nacl::{BoxKey, PrefixKey, hsalsa20};
use super::nonce;
use crate::zmtp::ProtocolError;
use crypto_box::SecretKey;
use crypto_box::aead::consts::{U0, U16, U24};
use crypto_box::aead::{self, AeadCore, AeadInPlace};
use crypto_box::{Nonce, Tag};
use curve25519_dalek::MontgomeryPoint;
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
// keep are `Zeroizing` arrays.

/// The public key of `secret`.
fn public_of(secret: &[u8; 32]) -> [u8; 32] {
    SecretKey::from_bytes(*secret).public_key().to_bytes()
}

/// The precomputed key of `secret` with the public key `peer` (`crypto_box_beforenm`):
/// HSalsa20, with a zero input, of the X25519 secret.
///
/// The X25519 is `crypto_box` 0.9's own computation (`SalsaBox::new`, which keeps the
/// result to itself): the clamped secret reduced modulo the group order, times the point.
pub(super) fn shared(peer: &[u8; 32], secret: &[u8; 32]) -> SharedKey {
    // RFC 7748's X25519: the clamped scalar as it is, not reduced mod the group order (a
    // reduced scalar would let a peer's key with a small-order part learn bits of ours).
    let mut point = Zeroizing::new(MontgomeryPoint(*peer).mul_clamped(*secret));
    if point.0 == [0; 32] {
        // A small-order peer key: libsodium refuses it. A random key fails the box instead.
        let _ = getrandom::fill(&mut point.0);
    }
    SharedKey {
        key: BoxKey::new(hsalsa20(&point.0, &[0; 16])),
    }
}

/// A precomputed shared key (NaCl's `crypto_box_beforenm`), wiped when dropped.
#[cfg_attr(test, derive(Clone))]
pub(super) struct SharedKey {
    key: BoxKey,
}

impl SharedKey {
    #[cfg(test)]
    fn key_bytes_for_test(&self) -> [u8; 32] {
        self.key.bytes()
    }

    /// The key of the MESSAGEs whose nonces start with `prefix`.
    pub(super) fn prefixed(&self, prefix: &[u8; 16]) -> PrefixKey {
        self.key.prefixed(prefix)
    }
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
mod x25519_tests {
    use curve25519_dalek::montgomery::MontgomeryPoint;

    fn hex(s: &str) -> [u8; 32] {
        let bytes: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    /// RFC 7748 §5.2's first vector: X25519 on an arbitrary u-coordinate, with the clamped
    /// scalar not reduced (a reduction gives another answer).
    #[test]
    fn x25519_follows_rfc_7748() {
        let scalar = hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
        let u = hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
        let out = MontgomeryPoint(u).mul_clamped(scalar);
        assert_eq!(
            out.0,
            hex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
        );
    }

    /// A small-order peer key gives no key both sides could know.
    #[test]
    fn a_small_order_peer_key_gives_no_predictable_key() {
        let a = super::shared(&[0; 32], &[9; 32]);
        let b = super::shared(&[0; 32], &[9; 32]);
        assert_ne!(
            format!("{:?}", a.key_bytes_for_test()),
            format!("{:?}", b.key_bytes_for_test())
        );
    }
}
