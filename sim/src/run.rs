//! One simulation: a scenario and a seed in, a history, statistics and a
//! verdict out.
//!
//! The run is single-threaded and every decision goes through
//! [`Decisions`], so the same seed (or the same forced decision sequence)
//! and the same build give the same run, byte for byte. Each step either
//! injects a fault or runs one engine call of one agent chosen by the
//! scheduler; time is a logical tick that advances one per step (and jumps
//! ahead when every agent is sleeping).

use std::panic::{catch_unwind, AssertUnwindSafe};

use checker::{CheckOptions, Function, Meta, Model, Verdict, Violation};
use engine::{Core, Error, Mutant, Options, SyncPolicy};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::agents::{self, account, encode, Ctx, Key, Running, Step};
use crate::decision_log::DecisionLog;
use crate::decisions::{self, Choice, Decisions, Stream};
use crate::disk::SimDisk;
use crate::panics;
use crate::recorder::{Completion, RecordedHistory, Recorder};
use crate::scenario::{Scenario, Workload};
use crate::schedule::{Agents, Due};
use crate::trace::Trace;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The scenario.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// A planted bug to turn on.
    pub mutant: Option<Mutant>,
    /// A forced decision sequence to follow instead of the seed's draws.
    pub choices: Option<Vec<Choice>>,
    /// Whether to keep the decision log (for reports and shrinking).
    pub record_decisions: bool,
    /// Whether to keep the history (a benchmark may not).
    pub record_history: bool,
    /// Whether to check the history.
    pub check: bool,
}

impl RunSpec {
    /// A checked, fully recorded run of `scenario` with `seed`.
    pub fn new(scenario: Scenario, seed: u64) -> Self {
        RunSpec {
            scenario,
            seed,
            mutant: None,
            choices: None,
            record_decisions: true,
            record_history: true,
            check: true,
        }
    }
}

/// Transaction aborts by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aborted {
    /// Validation conflicts.
    pub conflict: u64,
    /// Snapshots older than the commit log.
    pub snapshot_too_old: u64,
    /// Deno-style checks that failed.
    pub check_failed: u64,
    /// Commits refused while the store was poisoned.
    pub unavailable: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Scheduler steps taken.
    pub steps: u64,
    /// Transactions completed (each try counts).
    pub txns: u64,
    /// Committed ones.
    pub committed: u64,
    /// Aborted ones, by reason.
    pub aborted: Aborted,
    /// Ones whose outcome is unknown.
    pub indeterminate: u64,
    /// Crashes (including restarts after fsync failures).
    pub crashes: u64,
    /// Successful recoveries.
    pub recoveries: u64,
    /// fsyncs that failed.
    pub fsync_failures: u64,
    /// Crashes while written data was not yet durable.
    pub crashes_with_unsynced_data: u64,
    /// Crashes that kept a write partially (cut or torn).
    pub torn_writes: u64,
    /// Recoveries that discarded a torn WAL tail.
    pub torn_tails_discarded: u64,
    /// Bit flips injected into durable data.
    pub bit_flips: u64,
    /// Times the engine refused to open damaged data (`Corrupt`).
    pub corruption_detected: u64,
    /// Checkpoints written (WAL generations).
    pub checkpoints: u64,
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    /// Every agent finished its transactions.
    Finished,
    /// The store refused to open damaged data; the run stopped there.
    CorruptionDetected,
    /// Agents did not finish within the liveness bound.
    Stuck,
    /// The engine panicked.
    Panicked,
}

/// A run's result.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The history (empty unless recorded), built on first read.
    pub history: RecordedHistory,
    /// What happened.
    pub stats: Stats,
    /// The checker's verdict plus the harness's own checks.
    pub verdict: Verdict,
    /// The trace hash.
    pub trace_hash: String,
    /// Every decision made, in order (empty unless recorded).
    pub decisions: DecisionLog,
    /// Why the run ended.
    pub end: End,
}

/// One agent.
#[derive(Debug)]
struct Agent {
    id: u32,
    remaining: u32,
    wake: u64,
    /// The agent's transaction, kept from one to the next: a new one is
    /// reset in place (`Running::restart`), which costs about 20 fewer
    /// instructions per transaction than building each and dropping it
    /// when it ended. `active` says whether it is running.
    running: Running,
    active: bool,
    /// A transaction that aborted and will be retried: its workload and
    /// how many tries it has had.
    retry: Option<(Workload, u32)>,
}

