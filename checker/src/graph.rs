//! The direct serialization graph: edges in compressed adjacency arrays, strongly connected
//! components (iterative Tarjan) and shortest cycles (BFS), all restricted to edge kinds.
//!
//! The graph is built once from a flat edge list and never changes, so a CSR layout (one offset
//! array, one target array) keeps it small and cache-friendly; searches only ever run inside a
//! nontrivial component, which keeps the whole check linear in the size of the history.

use std::collections::VecDeque;

use crate::txns::{KeyId, TxnId};

/// The kind of a dependency edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EdgeKind {
    /// Write-write: the target installed the next version of a key the source wrote.
    Ww = 0,
    /// Write-read: the target read a version the source installed.
    Wr = 1,
    /// Read-write (anti-dependency): the target installed the version after the one the source read.
    Rw = 2,
    /// Predicate anti-dependency: the target inserted a key into a range the source scanned.
    RwPred = 3,
    /// The source completed before the target on the same process.
    Process = 4,
    /// The source completed before the target was invoked.
    Realtime = 5,
}

impl EdgeKind {
    /// This kind as a bit of a [`Mask`].
    pub fn bit(self) -> Mask {
        1 << self as u8
    }

    /// Whether this is an anti-dependency (item or predicate).
    pub fn is_rw(self) -> bool {
        matches!(self, EdgeKind::Rw | EdgeKind::RwPred)
    }
}

/// A set of edge kinds, one bit each.
pub(crate) type Mask = u8;

/// Every edge kind.
pub(crate) const ALL: Mask = 0b11_1111;

/// One dependency between two transactions, on a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    /// The transaction that must come first.
    pub from: TxnId,
    /// The transaction that must come later.
    pub to: TxnId,
    /// Why.
    pub kind: EdgeKind,
    /// The key involved (unused for process and real-time edges).
    pub key: KeyId,
}

/// Compressed adjacency: the edges leaving `n` are `edges[offsets[n]..offsets[n + 1]]`.
pub(crate) struct Graph {
    offsets: Vec<u32>,
    edges: Vec<Edge>,
}

/// A sentinel for "not visited" in the search arrays.
const UNSEEN: u32 = u32::MAX;

