//! `occsim bench`: the throughput figures the performance goals name. The
//! engine and simulator figures are measured side by side in one process,
//! so their ratio means something; `occsim bench` runs each group of
//! figures in a fresh process (see `cli/bench.rs`).
//!
//! Each figure is the median of several repetitions, with its spread
//! (max/min). Wall-clock time is read here only, never inside a run.

use std::collections::BTreeMap;
use std::time::Instant;

use engine::SyncPolicy;

use crate::explore::{explore, ExploreSpec};
use crate::run::{run, RunSpec};
use crate::scenario::{Scenario, Workload};

/// How much work each figure does.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Transactions of the engine and simulator figures.
    pub txns: u64,
    /// Transactions of the history the checker figures use.
    pub history_txns: u32,
    /// Seeds of the explore figures.
    pub seeds: u64,
    /// Commits per thread of the fsync figures.
    pub fsync_commits: u64,
    /// Repetitions of each figure.
    pub reps: usize,
}

impl Sizes {
    /// The full benchmark.
    pub const FULL: Sizes = Sizes {
        txns: 1_000_000,
        history_txns: 1_000_000,
        seeds: 64,
        fsync_commits: 300,
        reps: 3,
    };
    /// A quick look (seconds, not minutes).
    pub const QUICK: Sizes = Sizes {
        txns: 100_000,
        history_txns: 100_000,
        seeds: 16,
        fsync_commits: 50,
        reps: 3,
    };
}

