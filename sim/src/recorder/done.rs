//! A transaction's completion as the recorder keeps it, in 12 bytes.
//!
//! A run completes millions of transactions, and memory written once is
//! memory the kernel zeroed first. A completion comes a few ops and a few
//! ticks after its invoke, commits a few sequence numbers after its
//! snapshot (when it commits a write), has a few micro-ops and one of a
//! handful of outcomes; so it keeps those relative to its invoke and its
//! snapshot, in 8 bytes next to the snapshot, which fits 32 bits below
//! four billion commits. One whose figures do not fit
//! is kept whole aside, and its entry holds its position there. Either way
//! it reads back exactly as recorded.

use super::NONE;

/// How a transaction ended, its reason by position in the recorder's
/// reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Ok,
    Fail(u16),
    Info(u16),
}

/// A completion, whole: everything but its process, which is its
/// invoke's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Done {
    /// Its invoke's history index.
    pub invoke: u64,
    pub time: u64,
    /// `NONE` when unknown.
    pub snapshot: u64,
    /// `NONE` when it committed nothing (or did not commit).
    pub commit_seq: u64,
    /// How many micro-ops it has (they follow the previous completion's).
    pub mops: u32,
    pub outcome: Outcome,
}

/// The `outcome` byte of a completion kept aside; its `snapshot` is then
/// its position among the wide ones.
const WIDE: u8 = u8::MAX;

/// A completion, packed: its invoke `back` ops and `after` ticks before it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Packed {
    /// The snapshot, `UNKNOWN_SNAPSHOT` for `NONE`.
    snapshot: u32,
    /// 0 when its commit sequence number is `NONE`, else that number's
    /// distance from the snapshot plus 1.
    commit: u16,
    after: u16,
    back: u16,
    mops: u8,
    /// 0 for `Ok`, then `Fail` and `Info` by reason, alternating.
    outcome: u8,
}

/// The packed `snapshot` of a completion whose snapshot is `NONE`.
const UNKNOWN_SNAPSHOT: u32 = u32::MAX;

/// An outcome's code: it fits an entry when it is below `WIDE`.
#[inline]
fn outcome_code(outcome: Outcome) -> u32 {
    match outcome {
        Outcome::Ok => 0,
        Outcome::Fail(r) => 1 + 2 * u32::from(r),
        Outcome::Info(r) => 2 + 2 * u32::from(r),
    }
}

impl Packed {
    /// `d`, recorded at history index `index` with its invoke at tick
    /// `invoked_at`, kept aside in `wide` when it does not fit.
    #[inline]
    pub(super) fn new(d: Done, index: u64, invoked_at: u64, wide: &mut Vec<Done>) -> Packed {
        // A difference that would be negative wraps to a number too large
        // to fit, so one test covers every figure.
        let after = d.time.wrapping_sub(invoked_at);
        let back = index.wrapping_sub(d.invoke);
        // Sequence numbers wrap too, so any snapshot (even `NONE`) gives
        // the commit back; 0 is kept for `NONE`.
        let commit = match d.commit_seq {
            NONE => 0,
            seq => seq.wrapping_sub(d.snapshot).wrapping_add(1),
        };
        let committed_wide = d.commit_seq != NONE && commit.wrapping_sub(1) >= u64::from(u16::MAX);
        let outcome = outcome_code(d.outcome);
        let too_wide = (after >> 16) | (back >> 16) | u64::from(d.mops >> 8);
        let snapshot = match d.snapshot {
            NONE => Some(UNKNOWN_SNAPSHOT),
            s => u32::try_from(s).ok().filter(|&s| s != UNKNOWN_SNAPSHOT),
        };
        if let (0, false, true, Some(snapshot)) =
            (too_wide, committed_wide, outcome < u32::from(WIDE), snapshot)
        {
            Packed {
                snapshot,
                commit: commit as u16,
                after: after as u16,
                back: back as u16,
                mops: d.mops as u8,
                outcome: outcome as u8,
            }
        } else {
            Packed::aside(d, wide)
        }
    }

    /// `d` kept aside in `wide` (rare: out of line).
    #[cold]
    #[inline(never)]
    fn aside(d: Done, wide: &mut Vec<Done>) -> Packed {
        let at = u32::try_from(wide.len()).expect("fewer than 2^32 wide completions");
        wide.push(d);
        Packed {
            snapshot: at,
            commit: 0,
            after: 0,
            back: 0,
            mops: 0,
            outcome: WIDE,
        }
    }

    /// Its invoke's history index, for the completion at history index
    /// `index`.
    pub(super) fn invoke(&self, index: u64, wide: &[Done]) -> u64 {
        match self.outcome {
            WIDE => wide[self.wide_at()].invoke,
            _ => index - u64::from(self.back),
        }
    }

    /// How many micro-ops it has.
    pub(super) fn mops(&self, wide: &[Done]) -> u32 {
        match self.outcome {
            WIDE => wide[self.wide_at()].mops,
            _ => u32::from(self.mops),
        }
    }

