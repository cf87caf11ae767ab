//! The seed's Deno KV example, `transferFunds(from, to, amount)`, run by
//! several threads on one store.
//!
//! Each transfer reads both balances with `get_many`, refuses if the sender
//! has too little, and commits with `atomic().check().check().set().set()`,
//! retrying a bounded number of times with backoff when a check fails
//! because another thread moved money first. The final balances must still
//! sum to the starting total.
//!
//! `cargo run --release -p engine --example transfer_funds [DIR]`: with a
//! directory the store is durable there (fsync per commit); without one it
//! runs on a temporary directory.

use std::time::Duration;

use engine::{AtomicResult, Db, DirStorage, Options};

const ACCOUNTS: u64 = 8;
const INITIAL: u64 = 1_000;
const THREADS: u64 = 4;
const TRANSFERS_PER_THREAD: u64 = 250;
const MAX_RETRIES: u32 = 20;

fn account(i: u64) -> Vec<u8> {
    format!("account/{i}").into_bytes()
}

fn balance(bytes: Option<&[u8]>) -> u64 {
    bytes.map_or(0, |b| {
        u64::from_le_bytes(b.try_into().expect("balances are 8 bytes"))
    })
}

/// Why a transfer did not happen.
#[derive(Debug)]
enum Refused {
    Insufficient,
    TooManyRetries,
}

fn transfer_funds(db: &Db, from: &[u8], to: &[u8], amount: u64) -> Result<u32, Refused> {
    for attempt in 0..MAX_RETRIES {
        let entries = db.get_many(&[from, to]).expect("get_many");
        let (sender, receiver) = (&entries[0], &entries[1]);
        let from_balance = balance(sender.value.as_deref());
        let to_balance = balance(receiver.value.as_deref());
        if from_balance < amount {
            return Err(Refused::Insufficient);
        }
        let result = db
            .atomic()
            .check(from, sender.versionstamp)
            .check(to, receiver.versionstamp)
            .set(from, &(from_balance - amount).to_le_bytes())
            .set(to, &(to_balance + amount).to_le_bytes())
            .commit()
            .expect("atomic commit");
        match result {
            AtomicResult::Ok { .. } => return Ok(attempt),
            AtomicResult::CheckFailed => std::thread::sleep(Duration::from_micros(10 << attempt.min(6))),
        }
    }
    Err(Refused::TooManyRetries)
}

fn main() {
    let arg = std::env::args().nth(1);
    let tmp;
    let dir = match &arg {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = std::env::temp_dir().join(format!("occsim-transfer-{}", std::process::id()));
            tmp.clone()
        }
    };
    let db =
        Db::open_with(DirStorage::open(&dir).expect("open dir"), Options::default()).expect("open store");
    let mut setup = db.atomic();
    for i in 0..ACCOUNTS {
        setup = setup.set(&account(i), &INITIAL.to_le_bytes());
    }
    assert!(setup.commit().expect("setup").ok());

    let stats: Vec<(u64, u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = &db;
                s.spawn(move || {
                    let (mut done, mut refused, mut retries) = (0, 0, 0);
                    for n in 0..TRANSFERS_PER_THREAD {
                        let from = (t + n) % ACCOUNTS;
                        let to = (t * 3 + n * 7 + 1) % ACCOUNTS;
                        if from == to {
                            continue;
                        }
                        match transfer_funds(db, &account(from), &account(to), 1 + (n * 37 + t) % 300) {
                            Ok(r) => {
                                done += 1;
                                retries += u64::from(r);
                            }
                            Err(Refused::Insufficient | Refused::TooManyRetries) => refused += 1,
                        }
                    }
                    (done, refused, retries)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).collect()
    });

    let keys: Vec<Vec<u8>> = (0..ACCOUNTS).map(account).collect();
    let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let entries = db.get_many(&key_refs).expect("final read");
    let mut total = 0;
    for entry in &entries {
        let b = balance(entry.value.as_deref());
        println!("{:<12} {:>6}", String::from_utf8_lossy(&entry.key), b);
        total += b;
    }
    let (done, refused, retries) = stats
        .iter()
        .fold((0, 0, 0), |a, s| (a.0 + s.0, a.1 + s.1, a.2 + s.2));
    println!("transfers: {done} committed, {refused} refused, {retries} retries after failed checks");
    println!("total: {total} (expected {})", ACCOUNTS * INITIAL);
    drop(db);
    if arg.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if total != ACCOUNTS * INITIAL {
        eprintln!("money was created or destroyed");
        std::process::exit(1);
    }
    println!("ok: money is conserved");
}
