//! The fault-injecting disk the simulated store writes through.
//!
//! # Fault model
//!
//! The disk wraps the engine's in-memory disk, which keeps each file's
//! written bytes apart from its durable (fsynced) bytes, and the
//! directory's live entries apart from its durable ones. Faults:
//!
//! - **Crash at a storage call**: the simulator arms a crash at the k-th
//!   storage call of a step; that call and every later one fail, as if the
//!   process died there (inside a commit, between its WAL append and its
//!   fsync, or between two steps of a checkpoint).
//! - **Crash image**: what survives a crash is built from the durable
//!   state. The directory comes back either as last synced or as it was live
//!   (renames and creates not yet synced may or may not have reached the
//!   disk). A file's unsynced appended bytes are dropped, kept, kept up to
//!   an arbitrary byte (a write cut short, which can fall between a commit's
//!   write records and its marker), or torn sector by sector, each sector
//!   new, old (absent), zeroed or garbage, so a record can keep its length
//!   and lose its payload. Bytes that were durable are never touched by a
//!   tear: the engine does not pad commits to sectors and claims nothing
//!   about a torn write destroying older data in the same sector.
//! - **fsync failure (EIO)**: an armed fsync fails and its data stays
//!   unsynced; the engine must report the commit's outcome as unknown and
//!   refuse commits until it is reopened.
//! - **Bit flips in durable data**: applied to a crash image, only where
//!   the engine's checksums must notice: the current checkpoint, or a WAL
//!   record followed by a later whole commit. A flip in the very last
//!   record is indistinguishable from a torn write, which the engine is
//!   allowed to discard, so it is not injected there.

use std::collections::BTreeMap;

use engine::storage::FileBytes;
use engine::{files, IoError, MemDisk, MemFile, Storage};

use crate::decisions::{Decisions, Stream};

/// The simulated disk: the engine's in-memory disk plus armed faults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SimDisk {
    disk: MemDisk,
    /// Mutating storage calls made so far.
    calls: u64,
    /// The call number at which the process dies.
    crash_at: Option<u64>,
    /// Whether the process has died (every call fails).
    crashed: bool,
    /// Whether the next fsync fails.
    fail_next_sync: bool,
    /// fsyncs that failed.
    pub sync_failures: u64,
}

/// How a crash treated unsynced data, for the run's statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrashEffects {
    /// Whether any written data was not yet durable (a commit in flight).
    pub had_unsynced: bool,
    /// Whether a write was kept partially (cut or torn).
    pub torn: bool,
    /// Whether a bit was flipped in durable data.
    pub flipped: bool,
}

impl SimDisk {
    /// A disk holding exactly `image`, all durable.
    pub fn from_image(image: BTreeMap<String, Vec<u8>>) -> Self {
        SimDisk {
            disk: MemDisk::from_image(image),
            ..SimDisk::default()
        }
    }

    /// Arms a crash at the `k`-th mutating call from now (k >= 1).
    pub fn arm_crash(&mut self, k: u64) {
        assert!(k >= 1);
        self.crash_at = Some(self.calls + k);
    }

    /// Disarms a crash that the step did not reach.
    pub fn disarm(&mut self) {
        self.crash_at = None;
        self.fail_next_sync = false;
    }

    /// Makes the next fsync fail.
    pub fn arm_sync_failure(&mut self) {
        self.fail_next_sync = true;
    }

    /// Whether an armed crash fired.
    pub fn crashed(&self) -> bool {
        self.crashed
    }

    /// The underlying in-memory disk.
    pub fn mem(&self) -> &MemDisk {
        &self.disk
    }

    /// Counts a mutating call, failing it if the process has died or dies
    /// here (see `count_call`).
    #[inline]
    fn step(&mut self, op: &str, name: &str) -> Result<(), IoError> {
        count_call(&mut self.calls, self.crash_at, &mut self.crashed, op, name)
    }

    /// Fails this sync with EIO if a failure is armed, disarming it (see
    /// the function of the same name).
    #[inline]
    fn fail_armed_sync(&mut self, name: &str) -> Result<(), IoError> {
        fail_armed_sync(&mut self.fail_next_sync, &mut self.sync_failures, name)
    }

