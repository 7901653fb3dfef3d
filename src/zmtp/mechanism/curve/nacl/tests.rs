//! The boxes against `crypto_box`'s own (byte for byte, both ways), NaCl's and RFC 8439's
//! known answers, the SIMD keystream against the portable core, and every tail length.

use super::poly1305::{self, Poly1305};
use super::salsa::{BATCH, Salsa20, hsalsa20};
use super::{BoxKey, TAG};
use crate::zmtp::mechanism::curve::boxes;
use crate::zmtp::mechanism::curve::keys::{SharedKey, shared};
use crypto_box::aead::AeadInPlace;
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use proptest::prelude::*;
use zeroize::Zeroizing;

/// NaCl's `tests/box.c`: the nonce, the message, and `crypto_box`'s output after its 16 zero
/// bytes (Alice's secret key and Bob's public key are in the tests that use them).
pub(in crate::zmtp::mechanism::curve) const BOX_NONCE: &str =
    "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37";
pub(in crate::zmtp::mechanism::curve) const BOX_MESSAGE: &str = "
    be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc
    e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31
    0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde
    048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864
    5e0705";
pub(in crate::zmtp::mechanism::curve) const BOX_SEALED: &str = "
    f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce
    48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972
    71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae
    90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3
    7973f622a43d14a6599b1f654cb45a74e355a5";

/// Bytes from hexadecimal text, whitespace ignored.
pub(in crate::zmtp::mechanism::curve) fn hex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `crypto_box`'s box of `message` from `secret` to `public`: tag, then ciphertext.
fn reference(secret: &[u8; 32], public: &[u8; 32], nonce: &[u8; 24], message: &[u8]) -> Vec<u8> {
    let key = SalsaBox::new(&PublicKey::from(*public), &SecretKey::from(*secret));
    let mut text = message.to_vec();
    let tag = key
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), &[], &mut text)
        .unwrap();
    [&tag[..], &text].concat()
}

/// Every way zocket seals: the generic path (HSalsa20 per box), the MESSAGE path (HSalsa20
/// once per prefix) with the plaintext from a source, with a head byte in place, and all in
/// place. Each must give `expected`.
fn check_seals(key: &SharedKey, nonce: &[u8; 24], message: &[u8], expected: &[u8]) {
    assert_eq!(boxes::seal(key, nonce, message), expected, "generic");
    let prefixed = key.prefixed(nonce[..16].try_into().unwrap());
    let tail: &[u8; 8] = nonce[16..].try_into().unwrap();
    let mut out = vec![0u8; message.len()];
    let tag = prefixed.seal(tail, &mut out, message);
    assert_eq!([&tag[..], &out].concat(), expected, "from a source");
    if let Some((&first, rest)) = message.split_first() {
        out.fill(0);
        out[0] = first;
        let tag = prefixed.seal(tail, &mut out, rest);
        assert_eq!([&tag[..], &out].concat(), expected, "a head byte then a source");
    }
    out.copy_from_slice(message);
    let tag = prefixed.seal(tail, &mut out, &[]);
    assert_eq!([&tag[..], &out].concat(), expected, "in place");
    if message.len() > 300 {
        out.fill(0);
        out[..300].copy_from_slice(&message[..300]);
        let tag = prefixed.seal(tail, &mut out, &message[300..]);
        assert_eq!([&tag[..], &out].concat(), expected, "a long head then a source");
    }
}

/// Opens `boxed` both ways; a copy with bit `flip` changed must open neither way, and stay
/// as it was.
fn check_opens(key: &SharedKey, nonce: &[u8; 24], boxed: &[u8], message: &[u8], flip: usize) {
    assert_eq!(&boxes::open(key, nonce, boxed).unwrap()[..], message);
    let prefixed = key.prefixed(nonce[..16].try_into().unwrap());
    let tail: &[u8; 8] = nonce[16..].try_into().unwrap();
    let (tag, text) = boxed.split_at(TAG);
    let mut text = text.to_vec();
    assert!(prefixed.open(tail, tag.try_into().unwrap(), &mut text));
    assert_eq!(text, message);

    let mut altered = boxed.to_vec();
    altered[flip / 8] ^= 1 << (flip % 8);
    assert!(boxes::open(key, nonce, &altered).is_none());
    let (tag, text) = altered.split_at_mut(TAG);
    let copy = text.to_vec();
    assert!(!prefixed.open(tail, (&*tag).try_into().unwrap(), text));
    assert_eq!(text, &copy[..], "a refused box is left as it was");
}

