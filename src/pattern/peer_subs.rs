//! One subscriber's subscriptions as a publisher keeps them: a trie, with what it costs
//! bounded, since the subscriber (a peer) decides what goes in.

use super::trie::Trie;
use bytes::Bytes;

/// The most distinct subscriptions one peer may hold at a publisher.
pub(crate) const MAX_SUBSCRIPTIONS_PER_PEER: usize = 1 << 18;
/// The most bytes of subscribed prefixes one peer may hold at a publisher.
pub(crate) const MAX_SUBSCRIPTION_BYTES_PER_PEER: usize = 16 << 20;

/// A peer's subscriptions and their count and size.
#[derive(Default)]
pub(crate) struct PeerSubs {
    trie: Trie,
    count: usize,
    bytes: usize,
}

impl PeerSubs {
    /// Whether exactly `prefix` is subscribed.
    pub fn contains(&self, prefix: &[u8]) -> bool {
        self.trie.contains(prefix)
    }

    /// Whether a subscribed prefix is a prefix of `topic`.
    pub fn matches(&self, topic: &[u8]) -> bool {
        self.trie.matches(topic)
    }

    /// Every subscribed prefix.
    pub fn prefixes(&self) -> Vec<Bytes> {
        self.trie.prefixes()
    }

    /// Subscribes to `prefix` (once: a second subscription to it changes nothing). `Err`,
    /// with the subscription not taken, when it would go past a bound: the peer must go.
    pub fn subscribe(&mut self, prefix: &[u8]) -> Result<(), &'static str> {
        if self.trie.contains(prefix) {
            return Ok(());
        }
        if self.count >= MAX_SUBSCRIPTIONS_PER_PEER {
            return Err("more subscriptions than a peer may hold (262,144)");
        }
        if self.bytes + prefix.len() > MAX_SUBSCRIPTION_BYTES_PER_PEER {
            return Err("more bytes of subscriptions than a peer may hold (16 MiB)");
        }
        self.trie.add(prefix);
        self.count += 1;
        self.bytes += prefix.len();
        Ok(())
    }

    /// Unsubscribes from `prefix`; true if it was subscribed.
    pub fn unsubscribe(&mut self, prefix: &[u8]) -> bool {
        let removed = self.trie.remove(prefix);
        if removed {
            self.count -= 1;
            self.bytes -= prefix.len();
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_prefixes_and_their_bytes() {
        let mut subs = PeerSubs::default();
        assert_eq!(subs.subscribe(b"ab"), Ok(()));
        assert_eq!(subs.subscribe(b"ab"), Ok(()), "again: no change");
        assert_eq!((subs.count, subs.bytes), (1, 2));
        assert!(subs.matches(b"abc") && !subs.matches(b"b"));
        assert!(subs.unsubscribe(b"ab") && !subs.unsubscribe(b"ab"));
        assert_eq!((subs.count, subs.bytes), (0, 0));
    }

    #[test]
    fn refuses_past_the_bounds() {
        let mut subs = PeerSubs::default();
        for i in 0..MAX_SUBSCRIPTIONS_PER_PEER as u32 {
            subs.subscribe(&i.to_be_bytes()).unwrap();
        }
        assert!(subs.subscribe(b"one more").is_err());
        assert!(!subs.contains(b"one more"), "not taken");
        assert!(subs.unsubscribe(&0u32.to_be_bytes()));
        assert_eq!(subs.subscribe(b"one more"), Ok(()), "room again");

        let mut subs = PeerSubs::default();
        let big = vec![7u8; MAX_SUBSCRIPTION_BYTES_PER_PEER / 2];
        subs.subscribe(&big).unwrap();
        subs.subscribe(&big[1..]).unwrap();
        assert!(subs.subscribe(b"xy").is_err(), "bytes bound");
    }
}
