//! A one-word filter of a set of keys, so that validation skips the commit
//! summaries that cannot hold a key the transaction read.
//!
//! Validation compares every key a newer commit wrote with the read set.
//! Most newer commits share no key with it, and a transfer's validation
//! made about a dozen key comparisons to learn that. Each key sets one of
//! 64 bits, chosen by a hash of its bytes; two sets whose filters share no
//! bit share no key, so a summary whose filter misses the read set's is
//! passed over with one `and`. Filters that do meet are only a maybe: the
//! keys are then compared as before, so the filter never decides a
//! conflict, it only rules one out.
//!
//! Each summary keeps the filter of the keys its commit wrote, made as
//! the commit is applied; a transaction keeps the filter of the keys it
//! read, made as it reads them (an `or` per read, from the hash the read
//! computed to find its key).
//!
//! A key's bit is the top six bits of its hash in the version table
//! (`mvcc::key_hash`), which applying a commit computes anyway to find each
//! written key's chain, so the writer's filter costs little beyond it. The hash is a function of the key's bytes alone, so a key read and
//! the same key written always set the same bit. A large set fills the word
//! and then rules nothing out.

use crate::mvcc::key_hash;
use crate::Bytes;

/// The filter of a set of keys: the union of their bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KeyFilter(u64);

impl KeyFilter {
    /// A filter that rules nothing out: validation's for a transaction that
    /// listed ranges (whose conflicts are not keys it read) or read more
    /// keys than it builds a filter for.
    pub const ALL: KeyFilter = KeyFilter(u64::MAX);

    /// The filter of `keys`.
    #[inline]
    pub fn of<'k>(keys: impl IntoIterator<Item = &'k Bytes>) -> Self {
        let mut filter = KeyFilter::default();
        for key in keys {
            filter.add_hash(key_hash(key));
        }
        filter
    }

    /// Adds the key whose `key_hash` is `hash` to the set.
    #[inline(always)]
    pub fn add_hash(&mut self, hash: u64) {
        self.0 |= 1 << (hash >> 58);
    }

    /// Whether the two sets may share a key (false means they share none).
    #[inline]
    pub fn may_meet(self, other: KeyFilter) -> bool {
        self.0 & other.0 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(keys: &[&[u8]]) -> KeyFilter {
        let keys: Vec<Bytes> = keys.iter().map(|k| Bytes::from(*k)).collect();
        KeyFilter::of(&keys)
    }

    #[test]
    fn sets_that_share_a_key_always_meet() {
        let long = [7u8; 40];
        for shared in [&b"acct00000042"[..], b"", b"k", &long[..], b"fourteen bytes"] {
            let a = filter(&[b"x", shared]);
            let b = filter(&[shared, b"y", b"z"]);
            assert!(a.may_meet(b), "{shared:?}");
        }
        assert!(!KeyFilter::default().may_meet(KeyFilter::ALL));
        assert!(filter(&[b"a"]).may_meet(KeyFilter::ALL));
    }

    #[test]
    fn disjoint_small_sets_usually_do_not_meet() {
        // Pairs of distinct account keys, as a transfer reads and writes:
        // with one bit of 64 per key, about 2 * 2 / 64 of pairs of pairs
        // meet by chance.
        let key = |i: u64| Bytes::from(&crate::bench::account(i)[..]);
        let mut met = 0;
        let trials = 10_000u64;
        for i in 0..trials {
            let a = KeyFilter::of(&[key(4 * i), key(4 * i + 1)]);
            let b = KeyFilter::of(&[key(4 * i + 2), key(4 * i + 3)]);
            met += u64::from(a.may_meet(b));
        }
        assert!(met < trials / 10, "{met} of {trials} disjoint pairs met");
        assert!(met > 0, "a filter of 64 bits does meet by chance");
    }

    /// A key's bit is the same whether it is hashed as stored bytes or as
    /// a slice (as applying a commit hashes it).
    #[test]
    fn a_key_sets_the_same_bit_stored_or_as_a_slice() {
        for key in [&b"acct00000042"[..], b"", &[9; 40][..]] {
            let mut from_slice = KeyFilter::default();
            from_slice.add_hash(key_hash(key));
            assert_eq!(KeyFilter::of(&[Bytes::from(key)]), from_slice);
        }
    }
}
