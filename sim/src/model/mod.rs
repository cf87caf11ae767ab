//! Exhaustive model checking of the real engine with stateright.
//!
//! Random simulation samples interleavings; this module visits all of them
//! for a small configuration. A state is the real engine (`Core<SimDisk>`,
//! plain data, so it is cloned and hashed whole), each agent's transaction
//! in progress (the simulator's own [`Running`] state machine, stepped by
//! [`agents::step`] one engine call at a time), and each finished
//! transaction's observations and outcome with the crash epoch it ran in.
//! Nothing records the order in which agents interleaved, so interleavings
//! that reach the same store and the same observations merge.
//!
//! Actions are one step of one agent (the first step of a transaction
//! comes in one variant per workload decision the simulator could draw), a
//! crash before a step or at the k-th storage call inside one, and a
//! recovery, which picks how the crash treated the unsynced WAL tail (see
//! [`crash`]). Every action corresponds to decisions of the simulator's
//! streams, so a path replays in `occsim run --choices` (see [`replay`]).
//!
//! Properties: cheap invariants at every state (money is conserved in the
//! committed state, sequence numbers increase, the engine never panics),
//! the full checker verdict at terminal states (a native history built
//! from the state, see [`history`]), and `sometimes` properties proving
//! that the exploration reaches what matters.

mod check;
mod crash;
mod history;
mod properties;
mod replay;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use checker::{KeyRange, MicroOp, ReadValue, Verdict, Version};
use engine::{Core, Error, Mutant, Options, SyncPolicy};
use stateright::{Model, Property};

use crate::agents::{self, account, encode, Ctx, Running, Step};
use crate::decisions::{Choice, Decisions, Stream};
use crate::disk::SimDisk;
use crate::panics;
use crate::recorder::Completion;
use crate::run::pick_workload;
use crate::scenario::{FaultConfig, Scenario, StoreConfig, Workload, WorkloadConfig};

pub use check::{check, Report};
pub use crash::Outcome;
pub use properties::{names, property_kind, COVERAGE, INVARIANTS};
pub use replay::Counterexample;

/// The workloads the model runs by default: together they can express
/// most planted bugs, and none names a key after its agent, so agents stay
/// interchangeable and symmetry reduction applies.
pub const DEFAULT_WORKLOADS: [Workload; 3] = [Workload::Transfer, Workload::Counter, Workload::Constraint];

/// Each account's starting balance. Transfers move 1, so a balance of 1
/// makes both committed and refused (read-only) transfers reachable.
const INITIAL_BALANCE: u64 = 1;

/// What to check: a small configuration of the simulator's workloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Concurrent agents.
    pub agents: u32,
    /// Transactions per agent.
    pub txns: u32,
    /// Bank accounts.
    pub accounts: u32,
    /// The most crashes on one path.
    pub crashes: u32,
    /// The commit log's capacity N.
    pub ring: usize,
    /// A planted bug to turn on.
    pub mutant: Option<Mutant>,
    /// The workloads each transaction is drawn from.
    pub workloads: Vec<Workload>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            agents: 2,
            txns: 1,
            accounts: 2,
            crashes: 1,
            ring: 1,
            mutant: None,
            workloads: DEFAULT_WORKLOADS.to_vec(),
        }
    }
}

