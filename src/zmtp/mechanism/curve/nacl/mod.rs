//! NaCl's secretbox (XSalsa20 and Poly1305), which a `crypto_box` is once its key is
//! precomputed: the keystream's first 32 bytes are the one-time Poly1305 key, the rest
//! encrypts; the tag (of the ciphertext) goes first. Byte for byte what `crypto_box` and
//! libsodium make (tests.rs holds them against each other).
//!
//! A MESSAGE's nonce is a fixed 16-byte prefix and a counter, so its HSalsa20 step is the
//! same for every MESSAGE of a direction: [`BoxKey::prefixed`] does it once per connection.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(test)]
mod bench;
mod poly1305;
#[cfg(target_arch = "x86_64")]
mod poly_avx2;
mod salsa;
#[cfg(target_arch = "x86_64")]
mod sse2;
#[cfg(test)]
pub(super) mod tests;

pub(super) use salsa::hsalsa20;

use super::TAG;
use crypto_box::aead::consts::{U0, U16, U24};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::{self, AeadCore, AeadInPlace};
use salsa::{BATCH, Salsa20};
use zeroize::{Zeroize, Zeroizing};

/// The bytes of plaintext the first batch of keystream covers, after the Poly1305 key.
const FIRST: usize = BATCH - 32;

/// A secretbox key: a precomputed `crypto_box` key (HSalsa20 of the X25519 secret, as
/// `crypto_box_beforenm` makes it) or a `crypto_secretbox` key. Wiped when dropped.
#[derive(Clone)]
pub(super) struct BoxKey(Zeroizing<[u8; 32]>);

impl BoxKey {
    pub(super) fn new(key: Zeroizing<[u8; 32]>) -> BoxKey {
        BoxKey(key)
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> [u8; 32] {
        *self.0
    }

    /// The keystream of the 24-byte `nonce`.
    fn stream(&self, nonce: &[u8; 24]) -> Salsa20 {
        let (head, tail) = nonce.split_at(16);
        let subkey = hsalsa20(&self.0, head.try_into().expect("16 bytes"));
        Salsa20::new(&subkey, tail.try_into().expect("8 bytes"))
    }

    /// The key of the nonces that start with `prefix` (a direction's MESSAGEs).
    pub(super) fn prefixed(&self, prefix: &[u8; 16]) -> PrefixKey {
        PrefixKey(Salsa20::new(&hsalsa20(&self.0, prefix), &[0; 8]))
    }

    /// Boxes `text` in place: the tag.
    pub(super) fn seal_in_place(&self, nonce: &[u8; 24], text: &mut [u8]) -> [u8; TAG] {
        seal(&self.stream(nonce), text, &[])
    }

    /// Opens `text` in place if `tag` is its tag; untouched otherwise.
    pub(super) fn open_in_place(&self, nonce: &[u8; 24], tag: &[u8; TAG], text: &mut [u8]) -> bool {
        open(&self.stream(nonce), tag, text)
    }
}

/// A [`BoxKey`] with HSalsa20 done for one 16-byte nonce prefix: boxes under the nonces of
/// that prefix and an 8-byte tail (a short nonce's counter).
#[cfg_attr(test, derive(Clone))]
pub(super) struct PrefixKey(Salsa20);

impl PrefixKey {
    /// Boxes `out`: its first bytes are plaintext already, `src` (as long as the rest) is
    /// the rest of the plaintext. The tag.
    pub(super) fn seal(&self, tail: &[u8; 8], out: &mut [u8], src: &[u8]) -> [u8; TAG] {
        seal(&self.0.with_nonce(tail), out, src)
    }

    /// Opens `text` in place if `tag` is its tag; untouched otherwise.
    pub(super) fn open(&self, tail: &[u8; 8], tag: &[u8; TAG], text: &mut [u8]) -> bool {
        open(&self.0.with_nonce(tail), tag, text)
    }
}

/// Seals `out`, whose plaintext is its own first `out.len() - src.len()` bytes then `src`:
/// the ciphertext replaces it, and the tag is returned.
fn seal(stream: &Salsa20, out: &mut [u8], src: &[u8]) -> [u8; TAG] {
    assert!(src.len() <= out.len());
    let head = out.len() - src.len();
    let mut first = [0u8; BATCH];
    let len = out.len().min(FIRST);
    stream.keystream(0, (32 + len).div_ceil(64), &mut first);
    let (mac_key, keystream) = first.split_at(32);
    let in_place = head.min(len);
    for (o, k) in out[..in_place].iter_mut().zip(keystream) {
        *o ^= k;
    }
    for ((o, s), k) in out[in_place..len].iter_mut().zip(src).zip(&keystream[in_place..]) {
        *o = s ^ k;
    }
    if out.len() > FIRST {
        if head <= FIRST {
            stream.xor(BATCH as u64 / 64, Some(&src[FIRST - head..]), &mut out[FIRST..]);
        } else {
            // Plaintext in place past the first batch and some from `src`: unused by zocket's
            // callers (a flags byte, or all in place), so the simple way.
            out[head..].copy_from_slice(src);
            stream.xor(BATCH as u64 / 64, None, &mut out[FIRST..]);
        }
    }
    let tag = poly1305::tag(mac_key.try_into().expect("32 bytes"), out);
    first.zeroize();
    tag
}

/// Opens `text` in place if `tag` is its Poly1305 tag under `stream`; untouched otherwise.
fn open(stream: &Salsa20, tag: &[u8; TAG], text: &mut [u8]) -> bool {
    let mut first = [0u8; BATCH];
    let len = text.len().min(FIRST);
    stream.keystream(0, (32 + len).div_ceil(64), &mut first);
    let (mac_key, keystream) = first.split_at(32);
    let good = poly1305::verify(&poly1305::tag(mac_key.try_into().expect("32 bytes"), text), tag);
    if good {
        for (t, k) in text[..len].iter_mut().zip(keystream) {
            *t ^= k;
        }
        if text.len() > FIRST {
            stream.xor(BATCH as u64 / 64, None, &mut text[FIRST..]);
        }
    }
    first.zeroize();
    good
}

// The `aead` traits, for the generic helpers of ../boxes.rs (which also take `crypto_box`'s
// own `SalsaBox`). Associated data does not exist in NaCl: refused, as `crypto_box` does.

impl AeadCore for BoxKey {
    type NonceSize = U24;
    type TagSize = U16;
    type CiphertextOverhead = U0;
}

impl AeadInPlace for BoxKey {
    fn encrypt_in_place_detached(
        &self,
        nonce: &GenericArray<u8, U24>,
        aad: &[u8],
        buffer: &mut [u8],
    ) -> aead::Result<GenericArray<u8, U16>> {
        if !aad.is_empty() {
            return Err(aead::Error);
        }
        Ok(self.seal_in_place(&(*nonce).into(), buffer).into())
    }

    fn decrypt_in_place_detached(
        &self,
        nonce: &GenericArray<u8, U24>,
        aad: &[u8],
        buffer: &mut [u8],
        tag: &GenericArray<u8, U16>,
    ) -> aead::Result<()> {
        if aad.is_empty() && self.open_in_place(&(*nonce).into(), &(*tag).into(), buffer) {
            Ok(())
        } else {
            Err(aead::Error)
        }
    }
}
