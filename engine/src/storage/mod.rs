//! The storage trait the store writes through, and its implementations.
//!
//! The trait is deliberately small (whole-file reads, appends, syncs,
//! renames) so that a simulated disk can stand behind it and decide, call by
//! call, what reaches durable media. Every call returns a typed error at the
//! exact call that failed, so a fault injected into one call surfaces there.

mod fs;
mod mem;

pub use fs::DirStorage;
pub use mem::{MemDisk, MemFile};

use std::sync::Arc;

use crate::error::IoError;

/// A whole file's content as `Storage::read` returns it: shared, so that
/// an in-memory disk hands out the buffer it holds rather than a copy
/// (recovery reads the checkpoint and the WAL, a megabyte or more, at
/// every restart of a simulated store).
pub type FileBytes = Arc<Vec<u8>>;

/// A flat directory of named files, as the store needs it.
///
/// Names are plain file names (no separators). A file created, renamed or
/// removed is only durably so after `sync_dir`; bytes appended are only
/// durable after `sync` of that file.
pub trait Storage {
    /// The names of the files in the directory, sorted.
    fn list(&self) -> Result<Vec<String>, IoError>;
    /// The whole content of a file, or `None` if it does not exist.
    fn read(&self, name: &str) -> Result<Option<FileBytes>, IoError>;
    /// Creates an empty file, truncating it if it exists.
    fn create(&mut self, name: &str) -> Result<(), IoError>;
    /// Appends bytes at the end of an existing file.
    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), IoError>;
    /// Makes a file's content durable (fsync).
    fn sync(&mut self, name: &str) -> Result<(), IoError>;
    /// `append`, handing the bytes over: a storage that keeps files in
    /// memory can take them as an empty file's content rather than copy
    /// them (a checkpoint writes its whole file so, a buffer it would drop
    /// right after).
    fn append_owned(&mut self, name: &str, data: Vec<u8>) -> Result<(), IoError> {
        self.append(name, &data)
    }
    /// `append` and then, if it succeeded, `sync`: what a commit does
    /// under `SyncPolicy::EveryCommit`. A storage that finds a file by its
    /// name can find it once for both.
    fn append_synced(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.append(name, data)?;
        self.sync(name)
    }
    /// Renames a file, replacing any file with the new name.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), IoError>;
    /// Removes a file; removing a missing file is not an error.
    fn remove(&mut self, name: &str) -> Result<(), IoError>;
    /// Makes the directory's entries (creates, renames, removes) durable.
    fn sync_dir(&mut self) -> Result<(), IoError>;
    /// A handle that fsyncs `name` without needing `&mut self`, so a group
    /// commit can sync outside the store's lock. `None` when the storage
    /// cannot do that (then the sync happens under the lock).
    fn detached_syncer(&self, _name: &str) -> Option<Box<dyn FnOnce() -> Result<(), IoError> + Send>> {
        None
    }
}

/// Storage that a `Db` can share across threads (reads take a shared lock).
pub trait SendStorage: Storage + Send + Sync + 'static {}
impl<T: Storage + Send + Sync + 'static> SendStorage for T {}
