//! Native inference: versions are the commit sequence numbers the engine reported, but every
//! one is verified: a read's version must have been installed by a commit that wrote the value
//! read (`version-mismatch`), and must be the newest version at or below the reader's snapshot
//! (`stale-read`, or `partial-commit` when the missing version belongs to an indeterminate
//! transaction seen elsewhere). Indeterminate transactions whose writes are read are given the
//! version the reader reported.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::{scan_registers, Accesses, DepGraph};
use crate::anomalies::show;
use crate::error::Error;
use crate::graph::{Edge, EdgeKind};
use crate::history::{KeyRange, MicroOp, Op, Scalar, Version};
use crate::prefetch::{prefetch, prefetch_slice, AHEAD, PREFETCHED_BYTES, PREFETCHED_KEYS};
use crate::seqs::OptSeqs;
use crate::txns::{Ctx, KeyId, Status, TxnId};
use crate::Findings;

/// No transaction.
pub(crate) const NONE: TxnId = TxnId::MAX;

/// One installed version of a key.
///
/// The value installed is not kept here but found through the writer's writes
/// ([`Native::value_of`]): there are as many versions as writes, and without the value an entry
/// takes 24 bytes rather than 32, while matching reads to versions rarely needs more than the
/// value's small form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// The commit sequence number that installed it.
    pub seq: u64,
    /// The committing transaction.
    pub txn: TxnId,
    /// The [`small`] form of the value installed.
    small: u32,
    /// Whether the writer had read this key from its snapshot first (a read-modify-write).
    pub rmw: bool,
    /// The first read-modify-write txn that read this version (for lost updates).
    pub rmw_reader: TxnId,
}

/// The [`small`] form of values that have none.
const NOT_SMALL: u32 = u32::MAX;

/// A value's exact form as a number below [`NOT_SMALL`] when it is such a non-negative integer
/// (what most histories write), else [`NOT_SMALL`]; two values with small forms are equal
/// exactly when their small forms are.
fn small(value: &Scalar) -> u32 {
    match value {
        Scalar::Int(i) => u32::try_from(*i)
            .ok()
            .filter(|&s| s != NOT_SMALL)
            .unwrap_or(NOT_SMALL),
        _ => NOT_SMALL,
    }
}

impl Entry {
    /// A version of `value` installed by `txn` at `seq`, not yet read by any read-modify-write.
    fn new(seq: u64, txn: TxnId, value: &Scalar) -> Self {
        Entry {
            seq,
            txn,
            small: small(value),
            rmw: false,
            rmw_reader: NONE,
        }
    }
}

/// An external read by a committed transaction (its first access to the key was a read).
///
/// Fields are laid out (the version as a number and a flag rather than an `Option`) so that a
/// read takes 32 bytes: there are as many reads as micro-ops, and their memory is most of the
/// check's. Where its version is in its key's versions is kept here rather than in a list of
/// its own, so that each read is one record to fill.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Read<'h> {
    /// The reader.
    pub txn: TxnId,
    /// The key.
    pub key: KeyId,
    /// The value observed.
    pub value: &'h Scalar,
    /// The version observed, when `has_version` is set.
    version: u64,
    /// Where the version observed is in its key's versions as judging settled it ([`NO_POS`]
    /// for the initial state); set for valid reads only. Until judging, where the first pass
    /// saw a version with the read's sequence number (see [`Native::found`]).
    pos: u32,
    /// Whether a version was reported (else the read saw the initial state).
    has_version: bool,
    /// Whether the version is consistent with the value (a real, known version).
    pub valid: bool,
    /// Whether the reader also wrote the key.
    pub rmw: bool,
}

impl Read<'_> {
    /// The version observed (`None`: the initial state); meaningful only when `valid`.
    pub fn seq(&self) -> Option<u64> {
        self.has_version.then_some(self.version)
    }
}

/// A txn's last write to a key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Write<'h> {
    /// The key written.
    pub key: KeyId,
    /// Where the write's entry was placed in its key's versions (a hint, verified before use,
    /// since sorting can move entries; `u32::MAX` when it installed no version).
    pos: u32,
    /// The value installed (`null` for a delete).
    pub value: &'h Scalar,
}

/// No position in a key's versions.
const NO_POS: u32 = u32::MAX;

/// The most writes of one txn that stay in first-touch order and that [`Native::position`]
/// scans for a key's recorded position; a txn with more has its writes sorted by key.
const WRITES_SCANNED: usize = 16;

/// Everything the native checks share: versions per key, reads, commits and writes per txn.
///
/// It is also the serialization graph: its edges follow from the versions and from where each
/// read's version was found, so they are derived when the cycle search asks rather than stored.
pub(crate) struct Native<'h> {
    /// Which txns took effect (ok, or indeterminate but observed).
    committed: Vec<bool>,
    /// How many indeterminate txns were found to have committed.
    info_committed: u64,
    /// The predicate anti-dependencies of range reads (rare, so kept as a list).
    pred_edges: Vec<Edge>,
    /// Per key, its installed versions in sequence order.
    pub versions: Vec<Vec<Entry>>,
    /// External reads of committed txns, grouped by txn in txn order.
    pub reads: Vec<Read<'h>>,
    read_start: Vec<u32>,
    /// Each txn's last write per key, grouped by txn, in first-touch order (by key for a txn
    /// with more than [`WRITES_SCANNED`]).
    writes: Vec<Write<'h>>,
    write_start: Vec<u32>,
    /// Commit sequence number to committing txn.
    by_seq: SeqIndex,
    /// Whether sorting moved any version from where it was placed (making the positions
    /// recorded in `writes` hints to verify rather than facts).
    reordered: bool,
    /// How many write-read and anti-dependency edges the valid reads give (tallied by judging).
    read_edge_count: usize,
    /// Whether each of those edges goes from a lower to a higher [`DepGraph::rank`].
    read_edges_ranked: bool,
    /// Whether the reported commit sequence numbers strictly increase in txn order: then each
    /// is reported by one txn only, and each key's versions were placed in order.
    seqs_unique: bool,
    /// The commit sequence number of each committed txn (reported, or inferred for
    /// indeterminate ones from reads).
    pub commit: OptSeqs,
    /// Each txn's snapshot as its op reports it, kept with the other per-txn facts so that
    /// later checks need not fetch each op again (a cache miss per txn in a large history).
    pub snapshot: OptSeqs,
    /// The most external reads of one committed txn, so that a check that wants txns reading
    /// many keys can tell when none does.
    pub max_reads: usize,
    /// What settling each read as it was met also established (`None` after two passes).
    pub early: Option<Early>,
}

