//! Recovery: load the newest checkpoint, replay its WAL, tell a torn tail
//! from corruption, and resume sequence numbers above everything recovered.
//!
//! A commit is applied only when its commit-marker record is present and
//! valid and it carries exactly the write records before it. Records after
//! the last marker, and a damaged tail with nothing valid after it, belong
//! to commits that were never acknowledged and are discarded. A damaged
//! record followed by a valid one is damage to durable data: recovery fails
//! with `Corrupt` rather than silently dropping acknowledged commits.

use std::collections::VecDeque;

use crate::error::{Corruption, Error, Result};
use crate::files::{self, FileKind};
use crate::mutant::Mutant;
use crate::mvcc::{KeyHash, Mvcc};
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
    /// The length of the generation's WAL in bytes (0 if it does not
    /// exist), torn tail included. Without a torn tail new commits follow
    /// it, and it counts towards the next checkpoint; with one, the store
    /// starts the next generation at once (see `Core::open`).
    pub wal_bytes: u64,
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
        let seq = crate::checkpoint::decode_into(&name, &bytes, &mut mvcc).map_err(Error::Corrupt)?;
        last_seq = seq;
        report.checkpoint_seq = seq;
    }
    let wal_name = files::wal(generation);
    if let Some(bytes) = storage.read(&wal_name)? {
        report.wal_exists = true;
        report.wal_bytes = bytes.len() as u64;
        let replayed = replay(&wal_name, &bytes, last_seq, mutant, &mut mvcc)?;
        report.commits_replayed = replayed.commits;
        report.torn_bytes = (bytes.len() - replayed.valid_len) as u64;
        if mutant != Some(Mutant::SeqReuseAfterRecovery) {
            last_seq = replayed.last_seq.unwrap_or(last_seq);
        }
    }
    mvcc.recovered(last_seq);
    Ok(Recovered {
        mvcc,
        last_seq,
        report,
    })
}

/// Whether the writes of `lag` from `from` on (one commit's) name a key
/// more than once, which the engine never writes (a transaction's writes
/// are a map): replayed, the second would silently win or trip an
/// assertion, so it is damage to report. A commit's few writes are
/// compared pairwise where they lie (a transfer's two, once), more are
/// sorted.
fn writes_a_key_twice(lag: &VecDeque<(u64, KeyHash, Bytes, Option<Bytes>)>, from: usize) -> bool {
    const PAIRWISE: usize = 8;
    let key = |at: usize| &lag[at].2;
    match lag.len() - from {
        0 | 1 => return false,
        2 => return key(from) == key(from + 1),
        n if n <= PAIRWISE => {
            return (from..lag.len()).any(|i| (i + 1..lag.len()).any(|j| key(i) == key(j)));
        }
        _ => {}
    }
    let mut keys: Vec<&Bytes> = (from..lag.len()).map(key).collect();
    keys.sort_unstable();
    keys.windows(2).any(|pair| pair[0] == pair[1])
}

/// How many replayed writes behind reading them installing them runs at
/// least (writes are installed as markers confirm them): enough for the
/// prefetches of their table entries to land.
const INSTALL_LAG: usize = 16;

/// What replaying one WAL file applied.
struct Replayed {
    /// Commits applied.
    commits: u64,
    /// The last one's sequence number.
    last_seq: Option<u64>,
    /// Bytes up to the end of the last applied commit.
    valid_len: usize,
}

/// Replays a WAL's commits into `mvcc`, in order, as their markers are
/// read, checking their structure. On an error `mvcc` is half-replayed, and the
/// caller drops it.
///
/// Damage to a record (a bad record with a valid one after it) is reported
/// in preference to a structural error before it, as when the whole file
/// was scanned first: reading goes on to the end before a structural error
/// is returned.
fn replay(
    name: &str,
    bytes: &[u8],
    after_seq: u64,
    mutant: Option<Mutant>,
    mvcc: &mut Mvcc,
) -> Result<Replayed> {
    let damaged = |d: wal::DamagedRecord| {
        corrupt(
            name,
            d.offset,
            format!("{} followed by a valid record at byte {}", d.error, d.valid_after),
        )
    };
    let mut reader = wal::Reader::new(bytes, mutant != Some(Mutant::NoChecksum));
    let structural = |reader: &mut wal::Reader<'_>, offset: usize, reason: String| {
        reader.finish().map_err(damaged)?;
        Err(corrupt(name, offset, reason))
    };
    // Writes in WAL order, each waiting at least `INSTALL_LAG` writes after
    // it was read and its key's entry asked for, so that entry has had time
    // to load. Only the first `confirmed` belong to commits whose marker was
    // read; the rest are the current commit's, which its marker confirms.
    let mut lag: VecDeque<(u64, KeyHash, Bytes, Option<Bytes>)> = VecDeque::new();
    let mut confirmed = 0usize;
    let mut pending_seq = None;
    let mut replayed = Replayed {
        commits: 0,
        last_seq: None,
        valid_len: 0,
    };
    let mut last = after_seq;
    while let Some((offset, record, next)) = reader.next_record().map_err(damaged)? {
        let seq = record.seq();
        if seq <= last {
            return structural(&mut reader, offset, format!("sequence {seq} is not above {last}"));
        }
        if pending_seq.is_some_and(|p| p != seq) {
            return structural(
                &mut reader,
                offset,
                "a commit's records are interleaved with another's".into(),
            );
        }
        match record {
            Record::Put { key, value, .. } => {
                lag.push_back((seq, mvcc.prefetch_hashed(&key), key, Some(value)));
                pending_seq = Some(seq);
            }
            Record::Delete { key, .. } => {
                lag.push_back((seq, mvcc.prefetch_hashed(&key), key, None));
                pending_seq = Some(seq);
            }
            Record::Marker { count, .. } => {
                if count as usize != lag.len() - confirmed || count == 0 {
                    return structural(
                        &mut reader,
                        offset,
                        "commit marker's count does not match its records".into(),
                    );
                }
                if writes_a_key_twice(&lag, confirmed) {
                    return structural(&mut reader, offset, "a commit writes a key twice".into());
                }
                confirmed = lag.len();
                while confirmed > 0 && lag.len() > INSTALL_LAG {
                    let (seq, hash, key, value) = lag.pop_front().expect("more than the lag");
                    mvcc.install(hash, key, seq, value);
                    confirmed -= 1;
                }
                pending_seq = None;
                last = seq;
                replayed.commits += 1;
                replayed.last_seq = Some(seq);
                replayed.valid_len = next;
            }
        }
    }
    if mutant == Some(Mutant::NoCommitMarker) && lag.len() > confirmed {
        let seq = pending_seq.expect("pending records have a sequence");
        confirmed = lag.len();
        replayed.commits += 1;
        replayed.last_seq = Some(seq);
    }
    for (seq, hash, key, value) in lag.drain(..confirmed) {
        mvcc.install(hash, key, seq, value);
    }
    Ok(replayed)
}
