//! Exhaustive model checking of the real engine with stateright.
//!
//! Random simulation samples interleavings; this module visits all of them
//! for a small configuration. A state (see [`state`]) is the real engine,
//! each agent's transaction in progress (the simulator's own
//! [`Running`](crate::agents::Running) state machine, stepped by
//! [`agents::step`] one engine call at a time) and finished transactions'
//! observations, and the crashes so far; interleavings that reach the same
//! store and the same observations merge.
//!
//! Actions (see [`moves`]) are one step of one agent, a crash before a step
//! or at the k-th storage call inside one, and a recovery, which picks how
//! the crash treated the unsynced WAL tail (see [`crash`]). Every action
//! corresponds to decisions of the simulator's streams, so a path replays
//! in `occsim run --choices` (see [`replay`]).
//!
//! Properties: cheap invariants at every state (money is conserved in the
//! committed state, sequence numbers increase, the engine never panics),
//! the full checker verdict at terminal states (a native history built
//! from the state, see [`history`]), and `sometimes` properties proving
//! that the exploration reaches what matters. Recoveries and verdicts are
//! computed once for every state that shares them (see [`memo`]).

mod check;
mod config;
mod crash;
mod history;
mod memo;
mod moves;
mod properties;
mod replay;
mod state;

use std::sync::Arc;

use checker::{Meta, Verdict};
use engine::{Options, SyncPolicy};
use stateright::{Model, Property};

use crate::agents::{self, account, Running};
use crate::scenario::Scenario;

pub use check::{check, Report};
pub use config::{Config, DEFAULT_WORKLOADS};
pub use crash::Outcome;
pub use moves::{Action, Move};
pub use properties::{names, property_kind, COVERAGE, INVARIANTS};
pub use replay::Counterexample;
pub use state::{Agent, Done, Shared, State, Store, Work};

use memo::Memo;
use moves::{enumerate_starts, setup, Start};
use properties::Claims;

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
    /// Keys whose versions the sequence-number invariant reads, the
    /// accounts first (the money invariant sums those).
    watched: Vec<String>,
    total: i64,
    /// The meta line of every history the model builds.
    meta: Meta,
    /// The properties already reported (see `properties`).
    claims: Arc<Claims>,
    /// Recoveries and verdicts shared between states.
    memo: Arc<Memo>,
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
            store: Store::Up(Shared::new(core)),
            agents: vec![
                Agent::new(Work {
                    remaining: config.txns,
                    running: None,
                    done: Vec::new(),
                });
                config.agents as usize
            ],
            crashes: 0,
            panic: None,
        };
        let total = i64::from(w.accounts) * w.initial_balance as i64;
        OccModel {
            meta: history::meta(&scenario, total),
            total,
            config,
            scenario,
            options,
            starts,
            init,
            setup,
            watched,
            claims: Arc::default(),
            memo: Arc::default(),
        }
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

    /// Whether the checker finds the history `state` records valid, taken
    /// once for every history however many terminal states share it.
    fn history_valid(&self, state: &State) -> bool {
        self.memo.verdict(state, || self.verdict(state).valid)
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
                let outcomes = self.recoveries(disk).iter().map(|(o, _)| *o).collect::<Vec<_>>();
                actions.extend(
                    outcomes
                        .into_iter()
                        .filter_map(|o| self.successor(state, Move::Recover(o))),
                );
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
            let wrote = matches!(&plain.next, State { store: Store::Up(c), .. } if !c.same(core.arc()) && c.storage().mem() != core.storage().mem());
            actions.push(plain);
            if crash_left && wrote {
                actions.extend((1..=3).filter_map(|k| self.successor(state, step(Some(k)))));
            }
        }
        if crash_left && state.agents.iter().any(|a| a.has_work()) {
            actions.extend(self.successor(state, Move::Crash));
        }
    }

    fn next_state(&self, _: &State, action: Action) -> Option<State> {
        Some(action.next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all()
    }
}