/// Facts that settling reads as they are met establishes on the way, while each key's versions
/// are placed in their final order, sparing later checks a pass over every version or txn.
pub(crate) struct Early {
    /// How many write-write edges the versions give, tallied as each version was placed.
    ww_edges: usize,
    /// Whether each of those edges goes from a lower to a higher [`DepGraph::rank`].
    ww_ranked: bool,
    /// Per key, the last read-modify-write version with a snapshot: its writer, sequence
    /// number and the writer's snapshot (as [`crate::fcw`] walks them).
    last_rmw: Vec<Option<(TxnId, u64, u64)>>,
    /// Whether some read-modify-write's snapshot was below the previous one's commit on its
    /// key (by another txn): first-committer-wins must then walk the versions to report it.
    pub fcw_suspect: bool,
    /// Whether some committed txn's snapshot was not below its commit: version order must
    /// then walk the commits to report it (numbers increase, or there would be no early facts).
    pub snapshot_suspect: bool,
    /// The meta line's commit-log capacity, when small enough to keep that many commits, with
    /// the last `capacity + 1` commits so far, oldest first.
    ring: Option<(u64, VecDeque<u64>)>,
    /// Whether some committing writer may have seen more commits between its snapshot and its
    /// commit than the log holds: the snapshot-too-old check must then walk every txn.
    pub ring_suspect: bool,
    /// Failed `snapshot_too_old` txns (with a commit-log capacity given), each with its
    /// snapshot and the largest commit acknowledged before it.
    pub too_old: Vec<(TxnId, u64, u64)>,
}

/// The largest commit-log capacity for which [`Early`] keeps the last commits to check
/// snapshot-too-old as versions are placed; beyond it the check walks every txn instead.
const RING_KEPT: u64 = 1 << 16;

impl<'h> Native<'h> {
    /// The external reads of txn `t`.
    pub fn reads_of(&self, t: TxnId) -> &[Read<'h>] {
        &self.reads[self.read_start[t as usize] as usize..self.read_start[t as usize + 1] as usize]
    }

    /// The final writes of txn `t`.
    pub fn writes_of(&self, t: TxnId) -> &[Write<'h>] {
        &self.writes[self.write_start[t as usize] as usize..self.write_start[t as usize + 1] as usize]
    }

    /// How many indeterminate txns were found to have committed.
    pub fn info_committed(&self) -> u64 {
        self.info_committed
    }
}

impl<'h> Native<'h> {
    /// Calls `f` with the write-read and anti-dependency edges of a valid read whose version is
    /// at `pos` in its key's versions ([`NO_POS`]: the initial state), with their ranks.
    ///
    /// A version's rank is that of its writer, whose commit sequence number it is, so only the
    /// reader's rank is looked up.
    fn read_edges(&self, read: &Read<'h>, pos: u32, mut f: impl FnMut(Edge, u64, u64)) {
        let list = &self.versions[read.key as usize];
        let t = read.txn;
        let rank = self.rank(t);
        let next = if pos == NO_POS {
            0
        } else {
            let w = &list[pos as usize];
            if w.txn != t {
                let e = Edge {
                    from: w.txn,
                    to: t,
                    kind: EdgeKind::Wr,
                    key: read.key,
                };
                f(e, version_rank(w), rank);
            }
            pos as usize + 1
        };
        if let Some(w) = list.get(next).filter(|w| w.txn != t) {
            let e = Edge {
                from: t,
                to: w.txn,
                kind: EdgeKind::Rw,
                key: read.key,
            };
            f(e, rank, version_rank(w));
        }
    }

    /// Calls `f` with every edge that does not come from a point read: the range reads'
    /// predicate anti-dependencies, then the write-write edges key by key.
    fn other_edges(&self, mut f: impl FnMut(Edge, u64, u64)) {
        self.pred_edges(&mut f);
        self.ww_edges(&mut f);
    }

    /// Calls `f` with each range read's predicate anti-dependencies.
    fn pred_edges(&self, f: &mut impl FnMut(Edge, u64, u64)) {
        for &e in &self.pred_edges {
            f(e, self.rank(e.from), self.rank(e.to));
        }
    }

    /// Calls `f` with the write-write edges, key by key.
    fn ww_edges(&self, f: &mut impl FnMut(Edge, u64, u64)) {
        for (key, list) in self.versions.iter().enumerate() {
            for pair in list.windows(2) {
                if pair[0].txn != pair[1].txn {
                    let e = Edge {
                        from: pair[0].txn,
                        to: pair[1].txn,
                        kind: EdgeKind::Ww,
                        key: key as KeyId,
                    };
                    f(e, version_rank(&pair[0]), version_rank(&pair[1]));
                }
            }
        }
    }
}

impl DepGraph for Native<'_> {
    /// The edges in the order inference found them: each valid read's write-read and
    /// anti-dependency edges, read by read, then the range reads' predicate anti-dependencies,
    /// then the write-write edges key by key.
    fn each_edge(&self, mut f: impl FnMut(Edge, u64, u64)) {
        for read in &self.reads {
            if read.valid {
                self.read_edges(read, read.pos, &mut f);
            }
        }
        self.other_edges(f);
    }

    /// The read edges were counted and ranked as judging settled each read, while its versions
    /// were in cache, and when reads were settled as they were met, the write-write edges were
    /// too, as each version was placed; only the other edges are visited here.
    fn count_ranked(&self) -> (usize, bool) {
        let (mut count, mut ranked) = (self.read_edge_count, self.read_edges_ranked);
        let mut tally = |_, from, to| {
            count += 1;
            ranked &= from < to;
        };
        self.pred_edges(&mut tally);
        match &self.early {
            Some(early) => {
                count += early.ww_edges;
                ranked &= early.ww_ranked;
            }
            None => self.ww_edges(&mut tally),
        }
        (count, ranked)
    }

    /// Commit order, with a txn that has no commit sequence number placed just after its
    /// snapshot.
    #[inline(always)]
    fn rank(&self, t: TxnId) -> u64 {
        match (self.commit.get(t), self.snapshot.get(t)) {
            (Some(c), _) => c.saturating_mul(2),
            (None, Some(s)) => s.saturating_mul(2).saturating_add(1),
            (None, None) => 0,
        }
    }

    fn committed(&self, t: TxnId) -> bool {
        self.committed[t as usize]
    }
}

