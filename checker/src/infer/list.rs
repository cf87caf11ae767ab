//! List-append inference: each key's version order is the longest list any committed read
//! returned, so every read must be a prefix of it (else the orders are incompatible), and the
//! version a read saw is the prefix it returned.

use rustc_hash::FxHashMap;

use super::{empty_deps, Deps};
use crate::anomalies::show;
use crate::graph::EdgeKind;
use crate::history::{MicroOp, ReadValue, Scalar};
use crate::txns::{Ctx, KeyId, Status, TxnId};
use crate::Findings;

/// What a transaction knows of a key's list while it runs.
enum Known<'h> {
    /// It has not read the key; these are its own appends so far.
    Appended(Vec<&'h Scalar>),
    /// It read the key; this is the list it must see now.
    List(Vec<&'h Scalar>),
}

/// Infers dependencies of a list-append history and reports the non-cycle anomalies.
pub(crate) fn list_append(ctx: &Ctx<'_>, findings: &mut Findings) -> Deps {
    let mut deps = empty_deps(ctx);
    let appenders = index_appends(ctx, findings);

    // External reads (first access to the key is a read) of committed txns, with internal checks.
    let mut reads: Vec<(TxnId, KeyId, &[Scalar])> = Vec::new();
    let mut appends_to: FxHashMap<(TxnId, KeyId), ()> = FxHashMap::default();
    for t in 0..ctx.txns.len() as TxnId {
        let txn = &ctx.txns[t as usize];
        let keys = ctx.keys_of(t);
        let mut state: Vec<(KeyId, Known<'_>)> = Vec::new();
        for (i, mop) in txn.mops().iter().enumerate() {
            let key = keys[i];
            let slot = match state.iter().position(|(k, _)| *k == key) {
                Some(p) => p,
                None => {
                    state.push((key, Known::Appended(Vec::new())));
                    state.len() - 1
                }
            };
            match mop {
                MicroOp::Append { element, .. } => {
                    appends_to.insert((t, key), ());
                    match &mut state[slot].1 {
                        Known::Appended(v) | Known::List(v) => v.push(element),
                    }
                }
                MicroOp::Read { value, .. } if txn.status == Status::Ok => {
                    let list: &[Scalar] = match value {
                        ReadValue::List(l) => l,
                        ReadValue::Scalar(Scalar::Null) => &[],
                        ReadValue::Scalar(other) => {
                            crate::anomalies::garbage(ctx, findings, t, key, other);
                            continue;
                        }
                    };
                    let fits = match &state[slot].1 {
                        Known::Appended(own) if own.is_empty() => {
                            reads.push((t, key, list));
                            true
                        }
                        Known::Appended(own) => {
                            list.len() >= own.len()
                                && list[list.len() - own.len()..].iter().eq(own.iter().copied())
                        }
                        Known::List(expected) => list.iter().eq(expected.iter().copied()),
                    };
                    if !fits {
                        findings.add(
                            "serializability",
                            "internal",
                            vec![ctx.name(t)],
                            format!(
                                "T{} read {}={} inconsistent with its own earlier reads and \
                                 appends",
                                ctx.name(t),
                                ctx.keys[key as usize],
                                show_list(list)
                            ),
                        );
                    }
                    state[slot].1 = Known::List(list.iter().collect());
                }
                _ => {}
            }
        }
    }

    // The longest read per key is the version order; other reads must be its prefixes.
    let mut longest: FxHashMap<KeyId, (TxnId, &[Scalar])> = FxHashMap::default();
    for &(t, key, list) in &reads {
        let e = longest.entry(key).or_insert((t, list));
        if list.len() > e.1.len() {
            *e = (t, list);
        }
    }
    let mut rmw: FxHashMap<(KeyId, usize), TxnId> = FxHashMap::default();
    let mut incompatible: FxHashMap<KeyId, ()> = FxHashMap::default();
    for &(t, key, list) in &reads {
        let (lt, order) = longest[&key];
        if !order.starts_with(list) {
            if incompatible.insert(key, ()).is_none() {
                findings.add(
                    "serializability",
                    "incompatible-order",
                    vec![ctx.name(t), ctx.name(lt)],
                    format!(
                        "T{} read {}={} but T{} read {}={}: neither is a prefix of the other, so \
                         no single order of appends explains both",
                        ctx.name(t),
                        ctx.keys[key as usize],
                        show_list(list),
                        ctx.name(lt),
                        ctx.keys[key as usize],
                        show_list(order)
                    ),
                );
            }
            continue;
        }
        if !check_elements(ctx, findings, &appenders, &mut deps, t, key, list) {
            continue;
        }
        let writer_at = |i: usize| appenders.get(&(key, &order[i])).map(|&(w, _)| w);
        if let Some(w) = list.len().checked_sub(1).and_then(writer_at) {
            deps.push(w, t, EdgeKind::Wr, key);
        }
        if let Some(next) = (list.len() < order.len())
            .then(|| writer_at(list.len()))
            .flatten()
        {
            deps.push(t, next, EdgeKind::Rw, key);
        }
        if appends_to.contains_key(&(t, key)) {
            match rmw.get(&(key, list.len())) {
                None => {
                    rmw.insert((key, list.len()), t);
                }
                Some(&first) => crate::anomalies::lost_update(ctx, findings, first, t, key),
            }
        }
    }
    let mut ordered: Vec<(&KeyId, &(TxnId, &[Scalar]))> = longest.iter().collect();
    ordered.sort_unstable_by_key(|(k, _)| **k);
    for (&key, &(_, order)) in ordered {
        for pair in order.windows(2) {
            let a = appenders.get(&(key, &pair[0]));
            let b = appenders.get(&(key, &pair[1]));
            if let (Some(&(a, _)), Some(&(b, _))) = (a, b) {
                deps.push(a, b, EdgeKind::Ww, key);
            }
        }
    }
    deps
}

/// Maps each (key, element) to the txn that appended it and whether that was the txn's last
/// append to the key; reports elements appended twice.
fn index_appends<'h>(
    ctx: &Ctx<'h>,
    findings: &mut Findings,
) -> FxHashMap<(KeyId, &'h Scalar), (TxnId, bool)> {
    let mut appenders: FxHashMap<(KeyId, &Scalar), (TxnId, bool)> = FxHashMap::default();
    for t in 0..ctx.txns.len() as TxnId {
        let keys = ctx.keys_of(t);
        let mops = ctx.txns[t as usize].mops();
        for (i, mop) in mops.iter().enumerate() {
            let MicroOp::Append { element, .. } = mop else {
                continue;
            };
            let last = !mops[i + 1..]
                .iter()
                .zip(&keys[i + 1..])
                .any(|(m, k)| matches!(m, MicroOp::Append { .. }) && *k == keys[i]);
            if let Some(&(other, _)) = appenders.get(&(keys[i], element)) {
                findings.add(
                    "serializability",
                    "duplicate-write",
                    vec![ctx.name(other), ctx.name(t)],
                    format!(
                        "T{} and T{} both appended {} to {}; elements must be unique per key",
                        ctx.name(other),
                        ctx.name(t),
                        show(element),
                        ctx.keys[keys[i] as usize]
                    ),
                );
                continue;
            }
            appenders.insert((keys[i], element), (t, last));
        }
    }
    appenders
}

/// Checks every element of a read list: appended by someone, not by a failed txn, not twice;
/// and that the list does not end in an intermediate append. Marks observed indeterminate
/// appenders committed. Returns whether the read is usable as a version.
fn check_elements(
    ctx: &Ctx<'_>,
    findings: &mut Findings,
    appenders: &FxHashMap<(KeyId, &Scalar), (TxnId, bool)>,
    deps: &mut Deps,
    t: TxnId,
    key: KeyId,
    list: &[Scalar],
) -> bool {
    let mut ok = true;
    let mut seen: FxHashMap<&Scalar, ()> = FxHashMap::default();
    for (i, e) in list.iter().enumerate() {
        if seen.insert(e, ()).is_some() {
            findings.add(
                "serializability",
                "duplicate-write",
                vec![ctx.name(t)],
                format!(
                    "T{} read {}={}, which holds {} twice",
                    ctx.name(t),
                    ctx.keys[key as usize],
                    show_list(list),
                    show(e)
                ),
            );
            ok = false;
        }
        let Some(&(w, last)) = appenders.get(&(key, e)) else {
            crate::anomalies::garbage(ctx, findings, t, key, e);
            ok = false;
            continue;
        };
        let is_end = i + 1 == list.len();
        let usable = if is_end {
            crate::anomalies::check_writer(ctx, findings, t, key, e, w, last)
        } else {
            crate::anomalies::check_writer(ctx, findings, t, key, e, w, true)
        };
        ok &= usable;
        if ctx.txns[w as usize].status == Status::Info && !deps.committed[w as usize] {
            deps.committed[w as usize] = true;
            deps.info_committed += 1;
        }
    }
    ok
}

/// Formats a list for explanations.
fn show_list(list: &[Scalar]) -> String {
    serde_json::to_string(list).unwrap_or_default()
}