impl Agent {
    fn has_work(&self) -> bool {
        self.remaining > 0 || self.active || self.retry.is_some()
    }

    /// When the agent can step next: its wake tick, or `None` when it has
    /// no work left.
    fn due(&self) -> Option<u64> {
        self.has_work().then_some(self.wake)
    }
}

/// Fault probabilities in parts per million, converted once: the
/// simulator asks about each of them at every step.
struct FaultOdds {
    crash: Option<decisions::Ppm>,
    fsync_failure: Option<decisions::Ppm>,
    bit_flip: Option<decisions::Ppm>,
}

/// The whole simulated world.
struct Sim {
    spec: RunSpec,
    options: Options,
    core: Option<Core<SimDisk>>,
    d: Decisions,
    recorder: Recorder,
    trace: Trace,
    agents: Vec<Agent>,
    /// Each agent's `due()`, updated whenever its work or wake changes.
    due: Due,
    odds: FaultOdds,
    /// The workload mix, ready to draw from.
    mix: Mix,
    stats: Stats,
    now: u64,
    pending_flip: bool,
    /// The step at which a crash was armed at a storage call that has not
    /// come yet. A crash armed at the k-th storage call stays armed across
    /// steps that make no storage call (reads), so crashes land inside
    /// commits and checkpoints, between their writes and their fsyncs, not
    /// just between steps; if no such call comes within
    /// `CRASH_ARMED_STEPS`, the crash happens between steps.
    crash_armed_at: Option<u64>,
    extra: Vec<Violation>,
}

/// Decisions a transaction draws, for sizing the decision log: a transfer
/// draws ten (its workload, accounts and amount, and a scheduler and a
/// fault decision at each of its three steps); retries draw more, and a log
/// that outgrows its room is copied whole, so this errs on the large side.
const DECISIONS_PER_TXN: usize = 16;

/// The most transactions' worth of log and history reserved up front.
const RESERVE_TXNS: usize = 1 << 20;

/// How many steps an armed crash waits for its storage call.
const CRASH_ARMED_STEPS: u64 = 16;

/// Where a crash falls, by the value of its decision: 0 between steps,
/// else armed at that storage call from now (1-based). Half of all crashes
/// fall at the second call, which in a commit is its fsync right after its
/// WAL append: a commit in flight, which is what recovery bugs need to show.
/// The values 0 to 3 mean the crash point itself, so model-checker paths,
/// which record those, replay unchanged.
const CRASH_POINTS: [u64; 6] = [0, 1, 2, 3, 2, 2];

/// Runs a simulation. A panic inside the engine is caught and reported as
/// an `engine-assertion` violation with the history up to that point.
pub fn run(spec: RunSpec) -> RunResult {
    let mut sim = Sim::new(spec);
    let outcome = panics::quietly(|| catch_unwind(AssertUnwindSafe(|| sim.simulate())));
    let end = match outcome {
        Ok(end) => end,
        Err(message) => {
            sim.extra.push(Violation {
                check: "engine-assertion".into(),
                kind: "panic".into(),
                txns: Vec::new(),
                explanation: format!("the engine panicked at step {}: {message}", sim.stats.steps),
            });
            End::Panicked
        }
    };
    sim.finish(end)
}

