//! `occsim mutants`: lists the planted bugs, one per line.

use std::process::ExitCode;

use engine::Mutant;

/// Prints each mutant's name and description.
pub fn run_cmd() -> ExitCode {
    for m in Mutant::ALL {
        println!("{:<26} {}", m.name(), m.description());
    }
    ExitCode::SUCCESS
}
