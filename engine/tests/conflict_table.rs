//! One test per row of the conflict table in the engine spec, plus
//! read-your-writes, absent keys, ranges, snapshot-too-old and rollback.

use engine::{Bytes, Core, Error, KeyRange, MemDisk, Options, Read, ReadSource};

fn store(ring: usize) -> Core<MemDisk> {
    let options = Options {
        ring_capacity: ring,
        ..Options::default()
    };
    Core::open(MemDisk::new(), options).expect("open")
}

fn seed(core: &mut Core<MemDisk>, pairs: &[(&str, &str)]) {
    let mut t = core.begin();
    for (k, v) in pairs {
        t.put(k.as_bytes(), v.as_bytes()).unwrap();
    }
    core.commit(&t).unwrap();
}

fn value(core: &Core<MemDisk>, key: &str) -> Option<Vec<u8>> {
    core.read_latest(key.as_bytes()).unwrap().1.map(|v| v.to_vec())
}

#[test]
fn read_k_vs_concurrent_write_k_conflicts() {
    let mut core = store(16);
    seed(&mut core, &[("k", "0")]);
    let mut t1 = core.begin();
    core.get(&mut t1, b"k").unwrap();
    t1.put(b"other", b"x").unwrap();
    let mut t2 = core.begin();
    t2.put(b"k", b"1").unwrap();
    let seq2 = core.commit(&t2).unwrap().seq.unwrap();
    assert_eq!(
        core.commit(&t1),
        Err(Error::Conflict {
            key: b"k".to_vec(),
            seq: seq2
        })
    );
    assert_eq!(
        value(&core, "other"),
        None,
        "an aborted transaction leaves nothing"
    );
}

#[test]
fn read_write_vs_read_write_later_committer_aborts() {
    let mut core = store(16);
    seed(&mut core, &[("k", "0")]);
    let mut t1 = core.begin();
    let mut t2 = core.begin();
    for t in [&mut t1, &mut t2] {
        core.get(t, b"k").unwrap();
    }
    t1.put(b"k", b"1").unwrap();
    t2.put(b"k", b"2").unwrap();
    assert!(core.commit(&t1).is_ok());
    assert!(matches!(core.commit(&t2), Err(Error::Conflict { .. })));
    assert_eq!(value(&core, "k").as_deref(), Some(&b"1"[..]));
}

#[test]
fn read_k_vs_write_of_other_key_commits() {
    let mut core = store(16);
    seed(&mut core, &[("k", "0"), ("j", "0")]);
    let mut t1 = core.begin();
    core.get(&mut t1, b"k").unwrap();
    t1.put(b"k", b"1").unwrap();
    let mut t2 = core.begin();
    t2.put(b"j", b"1").unwrap();
    core.commit(&t2).unwrap();
    assert!(core.commit(&t1).is_ok());
}

#[test]
fn blind_write_vs_read_write_commits() {
    let mut core = store(16);
    seed(&mut core, &[("k", "0")]);
    let mut blind = core.begin();
    blind.put(b"k", b"blind").unwrap();
    let mut rw = core.begin();
    core.get(&mut rw, b"k").unwrap();
    rw.put(b"k", b"rw").unwrap();
    core.commit(&rw).unwrap();
    assert!(core.commit(&blind).is_ok(), "blind writes are not validated");
    assert_eq!(value(&core, "k").as_deref(), Some(&b"blind"[..]));
}

#[test]
fn blind_write_vs_blind_write_later_value_wins() {
    let mut core = store(16);
    let mut t1 = core.begin();
    let mut t2 = core.begin();
    t1.put(b"k", b"first").unwrap();
    t2.put(b"k", b"second").unwrap();
    let s1 = core.commit(&t1).unwrap().seq.unwrap();
    let s2 = core.commit(&t2).unwrap().seq.unwrap();
    assert!(s2 > s1);
    assert_eq!(value(&core, "k").as_deref(), Some(&b"second"[..]));
    assert_eq!(t1.read_set().count() + t2.read_set().count(), 0);
}

