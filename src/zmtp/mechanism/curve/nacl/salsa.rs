//! Salsa20/20 and HSalsa20 (NaCl's `crypto_core_hsalsa20`, the XSalsa20 key derivation).
//!
//! The keystream is made several blocks at a time with SIMD on x86_64 (eight with AVX2 or
//! AVX-512VL when the processor has them, four with SSE2, which every x86_64 has) and XORed
//! from the source straight into the destination; elsewhere, and for a box that needs one
//! block, by the portable core here.

use zeroize::{Zeroize, Zeroizing};

/// "expand 32-byte k", in words 0, 5, 10 and 15 of the state.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// One keystream block.
pub(super) const BLOCK: usize = 64;
/// The bytes of the portable core's and SSE2's batch of four blocks.
pub(super) const BATCH: usize = 4 * BLOCK;

fn le32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The initial state of `key` and the 16-byte `input` (nonce and block counter, or
/// HSalsa20's input).
fn state(key: &[u8; 32], input: &[u8; 16]) -> [u32; 16] {
    let mut x = [0u32; 16];
    x[0] = SIGMA[0];
    x[5] = SIGMA[1];
    x[10] = SIGMA[2];
    x[15] = SIGMA[3];
    for i in 0..4 {
        x[1 + i] = le32(&key[4 * i..]);
        x[11 + i] = le32(&key[16 + 4 * i..]);
        x[6 + i] = le32(&input[4 * i..]);
    }
    x
}

#[inline(always)]
fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[b] ^= x[a].wrapping_add(x[d]).rotate_left(7);
    x[c] ^= x[b].wrapping_add(x[a]).rotate_left(9);
    x[d] ^= x[c].wrapping_add(x[b]).rotate_left(13);
    x[a] ^= x[d].wrapping_add(x[c]).rotate_left(18);
}

/// The 20 rounds, without the final addition.
#[inline(always)]
fn rounds(x: &mut [u32; 16]) {
    for _ in 0..10 {
        quarter(x, 0, 4, 8, 12);
        quarter(x, 5, 9, 13, 1);
        quarter(x, 10, 14, 2, 6);
        quarter(x, 15, 3, 7, 11);
        quarter(x, 0, 1, 2, 3);
        quarter(x, 5, 6, 7, 4);
        quarter(x, 10, 11, 8, 9);
        quarter(x, 15, 12, 13, 14);
    }
}

/// HSalsa20: the 32-byte key XSalsa20 derives from `key` and the first 16 bytes of its
/// nonce (with a zero input, NaCl's `crypto_box_beforenm` step after X25519).
pub(crate) fn hsalsa20(key: &[u8; 32], input: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    let mut x = Zeroizing::new(state(key, input));
    rounds(&mut x);
    let mut out = Zeroizing::new([0u8; 32]);
    for (i, &word) in [0, 5, 10, 15, 6, 7, 8, 9].iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x[word].to_le_bytes());
    }
    out
}

/// A Salsa20 key and 8-byte nonce: the keystream from any block on. Wiped when dropped.
#[derive(Clone)]
pub(super) struct Salsa20 {
    /// The state with a zero block counter (words 8 and 9).
    x: [u32; 16],
}

impl Salsa20 {
    pub(super) fn new(key: &[u8; 32], nonce: &[u8; 8]) -> Salsa20 {
        let mut input = [0u8; 16];
        input[..8].copy_from_slice(nonce);
        Salsa20 {
            x: state(key, &input),
        }
    }

    /// The same key with another nonce.
    pub(super) fn with_nonce(&self, nonce: &[u8; 8]) -> Salsa20 {
        let mut next = self.clone();
        next.x[6] = le32(nonce);
        next.x[7] = le32(&nonce[4..]);
        next
    }

    /// The portable core: block `counter`.
    fn block(&self, counter: u64) -> [u32; 16] {
        let mut x = self.x;
        x[8] = counter as u32;
        x[9] = (counter >> 32) as u32;
        let input = x;
        rounds(&mut x);
        for (word, start) in x.iter_mut().zip(input) {
            *word = word.wrapping_add(start);
        }
        x
    }

    /// Blocks `counter` to `counter + 3`, or at least the first `blocks` of them: SSE2 makes
    /// all four in about the time the portable core makes two, so it serves from two on.
    pub(super) fn keystream(&self, counter: u64, blocks: usize, out: &mut [u8; BATCH]) {
        #[cfg(target_arch = "x86_64")]
        if blocks > 1 {
            super::sse2::keystream4(&self.x, counter, out);
            return;
        }
        for (i, chunk) in out.chunks_exact_mut(BLOCK).take(blocks).enumerate() {
            let mut x = self.block(counter.wrapping_add(i as u64));
            for (bytes, word) in chunk.chunks_exact_mut(4).zip(&x) {
                bytes.copy_from_slice(&word.to_le_bytes());
            }
            x.zeroize();
        }
    }

    /// `dst` = `src` XOR the keystream from block `counter` on; without `src`, `dst` is
    /// encrypted (or decrypted) where it lies. `src`, when given, is as long as `dst`.
    pub(super) fn xor(&self, counter: u64, src: Option<&[u8]>, dst: &mut [u8]) {
        assert!(src.is_none_or(|src| src.len() == dst.len()));
        #[cfg(target_arch = "x86_64")]
        let (done, counter) = super::sse2::xor_batches(&self.x, counter, src, dst);
        #[cfg(not(target_arch = "x86_64"))]
        let (done, counter) = (0, counter);
        let src = src.map(|src| &src[done..]);
        let dst = &mut dst[done..];
        let mut ks = [0u8; BATCH];
        for (i, out) in dst.chunks_mut(BATCH).enumerate() {
            let blocks = out.len().div_ceil(BLOCK);
            self.keystream(counter.wrapping_add(4 * i as u64), blocks, &mut ks);
            match src {
                Some(src) => {
                    let src = &src[i * BATCH..i * BATCH + out.len()];
                    for ((o, s), k) in out.iter_mut().zip(src).zip(&ks) {
                        *o = s ^ k;
                    }
                }
                None => {
                    for (o, k) in out.iter_mut().zip(&ks) {
                        *o ^= k;
                    }
                }
            }
        }
        ks.zeroize();
    }

    /// The state, for tests that run each SIMD kernel on it.
    #[cfg(all(test, target_arch = "x86_64"))]
    pub(super) fn state(&self) -> &[u32; 16] {
        &self.x
    }

    /// The portable path whatever the processor (for tests that compare it with SIMD).
    #[cfg(test)]
    pub(super) fn xor_portable(&self, counter: u64, buf: &mut [u8]) {
        for (i, chunk) in buf.chunks_mut(BLOCK).enumerate() {
            let x = self.block(counter.wrapping_add(i as u64));
            for (j, byte) in chunk.iter_mut().enumerate() {
                *byte ^= x[j / 4].to_le_bytes()[j % 4];
            }
        }
    }
}

impl Drop for Salsa20 {
    fn drop(&mut self) {
        self.x.zeroize();
    }
}
