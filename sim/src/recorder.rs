//! Builds the run's history (the checker's native format) as agents act.
//!
//! A transaction's invoke op is recorded when it begins, so indices follow
//! real order; its micro-ops are only known as it runs, so the invoke's
//! value is filled in (reads as `null`) when the transaction completes.

use checker::{Function, History, MicroOp, Op, OpType, OpValue, Process, ReadValue, Scalar, Version};

use crate::trace::Trace;

/// The history being recorded.
#[derive(Debug, Default)]
pub struct Recorder {
    history: History,
    /// Whether ops are kept (a benchmark can turn history off).
    keep: bool,
    next_index: u64,
}

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

impl Recorder {
    /// A recorder; with `keep` false, ops are counted but not stored.
    pub fn new(keep: bool) -> Self {
        Recorder {
            keep,
            ..Recorder::default()
        }
    }

    /// Makes room for `ops` more ops, for a caller that knows how many it
    /// will record.
    pub fn reserve(&mut self, ops: usize) {
        if self.keep {
            self.history.ops.reserve(ops);
        }
    }

    /// Records the start of a transaction; returns its invoke index.
    pub fn invoke(&mut self, process: u64, time: u64) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        if self.keep {
            let mut op = Op::new(
                index,
                Process::Client(process),
                OpType::Invoke,
                Function::Txn,
                OpValue::Null,
            );
            op.time = Some(time);
            self.history.ops.push(op);
        }
        index
    }

    /// Records a transaction's completion and fills in its invoke.
    #[allow(clippy::too_many_arguments)]
    pub fn complete(
        &mut self,
        invoke: u64,
        process: u64,
        time: u64,
        mops: Vec<MicroOp>,
        versions: Vec<Version>,
        snapshot: Option<u64>,
        completion: &Completion,
        trace: &mut Trace,
    ) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        let (op_type, commit_seq, error) = match completion {
            Completion::Ok { commit_seq } => (OpType::Ok, *commit_seq, None),
            Completion::Fail(e) => (OpType::Fail, None, Some(*e)),
            Completion::Info(e) => (OpType::Info, None, Some(*e)),
        };
        trace.event(&[
            2,
            index,
            invoke,
            op_type as u64,
            commit_seq.unwrap_or(u64::MAX),
            snapshot.unwrap_or(u64::MAX),
            mops.len() as u64,
        ]);
        if !self.keep {
            return index;
        }
        let invoke_value: Vec<MicroOp> = mops
            .iter()
            .map(|m| match m {
                MicroOp::Read { key, .. } => MicroOp::Read {
                    key: key.clone(),
                    value: ReadValue::Scalar(Scalar::Null),
                },
                MicroOp::List(r) => MicroOp::List(Box::new(checker::RangeRead {
                    range: r.range.clone(),
                    result: None,
                })),
                other => other.clone(),
            })
            .collect();
        // Every index is given to exactly one op, pushed in order, so an op's
        // index is its position.
        let invoked = &mut self.history.ops[usize::try_from(invoke).expect("an index fits memory")];
        assert_eq!(invoked.index, invoke, "the invoke was recorded");
        assert_eq!(invoked.op_type, OpType::Invoke);
        invoked.value = OpValue::Txn(invoke_value);
        let mut op = Op::new(
            index,
            Process::Client(process),
            op_type,
            Function::Txn,
            OpValue::Txn(mops),
        );
        op.time = Some(time);
        op.snapshot = snapshot;
        op.commit_seq = commit_seq;
        op.versions = Some(versions);
        op.error = error.map(str::to_owned);
        self.history.ops.push(op);
        index
    }

    /// Records a nemesis event (`crash` or `recover`).
    pub fn nemesis(&mut self, f: Function, time: u64, detail: serde_json::Value) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        if self.keep {
            let mut op = Op::new(
                index,
                Process::Nemesis,
                OpType::Info,
                f,
                OpValue::Other(Box::new(detail)),
            );
            op.time = Some(time);
            self.history.ops.push(op);
        }
        index
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Takes the history.
    pub fn into_history(self) -> History {
        self.history
    }
}