impl Config {
    /// Checks that the configuration is one the model can explore.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(bool, &str); 6] = [
            ((1..=6).contains(&self.agents), "--agents must be in 1..=6"),
            ((1..=4).contains(&self.txns), "--txns must be in 1..=4"),
            ((2..=6).contains(&self.accounts), "--accounts must be in 2..=6"),
            (self.crashes <= 4, "--crashes must be in 0..=4"),
            ((1..=64).contains(&self.ring), "--ring must be in 1..=64"),
            (
                !self.workloads.is_empty(),
                "--workloads must name at least one workload",
            ),
        ];
        if let Some((_, message)) = checks.iter().find(|(ok, _)| !ok) {
            return Err((*message).to_owned());
        }
        if self.workloads.contains(&Workload::LongReader) {
            return Err(
                "--workloads: long-reader sleeps on the clock, which the model does not have".to_owned(),
            );
        }
        Ok(())
    }

    /// A name for the configuration, used for its report directory.
    pub fn name(&self) -> String {
        let mutant = self.mutant.map(|m| format!("-{m}")).unwrap_or_default();
        format!(
            "model-a{}-t{}-k{}-c{}-r{}{mutant}",
            self.agents, self.txns, self.accounts, self.crashes, self.ring
        )
    }

    /// The simulator scenario whose runs the model explores: no retries,
    /// no fsync failures or bit flips, one-byte sectors (so a torn write can
    /// garble exactly one record's value), and a crash probability strictly
    /// between 0 and 1 so that a forced decision can say yes or no.
    pub fn scenario(&self) -> Scenario {
        Scenario {
            name: self.name(),
            store: StoreConfig {
                ring_capacity: self.ring,
                ..StoreConfig::default()
            },
            workload: WorkloadConfig {
                agents: self.agents,
                txns_per_agent: self.txns,
                accounts: self.accounts,
                initial_balance: INITIAL_BALANCE,
                max_amount: 1,
                counters: 1,
                constraint_pairs: 1,
                registrations: 1,
                max_retries: 0,
                mix: self.workloads.iter().map(|&w| (w, 1)).collect(),
                ..WorkloadConfig::default()
            },
            faults: FaultConfig {
                crash: 0.5,
                fsync_failure: 0.0,
                bit_flip: 0.0,
                sector_size: 1,
                ..FaultConfig::default()
            },
        }
    }

    /// Whether agents are interchangeable: no workload in the mix names a
    /// key after its agent (range writes `items-seen/<agent>`).
    pub fn symmetric(&self) -> bool {
        !self.workloads.contains(&Workload::Range)
    }
}

/// The store: open, crashed (the disk as the process left it, before the
/// crash image is drawn), or refused by recovery as corrupt.
// The store is up in nearly every state: boxing the large variant would
// only add an allocation to every clone.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Store {
    /// Open.
    Up(Core<SimDisk>),
    /// Crashed; recovery is the only action.
    Down(SimDisk),
    /// Recovery refused the crash image as damaged; the run ends here.
    Corrupt,
}

/// A finished transaction: what it observed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Its micro-ops.
    pub mops: Vec<MicroOp>,
    /// The versions parallel to `mops`.
    pub versions: Vec<Version>,
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
    fn new(t: Running, completion: Completion, epoch: u8, at_crash: bool) -> Self {
        Done {
            mops: t.mops,
            versions: t.versions,
            snapshot: t.snapshot,
            completion,
            epoch,
            at_crash,
        }
    }

    fn commit_seq(&self) -> Option<u64> {
        match self.completion {
            Completion::Ok { commit_seq } => commit_seq,
            _ => None,
        }
    }
}

impl Hash for Done {
    fn hash<H: Hasher>(&self, h: &mut H) {
        hash_ops(&self.mops, &self.versions, h);
        self.snapshot.hash(h);
        self.completion.hash(h);
        self.epoch.hash(h);
        self.at_crash.hash(h);
    }
}

/// One agent: transactions not yet begun, the one in progress, the
/// finished ones in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Transactions not yet begun.
    pub remaining: u32,
    /// The transaction in progress.
    pub running: Option<Running>,
    /// The finished ones, oldest first.
    pub done: Vec<Done>,
}

impl Agent {
    fn has_work(&self) -> bool {
        self.remaining > 0 || self.running.is_some()
    }
}

impl Hash for Agent {
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
                t.amount.hash(h);
                t.values.hash(h);
                t.stamps.hash(h);
                hash_ops(&t.mops, &t.versions, h);
                t.snapshot.hash(h);
                t.invoke.hash(h);
                t.retries.hash(h);
            }
        }
        self.done.hash(h);
    }
}

