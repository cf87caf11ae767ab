//! Elle's rw-register inference: without version numbers, a version is identified by its
//! (key, value) pair (values are unique per key), the initial absent value precedes every
//! write, and a transaction that read version a of a key and then wrote b orders a before b.

use rustc_hash::FxHashMap;

use super::{empty_deps, scan_registers, Access, Accesses, Deps};
use crate::anomalies::show;
use crate::graph::EdgeKind;
use crate::history::{MicroOp, Scalar};
use crate::txns::{Ctx, KeyId, Status, TxnId};
use crate::Findings;

/// A version of a key: the initial value, or the one a transaction's last write installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ver {
    Initial,
    By(TxnId),
}

/// Infers dependencies of an rw-register history and reports the non-cycle anomalies.
pub(crate) fn rw_register(ctx: &Ctx<'_>, findings: &mut Findings) -> Deps {
    let mut deps = empty_deps(ctx);
    let mut accesses: Vec<Access<'_>> = Vec::new();
    let mut starts = Vec::with_capacity(ctx.txns.len() + 1);
    let mut scratch = Accesses::default();
    for t in 0..ctx.txns.len() as TxnId {
        starts.push(accesses.len());
        scan_registers(ctx, t, findings, &mut scratch);
        accesses.extend_from_slice(&scratch);
    }
    starts.push(accesses.len());
    let of = |t: TxnId| &accesses[starts[t as usize]..starts[t as usize + 1]];

    // Every write, by (key, value): who wrote it and whether it was that txn's last write.
    let mut writes: FxHashMap<(KeyId, &Scalar), (TxnId, bool)> = FxHashMap::default();
    let mut duplicates: Vec<(KeyId, &Scalar, TxnId, TxnId)> = Vec::new();
    for t in 0..ctx.txns.len() as TxnId {
        let keys = ctx.keys_of(t);
        for (i, mop) in ctx.txns[t as usize].mops().iter().enumerate() {
            let MicroOp::Write { value, .. } = mop else {
                continue;
            };
            if *value == Scalar::Null {
                continue;
            }
            let key = keys[i];
            let last = of(t)
                .iter()
                .any(|a| a.key == key && a.write.is_some_and(|(_, m)| m == i as u32));
            match writes.entry((key, value)) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert((t, last));
                }
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let (other, _) = *e.get();
                    if other == t {
                        e.get_mut().1 |= last;
                    } else {
                        duplicates.push((key, value, other, t));
                    }
                }
            }
        }
    }
    for (key, value, a, b) in duplicates {
        findings.add(
            "serializability",
            "duplicate-write",
            vec![ctx.name(a), ctx.name(b)],
            format!(
                "T{} and T{} both wrote {}={}; rw-register needs each value written at most once \
                 per key, so reads of it are ambiguous",
                ctx.name(a),
                ctx.name(b),
                ctx.keys[key as usize],
                show(value)
            ),
        );
    }

    // Resolve each committed txn's external reads to the version they observed.
    let mut reads: Vec<(TxnId, KeyId, Ver)> = Vec::new();
    for t in 0..ctx.txns.len() as TxnId {
        if ctx.txns[t as usize].status != Status::Ok {
            continue;
        }
        for a in of(t) {
            let Some((value, _)) = a.read else { continue };
            let found = writes.get(&(a.key, value)).copied();
            let ver = match found {
                None if *value == Scalar::Null || *value == ctx.initial(a.key) => Ver::Initial,
                None => {
                    crate::anomalies::garbage(ctx, findings, t, a.key, value);
                    continue;
                }
                Some((w, last)) => {
                    if !crate::anomalies::check_writer(ctx, findings, t, a.key, value, w, last) {
                        continue;
                    }
                    if ctx.txns[w as usize].status == Status::Info && !deps.committed[w as usize] {
                        deps.committed[w as usize] = true;
                        deps.info_committed += 1;
                    }
                    Ver::By(w)
                }
            };
            reads.push((t, a.key, ver));
        }
    }

    // Installed versions per key, and the version order read-then-write implies.
    let mut installed: FxHashMap<KeyId, Vec<TxnId>> = FxHashMap::default();
    for t in 0..ctx.txns.len() as TxnId {
        if !deps.committed[t as usize] {
            continue;
        }
        for a in of(t) {
            if a.write.is_some_and(|(v, _)| *v != Scalar::Null) {
                installed.entry(a.key).or_default().push(t);
            }
        }
    }
    let mut successors: FxHashMap<(KeyId, TxnId), Vec<TxnId>> = FxHashMap::default();
    let mut rmw: FxHashMap<(KeyId, Ver), TxnId> = FxHashMap::default();
    for &(t, key, ver) in &reads {
        let wrote = of(t).iter().any(|a| a.key == key && a.write.is_some());
        if !wrote {
            continue;
        }
        if let Ver::By(w) = ver {
            successors.entry((key, w)).or_default().push(t);
            deps.push(w, t, EdgeKind::Ww, key);
        }
        match rmw.get(&(key, ver)) {
            None => {
                rmw.insert((key, ver), t);
            }
            Some(&first) => crate::anomalies::lost_update(ctx, findings, first, t, key),
        }
    }
    let none = Vec::new();
    for &(t, key, ver) in &reads {
        let next = match ver {
            Ver::Initial => installed.get(&key).unwrap_or(&none),
            Ver::By(w) => {
                deps.push(w, t, EdgeKind::Wr, key);
                successors.get(&(key, w)).unwrap_or(&none)
            }
        };
        for &b in next {
            deps.push(t, b, EdgeKind::Rw, key);
        }
    }
    deps
}
