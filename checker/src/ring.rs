//! Snapshot too old: with a commit log of capacity N, a writing transaction can only be
//! validated if at most N commits happened between its snapshot and its commit; one that
//! committed anyway was never validated against the commits that fell out of the log.

use crate::history::MicroOp;
use crate::infer::Native;
use crate::txns::{Ctx, Status, TxnId};
use crate::Findings;

/// Checks committed writers against the meta line's ring capacity and returns how many
/// `snapshot_too_old` aborts had no real conflict (nothing they read had been overwritten).
pub(crate) fn check(ctx: &Ctx<'_>, native: &Native<'_>, findings: &mut Findings) -> u64 {
    let Some(capacity) = ctx.history.meta.as_ref().and_then(|m| m.ring_capacity) else {
        return 0;
    };
    let mut seqs: Vec<u64> = native.commit.iter().flatten().copied().collect();
    seqs.sort_unstable();
    let mut without_conflict = 0;
    let mut acked_max = 0u64;
    let mut order: Vec<TxnId> = (0..ctx.txns.len() as TxnId).collect();
    order.sort_by_key(|&t| ctx.txns[t as usize].complete_pos);
    for t in order {
        let txn = &ctx.txns[t as usize];
        let snapshot = native.snapshot[t as usize];
        match (txn.status, snapshot, native.commit[t as usize]) {
            (Status::Ok, Some(s), Some(c)) if !native.writes_of(t).is_empty() => {
                let between = seqs
                    .partition_point(|&x| x < c)
                    .saturating_sub(seqs.partition_point(|&x| x <= s));
                if between as u64 > capacity {
                    findings.add(
                        "snapshot-too-old",
                        "snapshot-too-old",
                        vec![txn.name],
                        format!(
                            "T{} committed at {c} from snapshot {s}, but {between} commits \
                             happened in between, more than the commit log's capacity \
                             {capacity}: it cannot have been validated",
                            txn.name
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
            if let Some(c) = native.commit[t as usize] {
                acked_max = acked_max.max(c);
            }
        }
    }
    without_conflict
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
