//! Salsa20 four blocks at a time with SSE2 (part of x86_64 itself: no detection), or with
//! AVX-512VL's one-instruction rotations when the processor has them; and eight at a time
//! ([`super::avx2`]) when it has AVX2 or AVX-512VL.
//!
//! The state is word-sliced: vector i holds word i of each block, so that a quarter-round is
//! the same few instructions for all the blocks; a 4 x 4 transposition per four words gives
//! the blocks back, XORed from the source into the destination as they come out.

use super::salsa::BATCH;
use core::arch::x86_64::*;

/// `v` rotated left by `n` bits in each 32-bit lane, with SSE2.
macro_rules! rotl_sse2 {
    ($v:expr, $n:literal) => {{
        let v = $v;
        _mm_or_si128(_mm_slli_epi32::<$n>(v), _mm_srli_epi32::<{ 32 - $n }>(v))
    }};
}

/// The same with AVX-512VL, in one instruction.
macro_rules! rotl_avx512 {
    ($v:expr, $n:literal) => {
        _mm_rol_epi32::<$n>($v)
    };
}

macro_rules! quarter {
    ($rotl:ident, $x:ident, $a:literal, $b:literal, $c:literal, $d:literal) => {
        $x[$b] = _mm_xor_si128($x[$b], $rotl!(_mm_add_epi32($x[$a], $x[$d]), 7));
        $x[$c] = _mm_xor_si128($x[$c], $rotl!(_mm_add_epi32($x[$b], $x[$a]), 9));
        $x[$d] = _mm_xor_si128($x[$d], $rotl!(_mm_add_epi32($x[$c], $x[$b]), 13));
        $x[$a] = _mm_xor_si128($x[$a], $rotl!(_mm_add_epi32($x[$d], $x[$c]), 18));
    };
}

/// Blocks `counter` to `counter + 3` of the state `s`, word-sliced: one body, made with
/// SSE2's rotations and with AVX-512VL's.
macro_rules! blocks4 {
    ($name:ident, $features:literal, $rotl:ident) => {
        #[target_feature(enable = $features)]
        fn $name(s: &[u32; 16], counter: u64) -> [__m128i; 16] {
            let mut x = [_mm_setzero_si128(); 16];
            for (v, &word) in x.iter_mut().zip(s) {
                *v = _mm_set1_epi32(word as i32);
            }
            let c: [u64; 4] = core::array::from_fn(|i| counter.wrapping_add(i as u64));
            x[8] = _mm_set_epi32(c[3] as i32, c[2] as i32, c[1] as i32, c[0] as i32);
            x[9] = _mm_set_epi32(
                (c[3] >> 32) as i32,
                (c[2] >> 32) as i32,
                (c[1] >> 32) as i32,
                (c[0] >> 32) as i32,
            );
            let input = x;
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
            for (v, start) in x.iter_mut().zip(input) {
                *v = _mm_add_epi32(*v, start);
            }
            x
        }
    };
}

blocks4!(blocks4_sse2, "sse2", rotl_sse2);
blocks4!(blocks4_avx512, "avx512f,avx512vl", rotl_avx512);

/// Whether the processor has AVX-512F and VL (the detection is cached by std).
fn avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl")
}

/// Blocks `counter` to `counter + 3`, with AVX-512VL's rotations when `avx512`.
fn blocks4(s: &[u32; 16], counter: u64, avx512: bool) -> [__m128i; 16] {
    if avx512 {
        // SAFETY: the caller found AVX-512F and VL.
        unsafe { blocks4_avx512(s, counter) }
    } else {
        // SAFETY: SSE2 is part of x86_64 (the `target_feature` only lets the intrinsics be
        // called without `unsafe` each).
        unsafe { blocks4_sse2(s, counter) }
    }
}

