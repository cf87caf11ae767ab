//! An in-memory disk that keeps written bytes and durable bytes apart.
//!
//! Each file has the bytes written so far (what a reader sees now) and the
//! bytes made durable by the last `sync`; the directory has its live entries
//! and its durable entries (those made durable by `sync_dir`). A crash keeps
//! only the durable parts, so `crash_image` builds exactly what a power loss
//! would leave if every unsynced write were lost. A simulator that wants
//! torn or partly kept writes reads both sides (`files`, `durable_names`) and
//! builds its own image with `from_image`.
//!
//! The disk is plain data (`Clone + Hash + Eq` by content), so a model
//! checker can clone and compare a whole store.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Storage;
use crate::error::IoError;

/// One file: what has been written, and what is durable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MemFile {
    /// Every byte written so far, as a reader sees the file now.
    pub written: Vec<u8>,
    /// The bytes that a crash would keep: the content at the last `sync`.
    /// Shared so that cloning a disk does not copy durable data.
    pub durable: Arc<Vec<u8>>,
    /// Whether the file was truncated since its last sync, so `written` may
    /// not extend `durable`. While false, a sync only appends the new bytes
    /// (a commit's sync costs its own size, not the file's).
    rewritten: bool,
}

/// A file id: renames move ids between names, like inodes.
type FileId = u64;

/// The in-memory disk.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MemDisk {
    files: BTreeMap<FileId, MemFile>,
    live: BTreeMap<String, FileId>,
    durable_dir: BTreeMap<String, FileId>,
    next_id: FileId,
}

impl MemDisk {
    /// An empty disk.
    pub fn new() -> Self {
        MemDisk::default()
    }

    /// A disk holding exactly these files, all durable (a crash image).
    pub fn from_image(image: BTreeMap<String, Vec<u8>>) -> Self {
        let mut disk = MemDisk::new();
        for (name, bytes) in image {
            let id = disk.next_id;
            disk.next_id += 1;
            disk.files.insert(
                id,
                MemFile {
                    durable: Arc::new(bytes.clone()),
                    written: bytes,
                    rewritten: false,
                },
            );
            disk.live.insert(name.clone(), id);
            disk.durable_dir.insert(name, id);
        }
        disk
    }

    /// The image a crash would leave if every unsynced write were lost.
    pub fn crash_image(&self) -> BTreeMap<String, Vec<u8>> {
        self.durable_dir
            .iter()
            .map(|(name, id)| (name.clone(), self.files[id].durable.as_ref().clone()))
            .collect()
    }

    /// The live files by name, each with its written and durable bytes.
    pub fn files(&self) -> impl Iterator<Item = (&str, &MemFile)> {
        self.live.iter().map(|(n, id)| (n.as_str(), &self.files[id]))
    }

    /// For each durable directory entry, the file it names: its written and
    /// durable bytes (it may since have been renamed or removed live).
    pub fn durable_entries(&self) -> impl Iterator<Item = (&str, &MemFile)> {
        self.durable_dir
            .iter()
            .map(|(n, id)| (n.as_str(), &self.files[id]))
    }

    /// Whether any live file has bytes (or any entry) not yet durable.
    pub fn has_unsynced(&self) -> bool {
        self.live != self.durable_dir
            || self.live.values().any(|id| {
                let f = &self.files[id];
                *f.durable != f.written
            })
    }

    fn missing(op: &str, name: &str) -> IoError {
        IoError::simulated(
            format!("{op} {name}"),
            std::io::ErrorKind::NotFound,
            "no such file",
        )
    }

    /// Drops file contents that no name refers to any more.
    fn collect_garbage(&mut self) {
        let live = &self.live;
        let durable = &self.durable_dir;
        self.files
            .retain(|id, _| live.values().any(|l| l == id) || durable.values().any(|d| d == id));
    }
}

impl Storage for MemDisk {
    fn list(&self) -> Result<Vec<String>, IoError> {
        Ok(self.live.keys().cloned().collect())
    }

    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, IoError> {
        Ok(self.live.get(name).map(|id| self.files[id].written.clone()))
    }

    fn create(&mut self, name: &str) -> Result<(), IoError> {
        if let Some(id) = self.live.get(name) {
            self.files
                .get_mut(id)
                .expect("live entry has a file")
                .written
                .clear();
            return Ok(());
        }
        let id = self.next_id;
        self.next_id += 1;
        self.files.insert(id, MemFile::default());
        self.live.insert(name.to_owned(), id);
        Ok(())
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        let id = *self.live.get(name).ok_or_else(|| Self::missing("append", name))?;
        self.files
            .get_mut(&id)
            .expect("live entry has a file")
            .written
            .extend_from_slice(data);
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<(), IoError> {
        let id = *self.live.get(name).ok_or_else(|| Self::missing("sync", name))?;
        let file = self.files.get_mut(&id).expect("live entry has a file");
        if file.rewritten {
            file.durable = Arc::new(file.written.clone());
            file.rewritten = false;
        } else {
            assert!(
                file.written.len() >= file.durable.len(),
                "an appended file only grows"
            );
            if file.written.len() > file.durable.len() {
                let new = &file.written[file.durable.len()..];
                Arc::make_mut(&mut file.durable).extend_from_slice(new);
            }
        }
        debug_assert_eq!(
            *file.durable, file.written,
            "after a sync every written byte is durable"
        );
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), IoError> {
        let id = self
            .live
            .remove(from)
            .ok_or_else(|| Self::missing("rename", from))?;
        self.live.insert(to.to_owned(), id);
        self.collect_garbage();
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<(), IoError> {
        self.live.remove(name);
        self.collect_garbage();
        Ok(())
    }

    fn sync_dir(&mut self) -> Result<(), IoError> {
        self.durable_dir = self.live.clone();
        self.collect_garbage();
        Ok(())
    }
}
