//! The bounded ring of recent commit summaries, the horizon H, validation,
//! and the snapshot-too-old rule.
//!
//! The log keeps, for each of the last N commits, its sequence number and
//! the keys it wrote. H is the sequence number of the newest summary evicted
//! (0 if none; after recovery, the highest recovered sequence number). A
//! snapshot S < H may miss a commit the log no longer knows, so it aborts as
//! snapshot-too-old; S == H is complete, since every commit after H is in
//! the ring.

use std::collections::VecDeque;

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::key_filter::KeyFilter;
use crate::mutant::Mutant;
use crate::txn::Txn;
use crate::Bytes;

/// Keys of a summary kept inline: most commits write a few keys, and the
/// ring then holds its summaries without one allocation each.
const INLINE_KEYS: usize = 2;

/// The largest read set whose filter validation builds. Building it costs
/// a hash per read, at every validation against a newer commit, and a
/// larger set's filter rules out less (each key sets one bit of 64: with
/// 17 keys, a two-key summary's filter meets it about two times in five),
/// so an audit that read every account is validated by comparing keys,
/// as before. A transfer reads two.
const FILTERED_READS: usize = 16;

/// What the log remembers about one commit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Summary {
    pub(crate) seq: u64,
    pub(crate) keys: SmallVec<[Bytes; INLINE_KEYS]>,
    /// The filter of `keys`, so that validation passes over a summary
    /// that shares no key with a read set without comparing keys.
    filter: KeyFilter,
    /// Which keys' superseded versions are reclaimed when the summary
    /// leaves the log (bit i for `keys[i]`; past the 64th, every key's):
    /// the others are dropped when their key is next written.
    pub(crate) reclaim: u64,
}

impl Summary {
    /// The summary of commit `seq`, with no key yet.
    pub(crate) fn new(seq: u64, reclaim: u64) -> Self {
        Summary {
            seq,
            keys: SmallVec::new(),
            filter: KeyFilter::default(),
            reclaim,
        }
    }

    /// Adds a key the commit wrote (in key order, after the others).
    #[cfg(test)]
    pub(crate) fn add_key(&mut self, key: &Bytes) {
        self.filter.add_hash(crate::mvcc::key_hash(key));
        self.keys.push(key.clone());
    }

    /// The commit's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The keys it wrote, in key order.
    pub fn keys(&self) -> &[Bytes] {
        &self.keys
    }
}

/// The ring of summaries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitLog {
    capacity: usize,
    ring: VecDeque<Summary>,
    horizon: u64,
}

impl CommitLog {
    /// An empty log of `capacity` summaries whose horizon is `horizon`.
    pub fn new(capacity: usize, horizon: u64) -> Self {
        assert!(capacity > 0, "a commit log holds at least one summary");
        CommitLog {
            capacity,
            ring: VecDeque::with_capacity(capacity),
            horizon,
        }
    }

    /// H: the newest evicted sequence number.
    pub fn horizon(&self) -> u64 {
        self.horizon
    }

