//! `occsim model [--agents N] [--txns N] [--accounts N] [--crashes N] [--ring N]
//! [--workloads LIST] [--mutant NAME] [--json]`: exhaustive model check of the real
//! engine over every interleaving and crash point of a small configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::Mutant;
use serde_json::json;
use sim::model::{self, Config, Counterexample, Report};
use sim::scenario::Workload;

use super::run::parse_mutant;
use super::{bad_input, EXIT_VALID, EXIT_VIOLATION};

/// Arguments of `occsim model`.
#[derive(Args, Debug)]
pub struct ModelArgs {
    /// Concurrent agents.
    #[arg(long, default_value_t = 2)]
    pub agents: u32,
    /// Transactions per agent.
    #[arg(long, default_value_t = 1)]
    pub txns: u32,
    /// Bank accounts.
    #[arg(long, default_value_t = 2)]
    pub accounts: u32,
    /// The most crashes on one path.
    #[arg(long, default_value_t = 1)]
    pub crashes: u32,
    /// The commit log's capacity N.
    #[arg(long, default_value_t = 1)]
    pub ring: usize,
    /// The workloads transactions are drawn from, comma-separated
    /// (default: transfer,counter,constraint).
    #[arg(long, value_delimiter = ',', value_parser = parse_workload)]
    pub workloads: Vec<Workload>,
    /// Turn on a planted bug (`occsim mutants` lists them).
    #[arg(long, value_parser = parse_mutant)]
    pub mutant: Option<Mutant>,
    /// Checker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses a workload name as scenario files spell it.
fn parse_workload(s: &str) -> Result<Workload, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
        format!("unknown workload {s:?} (transfer, atomic-transfer, counter, audit, constraint, create-if-absent, range)")
    })
}

/// Runs the check and prints what it found.
pub fn run_cmd(args: &ModelArgs) -> ExitCode {
    let config = Config {
        agents: args.agents,
        txns: args.txns,
        accounts: args.accounts,
        crashes: args.crashes,
        ring: args.ring,
        mutant: args.mutant,
        workloads: if args.workloads.is_empty() {
            model::DEFAULT_WORKLOADS.to_vec()
        } else {
            args.workloads.clone()
        },
    };
    if let Err(e) = config.validate() {
        return bad_input(e);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return bad_input("--threads must be at least 1");
    }
    let report = model::check(&config, threads);
    let dir = PathBuf::from("reports").join(config.name());
    let mut replays = Vec::new();
    for (i, c) in report.violations.iter().enumerate() {
        let sub = dir.join(format!("violation-{i}"));
        match c.write(&sub, &config.scenario(), config.mutant) {
            Ok(command) => replays.push(command),
            Err(e) => return bad_input(format!("{}: {e}", sub.display())),
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&config, &report, &replays)).expect("json")
        );
    } else {
        print_human(&config, &report, &replays);
    }
    ExitCode::from(if report.violations.is_empty() {
        EXIT_VALID
    } else {
        EXIT_VIOLATION
    })
}

/// The check, kind and explanation a violation is reported under: the
/// replayed run's first finding, else the invariant's own.
fn headline(c: &Counterexample) -> (String, String, String) {
    match c.verdict.violations.first() {
        Some(v) if c.property == model::names::VERDICT => {
            (v.check.clone(), v.kind.clone(), v.explanation.clone())
        }
        _ => {
            let (check, kind) = model::property_kind(c.property);
            (
                check.to_owned(),
                kind.to_owned(),
                format!(
                    "the invariant \"{}\" fails after {} actions",
                    c.property, c.actions
                ),
            )
        }
    }
}

fn to_json(config: &Config, r: &Report, replays: &[String]) -> serde_json::Value {
    let violations: Vec<serde_json::Value> = r
        .violations
        .iter()
        .zip(replays)
        .map(|(c, replay)| {
            let (check, kind, explanation) = headline(c);
            json!({
                "property": c.property,
                "check": check,
                "kind": kind,
                "explanation": explanation,
                "depth": c.actions,
                "schedule": c.schedule,
                "replay_verdict": c.verdict,
                "replay": replay,
            })
        })
        .collect();
    let coverage: serde_json::Map<String, serde_json::Value> = r
        .coverage
        .iter()
        .map(|(name, reached)| ((*name).to_owned(), json!(reached)))
        .collect();
    json!({
        "valid": r.violations.is_empty(),
        "states": r.states,
        "unique_states": r.unique_states,
        "merged_states": r.states - r.unique_states,
        "max_depth": r.max_depth,
        "seconds": r.seconds,
        "unique_states_per_second": per_second(r),
        "search": "bfs",
        "symmetry": r.symmetry,
        "threads": r.threads,
        "config": {
            "agents": config.agents,
            "txns": config.txns,
            "accounts": config.accounts,
            "crashes": config.crashes,
            "ring": config.ring,
            "workloads": config.workloads,
            "mutant": config.mutant.map(|m| m.name()),
        },
        "coverage": coverage,
        "violations": violations,
    })
}

fn per_second(r: &Report) -> f64 {
    (r.unique_states as f64 / r.seconds.max(1e-9)).round()
}

fn print_human(config: &Config, r: &Report, replays: &[String]) {
    let workloads: Vec<String> = config
        .workloads
        .iter()
        .map(|w| {
            serde_json::to_value(w)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    println!(
        "occsim model: {} agents x {} txns, {} accounts, up to {} crashes, ring {}, workloads {}, mutant {}",
        config.agents,
        config.txns,
        config.accounts,
        config.crashes,
        config.ring,
        workloads.join(","),
        config.mutant.map_or("none", Mutant::name)
    );
    let symmetry = if r.symmetry {
        "with symmetry reduction (agents are interchangeable)"
    } else {
        "without symmetry reduction (a workload names keys by agent)"
    };
    println!("  search: BFS {symmetry}, {} threads", r.threads);
    println!(
        "  states: {} explored, {} unique ({} merged away), max depth {}",
        r.states,
        r.unique_states,
        r.states - r.unique_states,
        r.max_depth
    );
    println!("  time: {:.2} s, {} unique states/s", r.seconds, per_second(r));
    let coverage: Vec<String> = r
        .coverage
        .iter()
        .map(|(name, reached)| format!("{name}: {}", if *reached { "yes" } else { "no" }))
        .collect();
    println!("  reached: {}", coverage.join("; "));
    if r.violations.is_empty() {
        println!("  verdict: valid (every invariant holds in every state)");
        return;
    }
    for (c, replay) in r.violations.iter().zip(replays) {
        let (check, kind, explanation) = headline(c);
        println!("  verdict: INVALID: \"{}\" fails: [{check}] {kind}", c.property);
        println!("  shortest counterexample ({} actions):", c.actions);
        for (i, line) in c.schedule.iter().enumerate() {
            println!("    {:>2}. {line}", i + 1);
        }
        println!("  {explanation}");
        if c.verdict.valid {
            println!(
                "  the simulator's checks find nothing in the replayed run; only the model's invariant does"
            );
        } else {
            println!(
                "  the replayed run's checks find: {}",
                c.verdict.anomaly_types.join(", ")
            );
        }
        println!("  replay: {replay}");
    }
}
