//! Writes `report.html` for a report directory that has `report.json` and
//! `history.jsonl`, so reports written before the HTML page existed (or by
//! another build) can be looked at too.
//!
//! Usage: `cargo run -p sim --example render_html -- REPORT_DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: render_html REPORT_DIR (a directory with report.json and history.jsonl)");
        return ExitCode::from(2);
    };
    let report = match sim::report::Report::read(&dir.join("report.json")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("render_html: {e}");
            return ExitCode::from(2);
        }
    };
    let history_path = dir.join("history.jsonl");
    let history = match std::fs::File::open(&history_path)
        .map_err(checker::Error::from)
        .and_then(checker::parse_reader)
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("render_html: {}: {e}", history_path.display());
            return ExitCode::from(2);
        }
    };
    let out = dir.join("report.html");
    if let Err(e) = std::fs::write(&out, sim::html::render(&report, &history)) {
        eprintln!("render_html: {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!("{}", out.display());
    ExitCode::SUCCESS
}
