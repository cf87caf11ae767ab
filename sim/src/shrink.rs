//! Minimising a failing run while the same check and anomaly kind keeps
//! failing.
//!
//! A run is fully described by its configuration and its decision sequence,
//! so shrinking edits those two things, as Hypothesis shrinks its choice
//! sequence: first the configuration (fewer agents, transactions, accounts;
//! a smaller ring), then the decisions (delete chunks, zero chunks, lower
//! single values). Every candidate is a real run of the real engine; it is
//! kept only if it still fails with the target (check, kind). A forced
//! sequence that runs out reads as zeros (no fault, first agent, first
//! workload), so deleting decisions always leaves a valid run.

use std::collections::BTreeMap;

use engine::Mutant;

use crate::decisions::{Choice, Stream};
use crate::run::{run, RunResult, RunSpec};
use crate::scenario::Scenario;

/// What the shrinker keeps failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The check, e.g. `serializability`.
    pub check: String,
    /// The anomaly kind, e.g. `G2-item`.
    pub kind: String,
}

/// A run to shrink: configuration, seed, mutant, decisions.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The configuration.
    pub config: Scenario,
    /// The seed (recorded for the report; decisions are forced).
    pub seed: u64,
    /// The planted bug.
    pub mutant: Option<Mutant>,
    /// The decision sequence.
    pub choices: Vec<Choice>,
}

/// The shrinker's result.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The smallest failing candidate found.
    pub candidate: Candidate,
    /// Its run.
    pub result: RunResult,
    /// How many runs the shrinker tried.
    pub attempts: u64,
}

fn attempt(c: &Candidate) -> RunResult {
    let mut spec = RunSpec::new(c.config.clone(), c.seed);
    spec.mutant = c.mutant;
    spec.choices = Some(c.choices.clone());
    run(spec)
}

fn fails(result: &RunResult, target: &Target) -> bool {
    result
        .verdict
        .violations
        .iter()
        .any(|v| v.check == target.check && v.kind == target.kind)
}

/// The target of a failing run: its first violation's check and kind.
pub fn target_of(result: &RunResult) -> Option<Target> {
    result.verdict.violations.first().map(|v| Target {
        check: v.check.clone(),
        kind: v.kind.clone(),
    })
}

struct Shrinker {
    target: Target,
    best: Candidate,
    best_result: RunResult,
    attempts: u64,
    budget: u64,
}

impl Shrinker {
    /// Tries a candidate; keeps it (with the decisions it really consumed)
    /// if it still fails and is no larger.
    fn try_keep(&mut self, mut c: Candidate) -> bool {
        if self.attempts >= self.budget {
            return false;
        }
        self.attempts += 1;
        let result = attempt(&c);
        if !fails(&result, &self.target) {
            return false;
        }
        c.choices = effective(&c.choices, &result);
        if size(&c, &result) >= size(&self.best, &self.best_result) {
            return false;
        }
        self.best = c;
        self.best_result = result;
        true
    }

    fn shrink_config(&mut self, groups: &[&[ConfigStep]]) -> bool {
        let mut progress = false;
        for step in groups.iter().flat_map(|g| g.iter()) {
            loop {
                let mut c = self.best.clone();
                if !step(&mut c.config) || !self.try_keep(c) {
                    break;
                }
                progress = true;
            }
        }
        progress
    }

    /// Shrinks the decision sequence: deletes runs of whole steps, then
    /// deletes or zeroes small chunks, and once none of that helps, lowers
    /// single values.
    fn shrink_choices(&mut self) -> bool {
        let mut progress = self.delete_steps();
        progress |= self.delete_chunks(&[8, 4, 2, 1]);
        if !progress {
            progress = self.lower_values();
        }
        progress
    }

