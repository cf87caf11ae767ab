//! Multi-version state: a chain of versions per key, snapshot reads, and
//! reclaiming versions that no snapshot at or above the horizon H can need.
//!
//! A snapshot S >= H reads the newest version <= S, so for every key only
//! its newest version <= H and everything newer are live; older versions
//! are obsolete. A read at S < H that would need an obsolete version
//! reports `Reclaimed` (the caller turns it into `SnapshotTooOld`), whether
//! or not the version is still held; it never returns a version other than
//! the newest one <= S.
//!
//! Obsolete versions are dropped lazily where that costs no memory: when a
//! key is written, its obsolete versions go first (its entry is in cache
//! then). Only when the commit that made a version obsolete leaves the
//! commit log is the key looked up again, and only if keeping that version
//! would hold memory beyond the key's entry: the version's value lives on
//! the heap, the chain has spilled to the heap, or the commit deleted the
//! key (a key whose only version is an obsolete delete is dropped). The
//! commit's summary says which of its keys need that (see `apply`).
//!
//! Memory bound: every key holds at most its live versions plus obsolete
//! ones in the inline slots its entry has anyway, with values inline; a
//! chain longer than those slots, or any heap-held value, is cut back to its
//! live versions when the last commit that lengthened or superseded it
//! leaves the log. So memory stays bounded by the keys' entries plus the
//! versions written by the commits in the log.
//!
//! Equality and hashing look only at live versions (and count a chain as
//! pruned when it holds obsolete ones), so whether an obsolete version was
//! dropped yet never tells two states apart.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::hash_map::RawEntryMut;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use crate::commit_log::Summary;
use crate::key_filter::KeyFilter;
use crate::key_map::KeyMap;
use crate::key_order::KeyOrder;
use crate::mutant::Mutant;
use crate::prefetch::prefetch_value;
use crate::range::KeyRange;
use crate::Bytes;

/// Versions of a key kept inline in its hash table entry: in steady state a
/// key has its current version, plus the one before while the commit that
/// replaced it is still in the commit log (or, with lazy pruning, until the
/// key is next written). The third slot holds a key written again within
/// the log's window (about one write in five in the transfer benchmark)
/// without a heap allocation, and so without an eager reclaim when the
/// commit leaves the log. With two-word `Bytes` an entry is then as big as
/// it was with two slots and three-word `Bytes`; in the transfer benchmark
/// it saves about 135 instructions per transfer for about half a cache miss
/// more (cachegrind, 512 KB last level), and measured a few percent faster.
const INLINE_VERSIONS: usize = 3;

/// Keys of a commit whose reclaim the summary can mark individually; later
/// ones are always reclaimed when it leaves the log.
const MARKED_KEYS: usize = 64;

/// The versions of one key, oldest first. A `None` value is a delete.
#[derive(Debug, Clone, Default)]
struct Chain {
    versions: SmallVec<[(u64, Option<Bytes>); INLINE_VERSIONS]>,
    /// Whether older versions of this key were reclaimed.
    pruned: bool,
}

impl Chain {
    /// A chain of one version, held inline.
    #[inline]
    fn single(version: (u64, Option<Bytes>)) -> Chain {
        let mut versions = SmallVec::new();
        versions.push(version);
        Chain {
            versions,
            pruned: false,
        }
    }

    /// Where the live versions start at `horizon`: at the newest version
    /// <= horizon, or at the first if none is.
    #[inline]
    fn live_from(&self, horizon: u64) -> usize {
        self.versions
            .partition_point(|(seq, _)| *seq <= horizon)
            .saturating_sub(1)
    }

    /// The live versions at `horizon`, and whether older ones are gone or
    /// obsolete: the chain as eager reclaim would have left it.
    fn live(&self, horizon: u64) -> (&[(u64, Option<Bytes>)], bool) {
        let from = self.live_from(horizon);
        (&self.versions[from..], self.pruned || from > 0)
    }

    /// Drops the versions before index `from`.
    #[inline]
    fn drop_before(&mut self, from: usize) {
        if from > 0 {
            self.drop_some_before(from);
        }
    }

