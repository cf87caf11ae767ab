//! `occsim replay REPORT [--trace]`: re-runs exactly the run a report
//! describes and compares its trace hash and verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::Mutant;
use sim::report::{Build, Report};
use sim::run::{run, RunSpec};

use super::{bad_input, EXIT_VALID, EXIT_VIOLATION};

/// Exit code: the re-run diverged from the recording.
const EXIT_DIVERGED: u8 = 3;

/// Arguments of `occsim replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The report.json to re-run.
    pub report: PathBuf,
    /// Print every operation of the re-run.
    #[arg(long)]
    pub trace: bool,
}

/// Re-runs a report: exit 1 when the recorded failure reproduced, 0 when a
/// valid run reproduced, 3 when the re-run diverged.
pub fn run_cmd(args: &ReplayArgs) -> ExitCode {
    let report = match Report::read(&args.report) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let choices = match report.read_choices(&args.report) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let mutant = match report.mutant.as_deref().map(str::parse::<Mutant>).transpose() {
        Ok(m) => m,
        Err(e) => return bad_input(format!("{}: {e}", args.report.display())),
    };
    if report.build != Build::current() {
        eprintln!(
            "occsim: warning: the report was written by build {:?}, this is {:?}; a divergence may come from the build",
            report.build,
            Build::current()
        );
    }
    let mut spec = RunSpec::new(report.config.clone(), report.seed);
    spec.mutant = mutant;
    spec.choices = choices;
    let result = run(spec);
    if args.trace {
        for op in &result.history.ops {
            println!("{}", serde_json::to_string(op).expect("ops serialize"));
        }
    }
    let same_hash = result.trace_hash == report.trace_hash;
    let same_verdict = result.verdict.anomaly_types == report.verdict.anomaly_types;
    if !same_hash || !same_verdict {
        println!(
            "DIVERGED: trace {} (recorded {}), anomalies {:?} (recorded {:?})",
            result.trace_hash, report.trace_hash, result.verdict.anomaly_types, report.verdict.anomaly_types
        );
        return ExitCode::from(EXIT_DIVERGED);
    }
    if result.verdict.valid {
        println!("reproduced: valid run, trace {}", result.trace_hash);
        ExitCode::from(EXIT_VALID)
    } else {
        println!(
            "reproduced the failure: {} (trace {})",
            result.verdict.anomaly_types.join(", "),
            result.trace_hash
        );
        for v in &result.verdict.violations {
            println!("  [{}] {}: {}", v.check, v.kind, v.explanation);
        }
        ExitCode::from(EXIT_VIOLATION)
    }
}
