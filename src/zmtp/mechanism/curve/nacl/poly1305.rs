//! Poly1305 (NaCl's `crypto_onetimeauth`), in 44/44/42-bit limbs with 64 x 64 -> 128-bit
//! products: the "donna-64" structure. Blocks go two at a time, Horner's rule unrolled with
//! r^2 (h = (h + m1) r^2 + m2 r: one carry chain per 32 bytes). Long messages go four blocks
//! at a time with AVX2 when the processor has it ([`super::poly_avx2`]), from this code's r
//! and its powers; the scalar code takes the remaining blocks and finishes.
//!
//! Nothing here branches on or indexes by a secret; the final tag comparison is constant
//! time ([`verify`]).

use zeroize::Zeroize;

const M44: u64 = (1 << 44) - 1;
const M42: u64 = (1 << 42) - 1;
/// The 2^128 bit of a whole block, in the top limb.
const HIBIT: u64 = 1 << 40;
/// The shortest message worth the SIMD path's set-up (the powers of r, the lanes' sum).
#[cfg(target_arch = "x86_64")]
const SIMD_MIN: usize = 256;

/// A Poly1305 computation under one key (its r and its pad), wiped when dropped.
pub(super) struct Poly1305 {
    /// r in limbs, and 20 r1, 20 r2 (the 5 of p's 2^130 - 5, times 4 for the limbs' offsets).
    r: [u64; 3],
    s: [u64; 2],
    h: [u64; 3],
    pad: [u64; 2],
}

fn le64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

#[inline(always)]
fn mul(a: u64, b: u64) -> u128 {
    u128::from(a) * u128::from(b)
}

/// A 16-byte block as limbs, `hibit` added to the top one.
#[inline(always)]
fn limbs(block: &[u8], hibit: u64) -> [u64; 3] {
    let (t0, t1) = (le64(block), le64(&block[8..]));
    [
        t0 & M44,
        ((t0 >> 44) | (t1 << 20)) & M44,
        ((t1 >> 24) & M42) | hibit,
    ]
}

/// The products of h and r (given as r and 20 r1, 20 r2), before the carry.
#[inline(always)]
fn product(h: [u64; 3], r: &[u64; 3], s: &[u64; 2]) -> [u128; 3] {
    [
        mul(h[0], r[0]) + mul(h[1], s[1]) + mul(h[2], s[0]),
        mul(h[0], r[1]) + mul(h[1], r[0]) + mul(h[2], s[1]),
        mul(h[0], r[2]) + mul(h[1], r[1]) + mul(h[2], r[0]),
    ]
}

/// Carries the products back into limbs (the top limb's overflow folds in times 5).
#[inline(always)]
fn carry(d: [u128; 3]) -> [u64; 3] {
    let [d0, mut d1, mut d2] = d;
    let mut c = (d0 >> 44) as u64;
    let mut h0 = d0 as u64 & M44;
    d1 += u128::from(c);
    c = (d1 >> 44) as u64;
    let h1 = d1 as u64 & M44;
    d2 += u128::from(c);
    c = (d2 >> 42) as u64;
    let h2 = d2 as u64 & M42;
    h0 += c * 5;
    c = h0 >> 44;
    [h0 & M44, h1 + c, h2]
}

impl Poly1305 {
    /// A computation under the one-time key (r, then the pad).
    pub(super) fn new(key: &[u8; 32]) -> Poly1305 {
        let (t0, t1) = (le64(&key[0..]), le64(&key[8..]));
        // r clamped as the specification asks, then cut into limbs.
        let r = [
            t0 & 0xffc0fffffff,
            ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffff,
            (t1 >> 24) & 0x00ffffffc0f,
        ];
        let s = [r[1] * 20, r[2] * 20];
        Poly1305 {
            r,
            s,
            h: [0; 3],
            pad: [le64(&key[16..]), le64(&key[24..])],
        }
    }