    /// `drop_before` when there are versions to drop.
    #[inline(never)]
    fn drop_some_before(&mut self, from: usize) {
        if from == 1 {
            // The common case, one obsolete version: rotated to the end by
            // swaps and popped, cheaper for a chain of two or three than
            // `drain`'s general tail move.
            let versions = self.versions.as_mut_slice();
            for i in 1..versions.len() {
                versions.swap(i - 1, i);
            }
            self.versions.pop();
        } else {
            self.versions.drain(..from);
        }
        self.pruned = true;
    }

    /// Drops the versions before index `from` and appends `version`.
    #[inline]
    fn supersede_before(&mut self, from: usize, version: (u64, Option<Bytes>)) {
        if from == 1 {
            // The common case, one obsolete version: the new version takes
            // its place and is rotated to the end by swaps, which spares
            // popping the old one and pushing the new one.
            let versions = self.versions.as_mut_slice();
            versions[0] = version;
            for i in 1..versions.len() {
                versions.swap(i - 1, i);
            }
            self.pruned = true;
        } else {
            self.drop_before(from);
            self.versions.push(version);
        }
    }
}

/// What a snapshot read found. The value is borrowed from the table, so the
/// caller copies it once, straight to where it is kept, rather than through
/// each layer of the read path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The newest version <= the snapshot: its sequence number and value.
    Found(u64, &'a Bytes),
    /// The key had no live version at the snapshot.
    Absent,
    /// The version the snapshot needs may have been reclaimed.
    Reclaimed,
}

/// A hash map with a fixed (unseeded) hasher. It is hashbrown's rather than
/// std's (the same table) because hashbrown can find a key's entry by hash
/// alone, without reading the entry, which is what a prefetch needs.
type FxHashMap<K, V> = hashbrown::HashMap<K, V, FxBuildHasher>;

/// A key's hash in the version table (the same for its bytes as a slice
/// and as stored `Bytes`, which hash as their slice). The commit log's key
/// filters are made from it too (see `key_filter`).
///
/// Always inlined: a transfer hashes its keys several times on its way to
/// the commit, and whether the compiler inlined this into the simulator's
/// step depended on how large the step had grown.
#[inline(always)]
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    FxBuildHasher.hash_one(key)
}

/// A key's hash in the version table, computed once for a prefetch and
/// the write that follows it. Only `Mvcc::prefetch_hashed` makes one, so it
/// is always the hash the table itself would compute.
#[derive(Debug, Clone, Copy)]
pub struct KeyHash(u64);

/// All keys' version chains.
///
/// Point reads go through a hash map with a fixed (unseeded) hasher, which
/// is several times faster than an ordered map on the commit path; the
/// ordered set of keys serves range scans, checkpoints and hashing, so
/// nothing ever depends on the hash map's iteration order.
#[derive(Debug, Clone, Default)]
pub struct Mvcc {
    keys: FxHashMap<Bytes, Chain>,
    order: KeyOrder,
    /// The highest horizon at which a key was dropped entirely (its newest
    /// version was a delete): below it, a key with no version may have had
    /// one that was reclaimed.
    dropped_below: u64,
    /// H, as the commit log last reported it (see `evicted`).
    horizon: u64,
}

impl PartialEq for Mvcc {
    /// Equal when the same keys have the same live versions (see the
    /// module doc).
    fn eq(&self, other: &Self) -> bool {
        self.horizon == other.horizon
            && self.dropped_below == other.dropped_below
            && self.order == other.order
            && self.keys.len() == other.keys.len()
            && self.keys.iter().all(|(key, chain)| {
                other
                    .keys
                    .get(key)
                    .is_some_and(|theirs| chain.live(self.horizon) == theirs.live(other.horizon))
            })
    }
}

impl Eq for Mvcc {}

impl Hash for Mvcc {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for key in self.order.iter() {
            key.hash(state);
            self.keys[key].live(self.horizon).hash(state);
        }
        self.dropped_below.hash(state);
        self.horizon.hash(state);
    }
}

impl Mvcc {
    /// An empty state.
    pub fn new() -> Self {
        Mvcc::default()
    }