/// The engine benchmark's workload in the simulator: transfers over
/// 10,000 accounts, ring of 1,024, crashes at a low rate, history and
/// decisions recorded in memory. The store checkpoints every 1 MiB of WAL
/// (about 10,000 transfers): each crash's recovery replays the WAL since
/// the last checkpoint, and at this crash rate that interval costs the
/// least in checkpoints written plus WAL replayed.
pub fn sim_scenario(txns: u64, crash: f64) -> Scenario {
    let defaults = Scenario::default();
    Scenario {
        name: "bench".into(),
        store: crate::scenario::StoreConfig {
            ring_capacity: 1024,
            checkpoint_wal_bytes: 1 << 20,
        },
        workload: crate::scenario::WorkloadConfig {
            agents: 4,
            txns_per_agent: (txns / 4) as u32,
            accounts: 10_000,
            initial_balance: 1_000,
            mix: BTreeMap::from([(Workload::Transfer, 1)]),
            ..defaults.workload
        },
        faults: crate::scenario::FaultConfig {
            crash,
            fsync_failure: 0.0,
            fault_steps: u64::MAX / 2,
            ..defaults.faults
        },
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

/// Simulated committed transactions per second (checker off).
pub fn sim_txn_per_s(txns: u64) -> f64 {
    let mut spec = RunSpec::new(sim_scenario(txns, 0.00001), 1);
    spec.check = false;
    let (result, secs) = timed(|| run(spec));
    result.stats.committed as f64 / secs
}

/// Checked and parsed transactions per second on a native history the
/// simulator wrote (transfers, no faults).
pub fn check_and_parse(txns: u32) -> (f64, f64) {
    let mut spec = RunSpec::new(sim_scenario(u64::from(txns), 0.0), 2);
    spec.check = false;
    spec.record_decisions = false;
    let result = run(spec);
    let n = result.stats.txns as f64;
    // The recorder builds the checker's form of the history on first read; that is the
    // simulator's recording cost, so it is paid here, before the check is timed.
    let history: &checker::History = &result.history;
    let (checked, check_secs) = timed(|| checker::check(history, &checker::CheckOptions::default()));
    assert!(checked.expect("the simulator's history parses").verdict.valid);
    let mut text = Vec::new();
    checker::write_jsonl(history, &mut text).expect("writing to memory");
    let text = String::from_utf8(text).expect("JSON is UTF-8");
    let (parsed, parse_secs) = timed(|| checker::parse_str(&text));
    assert_eq!(parsed.expect("round trip").ops.len(), history.ops.len());
    (n / check_secs, n / parse_secs)
}

/// Swarm seeds explored per second on `jobs` threads.
pub fn explore_seeds_per_s(seeds: u64, jobs: usize) -> f64 {
    let spec = ExploreSpec {
        scenario: Scenario::default(),
        seeds: (0..seeds).collect(),
        jobs,
        swarm: true,
        mutant: None,
        max_failures: None,
        duration: None,
    };
    let (summary, secs) = timed(|| explore(&spec, &|| {}, &|_| {}).0);
    summary.seeds as f64 / secs
}

/// Unique states per second of the model checker on the 3-agent x
/// 1-transaction x 2-account x 1-crash configuration.
pub fn model_states_per_s(threads: usize) -> f64 {
    let config = crate::model::Config {
        agents: 3,
        ..crate::model::Config::default()
    };
    let report = crate::model::check(&config, threads);
    report.unique_states as f64 / report.seconds
}

/// One named figure: its repetitions.
pub struct Figure {
    /// The name fixed in the command-line spec.
    pub name: &'static str,
    /// Each repetition's value.
    pub values: Vec<f64>,
}

impl Figure {
    /// The median of the repetitions.
    pub fn median(&self) -> f64 {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// max/min over the repetitions.
    pub fn spread(&self) -> f64 {
        let max = self.values.iter().copied().fold(f64::MIN, f64::max);
        let min = self.values.iter().copied().fold(f64::MAX, f64::min);
        max / min.max(f64::MIN_POSITIVE)
    }
}

/// The names of every figure, in the order `measure` takes them.
pub const FIGURES: [&str; 9] = [
    "engine_txn_per_s",
    "sim_txn_per_s",
    "check_txn_per_s",
    "parse_txn_per_s",
    "explore_seeds_per_s_jobs1",
    "explore_seeds_per_s_all",
    "model_states_per_s",
    "fsync_commits_per_s",
    "group_commit_txn_per_s",
];

/// Measures the figures named in `only` (every figure when it is empty);
/// `progress` is told each figure's name as it starts. The check and parse
/// figures come from one history, so asking for either measures both.
pub fn measure(sizes: Sizes, only: &[&str], progress: &dyn Fn(&str)) -> Vec<Figure> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = |name: &str| only.is_empty() || only.contains(&name);
    let mut figures = Vec::new();
    let rep = |figures: &mut Vec<Figure>, name: &'static str, f: &mut dyn FnMut() -> f64| {
        if wanted(name) {
            progress(name);
            figures.push(Figure {
                name,
                values: (0..sizes.reps).map(|_| f()).collect(),
            });
        }
    };
    if wanted("engine_txn_per_s") && wanted("sim_txn_per_s") {
        // Their ratio is a goal, so their repetitions alternate: a slow
        // stretch of a shared machine then falls on both rather than on
        // all of one figure's repetitions.
        progress("engine_txn_per_s and sim_txn_per_s, alternately");
        let (engine, sim): (Vec<f64>, Vec<f64>) = (0..sizes.reps)
            .map(|_| (engine::bench::in_memory(sizes.txns), sim_txn_per_s(sizes.txns)))
            .unzip();
        figures.push(Figure {
            name: "engine_txn_per_s",
            values: engine,
        });
        figures.push(Figure {
            name: "sim_txn_per_s",
            values: sim,
        });
    } else {
        rep(&mut figures, "engine_txn_per_s", &mut || {
            engine::bench::in_memory(sizes.txns)
        });
        rep(&mut figures, "sim_txn_per_s", &mut || sim_txn_per_s(sizes.txns));
    }
    if wanted("check_txn_per_s") || wanted("parse_txn_per_s") {
        progress("check_txn_per_s");
        let (check, parse): (Vec<f64>, Vec<f64>) = (0..sizes.reps)
            .map(|_| check_and_parse(sizes.history_txns))
            .unzip();
        figures.push(Figure {
            name: "check_txn_per_s",
            values: check,
        });
        figures.push(Figure {
            name: "parse_txn_per_s",
            values: parse,
        });
    }
    rep(&mut figures, "explore_seeds_per_s_jobs1", &mut || {
        explore_seeds_per_s(sizes.seeds, 1)
    });
    rep(&mut figures, "explore_seeds_per_s_all", &mut || {
        explore_seeds_per_s(sizes.seeds, all)
    });
    rep(&mut figures, "model_states_per_s", &mut || {
        model_states_per_s(all)
    });
    rep(&mut figures, "fsync_commits_per_s", &mut || {
        engine::bench::on_disk(SyncPolicy::EveryCommit, 1, sizes.fsync_commits)
    });
    rep(&mut figures, "group_commit_txn_per_s", &mut || {
        engine::bench::on_disk(SyncPolicy::Group, 8, sizes.fsync_commits)
    });
    figures
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// The engine and simulator figures are measured together, their
    /// repetitions alternating, and each keeps all of its repetitions.
    #[test]
    fn engine_and_simulator_are_measured_together_and_keep_every_repetition() {
        let sizes = Sizes {
            txns: 400,
            reps: 2,
            ..Sizes::QUICK
        };
        let told = RefCell::new(Vec::new());
        let figures = measure(sizes, &["sim_txn_per_s", "engine_txn_per_s"], &|name| {
            told.borrow_mut().push(name.to_owned());
        });
        assert_eq!(
            *told.borrow(),
            ["engine_txn_per_s and sim_txn_per_s, alternately"]
        );
        let names: Vec<&str> = figures.iter().map(|f| f.name).collect();
        assert_eq!(names, ["engine_txn_per_s", "sim_txn_per_s"]);
        for figure in &figures {
            assert_eq!(figure.values.len(), 2, "{}", figure.name);
            assert!(figure.values.iter().all(|v| *v > 0.0), "{}", figure.name);
        }
        let alone = measure(sizes, &["sim_txn_per_s"], &|_| {});
        assert_eq!(
            alone.iter().map(|f| f.name).collect::<Vec<_>>(),
            ["sim_txn_per_s"]
        );
    }
}
