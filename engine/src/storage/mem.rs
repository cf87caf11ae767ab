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

use super::{FileBytes, Storage};
use crate::error::IoError;

/// From this size on, a file's buffer grows fourfold when full.
const FAST_GROWTH_FROM: usize = 1 << 20;

/// One file: what has been written, and what is durable.
///
/// Files are append-only between truncations, so the durable content is
/// nearly always a prefix of the written bytes, and the file keeps one copy
/// of its bytes and the length of that prefix: a sync costs nothing, and
/// the bytes are not copied twice as the file grows. Only a file truncated
/// since its last sync keeps its durable content apart. Equality and
/// hashing go by content (the written bytes and the durable bytes), not by
/// how they are stored.
#[derive(Debug, Clone, Default)]
pub struct MemFile {
    /// Every byte written so far, as a reader sees the file now. Shared,
    /// so that cloning a disk (a model checker clones whole stores) copies
    /// no file; a write to a shared file copies it once.
    written: Arc<Vec<u8>>,
    /// How many leading bytes of `written` are durable (when the file was
    /// not truncated since its last sync).
    synced: usize,
    /// The durable content of a file truncated since its last sync, which
    /// `written` need not extend.
    before_truncate: Option<Arc<Vec<u8>>>,
}

impl MemFile {
    /// A file whose every byte is durable.
    fn durable_file(bytes: Vec<u8>) -> Self {
        MemFile {
            synced: bytes.len(),
            written: Arc::new(bytes),
            before_truncate: None,
        }
    }

    /// Every byte written so far, as a reader sees the file now.
    pub fn written(&self) -> &[u8] {
        &self.written
    }

    /// The bytes that a crash would keep: the content at the last `sync`.
    pub fn durable(&self) -> &[u8] {
        match &self.before_truncate {
            Some(old) => old,
            None => &self.written[..self.synced],
        }
    }

    /// Makes every written byte durable: what `Storage::sync` does to the
    /// file it names.
    pub fn sync(&mut self) {
        self.before_truncate = None;
        self.synced = self.written.len();
        assert_eq!(
            self.durable().len(),
            self.written().len(),
            "after a sync every written byte is durable"
        );
    }

    /// Whether the durable bytes begin the written ones, as they always
    /// do unless the file was truncated since its last sync (and not
    /// written back to begin with its old content). Known without comparing
    /// bytes when the durable content is the written bytes' own prefix (a
    /// log's megabyte is not read through).
    pub fn durable_is_prefix(&self) -> bool {
        match &self.before_truncate {
            None => true,
            Some(old) => self.written.starts_with(old),
        }
    }

    /// Whether every written byte is durable (compared byte by byte only
    /// for a file truncated since its last sync).
    pub fn is_synced(&self) -> bool {
        match &self.before_truncate {
            None => self.synced == self.written.len(),
            Some(old) => old[..] == self.written[..],
        }
    }

    /// The written bytes, taken rather than copied when no other value
    /// shares them.
    pub fn into_written(self) -> Vec<u8> {
        Arc::try_unwrap(self.written).unwrap_or_else(|shared| shared.to_vec())
    }

    /// The durable bytes, taken rather than copied when no other value
    /// shares them.
    pub fn into_durable(self) -> Vec<u8> {
        match self.before_truncate {
            Some(old) => Arc::try_unwrap(old).unwrap_or_else(|shared| shared.to_vec()),
            None => {
                let synced = self.synced;
                let mut bytes =
                    Arc::try_unwrap(self.written).unwrap_or_else(|shared| shared[..synced].to_vec());
                bytes.truncate(synced);
                bytes
            }
        }
    }
}

impl PartialEq for MemFile {
    fn eq(&self, other: &Self) -> bool {
        self.written() == other.written() && self.durable() == other.durable()
    }
}

impl Eq for MemFile {}

impl std::hash::Hash for MemFile {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.written().hash(h);
        // A durable prefix of the written bytes is known by its length;
        // only other durable content is hashed byte by byte.
        let durable = self.durable();
        if self.written().starts_with(durable) {
            (0u8, durable.len()).hash(h);
        } else {
            (1u8, durable).hash(h);
        }
    }
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
    spare: Spare,
}

/// The buffer of the largest file dropped since, kept empty for the next
/// file that grows by appends.
///
/// A store writes its log to a new file every checkpoint and drops the
/// old one after. Grown afresh, each log would copy itself at every
/// doubling and fault in new pages for the kernel to zero; reusing the
/// dropped log's buffer does neither. The spare is not content: every two
/// spares are equal, none adds to a hash, and a clone starts without one,
/// so a model checker's clones and comparisons of whole disks are
/// unchanged.
#[derive(Debug, Default)]
struct Spare(Vec<u8>);

