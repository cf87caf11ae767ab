//! Durability across crashes: once the store recovers, every commit acknowledged before the
//! crash must be visible; a read (in a transaction invoked after the crash) of an older version
//! of a key than its newest acknowledged one is a lost commit.

use rustc_hash::FxHashMap;

use crate::infer::Native;
use crate::txns::{Ctx, Fault, KeyId, Status, TxnId};
use crate::Findings;

/// Sweeps the history in order, remembering at each crash the newest acknowledged version of
/// every key, and checks the reads of transactions that ran wholly after it.
pub(crate) fn check(ctx: &Ctx<'_>, native: &Native<'_>, findings: &mut Findings) {
    let crashes: Vec<u32> = ctx
        .faults
        .iter()
        .filter(|(_, f)| *f == Fault::Crash)
        .map(|(p, _)| *p)
        .collect();
    if crashes.is_empty() {
        return;
    }
    let crashes_before = |pos: u32| crashes.partition_point(|&c| c < pos);
    let mut acked: FxHashMap<KeyId, (u64, TxnId)> = FxHashMap::default();
    let mut floor: FxHashMap<KeyId, (u64, TxnId)> = FxHashMap::default();
    let mut seen_crashes = 0;
    let mut order: Vec<TxnId> = (0..ctx.txns.len() as TxnId)
        .filter(|&t| ctx.txns[t as usize].status == Status::Ok)
        .collect();
    order.sort_by_key(|&t| ctx.txns[t as usize].complete_pos);
    for t in order {
        let txn = &ctx.txns[t as usize];
        while seen_crashes < crashes.len() && crashes[seen_crashes] < txn.complete_pos {
            floor.clone_from(&acked);
            seen_crashes += 1;
        }
        let epoch = crashes_before(txn.invoke_pos);
        if epoch > 0 && epoch == seen_crashes {
            for read in native.reads_of(t) {
                let Some(&(seq, writer)) = floor.get(&read.key) else {
                    continue;
                };
                if read.seq().unwrap_or(0) < seq {
                    let (r, w) = (ctx.name(t), ctx.name(writer));
                    let k = ctx.keys[read.key as usize];
                    let seen = read
                        .seq()
                        .map_or("the initial state".to_string(), |v| format!("version {v}"));
                    findings.add(
                        "durability",
                        "lost-commit",
                        vec![w, r],
                        format!(
                            "T{w} committed {k} at version {seq} and was acknowledged before the \
                             crash, but after recovery T{r} read {k}={} ({seen}): the recovered \
                             store lost an acknowledged commit",
                            crate::anomalies::show(read.value)
                        ),
                    );
                }
            }
        }
        if let Some(c) = native.commit.get(t) {
            for w in native.writes_of(t) {
                let slot = acked.entry(w.key).or_insert((c, t));
                if c >= slot.0 {
                    *slot = (c, t);
                }
            }
        }
    }
}
