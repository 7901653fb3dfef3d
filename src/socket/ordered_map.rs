//! A map from (stream, sequence number) for the receiver's per-message bookkeeping, fast
//! when keys come and go in order.
//!
//! From a spooled sender, messages arrive numbered one after the other and are done in the
//! same order: each one is inserted after every key present, and removed when it is the
//! smallest. A `BTreeMap` costs a walk down the tree for both, per message; here they are a
//! push at the back and a pop at the front of a ring. Keys that come out of order (several
//! streams interleaved, messages sent again) go to a `BTreeMap` beside it, so no order of
//! operations is worse than the tree alone by more than a constant.

use std::collections::{BTreeMap, VecDeque};

/// A stream id and a sequence number in it.
pub(super) type Key = (u64, u64);

/// See the module documentation.
pub(super) struct OrderedMap<V> {
    /// Keys inserted in increasing order, oldest first. A key removed from the middle leaves
    /// `None` until it reaches the front, or until the ring is compacted.
    ring: VecDeque<(Key, Option<V>)>,
    /// Entries of `ring` that are `Some`.
    live: usize,
    /// Keys that came out of order.
    rest: BTreeMap<Key, V>,
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap {
            ring: VecDeque::new(),
            live: 0,
            rest: BTreeMap::new(),
        }
    }
}

impl<V> OrderedMap<V> {
    pub fn is_empty(&self) -> bool {
        self.live == 0 && self.rest.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.live + self.rest.len()
    }

    /// Inserts `value` at `key`, replacing what was there.
    pub fn insert(&mut self, key: Key, value: V) {
        if self.ring.back().is_none_or(|(last, _)| *last < key) && !self.rest.contains_key(&key) {
            self.ring.push_back((key, Some(value)));
            self.live += 1;
            return;
        }
        if let Some(slot) = self.ring_slot(&key) {
            let was_hole = slot.is_none();
            *slot = Some(value);
            self.live += usize::from(was_hole);
            return;
        }
        self.rest.insert(key, value);
    }

    pub fn get(&self, key: &Key) -> Option<&V> {
        match self.ring_index(key) {
            Some(i) => self.ring[i].1.as_ref(),
            None => self.rest.get(key),
        }
    }

    pub fn get_mut(&mut self, key: &Key) -> Option<&mut V> {
        match self.ring_index(key) {
            Some(i) => self.ring[i].1.as_mut(),
            None => self.rest.get_mut(key),
        }
    }

    pub fn contains_key(&self, key: &Key) -> bool {
        self.get(key).is_some()
    }

    pub fn remove(&mut self, key: &Key) -> Option<V> {
        if self.ring.front().is_some_and(|(first, _)| first == key) {
            let removed = self.ring.pop_front().and_then(|(_, v)| v);
            self.live -= usize::from(removed.is_some());
            self.trim_front();
            return removed;
        }
        let Some(slot) = self.ring_slot(key) else {
            return self.rest.remove(key);
        };
        let removed = slot.take();
        if removed.is_some() {
            self.live -= 1;
            // Holes are bounded by the live entries: a message stuck in the middle (taken
            // and never acknowledged) must not make the ring grow with everything after it.
            if self.ring.len() > 2 * self.live + 64 {
                self.ring.retain(|(_, v)| v.is_some());
            }
        }
        removed
    }

    /// The smallest key of `stream`, if any.
    pub fn first_of(&self, stream: u64) -> Option<Key> {
        let from = self.ring.partition_point(|(k, _)| *k < (stream, 0));
        let in_ring = self
            .ring
            .range(from..)
            .take_while(|(k, _)| k.0 == stream)
            .find(|(_, v)| v.is_some())
            .map(|(k, _)| *k);
        let in_rest = self
            .rest
            .range((stream, 0)..=(stream, u64::MAX))
            .next()
            .map(|(k, _)| *k);
        match (in_ring, in_rest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Every entry, in no particular order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Key, &mut V)> {
        let ring = self.ring.iter_mut().filter_map(|(k, v)| Some((&*k, v.as_mut()?)));
        ring.chain(self.rest.iter_mut())
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.iter_mut().map(|(_, v)| v)
    }

    fn ring_slot(&mut self, key: &Key) -> Option<&mut Option<V>> {
        let i = self.ring_index(key)?;
        Some(&mut self.ring[i].1)
    }

    /// Where `key` is in the ring. A key past the last, the common look-up (of a message that
    /// just came), is answered without a search.
    fn ring_index(&self, key: &Key) -> Option<usize> {
        if self.ring.back().is_none_or(|(last, _)| last < key) {
            return None;
        }
        self.ring.binary_search_by_key(key, |(k, _)| *k).ok()
    }

    fn trim_front(&mut self) {
        while self.ring.front().is_some_and(|(_, v)| v.is_none()) {
            self.ring.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Key, u32),
        Remove(Key),
        RemoveFirst,
        First(u64),
    }

    fn key() -> impl Strategy<Value = Key> {
        (0..3u64, 0..40u64)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (key(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => key().prop_map(Op::Remove),
            2 => Just(Op::RemoveFirst),
            1 => (0..3u64).prop_map(Op::First),
        ]
    }

    proptest! {
        /// Random operations against a `BTreeMap`, the plain model.
        #[test]
        fn behaves_as_a_btreemap(ops in proptest::collection::vec(op(), 0..400)) {
            let mut map = OrderedMap::default();
            let mut model = BTreeMap::new();
            let mut next = 0u64;
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        map.insert(k, v);
                        model.insert(k, v);
                        // and one in order, the common case
                        next += 1;
                        map.insert((3, next), v);
                        model.insert((3, next), v);
                    }
                    Op::Remove(k) => prop_assert_eq!(map.remove(&k), model.remove(&k)),
                    Op::RemoveFirst => {
                        let first = model.keys().next().copied();
                        if let Some(k) = first {
                            prop_assert_eq!(map.remove(&k), model.remove(&k));
                        }
                    }
                    Op::First(s) => {
                        let expected = model.range((s, 0)..=(s, u64::MAX)).next().map(|(k, _)| *k);
                        prop_assert_eq!(map.first_of(s), expected);
                    }
                }
                prop_assert_eq!(map.len(), model.len());
                prop_assert_eq!(map.is_empty(), model.is_empty());
                for (k, v) in &model {
                    prop_assert_eq!(map.get(k), Some(v));
                }
                let mut seen: Vec<(Key, u32)> = map.iter_mut().map(|(k, v)| (*k, *v)).collect();
                seen.sort();
                prop_assert_eq!(seen, model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_stuck_entry_does_not_make_the_ring_grow() {
        let mut map = OrderedMap::default();
        map.insert((1, 0), ());
        for seq in 1..100_000 {
            map.insert((1, seq), ());
            map.remove(&(1, seq));
        }
        assert_eq!(map.len(), 1);
        assert!(map.ring.len() < 200, "{} slots", map.ring.len());
    }
}
