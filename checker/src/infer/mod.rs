//! Version orders per model, and the dependency edges they imply.
//!
//! Each model knows a different amount about the order in which versions of a key were
//! installed: rw-register only what reads and writes within one transaction imply (as Elle
//! infers it), list-append the order of elements in the lists read, native the exact commit
//! sequence numbers (verified against values and snapshots). All three produce [`Deps`]: the
//! edges of the direct serialization graph, plus the anomalies found on the way that need no
//! cycle (aborted and intermediate reads, garbage, internal inconsistency, lost updates).

mod list;
mod native;
mod register;

pub(crate) use list::list_append;
pub(crate) use native::{native, Native};
pub(crate) use register::rw_register;

use crate::graph::Edge;
use crate::history::{MicroOp, ReadValue, Scalar};
use crate::txns::{Ctx, KeyId, Status, TxnId};
use crate::Findings;

/// The serialization graph's edges and what the cycle search needs to know about its nodes.
pub(crate) struct Deps {
    /// Every dependency edge (never a self-loop).
    pub edges: Vec<Edge>,
    /// A rank per txn such that, if every edge goes from a lower to a higher rank, the graph is
    /// acyclic; lets the common valid case skip the component search.
    pub rank: Vec<u64>,
    /// Which txns took effect (ok, or indeterminate but observed).
    pub committed: Vec<bool>,
    /// How many indeterminate txns were found to have committed.
    pub info_committed: u64,
}

/// A serialization graph as the cycle search reads it.
///
/// The edges are handed out on demand rather than kept in one list, because in the common case
/// (a valid history) the search only counts them and checks them against the rank, and a
/// native history's millions of edges then never need their memory.
pub(crate) trait DepGraph {
    /// Calls `f` with every edge (never a self-loop) and the ranks of its source and target,
    /// in the same order on every call: the order decides which of several shortest cycles a
    /// report shows.
    fn each_edge(&self, f: impl FnMut(Edge, u64, u64));

    /// How many edges [`DepGraph::each_edge`] gives, and whether each goes from a lower to a
    /// higher rank.
    fn count_ranked(&self) -> (usize, bool) {
        let (mut count, mut ranked) = (0, true);
        self.each_edge(|_, from, to| {
            count += 1;
            ranked &= from < to;
        });
        (count, ranked)
    }

    /// A rank per txn such that, if every edge goes from a lower to a higher rank, the graph is
    /// acyclic; lets the common valid case skip the component search.
    fn rank(&self, t: TxnId) -> u64;

    /// Whether the txn took effect (ok, or indeterminate but observed).
    fn committed(&self, t: TxnId) -> bool;
}

impl DepGraph for Deps {
    fn each_edge(&self, mut f: impl FnMut(Edge, u64, u64)) {
        for &e in &self.edges {
            f(e, self.rank[e.from as usize], self.rank[e.to as usize]);
        }
    }

    fn rank(&self, t: TxnId) -> u64 {
        self.rank[t as usize]
    }

    fn committed(&self, t: TxnId) -> bool {
        self.committed[t as usize]
    }
}

impl Deps {
    /// Adds an edge unless it would be a self-loop (a txn depending on itself is no anomaly).
    pub fn push(&mut self, from: TxnId, to: TxnId, kind: crate::graph::EdgeKind, key: KeyId) {
        if from != to {
            self.edges.push(Edge { from, to, kind, key });
        }
    }
}

/// What one transaction did to one key: where its first read and its last write are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Access<'h> {
    /// The key.
    pub key: KeyId,
    /// The first read's value and micro-op position, if the key was read before being written
    /// (an external read, which observes another transaction's version).
    pub read: Option<(&'h Scalar, u32)>,
    /// The last write's value and micro-op position (the version the txn installs).
    pub write: Option<(&'h Scalar, u32)>,
    /// Whether it wrote the key more than once (earlier writes are intermediate).
    pub rewrote: bool,
}

/// Summarises a register transaction per key, in first-touch order, and reports internal
/// anomalies of committed ones: a read that disagrees with the txn's own earlier write, or
/// with its own earlier read of the same key.
pub(crate) fn scan_registers<'h>(ctx: &Ctx<'h>, t: TxnId, findings: &mut Findings, out: &mut Accesses<'h>) {
    out.clear();
    let txn = &ctx.txns[t as usize];
    let check = txn.status == Status::Ok;
    let keys = ctx.keys_of(t);
    for (i, mop) in txn.mops().iter().enumerate() {
        match mop {
            MicroOp::Read { value, .. } => {
                let value = match value {
                    ReadValue::Scalar(v) => v,
                    ReadValue::List(_) => &Scalar::Null,
                };
                observe(ctx, t, keys[i], value, i as u32, check, findings, out);
            }
            MicroOp::List(r) => {
                for (k, v) in r.result.iter().flatten() {
                    if let Some(key) = ctx.key_ids.get(k) {
                        observe(ctx, t, key, v, i as u32, check, findings, out);
                    }
                }
            }
            MicroOp::Write { value, .. } | MicroOp::Append { element: value, .. } => {
                let a = out.access(keys[i]);
                a.rewrote |= a.write.is_some();
                a.write = Some((value, i as u32));
            }
        }
    }
}

/// A transaction's [`Access`] records, in first-touch order, with what finds a key's record.
///
/// Transactions are usually small, and a linear scan of a few records beats any lookup; but a
/// setup transaction can write every key (the simulator's writes 10,000 accounts), and a scan
/// per micro-op would make it quadratic. So once a transaction has more than [`LINEAR`]
/// records, each key's record is found through a table indexed by key id, kept across
/// transactions and emptied record by record.
#[derive(Default)]
pub(crate) struct Accesses<'h> {
    /// The records.
    list: Vec<Access<'h>>,
    /// Per key id, the position of its record in `list` ([`NO_RECORD`] when it has none);
    /// used only while `indexed`.
    index: Vec<u32>,
    /// Whether `index` holds the position of every record.
    indexed: bool,
}

