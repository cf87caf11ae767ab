//! Snapshot too old: with a commit log of capacity N, a writing transaction can only be
//! validated if at most N commits happened between its snapshot and its commit; one that
//! committed anyway was never validated against the commits that fell out of the log.

use crate::history::MicroOp;
use crate::infer::Native;
use crate::seqs::OptSeqs;
use crate::txns::{Ctx, Status, TxnId};
use crate::Findings;

/// Checks committed writers against the meta line's ring capacity and returns how many
/// `snapshot_too_old` aborts had no real conflict (nothing they read had been overwritten).
pub(crate) fn check(ctx: &Ctx<'_>, native: &Native<'_>, findings: &mut Findings) -> u64 {
    let Some(capacity) = ctx.history.meta.as_ref().and_then(|m| m.ring_capacity) else {
        return 0;
    };
    // Inference that settled reads as it met them checked every committing writer against the
    // last commits, and kept the failures to count, so nothing is walked unless it saw one.
    if let Some(early) = native.early.as_ref().filter(|e| !e.ring_suspect) {
        let conflicts = early
            .too_old
            .iter()
            .filter(|&&(t, s, acked)| !overwritten(ctx, native, t, s, acked));
        return conflicts.count() as u64;
    }
    let below = Below::new(&native.commit);
    let mut without_conflict = 0;
    let mut acked_max = 0u64;
    // Txns are numbered in completion order already (the never-completed ones last), which
    // is the order the acknowledged maximum must grow in.
    debug_assert!(ctx
        .txns
        .windows(2)
        .all(|w| w[0].complete_pos <= w[1].complete_pos));
    for t in 0..ctx.txns.len() as TxnId {
        let txn = &ctx.txns[t as usize];
        let snapshot = native.snapshot.get(t);
        match (txn.status, snapshot, native.commit.get(t)) {
            (Status::Ok, Some(s), Some(c)) if !native.writes_of(t).is_empty() => {
                let between = below.count(c).saturating_sub(below.count_at_most(s));
                if between as u64 > capacity {
                    findings.add(
                        "snapshot-too-old",
                        "snapshot-too-old",
                        vec![ctx.name(t)],
                        format!(
                            "T{} committed at {c} from snapshot {s}, but {between} commits \
                             happened in between, more than the commit log's capacity \
                             {capacity}: it cannot have been validated",
                            ctx.name(t)
                        ),
                    );
                }
            }
            (Status::Fail, Some(s), _)
                if txn.op.error.as_deref() == Some("snapshot_too_old")
                    && !overwritten(ctx, native, t, s, acked_max) =>
            {
                without_conflict += 1;
            }
            _ => {}
        }
        if txn.status == Status::Ok {
            if let Some(c) = native.commit.get(t) {
                acked_max = acked_max.max(c);
            }
        }
    }
    without_conflict
}

/// How many known commit sequence numbers lie below a number, for counting the commits between
/// a snapshot and a commit.
enum Below {
    /// Compact numbers (as the engine assigns them): per number from `base` up, the count below
    /// it, so that a count is one lookup near the last rather than two binary searches over
    /// every commit.
    Dense {
        /// The smallest sequence number.
        base: u64,
        /// `counts[i]`: how many numbers are below `base + i`, up to one past the largest (so
        /// the last entry counts them all).
        counts: Vec<u32>,
    },
    /// Sparse numbers (hand-written histories): the sorted numbers, searched.
    Sorted(Vec<u64>),
}

impl Below {
    /// Indexes the known commit sequence numbers (`None`: a txn without one); compact ones are
    /// counted per number and summed, with no list of them to sort.
    fn new(commits: &OptSeqs) -> Self {
        let (mut base, mut max, mut n) = (u64::MAX, 0, 0u64);
        for c in commits.iter().flatten() {
            base = base.min(c);
            max = max.max(c);
            n += 1;
        }
        let dense = n > 0 && max - base < 4 * n + 1024 && max < u64::MAX && u32::try_from(n).is_ok();
        if !dense {
            let mut seqs: Vec<u64> = commits.iter().flatten().collect();
            seqs.sort_unstable();
            return Below::Sorted(seqs);
        }
        // `counts[i + 1]` first counts the numbers equal to `base + i`; summing then makes
        // each entry the count of the numbers below its own.
        let mut counts = vec![0u32; (max - base) as usize + 2];
        for c in commits.iter().flatten() {
            counts[(c - base) as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        Below::Dense { base, counts }
    }

    /// How many sequence numbers are below `x`.
    fn count(&self, x: u64) -> usize {
        match self {
            Below::Dense { base, counts } => match x.checked_sub(*base) {
                None => 0,
                Some(i) => {
                    let last = counts.len() - 1;
                    counts[usize::try_from(i).map_or(last, |i| i.min(last))] as usize
                }
            },
            Below::Sorted(seqs) => seqs.partition_point(|&y| y < x),
        }
    }

    /// How many sequence numbers are at most `x`.
    fn count_at_most(&self, x: u64) -> usize {
        match x.checked_add(1) {
            Some(above) => self.count(above),
            None => match self {
                Below::Dense { counts, .. } => counts.last().map_or(0, |&n| n as usize),
                Below::Sorted(seqs) => seqs.len(),
            },
        }
    }
}

/// Whether any key the txn read got a version in (snapshot, bound].
fn overwritten(ctx: &Ctx<'_>, native: &Native<'_>, t: TxnId, snapshot: u64, bound: u64) -> bool {
    let keys = ctx.keys_of(t);
    ctx.txns[t as usize].mops().iter().zip(keys).any(|(m, &k)| {
        matches!(m, MicroOp::Read { .. })
            && native.versions[k as usize]
                .iter()
                .any(|e| e.seq > snapshot && e.seq <= bound)
    })
}
