//! Deno KV's atomic API: get_many, checks, mutations, limits, result shape.

use engine::{
    AtomicOp, AtomicResult, Core, Db, Error, MemDisk, Mutation, Options, Versionstamp, MAX_CHECKS,
    MAX_GET_MANY_KEYS, MAX_MUTATIONS,
};

fn db() -> Db<MemDisk> {
    Db::open_with(MemDisk::new(), Options::default()).unwrap()
}

fn u64_at(db: &Db<MemDisk>, key: &[u8]) -> Option<u64> {
    db.get_many(&[key]).unwrap()[0]
        .value
        .as_deref()
        .map(|v| u64::from_le_bytes(v.try_into().unwrap()))
}

#[test]
fn get_many_reads_one_snapshot_with_versionstamps_and_absent_entries() {
    let db = db();
    let r = db.atomic().set(b"a", b"1").set(b"b", b"2").commit().unwrap();
    let AtomicResult::Ok { versionstamp } = r else {
        panic!("setup failed")
    };
    let entries = db.get_many(&[b"a", b"b", b"missing"]).unwrap();
    assert_eq!(entries[0].versionstamp, Some(versionstamp));
    assert_eq!(
        entries[1].versionstamp,
        Some(versionstamp),
        "all mutations share one versionstamp"
    );
    assert_eq!(entries[2].value, None);
    assert_eq!(entries[2].versionstamp, None, "absent keys have no versionstamp");
    assert_eq!(entries[2].key.as_ref(), b"missing");
}

#[test]
fn get_many_rejects_more_than_ten_keys() {
    let db = db();
    let keys: Vec<Vec<u8>> = (0..=MAX_GET_MANY_KEYS).map(|i| vec![i as u8]).collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    assert!(matches!(db.get_many(&refs), Err(Error::InvalidArgument(_))));
    assert_eq!(
        db.get_many(&refs[..MAX_GET_MANY_KEYS]).unwrap().len(),
        MAX_GET_MANY_KEYS
    );
}

#[test]
fn check_against_current_versionstamp_commits_and_stale_one_fails_with_nothing_applied() {
    let db = db();
    let first = db.atomic().set(b"k", b"v1").commit().unwrap();
    let AtomicResult::Ok { versionstamp: v1 } = first else {
        panic!()
    };
    let second = db
        .atomic()
        .check(b"k", Some(v1))
        .set(b"k", b"v2")
        .commit()
        .unwrap();
    assert!(second.ok());
    let stale = db
        .atomic()
        .check(b"k", Some(v1))
        .set(b"k", b"v3")
        .set(b"other", b"x")
        .commit()
        .unwrap();
    assert_eq!(stale, AtomicResult::CheckFailed);
    assert!(!stale.ok());
    assert_eq!(
        db.get_many(&[b"other"]).unwrap()[0].value,
        None,
        "nothing applied"
    );
    assert_eq!(
        db.get_many(&[b"k"]).unwrap()[0].value.as_deref(),
        Some(&b"v2"[..])
    );
}

#[test]
fn check_absent_means_the_key_must_not_exist() {
    let db = db();
    assert!(db
        .atomic()
        .check(b"u", None)
        .set(b"u", b"1")
        .commit()
        .unwrap()
        .ok());
    assert_eq!(
        db.atomic().check(b"u", None).set(b"u", b"2").commit().unwrap(),
        AtomicResult::CheckFailed
    );
    let deleted = db.atomic().delete(b"u").commit().unwrap();
    assert!(deleted.ok());
    assert!(db
        .atomic()
        .check(b"u", None)
        .set(b"u", b"3")
        .commit()
        .unwrap()
        .ok());
}

#[test]
fn versionstamps_increase_with_commits() {
    let db = db();
    let mut last: Option<Versionstamp> = None;
    for i in 0..20u8 {
        let AtomicResult::Ok { versionstamp } = db.atomic().set(&[i], &[i]).commit().unwrap() else {
            panic!()
        };
        assert_eq!(versionstamp.to_string().len(), 20);
        if let Some(prev) = last {
            assert!(prev.to_string() < versionstamp.to_string());
        }
        last = Some(versionstamp);
    }
}

