//! A small map from keys to values, kept sorted by key.
//!
//! A transaction's read and write sets usually hold a handful of keys. A
//! sorted vector with a few entries inline costs no allocation and one
//! binary search per lookup, where an ordered tree allocates a node and
//! chases pointers; it still iterates in key order (the WAL writes a
//! commit's records in key order) and two maps with the same entries are
//! equal and hash alike, whatever order they were built in.
//!
//! A sorted vector makes an insert move every entry after it, so a bulk
//! load in no particular key order (a transaction that imports a hundred
//! thousand keys) would take quadratic time. A map of `LARGE` entries or
//! more whose next insert would shift more than `SWAP_DOWN` of them moves
//! its entries into a B-tree, where an insert costs a logarithm; one loaded
//! in key order (or nearly) keeps its vector, which costs less than any
//! tree.

use std::collections::btree_map;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use smallvec::SmallVec;

use crate::Bytes;

/// Entries kept inline before the map spills to the heap.
const INLINE_ENTRIES: usize = 2;

/// The size from which an insert that would shift more than `SWAP_DOWN`
/// entries of the sorted vector moves them to a B-tree instead (below it,
/// the shift is at most a couple of kilobytes, which costs less than a
/// tree's node allocations).
const LARGE: usize = 64;

/// A map from keys to `V`, sorted by key.
///
/// The same entries can be held in either field, depending on the order
/// they came in, so equality and the hash compare the entries in key order
/// (see the impls below), never the fields.
#[derive(Debug, Clone, Default)]
pub struct KeyMap<V> {
    /// The entries in key order, until they move to `large`; empty after.
    entries: SmallVec<[(Bytes, V); INLINE_ENTRIES]>,
    /// Every entry, once an out-of-order insert into `LARGE` or more moved
    /// them here; `None` until then. Boxed, so the rare large map costs
    /// a small one (every transaction has two) one word, not three.
    #[allow(clippy::box_collection)]
    large: Option<Box<BTreeMap<Bytes, V>>>,
}

impl<V: PartialEq> PartialEq for KeyMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<V: Eq> Eq for KeyMap<V> {}

/// Hashed as the sequence of entries, as a vector of them hashes.
impl<V: Hash> Hash for KeyMap<V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for (k, v) in self.iter() {
            k.hash(state);
            v.hash(state);
        }
    }
}

/// The most entries a membership test scans rather than binary-searches.
const LINEAR_SCAN: usize = 4;

/// The most entries an insert moves by swapping rather than `memmove`.
const SWAP_DOWN: usize = 8;

