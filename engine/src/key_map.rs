//! A small map from keys to values, kept sorted by key in one vector.
//!
//! A transaction's read and write sets usually hold a handful of keys. A
//! sorted vector with a few entries inline costs no allocation and one
//! binary search per lookup, where an ordered tree allocates a node and
//! chases pointers; it still iterates in key order (the WAL writes a
//! commit's records in key order) and two maps with the same entries are
//! equal and hash alike, whatever order they were built in.

use smallvec::SmallVec;

use crate::Bytes;

/// Entries kept inline before the map spills to the heap.
const INLINE_ENTRIES: usize = 2;

/// A map from keys to `V`, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KeyMap<V> {
    entries: SmallVec<[(Bytes, V); INLINE_ENTRIES]>,
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

    /// `find` in a map with entries.
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
        self.find(key).ok().map(|at| &self.entries[at].1)
    }

    /// The stored key and value of `key`.
    pub fn get_key_value(&self, key: &[u8]) -> Option<(&Bytes, &V)> {
        self.find(key).ok().map(|at| {
            let (k, v) = &self.entries[at];
            (k, v)
        })
    }

    /// Whether `key` has an entry.
    #[inline]
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_ok()
    }

    /// Whether `key`, a stored key, has an entry. Commit validation asks
    /// this for every key a newer commit wrote: comparing stored keys
    /// directly spares building a probe, and a map of a few entries (a
    /// transaction's usual read set) is scanned rather than searched.
    #[inline]
    pub fn contains_stored(&self, key: &Bytes) -> bool {
        if self.entries.len() <= LINEAR_SCAN {
            self.entries.iter().any(|(k, _)| k == key)
        } else {
            self.entries.binary_search_by(|(k, _)| k.cmp(key)).is_ok()
        }
    }

    /// Sets the value of `key`, replacing any earlier one.
    pub fn insert(&mut self, key: Bytes, value: V) {
        // A key past the last one (the first key, or keys written in order)
        // is appended without a search.
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
            // A long tail (a bulk load, such as a setup transaction's
            // thousands of writes) moves in one `memmove`.
            Err(at) => {
                self.entries.insert(at, (key, value));
                at
            }
        };
        // The entries were in order before, so the new one's neighbours are
        // all that can be out of order (a check of the whole map made a
        // bulk load quadratic).
        assert!(at == 0 || self.entries[at - 1].0 < self.entries[at].0);
        assert!(at + 1 == self.entries.len() || self.entries[at].0 < self.entries[at + 1].0);
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Bytes, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Bytes> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// How many entries the map holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<'a, V> IntoIterator for &'a KeyMap<V> {
    type Item = (&'a Bytes, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Bytes, V)>, fn(&'a (Bytes, V)) -> (&'a Bytes, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
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
}
