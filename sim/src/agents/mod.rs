//! Agents: explicit state machines, one engine call per step.
//!
//! Each agent runs a number of transactions, each drawn from the
//! scenario's workload mix. A running transaction keeps its engine state
//! (`Txn`), a phase counter and the micro-ops it has done, which become its
//! history op. Buffered writes are local to the transaction, so they are
//! issued in the same step as the commit: interleavings that differ only in
//! when a write was buffered are the same run.

mod audit;
mod constraint;
mod counter;
mod create_if_absent;
mod long_reader;
mod range;
mod transfer;

pub use constraint::pair as constraint_pair;

use std::sync::Arc;

use checker::{KeyRange as HistoryRange, MicroOp, RangeRead, Scalar, Version};
use compact_str::CompactString;
use engine::{Bytes, Core, Error, KeyRange, Read, ReadSource, Txn};
use smallvec::SmallVec;

use crate::decisions::{Decisions, Stream};
use crate::disk::SimDisk;
use crate::observed::Observed;
use crate::recorder::Completion;
use crate::scenario::{Scenario, Workload};

/// Encodes an integer value as the engine stores it (8 bytes LE).
pub fn encode(v: i64) -> [u8; 8] {
    v.to_le_bytes()
}

/// A value no agent ever writes: what a stored value that is not 8 bytes
/// long decodes to.
pub const GARBAGE: i64 = i64::MIN;

/// Decodes a stored value. Every value the simulator writes is 8 bytes; a
/// store that returns anything else has damaged it, and the value is read
/// as `GARBAGE`, which no one wrote, so the checker reports a garbage read
/// rather than the harness crashing.
pub fn decode(bytes: &[u8]) -> i64 {
    bytes.try_into().map_or(GARBAGE, i64::from_le_bytes)
}

/// `decode` of a value as the engine returns it, read from its words
/// rather than its memory (see `Bytes::to_array`).
#[inline]
pub fn decode_value(value: &Bytes) -> i64 {
    value.to_array().map_or(GARBAGE, i64::from_le_bytes)
}

/// A key as agents hold it: short keys are stored inline, so choosing and
/// copying one allocates nothing.
pub type Key = CompactString;

/// The key of account `i`: `acct/` and the decimal index.
pub fn account(i: u64) -> Key {
    Key::new(AccountKey::new(i).as_str())
}

/// The key of an account as bytes on the stack: what a transfer hands the
/// engine. It is formatted on every use rather than looked up in a table
/// made once per run: transfers pick accounts at random, and with 10,000
/// accounts a table entry is usually a cache miss, which costs more than
/// the few dozen instructions of formatting. Unlike a `Key`, it is built
/// whole in place: making a `Key` from text copies it with a call to
/// `memcpy` of a length known only at run time, whose narrow stores the
/// next wide load of the key cannot be forwarded from (a stall per key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountKey {
    /// The key, then zeros.
    bytes: [u8; 32],
    len: u8,
}

