//! The store's logic as plain, single-threaded data.
//!
//! `Core` holds everything (the storage, the versions, the commit log, the
//! sequence counters) in ordered maps with no locks or atomics inside, so it
//! is `Clone + Hash + Eq` by content when its storage is: a model checker
//! clones and compares whole stores, and a simulator drives it one call at a
//! time and can crash it between any two storage calls. `Db` is a thin
//! thread-safe handle around it.

use std::collections::BTreeMap;

use crate::commit_log::CommitLog;
use crate::error::{Error, IoError, Result};
use crate::files;
use crate::key_map::KeyMap;
use crate::limits::check_key;
use crate::mutant::Mutant;
use crate::mvcc::{Lookup, Mvcc};
use crate::options::{Options, SyncPolicy};
use crate::range::KeyRange;
use crate::recovery::{self, RecoveryReport};
use crate::storage::Storage;
use crate::txn::Txn;
use crate::wal;
use crate::Bytes;

/// Where a read's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadSource {
    /// The transaction's own buffered write.
    Own,
    /// The snapshot: the version read, or `None` for an absent key.
    Snapshot(Option<u64>),
}

/// The result of a read: the value (`None` = absent) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Read {
    /// The value, or `None` if the key is absent.
    pub value: Option<Bytes>,
    /// The transaction's own write, or the snapshot version read.
    pub source: ReadSource,
}

/// One entry of a `list`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListEntry {
    /// The key.
    pub key: Bytes,
    /// Its value.
    pub value: Bytes,
    /// Its own write, or the snapshot version.
    pub source: ReadSource,
}

/// A successful commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Committed {
    /// The transaction's snapshot.
    pub snapshot: u64,
    /// The commit's sequence number; `None` for a read-only transaction,
    /// which commits at its snapshot without one.
    pub seq: Option<u64>,
}

/// The store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Core<S> {
    storage: S,
    options: Options,
    mvcc: Mvcc,
    log: CommitLog,
    /// The highest sequence number assigned (or recovered).
    last_seq: u64,
    /// Snapshots are taken here: every commit up to it is acknowledged.
    /// Below `last_seq` only while a group commit's fsync is in flight.
    visible_seq: u64,
    generation: u64,
    /// The current WAL's file name (derived from `generation`, kept to
    /// avoid formatting it on every commit).
    wal_name: String,
    /// Reused buffer for encoding a commit's records; always empty between
    /// calls.
    scratch: Vec<u8>,
    /// Bytes in the current generation's WAL: what decides when the next
    /// checkpoint is taken.
    wal_bytes: u64,
    /// Set when a write or fsync failed: commits are refused until reopen.
    poisoned: bool,
    /// Under `ack-before-fsync` only: the last commit was acknowledged
    /// before its fsync, which is done late, before the next append.
    sync_owed: bool,
    recovery: RecoveryReport,
}

impl<S: Storage> Core<S> {
    /// Opens a store on `storage`, recovering whatever it holds.
    pub fn open(mut storage: S, options: Options) -> Result<Self> {
        assert!(
            options.ring_capacity > 0,
            "the commit log holds at least one summary"
        );
        let recovered = recovery::recover(&storage, options.mutant)?;
        let report = recovered.report;
        for name in &report.stale_files {
            storage.remove(name)?;
        }
        if !report.wal_exists {
            storage.create(&files::wal(report.generation))?;
        }
        if !report.stale_files.is_empty() || !report.wal_exists {
            storage.sync_dir()?;
        }
        let last_seq = recovered.last_seq;
        let mut core = Core {
            storage,
            log: CommitLog::new(options.ring_capacity, last_seq),
            options,
            mvcc: recovered.mvcc,
            last_seq,
            visible_seq: last_seq,
            generation: report.generation,
            wal_name: files::wal(report.generation),
            scratch: Vec::new(),
            // The WAL replayed counts towards the next checkpoint, or a
            // store that crashes before each checkpoint would let its log,
            // and the next recovery's replay, grow without bound.
            wal_bytes: report.wal_bytes,
            poisoned: false,
            sync_owed: false,
            recovery: report,
        };
        if core.recovery.torn_bytes > 0 {
            // New commits must not follow a torn tail in the same file:
            // start the next generation.
            core.checkpoint()?;
        }
        Ok(core)
    }