impl Graph {
    /// Builds the adjacency of `nodes` transactions from an edge list (a counting sort by source).
    pub fn new(nodes: usize, list: Vec<Edge>) -> Self {
        let mut offsets = vec![0u32; nodes + 1];
        for e in &list {
            offsets[e.from as usize + 1] += 1;
        }
        for i in 0..nodes {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut edges = list.clone();
        for e in list {
            let slot = &mut fill[e.from as usize];
            edges[*slot as usize] = e;
            *slot += 1;
        }
        Graph { offsets, edges }
    }

    /// The number of nodes.
    pub fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The edges leaving `n`.
    pub fn out(&self, n: TxnId) -> &[Edge] {
        &self.edges[self.offsets[n as usize] as usize..self.offsets[n as usize + 1] as usize]
    }

    /// Strongly connected components with at least two nodes among `nodes`, following only
    /// edges of kinds in `mask` whose target `keep` accepts (iterative Tarjan, so deep graphs do
    /// not overflow the stack).
    pub fn sccs(&self, nodes: &[TxnId], mask: Mask, keep: &dyn Fn(TxnId) -> bool) -> Vec<Vec<TxnId>> {
        let mut index: rustc_hash::FxHashMap<TxnId, (u32, u32)> = rustc_hash::FxHashMap::default();
        let mut on_stack: rustc_hash::FxHashSet<TxnId> = rustc_hash::FxHashSet::default();
        let mut stack: Vec<TxnId> = Vec::new();
        let mut out = Vec::new();
        let mut next = 0u32;
        let mut call: Vec<(TxnId, usize)> = Vec::new();
        for &root in nodes {
            if index.contains_key(&root) {
                continue;
            }
            call.push((root, 0));
            index.insert(root, (next, next));
            next += 1;
            stack.push(root);
            on_stack.insert(root);
            while let Some(&mut (v, ref mut i)) = call.last_mut() {
                let out_edges = self.out(v);
                let mut descended = false;
                while *i < out_edges.len() {
                    let e = out_edges[*i];
                    *i += 1;
                    if e.kind.bit() & mask == 0 || !keep(e.to) {
                        continue;
                    }
                    match index.get(&e.to) {
                        None => {
                            index.insert(e.to, (next, next));
                            next += 1;
                            stack.push(e.to);
                            on_stack.insert(e.to);
                            call.push((e.to, 0));
                            descended = true;
                            break;
                        }
                        Some(&(w_index, _)) if on_stack.contains(&e.to) => {
                            let entry = index.get_mut(&v).map(|x| &mut x.1);
                            if let Some(low) = entry {
                                *low = (*low).min(w_index);
                            }
                        }
                        Some(_) => {}
                    }
                }
                if descended {
                    continue;
                }
                call.pop();
                let (v_index, v_low) = index[&v];
                if let Some(&(parent, _)) = call.last() {
                    if let Some(p) = index.get_mut(&parent) {
                        p.1 = p.1.min(v_low);
                    }
                }
                if v_low == v_index {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack.remove(&w);
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
        out
    }

    /// Nontrivial components of the whole graph, using dense arrays (the one search that runs
    /// over every node, so it avoids hashing).
    pub fn all_sccs(&self) -> Vec<Vec<TxnId>> {
        let n = self.nodes();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<TxnId> = Vec::new();
        let mut call: Vec<(TxnId, u32)> = Vec::new();
        let mut out = Vec::new();
        let mut next = 0u32;
        for root in 0..n as TxnId {
            if index[root as usize] != UNSEEN || self.out(root).is_empty() {
                continue;
            }
            index[root as usize] = next;
            low[root as usize] = next;
            next += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            call.push((root, self.offsets[root as usize]));
            while let Some(&mut (v, ref mut i)) = call.last_mut() {
                let end = self.offsets[v as usize + 1];
                let mut descended = false;
                while *i < end {
                    let w = self.edges[*i as usize].to;
                    *i += 1;
                    if index[w as usize] == UNSEEN {
                        index[w as usize] = next;
                        low[w as usize] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w as usize] = true;
                        call.push((w, self.offsets[w as usize]));
                        descended = true;
                        break;
                    } else if on_stack[w as usize] {
                        low[v as usize] = low[v as usize].min(index[w as usize]);
                    }
                }
                if descended {
                    continue;
                }
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent as usize] = low[parent as usize].min(low[v as usize]);
                }
                if low[v as usize] == index[v as usize] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
        out
    }

    /// The shortest path from `from` to `to` over edges of kinds in `mask` whose target `keep`
    /// accepts; with `need` set, only paths containing at least one edge of a kind in `need`
    /// count (a BFS over (node, seen-one) states). Returns the path's edges in order.
    pub fn shortest_path(
        &self,
        from: TxnId,
        to: TxnId,
        mask: Mask,
        need: Mask,
        keep: &dyn Fn(TxnId) -> bool,
    ) -> Option<Vec<Edge>> {
        let start = (from, need == 0);
        let mut parent: rustc_hash::FxHashMap<(TxnId, bool), (Edge, bool)> = rustc_hash::FxHashMap::default();
        let mut queue = VecDeque::from([start]);
        parent.insert(
            start,
            (
                Edge {
                    from,
                    to: from,
                    kind: EdgeKind::Ww,
                    key: 0,
                },
                false,
            ),
        );
        while let Some((v, got)) = queue.pop_front() {
            if v == to && got {
                let mut path = Vec::new();
                let mut cur = (v, got);
                while cur != start {
                    let (e, prev_got) = parent[&cur];
                    path.push(e);
                    cur = (e.from, prev_got);
                }
                path.reverse();
                return Some(path);
            }
            for e in self.out(v) {
                if e.kind.bit() & mask == 0 || !keep(e.to) {
                    continue;
                }
                let state = (e.to, got || e.kind.bit() & need != 0);
                if let std::collections::hash_map::Entry::Vacant(slot) = parent.entry(state) {
                    slot.insert((*e, got));
                    queue.push_back(state);
                }
            }
        }
        None
    }
}
