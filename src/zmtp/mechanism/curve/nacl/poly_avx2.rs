//! Poly1305 four blocks at a time with AVX2: h in 26-bit limbs, one 64-bit lane per block of
//! each 64-byte chunk. Every lane is a Horner's rule of its own with r^4; the last chunk
//! multiplies its lanes by r^4, r^3, r^2 and r instead, so that the lanes' sum is the scalar
//! result. `vpmuludq` multiplies the low 32 bits of each lane.
//!
//! Bounds: limbs come out of each step's carry below 2^26 + 2^9, a message adds under 2^26,
//! and r's limbs (times 5 at most) are under 2^28.4: each product is under 2^55.5 and a sum
//! of five under 2^58, far from 2^64; every input of `vpmuludq` stays under 2^32.

use core::arch::x86_64::*;
use zeroize::Zeroize;

const M26: u64 = (1 << 26) - 1;

/// A value in the scalar code's 44/44/42-bit limbs (partially carried: h0 < 2^44, h1 <
/// 2^45, h2 < 2^42 + 2^20) as 26-bit limbs of the same value, each under 2^26 + 2^11.
pub(super) fn to26(h: [u64; 3]) -> [u64; 5] {
    [
        h[0] & M26,
        (h[0] >> 26) + ((h[1] & 0xff) << 18),
        (h[1] >> 8) & M26,
        (h[1] >> 34) + ((h[2] & 0xffff) << 10),
        h[2] >> 16,
    ]
}

/// 26-bit limbs (each under 2^30) carried, as 44/44/42-bit limbs of the same value modulo
/// 2^130 - 5.
pub(super) fn from26(mut l: [u64; 5]) -> [u64; 3] {
    for i in 0..4 {
        l[i + 1] += l[i] >> 26;
        l[i] &= M26;
    }
    l[0] += (l[4] >> 26) * 5;
    l[4] &= M26;
    l[1] += l[0] >> 26;
    l[0] &= M26;
    [
        l[0] + ((l[1] & 0x3ffff) << 26),
        (l[1] >> 18) + (l[2] << 8) + ((l[3] & 0x3ff) << 34),
        (l[3] >> 10) + (l[4] << 16),
    ]
}

/// a times r (given with s = 5 r), carried.
#[inline]
#[target_feature(enable = "avx2")]
fn mul_carry(a: &[__m256i; 5], r: &[__m256i; 5], s: &[__m256i; 5], mask: &__m256i) -> [__m256i; 5] {
    macro_rules! dot {
        ($(($x:expr, $y:expr)),+) => {{
            let mut sum = _mm256_setzero_si256();
            $(sum = _mm256_add_epi64(sum, _mm256_mul_epu32($x, $y));)+
            sum
        }};
    }
    let [a0, a1, a2, a3, a4] = *a;
    let mut d = [
        dot!((a0, r[0]), (a1, s[4]), (a2, s[3]), (a3, s[2]), (a4, s[1])),
        dot!((a0, r[1]), (a1, r[0]), (a2, s[4]), (a3, s[3]), (a4, s[2])),
        dot!((a0, r[2]), (a1, r[1]), (a2, r[0]), (a3, s[4]), (a4, s[3])),
        dot!((a0, r[3]), (a1, r[2]), (a2, r[1]), (a3, r[0]), (a4, s[4])),
        dot!((a0, r[4]), (a1, r[3]), (a2, r[2]), (a3, r[1]), (a4, r[0])),
    ];
    let mask = *mask;
    // Two carry chains side by side (0 -> 1 -> 2 -> 3 -> 4 and 3 -> 4 -> 0 -> 1), the top
    // limb's carry times 5 into limb 0.
    macro_rules! carry {
        ($from:literal, $to:literal) => {{
            let c = _mm256_srli_epi64::<26>(d[$from]);
            d[$from] = _mm256_and_si256(d[$from], mask);
            d[$to] = _mm256_add_epi64(d[$to], c);
        }};
    }
    carry!(0, 1);
    carry!(3, 4);
    carry!(1, 2);
    let c = _mm256_srli_epi64::<26>(d[4]);
    d[4] = _mm256_and_si256(d[4], mask);
    d[0] = _mm256_add_epi64(d[0], _mm256_add_epi64(c, _mm256_slli_epi64::<2>(c)));
    carry!(2, 3);
    carry!(0, 1);
    carry!(3, 4);
    d
}

