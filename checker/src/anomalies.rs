//! Cycle classification as Elle does it, and the explanations of every serializability anomaly.
//!
//! Within each strongly connected component of the serialization graph the search looks for
//! G0 in the ww-only subgraph, G1c in ww+wr, G-single (exactly one anti-dependency), then
//! G2-item (two or more) and G2 (through a predicate anti-dependency), and reports each class it
//! finds with the shortest cycle it found, edge by edge.

use crate::graph::{Edge, EdgeKind, Graph, Mask, ALL};
use crate::history::{ReadValue, Scalar};
use crate::infer::DepGraph;
use crate::txns::{Ctx, KeyId, Status, TxnId};
use crate::{CheckOptions, Findings, Stats};

/// How many BFS work units (nodes) a component's anti-dependency searches may spend in total;
/// keeps a pathological giant component from making the check quadratic.
const SEARCH_BUDGET: usize = 4_000_000;

/// Formats a value for explanations (JSON, so strings are quoted and absence is `null`).
pub(crate) fn show(v: &Scalar) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Formats a read's value for explanations.
pub(crate) fn show_read(v: &ReadValue) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Reports a read of a value that no transaction ever wrote.
pub(crate) fn garbage(ctx: &Ctx<'_>, findings: &mut Findings, t: TxnId, key: KeyId, value: &Scalar) {
    findings.add(
        "serializability",
        "garbage-read",
        vec![ctx.name(t)],
        format!(
            "T{} read {}={}, a value no transaction wrote",
            ctx.name(t),
            ctx.keys[key as usize],
            show(value)
        ),
    );
}

/// Checks that the writer of a value read by another committed txn could be read from: not
/// failed (G1a), not an intermediate write (G1b), not the reader's own later write (internal).
/// Returns whether the read observed a real committed version.
pub(crate) fn check_writer(
    ctx: &Ctx<'_>,
    findings: &mut Findings,
    reader: TxnId,
    key: KeyId,
    value: &Scalar,
    writer: TxnId,
    last: bool,
) -> bool {
    let (r, w, k) = (ctx.name(reader), ctx.name(writer), ctx.keys[key as usize]);
    let v = show(value);
    if writer == reader {
        findings.add(
            "serializability",
            "internal",
            vec![r],
            format!("T{r} read {k}={v} before it wrote that value itself"),
        );
        false
    } else if ctx.txns[writer as usize].status == Status::Fail {
        findings.add(
            "serializability",
            "G1a",
            vec![r, w],
            format!("aborted read: T{r} read {k}={v}, written only by T{w}, which failed"),
        );
        false
    } else if !last {
        findings.add(
            "serializability",
            "G1b",
            vec![r, w],
            format!(
                "intermediate read: T{r} read {k}={v}, which T{w} overwrote within the same \
                 transaction, so it was never a committed version"
            ),
        );
        false
    } else {
        true
    }
}

/// Reports two committed txns that read the same version of a key and both wrote it.
pub(crate) fn lost_update(ctx: &Ctx<'_>, findings: &mut Findings, a: TxnId, b: TxnId, key: KeyId) {
    let (na, nb, k) = (ctx.name(a), ctx.name(b), ctx.keys[key as usize]);
    findings.add(
        "serializability",
        "lost-update",
        vec![na, nb],
        format!(
            "T{na} and T{nb} both read the same version of {k} and both wrote {k}: one update \
             was lost"
        ),
    );
}

/// Adds the optional process and real-time edges, then finds and classifies every cycle.
pub(crate) fn check_cycles(
    ctx: &Ctx<'_>,
    deps: &impl DepGraph,
    options: &CheckOptions,
    findings: &mut Findings,
    stats: &mut Stats,
) {
    let mut extra = Vec::new();
    if options.process_edges {
        process_edges(ctx, deps, &mut extra);
    }
    if options.realtime_edges {
        realtime_edges(ctx, deps, &mut extra);
    }
    let (count, ranked) = deps.count_ranked();
    let count = count + extra.len();
    let ranked = ranked && extra.iter().all(|e| deps.rank(e.from) < deps.rank(e.to));
    stats.edges = count as u64;
    if ranked {
        return;
    }
    let mut edges = Vec::with_capacity(count);
    deps.each_edge(|e, _, _| edges.push(e));
    edges.extend(extra);
    let graph = Graph::new(ctx.txns.len(), edges);
    let comps = graph.all_sccs();
    stats.cyclic_components = comps.len() as u64;
    let mut comp_of = vec![u32::MAX; ctx.txns.len()];
    for (ci, comp) in comps.iter().enumerate() {
        for &v in comp {
            comp_of[v as usize] = ci as u32;
        }
    }
    let mut extra: Mask = 0;
    if options.process_edges {
        extra |= EdgeKind::Process.bit();
    }
    if options.realtime_edges {
        extra |= EdgeKind::Realtime.bit();
    }
    for (ci, comp) in comps.iter().enumerate() {
        let keep = |v: TxnId| comp_of[v as usize] == ci as u32;
        classify(ctx, &graph, comp, &keep, extra, findings);
    }
}