/// The [`DepGraph::rank`] of a version's writer: every version's sequence number is its
/// writer's commit sequence number (reported, or inferred when the version was added).
fn version_rank(e: &Entry) -> u64 {
    e.seq.saturating_mul(2)
}

/// The reported version of a key in a micro-op's `versions` entry.
fn reported(v: Option<&Version>, key: &Scalar) -> Option<Version> {
    match v? {
        Version::Range(pairs) => pairs
            .iter()
            .find(|(k, _)| k.key_text() == key.key_text())
            .map(|(_, s)| Version::Seq(*s)),
        other => Some(other.clone()),
    }
}

/// Infers and verifies native versions; errors only for ops that lack the native fields.
///
/// Without indeterminate txns, inference first tries settling each read as its first pass
/// meets it ([`infer`] with `settle_now`), which saves a second pass that fetches every read's
/// versions again (a cache miss each in a large history). Settling early is sound only while
/// the history is as the engine writes it; on the first sign it is not, that attempt gives up
/// and the two passes run from the start, so every verdict is the two passes' verdict.
pub(crate) fn native<'h>(ctx: &Ctx<'h>, findings: &mut Findings) -> Result<Native<'h>, Error> {
    if ctx.outcomes[Status::Info as usize] == 0 {
        let mut early = Findings::default();
        if let Some(nat) = infer(ctx, &mut early, true)? {
            findings.append(early);
            return Ok(nat);
        }
    }
    let nat = infer(ctx, findings, false)?;
    assert!(nat.is_some(), "inference in two passes never gives up");
    Ok(nat.expect("checked just above"))
}