/// The most records [`Accesses`] searches linearly.
const LINEAR: usize = 16;

/// No record in [`Accesses::index`].
const NO_RECORD: u32 = u32::MAX;

impl<'h> Accesses<'h> {
    /// Forgets the records, keeping the memory.
    fn clear(&mut self) {
        if self.indexed {
            for a in &self.list {
                self.index[a.key as usize] = NO_RECORD;
            }
            self.indexed = false;
        }
        self.list.clear();
    }

    /// Finds or adds the record of `key`.
    ///
    /// Small so that it is inlined into every micro-op's step: transactions are usually small,
    /// and a call per micro-op cost about as much as the scan itself.
    #[inline]
    fn access(&mut self, key: KeyId) -> &mut Access<'h> {
        if self.indexed {
            return self.access_indexed(key);
        }
        let i = match self.list.iter().position(|a| a.key == key) {
            Some(i) => i,
            None => self.add(key),
        };
        &mut self.list[i]
    }

    /// [`Accesses::access`] once records are found through the index.
    #[cold]
    fn access_indexed(&mut self, key: KeyId) -> &mut Access<'h> {
        let found = self
            .index
            .get(key as usize)
            .copied()
            .filter(|&i| i != NO_RECORD)
            .map(|i| i as usize);
        let i = match found {
            Some(i) => i,
            None => self.add(key),
        };
        &mut self.list[i]
    }

    /// Adds an empty record for `key` and returns its position, indexing the records once
    /// there are more than [`LINEAR`].
    fn add(&mut self, key: KeyId) -> usize {
        self.list.push(Access {
            key,
            read: None,
            write: None,
            rewrote: false,
        });
        let i = self.list.len() - 1;
        if self.indexed {
            self.record(key, i);
        } else if self.list.len() > LINEAR {
            for j in 0..self.list.len() {
                self.record(self.list[j].key, j);
            }
            self.indexed = true;
        }
        i
    }

    /// Notes in the index that `key`'s record is at position `i`.
    fn record(&mut self, key: KeyId, i: usize) {
        let k = key as usize;
        if k >= self.index.len() {
            self.index.resize(k + 1, NO_RECORD);
        }
        self.index[k] = i as u32;
    }
}

impl<'h> std::ops::Deref for Accesses<'h> {
    type Target = [Access<'h>];

    fn deref(&self) -> &[Access<'h>] {
        &self.list
    }
}

/// Records one observed value of a key and checks it against what the txn already knows.
#[allow(clippy::too_many_arguments)]
#[inline]
fn observe<'h>(
    ctx: &Ctx<'h>,
    t: TxnId,
    key: KeyId,
    value: &'h Scalar,
    mop: u32,
    check: bool,
    findings: &mut Findings,
    out: &mut Accesses<'h>,
) {
    let a = out.access(key);
    let expected = match (a.write, a.read) {
        (Some((w, _)), _) => Some((w, "wrote")),
        (None, Some((r, _))) => Some((r, "read")),
        (None, None) => {
            a.read = Some((value, mop));
            None
        }
    };
    if let Some((want, verb)) = expected {
        if check && want != value {
            internal(ctx, t, key, want, verb, value, findings);
        }
    }
}

/// Reports that txn `t` read `value` of `key` after it had `verb` (wrote or read) `want`.
#[cold]
fn internal(
    ctx: &Ctx<'_>,
    t: TxnId,
    key: KeyId,
    want: &Scalar,
    verb: &str,
    value: &Scalar,
    findings: &mut Findings,
) {
    let k = ctx.keys[key as usize];
    findings.add(
        "serializability",
        "internal",
        vec![ctx.name(t)],
        format!(
            "T{} {verb} {k}={} and then read {k}={}: a transaction must see its own writes and a \
             stable snapshot",
            ctx.name(t),
            crate::anomalies::show(want),
            crate::anomalies::show(value)
        ),
    );
}

/// A fresh, edge-less dependency set for the context's transactions.
pub(crate) fn empty_deps(ctx: &Ctx<'_>) -> Deps {
    Deps {
        edges: Vec::new(),
        rank: ctx.txns.iter().map(|t| u64::from(t.complete_pos)).collect(),
        committed: ctx.txns.iter().map(|t| t.status == Status::Ok).collect(),
        info_committed: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::{Accesses, LINEAR};
    use crate::history::Scalar;

    /// Each key gets one record, in first-touch order, whether records are found by scanning
    /// or, past [`LINEAR`] of them, through the index; clearing forgets them all.
    #[test]
    fn one_record_per_key_in_first_touch_order() {
        let value = Scalar::Int(1);
        let keys: Vec<u32> = (0..3 * LINEAR as u32).map(|i| (i * 7) % 50).collect();
        let mut accesses = Accesses::default();
        for _ in 0..2 {
            accesses.clear();
            for (i, &k) in keys.iter().chain(&keys).enumerate() {
                let a = accesses.access(k);
                a.rewrote |= a.write.is_some();
                a.write = Some((&value, i as u32));
            }
            let mut first_touch: Vec<u32> = Vec::new();
            for &k in &keys {
                if !first_touch.contains(&k) {
                    first_touch.push(k);
                }
            }
            assert!(first_touch.len() > LINEAR);
            assert_eq!(accesses.iter().map(|a| a.key).collect::<Vec<_>>(), first_touch);
            assert!(accesses.iter().all(|a| a.rewrote));
        }
    }
}
