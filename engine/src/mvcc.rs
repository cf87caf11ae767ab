//! Multi-version state: a chain of versions per key, snapshot reads, and
//! reclaiming versions that no snapshot at or above the horizon H can need.
//!
//! A snapshot S >= H reads the newest version <= S, so for every key the
//! chain keeps its newest version <= H and everything newer; older versions
//! are reclaimed when the commit that made them obsolete leaves the commit
//! log. A read at S < H that would need a reclaimed version reports
//! `Reclaimed` (the caller turns it into `SnapshotTooOld`); it never returns
//! a version other than the newest one <= S.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::ops::Bound;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::key_map::KeyMap;
use crate::mutant::Mutant;
use crate::range::KeyRange;
use crate::Bytes;

/// Versions of a key kept inline in its hash table entry: in steady state a
/// key has its current version, plus the one before while the commit that
/// replaced it is still in the commit log, so most reads and reclaims touch
/// no memory outside the table. A third inline version would spare the
/// allocation when a key is written again within the log's window (about
/// one write in five in the transfer benchmark), but it makes every entry a
/// third bigger, and in a cache simulation of that benchmark the extra cache
/// misses outweighed the saved instructions.
const INLINE_VERSIONS: usize = 2;

/// The versions of one key, oldest first. A `None` value is a delete.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Chain {
    versions: SmallVec<[(u64, Option<Bytes>); INLINE_VERSIONS]>,
    /// Whether older versions of this key were reclaimed.
    pruned: bool,
}

/// What a snapshot read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The newest version <= the snapshot: its sequence number and value.
    Found(u64, Bytes),
    /// The key had no live version at the snapshot.
    Absent,
    /// The version the snapshot needs may have been reclaimed.
    Reclaimed,
}

/// All keys' version chains.
///
/// Point reads go through a hash map with a fixed (unseeded) hasher, which
/// is several times faster than an ordered map on the commit path; the
/// ordered set of keys serves range scans, checkpoints and hashing, so
/// nothing ever depends on the hash map's iteration order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mvcc {
    keys: FxHashMap<Bytes, Chain>,
    order: BTreeSet<Bytes>,
    /// The highest horizon at which a key was dropped entirely (its newest
    /// version was a delete): below it, a key with no version may have had
    /// one that was reclaimed.
    dropped_below: u64,
}

impl Hash for Mvcc {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for key in &self.order {
            key.hash(state);
            self.keys[key].hash(state);
        }
        self.dropped_below.hash(state);
    }
}

impl Mvcc {
    /// An empty state.
    pub fn new() -> Self {
        Mvcc::default()
    }

    /// The newest version of `key` at or below `snapshot`, with the stored
    /// key when the key has versions (so a read set can share it rather
    /// than copy it).
    pub fn get(&self, key: &[u8], snapshot: u64) -> (Option<&Bytes>, Lookup) {
        let found = match Bytes::inline(key) {
            Some(probe) => self.keys.get_key_value(&probe),
            None => self.keys.get_key_value(key),
        };
        let Some((stored, chain)) = found else {
            let lookup = if snapshot < self.dropped_below {
                Lookup::Reclaimed
            } else {
                Lookup::Absent
            };
            return (None, lookup);
        };
        (
            Some(stored),
            Self::read_chain(chain, snapshot, self.dropped_below),
        )
    }

    fn read_chain(chain: &Chain, snapshot: u64, dropped_below: u64) -> Lookup {
        let at = chain.versions.partition_point(|(seq, _)| *seq <= snapshot);
        match at.checked_sub(1).map(|i| &chain.versions[i]) {
            Some((seq, Some(value))) => Lookup::Found(*seq, value.clone()),
            Some((_, None)) => Lookup::Absent,
            None if chain.pruned || snapshot < dropped_below => Lookup::Reclaimed,
            None => Lookup::Absent,
        }
    }

    /// The newest version of `key`, whatever its sequence number.
    pub fn latest(&self, key: &[u8]) -> Option<(u64, Bytes)> {
        let (seq, value) = self.keys.get(key)?.versions.last()?;
        value.as_ref().map(|v| (*seq, v.clone()))
    }

