//! The occsim checker: judges a history of what clients saw, independently of the engine.
//!
//! It reads histories in elle-cli's JSON op format (one array or JSON Lines, with an optional
//! meta line) under the models `rw-register`, `list-append`, `bank` and `native` (the
//! simulator's format with exact versions and crash events), and reports every anomaly it finds
//! with an explanation a person can follow. Entry points: [`parse_str`] / [`parse_reader`] to
//! read, [`write_jsonl`] to write, and [`check`] to judge.

#![warn(missing_docs)]

mod anomalies;
mod bank;
mod durability;
mod error;
mod fastparse;
mod fcw;
mod graph;
mod history;
mod infer;
mod prefetch;
mod ring;
mod seqs;
mod txns;
mod versions;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use error::Error;
pub use history::{
    parse_reader, parse_str, write_jsonl, BankMeta, Function, History, KeyRange, Meta, MicroOp, Model, Op,
    OpType, OpValue, Process, RangeRead, ReadValue, Scalar, Transfer, Version,
};

use txns::{Ctx, Status};

/// The most violations of one kind that a verdict lists; the rest are only counted in
/// [`Stats::suppressed_violations`], so a badly broken history still yields a readable report.
const MAX_PER_KIND: usize = 100;

/// One violated property, with the transactions involved and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The check that failed (`serializability`, `conservation`, ...).
    pub check: String,
    /// The anomaly kind (`G2-item`, `wrong-total`, ...).
    pub kind: String,
    /// History indices of the completion ops of the transactions involved.
    pub txns: Vec<u64>,
    /// What happened, in words, edge by edge for cycles.
    pub explanation: String,
}

/// The outcome of checking a history; serializes to exactly the `verdict` object of cli.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// True when no violation was found.
    pub valid: bool,
    /// The distinct kinds found, sorted.
    pub anomaly_types: Vec<String>,
    /// Every violation found (at most [`MAX_PER_KIND`] of each kind).
    pub violations: Vec<Violation>,
}

/// Counts describing what was checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Ops in the history.
    pub ops: u64,
    /// Client operations (transactions, transfers, bank reads).
    pub txns: u64,
    /// Those that completed `ok`.
    pub committed: u64,
    /// Those that completed `fail`.
    pub failed: u64,
    /// Those whose outcome is unknown (`info` or never completed).
    pub indeterminate: u64,
    /// Indeterminate ones that later reads show did commit.
    pub indeterminate_committed: u64,
    /// Dependency edges in the serialization graph.
    pub edges: u64,
    /// Strongly connected components with more than one transaction (each holds cycles).
    pub cyclic_components: u64,
    /// Crash events.
    pub crashes: u64,
    /// `snapshot_too_old` aborts whose reads no later commit had overwritten: aborts that a
    /// larger commit log would have let commit.
    pub snapshot_too_old_without_conflict: u64,
    /// Violations found beyond the listed ones.
    pub suppressed_violations: u64,
}

/// A verdict together with its statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// What was found.
    pub verdict: Verdict,
    /// What was checked.
    pub stats: Stats,
}

/// How to check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// The model; `None` takes the meta line's, else infers it from the ops.
    pub model: Option<Model>,
    /// Adds edges between consecutive transactions of one process (Elle's `-process` anomalies).
    pub process_edges: bool,
    /// Adds real-time edges (strict serializability; Elle's `-realtime` anomalies).
    pub realtime_edges: bool,
}

/// Collects violations, capping each kind, in a deterministic order.
#[derive(Default)]
pub(crate) struct Findings {
    violations: Vec<Violation>,
    per_kind: BTreeMap<(&'static str, String), usize>,
    suppressed: u64,
}

impl Findings {
    /// Records a violation of `check` of the given kind.
    pub fn add(&mut self, check: &'static str, kind: &str, txns: Vec<u64>, explanation: String) {
        let n = self.per_kind.entry((check, kind.to_string())).or_insert(0);
        *n += 1;
        if *n > MAX_PER_KIND {
            self.suppressed += 1;
            return;
        }
        self.violations.push(Violation {
            check: check.to_string(),
            kind: kind.to_string(),
            txns,
            explanation,
        });
    }