/// XORs the 256 bytes at `src` with the four blocks `x` into `dst`.
///
/// # Safety
/// `src` is readable and `dst` writable for 256 bytes, and the two are either the same
/// address or do not overlap.
#[inline]
#[target_feature(enable = "sse2")]
unsafe fn xor4(x: &[__m128i; 16], src: *const u8, dst: *mut u8) {
    for g in 0..4 {
        let (a, b, c, d) = (x[4 * g], x[4 * g + 1], x[4 * g + 2], x[4 * g + 3]);
        let (t0, t1) = (_mm_unpacklo_epi32(a, b), _mm_unpacklo_epi32(c, d));
        let (t2, t3) = (_mm_unpackhi_epi32(a, b), _mm_unpackhi_epi32(c, d));
        let blocks = [
            _mm_unpacklo_epi64(t0, t1),
            _mm_unpackhi_epi64(t0, t1),
            _mm_unpacklo_epi64(t2, t3),
            _mm_unpackhi_epi64(t2, t3),
        ];
        for (j, block) in blocks.into_iter().enumerate() {
            let at = 64 * j + 16 * g;
            // SAFETY: at + 16 <= 256, within what the caller vouches for; each 16 bytes are
            // read before they are written, so in place works too.
            unsafe {
                let text = _mm_loadu_si128(src.add(at).cast());
                _mm_storeu_si128(dst.add(at).cast(), _mm_xor_si128(text, block));
            }
        }
    }
}

/// Blocks `counter` to `counter + 3` into `out`.
pub(super) fn keystream4(s: &[u32; 16], counter: u64, out: &mut [u8; BATCH]) {
    let x = blocks4(s, counter, avx512());
    out.fill(0);
    let at = out.as_mut_ptr();
    // SAFETY: SSE2 is part of x86_64; `out` is 256 bytes, read and written in place.
    unsafe { xor4(&x, at, at) };
}

/// XORs the keystream from block `counter` on into as many whole 256-byte batches of `dst`
/// as it holds (from `src`, as long as `dst`, or in place): the bytes done and the next
/// block counter.
pub(super) fn xor_batches(s: &[u32; 16], counter: u64, src: Option<&[u8]>, dst: &mut [u8]) -> (usize, u64) {
    let len = dst.len() / BATCH * BATCH;
    let out = dst.as_mut_ptr();
    let text = match src {
        Some(src) => {
            assert!(src.len() >= len);
            src.as_ptr()
        }
        None => out.cast_const(),
    };
    let mut done = 0;
    let mut counter = counter;
    let avx512 = avx512();
    let wide = len / (2 * BATCH) * (2 * BATCH);
    if wide > 0 && (avx512 || std::is_x86_feature_detected!("avx2")) {
        if avx512 {
            // SAFETY: the processor has AVX-512F and VL (and so AVX2); `text` and `out` hold
            // `wide` <= `len` bytes, and are the same buffer or two that do not overlap (a
            // shared and an exclusive borrow).
            unsafe { super::avx2::xor8_avx512(s, counter, text, out, wide) };
        } else {
            // SAFETY: as above, with AVX2.
            unsafe { super::avx2::xor8_avx2(s, counter, text, out, wide) };
        }
        done = wide;
        counter = counter.wrapping_add((wide / 64) as u64);
    }
    while done < len {
        let x = blocks4(s, counter, avx512);
        // SAFETY: SSE2 is part of x86_64; done + 256 <= len <= both lengths; the same buffer
        // or two that do not overlap, as above.
        unsafe { xor4(&x, text.add(done), out.add(done)) };
        done += BATCH;
        counter = counter.wrapping_add(4);
    }
    (done, counter)
}

/// The keystream of every kernel this processor has (SSE2, and AVX2 and AVX-512VL when
/// present), eight blocks from `counter`, each XORed into a copy of `text` (512 bytes).
#[cfg(test)]
pub(super) fn every_kernel(s: &[u32; 16], counter: u64, text: &[u8; 512]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut four = |name, avx512| {
        let mut buf = text.to_vec();
        for (i, half) in buf.chunks_exact_mut(BATCH).enumerate() {
            let x = blocks4(s, counter.wrapping_add(4 * i as u64), avx512);
            let at = half.as_mut_ptr();
            // SAFETY: SSE2 is part of x86_64; `half` is 256 bytes, in place.
            unsafe { xor4(&x, at, at) };
        }
        out.push((name, buf));
    };
    four("sse2", false);
    if avx512() {
        four("avx512 x 4", true);
    }
    let mut eight = |name, kernel: unsafe fn(&[u32; 16], u64, *const u8, *mut u8, usize)| {
        let mut buf = text.to_vec();
        let at = buf.as_mut_ptr();
        // SAFETY: the caller checked the features; 512 bytes in place.
        unsafe { kernel(s, counter, at, at, 512) };
        out.push((name, buf));
    };
    if std::is_x86_feature_detected!("avx2") {
        eight("avx2 x 8", super::avx2::xor8_avx2);
    }
    if avx512() {
        eight("avx512 x 8", super::avx2::xor8_avx512);
    }
    out
}
