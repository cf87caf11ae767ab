//! `occsim serve [--db DIR]`: the store as a node speaking newline-delimited JSON on stdin/stdout, in
//! Maelstrom's envelope, with the builddistributedsystem OCC task's requests and Maelstrom's `txn`
//! workload.
//!
//! Versions on the wire are the engine's commit sequence numbers, so `occ_commit` maps directly onto a
//! Deno-style atomic operation: one check per `read_versions` entry (null: the key must be absent),
//! one set per write, validated and applied in one step. stdout carries only protocol messages; a line
//! that cannot be answered (no `msg_id`, or not JSON at all) is reported on stderr and skipped.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::{AtomicResult, Db, MemDisk, Options, SendStorage, Transaction, Versionstamp};
use serde::de::DeserializeOwned;

use super::bad_input;
use super::protocol::{
    Header, InEnvelope, Init, OccCommit, OccRead, OutBody, OutEnvelope, Reply, Txn, CODE_CRASH,
    CODE_MALFORMED_REQUEST, CODE_NOT_SUPPORTED, CODE_TEMPORARILY_UNAVAILABLE, CODE_TXN_CONFLICT,
};
use super::values::{key_bytes, null_raw, stored_to_raw};

/// Arguments of `occsim serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Keep the store in this directory, durable across restarts (default: in memory, gone at exit).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

/// How many `occ_begin` snapshots the node keeps. A client that begins and never commits would
/// otherwise grow the node without bound; the oldest is dropped first, and reads naming a dropped
/// transaction fall back to the latest state, which `occ_commit`'s explicit versions still validate.
const MAX_OPEN_TXNS: usize = 4096;

/// Opens the store and serves stdin until end of input.
pub fn run_cmd(args: &ServeArgs) -> ExitCode {
    match &args.db {
        Some(dir) => match Db::open(dir) {
            Ok(db) => serve(&db),
            Err(e) => bad_input(format!("{}: {e}", dir.display())),
        },
        None => match Db::open_with(MemDisk::new(), Options::default()) {
            Ok(db) => serve(&db),
            Err(e) => bad_input(format!("in-memory store: {e}")),
        },
    }
}

/// Runs a node on the process's stdin and stdout; exit 0 at end of input.
fn serve<S: SendStorage>(db: &Db<S>) -> ExitCode {
    let mut node = Node::new(db);
    match node.run(io::stdin().lock(), io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => bad_input(format!("serve: {e}")),
    }
}

/// Why a line gets no reply at all (only a stderr line): there is no `msg_id` to answer.
#[derive(Debug, thiserror::Error)]
enum Unanswerable {
    /// The line is not JSON, or lacks `src` or `body`.
    #[error("not a message envelope: {0}")]
    NotEnvelope(serde_json::Error),
    /// The body is JSON but not an object.
    #[error("the body is not a JSON object")]
    BodyNotObject,
    /// The body's `type` or `msg_id` could not be read.
    #[error("malformed body: {0}")]
    MalformedBody(serde_json::Error),
    /// `msg_id` is missing or not a non-negative integer.
    #[error("no msg_id (a non-negative integer) to answer")]
    NoMsgId,
    /// The reply could not be written as JSON.
    #[error("cannot encode the reply: {0}")]
    Encode(serde_json::Error),
}