impl Clone for Spare {
    fn clone(&self) -> Self {
        Spare::default()
    }
}

impl PartialEq for Spare {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Spare {}

impl std::hash::Hash for Spare {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
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
            disk.files.insert(id, MemFile::durable_file(bytes));
            disk.live.insert(name.clone(), id);
            disk.durable_dir.insert(name, id);
        }
        disk
    }

    /// The image a crash would leave if every unsynced write were lost.
    pub fn crash_image(&self) -> BTreeMap<String, Vec<u8>> {
        self.durable_dir
            .iter()
            .map(|(name, id)| (name.clone(), self.files[id].durable().to_vec()))
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
        self.live != self.durable_dir || self.live.values().any(|id| !self.files[id].is_synced())
    }

    /// The entries of the live directory (`live`) or of the durable one,
    /// by name, each with its file, taken out of the disk: what a crash
    /// image is built from, with no file's bytes copied.
    pub fn into_entries(mut self, live: bool) -> Vec<(String, MemFile)> {
        let dir = std::mem::take(if live {
            &mut self.live
        } else {
            &mut self.durable_dir
        });
        dir.into_iter()
            .map(|(name, id)| {
                let file = self.files.remove(&id).expect("a directory entry names a file");
                (name, file)
            })
            .collect()
    }

    fn missing(op: &str, name: &str) -> IoError {
        IoError::simulated(
            format!("{op} {name}"),
            std::io::ErrorKind::NotFound,
            "no such file",
        )
    }

    /// Appends `data` to the live file `name` and returns the file, which
    /// a caller that appends and then syncs (`SimDisk`, which counts and may
    /// fail each of the two calls on its own) syncs with `MemFile::sync`
    /// without looking its name up again.
    pub fn append_file(&mut self, name: &str, data: &[u8]) -> Result<&mut MemFile, IoError> {
        let id = *self.live.get(name).ok_or_else(|| Self::missing("append", name))?;
        let file = self.files.get_mut(&id).expect("live entry has a file");
        let written = Arc::make_mut(&mut file.written);
        let spare = &mut self.spare.0;
        let full = written.capacity() - written.len() < data.len();
        if full && !written.is_empty() && spare.capacity() >= written.len() + data.len() {
            // A file that grows by appends (a file written in one append,
            // such as a snapshot, does not take it) moves into the spare
            // buffer, which holds no content.
            assert!(spare.is_empty());
            spare.extend_from_slice(written);
            std::mem::swap(written, spare);
            spare.clear();
        } else if full && written.len() >= FAST_GROWTH_FROM {
            // A large file grows fourfold rather than doubling: every growth
            // copies the whole file, and for a log appended to on every
            // commit those copies cost about as much memory traffic as the
            // appends themselves. Capacity never written to is address space
            // only, and copying a shared file copies just its bytes.
            written.reserve(written.len() * 3);
        }
        written.extend_from_slice(data);
        Ok(file)
    }

    /// Drops file contents that no name refers to any more, keeping the
    /// largest buffer among them (one no clone shares) as the spare.
    fn collect_garbage(&mut self) {
        let live = &self.live;
        let durable = &self.durable_dir;
        let dropped: Vec<FileId> = self
            .files
            .keys()
            .filter(|id| !live.values().any(|l| l == *id) && !durable.values().any(|d| d == *id))
            .copied()
            .collect();
        for id in dropped {
            let file = self.files.remove(&id).expect("a listed file exists");
            if let Ok(mut buffer) = Arc::try_unwrap(file.written) {
                if buffer.capacity() > self.spare.0.capacity() {
                    buffer.clear();
                    self.spare.0 = buffer;
                }
            }
        }
        assert!(self.spare.0.is_empty(), "the spare buffer holds no content");
    }
}

impl Storage for MemDisk {
    fn list(&self) -> Result<Vec<String>, IoError> {
        Ok(self.live.keys().cloned().collect())
    }

    fn read(&self, name: &str) -> Result<Option<FileBytes>, IoError> {
        Ok(self.live.get(name).map(|id| Arc::clone(&self.files[id].written)))
    }

    fn create(&mut self, name: &str) -> Result<(), IoError> {
        if let Some(id) = self.live.get(name) {
            let file = self.files.get_mut(id).expect("live entry has a file");
            if file.before_truncate.is_none() {
                let durable = file.durable().to_vec();
                file.before_truncate = Some(Arc::new(durable));
            }
            file.written = Arc::default();
            file.synced = 0;
            return Ok(());
        }
        let id = self.next_id;
        self.next_id += 1;
        self.files.insert(id, MemFile::default());
        self.live.insert(name.to_owned(), id);
        Ok(())
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.append_file(name, data).map(drop)
    }