#[test]
fn read_absent_vs_create_conflicts() {
    let mut core = store(16);
    let mut t1 = core.begin();
    let read = core.get(&mut t1, b"user/alice").unwrap();
    assert_eq!(read.value, None);
    assert_eq!(read.source, ReadSource::Snapshot(None));
    assert_eq!(
        t1.read_set().collect::<Vec<_>>(),
        vec![(&b"user/alice"[..], None)]
    );
    t1.put(b"user/alice", b"t1").unwrap();
    let mut t2 = core.begin();
    core.get(&mut t2, b"user/alice").unwrap();
    t2.put(b"user/alice", b"t2").unwrap();
    core.commit(&t2).unwrap();
    assert!(matches!(core.commit(&t1), Err(Error::Conflict { .. })));
    assert_eq!(value(&core, "user/alice").as_deref(), Some(&b"t2"[..]));
}

#[test]
fn listed_range_vs_insert_conflicts() {
    let mut core = store(16);
    seed(&mut core, &[("item/1", "a"), ("other", "z")]);
    let mut t1 = core.begin();
    let listed = core
        .list(&mut t1, &KeyRange::prefix("item/"), usize::MAX)
        .unwrap();
    assert_eq!(listed.len(), 1);
    t1.put(b"count", listed.len().to_string().as_bytes()).unwrap();
    let mut t2 = core.begin();
    t2.put(b"item/2", b"b").unwrap();
    core.commit(&t2).unwrap();
    assert!(matches!(core.commit(&t1), Err(Error::Conflict { key, .. }) if key == b"item/2"));
}

#[test]
fn listed_range_vs_delete_conflicts_but_outside_write_does_not() {
    let mut core = store(16);
    seed(&mut core, &[("item/1", "a"), ("item/2", "b"), ("zzz", "z")]);
    let mut t1 = core.begin();
    core.list(&mut t1, &KeyRange::between("item/", "item0"), usize::MAX)
        .unwrap();
    t1.put(b"count", b"2").unwrap();
    let mut outside = core.begin();
    outside.put(b"zzz", b"y").unwrap();
    core.commit(&outside).unwrap();
    let mut t_ok = t1.clone();
    assert!(
        core.commit(&t_ok).is_ok(),
        "a write outside the range does not conflict"
    );
    t_ok = core.begin();
    core.list(&mut t_ok, &KeyRange::prefix("item/"), usize::MAX)
        .unwrap();
    t_ok.put(b"count", b"2").unwrap();
    let mut deleter = core.begin();
    deleter.delete(b"item/1").unwrap();
    core.commit(&deleter).unwrap();
    assert!(matches!(core.commit(&t_ok), Err(Error::Conflict { .. })));
}

#[test]
fn list_merges_own_writes_and_deletes() {
    let mut core = store(16);
    seed(&mut core, &[("p/a", "1"), ("p/b", "2"), ("p/c", "3")]);
    let mut t = core.begin();
    t.delete(b"p/b").unwrap();
    t.put(b"p/d", b"4").unwrap();
    t.put(b"p/a", b"one").unwrap();
    let got: Vec<(Vec<u8>, Vec<u8>, bool)> = core
        .list(&mut t, &KeyRange::prefix("p/"), usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| (e.key.to_vec(), e.value.to_vec(), e.source == ReadSource::Own))
        .collect();
    assert_eq!(
        got,
        vec![
            (b"p/a".to_vec(), b"one".to_vec(), true),
            (b"p/c".to_vec(), b"3".to_vec(), false),
            (b"p/d".to_vec(), b"4".to_vec(), true),
        ]
    );
    assert_eq!(core.list(&mut t, &KeyRange::prefix("p/"), 1).unwrap().len(), 1);
}

