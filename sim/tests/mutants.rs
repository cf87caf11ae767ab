//! The harness's power, kept from silently getting weaker: every planted
//! bug is caught by a swarm exploration within a bounded seed budget, the
//! same budget without a bug finds nothing, and explorations give the same
//! result whatever the number of threads or shards.

use engine::Mutant;
use sim::explore::{explore, merge, ExploreSpec, Summary};
use sim::scenario::Scenario;

/// Seeds each mutant must be caught within (the slowest needs about 22).
const BUDGET: u64 = 96;

fn spec(seeds: Vec<u64>, mutant: Option<Mutant>, max_failures: Option<usize>, jobs: usize) -> ExploreSpec {
    ExploreSpec {
        scenario: Scenario::default(),
        seeds,
        jobs,
        swarm: true,
        mutant,
        max_failures,
        duration: None,
    }
}

fn run(spec: &ExploreSpec) -> Summary {
    explore(spec, &|| {}, &|_| {}).0
}

#[test]
fn every_mutant_is_caught_by_a_swarm_within_the_budget() {
    for mutant in Mutant::ALL {
        let s = run(&spec((0..BUDGET).collect(), Some(mutant), Some(1), 2));
        assert_eq!(
            s.failures, 1,
            "mutant {mutant} not caught in {BUDGET} swarm seeds"
        );
        assert!(!s.by_check.is_empty());
    }
}

#[test]
fn the_same_budget_without_a_mutant_finds_nothing() {
    let s = run(&spec((0..BUDGET).collect(), None, None, 2));
    assert_eq!(s.seeds, BUDGET);
    assert_eq!(
        s.failures, 0,
        "false alarm: {:?} {:?}",
        s.failing_seeds, s.by_kind
    );
    assert!(s.rare_events["crashes"] > 0 && s.rare_events["conflict_aborts"] > 0);
}

#[test]
fn results_do_not_depend_on_jobs_or_shards() {
    let seeds: Vec<u64> = (0..40).collect();
    let mutant = Some(Mutant::EarlyGc);
    let one = run(&spec(seeds.clone(), mutant, Some(2), 1));
    let two = run(&spec(seeds.clone(), mutant, Some(2), 2));
    assert_eq!(one.failing_seeds, two.failing_seeds);
    assert_eq!(one.seeds, two.seeds);
    assert_eq!(one.by_kind, two.by_kind);
    assert_eq!(one.rare_events, two.rare_events);
    assert_eq!(one.failing_seeds.len(), 2);

    let all = run(&spec(seeds.clone(), mutant, None, 2));
    let shards: Vec<Summary> = (0..3)
        .map(|k| {
            run(&spec(
                seeds.iter().copied().filter(|s| s % 3 == k).collect(),
                mutant,
                None,
                1,
            ))
        })
        .collect();
    let merged = merge(&shards);
    assert_eq!(merged.seeds, all.seeds);
    assert_eq!(merged.failing_seeds, all.failing_seeds);
    assert_eq!(merged.by_kind, all.by_kind);
    assert_eq!(merged.rare_events, all.rare_events);
    assert_eq!(merged.txns, all.txns);
}
