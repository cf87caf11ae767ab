//! `occsim shrink REPORT [--out DIR] [--budget N]`: minimises a failing run
//! and writes the minimal run's report with its decision sequence.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::Mutant;
use sim::report::{self, Report};
use sim::run::{run, RunSpec};
use sim::shrink::{shrink, target_of, Candidate};

use super::{bad_input, EXIT_VIOLATION};

/// Arguments of `occsim shrink`.
#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// The failing run's report.json.
    pub report: PathBuf,
    /// Where to write the shrunk report (default: beside it, `-shrunk`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The most runs to try.
    #[arg(long, default_value_t = 3000)]
    pub budget: u64,
}

/// Shrinks the report's failure; exit 1 with the shrunk report written.
pub fn run_cmd(args: &ShrinkArgs) -> ExitCode {
    let report = match Report::read(&args.report) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let mutant = match report.mutant.as_deref().map(str::parse::<Mutant>).transpose() {
        Ok(m) => m,
        Err(e) => return bad_input(format!("{}: {e}", args.report.display())),
    };
    let recorded = match report.read_choices(&args.report) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let mut spec = RunSpec::new(report.config.clone(), report.seed);
    spec.mutant = mutant;
    spec.choices = recorded;
    let original = run(spec);
    let Some(target) = target_of(&original) else {
        return bad_input(format!(
            "{}: the run does not fail, nothing to shrink",
            args.report.display()
        ));
    };
    let start = Candidate {
        config: report.config.clone(),
        seed: report.seed,
        mutant,
        choices: original.decisions.to_vec(),
    };
    let Some(shrunk) = shrink(start, &target, args.budget) else {
        return bad_input(format!(
            "{}: the failure did not reproduce from its decisions",
            args.report.display()
        ));
    };
    let dir = args.out.clone().unwrap_or_else(|| {
        let parent = args.report.parent().map(PathBuf::from).unwrap_or_default();
        let name = parent
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        parent.with_file_name(format!("{name}-shrunk"))
    });
    let c = &shrunk.candidate;
    let out = Report::new(
        &shrunk.result,
        &c.config,
        c.seed,
        false,
        mutant.map(|m| m.name().to_owned()),
        Some("choices.json".into()),
        &dir,
    );
    if let Err(e) = report::write(&dir, &out, &shrunk.result, Some(&c.choices)) {
        return bad_input(e);
    }
    println!(
        "shrunk {} / {} ({} runs tried)",
        target.check, target.kind, shrunk.attempts
    );
    println!(
        "  before: {} txns, {} agents, {} decisions, {} steps",
        original.stats.txns,
        report.config.workload.agents,
        original.decisions.len(),
        original.stats.steps
    );
    println!(
        "  after:  {} txns, {} agents, {} decisions, {} steps",
        shrunk.result.stats.txns,
        c.config.workload.agents,
        c.choices.len(),
        shrunk.result.stats.steps
    );
    for v in shrunk
        .result
        .verdict
        .violations
        .iter()
        .filter(|v| v.check == target.check && v.kind == target.kind)
        .take(1)
    {
        println!("  {}", v.explanation);
    }
    println!("  replay: {}", out.repro);
    ExitCode::from(EXIT_VIOLATION)
}
