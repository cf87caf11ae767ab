//! A state of the model and what makes two states the same.
//!
//! A state is the real engine (`Core<SimDisk>`, plain data), each agent's
//! work (the transaction in progress, the simulator's own [`Running`] state
//! machine, and each finished transaction's observations and outcome with
//! the crash epoch it ran in), and the crashes so far. Nothing records the
//! order in which agents interleaved, so interleavings that reach the same
//! store and the same observations merge.
//!
//! Most moves change one agent and leave the store as it was (only a
//! commit writes), so the store and each agent's work are [`Shared`]: held
//! behind an `Arc` that unchanged parts share with the state they came
//! from, with a digest computed once when the part changes. The digests
//! order interchangeable agents (see [`canonicalize`]) and stand for the
//! parts in the state's hash, which is all stateright identifies states by.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use engine::Core;
use xxhash_rust::xxh3::xxh3_64;

use crate::agents::Running;
use crate::disk::SimDisk;
use crate::observed::Observed;
use crate::recorder::Completion;

/// The store: open, crashed (the disk as the process left it, before the
/// crash image is drawn), or refused by recovery as corrupt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Store {
    /// Open.
    Up(Shared<Core<SimDisk>>),
    /// Crashed; recovery is the only action.
    Down(Shared<SimDisk>),
    /// Recovery refused the crash image as damaged; the run ends here.
    Corrupt,
}

/// A finished transaction: what it observed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Its micro-ops, with their versions.
    pub ops: Observed,
    /// Its snapshot, once known.
    pub snapshot: Option<u64>,
    /// How it ended.
    pub completion: Completion,
    /// How many crashes happened before it began.
    pub epoch: u8,
    /// Whether it was still open when the process crashed.
    pub at_crash: bool,
}

impl Done {
    /// A finished transaction from the running one.
    pub fn new(t: Running, completion: Completion, epoch: u8, at_crash: bool) -> Self {
        Done {
            ops: t.ops,
            snapshot: t.snapshot,
            completion,
            epoch,
            at_crash,
        }
    }

    /// Its sequence number, if it committed writes.
    pub fn commit_seq(&self) -> Option<u64> {
        match self.completion {
            Completion::Ok { commit_seq } => commit_seq,
            _ => None,
        }
    }
}

impl Hash for Done {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.ops.hash(h);
        self.snapshot.hash(h);
        self.completion.hash(h);
        self.epoch.hash(h);
        self.at_crash.hash(h);
    }
}

/// One agent's work: transactions not yet begun, the one in progress, the
/// finished ones in order. A finished transaction never changes, so later
/// states share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    /// Transactions not yet begun.
    pub remaining: u32,
    /// The transaction in progress.
    pub running: Option<Running>,
    /// The finished ones, oldest first.
    pub done: Vec<Arc<Done>>,
}

impl Work {
    /// Whether the agent can still take a step.
    pub fn has_work(&self) -> bool {
        self.remaining > 0 || self.running.is_some()
    }
}

impl Hash for Work {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.remaining.hash(h);
        match &self.running {
            None => 0u8.hash(h),
            Some(t) => {
                1u8.hash(h);
                t.kind.hash(h);
                t.txn.hash(h);
                t.phase.hash(h);
                t.keys.hash(h);
                t.accounts.hash(h);
                t.amount.hash(h);
                t.values.hash(h);
                t.stamps.hash(h);
                t.ops.hash(h);
                t.snapshot.hash(h);
                t.invoke.hash(h);
                t.retries.hash(h);
            }
        }
        self.done.hash(h);
    }
}

/// One agent: its work, shared with the states that have not changed it.
pub type Agent = Shared<Work>;

/// A value shared between every state that has not changed it, with its
/// digest: a fixed 64-bit hash of all of it, computed once when the value
/// is made.
///
/// Two shared values are equal when their contents are; the digest decides
/// it at once when they differ. Hashing a shared value hashes the digest
/// only: stateright already identifies states by a 64-bit hash, and a
/// 64-bit digest of each part keeps every byte of it in the state's hash
/// without hashing it again for every state that contains it.
#[derive(Debug)]
pub struct Shared<T> {
    value: Arc<T>,
    digest: u64,
}

impl<T: Hash> Shared<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Self {
        Shared::from_arc(Arc::new(value))
    }

    /// Shares a value already behind an `Arc`.
    pub fn from_arc(value: Arc<T>) -> Self {
        Shared {
            digest: digest(&*value),
            value,
        }
    }
}