    /// Starts a transaction at the latest acknowledged commit.
    pub fn begin(&self) -> Txn {
        Txn::new(self.visible_seq)
    }

    fn mutant(&self) -> Option<Mutant> {
        self.options.mutant
    }

    /// Reads `key`: the transaction's own write if it has one, else the
    /// newest version at or below its snapshot (recorded in the read set,
    /// absent keys included). Inlined, so a caller's result is written
    /// where the caller keeps it rather than returned through memory and
    /// copied: reading back such a copy right after it was written stalled.
    #[inline]
    pub fn get(&self, txn: &mut Txn, key: &[u8]) -> Result<Read> {
        let mut read = Read {
            value: None,
            source: ReadSource::Own,
        };
        self.get_into(txn, key, &mut read)?;
        Ok(read)
    }

    /// Reads every key in `keys` exactly as `get` does, in order, stopping
    /// at the first error (the keys read before it stay in the read set).
    /// First it asks for every key's entry, so that on a store larger than
    /// the cache the memory loads overlap: this is the transactional
    /// counterpart of the atomic API's `get_many`, and saves about one
    /// memory latency per key beyond the first.
    #[inline]
    pub fn get_batch<const N: usize>(&self, txn: &mut Txn, keys: [&[u8]; N]) -> Result<[Read; N]> {
        let mut reads = keys.map(|_| Read {
            value: None,
            source: ReadSource::Own,
        });
        self.get_batch_into(txn, keys, &mut reads)?;
        Ok(reads)
    }

    /// `get_batch`, writing the reads into `reads` (those before an error
    /// are written, the rest left as they were), for a caller that keeps
    /// them: returned, the array is copied out of the result, and reading a
    /// copy right after it was written can stall (the simulator's
    /// transfers did, perf annotate).
    #[inline]
    pub fn get_batch_into<const N: usize>(
        &self,
        txn: &mut Txn,
        keys: [&[u8]; N],
        reads: &mut [Read; N],
    ) -> Result<()> {
        for key in keys {
            self.prefetch(key);
        }
        for (read, key) in reads.iter_mut().zip(keys) {
            self.get_into(txn, key, read)?;
        }
        Ok(())
    }

    /// `get`, writing the read into `read` (left as it was on an error), so
    /// that the value is copied once, from the table to where it is kept.
    /// With no hint of its own: a caller that asked for the key's entry
    /// with `prefetch` a step earlier (as a simulated agent does) reads
    /// its keys with this rather than `get_batch_into`, which would hash
    /// each key and probe the table once more for a hint already given.
    #[inline]
    pub fn get_into(&self, txn: &mut Txn, key: &[u8], read: &mut Read) -> Result<()> {
        check_key(key)?;
        if self.mutant() != Some(Mutant::NoReadYourWrites) {
            if let Some(own) = txn.writes.get(key) {
                read.value = own.clone();
                read.source = ReadSource::Own;
                return Ok(());
            }
        }
        let (hash, stored, lookup) = self.mvcc.get_hashed(key, txn.snapshot);
        let (version, value) = self.resolve(lookup, txn.snapshot)?;
        let record = version.is_some() || self.mutant() != Some(Mutant::IgnoreAbsentReads);
        // Only the no-read-your-writes mutant gets here with the key written.
        let written = self.mutant() == Some(Mutant::NoReadYourWrites) && txn.writes.contains_key(key);
        if record && !written {
            let key = stored.cloned().unwrap_or_else(|| Bytes::from(key));
            txn.record_read(key, hash, version);
        }
        read.value = value.cloned();
        read.source = ReadSource::Snapshot(version);
        Ok(())
    }

