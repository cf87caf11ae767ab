//! `report.json`: everything needed to understand and re-run a run.
//!
//! Field names follow the command-line spec and never change; fields may be
//! added. The resolved configuration is embedded, so a report re-runs even
//! after its scenario file changed.

use std::path::{Path, PathBuf};

use checker::Verdict;
use serde::{Deserialize, Serialize};

use crate::decisions::Choice;
use crate::run::{End, RunResult, Stats};
use crate::scenario::Scenario;

/// The build that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The git commit, or "unknown".
    pub git: String,
    /// The rustc version.
    pub rustc: String,
    /// The cargo profile.
    pub profile: String,
}

impl Build {
    /// This build.
    pub fn current() -> Self {
        Build {
            git: env!("OCCSIM_GIT").to_owned(),
            rustc: env!("OCCSIM_RUSTC").to_owned(),
            profile: env!("OCCSIM_PROFILE").to_owned(),
        }
    }
}

/// The version string written into reports.
pub fn version() -> String {
    format!("occsim {}", env!("CARGO_PKG_VERSION"))
}

/// A run's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// `occsim <version>`.
    pub version: String,
    /// The build that ran it.
    pub build: Build,
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Whether the configuration was drawn from the seed.
    pub swarm: bool,
    /// The planted bug that was on, if any.
    pub mutant: Option<String>,
    /// The fully resolved configuration.
    pub config: Scenario,
    /// The decision-sequence file (relative to the report), or null when the
    /// seed alone reproduces the run.
    pub choices: Option<String>,
    /// The trace hash.
    pub trace_hash: String,
    /// What the run did.
    pub stats: Stats,
    /// What the checks found.
    pub verdict: Verdict,
    /// Why the run ended.
    pub end: End,
    /// How many decisions the run made.
    pub decisions: u64,
    /// The command that reproduces the run.
    pub repro: String,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not what it should be (a report, a choices file).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Report {
    /// The report of a finished run written to `dir`.
    pub fn new(
        result: &RunResult,
        config: &Scenario,
        seed: u64,
        swarm: bool,
        mutant: Option<String>,
        choices: Option<String>,
        dir: &Path,
    ) -> Self {
        Report {
            version: version(),
            build: Build::current(),
            scenario: config.name.clone(),
            seed,
            swarm,
            mutant,
            config: config.clone(),
            choices,
            trace_hash: result.trace_hash.clone(),
            stats: result.stats.clone(),
            verdict: result.verdict.clone(),
            end: result.end.clone(),
            decisions: result.decisions.len() as u64,
            repro: format!("occsim replay {}", dir.join("report.json").display()),
        }
    }

    /// Reads a report.
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        read_json(path, "not an occsim report")
    }

    /// The decision sequence the report points to, if any.
    pub fn read_choices(&self, report_path: &Path) -> Result<Option<Vec<Choice>>, ReportError> {
        let Some(file) = &self.choices else {
            return Ok(None);
        };
        let base = report_path.parent().unwrap_or(Path::new("."));
        read_choices(&base.join(file)).map(Some)
    }
}

/// Reads a decision-sequence file: a JSON array of `[stream, value]`.
pub fn read_choices(path: &Path) -> Result<Vec<Choice>, ReportError> {
    read_json(path, "a choices file is a JSON array of [stream, value] pairs")
}

/// Reads and parses a JSON file, naming the file and `what` it should be
/// in the error.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, ReportError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: shown.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ReportError::Format {
        path: shown,
        message: format!("{what}: {e}"),
    })
}

/// Writes `report.json`, `history.jsonl` and `report.html` (and
/// `choices.json` when given) into `dir`, creating it.
pub fn write(
    dir: &Path,
    report: &Report,
    result: &RunResult,
    choices: Option<&[Choice]>,
) -> Result<PathBuf, ReportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let history_path = dir.join("history.jsonl");
    let file = std::fs::File::create(&history_path).map_err(io(&history_path))?;
    checker::write_jsonl(&result.history, file).map_err(|e| ReportError::Format {
        path: history_path.display().to_string(),
        message: e.to_string(),
    })?;
    let html_path = dir.join("report.html");
    std::fs::write(&html_path, crate::html::render(report, &result.history)).map_err(io(&html_path))?;
    if let Some(choices) = choices {
        let path = dir.join("choices.json");
        let text = serde_json::to_string(choices).expect("choices serialize");
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    let path = dir.join("report.json");
    let text = serde_json::to_string_pretty(report).expect("reports serialize");
    std::fs::write(&path, text + "\n").map_err(io(&path))?;
    Ok(path)
}