impl Sim {
    fn new(spec: RunSpec) -> Self {
        let options = Options {
            ring_capacity: spec.scenario.store.ring_capacity,
            sync: SyncPolicy::EveryCommit,
            checkpoint_wal_bytes: spec.scenario.store.checkpoint_wal_bytes,
            mutant: spec.mutant,
        };
        let mut d = match &spec.choices {
            Some(choices) => Decisions::forced(choices.clone()),
            None => Decisions::seeded(spec.seed, spec.record_decisions),
        };
        // Room for what the run will record, so long runs do not copy their
        // logs as they grow: about three steps of a few decisions each per
        // transaction, and two history ops. Capped, so a scenario of
        // billions of transactions does not ask for it all at once.
        let txns = (spec.scenario.workload.agents as usize * spec.scenario.workload.txns_per_agent as usize)
            .min(RESERVE_TXNS);
        d.reserve(txns * DECISIONS_PER_TXN);
        let mut recorder = Recorder::new(spec.record_history);
        recorder.reserve(2 * txns + 1);
        let agents: Vec<Agent> = (0..spec.scenario.workload.agents)
            .map(|id| Agent {
                id,
                remaining: spec.scenario.workload.txns_per_agent,
                wake: 0,
                running: Running::new(Workload::Transfer, 0, 0),
                active: false,
                retry: None,
            })
            .collect();
        Sim {
            recorder,
            options,
            core: None,
            d,
            trace: Trace::default(),
            due: {
                let mut due = Due::new(agents.len());
                for (who, a) in agents.iter().enumerate() {
                    due.set(who, a.due());
                }
                due
            },
            mix: Mix::new(&spec.scenario),
            odds: FaultOdds {
                crash: decisions::ppm(spec.scenario.faults.crash),
                fsync_failure: decisions::ppm(spec.scenario.faults.fsync_failure),
                bit_flip: decisions::ppm(spec.scenario.faults.bit_flip),
            },
            agents,
            stats: Stats::default(),
            now: 0,
            pending_flip: false,
            crash_armed_at: None,
            extra: Vec::new(),
            spec,
        }
    }

    fn simulate(&mut self) -> End {
        let core = Core::open(SimDisk::default(), self.options.clone()).expect("an empty disk opens");
        self.core = Some(core);
        self.setup();
        let fault_steps = self.spec.scenario.faults.fault_steps;
        let liveness = self.spec.scenario.faults.liveness_steps;
        loop {
            let agents = self.scan_agents();
            if matches!(agents, Agents::Finished) {
                return End::Finished;
            }
            let faults_on = self.stats.steps < fault_steps;
            if !faults_on && self.stats.steps >= fault_steps + liveness {
                return End::Stuck;
            }
            let poisoned = self.core.as_ref().is_none_or(Core::is_poisoned);
            if poisoned && (!faults_on || self.d.chance(Stream::Faults, 0.2)) {
                if !self.crash_and_recover() {
                    return End::CorruptionDetected;
                }
                self.tick();
                continue;
            }
            if faults_on {
                if self.d.chance_ppm(Stream::Faults, self.odds.bit_flip) {
                    self.pending_flip = true;
                    self.stats.bit_flips += 1;
                }
                if self.d.chance_ppm(Stream::Faults, self.odds.fsync_failure) {
                    self.disk_mut().arm_sync_failure();
                }
                if self.crash_armed_at.is_none() && self.d.chance_ppm(Stream::Faults, self.odds.crash) {
                    match CRASH_POINTS[self.d.choose(Stream::Faults, CRASH_POINTS.len() as u64) as usize] {
                        0 => {
                            if !self.crash_and_recover() {
                                return End::CorruptionDetected;
                            }
                            self.tick();
                            continue;
                        }
                        k => {
                            self.disk_mut().arm_crash(k);
                            self.crash_armed_at = Some(self.stats.steps);
                        }
                    }
                }
            } else if self.crash_armed_at.take().is_some() {
                self.disk_mut().disarm();
            }
            self.step_one_agent(agents);
            self.tick();
            let overdue = self
                .crash_armed_at
                .is_some_and(|at| self.stats.steps - at >= CRASH_ARMED_STEPS);
            if (self.disk_mut().crashed() || overdue) && !self.crash_and_recover() {
                return End::CorruptionDetected;
            }
        }
    }

    /// One scheduler step (an agent's engine call or a fault) has passed.
    fn tick(&mut self) {
        self.stats.steps += 1;
        self.now += 1;
    }

    fn disk_mut(&mut self) -> &mut SimDisk {
        self.core
            .as_mut()
            .expect("the store is open between steps")
            .storage_mut()
    }

    /// Writes the initial state as an ordinary first transaction.
    fn setup(&mut self) {
        let w = &self.spec.scenario.workload;
        let process = u64::from(w.agents);
        let invoke = self.recorder.invoke(process, self.now);
        let mut t = Running::new(Workload::Transfer, invoke, 0);
        let core = self.core.as_mut().expect("open");
        t.txn = Some(core.begin());
        t.snapshot = Some(0);
        for i in 0..u64::from(w.accounts) {
            put(&mut t, &account(i), w.initial_balance as i64);
        }
        for p in 0..u64::from(w.constraint_pairs) {
            for key in agents::constraint_pair(p) {
                put(&mut t, &key, w.max_amount as i64);
            }
        }
        let txn = t.txn.take().expect("begun");
        let seq = core.commit(&txn).expect("the setup commits on a fresh store").seq;
        self.record(process, &t, &Completion::Ok { commit_seq: seq });
    }

