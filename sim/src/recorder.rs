//! Records the run's history as agents act, compactly, and builds the
//! checker's native history from it on demand.
//!
//! A long run completes millions of transactions, and a history kept as
//! the checker's op structs (each a few hundred bytes, with its micro-ops
//! cloned once more for the invoke) costs more to write to memory than the
//! engine costs to run them. So the recorder keeps each op in 8 bytes (see
//! `entry`), each completion's figures in 12 (see `done`) and each
//! micro-op in 12 (its key by number, see `key_table`, and its value and
//! version packed, see `mop`), and builds the `History` (invokes filled in
//! with their micro-ops, reads as `null`) only when someone asks for it:
//! the checker, a report, a test. What it builds is exactly the history
//! the ops describe, in index order.

mod done;
mod entry;
mod mop;

use std::ops::Deref;
use std::sync::OnceLock;

use checker::{Function, History, Meta, MicroOp, Op, OpType, OpValue, Process, ReadValue, Scalar, Version};

use crate::key_table::KeyTable;
use crate::observed::{simple_micro_op, Kind, Observed, UNKNOWN_ACCOUNT};
use crate::trace::Trace;
use done::{Done, Outcome, Packed};
use entry::{Entry, Slot};
use mop::{Mop, Unpacked, Wide};

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Completion {
    /// Committed; `commit_seq` for writing commits.
    Ok {
        /// The commit's sequence number, if it wrote.
        commit_seq: Option<u64>,
    },
    /// Definitely did not commit, for this reason.
    Fail(&'static str),
    /// The outcome is unknown, for this reason.
    Info(&'static str),
}

/// The history being recorded.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Whether ops are kept (a benchmark can turn history off).
    keep: bool,
    next_index: u64,
    /// One entry per op, in index order: an op's index is its position.
    entries: Vec<Slot>,
    /// Invokes whose process or tick does not fit a `Slot`.
    wide_invokes: Vec<(u32, u64)>,
    /// The completions, in order.
    completions: Vec<Packed>,
    /// Completions whose figures do not fit a `Packed`.
    wide_completions: Vec<Done>,
    /// The reasons of failed and unknown outcomes, each once.
    reasons: Vec<&'static str>,
    /// The micro-ops of completed transactions, end to end.
    mops: Vec<Mop>,
    /// Simple micro-ops whose value or version does not fit a `Mop`.
    wide: Vec<Wide>,
    /// The keys the micro-ops name, by number.
    keys: KeyTable,
    /// Micro-ops other than integer reads and writes, kept whole.
    others: Vec<(MicroOp, Version)>,
    /// Nemesis events: what happened, when, and its details.
    nemeses: Vec<(Function, u64, serde_json::Value)>,
}

/// The `snapshot` of a completion whose snapshot is unknown.
const NONE: u64 = u64::MAX;

impl Recorder {
    /// A recorder; with `keep` false, ops are counted but not stored.
    pub fn new(keep: bool) -> Self {
        Recorder {
            keep,
            ..Recorder::default()
        }
    }

    /// Makes room for `ops` more ops, for a caller that knows about how
    /// many it will record. A log that outgrows its room is copied whole
    /// into fresh memory, which for a long run costs more than recording
    /// it, so the room errs on the large side: unused room is address
    /// space, not memory.
    pub fn reserve(&mut self, ops: usize) {
        if self.keep {
            // Retries and crashes add ops beyond the planned transactions.
            self.entries.reserve(ops + ops / 4);
            self.completions.reserve(ops / 2 + ops / 8);
            // A transaction is two ops with a few micro-ops (a transfer's
            // four) between them.
            self.mops.reserve(ops * 3);
        }
    }

    /// Records the start of a transaction; returns its invoke index.
    /// Inlined: every transaction starts with it.
    #[inline]
    pub fn invoke(&mut self, process: u64, time: u64) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        if self.keep {
            let process = u32::try_from(process).expect("processes are agents");
            self.entries
                .push(Slot::invoke(process, time, &mut self.wide_invokes));
        }
        index
    }

    /// Records a transaction's completion (its invoke gets the same
    /// micro-ops, reads as `null`, when the history is built).
    #[allow(clippy::too_many_arguments)]
    pub fn complete(
        &mut self,
        invoke: u64,
        process: u64,
        time: u64,
        observed: &Observed,
        snapshot: Option<u64>,
        completion: &Completion,
        trace: &mut Trace,
    ) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        let (op_type, commit_seq) = op_type(completion);
        trace.event(&[
            2,
            index,
            invoke,
            op_type as u64,
            commit_seq.unwrap_or(u64::MAX),
            snapshot.unwrap_or(u64::MAX),
            observed.len() as u64,
        ]);
        if !self.keep {
            return index;
        }
        let process = u32::try_from(process).expect("processes are agents");
        let Entry::Invoke {
            process: invoked_by,
            time: invoked_at,
        } = self.entry(invoke)
        else {
            panic!("a completion follows its own invoke");
        };
        assert!(invoked_by == process, "a completion follows its own invoke");
        assert!(snapshot != Some(NONE), "a snapshot is a sequence number");
        // Extended from an iterator of known length, so the micro-ops are
        // written without a capacity check each.
        let (keys, others, wide) = (&mut self.keys, &mut self.others, &mut self.wide);
        if observed.all_accounts() {
            self.mops.extend(observed.accesses().iter().map(|a| {
                Mop::simple(
                    KeyTable::indexed_account(a.account),
                    a.kind,
                    a.value,
                    a.version,
                    wide,
                )
            }));
        } else {
            self.mops.extend(observed.accesses().iter().map(|a| match a.kind {
                Kind::Other => {
                    let at = u32::try_from(others.len()).expect("micro-ops fit u32");
                    others.push(observed.other_at(a).clone());
                    Mop::other(at)
                }
                kind => {
                    let key = match a.account {
                        UNKNOWN_ACCOUNT => keys.number(
                            observed
                                .stored_key(a)
                                .expect("a micro-op on no account keeps its key"),
                        ),
                        i => keys.account_number(i),
                    };
                    Mop::simple(key, kind, a.value, a.version, wide)
                }
            }));
        }
        assert!(commit_seq != Some(NONE), "a commit's sequence number is one");
        let outcome = match *completion {
            Completion::Ok { .. } => Outcome::Ok,
            Completion::Fail(reason) => Outcome::Fail(self.reason(reason)),
            Completion::Info(reason) => Outcome::Info(self.reason(reason)),
        };
        let at = u32::try_from(self.completions.len()).expect("completions fit u32");
        let done = Done {
            invoke,
            time,
            snapshot: snapshot.unwrap_or(NONE),
            commit_seq: commit_seq.unwrap_or(NONE),
            mops: u32::try_from(observed.len()).expect("a transaction's micro-ops fit u32"),
            outcome,
        };
        self.completions
            .push(Packed::new(done, index, invoked_at, &mut self.wide_completions));
        self.entries.push(Slot::complete(at));
        index
    }

    /// Records a nemesis event (`crash` or `recover`).
    pub fn nemesis(&mut self, f: Function, time: u64, detail: serde_json::Value) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        if self.keep {
            let at = u32::try_from(self.nemeses.len()).expect("nemesis events fit u32");
            self.nemeses.push((f, time, detail));
            self.entries.push(Slot::nemesis(at));
        }
        index
    }

    /// The position of `reason` in `reasons` (a run has a handful).
    fn reason(&mut self, reason: &'static str) -> u16 {
        let at = match self.reasons.iter().position(|&r| r == reason) {
            Some(at) => at,
            None => {
                self.reasons.push(reason);
                self.reasons.len() - 1
            }
        };
        u16::try_from(at).expect("fewer than 65,536 distinct reasons")
    }

    /// The op at history index `index`.
    #[inline]
    fn entry(&self, index: u64) -> Entry {
        self.entries[usize::try_from(index).expect("an index fits memory")].unpack(&self.wide_invokes)
    }

    /// A completion as the agent reported it, from its record `d`.
    fn completion(&self, d: &Done) -> Completion {
        match d.outcome {
            Outcome::Ok => Completion::Ok {
                commit_seq: (d.commit_seq != NONE).then_some(d.commit_seq),
            },
            Outcome::Fail(r) => Completion::Fail(self.reasons[usize::from(r)]),
            Outcome::Info(r) => Completion::Info(self.reasons[usize::from(r)]),
        }
    }

    fn micro_op(&self, m: &Mop) -> (MicroOp, Version) {
        match m.unpack(&self.wide) {
            Unpacked::Other(at) => self.others[at as usize].clone(),
            Unpacked::Simple(key, kind, value, version) => {
                simple_micro_op(Scalar::Str(self.keys.key(key)), kind, value, version)
            }
        }
    }

    /// Takes the history, in the checker's native form.
    pub fn into_history(self) -> History {
        self.history()
    }

    /// The history recorded so far, in the checker's native form.
    pub fn history(&self) -> History {
        // Each completion's micro-ops follow the previous one's.
        let mut starts = Vec::with_capacity(self.completions.len() + 1);
        let mut start = 0;
        for p in &self.completions {
            starts.push(start);
            start += p.mops(&self.wide_completions) as usize;
        }
        starts.push(start);
        let mops_of = |c: usize| &self.mops[starts[c]..starts[c + 1]];
        let mut completion_of = vec![None; self.entries.len()];
        for (at, e) in self.entries.iter().enumerate() {
            if let Entry::Complete(c) = e.unpack(&self.wide_invokes) {
                let invoke = self.completions[c as usize].invoke(at as u64, &self.wide_completions);
                completion_of[usize::try_from(invoke).expect("an index fits memory")] = Some(c as usize);
            }
        }
        let mut ops = Vec::with_capacity(self.entries.len());
        for (at, e) in self.entries.iter().enumerate() {
            let index = at as u64;
            let op = match e.unpack(&self.wide_invokes) {
                Entry::Invoke { process, time } => {
                    let value = match completion_of[at] {
                        Some(c) => OpValue::Txn(
                            mops_of(c)
                                .iter()
                                .map(|m| invoke_form(self.micro_op(m).0))
                                .collect(),
                        ),
                        None => OpValue::Null,
                    };
                    let mut op = Op::new(
                        index,
                        Process::Client(u64::from(process)),
                        OpType::Invoke,
                        Function::Txn,
                        value,
                    );
                    op.time = Some(time);
                    op
                }
                Entry::Complete(c) => {
                    let c = c as usize;
                    let d = self.completions[c].unpack(index, &self.wide_completions, |invoke| {
                        match self.entry(invoke) {
                            Entry::Invoke { time, .. } => time,
                            _ => unreachable!("a completion's invoke is an invoke (asserted when recorded)"),
                        }
                    });
                    let (mops, versions): (Vec<MicroOp>, Vec<Version>) =
                        mops_of(c).iter().map(|m| self.micro_op(m)).unzip();
                    let completion = self.completion(&d);
                    let (op_type, commit_seq) = op_type(&completion);
                    let Entry::Invoke { process, .. } = self.entry(d.invoke) else {
                        unreachable!("a completion's invoke is an invoke (asserted when recorded)");
                    };
                    let mut op = Op::new(
                        index,
                        Process::Client(u64::from(process)),
                        op_type,
                        Function::Txn,
                        OpValue::Txn(mops),
                    );
                    op.time = Some(d.time);
                    op.snapshot = (d.snapshot != NONE).then_some(d.snapshot);
                    op.commit_seq = commit_seq;
                    op.versions = Some(versions);
                    op.error = match completion {
                        Completion::Ok { .. } => None,
                        Completion::Fail(e) | Completion::Info(e) => Some(e.to_owned()),
                    };
                    op
                }
                Entry::Nemesis(n) => {
                    let (f, time, detail) = &self.nemeses[n as usize];
                    let mut op = Op::new(
                        index,
                        Process::Nemesis,
                        OpType::Info,
                        f.clone(),
                        OpValue::Other(Box::new(detail.clone())),
                    );
                    op.time = Some(*time);
                    op
                }
            };
            ops.push(op);
        }
        History {
            ops,
            ..History::default()
        }
    }
}