    /// Asks the CPU to start loading `key`'s entry, so that a read of it a
    /// little later does not wait for memory. The entry is found by hash
    /// alone: its stored key is not compared, because reading it would be
    /// the very wait this avoids. It is the first entry along the key's
    /// probe sequence whose tag (seven bits of the hash) matches; when that
    /// is another key's, the wrong entry is loaded, which costs only the
    /// hint.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        self.prefetch_hashed(key);
    }

    /// `prefetch`, returning the key's hash for the write that follows.
    #[inline]
    pub fn prefetch_hashed(&self, key: &[u8]) -> KeyHash {
        self.prefetch_candidate(key).0
    }

    /// `prefetch_hashed`, also returning the entry it asked for: `key`'s
    /// own entry, unless another key's tag matched first (see `prefetch`),
    /// which a reader tells by comparing the stored key once it has loaded.
    /// Always inlined: a checkpoint asks it for every key.
    #[inline(always)]
    fn prefetch_candidate(&self, key: &[u8]) -> (KeyHash, Option<(&Bytes, &Chain)>) {
        let hash = key_hash(key);
        let candidate = self.keys.raw_entry().from_hash(hash, |_| true);
        if let Some((stored, chain)) = candidate {
            prefetch_value(stored);
            prefetch_value(chain);
        }
        (KeyHash(hash), candidate)
    }

    /// The newest version of `key` at or below `snapshot`, with the stored
    /// key when the key has versions (so a read set can share it rather
    /// than copy it).
    #[inline]
    pub fn get(&self, key: &[u8], snapshot: u64) -> (Option<&Bytes>, Lookup<'_>) {
        let (_, stored, lookup) = self.get_hashed(key, snapshot);
        (stored, lookup)
    }

    /// `get`, with the key's hash in the table (`key_hash`), which the
    /// lookup computes anyway: a transaction adds it to its read set's
    /// filter (see `key_filter`).
    #[inline]
    pub fn get_hashed(&self, key: &[u8], snapshot: u64) -> (u64, Option<&Bytes>, Lookup<'_>) {
        let hash = key_hash(key);
        let entry = self.keys.raw_entry();
        let found = match Bytes::inline(key) {
            Some(probe) => entry.from_key_hashed_nocheck(hash, &probe),
            None => entry.from_key_hashed_nocheck(hash, key),
        };
        let Some((stored, chain)) = found else {
            let lookup = if snapshot < self.dropped_below {
                Lookup::Reclaimed
            } else {
                Lookup::Absent
            };
            return (hash, None, lookup);
        };
        (hash, Some(stored), self.read_chain(chain, snapshot))
    }

    #[inline]
    fn read_chain<'a>(&self, chain: &'a Chain, snapshot: u64) -> Lookup<'a> {
        // Read as a slice: the vector's own indexing was not always inlined.
        let versions = chain.versions.as_slice();
        let at = versions.partition_point(|(seq, _)| *seq <= snapshot);
        // A snapshot >= H needs no obsolete version, so only an older one
        // looks for where the live versions start.
        let from = if snapshot < self.horizon {
            chain.live_from(self.horizon)
        } else {
            0
        };
        match at.checked_sub(1).filter(|&i| i >= from).map(|i| &versions[i]) {
            Some((seq, Some(value))) => Lookup::Found(*seq, value),
            Some((_, None)) => Lookup::Absent,
            None if chain.pruned || from > 0 || snapshot < self.dropped_below => Lookup::Reclaimed,
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
        let mut out = Vec::new();
        if range.is_empty() {
            return Some(out);
        }
        for key in self.order.range(range.start(), range.end()) {
            if out.len() >= limit {
                break;
            }
            match self.read_chain(&self.keys[key], snapshot) {
                Lookup::Found(seq, value) => out.push((key.clone(), seq, value.clone())),
                Lookup::Absent => {}
                Lookup::Reclaimed => return None,
            }
        }
        Some(out)
    }

    /// Installs the writes of commit `seq`, which must be newer than every
    /// version present, dropping the written keys' obsolete versions first.
    ///
    /// Returns which keys must be reclaimed when the commit leaves the log
    /// (bit i for the i-th key in key order; keys past the 64th always
    /// are): a delete, a write that supersedes a value on the heap, and a
    /// write to a chain spilled to the heap. Under the early-gc mutant every
    /// key is, so its eager, wrong reclaim is what happens. Also returns the
    /// filter of the written keys, from the hashes that found their chains.
    pub fn apply(
        &mut self,
        seq: u64,
        writes: &KeyMap<Option<Bytes>>,
        mutant: Option<Mutant>,
    ) -> (u64, KeyFilter) {
        let horizon = self.horizon;
        let mut reclaim = 0;
        let mut filter = KeyFilter::default();
        for (i, (key, value)) in writes.into_iter().enumerate() {
            let hash = key_hash(key);
            filter.add_hash(hash);
            // Most commits update existing keys: look up before paying for
            // the owned key an insert needs.
            let chain = match self.keys.raw_entry_mut().from_key_hashed_nocheck(hash, key) {
                RawEntryMut::Occupied(chain) => chain.into_mut(),
                RawEntryMut::Vacant(slot) => {
                    self.order.insert(key.clone());
                    slot.insert_hashed_nocheck(hash, key.clone(), Chain::default()).1
                }
            };
            let superseded_on_heap = match chain.versions.last() {
                Some((last, superseded)) => {
                    assert!(*last < seq, "versions of a key are installed in commit order");
                    superseded.as_ref().is_some_and(|v| !v.is_inline())
                }
                None => false,
            };
            chain.supersede_before(chain.live_from(horizon), (seq, value.clone()));
            let eager = value.is_none()
                || superseded_on_heap
                || chain.versions.spilled()
                || mutant == Some(Mutant::EarlyGc);
            if eager && i < MARKED_KEYS {
                reclaim |= 1 << i;
            }
        }
        (reclaim, filter)
    }

    /// Moves the horizon to `horizon` as commit `evicted` leaves the log,
    /// and reclaims the obsolete versions of the keys its summary marks
    /// (see `apply`).
    #[inline]
    pub fn evicted(&mut self, evicted: &Summary, horizon: u64, mutant: Option<Mutant>) {
        assert!(horizon >= self.horizon, "the horizon never moves back");
        self.horizon = horizon;
        // Commonly no key is marked: checked inline in the caller.
        if evicted.reclaim != 0 || evicted.keys.len() > MARKED_KEYS {
            self.reclaim_marked(evicted, horizon, mutant);
        }
    }

    /// Reclaims the keys `evicted` marks (see `evicted`).
    #[inline(never)]
    fn reclaim_marked(&mut self, evicted: &Summary, horizon: u64, mutant: Option<Mutant>) {
        for (i, key) in evicted.keys.iter().enumerate() {
            if i < MARKED_KEYS && evicted.reclaim & (1 << i) == 0 {
                continue;
            }
            self.reclaim(key, horizon, mutant);
        }
    }

    /// Reclaims the versions of `key` that no snapshot >= `horizon` can
    /// need, and drops the key if all it has left is an obsolete delete.
    fn reclaim(&mut self, key: &Bytes, horizon: u64, mutant: Option<Mutant>) {
        let Some(chain) = self.keys.get_mut(key) else {
            return;
        };
        let at = chain.versions.partition_point(|(seq, _)| *seq <= horizon);
        // Keep the newest version <= horizon (index at - 1) and all newer.
        // The early-gc mutant also drops that version whenever a newer one
        // exists, and forgets that anything was dropped: an off-by-one in
        // the prune boundary.
        let mut keep_from = at.saturating_sub(1);
        if mutant == Some(Mutant::EarlyGc) && at < chain.versions.len() {
            keep_from = at;
        }
        if keep_from > 0 {
            chain.drop_before(keep_from);
            chain.pruned = mutant != Some(Mutant::EarlyGc);
            if chain.versions.spilled() && chain.versions.len() <= INLINE_VERSIONS {
                chain.versions.shrink_to_fit();
            }
        }
        let only_tombstone = chain.versions.len() == 1 && chain.versions[0].1.is_none();
        if only_tombstone && chain.versions[0].0 <= horizon {
            self.keys.remove(key);
            self.order.remove(key);
            self.dropped_below = self.dropped_below.max(horizon);
        }
    }

    /// Calls `f` with the newest live value of every key, with its
    /// version, in key order: what a checkpoint writes. Keys in order have
    /// scattered table entries, so each is asked for `LOOKAHEAD` keys
    /// before it is read, and the waits for memory overlap rather than add
    /// up. The key waits in a small ring with the entry its request found
    /// by hash, which is nearly always the key's own: then the table is
    /// probed once per key, and only another key's entry (a tag matching
    /// earlier along the probe sequence) sends the read to look the key
    /// up. It is a
    /// loop that calls `f` rather than an iterator, which kept the ring in
    /// a queue and cost about a tenth more instructions per key. The keys
    /// are walked as a slice when they are all in the order's vector (see
    /// `key_order`): always for a checkpoint, which compacts the order
    /// first.
    pub fn for_each_latest<'a>(&'a self, f: impl FnMut(&'a Bytes, u64, &'a Bytes)) {
        match self.order.as_slice() {
            Some(keys) => self.for_each_latest_of(keys.iter(), f),
            None => self.for_each_latest_of(self.order.iter(), f),
        }
    }

    /// `for_each_latest` of `keys`, every key of the order, in order.
    #[inline]
    fn for_each_latest_of<'a>(
        &'a self,
        mut keys: impl Iterator<Item = &'a Bytes>,
        mut f: impl FnMut(&'a Bytes, u64, &'a Bytes),
    ) {
        const LOOKAHEAD: usize = 8;
        type Due<'a> = Option<(&'a Bytes, KeyHash, Option<(&'a Bytes, &'a Chain)>)>;
        let mut ring: [Due<'a>; LOOKAHEAD] = [None; LOOKAHEAD];
        for i in 0.. {
            let slot = &mut ring[i % LOOKAHEAD];
            let due = slot.take();
            if let Some(later) = keys.next() {
                let (hash, candidate) = self.prefetch_candidate(later);
                *slot = Some((later, hash, candidate));
            }
            let Some((key, hash, candidate)) = due else {
                // The ring starts empty; once it is full, an empty slot
                // means every key was read.
                if i < LOOKAHEAD {
                    continue;
                }
                break;
            };
            let chain = match candidate {
                Some((stored, chain)) if stored == key => chain,
                _ => {
                    self.keys
                        .raw_entry()
                        .from_key_hashed_nocheck(hash.0, key)
                        .expect("every key in the order has a chain")
                        .1
                }
            };
            if let Some((seq, Some(value))) = chain.versions.last() {
                f(key, *seq, value);
            }
        }
    }

    /// Puts every key of the order back in one sorted vector (see
    /// `key_order`); a checkpoint does, before it walks them.
    pub fn compact_order(&mut self) {
        self.order.compact();
    }

    /// A loader of a checkpoint's entries into this state, which must be
    /// empty (recovery's first step); `capacity` is how many entries are
    /// expected. The entries enter the state when the loader finishes.
    pub fn loader(&mut self, capacity: usize) -> Loader<'_> {
        assert!(
            self.keys.is_empty() && self.order.is_empty(),
            "a checkpoint loads into an empty state"
        );
        Loader {
            mvcc: self,
            staged: Vec::with_capacity(capacity),
        }
    }

    /// Installs one write replayed from the WAL: a put becomes the key's
    /// only version, and a delete removes the key. Recovery keeps just the
    /// newest version of every key (no snapshot older than the recovered
    /// sequence number exists), so replaying a long WAL never grows a
    /// chain and leaves nothing to collapse afterwards. A key new since the
    /// checkpoint enters the key order here; the rest are there. `hash` is
    /// the key's, from `prefetch_hashed` as its record was read.
    pub fn install(&mut self, hash: KeyHash, key: Bytes, seq: u64, value: Option<Bytes>) {
        match (
            self.keys.raw_entry_mut().from_key_hashed_nocheck(hash.0, &key),
            value,
        ) {
            (RawEntryMut::Occupied(entry), value) => {
                let last = entry.get().versions.last().map(|(last, _)| *last);
                assert!(
                    last.is_some_and(|last| last < seq),
                    "recovered versions arrive in commit order"
                );
                match value {
                    Some(value) => {
                        // A recovered key holds one version, which the new
                        // one replaces (a checkpoint or an earlier replayed
                        // write put it there, each as its only version).
                        let chain = entry.into_mut();
                        assert_eq!(chain.versions.len(), 1, "a recovered key holds one version");
                        chain.versions[0] = (seq, Some(value));
                    }
                    None => {
                        entry.remove();
                        assert!(self.order.remove(&key), "a recovered key is in the key order");
                    }
                }
            }
            (RawEntryMut::Vacant(slot), Some(value)) => {
                self.order.insert(key.clone());
                slot.insert_hashed_nocheck(hash.0, key, Chain::single((seq, Some(value))));
            }
            (RawEntryMut::Vacant(_), None) => {}
        }
    }

    /// Ends a recovery at sequence number `horizon`: no snapshot older than
    /// it exists. Every key already holds just its newest version, a live
    /// one (see `install`; a checkpoint holds live values only).
    pub fn recovered(&mut self, horizon: u64) {
        assert_eq!(self.order.len(), self.keys.len(), "every key is in the key order");
        debug_assert!(
            self.keys
                .values()
                .all(|c| c.versions.len() == 1 && c.versions[0].1.is_some() && !c.pruned),
            "a recovered key holds one live version"
        );
        self.dropped_below = horizon;
        self.horizon = horizon;
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

/// Loads a checkpoint's entries, which come in strictly increasing key
/// order, into an empty state (see `Mvcc::loader`).
///
/// Keys in order land at random places in the hash table, and on a table
/// larger than the cache each of those writes waits for memory. So the
/// entries are staged as they come, with their hashes, and `finish` puts
/// them into the table in the order of the slots they hash to: the table is
/// then written from one end to the other, which the CPU streams. The key
/// order is built from the staged keys in one pass, with no sort. A loader
/// dropped unfinished (damage found part way) leaves the state empty.
pub struct Loader<'a> {
    mvcc: &'a mut Mvcc,
    /// Hash, key, version and value of every entry loaded, in key order.
    staged: Vec<(u64, Bytes, u64, Bytes)>,
}