    /// Adds findings collected separately, exactly as if each had been added here after all
    /// of this collection's own: a check that interleaves two passes for speed can keep the
    /// report of the two passes run one after the other.
    pub fn append(&mut self, later: Findings) {
        let mut listed: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
        for v in later.violations {
            let Some(&(check, _)) = later
                .per_kind
                .keys()
                .find(|(check, kind)| *check == v.check && *kind == v.kind)
            else {
                continue;
            };
            *listed.entry((check, v.kind.clone())).or_insert(0) += 1;
            self.add(check, &v.kind, v.txns, v.explanation);
        }
        // The rest went unlisted there because their kind was over the cap; here, after at
        // least as many of that kind, they are too.
        for (key, n) in later.per_kind {
            let rest = n - listed.get(&key).copied().unwrap_or(0);
            if rest > 0 {
                *self.per_kind.entry(key).or_insert(0) += rest;
                self.suppressed += rest as u64;
            }
        }
    }

    fn into_verdict(self) -> (Verdict, u64) {
        let mut anomaly_types: Vec<String> = self.per_kind.into_keys().map(|(_, kind)| kind).collect();
        anomaly_types.sort();
        anomaly_types.dedup();
        (
            Verdict {
                valid: self.violations.is_empty(),
                anomaly_types,
                violations: self.violations,
            },
            self.suppressed,
        )
    }
}

/// Chooses the model: the option, else the meta line's, else what the ops look like.
pub fn resolve_model(history: &History, requested: Option<Model>) -> Model {
    if let Some(m) = requested.or_else(|| history.meta.as_ref().and_then(|m| m.model)) {
        return m;
    }
    let mut model = Model::RwRegister;
    for op in &history.ops {
        if matches!(op.f, Function::Transfer | Function::Read) {
            return Model::Bank;
        }
        if op.snapshot.is_some() || op.commit_seq.is_some() || op.versions.is_some() {
            model = Model::Native;
        }
        if model == Model::RwRegister && op.mops().iter().any(|m| matches!(m, MicroOp::Append { .. })) {
            model = Model::ListAppend;
        }
    }
    model
}

/// Checks a history under the resolved model and returns the verdict and statistics.
///
/// Returns an error only when the history breaks the format's structure (an op that completes
/// nothing, decreasing indices, a native read without a version, ...); anomalies are verdicts.
pub fn check(history: &History, options: &CheckOptions) -> Result<Checked, Error> {
    let model = resolve_model(history, options.model);
    let ctx = Ctx::new(history)?;
    let mut findings = Findings::default();
    let mut stats = Stats {
        ops: history.ops.len() as u64,
        txns: ctx.txns.len() as u64,
        ..Stats::default()
    };
    [stats.committed, stats.failed, stats.indeterminate] =
        [Status::Ok, Status::Fail, Status::Info].map(|s| ctx.outcomes[s as usize]);
    stats.crashes = ctx
        .faults
        .iter()
        .filter(|(_, f)| *f == txns::Fault::Crash)
        .count() as u64;
    match model {
        Model::Bank => bank::check_bank_model(&ctx, &mut findings),
        Model::RwRegister | Model::ListAppend => {
            let deps = if model == Model::RwRegister {
                infer::rw_register(&ctx, &mut findings)
            } else {
                infer::list_append(&ctx, &mut findings)
            };
            stats.indeterminate_committed = deps.info_committed;
            anomalies::check_cycles(&ctx, &deps, options, &mut findings, &mut stats);
        }
        Model::Native => {
            let native = infer::native(&ctx, &mut findings)?;
            stats.indeterminate_committed = native.info_committed();
            versions::check(&ctx, &native, &mut findings);
            fcw::check(&ctx, &native, &mut findings);
            durability::check(&ctx, &native, &mut findings);
            stats.snapshot_too_old_without_conflict = ring::check(&ctx, &native, &mut findings);
            bank::check_native(&ctx, &native, &mut findings);
            anomalies::check_cycles(&ctx, &native, options, &mut findings, &mut stats);
        }
    }
    let (verdict, suppressed) = findings.into_verdict();
    stats.suppressed_violations = suppressed;
    Ok(Checked { verdict, stats })
}