    /// Deletes, or else zeroes, chunks of each size, from the end
    /// backwards, a chunk's length apart.
    fn delete_chunks(&mut self, sizes: &[usize]) -> bool {
        let mut progress = false;
        for &chunk in sizes {
            let mut i = self.best.choices.len();
            while i > 0 && self.attempts < self.budget {
                i = i.min(self.best.choices.len()).saturating_sub(chunk);
                let mut deleted = self.best.clone();
                let end = (i + chunk).min(deleted.choices.len());
                deleted.choices.drain(i..end);
                if self.try_keep(deleted) {
                    progress = true;
                    continue;
                }
                let mut zeroed = self.best.clone();
                let end = (i + chunk).min(zeroed.choices.len());
                if i < end && zeroed.choices[i..end].iter().any(|c| c.1 != 0) {
                    zeroed.choices[i..end].iter_mut().for_each(|c| c.1 = 0);
                    progress |= self.try_keep(zeroed);
                }
            }
        }
        progress
    }

    /// Deletes runs of whole steps, from the end backwards: runs of half
    /// the steps, a quarter, and so on, a run's length apart, and runs of
    /// 8 steps or fewer at every step. A step's decisions are contiguous (its
    /// fault draws, the scheduler's pick, the agent's draws, a crash's disk
    /// draws), so deleting whole steps keeps the streams aligned where
    /// deleting arbitrary chunks would shift one stream against another,
    /// which is what lets a run lose the transactions before its failure
    /// and cut the ones after it.
    fn delete_steps(&mut self) -> bool {
        let mut progress = false;
        let steps = step_starts(&self.best.choices).len();
        let sizes = std::iter::successors(Some(steps / 2), |k| Some(k / 2)).take_while(|&k| k > 0);
        for k in sizes {
            let stride = if k > 8 { k } else { 1 };
            let mut next = usize::MAX;
            loop {
                let starts = step_starts(&self.best.choices);
                if starts.len() < k || self.attempts >= self.budget {
                    break;
                }
                let u = next.min(starts.len() - k);
                let end = starts.get(u + k).copied().unwrap_or(self.best.choices.len());
                let mut deleted = self.best.clone();
                deleted.choices.drain(starts[u]..end);
                progress |= self.try_keep(deleted);
                if u == 0 {
                    break;
                }
                next = u.saturating_sub(stride);
            }
        }
        progress
    }

    /// Halves single values, from the end backwards.
    fn lower_values(&mut self) -> bool {
        let mut progress = false;
        for i in (0..self.best.choices.len()).rev() {
            let v = self.best.choices.get(i).map_or(0, |c| c.1);
            if v > 1 {
                let mut lower = self.best.clone();
                lower.choices[i].1 = v / 2;
                progress |= self.try_keep(lower);
            }
        }
        progress
    }
}

/// Where the simulator's steps begin in a decision sequence: every step
/// begins with its fault draws, or, in a run without faults, with the
/// scheduler's pick.
fn step_starts(choices: &[Choice]) -> Vec<usize> {
    let first = if choices.iter().any(|c| c.0 == Stream::Faults) {
        Stream::Faults
    } else {
        Stream::Scheduler
    };
    (0..choices.len())
        .filter(|&i| i == 0 || (choices[i].0 == first && choices[i - 1].0 != first))
        .collect()
}

/// The decisions a run forced by `forced` really took from it: per stream,
/// the entries it consumed (its log's later entries of a stream were read
/// past the end), without trailing zeros (a stream that runs out reads
/// zeros anyway). The workload stream keeps its zeros and loses the reads
/// past its end, because its running out is what ends the run's
/// transactions. Replaying the result gives the same run.
fn effective(forced: &[Choice], result: &RunResult) -> Vec<Choice> {
    let mut available: BTreeMap<Stream, usize> = BTreeMap::new();
    for c in forced {
        *available.entry(c.0).or_default() += 1;
    }
    let mut keep: Vec<bool> = result
        .decisions
        .iter()
        .map(|c| {
            let left = available.entry(c.0).or_default();
            let taken = *left > 0;
            *left = left.saturating_sub(1);
            taken
        })
        .collect();
    let mut settled: Vec<Stream> = Vec::new();
    for (i, c) in result.decisions.iter().enumerate().rev() {
        if !keep[i] || settled.contains(&c.0) {
            continue;
        }
        if c.1 == 0 && c.0 != Stream::Workload {
            keep[i] = false;
        } else {
            settled.push(c.0);
        }
    }
    result
        .decisions
        .iter()
        .zip(keep)
        .filter_map(|(c, k)| k.then_some(c))
        .collect()
}