/// Infers and verifies native versions in two passes (collect, then settle every read), or,
/// with `settle_now`, settles each read as soon as it is collected.
///
/// A read can be settled at once when what settling looks at can no longer change: while
/// commit sequence numbers strictly increase in txn order and no txn is indeterminate, every
/// version a later txn adds has a number above the last commit so far, so a read whose version
/// and snapshot are at most that number sees its key's versions as they will stay (up to the
/// one after its own, whose edge is counted once the pass is over). Anything else (a number
/// out of order, a version not found or holding another value, a snapshot above the last
/// commit) returns `None`, and the caller runs the two passes instead.
fn infer<'h>(ctx: &Ctx<'h>, findings: &mut Findings, settle_now: bool) -> Result<Option<Native<'h>>, Error> {
    let n = ctx.txns.len();
    // Reads and writes are sized from the micro-ops (every micro-op but a write can be a
    // read, plus each pair a range read returned), never regrown: a regrowth at a million
    // txns copies tens of MB into fresh memory.
    let write_mops: usize = ctx.key_writes.iter().map(|&w| w as usize).sum();
    let ring_capacity = ctx.history.meta.as_ref().and_then(|m| m.ring_capacity);
    let mut nat = Native {
        committed: vec![false; n],
        info_committed: 0,
        pred_edges: Vec::new(),
        versions: ctx
            .key_writes
            .iter()
            .map(|&w| Vec::with_capacity(w as usize))
            .collect(),
        reads: Vec::with_capacity(ctx.mop_keys.len().saturating_sub(write_mops) + ctx.range_pairs),
        read_start: Vec::with_capacity(n + 1),
        writes: Vec::with_capacity(write_mops),
        by_seq: SeqIndex::Dense {
            base: 0,
            slots: Vec::new(),
        },
        reordered: false,
        seqs_unique: true,
        read_edge_count: 0,
        read_edges_ranked: true,
        write_start: Vec::with_capacity(n + 1),
        commit: OptSeqs::absent(n),
        snapshot: OptSeqs::with_capacity(n),
        max_reads: 0,
        early: settle_now.then(|| Early {
            ww_edges: 0,
            ww_ranked: true,
            last_rmw: vec![None; ctx.keys.len()],
            fcw_suspect: false,
            snapshot_suspect: false,
            ring: ring_capacity
                .filter(|&c| c < RING_KEPT)
                .map(|c| (c, VecDeque::with_capacity(c as usize + 1))),
            ring_suspect: ring_capacity.is_some_and(|c| c >= RING_KEPT),
            too_old: Vec::new(),
        }),
    };
    let mut scratch = Accesses::default();
    let mut any_info = false;
    let mut last_commit: Option<u64> = None;
    let mut judge = Judge::default();
    let mut judged = Findings::default();
    for t in 0..n as TxnId {
        nat.prefetch_ahead(ctx, t);
        nat.read_start.push(nat.reads.len() as u32);
        nat.write_start.push(nat.writes.len() as u32);
        let txn = &ctx.txns[t as usize];
        nat.snapshot.push(txn.op.snapshot);
        scan_registers(ctx, t, findings, &mut scratch);
        let own_writes = nat.writes.len();
        for a in scratch.iter() {
            if let Some((value, _)) = a.write {
                nat.writes.push(Write {
                    key: a.key,
                    pos: u32::MAX,
                    value,
                });
            }
        }
        if nat.writes.len() - own_writes > WRITES_SCANNED {
            nat.writes[own_writes..].sort_unstable_by_key(|w| w.key);
        }
        if txn.status != Status::Ok {
            any_info |= txn.status == Status::Info;
            if let (Some(early), Some(s)) = (&mut nat.early, txn.op.snapshot) {
                if ring_capacity.is_some()
                    && txn.status == Status::Fail
                    && txn.op.error.as_deref() == Some("snapshot_too_old")
                {
                    early.too_old.push((t, s, last_commit.unwrap_or(0)));
                }
            }
            continue;
        }
        let op = txn.op;
        nat.committed[t as usize] = true;
        let wrote = scratch.iter().any(|a| a.write.is_some());
        match (op.commit_seq, wrote) {
            (Some(c), _) => {
                nat.seqs_unique &= last_commit.is_none_or(|l| l < c);
                if settle_now && !nat.seqs_unique {
                    return Ok(None);
                }
                if let Some(early) = &mut nat.early {
                    early.snapshot_suspect |= op.snapshot.is_some_and(|s| s >= c);
                    if let Some((capacity, last)) = &mut early.ring {
                        // More than `capacity` earlier commits above the snapshot: the oldest
                        // of the last `capacity + 1` (they increase) is above it.
                        let wrote = nat.writes.len() > own_writes;
                        early.ring_suspect |= wrote
                            && last.len() as u64 > *capacity
                            && op.snapshot.is_some_and(|s| last.front().is_some_and(|&f| f > s));
                        if last.len() as u64 > *capacity {
                            last.pop_front();
                        }
                        last.push_back(c);
                    }
                    for w in &nat.writes[own_writes..] {
                        if let Some(prev) = nat.versions[w.key as usize].last().filter(|p| p.txn != t) {
                            early.ww_edges += 1;
                            early.ww_ranked &= version_rank(prev) < c.saturating_mul(2);
                        }
                    }
                }
                last_commit = Some(c);
                nat.commit.set(t, c);
                for w in &mut nat.writes[own_writes..] {
                    let list = &mut nat.versions[w.key as usize];
                    w.pos = list.len() as u32;
                    list.push(Entry::new(c, t, w.value));
                }
            }
            (None, true) => findings.add(
                "version-order",
                "version-order",
                vec![ctx.name(t)],
                format!(
                    "T{} committed writes but reported no commit_seq, so its versions are unknown",
                    ctx.name(t)
                ),
            ),
            (None, false) => {}
        }
        let has_reads = scratch.iter().any(|a| a.read.is_some());
        if has_reads && op.snapshot.is_none() {
            return Err(Error::op(op.index, "a native read needs the txn's snapshot"));
        }
        for a in scratch.iter() {
            let Some((value, mop)) = a.read else { continue };
            let versions = op
                .versions
                .as_ref()
                .ok_or_else(|| Error::op(op.index, "a native read needs a versions list"))?;
            let key = ctx.keys[a.key as usize];
            let mut read = Read {
                txn: t,
                key: a.key,
                value,
                version: 0,
                pos: NO_POS,
                has_version: false,
                valid: false,
                rmw: a.write.is_some(),
            };
            let mut hint = NO_POS;
            match reported(versions.get(mop as usize), key) {
                Some(Version::Seq(v)) => {
                    read.version = v;
                    read.has_version = true;
                    // The version read is usually the key's newest so far, or the one before
                    // this txn's own: those entries are in cache, since this txn just added
                    // its writes to the same lists.
                    let list = &nat.versions[a.key as usize];
                    let n = list.len();
                    if let Some(i) = (n.saturating_sub(2)..n).rev().find(|&i| list[i].seq == v) {
                        hint = i as u32;
                    }
                }
                Some(Version::Absent) => {
                    read.valid = *value == ctx.initial(a.key);
                    if !read.valid {
                        findings.add(
                            "version-order",
                            "version-mismatch",
                            vec![ctx.name(t)],
                            format!(
                                "T{} read {key}={} but reported the key absent",
                                ctx.name(t),
                                show(value)
                            ),
                        );
                    }
                }
                Some(Version::Own) => findings.add(
                    "serializability",
                    "internal",
                    vec![ctx.name(t)],
                    format!(
                        "T{} read {key}={} as its own write, but had not written {key}",
                        ctx.name(t),
                        show(value)
                    ),
                ),
                Some(Version::Range(_)) | None => {
                    return Err(Error::op(
                        op.index,
                        format!("no version reported for the read of {key}"),
                    ))
                }
            }
            read.pos = hint;
            nat.reads.push(read);
            if settle_now {
                let r = nat.reads.len() - 1;
                let Some(pos) = nat.settle_now(r, last_commit) else {
                    return Ok(None);
                };
                judge.judge(ctx, &mut judged, &mut nat, r, pos);
            }
        }
        let reads = nat.reads.len() - *nat.read_start.last().expect("pushed for this txn") as usize;
        nat.max_reads = nat.max_reads.max(reads);
    }
    nat.read_start.push(nat.reads.len() as u32);
    nat.write_start.push(nat.writes.len() as u32);
    if settle_now {
        // Every version was placed in order, and every read is settled but for the edges to
        // versions added after it.
        debug_assert!(nat
            .versions
            .iter()
            .all(|l| l.windows(2).all(|w| w[0].seq < w[1].seq)));
        for r in std::mem::take(&mut judge.unfinished) {
            nat.count_read_edges(r as usize);
        }
        findings.append(judged);
        range_reads(ctx, findings, &mut nat);
        return Ok(Some(nat));
    }
    nat.by_seq = SeqIndex::new(&nat.commit);
    nat.reordered = sort_versions(&mut nat.versions);
    let mut resolver = Resolver::default();
    if any_info {
        for r in 0..nat.reads.len() {
            resolver.resolve(ctx, findings, &mut nat, r);
        }
        resolver.finish(&mut nat);
        for r in 0..nat.reads.len() {
            let read = nat.reads[r];
            let pos = if read.valid {
                read.seq().and_then(|v| nat.position(read.key, v))
            } else {
                None
            };
            judge.judge(ctx, findings, &mut nat, r, pos);
        }
    } else {
        // Without indeterminate txns resolving adds no versions, so each read is judged right
        // after it is resolved, while its versions are still in cache; what judging finds is
        // reported after everything resolving finds, as if the passes had run one after the
        // other.
        for r in 0..nat.reads.len() {
            let pos = resolver.resolve(ctx, findings, &mut nat, r);
            judge.judge(ctx, &mut judged, &mut nat, r, pos);
        }
        findings.append(judged);
    }
    for r in std::mem::take(&mut judge.unfinished) {
        nat.count_read_edges(r as usize);
    }
    range_reads(ctx, findings, &mut nat);
    Ok(Some(nat))
}