    /// Finds which agents can step now, from their due ticks.
    fn scan_agents(&mut self) -> Agents {
        debug_assert!(
            (0..self.agents.len()).all(|who| self.due.get(who) == self.agents[who].due()),
            "every agent's due tick is up to date"
        );
        self.due.scan(self.now)
    }

    /// Brings agent `who`'s due tick up to date after its work or wake
    /// changed.
    fn refresh(&mut self, who: usize) {
        self.due.set(who, self.agents[who].due());
    }

    /// Picks a ready agent (as `scan_agents` listed them, with no agent's
    /// due tick set since) and runs one engine call of it; when all sleep,
    /// the clock jumps to the earliest wake.
    fn step_one_agent(&mut self, agents: Agents) {
        let ready = match agents {
            Agents::Ready(n) => n,
            Agents::Asleep(wake) => {
                assert!(wake > self.now);
                self.now = wake;
                return;
            }
            Agents::Finished => unreachable!("a finished run takes no step"),
        };
        let pick = self.d.choose(Stream::Scheduler, ready);
        let who = self.due.ready(self.now, pick);
        assert!(self.agents[who].has_work() && self.agents[who].wake <= self.now);
        self.trace.event(&[1, self.stats.steps, who as u64, self.now]);
        let starts = !self.agents[who].active && self.agents[who].retry.is_none();
        if starts && self.d.exhausted(Stream::Workload) {
            // A forced sequence whose workload decisions ran out begins no
            // new transactions (see `decisions`).
            self.agents.iter_mut().for_each(|a| a.remaining = 0);
            for who in 0..self.agents.len() {
                self.refresh(who);
            }
            return;
        }
        let agent = &mut self.agents[who];
        if !agent.active {
            let (kind, tries) = match agent.retry.take() {
                Some(retry) => retry,
                None => {
                    agent.remaining -= 1;
                    (self.mix.pick(&mut self.d), 0)
                }
            };
            let invoke = self.recorder.invoke(u64::from(agent.id), self.now);
            agent.running.restart(kind, invoke, tries);
            agent.active = true;
        }
        // The transaction is stepped where it lives: it is large (its engine
        // transaction keeps a few keys inline), and moving it out and back
        // every step would cost more than the step.
        let running = &mut agent.running;
        let mut ctx = Ctx {
            core: self.core.as_mut().expect("open"),
            d: &mut self.d,
            scenario: &self.spec.scenario,
            agent: agent.id,
            now: self.now,
        };
        match agents::step(&mut ctx, running) {
            Step::Continue { wake } => {
                if let Some(w) = wake {
                    agent.wake = w;
                }
                self.refresh(who);
            }
            Step::Done(completion) => self.complete(who, completion),
        }
    }

    /// Records agent `who`'s running transaction as completed, ends it,
    /// and retries it after a backoff if it aborted and has retries left.
    /// The transaction is recorded and dropped where it lives: it is large,
    /// and moving it out would copy it.
    fn complete(&mut self, who: usize, completion: Completion) {
        let agent = &self.agents[who];
        let agent_id = u64::from(agent.id);
        assert!(agent.active, "a running transaction completes");
        let t = &agent.running;
        let (kind, retries) = (t.kind, t.retries);
        Self::record_in(
            &mut self.recorder,
            &mut self.trace,
            &mut self.stats,
            self.now,
            agent_id,
            t,
            &completion,
        );
        let agent = &mut self.agents[who];
        agent.running.end();
        agent.active = false;
        if let Completion::Fail(reason) = completion {
            let w = &self.spec.scenario.workload;
            if retries < w.max_retries && reason != "unavailable" {
                let backoff = w.backoff_ticks << retries.min(10);
                let agent = &mut self.agents[who];
                agent.wake = self.now + 1 + self.d.choose(Stream::Scheduler, backoff + 1);
                agent.retry = Some((kind, retries + 1));
            }
        }
        self.refresh(who);
    }

