//! A micro-benchmark, ignored by default (the numbers mean something in release only):
//!
//! `cargo test --release --lib zmtp::mechanism::curve::nacl::bench -- --ignored --nocapture`
//!
//! Nanoseconds per seal + open of one box (so twice the work of one box either way), best of
//! a few short runs: `crypto_box`'s `SalsaBox` (what zocket used before), our boxes by the
//! generic path (HSalsa20 per box, as the handshake and libsodium's `_afternm` do), by the
//! MESSAGE path (HSalsa20 once per direction), and whole MESSAGE commands through
//! `CurveCipher` (framing, allocation and copies included).

use super::super::cipher::CurveCipher;
use super::super::keys::shared;
use crate::zmtp::mechanism::Cipher;
use bytes::BytesMut;
use crypto_box::aead::AeadInPlace;
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use std::hint::black_box;
use std::time::Instant;

/// Best nanoseconds per call of `f` over `runs` runs of about 20 ms each.
fn best(runs: usize, mut f: impl FnMut(u64)) -> f64 {
    let mut calls = 1u64;
    loop {
        let start = Instant::now();
        for i in 0..calls {
            f(i);
        }
        if start.elapsed().as_millis() >= 20 {
            break;
        }
        calls *= 2;
    }
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            for i in 0..calls {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
fn seal_and_open() {
    let (a, b) = ([7u8; 32], [9u8; 32]);
    let a_public = SecretKey::from(a).public_key().to_bytes();
    let b_public = SecretKey::from(b).public_key().to_bytes();
    let theirs_rc = SalsaBox::new(&PublicKey::from(b_public), &SecretKey::from(a));
    let ours_rc = SalsaBox::new(&PublicKey::from(a_public), &SecretKey::from(b));
    let (to_b, from_a) = (shared(&b_public, &a), shared(&a_public, &b));
    let prefix = *b"CurveZMQMESSAGEC";
    let (send, recv) = (to_b.prefixed(&prefix), from_a.prefixed(&prefix));
    let mut client = CurveCipher::client(shared(&b_public, &a), 3, 1);
    let mut server = CurveCipher::server(shared(&a_public, &b), 2, 2);
    println!("ns per seal + open    crypto_box   generic   MESSAGE  CurveCipher  (speed-up)");
    for size in [64usize, 1024, 65536] {
        let runs = 5;
        let mut buf = vec![0xa5u8; size];
        let mut nonce = [0u8; 24];
        nonce[..16].copy_from_slice(&prefix);
        let rc = best(runs, |i| {
            nonce[16..].copy_from_slice(&i.to_be_bytes());
            let n = GenericArray::from_slice(&nonce);
            let tag = theirs_rc.encrypt_in_place_detached(n, &[], &mut buf).unwrap();
            ours_rc.decrypt_in_place_detached(n, &[], &mut buf, &tag).unwrap();
        });
        let generic = best(runs, |i| {
            nonce[16..].copy_from_slice(&i.to_be_bytes());
            let n = GenericArray::from_slice(&nonce);
            let tag = to_b.encrypt_in_place_detached(n, &[], &mut buf).unwrap();
            from_a.decrypt_in_place_detached(n, &[], &mut buf, &tag).unwrap();
        });
        let payload = vec![0x5au8; size];
        let message = best(runs, |i| {
            let tail = i.to_be_bytes();
            let tag = send.seal(&tail, &mut buf, black_box(&payload));
            assert!(recv.open(&tail, &tag, &mut buf));
        });
        let mut out = BytesMut::new();
        let cipher = best(runs, |_| {
            client.seal(0, black_box(&payload), &mut out);
            let (_, body) = server.open(out.split()).unwrap();
            black_box(body);
        });
        assert_eq!(buf[..], payload[..]);
        println!(
            "{size:>6} B {rc:>19.0} {generic:>9.0} {message:>9.0} {cipher:>12.0}  ({:.1}x)",
            rc / message
        );
    }
}

#[test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
fn parts() {
    let stream = super::salsa::Salsa20::new(&[7u8; 32], &[3u8; 8]);
    let mut buf = vec![0xa5u8; 65536];
    let xor = best(5, |i| stream.xor(i, None, black_box(&mut buf)));
    let mac = best(5, |_| {
        black_box(super::poly1305::tag(&[9u8; 32], black_box(&buf)));
    });
    let scalar = best(5, |_| {
        black_box(super::poly1305::tag_with(&[9u8; 32], black_box(&buf), false));
    });
    let mut batch = [0u8; super::salsa::BATCH];
    let four = best(5, |i| stream.keystream(i, 4, black_box(&mut batch)));
    let hsalsa = best(5, |i| {
        black_box(super::salsa::hsalsa20(&[7u8; 32], &[i as u8; 16]));
    });
    let short = best(5, |_| {
        black_box(super::poly1305::tag(&[9u8; 32], black_box(&buf[..65])));
    });
    println!(
        "64 KiB: Salsa20 XOR {xor:.0} ns ({:.2} GB/s), Poly1305 {mac:.0} ns ({:.2} GB/s)",
        65536.0 / xor,
        65536.0 / mac
    );
    println!(
        "64 KiB: Poly1305 without SIMD {scalar:.0} ns ({:.2} GB/s)",
        65536.0 / scalar
    );
    println!("4 blocks {four:.0} ns, HSalsa20 {hsalsa:.0} ns, Poly1305 of 65 B {short:.0} ns");
}
