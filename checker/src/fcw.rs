//! First-committer-wins: two committed transactions that both read a key from their snapshot
//! and then wrote it must not overlap (each one's snapshot below the other's commit), because
//! the later committer's read was overwritten before it committed. Blind writes are exempt.

use crate::infer::Native;
use crate::txns::Ctx;
use crate::Findings;

/// Walks each key's versions in commit order; a read-modify-write overlaps some earlier one
/// exactly when its snapshot is below the previous read-modify-write's commit.
///
/// When inference settled reads as it met them, it watched the same pairs as they were
/// marked, and the walk is needed only if it saw an overlap.
pub(crate) fn check(ctx: &Ctx<'_>, native: &Native<'_>, findings: &mut Findings) {
    if native.early.as_ref().is_some_and(|e| !e.fcw_suspect) {
        return;
    }
    for (key, list) in native.versions.iter().enumerate() {
        let mut prev = None;
        for e in list.iter().filter(|e| e.rmw) {
            let Some(snapshot) = native.snapshot.get(e.txn) else {
                continue;
            };
            if let Some((p_txn, p_seq, p_snap)) = prev {
                if snapshot < p_seq && e.txn != p_txn {
                    let (a, b) = (ctx.name(p_txn), ctx.name(e.txn));
                    let k = ctx.keys[key];
                    findings.add(
                        "first-committer-wins",
                        "first-committer-wins",
                        vec![a, b],
                        format!(
                            "T{a} (snapshot {p_snap}, commit {p_seq}) and T{b} (snapshot \
                             {snapshot}, commit {}) both read {k} from their snapshots and \
                             wrote it while both were running; T{b} should have aborted",
                            e.seq
                        ),
                    );
                }
            }
            prev = Some((e.txn, e.seq, snapshot));
        }
    }
}
