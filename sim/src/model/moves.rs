//! The moves of the model and the states they lead to.
//!
//! A move is one step of one agent (the first step of a transaction comes
//! in one variant per workload decision the simulator could draw), a crash
//! before a step or at the k-th storage call inside one, or a recovery,
//! which picks how the crash treated the unsynced WAL tail (see [`crash`]).
//! Every move corresponds to decisions of the simulator's streams, so a
//! path replays in `occsim run --choices` (see `replay`).
//!
//! [`crash`]: super::crash

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use engine::{Core, Error, Options};

use super::crash::{self, Outcome};
use super::memo::{Recovered, Recoveries};
use super::state::{canonical_order, canonicalize, Agent, Done, Shared, State, Store, Work};
use super::OccModel;
use crate::agents::{self, account, encode, Ctx, Key, Running, Step};
use crate::decisions::{Choice, Decisions, Stream};
use crate::disk::SimDisk;
use crate::panics;
use crate::run::pick_workload;
use crate::scenario::{Scenario, Workload};

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
    pub(super) next: State,
}

/// The workload decisions that begin one transaction: the mix pick and
/// the agent's own draws, all on the workload stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub(super) kind: Workload,
    pub(super) choices: Vec<u64>,
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
    /// Applies a move and puts the agents in canonical order; returns
    /// the permutation (new position -> old position).
    pub(super) fn apply(&self, state: &State, action: &Move) -> Option<(State, Vec<usize>)> {
        let mut next = self.apply_raw(state, action)?;
        let perm = if self.config.symmetric() {
            canonical_order(&next.agents)
        } else {
            (0..next.agents.len()).collect()
        };
        next.agents = perm.iter().map(|&i| next.agents[i].clone()).collect();
        Some((next, perm))
    }

    /// The action of `what` from `state`, if the move is possible: the
    /// state `apply` leads to, sorted in place.
    pub(super) fn successor(&self, state: &State, what: Move) -> Option<Action> {
        let mut next = self.apply_raw(state, &what)?;
        if self.config.symmetric() {
            canonicalize(&mut next.agents);
        }
        Some(Action { what, next })
    }

    /// The recoveries the crashed `disk` allows, each computed once per
    /// distinct disk.
    pub(super) fn recoveries(&self, disk: &Shared<SimDisk>) -> Recoveries {
        self.memo.recoveries(disk, || {
            crash::outcomes(disk)
                .into_iter()
                .map(|outcome| (outcome, self.recover(disk, outcome)))
                .collect()
        })
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
                next.crash();
                Some(next)
            }
            Move::Recover(outcome) => {
                let Store::Down(disk) = &state.store else {
                    unreachable!("recovery follows a crash")
                };
                let recoveries = self.recoveries(disk);
                let (_, recovered) = recoveries
                    .iter()
                    .find(|(o, _)| *o == outcome)
                    .expect("a recovery the crashed disk allows");
                let (store, panic) = match recovered {
                    Recovered::Up(core) => (Store::Up(core.clone()), None),
                    Recovered::Corrupt => (Store::Corrupt, None),
                    Recovered::Failed(message) => (state.store.clone(), Some(message.clone())),
                };
                Some(State {
                    store,
                    agents: state.agents.clone(),
                    crashes: state.crashes,
                    panic,
                })
            }
        }
    }

    /// Recovers from the image `outcome` makes of `disk`.
    fn recover(&self, disk: &SimDisk, outcome: Outcome) -> Recovered {
        match guarded(|| crash::recover(disk, outcome, &self.options)) {
            Ok(Ok(core)) => Recovered::Up(Shared::new(core)),
            Ok(Err(Error::Corrupt(_))) => Recovered::Corrupt,
            Ok(Err(e)) => Recovered::Failed(format!("recovery from a crash image failed with {e}")),
            Err(message) => Recovered::Failed(message),
        }
    }

    /// One step of the agent at `p`, on a store shared with `state` until
    /// the step writes to it.
    fn step(&self, state: &State, p: usize, start: Option<usize>, crash_at: Option<u64>) -> Option<State> {
        let Store::Up(shared) = &state.store else {
            unreachable!("agents step while the store is up")
        };
        let before = &state.agents[p];
        let mut remaining = before.remaining;
        let (mut running, mut d, forced) = match (&before.running, start) {
            (Some(t), None) => (t.clone(), Decisions::forced(Vec::new()), 0),
            (None, Some(i)) => {
                remaining -= 1;
                let s = &self.starts[i];
                let mut d =
                    Decisions::forced(s.choices.iter().map(|&v| Choice(Stream::Workload, v)).collect());
                let kind = pick_workload(&mut d, &self.scenario);
                assert_eq!(kind, s.kind, "the start decisions pick their workload");
                let invoke = if uses_invoke(kind) {
                    state.next_history_index()
                } else {
                    0
                };
                (Running::new(kind, invoke, 0), d, s.choices.len())
            }
            _ => unreachable!("a new transaction has start decisions, a running one none"),
        };
        let mut core = Arc::clone(shared.arc());
        if let Some(k) = crash_at {
            Arc::make_mut(&mut core).storage_mut().arm_crash(k);
        }
        let stepped = guarded(|| {
            let mut ctx = Ctx {
                core: &mut core,
                d: &mut d,
                scenario: &self.scenario,
                agent: p as u32,
                now: 0,
            };
            agents::step(&mut ctx, &mut running)
        });
        let crashed = core.storage().crashed();
        if crash_at.is_some() {
            Arc::make_mut(&mut core).storage_mut().disarm();
        }
        assert!(
            d.log().len() == forced && d.mismatches() == 0,
            "an agent's decisions do not depend on the store"
        );
        let epoch = state.crashes;
        let mut done = before.done.clone();
        let (running, panic) = match stepped {
            Err(message) => (None, Some(message)),
            Ok(Step::Continue { .. }) => (Some(running), None),
            Ok(Step::Done(completion)) => {
                done.push(Arc::new(Done::new(running, completion, epoch, false)));
                (None, None)
            }
        };
        let mut agents = state.agents.clone();
        agents[p] = Agent::new(Work {
            remaining,
            running,
            done,
        });
        let store = if shared.same(&core) {
            shared.clone()
        } else {
            Shared::from_arc(core)
        };
        let mut next = State {
            store: Store::Up(store),
            agents,
            crashes: state.crashes,
            panic,
        };
        if next.panic.is_some() {
            return Some(next);
        }
        match crash_at {
            Some(_) if !crashed => None,
            Some(_) => {
                next.crash();
                Some(next)
            }
            None => Some(next),
        }
    }
}

/// Opens a fresh store and commits the initial state as the simulator's
/// setup does; returns the store and the setup transaction.
pub fn setup(scenario: &Scenario, options: &Options) -> (Core<SimDisk>, Running) {
    let w = &scenario.workload;
    let mut core = Core::open(SimDisk::default(), options.clone()).expect("an empty disk opens");
    let mut t = Running::new(Workload::Transfer, 0, 0);
    let mut txn = core.begin();
    t.snapshot = Some(0);
    let mut put = |key: &str, value: i64| {
        txn.put(key.as_bytes(), &encode(value)).expect("small");
        t.ops.write(Key::from(key), value);
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
pub fn enumerate_starts(scenario: &Scenario, core: &Core<SimDisk>) -> Vec<Start> {
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
