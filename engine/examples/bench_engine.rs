//! The engine benchmark: single-thread transfer transactions per second.
//!
//! Workload: 10,000 accounts, ring of 1,024; each transaction reads two
//! balances and writes both (2 reads + 2 writes). In memory, WAL records are
//! encoded, checksummed and appended to the in-memory disk but not fsynced.
//! Then the same transfers on a real temporary directory with an fsync per
//! commit, and with group commit from 8 threads.
//!
//! `cargo run --release -p engine --example bench_engine [--quick]`
//! Prints the median of several repetitions and the spread (max/min).

use std::time::Instant;

use engine::{Core, Db, DirStorage, MemDisk, Options, SyncPolicy};

const ACCOUNTS: u64 = 10_000;

fn account(mut i: u64) -> [u8; 12] {
    let mut k = *b"acct00000000";
    for at in (4..12).rev() {
        k[at] = b'0' + (i % 10) as u8;
        i /= 10;
    }
    k
}

/// A tiny deterministic generator (xorshift), so the benchmark needs no
/// dependency and picks the same accounts every run.
struct Pick(u64);

impl Pick {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn in_memory(txns: u64) -> f64 {
    let options = Options {
        ring_capacity: 1024,
        sync: SyncPolicy::Never,
        ..Options::default()
    };
    let mut core = Core::open(MemDisk::new(), options).unwrap();
    let mut setup = core.begin();
    for i in 0..ACCOUNTS {
        setup.put(&account(i), &1_000u64.to_le_bytes()).unwrap();
    }
    core.commit(&setup).unwrap();
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let start = Instant::now();
    let mut committed = 0u64;
    for _ in 0..txns {
        let from = account(pick.next() % ACCOUNTS);
        let to = account(pick.next() % ACCOUNTS);
        let mut t = core.begin();
        let a = u64::from_le_bytes(
            core.get(&mut t, &from).unwrap().value.unwrap()[..]
                .try_into()
                .unwrap(),
        );
        let b = u64::from_le_bytes(
            core.get(&mut t, &to).unwrap().value.unwrap()[..]
                .try_into()
                .unwrap(),
        );
        if from == to || a == 0 {
            continue;
        }
        t.put(&from, &(a - 1).to_le_bytes()).unwrap();
        t.put(&to, &(b + 1).to_le_bytes()).unwrap();
        core.commit(&t).unwrap();
        committed += 1;
    }
    committed as f64 / start.elapsed().as_secs_f64()
}

fn on_disk(sync: SyncPolicy, threads: u64, txns_per_thread: u64) -> f64 {
    let dir = tempfile_dir();
    let options = Options {
        sync,
        ..Options::default()
    };
    let db = Db::open_with(DirStorage::open(&dir).unwrap(), options).unwrap();
    let mut setup = db.begin();
    for i in 0..ACCOUNTS {
        setup.put(&account(i), &1_000u64.to_le_bytes()).unwrap();
    }
    setup.commit().unwrap();
    let start = Instant::now();
    let committed: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let db = &db;
                s.spawn(move || {
                    let mut pick = Pick(0x2545_f491_4f6c_dd1d + t);
                    let mut committed = 0u64;
                    for _ in 0..txns_per_thread {
                        let from = account(pick.next() % ACCOUNTS);
                        let to = account(pick.next() % ACCOUNTS);
                        if from == to {
                            continue;
                        }
                        let mut tx = db.begin();
                        let a = u64::from_le_bytes(tx.get(&from).unwrap().unwrap()[..].try_into().unwrap());
                        let b = u64::from_le_bytes(tx.get(&to).unwrap().unwrap()[..].try_into().unwrap());
                        tx.put(&from, &(a - 1).to_le_bytes()).unwrap();
                        tx.put(&to, &(b + 1).to_le_bytes()).unwrap();
                        if tx.commit().is_ok() {
                            committed += 1;
                        }
                    }
                    committed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let rate = committed as f64 / start.elapsed().as_secs_f64();
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    rate
}

fn tempfile_dir() -> std::path::PathBuf {
    let base = std::env::temp_dir().join(format!("occsim-bench-{}", std::process::id()));
    let mut n = 0;
    loop {
        let dir = base.with_extension(n.to_string());
        if !dir.exists() {
            return dir;
        }
        n += 1;
    }
}

fn median_and_spread(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let spread = xs[xs.len() - 1] / xs[0];
    (xs[xs.len() / 2], spread)
}

fn report(name: &str, reps: usize, mut f: impl FnMut() -> f64) {
    let (median, spread) = median_and_spread((0..reps).map(|_| f()).collect());
    println!("{name:<40} {median:>14.0} /s   (median of {reps}, spread {spread:.2})");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (mem_txns, reps) = if quick { (200_000, 3) } else { (2_000_000, 5) };
    report("in-memory transfers, 1 thread", reps, || in_memory(mem_txns));
    report("real dir, fsync every commit, 1 thread", 3, || {
        on_disk(SyncPolicy::EveryCommit, 1, 300)
    });
    report("real dir, group commit, 8 threads", 3, || {
        on_disk(SyncPolicy::Group, 8, 300)
    });
}
