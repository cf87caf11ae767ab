//! `occsim check HISTORY [--model M] [--json]`: judges a history file with the checker.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use checker::{CheckOptions, Checked, Model};
use clap::Args;

use super::{bad_input, EXIT_VALID, EXIT_VIOLATION};

/// Arguments of `occsim check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The history: a JSON array of ops or JSON Lines (elle-cli format, optional meta line).
    pub history: PathBuf,
    /// The model: native, rw-register, list-append or bank (default: the meta line's, else
    /// inferred from the ops).
    #[arg(long, value_parser = parse_model)]
    pub model: Option<Model>,
    /// Print the verdict as JSON: {"valid", "anomaly_types", "violations"}.
    #[arg(long)]
    pub json: bool,
    /// Also order each process's transactions (reports Elle's `-process` anomalies).
    #[arg(long)]
    pub process: bool,
    /// Also order transactions by real time (strict serializability; `-realtime` anomalies).
    #[arg(long)]
    pub realtime: bool,
}

/// Parses a model name for clap (so an unknown one is a usage error, exit 2).
fn parse_model(s: &str) -> Result<Model, String> {
    s.parse::<Model>().map_err(|e| e.to_string())
}

/// Runs the check and prints the verdict; the exit code says whether it held.
pub fn run(args: &CheckArgs) -> ExitCode {
    let path = args.history.display();
    let file = match File::open(&args.history) {
        Ok(f) => f,
        Err(e) => return bad_input(format!("{path}: {e}")),
    };
    let history = match checker::parse_reader(file) {
        Ok(h) => h,
        Err(e) => return bad_input(format!("{path}: {e}")),
    };
    let options = CheckOptions {
        model: args.model,
        process_edges: args.process,
        realtime_edges: args.realtime,
    };
    let checked = match checker::check(&history, &options) {
        Ok(c) => c,
        Err(e) => return bad_input(format!("{path}: {e}")),
    };
    if args.json {
        match serde_json::to_string_pretty(&checked.verdict) {
            Ok(text) => println!("{text}"),
            Err(e) => return bad_input(format!("{path}: {e}")),
        }
    } else {
        print_human(&history, &options, &checked);
    }
    ExitCode::from(if checked.verdict.valid {
        EXIT_VALID
    } else {
        EXIT_VIOLATION
    })
}

/// Prints the verdict first, then each violation with its explanation, then the statistics.
fn print_human(history: &checker::History, options: &CheckOptions, checked: &Checked) {
    let v = &checked.verdict;
    let model = checker::resolve_model(history, options.model).name();
    if v.valid {
        println!("valid ({model} model): no anomalies found");
    } else {
        println!(
            "INVALID ({model} model): {} violation(s): {}",
            v.violations.len(),
            v.anomaly_types.join(", ")
        );
    }
    for violation in &v.violations {
        println!();
        println!("[{}] {}", violation.check, violation.kind);
        println!("  {}", violation.explanation);
    }
    let s = &checked.stats;
    println!();
    println!(
        "checked {} ops: {} txns ({} committed, {} failed, {} indeterminate of which {} \
         committed), {} dependency edges, {} cyclic components, {} crashes",
        s.ops,
        s.txns,
        s.committed,
        s.failed,
        s.indeterminate,
        s.indeterminate_committed,
        s.edges,
        s.cyclic_components,
        s.crashes
    );
    if s.snapshot_too_old_without_conflict > 0 {
        println!(
            "{} snapshot_too_old aborts had no real conflict",
            s.snapshot_too_old_without_conflict
        );
    }
    if s.suppressed_violations > 0 {
        println!("{} further violations not listed", s.suppressed_violations);
    }
}
