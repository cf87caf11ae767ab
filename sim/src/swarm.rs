//! Swarm testing: each seed draws its own configuration, as FoundationDB
//! and TigerBeetle do, so a range of seeds covers many shapes of run
//! (one agent or sixteen, two accounts or a thousand, a ring of one or
//! 4096, no faults or many) rather than many runs of one shape.
//!
//! The configuration is drawn from the seed's own `swarm` stream, so it
//! does not disturb the run's decisions, and the report records it.

use std::collections::BTreeMap;

use crate::decisions::{Decisions, Stream};
use crate::scenario::{FaultConfig, Scenario, StoreConfig, Workload, WorkloadConfig};

/// The most transactions a swarm run has (agents x transactions each).
pub const MAX_TXNS: u64 = 1000;

/// A value in `lo..=hi`, drawn log-uniformly (small values as likely as
/// large orders of magnitude).
fn log_uniform(d: &mut Decisions, lo: u64, hi: u64) -> u64 {
    assert!(1 <= lo && lo <= hi);
    let bits_lo = 64 - lo.leading_zeros() as u64;
    let bits_hi = 64 - hi.leading_zeros() as u64;
    let bits = d.between(Stream::Swarm, bits_lo, bits_hi);
    let lo_b = (1u64 << (bits - 1)).max(lo);
    let hi_b = ((1u64 << bits) - 1).min(hi);
    d.between(Stream::Swarm, lo_b, hi_b)
}

/// A probability: none a third of the time, else drawn log-uniformly
/// from `min..=max`.
fn probability(d: &mut Decisions, min: f64, max: f64) -> f64 {
    if d.choose(Stream::Swarm, 3) == 0 {
        return 0.0;
    }
    let per_million = log_uniform(d, (min * 1_000_000.0) as u64, (max * 1_000_000.0) as u64);
    per_million as f64 / 1_000_000.0
}

/// The configuration seed `seed` draws, named after `base`.
pub fn draw(seed: u64, base: &Scenario) -> Scenario {
    let mut d = Decisions::seeded(seed, false);
    let agents = d.between(Stream::Swarm, 1, 16) as u32;
    let txns_per_agent = d.between(Stream::Swarm, 1, MAX_TXNS / u64::from(agents)) as u32;
    let mut mix = BTreeMap::new();
    for w in Workload::ALL {
        let weight = d.choose(Stream::Swarm, 4) as u32;
        if weight > 0 {
            mix.insert(w, weight);
        }
    }
    if mix.is_empty() {
        mix.insert(
            Workload::ALL[d.choose(Stream::Swarm, Workload::ALL.len() as u64) as usize],
            1,
        );
    }
    let workload = WorkloadConfig {
        agents,
        txns_per_agent,
        accounts: log_uniform(&mut d, 2, 1000) as u32,
        initial_balance: log_uniform(&mut d, 1, 1000),
        max_amount: log_uniform(&mut d, 1, 100),
        counters: log_uniform(&mut d, 1, 8) as u32,
        constraint_pairs: log_uniform(&mut d, 1, 4) as u32,
        registrations: log_uniform(&mut d, 1, 64) as u32,
        long_reader_ticks: log_uniform(&mut d, 1, 200),
        max_retries: d.between(Stream::Swarm, 0, 8) as u32,
        backoff_ticks: log_uniform(&mut d, 1, 16),
        mix,
    };
    let store = StoreConfig {
        ring_capacity: log_uniform(&mut d, 1, 4096) as usize,
        checkpoint_wal_bytes: log_uniform(&mut d, 256, 1 << 20),
    };
    let faults = FaultConfig {
        // At least one crash in a thousand steps: a run of a few thousand
        // steps then crashes often enough to crash some commit in flight,
        // which is what recovery bugs need to show.
        crash: probability(&mut d, 0.001, 0.05),
        fsync_failure: probability(&mut d, 0.0001, 0.02),
        bit_flip: probability(&mut d, 0.0001, 0.002),
        sector_size: 1 << d.between(Stream::Swarm, 4, 12),
        fault_steps: base.faults.fault_steps,
        liveness_steps: base.faults.liveness_steps.max(workload_bound(&workload)),
    };
    Scenario {
        name: format!("{}-swarm", base.name),
        store,
        workload,
        faults,
    }
}

/// Steps enough for any agent to finish all its work after the last fault
/// (an audit of a thousand accounts is a thousand steps).
fn workload_bound(w: &WorkloadConfig) -> u64 {
    let per_txn = u64::from(w.accounts) + w.long_reader_ticks + 8;
    let retries = u64::from(w.max_retries) + 1;
    u64::from(w.agents) * u64::from(w.txns_per_agent) * per_txn * retries + (w.backoff_ticks << 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_configurations_are_valid_varied_and_bounded() {
        let base = Scenario::default();
        let mut agents = std::collections::BTreeSet::new();
        let mut no_crash = 0;
        for seed in 0..300 {
            let s = draw(seed, &base);
            s.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!(u64::from(s.workload.agents) * u64::from(s.workload.txns_per_agent) <= MAX_TXNS);
            assert!((1..=16).contains(&s.workload.agents));
            assert!((2..=1000).contains(&s.workload.accounts));
            assert!((1..=4096).contains(&s.store.ring_capacity));
            agents.insert(s.workload.agents);
            no_crash += usize::from(s.faults.crash == 0.0);
            assert_eq!(draw(seed, &base), s, "the same seed draws the same configuration");
        }
        assert!(agents.len() >= 12, "agent counts vary: {agents:?}");
        assert!(
            no_crash > 30 && no_crash < 200,
            "some seeds have no crashes: {no_crash}"
        );
    }
}