impl<'h> Native<'h> {
    /// Asks the CPU for what inference will need of txns a little ahead of `t` (see
    /// [`crate::prefetch`]), in two stages since each finds the next's addresses: for txn
    /// `t + 2 * AHEAD` its op and the list header of each key it touches; for txn `t + AHEAD`
    /// its micro-ops and reported versions, and per key the newest version, the slot the next
    /// one goes to and, when settling early, the last read-modify-write. Only the first
    /// [`PREFETCHED_KEYS`] keys of a txn are asked for: a setup txn writing every key would
    /// otherwise flood the caches.
    fn prefetch_ahead(&self, ctx: &Ctx<'h>, t: TxnId) {
        let far = t as usize + 2 * AHEAD;
        if let Some(txn) = ctx.txns.get(far) {
            let op: *const Op = txn.op;
            prefetch(op);
            prefetch(op.cast::<u8>().wrapping_add(64));
            prefetch(op.cast::<u8>().wrapping_add(128));
            for &k in ctx.keys_ahead(far as TxnId).iter().take(PREFETCHED_KEYS) {
                if let Some(list) = self.versions.get(k as usize) {
                    prefetch(list);
                }
            }
        }
        let near = t as usize + AHEAD;
        let Some(txn) = ctx.txns.get(near) else {
            return;
        };
        prefetch_slice(txn.mops(), PREFETCHED_BYTES);
        if let Some(versions) = &txn.op.versions {
            prefetch(versions.as_ptr());
        }
        for &k in ctx.keys_ahead(near as TxnId).iter().take(PREFETCHED_KEYS) {
            let Some(list) = self.versions.get(k as usize) else {
                continue;
            };
            let end = list.as_ptr_range().end;
            prefetch(end);
            prefetch(end.wrapping_sub(1));
            if let Some(last) = self.early.as_ref().and_then(|e| e.last_rmw.get(k as usize)) {
                prefetch(last);
            }
        }
    }

    /// Resolves read `r` as its first pass meets it, when that gives what resolving it after
    /// the pass would (see [`infer`]): `Some` with where its version is in its key's versions
    /// (`None` inside for the initial state), or `None` when it cannot be settled yet, or
    /// resolving it would report something. `last` is the last commit so far.
    fn settle_now(&mut self, r: usize, last: Option<u64>) -> Option<Option<usize>> {
        let read = self.reads[r];
        let settled = |x: u64| last.is_some_and(|l| x <= l);
        let pos = match read.seq() {
            None => None,
            Some(v) => {
                if !settled(v) {
                    return None;
                }
                let i = self.found(r, read.key, v)?;
                let e = self.versions[read.key as usize][i];
                if !self.holds(read.key, &e, read.value) {
                    return None;
                }
                self.reads[r].valid = true;
                Some(i)
            }
        };
        let snapshot = self.snapshot.get(read.txn).unwrap_or(u64::MAX);
        if self.reads[r].valid && !settled(snapshot) {
            return None;
        }
        Some(pos)
    }

    /// Notes for [`Early`] that version `i` of `key` is a read-modify-write, exactly as
    /// [`crate::fcw`] would meet it: when settling reads as they are met, versions of a key are
    /// marked in their order, each the newest of its key when marked.
    fn note_rmw(&mut self, key: KeyId, i: usize) {
        let Some(early) = &mut self.early else {
            return;
        };
        let e = self.versions[key as usize][i];
        debug_assert_eq!(i + 1, self.versions[key as usize].len());
        let Some(snapshot) = self.snapshot.get(e.txn) else {
            return;
        };
        let last = &mut early.last_rmw[key as usize];
        if let Some((p_txn, p_seq, _)) = *last {
            early.fcw_suspect |= snapshot < p_seq && e.txn != p_txn;
        }
        *last = Some((e.txn, e.seq, snapshot));
    }

    /// Counts the write-read and anti-dependency edges of read `r` (if valid), settled at
    /// [`Read::pos`], and whether they go up in rank.
    ///
    /// Always inlined: judging calls it for every read, and as a call it cost about 100
    /// instructions where its work is a few comparisons.
    #[inline(always)]
    fn count_read_edges(&mut self, r: usize) {
        let read = self.reads[r];
        if !read.valid {
            return;
        }
        let (mut count, mut ranked) = (self.read_edge_count, self.read_edges_ranked);
        self.read_edges(&read, read.pos, |_, from, to| {
            count += 1;
            ranked &= from < to;
        });
        (self.read_edge_count, self.read_edges_ranked) = (count, ranked);
    }

    /// [`Native::position`] of `t`'s own version `c` of `key`, which `t` read at `read`.
    ///
    /// A read-modify-write usually installs the version right after the one it read; when that
    /// entry is `t`'s, no list was reordered since the entries were placed (so `t`'s recorded
    /// position is that entry) and `t` owns `c`, the general lookup would find exactly that
    /// entry, so it is skipped.
    fn own_position(&self, key: KeyId, read: Option<usize>, t: TxnId, c: u64) -> Option<usize> {
        let next = read.map_or(0, |p| p + 1);
        let list = &self.versions[key as usize];
        if !self.reordered && list.get(next).is_some_and(|e| e.txn == t) && self.owns(t, c) {
            return Some(next);
        }
        self.position(key, c)
    }

