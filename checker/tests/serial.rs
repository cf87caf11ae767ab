//! Property tests: histories produced by running random transactions one at a time against a
//! reference map are valid; corrupting a native history (a stale read, a write lost in a crash)
//! is caught.

use std::collections::BTreeMap;

use checker::{
    check, CheckOptions, Function, History, Meta, MicroOp, Model, Op, OpType, OpValue, Process, ReadValue,
    Scalar, Version,
};
use proptest::prelude::*;

/// A planned micro-op: read or write of key index `k`.
#[derive(Clone, Debug)]
enum Plan {
    Read(u8),
    Write(u8),
}

fn plan() -> impl Strategy<Value = Vec<(Vec<Plan>, bool)>> {
    let mop = prop_oneof![(0u8..4).prop_map(Plan::Read), (0u8..4).prop_map(Plan::Write)];
    proptest::collection::vec((proptest::collection::vec(mop, 1..5), any::<bool>()), 1..40)
}

/// Versions of a key older than the one read: sequence number (`None`: absent) and value.
type Older = Vec<(Option<u64>, Scalar)>;

/// What the serial run recorded about one external read, so a test can corrupt it.
#[derive(Clone, Debug)]
struct ReadSite {
    /// Position of the completion op in the history.
    op: usize,
    /// Micro-op position in that op.
    mop: usize,
    /// Older versions of the key (seq or None for absent, with value) than the one read.
    older: Older,
}

/// Where a crash may drop an acknowledged write.
struct Crash {
    /// Insert crash and recover after this many transactions.
    after: usize,
    /// Key index whose newest acknowledged version the recovered store loses.
    key: u8,
}

/// The result of one serial run.
struct Run {
    history: History,
    reads: Vec<ReadSite>,
    /// Whether a read after the crash observed the key whose write was lost.
    lost_observed: bool,
}

/// Runs the planned transactions one at a time against a map; each txn's completion is
/// written after the next txn's invocation, so windows overlap while the commit order stays
/// serial. `fails` marks transactions that abort (no effect).
fn run(plans: &[(Vec<Plan>, bool)], native: bool, crash: Option<Crash>) -> Run {
    let key = |k: u8| Scalar::from(format!("k{k}"));
    // Per key: its versions (seq, value), oldest first; absent initially.
    let mut store: BTreeMap<u8, Vec<(u64, Scalar)>> = BTreeMap::new();
    let mut seq = 0u64;
    let mut next_value = 1i64;
    let mut ops: Vec<Op> = Vec::new();
    let mut pending: Option<Op> = None;
    let mut reads = Vec::new();
    let mut sites: Vec<Vec<(usize, Older)>> = Vec::new();
    let mut lost: Option<u8> = None;
    let mut lost_observed = false;
    for (i, (plan, fails)) in plans.iter().enumerate() {
        if let Some(c) = &crash {
            if c.after == i {
                ops.extend(pending.take());
                ops.push(Op::new(
                    0,
                    Process::Nemesis,
                    OpType::Info,
                    Function::Crash,
                    OpValue::Null,
                ));
                ops.push(Op::new(
                    0,
                    Process::Nemesis,
                    OpType::Info,
                    Function::Recover,
                    OpValue::Null,
                ));
                if store.get_mut(&c.key).and_then(|v| v.pop()).is_some() {
                    lost = Some(c.key);
                }
            }
        }
        let process = Process::Client((i % 3) as u64);
        let snapshot = seq;
        let mut own: BTreeMap<u8, Scalar> = BTreeMap::new();
        let mut mops = Vec::new();
        let mut invoke_mops = Vec::new();
        let mut versions = Vec::new();
        let mut site = Vec::new();
        let mut read_before: Vec<u8> = Vec::new();
        for p in plan {
            match *p {
                Plan::Read(k) => {
                    let (value, version) = match own.get(&k) {
                        Some(v) => (v.clone(), Version::Own),
                        None => match store.get(&k).and_then(|v| v.last()) {
                            Some((s, v)) => (v.clone(), Version::Seq(*s)),
                            None => (Scalar::Null, Version::Absent),
                        },
                    };
                    let external = !own.contains_key(&k) && !read_before.contains(&k);
                    read_before.push(k);
                    if external && !fails {
                        if lost == Some(k) {
                            lost_observed = true;
                        }
                        let history = store.get(&k).cloned().unwrap_or_default();
                        let mut older: Older = vec![(None, Scalar::Null)];
                        older.extend(history.iter().map(|(s, v)| (Some(*s), v.clone())));
                        older.pop();
                        if !history.is_empty() {
                            site.push((mops.len(), older));
                        }
                    }
                    invoke_mops.push(MicroOp::read(key(k), Scalar::Null));
                    mops.push(MicroOp::Read {
                        key: key(k),
                        value: ReadValue::Scalar(value),
                    });
                    versions.push(version);
                }
                Plan::Write(k) => {
                    let v = Scalar::Int(next_value);
                    next_value += 1;
                    own.insert(k, v.clone());
                    invoke_mops.push(MicroOp::write(key(k), v.clone()));
                    mops.push(MicroOp::write(key(k), v));
                    versions.push(Version::Absent);
                }
            }
        }
        let mut done = Op::new(
            0,
            process,
            if *fails { OpType::Fail } else { OpType::Ok },
            Function::Txn,
            OpValue::Txn(mops),
        );
        if native {
            done.snapshot = Some(snapshot);
            done.versions = Some(versions);
        }
        if !*fails && !own.is_empty() {
            seq += 1;
            if native {
                done.commit_seq = Some(seq);
            }
            for (k, v) in own {
                store.entry(k).or_default().push((seq, v));
                if lost == Some(k) {
                    lost = None;
                }
            }
        } else if *fails && native {
            done.error = Some("conflict".into());
        }
        ops.push(Op::new(
            0,
            process,
            OpType::Invoke,
            Function::Txn,
            OpValue::Txn(invoke_mops),
        ));
        ops.extend(pending.take());
        sites.push(site);
        pending = Some(done);
    }
    ops.extend(pending.take());
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    // Map each plan's completion (in order) to its op position.
    let completions: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.op_type != OpType::Invoke && o.process != Process::Nemesis)
        .map(|(i, _)| i)
        .collect();
    for (site, &op) in sites.into_iter().zip(&completions) {
        for (mop, older) in site {
            reads.push(ReadSite { op, mop, older });
        }
    }
    let meta = native.then(|| Meta {
        model: Some(Model::Native),
        ..Meta::default()
    });
    Run {
        history: History { meta, ops },
        reads,
        lost_observed,
    }
}

