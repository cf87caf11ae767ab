//! The engine's benchmark workloads, shared by `examples/bench_engine.rs`
//! and `occsim bench`, so both print the same figure for the same work.
//!
//! Transfers over 10,000 accounts: each transaction reads two balances and
//! writes both (2 reads + 2 writes); the two reads are one `get_batch`,
//! as the seed's `transferFunds` reads both balances with one `getMany`. Account picks come from a fixed
//! xorshift sequence, so every run does the same work.

use std::time::Instant;

use crate::{Core, Db, DirStorage, MemDisk, Options, SyncPolicy};

/// The number of accounts.
pub const ACCOUNTS: u64 = 10_000;

/// The key of account `i`: `acct` and eight digits.
pub fn account(mut i: u64) -> [u8; 12] {
    let mut k = *b"acct00000000";
    for at in (4..12).rev() {
        k[at] = b'0' + (i % 10) as u8;
        i /= 10;
    }
    k
}

/// A tiny deterministic generator (xorshift), so the benchmark needs no
/// dependency and picks the same accounts every run.
pub struct Pick(pub u64);

impl Pick {
    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A store on the in-memory disk with every account funded by one setup
/// commit.
fn funded(options: Options) -> Core<MemDisk> {
    let mut core = Core::open(MemDisk::new(), options).unwrap();
    let mut setup = core.begin();
    for i in 0..ACCOUNTS {
        setup.put(&account(i), &1_000u64.to_le_bytes()).unwrap();
    }
    core.commit(&setup).unwrap();
    core
}

/// One transfer between two accounts `pick` chooses: both balances read
/// with one `get_batch`, both written, committed. Returns whether it
/// committed (a transfer to itself or from an empty account does not).
#[inline]
fn transfer(core: &mut Core<MemDisk>, pick: &mut Pick) -> bool {
    let from = account(pick.next_u64() % ACCOUNTS);
    let to = account(pick.next_u64() % ACCOUNTS);
    let mut t = core.begin();
    let [a, b] = core.get_batch(&mut t, [&from, &to]).unwrap();
    let a = u64::from_le_bytes(a.value.unwrap()[..].try_into().unwrap());
    let b = u64::from_le_bytes(b.value.unwrap()[..].try_into().unwrap());
    if from == to || a == 0 {
        return false;
    }
    t.put(&from, &(a - 1).to_le_bytes()).unwrap();
    t.put(&to, &(b + 1).to_le_bytes()).unwrap();
    core.commit(&t).unwrap();
    true
}

/// Committed transfers per second, single-threaded on a bare `Core` over
/// the in-memory disk: WAL records encoded, checksummed and appended, never
/// fsynced; ring of 1,024.
pub fn in_memory(txns: u64) -> f64 {
    let options = Options {
        ring_capacity: 1024,
        sync: SyncPolicy::Never,
        ..Options::default()
    };
    let mut core = funded(options);
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let start = Instant::now();
    let mut committed = 0u64;
    for _ in 0..txns {
        committed += u64::from(transfer(&mut core, &mut pick));
    }
    committed as f64 / start.elapsed().as_secs_f64()
}

/// Recoveries per second of the simulator's typical crash image: the
/// transfer workload's 10,000 accounts in a checkpoint, and half a MiB of
/// transfers (4,400 of them, 119 bytes each) in the WAL after it: the
/// simulator checkpoints every MiB, so a crash finds half of that on
/// average. Each recovery opens a fresh copy of the image, so the copy is
/// part of what is measured, as it is in the simulator.
pub fn recovery(recoveries: u64) -> f64 {
    let options = Options {
        ring_capacity: 1024,
        sync: SyncPolicy::EveryCommit,
        checkpoint_wal_bytes: 1 << 20,
        mutant: None,
    };
    let mut core = funded(options.clone());
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let mut transfers = 0u64;
    let mut since_checkpoint = 0u64;
    while core.generation() == 0 || since_checkpoint < 4_400 {
        let generation = core.generation();
        if transfer(&mut core, &mut pick) {
            transfers += 1;
            since_checkpoint = if core.generation() == generation {
                since_checkpoint + 1
            } else {
                0
            };
        }
    }
    let image = core.into_storage().crash_image();
    let start = Instant::now();
    for _ in 0..recoveries {
        let core = Core::open(MemDisk::from_image(image.clone()), options.clone()).unwrap();
        assert_eq!(core.last_seq(), transfers + 1, "every transfer recovers");
    }
    recoveries as f64 / start.elapsed().as_secs_f64()
}

/// Checkpoints per second of the transfer workload's 10,000 accounts on
/// the in-memory disk: each encodes every account's newest value in key
/// order, writes the file and starts the next WAL generation.
pub fn checkpoint(checkpoints: u64) -> f64 {
    let options = Options {
        ring_capacity: 1024,
        sync: SyncPolicy::EveryCommit,
        checkpoint_wal_bytes: u64::MAX,
        mutant: None,
    };
    let mut core = funded(options);
    let start = Instant::now();
    for _ in 0..checkpoints {
        core.checkpoint().unwrap();
    }
    let rate = checkpoints as f64 / start.elapsed().as_secs_f64();
    assert_eq!(
        core.generation(),
        checkpoints,
        "every checkpoint started a generation"
    );
    rate
}

/// Committed transfers per second on a real temporary directory with the
/// given sync policy, from `threads` threads sharing one `Db`.
pub fn on_disk(sync: SyncPolicy, threads: u64, txns_per_thread: u64) -> f64 {
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
                        let from = account(pick.next_u64() % ACCOUNTS);
                        let to = account(pick.next_u64() % ACCOUNTS);
                        if from == to {
                            continue;
                        }
                        let mut tx = db.begin();
                        let [a, b] = tx.get_batch([&from, &to]).unwrap();
                        let a = u64::from_le_bytes(a.unwrap()[..].try_into().unwrap());
                        let b = u64::from_le_bytes(b.unwrap()[..].try_into().unwrap());
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
