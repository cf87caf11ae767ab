//! Helpers shared by the engine's integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use engine::{Core, IoError, MemDisk, Storage};

/// An in-memory disk that fails its `fail_at`-th mutating call. With
/// `crash`, every call after it fails too (the process died there); without,
/// only that one call fails (an fsync that returned EIO).
#[derive(Debug, Clone, Default)]
pub struct FailAt {
    pub disk: MemDisk,
    pub calls: u64,
    pub fail_at: Option<u64>,
    pub crash: bool,
    pub failed: bool,
}

impl FailAt {
    pub fn new(disk: MemDisk, fail_at: Option<u64>, crash: bool) -> Self {
        FailAt {
            disk,
            fail_at,
            crash,
            ..FailAt::default()
        }
    }

    fn step(&mut self, op: &str) -> Result<(), IoError> {
        self.calls += 1;
        let hit = Some(self.calls) == self.fail_at;
        if hit || (self.failed && self.crash) {
            self.failed = true;
            return Err(IoError::simulated(
                op,
                std::io::ErrorKind::Other,
                "injected failure",
            ));
        }
        Ok(())
    }
}

impl Storage for FailAt {
    fn list(&self) -> Result<Vec<String>, IoError> {
        self.disk.list()
    }
    fn read(&self, name: &str) -> Result<Option<engine::storage::FileBytes>, IoError> {
        self.disk.read(name)
    }
    fn create(&mut self, name: &str) -> Result<(), IoError> {
        self.step("create")?;
        self.disk.create(name)
    }
    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.step("append")?;
        self.disk.append(name, data)
    }
    fn sync(&mut self, name: &str) -> Result<(), IoError> {
        self.step("sync")?;
        self.disk.sync(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), IoError> {
        self.step("rename")?;
        self.disk.rename(from, to)
    }
    fn remove(&mut self, name: &str) -> Result<(), IoError> {
        self.step("remove")?;
        self.disk.remove(name)
    }
    fn sync_dir(&mut self) -> Result<(), IoError> {
        self.step("sync_dir")?;
        self.disk.sync_dir()
    }
}

/// The image a crash would leave if every written byte had reached the
/// disk (the opposite extreme of `MemDisk::crash_image`).
pub fn all_written_image(disk: &MemDisk) -> BTreeMap<String, Vec<u8>> {
    disk.files()
        .map(|(n, f)| (n.to_owned(), f.written().to_vec()))
        .collect()
}

/// Every live key's latest value.
pub fn state<S: Storage>(core: &Core<S>, keys: &[Vec<u8>]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    keys.iter()
        .filter_map(|k| core.read_latest(k).unwrap().1.map(|v| (k.clone(), v.to_vec())))
        .collect()
}
