//! `occsim run [SCENARIO] [--seed N] [--choices FILE] [--out DIR] [--mutant NAME] [--json]`:
//! one seeded simulation, checked, written as a report.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::Mutant;
use sim::report::{self, Report};
use sim::run::{run, RunResult, RunSpec};
use sim::scenario::Scenario;

use super::style::verdict;
use super::{bad_input, EXIT_VALID, EXIT_VIOLATION};

/// Arguments of `occsim run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A scenario file (TOML); without it the built-in `default` scenario runs.
    pub scenario: Option<PathBuf>,
    /// The seed; without it one is drawn and printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Draw the configuration from the seed, exactly as `explore --swarm` does.
    #[arg(long)]
    pub swarm: bool,
    /// Drive the run from a recorded decision sequence (a choices.json file).
    #[arg(long)]
    pub choices: Option<PathBuf>,
    /// Where to write report.json and history.jsonl (default reports/<scenario>-<seed>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Turn on a planted bug (`occsim mutants` lists them).
    #[arg(long, value_parser = parse_mutant)]
    pub mutant: Option<Mutant>,
    /// Print the report as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Parses a mutant name for clap, so an unknown one is a usage error.
pub fn parse_mutant(s: &str) -> Result<Mutant, String> {
    s.parse::<Mutant>().map_err(|e| e.to_string())
}

/// Loads the scenario file, or the built-in default.
pub fn load_scenario(path: Option<&PathBuf>) -> Result<Scenario, String> {
    match path {
        Some(p) => Scenario::from_file(p).map_err(|e| e.to_string()),
        None => Ok(Scenario::default()),
    }
}

/// A seed drawn from the OS, for runs without `--seed` (printed, so the run
/// can be repeated); the simulation itself never touches OS randomness.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish() >> 1
}

/// Runs one simulation and writes its report.
pub fn run_cmd(args: &RunArgs) -> ExitCode {
    let scenario = match load_scenario(args.scenario.as_ref()) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let choices = match &args.choices {
        Some(path) => match report::read_choices(path) {
            Ok(c) => Some(c),
            Err(e) => return bad_input(e),
        },
        None => None,
    };
    let seed = args.seed.unwrap_or_else(|| {
        let s = fresh_seed();
        eprintln!("occsim: no --seed given, using seed {s}");
        s
    });
    let scenario = if args.swarm {
        sim::swarm::draw(seed, &scenario)
    } else {
        scenario
    };
    let mut spec = RunSpec::new(scenario.clone(), seed);
    spec.mutant = args.mutant;
    spec.choices = choices.clone();
    let result = run(spec);
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("reports/{}-{seed}", scenario.name)));
    let choices_file = choices.as_ref().map(|_| "choices.json".to_owned());
    let report = Report::new(
        &result,
        &scenario,
        seed,
        false,
        args.mutant.map(|m| m.name().to_owned()),
        choices_file,
        &dir,
    );
    if let Err(e) = report::write(&dir, &report, &result, choices.as_deref()) {
        return bad_input(e);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        );
    } else {
        print_summary(&report, &result);
    }
    ExitCode::from(if result.verdict.valid {
        EXIT_VALID
    } else {
        EXIT_VIOLATION
    })
}

/// The short human summary of a run.
pub fn print_summary(report: &Report, result: &RunResult) {
    let s = &result.stats;
    let a = &s.aborted;
    let mutant = report
        .mutant
        .as_deref()
        .map(|m| format!(", mutant {m}"))
        .unwrap_or_default();
    println!(
        "occsim run: scenario {}, seed {}{mutant}",
        report.scenario, report.seed
    );
    println!(
        "  {} steps, {} txns: {} committed; aborted {} conflict, {} snapshot-too-old, {} check-failed, {} unavailable; {} indeterminate",
        s.steps, s.txns, s.committed, a.conflict, a.snapshot_too_old, a.check_failed, a.unavailable, s.indeterminate
    );
    println!(
        "  faults: {} crashes ({} with unsynced data, {} torn writes), {} recoveries, {} fsync failures, {} bit flips, {} corruption detected",
        s.crashes, s.crashes_with_unsynced_data, s.torn_writes, s.recoveries, s.fsync_failures, s.bit_flips, s.corruption_detected
    );
    if result.verdict.valid {
        println!("  verdict: {}", verdict("valid", true));
    } else {
        let kinds = format!("INVALID: {}", result.verdict.anomaly_types.join(", "));
        println!("  verdict: {}", verdict(&kinds, false));
        for v in result.verdict.violations.iter().take(5) {
            println!("    [{}] {}: {}", v.check, v.kind, v.explanation);
        }
        if result.verdict.violations.len() > 5 {
            println!(
                "    ... {} more in the report",
                result.verdict.violations.len() - 5
            );
        }
    }
    println!("  trace hash: {}", report.trace_hash);
    println!("  replay: {}", report.repro);
}
