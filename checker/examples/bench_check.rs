//! Benchmark of the checker: builds a serially consistent native history of 1,000,000 bank
//! transfers in memory, times `check` on it, writes it as JSON Lines and times parsing it back.
//!
//! Run: `cargo run --release -p checker --example bench_check [-- --txns N] [--write FILE]`;
//! with `--write FILE` the JSON Lines history is also saved, for timing `occsim check FILE`.
//! With `--read FILE` it instead times `check` alone on a history file (such as the
//! `history.jsonl` of an `occsim run`), so that a profiler can look at the checker on the
//! simulator's histories, whose interleaving differs from the generated serial one.

use std::time::Instant;

use checker::{
    check, parse_str, write_jsonl, BankMeta, CheckOptions, Function, History, Meta, MicroOp, Model, Op,
    OpType, OpValue, Process, ReadValue, Scalar, Version,
};

/// Number of bank accounts the transfers move money between.
const ACCOUNTS: usize = 1000;
/// Number of concurrent client processes (their invoke/complete windows overlap).
const CLIENTS: u64 = 8;

fn main() {
    let mut txns: usize = 1_000_000;
    let mut write: Option<String> = None;
    let mut read: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--txns" => txns = args.next().and_then(|v| v.parse().ok()).unwrap_or(txns),
            "--write" => write = args.next(),
            "--read" => read = args.next(),
            other => {
                eprintln!(
                    "unknown argument {other}; usage: bench_check [--txns N] [--write FILE] [--read FILE]"
                );
                std::process::exit(2);
            }
        }
    }
    let options = CheckOptions::default();
    if let Some(path) = read {
        check_file(&path, &options);
        return;
    }
    let history = generate(txns);

    let start = Instant::now();
    let checked = check(&history, &options).expect("generated history is well formed");
    let check_secs = start.elapsed().as_secs_f64();
    assert!(
        checked.verdict.valid,
        "generated history must be valid: {:?}",
        checked.verdict
    );

    let mut text = Vec::new();
    write_jsonl(&history, &mut text).expect("writing to memory");
    let text = String::from_utf8(text).expect("JSON is UTF-8");
    let start = Instant::now();
    let parsed = parse_str(&text).expect("written history parses");
    let parse_secs = start.elapsed().as_secs_f64();
    assert_eq!(parsed.ops.len(), history.ops.len());
    if let Some(path) = write {
        std::fs::write(&path, &text).expect("writing the history file");
        println!("wrote {path} ({} MB)", text.len() / 1_000_000);
    }
    let n = txns as f64 + 1.0;
    println!(
        "check: {n} txns in {check_secs:.3} s = {:.0} txn/s ({} edges)",
        n / check_secs,
        checked.stats.edges
    );
    println!(
        "parse: {n} txns ({} MB JSON Lines) in {parse_secs:.3} s = {:.0} txn/s",
        text.len() / 1_000_000,
        n / parse_secs
    );
}

/// Parses the history at `path` and times `check` on it.
fn check_file(path: &str, options: &CheckOptions) {
    let text = std::fs::read_to_string(path).expect("reading the history file");
    let history = parse_str(&text).expect("the history parses");
    drop(text);
    let start = Instant::now();
    let checked = check(&history, options).expect("the history is well formed");
    let check_secs = start.elapsed().as_secs_f64();
    let n = checked.stats.txns as f64;
    println!(
        "check {path}: {n} txns in {check_secs:.3} s = {:.0} txn/s ({} edges, valid: {})",
        n / check_secs,
        checked.stats.edges,
        checked.verdict.valid
    );
}

/// A tiny deterministic generator (xorshift), so the benchmark needs no dependencies.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Builds the history: a setup transaction, then `txns` transfers run one at a time against a
/// reference map, with each client's completion delayed so windows overlap.
fn generate(txns: usize) -> History {
    let keys: Vec<Scalar> = (0..ACCOUNTS).map(|i| Scalar::from(format!("acct{i}"))).collect();
    let mut balance = vec![100i64; ACCOUNTS];
    let mut version = vec![1u64; ACCOUNTS];
    let mut ops = Vec::with_capacity(2 * txns + 2);
    let setup: Vec<MicroOp> = keys.iter().map(|k| MicroOp::write(k.clone(), 100)).collect();
    ops.push(Op::new(
        0,
        Process::Client(0),
        OpType::Invoke,
        Function::Txn,
        OpValue::Txn(setup.clone()),
    ));
    let mut ok = Op::new(
        1,
        Process::Client(0),
        OpType::Ok,
        Function::Txn,
        OpValue::Txn(setup),
    );
    ok.snapshot = Some(0);
    ok.commit_seq = Some(1);
    ok.versions = Some(vec![Version::Absent; ACCOUNTS]);
    ops.push(ok);
    let mut seq = 1u64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut pending: Vec<Op> = Vec::new();
    for i in 0..txns {
        let client = (i as u64) % CLIENTS;
        let a = rng.below(ACCOUNTS);
        let b = (a + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS;
        let amount = rng.below(5) as i64;
        let invoke_mops = vec![
            MicroOp::Read {
                key: keys[a].clone(),
                value: ReadValue::Scalar(Scalar::Null),
            },
            MicroOp::Read {
                key: keys[b].clone(),
                value: ReadValue::Scalar(Scalar::Null),
            },
            MicroOp::write(keys[a].clone(), balance[a] - amount),
            MicroOp::write(keys[b].clone(), balance[b] + amount),
        ];
        let mops = vec![
            MicroOp::read(keys[a].clone(), balance[a]),
            MicroOp::read(keys[b].clone(), balance[b]),
            MicroOp::write(keys[a].clone(), balance[a] - amount),
            MicroOp::write(keys[b].clone(), balance[b] + amount),
        ];
        let versions = vec![
            Version::Seq(version[a]),
            Version::Seq(version[b]),
            Version::Absent,
            Version::Absent,
        ];
        let snapshot = seq;
        seq += 1;
        balance[a] -= amount;
        balance[b] += amount;
        version[a] = seq;
        version[b] = seq;
        // The invoke is written now; the completion after the next client's invoke, so
        // windows overlap while the commit order stays the serial order.
        ops.push(Op::new(
            0,
            Process::Client(client + 1),
            OpType::Invoke,
            Function::Txn,
            OpValue::Txn(invoke_mops),
        ));
        for p in pending.drain(..) {
            ops.push(p);
        }
        let mut done = Op::new(
            0,
            Process::Client(client + 1),
            OpType::Ok,
            Function::Txn,
            OpValue::Txn(mops),
        );
        done.snapshot = Some(snapshot);
        done.commit_seq = Some(seq);
        done.versions = Some(versions);
        pending.push(done);
    }
    ops.extend(pending);
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    History {
        meta: Some(Meta {
            model: Some(Model::Native),
            bank: Some(BankMeta {
                accounts: keys,
                total: 100 * ACCOUNTS as i64,
            }),
            ..Meta::default()
        }),
        ops,
    }
}
