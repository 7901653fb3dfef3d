//! NaCl boxes laid out as on the wire: the 16-byte Poly1305 tag, then the ciphertext (NaCl's
//! `crypto_box` output without its 16 leading zero bytes). One helper serves the public-key
//! boxes (`SalsaBox`) and the cookie's secretbox (`XSalsa20Poly1305`).

use super::TAG;
use crypto_box::aead::consts::{U16, U24};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::{AeadCore, AeadInPlace};
use zeroize::Zeroizing;

/// The XSalsa20-Poly1305 boxes of CurveZMQ.
pub(super) trait NaclBox: AeadInPlace + AeadCore<NonceSize = U24, TagSize = U16> {}
impl<T: AeadInPlace + AeadCore<NonceSize = U24, TagSize = U16>> NaclBox for T {}

/// Boxes `region` in place: its first 16 bytes receive the tag, the rest is the plaintext,
/// encrypted where it lies. `region` is at least 16 bytes long (callers lay it out).
pub(super) fn seal_in_place<B: NaclBox>(key: &B, nonce: &[u8; 24], region: &mut [u8]) {
    let (tag, text) = region.split_at_mut(TAG);
    let nonce: GenericArray<u8, U24> = (*nonce).into();
    // Sealing fails only for associated data, which is never given; should it fail anyway,
    // nothing of the plaintext goes out and the zero tag makes the peer refuse the box.
    match key.encrypt_in_place_detached(&nonce, &[], text) {
        Ok(mac) => tag.copy_from_slice(&mac),
        Err(_) => {
            tag.fill(0);
            text.fill(0);
        }
    }
}

/// Opens `region` (tag, then ciphertext) in place: on success `region[16..]` holds the
/// plaintext. False for a region shorter than a tag or a box that does not open.
pub(super) fn open_in_place<B: NaclBox>(key: &B, nonce: &[u8; 24], region: &mut [u8]) -> bool {
    if region.len() < TAG {
        return false;
    }
    let (tag, text) = region.split_at_mut(TAG);
    let tag: GenericArray<u8, U16> = GenericArray::clone_from_slice(tag);
    let nonce: GenericArray<u8, U24> = (*nonce).into();
    key.decrypt_in_place_detached(&nonce, &[], text, &tag).is_ok()
}

/// Opens a copy of `boxed` (tag, then ciphertext): the plaintext, wiped when dropped.
pub(super) fn open<B: NaclBox>(key: &B, nonce: &[u8; 24], boxed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut copy = Zeroizing::new(boxed.to_vec());
    if !open_in_place(key, nonce, &mut copy) {
        return None;
    }
    copy.copy_within(TAG.., 0);
    let len = copy.len() - TAG;
    copy.truncate(len);
    Some(copy)
}

/// Boxes `plain` into a new vector (tag, then ciphertext).
pub(super) fn seal<B: NaclBox>(key: &B, nonce: &[u8; 24], plain: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; TAG + plain.len()];
    out[TAG..].copy_from_slice(plain);
    seal_in_place(key, nonce, &mut out);
    out
}
