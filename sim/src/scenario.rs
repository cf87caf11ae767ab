//! Scenario files: what a run simulates, as TOML a user edits.
//!
//! Every field has a default, so a scenario file names only what it
//! changes. Unknown fields are errors (a typo must not silently fall back to
//! a default). The resolved configuration is written into every report, so
//! a run re-runs even after the file changed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The workloads an agent's transactions are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// An interactive transfer: read both balances, refuse if short, write both.
    Transfer,
    /// The seed's Deno `transferFunds`: `get_many`, then `atomic().check().check().set().set()`.
    AtomicTransfer,
    /// A read-modify-write increment of a hot counter.
    Counter,
    /// Read every account in one transaction.
    Audit,
    /// Write-skew bait: read both keys of a pair, withdraw from one if the sum allows.
    Constraint,
    /// Insert a registration only if a read saw it absent.
    CreateIfAbsent,
    /// Phantom bait: list a prefix, insert into it, write the count seen.
    Range,
    /// Stay open across many commits, then write (drives snapshot-too-old).
    LongReader,
}

impl Workload {
    /// Every workload, in a fixed order.
    pub const ALL: [Workload; 8] = [
        Workload::Transfer,
        Workload::AtomicTransfer,
        Workload::Counter,
        Workload::Audit,
        Workload::Constraint,
        Workload::CreateIfAbsent,
        Workload::Range,
        Workload::LongReader,
    ];
}

/// The store under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The commit log's capacity N.
    pub ring_capacity: usize,
    /// A checkpoint is taken once the WAL holds this many bytes.
    pub checkpoint_wal_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            ring_capacity: 64,
            checkpoint_wal_bytes: 16 * 1024,
        }
    }
}

/// The agents and what they do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// How many agents run concurrently.
    pub agents: u32,
    /// How many transactions each agent runs (retries not counted).
    pub txns_per_agent: u32,
    /// Bank accounts.
    pub accounts: u32,
    /// Each account's starting balance.
    pub initial_balance: u64,
    /// The largest amount one transfer moves.
    pub max_amount: u64,
    /// Hot counter keys.
    pub counters: u32,
    /// Key pairs for the constraint workload.
    pub constraint_pairs: u32,
    /// Registration keys for create-if-absent.
    pub registrations: u32,
    /// How many ticks a long reader stays open between its reads.
    pub long_reader_ticks: u64,
    /// Retries after a conflict before an agent gives a transaction up.
    pub max_retries: u32,
    /// The first retry's backoff in ticks; it doubles with each retry.
    pub backoff_ticks: u64,
    /// Relative weights of the workloads; missing ones weigh 0.
    pub mix: BTreeMap<Workload, u32>,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            agents: 4,
            txns_per_agent: 40,
            accounts: 8,
            initial_balance: 100,
            max_amount: 30,
            counters: 2,
            constraint_pairs: 2,
            registrations: 8,
            long_reader_ticks: 40,
            max_retries: 5,
            backoff_ticks: 2,
            mix: BTreeMap::from([
                (Workload::Transfer, 3),
                (Workload::AtomicTransfer, 2),
                (Workload::Audit, 1),
            ]),
        }
    }
}