/// Why a request got an error reply instead of its `_ok`.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    /// The type names no request this node knows.
    #[error("unsupported message type {0:?}")]
    UnsupportedType(String),
    /// A `txn` micro-operation other than read and write.
    #[error("unsupported micro-operation {0:?} (rw-register has \"r\" and \"w\")")]
    UnsupportedMicroOp(String),
    /// The body's `type` is not a string.
    #[error("malformed request: type is not a string")]
    TypeNotString,
    /// A field is missing or has the wrong shape.
    #[error("malformed request: {0}")]
    Malformed(#[from] serde_json::Error),
    /// The store refused or failed the operation.
    #[error("{0}")]
    Engine(#[from] engine::Error),
}

impl RequestError {
    /// Maelstrom's code for the error, which tells a client whether the operation surely did not
    /// happen (conflict, malformed, unavailable) or may have (crash: an I/O error during a commit).
    fn code(&self) -> u32 {
        match self {
            RequestError::UnsupportedType(_) | RequestError::UnsupportedMicroOp(_) => CODE_NOT_SUPPORTED,
            RequestError::TypeNotString | RequestError::Malformed(_) => CODE_MALFORMED_REQUEST,
            RequestError::Engine(e) => match e {
                engine::Error::Conflict { .. }
                | engine::Error::SnapshotTooOld { .. }
                | engine::Error::CheckFailed { .. } => CODE_TXN_CONFLICT,
                engine::Error::InvalidArgument(_) => CODE_MALFORMED_REQUEST,
                engine::Error::Unavailable => CODE_TEMPORARILY_UNAVAILABLE,
                _ => CODE_CRASH,
            },
        }
    }
}

/// Parses a body as the request its type names; a shape error becomes error 12.
fn parse_body<T: DeserializeOwned>(body: &str) -> Result<T, RequestError> {
    Ok(serde_json::from_str(body)?)
}

/// The node's state: its name, its message counter and the snapshots of open OCC transactions.
struct Node<'db, S: SendStorage> {
    db: &'db Db<S>,
    /// The name from `init`; until then, replies come from the name the request was sent to.
    node_id: Option<String>,
    /// The next `msg_id` of this node's own messages (the task's tests expect it to start at 0).
    next_msg_id: u64,
    /// The number of the next `occ_begin` transaction (`t1`, `t2`, ...).
    next_txn: u64,
    /// Open `occ_begin` transactions by number, oldest first.
    txns: BTreeMap<u64, Transaction<'db, S>>,
}

impl<'db, S: SendStorage> Node<'db, S> {
    fn new(db: &'db Db<S>) -> Self {
        Node {
            db,
            node_id: None,
            next_msg_id: 0,
            next_txn: 1,
            txns: BTreeMap::new(),
        }
    }

    /// Answers every line of `input` on `output` until end of input. Only reading input or writing
    /// output can fail; bad messages are answered or reported on stderr.
    fn run(&mut self, mut input: impl BufRead, mut output: impl Write) -> io::Result<()> {
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            if input.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            line_no += 1;
            let Ok(line) = std::str::from_utf8(&buf) else {
                eprintln!("occsim serve: line {line_no}: not UTF-8, ignored");
                continue;
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match self.handle(line) {
                Ok(message) => {
                    output.write_all(message.as_bytes())?;
                    output.write_all(b"\n")?;
                    output.flush()?;
                }
                Err(reason) => eprintln!("occsim serve: line {line_no}: {reason}, ignored"),
            }
        }
    }

    /// Handles one message and returns the reply line, or why the line cannot be answered at all.
    fn handle(&mut self, line: &str) -> Result<String, Unanswerable> {
        let envelope: InEnvelope<'_> = serde_json::from_str(line).map_err(Unanswerable::NotEnvelope)?;
        // A struct also deserialises from a JSON array, which no Maelstrom body is.
        if !envelope.body.get().starts_with('{') {
            return Err(Unanswerable::BodyNotObject);
        }
        let header: Header =
            serde_json::from_str(envelope.body.get()).map_err(Unanswerable::MalformedBody)?;
        let msg_id = header.msg_id.as_u64().ok_or(Unanswerable::NoMsgId)?;
        let reply = match header.kind.as_str() {
            Some(kind) => self.dispatch(kind, envelope.body.get()),
            None => Err(RequestError::TypeNotString),
        };
        let reply = reply.unwrap_or_else(|e| Reply::Error {
            code: e.code(),
            text: e.to_string(),
        });
        let src = self
            .node_id
            .as_deref()
            .or(envelope.dest.as_deref())
            .unwrap_or_default();
        let out = OutEnvelope {
            src,
            dest: &envelope.src,
            body: OutBody {
                reply,
                in_reply_to: msg_id,
                msg_id: self.next_msg_id,
            },
        };
        let text = serde_json::to_string(&out).map_err(Unanswerable::Encode)?;
        self.next_msg_id += 1;
        Ok(text)
    }

