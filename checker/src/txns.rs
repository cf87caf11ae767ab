//! Pairs invocations with completions into transactions, interns keys, and validates the
//! history's structure (increasing indices, one open op per process, matching functions).
//!
//! Every check works on this compact form rather than on raw ops, so keys are compared as
//! small integers and each transaction knows its lifetime in history order.

use rustc_hash::FxHashMap;

use crate::error::Error;
use crate::history::{Function, History, MicroOp, Op, OpType, OpValue, Process, Scalar};
use crate::prefetch::{prefetch_slice, AHEAD, PREFETCHED_BYTES};

/// Dense id of an interned key.
pub(crate) type KeyId = u32;
/// Dense id of a transaction (its position in [`Ctx::txns`]).
pub(crate) type TxnId = u32;
/// The key id given to micro-ops without a single key (range reads).
pub(crate) const NO_KEY: KeyId = KeyId::MAX;

/// How a client operation ended; the discriminant indexes [`Ctx::outcomes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Committed (`ok`).
    Ok = 0,
    /// Definitely not committed (`fail`).
    Fail = 1,
    /// Outcome unknown (`info`, or never completed).
    Info = 2,
}

/// One client operation, invocation and completion together.
///
/// Its report name is not kept here but read from its ops ([`Ctx::name`]): reports are rare,
/// and without it the record takes 24 bytes rather than 32.
pub(crate) struct Txn<'h> {
    /// How it ended.
    pub status: Status,
    /// Position of the invocation in the history's ops.
    pub invoke_pos: u32,
    /// Position of the completion (the number of ops if it never completed).
    pub complete_pos: u32,
    /// The op whose value holds the observed micro-ops (the completion, or the invocation
    /// when the completion carries none).
    pub op: &'h Op,
    /// Offset of this txn's micro-op keys in [`Ctx::mop_keys`].
    pub mop_start: u32,
}

impl<'h> Txn<'h> {
    /// The transaction's micro-ops.
    pub fn mops(&self) -> &'h [MicroOp] {
        self.op.mops()
    }
}

/// A nemesis event that matters to durability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The store crashed.
    Crash,
    /// The store recovered.
    Recover,
}

/// The history in the form every check uses.
pub(crate) struct Ctx<'h> {
    /// The history itself.
    pub history: &'h History,
    /// Client operations in completion order (never-completed ones last).
    pub txns: Vec<Txn<'h>>,
    /// Key id of each micro-op, txn after txn ([`NO_KEY`] for range reads).
    pub mop_keys: Vec<KeyId>,
    /// Each key id's key.
    pub keys: Vec<&'h Scalar>,
    /// Key to key id.
    pub key_ids: KeyIndex<'h>,
    /// Per key id, how many write and append micro-ops name it: an upper bound on its
    /// versions, so that version lists are allocated once at their final size.
    pub key_writes: Vec<u32>,
    /// How many key/value pairs range reads returned, so that with the micro-ops and
    /// `key_writes` it bounds the reads a check can collect.
    pub range_pairs: usize,
    /// Crash and recover events with their op positions.
    pub faults: Vec<(u32, Fault)>,
    /// Whether any transaction has a range read, so checks of range reads can skip scanning
    /// every micro-op of histories without them.
    pub has_ranges: bool,
    /// How many transactions ended in each [`Status`] (ok, fail, info), counted as they are
    /// paired, so that neither the statistics nor native inference (which settles reads as it
    /// meets them only when no outcome is unknown) walks the transactions again to learn it.
    pub outcomes: [u64; 3],
}