#[test]
fn read_your_writes_and_read_your_deletes() {
    let mut core = store(16);
    seed(&mut core, &[("k", "old"), ("gone", "x")]);
    let mut t = core.begin();
    t.put(b"k", b"new").unwrap();
    t.delete(b"gone").unwrap();
    let k = core.get(&mut t, b"k").unwrap();
    assert_eq!(k.value.as_deref(), Some(&b"new"[..]));
    assert_eq!(k.source, ReadSource::Own);
    let gone = core.get(&mut t, b"gone").unwrap();
    assert_eq!(gone.value, None);
    assert_eq!(gone.source, ReadSource::Own);
    assert_eq!(
        t.read_set().count(),
        0,
        "reads served by own writes are not in the read set"
    );
    core.commit(&t).unwrap();
    assert_eq!(value(&core, "gone"), None);
}

#[test]
fn snapshot_reads_ignore_later_commits() {
    let mut core = store(16);
    seed(&mut core, &[("k", "v1")]);
    let mut reader = core.begin();
    seed(&mut core, &[("k", "v2")]);
    let read = core.get(&mut reader, b"k").unwrap();
    assert_eq!(read.value.as_deref(), Some(&b"v1"[..]));
    assert_eq!(read.source, ReadSource::Snapshot(Some(1)));
    assert_eq!(
        core.commit(&reader).unwrap().seq,
        None,
        "read-only commits get no sequence"
    );
}

#[test]
fn read_only_transactions_commit_even_below_the_horizon() {
    let mut core = store(1);
    seed(&mut core, &[("k", "v1")]);
    let mut reader = core.begin();
    core.get(&mut reader, b"k").unwrap();
    for i in 0..5 {
        seed(&mut core, &[("j", &i.to_string())]);
    }
    assert!(core.horizon() > reader.snapshot());
    let c = core.commit(&reader).unwrap();
    assert_eq!((c.snapshot, c.seq), (1, None));
}

#[test]
fn snapshot_one_below_horizon_aborts_and_at_horizon_commits() {
    // Ring of 2: after commits 1..=3 the horizon H is 1.
    let mut core = store(2);
    let mut at_h_minus_1 = core.begin();
    seed(&mut core, &[("a", "1")]);
    let mut at_h = core.begin();
    seed(&mut core, &[("b", "2")]);
    seed(&mut core, &[("c", "3")]);
    assert_eq!(core.horizon(), 1);
    assert_eq!(at_h_minus_1.snapshot(), 0);
    assert_eq!(at_h.snapshot(), 1);
    at_h_minus_1.put(b"x", b"1").unwrap();
    at_h.put(b"y", b"1").unwrap();
    assert_eq!(
        core.commit(&at_h_minus_1),
        Err(Error::SnapshotTooOld {
            snapshot: 0,
            horizon: 1
        })
    );
    assert!(core.commit(&at_h).is_ok(), "S == H is not too old");
}

#[test]
fn conflict_with_the_last_commit_in_the_ring_is_still_caught_at_the_horizon() {
    let mut core = store(2);
    seed(&mut core, &[("k", "0")]);
    let mut t = core.begin();
    core.get(&mut t, b"k").unwrap();
    t.put(b"k", b"mine").unwrap();
    seed(&mut core, &[("other", "1")]);
    seed(&mut core, &[("k", "theirs")]);
    assert_eq!(core.horizon(), 1);
    assert!(matches!(core.commit(&t), Err(Error::Conflict { seq: 3, .. })));
}

#[test]
fn reads_of_reclaimed_versions_fail_instead_of_returning_another_version() {
    let mut core = store(1);
    seed(&mut core, &[("k", "v1")]);
    let mut old = core.begin();
    seed(&mut core, &[("k", "v2")]);
    seed(&mut core, &[("k", "v3")]);
    seed(&mut core, &[("j", "x")]);
    assert!(core.horizon() >= 3);
    assert!(matches!(
        core.get(&mut old, b"k"),
        Err(Error::SnapshotTooOld { .. })
    ));
    // k's obsolete v1 and v2 may stay in its entry's inline slots until k
    // is next written (lazy pruning); they are never read.
    assert!(
        core.version_count() <= 4,
        "nothing beyond the inline slots is kept"
    );
    let mut fresh = core.begin();
    assert_eq!(
        core.get(&mut fresh, b"k").unwrap().value.as_deref(),
        Some(&b"v3"[..])
    );
}

