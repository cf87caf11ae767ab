//! Recovery: load the newest checkpoint, replay its WAL, tell a torn tail
//! from corruption, and resume sequence numbers above everything recovered.
//!
//! A commit is applied only when its commit-marker record is present and
//! valid and it carries exactly the write records before it. Records after
//! the last marker, and a damaged tail with nothing valid after it, belong
//! to commits that were never acknowledged and are discarded. A damaged
//! record followed by a valid one is damage to durable data: recovery fails
//! with `Corrupt` rather than silently dropping acknowledged commits.

use crate::error::{Corruption, Error, Result};
use crate::files::{self, FileKind};
use crate::mutant::Mutant;
use crate::mvcc::Mvcc;
use crate::storage::Storage;
use crate::wal::{self, Record};
use crate::Bytes;

/// What recovery found, beyond the state itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RecoveryReport {
    /// The generation recovered (its checkpoint and WAL).
    pub generation: u64,
    /// The sequence number of the checkpoint loaded (0 if none).
    pub checkpoint_seq: u64,
    /// Commits replayed from the WAL.
    pub commits_replayed: u64,
    /// Bytes at the end of the WAL that were discarded (a torn tail or
    /// records of a commit without its marker).
    pub torn_bytes: u64,
    /// Files of older generations or unfinished checkpoints left behind by
    /// a crash, to be removed.
    pub stale_files: Vec<String>,
    /// Whether the generation's WAL file exists.
    pub wal_exists: bool,
}

/// The recovered state.
pub struct Recovered {
    /// All recovered versions.
    pub mvcc: Mvcc,
    /// The highest recovered sequence number.
    pub last_seq: u64,
    /// What recovery found.
    pub report: RecoveryReport,
}

fn corrupt(file: &str, offset: usize, reason: impl Into<String>) -> Error {
    Error::Corrupt(Corruption {
        file: file.to_owned(),
        offset: offset as u64,
        reason: reason.into(),
    })
}

/// Recovers the store's state from `storage`.
pub fn recover<S: Storage>(storage: &S, mutant: Option<Mutant>) -> Result<Recovered> {
    let names = storage.list()?;
    let parsed: Vec<(String, FileKind, u64)> = names
        .iter()
        .filter_map(|n| files::parse(n).map(|(k, g)| (n.clone(), k, g)))
        .collect();
    let generation = parsed
        .iter()
        .filter(|(_, kind, _)| *kind == FileKind::Snapshot)
        .map(|(_, _, g)| *g)
        .max()
        .unwrap_or(0);
    if let Some((name, _, _)) = parsed
        .iter()
        .find(|(_, k, g)| *k == FileKind::Wal && *g > generation)
    {
        return Err(corrupt(name, 0, "a WAL newer than every checkpoint"));
    }
    let mut report = RecoveryReport {
        generation,
        stale_files: parsed
            .iter()
            .filter(|(_, kind, g)| *kind == FileKind::SnapshotTmp || *g < generation)
            .map(|(n, _, _)| n.clone())
            .collect(),
        ..RecoveryReport::default()
    };
    let mut mvcc = Mvcc::new();
    let mut last_seq = 0;
    if generation > 0 {
        let name = files::snapshot(generation);
        let bytes = storage
            .read(&name)?
            .ok_or_else(|| corrupt(&name, 0, "checkpoint vanished"))?;
        let decoded = crate::checkpoint::decode(&name, &bytes).map_err(Error::Corrupt)?;
        mvcc.load_checkpoint(decoded.entries);
        last_seq = decoded.seq;
        report.checkpoint_seq = decoded.seq;
    }
    let wal_name = files::wal(generation);
    if let Some(bytes) = storage.read(&wal_name)? {
        report.wal_exists = true;
        let replay = replay(&wal_name, &bytes, last_seq, mutant)?;
        report.commits_replayed = replay.commits.len() as u64;
        report.torn_bytes = (bytes.len() - replay.valid_len) as u64;
        if mutant != Some(Mutant::SeqReuseAfterRecovery) {
            last_seq = replay.commits.last().map_or(last_seq, |(seq, _)| *seq);
        }
        for (seq, writes) in replay.commits {
            for (key, value) in writes {
                mvcc.install(key, seq, value);
            }
        }
    }
    mvcc.collapse(last_seq);
    Ok(Recovered {
        mvcc,
        last_seq,
        report,
    })
}

/// A commit's writes in WAL order; `None` is a delete.
type Writes = Vec<(Bytes, Option<Bytes>)>;

/// The commits of one WAL file.
struct Replay {
    commits: Vec<(u64, Writes)>,
    /// Bytes up to the end of the last applied commit.
    valid_len: usize,
}

/// Groups a WAL's records into commits, checking their structure.
fn replay(name: &str, bytes: &[u8], after_seq: u64, mutant: Option<Mutant>) -> Result<Replay> {
    let scan = wal::scan(bytes, mutant != Some(Mutant::NoChecksum)).map_err(|d| {
        corrupt(
            name,
            d.offset,
            format!("{} followed by a valid record at byte {}", d.error, d.valid_after),
        )
    })?;
    let mut commits = Vec::new();
    let mut pending: Writes = Vec::new();
    let mut pending_seq = None;
    let mut last = after_seq;
    let mut valid_len = 0;
    for (offset, record) in scan.records {
        let seq = record.seq();
        if seq <= last {
            return Err(corrupt(
                name,
                offset,
                format!("sequence {seq} is not above {last}"),
            ));
        }
        if pending_seq.is_some_and(|p| p != seq) {
            return Err(corrupt(
                name,
                offset,
                "a commit's records are interleaved with another's",
            ));
        }
        match record {
            Record::Put { key, value, .. } => {
                pending.push((key, Some(value)));
                pending_seq = Some(seq);
            }
            Record::Delete { key, .. } => {
                pending.push((key, None));
                pending_seq = Some(seq);
            }
            Record::Marker { count, .. } => {
                if count as usize != pending.len() || count == 0 {
                    return Err(corrupt(
                        name,
                        offset,
                        "commit marker's count does not match its records",
                    ));
                }
                commits.push((seq, std::mem::take(&mut pending)));
                pending_seq = None;
                last = seq;
                valid_len = wal::decode_at(bytes, offset, false).map_or(bytes.len(), |(_, next)| next);
            }
        }
    }
    if mutant == Some(Mutant::NoCommitMarker) && !pending.is_empty() {
        commits.push((pending_seq.expect("pending records have a sequence"), pending));
    }
    Ok(Replay { commits, valid_len })
}
