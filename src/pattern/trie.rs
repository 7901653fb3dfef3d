//! A prefix trie of subscriptions with a count per prefix.

use bytes::Bytes;

#[derive(Default, Debug)]
pub(crate) struct Trie {
    count: u32,
    children: Vec<(u8, Trie)>,
}

impl Trie {
    fn child(&self, byte: u8) -> Option<&Trie> {
        self.children
            .binary_search_by_key(&byte, |(b, _)| *b)
            .ok()
            .map(|i| &self.children[i].1)
    }

    /// Counts one more subscription to `prefix`; true if it was new.
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        let mut node = self;
        for &byte in prefix {
            let i = match node.children.binary_search_by_key(&byte, |(b, _)| *b) {
                Ok(i) => i,
                Err(i) => {
                    node.children.insert(i, (byte, Trie::default()));
                    i
                }
            };
            node = &mut node.children[i].1;
        }
        node.count += 1;
        node.count == 1
    }

    /// Removes one subscription to `prefix`; true if that was the last one.
    pub fn remove(&mut self, prefix: &[u8]) -> bool {
        fn go(node: &mut Trie, prefix: &[u8]) -> bool {
            let Some((&byte, rest)) = prefix.split_first() else {
                if node.count == 0 {
                    return false;
                }
                node.count -= 1;
                return node.count == 0;
            };
            let Ok(i) = node.children.binary_search_by_key(&byte, |(b, _)| *b) else {
                return false;
            };
            let last = go(&mut node.children[i].1, rest);
            let child = &node.children[i].1;
            if child.count == 0 && child.children.is_empty() {
                node.children.remove(i);
            }
            last
        }
        go(self, prefix)
    }

    /// Whether exactly `prefix` is subscribed.
    pub fn contains(&self, prefix: &[u8]) -> bool {
        let mut node = self;
        for &byte in prefix {
            match node.child(byte) {
                Some(next) => node = next,
                None => return false,
            }
        }
        node.count > 0
    }

    /// Whether any subscribed prefix is a prefix of `data`.
    pub fn matches(&self, data: &[u8]) -> bool {
        let mut node = self;
        if node.count > 0 {
            return true;
        }
        for &byte in data {
            match node.child(byte) {
                Some(next) => node = next,
                None => return false,
            }
            if node.count > 0 {
                return true;
            }
        }
        false
    }

    /// Every subscribed prefix, once each.
    pub fn prefixes(&self) -> Vec<Bytes> {
        fn go(node: &Trie, path: &mut Vec<u8>, out: &mut Vec<Bytes>) {
            if node.count > 0 {
                out.push(Bytes::copy_from_slice(path));
            }
            for (byte, child) in &node.children {
                path.push(*byte);
                go(child, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        go(self, &mut Vec::new(), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counted_prefixes() {
        let mut t = Trie::default();
        assert!(!t.matches(b"abc"));
        assert!(t.add(b"ab"));
        assert!(!t.add(b"ab"));
        assert!(t.matches(b"abc") && t.matches(b"ab") && !t.matches(b"a"));
        assert!(!t.remove(b"ab"));
        assert!(t.remove(b"ab"));
        assert!(!t.matches(b"abc"));
        assert!(!t.remove(b"zz"));
        assert!(t.add(b""));
        assert!(t.matches(b"anything") && t.matches(b""));
        assert_eq!(t.prefixes(), vec![Bytes::new()]);
    }

    proptest! {
        #[test]
        fn matches_agrees_with_a_naive_list(
            subs in proptest::collection::vec(proptest::collection::vec(0u8..3, 0..4), 0..6),
            data in proptest::collection::vec(0u8..3, 0..6)) {
            let mut t = Trie::default();
            for s in &subs { t.add(s); }
            let naive = subs.iter().any(|s| data.starts_with(s));
            prop_assert_eq!(t.matches(&data), naive);
            for s in &subs { t.remove(s); }
            prop_assert!(!t.matches(&data));
            prop_assert!(t.children.is_empty());
        }
    }
}
