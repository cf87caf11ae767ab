//! Every workload and every fault kind happens (counted in the stats or
//! seen in the history), and the checker finds the correct engine valid.

use std::collections::BTreeSet;

use checker::{MicroOp, OpType, Scalar};
use engine::Mutant;
use sim::run::{run, End, RunSpec, Stats};
use sim::scenario::Scenario;

fn all_workloads() -> Scenario {
    Scenario::from_toml(include_str!("fixtures/all-workloads.toml")).unwrap()
}

fn add(total: &mut Stats, s: &Stats) {
    total.committed += s.committed;
    total.crashes += s.crashes;
    total.recoveries += s.recoveries;
    total.fsync_failures += s.fsync_failures;
    total.crashes_with_unsynced_data += s.crashes_with_unsynced_data;
    total.torn_writes += s.torn_writes;
    total.torn_tails_discarded += s.torn_tails_discarded;
    total.bit_flips += s.bit_flips;
    total.corruption_detected += s.corruption_detected;
    total.checkpoints += s.checkpoints;
    total.indeterminate += s.indeterminate;
    total.aborted.conflict += s.aborted.conflict;
    total.aborted.snapshot_too_old += s.aborted.snapshot_too_old;
    total.aborted.check_failed += s.aborted.check_failed;
    total.aborted.unavailable += s.aborted.unavailable;
}

/// Every failed fsync is counted, however many lives of the store they
/// fall in: each leaves one commit whose outcome is unknown with error
/// `io`, and the store restarts after it with a fresh disk.
#[test]
fn every_failed_fsync_is_counted_across_restarts() {
    let mut scenario = all_workloads();
    scenario.faults.fsync_failure = 0.02;
    let (mut counted, mut seen, mut runs_with_several) = (0, 0, 0);
    for seed in 0..20 {
        let result = run(RunSpec::new(scenario.clone(), seed));
        let io = result
            .history
            .ops
            .iter()
            .filter(|o| o.op_type == OpType::Info && o.error.as_deref() == Some("io"))
            .count() as u64;
        assert_eq!(result.stats.fsync_failures, io, "seed {seed}");
        runs_with_several += u64::from(io >= 2);
        counted += result.stats.fsync_failures;
        seen += io;
    }
    assert_eq!(counted, seen);
    assert!(
        runs_with_several >= 5,
        "runs with two or more failed fsyncs: {runs_with_several}"
    );
}

#[test]
fn every_workload_and_fault_happens_and_the_correct_engine_is_valid() {
    let mut total = Stats::default();
    let mut prefixes_written = BTreeSet::new();
    let mut audits = 0;
    let mut own_reads = 0;
    for seed in 0..40 {
        let result = run(RunSpec::new(all_workloads(), seed));
        assert!(
            result.verdict.valid,
            "seed {seed}: {:?}",
            result.verdict.violations
        );
        assert_ne!(result.end, End::Stuck);
        add(&mut total, &result.stats);
        for op in result.history.ops.iter().filter(|o| o.op_type == OpType::Ok) {
            let mops = op.mops();
            let reads = mops.iter().filter(|m| matches!(m, MicroOp::Read { .. })).count();
            if reads >= 8 && mops.iter().all(|m| matches!(m, MicroOp::Read { .. })) {
                audits += 1;
            }
            for (m, v) in mops.iter().zip(op.versions.iter().flatten()) {
                own_reads += usize::from(matches!(m, MicroOp::Read { .. }) && *v == checker::Version::Own);
                if let MicroOp::Write {
                    key: Scalar::Str(k), ..
                } = m
                {
                    prefixes_written.insert(k.split('/').next().unwrap().to_owned());
                }
            }
        }
    }
    for prefix in ["acct", "ctr", "cons", "reg", "item", "items-seen", "lr"] {
        assert!(
            prefixes_written.contains(prefix),
            "no committed write to {prefix}/: {prefixes_written:?}"
        );
    }
    assert!(audits > 0, "an audit read every account");
    assert!(own_reads > 0, "a counter read its own write");
    let t = &total;
    for (what, n) in [
        ("commits", t.committed),
        ("crashes", t.crashes),
        ("recoveries", t.recoveries),
        ("fsync failures", t.fsync_failures),
        ("crashes with unsynced data", t.crashes_with_unsynced_data),
        ("torn writes", t.torn_writes),
        ("torn tails discarded", t.torn_tails_discarded),
        ("bit flips", t.bit_flips),
        ("corruption detected", t.corruption_detected),
        ("checkpoints", t.checkpoints),
        ("indeterminate transactions", t.indeterminate),
        ("conflict aborts", t.aborted.conflict),
        ("snapshot-too-old aborts", t.aborted.snapshot_too_old),
        ("failed checks", t.aborted.check_failed),
        ("refused commits while poisoned", t.aborted.unavailable),
    ] {
        assert!(n > 0, "no {what} in 40 seeds: {t:?}");
    }
}

#[test]
fn an_engine_panic_is_a_finding_not_a_crash_of_the_harness() {
    let mut found = false;
    for seed in 0..30 {
        let mut spec = RunSpec::new(all_workloads(), seed);
        spec.mutant = Some(Mutant::SeqReuseAfterRecovery);
        let result = run(spec);
        if result.end == End::Panicked {
            let v = result
                .verdict
                .violations
                .iter()
                .find(|v| v.check == "engine-assertion")
                .unwrap();
            assert_eq!(v.kind, "panic");
            assert!(v.explanation.contains("panicked"));
            found = true;
            break;
        }
    }
    assert!(found, "seq-reuse-after-recovery trips an engine assertion");
}

#[test]
fn unfinished_work_after_the_liveness_bound_is_reported_as_stuck() {
    let mut scenario = all_workloads();
    scenario.faults.fault_steps = 0;
    scenario.faults.liveness_steps = 5;
    let result = run(RunSpec::new(scenario, 1));
    assert_eq!(result.end, End::Stuck);
    assert!(result
        .verdict
        .violations
        .iter()
        .any(|v| v.check == "liveness" && v.kind == "stuck"));
    let relaxed = run(RunSpec::new(all_workloads(), 1));
    assert_eq!(relaxed.end, End::Finished);
}

/// Checkpoints are counted whether or not a crash closes the store that
/// wrote them: a run without faults writes one about every
/// `checkpoint_wal_bytes` of WAL, and every one is in its stats.
#[test]
fn checkpoints_of_a_run_without_crashes_are_counted() {
    let mut scenario = Scenario::default();
    scenario.store.checkpoint_wal_bytes = 2048;
    scenario.workload.mix = [(sim::scenario::Workload::Transfer, 1)].into();
    scenario.faults.crash = 0.0;
    scenario.faults.fsync_failure = 0.0;
    let result = run(RunSpec::new(scenario, 5));
    assert_eq!(result.stats.crashes, 0);
    // A transfer that commits writes about 120 bytes of WAL; one refused
    // for want of money commits without writing, so count half.
    let expected = result.stats.committed * 60 / 2048;
    assert!(
        result.stats.checkpoints >= expected.max(1),
        "{} checkpoints for {} commits",
        result.stats.checkpoints,
        result.stats.committed
    );
}