/// The decimal digits of 0 to 99, two to an entry.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut i = 0;
    while i < 100 {
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

impl AccountKey {
    const PREFIX: &[u8; 5] = b"acct/";

    /// The key of account `i`.
    ///
    /// The bytes are put together in two 16-byte words and stored as such:
    /// written a digit at a time, they were read back (hashed, compared,
    /// copied) with wide loads that the CPU could not forward from the
    /// byte stores just before, a stall each time (perf annotate).
    #[inline]
    pub fn new(i: u64) -> AccountKey {
        // Up to 16 digits fit a word; larger indexes (never an account,
        // whose index is a `u32`) take the byte-by-byte way.
        if i >= 10u64.pow(16) {
            return Self::spelled(i);
        }
        // Two digits at a time, from a table of the hundred pairs: a
        // division by 100 instead of two by 10. Each pair shifts the digits
        // before it up, so the first digit ends in the lowest byte, where
        // it is read first.
        let mut digits: u128 = 0;
        let mut len = Self::PREFIX.len();
        let mut rest = i;
        while rest >= 100 {
            digits = (digits << 16) | u128::from(u16::from_le_bytes(DIGIT_PAIRS[(rest % 100) as usize]));
            len += 2;
            rest /= 100;
        }
        if rest >= 10 {
            digits = (digits << 16) | u128::from(u16::from_le_bytes(DIGIT_PAIRS[rest as usize]));
            len += 2;
        } else {
            digits = (digits << 8) | u128::from(b'0' + rest as u8);
            len += 1;
        }
        let prefix = u128::from(u64::from_le_bytes(*b"acct/\0\0\0"));
        let low = prefix | (digits << 40);
        let high = digits >> 88;
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&low.to_le_bytes());
        bytes[16..].copy_from_slice(&high.to_le_bytes());
        AccountKey {
            bytes,
            len: len as u8,
        }
    }

    /// `new`, a byte at a time, for any index.
    #[cold]
    fn spelled(i: u64) -> AccountKey {
        let digits = i.checked_ilog10().map_or(1, |log| log as usize + 1);
        let len = Self::PREFIX.len() + digits;
        let mut bytes = [0u8; 32];
        bytes[..Self::PREFIX.len()].copy_from_slice(Self::PREFIX);
        let mut rest = i;
        for at in (Self::PREFIX.len()..len).rev() {
            bytes[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        AccountKey {
            bytes,
            len: len as u8,
        }
    }

    /// The key's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes are ASCII, so UTF-8: the prefix and decimal
        // digits.
        unsafe { std::str::from_utf8_unchecked(self.as_bytes()) }
    }
}

impl Default for AccountKey {
    /// Account 0's key, which a transaction that names no account holds
    /// (and ignores).
    fn default() -> Self {
        AccountKey::new(0)
    }
}

/// What one step of an agent's transaction led to.
#[derive(Debug)]
pub enum Step {
    /// The transaction goes on; the agent may sleep until `wake` (a tick).
    Continue {
        /// Sleep until this tick (long readers), if set.
        wake: Option<u64>,
    },
    /// The transaction ended.
    Done(Completion),
}

/// A transaction in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// Its workload.
    pub kind: Workload,
    /// The engine transaction (interactive workloads).
    pub txn: Option<Txn>,
    /// Where in its script it is.
    pub phase: u32,
    /// The keys it chose (a transfer keeps its keys in `account_keys`).
    pub keys: SmallVec<[Key; 2]>,
    /// The accounts a transfer chose (its keys are `account_keys`, and
    /// `keys` stays empty).
    pub accounts: [u32; 2],
    /// The keys of `accounts`, formatted once when they are chosen: a
    /// transfer hands each to the engine three times (prefetch, read,
    /// write).
    pub account_keys: [AccountKey; 2],
    /// The amount it moves, or the value it writes.
    pub amount: i64,
    /// Values read so far, in order (`None` = absent).
    pub values: SmallVec<[Option<i64>; 2]>,
    /// Versionstamps seen by `get_many` (atomic transfers).
    pub stamps: Vec<Option<engine::Versionstamp>>,
    /// Micro-ops done so far, with their versions.
    pub ops: Observed,
    /// The snapshot, once known.
    pub snapshot: Option<u64>,
    /// The history index of its invoke op.
    pub invoke: u64,
    /// How many times this transaction has been retried.
    pub retries: u32,
}

impl Running {
    /// A new transaction of `kind` invoked at history index `invoke`.
    /// Always inlined, so the simulator builds it where the agent keeps it
    /// rather than on the stack and then copying it there whole (about 50
    /// fewer instructions per transaction).
    #[inline(always)]
    pub fn new(kind: Workload, invoke: u64, retries: u32) -> Self {
        Running {
            kind,
            txn: None,
            phase: 0,
            keys: SmallVec::new(),
            accounts: [0; 2],
            account_keys: [AccountKey::default(); 2],
            amount: 0,
            values: SmallVec::new(),
            stamps: Vec::new(),
            ops: Observed::default(),
            snapshot: None,
            invoke,
            retries,
        }
    }

    /// Makes this finished transaction a new one, as `new` would build it,
    /// keeping the room its lists grew into. Always inlined, like `new`:
    /// the simulator starts every transaction with it.
    #[inline(always)]
    pub fn restart(&mut self, kind: Workload, invoke: u64, retries: u32) {
        assert!(
            self.txn.is_none(),
            "a finished transaction holds no engine transaction"
        );
        self.kind = kind;
        self.phase = 0;
        self.keys.clear();
        self.accounts = [0; 2];
        self.account_keys = [AccountKey::default(); 2];
        self.amount = 0;
        self.values.clear();
        self.stamps.clear();
        self.ops.clear();
        self.snapshot = None;
        self.invoke = invoke;
        self.retries = retries;
    }