    /// Builds the image a crash would leave now, drawing how unsynced data
    /// fares from the disk stream, and flipping a durable bit if `flip`.
    ///
    /// The disk is used up: each file's bytes become what survives of it,
    /// cut, torn or kept in place, so a crash copies no file (a store's
    /// log and checkpoint are a megabyte or more, and it crashes often).
    pub fn crash_image(
        self,
        d: &mut Decisions,
        sector_size: usize,
        flip: bool,
    ) -> (BTreeMap<String, Vec<u8>>, CrashEffects) {
        let mut effects = CrashEffects {
            had_unsynced: self.disk.has_unsynced(),
            ..CrashEffects::default()
        };
        let live_dir = d.choose(Stream::Disk, 2) == 1;
        let mut image = BTreeMap::new();
        for (name, file) in self.disk.into_entries(live_dir) {
            let (bytes, torn) = survive(file, d, sector_size);
            effects.torn |= torn;
            image.insert(name, bytes);
        }
        if flip {
            effects.flipped = flip_protected_bit(&mut image, d);
        }
        (image, effects)
    }
}

/// Counts a mutating call (`calls`), failing it if the process has died or
/// dies here (at call `crash_at`). Every commit makes two, so the check is
/// inline and the failure, which builds an error message, is not.
#[inline]
fn count_call(
    calls: &mut u64,
    crash_at: Option<u64>,
    crashed: &mut bool,
    op: &str,
    name: &str,
) -> Result<(), IoError> {
    *calls += 1;
    if *crashed || crash_at == Some(*calls) {
        return Err(die(crashed, op, name));
    }
    Ok(())
}

/// The process dies (or has died) at call `op` on `name`.
#[cold]
#[inline(never)]
fn die(crashed: &mut bool, op: &str, name: &str) -> IoError {
    *crashed = true;
    IoError::simulated(format!("{op} {name}"), std::io::ErrorKind::Other, "crashed")
}

/// Fails a sync of `name` with EIO if a failure is armed, disarming it and
/// counting it.
#[inline]
fn fail_armed_sync(armed: &mut bool, failures: &mut u64, name: &str) -> Result<(), IoError> {
    if std::mem::take(armed) {
        *failures += 1;
        return Err(IoError::simulated(
            format!("sync {name}"),
            std::io::ErrorKind::Other,
            "EIO",
        ));
    }
    Ok(())
}

/// What survives of one file, made from its own bytes: their durable
/// prefix stays where it is, and the unsynced rest is kept, cut or torn
/// after it. The buffer keeps the room the file had grown into, so the
/// restarted store appends to its log without copying it again, unless
/// the bytes were shared (a model checker's clone: they are copied), torn
/// (the unsynced tail is copied out to tear) or rolled back to the content
/// before a truncation (kept apart, of its own size).
fn survive(file: MemFile, d: &mut Decisions, sector_size: usize) -> (Vec<u8>, bool) {
    if !file.durable_is_prefix() {
        // The file was rewritten since its last sync: old or new content.
        let bytes = if d.choose(Stream::Disk, 2) == 0 {
            file.into_durable()
        } else {
            file.into_written()
        };
        return (bytes, false);
    }
    let durable = file.durable().len();
    let mut bytes = file.into_written();
    let unsynced = bytes.len() - durable;
    if unsynced == 0 {
        return (bytes, false);
    }
    match d.choose(Stream::Disk, 4) {
        0 => {
            bytes.truncate(durable);
            (bytes, false)
        }
        1 => (bytes, false),
        2 => {
            let keep = d.choose(Stream::Disk, unsynced as u64 + 1) as usize;
            bytes.truncate(durable + keep);
            (bytes, keep < unsynced)
        }
        _ => {
            let unsynced = bytes.split_off(durable);
            (tear(durable, &unsynced, d, sector_size, bytes), true)
        }
    }
}