fn verdict(history: &History, model: Model) -> checker::Verdict {
    let options = CheckOptions {
        model: Some(model),
        realtime_edges: true,
        process_edges: true,
    };
    check(history, &options)
        .expect("generated history is well formed")
        .verdict
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn serial_rw_register_histories_are_valid(plans in plan()) {
        let r = run(&plans, false, None);
        let v = verdict(&r.history, Model::RwRegister);
        prop_assert!(v.valid, "{:#?}", v);
    }

    #[test]
    fn serial_native_histories_are_valid(plans in plan()) {
        let r = run(&plans, true, None);
        let v = verdict(&r.history, Model::Native);
        prop_assert!(v.valid, "{:#?}", v);
    }

    #[test]
    fn an_older_read_is_caught(plans in plan(), pick in any::<prop::sample::Index>(), age in any::<prop::sample::Index>()) {
        let mut r = run(&plans, true, None);
        prop_assume!(!r.reads.is_empty());
        let site = r.reads[pick.index(r.reads.len())].clone();
        let (version, value) = site.older[age.index(site.older.len())].clone();
        let op = &mut r.history.ops[site.op];
        if let OpValue::Txn(mops) = &mut op.value {
            if let MicroOp::Read { value: v, .. } = &mut mops[site.mop] {
                *v = ReadValue::Scalar(value);
            }
        }
        if let Some(vs) = &mut op.versions {
            vs[site.mop] = version.map_or(Version::Absent, Version::Seq);
        }
        let v = verdict(&r.history, Model::Native);
        prop_assert!(v.anomaly_types.iter().any(|k| k == "stale-read"), "{:#?}", v);
    }

    #[test]
    fn a_write_lost_in_a_crash_is_caught_when_read(plans in plan(), after in 0usize..40, key in 0u8..4) {
        let r = run(&plans, true, Some(Crash { after, key }));
        let v = verdict(&r.history, Model::Native);
        if r.lost_observed {
            prop_assert!(v.anomaly_types.iter().any(|k| k == "lost-commit"), "{:#?}", v);
        } else {
            prop_assert!(v.valid, "{:#?}", v);
        }
    }
}