impl<'h> Ctx<'h> {
    /// Builds the context, or explains which op breaks the format.
    pub fn new(history: &'h History) -> Result<Self, Error> {
        let ops = &history.ops;
        if u32::try_from(ops.len()).is_err() {
            return Err(Error::Format("history has more than 2^32 ops".into()));
        }
        let mut ctx = Ctx {
            history,
            txns: Vec::with_capacity(ops.len() / 2),
            // Room for six micro-ops per transaction (two ops), so that the common history
            // never regrows this (four per transaction left no room for a setup transaction
            // that writes every account): each regrowth copies it into fresh memory, whose
            // first touch costs more than the copy, while reserved memory never touched costs
            // nothing.
            mop_keys: Vec::with_capacity(ops.len() * 3),
            keys: Vec::new(),
            key_ids: KeyIndex::default(),
            key_writes: Vec::new(),
            range_pairs: 0,
            faults: Vec::new(),
            has_ranges: false,
            outcomes: [0; 3],
        };
        let mut open = Open::default();
        let mut last_index: Option<u64> = None;
        for (pos, op) in ops.iter().enumerate() {
            ctx.prefetch_ahead(ops, pos);
            if last_index.is_some_and(|l| op.index <= l) {
                return Err(Error::op(
                    op.index,
                    format!(
                        "index is not greater than the previous op's index {}",
                        last_index.unwrap_or_default()
                    ),
                ));
            }
            last_index = Some(op.index);
            let pos = pos as u32;
            let client = match op.process {
                Process::Nemesis => {
                    ctx.nemesis(op, pos)?;
                    continue;
                }
                Process::Client(p) => p,
            };
            if !matches!(op.f, Function::Txn | Function::Transfer | Function::Read) {
                return Err(Error::op(
                    op.index,
                    format!(
                        "unknown function {:?} for a client op, expected txn, transfer or read",
                        op.f.name()
                    ),
                ));
            }
            if op.f == Function::Txn && !matches!(op.value, OpValue::Txn(_) | OpValue::Null) {
                return Err(Error::op(op.index, "a txn's value must be a list of micro-ops"));
            }
            if op.op_type == OpType::Invoke {
                if let Some(prev) = open.insert(client, pos) {
                    return Err(Error::op(
                        op.index,
                        format!(
                            "process {client} invoked again while its op {} is still open",
                            ops[prev as usize].index
                        ),
                    ));
                }
                continue;
            }
            let Some(invoke_pos) = open.remove(client) else {
                return Err(Error::op(
                    op.index,
                    format!("completion without an invocation by process {client}"),
                ));
            };
            let invoke = &ops[invoke_pos as usize];
            if invoke.f != op.f {
                return Err(Error::op(
                    op.index,
                    format!(
                        "completes a {:?} op with function {:?}",
                        invoke.f.name(),
                        op.f.name()
                    ),
                ));
            }
            let status = match op.op_type {
                OpType::Ok => Status::Ok,
                OpType::Fail => Status::Fail,
                _ => Status::Info,
            };
            let body = if matches!(op.value, OpValue::Null) {
                invoke
            } else {
                op
            };
            if status == Status::Ok && op.f == Function::Txn {
                ctx.check_versions_shape(op)?;
            }
            ctx.push(status, invoke_pos, pos, body);
        }
        let mut dangling = open.into_positions();
        dangling.sort_unstable();
        for invoke_pos in dangling {
            let invoke = &ops[invoke_pos as usize];
            ctx.push(Status::Info, invoke_pos, ops.len() as u32, invoke);
        }
        Ok(ctx)
    }

    /// Asks the CPU for the micro-ops of op `pos + 2 * AHEAD`, which interning will need (see
    /// [`crate::prefetch`]).
    ///
    /// The key table's slots are not asked for: finding a key's slot ahead means packing and
    /// hashing every key twice, about 290 instructions per transfer, while the table of the
    /// simulator's 10,000 accounts (640 KB) mostly stays in the L2 cache anyway; without it
    /// the check ran faster in every alternating run.
    fn prefetch_ahead(&self, ops: &[Op], pos: usize) {
        if let Some(op) = ops.get(pos + 2 * AHEAD) {
            prefetch_slice(op.mops(), PREFETCHED_BYTES);
        }
    }

