//! `occsim bench [--json] [--quick] [--only NAMES]`: the performance figures, side by side.
//!
//! Figures that belong together (the engine and the simulator, whose ratio is a goal; check
//! and parse, which share a history) are measured in one process. Each such group runs in a
//! fresh process of its own, as JMH forks a JVM per benchmark: a figure then does not depend
//! on the heap and caches the groups before it left behind. Checking a million-transaction
//! history right after simulating a million transfers measured 1.0-1.8M transactions per
//! second where the same check in a process of its own measured 2.0-2.6M.

use std::process::{Command, ExitCode};

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

/// The figures measured in one process, in the order they are measured.
const GROUPS: [&[&str]; 5] = [
    &["engine_txn_per_s", "sim_txn_per_s"],
    &["check_txn_per_s", "parse_txn_per_s"],
    &["explore_seeds_per_s_jobs1", "explore_seeds_per_s_all"],
    &["model_states_per_s"],
    &["fsync_commits_per_s", "group_commit_txn_per_s"],
];

/// One figure as printed: its median and spread.
struct Measured {
    name: String,
    median: f64,
    spread: f64,
}

/// Measures and prints every figure asked for.
pub fn run_cmd(args: &BenchArgs) -> ExitCode {
    let groups: Vec<Vec<&str>> = GROUPS
        .iter()
        .map(|group| {
            group
                .iter()
                .copied()
                .filter(|name| args.only.is_empty() || args.only.iter().any(|o| o == name))
                .collect::<Vec<_>>()
        })
        .filter(|group| !group.is_empty())
        .collect();
    let figures = if groups.len() <= 1 {
        in_process(args)
    } else {
        let mut figures = Vec::new();
        for group in &groups {
            eprintln!("occsim bench: a fresh process for {}", group.join(","));
            match in_child(group, args.quick) {
                Ok(measured) => figures.extend(measured),
                Err(message) => {
                    eprintln!("occsim bench: {message}");
                    return ExitCode::from(2);
                }
            }
        }
        figures
    };
    print(&figures, args.json);
    ExitCode::SUCCESS
}

/// Measures the figures asked for in this process.
fn in_process(args: &BenchArgs) -> Vec<Measured> {
    let sizes = if args.quick { Sizes::QUICK } else { Sizes::FULL };
    let only: Vec<&str> = args.only.iter().map(String::as_str).collect();
    measure(sizes, &only, &|name| eprintln!("occsim bench: measuring {name}"))
        .iter()
        .filter(|f| only.is_empty() || only.contains(&f.name))
        .map(|f| Measured {
            name: f.name.to_owned(),
            median: f.median(),
            spread: f.spread(),
        })
        .collect()
}

/// Measures one group of figures in a fresh `occsim bench` process, read back as JSON.
fn in_child(group: &[&str], quick: bool) -> Result<Vec<Measured>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find its own executable: {e}"))?;
    let mut command = Command::new(&exe);
    command.args(["bench", "--json", "--only", &group.join(",")]);
    if quick {
        command.arg("--quick");
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if !output.status.success() {
        return Err(format!(
            "measuring {} failed ({})",
            group.join(","),
            output.status
        ));
    }
    let values: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("unreadable figures for {}: {e}", group.join(",")))?;
    group
        .iter()
        .map(|name| {
            let number = |key: &str| {
                values
                    .get(key)
                    .and_then(serde_json::Value::as_f64)
                    .ok_or_else(|| format!("no {key} in the figures measured"))
            };
            Ok(Measured {
                name: (*name).to_owned(),
                median: number(name)?,
                spread: number(&format!("{name}_spread"))?,
            })
        })
        .collect()
}

/// Prints the figures as a table, or as a JSON object of medians and spreads.
fn print(figures: &[Measured], json: bool) {
    if json {
        let mut out = serde_json::Map::new();
        for f in figures {
            out.insert(f.name.clone(), f.median.into());
            out.insert(format!("{}_spread", f.name), f.spread.into());
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("numbers serialize")
        );
    } else {
        let engine = figures
            .iter()
            .find(|f| f.name == "engine_txn_per_s")
            .map(|f| f.median);
        let mut t = table(&["figure", "median", "spread", "vs engine"]);
        for f in figures {
            let ratio = engine.map(|e| format!("{:.2}", f.median / e)).unwrap_or_default();
            t.add_row(vec![
                f.name.clone(),
                format!("{:.0}", f.median),
                format!("{:.2}", f.spread),
                ratio,
            ]);
        }
        println!("{t}");
    }
}
