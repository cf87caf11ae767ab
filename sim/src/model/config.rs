//! What the model checks: a small configuration of the simulator's
//! workloads, validated, and the simulator scenario its runs replay in.

use engine::Mutant;

use crate::scenario::{FaultConfig, Scenario, StoreConfig, Workload, WorkloadConfig};

/// The workloads the model runs by default: together they can express
/// most planted bugs, and none names a key after its agent, so agents stay
/// interchangeable and symmetry reduction applies.
pub const DEFAULT_WORKLOADS: [Workload; 3] = [Workload::Transfer, Workload::Counter, Workload::Constraint];

/// Each account's starting balance. Transfers move 1, so a balance of 1
/// makes both committed and refused (read-only) transfers reachable.
const INITIAL_BALANCE: u64 = 1;

/// What to check: a small configuration of the simulator's workloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Concurrent agents.
    pub agents: u32,
    /// Transactions per agent.
    pub txns: u32,
    /// Bank accounts.
    pub accounts: u32,
    /// The most crashes on one path.
    pub crashes: u32,
    /// The commit log's capacity N.
    pub ring: usize,
    /// A planted bug to turn on.
    pub mutant: Option<Mutant>,
    /// The workloads each transaction is drawn from.
    pub workloads: Vec<Workload>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            agents: 2,
            txns: 1,
            accounts: 2,
            crashes: 1,
            ring: 1,
            mutant: None,
            workloads: DEFAULT_WORKLOADS.to_vec(),
        }
    }
}

impl Config {
    /// Checks that the configuration is one the model can explore.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(bool, &str); 6] = [
            ((1..=6).contains(&self.agents), "--agents must be in 1..=6"),
            ((1..=4).contains(&self.txns), "--txns must be in 1..=4"),
            ((2..=6).contains(&self.accounts), "--accounts must be in 2..=6"),
            (self.crashes <= 4, "--crashes must be in 0..=4"),
            ((1..=64).contains(&self.ring), "--ring must be in 1..=64"),
            (
                !self.workloads.is_empty(),
                "--workloads must name at least one workload",
            ),
        ];
        if let Some((_, message)) = checks.iter().find(|(ok, _)| !ok) {
            return Err((*message).to_owned());
        }
        if self.workloads.contains(&Workload::LongReader) {
            return Err(
                "--workloads: long-reader sleeps on the clock, which the model does not have".to_owned(),
            );
        }
        Ok(())
    }

    /// A name for the configuration, used for its report directory.
    pub fn name(&self) -> String {
        let mutant = self.mutant.map(|m| format!("-{m}")).unwrap_or_default();
        format!(
            "model-a{}-t{}-k{}-c{}-r{}{mutant}",
            self.agents, self.txns, self.accounts, self.crashes, self.ring
        )
    }

    /// The simulator scenario whose runs the model explores: no retries,
    /// no fsync failures or bit flips, one-byte sectors (so a torn write can
    /// garble exactly one record's value), and a crash probability strictly
    /// between 0 and 1 so that a forced decision can say yes or no.
    pub fn scenario(&self) -> Scenario {
        Scenario {
            name: self.name(),
            store: StoreConfig {
                ring_capacity: self.ring,
                ..StoreConfig::default()
            },
            workload: WorkloadConfig {
                agents: self.agents,
                txns_per_agent: self.txns,
                accounts: self.accounts,
                initial_balance: INITIAL_BALANCE,
                max_amount: 1,
                counters: 1,
                constraint_pairs: 1,
                registrations: 1,
                max_retries: 0,
                mix: self.workloads.iter().map(|&w| (w, 1)).collect(),
                ..WorkloadConfig::default()
            },
            faults: FaultConfig {
                crash: 0.5,
                fsync_failure: 0.0,
                bit_flip: 0.0,
                sector_size: 1,
                ..FaultConfig::default()
            },
        }
    }

    /// Whether agents are interchangeable: no workload in the mix names a
    /// key after its agent (range writes `items-seen/<agent>`).
    pub fn symmetric(&self) -> bool {
        !self.workloads.contains(&Workload::Range)
    }
}