/// A run's recorded history with its meta line, built into the checker's
/// form the first time it is read (through `Deref`), so a run whose
/// history nobody reads never pays for building it.
#[derive(Debug, Clone, Default)]
pub struct RecordedHistory {
    recorder: Recorder,
    meta: Option<Meta>,
    built: OnceLock<History>,
}

impl RecordedHistory {
    /// The history `recorder` holds, with `meta` as its meta line.
    pub fn new(recorder: Recorder, meta: Meta) -> Self {
        RecordedHistory {
            recorder,
            meta: Some(meta),
            built: OnceLock::new(),
        }
    }
}

impl Deref for RecordedHistory {
    type Target = History;

    fn deref(&self) -> &History {
        self.built.get_or_init(|| History {
            meta: self.meta.clone(),
            ..self.recorder.history()
        })
    }
}

/// The op type and commit sequence number of a completion.
fn op_type(completion: &Completion) -> (OpType, Option<u64>) {
    match completion {
        Completion::Ok { commit_seq } => (OpType::Ok, *commit_seq),
        Completion::Fail(_) => (OpType::Fail, None),
        Completion::Info(_) => (OpType::Info, None),
    }
}

/// A micro-op as its invoke shows it: reads and range reads without their
/// results.
fn invoke_form(m: MicroOp) -> MicroOp {
    match m {
        MicroOp::Read { key, .. } => MicroOp::Read {
            key,
            value: ReadValue::Scalar(Scalar::Null),
        },
        MicroOp::List(r) => MicroOp::List(Box::new(checker::RangeRead {
            range: r.range,
            result: None,
        })),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::Key;
    use checker::{KeyRange, RangeRead};

    fn list(result: Option<Vec<(Scalar, Scalar)>>) -> MicroOp {
        MicroOp::List(Box::new(RangeRead {
            range: KeyRange::Prefix("acct/".into()),
            result,
        }))
    }

    #[test]
    fn the_built_history_is_exactly_what_was_recorded() {
        let mut rec = Recorder::new(true);
        let mut trace = Trace::default();
        let mut observed = Observed::default();
        observed.read(Key::from("a"), None, Version::Absent);
        observed.read(Key::from("b"), Some(7), Version::Seq(4));
        observed.write(Key::from("a"), 3);
        observed.other(
            MicroOp::Write {
                key: "b".into(),
                value: Scalar::Null,
            },
            Version::Absent,
        );
        observed.read(Key::from("a"), Some(3), Version::Own);
        observed.other(
            list(Some(vec![(Scalar::from("acct/1"), Scalar::Int(5))])),
            Version::Range(vec![(Scalar::from("acct/1"), 2)]),
        );
        observed.other(MicroOp::read("c", "text"), Version::Seq(1));
        observed.write(Key::from("w"), i64::MAX);
        let (mops, versions): (Vec<MicroOp>, Vec<Version>) = observed.micro_ops().unzip();
        let open = rec.invoke(9, 100);
        let invoke = rec.invoke(2, 101);
        rec.nemesis(Function::Crash, 102, serde_json::json!({ "step": 3 }));
        let done = rec.complete(
            invoke,
            2,
            103,
            &observed,
            Some(4),
            &Completion::Ok { commit_seq: Some(5) },
            &mut trace,
        );
        let failed = rec.invoke(2, 104);
        rec.complete(
            failed,
            2,
            105,
            &Observed::default(),
            Some(5),
            &Completion::Fail("conflict"),
            &mut trace,
        );
        let h = rec.history();
        assert_eq!(h.ops.len(), 6);
        assert!(h.ops.iter().enumerate().all(|(i, op)| op.index == i as u64));
        assert_eq!(
            h.ops[open as usize].value,
            OpValue::Null,
            "an open invoke has no micro-ops"
        );
        let invoked = &h.ops[invoke as usize];
        assert_eq!((invoked.op_type, invoked.time), (OpType::Invoke, Some(101)));
        let expected_invoke: Vec<MicroOp> = vec![
            MicroOp::read("a", Scalar::Null),
            MicroOp::read("b", Scalar::Null),
            mops[2].clone(),
            mops[3].clone(),
            MicroOp::read("a", Scalar::Null),
            list(None),
            MicroOp::read("c", Scalar::Null),
            MicroOp::write("w", i64::MAX),
        ];
        assert_eq!(invoked.value, OpValue::Txn(expected_invoke));
        let nemesis = &h.ops[2];
        assert_eq!(
            (nemesis.process, nemesis.f.clone()),
            (Process::Nemesis, Function::Crash)
        );
        let ok = &h.ops[done as usize];
        assert_eq!(ok.value, OpValue::Txn(mops));
        assert_eq!(ok.versions, Some(versions));
        assert_eq!(
            (ok.snapshot, ok.commit_seq, ok.error.as_deref()),
            (Some(4), Some(5), None)
        );
        let fail = h.ops.last().expect("six ops");
        assert_eq!(
            (fail.op_type, fail.error.as_deref()),
            (OpType::Fail, Some("conflict"))
        );
    }

    /// A transaction whose micro-ops all name accounts by index (as a
    /// transfer's do) is recorded without numbering keys one by one, and
    /// comes back exactly as observed, values and versions too wide for a
    /// packed micro-op included.
    #[test]
    fn a_transaction_on_accounts_only_comes_back_as_observed() {
        let mut rec = Recorder::new(true);
        let mut trace = Trace::default();
        let mut observed = Observed::default();
        observed.read_account(3, Some(10), Version::Seq(2));
        observed.read_account(9_999, None, Version::Absent);
        observed.read(Key::from("acct/42"), Some(i64::MAX), Version::Seq(u64::MAX - 2));
        observed.write_account(3, -5);
        observed.write_account(9_999, i64::MIN);
        observed.read_account(3, Some(-5), Version::Own);
        assert!(observed.all_accounts());
        let (mops, versions): (Vec<MicroOp>, Vec<Version>) = observed.micro_ops().unzip();
        let invoke = rec.invoke(1, 7);
        let done = rec.complete(
            invoke,
            1,
            8,
            &observed,
            Some(2),
            &Completion::Ok { commit_seq: Some(3) },
            &mut trace,
        );
        let h = rec.history();
        let ok = &h.ops[done as usize];
        assert_eq!(ok.value, OpValue::Txn(mops));
        assert_eq!(ok.versions, Some(versions));
        let mut with_key = observed.clone();
        with_key.read(Key::from("counter"), Some(1), Version::Seq(1));
        assert!(!with_key.all_accounts(), "a key kept aside");
    }

    /// Outcomes come back with their reasons and commit numbers, and each
    /// completion with its own micro-ops and process, whatever the order.
    #[test]
    fn outcomes_reasons_and_micro_ops_come_back_per_completion() {
        let mut rec = Recorder::new(true);
        let mut trace = Trace::default();
        let mut one = Observed::default();
        one.read(Key::from("k"), Some(1), Version::Seq(1));
        let mut two = Observed::default();
        two.write(Key::from("k"), 2);
        two.write(Key::from("acct/3"), 4);
        let completions = [
            (4, &one, Completion::Info("crash")),
            (5, &two, Completion::Ok { commit_seq: None }),
            (6, &Observed::default(), Completion::Fail("conflict")),
            (7, &two, Completion::Info("crash")),
            (8, &one, Completion::Ok { commit_seq: Some(9) }),
        ];
        let invokes: Vec<u64> = completions.iter().map(|(p, ..)| rec.invoke(*p, 0)).collect();
        for (i, (p, observed, completion)) in completions.iter().enumerate().rev() {
            rec.complete(invokes[i], *p, 1, observed, None, completion, &mut trace);
        }
        let h = rec.history();
        for (i, (p, observed, completion)) in completions.iter().enumerate().rev() {
            let op = &h.ops[completions.len() + (completions.len() - 1 - i)];
            let (op_type, commit_seq) = op_type(completion);
            assert_eq!((op.op_type, op.commit_seq), (op_type, commit_seq));
            assert_eq!(op.process, Process::Client(*p));
            let error = match completion {
                Completion::Ok { .. } => None,
                Completion::Fail(e) | Completion::Info(e) => Some(*e),
            };
            assert_eq!(op.error.as_deref(), error);
            let (mops, versions): (Vec<MicroOp>, Vec<Version>) = observed.micro_ops().unzip();
            assert_eq!(op.value, OpValue::Txn(mops));
            assert_eq!(op.versions.as_ref(), Some(&versions));
        }
        assert_eq!(rec.reasons, ["crash", "conflict"], "each reason is kept once");
    }

    #[test]
    #[should_panic(expected = "a completion follows its own invoke")]
    fn a_completion_for_another_process_is_a_broken_invariant() {
        let mut rec = Recorder::new(true);
        let invoke = rec.invoke(1, 0);
        rec.complete(
            invoke,
            2,
            1,
            &Observed::default(),
            None,
            &Completion::Info("crash"),
            &mut Trace::default(),
        );
    }
}
