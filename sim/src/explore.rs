//! Many seeds in parallel, with results that do not depend on the number
//! of threads.
//!
//! Seeds are handed out in increasing order. With a failure limit K, the
//! result is always the K lowest failing seeds of the range: once K failures
//! are known, no seed above the K-th lowest is started, and results of seeds
//! above the final cut-off are discarded, so `--jobs 1` and `--jobs 8` (and
//! the union of shards) report the same thing. Only `--duration` makes the
//! result depend on speed, and the summary says so.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use checker::Violation;
use engine::Mutant;
use serde::{Deserialize, Serialize};

use crate::decision_log::DecisionLog;
use crate::recorder::RecordedHistory;
use crate::run::{run, End, RunResult, RunSpec, Stats};
use crate::scenario::Scenario;
use crate::swarm;

/// What to explore.
#[derive(Debug, Clone)]
pub struct ExploreSpec {
    /// The base scenario (swarm runs draw their configuration from it).
    pub scenario: Scenario,
    /// The seeds, in increasing order (already sharded).
    pub seeds: Vec<u64>,
    /// Threads to run on.
    pub jobs: usize,
    /// Whether each seed draws its own configuration.
    pub swarm: bool,
    /// A planted bug.
    pub mutant: Option<Mutant>,
    /// Stop after this many failures (keeping the lowest failing seeds).
    pub max_failures: Option<usize>,
    /// Stop starting seeds after this much wall time.
    pub duration: Option<Duration>,
}

/// One seed's outcome, kept for the summary.
#[derive(Debug, Clone)]
pub struct SeedOutcome {
    /// The seed.
    pub seed: u64,
    /// The configuration it ran.
    pub config: Scenario,
    /// The run (history kept only for failures).
    pub result: RunResult,
}

/// An exploration's summary (`explore --json`; `merge` reads these).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Seeds that failed.
    pub failures: u64,
    /// The failing seeds, lowest first.
    pub failing_seeds: Vec<u64>,
    /// The lowest failing seed.
    pub first_failing_seed: Option<u64>,
    /// Failing seeds per check.
    pub by_check: BTreeMap<String, u64>,
    /// Failing seeds per anomaly kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Seeds per wall-clock second.
    pub seeds_per_second: f64,
    /// Transactions run over all seeds.
    pub txns: u64,
    /// How often each interesting situation was reached, over all seeds.
    pub rare_events: BTreeMap<String, u64>,
    /// True when `--duration` cut the exploration short (then the result
    /// depends on speed).
    pub duration_limited: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs one seed, catching any panic that escaped the run's own guard
/// (a harness bug) as a finding.
pub fn run_seed(scenario: &Scenario, seed: u64, swarm_on: bool, mutant: Option<Mutant>) -> SeedOutcome {
    let config = if swarm_on {
        swarm::draw(seed, scenario)
    } else {
        scenario.clone()
    };
    let mut spec = RunSpec::new(config.clone(), seed);
    spec.mutant = mutant;
    let result = catch_unwind(AssertUnwindSafe(|| run(spec))).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        RunResult {
            history: RecordedHistory::default(),
            stats: Stats::default(),
            verdict: checker::Verdict {
                valid: false,
                anomaly_types: vec!["panic".into()],
                violations: vec![Violation {
                    check: "engine-assertion".into(),
                    kind: "panic".into(),
                    txns: Vec::new(),
                    explanation: format!("the run panicked: {message}"),
                }],
            },
            trace_hash: String::new(),
            decisions: DecisionLog::default(),
            end: End::Panicked,
        }
    });
    SeedOutcome { seed, config, result }
}