/// Hashes micro-ops and versions field by field: the checker's types do
/// not implement `Hash`, and stateright identifies states by hash alone,
/// so every observed value must enter it.
fn hash_ops<H: Hasher>(mops: &[MicroOp], versions: &[Version], h: &mut H) {
    mops.len().hash(h);
    for m in mops {
        match m {
            MicroOp::Read { key, value } => {
                (0u8, key).hash(h);
                match value {
                    ReadValue::Scalar(v) => (0u8, v).hash(h),
                    ReadValue::List(l) => (1u8, l).hash(h),
                }
            }
            MicroOp::Write { key, value } => (1u8, key, value).hash(h),
            MicroOp::Append { key, element } => (2u8, key, element).hash(h),
            MicroOp::List(r) => {
                3u8.hash(h);
                match &r.range {
                    KeyRange::Prefix(p) => (0u8, p).hash(h),
                    KeyRange::Between { from, to } => (1u8, from, to).hash(h),
                }
                r.result.hash(h);
            }
        }
    }
    versions.len().hash(h);
    for v in versions {
        match v {
            Version::Absent => 0u8.hash(h),
            Version::Seq(s) => (1u8, s).hash(h),
            Version::Own => 2u8.hash(h),
            Version::Range(pairs) => (3u8, pairs).hash(h),
        }
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
                Store::Up(_) => !self.agents.iter().any(Agent::has_work),
                Store::Down(_) => false,
                Store::Corrupt => true,
            }
    }

    /// The history index the simulator gives the next op: the setup's two
    /// ops, an invoke for every transaction begun, a completion for every
    /// one finished, and a crash and a recover op per crash.
    fn next_history_index(&self) -> u64 {
        let started: usize = self
            .agents
            .iter()
            .map(|a| 2 * a.done.len() + usize::from(a.running.is_some()))
            .sum();
        2 + started as u64 + 2 * u64::from(self.crashes)
    }

    fn finished(&self) -> impl Iterator<Item = &Done> {
        self.agents.iter().flat_map(|a| &a.done)
    }
}

/// A move: one step of the agent at a position, a crash before any step,
/// or a recovery that treats the unsynced tail as `Outcome` says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Move {
    /// One engine call of the agent at position `agent`. `start` picks the
    /// workload decisions of a new transaction; `crash_at` crashes the
    /// process at that storage call of the step (1-based).
    Step {
        /// The agent's position in the state.
        agent: usize,
        /// Index into the model's start decisions, for a new transaction.
        start: Option<usize>,
        /// The storage call at which the process dies, if it does.
        crash_at: Option<u64>,
    },
    /// The process crashes between steps.
    Crash,
    /// Recovery from the crash image `Outcome` describes.
    Recover(Outcome),
}

/// A stateright action: a move and the state it leads to. The successor
/// is computed when actions are listed, because whether a crash inside a
/// step is possible is only known by running the step (it is when the step
/// wrote to the disk); computing it once there wastes no work on crashes
/// at storage calls a step never makes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action {
    /// The move.
    pub what: Move,
    next: Box<State>,
}

/// The workload decisions that begin one transaction: the mix pick and
/// the agent's own draws, all on the workload stream.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Start {
    kind: Workload,
    choices: Vec<u64>,
}

/// The model: a configuration, the options the engine runs with, and the
/// start decisions enumerated once.
#[derive(Debug, Clone)]
pub struct OccModel {
    config: Config,
    scenario: Scenario,
    options: Options,
    starts: Vec<Start>,
    init: State,
    setup: Running,
    /// Keys whose versions the sequence-number invariant reads.
    watched: Vec<String>,
    total: i64,
    /// The invariants already reported as violated (see `properties`).
    claimed: Arc<Mutex<Vec<&'static str>>>,
}

/// Whether a transaction of `kind` writes its history index into the
/// store. The index depends on the interleaving, so only these carry it in
/// the state; for the others it would only keep equal states apart.
fn uses_invoke(kind: Workload) -> bool {
    matches!(
        kind,
        Workload::CreateIfAbsent | Workload::Range | Workload::LongReader
    )
}

/// Runs `f`, turning an engine panic into its message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panics::quietly(|| catch_unwind(AssertUnwindSafe(f)))
}