fn round_trip(secrets: ([u8; 32], [u8; 32]), nonce: [u8; 24], message: &[u8], flip: prop::sample::Index) {
    let (a, b) = secrets;
    let b_public = SecretKey::from(b).public_key().to_bytes();
    let expected = reference(&a, &b_public, &nonce, message);
    check_seals(&shared(&b_public, &a), &nonce, message, &expected);
    // The other side's key opens it (crypto_box's too).
    let a_public = SecretKey::from(a).public_key().to_bytes();
    let theirs = shared(&a_public, &b);
    check_opens(
        &theirs,
        &nonce,
        &expected,
        message,
        flip.index(expected.len() * 8),
    );
    let key = SalsaBox::new(&PublicKey::from(a_public), &SecretKey::from(b));
    assert_eq!(
        &boxes::open(&key, &nonce, &boxes::seal(&theirs, &nonce, message)).unwrap()[..],
        message
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn boxes_are_crypto_boxs_to_the_byte(
        secrets in any::<([u8; 32], [u8; 32])>(),
        nonce in any::<[u8; 24]>(),
        message in proptest::collection::vec(any::<u8>(), 0..5000),
        flip in any::<prop::sample::Index>(),
    ) {
        round_trip(secrets, nonce, &message, flip);
    }

    /// Any real public key as the peer's: the same X25519 as `crypto_box`'s. (On points off
    /// the prime-order subgroup they differ on purpose: crypto_box 0.9 reduces the clamped
    /// scalar, RFC 7748 and libsodium do not; see `keys::shared` and its RFC vector.)
    #[test]
    fn any_peer_key_gives_crypto_boxs_key(
        secret in any::<[u8; 32]>(),
        peer_secret in any::<[u8; 32]>(),
        nonce in any::<[u8; 24]>(),
        message in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let peer = crate::curve_public(&peer_secret);
        let expected = reference(&secret, &peer, &nonce, &message);
        prop_assert_eq!(boxes::seal(&shared(&peer, &secret), &nonce, &message), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn large_boxes_are_crypto_boxs_to_the_byte(
        secrets in any::<([u8; 32], [u8; 32])>(),
        nonce in any::<[u8; 24]>(),
        len in prop_oneof![Just(65536usize), 65000..66000usize],
        flip in any::<prop::sample::Index>(),
    ) {
        let message: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        round_trip(secrets, nonce, &message, flip);
    }
}

/// Lengths around every block, batch and first-batch boundary, sealed from and into
/// buffers at odd addresses: the bytes around them are never touched.
#[test]
fn odd_addresses_and_every_tail() {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let b_public = SecretKey::from(b).public_key().to_bytes();
    let key = shared(&b_public, &a);
    let nonce = [9u8; 24];
    let prefixed = key.prefixed(nonce[..16].try_into().unwrap());
    let tail: &[u8; 8] = nonce[16..].try_into().unwrap();
    let mut lengths: Vec<usize> = (0..600).collect();
    for edge in [736, 1248, 2272, 4320] {
        lengths.extend(edge - 3..edge + 3);
    }
    for len in lengths {
        let message: Vec<u8> = (0..len + 3).map(|i| (i * 31 + len) as u8).collect();
        let message = &message[3..];
        let expected = reference(&a, &b_public, &nonce, message);
        let mut buf = vec![0xeeu8; len + 11];
        let tag = prefixed.seal(tail, &mut buf[5..5 + len], message);
        assert_eq!(&tag[..], &expected[..TAG], "length {len}");
        assert_eq!(&buf[5..5 + len], &expected[TAG..], "length {len}");
        assert!(buf[..5].iter().chain(&buf[5 + len..]).all(|&b| b == 0xee));
        assert!(prefixed.open(tail, &tag, &mut buf[5..5 + len]), "length {len}");
        assert_eq!(&buf[5..5 + len], message);
        assert!(buf[..5].iter().chain(&buf[5 + len..]).all(|&b| b == 0xee));
    }
}

/// The SIMD keystream (SSE2 batches, AVX2 where present) is the portable core's, from any
/// counter (the carry into the counter's high word too), from a source or in place.
#[test]
fn simd_keystream_is_the_portable_one() {
    let stream = Salsa20::new(&[7u8; 32], &[3u8; 8]);
    for counter in [0, 5, 0xffff_fffa, u64::MAX - 20] {
        for len in [0, 1, 63, 64, 65, 255, 256, 257, 511, 512, 513, 1100, 2049] {
            let text: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut expected = text.clone();
            stream.xor_portable(counter, &mut expected);
            let mut out = vec![0u8; len];
            stream.xor(counter, Some(&text), &mut out);
            assert_eq!(out, expected, "counter {counter}, length {len}");
            let mut in_place = text.clone();
            stream.xor(counter, None, &mut in_place);
            assert_eq!(in_place, expected, "counter {counter}, length {len}");
        }
        let mut batch = [0u8; BATCH];
        stream.keystream(counter, 4, &mut batch);
        let mut expected = [0u8; BATCH];
        stream.xor_portable(counter, &mut expected);
        assert_eq!(batch, expected);
    }
}

/// Each SIMD kernel this processor has, run directly (the dispatch takes only the best).
#[cfg(target_arch = "x86_64")]
#[test]
fn every_simd_kernel_is_the_portable_core() {
    let stream = Salsa20::new(&[5u8; 32], &[6u8; 8]);
    let text: [u8; 512] = core::array::from_fn(|i| (i * 13) as u8);
    for counter in [0, 0xffff_fffc, u64::MAX - 3] {
        let mut expected = text.to_vec();
        stream.xor_portable(counter, &mut expected);
        let kernels = super::sse2::every_kernel(stream.state(), counter, &text);
        assert!(!kernels.is_empty());
        for (name, out) in kernels {
            assert_eq!(out, expected, "{name} at counter {counter}");
        }
    }
}

/// NaCl's `tests/core1.c` (HSalsa20 of the X25519 secret of `tests/box.c`'s keys: the
/// precomputed key) and its `tests/secretbox.c` (that key as a secretbox key).
#[test]
fn nacls_known_answers() {
    let shared_secret: [u8; 32] = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        .try_into()
        .unwrap();
    let first_key = hex("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389");
    assert_eq!(&hsalsa20(&shared_secret, &[0; 16])[..], &first_key[..]);

    let nonce: [u8; 24] = hex(BOX_NONCE).try_into().unwrap();
    let message = hex(BOX_MESSAGE);
    let expected = hex(BOX_SEALED);
    let key = BoxKey::new(Zeroizing::new(first_key.try_into().unwrap()));
    let mut text = message.clone();
    let tag = key.seal_in_place(&nonce, &mut text);
    assert_eq!([&tag[..], &text].concat(), expected);
    assert!(key.open_in_place(&nonce, &tag, &mut text));
    assert_eq!(text, message);
}

/// RFC 8439's Poly1305 example (2.5.2) and its edge cases of reduction (A.3, vectors 5 to
/// 11, which a partially reduced h gets wrong), whole and a byte at a time.
#[test]
fn poly1305_known_answers() {
    let r = |byte: u8, extra: &[(usize, u8)]| {
        let mut key = [0u8; 32];
        key[0] = byte;
        for &(at, value) in extra {
            key[at] = value;
        }
        key
    };
    let ff16 = [0xffu8; 16];
    let mut key6 = r(2, &[]);
    key6[16..].copy_from_slice(&ff16);
    let m10 = hex("e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000
         0000000000000000000000000000000001000000000000000000000000000000");
    let cases: Vec<([u8; 32], Vec<u8>, &str)> = vec![
        (
            hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
                .try_into()
                .unwrap(),
            b"Cryptographic Forum Research Group".to_vec(),
            "a8061dc1305136c6c22b8baf0c0127a9",
        ),
        (r(2, &[]), ff16.to_vec(), "03000000000000000000000000000000"),
        (
            key6,
            [&[2u8][..], &[0; 15]].concat(),
            "03000000000000000000000000000000",
        ),
        (
            r(1, &[]),
            [&ff16[..], &[0xf0], &[0xff; 15], &[0x11], &[0; 15]].concat(),
            "05000000000000000000000000000000",
        ),
        (
            r(1, &[]),
            [&ff16[..], &[0xfb], &[0xfe; 15], &[0x01; 16]].concat(),
            "00000000000000000000000000000000",
        ),
        (
            r(2, &[]),
            [&[0xfd][..], &[0xff; 15]].concat(),
            "faffffffffffffffffffffffffffffff",
        ),
        (r(1, &[(8, 4)]), m10.clone(), "14000000000000005500000000000000"),
        (
            r(1, &[(8, 4)]),
            m10[..48].to_vec(),
            "13000000000000000000000000000000",
        ),
    ];
    for (key, message, tag) in cases {
        assert_eq!(poly1305::tag(&key, &message).to_vec(), hex(tag));
        // Blocks given one at a time (the single-block path) agree with pairs.
        let mut mac = Poly1305::new(&key);
        for block in message.chunks_exact(16) {
            mac.update(block, false);
        }
        assert_eq!(mac.finish(&message[message.len() / 16 * 16..]).to_vec(), hex(tag));
    }
    assert!(poly1305::verify(&[5; 16], &[5; 16]));
    for at in 0..16 {
        let mut other = [5u8; 16];
        other[at] ^= 0x80;
        assert!(!poly1305::verify(&[5; 16], &other));
    }
}
