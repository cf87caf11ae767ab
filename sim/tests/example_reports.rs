//! The documented example reports in `reports/examples/` must still replay:
//! a change to the simulator's decisions that makes one diverge must
//! regenerate it (the README shows how it was made), or the example would
//! quietly stop being a reproduction.

use std::path::Path;

use engine::Mutant;
use sim::report::Report;
use sim::run::{run, RunSpec};

#[test]
fn every_example_report_replays_to_its_recorded_trace() {
    let examples = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../reports/examples"));
    let mut replayed = 0;
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path().join("report.json");
        let report = Report::read(&path).unwrap();
        let mut spec = RunSpec::new(report.config.clone(), report.seed);
        spec.choices = report.read_choices(&path).unwrap();
        spec.mutant = report.mutant.as_deref().map(|m| m.parse::<Mutant>().unwrap());
        let result = run(spec);
        assert_eq!(
            result.trace_hash,
            report.trace_hash,
            "{}: the example diverged from its recording; regenerate it",
            path.display()
        );
        assert_eq!(result.verdict.valid, report.verdict.valid, "{}", path.display());
        replayed += 1;
    }
    assert!(replayed > 0, "the examples directory holds at least one report");
}