impl OccModel {
    /// Builds the model of a valid configuration.
    pub fn new(config: Config) -> Self {
        config.validate().expect("a validated configuration");
        let scenario = config.scenario();
        let options = Options {
            ring_capacity: config.ring,
            sync: SyncPolicy::EveryCommit,
            checkpoint_wal_bytes: scenario.store.checkpoint_wal_bytes,
            mutant: config.mutant,
        };
        let (core, setup) = setup(&scenario, &options);
        let starts = enumerate_starts(&scenario, &core);
        let w = &scenario.workload;
        let mut watched: Vec<String> = (0..u64::from(w.accounts))
            .map(|i| account(i).into_string())
            .collect();
        watched.extend(agents::constraint_pair(0).map(|k| k.into_string()));
        watched.push("ctr/0".to_owned());
        let init = State {
            store: Store::Up(core),
            agents: vec![
                Agent {
                    remaining: config.txns,
                    running: None,
                    done: Vec::new(),
                };
                config.agents as usize
            ],
            crashes: 0,
            panic: None,
        };
        OccModel {
            total: i64::from(w.accounts) * w.initial_balance as i64,
            config,
            scenario,
            options,
            starts,
            init,
            setup,
            watched,
            claimed: Arc::default(),
        }
    }

    /// Whether to report invariant `name` as holding: when it holds, or
    /// when another state already reported it violated.
    fn holds(&self, name: &'static str, holds: bool) -> bool {
        if holds {
            return true;
        }
        let mut claimed = self.claimed.lock().expect("no thread panics holding the claims");
        if claimed.contains(&name) {
            return true;
        }
        claimed.push(name);
        false
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The scenario a counterexample replays in.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// How many ways a transaction can begin.
    pub fn start_count(&self) -> usize {
        self.starts.len()
    }

    /// Applies an action without canonicalizing the agents' order.
    fn apply_raw(&self, state: &State, action: &Move) -> Option<State> {
        match *action {
            Move::Step {
                agent,
                start,
                crash_at,
            } => self.step(state, agent, start, crash_at),
            Move::Crash => {
                let mut next = state.clone();
                crash(&mut next);
                Some(next)
            }
            Move::Recover(outcome) => {
                let Store::Down(disk) = &state.store else {
                    unreachable!("recovery follows a crash")
                };
                let mut next = state.clone();
                match guarded(|| crash::recover(disk, outcome, &self.options)) {
                    Ok(Ok(core)) => next.store = Store::Up(core),
                    Ok(Err(Error::Corrupt(_))) => next.store = Store::Corrupt,
                    Ok(Err(e)) => next.panic = Some(format!("recovery from a crash image failed with {e}")),
                    Err(message) => next.panic = Some(message),
                }
                Some(next)
            }
        }
    }

    fn successor(&self, state: &State, what: Move) -> Option<Action> {
        let (next, _) = self.apply(state, &what)?;
        Some(Action {
            what,
            next: Box::new(next),
        })
    }

    /// Applies a move and puts the agents in canonical order; returns
    /// the permutation (new position -> old position).
    fn apply(&self, state: &State, action: &Move) -> Option<(State, Vec<usize>)> {
        let mut next = self.apply_raw(state, action)?;
        let perm = if self.config.symmetric() {
            canonicalize(&mut next.agents)
        } else {
            (0..next.agents.len()).collect()
        };
        Some((next, perm))
    }

    fn step(&self, state: &State, p: usize, start: Option<usize>, crash_at: Option<u64>) -> Option<State> {
        let mut next = state.clone();
        let epoch = next.crashes;
        let invoke = next.next_history_index();
        let Store::Up(core) = &mut next.store else {
            unreachable!("agents step while the store is up")
        };
        let agent = &mut next.agents[p];
        let (mut running, mut d, forced) = match (agent.running.take(), start) {
            (Some(t), None) => (t, Decisions::forced(Vec::new()), 0),
            (None, Some(i)) => {
                agent.remaining -= 1;
                let s = &self.starts[i];
                let mut d =
                    Decisions::forced(s.choices.iter().map(|&v| Choice(Stream::Workload, v)).collect());
                let kind = pick_workload(&mut d, &self.scenario);
                assert_eq!(kind, s.kind, "the start decisions pick their workload");
                let invoke = if uses_invoke(kind) { invoke } else { 0 };
                (Running::new(kind, invoke, 0), d, s.choices.len())
            }
            _ => unreachable!("a new transaction has start decisions, a running one none"),
        };
        if let Some(k) = crash_at {
            core.storage_mut().arm_crash(k);
        }
        let stepped = guarded(|| {
            let mut ctx = Ctx {
                core: &mut *core,
                d: &mut d,
                scenario: &self.scenario,
                agent: p as u32,
                now: 0,
            };
            agents::step(&mut ctx, &mut running)
        });
        let crashed = core.storage().crashed();
        core.storage_mut().disarm();
        assert!(
            d.log().len() == forced && d.mismatches() == 0,
            "an agent's decisions do not depend on the store"
        );
        match stepped {
            Err(message) => {
                next.panic = Some(message);
                return Some(next);
            }
            Ok(Step::Continue { .. }) => agent.running = Some(running),
            Ok(Step::Done(completion)) => agent.done.push(Done::new(running, completion, epoch, false)),
        }
        match crash_at {
            Some(_) if !crashed => None,
            Some(_) => {
                crash(&mut next);
                Some(next)
            }
            None => Some(next),
        }
    }

    /// The checker's verdict on the history `state` records, with an
    /// engine panic added as the simulator adds it.
    pub fn verdict(&self, state: &State) -> Verdict {
        let history = history::build(self, state);
        let mut verdict = match checker::check(&history, &checker::CheckOptions::default()) {
            Ok(checked) => checked.verdict,
            Err(e) => panic!("the model built a history the checker cannot read: {e}"),
        };
        if let Some(message) = &state.panic {
            verdict.violations.push(checker::Violation {
                check: "engine-assertion".into(),
                kind: "panic".into(),
                txns: Vec::new(),
                explanation: format!("the engine panicked: {message}"),
            });
            verdict.anomaly_types.push("panic".into());
            verdict.anomaly_types.sort();
            verdict.valid = false;
        }
        verdict
    }
}

/// Puts agents in a canonical order, so states that differ only in which
/// agent is which are one state: by progress first (cheap to compare),
/// then by a fixed hash of the whole agent. Returns the permutation
/// applied (new position -> old position).
fn canonicalize(agents: &mut Vec<Agent>) -> Vec<usize> {
    let progress = |a: &Agent| {
        let running = a.running.as_ref().map(|t| (t.kind, t.phase, t.mops.len()));
        (a.remaining, a.done.len(), running)
    };
    let digest = |a: &Agent| {
        let mut h = DefaultHasher::new();
        a.hash(&mut h);
        h.finish()
    };
    let mut perm: Vec<usize> = (0..agents.len()).collect();
    perm.sort_by(|&i, &j| {
        let (a, b) = (&agents[i], &agents[j]);
        progress(a)
            .cmp(&progress(b))
            .then_with(|| digest(a).cmp(&digest(b)))
    });
    if perm.iter().enumerate().any(|(i, &p)| i != p) {
        let mut slots: Vec<Option<Agent>> = std::mem::take(agents).into_iter().map(Some).collect();
        *agents = perm
            .iter()
            .map(|&i| slots[i].take().expect("a permutation"))
            .collect();
    }
    perm
}

/// The process dies: the store's disk is kept as it is (the image is
/// drawn at recovery), and every open transaction's outcome is unknown.
fn crash(state: &mut State) {
    let store = std::mem::replace(&mut state.store, Store::Corrupt);
    let Store::Up(core) = store else {
        unreachable!("only an open store crashes")
    };
    let epoch = state.crashes;
    for agent in &mut state.agents {
        if let Some(t) = agent.running.take() {
            agent
                .done
                .push(Done::new(t, Completion::Info("crash"), epoch, true));
        }
    }
    state.crashes += 1;
    state.store = Store::Down(core.into_storage());
}

/// Opens a fresh store and commits the initial state as the simulator's
/// setup does; returns the store and the setup transaction.
fn setup(scenario: &Scenario, options: &Options) -> (Core<SimDisk>, Running) {
    let w = &scenario.workload;
    let mut core = Core::open(SimDisk::default(), options.clone()).expect("an empty disk opens");
    let mut t = Running::new(Workload::Transfer, 0, 0);
    let mut txn = core.begin();
    t.snapshot = Some(0);
    let mut put = |key: &str, value: i64| {
        txn.put(key.as_bytes(), &encode(value)).expect("small");
        t.mops.push(MicroOp::write(key, value));
        t.versions.push(Version::Absent);
    };
    for i in 0..u64::from(w.accounts) {
        put(&account(i), w.initial_balance as i64);
    }
    for p in 0..u64::from(w.constraint_pairs) {
        for key in agents::constraint_pair(p) {
            put(&key, w.max_amount as i64);
        }
    }
    let seq = core.commit(&txn).expect("the setup commits on a fresh store").seq;
    assert_eq!(seq, Some(1), "the setup is the first commit");
    (core, t)
}

/// Enumerates every workload decision sequence that can begin a
/// transaction, by running the first step with forced decisions as an
/// odometer: raise the last decision until it is out of range (a forced
/// value out of range counts as a mismatch), then carry to the one before.
/// Decisions left unforced are 0, so each run extends the prefix with the
/// zero choices of whatever decisions it goes on to make.
fn enumerate_starts(scenario: &Scenario, core: &Core<SimDisk>) -> Vec<Start> {
    let attempt = |prefix: &[u64]| -> Option<Start> {
        let mut core = core.clone();
        let mut d = Decisions::forced(prefix.iter().map(|&v| Choice(Stream::Workload, v)).collect());
        let kind = pick_workload(&mut d, scenario);
        let mut t = Running::new(kind, 0, 0);
        let mut ctx = Ctx {
            core: &mut core,
            d: &mut d,
            scenario,
            agent: 0,
            now: 0,
        };
        agents::step(&mut ctx, &mut t);
        (d.mismatches() == 0).then(|| Start {
            kind,
            choices: d.log().iter().map(|c| c.1).collect(),
        })
    };
    let mut starts = Vec::new();
    let mut prefix: Vec<u64> = Vec::new();
    loop {
        match attempt(&prefix) {
            Some(start) => {
                prefix.clone_from(&start.choices);
                starts.push(start);
            }
            None => {
                prefix.pop();
            }
        }
        match prefix.last_mut() {
            Some(v) => *v += 1,
            None => return starts,
        }
    }
}

impl Model for OccModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.init.clone()]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        if state.panic.is_some() {
            return;
        }
        let core = match &state.store {
            Store::Corrupt => return,
            Store::Down(disk) => {
                let outcomes = crash::outcomes(disk).into_iter();
                actions.extend(outcomes.filter_map(|o| self.successor(state, Move::Recover(o))));
                return;
            }
            Store::Up(core) => core,
        };
        let crash_left = u32::from(state.crashes) < self.config.crashes;
        let symmetric = self.config.symmetric();
        for (p, agent) in state.agents.iter().enumerate() {
            if !agent.has_work() || (symmetric && p > 0 && state.agents[p - 1] == *agent) {
                continue;
            }
            if agent.running.is_none() {
                let starts = (0..self.starts.len()).map(|i| Move::Step {
                    agent: p,
                    start: Some(i),
                    crash_at: None,
                });
                actions.extend(starts.filter_map(|m| self.successor(state, m)));
                continue;
            }
            let step = |crash_at| Move::Step {
                agent: p,
                start: None,
                crash_at,
            };
            let Some(plain) = self.successor(state, step(None)) else {
                continue;
            };
            let wrote = matches!(&*plain.next, State { store: Store::Up(c), .. } if c.storage().mem() != core.storage().mem());
            actions.push(plain);
            if crash_left && wrote {
                actions.extend((1..=3).filter_map(|k| self.successor(state, step(Some(k)))));
            }
        }
        if crash_left && state.agents.iter().any(Agent::has_work) {
            actions.extend(self.successor(state, Move::Crash));
        }
    }

    fn next_state(&self, _: &State, action: Action) -> Option<State> {
        Some(*action.next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all()
    }
}