    /// The value version `e` of `key` installed: its writer's last write to the key.
    fn value_of(&self, key: KeyId, e: &Entry) -> &'h Scalar {
        self.write_of(e.txn, key)
            .expect("a version's writer wrote its key")
            .value
    }

    /// Txn `t`'s last write to `key`, if it wrote the key.
    fn write_of(&self, t: TxnId, key: KeyId) -> Option<&Write<'h>> {
        let writes = self.writes_of(t);
        if writes.len() <= WRITES_SCANNED {
            writes.iter().find(|write| write.key == key)
        } else {
            writes
                .binary_search_by_key(&key, |write| write.key)
                .ok()
                .map(|i| &writes[i])
        }
    }

    /// Whether version `e` of `key` holds `value`, comparing small forms when either has one.
    fn holds(&self, key: KeyId, e: &Entry, value: &Scalar) -> bool {
        let s = small(value);
        if s != NOT_SMALL || e.small != NOT_SMALL {
            s == e.small
        } else {
            self.value_of(key, e) == value
        }
    }

    /// Whether `t` is the first txn, in txn order, to report commit sequence number `c`.
    ///
    /// When the reported numbers are unique and none was inferred, every commit is its txn's
    /// own, and the lookup (a cache miss at a million txns) is skipped.
    fn owns(&self, t: TxnId, c: u64) -> bool {
        (self.seqs_unique && self.info_committed == 0 && self.commit.get(t) == Some(c))
            || self.by_seq.get(c) == Some(t)
    }

    /// [`Native::position`] of version `seq` of `key`, the version read `r` reported, taking
    /// the position the first pass saw it at when that is certain to be the same answer.
    ///
    /// It is when the reported sequence numbers are unique and no list was reordered: then the
    /// one entry with that number in the list is the one `position` finds, and entries never
    /// move (inferred versions are only appended, and only with numbers no commit reported).
    fn found(&self, r: usize, key: KeyId, seq: u64) -> Option<usize> {
        let hint = self.reads[r].pos as usize;
        if self.seqs_unique && !self.reordered {
            if let Some(e) = self.versions[key as usize].get(hint) {
                if e.seq == seq {
                    return Some(hint);
                }
            }
        }
        self.position(key, seq)
    }

    /// The position of version `seq` in `key`'s versions: found through the committing txn's
    /// recorded position when that is still accurate, else by binary search.
    ///
    /// A committing txn that wrote many keys (a setup transaction writing every account) has
    /// its writes sorted by key, so that finding its write of `key` is a binary search rather
    /// than a scan per read of its versions.
    fn position(&self, key: KeyId, seq: u64) -> Option<usize> {
        let list = &self.versions[key as usize];
        if let Some(w) = self.by_seq.get(seq) {
            if let Some(write) = self.write_of(w, key) {
                let p = write.pos as usize;
                if list.get(p).is_some_and(|e| e.seq == seq && e.txn == w) {
                    return Some(p);
                }
            }
        }
        list.binary_search_by_key(&seq, |e| e.seq).ok()
    }
}

/// Commit sequence number to the first txn (in txn order) that reported it.
enum SeqIndex {
    /// Sequence numbers are compact (as the engine assigns them): a table indexed by
    /// `seq - base`, which is faster than hashing and keeps lookups of nearby numbers close.
    Dense {
        /// The smallest sequence number.
        base: u64,
        /// The txn per sequence number ([`NONE`] where none committed).
        slots: Vec<TxnId>,
    },
    /// Sparse sequence numbers (hand-written histories): a hash map.
    Sparse(FxHashMap<u64, TxnId>),
}

impl SeqIndex {
    /// Indexes each txn's commit sequence number; the first txn to report a number owns it.
    fn new(commit: &OptSeqs) -> Self {
        let commits = || {
            commit
                .iter()
                .enumerate()
                .filter_map(|(t, c)| c.map(|c| (c, t as TxnId)))
        };
        let (Some(min), Some(max)) = (commits().map(|c| c.0).min(), commits().map(|c| c.0).max()) else {
            return SeqIndex::Dense {
                base: 0,
                slots: Vec::new(),
            };
        };
        let span = max - min;
        if span >= 4 * commit.len() as u64 + 1024 {
            let mut map = FxHashMap::default();
            for (c, t) in commits() {
                map.entry(c).or_insert(t);
            }
            return SeqIndex::Sparse(map);
        }
        let mut slots = vec![NONE; span as usize + 1];
        for (c, t) in commits() {
            let slot = &mut slots[(c - min) as usize];
            if *slot == NONE {
                *slot = t;
            }
        }
        SeqIndex::Dense { base: min, slots }
    }

    /// The txn that committed with sequence number `seq`.
    fn get(&self, seq: u64) -> Option<TxnId> {
        match self {
            SeqIndex::Dense { base, slots } => seq
                .checked_sub(*base)
                .and_then(|i| slots.get(usize::try_from(i).ok()?))
                .copied()
                .filter(|&t| t != NONE),
            SeqIndex::Sparse(map) => map.get(&seq).copied(),
        }
    }
}

/// Sorts each key's versions by sequence number (they usually already are); returns whether
/// any list was out of order.
fn sort_versions(versions: &mut [Vec<Entry>]) -> bool {
    let mut sorted_any = false;
    for list in versions {
        if !list.windows(2).all(|w| w[0].seq <= w[1].seq) {
            list.sort_by_key(|e| e.seq);
            sorted_any = true;
        }
    }
    sorted_any
}

/// Matches reported versions to the commits that installed them, one read at a time; keeps
/// what resolving later reads needs (the index of writes by value, the reads whose versions
/// were inferred).
#[derive(Default)]
struct Resolver<'h> {
    /// Writers by (key, value), built the first time a version cannot be found.
    by_value: Option<ValueIndex<'h>>,
    /// Reads whose version an indeterminate txn was found to have installed.
    later: Vec<u32>,
}