    /// A hint that `key` will be read soon: asks the CPU to start loading
    /// its table entry (see `Mvcc::prefetch`), so the read does not wait for
    /// memory. It changes nothing else; a caller that knows its keys some
    /// work ahead of reading them (as a simulated agent does, one scheduler
    /// step or more before) can overlap the wait with that work.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        self.mvcc.prefetch(key);
    }

    fn read_snapshot(&self, key: &[u8], snapshot: u64) -> Result<(Option<u64>, Option<Bytes>)> {
        let (version, value) = self.resolve(self.mvcc.get(key, snapshot).1, snapshot)?;
        Ok((version, value.cloned()))
    }

    fn resolve<'a>(&self, lookup: Lookup<'a>, snapshot: u64) -> Result<(Option<u64>, Option<&'a Bytes>)> {
        match lookup {
            Lookup::Found(seq, value) => {
                assert!(seq <= snapshot, "a read never sees a version above its snapshot");
                Ok((Some(seq), Some(value)))
            }
            Lookup::Absent => Ok((None, None)),
            Lookup::Reclaimed => Err(Error::SnapshotTooOld {
                snapshot,
                horizon: self.log.horizon(),
            }),
        }
    }

    /// Lists the keys in `range` at the snapshot merged with the
    /// transaction's own writes, at most `limit`. The whole range enters the
    /// read set, so a later insert or delete inside it conflicts.
    pub fn list(&self, txn: &mut Txn, range: &KeyRange, limit: usize) -> Result<Vec<ListEntry>> {
        let committed = self
            .mvcc
            .scan(range, txn.snapshot, usize::MAX)
            .ok_or(Error::SnapshotTooOld {
                snapshot: txn.snapshot,
                horizon: self.log.horizon(),
            })?;
        let mut merged: BTreeMap<Bytes, (Option<Bytes>, ReadSource)> = committed
            .into_iter()
            .map(|(k, seq, v)| (k, (Some(v), ReadSource::Snapshot(Some(seq)))))
            .collect();
        if self.mutant() != Some(Mutant::NoReadYourWrites) {
            for (key, value) in txn.writes.iter().filter(|(k, _)| range.contains(k)) {
                merged.insert(key.clone(), (value.clone(), ReadSource::Own));
            }
        }
        if !txn.ranges.contains(range) {
            txn.ranges.push(range.clone());
        }
        Ok(merged
            .into_iter()
            .filter_map(|(key, (value, source))| value.map(|value| ListEntry { key, value, source }))
            .take(limit)
            .collect())
    }

    /// Commits a transaction: validates it against the commit log, writes
    /// it to the WAL, makes it durable per the sync policy, applies it, and
    /// only then acknowledges it.
    pub fn commit(&mut self, txn: &Txn) -> Result<Committed> {
        assert!(
            txn.snapshot <= self.visible_seq,
            "a snapshot is never in the future"
        );
        if txn.writes.is_empty() {
            return Ok(Committed {
                snapshot: txn.snapshot,
                seq: None,
            });
        }
        self.ensure_available()?;
        self.log.check_snapshot(txn.snapshot, self.mutant())?;
        self.log.validate(txn, self.mutant())?;
        let seq = self.write_commit(&txn.writes)?;
        Ok(Committed {
            snapshot: txn.snapshot,
            seq: Some(seq),
        })
    }

    pub(crate) fn ensure_available(&self) -> Result<()> {
        if self.poisoned {
            return Err(Error::Unavailable);
        }
        Ok(())
    }

    /// Writes, syncs and applies one validated commit; returns its sequence
    /// number. Steps 4 of the commit protocol, shared by interactive and
    /// atomic commits.
    pub(crate) fn write_commit(&mut self, writes: &KeyMap<Option<Bytes>>) -> Result<u64> {
        assert!(!writes.is_empty(), "only writing commits get a sequence number");
        assert!(!self.poisoned, "a poisoned store writes nothing");
        if self.sync_owed {
            let synced = self.storage.sync(&self.wal_name);
            synced.map_err(|e| self.poison(e))?;
            self.sync_owed = false;
        }
        if self.wal_bytes >= self.options.checkpoint_wal_bytes && self.visible_seq == self.last_seq {
            self.checkpoint()?;
        }
        let seq = self.last_seq + 1;
        let mut buf = std::mem::take(&mut self.scratch);
        assert!(buf.is_empty(), "the scratch buffer is empty between commits");
        for (key, value) in writes {
            wal::encode_write(&mut buf, seq, key, value.as_deref());
        }
        wal::encode_marker(
            &mut buf,
            seq,
            u32::try_from(writes.len()).expect("mutation limit"),
        );
        // Once written, a number is never given to another commit by this
        // handle, whether or not the write succeeds.
        self.last_seq = seq;
        // Synced with the append under `EveryCommit` (one call, so a
        // storage finds the file once); the ack-before-fsync mutant owes
        // the sync until the next commit.
        let sync_now =
            self.options.sync == SyncPolicy::EveryCommit && self.mutant() != Some(Mutant::AckBeforeFsync);
        let written = if sync_now {
            self.storage.append_synced(&self.wal_name, &buf)
        } else {
            self.storage.append(&self.wal_name, &buf)
        };
        self.wal_bytes += buf.len() as u64;
        buf.clear();
        self.scratch = buf;
        written.map_err(|e| self.poison(e))?;
        if self.options.sync == SyncPolicy::EveryCommit && !sync_now {
            self.sync_owed = true;
        }
        self.apply(seq, writes);
        if self.options.sync != SyncPolicy::Group {
            self.visible_seq = seq;
        }
        Ok(seq)
    }

    fn poison(&mut self, err: IoError) -> Error {
        self.poisoned = true;
        Error::Io(err)
    }

    fn apply(&mut self, seq: u64, writes: &KeyMap<Option<Bytes>>) {
        let mutant = self.mutant();
        let (reclaim, filter) = self.mvcc.apply(seq, writes, mutant);
        let mvcc = &mut self.mvcc;
        self.log.push(seq, writes.keys(), reclaim, filter, |evicted| {
            mvcc.evicted(evicted, evicted.seq, mutant);
        });
    }

    /// Writes a checkpoint and starts the next WAL generation. Every step
    /// is crash-safe; a failure poisons the handle.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.ensure_available()?;
        assert_eq!(
            self.visible_seq, self.last_seq,
            "a checkpoint holds only acknowledged commits"
        );
        let next = self.generation + 1;
        self.mvcc.compact_order();
        crate::checkpoint::write(
            &mut self.storage,
            self.generation,
            next,
            &self.mvcc,
            self.last_seq,
        )
        .map_err(|e| self.poison(e))?;
        self.generation = next;
        self.wal_name = files::wal(next);
        self.wal_bytes = 0;
        self.sync_owed = false;
        Ok(())
    }

    /// The newest committed version of `key`, whatever the snapshot: what
    /// Deno-style checks compare against.
    pub(crate) fn latest(&self, key: &[u8]) -> Option<(u64, Bytes)> {
        self.mvcc.latest(key)
    }

    /// Reads `key` at the latest acknowledged commit, outside any
    /// transaction: value and version.
    pub fn read_latest(&self, key: &[u8]) -> Result<(Option<u64>, Option<Bytes>)> {
        check_key(key)?;
        self.read_snapshot(key, self.visible_seq)
    }

    /// The highest sequence number assigned or recovered.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The sequence number new snapshots are taken at.
    pub fn visible_seq(&self) -> u64 {
        self.visible_seq
    }

    /// H: the newest sequence number evicted from the commit log.
    pub fn horizon(&self) -> u64 {
        self.log.horizon()
    }

    /// Whether an earlier failed write has made the handle refuse commits.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// What recovery found when this handle was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The current checkpoint generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The number of versions held in memory, over all keys.
    pub fn version_count(&self) -> usize {
        self.mvcc.version_count()
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The storage, for inspection (a simulator builds crash images from it).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, for a simulator that arms faults on it between calls.
    /// Writing to the store's files through it breaks the store.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Gives the storage back, closing the store.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Makes every appended commit durable and visible (a group commit's
    /// fsync done under the lock, for storage without a detached syncer).
    pub(crate) fn sync_wal(&mut self) -> Result<()> {
        self.ensure_available()?;
        let synced = self.storage.sync(&self.wal_name);
        synced.map_err(|e| self.poison(e))?;
        self.publish(self.last_seq);
        Ok(())
    }

    /// A handle that fsyncs the current WAL outside the store's lock, with
    /// the sequence number it will have made durable.
    #[allow(clippy::type_complexity)]
    pub(crate) fn detached_syncer(&self) -> Option<(u64, Box<dyn FnOnce() -> Result<(), IoError> + Send>)> {
        let syncer = self.storage.detached_syncer(&self.wal_name)?;
        Some((self.last_seq, syncer))
    }

    /// Records that commits up to `seq` are durable, so snapshots see them.
    pub(crate) fn publish(&mut self, seq: u64) {
        assert!(seq <= self.last_seq, "only written commits become durable");
        self.visible_seq = self.visible_seq.max(seq);
    }

    /// Poisons the handle after a failed detached fsync.
    pub(crate) fn fail_sync(&mut self, err: IoError) -> Error {
        self.poison(err)
    }
}
