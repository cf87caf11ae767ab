//! Same seed + same build = byte-identical history and trace hash; other
//! seeds differ; a recorded decision sequence replays the run exactly.

use engine::Mutant;
use sim::run::{run, RunResult, RunSpec};
use sim::scenario::Scenario;

fn all_workloads() -> Scenario {
    Scenario::from_toml(include_str!("fixtures/all-workloads.toml")).unwrap()
}

fn history_bytes(result: &RunResult) -> Vec<u8> {
    let mut out = Vec::new();
    checker::write_jsonl(&result.history, &mut out).unwrap();
    out
}

#[test]
fn the_same_seed_gives_a_byte_identical_history_and_trace() {
    for seed in [0, 1, 42] {
        let a = run(RunSpec::new(all_workloads(), seed));
        let b = run(RunSpec::new(all_workloads(), seed));
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(history_bytes(&a), history_bytes(&b));
        assert_eq!(a.stats, b.stats);
        assert_eq!(a.decisions, b.decisions);
        assert!(a.stats.txns > 5, "the run did work");
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let a = run(RunSpec::new(all_workloads(), 1));
    let b = run(RunSpec::new(all_workloads(), 2));
    assert_ne!(a.trace_hash, b.trace_hash);
    assert_ne!(history_bytes(&a), history_bytes(&b));
}

#[test]
fn a_recorded_decision_sequence_replays_a_failing_run_exactly() {
    let mut spec = RunSpec::new(all_workloads(), 3);
    spec.mutant = Some(Mutant::SkipReadValidation);
    let original = run(spec.clone());
    assert!(!original.verdict.valid, "the mutant is caught");
    spec.choices = Some(original.decisions.to_vec());
    let replayed = run(spec);
    assert_eq!(replayed.trace_hash, original.trace_hash);
    assert_eq!(replayed.verdict, original.verdict);
    assert_eq!(history_bytes(&replayed), history_bytes(&original));
}

#[test]
fn history_recording_does_not_change_the_run() {
    let full = run(RunSpec::new(all_workloads(), 9));
    let mut spec = RunSpec::new(all_workloads(), 9);
    spec.record_history = false;
    spec.record_decisions = false;
    spec.check = false;
    let bare = run(spec);
    assert_eq!(bare.trace_hash, full.trace_hash);
    assert_eq!(bare.stats, full.stats);
}
