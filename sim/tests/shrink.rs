//! Shrinking keeps the failure, makes it small, and the result replays.

use engine::Mutant;
use sim::explore::run_seed;
use sim::run::{run, RunSpec};
use sim::scenario::Scenario;
use sim::shrink::{shrink, target_of, Candidate};

#[test]
fn a_swarm_failure_shrinks_to_a_few_transactions_that_still_fail_and_replay() {
    for mutant in Mutant::ALL {
        let failing = (0..100)
            .map(|seed| run_seed(&Scenario::default(), seed, true, Some(mutant)))
            .find(|o| !o.result.verdict.valid)
            .expect("the mutant is caught");
        let target = target_of(&failing.result).expect("a violation");
        let start = Candidate {
            config: failing.config.clone(),
            seed: failing.seed,
            mutant: Some(mutant),
            choices: failing.result.decisions.to_vec(),
        };
        let shrunk = shrink(start, &target, 800).expect("the failure reproduces from its decisions");
        let r = &shrunk.result;
        assert!(r
            .verdict
            .violations
            .iter()
            .any(|v| v.check == target.check && v.kind == target.kind));
        assert!(
            r.stats.txns <= 10,
            "{mutant}: {} txns after shrinking",
            r.stats.txns
        );
        assert!(r.stats.txns < failing.result.stats.txns);
        assert!(shrunk.candidate.choices.len() < failing.result.decisions.len());

        let mut spec = RunSpec::new(shrunk.candidate.config.clone(), shrunk.candidate.seed);
        spec.mutant = Some(mutant);
        spec.choices = Some(shrunk.candidate.choices.clone());
        let replayed = run(spec);
        assert_eq!(
            replayed.trace_hash, r.trace_hash,
            "{mutant}: the shrunk run replays exactly"
        );
    }
}
