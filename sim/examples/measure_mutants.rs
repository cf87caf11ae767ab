//! Measures the harness's bug-finding power, mutant by mutant: seeds until
//! the first failure of a swarm exploration (median and worst over ten
//! disjoint seed ranges), transactions run until then, wall time, the
//! check that caught it, and transactions before and after shrinking.
//!
//! `cargo run --release -p sim --example measure_mutants [-- --ranges N --range-len N --budget N]`
//! prints a markdown table (the README's table comes from it).

use std::time::Instant;

use engine::Mutant;
use sim::explore::{explore, ExploreSpec};
use sim::scenario::Scenario;
use sim::shrink::{shrink, target_of, Candidate};

struct Args {
    ranges: u64,
    range_len: u64,
    budget: u64,
}

fn args() -> Args {
    let mut a = Args {
        ranges: 10,
        range_len: 300,
        budget: 2000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--ranges", Some(v)) => a.ranges = v,
            ("--range-len", Some(v)) => a.range_len = v,
            ("--budget", Some(v)) => a.budget = v,
            _ => {
                eprintln!("usage: measure_mutants [--ranges N] [--range-len N] [--budget N]");
                std::process::exit(2);
            }
        }
    }
    a
}

fn main() {
    let a = args();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("| mutant | seeds until caught (median / worst) | txns until caught (median) | seconds (median) | caught by | txns before → after shrinking |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for mutant in Mutant::ALL {
        let mut seeds_until = Vec::new();
        let mut txns_until = Vec::new();
        let mut seconds = Vec::new();
        let mut checks = std::collections::BTreeSet::new();
        let mut first_failure = None;
        for r in 0..a.ranges {
            let start = r * 100_000;
            let spec = ExploreSpec {
                scenario: Scenario::default(),
                seeds: (start..start + a.range_len).collect(),
                jobs,
                swarm: true,
                mutant: Some(mutant),
                max_failures: Some(1),
                duration: None,
            };
            let t = Instant::now();
            let (summary, failures) = explore(&spec, &|| {}, &|_| {});
            seconds.push(t.elapsed().as_secs_f64());
            match summary.first_failing_seed {
                Some(seed) => {
                    seeds_until.push(seed - start + 1);
                    txns_until.push(summary.txns);
                    checks.extend(summary.by_check.keys().cloned());
                    if first_failure.is_none() {
                        first_failure = failures.into_iter().next();
                    }
                }
                None => seeds_until.push(u64::MAX),
            }
        }
        let shrunk = first_failure.and_then(|f| {
            let target = target_of(&f.result)?;
            let before = f.result.stats.txns;
            let start = Candidate {
                config: f.config.clone(),
                seed: f.seed,
                mutant: Some(mutant),
                choices: f.result.decisions.to_vec(),
            };
            shrink(start, &target, a.budget).map(|s| (before, s.result.stats.txns))
        });
        let show = |v: u64| {
            if v == u64::MAX {
                "not caught".to_owned()
            } else {
                v.to_string()
            }
        };
        println!(
            "| {} | {} / {} | {} | {:.2} | {} | {} |",
            mutant,
            show(median(&seeds_until)),
            show(*seeds_until.iter().max().expect("ranges")),
            median(&txns_until),
            median_f(&seconds),
            checks.into_iter().collect::<Vec<_>>().join(", "),
            shrunk.map_or("-".to_owned(), |(b, s)| format!("{b} → {s}")),
        );
    }
}

fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn median_f(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