    /// How many summaries the ring holds now.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether the ring holds no summary.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Adds commit `seq`, which wrote `keys` (in key order) and marks
    /// `reclaim` (see `Summary::reclaim`); `filter` must be the filter of
    /// `keys` (`Mvcc::apply` makes it from the hashes it computes anyway).
    /// If the ring was full, the oldest summary leaves it first: `evicted`
    /// is called with it, the horizon having moved to its sequence number,
    /// and it is then reused for the new summary, so a full ring neither
    /// drops nor builds a summary per commit.
    ///
    /// Crate-private: a filter that missed one of `keys` would hide a
    /// conflict, and checking it would hash every key again, so only the
    /// store's own commit path, which makes the filter, may push.
    pub(crate) fn push<'k>(
        &mut self,
        seq: u64,
        keys: impl IntoIterator<Item = &'k Bytes>,
        reclaim: u64,
        filter: KeyFilter,
        evicted: impl FnOnce(&Summary),
    ) {
        if let Some(newest) = self.ring.back() {
            assert!(newest.seq < seq, "summaries arrive in commit order");
        }
        assert!(seq > self.horizon, "a new commit is above the horizon");
        if self.ring.len() == self.capacity {
            let oldest = self.ring.front().expect("a full ring is not empty");
            assert!(oldest.seq > self.horizon);
            self.horizon = oldest.seq;
            evicted(oldest);
            // The oldest summary moves to the back untouched and is
            // rewritten there: a summary whose fields were just stored
            // one by one and then moved whole is loaded back in pieces
            // that span those stores, which the CPU cannot forward.
            let oldest = self.ring.pop_front().expect("a full ring is not empty");
            self.ring.push_back(oldest);
            let summary = self.ring.back_mut().expect("just pushed");
            summary.seq = seq;
            summary.reclaim = reclaim;
            summary.keys.clear();
        } else {
            self.ring.push_back(Summary::new(seq, reclaim));
        }
        let summary = self.ring.back_mut().expect("just pushed");
        // Added one by one: `extend` costs more for a few keys.
        for key in keys {
            summary.keys.push(key.clone());
        }
        debug_assert_eq!(filter, KeyFilter::of(&summary.keys), "the filter is the keys'");
        summary.filter = filter;
        assert!(self.ring.len() <= self.capacity);
    }

    /// Rejects a snapshot older than the horizon.
    pub fn check_snapshot(&self, snapshot: u64, mutant: Option<Mutant>) -> Result<()> {
        let too_old = match mutant {
            Some(Mutant::NoSnapshotTooOld) => false,
            Some(Mutant::RingOffByOne) => snapshot + 1 < self.horizon,
            _ => snapshot < self.horizon,
        };
        if too_old {
            return Err(Error::SnapshotTooOld {
                snapshot,
                horizon: self.horizon,
            });
        }
        Ok(())
    }

    /// Validates a transaction's reads against every commit after its
    /// snapshot that the ring holds.
    #[inline]
    pub fn validate(&self, txn: &Txn, mutant: Option<Mutant>) -> Result<()> {
        if mutant == Some(Mutant::SkipReadValidation) {
            return Ok(());
        }
        // Commonly no commit came after the snapshot: checked inline in the
        // caller.
        if self.ring.back().is_none_or(|newest| newest.seq <= txn.snapshot) {
            return Ok(());
        }
        self.validate_newer(txn, mutant)
    }

    /// `validate` when commits came after the snapshot.
    ///
    /// The summaries newer than the snapshot are the ring's last ones, so
    /// they are walked from the newest back to the first at or below the
    /// snapshot, with no search for where they start. Most share no key
    /// with the read set and are passed over by their filters alone; only
    /// when one may share a key are the keys compared (`find_conflict`),
    /// out of line, so this walk keeps none of that comparison's state.
    #[inline(never)]
    fn validate_newer(&self, txn: &Txn, mutant: Option<Mutant>) -> Result<()> {
        // A listed range conflicts with keys the transaction never read,
        // so then no summary is passed over; nor when the read set is so
        // large that its filter would rule little out.
        let reads = if txn.ranges.is_empty() && txn.reads.len() <= FILTERED_READS {
            debug_assert_eq!(
                txn.read_filter,
                KeyFilter::of(txn.reads.keys()),
                "the read set's filter"
            );
            txn.read_filter
        } else {
            KeyFilter::ALL
        };
        let passed_over = self
            .ring
            .iter()
            .rev()
            .take_while(|summary| summary.seq > txn.snapshot)
            .all(|summary| !summary.filter.may_meet(reads));
        if passed_over {
            return Ok(());
        }
        self.find_conflict(txn, reads, mutant)
    }

    /// The walk of `validate_newer` that compares keys. A conflict found is
    /// kept and the walk goes on, so the one reported is the oldest
    /// conflicting commit's first conflicting key, as a walk from the
    /// oldest would report.
    #[inline(never)]
    fn find_conflict(&self, txn: &Txn, reads: KeyFilter, mutant: Option<Mutant>) -> Result<()> {
        let mut oldest_conflict = None;
        for summary in self.ring.iter().rev() {
            if summary.seq <= txn.snapshot {
                break;
            }
            if !summary.filter.may_meet(reads) {
                continue;
            }
            if let Some(key) = summary
                .keys
                .iter()
                .find(|key| Self::read_conflicts(txn, key, mutant))
            {
                oldest_conflict = Some((key, summary.seq));
            }
        }
        match oldest_conflict {
            Some((key, seq)) => Err(Error::Conflict {
                key: key.to_vec(),
                seq,
            }),
            None => Ok(()),
        }
    }

    fn read_conflicts(txn: &Txn, key: &Bytes, mutant: Option<Mutant>) -> bool {
        let read = txn.reads.contains_stored(key);
        let point = match mutant {
            Some(Mutant::ValidateWriteSetOnly) => read && txn.writes.contains_stored(key),
            _ => read,
        };
        point || (mutant != Some(Mutant::LostRangeConflict) && txn.ranges.iter().any(|r| r.contains(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::key_hash;

    /// Pushes commit `seq` writing `keys`; returns the sequence number of
    /// the summary evicted, if any.
    fn push(log: &mut CommitLog, seq: u64, keys: &[&str]) -> Option<u64> {
        let keys: Vec<Bytes> = keys.iter().map(|k| Bytes::from(*k)).collect();
        let mut evicted = None;
        log.push(seq, &keys, 0, KeyFilter::of(&keys), |old| evicted = Some(old.seq));
        evicted
    }

    #[test]
    fn eviction_raises_the_horizon_to_the_evicted_sequence() {
        let mut log = CommitLog::new(2, 0);
        assert_eq!(push(&mut log, 1, &["a"]), None);
        assert_eq!(push(&mut log, 2, &["b"]), None);
        assert_eq!(log.horizon(), 0);
        assert_eq!(push(&mut log, 3, &["c", "d"]), Some(1));
        assert_eq!(log.horizon(), 1);
        assert_eq!(log.len(), 2);
        let newest = log.ring.back().unwrap();
        assert_eq!(
            (newest.seq, newest.keys.as_slice()),
            (3, &[Bytes::from("c"), Bytes::from("d")][..])
        );
        assert_eq!(push(&mut log, 4, &[]), Some(2));
        assert!(
            log.ring.back().unwrap().keys.is_empty(),
            "a reused slot keeps none of its keys"
        );
    }

    #[test]
    fn snapshot_exactly_at_the_horizon_is_not_too_old() {
        let mut log = CommitLog::new(1, 0);
        push(&mut log, 1, &["a"]);
        push(&mut log, 2, &["a"]);
        assert_eq!(log.horizon(), 1);
        assert!(log.check_snapshot(1, None).is_ok());
        assert!(matches!(
            log.check_snapshot(0, None),
            Err(Error::SnapshotTooOld {
                snapshot: 0,
                horizon: 1
            })
        ));
        assert!(log.check_snapshot(0, Some(Mutant::RingOffByOne)).is_ok());
        assert!(log.check_snapshot(0, Some(Mutant::NoSnapshotTooOld)).is_ok());
    }

    /// Validation looks at exactly the summaries newer than the snapshot,
    /// with or without gaps between their sequence numbers, and reports
    /// the oldest of them that conflicts.
    #[test]
    fn validation_sees_the_summaries_after_the_snapshot_with_or_without_gaps() {
        let mut dense = CommitLog::new(4, 0);
        for seq in 1..=6 {
            push(&mut dense, seq, &["a"]);
        }
        let mut gaps = CommitLog::new(4, 0);
        for seq in [2, 5, 6, 9, 12] {
            push(&mut gaps, seq, &["a"]);
        }
        for log in [&dense, &gaps] {
            for snapshot in log.horizon()..14 {
                let mut txn = Txn::new(snapshot);
                txn.record_read(Bytes::from("a"), key_hash(b"a"), None);
                let oldest_newer = log.ring.iter().map(|s| s.seq).find(|&seq| seq > snapshot);
                match (log.validate(&txn, None), oldest_newer) {
                    (Ok(()), None) => {}
                    (Err(Error::Conflict { seq, .. }), Some(expected)) => {
                        assert_eq!(seq, expected, "snapshot {snapshot}");
                    }
                    (got, expected) => panic!("snapshot {snapshot}: {got:?}, expected {expected:?}"),
                }
            }
        }
    }

    /// A transaction at snapshot 0 that read `keys` and listed `ranges`.
    fn reader(keys: &[String], ranges: Vec<crate::KeyRange>) -> Txn {
        let mut txn = Txn::new(0);
        for key in keys {
            txn.record_read(Bytes::from(key.as_str()), key_hash(key.as_bytes()), None);
        }
        txn.ranges = ranges;
        txn
    }

    /// The filter only ever passes over summaries that share no key with
    /// the read set: a read key written later conflicts whatever the size
    /// of the read set (below and above the largest one filtered), and a
    /// key written into a listed range conflicts though it was never read.
    #[test]
    fn validation_finds_every_conflict_the_filter_could_hide() {
        let mut log = CommitLog::new(64, 0);
        for seq in 1..=40 {
            push(&mut log, seq, &[&format!("w{seq:03}"), &format!("x{seq:03}")]);
        }
        for reads in [1, FILTERED_READS, FILTERED_READS + 1, 40] {
            let keys: Vec<String> = (0..reads).map(|i| format!("r{i:03}")).collect();
            assert!(
                log.validate(&reader(&keys, vec![]), None).is_ok(),
                "{reads} unrelated reads"
            );
            for written in [1, 17, 40] {
                let mut keys = keys.clone();
                keys[reads - 1] = format!("x{written:03}");
                match log.validate(&reader(&keys, vec![]), None) {
                    Err(Error::Conflict { seq, .. }) => assert_eq!(seq, written),
                    other => panic!("{reads} reads, x{written:03} written: {other:?}"),
                }
            }
        }
        let keys = vec!["unrelated".to_owned()];
        let ranged = reader(&keys, vec![crate::KeyRange::prefix("w02")]);
        assert!(matches!(
            log.validate(&ranged, None),
            Err(Error::Conflict { seq: 20, .. })
        ));
    }

    #[test]
    #[should_panic(expected = "summaries arrive in commit order")]
    fn out_of_order_summaries_are_a_broken_invariant() {
        let mut log = CommitLog::new(4, 0);
        push(&mut log, 2, &["a"]);
        push(&mut log, 2, &["b"]);
    }
}