impl<V> KeyMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        KeyMap {
            entries: SmallVec::new(),
            large: None,
        }
    }

    #[inline]
    fn find(&self, key: &[u8]) -> Result<usize, usize> {
        if self.entries.is_empty() {
            // A transaction's write set is empty while it reads: skip
            // building a probe, inline in the caller.
            return Err(0);
        }
        self.search(key)
    }

    /// `find` in a map with entries in its vector.
    #[inline(never)]
    fn search(&self, key: &[u8]) -> Result<usize, usize> {
        match Bytes::inline(key) {
            Some(probe) => self.entries.binary_search_by(|(k, _)| k.cmp(&probe)),
            None => self.entries.binary_search_by(|(k, _)| k.as_slice().cmp(key)),
        }
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if let Some(large) = &self.large {
            return large.get(key);
        }
        self.find(key).ok().map(|at| &self.entries[at].1)
    }

    /// The stored key and value of `key`.
    pub fn get_key_value(&self, key: &[u8]) -> Option<(&Bytes, &V)> {
        if let Some(large) = &self.large {
            return large.get_key_value(key);
        }
        self.find(key).ok().map(|at| {
            let (k, v) = &self.entries[at];
            (k, v)
        })
    }

    /// Whether `key` has an entry.
    #[inline]
    pub fn contains_key(&self, key: &[u8]) -> bool {
        match &self.large {
            Some(large) => large.contains_key(key),
            None => self.find(key).is_ok(),
        }
    }

    /// Whether `key`, a stored key, has an entry. Commit validation asks
    /// this for every key a newer commit wrote: comparing stored keys
    /// directly spares building a probe, and a map of a few entries (a
    /// transaction's usual read set) is scanned rather than searched.
    #[inline]
    pub fn contains_stored(&self, key: &Bytes) -> bool {
        if let Some(large) = &self.large {
            large.contains_key(key)
        } else if self.entries.len() <= LINEAR_SCAN {
            self.entries.iter().any(|(k, _)| k == key)
        } else {
            self.entries.binary_search_by(|(k, _)| k.cmp(key)).is_ok()
        }
    }

    /// Sets the value of `key`, replacing any earlier one.
    #[inline]
    pub fn insert(&mut self, key: Bytes, value: V) {
        if self.large.is_some() {
            return self.insert_large(key, value);
        }
        // A key past the last one (the first key, or keys written in order,
        // however many) is appended without a search.
        if self.entries.last().is_none_or(|(last, _)| *last < key) {
            self.entries.push((key, value));
            return;
        }
        let at = match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => {
                self.entries[at].1 = value;
                return;
            }
            Err(at) if self.entries.len() - at <= SWAP_DOWN => {
                // Pushed, then swapped down into place: for the few entries
                // a transaction's map holds, cheaper than shifting the tail
                // with `memmove`.
                self.entries.push((key, value));
                for i in (at + 1..self.entries.len()).rev() {
                    self.entries.swap(i - 1, i);
                }
                at
            }
            Err(at) if self.entries.len() < LARGE => {
                self.entries.insert(at, (key, value));
                at
            }
            // A long tail: this map is loaded out of key order, so its
            // entries move to a B-tree rather than be shifted again at
            // every insert.
            Err(_) => {
                self.move_to_tree();
                return self.insert_large(key, value);
            }
        };
        // The entries were in order before, so the new one's neighbours are
        // all that can be out of order (a check of the whole map made a
        // bulk load quadratic).
        assert!(at == 0 || self.entries[at - 1].0 < self.entries[at].0);
        assert!(at + 1 == self.entries.len() || self.entries[at].0 < self.entries[at + 1].0);
    }

    /// `insert` into a map whose entries are in its B-tree.
    #[inline(never)]
    fn insert_large(&mut self, key: Bytes, value: V) {
        assert!(
            self.entries.is_empty(),
            "a large map keeps its entries in the tree"
        );
        self.large
            .as_mut()
            .expect("a large map has a tree")
            .insert(key, value);
    }

    /// Moves the entries from the vector into a B-tree.
    #[cold]
    #[inline(never)]
    fn move_to_tree(&mut self) {
        assert!(self.large.is_none() && self.entries.len() >= LARGE);
        let len = self.entries.len();
        let tree: BTreeMap<Bytes, V> = std::mem::take(&mut self.entries).into_iter().collect();
        assert_eq!(tree.len(), len, "the vector's keys were unique");
        self.large = Some(Box::new(tree));
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, V> {
        match &self.large {
            Some(large) => Iter::Tree(large.iter()),
            None => Iter::Sorted(self.entries.iter()),
        }
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Bytes> {
        self.iter().map(|(k, _)| k)
    }

    /// How many entries the map holds.
    pub fn len(&self) -> usize {
        self.large
            .as_ref()
            .map_or(self.entries.len(), |large| large.len())
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The entries of a `KeyMap` in key order, from whichever field holds them.
#[derive(Debug, Clone)]
pub enum Iter<'a, V> {
    /// A small map's sorted vector.
    Sorted(std::slice::Iter<'a, (Bytes, V)>),
    /// A large map's B-tree.
    Tree(btree_map::Iter<'a, Bytes, V>),
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a Bytes, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Sorted(entries) => entries.next().map(|(k, v)| (k, v)),
            Iter::Tree(tree) => tree.next(),
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Sorted(entries) => entries.size_hint(),
            Iter::Tree(tree) => tree.size_hint(),
        }
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

impl<'a, V> IntoIterator for &'a KeyMap<V> {
    type Item = (&'a Bytes, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_sorted_and_unique_whatever_the_insertion_order() {
        let mut a = KeyMap::new();
        let mut b = KeyMap::new();
        for (i, k) in ["m", "c", "x", "a", "q", "c"].iter().enumerate() {
            a.insert(Bytes::from(*k), i);
        }
        for (i, k) in ["c", "a", "q", "x", "m"].iter().enumerate() {
            b.insert(Bytes::from(*k), i);
        }
        let keys: Vec<&[u8]> = a.keys().map(|k| k.as_slice()).collect();
        assert_eq!(keys, [b"a", b"c", b"m", b"q", b"x"].map(|k| &k[..]));
        assert_eq!(a.get(b"c"), Some(&5), "a second insert replaces the value");
        assert_eq!(a.get(b"b"), None);
        assert!(!a.contains_key(b"z"));
        let mut small = KeyMap::new();
        small.insert(Bytes::from("q"), ());
        small.insert(Bytes::from("c"), ());
        for k in ["a", "c", "m", "q", "x", "b", "z", ""] {
            let stored = Bytes::from(k);
            assert_eq!(a.contains_stored(&stored), a.contains_key(k.as_bytes()), "{k}");
            assert_eq!(small.contains_stored(&stored), k == "c" || k == "q", "{k}");
        }
        let long = Bytes::from(&[7u8; 40][..]);
        let mut shared = KeyMap::new();
        shared.insert(long.clone(), ());
        assert!(shared.contains_stored(&Bytes::from(&[7u8; 40][..])));
        assert!(!shared.contains_stored(&Bytes::from(&[7u8; 39][..])));
        assert_eq!(a.len(), 5);
        assert_ne!(a, b, "values differ");
        let mut b2 = b.clone();
        for (k, v) in a.iter() {
            b2.insert(k.clone(), *v);
        }
        assert_eq!(a, b2, "same entries, built in another order, are equal");
    }

    /// A key of the tests' small alphabet: short keys collide often, and
    /// the long ones are stored shared rather than inline.
    fn key(n: u16) -> Bytes {
        if n.is_multiple_of(7) {
            Bytes::from(format!("{n:0>40}").as_bytes())
        } else {
            Bytes::from(format!("k{n}").as_bytes())
        }
    }

    proptest::proptest! {
        /// Inserts in any order, past the size where the entries move to
        /// a B-tree, give the same answers as a B-tree map throughout, and
        /// maps with the same entries are equal and hash alike however they
        /// were built.
        #[test]
        fn behaves_as_a_sorted_map_small_or_large(
            inserts in proptest::collection::vec((0u16..300, 0u32..5), 0..400),
        ) {
            use std::hash::{BuildHasher, BuildHasherDefault};
            let mut map = KeyMap::new();
            let mut model = std::collections::BTreeMap::new();
            for (i, &(n, v)) in inserts.iter().enumerate() {
                map.insert(key(n), v);
                model.insert(key(n), v);
                proptest::prop_assert_eq!(map.len(), model.len());
                let probe = key(inserts[i / 2].0 ^ 1);
                proptest::prop_assert_eq!(map.get(&probe), model.get(&probe));
                proptest::prop_assert_eq!(map.contains_stored(&probe), model.contains_key(&probe));
                proptest::prop_assert_eq!(map.contains_key(&probe), model.contains_key(&probe));
            }
            let entries: Vec<(&Bytes, &u32)> = map.iter().collect();
            proptest::prop_assert_eq!(entries, model.iter().collect::<Vec<_>>());
            proptest::prop_assert_eq!(map.iter().len(), model.len());
            // The same entries in descending order (a tree past `LARGE`)
            // and in ascending order (always the vector).
            let mut descending = KeyMap::new();
            for (k, v) in model.iter().rev() {
                descending.insert(k.clone(), *v);
            }
            let mut ascending = KeyMap::new();
            for (k, v) in model.iter() {
                ascending.insert(k.clone(), *v);
            }
            proptest::prop_assert_eq!(descending.large.is_some(), model.len() > LARGE);
            proptest::prop_assert!(ascending.large.is_none());
            let hasher = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
            for same in [&descending, &ascending] {
                proptest::prop_assert_eq!(same, &map);
                proptest::prop_assert_eq!(hasher.hash_one(same), hasher.hash_one(&map));
            }
            if let Some((k, v)) = model.iter().next() {
                let mut other = ascending.clone();
                other.insert(k.clone(), v + 1);
                proptest::prop_assert_ne!(&other, &map);
            }
        }
    }

    /// A bulk load in an order far from the keys' own takes time linear
    /// in its size, not quadratic: 100,000 keys in reverse order.
    #[test]
    fn a_large_load_out_of_order_is_not_quadratic() {
        let mut map = KeyMap::new();
        for n in (0..100_000u32).rev() {
            map.insert(Bytes::from(format!("key/{n:06}").as_bytes()), n);
        }
        assert_eq!(map.len(), 100_000);
        assert!(map.large.is_some());
        let first: Vec<u32> = map.iter().take(3).map(|(_, v)| *v).collect();
        assert_eq!(first, [0, 1, 2]);
    }
}