/// How big a run is, for "smaller": transactions first, then the number of
/// decisions, then their sum (so lowering a value is progress), then the
/// configuration's size. A candidate is kept only if strictly smaller, so
/// shrinking always ends.
fn size(c: &Candidate, result: &RunResult) -> (u64, usize, u64, u64) {
    let w = &c.config.workload;
    let config = u64::from(w.agents)
        + u64::from(w.txns_per_agent)
        + u64::from(w.accounts)
        + c.config.store.ring_capacity as u64
        + w.mix.len() as u64;
    (
        result.stats.txns,
        c.choices.len(),
        c.choices.iter().map(|c| c.1.min(1 << 40)).sum(),
        config,
    )
}

fn dec(x: &mut u32, min: u32) -> bool {
    if *x > min {
        *x -= 1;
        true
    } else {
        false
    }
}

fn halve(x: &mut u32, min: u32) -> bool {
    let h = (*x / 2).max(min);
    if h < *x {
        *x = h;
        true
    } else {
        false
    }
}

/// Turns a fault off (a run without it that still fails is simpler).
fn zero(p: &mut f64) -> bool {
    if *p > 0.0 {
        *p = 0.0;
        true
    } else {
        false
    }
}

fn halve_usize(x: &mut usize) -> bool {
    let h = (*x / 2).max(1);
    if h < *x {
        *x = h;
        true
    } else {
        false
    }
}

/// Drops the last workload of the mix that has weight (keeping at least one).
fn drop_workload(s: &mut Scenario) -> bool {
    let weighted: Vec<_> = s
        .workload
        .mix
        .iter()
        .filter(|(_, &w)| w > 0)
        .map(|(&k, _)| k)
        .collect();
    if weighted.len() <= 1 {
        return false;
    }
    s.workload.mix.remove(weighted.last().expect("two or more"));
    true
}

/// One way to make a configuration smaller; false when it cannot.
type ConfigStep = fn(&mut Scenario) -> bool;

/// Steps that make the run's shape smaller: fewer transactions, agents,
/// accounts, workloads; a smaller ring.
const SHAPE: [ConfigStep; 8] = [
    |s| halve(&mut s.workload.txns_per_agent, 1),
    |s| halve(&mut s.workload.agents, 1),
    |s| dec(&mut s.workload.agents, 1),
    |s| dec(&mut s.workload.txns_per_agent, 1),
    |s| halve(&mut s.workload.accounts, 2),
    |s| dec(&mut s.workload.accounts, 2),
    |s| halve_usize(&mut s.store.ring_capacity),
    |s| drop_workload(s),
];

/// Steps that remove noise: retries and faults.
const NOISE: [ConfigStep; 4] = [
    |s| halve(&mut s.workload.max_retries, 0),
    |s| zero(&mut s.faults.bit_flip),
    |s| zero(&mut s.faults.fsync_failure),
    |s| zero(&mut s.faults.crash),
];

/// Shrinks a failing candidate within `budget` runs per strategy. Greedy
/// shrinking can stop in a local minimum that depends on the order of its
/// steps, so two orders are tried and the smaller result is kept. Returns
/// `None` if the candidate does not fail with `target` to begin with.
pub fn shrink(start: Candidate, target: &Target, budget: u64) -> Option<Shrunk> {
    let first = attempt(&start);
    if !fails(&first, target) {
        return None;
    }
    let mut best: Option<Shrunk> = None;
    let mut attempts = 1;
    for order in [[&SHAPE[..], &NOISE[..]], [&NOISE[..], &SHAPE[..]]] {
        let mut s = Shrinker {
            target: target.clone(),
            best: start.clone(),
            best_result: first.clone(),
            attempts: 0,
            budget,
        };
        loop {
            let a = s.shrink_config(&order);
            let b = s.shrink_choices();
            if !(a || b) || s.attempts >= s.budget {
                break;
            }
        }
        attempts += s.attempts;
        let smaller = best
            .as_ref()
            .is_none_or(|b| size(&s.best, &s.best_result) < size(&b.candidate, &b.result));
        if smaller {
            best = Some(Shrunk {
                candidate: s.best,
                result: s.best_result,
                attempts: 0,
            });
        }
    }
    best.map(|b| Shrunk { attempts, ..b })
}