    /// The live keys in `range` at `snapshot`, in key order, at most `limit`.
    /// `None` when a version the snapshot needs may have been reclaimed.
    pub fn scan(&self, range: &KeyRange, snapshot: u64, limit: usize) -> Option<Vec<(Bytes, u64, Bytes)>> {
        if snapshot < self.dropped_below {
            return None;
        }
        let upper = match range.end() {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        let mut out = Vec::new();
        if range.is_empty() {
            return Some(out);
        }
        for key in self
            .order
            .range::<[u8], _>((Bound::Included(range.start()), upper))
        {
            if out.len() >= limit {
                break;
            }
            let chain = &self.keys[key];
            match Self::read_chain(chain, snapshot, self.dropped_below) {
                Lookup::Found(seq, value) => out.push((key.clone(), seq, value)),
                Lookup::Absent => {}
                Lookup::Reclaimed => return None,
            }
        }
        Some(out)
    }

    /// Installs the writes of commit `seq`, which must be newer than every
    /// version present.
    pub fn apply(&mut self, seq: u64, writes: &KeyMap<Option<Bytes>>) {
        for (key, value) in writes {
            // Most commits update existing keys: look up before paying for
            // the owned key an insert needs.
            let chain = match self.keys.get_mut(key) {
                Some(chain) => chain,
                None => self.chain_mut(key),
            };
            if let Some((last, _)) = chain.versions.last() {
                assert!(*last < seq, "versions of a key are installed in commit order");
            }
            chain.versions.push((seq, value.clone()));
        }
    }

    /// Reclaims versions of `keys` that no snapshot >= `horizon` can need.
    /// Called with the keys of the commit that just left the commit log.
    pub fn reclaim(&mut self, keys: &[Bytes], horizon: u64, mutant: Option<Mutant>) {
        for key in keys {
            let Some(chain) = self.keys.get_mut(key) else {
                continue;
            };
            let versions = chain.versions.as_mut_slice();
            let at = versions.partition_point(|(seq, _)| *seq <= horizon);
            // Keep the newest version <= horizon (index at - 1) and all newer.
            // The early-gc mutant also drops that version whenever a newer one
            // exists: an off-by-one in the prune boundary.
            let mut keep_from = at.saturating_sub(1);
            if mutant == Some(Mutant::EarlyGc) && at < versions.len() {
                keep_from = at;
            }
            if keep_from > 0 {
                if keep_from == 1 {
                    // The common case, one obsolete version: rotated to the
                    // end by swaps and popped, cheaper for a chain of two or
                    // three than `drain`'s general tail move.
                    for i in 1..versions.len() {
                        versions.swap(i - 1, i);
                    }
                    chain.versions.pop();
                } else {
                    chain.versions.drain(..keep_from);
                }
                if chain.versions.spilled() && chain.versions.len() <= INLINE_VERSIONS {
                    chain.versions.shrink_to_fit();
                }
                chain.pruned = mutant != Some(Mutant::EarlyGc);
            }
            let only_tombstone = chain.versions.len() == 1 && chain.versions[0].1.is_none();
            if only_tombstone && chain.versions[0].0 <= horizon {
                self.keys.remove(key);
                self.order.remove(key);
                self.dropped_below = self.dropped_below.max(horizon);
            }
        }
    }

    /// The newest live value of every key, with its version: what a
    /// checkpoint writes.
    pub fn latest_entries(&self) -> impl Iterator<Item = (&Bytes, u64, &Bytes)> {
        self.order.iter().filter_map(|key| {
            let (seq, value) = self.keys[key].versions.last()?;
            value.as_ref().map(|v| (key, *seq, v))
        })
    }

    /// Loads a checkpoint's entries, which come in strictly increasing key
    /// order, into an empty state (recovery's first step). The key order is
    /// built from them in one pass, with no sort.
    pub fn load_checkpoint(&mut self, entries: Vec<(Bytes, u64, Bytes)>) {
        assert!(
            self.keys.is_empty() && self.order.is_empty(),
            "a checkpoint loads into an empty state"
        );
        assert!(
            entries.windows(2).all(|w| w[0].0 < w[1].0),
            "a checkpoint's keys are in strictly increasing order"
        );
        self.keys.reserve(entries.len());
        let mut order = Vec::with_capacity(entries.len());
        for (key, seq, value) in entries {
            order.push(key.clone());
            let versions = SmallVec::from_elem((seq, Some(value)), 1);
            self.keys.insert(
                key,
                Chain {
                    versions,
                    pruned: false,
                },
            );
        }
        // Already sorted, so collecting is a single bulk load.
        self.order = order.into_iter().collect();
    }

    /// Installs one version replayed from the WAL as the key's only one:
    /// recovery keeps just the newest version of every key (see
    /// `collapse`), so replaying a long WAL never grows a chain. A key new
    /// since the checkpoint enters the key order here; the rest are there.
    pub fn install(&mut self, key: Bytes, seq: u64, value: Option<Bytes>) {
        let chain = match self.keys.entry(key) {
            std::collections::hash_map::Entry::Occupied(chain) => chain.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                self.order.insert(slot.key().clone());
                slot.insert(Chain::default())
            }
        };
        if let Some((last, _)) = chain.versions.last() {
            assert!(*last < seq, "recovered versions arrive in commit order");
        }
        chain.versions.clear();
        chain.versions.push((seq, value));
    }

    /// Collapses every chain to its newest version and forgets deleted keys:
    /// the state after recovery, where no snapshot older than the recovered
    /// sequence number exists.
    pub fn collapse(&mut self, horizon: u64) {
        assert_eq!(self.order.len(), self.keys.len(), "every key is in the key order");
        let mut deleted = Vec::new();
        self.keys.retain(|key, chain| {
            let newest = chain.versions.pop().expect("chains are never empty");
            chain.versions = SmallVec::from_elem(newest, 1);
            chain.pruned = false;
            let live = chain.versions[0].1.is_some();
            if !live {
                deleted.push(key.clone());
            }
            live
        });
        for key in &deleted {
            assert!(self.order.remove(key), "a deleted key was in the key order");
        }
        self.dropped_below = horizon;
    }

    /// The chain of `key`, created empty (and entered in key order) if new.
    fn chain_mut(&mut self, key: &Bytes) -> &mut Chain {
        match self.keys.entry(key.clone()) {
            std::collections::hash_map::Entry::Occupied(chain) => chain.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                self.order.insert(key.clone());
                slot.insert(Chain::default())
            }
        }
    }

    /// The number of keys with versions (live or deleted).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The number of versions held, over all keys (for memory-bound tests).
    pub fn version_count(&self) -> usize {
        self.keys.values().map(|c| c.versions.len()).sum()
    }
}