impl<'h> Resolver<'h> {
    /// Resolves read `r` if it reported a sequence number: a version no committed txn reported
    /// is traced by value to an indeterminate txn (which thereby committed), a failed one (G1a),
    /// an intermediate write (G1b), or nobody (garbage). Returns where the version is in its
    /// key's versions when it was found there with the value read.
    fn resolve(
        &mut self,
        ctx: &Ctx<'h>,
        findings: &mut Findings,
        nat: &mut Native<'h>,
        r: usize,
    ) -> Option<usize> {
        let read = nat.reads[r];
        let v = read.seq()?;
        if let Some(i) = nat.found(r, read.key, v) {
            let e = nat.versions[read.key as usize][i];
            if nat.holds(read.key, &e, read.value) {
                nat.reads[r].valid = true;
                return Some(i);
            } else {
                let (key, reader) = (ctx.keys[read.key as usize], ctx.name(read.txn));
                findings.add(
                    "version-order",
                    "version-mismatch",
                    vec![reader, ctx.name(e.txn)],
                    format!(
                        "T{reader} read {key}={} at version {v}, but version {v} is T{}'s write \
                         {key}={}",
                        show(read.value),
                        ctx.name(e.txn),
                        show(nat.value_of(read.key, &e))
                    ),
                );
            }
            return None;
        }
        let (key, reader) = (ctx.keys[read.key as usize], ctx.name(read.txn));
        if let Some(owner) = nat.by_seq.get(v) {
            findings.add(
                "version-order",
                "version-mismatch",
                vec![reader, ctx.name(owner)],
                format!(
                    "T{reader} read {key}={} at version {v}, but version {v} is T{}'s commit, \
                     which did not write {key}",
                    show(read.value),
                    ctx.name(owner)
                ),
            );
            return None;
        }
        let index = self.by_value.get_or_insert_with(|| value_index(ctx, nat));
        let writers = index.get(&(read.key, read.value)).map_or(&[][..], |w| &w[..]);
        // An indeterminate writer of this value can have installed version `v` only if it
        // committed after its snapshot. Values need not be unique per key (two transfers can
        // leave one balance at the same number), so when several indeterminate writers fit and
        // none is already known to be at `v`, the read cannot say which one committed: it is
        // left unjudged rather than pinned on the first, which would turn a coincidence of
        // values into a false partial-commit.
        let fits = |&&(w, last): &&(u32, bool)| {
            last && ctx.txns[w as usize].status == Status::Info
                && nat.commit.get(w).is_none_or(|c| c == v)
                && nat.snapshot.get(w).is_none_or(|s| s < v)
        };
        let known = writers
            .iter()
            .filter(fits)
            .find(|&&(w, _)| nat.commit.get(w) == Some(v));
        let mut unknown = writers
            .iter()
            .filter(fits)
            .filter(|&&(w, _)| nat.commit.get(w).is_none());
        let info = match (known, unknown.next(), unknown.next()) {
            (Some(k), _, _) => Some(k),
            (None, Some(only), None) => Some(only),
            (None, Some(_), Some(_)) => return None,
            (None, None, _) => None,
        };
        if let Some(&(w, _)) = info {
            if nat.commit.get(w).is_none() {
                nat.commit.set(w, v);
                nat.committed[w as usize] = true;
                nat.info_committed += 1;
                let range = nat.write_start[w as usize] as usize..nat.write_start[w as usize + 1] as usize;
                for write in &nat.writes[range] {
                    nat.versions[write.key as usize].push(Entry::new(v, w, write.value));
                }
            }
            self.later.push(r as u32);
            return None;
        }
        let pick = |status: Status| {
            writers
                .iter()
                .find(|&&(w, _)| ctx.txns[w as usize].status == status)
        };
        if let Some(&(w, last)) = pick(Status::Fail).or_else(|| writers.iter().find(|&&(_, last)| !last)) {
            crate::anomalies::check_writer(ctx, findings, read.txn, read.key, read.value, w, last);
        } else if let Some(&(w, _)) = pick(Status::Ok) {
            findings.add(
                "version-order",
                "version-mismatch",
                vec![reader, ctx.name(w)],
                format!(
                    "T{reader} read {key}={} at version {v}, but that value was written by T{} \
                     at version {}",
                    show(read.value),
                    ctx.name(w),
                    nat.commit.get(w).map_or("unknown".into(), |c| c.to_string())
                ),
            );
        } else {
            crate::anomalies::garbage(ctx, findings, read.txn, read.key, read.value);
        }
        None
    }

    /// Once every read is resolved, marks the reads of inferred versions valid (and re-sorts
    /// the versions the inferred commits added).
    fn finish(self, nat: &mut Native<'h>) {
        if self.later.is_empty() {
            return;
        }
        nat.reordered |= sort_versions(&mut nat.versions);
        for r in self.later {
            nat.reads[r as usize].valid = true;
        }
    }
}

/// Writers of each (key, value), with whether it was the writer's last write to the key.
type ValueIndex<'h> = FxHashMap<(KeyId, &'h Scalar), Vec<(TxnId, bool)>>;

/// Every write of every txn, by (key, value), with whether it was the txn's last write there.
fn value_index<'h>(ctx: &Ctx<'h>, nat: &Native<'h>) -> ValueIndex<'h> {
    let mut index = ValueIndex::default();
    for t in 0..ctx.txns.len() as TxnId {
        let keys = ctx.keys_of(t);
        for (i, mop) in ctx.txns[t as usize].mops().iter().enumerate() {
            if let MicroOp::Write { value, .. } = mop {
                let last = nat
                    .writes_of(t)
                    .iter()
                    .any(|w| w.key == keys[i] && std::ptr::eq(w.value, value));
                index.entry((keys[i], value)).or_default().push((t, last));
            }
        }
    }
    index
}

/// Judges resolved reads; keeps the first read-modify-write of each key's initial state.
#[derive(Default)]
struct Judge {
    /// Per key, the first read-modify-write txn that read its initial state.
    initial_rmw: FxHashMap<KeyId, TxnId>,
    /// Reads judged while their key had no version after theirs yet, whose edges are counted
    /// once every version is in place.
    unfinished: Vec<u32>,
}