/// Tears unsynced bytes sector by sector: each sector (aligned to file
/// offsets) is new, old, zeroed or garbage. Old sectors at the end leave the
/// file shorter; old sectors before a written one read as zeros.
fn tear(start: usize, unsynced: &[u8], d: &mut Decisions, sector_size: usize, mut out: Vec<u8>) -> Vec<u8> {
    let end = start + unsynced.len();
    let mut at = start;
    let mut pieces: Vec<(usize, usize, u64)> = Vec::new();
    while at < end {
        let sector_end = ((at / sector_size) + 1) * sector_size;
        let piece_end = sector_end.min(end);
        pieces.push((at, piece_end, d.choose(Stream::Disk, 4)));
        at = piece_end;
    }
    let last_present = pieces.iter().rposition(|(_, _, fate)| *fate != 1);
    let Some(last_present) = last_present else {
        return out;
    };
    for &(from, to, fate) in &pieces[..=last_present] {
        let new = &unsynced[from - start..to - start];
        match fate {
            0 => out.extend_from_slice(new),
            1 | 2 => out.extend(std::iter::repeat_n(0u8, to - from)),
            _ => {
                for _ in from..to {
                    out.push(d.choose(Stream::Disk, 256) as u8);
                }
            }
        }
    }
    assert_eq!(
        out.len(),
        pieces[last_present].1,
        "a torn file ends at its last written sector"
    );
    out
}

/// Flips one bit where the engine must detect it: the newest checkpoint,
/// or a WAL record followed by a later whole commit. Returns whether a bit
/// was flipped (there may be no such place yet).
fn flip_protected_bit(image: &mut BTreeMap<String, Vec<u8>>, d: &mut Decisions) -> bool {
    let newest_snapshot = image
        .keys()
        .filter_map(|n| {
            files::parse(n)
                .filter(|(k, _)| *k == files::FileKind::Snapshot)
                .map(|(_, g)| g)
        })
        .max();
    let generation = newest_snapshot.unwrap_or(0);
    let mut targets: Vec<(String, usize)> = Vec::new();
    if newest_snapshot.is_some() {
        let name = files::snapshot(generation);
        targets.push((name.clone(), image[&name].len()));
    }
    let wal = files::wal(generation);
    if let Some(bytes) = image.get(&wal) {
        if let Ok(scan) = engine::wal::scan(bytes, true) {
            let mut commit_starts = Vec::new();
            let mut start = None;
            for (offset, record) in &scan.records {
                start.get_or_insert(*offset);
                if matches!(record, engine::wal::Record::Marker { .. }) {
                    commit_starts.push(start.take().expect("a commit has a start"));
                }
            }
            if let Some(&last_commit) = commit_starts.last() {
                if last_commit > 0 {
                    targets.push((wal, last_commit));
                }
            }
        }
    }
    if targets.is_empty() {
        return false;
    }
    let (name, len) = targets[d.choose(Stream::Disk, targets.len() as u64) as usize].clone();
    // Counted back from the end of the protected bytes, so the same
    // decision hits the same byte of the newest commits however many
    // commits came before them (a shrunk run keeps its flip in place).
    let at = len - 1 - d.choose(Stream::Disk, len as u64) as usize;
    let bit = d.choose(Stream::Disk, 8);
    image.get_mut(&name).expect("target exists")[at] ^= 1 << bit;
    true
}

impl Storage for SimDisk {
    fn list(&self) -> Result<Vec<String>, IoError> {
        self.disk.list()
    }

    fn read(&self, name: &str) -> Result<Option<FileBytes>, IoError> {
        self.disk.read(name)
    }

    fn create(&mut self, name: &str) -> Result<(), IoError> {
        self.step("create", name)?;
        self.disk.create(name)
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.step("append", name)?;
        self.disk.append(name, data)
    }

    fn append_owned(&mut self, name: &str, data: Vec<u8>) -> Result<(), IoError> {
        self.step("append", name)?;
        self.disk.append_owned(name, data)
    }

    fn sync(&mut self, name: &str) -> Result<(), IoError> {
        self.step("sync", name)?;
        self.fail_armed_sync(name)?;
        self.disk.sync(name)
    }

