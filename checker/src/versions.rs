//! Version order: commit sequence numbers strictly increase in the order commits are
//! acknowledged and are never reused, also across recoveries; a writing transaction's snapshot
//! lies below its commit.

use crate::infer::Native;
use crate::txns::{Ctx, Status, TxnId};
use crate::Findings;

/// Checks acknowledged commits in history order, then every known sequence number (reported or
/// inferred for indeterminate transactions) for reuse.
///
/// When inference settled reads as it met them, the numbers strictly increase and it watched
/// every snapshot against its commit, so the walk is needed only if it saw one not below.
pub(crate) fn check(ctx: &Ctx<'_>, native: &Native<'_>, findings: &mut Findings) {
    if native.early.as_ref().is_some_and(|e| !e.snapshot_suspect) {
        return;
    }
    let mut prev: Option<(u64, TxnId)> = None;
    // Whether every known sequence number, in txn order, is above the one before: then none
    // is reused, and the usual history skips sorting them all.
    let mut increasing = true;
    let mut last_known: Option<u64> = None;
    for t in 0..ctx.txns.len() as TxnId {
        let Some(c) = native.commit.get(t) else {
            continue;
        };
        increasing &= last_known.is_none_or(|l| l < c);
        last_known = Some(c);
        let txn = &ctx.txns[t as usize];
        if txn.status != Status::Ok {
            continue;
        }
        if let Some(s) = native.snapshot.get(t).filter(|&s| s >= c) {
            findings.add(
                "version-order",
                "version-order",
                vec![ctx.name(t)],
                format!("T{} committed at {c}, not above its snapshot {s}", ctx.name(t)),
            );
        }
        if let Some((p, pt)) = prev.filter(|&(p, _)| c < p) {
            findings.add(
                "version-order",
                "version-order",
                vec![ctx.name(pt), ctx.name(t)],
                format!(
                    "T{} was acknowledged with commit_seq {c} after T{} had {p}: sequence \
                     numbers must increase",
                    ctx.name(t),
                    ctx.name(pt)
                ),
            );
        }
        if prev.is_none_or(|(p, _)| p < c) {
            prev = Some((c, t));
        }
    }
    if increasing {
        return;
    }
    let mut all: Vec<(u64, TxnId)> = (0..ctx.txns.len() as TxnId)
        .filter_map(|t| native.commit.get(t).map(|c| (c, t)))
        .collect();
    all.sort_unstable();
    for pair in all.windows(2) {
        if pair[0].0 == pair[1].0 {
            let (a, b) = (ctx.name(pair[0].1), ctx.name(pair[1].1));
            findings.add(
                "version-order",
                "version-order",
                vec![a, b],
                format!(
                    "T{a} and T{b} both committed with sequence number {}: reused",
                    pair[0].0
                ),
            );
        }
    }
}
