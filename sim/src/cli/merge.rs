//! `occsim merge SUMMARY...`: merges `explore --json` summaries (one per
//! shard) into one, as if one exploration had run their union.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sim::explore::{merge, Summary};

use super::{bad_input, EXIT_VALID, EXIT_VIOLATION};

/// Arguments of `occsim merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The summaries (`explore --json` output files).
    #[arg(required = true)]
    pub summaries: Vec<PathBuf>,
}

/// Merges and prints the merged summary as JSON.
pub fn run_cmd(args: &MergeArgs) -> ExitCode {
    let mut parts = Vec::new();
    for path in &args.summaries {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return bad_input(format!("{}: {e}", path.display())),
        };
        match serde_json::from_str::<Summary>(&text) {
            Ok(s) => parts.push(s),
            Err(e) => return bad_input(format!("{}: not an explore summary: {e}", path.display())),
        }
    }
    let merged = merge(&parts);
    println!(
        "{}",
        serde_json::to_string_pretty(&merged).expect("summaries serialize")
    );
    ExitCode::from(if merged.failures == 0 {
        EXIT_VALID
    } else {
        EXIT_VIOLATION
    })
}