    /// Ends the transaction once it is recorded: drops its engine
    /// transaction, if a failed step left it open.
    #[inline(always)]
    pub fn end(&mut self) {
        self.txn = None;
    }

    /// The keys the transaction names, as text (a transfer's are its
    /// accounts'), for a person reading what it did.
    pub fn key_names(&self) -> Vec<String> {
        match self.kind {
            Workload::Transfer | Workload::AtomicTransfer => {
                self.account_keys.iter().map(|k| k.as_str().to_owned()).collect()
            }
            _ => self.keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    /// Begins the engine transaction. Always inlined: every transaction
    /// begins with it, and the engine transaction it makes is large.
    #[inline(always)]
    fn begin(&mut self, core: &Core<SimDisk>) {
        let txn = self.txn.insert(core.begin());
        self.snapshot = Some(txn.snapshot());
    }

    /// Reads `key` in the transaction, recording the micro-op.
    fn get(&mut self, core: &Core<SimDisk>, key: Key) -> Result<Option<i64>, Error> {
        let txn = self.txn.as_mut().expect("get inside a transaction");
        let read = core.get(txn, key.as_bytes())?;
        let value = read.value.as_ref().map(decode_value);
        self.ops.read(key, value, version_of(read.source));
        self.values.push(value);
        Ok(value)
    }

    /// Chooses accounts `from` and `to` for a transfer.
    #[inline(always)]
    fn choose_accounts(&mut self, from: u32, to: u32) {
        self.accounts = [from, to];
        self.account_keys = [AccountKey::new(from.into()), AccountKey::new(to.into())];
    }

    /// Reads the transaction's two accounts as one batch, recording both
    /// micro-ops in order; a read that fails ends the batch, as in
    /// `get_batch`, and nothing of it is recorded (the transaction
    /// then fails as a whole). Always inlined, like `put_account`: the
    /// simulator makes one per transfer, and a call cost about 30
    /// instructions of its own.
    #[inline(always)]
    fn get_accounts(&mut self, core: &Core<SimDisk>) -> Result<(), Error> {
        let txn = self.txn.as_mut().expect("get inside a transaction");
        let [from, to] = &self.account_keys;
        let unread = || Read {
            value: None,
            source: ReadSource::Own,
        };
        let mut reads = [unread(), unread()];
        // The keys' entries were asked for when the transaction began (see
        // `transfer::interactive`), so they are read without a second hint;
        // as in `get_batch`, a failed read ends the batch.
        for (read, key) in reads.iter_mut().zip([from, to]) {
            core.get_into(txn, key.as_bytes(), read)?;
        }
        for (which, read) in reads.iter().enumerate() {
            let value = read.value.as_ref().map(decode_value);
            self.ops
                .read_account(self.accounts[which], value, version_of(read.source));
            self.values.push(value);
        }
        Ok(())
    }

    /// Lists a prefix in the transaction, recording the micro-op.
    fn list(&mut self, core: &Core<SimDisk>, prefix: &str) -> Result<usize, Error> {
        let txn = self.txn.as_mut().expect("list inside a transaction");
        let entries = core.list(txn, &KeyRange::prefix(prefix), usize::MAX)?;
        let mut result = Vec::with_capacity(entries.len());
        let mut versions = Vec::with_capacity(entries.len());
        for e in &entries {
            let key = Scalar::from(String::from_utf8_lossy(&e.key).into_owned());
            if let ReadSource::Snapshot(Some(v)) = e.source {
                versions.push((key.clone(), v));
            }
            result.push((key, Scalar::Int(decode(&e.value))));
        }
        self.ops.other(
            MicroOp::List(Box::new(RangeRead {
                range: HistoryRange::Prefix(prefix.into()),
                result: Some(result),
            })),
            Version::Range(versions),
        );
        Ok(entries.len())
    }

    /// Buffers a write, recording the micro-op.
    fn put(&mut self, key: Key, value: i64) {
        let txn = self.txn.as_mut().expect("put inside a transaction");
        txn.put(key.as_bytes(), &encode(value))
            .expect("simulator keys and values are small");
        self.ops.write(key, value);
    }

    /// Buffers a write to the transaction's account `which` (0 or 1),
    /// recording the micro-op. Always inlined (see `get_accounts`).
    #[inline(always)]
    fn put_account(&mut self, which: usize, value: i64) {
        let txn = self.txn.as_mut().expect("put inside a transaction");
        txn.put(self.account_keys[which].as_bytes(), &encode(value))
            .expect("simulator keys and values are small");
        self.ops.write_account(self.accounts[which], value);
    }

    /// Commits the engine transaction.
    /// The transaction is committed where it lives and then dropped: it is
    /// large, and taking it out first would copy it.
    fn commit(&mut self, core: &mut Core<SimDisk>) -> Completion {
        let txn = self.txn.as_ref().expect("commit inside a transaction");
        let result = core.commit(txn).map(|c| c.seq);
        self.txn = None;
        outcome(result)
    }
}

/// The history version of where a read came from.
fn version_of(source: ReadSource) -> Version {
    match source {
        ReadSource::Own => Version::Own,
        ReadSource::Snapshot(Some(v)) => Version::Seq(v),
        ReadSource::Snapshot(None) => Version::Absent,
    }
}

/// Maps an engine result to a history completion. Inlined: every commit
/// ends with one, and a call passed the large result through memory.
#[inline]
pub fn outcome(result: Result<Option<u64>, Error>) -> Completion {
    match result {
        Ok(commit_seq) => Completion::Ok { commit_seq },
        Err(e) => failure(&e),
    }
}

/// Maps an engine error to a history completion.
pub fn failure(e: &Error) -> Completion {
    match e {
        Error::Conflict { .. } => Completion::Fail("conflict"),
        Error::SnapshotTooOld { .. } => Completion::Fail("snapshot_too_old"),
        Error::CheckFailed { .. } => Completion::Fail("check_failed"),
        Error::Unavailable => Completion::Fail("unavailable"),
        Error::Io(io) if io.message == "crashed" => Completion::Info("crash"),
        Error::Io(_) => Completion::Info("io"),
        other => panic!("the simulator never provokes {other}"),
    }
}

/// The store a step runs on. Only a commit writes to it, so a model
/// checker can keep one store shared between the states a step only read
/// it in, and copy it when a step writes (`Arc::make_mut`); the simulator
/// owns its store and reaches it directly.
pub trait CoreRef {
    /// The store, to read.
    fn get(&self) -> &Core<SimDisk>;
    /// The store, to write.
    fn get_mut(&mut self) -> &mut Core<SimDisk>;
}

impl CoreRef for Core<SimDisk> {
    fn get(&self) -> &Core<SimDisk> {
        self
    }

    fn get_mut(&mut self) -> &mut Core<SimDisk> {
        self
    }
}

impl CoreRef for Arc<Core<SimDisk>> {
    fn get(&self) -> &Core<SimDisk> {
        self
    }

    fn get_mut(&mut self) -> &mut Core<SimDisk> {
        Arc::make_mut(self)
    }
}

/// What a step can use: the store, the decisions, the scenario. Generic
/// over how the store is reached, so the simulator's steps reach its store
/// directly (a `dyn CoreRef` cost an indirect call each time, five per
/// transfer) and the model checker's reach a shared one.
pub struct Ctx<'a, C: CoreRef + ?Sized> {
    /// The store.
    pub core: &'a mut C,
    /// Every decision.
    pub d: &'a mut Decisions,
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The agent's id.
    pub agent: u32,
    /// The current tick.
    pub now: u64,
}

impl<C: CoreRef + ?Sized> Ctx<'_, C> {
    /// The key of account `i`.
    fn account(&self, i: u64) -> Key {
        assert!(i < u64::from(self.scenario.workload.accounts), "an account index");
        account(i)
    }