/// Explores the seeds; calls `on_done` after each seed (for a progress
/// bar) and `on_failure` with each failing seed's outcome as it is found
/// (for writing its report). Returns the summary and the failing outcomes
/// that are part of the result, lowest seed first.
pub fn explore(
    spec: &ExploreSpec,
    on_done: &(dyn Fn() + Sync),
    on_failure: &(dyn Fn(&SeedOutcome) + Sync),
) -> (Summary, Vec<SeedOutcome>) {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let cutoff = AtomicUsize::new(usize::MAX);
    let failing: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());
    let results: Mutex<Vec<Option<SeedOutcome>>> = Mutex::new(vec![None; spec.seeds.len()]);
    let timed_out = std::sync::atomic::AtomicBool::new(false);
    let worker = || loop {
        if let Some(limit) = spec.duration {
            if started.elapsed() >= limit {
                timed_out.store(true, Ordering::SeqCst);
                return;
            }
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= spec.seeds.len() || i > cutoff.load(Ordering::SeqCst) {
            return;
        }
        let mut outcome = run_seed(&spec.scenario, spec.seeds[i], spec.swarm, spec.mutant);
        if outcome.result.verdict.valid {
            outcome.result.history = RecordedHistory::default();
            outcome.result.decisions = DecisionLog::default();
        } else {
            on_failure(&outcome);
            if let Some(k) = spec.max_failures {
                let mut f = failing.lock().expect("no panics hold this lock");
                f.insert(i);
                if f.len() >= k {
                    let kth = *f.iter().nth(k - 1).expect("k failures");
                    cutoff.fetch_min(kth, Ordering::SeqCst);
                }
            }
        }
        results.lock().expect("no panics hold this lock")[i] = Some(outcome);
        on_done();
    };
    std::thread::scope(|s| {
        for _ in 0..spec.jobs.max(1) {
            s.spawn(worker);
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let cut = cutoff.load(Ordering::SeqCst);
    let results = results.into_inner().expect("no panics hold this lock");
    let kept: Vec<SeedOutcome> = results
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i <= cut)
        .filter_map(|(_, r)| r)
        .collect();
    let summary = summarize(&kept, seconds, timed_out.load(Ordering::SeqCst));
    let failures = kept.into_iter().filter(|o| !o.result.verdict.valid).collect();
    (summary, failures)
}

fn summarize(outcomes: &[SeedOutcome], seconds: f64, duration_limited: bool) -> Summary {
    let mut s = Summary {
        seeds: outcomes.len() as u64,
        seconds,
        duration_limited,
        seeds_per_second: outcomes.len() as f64 / seconds.max(1e-9),
        ..Summary::default()
    };
    for o in outcomes {
        let st = &o.result.stats;
        s.txns += st.txns;
        for (name, n) in rare_events(st, &o.result.end) {
            *s.rare_events.entry(name.to_owned()).or_default() += n;
        }
        if o.result.verdict.valid {
            continue;
        }
        s.failures += 1;
        s.failing_seeds.push(o.seed);
        let checks: BTreeSet<&str> = o
            .result
            .verdict
            .violations
            .iter()
            .map(|v| v.check.as_str())
            .collect();
        for c in checks {
            *s.by_check.entry(c.to_owned()).or_default() += 1;
        }
        for k in &o.result.verdict.anomaly_types {
            *s.by_kind.entry(k.clone()).or_default() += 1;
        }
    }
    s.failing_seeds.sort_unstable();
    s.first_failing_seed = s.failing_seeds.first().copied();
    s
}

/// The situations worth counting, so a user sees what was covered.
fn rare_events(st: &Stats, end: &End) -> [(&'static str, u64); 13] {
    [
        ("conflict_aborts", st.aborted.conflict),
        ("snapshot_too_old_aborts", st.aborted.snapshot_too_old),
        ("check_failed_aborts", st.aborted.check_failed),
        ("unavailable_refusals", st.aborted.unavailable),
        ("crashes", st.crashes),
        ("crashes_with_commit_in_flight", st.crashes_with_unsynced_data),
        ("torn_writes", st.torn_writes),
        ("torn_tails_discarded", st.torn_tails_discarded),
        ("fsync_failures", st.fsync_failures),
        ("recoveries", st.recoveries),
        ("checkpoints", st.checkpoints),
        ("corruption_detected", st.corruption_detected),
        ("stuck_runs", u64::from(*end == End::Stuck)),
    ]
}

/// Merges summaries of disjoint seed sets (shards) as if one exploration
/// had run their union.
pub fn merge(parts: &[Summary]) -> Summary {
    let mut m = Summary::default();
    for p in parts {
        m.seeds += p.seeds;
        m.failures += p.failures;
        m.failing_seeds.extend(&p.failing_seeds);
        m.txns += p.txns;
        m.seeds_per_second += p.seeds_per_second;
        m.seconds = m.seconds.max(p.seconds);
        m.duration_limited |= p.duration_limited;
        for (k, v) in &p.by_check {
            *m.by_check.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &p.by_kind {
            *m.by_kind.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &p.rare_events {
            *m.rare_events.entry(k.clone()).or_default() += v;
        }
    }
    m.failing_seeds.sort_unstable();
    m.failing_seeds.dedup();
    m.first_failing_seed = m.failing_seeds.first().copied();
    m
}