    /// Absorbs the whole 16-byte blocks of `data` (a length that is not a multiple of 16
    /// leaves its last bytes out: only [`finish`](Self::finish) takes a partial block), with
    /// SIMD when `simd` and the processor has it.
    pub(super) fn update(&mut self, data: &[u8], simd: bool) {
        #[cfg(target_arch = "x86_64")]
        let data = if simd && data.len() >= SIMD_MIN && std::is_x86_feature_detected!("avx2") {
            let whole = data.len() / 64 * 64;
            let mut powers = [self.r; 4];
            for i in 1..4 {
                powers[i] = carry(product(powers[i - 1], &self.r, &self.s));
            }
            // SAFETY: the processor has AVX2.
            self.h = unsafe { super::poly_avx2::blocks(self.h, &powers, &data[..whole]) };
            powers.zeroize();
            &data[whole..]
        } else {
            data
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = simd;
        let mut pairs = data.chunks_exact(32);
        if pairs.len() > 0 {
            let mut rr = carry(product(self.r, &self.r, &self.s));
            let mut ss = [rr[1] * 20, rr[2] * 20];
            let mut h = self.h;
            for pair in &mut pairs {
                let m = limbs(pair, HIBIT);
                let a = product([h[0] + m[0], h[1] + m[1], h[2] + m[2]], &rr, &ss);
                let b = product(limbs(&pair[16..], HIBIT), &self.r, &self.s);
                h = carry([a[0] + b[0], a[1] + b[1], a[2] + b[2]]);
            }
            self.h = h;
            rr.zeroize();
            ss.zeroize();
        }
        if let Some(block) = pairs.remainder().get(..16) {
            self.block(block, HIBIT);
        }
    }

    /// One block: h = (h + m) r.
    fn block(&mut self, block: &[u8], hibit: u64) {
        let m = limbs(block, hibit);
        let h = [self.h[0] + m[0], self.h[1] + m[1], self.h[2] + m[2]];
        self.h = carry(product(h, &self.r, &self.s));
    }

    /// The tag, after the last bytes (`tail`, under 16 bytes; empty when the message ended
    /// on a block boundary).
    pub(super) fn finish(mut self, tail: &[u8]) -> [u8; 16] {
        if !tail.is_empty() {
            let mut last = [0u8; 16];
            let len = tail.len().min(15);
            last[..len].copy_from_slice(&tail[..len]);
            last[len] = 1;
            self.block(&last, 0);
            last.zeroize();
        }
        let [mut h0, mut h1, mut h2] = self.h;
        // Fully carried h ...
        // Two rounds of carries leave every limb within its width.
        for _ in 0..2 {
            let c = h1 >> 44;
            h1 &= M44;
            h2 += c;
            let c = h2 >> 42;
            h2 &= M42;
            h0 += c * 5;
            let c = h0 >> 44;
            h0 &= M44;
            h1 += c;
        }
        // ... then h - p, kept when it does not go below zero (without a branch).
        let mut g0 = h0 + 5;
        let mut c = g0 >> 44;
        g0 &= M44;
        let mut g1 = h1 + c;
        c = g1 >> 44;
        g1 &= M44;
        let mut g2 = (h2 + c).wrapping_sub(1 << 42);
        let keep_g = (g2 >> 63).wrapping_sub(1);
        g0 &= keep_g;
        g1 &= keep_g;
        g2 &= keep_g;
        h0 = (h0 & !keep_g) | g0;
        h1 = (h1 & !keep_g) | g1;
        h2 = (h2 & !keep_g) | g2;
        // h + pad, modulo 2^128.
        let [t0, t1] = self.pad;
        h0 += t0 & M44;
        c = h0 >> 44;
        h0 &= M44;
        h1 += (((t0 >> 44) | (t1 << 20)) & M44) + c;
        c = h1 >> 44;
        h1 &= M44;
        h2 += ((t1 >> 24) & M42) + c;
        let lo = h0 | (h1 << 44);
        let hi = (h1 >> 20) | (h2 << 24);
        let mut tag = [0u8; 16];
        tag[..8].copy_from_slice(&lo.to_le_bytes());
        tag[8..].copy_from_slice(&hi.to_le_bytes());
        tag
    }
}

impl Drop for Poly1305 {
    fn drop(&mut self) {
        self.r.zeroize();
        self.s.zeroize();
        self.h.zeroize();
        self.pad.zeroize();
    }
}

/// The tag of `message` under the one-time `key`.
pub(super) fn tag(key: &[u8; 32], message: &[u8]) -> [u8; 16] {
    tag_with(key, message, true)
}

/// [`tag`], with SIMD (when the processor has it) or not.
pub(super) fn tag_with(key: &[u8; 32], message: &[u8], simd: bool) -> [u8; 16] {
    let mut mac = Poly1305::new(key);
    mac.update(message, simd);
    mac.finish(&message[message.len() / 16 * 16..])
}

/// Whether two tags are equal, in time that does not depend on where they differ.
pub(super) fn verify(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the compiler from turning the fold into an early exit.
    core::hint::black_box(diff) == 0
}