    /// Two calls as the fault model sees them, each counted and each able
    /// to crash or fail (so a crash can fall between the append and its
    /// sync), with the file looked up by name once.
    fn append_synced(&mut self, name: &str, data: &[u8]) -> Result<(), IoError> {
        self.step("append", name)?;
        let file = self.disk.append_file(name, data)?;
        // The sync's call, as `step` and `fail_armed_sync` count it, on the
        // fields beside the disk that the file is borrowed from.
        count_call(&mut self.calls, self.crash_at, &mut self.crashed, "sync", name)?;
        fail_armed_sync(&mut self.fail_next_sync, &mut self.sync_failures, name)?;
        file.sync();
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), IoError> {
        self.step("rename", from)?;
        self.disk.rename(from, to)
    }

    fn remove(&mut self, name: &str) -> Result<(), IoError> {
        self.step("remove", name)?;
        self.disk.remove(name)
    }

    fn sync_dir(&mut self) -> Result<(), IoError> {
        self.step("sync_dir", ".")?;
        self.disk.sync_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk_with_unsynced(durable: &[u8], unsynced: &[u8]) -> SimDisk {
        let mut disk = SimDisk::default();
        disk.create("f").unwrap();
        disk.append("f", durable).unwrap();
        disk.sync("f").unwrap();
        disk.sync_dir().unwrap();
        disk.append("f", unsynced).unwrap();
        disk
    }

    #[test]
    fn durable_bytes_always_survive_and_unsynced_ones_fare_as_drawn() {
        let disk = disk_with_unsynced(&[7; 100], &[9; 300]);
        let mut seen_lengths = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let mut d = Decisions::seeded(seed, false);
            let (image, effects) = disk.clone().crash_image(&mut d, 64, false);
            let f = &image["f"];
            assert!(f.len() >= 100 && f.len() <= 400);
            assert_eq!(&f[..100], &[7; 100][..], "a tear never touches durable bytes");
            assert!(effects.had_unsynced);
            seen_lengths.insert(f.len());
        }
        assert!(seen_lengths.contains(&100) && seen_lengths.contains(&400));
        assert!(seen_lengths.len() > 5, "prefixes and tears give many lengths");
    }

    #[test]
    fn an_armed_crash_fails_that_call_and_every_later_one() {
        let mut disk = SimDisk::default();
        disk.arm_crash(2);
        disk.create("f").unwrap();
        assert!(disk.append("f", b"x").is_err());
        assert!(disk.crashed());
        assert!(disk.sync("f").is_err());
    }

    #[test]
    fn an_append_synced_is_two_calls_to_the_fault_model() {
        // A crash armed at the sync falls between the append and its sync:
        // the appended bytes are written but not durable.
        let mut disk = disk_with_unsynced(b"durable", b"");
        disk.arm_crash(2);
        assert!(disk.append_synced("f", b"pending").is_err());
        assert!(disk.crashed());
        assert_eq!(disk.mem().read("f").unwrap().unwrap()[..], b"durablepending"[..]);
        assert_eq!(disk.mem().crash_image()["f"], b"durable");
        // An armed sync failure fails it after the append, and is counted.
        let mut disk = disk_with_unsynced(b"durable", b"");
        disk.arm_sync_failure();
        assert!(disk.append_synced("f", b"pending").is_err());
        assert_eq!(disk.sync_failures, 1);
        assert_eq!(disk.mem().crash_image()["f"], b"durable");
        // Otherwise it is an append and a sync, two calls.
        let calls = disk.calls;
        disk.append_synced("f", b"!").unwrap();
        assert_eq!(disk.calls, calls + 2);
        assert_eq!(disk.mem().crash_image()["f"], b"durablepending!");
    }

    #[test]
    fn a_failed_sync_leaves_the_data_unsynced() {
        let mut disk = disk_with_unsynced(b"durable", b"pending");
        disk.arm_sync_failure();
        assert!(disk.sync("f").is_err());
        assert_eq!(disk.sync_failures, 1);
        assert_eq!(disk.mem().crash_image()["f"], b"durable");
        assert!(disk.sync("f").is_ok(), "only the armed sync fails");
    }
}