    /// Two distinct accounts and an amount (accounts are counted in a
    /// `u32`, so their indices are `u32`s).
    fn pick_transfer(&mut self) -> (u32, u32, i64) {
        let n = u64::from(self.scenario.workload.accounts);
        let from = self.d.choose(Stream::Workload, n);
        // The receiver is one of the other n - 1 accounts, counted on from
        // the sender's and wrapping past the last: below 2n, so one
        // subtraction wraps it (a division would cost more than the draw).
        let to = from + 1 + self.d.choose(Stream::Workload, n - 1);
        let to = if to >= n { to - n } else { to };
        let amount = self
            .d
            .between(Stream::Workload, 1, self.scenario.workload.max_amount) as i64;
        let index = |i: u64| u32::try_from(i).expect("an account index");
        (index(from), index(to), amount)
    }
}

/// Runs one step of `t`. Always inlined: it only dispatches on the
/// workload, and the simulator calls it at every step. Called, it copied
/// the step's result out of the workload's with loads wider than the
/// stores that had just written it, which the CPU cannot forward: a stall
/// at every step (perf annotate).
#[inline(always)]
pub fn step<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Step {
    let result = match t.kind {
        Workload::Transfer => transfer::interactive(ctx, t),
        Workload::AtomicTransfer => transfer::atomic(ctx, t),
        Workload::Counter => counter::step(ctx, t),
        Workload::Audit => audit::step(ctx, t),
        Workload::Constraint => constraint::step(ctx, t),
        Workload::CreateIfAbsent => create_if_absent::step(ctx, t),
        Workload::Range => range::step(ctx, t),
        Workload::LongReader => long_reader::step(ctx, t),
    };
    match result {
        Ok(step) => step,
        Err(e) => {
            t.txn = None;
            Step::Done(failure(&e))
        }
    }
}