    /// Runs the request a body's type names.
    fn dispatch(&mut self, kind: &str, body: &str) -> Result<Reply, RequestError> {
        match kind {
            "init" => {
                let init: Init = parse_body(body)?;
                self.node_id = Some(init.node_id);
                Ok(Reply::InitOk)
            }
            "occ_begin" => Ok(self.occ_begin()),
            "occ_read" => self.occ_read(parse_body(body)?),
            "occ_commit" => self.occ_commit(parse_body(body)?),
            "txn" => self.txn(parse_body(body)?),
            other => Err(RequestError::UnsupportedType(other.to_owned())),
        }
    }

    /// Takes a snapshot for later reads and names it.
    fn occ_begin(&mut self) -> Reply {
        if self.txns.len() >= MAX_OPEN_TXNS {
            self.txns.pop_first();
        }
        let n = self.next_txn;
        self.next_txn += 1;
        self.txns.insert(n, self.db.begin());
        Reply::OccBeginOk {
            txn_id: format!("t{n}"),
        }
    }

    /// The number of an open transaction named `txn_id`, if it is one of this node's.
    fn open_txn(&self, txn_id: Option<&str>) -> Option<u64> {
        let n = txn_id?.strip_prefix('t')?.parse().ok()?;
        self.txns.contains_key(&n).then_some(n)
    }

    /// Reads a key with its version: in the transaction's snapshot when it names an open one,
    /// else from the latest committed state.
    fn occ_read(&mut self, req: OccRead) -> Result<Reply, RequestError> {
        let key = key_bytes(&req.key);
        let (value, stamp) = match self.open_txn(req.txn_id.as_deref()) {
            Some(n) => match self.txns.get_mut(&n) {
                Some(txn) => txn.get_versioned(&key)?,
                None => (None, None),
            },
            None => {
                let entry = self.db.get_many(&[&key])?.pop();
                entry.map_or((None, None), |e| (e.value, e.versionstamp))
            }
        };
        Ok(Reply::OccReadOk {
            value: value.map_or_else(null_raw, |v| stored_to_raw(&v)),
            version: stamp.map(Versionstamp::seq),
        })
    }

    /// Validates exactly the given read versions against the latest committed ones and applies the
    /// writes iff all hold, in one atomic step.
    fn occ_commit(&mut self, req: OccCommit) -> Result<Reply, RequestError> {
        if let Some(n) = self.open_txn(req.txn_id.as_deref()) {
            self.txns.remove(&n);
        }
        let mut atomic = self.db.atomic();
        for read in &req.read_versions {
            atomic = atomic.check(&key_bytes(&read.key), read.version.map(Versionstamp::from_seq));
        }
        for write in &req.writes {
            atomic = atomic.set(&key_bytes(&write.key), write.value.get().as_bytes());
        }
        Ok(match atomic.commit()? {
            AtomicResult::Ok { versionstamp } => Reply::OccCommitOk {
                committed: true,
                new_version: (!req.writes.is_empty()).then(|| versionstamp.seq()),
            },
            AtomicResult::CheckFailed => Reply::OccCommitOk {
                committed: false,
                new_version: None,
            },
        })
    }

    /// Runs Maelstrom `txn-rw-register` micro-operations as one interactive transaction: reads see
    /// the snapshot and earlier writes of the same request; a conflict at commit is error 30.
    fn txn(&mut self, req: Txn) -> Result<Reply, RequestError> {
        let mut txn = self.db.begin();
        let mut done = Vec::with_capacity(req.txn.len());
        for (f, key, value) in req.txn {
            let k = key_bytes(&key);
            match f.as_str() {
                "r" => {
                    let read = txn.get(&k)?;
                    done.push((f, key, read.map_or_else(null_raw, |v| stored_to_raw(&v))));
                }
                "w" => {
                    txn.put(&k, value.get().as_bytes())?;
                    done.push((f, key, value));
                }
                other => return Err(RequestError::UnsupportedMicroOp(other.to_owned())),
            }
        }
        txn.commit()?;
        Ok(Reply::TxnOk { txn: done })
    }
}
