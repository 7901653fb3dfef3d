//! The server's cookie: what WELCOME hands the client and INITIATE hands back, so that the
//! server's transient secret s' travels with the client between the two commands and the
//! server keeps no secret of the client's handshake in between (RFC 26's rule against
//! memory exhaustion): only C', to tell its own cookie from one replayed from elsewhere. It is
//! a 16-byte nonce tail (prefix "COOKIE--") and a secretbox of [C' + s'] under the cookie key.
//!
//! The cookie key is process-wide and short-lived: a fresh random key every
//! [`ROTATE_EVERY`], and the one before it still opens cookies (a handshake that spans a
//! rotation completes). Keys are wiped when they retire. A cookie is good for one INITIATE:
//! the keys remember the cookies used while they serve, so that a captured HELLO and
//! INITIATE replayed on another connection (whose MESSAGEs would open there too, s' being in
//! the cookie) are refused. That memory is bounded: past [`MAX_USED`] cookies, the key
//! retires early.

use super::boxes;
use super::nacl::BoxKey;
use super::nonce;
use super::{KEY, TAG, same_bytes};
use crate::zmtp::ProtocolError;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The cookie's size: nonce tail and the box of two keys.
pub(super) const COOKIE_SIZE: usize = 16 + TAG + 2 * KEY;

/// How long a cookie key makes cookies; it opens them for twice as long.
pub(super) const ROTATE_EVERY: Duration = Duration::from_secs(60);

/// Most cookies a key remembers as used before it retires (16 bytes each).
pub(super) const MAX_USED: usize = 1 << 18;

/// The cookie keys: the one that makes cookies, and the one it replaced; and the cookies
/// (their nonce tails) used while each served.
struct Keys {
    current: CookieKey,
    previous: Option<CookieKey>,
    since: Instant,
    used: std::collections::HashSet<[u8; 16]>,
    used_before: std::collections::HashSet<[u8; 16]>,
}

static KEYS: Mutex<Option<Keys>> = Mutex::new(None);

impl Keys {
    fn new(now: Instant) -> Result<Keys, ProtocolError> {
        Ok(Keys {
            current: CookieKey::generate()?,
            previous: None,
            since: now,
            used: Default::default(),
            used_before: Default::default(),
        })
    }

    /// Retires the current key if it is too old at `now`.
    fn rotate(&mut self, now: Instant) -> Result<(), ProtocolError> {
        if now.duration_since(self.since) >= ROTATE_EVERY || self.used.len() >= MAX_USED {
            let fresh = CookieKey::generate()?;
            self.previous = Some(std::mem::replace(&mut self.current, fresh));
            self.used_before = std::mem::take(&mut self.used);
            self.since = now;
        }
        Ok(())
    }

    /// Marks a checked cookie as used; an error if it was already.
    fn consume(&mut self, cookie: &[u8]) -> Result<(), ProtocolError> {
        let tail: [u8; 16] = cookie
            .get(..16)
            .and_then(|t| t.try_into().ok())
            .ok_or(ProtocolError::BadCommand("CURVE cookie too short"))?;
        if self.used_before.contains(&tail) || !self.used.insert(tail) {
            return Err(ProtocolError::Handshake("CURVE cookie used twice"));
        }
        Ok(())
    }

    fn open(&self, cookie: &[u8], client: &[u8; KEY]) -> Result<Zeroizing<[u8; KEY]>, ProtocolError> {
        match (self.current.open(cookie, client), &self.previous) {
            (Err(ProtocolError::Handshake(super::CRYPTO)), Some(previous)) => previous.open(cookie, client),
            (result, _) => result,
        }
    }
}

/// Runs `f` on the process's keys, rotated first when due.
fn with_keys<T>(f: impl FnOnce(&mut Keys) -> Result<T, ProtocolError>) -> Result<T, ProtocolError> {
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let keys = match &mut *keys {
        Some(keys) => {
            keys.rotate(now)?;
            keys
        }
        empty => empty.insert(Keys::new(now)?),
    };
    f(keys)
}

/// A cookie for the client's transient public key `client` and our transient secret key
/// `secret`, under the current cookie key.
pub(super) fn make(client: &[u8; KEY], secret: &[u8; KEY]) -> Result<[u8; COOKIE_SIZE], ProtocolError> {
    with_keys(|keys| keys.current.make(client, secret))
}

