//! `occsim explore [SCENARIO] --seeds A..B [--jobs N] [--shard K/N] [--swarm]
//! [--mutant NAME] [--max-failures K] [--until-failure] [--duration SECS] [--json]`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use engine::Mutant;
use sim::explore::{explore, ExploreSpec, Summary};
use sim::report::{self, Report};

use super::run::{load_scenario, parse_mutant};
use super::style::{table, verdict};
use super::{bad_input, EXIT_VALID, EXIT_VIOLATION};

/// Arguments of `occsim explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// A scenario file; without it the built-in default.
    pub scenario: Option<PathBuf>,
    /// The seed range, end-exclusive: `0..100` is 100 seeds.
    #[arg(long, value_parser = parse_range)]
    pub seeds: (u64, u64),
    /// Threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only the seeds with `seed % N == K` (K from 0), to split a range
    /// over N machines.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Each seed draws its own configuration.
    #[arg(long)]
    pub swarm: bool,
    /// Turn on a planted bug.
    #[arg(long, value_parser = parse_mutant)]
    pub mutant: Option<Mutant>,
    /// Stop after the K lowest failing seeds.
    #[arg(long)]
    pub max_failures: Option<usize>,
    /// Same as --max-failures 1.
    #[arg(long)]
    pub until_failure: bool,
    /// Stop starting new seeds after SECS wall seconds (the result then
    /// depends on speed).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Where failing seeds' reports go (default reports/explore-<scenario>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("seed range {s:?} is not A..B"))?;
    let a: u64 = a
        .parse()
        .map_err(|_| format!("seed range start {a:?} is not a number"))?;
    let b: u64 = b
        .parse()
        .map_err(|_| format!("seed range end {b:?} is not a number"))?;
    if a >= b {
        return Err(format!("seed range {s} is empty (the end is exclusive)"));
    }
    Ok((a, b))
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("shard {s:?} is not K/N"))?;
    let k: u64 = k
        .parse()
        .map_err(|_| format!("shard index {k:?} is not a number"))?;
    let n: u64 = n
        .parse()
        .map_err(|_| format!("shard count {n:?} is not a number"))?;
    if n == 0 || k >= n {
        return Err(format!("shard {s}: K must be below N (K counts from 0)"));
    }
    Ok((k, n))
}

/// Explores the seeds, writes a report per failing seed, prints a summary.
pub fn run_cmd(args: &ExploreArgs) -> ExitCode {
    let scenario = match load_scenario(args.scenario.as_ref()) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    if args.duration.is_some_and(|d| !(d > 0.0 && d.is_finite())) {
        return bad_input("--duration must be a positive number of seconds");
    }
    let (a, b) = args.seeds;
    let seeds: Vec<u64> = (a..b)
        .filter(|s| args.shard.is_none_or(|(k, n)| s % n == k))
        .collect();
    if seeds.is_empty() {
        return bad_input(format!("--seeds {a}..{b} with --shard holds no seed"));
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let spec = ExploreSpec {
        scenario: scenario.clone(),
        seeds,
        jobs,
        swarm: args.swarm,
        mutant: args.mutant,
        max_failures: if args.until_failure {
            Some(1)
        } else {
            args.max_failures
        },
        duration: args.duration.map(Duration::from_secs_f64),
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(spec.seeds.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {per_sec} eta {eta}")
                .expect("a valid template"),
        );
        bar
    });
    let on_done = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let (summary, failures) = explore(&spec, &on_done, &|_| {});
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("reports/explore-{}", scenario.name)));
    for f in &failures {
        let dir = out.join(format!("{}-{}", scenario.name, f.seed));
        let mutant = args.mutant.map(|m| m.name().to_owned());
        let report = Report::new(&f.result, &f.config, f.seed, args.swarm, mutant, None, &dir);
        if let Err(e) = report::write(&dir, &report, &f.result, None) {
            return bad_input(e);
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summaries serialize")
        );
    } else {
        print_summary(&summary, &out, args);
    }
    ExitCode::from(if summary.failures == 0 {
        EXIT_VALID
    } else {
        EXIT_VIOLATION
    })
}

fn print_summary(s: &Summary, out: &std::path::Path, args: &ExploreArgs) {
    let failing = format!("{} failing", s.failures);
    println!(
        "explored {} seeds in {:.1}s ({:.1} seeds/s), {} transactions; {}",
        s.seeds,
        s.seconds,
        s.seeds_per_second,
        s.txns,
        verdict(&failing, s.failures == 0)
    );
    if s.duration_limited {
        println!("  (stopped by --duration: the result depends on speed)");
    }
    if s.failures > 0 {
        let mut t = table(&["check", "kind", "failing seeds"]);
        for (check, n) in &s.by_check {
            t.add_row(vec![check.clone(), String::new(), n.to_string()]);
        }
        for (kind, n) in &s.by_kind {
            t.add_row(vec![String::new(), kind.clone(), n.to_string()]);
        }
        println!("{t}");
    }
    if let Some(first) = s.first_failing_seed {
        let swarm = if args.swarm { " --swarm" } else { "" };
        let mutant = args.mutant.map(|m| format!(" --mutant {m}")).unwrap_or_default();
        println!("  first failing seed: {first}  (occsim run{swarm}{mutant} --seed {first})");
        println!("  reports: {}/", out.display());
    }
    let mut t = table(&["reached", "times"]);
    for (event, n) in &s.rare_events {
        t.add_row(vec![event.clone(), n.to_string()]);
    }
    println!("{t}");
}
