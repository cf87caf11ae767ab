//! The scenario files in `scenarios/` load, and `default.toml` is the
//! built-in default; a small random scenario with any seed is valid.

use std::path::Path;

use proptest::prelude::*;
use sim::run::{run, RunSpec};
use sim::scenario::{Scenario, Workload};

fn scenario_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))
}

#[test]
fn every_shipped_scenario_loads_and_default_toml_is_the_builtin() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(scenario_dir()).unwrap() {
        let path = entry.unwrap().path();
        let s = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        names.push(s.name.clone());
        if s.name == "default" {
            assert_eq!(
                s,
                Scenario::default(),
                "scenarios/default.toml matches the built-in default"
            );
        }
    }
    names.sort();
    for want in [
        "counters",
        "crash-heavy",
        "default",
        "hot-keys",
        "phantoms",
        "snapshot-too-old",
        "write-skew",
    ] {
        assert!(names.iter().any(|n| n == want), "missing scenario {want}");
    }
}

fn small_scenario() -> impl Strategy<Value = Scenario> {
    (
        1u32..5,
        1u32..12,
        2u32..6,
        1usize..10,
        prop::collection::vec(0u32..3, Workload::ALL.len()),
        0u32..30,
        0u32..10,
    )
        .prop_filter("some workload has weight", |(_, _, _, _, w, _, _)| {
            w.iter().any(|&x| x > 0)
        })
        .prop_map(|(agents, txns, accounts, ring, weights, crash_pm, fsync_pm)| {
            let mut s = Scenario::default();
            s.workload.agents = agents;
            s.workload.txns_per_agent = txns;
            s.workload.accounts = accounts;
            s.workload.long_reader_ticks = 10;
            s.store.ring_capacity = ring;
            s.store.checkpoint_wal_bytes = 512;
            s.workload.mix = Workload::ALL.into_iter().zip(weights).collect();
            s.faults.crash = f64::from(crash_pm) / 1000.0;
            s.faults.fsync_failure = f64::from(fsync_pm) / 1000.0;
            s.faults.sector_size = 32;
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_small_scenario_and_seed_runs_valid(scenario in small_scenario(), seed in any::<u64>()) {
        let result = run(RunSpec::new(scenario, seed));
        prop_assert!(result.verdict.valid, "{:?}", result.verdict.violations);
    }
}