/// Opens a cookie made for `client` by a key still in service: our transient secret key.
pub(super) fn open(cookie: &[u8], client: &[u8; KEY]) -> Result<Zeroizing<[u8; KEY]>, ProtocolError> {
    with_keys(|keys| keys.open(cookie, client))
}

/// Marks a cookie whose INITIATE was found good as used: it opens no second handshake.
pub(super) fn consume(cookie: &[u8]) -> Result<(), ProtocolError> {
    with_keys(|keys| keys.consume(cookie))
}

/// One cookie key (a secretbox key, wiped when dropped).
struct CookieKey(BoxKey);

impl CookieKey {
    /// A new random key.
    fn generate() -> Result<CookieKey, ProtocolError> {
        let mut key = Zeroizing::new([0u8; KEY]);
        nonce::fill_random(&mut key[..])?;
        Ok(CookieKey(BoxKey::new(key)))
    }

    /// The cookie holding the client's transient public key `client` and our transient
    /// secret key `secret`.
    fn make(&self, client: &[u8; KEY], secret: &[u8; KEY]) -> Result<[u8; COOKIE_SIZE], ProtocolError> {
        let tail: [u8; 16] = nonce::random()?;
        let mut cookie = [0u8; COOKIE_SIZE];
        cookie[..16].copy_from_slice(&tail);
        let region = &mut cookie[16..];
        region[TAG..TAG + KEY].copy_from_slice(client);
        region[TAG + KEY..].copy_from_slice(secret);
        boxes::seal_in_place(&self.0, &nonce::long(nonce::COOKIE, &tail), region);
        Ok(cookie)
    }

    /// Opens a cookie and checks that it was made for `client`: our transient secret key.
    fn open(&self, cookie: &[u8], client: &[u8; KEY]) -> Result<Zeroizing<[u8; KEY]>, ProtocolError> {
        let (Some(tail), Some(boxed)) = (cookie.get(..16), cookie.get(16..COOKIE_SIZE)) else {
            return Err(ProtocolError::BadCommand("CURVE cookie too short"));
        };
        let mut nonce_tail = [0u8; 16];
        nonce_tail.copy_from_slice(tail);
        let plain = boxes::open(&self.0, &nonce::long(nonce::COOKIE, &nonce_tail), boxed)
            .ok_or(ProtocolError::Handshake(super::CRYPTO))?;
        if !same_bytes(&plain[..KEY], client) {
            return Err(ProtocolError::Handshake("CURVE cookie of another client"));
        }
        let mut secret = Zeroizing::new([0u8; KEY]);
        secret.copy_from_slice(&plain[KEY..2 * KEY]);
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_outlives_one_rotation_and_not_two() {
        let start = Instant::now();
        let mut keys = Keys::new(start).unwrap();
        let (client, secret) = ([3u8; KEY], [4u8; KEY]);
        let cookie = keys.current.make(&client, &secret).unwrap();
        assert_eq!(*keys.open(&cookie, &client).unwrap(), secret);
        assert!(
            keys.open(&cookie, &[5u8; KEY]).is_err(),
            "a cookie opened for another client"
        );
        keys.rotate(start + ROTATE_EVERY / 2).unwrap();
        assert!(keys.previous.is_none(), "rotated too early");
        keys.rotate(start + ROTATE_EVERY).unwrap();
        assert_eq!(*keys.open(&cookie, &client).unwrap(), secret);
        keys.rotate(start + ROTATE_EVERY * 2).unwrap();
        assert!(keys.open(&cookie, &client).is_err(), "a cookie outlived its key");
    }

    #[test]
    fn a_cookie_is_good_once_across_a_rotation() {
        let start = Instant::now();
        let mut keys = Keys::new(start).unwrap();
        let cookie = keys.current.make(&[3u8; KEY], &[4u8; KEY]).unwrap();
        keys.consume(&cookie).unwrap();
        assert!(keys.consume(&cookie).is_err());
        keys.rotate(start + ROTATE_EVERY).unwrap();
        assert!(keys.consume(&cookie).is_err(), "forgotten at the rotation");
        let fresh = keys.current.make(&[3u8; KEY], &[4u8; KEY]).unwrap();
        keys.consume(&fresh).unwrap();
    }
}
