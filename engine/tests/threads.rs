//! Real threads on one `Db`: transfers conserve money and every read-only
//! audit sees the total, under every sync policy.

use engine::{Db, DirStorage, Error, MemDisk, Options, SendStorage, SyncPolicy};

const ACCOUNTS: u64 = 16;
const INITIAL: u64 = 100;

fn account(i: u64) -> Vec<u8> {
    format!("acct/{i:02}").into_bytes()
}

fn as_u64(v: &[u8]) -> u64 {
    u64::from_le_bytes(v.try_into().unwrap())
}

fn setup<S: SendStorage>(db: &Db<S>) {
    let mut t = db.begin();
    for i in 0..ACCOUNTS {
        t.put(&account(i), &INITIAL.to_le_bytes()).unwrap();
    }
    t.commit().unwrap();
}

fn transfer<S: SendStorage>(db: &Db<S>, from: u64, to: u64, amount: u64) -> Result<bool, Error> {
    let mut t = db.begin();
    let a = as_u64(&t.get(&account(from))?.unwrap());
    let b = as_u64(&t.get(&account(to))?.unwrap());
    if a < amount {
        return Ok(false);
    }
    t.put(&account(from), &(a - amount).to_le_bytes())?;
    t.put(&account(to), &(b + amount).to_le_bytes())?;
    t.commit().map(|_| true)
}

/// Reads every account in one transaction; retries when a descheduled
/// thread's snapshot fell below the ring's horizon.
fn audit<S: SendStorage>(db: &Db<S>) -> u64 {
    loop {
        let mut t = db.begin();
        let balances: Result<Vec<u64>, Error> = (0..ACCOUNTS)
            .map(|i| t.get(&account(i)).map(|v| as_u64(&v.unwrap())))
            .collect();
        match balances {
            Ok(b) => {
                assert_eq!(t.commit().unwrap().seq, None);
                return b.iter().sum();
            }
            Err(Error::SnapshotTooOld { .. }) => continue,
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

fn stress<S: SendStorage>(db: &Db<S>, per_thread: u64) -> (u64, u64) {
    setup(db);
    let results: Vec<(u64, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u64)
            .map(|t| {
                s.spawn(move || {
                    let (mut ok, mut conflicts) = (0, 0);
                    for n in 0..per_thread {
                        let from = (t * 5 + n * 3) % ACCOUNTS;
                        let to = (from + 1 + n % (ACCOUNTS - 1)) % ACCOUNTS;
                        match transfer(db, from, to, 1 + n % 7) {
                            Ok(_) => ok += 1,
                            Err(Error::Conflict { .. } | Error::SnapshotTooOld { .. }) => conflicts += 1,
                            Err(e) => panic!("unexpected {e}"),
                        }
                        if n % 10 == 0 {
                            assert_eq!(audit(db), ACCOUNTS * INITIAL, "an audit saw money move");
                        }
                    }
                    (ok, conflicts)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(audit(db), ACCOUNTS * INITIAL);
    results.iter().fold((0, 0), |a, r| (a.0 + r.0, a.1 + r.1))
}

#[test]
fn four_threads_of_transfers_conserve_money_in_memory() {
    for sync in [SyncPolicy::Never, SyncPolicy::EveryCommit, SyncPolicy::Group] {
        let db = Db::open_with(
            MemDisk::new(),
            Options {
                sync,
                ..Options::default()
            },
        )
        .unwrap();
        let (ok, conflicts) = stress(&db, 2_000);
        assert!(
            ok > 0 && ok + conflicts == 8_000,
            "{sync:?}: ok {ok} conflicts {conflicts}"
        );
    }
}

#[test]
fn group_commit_on_a_real_directory_conserves_money_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync: SyncPolicy::Group,
        ..Options::default()
    };
    {
        let db = Db::open_with(DirStorage::open(dir.path()).unwrap(), opts.clone()).unwrap();
        stress(&db, 100);
    }
    let db = Db::open_with(DirStorage::open(dir.path()).unwrap(), opts).unwrap();
    assert_eq!(audit(&db), ACCOUNTS * INITIAL);
}