    /// Records a transaction's completion in the history and counts it.
    fn record(&mut self, process: u64, t: &Running, completion: &Completion) {
        Self::record_in(
            &mut self.recorder,
            &mut self.trace,
            &mut self.stats,
            self.now,
            process,
            t,
            completion,
        );
    }

    /// `record`, on the parts of the simulator it touches, so a caller can
    /// record a transaction that the simulator itself holds. Always inlined
    /// into `complete`, whose every call makes one (about 15 instructions of
    /// calling per transaction).
    #[inline(always)]
    fn record_in(
        recorder: &mut Recorder,
        trace: &mut Trace,
        stats: &mut Stats,
        now: u64,
        process: u64,
        t: &Running,
        completion: &Completion,
    ) {
        recorder.complete(t.invoke, process, now, &t.ops, t.snapshot, completion, trace);
        stats.txns += 1;
        match completion {
            Completion::Ok { .. } => stats.committed += 1,
            Completion::Info(_) => stats.indeterminate += 1,
            Completion::Fail(reason) => {
                let a = &mut stats.aborted;
                match *reason {
                    "conflict" => a.conflict += 1,
                    "snapshot_too_old" => a.snapshot_too_old += 1,
                    "check_failed" => a.check_failed += 1,
                    _ => a.unavailable += 1,
                }
            }
        }
    }

    /// Crashes the store (building the image that survives) and reopens
    /// it. Returns false when recovery refused damaged data.
    fn crash_and_recover(&mut self) -> bool {
        let core = self.core.take().expect("the store is open when it crashes");
        self.crash_armed_at = None;
        let generations = core.generation();
        self.stats.checkpoints += generations.saturating_sub(core.recovery_report().generation);
        let disk = core.into_storage();
        // A store's failed fsyncs are counted when its disk is dropped: here
        // at a crash, and in `finish` for the store open at the end.
        self.stats.fsync_failures += disk.sync_failures;
        let flip = std::mem::take(&mut self.pending_flip);
        let (image, effects) = disk.crash_image(&mut self.d, self.spec.scenario.faults.sector_size, flip);
        self.stats.crashes += 1;
        self.stats.crashes_with_unsynced_data += u64::from(effects.had_unsynced);
        self.stats.torn_writes += u64::from(effects.torn);
        self.trace.event(&[
            3,
            self.stats.steps,
            u64::from(effects.had_unsynced),
            u64::from(effects.torn),
        ]);
        self.recorder.nemesis(
            Function::Crash,
            self.now,
            serde_json::json!({ "step": self.stats.steps }),
        );
        for who in 0..self.agents.len() {
            // A transaction open at a crash: its outcome is unknown.
            if self.agents[who].active {
                self.complete(who, Completion::Info("crash"));
            }
        }
        match Core::open(SimDisk::from_image(image), self.options.clone()) {
            Ok(core) => {
                if effects.flipped {
                    self.extra.push(Violation {
                        check: "durability".into(),
                        kind: "silent-corruption".into(),
                        txns: Vec::new(),
                        explanation: format!(
                            "a bit flipped in durable data before the crash at step {} and recovery accepted it",
                            self.stats.steps
                        ),
                    });
                }
                let report = core.recovery_report();
                self.stats.recoveries += 1;
                self.stats.torn_tails_discarded += u64::from(report.torn_bytes > 0);
                self.trace
                    .event(&[4, core.last_seq(), report.commits_replayed, report.torn_bytes]);
                let detail = serde_json::json!({
                    "last_seq": core.last_seq(),
                    "commits_replayed": report.commits_replayed,
                    "torn_bytes": report.torn_bytes,
                });
                self.recorder.nemesis(Function::Recover, self.now, detail);
                self.core = Some(core);
                true
            }
            Err(Error::Corrupt(c)) => {
                self.stats.corruption_detected += 1;
                self.trace.event(&[5, self.stats.steps]);
                self.recorder.nemesis(
                    Function::Other("corruption-detected".into()),
                    self.now,
                    serde_json::json!({ "error": c.to_string() }),
                );
                false
            }
            Err(e) => panic!("recovery from a crash image failed with {e}"),
        }
    }