#[test]
fn sum_min_max_on_missing_and_present_u64_values() {
    let db = db();
    db.atomic()
        .sum(b"s", 5)
        .min(b"lo", 7)
        .max(b"hi", 7)
        .commit()
        .unwrap();
    assert_eq!(
        (u64_at(&db, b"s"), u64_at(&db, b"lo"), u64_at(&db, b"hi")),
        (Some(5), Some(7), Some(7))
    );
    db.atomic()
        .sum(b"s", 10)
        .min(b"lo", 3)
        .max(b"hi", 3)
        .commit()
        .unwrap();
    assert_eq!(
        (u64_at(&db, b"s"), u64_at(&db, b"lo"), u64_at(&db, b"hi")),
        (Some(15), Some(3), Some(7))
    );
    db.atomic().sum(b"s", u64::MAX).commit().unwrap();
    assert_eq!(u64_at(&db, b"s"), Some(14), "sum wraps modulo 2^64");
    db.atomic().sum(b"s", 1).sum(b"s", 1).commit().unwrap();
    assert_eq!(u64_at(&db, b"s"), Some(16), "mutations of one key apply in order");
}

#[test]
fn sum_on_a_value_that_is_not_eight_bytes_is_an_error_and_applies_nothing() {
    let db = db();
    db.atomic().set(b"text", b"hello").commit().unwrap();
    let err = db.atomic().set(b"side", b"x").sum(b"text", 1).commit();
    assert!(matches!(err, Err(Error::InvalidArgument(_))));
    assert_eq!(db.get_many(&[b"side"]).unwrap()[0].value, None);
    assert!(matches!(
        db.atomic().min(b"text", 1).commit(),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.atomic().max(b"text", 1).commit(),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn limits_on_checks_mutations_and_sizes() {
    let db = db();
    let mut op = AtomicOp::new();
    for i in 0..=MAX_CHECKS {
        op.check(format!("k{i}").as_bytes(), None);
    }
    assert!(matches!(db.commit_atomic(&op), Err(Error::InvalidArgument(_))));
    let mut op = AtomicOp::new();
    for i in 0..MAX_CHECKS {
        op.check(format!("k{i}").as_bytes(), None);
    }
    assert!(db.commit_atomic(&op).unwrap().ok());

    let mut op = AtomicOp::new();
    for i in 0..=MAX_MUTATIONS {
        op.set(format!("m{i}").as_bytes(), b"v");
    }
    assert!(matches!(db.commit_atomic(&op), Err(Error::InvalidArgument(_))));
    let mut op = AtomicOp::new();
    for i in 0..MAX_MUTATIONS {
        op.set(format!("m{i}").as_bytes(), b"v");
    }
    assert!(db.commit_atomic(&op).unwrap().ok());

    let big = vec![0u8; engine::MAX_VALUE_LEN];
    let mut op = AtomicOp::new();
    for i in 0..13 {
        op.set(format!("big{i}").as_bytes(), &big);
    }
    assert!(
        matches!(db.commit_atomic(&op), Err(Error::InvalidArgument(m)) if m.contains("mutations total")),
        "more than 800 KiB of mutations"
    );
    let long_key = vec![b'k'; engine::MAX_KEY_LEN];
    let mut op = AtomicOp::new();
    for i in 0..41u8 {
        let mut k = long_key.clone();
        k[0] = i;
        op.check(&k, None);
    }
    assert!(matches!(db.commit_atomic(&op), Err(Error::InvalidArgument(m)) if m.contains("keys total")));
    assert!(matches!(
        db.atomic().set(&vec![0; engine::MAX_KEY_LEN + 1], b"v").commit(),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        db.atomic()
            .set(b"k", &vec![0; engine::MAX_VALUE_LEN + 1])
            .commit(),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn atomic_commits_share_the_commit_log_with_interactive_transactions() {
    let mut core = Core::open(MemDisk::new(), Options::default()).unwrap();
    let mut t = core.begin();
    core.get(&mut t, b"k").unwrap();
    t.put(b"k", b"interactive").unwrap();
    let mut op = AtomicOp::new();
    op.mutate(b"k", Mutation::Set(b"atomic".as_slice().into()));
    assert!(core.atomic_commit(&op).unwrap().ok());
    assert!(matches!(core.commit(&t), Err(Error::Conflict { seq: 1, .. })));
}

#[test]
fn checks_only_operation_commits_without_a_new_version() {
    let db = db();
    db.atomic().set(b"k", b"v").commit().unwrap();
    let before = db.last_seq();
    let r = db
        .atomic()
        .check(b"k", Some(Versionstamp::from_seq(before)))
        .commit()
        .unwrap();
    assert_eq!(
        r,
        AtomicResult::Ok {
            versionstamp: Versionstamp::from_seq(before)
        }
    );
    assert_eq!(db.last_seq(), before);
}