/// Finds each class of cycle present in one component.
fn classify(
    ctx: &Ctx<'_>,
    graph: &Graph,
    comp: &[TxnId],
    keep: &dyn Fn(TxnId) -> bool,
    extra: Mask,
    findings: &mut Findings,
) {
    let ww = EdgeKind::Ww.bit() | extra;
    let wwr = ww | EdgeKind::Wr.bit();
    for sub in graph.sccs(comp, ww, keep) {
        if let Some(cycle) = cycle_in(graph, &sub, ww, None) {
            report(ctx, findings, "G0", &cycle);
        }
    }
    let subs = graph.sccs(comp, wwr, keep);
    let mut sub_of = rustc_hash::FxHashMap::default();
    for (si, sub) in subs.iter().enumerate() {
        for &v in sub {
            sub_of.insert(v, si);
        }
        if let Some(cycle) = cycle_in(graph, sub, wwr, Some(EdgeKind::Wr)) {
            report(ctx, findings, "G1c", &cycle);
        }
    }
    let rw_edges: Vec<Edge> = comp
        .iter()
        .flat_map(|&v| graph.out(v))
        .filter(|e| e.kind.is_rw() && keep(e.to))
        .copied()
        .collect();
    let attempts = (SEARCH_BUDGET / (comp.len() + 1)).clamp(1, 256);
    // G-single: one anti-dependency closed by ww/wr edges; edges whose ends share a ww+wr
    // component are certain to close, so they are tried first.
    let mut single: Vec<&Edge> = rw_edges.iter().collect();
    single.sort_by_key(|e| !sub_of.contains_key(&e.from) || sub_of.get(&e.from) != sub_of.get(&e.to));
    for e in single.into_iter().take(attempts) {
        if let Some(path) = graph.shortest_path(e.to, e.from, wwr, 0, keep) {
            report(ctx, findings, "G-single", &close(*e, path));
            break;
        }
    }
    // G2-item: an item anti-dependency closed by a path holding at least one more.
    let item = ALL & !EdgeKind::RwPred.bit() & !(EdgeKind::Process.bit() | EdgeKind::Realtime.bit()) | extra;
    for e in rw_edges.iter().filter(|e| e.kind == EdgeKind::Rw).take(attempts) {
        let found = graph.shortest_path(e.to, e.from, item, EdgeKind::Rw.bit(), keep);
        if let Some(cycle) = found.map(|path| close(*e, path)).filter(|c| is_simple(c)) {
            report(ctx, findings, "G2-item", &cycle);
            break;
        }
    }
    // G2: a cycle through a predicate anti-dependency.
    let all = ALL & !(EdgeKind::Process.bit() | EdgeKind::Realtime.bit()) | extra;
    for e in rw_edges
        .iter()
        .filter(|e| e.kind == EdgeKind::RwPred)
        .take(attempts)
    {
        if let Some(path) = graph.shortest_path(e.to, e.from, all, 0, keep) {
            report(ctx, findings, "G2", &close(*e, path));
            break;
        }
    }
}

/// The cycle made of an edge and a path from its target back to its source.
fn close(e: Edge, path: Vec<Edge>) -> Vec<Edge> {
    let mut cycle = Vec::with_capacity(path.len() + 1);
    cycle.push(e);
    cycle.extend(path);
    cycle
}

/// Whether a cycle visits each transaction once (the search over (node, seen-an-rw) states can
/// otherwise return a walk that passes a node twice, which is no single cycle).
fn is_simple(cycle: &[Edge]) -> bool {
    let mut nodes: Vec<TxnId> = cycle.iter().map(|e| e.from).collect();
    nodes.sort_unstable();
    nodes.windows(2).all(|w| w[0] != w[1])
}

/// A shortest cycle inside a strongly connected node set over `mask` edges; with `through`,
/// one that contains an edge of that kind.
fn cycle_in(graph: &Graph, sub: &[TxnId], mask: Mask, through: Option<EdgeKind>) -> Option<Vec<Edge>> {
    let inside = |v: TxnId| sub.binary_search(&v).is_ok();
    let first = sub
        .iter()
        .flat_map(|&v| graph.out(v))
        .find(|e| e.kind.bit() & mask != 0 && inside(e.to) && through.is_none_or(|k| e.kind == k))?;
    let path = graph.shortest_path(first.to, first.from, mask, 0, &inside)?;
    Some(close(*first, path))
}