    fn finish(mut self, end: End) -> RunResult {
        // Checkpoints and failed fsyncs are counted when the store they
        // happened in is closed: at each crash, and here for the store open
        // at the end.
        if let Some(core) = &self.core {
            self.stats.checkpoints += core
                .generation()
                .saturating_sub(core.recovery_report().generation);
            self.stats.fsync_failures += core.storage().sync_failures;
        }
        if end == End::Stuck {
            let stuck: Vec<String> = self
                .agents
                .iter()
                .filter(|a| a.has_work())
                .map(|a| format!("agent {} ({} transactions left)", a.id, a.remaining))
                .collect();
            self.extra.push(Violation {
                check: "liveness".into(),
                kind: "stuck".into(),
                txns: Vec::new(),
                explanation: format!(
                    "{} steps after the last fault, work is unfinished: {}",
                    self.spec.scenario.faults.liveness_steps,
                    stuck.join(", ")
                ),
            });
        }
        let trace_hash = self.trace.hex();
        let history = RecordedHistory::new(self.recorder, meta(&self.spec));
        let mut verdict = if self.spec.check && self.spec.record_history {
            match checker::check(&history, &CheckOptions::default()) {
                Ok(checked) => checked.verdict,
                Err(e) => panic!("the simulator wrote a history the checker cannot read: {e}"),
            }
        } else {
            Verdict {
                valid: true,
                anomaly_types: Vec::new(),
                violations: Vec::new(),
            }
        };
        for v in self.extra {
            if !verdict.anomaly_types.contains(&v.kind) {
                verdict.anomaly_types.push(v.kind.clone());
            }
            verdict.violations.push(v);
        }
        verdict.anomaly_types.sort();
        verdict.valid = verdict.violations.is_empty();
        RunResult {
            history,
            stats: self.stats,
            verdict,
            trace_hash,
            decisions: self.d.into_log(),
            end,
        }
    }
}

fn put(t: &mut Running, key: &str, value: i64) {
    t.txn
        .as_mut()
        .expect("begun")
        .put(key.as_bytes(), &encode(value))
        .expect("small");
    t.ops.write(Key::from(key), value);
}

/// The scenario's workload mix, ready to draw from: the kinds with a
/// weight above 0, in the mix's fixed order, with their weights. Every
/// transaction begins with this draw, so the run makes the mix once
/// rather than walking the scenario's map each time.
#[derive(Debug, Clone)]
pub struct Mix {
    kinds: SmallVec<[(Workload, u64); 8]>,
    total: u64,
}

impl Mix {
    /// The mix of `scenario`.
    pub fn new(scenario: &Scenario) -> Mix {
        let kinds: SmallVec<[(Workload, u64); 8]> = scenario
            .workload
            .mix
            .iter()
            .filter(|&(_, &w)| w > 0)
            .map(|(&kind, &w)| (kind, u64::from(w)))
            .collect();
        let total = kinds.iter().map(|&(_, w)| w).sum();
        Mix { kinds, total }
    }

    /// Draws a workload kind by weight (one `Workload` decision). Always
    /// inlined, like `Decisions::choose`: every transaction begins with it,
    /// and the call and its register saves cost more than the draw.
    #[inline(always)]
    pub fn pick(&self, d: &mut Decisions) -> Workload {
        let mut pick = d.choose(Stream::Workload, self.total);
        for &(kind, weight) in &self.kinds {
            if pick < weight {
                return kind;
            }
            pick -= weight;
        }
        unreachable!("the pick is below the total weight")
    }
}

/// Draws a workload kind by weight from `scenario`'s mix.
pub fn pick_workload(d: &mut Decisions, scenario: &Scenario) -> Workload {
    Mix::new(scenario).pick(d)
}

/// The meta line: model, ring capacity, bank accounts and total.
fn meta(spec: &RunSpec) -> Meta {
    let w = &spec.scenario.workload;
    Meta {
        model: Some(Model::Native),
        ring_capacity: Some(spec.scenario.store.ring_capacity as u64),
        bank: Some(checker::BankMeta {
            accounts: (0..u64::from(w.accounts))
                .map(|i| checker::Scalar::Str(account(i)))
                .collect(),
            total: i64::from(w.accounts) * w.initial_balance as i64,
        }),
        scenario: Some(spec.scenario.name.clone()),
        seed: Some(spec.seed),
        config: serde_json::to_value(&spec.scenario).ok(),
        ..Meta::default()
    }
}
