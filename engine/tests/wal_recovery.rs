//! Recovery from crash images: cut at any byte, damaged bytes and sectors,
//! crashes inside checkpoints, failed fsyncs, and arbitrary bytes.

mod common;

use std::collections::BTreeMap;

use common::{all_written_image, state, FailAt};
use engine::{files, Core, Error, KeyRange, MemDisk, Mutant, Options, Storage, SyncPolicy};
use proptest::prelude::*;

type Writes = Vec<(u8, Option<Vec<u8>>)>;

fn key(k: u8) -> Vec<u8> {
    format!("key/{k}").into_bytes()
}

fn all_keys() -> Vec<Vec<u8>> {
    (0..8).map(key).collect()
}

fn commits() -> impl Strategy<Value = Vec<Writes>> {
    let write = (
        0u8..8,
        prop::option::weighted(0.85, prop::collection::vec(any::<u8>(), 0..200)),
    );
    prop::collection::vec(prop::collection::vec(write, 1..4), 1..16)
}

fn options() -> Options {
    Options {
        checkpoint_wal_bytes: u64::MAX,
        ..Options::default()
    }
}

/// Runs the commits; returns the WAL bytes, the WAL length after each commit
/// and the state after each prefix of commits.
#[allow(clippy::type_complexity)]
fn build(commits: &[Writes]) -> (Vec<u8>, Vec<usize>, Vec<BTreeMap<Vec<u8>, Vec<u8>>>) {
    let mut core = Core::open(MemDisk::new(), options()).unwrap();
    let mut ends = Vec::new();
    let mut states = vec![BTreeMap::new()];
    for writes in commits {
        let mut t = core.begin();
        for (k, v) in writes {
            match v {
                Some(v) => t.put(&key(*k), v).unwrap(),
                None => t.delete(&key(*k)).unwrap(),
            }
        }
        core.commit(&t).unwrap();
        ends.push(core.storage().read(&files::wal(0)).unwrap().unwrap().len());
        states.push(state(&core, &all_keys()));
    }
    let wal = core.storage().read(&files::wal(0)).unwrap().unwrap().to_vec();
    (wal, ends, states)
}