impl Judge {
    /// Checks read `r`, if valid, against its snapshot, adds its wr and rw edges, and tracks
    /// read-modify-writes (for lost updates and first-committer-wins); `pos` is where the read's
    /// version is in its key's versions.
    fn judge(
        &mut self,
        ctx: &Ctx<'_>,
        findings: &mut Findings,
        nat: &mut Native<'_>,
        r: usize,
        mut pos: Option<usize>,
    ) {
        let read = nat.reads[r];
        if !read.valid {
            nat.reads[r].pos = NO_POS;
            return;
        }
        let t = read.txn;
        let snapshot = nat.snapshot.get(t).unwrap_or(u64::MAX);
        let list = &nat.versions[read.key as usize];
        let newest_at = |p: Option<usize>| {
            p.is_none_or(|p| list[p].seq <= snapshot)
                && list.get(p.map_or(0, |p| p + 1)).is_none_or(|e| e.seq > snapshot)
        };
        let expected = if newest_at(pos) {
            pos
        } else {
            list.partition_point(|e| e.seq <= snapshot).checked_sub(1)
        };
        if read.seq().is_some_and(|v| v > snapshot) {
            let (name, key) = (ctx.name(t), ctx.keys[read.key as usize]);
            findings.add(
                "version-order",
                "stale-read",
                vec![name],
                format!(
                    "T{name} read {key} at version {}, newer than its snapshot {snapshot}",
                    read.seq().unwrap_or_default()
                ),
            );
        } else if pos != expected {
            match expected {
                Some(e)
                    if pos.is_none()
                        && *nat.value_of(read.key, &list[e]) == Scalar::Null
                        && *read.value == Scalar::Null =>
                {
                    pos = Some(e);
                }
                Some(e) => stale(
                    ctx,
                    findings,
                    t,
                    read,
                    &list[e],
                    nat.value_of(read.key, &list[e]),
                    snapshot,
                ),
                None => {}
            }
        }
        nat.reads[r].pos = pos.map_or(NO_POS, |i| i as u32);
        if nat.versions[read.key as usize].len() > pos.map_or(0, |p| p + 1) {
            nat.count_read_edges(r);
        } else {
            self.unfinished.push(r as u32);
        }
        if read.rmw {
            let first = match pos {
                Some(i) => &mut nat.versions[read.key as usize][i].rmw_reader,
                None => self.initial_rmw.entry(read.key).or_insert(NONE),
            };
            if *first == NONE {
                *first = t;
            } else if *first != t {
                let f = *first;
                crate::anomalies::lost_update(ctx, findings, f, t, read.key);
            }
            if let Some(i) = nat
                .commit
                .get(t)
                .and_then(|c| nat.own_position(read.key, pos, t, c))
            {
                nat.versions[read.key as usize][i].rmw = true;
                nat.note_rmw(read.key, i);
            }
        }
    }
}

/// Reports a read that missed the newest version at or below its snapshot: a partial commit
/// when that version belongs to an indeterminate txn (seen elsewhere, missing here), else a
/// stale read.
fn stale(
    ctx: &Ctx<'_>,
    findings: &mut Findings,
    t: TxnId,
    read: Read<'_>,
    newest: &Entry,
    newest_value: &Scalar,
    snapshot: u64,
) {
    let key = ctx.keys[read.key as usize];
    let seen = match read.seq() {
        Some(v) => format!("version {v}"),
        None => "the initial state".to_string(),
    };
    let (check, kind, why) = if ctx.txns[newest.txn as usize].status == Status::Info {
        (
            "atomicity",
            "partial-commit",
            "that indeterminate transaction's other writes were observed, so it committed; its \
             effects must be visible wholly or not at all",
        )
    } else {
        (
            "version-order",
            "stale-read",
            "a snapshot must show the newest version at or below it",
        )
    };
    findings.add(
        check,
        kind,
        vec![ctx.name(t), ctx.name(newest.txn)],
        format!(
            "T{} (snapshot {snapshot}) read {key}={} ({seen}), but T{} had installed \
             {key}={} at version {}: {why}",
            ctx.name(t),
            show(read.value),
            ctx.name(newest.txn),
            show(newest_value),
            newest.seq
        ),
    );
}

/// Range reads: keys in the range that the read did not return must have been absent at its
/// snapshot, and a later insert into the range is a predicate anti-dependency.
fn range_reads(ctx: &Ctx<'_>, findings: &mut Findings, nat: &mut Native<'_>) {
    if !ctx.has_ranges {
        return;
    }
    let mut sorted: Option<Vec<KeyId>> = None;
    for t in 0..ctx.txns.len() as TxnId {
        let txn = &ctx.txns[t as usize];
        if txn.status != Status::Ok {
            continue;
        }
        for mop in txn.mops() {
            let MicroOp::List(range) = mop else { continue };
            let Some(result) = &range.result else { continue };
            let snapshot = txn.op.snapshot.unwrap_or(u64::MAX);
            let sorted = sorted.get_or_insert_with(|| {
                let mut keys: Vec<KeyId> = (0..ctx.keys.len() as KeyId).collect();
                keys.sort_by(|a, b| ctx.keys[*a as usize].cmp(ctx.keys[*b as usize]));
                keys
            });
            let lower = match &range.range {
                KeyRange::Prefix(p) => Scalar::Str(p.clone()),
                KeyRange::Between { from, .. } => from.clone(),
            };
            let start = sorted.partition_point(|k| *ctx.keys[*k as usize] < lower);
            for &k in &sorted[start..] {
                let key = ctx.keys[k as usize];
                if !range.range.contains(key) {
                    break;
                }
                if result.iter().any(|(rk, _)| rk.key_text() == key.key_text()) {
                    continue;
                }
                let list = &nat.versions[k as usize];
                let below = list.partition_point(|e| e.seq <= snapshot);
                if let Some(e) = below.checked_sub(1).map(|i| list[i]) {
                    let value = nat.value_of(k, &e);
                    if *value != Scalar::Null {
                        findings.add(
                            "version-order",
                            "stale-read",
                            vec![ctx.name(t), ctx.name(e.txn)],
                            format!(
                                "T{}'s range read {} (snapshot {snapshot}) missed {key}, which \
                                 T{} had set to {} at version {}",
                                ctx.name(t),
                                range.range,
                                ctx.name(e.txn),
                                show(value),
                                e.seq
                            ),
                        );
                    }
                }
                if let Some(e) = list[below..].iter().find(|e| *nat.value_of(k, e) != Scalar::Null) {
                    if e.txn != t {
                        nat.pred_edges.push(Edge {
                            from: t,
                            to: e.txn,
                            kind: EdgeKind::RwPred,
                            key: k,
                        });
                    }
                }
            }
        }
    }
}
