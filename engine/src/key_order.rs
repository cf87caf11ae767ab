//! The live keys in key order, for range scans, checkpoints and hashing.
//!
//! A checkpoint walks every key in order, and a recovery loads every key
//! of a checkpoint, which arrive in order. Kept in a `BTreeSet` alone, the
//! order was rebuilt node by node at every recovery (the standard library
//! sorts and deduplicates what it is given, then pushes each key into a
//! leaf: about 145 instructions per key), walked node by node at every
//! checkpoint, and dropped node by node when the store was. So the order
//! is kept in two parts:
//!
//! - `base`, a sorted vector of the keys a recovery loaded or the last
//!   checkpoint wrote, each with a flag set when the key has since gone;
//! - `added`, an ordered set of the keys that entered since and are not in
//!   `base`.
//!
//! A recovery hands over its keys as they came (`from_sorted`), and a
//! checkpoint folds `added` and the flags back into `base` (`compact`), so
//! a store whose keys rarely come and go keeps nearly all of them in the
//! vector. A key enters or leaves through a binary search of `base`
//! first, which costs a new key a few comparisons more than the set alone
//! did; the transactional workloads write far more existing keys than new
//! ones. Whatever the split, the keys, their order and so equality are the
//! same.

use std::collections::{btree_set, BTreeSet};
use std::iter::Peekable;
use std::ops::Bound;

use crate::Bytes;

/// The live keys, in order.
#[derive(Debug, Clone, Default)]
pub struct KeyOrder {
    /// Keys in strictly increasing order.
    base: Vec<Bytes>,
    /// For each key of `base`, whether it has left since.
    gone: Vec<bool>,
    /// How many flags of `gone` are set.
    gone_count: usize,
    /// Keys that entered since, none of them in `base`.
    added: BTreeSet<Bytes>,
}

impl KeyOrder {
    /// The order of `keys`, which must be strictly increasing (a
    /// checkpoint's keys, which recovery checked as it read them).
    pub fn from_sorted(keys: Vec<Bytes>) -> Self {
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys strictly increase");
        KeyOrder {
            gone: vec![false; keys.len()],
            base: keys,
            gone_count: 0,
            added: BTreeSet::new(),
        }
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.base.len() - self.gone_count + self.added.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where `key` is in `base`, or where it would go.
    fn find(&self, key: &[u8]) -> Result<usize, usize> {
        self.base.binary_search_by(|k| k.as_slice().cmp(key))
    }

    /// Adds `key`; false if it was there.
    pub fn insert(&mut self, key: Bytes) -> bool {
        match self.find(&key) {
            Ok(at) if self.gone[at] => {
                self.gone[at] = false;
                self.gone_count -= 1;
                true
            }
            Ok(_) => false,
            Err(_) => self.added.insert(key),
        }
    }

    /// Removes `key`; false if it was not there.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        match self.find(key) {
            Ok(at) if !self.gone[at] => {
                self.gone[at] = true;
                self.gone_count += 1;
                true
            }
            Ok(_) => false,
            Err(_) => self.added.remove(key),
        }
    }

    /// Every key in order, as one sorted slice when no key entered or left
    /// since the vector was made: what a checkpoint walks, faster than the
    /// merge `iter` is.
    pub fn as_slice(&self) -> Option<&[Bytes]> {
        (self.added.is_empty() && self.gone_count == 0).then_some(&self.base[..])
    }

    /// Every key, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            base: &self.base,
            gone: &self.gone,
            at: 0,
            end: self.base.len(),
            added: self.added.range::<[u8], _>(..).peekable(),
        }
    }

    /// The keys from `start` on, up to `end` (excluded) if there is one, in
    /// order. `start` must not be above `end`.
    pub fn range(&self, start: &[u8], end: Option<&[u8]>) -> Iter<'_> {
        assert!(
            end.is_none_or(|end| start <= end),
            "a range ends at or after its start"
        );
        let below = |bound: &[u8]| self.base.partition_point(|k| k.as_slice() < bound);
        let upper = match end {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        Iter {
            base: &self.base,
            gone: &self.gone,
            at: below(start),
            end: end.map_or(self.base.len(), below),
            added: self
                .added
                .range::<[u8], _>((Bound::Included(start), upper))
                .peekable(),
        }
    }

    /// Folds the keys that entered or left since into the vector, so that
    /// every key is in one sorted slice again. Nothing to do, nothing done.
    pub fn compact(&mut self) {
        if self.as_slice().is_some() {
            return;
        }
        let keys: Vec<Bytes> = self.iter().cloned().collect();
        *self = KeyOrder::from_sorted(keys);
        assert!(self.as_slice().is_some(), "compacted, every key is in the vector");
    }
}

