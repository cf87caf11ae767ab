//! A transaction's own state: its snapshot, read set and buffered writes.
//!
//! A `Txn` is plain data held by its caller, not by the store, so a model
//! checker can clone an agent's open transaction along with the store. The
//! store's methods take it by reference to read and validate.

use crate::error::Result;
use crate::key_filter::KeyFilter;
use crate::key_map::KeyMap;
use crate::limits::{check_key, check_value};
use crate::mvcc::key_hash;
use crate::range::KeyRange;
use crate::Bytes;

/// An open transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub(crate) snapshot: u64,
    /// Keys read from the snapshot, with the version seen (`None` = absent).
    /// Only `record_read` adds to it, so `read_filter` covers it.
    pub(crate) reads: KeyMap<Option<u64>>,
    /// The filter of the keys in `reads` (see `key_filter`), made as they
    /// are read from the hash each read computed to find its key: built
    /// at validation, it hashed every key read once more, and validation
    /// runs whenever a commit came after the snapshot. It is a function of
    /// the keys in `reads`, so equal read sets have equal filters.
    pub(crate) read_filter: KeyFilter,
    /// Ranges listed: a commit into one after the snapshot is a conflict.
    pub(crate) ranges: Vec<KeyRange>,
    /// Buffered writes; `None` is a delete.
    pub(crate) writes: KeyMap<Option<Bytes>>,
}

impl std::hash::Hash for Txn {
    /// The fields in order, less `read_filter`, which is a function of
    /// `reads` and adds nothing to tell two transactions apart. Hashing it
    /// would change every open transaction's hash, and the model checker
    /// orders interchangeable agents by theirs: the same states, but
    /// another of the equally short counterexamples printed.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.snapshot.hash(state);
        self.reads.hash(state);
        self.ranges.hash(state);
        self.writes.hash(state);
    }
}

impl Txn {
    #[inline]
    pub(crate) fn new(snapshot: u64) -> Self {
        Txn {
            snapshot,
            reads: KeyMap::new(),
            read_filter: KeyFilter::default(),
            ranges: Vec::new(),
            writes: KeyMap::new(),
        }
    }

    /// The sequence number of the last commit this transaction sees.
    pub fn snapshot(&self) -> u64 {
        self.snapshot
    }

    /// Records a read of `key` from the snapshot, seeing `version`; `hash`
    /// is the key's `key_hash`, which the read computed to find it.
    #[inline]
    pub(crate) fn record_read(&mut self, key: Bytes, hash: u64, version: Option<u64>) {
        debug_assert_eq!(hash, key_hash(&key), "the key's hash in the table");
        self.reads.insert(key, version);
        self.read_filter.add_hash(hash);
    }

    /// Buffers a write. A key not read before is a blind write: it does not
    /// enter the read set.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        let key = self.shared_key(key);
        self.writes.insert(key, Some(Bytes::from(value)));
        Ok(())
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        let key = self.shared_key(key);
        self.writes.insert(key, None);
        Ok(())
    }

    /// The key as stored bytes: a short key is copied inline; a long one
    /// reuses the read set's copy when the key was read first (the common
    /// read-modify-write), so it is not allocated again.
    fn shared_key(&self, key: &[u8]) -> Bytes {
        if let Some(inline) = Bytes::inline(key) {
            return inline;
        }
        match self.reads.get_key_value(key) {
            Some((shared, _)) => shared.clone(),
            None => Bytes::from(key),
        }
    }

    /// Whether the transaction has buffered no write.
    pub fn is_read_only(&self) -> bool {
        self.writes.is_empty()
    }

    /// The keys read from the snapshot, with the version each had.
    pub fn read_set(&self) -> impl Iterator<Item = (&[u8], Option<u64>)> {
        self.reads.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// The ranges listed.
    pub fn ranges(&self) -> &[KeyRange] {
        &self.ranges
    }

    /// The buffered writes (`None` = delete), in key order.
    pub fn writes(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.writes.iter().map(|(k, v)| (k.as_ref(), v.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash, Hasher};

    use super::*;

    /// The read filter does not enter a transaction's hash: the hash is
    /// that of the other fields in order, as it was before there was a
    /// filter, so the model checker orders agents (and picks its
    /// counterexamples) as it did.
    #[test]
    fn the_hash_leaves_out_the_read_filter() {
        let mut txn = Txn::new(7);
        for key in [&b"a"[..], b"bb", b"a key longer than fourteen bytes"] {
            txn.record_read(Bytes::from(key), key_hash(key), Some(3));
        }
        txn.put(b"w", b"1").unwrap();
        assert_ne!(txn.read_filter, KeyFilter::default());
        let hasher = BuildHasherDefault::<DefaultHasher>::default();
        let mut fields = hasher.build_hasher();
        txn.snapshot.hash(&mut fields);
        txn.reads.hash(&mut fields);
        txn.ranges.hash(&mut fields);
        txn.writes.hash(&mut fields);
        assert_eq!(hasher.hash_one(&txn), fields.finish());
    }
}
