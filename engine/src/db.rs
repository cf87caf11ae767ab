//! `Db`: a thin thread-safe handle around `Core`.
//!
//! Reads take a shared lock; commits take the exclusive lock for validation,
//! the WAL append and the apply. Under the group-commit policy the fsync
//! happens outside the lock: the first committer to find no fsync in flight
//! becomes the leader and syncs everything appended so far, and the others
//! wait for it, so one fsync acknowledges a whole batch.

use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::atomic::{AtomicOp, AtomicResult, KvEntry};
use crate::core::{Committed, Core, ListEntry, Read};
use crate::error::{Error, Result};
use crate::options::{Options, SyncPolicy};
use crate::range::KeyRange;
use crate::storage::{DirStorage, SendStorage};
use crate::txn::Txn;
use crate::versionstamp::Versionstamp;
use crate::Bytes;

#[derive(Debug, Default)]
struct GroupState {
    /// Every commit up to this sequence number is durable.
    durable: u64,
    /// Whether a leader's fsync is in flight.
    syncing: bool,
    /// Set once a group fsync failed: nothing after `durable` ever will be.
    failed: Option<Error>,
}

/// A thread-safe store handle.
#[derive(Debug)]
pub struct Db<S: SendStorage = DirStorage> {
    core: RwLock<Core<S>>,
    group: Mutex<GroupState>,
    group_done: Condvar,
}

impl Db<DirStorage> {
    /// Opens (or creates) a store in a real directory with default options.
    pub fn open(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        Db::open_with(DirStorage::open(dir)?, Options::default())
    }
}

impl<S: SendStorage> Db<S> {
    /// Opens a store on any storage, recovering what it holds.
    pub fn open_with(storage: S, options: Options) -> Result<Self> {
        let core = Core::open(storage, options)?;
        let durable = core.last_seq();
        Ok(Db {
            core: RwLock::new(core),
            group: Mutex::new(GroupState {
                durable,
                ..GroupState::default()
            }),
            group_done: Condvar::new(),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Core<S>> {
        self.core.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Core<S>> {
        self.core.write().unwrap_or_else(|p| p.into_inner())
    }

    fn group(&self) -> MutexGuard<'_, GroupState> {
        self.group.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a transaction at the latest acknowledged commit.
    pub fn begin(&self) -> Transaction<'_, S> {
        Transaction {
            txn: self.read().begin(),
            db: self,
        }
    }

    /// Reads up to ten keys from one snapshot.
    pub fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<KvEntry>> {
        self.read().get_many(keys)
    }

    /// Starts a Deno-style atomic operation.
    pub fn atomic(&self) -> Atomic<'_, S> {
        Atomic {
            db: self,
            op: AtomicOp::new(),
        }
    }

    /// Commits an atomic operation built elsewhere.
    pub fn commit_atomic(&self, op: &AtomicOp) -> Result<AtomicResult> {
        let result = self.write().atomic_commit(op)?;
        if let AtomicResult::Ok { versionstamp } = result {
            self.await_durable(versionstamp.seq())?;
        }
        Ok(result)
    }

    /// Writes a checkpoint now.
    pub fn checkpoint(&self) -> Result<()> {
        let _group = self.group();
        self.write().checkpoint()
    }

    /// The highest sequence number assigned or recovered.
    pub fn last_seq(&self) -> u64 {
        self.read().last_seq()
    }

    /// Runs `f` on the core under the shared lock (for inspection).
    pub fn with_core<T>(&self, f: impl FnOnce(&Core<S>) -> T) -> T {
        f(&self.read())
    }

    /// Closes the handle and returns the core.
    pub fn into_core(self) -> Core<S> {
        self.core.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    fn commit_txn(&self, txn: &Txn) -> Result<Committed> {
        let committed = {
            let mut core = self.write();
            if core.options().sync == SyncPolicy::Group {
                // The snapshot was taken at a published sequence number, and
                // nothing unpublished was read, so validation is exact.
                assert!(txn.snapshot() <= core.visible_seq());
            }
            core.commit(txn)?
        };
        if let Some(seq) = committed.seq {
            self.await_durable(seq)?;
        }
        Ok(committed)
    }

    /// Under group commit, returns once commit `seq` is durable (leading an
    /// fsync if none is in flight); a no-op under the other policies.
    fn await_durable(&self, seq: u64) -> Result<()> {
        if self.read().options().sync != SyncPolicy::Group {
            return Ok(());
        }
        let mut group = self.group();
        loop {
            if group.durable >= seq {
                return Ok(());
            }
            if let Some(err) = &group.failed {
                return Err(err.clone());
            }
            if group.syncing {
                group = self.group_done.wait(group).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            group.syncing = true;
            drop(group);
            let outcome = self.lead_sync();
            group = self.group();
            group.syncing = false;
            match outcome {
                Ok(durable) => group.durable = group.durable.max(durable),
                Err(err) => group.failed = Some(err),
            }
            self.group_done.notify_all();
        }
    }

    /// One group fsync: everything appended so far becomes durable and
    /// visible. Returns the durable sequence number.
    fn lead_sync(&self) -> Result<u64> {
        let detached = self.read().detached_syncer();
        match detached {
            Some((target, sync)) => match sync() {
                Ok(()) => {
                    self.write().publish(target);
                    Ok(target)
                }
                Err(e) => Err(self.write().fail_sync(e)),
            },
            None => {
                let mut core = self.write();
                core.sync_wal()?;
                Ok(core.last_seq())
            }
        }
    }
}

/// An interactive transaction on a `Db`. Dropping it rolls it back.
#[derive(Debug)]
pub struct Transaction<'db, S: SendStorage> {
    db: &'db Db<S>,
    txn: Txn,
}

impl<S: SendStorage> Transaction<'_, S> {
    /// Reads a key's value (own writes first, then the snapshot).
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.get_read(key)?.value)
    }