/// The accumulator `h` (scalar limbs) after the whole 64-byte chunks of `data`, given
/// `powers` = r, r^2, r^3, r^4 (scalar limbs).
#[target_feature(enable = "avx2")]
pub(super) fn blocks(h: [u64; 3], powers: &[[u64; 3]; 4], data: &[u8]) -> [u64; 3] {
    let chunks = data.len() / 64;
    if chunks == 0 {
        return h;
    }
    let mut p = [to26(powers[0]), to26(powers[1]), to26(powers[2]), to26(powers[3])];
    let zero = _mm256_setzero_si256();
    let (mut r4, mut s4, mut rl, mut sl) = ([zero; 5], [zero; 5], [zero; 5], [zero; 5]);
    for i in 0..5 {
        r4[i] = _mm256_set1_epi64x(p[3][i] as i64);
        s4[i] = _mm256_set1_epi64x(5 * p[3][i] as i64);
        // The lanes hold blocks 0, 2, 1 and 3 of a chunk (see below): r^4, r^2, r^3, r.
        let last = [p[3][i], p[1][i], p[2][i], p[0][i]].map(|v| v as i64);
        rl[i] = _mm256_setr_epi64x(last[0], last[1], last[2], last[3]);
        sl[i] = _mm256_setr_epi64x(5 * last[0], 5 * last[1], 5 * last[2], 5 * last[3]);
    }
    let start = to26(h);
    let mut a = [zero; 5];
    for i in 0..5 {
        a[i] = _mm256_setr_epi64x(start[i] as i64, 0, 0, 0);
    }
    let hibit = _mm256_set1_epi64x(1 << 24);
    p.zeroize();
    // Read again through `black_box` at every chunk: LLVM then cannot hoist the 32-bit masks
    // of `vpmuludq`'s operands out of the loop, which costs each product a 64 x 32-bit
    // multiplication of three instructions instead of one (it forgets the masks' effect
    // across blocks).
    let table = [r4, s4, rl, sl, [_mm256_set1_epi64x(M26 as i64); 5]];
    for (k, chunk) in data.chunks_exact(64).take(chunks).enumerate() {
        let [r4, s4, rl, sl, masks] = core::hint::black_box(&table);
        let mask = masks[0];
        // SAFETY: `chunk` is 64 bytes: two unaligned 32-byte loads.
        let (v0, v1) = unsafe {
            let at = chunk.as_ptr();
            (
                _mm256_loadu_si256(at.cast()),
                _mm256_loadu_si256(at.add(32).cast()),
            )
        };
        // The low and high 8 bytes of blocks 0, 2, 1, 3 (unpack works per 128-bit half).
        let lo = _mm256_unpacklo_epi64(v0, v1);
        let hi = _mm256_unpackhi_epi64(v0, v1);
        let m = [
            _mm256_and_si256(lo, mask),
            _mm256_and_si256(_mm256_srli_epi64::<26>(lo), mask),
            _mm256_and_si256(
                _mm256_or_si256(_mm256_srli_epi64::<52>(lo), _mm256_slli_epi64::<12>(hi)),
                mask,
            ),
            _mm256_and_si256(_mm256_srli_epi64::<14>(hi), mask),
            _mm256_or_si256(_mm256_srli_epi64::<40>(hi), hibit),
        ];
        for i in 0..5 {
            a[i] = _mm256_add_epi64(a[i], m[i]);
        }
        a = if k + 1 < chunks {
            mul_carry(&a, r4, s4, &mask)
        } else {
            mul_carry(&a, rl, sl, &mask)
        };
    }
    let mut sum = [0u64; 5];
    for i in 0..5 {
        let lanes = [
            _mm256_extract_epi64::<0>(a[i]),
            _mm256_extract_epi64::<1>(a[i]),
            _mm256_extract_epi64::<2>(a[i]),
            _mm256_extract_epi64::<3>(a[i]),
        ];
        sum[i] = lanes.iter().map(|&v| v as u64).sum();
    }
    from26(sum)
}
