//! What a crash leaves of unsynced data, as a few outcomes.
//!
//! The simulator draws a crash image byte by byte (kept, cut at any byte,
//! torn sector by sector); the model keeps the state space small by
//! offering only the outcomes that differ for the engine's WAL: the
//! unsynced tail dropped, kept whole, cut at each record boundary, or kept
//! with the last write record's value garbled (its length and the commit
//! marker after it intact, which only a checksum tells from a real write).
//! Each outcome is written as the exact disk-stream decisions that make the
//! simulator's own `crash_image` build that image (with one-byte sectors),
//! so the model recovers from the image a replay will recover from.

use engine::wal::{self, Record, HEADER_LEN};
use engine::{files, Core, MemDisk, MemFile, Options};

use crate::decisions::{Choice, Decisions, Stream};
use crate::disk::SimDisk;

/// How a crash treats the unsynced tail of the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Nothing was unsynced.
    Clean,
    /// The unsynced tail is lost.
    Dropped,
    /// The unsynced tail survives whole.
    Kept,
    /// The unsynced tail survives up to the end of its `records`-th record.
    Cut {
        /// Records kept.
        records: usize,
        /// Records in the unsynced tail.
        of: usize,
    },
    /// The unsynced tail survives, but the last write record's value bytes
    /// are garbage.
    Garbage,
}

impl Outcome {
    /// A phrase for a schedule.
    pub fn describe(self) -> String {
        match self {
            Outcome::Clean => "no unsynced data".to_owned(),
            Outcome::Dropped => "the unsynced WAL tail lost".to_owned(),
            Outcome::Kept => "the unsynced WAL tail kept whole".to_owned(),
            Outcome::Cut { records, of } => {
                format!("the unsynced WAL tail cut after {records} of its {of} records")
            }
            Outcome::Garbage => "the unsynced WAL tail kept with the last write's value garbled".to_owned(),
        }
    }
}

/// The unsynced tail of a WAL file: where it starts, and its records.
struct Tail<'a> {
    name: &'a str,
    file: &'a MemFile,
    records: Vec<(usize, Record)>,
}

/// The first WAL file (in the order the crash image visits files) whose
/// appended bytes are not all durable.
fn tail(mem: &MemDisk) -> Option<Tail<'_>> {
    mem.durable_entries().find_map(|(name, file)| {
        let is_wal = files::parse(name).is_some_and(|(kind, _)| kind == files::FileKind::Wal);
        let appended =
            file.written().starts_with(file.durable()) && file.written().len() > file.durable().len();
        if !(is_wal && appended) {
            return None;
        }
        let from = file.durable().len();
        let records = wal::scan(file.written(), true)
            .map(|scan| scan.records.into_iter().filter(|(at, _)| *at >= from).collect())
            .unwrap_or_default();
        Some(Tail { name, file, records })
    })
}

/// Every outcome the crashed disk allows.
pub fn outcomes(disk: &SimDisk) -> Vec<Outcome> {
    let Some(tail) = tail(disk.mem()) else {
        return vec![Outcome::Clean];
    };
    let of = tail.records.len();
    let mut out = vec![Outcome::Dropped, Outcome::Kept];
    out.extend((1..of).map(|records| Outcome::Cut { records, of }));
    if tail.records.iter().any(|(_, r)| matches!(r, Record::Put { .. })) {
        out.push(Outcome::Garbage);
    }
    out
}

/// The disk-stream decisions that make `SimDisk::crash_image` build the
/// image of `outcome`: the directory as last synced, then per durable
/// entry in name order, the fate of its unsynced bytes.
pub fn disk_choices(disk: &SimDisk, outcome: Outcome) -> Vec<u64> {
    let mem = disk.mem();
    let target = tail(mem);
    let mut out = vec![0];
    for (name, file) in mem.durable_entries() {
        if !file.written().starts_with(file.durable()) {
            out.push(0);
            continue;
        }
        if file.written().len() == file.durable().len() {
            continue;
        }
        match &target {
            Some(t) if t.name == name => tail_choices(t, outcome, &mut out),
            _ => out.push(0),
        }
    }
    out
}

fn tail_choices(tail: &Tail<'_>, outcome: Outcome, out: &mut Vec<u64>) {
    let from = tail.file.durable().len();
    let unsynced = &tail.file.written()[from..];
    match outcome {
        Outcome::Clean => unreachable!("a clean crash has no tail"),
        Outcome::Dropped => out.push(0),
        Outcome::Kept => out.push(1),
        Outcome::Cut { records, .. } => {
            out.push(2);
            out.push((tail.records[records].0 - from) as u64);
        }
        Outcome::Garbage => {
            let (at, key_len, value_len) = tail
                .records
                .iter()
                .rev()
                .find_map(|(at, r)| match r {
                    Record::Put { key, value, .. } => Some((*at, key.len(), value.len())),
                    _ => None,
                })
                .expect("a garbage outcome has a write record");
            let value_at = at + HEADER_LEN + 1 + 8 + 4 + key_len + 4 - from;
            let garbled = value_at..value_at + value_len;
            out.push(3);
            out.extend((0..unsynced.len()).map(|i| if garbled.contains(&i) { 3 } else { 0 }));
            out.extend(unsynced[garbled].iter().map(|&b| u64::from(!b)));
        }
    }
}

/// Builds the crash image of `outcome` with the simulator's own code and
/// opens a store on it.
pub fn recover(disk: &SimDisk, outcome: Outcome, options: &Options) -> engine::Result<Core<SimDisk>> {
    let choices = disk_choices(disk, outcome);
    let mut d = Decisions::forced(choices.iter().map(|&v| Choice(Stream::Disk, v)).collect());
    // The state keeps its disk (other outcomes crash it too), so the image
    // is built from a clone of it, whose files share their bytes with the
    // state's and so are copied into the image.
    let (image, _) = disk.clone().crash_image(&mut d, 1, false);
    assert!(
        d.log().len() == choices.len() && d.mismatches() == 0,
        "the crash image took exactly the outcome's decisions"
    );
    Core::open(SimDisk::from_image(image), options.clone())
}
