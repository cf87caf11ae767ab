//! The `occsim` command line: parses arguments and hands each subcommand to its module.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The model checker clones, builds and drops small states and histories
/// millions of times on every core; mimalloc's thread-local free lists make
/// that about a third cheaper than the system allocator's. It is mimalloc's
/// v2 line: Rust asks for every allocation through the aligned entry points,
/// which v3 serves on a slower path (callgrind: parsing and checking a
/// history take 2% fewer instructions with v2, the simulator and the model
/// checker about 1% fewer).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deterministic simulation testing of an OCC key-value store.
#[derive(Parser)]
#[command(name = "occsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, one module each under `cli/`.
#[derive(Subcommand)]
enum Command {
    /// Run one seeded simulation of the engine, check it and write a report.
    Run(cli::run::RunArgs),
    /// Re-run exactly the run a report.json describes and compare.
    Replay(cli::replay::ReplayArgs),
    /// Run many seeds in parallel (optionally drawing each configuration).
    Explore(cli::explore::ExploreArgs),
    /// Merge `explore --json` summaries (shards) into one.
    Merge(cli::merge::MergeArgs),
    /// Minimise a failing run while the same check and kind keeps failing.
    Shrink(cli::shrink::ShrinkArgs),
    /// Check a history file for serializability anomalies and other violations.
    Check(cli::check::CheckArgs),
    /// Exhaustively model-check the engine over every interleaving and crash point (stateright).
    Model(cli::model::ModelArgs),
    /// List the planted bugs (mutants).
    Mutants,
    /// Measure the throughput figures the performance goals name.
    Bench(cli::bench::BenchArgs),
    /// StrataDB-style interactive session on an on-disk store.
    Repl(cli::repl::ReplArgs),
    /// JSON-lines OCC node on stdin/stdout (the OCC task's protocol in Maelstrom's envelope).
    Serve(cli::serve::ServeArgs),
}

fn main() -> ExitCode {
    restore_sigpipe();
    keep_freed_memory();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => cli::run::run_cmd(&args),
        Command::Replay(args) => cli::replay::run_cmd(&args),
        Command::Explore(args) => cli::explore::run_cmd(&args),
        Command::Merge(args) => cli::merge::run_cmd(&args),
        Command::Shrink(args) => cli::shrink::run_cmd(&args),
        Command::Check(args) => cli::check::run(&args),
        Command::Model(args) => cli::model::run_cmd(&args),
        Command::Mutants => cli::mutants::run_cmd(),
        Command::Bench(args) => cli::bench::run_cmd(&args),
        Command::Repl(args) => cli::repl::run_cmd(&args),
        Command::Serve(args) => cli::serve::run_cmd(&args),
    }
}

/// mimalloc's `purge_delay` option (v2's numbering; its default is 10 ms).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps memory that was freed for reuse instead of returning it to the
/// system 10 ms later. occsim builds and drops large transient structures
/// back to back (a run's history, a parsed file, one simulation after
/// another in `explore` and `bench`), and memory returned to the system
/// must be faulted in and zeroed by the kernel again when the next one
/// grows: half of `occsim bench`'s system time, and about a third of the
/// time to parse a history. The cost is that the process keeps its peak
/// footprint until it exits, which a command-line tool can afford.
fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes two integers and may be called at any
    // time from any thread (mimalloc's options are atomics); it only
    // changes when mimalloc returns free pages to the system.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

/// Lets a closed pipe end the process quietly, as for any Unix tool
/// (`occsim explore --json | head`), instead of a panic on the next print.
/// Rust ignores SIGPIPE by default, which turns it into a write error.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal's disposition to the default at the start
    // of `main`, before any thread exists, has no memory-safety effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;

    /// The option number is mimalloc's, not a guess: before occsim sets it,
    /// it holds `purge_delay`'s documented default of 10 ms (its neighbours
    /// default to 1 and 0), and setting it reads back.
    #[test]
    fn the_purge_delay_option_is_the_one_occsim_sets() {
        // SAFETY: as in `keep_freed_memory`.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 10);
        super::keep_freed_memory();
        // SAFETY: as in `keep_freed_memory`.
        let set = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(set, -1);
    }
}
