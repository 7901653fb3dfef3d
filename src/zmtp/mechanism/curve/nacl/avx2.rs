//! Salsa20 eight blocks at a time in 256-bit vectors, word-sliced as in [`super::sse2`]:
//! lane j of vector i is word i of block j. One body, made twice: with AVX2, where a rotation
//! is two shifts and an OR, and with AVX-512VL, which rotates in one instruction. Each is
//! the one `target_feature` function, so that the intrinsics are inlined (outside one they
//! would be calls).

use core::arch::x86_64::*;

/// `v` rotated left by `n` bits in each 32-bit lane, with AVX2.
macro_rules! rotl_avx2 {
    ($v:expr, $n:literal) => {{
        let v = $v;
        _mm256_or_si256(_mm256_slli_epi32::<$n>(v), _mm256_srli_epi32::<{ 32 - $n }>(v))
    }};
}

/// The same with AVX-512VL.
macro_rules! rotl_avx512 {
    ($v:expr, $n:literal) => {
        _mm256_rol_epi32::<$n>($v)
    };
}

macro_rules! quarter {
    ($rotl:ident, $x:ident, $a:literal, $b:literal, $c:literal, $d:literal) => {
        $x[$b] = _mm256_xor_si256($x[$b], $rotl!(_mm256_add_epi32($x[$a], $x[$d]), 7));
        $x[$c] = _mm256_xor_si256($x[$c], $rotl!(_mm256_add_epi32($x[$b], $x[$a]), 9));
        $x[$d] = _mm256_xor_si256($x[$d], $rotl!(_mm256_add_epi32($x[$c], $x[$b]), 13));
        $x[$a] = _mm256_xor_si256($x[$a], $rotl!(_mm256_add_epi32($x[$d], $x[$c]), 18));
    };
}

macro_rules! xor8_batches {
    ($(#[$doc:meta])* $name:ident, $features:literal, $rotl:ident) => {
$(#[$doc])*
///
/// XORs the keystream of state `s` from block `counter` on, from `src` into `dst`, for
/// `len` bytes (a multiple of 512).
///
/// # Safety
/// The processor has the features named; `src` is readable and `dst` writable for `len`
/// bytes, and the two are either the same address or do not overlap.
#[target_feature(enable = $features)]
pub(super) unsafe fn $name(s: &[u32; 16], counter: u64, src: *const u8, dst: *mut u8, len: usize) {
    let mut start = [_mm256_setzero_si256(); 16];
    for (v, &word) in start.iter_mut().zip(s) {
        *v = _mm256_set1_epi32(word as i32);
    }
    let mut counter = counter;
    let mut done = 0;
    while done + 512 <= len {
        let c: [u64; 8] = core::array::from_fn(|i| counter.wrapping_add(i as u64));
        let lo: [i32; 8] = core::array::from_fn(|i| c[i] as i32);
        let hi: [i32; 8] = core::array::from_fn(|i| (c[i] >> 32) as i32);
        start[8] = _mm256_setr_epi32(lo[0], lo[1], lo[2], lo[3], lo[4], lo[5], lo[6], lo[7]);
        start[9] = _mm256_setr_epi32(hi[0], hi[1], hi[2], hi[3], hi[4], hi[5], hi[6], hi[7]);
        let mut x = start;
        for _ in 0..10 {
            quarter!($rotl, x, 0, 4, 8, 12);
            quarter!($rotl, x, 5, 9, 13, 1);
            quarter!($rotl, x, 10, 14, 2, 6);
            quarter!($rotl, x, 15, 3, 7, 11);
            quarter!($rotl, x, 0, 1, 2, 3);
            quarter!($rotl, x, 5, 6, 7, 4);
            quarter!($rotl, x, 10, 11, 8, 9);
            quarter!($rotl, x, 15, 12, 13, 14);
        }
        for (v, s) in x.iter_mut().zip(start) {
            *v = _mm256_add_epi32(*v, s);
        }
        // Per four words, a 4 x 4 transposition in each 128-bit half: t[g][j] holds words
        // 4g..4g+3 of block j (low half) and of block j + 4 (high half).
        let mut t = [[_mm256_setzero_si256(); 4]; 4];
        for (g, out) in t.iter_mut().enumerate() {
            let (a, b, c, d) = (x[4 * g], x[4 * g + 1], x[4 * g + 2], x[4 * g + 3]);
            let (t0, t1) = (_mm256_unpacklo_epi32(a, b), _mm256_unpacklo_epi32(c, d));
            let (t2, t3) = (_mm256_unpackhi_epi32(a, b), _mm256_unpackhi_epi32(c, d));
            *out = [
                _mm256_unpacklo_epi64(t0, t1),
                _mm256_unpackhi_epi64(t0, t1),
                _mm256_unpacklo_epi64(t2, t3),
                _mm256_unpackhi_epi64(t2, t3),
            ];
        }
        for j in 0..4 {
            for pair in 0..2 {
                let (u, v) = (t[2 * pair][j], t[2 * pair + 1][j]);
                // 32 bytes of block j, and the same 32 bytes of block j + 4.
                let low = _mm256_permute2x128_si256::<0x20>(u, v);
                let high = _mm256_permute2x128_si256::<0x31>(u, v);
                for (block, words) in [(j, low), (j + 4, high)] {
                    let at = done + 64 * block + 32 * pair;
                    // SAFETY: at + 32 <= done + 512 <= len, within what the caller vouches
                    // for; each 32 bytes are read before they are written (in place works).
                    unsafe {
                        let text = _mm256_loadu_si256(src.add(at).cast());
                        _mm256_storeu_si256(dst.add(at).cast(), _mm256_xor_si256(text, words));
                    }
                }
            }
        }
        done += 512;
        counter = counter.wrapping_add(8);
    }
}
    };
}

xor8_batches!(
    /// With AVX2.
    xor8_avx2,
    "avx2",
    rotl_avx2
);
xor8_batches!(
    /// With AVX-512VL.
    xor8_avx512,
    "avx2,avx512f,avx512vl",
    rotl_avx512
);
