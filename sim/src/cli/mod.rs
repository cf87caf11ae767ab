//! One module per `occsim` subcommand, each exposing its clap arguments and a `run` function
//! that returns the process exit code (0 valid, 1 violation, 2 bad usage or input).

pub mod bench;
pub mod check;
pub mod explore;
pub mod merge;
pub mod model;
pub mod mutants;
pub mod protocol;
pub mod repl;
pub mod replay;
pub mod run;
pub mod serve;
pub mod shrink;
pub mod style;
pub mod values;

use std::process::ExitCode;

/// Exit code: the run found no violation.
pub const EXIT_VALID: u8 = 0;
/// Exit code: the run found a violation.
pub const EXIT_VIOLATION: u8 = 1;
/// Exit code: bad usage or unreadable input.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Prints a one-line error naming what is wrong and returns exit code 2.
pub fn bad_input(message: impl std::fmt::Display) -> ExitCode {
    let text = message.to_string().replace('\n', " ");
    eprintln!("occsim: {text}");
    ExitCode::from(EXIT_BAD_INPUT)
}