/// Reports one cycle under its class, suffixed as Elle does when it relies on process or
/// real-time order.
fn report(ctx: &Ctx<'_>, findings: &mut Findings, class: &str, cycle: &[Edge]) {
    let suffix = if cycle.iter().any(|e| e.kind == EdgeKind::Realtime) {
        "-realtime"
    } else if cycle.iter().any(|e| e.kind == EdgeKind::Process) {
        "-process"
    } else {
        ""
    };
    let kind = format!("{class}{suffix}");
    let what = match class {
        "G0" => "write cycle: transactions overwrote each other's writes in a circle",
        "G1c" => "circular information flow: each transaction depends on the next through writes and reads",
        "G-single" => "read skew: a cycle with exactly one anti-dependency (a read of a version that a later transaction in the cycle overwrote)",
        "G2-item" => "write skew: a cycle with two or more anti-dependencies",
        _ => "phantom: a cycle through a range read that missed a later insert",
    };
    let mut compact = format!("T{}", ctx.name(cycle[0].from));
    let mut steps = Vec::with_capacity(cycle.len());
    for e in cycle {
        let (label, sentence) = describe(ctx, e);
        compact.push_str(&format!(" -{label}-> T{}", ctx.name(e.to)));
        steps.push(sentence);
    }
    let txns = cycle.iter().map(|e| ctx.name(e.from)).collect();
    findings.add(
        "serializability",
        &kind,
        txns,
        format!("{kind} ({what}): {compact}. {}.", steps.join("; ")),
    );
}

/// An edge's compact label and a sentence saying why it exists.
fn describe(ctx: &Ctx<'_>, e: &Edge) -> (String, String) {
    let (a, b) = (ctx.name(e.from), ctx.name(e.to));
    let written = |t: TxnId| ctx.final_write(t, e.key).map_or("?".to_string(), show);
    match e.kind {
        EdgeKind::Process => (
            "process".into(),
            format!("T{a} completed before T{b} on the same process"),
        ),
        EdgeKind::Realtime => (
            "realtime".into(),
            format!("T{a} completed before T{b} was invoked"),
        ),
        _ => {
            let k = ctx.keys[e.key as usize];
            match e.kind {
                EdgeKind::Ww => (
                    format!("ww({k}: {} -> {})", written(e.from), written(e.to)),
                    format!(
                        "T{a} wrote {k}={}, then T{b} installed the next version {k}={}",
                        written(e.from),
                        written(e.to)
                    ),
                ),
                EdgeKind::Wr => (
                    format!("wr({k}={})", written(e.from)),
                    format!("T{b} read {k}={} written by T{a}", written(e.from)),
                ),
                EdgeKind::Rw => {
                    let r = ctx.first_read(e.from, e.key).unwrap_or_else(|| "?".into());
                    (
                        format!("rw({k}: {r} -> {})", written(e.to)),
                        format!("T{a} read {k}={r}, which T{b} overwrote with {}", written(e.to)),
                    )
                }
                _ => (
                    format!("rw-predicate({k}: absent -> {})", written(e.to)),
                    format!(
                        "T{a}'s range read did not see {k}, which T{b} then inserted as {}",
                        written(e.to)
                    ),
                ),
            }
        }
    }
}

/// Orders each process's committed transactions (Elle's process edges).
fn process_edges(ctx: &Ctx<'_>, deps: &impl DepGraph, out: &mut Vec<Edge>) {
    let mut last: rustc_hash::FxHashMap<u64, TxnId> = rustc_hash::FxHashMap::default();
    let mut order: Vec<TxnId> = (0..ctx.txns.len() as TxnId).collect();
    order.sort_by_key(|&t| ctx.txns[t as usize].invoke_pos);
    for t in order {
        if !deps.committed(t) {
            continue;
        }
        let process = match ctx.history.ops[ctx.txns[t as usize].invoke_pos as usize].process {
            crate::history::Process::Client(p) => p,
            crate::history::Process::Nemesis => continue,
        };
        if let Some(prev) = last.insert(process, t) {
            push(out, prev, t, EdgeKind::Process);
        }
    }
}

/// Adds real-time edges through a frontier of recent completions, which keeps the edge count
/// linear yet preserves the transitive order: a txn invoked after another completed follows it.
fn realtime_edges(ctx: &Ctx<'_>, deps: &impl DepGraph, out: &mut Vec<Edge>) {
    let mut events: Vec<(u32, bool, TxnId)> = Vec::new();
    for (t, txn) in ctx.txns.iter().enumerate() {
        if deps.committed(t as TxnId) {
            events.push((txn.invoke_pos, false, t as TxnId));
            if txn.status == Status::Ok {
                events.push((txn.complete_pos, true, t as TxnId));
            }
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<(u32, TxnId)> = Vec::new();
    for (pos, completes, t) in events {
        if completes {
            let invoked = ctx.txns[t as usize].invoke_pos;
            let dominated = frontier.partition_point(|&(added, _)| added < invoked);
            frontier.drain(..dominated);
            frontier.push((pos, t));
        } else {
            for &(_, f) in &frontier {
                push(out, f, t, EdgeKind::Realtime);
            }
        }
    }
}

/// Adds a process or real-time edge unless it would be a self-loop.
fn push(out: &mut Vec<Edge>, from: TxnId, to: TxnId, kind: EdgeKind) {
    if from != to {
        out.push(Edge {
            from,
            to,
            kind,
            key: 0,
        });
    }
}