/// Faults injected through the simulated disk and the process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Probability, per step, of a crash (before, inside or after the step).
    pub crash: f64,
    /// Probability, per step, that the step's next fsync fails with EIO.
    pub fsync_failure: f64,
    /// Probability, per step, of a bit flip in durable data.
    pub bit_flip: f64,
    /// Sector size of the simulated disk: torn writes tear at this grain.
    pub sector_size: usize,
    /// Faults stop after this many steps; then the liveness phase starts.
    pub fault_steps: u64,
    /// After the last fault, every agent must finish within this many steps.
    pub liveness_steps: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            crash: 0.005,
            fsync_failure: 0.001,
            bit_flip: 0.0,
            sector_size: 512,
            fault_steps: 100_000,
            liveness_steps: 20_000,
        }
    }
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// The scenario's name (reports are written under `reports/<name>-<seed>/`).
    pub name: String,
    /// The store.
    pub store: StoreConfig,
    /// The agents.
    pub workload: WorkloadConfig,
    /// The faults.
    pub faults: FaultConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "default".to_owned(),
            store: StoreConfig::default(),
            workload: WorkloadConfig::default(),
            faults: FaultConfig::default(),
        }
    }
}

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, and where.
        message: String,
    },
    /// A value is out of its range.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Scenario {
    /// Reads a scenario file; its name defaults to the file's stem.
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut scenario = Self::from_toml(&text).map_err(|message| ScenarioError::Parse {
            path: shown.clone(),
            message,
        })?;
        if scenario.name == Scenario::default().name && !text.contains("name") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                scenario.name = stem.to_owned();
            }
        }
        scenario
            .validate()
            .map_err(|message| ScenarioError::Invalid { path: shown, message })?;
        Ok(scenario)
    }

    /// Parses scenario TOML (without validating ranges).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', " "))
    }

    /// Checks every value's range, naming the first one out of it.
    pub fn validate(&self) -> Result<(), String> {
        let w = &self.workload;
        let f = &self.faults;
        let checks: [(bool, &str); 12] = [
            (
                self.store.ring_capacity >= 1,
                "store.ring_capacity must be at least 1",
            ),
            (
                w.agents >= 1 && w.agents <= 1024,
                "workload.agents must be in 1..=1024",
            ),
            (w.accounts >= 2, "workload.accounts must be at least 2"),
            (w.max_amount >= 1, "workload.max_amount must be at least 1"),
            (
                w.counters >= 1 && w.constraint_pairs >= 1,
                "workload.counters and constraint_pairs must be at least 1",
            ),
            (w.registrations >= 1, "workload.registrations must be at least 1"),
            (
                w.mix.values().any(|&x| x > 0),
                "workload.mix must give some workload a weight above 0",
            ),
            (
                (0.0..=1.0).contains(&f.crash),
                "faults.crash must be a probability in [0, 1]",
            ),
            (
                (0.0..=1.0).contains(&f.fsync_failure),
                "faults.fsync_failure must be a probability in [0, 1]",
            ),
            (
                (0.0..=1.0).contains(&f.bit_flip),
                "faults.bit_flip must be a probability in [0, 1]",
            ),
            (
                f.sector_size >= 1 && f.sector_size <= 1 << 20,
                "faults.sector_size must be in 1..=1048576",
            ),
            (
                w.txns_per_agent <= 1_000_000,
                "workload.txns_per_agent must be at most 1000000",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err((*message).to_owned()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_names_only_what_it_changes() {
        let s = Scenario::from_toml("[workload]\nagents = 2\n[workload.mix]\ncounter = 1\n").unwrap();
        assert_eq!(s.workload.agents, 2);
        assert_eq!(s.workload.mix, BTreeMap::from([(Workload::Counter, 1)]));
        assert_eq!(s.store, StoreConfig::default());
        assert!(s.validate().is_ok());
    }

    #[test]
    fn typos_and_bad_values_are_clear_errors() {
        let err = Scenario::from_toml("[workload]\nagentz = 2\n").unwrap_err();
        assert!(err.contains("agentz"), "{err}");
        let err = Scenario::from_toml("[workload.mix]\nbogus = 1\n").unwrap_err();
        assert!(err.contains("bogus"), "{err}");
        let s = Scenario::from_toml("[faults]\ncrash = 1.5\n").unwrap();
        assert!(s.validate().unwrap_err().contains("faults.crash"));
        let s = Scenario::from_toml("[workload]\naccounts = 1\n").unwrap();
        assert!(s.validate().is_err());
        assert!(Scenario::from_toml("not toml [").is_err());
    }
}
