//! The regression corpus: minimal reproductions of every mutant's failure
//! (written by `scripts/regenerate-corpus.sh`). Each must still fail with
//! its mutant, with the same check and kind, and pass without it.

use std::path::Path;

use engine::Mutant;
use sim::report::Report;
use sim::run::{run, RunSpec};

#[test]
fn every_corpus_report_fails_with_its_mutant_and_passes_without() {
    let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"));
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(corpus).unwrap() {
        let path = entry.unwrap().path().join("report.json");
        let report = Report::read(&path).unwrap();
        let choices = report.read_choices(&path).unwrap();
        assert!(
            choices.is_some(),
            "{}: a corpus report carries its decisions",
            path.display()
        );
        let mutant: Mutant = report
            .mutant
            .as_deref()
            .expect("corpus reports have a mutant")
            .parse()
            .unwrap();
        let target = &report.verdict.violations[0];
        let mut spec = RunSpec::new(report.config.clone(), report.seed);
        spec.choices = choices;
        spec.mutant = Some(mutant);
        let with = run(spec.clone());
        assert!(
            with.verdict.violations.iter().any(|v| v.check == target.check && v.kind == target.kind),
            "{mutant}: the corpus run no longer shows {}/{} (regenerate with scripts/regenerate-corpus.sh if the simulator's decisions changed): {:?}",
            target.check,
            target.kind,
            with.verdict.anomaly_types
        );
        assert_eq!(
            with.trace_hash, report.trace_hash,
            "{mutant}: the run diverged from its recording"
        );
        spec.mutant = None;
        let without = run(spec);
        assert!(
            without.verdict.valid,
            "{mutant}: the same run without the bug fails: {:?}",
            without.verdict.anomaly_types
        );
        seen.push(mutant);
    }
    seen.sort();
    assert_eq!(seen, Mutant::ALL.to_vec(), "every mutant has a corpus entry");
}