/// Continues to the next phase.
fn next(t: &mut Running) -> Result<Step, Error> {
    t.phase += 1;
    Ok(Step::Continue { wake: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::Options;

    /// Histories, reports and the checker's bank meta name accounts by these
    /// keys, so the fast formatting must spell them exactly as before.
    #[test]
    fn account_keys_are_the_prefix_and_the_decimal_index() {
        let max = u64::from(u32::MAX);
        let around_16_digits = [10u64.pow(15), 10u64.pow(16) - 1, 10u64.pow(16), 10u64.pow(16) + 1];
        for i in [123_456_789, 1_000_000_000, max, u64::MAX]
            .into_iter()
            .chain(0..=10_100)
            .chain(around_16_digits)
        {
            assert_eq!(account(i).as_str(), format!("acct/{i}"));
            assert_eq!(AccountKey::new(i).as_bytes(), format!("acct/{i}").as_bytes());
            assert_eq!(AccountKey::spelled(i), AccountKey::new(i));
        }
        assert_eq!(AccountKey::default(), AccountKey::new(0));
        // Accounts are counted in a `u32`, so their keys stay inline.
        assert!(!account(max).is_heap_allocated());
        assert_ne!(account(1), account(10));
    }

    /// A transaction with every list grown past its inline room and every
    /// field set, ended and restarted, equals one built new.
    #[test]
    fn a_restarted_transaction_is_a_new_one() {
        let core = Core::open(SimDisk::default(), Options::default()).expect("an empty disk opens");
        let mut t = Running::new(Workload::Counter, 3, 1);
        t.begin(&core);
        t.phase = 2;
        t.choose_accounts(7, 9);
        t.amount = 5;
        for i in 0..5 {
            let key = Key::new(format!("k{i}"));
            t.keys.push(key.clone());
            t.values.push(Some(i));
            t.stamps.push(None);
            t.ops.read(key, Some(i), Version::Seq(1));
            t.ops.write_account(i as u32, i);
        }
        t.ops.other(
            MicroOp::read(Scalar::Str(Key::new("r")), Scalar::Null),
            Version::Own,
        );
        let new = Running::new(Workload::Transfer, 8, 0);
        assert_ne!(t, new);
        t.end();
        t.restart(Workload::Transfer, 8, 0);
        assert_eq!(t, new);
    }

    #[test]
    #[should_panic(expected = "a finished transaction holds no engine transaction")]
    fn restarting_a_transaction_still_open_in_the_engine_is_a_broken_invariant() {
        let core = Core::open(SimDisk::default(), Options::default()).expect("an empty disk opens");
        let mut t = Running::new(Workload::Transfer, 0, 0);
        t.begin(&core);
        t.restart(Workload::Transfer, 1, 0);
    }
}
