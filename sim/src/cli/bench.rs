//! `occsim bench [--json] [--quick] [--only NAMES]`: the performance figures, side by side.

use std::process::ExitCode;

use clap::Args;
use sim::bench::{measure, Sizes, FIGURES};

use super::style::table;

/// Arguments of `occsim bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Print an object of named figures (and `<name>_spread`) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Smaller workloads: a quick look, not the recorded figures.
    #[arg(long)]
    pub quick: bool,
    /// Measure only these figures (comma-separated names; every figure by default).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(FIGURES))]
    pub only: Vec<String>,
}

/// Measures and prints every figure.
pub fn run_cmd(args: &BenchArgs) -> ExitCode {
    let sizes = if args.quick { Sizes::QUICK } else { Sizes::FULL };
    let only: Vec<&str> = args.only.iter().map(String::as_str).collect();
    let figures = measure(sizes, &only, &|name| eprintln!("occsim bench: measuring {name}"));
    if args.json {
        let mut out = serde_json::Map::new();
        for f in &figures {
            out.insert(f.name.into(), f.median().into());
            out.insert(format!("{}_spread", f.name), f.spread().into());
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("numbers serialize")
        );
    } else {
        let engine = figures
            .iter()
            .find(|f| f.name == "engine_txn_per_s")
            .map(|f| f.median());
        let mut t = table(&["figure", "median", "spread", "vs engine"]);
        for f in &figures {
            let ratio = engine
                .map(|e| format!("{:.2}", f.median() / e))
                .unwrap_or_default();
            t.add_row(vec![
                f.name.to_owned(),
                format!("{:.0}", f.median()),
                format!("{:.2}", f.spread()),
                ratio,
            ]);
        }
        println!("{t}");
    }
    ExitCode::SUCCESS
}