    /// Reads a key with where its value came from.
    pub fn get_read(&mut self, key: &[u8]) -> Result<Read> {
        self.db.read().get(&mut self.txn, key)
    }

    /// Reads several keys' values as `get` does, under one lock and with
    /// their memory loads overlapped (see `Core::get_batch`).
    ///
    /// ```
    /// use engine::{Db, MemDisk, Options};
    /// let db = Db::open_with(MemDisk::new(), Options::default()).unwrap();
    /// let mut setup = db.begin();
    /// setup.put(b"from", b"10").unwrap();
    /// setup.commit().unwrap();
    /// let mut tx = db.begin();
    /// tx.put(b"to", b"own").unwrap();
    /// let [from, to, none] = tx.get_batch([b"from", b"to", b"none"]).unwrap();
    /// assert_eq!(from.as_deref(), Some(&b"10"[..]));
    /// assert_eq!(to.as_deref(), Some(&b"own"[..]));
    /// assert_eq!(none, None);
    /// ```
    pub fn get_batch<const N: usize>(&mut self, keys: [&[u8]; N]) -> Result<[Option<Bytes>; N]> {
        let reads = self.db.read().get_batch(&mut self.txn, keys)?;
        Ok(reads.map(|read| read.value))
    }

    /// Reads a key with its versionstamp (`None` for absent keys and for
    /// values from the transaction's own writes, whose version is not known
    /// until commit).
    pub fn get_versioned(&mut self, key: &[u8]) -> Result<(Option<Bytes>, Option<Versionstamp>)> {
        let read = self.get_read(key)?;
        let stamp = match read.source {
            crate::core::ReadSource::Snapshot(Some(seq)) => Some(Versionstamp::from_seq(seq)),
            _ => None,
        };
        Ok((read.value, stamp))
    }

    /// Lists a range merged with own writes, at most `limit` entries.
    pub fn list(&mut self, range: &KeyRange, limit: usize) -> Result<Vec<ListEntry>> {
        self.db.read().list(&mut self.txn, range, limit)
    }

    /// Buffers a write.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.txn.put(key, value)
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.txn.delete(key)
    }

    /// The snapshot this transaction reads at.
    pub fn snapshot(&self) -> u64 {
        self.txn.snapshot()
    }

    /// The transaction's plain state (read set, writes).
    pub fn state(&self) -> &Txn {
        &self.txn
    }

    /// Commits: validates, writes, syncs, applies, acknowledges.
    pub fn commit(self) -> Result<Committed> {
        self.db.commit_txn(&self.txn)
    }

    /// Discards the transaction; nothing it buffered becomes visible.
    pub fn rollback(self) {}
}

/// A Deno-style atomic operation bound to a `Db`.
#[derive(Debug)]
pub struct Atomic<'db, S: SendStorage> {
    db: &'db Db<S>,
    op: AtomicOp,
}

impl<S: SendStorage> Atomic<'_, S> {
    /// Requires `key` to be at `versionstamp` (`None`: absent).
    pub fn check(mut self, key: &[u8], versionstamp: Option<Versionstamp>) -> Self {
        self.op.check(key, versionstamp);
        self
    }

    /// Sets `key` to `value`.
    pub fn set(mut self, key: &[u8], value: &[u8]) -> Self {
        self.op.set(key, value);
        self
    }

    /// Deletes `key`.
    pub fn delete(mut self, key: &[u8]) -> Self {
        self.op.delete(key);
        self
    }

    /// Adds `n` (wrapping) to the little-endian u64 at `key`.
    pub fn sum(mut self, key: &[u8], n: u64) -> Self {
        self.op.sum(key, n);
        self
    }

    /// Keeps the minimum of the u64 at `key` and `n`.
    pub fn min(mut self, key: &[u8], n: u64) -> Self {
        self.op.min(key, n);
        self
    }

    /// Keeps the maximum of the u64 at `key` and `n`.
    pub fn max(mut self, key: &[u8], n: u64) -> Self {
        self.op.max(key, n);
        self
    }

    /// Commits: ok with the new versionstamp, or check-failed with nothing
    /// applied.
    pub fn commit(self) -> Result<AtomicResult> {
        self.db.commit_atomic(&self.op)
    }
}