    /// An empty file takes the bytes as they are, with no copy; a file
    /// with content appends them.
    fn append_owned(&mut self, name: &str, data: Vec<u8>) -> Result<(), IoError> {
        let id = *self.live.get(name).ok_or_else(|| Self::missing("append", name))?;
        let file = self.files.get_mut(&id).expect("live entry has a file");
        if !file.written.is_empty() {
            return self.append(name, &data);
        }
        assert_eq!(file.synced, 0, "no written byte of an empty file is durable");
        file.written = Arc::new(data);
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<(), IoError> {
        let id = *self.live.get(name).ok_or_else(|| Self::missing("sync", name))?;
        self.files.get_mut(&id).expect("live entry has a file").sync();
        Ok(())
    }

    fn append_synced(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.append_file(name, data)?.sync();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk's hash with a fixed hasher.
    fn hash(d: &MemDisk) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(d)
    }

    #[test]
    fn only_synced_bytes_survive_a_crash() {
        let mut disk = MemDisk::new();
        disk.create("f").unwrap();
        disk.sync_dir().unwrap();
        disk.append("f", b"abc").unwrap();
        disk.sync("f").unwrap();
        disk.append("f", b"def").unwrap();
        assert!(disk.has_unsynced());
        assert_eq!(disk.crash_image()["f"], b"abc");
        assert_eq!(disk.read("f").unwrap().unwrap()[..], b"abcdef"[..]);
        disk.sync("f").unwrap();
        assert!(!disk.has_unsynced());
        assert_eq!(disk.crash_image()["f"], b"abcdef");
    }

    #[test]
    fn an_append_synced_is_an_append_and_a_sync() {
        let mut one = MemDisk::new();
        let mut two = MemDisk::new();
        for disk in [&mut one, &mut two] {
            disk.create("f").unwrap();
            disk.create("g").unwrap();
            disk.sync_dir().unwrap();
            disk.append("f", b"unsynced").unwrap();
        }
        one.append_synced("g", b"abc").unwrap();
        two.append("g", b"abc").unwrap();
        two.sync("g").unwrap();
        assert_eq!(one, two);
        assert_eq!(one.crash_image()["g"], b"abc");
        assert_eq!(one.crash_image()["f"], b"", "only the named file is synced");
        assert!(
            one.append_synced("h", b"x").is_err(),
            "a missing file is an error"
        );
        assert_eq!(one, two, "and changes nothing");
        one.append_file("f", b"!").unwrap();
        assert_eq!(one.crash_image()["f"], b"");
        one.sync("f").unwrap();
        assert_eq!(one.crash_image()["f"], b"unsynced!");
    }

    #[test]
    fn an_append_owned_is_an_append() {
        let mut one = MemDisk::new();
        let mut two = MemDisk::new();
        for disk in [&mut one, &mut two] {
            disk.create("empty").unwrap();
            disk.create("full").unwrap();
            disk.sync_dir().unwrap();
            disk.append("full", b"abc").unwrap();
            disk.sync("full").unwrap();
        }
        one.append_owned("empty", b"taken".to_vec()).unwrap();
        one.append_owned("full", b"def".to_vec()).unwrap();
        two.append("empty", b"taken").unwrap();
        two.append("full", b"def").unwrap();
        assert_eq!(one, two);
        assert_eq!(one.crash_image()["empty"], b"", "appended, not yet durable");
        assert_eq!(one.crash_image()["full"], b"abc");
        assert!(one.append_owned("missing", vec![1]).is_err());
        // A file truncated since its last sync keeps its old durable
        // content apart, and takes the new bytes the same way.
        one.create("full").unwrap();
        one.append_owned("full", b"new".to_vec()).unwrap();
        assert_eq!(one.read("full").unwrap().unwrap()[..], b"new"[..]);
        assert_eq!(one.crash_image()["full"], b"abc", "the content at the last sync");
    }

    /// A disk's entries come out with their files, by name, from the live
    /// or the durable directory; a file's written and durable bytes come
    /// out as they read (here copied, as the clones share them).
    #[test]
    fn entries_and_their_bytes_come_out_as_they_read() {
        let mut disk = MemDisk::new();
        disk.create("a").unwrap();
        disk.create("b").unwrap();
        disk.sync_dir().unwrap();
        disk.append("a", b"durable").unwrap();
        disk.sync("a").unwrap();
        disk.append("a", b"+more").unwrap();
        disk.append("b", b"old").unwrap();
        disk.sync("b").unwrap();
        disk.create("b").unwrap();
        disk.append("b", b"new").unwrap();
        disk.create("c").unwrap();
        let files: Vec<(String, MemFile)> = disk.files().map(|(n, f)| (n.to_owned(), f.clone())).collect();
        let a = &files[0].1;
        assert!(a.durable_is_prefix() && !a.is_synced());
        let b = &files[1].1;
        assert!(
            !b.durable_is_prefix() && !b.is_synced(),
            "rewritten since its sync"
        );
        assert!(files[2].1.is_synced(), "an empty file has nothing unsynced");
        for (_, file) in &files {
            assert_eq!(file.clone().into_written(), file.written(), "shared, copied");
            assert_eq!(file.clone().into_durable(), file.durable());
        }
        let durable: Vec<String> = disk
            .clone()
            .into_entries(false)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(durable, ["a", "b"], "c was never made durable");
        let live = disk.into_entries(true);
        assert_eq!(live.len(), 3);
        for ((name, file), (expected_name, expected)) in live.into_iter().zip(&files) {
            assert_eq!(&name, expected_name);
            assert_eq!(file.clone().into_durable(), expected.durable());
            assert_eq!(file.into_written(), expected.written());
        }
    }

    #[test]
    fn a_truncated_file_keeps_its_old_durable_content_until_synced() {
        let mut disk = MemDisk::new();
        disk.create("f").unwrap();
        disk.sync_dir().unwrap();
        disk.append("f", b"old content").unwrap();
        disk.sync("f").unwrap();
        disk.create("f").unwrap();
        disk.append("f", b"new").unwrap();
        assert_eq!(disk.crash_image()["f"], b"old content");
        disk.create("f").unwrap();
        assert_eq!(
            disk.crash_image()["f"],
            b"old content",
            "a second truncation keeps the content of the last sync"
        );
        disk.append("f", b"newer, and longer than before").unwrap();
        disk.sync("f").unwrap();
        assert_eq!(disk.crash_image()["f"], b"newer, and longer than before");
    }

    #[test]
    fn equality_and_hashing_go_by_content() {
        let mut a = MemDisk::new();
        a.create("f").unwrap();
        a.append("f", b"xy").unwrap();
        a.sync("f").unwrap();
        let mut b = a.clone();
        b.append("f", b"z").unwrap();
        assert_ne!(a, b, "written bytes differ");
        let mut c = a.clone();
        c.create("f").unwrap();
        c.append("f", b"xy").unwrap();
        assert_eq!(a, c, "the same written and durable bytes, stored differently");
        assert_eq!(hash(&a), hash(&c));
        c.append("f", b"z").unwrap();
        assert_eq!(b, c);
        assert_eq!(hash(&b), hash(&c));
        let mut d = b.clone();
        d.sync("f").unwrap();
        assert_ne!(b, d, "durable bytes differ");
    }

    #[test]
    fn a_dropped_logs_buffer_is_reused_by_the_next_log_and_is_not_content() {
        let mut disk = MemDisk::new();
        disk.create("log.1").unwrap();
        for _ in 0..1000 {
            disk.append("log.1", &[1; 100]).unwrap();
        }
        disk.sync("log.1").unwrap();
        disk.create("log.2").unwrap();
        disk.sync_dir().unwrap();
        disk.remove("log.1").unwrap();
        disk.sync_dir().unwrap();
        let kept = disk.spare.0.capacity();
        assert!(kept >= 100_000, "the dropped log's buffer is kept");
        let mut fresh = MemDisk::new();
        fresh.create("log.1").unwrap();
        fresh.create("log.2").unwrap();
        fresh.remove("log.1").unwrap();
        fresh.sync_dir().unwrap();
        assert_eq!(fresh.spare.0.capacity(), 0);
        assert_eq!(disk, fresh, "a spare buffer is not content");
        assert_eq!(hash(&disk), hash(&fresh));
        disk.create("snapshot").unwrap();
        disk.append("snapshot", &[2; 500]).unwrap();
        assert_eq!(
            disk.spare.0.capacity(),
            kept,
            "a file written in one append leaves it"
        );
        for i in 0..200u8 {
            disk.append("log.2", &[i; 100]).unwrap();
            fresh.append("log.2", &[i; 100]).unwrap();
        }
        assert!(
            disk.files[&disk.live["log.2"]].written.capacity() >= kept,
            "the growing log took it"
        );
        assert_eq!(disk.read("log.2").unwrap(), fresh.read("log.2").unwrap());
        assert!(disk.clone().spare.0.capacity() == 0, "a clone has no spare");
    }
}
