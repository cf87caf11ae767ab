//! Planted bugs, off by default, for measuring the harness's power.
//!
//! Each mutant is a realistic mistake at the place it would really be made
//! (validation, recovery, the ring bound, the sync path). With no mutant set
//! the engine pays one comparison of an `Option` at each of those places.

use std::fmt;
use std::str::FromStr;

/// A named planted bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Mutant {
    /// Commit never validates the read set.
    SkipReadValidation,
    /// Validates only keys that were both read and written (snapshot isolation).
    ValidateWriteSetOnly,
    /// Reads of absent keys are not recorded in the read set.
    IgnoreAbsentReads,
    /// The snapshot-too-old test is `S + 1 < H` instead of `S < H`.
    RingOffByOne,
    /// Never aborts old snapshots; validates against what the ring holds.
    NoSnapshotTooOld,
    /// Acknowledges a commit before its WAL record is durable.
    AckBeforeFsync,
    /// Recovery applies write records without their commit marker.
    NoCommitMarker,
    /// Recovery accepts records whose checksum fails.
    NoChecksum,
    /// After recovery the sequence counter restarts at the checkpoint's
    /// sequence number, below commits replayed from the WAL.
    SeqReuseAfterRecovery,
    /// A transaction's reads ignore its own buffered writes.
    NoReadYourWrites,
    /// Reclaims the newest version <= H, which a snapshot >= H still needs.
    EarlyGc,
    /// Range reads are not validated against inserts into the range.
    LostRangeConflict,
}

impl Mutant {
    /// Every mutant, in a fixed order.
    pub const ALL: [Mutant; 12] = [
        Mutant::SkipReadValidation,
        Mutant::ValidateWriteSetOnly,
        Mutant::IgnoreAbsentReads,
        Mutant::RingOffByOne,
        Mutant::NoSnapshotTooOld,
        Mutant::AckBeforeFsync,
        Mutant::NoCommitMarker,
        Mutant::NoChecksum,
        Mutant::SeqReuseAfterRecovery,
        Mutant::NoReadYourWrites,
        Mutant::EarlyGc,
        Mutant::LostRangeConflict,
    ];

    /// The mutant's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Mutant::SkipReadValidation => "skip-read-validation",
            Mutant::ValidateWriteSetOnly => "validate-write-set-only",
            Mutant::IgnoreAbsentReads => "ignore-absent-reads",
            Mutant::RingOffByOne => "ring-off-by-one",
            Mutant::NoSnapshotTooOld => "no-snapshot-too-old",
            Mutant::AckBeforeFsync => "ack-before-fsync",
            Mutant::NoCommitMarker => "no-commit-marker",
            Mutant::NoChecksum => "no-checksum",
            Mutant::SeqReuseAfterRecovery => "seq-reuse-after-recovery",
            Mutant::NoReadYourWrites => "no-read-your-writes",
            Mutant::EarlyGc => "early-gc",
            Mutant::LostRangeConflict => "lost-range-conflict",
        }
    }

    /// A one-line description of the bug.
    pub fn description(self) -> &'static str {
        match self {
            Mutant::SkipReadValidation => "commit never validates the read set",
            Mutant::ValidateWriteSetOnly => {
                "validates only keys that were both read and written (snapshot isolation)"
            }
            Mutant::IgnoreAbsentReads => "reads of absent keys are not recorded in the read set",
            Mutant::RingOffByOne => "the snapshot-too-old test is S + 1 < H instead of S < H",
            Mutant::NoSnapshotTooOld => {
                "never aborts old snapshots; validates against whatever the ring holds"
            }
            Mutant::AckBeforeFsync => "acknowledges a commit before its WAL record is durable",
            Mutant::NoCommitMarker => "recovery applies a record without its commit marker",
            Mutant::NoChecksum => "recovery accepts a record whose checksum fails",
            Mutant::SeqReuseAfterRecovery => {
                "after recovery the sequence counter restarts below a recovered sequence number"
            }
            Mutant::NoReadYourWrites => "a transaction's reads ignore its own buffered writes",
            Mutant::EarlyGc => "prunes a version that a snapshot >= H still needs",
            Mutant::LostRangeConflict => "range reads are not validated against inserts into the range",
        }
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name given is not a known mutant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mutant {0:?} (`occsim mutants` lists them)")]
pub struct UnknownMutant(pub String);

impl FromStr for Mutant {
    type Err = UnknownMutant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mutant::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownMutant(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for m in Mutant::ALL {
            assert_eq!(m.name().parse::<Mutant>(), Ok(m));
            assert!(!m.description().is_empty());
        }
        let mut names: Vec<_> = Mutant::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Mutant::ALL.len());
        assert!("no-such-bug".parse::<Mutant>().is_err());
    }
}