    /// The completion at history index `index`, whole; `invoked_at` gives
    /// the tick of the invoke at a history index.
    pub(super) fn unpack(&self, index: u64, wide: &[Done], invoked_at: impl FnOnce(u64) -> u64) -> Done {
        if self.outcome == WIDE {
            return wide[self.wide_at()];
        }
        let invoke = self.invoke(index, wide);
        let outcome = match self.outcome {
            0 => Outcome::Ok,
            code => {
                let reason = u16::from((code - 1) / 2);
                if code % 2 == 1 {
                    Outcome::Fail(reason)
                } else {
                    Outcome::Info(reason)
                }
            }
        };
        let snapshot = match self.snapshot {
            UNKNOWN_SNAPSHOT => NONE,
            s => u64::from(s),
        };
        Done {
            invoke,
            time: invoked_at(invoke) + u64::from(self.after),
            snapshot,
            commit_seq: match self.commit {
                0 => NONE,
                commit => snapshot.wrapping_add(u64::from(commit) - 1),
            },
            mops: u32::from(self.mops),
            outcome,
        }
    }

    /// Its position among the wide completions, when it was kept aside.
    fn wide_at(&self) -> usize {
        usize::try_from(self.snapshot).expect("an index fits memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_takes_12_bytes() {
        assert_eq!(std::mem::size_of::<Packed>(), 12);
    }

    #[test]
    fn every_completion_reads_back_and_wide_ones_are_kept_aside() {
        let mut wide = Vec::new();
        let d = Done {
            invoke: 1_000,
            time: 50,
            snapshot: 7,
            commit_seq: u64::MAX,
            mops: 4,
            outcome: Outcome::Ok,
        };
        let cases = [
            (d, 1_001, 40, false),
            (
                Done {
                    outcome: Outcome::Fail(0),
                    ..d
                },
                1_000 + 65_535,
                50,
                false,
            ),
            (
                Done {
                    outcome: Outcome::Info(126),
                    mops: 255,
                    ..d
                },
                1_002,
                0,
                false,
            ),
            (
                Done {
                    outcome: Outcome::Fail(126),
                    ..d
                },
                1_002,
                0,
                false,
            ),
            (
                Done {
                    outcome: Outcome::Info(127),
                    ..d
                },
                1_002,
                0,
                true,
            ),
            (
                Done {
                    outcome: Outcome::Fail(127),
                    ..d
                },
                1_002,
                0,
                true,
            ),
            (
                Done {
                    outcome: Outcome::Fail(u16::MAX),
                    ..d
                },
                1_002,
                0,
                true,
            ),
            (Done { mops: 256, ..d }, 1_002, 0, true),
            (d, 1_000 + 65_536, 0, true),
            (Done { time: u64::MAX, ..d }, 1_002, 0, true),
            (Done { time: 1 << 16, ..d }, 1_002, 0, true),
            (Done { time: 65_535, ..d }, 1_002, 0, false),
            (Done { commit_seq: 7, ..d }, 1_002, 0, false),
            (
                Done {
                    commit_seq: 7 + 65_534,
                    ..d
                },
                1_002,
                0,
                false,
            ),
            (
                Done {
                    commit_seq: 7 + 65_535,
                    ..d
                },
                1_002,
                0,
                true,
            ),
            (Done { commit_seq: 6, ..d }, 1_002, 0, true),
            (
                Done {
                    snapshot: u64::from(u32::MAX) - 1,
                    commit_seq: u64::from(u32::MAX) + 5,
                    ..d
                },
                1_002,
                0,
                false,
            ),
            (
                Done {
                    snapshot: u64::from(u32::MAX),
                    ..d
                },
                1_002,
                0,
                true,
            ),
            (
                Done {
                    snapshot: 1 << 40,
                    commit_seq: (1 << 40) + 1,
                    ..d
                },
                1_002,
                0,
                true,
            ),
            (Done { commit_seq: 0, ..d }, 1_002, 0, true),
            (
                Done {
                    snapshot: NONE,
                    commit_seq: 3,
                    ..d
                },
                1_002,
                0,
                false,
            ),
            (
                Done {
                    snapshot: NONE,
                    commit_seq: NONE - 1,
                    ..d
                },
                1_002,
                0,
                true,
            ),
            (d, 1_002, 51, true),
            (d, 999, 0, true),
        ];
        for (d, index, invoked_at, kept_aside) in cases {
            let before = wide.len();
            let p = Packed::new(d, index, invoked_at, &mut wide);
            assert_eq!(
                wide.len() - before,
                usize::from(kept_aside),
                "{d:?} {index} {invoked_at}"
            );
            assert_eq!(p.invoke(index, &wide), d.invoke);
            assert_eq!(p.mops(&wide), d.mops);
            let back = p.unpack(index, &wide, |invoke| {
                assert_eq!(invoke, d.invoke);
                invoked_at
            });
            assert_eq!(back, d);
        }
    }
}