#[test]
fn memory_stays_bounded_by_live_data_and_the_ring() {
    let mut core = store(8);
    for i in 0..1000 {
        seed(&mut core, &[("hot", &i.to_string()), ("cold", "c")]);
    }
    assert!(
        core.version_count() <= 2 * 9 + 2,
        "versions: {}",
        core.version_count()
    );
}

#[test]
fn rollback_and_drop_leave_nothing_visible() {
    let core = store(16);
    {
        let mut t = core.begin();
        t.put(b"k", b"never").unwrap();
    }
    let mut t = core.begin();
    assert_eq!(core.get(&mut t, b"k").unwrap().value, None);
    assert_eq!(core.last_seq(), 0);
}

#[test]
fn oversized_keys_and_values_are_rejected_not_truncated() {
    let mut core = store(16);
    let mut t = core.begin();
    let big_key = vec![b'k'; engine::MAX_KEY_LEN + 1];
    assert!(matches!(t.put(&big_key, b"v"), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        core.get(&mut t, &big_key),
        Err(Error::InvalidArgument(_))
    ));
    let big_value = vec![0; engine::MAX_VALUE_LEN + 1];
    assert!(matches!(t.put(b"k", &big_value), Err(Error::InvalidArgument(_))));
    t.put(&vec![b'k'; engine::MAX_KEY_LEN], &vec![1; engine::MAX_VALUE_LEN])
        .unwrap();
    assert!(core.commit(&t).is_ok());
}

#[test]
fn get_batch_reads_each_key_as_get_does_and_stops_at_the_first_error() {
    let mut core = store(16);
    seed(&mut core, &[("a", "1"), ("b", "2"), ("gone", "x")]);
    let mut batch = core.begin();
    let mut single = core.begin();
    for t in [&mut batch, &mut single] {
        t.put(b"b", b"own").unwrap();
        t.delete(b"gone").unwrap();
    }
    let keys: [&[u8]; 4] = [b"a", b"b", b"gone", b"absent"];
    let mut into = core.begin();
    into.put(b"b", b"own").unwrap();
    into.delete(b"gone").unwrap();
    let batched = core.get_batch(&mut batch, keys).unwrap();
    let one_by_one = keys.map(|key| core.get(&mut single, key).unwrap());
    assert_eq!(batched, one_by_one);
    // `get_into` reads as `get` does, into where the caller keeps the read.
    let mut kept = keys.map(|_| Read {
        value: Some(Bytes::from(&b"stale"[..])),
        source: ReadSource::Snapshot(Some(99)),
    });
    for (read, key) in kept.iter_mut().zip(keys) {
        core.get_into(&mut into, key, read).unwrap();
    }
    assert_eq!(kept, one_by_one);
    assert_eq!(
        into.read_set().collect::<Vec<_>>(),
        single.read_set().collect::<Vec<_>>()
    );
    assert_eq!(batched[0].value.as_deref(), Some(&b"1"[..]));
    assert_eq!(batched[1].source, ReadSource::Own);
    assert_eq!(batched[3].value, None);
    assert_eq!(
        batch.read_set().collect::<Vec<_>>(),
        single.read_set().collect::<Vec<_>>(),
        "the read set holds the snapshot reads, absent keys included"
    );

    // The absent key is in the read set: creating it concurrently conflicts.
    seed(&mut core, &[("absent", "now")]);
    assert!(matches!(core.commit(&batch), Err(Error::Conflict { .. })));

    // A prefetch hint takes any key, one too long to store included, without
    // an error or a panic (it only hashes the key).
    let too_long = vec![b'k'; engine::MAX_KEY_LEN + 1];
    for key in [&b"a"[..], b"absent", b"", &too_long] {
        core.prefetch(key);
    }

    let mut t = core.begin();
    let err = core.get_batch(&mut t, [b"a", &too_long, b"b"]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let read: Vec<_> = t.read_set().map(|(key, _)| key.to_vec()).collect();
    assert_eq!(
        read,
        [b"a".to_vec()],
        "keys before the error stay read, keys after it are not"
    );
}