impl PartialEq for KeyOrder {
    /// The same keys, however they are split.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for KeyOrder {}

/// The keys of a `KeyOrder` (or of a range of it) in order: the vector's
/// that have not gone, merged with the added ones.
pub struct Iter<'a> {
    base: &'a [Bytes],
    gone: &'a [bool],
    /// The next key of `base` to consider, and where to stop.
    at: usize,
    end: usize,
    added: Peekable<btree_set::Range<'a, Bytes>>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Bytes;

    fn next(&mut self) -> Option<&'a Bytes> {
        while self.at < self.end && self.gone[self.at] {
            self.at += 1;
        }
        let base = (self.at < self.end).then(|| &self.base[self.at]);
        match (base, self.added.peek()) {
            (Some(b), Some(a)) if *a < b => self.added.next(),
            (Some(b), _) => {
                self.at += 1;
                Some(b)
            }
            (None, _) => self.added.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(i: u8) -> Bytes {
        // Short keys inline, every fifth one long enough to be shared.
        if i.is_multiple_of(5) {
            Bytes::from(format!("key-{i:03}-with-a-long-tail").as_bytes())
        } else {
            Bytes::from(format!("k{i:03}").as_bytes())
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8),
        Remove(u8),
        Compact,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..40).prop_map(Op::Insert),
            3 => (0u8..40).prop_map(Op::Remove),
            1 => Just(Op::Compact),
        ]
    }

    proptest! {
        /// Against a `BTreeSet`: every insert and remove answers as the
        /// set's does, and the keys, their count and every range agree,
        /// whatever was loaded first and however often it was compacted.
        #[test]
        fn the_order_is_a_sorted_set(
            loaded in prop::collection::btree_set(0u8..40, 0..20),
            ops in prop::collection::vec(op(), 0..60),
            bounds in prop::collection::vec((0u8..42, prop::option::of(0u8..42)), 1..8),
        ) {
            let mut model: BTreeSet<Bytes> = loaded.iter().map(|&i| key(i)).collect();
            let mut order = KeyOrder::from_sorted(model.iter().cloned().collect());
            for op in ops {
                match op {
                    Op::Insert(i) => prop_assert_eq!(order.insert(key(i)), model.insert(key(i))),
                    Op::Remove(i) => prop_assert_eq!(order.remove(&key(i)), model.remove(&key(i))),
                    Op::Compact => {
                        let before = order.clone();
                        order.compact();
                        prop_assert!(order.as_slice().is_some());
                        prop_assert_eq!(&order, &before);
                    }
                }
                prop_assert_eq!(order.len(), model.len());
                prop_assert!(order.iter().eq(model.iter()));
                if let Some(slice) = order.as_slice() {
                    prop_assert!(slice.iter().eq(model.iter()));
                }
            }
            for (start, end) in bounds {
                let start = key(start);
                let end = end.map(key).filter(|end| *end >= start);
                let upper = end.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
                let expected: Vec<&Bytes> = model.range::<Bytes, _>((Bound::Included(&start), upper)).collect();
                let got: Vec<&Bytes> = order.range(&start, end.as_deref()).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn equal_keys_are_equal_however_they_are_split() {
        let mut keys: Vec<Bytes> = (0..10).map(key).collect();
        keys.sort();
        let mut loaded = KeyOrder::from_sorted(keys.clone());
        let mut added = KeyOrder::default();
        for k in keys.iter().rev() {
            assert!(added.insert(k.clone()));
        }
        assert_eq!(loaded, added);
        assert!(loaded.remove(&keys[3]));
        assert_ne!(loaded, added);
        assert!(!loaded.remove(&keys[3]), "gone already");
        assert!(loaded.insert(keys[3].clone()));
        assert!(!loaded.insert(keys[3].clone()), "back already");
        assert_eq!(loaded, added);
        assert!(
            loaded.as_slice().is_some(),
            "a key that left and came back leaves no trace"
        );
        assert!(added.as_slice().is_none());
        added.compact();
        assert_eq!(added.as_slice(), Some(&keys[..]));
    }
}