    /// Records a nemesis op; crash and recover completions are the events durability uses.
    fn nemesis(&mut self, op: &Op, pos: u32) -> Result<(), Error> {
        if matches!(op.f, Function::Txn | Function::Transfer | Function::Read) {
            return Err(Error::op(
                op.index,
                format!("the nemesis cannot run client function {:?}", op.f.name()),
            ));
        }
        if op.op_type != OpType::Invoke {
            match op.f {
                Function::Crash => self.faults.push((pos, Fault::Crash)),
                Function::Recover => self.faults.push((pos, Fault::Recover)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Rejects a `versions` list that is not parallel to the micro-ops.
    fn check_versions_shape(&self, op: &Op) -> Result<(), Error> {
        if let Some(v) = &op.versions {
            if v.len() != op.mops().len() {
                return Err(Error::op(
                    op.index,
                    format!(
                        "versions has {} entries but value has {} micro-ops",
                        v.len(),
                        op.mops().len()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn push(&mut self, status: Status, invoke_pos: u32, complete_pos: u32, op: &'h Op) {
        let mop_start = self.mop_keys.len() as u32;
        self.outcomes[status as usize] += 1;
        // The packed keys (see [`pack`]) this op's micro-ops interned last, with their ids:
        // transactions often touch a key twice (read it, then write it), and a repeat found here
        // needs no hashing. No key packs to 0, so 0 marks an empty slot.
        let mut recent = [(0u128, NO_KEY); RECENT];
        for (i, mop) in op.mops().iter().enumerate() {
            let id = match mop {
                MicroOp::List(r) => {
                    self.has_ranges = true;
                    self.range_pairs += r.result.as_ref().map_or(0, Vec::len);
                    for (k, _) in r.result.iter().flatten() {
                        self.intern(k);
                    }
                    NO_KEY
                }
                MicroOp::Read { key, .. } => self.intern_near(key, &mut recent, i),
                MicroOp::Write { key, .. } | MicroOp::Append { key, .. } => {
                    let id = self.intern_near(key, &mut recent, i);
                    self.key_writes[id as usize] = self.key_writes[id as usize].saturating_add(1);
                    id
                }
            };
            self.mop_keys.push(id);
        }
        self.txns.push(Txn {
            status,
            invoke_pos,
            complete_pos,
            op,
            mop_start,
        });
    }

    /// Returns the key's id, assigning the next one on first sight.
    pub fn intern(&mut self, key: &'h Scalar) -> KeyId {
        self.intern_packed(key, pack(key))
    }

    /// [`Ctx::intern`] for the `i`th micro-op of an op, looking first among the keys `recent`
    /// holds and recording the key there.
    #[inline]
    fn intern_near(&mut self, key: &'h Scalar, recent: &mut [(u128, KeyId); RECENT], i: usize) -> KeyId {
        let Some(p) = pack(key) else {
            return self.intern_packed(key, None);
        };
        if let Some(&(_, id)) = recent.iter().find(|r| r.0 == p) {
            return id;
        }
        let id = self.intern_packed(key, Some(p));
        recent[i % RECENT] = (p, id);
        id
    }

    /// [`Ctx::intern`] of a key whose [`pack`] form is `packed`.
    fn intern_packed(&mut self, key: &'h Scalar, packed: Option<u128>) -> KeyId {
        let next = self.keys.len() as KeyId;
        let id = self.key_ids.get_or_insert(key, packed, next);
        if id == next {
            self.keys.push(key);
            self.key_writes.push(0);
        }
        id
    }

    /// The key ids of a txn's micro-ops, parallel to its micro-ops.
    pub fn keys_of(&self, t: TxnId) -> &[KeyId] {
        let txn = &self.txns[t as usize];
        let start = txn.mop_start as usize;
        &self.mop_keys[start..start + txn.mops().len()]
    }

    /// [`Ctx::keys_of`] found from where the txn's keys and the next txn's start, without
    /// reading the txn's op (which may not be in cache yet).
    pub fn keys_ahead(&self, t: TxnId) -> &[KeyId] {
        let start = self.txns[t as usize].mop_start as usize;
        let end = self
            .txns
            .get(t as usize + 1)
            .map_or(self.mop_keys.len(), |next| next.mop_start as usize);
        &self.mop_keys[start..end]
    }

    /// The report name of a txn (`T` followed by its completion index; its invocation's
    /// index if it never completed).
    pub fn name(&self, t: TxnId) -> u64 {
        let txn = &self.txns[t as usize];
        let ops = &self.history.ops;
        ops.get(txn.complete_pos as usize)
            .unwrap_or(&ops[txn.invoke_pos as usize])
            .index
    }

    /// The txn's last write to `key` (the value it installs), if it wrote the key.
    pub fn final_write(&self, t: TxnId, key: KeyId) -> Option<&'h Scalar> {
        let mops = self.txns[t as usize].mops();
        let keys = self.keys_of(t);
        (0..mops.len()).rev().find_map(|i| match &mops[i] {
            MicroOp::Write { value, .. } if keys[i] == key => Some(value),
            MicroOp::Append { element, .. } if keys[i] == key => Some(element),
            _ => None,
        })
    }

    /// The value the txn's first read of `key` returned (by a point read or a range read).
    pub fn first_read(&self, t: TxnId, key: KeyId) -> Option<String> {
        let mops = self.txns[t as usize].mops();
        let keys = self.keys_of(t);
        mops.iter().enumerate().find_map(|(i, m)| match m {
            MicroOp::Read { value, .. } if keys[i] == key => Some(crate::anomalies::show_read(value)),
            MicroOp::List(r) => r.result.as_ref().and_then(|pairs| {
                pairs
                    .iter()
                    .find(|(k, _)| self.key_ids.get(k) == Some(key))
                    .map(|(_, v)| crate::anomalies::show(v))
            }),
            _ => None,
        })
    }

    /// The initial value of a key from the meta line (`null` when not listed).
    pub fn initial(&self, key: KeyId) -> Scalar {
        let initial = self.history.meta.as_ref().and_then(|m| m.initial.as_ref());
        match (initial, self.keys[key as usize]) {
            (Some(map), Scalar::Str(k)) => map.get(k.as_str()).cloned().unwrap_or(Scalar::Null),
            _ => Scalar::Null,
        }
    }
}

/// How many of an op's last interned keys [`Ctx::push`] remembers.
const RECENT: usize = 4;

/// Key to key id.
///
/// Interning runs for every micro-op, and hashing and comparing a [`Scalar`] (an enum around a
/// string that may live on the heap) costs about 200 instructions; most keys are short strings
/// or integers, which pack exactly into a `u128` that hashes and compares in a few. Other keys
/// go to a map of scalars. A key always packs or never does, so each key has one home.
#[derive(Default)]
pub(crate) struct KeyIndex<'h> {
    /// Keys that pack, by their packed form.
    packed: PackedTable,
    /// Every other key.
    other: FxHashMap<&'h Scalar, KeyId>,
}

impl<'h> KeyIndex<'h> {
    /// The id of `key`, if it has one.
    pub fn get(&self, key: &Scalar) -> Option<KeyId> {
        match pack(key) {
            Some(p) => self.packed.get(p),
            None => self.other.get(key).copied(),
        }
    }

    /// The id of `key`, whose [`pack`] form is `packed`, which becomes `next` if it had none.
    fn get_or_insert(&mut self, key: &'h Scalar, packed: Option<u128>, next: KeyId) -> KeyId {
        match packed {
            Some(p) => self.packed.get_or_insert(p, next),
            None => *self.other.entry(key).or_insert(next),
        }
    }
}

/// Packed keys to key ids: an open-addressing table with linear probing.
///
/// A general hash map costs about 160 instructions per lookup here (hashing through the
/// `Hash` trait, the entry API's preparations); this table, which knows its keys are nonzero
/// `u128`s that never leave, needs a multiply and usually one probe.
#[derive(Default)]
struct PackedTable {
    /// Packed keys (0: an empty slot; no key packs to 0), a power of two of them, or none yet.
    keys: Vec<u128>,
    /// The id of the key in the same slot.
    ids: Vec<KeyId>,
    /// How many slots are taken.
    len: usize,
}

impl PackedTable {
    /// The slot a probe for `p` starts at (the table must have slots).
    fn home(&self, p: u128) -> usize {
        let folded = (p as u64) ^ ((p >> 64) as u64).rotate_left(29);
        let bits = self.keys.len().trailing_zeros();
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The id of packed key `p`, if it has one.
    fn get(&self, p: u128) -> Option<KeyId> {
        if self.keys.is_empty() {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut i = self.home(p);
        loop {
            match self.keys[i] {
                0 => return None,
                k if k == p => return Some(self.ids[i]),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The id of packed key `p`, which becomes `next` if it had none.
    #[inline]
    fn get_or_insert(&mut self, p: u128, next: KeyId) -> KeyId {
        debug_assert_ne!(p, 0, "no key packs to 0");
        if 2 * (self.len + 1) > self.keys.len() {
            self.grow();
        }
        let mask = self.keys.len() - 1;
        let mut i = self.home(p);
        loop {
            match self.keys[i] {
                0 => {
                    self.keys[i] = p;
                    self.ids[i] = next;
                    self.len += 1;
                    return next;
                }
                k if k == p => return self.ids[i],
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Doubles the slots (keeping at most half of them taken) and places every key again.
    #[cold]
    fn grow(&mut self) {
        let slots = (self.keys.len() * 2).max(64);
        let keys = std::mem::replace(&mut self.keys, vec![0; slots]);
        let ids = std::mem::replace(&mut self.ids, vec![0; slots]);
        self.len = 0;
        for (k, id) in keys.into_iter().zip(ids).filter(|&(k, _)| k != 0) {
            self.get_or_insert(k, id);
        }
    }
}

/// A key's exact form as a `u128`, for strings of at most 15 bytes (the bytes, then their
/// length plus one in the top byte) and integers (the top byte `0x80`, which no string length
/// gives); `None` for other keys. Distinct keys never pack alike.
#[inline]
fn pack(key: &Scalar) -> Option<u128> {
    match key {
        Scalar::Str(s) => {
            let bytes = s.as_bytes();
            (bytes.len() < 16).then(|| {
                u128::from(low_bytes(bytes))
                    | (u128::from(high_bytes(bytes)) << 64)
                    | (bytes.len() as u128 + 1) << 120
            })
        }
        Scalar::Int(i) => Some(u128::from(*i as u64) | (0x80 << 120)),
        _ => None,
    }
}

/// The first (at most) 8 bytes of `b`, little-endian, zero-extended; read as at most two
/// word loads rather than a copy, since interning packs every key.
fn low_bytes(b: &[u8]) -> u64 {
    let n = b.len();
    let u32_at = |at: usize| u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]));
    match n {
        8.. => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        // Bytes 4..n are the top n - 4 bytes of the word ending at n.
        4..=7 => u32_at(0) | (u32_at(n - 4) >> (8 * (8 - n))) << 32,
        _ => b.iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x)),
    }
}

/// Bytes 8..16 of `b` (at most 15 bytes long), little-endian, zero-extended: the top
/// `len - 8` bytes of the word that ends at the last byte.
fn high_bytes(b: &[u8]) -> u64 {
    let n = b.len();
    if n <= 8 {
        return 0;
    }
    let w = &b[n - 8..];
    u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) >> (8 * (16 - n))
}

/// Processes below this id have a slot in [`Open`]'s table.
const DENSE_PROCESSES: u64 = 1 << 16;

/// The open invocation of each process, as a position in the ops.
///
/// Pairing runs for every op, and process ids are small in practice, so a table indexed by
/// process id serves them without hashing; larger ids go to a map.
#[derive(Default)]
struct Open {
    /// Per process id below [`DENSE_PROCESSES`], its open invocation (`u32::MAX` when none).
    dense: Vec<u32>,
    /// The open invocations of larger process ids.
    sparse: FxHashMap<u64, u32>,
}

impl Open {
    /// Records the open invocation of `process`, returning the one it replaces.
    fn insert(&mut self, process: u64, pos: u32) -> Option<u32> {
        if process >= DENSE_PROCESSES {
            return self.sparse.insert(process, pos);
        }
        let p = process as usize;
        if p >= self.dense.len() {
            self.dense.resize(p + 1, u32::MAX);
        }
        Some(std::mem::replace(&mut self.dense[p], pos)).filter(|&prev| prev != u32::MAX)
    }

    /// Takes the open invocation of `process`.
    fn remove(&mut self, process: u64) -> Option<u32> {
        if process >= DENSE_PROCESSES {
            return self.sparse.remove(&process);
        }
        let slot = self.dense.get_mut(process as usize)?;
        Some(std::mem::replace(slot, u32::MAX)).filter(|&prev| prev != u32::MAX)
    }

    /// The invocations still open, in no particular order.
    fn into_positions(self) -> Vec<u32> {
        let dense = self.dense.into_iter().filter(|&p| p != u32::MAX);
        dense.chain(self.sparse.into_values()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{pack, KeyIndex};
    use crate::history::Scalar;

    /// Keys that differ only in length, trailing zero bytes, type or the packing limit must
    /// still get distinct ids, whichever map holds them.
    #[test]
    fn distinct_keys_get_distinct_ids() {
        let keys = [
            Scalar::from(""),
            Scalar::from("a"),
            Scalar::from("a\0"),
            Scalar::from("\0"),
            Scalar::from("123456789012345"),
            Scalar::from("1234567890123456"),
            Scalar::Int(0),
            Scalar::Int(0x61),
            Scalar::Int(-1),
            Scalar::Null,
            Scalar::Bool(false),
        ];
        let mut index = KeyIndex::default();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get_or_insert(k, pack(k), i as u32), i as u32, "{k:?}");
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(k), Some(i as u32), "{k:?}");
        }
        assert!(pack(&Scalar::from("1234567890123456")).is_none());
    }

    /// Ids survive the packed table's growth, and keys never interned are not found.
    #[test]
    fn ids_survive_growth() {
        let keys: Vec<Scalar> = (0..10_000).map(|i| Scalar::from(format!("acct/{i}"))).collect();
        let mut index = KeyIndex::default();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get_or_insert(k, pack(k), i as u32), i as u32);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(k), Some(i as u32), "{k:?}");
            assert_eq!(index.get_or_insert(k, pack(k), u32::MAX), i as u32);
        }
        assert_eq!(index.get(&Scalar::from("acct/10000")), None);
    }

    /// The word loads pack every length exactly as copying the bytes would.
    #[test]
    fn packing_equals_copying_bytes() {
        for text in [
            "abcdefghijklmno",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{ff}",
        ] {
            for n in 0..16 {
                let Some(s) = text.get(..n) else { continue };
                let mut bytes = [0u8; 16];
                bytes[..n].copy_from_slice(s.as_bytes());
                bytes[15] = n as u8 + 1;
                assert_eq!(pack(&Scalar::from(s)), Some(u128::from_le_bytes(bytes)), "{s:?}");
            }
        }
    }
}