impl Loader<'_> {
    /// The key loaded last.
    fn last(&self) -> Option<&Bytes> {
        self.staged.last().map(|(_, key, _, _)| key)
    }

    /// Loads one entry: `key`'s only version, `value` at `seq`. Returns
    /// false, loading nothing, when `key` is not above the key loaded last:
    /// a checkpoint's keys are in strictly increasing order, and the caller
    /// reports one that is not as damage.
    #[inline]
    #[must_use]
    pub fn load(&mut self, key: Bytes, seq: u64, value: Bytes) -> bool {
        if self.last().is_some_and(|last| *last >= key) {
            return false;
        }
        let hash = key_hash(&key);
        self.staged.push((hash, key, seq, value));
        true
    }

    /// Puts the loaded entries into the state.
    pub fn finish(mut self) {
        let mvcc = &mut *self.mvcc;
        let staged = &mut self.staged;
        // Already sorted, so collecting is a single bulk load.
        mvcc.order = KeyOrder::from_sorted(staged.iter().map(|(_, key, _, _)| key.clone()).collect());
        mvcc.keys.reserve(staged.len());
        // The slot a hash starts probing at is its low bits under the
        // table's mask, which hashbrown sizes for a load of at most 7/8. If
        // the guess is off, the writes are less orderly, never wrong.
        let mask = (staged.len().max(8) * 8 / 7).next_power_of_two() as u64 - 1;
        // Entries are put in by the region of the table they hash to, a
        // 256th of it each (a counting sort, in one pass): within a region
        // the writes are random, but the region stays in cache.
        let shift = mask.count_ones().saturating_sub(8);
        let region = |hash: u64| ((hash & mask) >> shift) as usize;
        let mut starts = [0usize; 257];
        for (hash, _, _, _) in staged.iter() {
            starts[region(*hash) + 1] += 1;
        }
        for r in 1..starts.len() {
            starts[r] += starts[r - 1];
        }
        let mut by_region = vec![0usize; staged.len()];
        for (i, (hash, _, _, _)) in staged.iter().enumerate() {
            let at = &mut starts[region(*hash)];
            by_region[*at] = i;
            *at += 1;
        }
        for i in by_region {
            let (hash, key, seq, value) = std::mem::replace(
                &mut staged[i],
                (0, Bytes::from(&b""[..]), 0, Bytes::from(&b""[..])),
            );
            match mvcc.keys.raw_entry_mut().from_key_hashed_nocheck(hash, &key) {
                RawEntryMut::Vacant(slot) => {
                    slot.insert_hashed_nocheck(hash, key, Chain::single((seq, Some(value))));
                }
                RawEntryMut::Occupied(_) => unreachable!("a checkpoint's keys are distinct (they increase)"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// Applies commit `seq` and returns its summary.
    fn commit(mvcc: &mut Mvcc, seq: u64, writes: &[(&str, Option<&[u8]>)]) -> Summary {
        let mut map = KeyMap::new();
        for (key, value) in writes {
            map.insert(Bytes::from(*key), value.map(Bytes::from));
        }
        let mut summary = Summary::new(seq, mvcc.apply(seq, &map, None).0);
        for key in map.keys() {
            summary.add_key(key);
        }
        summary
    }

    /// A `Found` lookup to compare with; the value is leaked, as a test may.
    fn found(value: &[u8], seq: u64) -> Lookup<'static> {
        Lookup::Found(seq, Box::leak(Box::new(Bytes::from(value))))
    }

    /// k written at 1 and 2, both commits evicted: v1 is obsolete but,
    /// inline and superseded by an inline value, still held.
    fn lazily_pruned() -> Mvcc {
        let mut mvcc = Mvcc::new();
        let first = commit(&mut mvcc, 1, &[("k", Some(b"v1"))]);
        let second = commit(&mut mvcc, 2, &[("k", Some(b"v2"))]);
        assert_eq!((first.reclaim, second.reclaim), (0, 0));
        mvcc.evicted(&first, 1, None);
        mvcc.evicted(&second, 2, None);
        mvcc
    }

    #[test]
    fn an_obsolete_version_still_held_reads_as_reclaimed_below_the_horizon() {
        let mvcc = lazily_pruned();
        assert_eq!(mvcc.version_count(), 2, "v1 is kept until k is written");
        assert_eq!(mvcc.get(b"k", 1).1, Lookup::Reclaimed);
        assert_eq!(mvcc.get(b"k", 2).1, found(b"v2", 2));
        assert_eq!(mvcc.get(b"k", 9).1, found(b"v2", 2));
        let range = KeyRange::between("a", "z");
        assert_eq!(mvcc.scan(&range, 1, usize::MAX), None);
        let live = vec![(Bytes::from("k"), 2, Bytes::from("v2"))];
        assert_eq!(mvcc.scan(&range, 2, usize::MAX), Some(live));
    }

    #[test]
    fn a_write_drops_its_keys_obsolete_versions_and_keeps_the_live_ones() {
        let mut mvcc = lazily_pruned();
        commit(&mut mvcc, 3, &[("k", Some(b"v3"))]);
        assert_eq!(mvcc.version_count(), 2, "v1 is gone, v2 is the newest <= H");
        assert_eq!(mvcc.get(b"k", 2).1, found(b"v2", 2));
        assert_eq!(mvcc.get(b"k", 1).1, Lookup::Reclaimed);
        assert_eq!(mvcc.get(b"k", 3).1, found(b"v3", 3));
    }

    #[test]
    fn whether_an_obsolete_version_was_dropped_yet_does_not_tell_states_apart() {
        let lazy = lazily_pruned();
        let mut eager = Mvcc::new();
        let mut first = commit(&mut eager, 1, &[("k", Some(b"v1"))]);
        let mut second = commit(&mut eager, 2, &[("k", Some(b"v2"))]);
        first.reclaim = u64::MAX;
        second.reclaim = u64::MAX;
        eager.evicted(&first, 1, None);
        eager.evicted(&second, 2, None);
        assert_eq!(eager.version_count(), 1);
        assert_eq!(lazy, eager);
        let hasher = rustc_hash::FxBuildHasher;
        assert_eq!(hasher.hash_one(&lazy), hasher.hash_one(&eager));
        let mut other = lazily_pruned();
        commit(&mut other, 3, &[("j", Some(b"x"))]);
        assert_ne!(lazy, other);
    }

    #[test]
    fn deletes_heap_values_and_spilled_chains_are_reclaimed_when_their_commit_leaves_the_log() {
        let long = [7u8; 40];
        let mut mvcc = Mvcc::new();
        let put = commit(&mut mvcc, 1, &[("a", Some(&long)), ("d", Some(b"x"))]);
        assert_eq!(put.reclaim, 0, "nothing superseded, inline chains");
        let supersede = commit(&mut mvcc, 2, &[("a", Some(b"short")), ("d", None)]);
        assert_eq!(supersede.reclaim, 0b11, "a heap value superseded, a delete");
        let mut later = Vec::new();
        let mut spilled = false;
        while !spilled {
            let seq = 3 + later.len() as u64;
            let again = commit(&mut mvcc, seq, &[("a", Some(b"again"))]);
            spilled = mvcc.keys[&Bytes::from("a")].versions.spilled();
            let marked = u64::from(spilled);
            assert_eq!(again.reclaim, marked, "only the write that spills is marked");
            later.push(again);
        }
        mvcc.evicted(&put, 1, None);
        mvcc.evicted(&supersede, 2, None);
        assert_eq!(mvcc.key_count(), 1, "d's delete left the log: d is dropped");
        assert_eq!(mvcc.get(b"d", 1).1, Lookup::Reclaimed);
        assert_eq!(mvcc.get(b"d", 2).1, Lookup::Absent);
        assert_eq!(
            mvcc.version_count(),
            1 + later.len(),
            "a's heap value is reclaimed"
        );
        for again in &later {
            mvcc.evicted(again, again.seq, None);
        }
        assert_eq!(mvcc.version_count(), 1);
        assert!(!mvcc.keys[&Bytes::from("a")].versions.spilled(), "back inline");
    }

    #[test]
    fn keys_past_the_marked_ones_are_always_reclaimed() {
        let mut mvcc = Mvcc::new();
        let keys: Vec<String> = (0..MARKED_KEYS + 2).map(|i| format!("k{i:03}")).collect();
        let writes = |v: &'static [u8]| -> Vec<(&str, Option<&[u8]>)> {
            keys.iter().map(|k| (k.as_str(), Some(v))).collect()
        };
        let first = commit(&mut mvcc, 1, &writes(b"1"));
        let second = commit(&mut mvcc, 2, &writes(b"2"));
        assert_eq!(second.reclaim, 0, "inline values superseded by inline values");
        mvcc.evicted(&first, 1, None);
        mvcc.evicted(&second, 2, None);
        assert_eq!(mvcc.version_count(), MARKED_KEYS * 2 + 2);
    }

    /// Every live key comes out once, in key order, with its newest value,
    /// for states smaller than, as large as and larger than the lookahead
    /// ring; deleted keys are left out.
    #[test]
    fn each_latest_entry_comes_out_once_in_key_order() {
        for n in [0usize, 1, 7, 8, 9, 16, 17, 100] {
            let mut mvcc = Mvcc::new();
            let keys: Vec<String> = (0..n).map(|i| format!("k{i:03}")).collect();
            let puts: Vec<(&str, Option<&[u8]>)> =
                keys.iter().map(|k| (k.as_str(), Some(&b"old"[..]))).collect();
            commit(&mut mvcc, 1, &puts);
            // Every third key is deleted, the others rewritten.
            let second: Vec<(&str, Option<&[u8]>)> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), (i % 3 != 0).then_some(&b"new"[..])))
                .collect();
            commit(&mut mvcc, 2, &second);
            let mut seen = Vec::new();
            mvcc.for_each_latest(|key, version, value| seen.push((key.to_vec(), version, value.to_vec())));
            let expected: Vec<(Vec<u8>, u64, Vec<u8>)> = keys
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 3 != 0)
                .map(|(_, k)| (k.as_bytes().to_vec(), 2, b"new".to_vec()))
                .collect();
            assert_eq!(seen, expected, "{n} keys");
        }
    }

    /// Two keys whose hashes agree in the bits that pick the first slot
    /// probed (the low 16, more than a small table uses) and in the tag
    /// (the top 7): the request for the second finds the first's entry, so
    /// reading it looks the key up; both still come out, in order.
    #[test]
    fn a_key_whose_request_found_another_keys_entry_is_looked_up() {
        let mut seen = std::collections::HashMap::new();
        let (a, b) = (0u64..)
            .find_map(|i| {
                let key = format!("c{i}");
                let hash = key_hash(key.as_bytes());
                seen.insert((hash & 0xffff, hash >> 57), key.clone())
                    .map(|first| (first, key))
            })
            .expect("a collision");
        let mut mvcc = Mvcc::new();
        commit(&mut mvcc, 1, &[(a.as_str(), Some(b"first"))]);
        commit(&mut mvcc, 2, &[(b.as_str(), Some(b"second"))]);
        let (_, candidate) = mvcc.prefetch_candidate(b.as_bytes());
        assert_eq!(
            candidate.map(|(stored, _)| stored.to_vec()),
            Some(a.as_bytes().to_vec()),
            "the request for the second key found the first's entry"
        );
        let mut out = Vec::new();
        mvcc.for_each_latest(|key, version, value| out.push((key.to_vec(), version, value.to_vec())));
        let mut expected = vec![
            (a.into_bytes(), 1, b"first".to_vec()),
            (b.into_bytes(), 2, b"second".to_vec()),
        ];
        expected.sort();
        assert_eq!(out, expected);
    }
}
