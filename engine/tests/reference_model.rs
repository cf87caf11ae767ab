//! proptest: random interleavings of transactions against a reference model
//! with unbounded history and a brute-force conflict rule.
//!
//! The reference keeps every commit forever. A transaction conflicts when
//! any commit after its snapshot wrote a key it read or a key inside a range
//! it listed; its snapshot is too old when it is below H, the sequence
//! number of the newest commit the bounded ring has evicted. The engine must
//! agree exactly: same reads, same commit/abort decisions, same reasons.

use std::collections::BTreeMap;

use engine::{Core, Error, KeyRange, MemDisk, Mutant, Options, SyncPolicy, Txn};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
enum Op {
    Begin(usize),
    Get(usize, u8),
    Put(usize, u8, u8),
    Delete(usize, u8),
    List(usize, u8, u8),
    Commit(usize),
    Rollback(usize),
}

const SLOTS: usize = 4;
const KEYS: u8 = 5;

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    prop_oneof![
        2 => slot.clone().prop_map(Op::Begin),
        4 => (slot.clone(), 0..KEYS).prop_map(|(s, k)| Op::Get(s, k)),
        4 => (slot.clone(), 0..KEYS, any::<u8>()).prop_map(|(s, k, v)| Op::Put(s, k, v)),
        1 => (slot.clone(), 0..KEYS).prop_map(|(s, k)| Op::Delete(s, k)),
        1 => (slot.clone(), 0..KEYS, 0..=KEYS).prop_map(|(s, a, b)| Op::List(s, a, b)),
        3 => slot.clone().prop_map(Op::Commit),
        1 => slot.prop_map(Op::Rollback),
    ]
}

fn key(k: u8) -> Vec<u8> {
    vec![b'k', b'0' + k]
}

/// What the reference knows about an open transaction.
#[derive(Debug, Clone, Default)]
struct RefTxn {
    snapshot: u64,
    reads: Vec<Vec<u8>>,
    ranges: Vec<KeyRange>,
    writes: Writes,
}

type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

#[derive(Debug, Default)]
struct Reference {
    /// Every writing commit: its sequence number and writes.
    commits: Vec<(u64, Writes)>,
}

impl Reference {
    fn last_seq(&self) -> u64 {
        self.commits.last().map_or(0, |c| c.0)
    }

    fn value_at(&self, key: &[u8], snapshot: u64) -> Option<Vec<u8>> {
        self.commits
            .iter()
            .rev()
            .filter(|(seq, _)| *seq <= snapshot)
            .find_map(|(_, w)| w.get(key).cloned())
            .flatten()
    }

    fn horizon(&self, ring: usize) -> u64 {
        match self.commits.len().checked_sub(ring + 1) {
            Some(i) => self.commits[i].0,
            None => 0,
        }
    }

    /// The outcome the spec requires for committing `t`.
    fn decide(&self, t: &RefTxn, ring: usize) -> Result<(), &'static str> {
        if t.writes.is_empty() {
            return Ok(());
        }
        if t.snapshot < self.horizon(ring) {
            return Err("snapshot-too-old");
        }
        let conflict = self
            .commits
            .iter()
            .filter(|(seq, _)| *seq > t.snapshot)
            .any(|(_, w)| {
                w.keys()
                    .any(|k| t.reads.contains(k) || t.ranges.iter().any(|r| r.contains(k)))
            });
        if conflict {
            Err("conflict")
        } else {
            Ok(())
        }
    }
}