impl<T> Shared<T> {
    /// The shared value itself, for a move to change a copy of.
    pub fn arc(&self) -> &Arc<T> {
        &self.value
    }

    /// Whether `other` is this very value, not a copy.
    pub fn same(&self, other: &Arc<T>) -> bool {
        Arc::ptr_eq(&self.value, other)
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            value: Arc::clone(&self.value),
            digest: self.digest,
        }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Eq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && (Arc::ptr_eq(&self.value, &other.value) || self.value == other.value)
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.digest.hash(h);
    }
}

/// A fixed 64-bit digest of everything `value` feeds a hasher. The bytes
/// are collected and hashed at once with XXH3: hashing each of the many
/// small fields on its own, as a streaming hasher does, costs several
/// times more. Each thread reuses one buffer, grown to the largest value
/// it has digested, so collecting does not allocate.
fn digest<T: Hash + ?Sized>(value: &T) -> u64 {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut bytes = Collect(std::mem::take(&mut *buffer.borrow_mut()));
        bytes.0.clear();
        value.hash(&mut bytes);
        let digest = bytes.finish();
        *buffer.borrow_mut() = bytes.0;
        digest
    })
}

/// A hasher that collects the bytes it is fed.
struct Collect(Vec<u8>);

impl Hasher for Collect {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        xxh3_64(&self.0)
    }
}

/// A state of the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    /// The store.
    pub store: Store,
    /// The agents (sorted into a canonical order under symmetry).
    pub agents: Vec<Agent>,
    /// Crashes so far.
    pub crashes: u8,
    /// The message of an engine panic, which ends the run.
    pub panic: Option<String>,
}

impl State {
    /// Whether no action is left: every agent finished, the store refused
    /// to open, or the engine panicked.
    pub fn is_terminal(&self) -> bool {
        self.panic.is_some()
            || match self.store {
                Store::Up(_) => !self.agents.iter().any(|a| a.has_work()),
                Store::Down(_) => false,
                Store::Corrupt => true,
            }
    }

    /// The history index the simulator gives the next op: the setup's two
    /// ops, an invoke for every transaction begun, a completion for every
    /// one finished, and a crash and a recover op per crash.
    pub fn next_history_index(&self) -> u64 {
        let started: usize = self
            .agents
            .iter()
            .map(|a| 2 * a.done.len() + usize::from(a.running.is_some()))
            .sum();
        2 + started as u64 + 2 * u64::from(self.crashes)
    }

    /// Every finished transaction.
    pub fn finished(&self) -> impl Iterator<Item = &Done> {
        self.agents.iter().flat_map(|a| a.done.iter().map(|d| &**d))
    }

    /// The process dies: the store's disk is kept as it is (the image is
    /// drawn at recovery), and every open transaction's outcome is unknown.
    pub fn crash(&mut self) {
        let store = std::mem::replace(&mut self.store, Store::Corrupt);
        let Store::Up(core) = store else {
            unreachable!("only an open store crashes")
        };
        let epoch = self.crashes;
        for agent in &mut self.agents {
            if let Some(t) = agent.running.clone() {
                let mut done = agent.done.clone();
                done.push(Arc::new(Done::new(t, Completion::Info("crash"), epoch, true)));
                *agent = Agent::new(Work {
                    remaining: agent.remaining,
                    running: None,
                    done,
                });
            }
        }
        self.crashes += 1;
        let disk = match Arc::try_unwrap(core.value) {
            Ok(core) => core.into_storage(),
            Err(shared) => shared.storage().clone(),
        };
        self.store = Store::Down(Shared::new(disk));
    }
}

/// The key that orders interchangeable agents: progress first (cheap to
/// compare), then the digest.
fn order_key(a: &Agent) -> impl Ord {
    let running = a.running.as_ref().map(|t| (t.kind, t.phase, t.ops.len()));
    (a.remaining, a.done.len(), running, a.digest)
}

/// Puts agents in a canonical order, so states that differ only in which
/// agent is which are one state.
pub fn canonicalize(agents: &mut [Agent]) {
    agents.sort_by_key(order_key);
}

/// The canonical order of `agents` as a permutation (new position -> old
/// position): the order [`canonicalize`] sorts them into, as both sorts
/// are stable on the same key.
pub fn canonical_order(agents: &[Agent]) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..agents.len()).collect();
    perm.sort_by_key(|&i| order_key(&agents[i]));
    perm
}