fn open_image(wal: &[u8]) -> Result<Core<MemDisk>, Error> {
    let image = BTreeMap::from([(files::wal(0), wal.to_vec())]);
    Core::open(MemDisk::from_image(image), options())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_crash_image_cut_at_any_byte_recovers_exactly_the_whole_commits(commits in commits()) {
        let (wal, ends, states) = build(&commits);
        for cut in 0..=wal.len() {
            let whole = ends.iter().filter(|&&end| end <= cut).count();
            let mut core = open_image(&wal[..cut]).unwrap();
            prop_assert_eq!(&state(&core, &all_keys()), &states[whole], "cut at {}", cut);
            prop_assert_eq!(core.last_seq(), whole as u64);
            let mut t = core.begin();
            t.put(b"after", b"recovery").unwrap();
            prop_assert_eq!(core.commit(&t).unwrap().seq, Some(whole as u64 + 1));
        }
    }

    #[test]
    fn damaged_bytes_or_sectors_recover_a_prefix_or_report_corruption(
        commits in commits(),
        at in any::<prop::sample::Index>(),
        damage in 0u8..3,
        garbage in any::<u8>(),
    ) {
        let (wal, ends, states) = build(&commits);
        let mut image = wal.clone();
        let pos = at.index(wal.len());
        let sector = 512;
        let range = match damage {
            0 => pos..pos + 1,
            _ => (pos / sector * sector)..((pos / sector + 1) * sector).min(wal.len()),
        };
        for (i, b) in image[range.clone()].iter_mut().enumerate() {
            *b = match damage {
                0 => *b ^ (1 << (garbage % 8)),
                1 => 0,
                _ => garbage.wrapping_mul(31).wrapping_add(i as u8).rotate_left(3),
            };
        }
        prop_assume!(image != wal);
        // Damage that rewrites a byte with its own value (zeroing a zero)
        // changes nothing there: what counts is the bytes that changed.
        let changed: Vec<usize> = range.clone().filter(|&i| image[i] != wal[i]).collect();
        let (first, last) = (changed[0], changed[changed.len() - 1]);
        // The first commit touched by the damage, and whether any whole record
        // of a later commit survives intact after it.
        let first_damaged = ends.iter().position(|&end| end > first).unwrap();
        let intact_after = ends.get(first_damaged + 1).is_some() && last < ends[first_damaged];
        match open_image(&image) {
            Ok(core) => {
                prop_assert!(!intact_after, "damage followed by intact commits must be reported");
                prop_assert_eq!(&state(&core, &all_keys()), &states[first_damaged]);
            }
            Err(Error::Corrupt(_)) => {
                prop_assert!(last + 1 < wal.len(), "a damaged tail with nothing after it is torn, not corrupt");
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for name in [files::wal(0), files::snapshot(1)] {
            let image = BTreeMap::from([(name, bytes.clone())]);
            match Core::open(MemDisk::from_image(image), options()) {
                Ok(_) | Err(Error::Corrupt(_)) => {}
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }
}

fn fill(core: &mut Core<FailAt>, n: u8) {
    for i in 0..n {
        let mut t = core.begin();
        t.put(&key(i % 8), &[i; 20]).unwrap();
        core.commit(&t).unwrap();
    }
}

#[test]
fn a_crash_at_every_step_of_a_checkpoint_recovers_the_same_state() {
    let mut probe = Core::open(FailAt::default(), options()).unwrap();
    fill(&mut probe, 12);
    let before = probe.storage().calls;
    probe.checkpoint().unwrap();
    let steps = probe.storage().calls - before;
    assert!(steps >= 8, "a checkpoint is several storage calls");
    let want = state(&probe, &all_keys());
    for k in 1..=steps {
        let mut core = Core::open(FailAt::default(), options()).unwrap();
        fill(&mut core, 12);
        core.storage_mut().fail_at = Some(core.storage().calls + k);
        core.storage_mut().crash = true;
        assert!(matches!(core.checkpoint(), Err(Error::Io(_))));
        assert!(core.is_poisoned());
        let disk = core.into_storage().disk;
        for image in [disk.crash_image(), all_written_image(&disk)] {
            let mut recovered = Core::open(MemDisk::from_image(image), options()).unwrap();
            assert_eq!(
                state(&recovered, &all_keys()),
                want,
                "crash at checkpoint step {k}"
            );
            assert_eq!(recovered.last_seq(), 12);
            let mut t = recovered.begin();
            t.put(b"x", b"y").unwrap();
            assert_eq!(recovered.commit(&t).unwrap().seq, Some(13));
            // A second recovery after the cleanup finds the same state.
            let again =
                Core::open(MemDisk::from_image(recovered.storage().crash_image()), options()).unwrap();
            assert_eq!(again.last_seq(), 13);
        }
    }
}

#[test]
fn checkpoints_bound_the_wal_and_recover_the_same_state() {
    let small = Options {
        checkpoint_wal_bytes: 300,
        ..Options::default()
    };
    let mut core = Core::open(MemDisk::new(), small.clone()).unwrap();
    for i in 0..100u8 {
        let mut t = core.begin();
        t.put(&key(i % 8), &[i; 30]).unwrap();
        core.commit(&t).unwrap();
    }
    assert!(core.generation() > 5);
    let names = core.storage().list().unwrap();
    assert_eq!(
        names.len(),
        2,
        "only the current checkpoint and WAL remain: {names:?}"
    );
    let wal = core
        .storage()
        .read(&files::wal(core.generation()))
        .unwrap()
        .unwrap();
    assert!(wal.len() < 400);
    let recovered = Core::open(MemDisk::from_image(core.storage().crash_image()), small).unwrap();
    assert_eq!(state(&recovered, &all_keys()), state(&core, &all_keys()));
    assert_eq!(recovered.last_seq(), 100);
}

/// The WAL a recovery replays counts towards the next checkpoint: a store
/// that crashes again and again before its log grows by the threshold
/// still checkpoints once the log holds that many bytes, so the log, and
/// with it the next recovery's replay, stays bounded.
#[test]
fn a_recovered_wal_counts_towards_the_next_checkpoint() {
    let small = Options {
        checkpoint_wal_bytes: 2_000,
        ..Options::default()
    };
    let mut core = Core::open(MemDisk::new(), small.clone()).unwrap();
    let mut commits = 0u32;
    for _crash in 0..10 {
        // Each life commits well under the threshold, then crashes.
        for _ in 0..5 {
            let mut t = core.begin();
            t.put(&key((commits % 8) as u8), &[7; 100]).unwrap();
            core.commit(&t).unwrap();
            commits += 1;
        }
        let wal = core
            .storage()
            .read(&files::wal(core.generation()))
            .unwrap()
            .map_or(0, |w| w.len());
        assert!(
            wal < 2_000 + 200,
            "the WAL holds at most the threshold and one commit: {wal} bytes after {commits} commits"
        );
        core = Core::open(MemDisk::from_image(core.storage().crash_image()), small.clone()).unwrap();
    }
    assert!(
        core.generation() >= 2,
        "the lives' commits added up to checkpoints"
    );
    assert_eq!(core.last_seq(), u64::from(commits));
}

/// A commit that writes a key twice is one the engine never writes: with
/// valid checksums it is damage, reported as `Corrupt` whatever the order
/// of the writes and however many the commit has, never a panic or a
/// silent choice of one of the two.
#[test]
fn a_commit_that_writes_a_key_twice_is_corruption() {
    type Write<'a> = (&'a [u8], Option<&'a [u8]>);
    let cases: [&[Write]; 4] = [
        &[(b"k", None), (b"k", Some(b"v"))],
        &[(b"k", Some(b"v")), (b"k", None)],
        &[(b"k", None), (b"k", None)],
        &[
            (b"a", Some(b"1")),
            (b"b", Some(b"1")),
            (b"c", Some(b"1")),
            (b"d", Some(b"1")),
            (b"e", Some(b"1")),
            (b"f", Some(b"1")),
            (b"g", Some(b"1")),
            (b"h", Some(b"1")),
            (b"i", Some(b"1")),
            (b"b", Some(b"2")),
        ],
    ];
    for writes in cases {
        let mut wal = Vec::new();
        for (key, value) in writes {
            engine::wal::encode_write(&mut wal, 1, key, *value);
        }
        engine::wal::encode_marker(&mut wal, 1, writes.len() as u32);
        match open_image(&wal) {
            Err(Error::Corrupt(c)) => assert!(c.reason.contains("writes a key twice"), "{c}"),
            other => panic!("{} writes: {:?}", writes.len(), other.map(|c| c.last_seq())),
        }
    }
}

/// Every key and value a full prefix scan sees, in order.
fn scan(core: &Core<MemDisk>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut t = core.begin();
    core.list(&mut t, &KeyRange::prefix("key/"), usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| (e.key.to_vec(), e.value.to_vec()))
        .collect()
}

#[test]
fn recovery_orders_a_checkpoints_keys_with_keys_the_wal_adds_and_deletes() {
    let small = Options {
        checkpoint_wal_bytes: 500,
        ..Options::default()
    };
    let mut core = Core::open(MemDisk::new(), small.clone()).unwrap();
    for i in 0..8u8 {
        let mut t = core.begin();
        t.put(&key(i), &[i; 30]).unwrap();
        core.commit(&t).unwrap();
    }
    let checkpointed = core.generation();
    assert!(checkpointed > 0, "the puts filled the WAL past a checkpoint");
    for (deleted, added) in [(1u8, 20u8), (5, 9), (6, 10)] {
        let mut t = core.begin();
        t.delete(&key(deleted)).unwrap();
        t.put(&key(added), &[added]).unwrap();
        core.commit(&t).unwrap();
    }
    assert_eq!(
        core.generation(),
        checkpointed,
        "the last commits stay in the WAL"
    );
    let recovered = Core::open(MemDisk::from_image(core.storage().crash_image()), small).unwrap();
    let report = recovered.recovery_report();
    assert!(report.checkpoint_seq > 0 && report.commits_replayed >= 3);
    let expected = scan(&core);
    assert_eq!(expected.len(), 8, "five checkpointed keys and three added");
    assert_eq!(
        scan(&recovered),
        expected,
        "a range scan sees the same keys in order"
    );
}

#[test]
fn a_failed_fsync_is_an_io_error_and_the_handle_refuses_commits_until_reopened() {
    let mut core = Core::open(FailAt::default(), options()).unwrap();
    fill(&mut core, 2);
    // The next commit's calls are append then sync: fail the sync.
    core.storage_mut().fail_at = Some(core.storage().calls + 2);
    let mut t = core.begin();
    t.put(b"lost?", b"maybe").unwrap();
    assert!(matches!(core.commit(&t), Err(Error::Io(_))));
    let mut t = core.begin();
    t.put(b"later", b"refused").unwrap();
    assert_eq!(core.commit(&t), Err(Error::Unavailable));
    let disk = core.into_storage().disk;
    for (image, kept) in [(disk.crash_image(), false), (all_written_image(&disk), true)] {
        let mut core = Core::open(MemDisk::from_image(image), options()).unwrap();
        assert_eq!(core.read_latest(b"lost?").unwrap().1.is_some(), kept);
        assert_eq!(core.read_latest(b"later").unwrap().1, None);
        let mut t = core.begin();
        t.put(b"after", b"reopen").unwrap();
        assert!(core.commit(&t).unwrap().seq.unwrap() > core.last_seq() - 1);
    }
}

#[test]
fn a_damaged_checkpoint_is_corruption() {
    let mut core = Core::open(MemDisk::new(), options()).unwrap();
    let mut t = core.begin();
    t.put(b"k", b"v").unwrap();
    core.commit(&t).unwrap();
    core.checkpoint().unwrap();
    let mut image = core.storage().crash_image();
    let snap = image.get_mut(&files::snapshot(1)).unwrap();
    snap[10] ^= 1;
    assert!(matches!(
        Core::open(MemDisk::from_image(image), options()),
        Err(Error::Corrupt(_))
    ));
}

#[test]
fn recovery_mutants_change_what_is_recovered() {
    // A torn commit: its write records are whole but its marker is missing.
    let (wal, ends, _) = build(&[
        vec![(0, Some(vec![1]))],
        vec![(1, Some(vec![2])), (2, Some(vec![3]))],
    ]);
    let marker_len = 8 + 9 + 4;
    let torn = &wal[..ends[1] - marker_len];
    let image = BTreeMap::from([(files::wal(0), torn.to_vec())]);
    let honest = Core::open(MemDisk::from_image(image.clone()), options()).unwrap();
    assert_eq!(honest.last_seq(), 1);
    assert_eq!(honest.read_latest(&key(1)).unwrap().1, None);
    let mutant = Options {
        mutant: Some(Mutant::NoCommitMarker),
        ..options()
    };
    let broken = Core::open(MemDisk::from_image(image), mutant).unwrap();
    assert!(
        broken.read_latest(&key(1)).unwrap().1.is_some(),
        "no-commit-marker applies a torn commit"
    );

    // A record whose payload is garbage but whose length survived, before
    // an intact marker: the honest store reports corruption, the mutant
    // applies the garbage.
    let mut garbled = wal.clone();
    let value_byte = ends[1] - marker_len - 1;
    assert_eq!(garbled[value_byte], 3);
    garbled[value_byte] = 0x77;
    let image = BTreeMap::from([(files::wal(0), garbled)]);
    assert!(matches!(
        Core::open(MemDisk::from_image(image.clone()), options()),
        Err(Error::Corrupt(_))
    ));
    let checksum_off = Options {
        mutant: Some(Mutant::NoChecksum),
        ..options()
    };
    let accepted = Core::open(MemDisk::from_image(image), checksum_off).unwrap();
    assert_eq!(
        accepted.read_latest(&key(2)).unwrap().1.as_deref(),
        Some(&[0x77u8][..])
    );

    // seq-reuse-after-recovery restarts below a replayed commit.
    let mut core = Core::open(MemDisk::new(), options()).unwrap();
    fill_mem(&mut core, 3);
    core.checkpoint().unwrap();
    fill_mem(&mut core, 2);
    let image = core.storage().crash_image();
    let reuse = Options {
        mutant: Some(Mutant::SeqReuseAfterRecovery),
        ..options()
    };
    assert_eq!(
        Core::open(MemDisk::from_image(image.clone()), options())
            .unwrap()
            .last_seq(),
        5
    );
    assert_eq!(
        Core::open(MemDisk::from_image(image), reuse).unwrap().last_seq(),
        3
    );
}

#[test]
fn ack_before_fsync_acknowledges_a_commit_that_a_crash_loses() {
    for (mutant, lost) in [(None, false), (Some(Mutant::AckBeforeFsync), true)] {
        let opts = Options { mutant, ..options() };
        let mut core = Core::open(MemDisk::new(), opts.clone()).unwrap();
        let mut t = core.begin();
        t.put(b"acked", b"1").unwrap();
        assert!(core.commit(&t).is_ok());
        let recovered = Core::open(MemDisk::from_image(core.storage().crash_image()), opts).unwrap();
        assert_eq!(recovered.read_latest(b"acked").unwrap().1.is_none(), lost);
    }
}

#[test]
fn group_policy_on_a_bare_core_leaves_commits_invisible_until_published() {
    let opts = Options {
        sync: SyncPolicy::Group,
        ..options()
    };
    let mut core = Core::open(MemDisk::new(), opts).unwrap();
    let mut t = core.begin();
    t.put(b"k", b"v").unwrap();
    assert_eq!(core.commit(&t).unwrap().seq, Some(1));
    assert_eq!(core.visible_seq(), 0, "not durable, not visible");
    assert_eq!(core.begin().snapshot(), 0);
}

fn fill_mem(core: &mut Core<MemDisk>, n: u8) {
    for i in 0..n {
        let mut t = core.begin();
        t.put(&key(i % 8), &[i; 4]).unwrap();
        core.commit(&t).unwrap();
    }
}

/// The reason recovery gives for refusing `wal`.
fn corruption(wal: &[u8]) -> String {
    match open_image(wal) {
        Err(Error::Corrupt(c)) => c.reason,
        other => panic!("expected corruption, got {:?}", other.map(|c| c.last_seq())),
    }
}

/// Recovery replays each commit as it reads it, but reports what it would
/// have reported had it scanned the whole file first: damage to a record
/// (a bad record with a valid one after it) rather than a structural error
/// before it, and the structural error when nothing after it is damaged.
#[test]
fn damage_is_reported_before_an_earlier_structural_error_and_that_error_alone_otherwise() {
    let mut wal = Vec::new();
    engine::wal::encode_write(&mut wal, 1, b"a", Some(b"1"));
    engine::wal::encode_marker(&mut wal, 1, 1);
    let repeated_at = wal.len();
    engine::wal::encode_write(&mut wal, 1, b"b", Some(b"2"));
    engine::wal::encode_marker(&mut wal, 1, 1);
    let structural = corruption(&wal);
    assert_eq!(structural, "sequence 1 is not above 1");
    let damaged_at = wal.len();
    engine::wal::encode_write(&mut wal, 2, b"c", Some(b"3"));
    engine::wal::encode_marker(&mut wal, 2, 1);
    engine::wal::encode_write(&mut wal, 3, b"d", Some(b"4"));
    engine::wal::encode_marker(&mut wal, 3, 1);
    assert_eq!(
        corruption(&wal),
        structural,
        "intact records after the error change nothing"
    );
    wal[damaged_at + 12] ^= 0x40;
    let damage = corruption(&wal);
    assert!(
        damage.starts_with("checksum mismatch followed by a valid record"),
        "{damage}"
    );
    assert!(repeated_at < damaged_at);
    // The same damage with nothing valid after it is a torn tail: the
    // structural error is reported.
    let torn = &wal[..damaged_at + 20];
    assert_eq!(corruption(torn), structural);
}
