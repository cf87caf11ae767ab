//! The store's options.

use crate::mutant::Mutant;

/// When a commit's WAL records are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncPolicy {
    /// fsync every commit before acknowledging it.
    EveryCommit,
    /// Commits arriving while an fsync is in flight share the next fsync
    /// (leader/follower group commit); each is acknowledged once its records
    /// are durable. Only `Db` batches; a bare `Core` syncs every commit.
    Group,
    /// Never fsync: for in-memory use, where durability is not wanted.
    Never,
}

/// How a store is configured.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Options {
    /// N: how many recent commit summaries the commit log keeps.
    pub ring_capacity: usize,
    /// When commits are made durable.
    pub sync: SyncPolicy,
    /// A checkpoint is taken before a commit once the WAL holds this many
    /// bytes, which bounds recovery time and disk use.
    pub checkpoint_wal_bytes: u64,
    /// A planted bug to turn on (for measuring the harness); `None` in
    /// production.
    pub mutant: Option<Mutant>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ring_capacity: 1024,
            sync: SyncPolicy::EveryCommit,
            checkpoint_wal_bytes: 64 << 20,
            mutant: None,
        }
    }
}