fn run(ops: Vec<Op>, ring: usize, mutant: Option<Mutant>) -> Result<(), TestCaseError> {
    let options = Options {
        ring_capacity: ring,
        sync: SyncPolicy::Never,
        mutant,
        ..Options::default()
    };
    let mut core = Core::open(MemDisk::new(), options).unwrap();
    let mut reference = Reference::default();
    let mut open: Vec<Option<(Txn, RefTxn)>> = vec![None; SLOTS];
    for op in ops {
        match op {
            Op::Begin(s) => {
                let t = core.begin();
                prop_assert_eq!(t.snapshot(), reference.last_seq());
                open[s] = Some((
                    t,
                    RefTxn {
                        snapshot: reference.last_seq(),
                        ..RefTxn::default()
                    },
                ));
            }
            Op::Get(s, k) => {
                let Some((t, r)) = open[s].as_mut() else { continue };
                let k = key(k);
                let want = match r.writes.get(&k) {
                    Some(own) => own.clone(),
                    None => reference.value_at(&k, r.snapshot),
                };
                match core.get(t, &k) {
                    Ok(read) => {
                        prop_assert_eq!(read.value.map(|v| v.to_vec()), want);
                        if !r.writes.contains_key(&k) {
                            r.reads.push(k);
                        }
                    }
                    Err(Error::SnapshotTooOld { .. }) => {
                        prop_assert!(r.snapshot < reference.horizon(ring), "reclaimed read at S >= H");
                        open[s] = None;
                    }
                    Err(e) => prop_assert!(false, "unexpected error {e}"),
                }
            }
            Op::Put(s, k, v) => {
                let Some((t, r)) = open[s].as_mut() else { continue };
                t.put(&key(k), &[v]).unwrap();
                r.writes.insert(key(k), Some(vec![v]));
            }
            Op::Delete(s, k) => {
                let Some((t, r)) = open[s].as_mut() else { continue };
                t.delete(&key(k)).unwrap();
                r.writes.insert(key(k), None);
            }
            Op::List(s, a, b) => {
                let Some((t, r)) = open[s].as_mut() else { continue };
                let range = KeyRange::between(key(a), key(b));
                let mut want: BTreeMap<Vec<u8>, Vec<u8>> = (a..b)
                    .filter_map(|k| reference.value_at(&key(k), r.snapshot).map(|v| (key(k), v)))
                    .collect();
                for (k, v) in r.writes.iter().filter(|(k, _)| range.contains(k)) {
                    match v {
                        Some(v) => want.insert(k.clone(), v.clone()),
                        None => want.remove(k),
                    };
                }
                match core.list(t, &range, usize::MAX) {
                    Ok(entries) => {
                        let got: BTreeMap<Vec<u8>, Vec<u8>> = entries
                            .into_iter()
                            .map(|e| (e.key.to_vec(), e.value.to_vec()))
                            .collect();
                        prop_assert_eq!(got, want);
                        r.ranges.push(range);
                    }
                    Err(Error::SnapshotTooOld { .. }) => {
                        prop_assert!(r.snapshot < reference.horizon(ring));
                        open[s] = None;
                    }
                    Err(e) => prop_assert!(false, "unexpected error {e}"),
                }
            }
            Op::Commit(s) => {
                let Some((t, r)) = open[s].take() else { continue };
                let want = reference.decide(&r, ring);
                let got = core.commit(&t);
                match (&want, &got) {
                    (Ok(()), Ok(c)) => {
                        if r.writes.is_empty() {
                            prop_assert_eq!(c.seq, None);
                        } else {
                            let seq = c.seq.expect("writing commit has a sequence number");
                            prop_assert_eq!(seq, reference.last_seq() + 1);
                            reference.commits.push((seq, r.writes.clone()));
                        }
                    }
                    (Err("conflict"), Err(Error::Conflict { .. })) => {}
                    (Err("snapshot-too-old"), Err(Error::SnapshotTooOld { .. })) => {}
                    _ => prop_assert!(false, "reference says {want:?}, engine says {got:?}"),
                }
            }
            Op::Rollback(s) => open[s] = None,
        }
    }
    for k in 0..KEYS {
        let got = core.read_latest(&key(k)).unwrap().1.map(|v| v.to_vec());
        prop_assert_eq!(got, reference.value_at(&key(k), reference.last_seq()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_unbounded_reference(ops in prop::collection::vec(op(), 1..120), ring in 1usize..6) {
        run(ops, ring, None)?;
    }
}

/// The property can fail: every mutant that changes what a single store
/// decides or returns is caught by it.
#[test]
fn the_reference_catches_the_in_memory_mutants() {
    let in_memory = [
        Mutant::SkipReadValidation,
        Mutant::ValidateWriteSetOnly,
        Mutant::IgnoreAbsentReads,
        Mutant::RingOffByOne,
        Mutant::NoSnapshotTooOld,
        Mutant::NoReadYourWrites,
        Mutant::EarlyGc,
        Mutant::LostRangeConflict,
    ];
    for mutant in in_memory {
        let mut runner = TestRunner::new(Config {
            cases: 4096,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = (prop::collection::vec(op(), 1..120), 1usize..6);
        let outcome = runner.run(&strategy, |(ops, ring)| run(ops, ring, Some(mutant)));
        assert!(outcome.is_err(), "mutant {mutant} was not caught");
    }
}
