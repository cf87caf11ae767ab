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
//! Each summary keeps the filter of the keys its commit wrote, built once
//! as it enters the log; validation builds the read set's filter when a
//! newer commit exists, so a read pays nothing for it.
//!
//! The bit is a function of the key's bytes alone (an inline key's two
//! words hold its kind, length and zero-padded bytes, and equal bytes are
//! always stored alike), so a key read and the same key written always set
//! the same bit. A large set fills the word and then rules nothing out.

use crate::Bytes;

/// The filter of a set of keys: the union of their bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KeyFilter(u64);

impl KeyFilter {
    /// A filter that rules nothing out (for a transaction that also
    /// listed ranges, whose conflicts are not keys it read).
    pub const ALL: KeyFilter = KeyFilter(u64::MAX);

    /// The filter of `keys`.
    #[inline]
    pub fn of<'k>(keys: impl IntoIterator<Item = &'k Bytes>) -> Self {
        let mut filter = KeyFilter::default();
        for key in keys {
            filter.add(key);
        }
        filter
    }

    /// Adds `key` to the set.
    #[inline]
    pub fn add(&mut self, key: &Bytes) {
        self.0 |= 1 << (key.filter_hash() >> 58);
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
            let mut a = KeyFilter::default();
            a.add(&key(4 * i));
            a.add(&key(4 * i + 1));
            let mut b = KeyFilter::default();
            b.add(&key(4 * i + 2));
            b.add(&key(4 * i + 3));
            met += u64::from(a.may_meet(b));
        }
        assert!(met < trials / 10, "{met} of {trials} disjoint pairs met");
        assert!(met > 0, "a filter of 64 bits does meet by chance");
    }
}
