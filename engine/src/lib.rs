//! An embedded key-value store with optimistic concurrency control.
//!
//! Transactions read from multi-version snapshots, buffer their writes, and
//! are validated at commit against a bounded ring of recent commit summaries
//! (see `commit_log`). Commits are written to a checksummed write-ahead log
//! and made durable before they are acknowledged; recovery replays the log
//! and tells a torn tail from corruption. The semantics are specified in the
//! project's `spec/engine.md`.
//!
//! The logic lives in [`Core`], plain single-threaded data that a simulator
//! drives step by step and a model checker clones; [`Db`] is the thread-safe
//! handle for real use.
//!
//! ```
//! use engine::{Db, MemDisk, Options};
//! let db = Db::open_with(MemDisk::new(), Options::default()).unwrap();
//! let mut tx = db.begin();
//! tx.put(b"greeting", b"hello").unwrap();
//! assert_eq!(tx.get(b"greeting").unwrap().as_deref(), Some(&b"hello"[..]));
//! let committed = tx.commit().unwrap();
//! assert_eq!(committed.seq, Some(1));
//! ```

#![deny(missing_docs)]

mod atomic;
pub mod bench;
mod bytes;
mod checkpoint;
mod commit_log;
mod core;
mod crc;
mod db;
mod error;
pub mod files;
mod key_filter;
mod key_map;
mod key_order;
mod limits;
mod mutant;
mod mvcc;
mod options;
mod prefetch;
mod range;
mod recovery;
pub mod storage;
mod txn;
mod versionstamp;
pub mod wal;

pub use crate::atomic::{
    AtomicOp, AtomicResult, KvEntry, Mutation, MAX_TOTAL_KEY_BYTES, MAX_TOTAL_MUTATION_BYTES,
};
pub use crate::bytes::Bytes;
pub use crate::commit_log::{CommitLog, Summary};
pub use crate::core::{Committed, Core, ListEntry, Read, ReadSource};
pub use crate::db::{Atomic, Db, Transaction};
pub use crate::error::{show_key, Corruption, Error, IoError, Result};
pub use crate::limits::{MAX_CHECKS, MAX_GET_MANY_KEYS, MAX_KEY_LEN, MAX_MUTATIONS, MAX_VALUE_LEN};
pub use crate::mutant::{Mutant, UnknownMutant};
pub use crate::options::{Options, SyncPolicy};
pub use crate::range::KeyRange;
pub use crate::recovery::RecoveryReport;
pub use crate::storage::{DirStorage, MemDisk, MemFile, SendStorage, Storage};
pub use crate::txn::Txn;
pub use crate::versionstamp::Versionstamp;
