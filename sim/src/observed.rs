//! What a transaction observed and did, micro-op by micro-op, kept
//! compactly while it runs.
//!
//! Nearly every micro-op the simulator's agents do is a read or a write of
//! an integer under a short key. Building the checker's `MicroOp` and
//! `Version` values for each of them, only for the recorder to take them
//! apart again, cost more than the engine call they describe; so a running
//! transaction keeps each such micro-op as one small `Access`, and only the
//! rare others (range reads) in the checker's form. A key that is not an
//! account's is kept beside the accesses, so an `Access` is plain data:
//! a transaction is dropped at every completion, and accesses that held
//! their keys inline were each dropped as a string.
//! `micro_ops` gives back exactly the checker's form, in order.
//!
//! An account's key is kept as its index, not its text: the agents that
//! pick accounts say which (`read_account`, `write_account`), and any other
//! micro-op on a key spelled as an account's is stored the same way, so a
//! micro-op has one representation and derived equality and hashing (which
//! the model checker identifies states by) compare content. The recorder
//! numbers such a key by its index without parsing text, and a transfer
//! never builds its keys' text for the history at all.

use std::hash::{Hash, Hasher};

use checker::{KeyRange, MicroOp, ReadValue, Scalar, Version};
use smallvec::SmallVec;

use crate::agents::{account, Key};
use crate::key_table::account_index;

/// What one simple micro-op was. The agents never delete, so a delete is
/// one of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A read that found nothing.
    ReadNull,
    /// A read of an integer.
    Read,
    /// A write of an integer.
    Write,
    /// Any other micro-op: its `value` indexes the transaction's others.
    Other,
}

/// `version` of a micro-op whose version is `null`.
pub const ABSENT: u64 = u64::MAX;
/// `version` of a read served from the transaction's own write.
pub const OWN: u64 = u64::MAX - 1;
/// `account` of a micro-op whose key is kept as text among the
/// transaction's keys (a key that is not an account's, or an account past
/// `ACCOUNTS_BY_INDEX`), or of a micro-op of `Kind::Other`, which has no
/// key there.
pub const UNKNOWN_ACCOUNT: u32 = u32::MAX;

/// `key_at` of an access whose key is not kept beside it (`account`
/// names it, or it is of `Kind::Other`).
const NO_KEY: u32 = u32::MAX;

/// One micro-op with its version. For `Kind::Other`, `value` is the
/// position in the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access {
    /// Where its key is among the transaction's keys, or `NO_KEY` when
    /// `account` names it or the micro-op is of `Kind::Other`.
    key_at: u32,
    /// What the micro-op was.
    pub kind: Kind,
    /// The integer read or written (0 for null).
    pub value: i64,
    /// The version read (`ABSENT`, `OWN` or a sequence number).
    pub version: u64,
    /// The `i` whose key, `account(i)`, this micro-op is on; else
    /// `UNKNOWN_ACCOUNT` (and the key is among the transaction's keys, or,
    /// for `Kind::Other`, in the others).
    pub account: u32,
}

/// The key field and account of a micro-op on `key`: an account's key is
/// kept as its index (see the module comment).
fn by_index(key: Key) -> (Option<Key>, u32) {
    match account_index(&key) {
        Some(i) => (None, i),
        None => (Some(key), UNKNOWN_ACCOUNT),
    }
}

/// Accounts below this index are kept by index: the ones whose keys
/// `account_index` reads back.
const ACCOUNTS_BY_INDEX: u32 = 1 << 31;

/// A transaction's micro-ops, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    accesses: SmallVec<[Access; 4]>,
    /// The keys of the accesses that `account` does not name, in order.
    keys: Vec<Key>,
    others: Vec<(MicroOp, Version)>,
}

impl Observed {
    /// A read of `key` that found `value` at `version`.
    pub fn read(&mut self, key: Key, value: Option<i64>, version: Version) {
        let (key, i) = by_index(key);
        self.read_hinted(key, i, value, version);
    }

    /// A read of account `i`'s key that found `value` at `version`.
    /// Always inlined, and with no key to pass: a transfer records two, and
    /// even an empty key passed through the stack was read back with wide
    /// loads that its narrow stores could not be forwarded to.
    #[inline(always)]
    pub fn read_account(&mut self, i: u32, value: Option<i64>, version: Version) {
        if i < ACCOUNTS_BY_INDEX {
            self.read_hinted(None, i, value, version);
        } else {
            self.read(account(u64::from(i)), value, version);
        }
    }

    /// Always inlined, like `write_hinted`: a transfer records four
    /// micro-ops, and a call each cost about a third of recording one.
    /// `key` is `None` when `account` names the key.
    #[inline(always)]
    fn read_hinted(&mut self, key: Option<Key>, account: u32, value: Option<i64>, version: Version) {
        let compact = match version {
            Version::Absent => Some(ABSENT),
            Version::Own => Some(OWN),
            Version::Seq(s) if s < OWN => Some(s),
            _ => None,
        };
        match compact {
            Some(version) => {
                let kind = if value.is_some() {
                    Kind::Read
                } else {
                    Kind::ReadNull
                };
                self.push(key, kind, value.unwrap_or(0), version, account);
            }
            None => {
                let key = key.unwrap_or_else(|| crate::agents::account(u64::from(account)));
                self.other(
                    MicroOp::read(Scalar::Str(key), value.map_or(Scalar::Null, Scalar::Int)),
                    version,
                );
            }
        }
    }

    /// A write of `value` to `key` (its version is `null`).
    pub fn write(&mut self, key: Key, value: i64) {
        let (key, i) = by_index(key);
        self.write_hinted(key, i, value);
    }

    /// A write of `value` to account `i`'s key (inlined as `read_account`
    /// is).
    #[inline(always)]
    pub fn write_account(&mut self, i: u32, value: i64) {
        if i < ACCOUNTS_BY_INDEX {
            self.write_hinted(None, i, value);
        } else {
            self.write(account(u64::from(i)), value);
        }
    }

    /// Always inlined (see `read_hinted`).
    #[inline(always)]
    fn write_hinted(&mut self, key: Option<Key>, account: u32, value: i64) {
        self.push(key, Kind::Write, value, ABSENT, account);
    }

    /// Appends a simple micro-op, writing its fields one by one into their
    /// slot. Built whole on the stack and copied, as a plain `push` does,
    /// the copy's wide loads could not be forwarded from the narrow stores
    /// that had just built it: a stall of about a dozen cycles for each of
    /// a transfer's four micro-ops (perf annotate). An account's micro-op
    /// (`key` is `None`) keeps the slot's `NO_KEY` as it was written.
    #[inline(always)]
    fn push(&mut self, key: Option<Key>, kind: Kind, value: i64, version: u64, account: u32) {
        self.accesses.push(Access {
            key_at: NO_KEY,
            kind: Kind::Other,
            value: 0,
            version: 0,
            account: 0,
        });
        let slot = self.accesses.last_mut().expect("just pushed");
        if let Some(key) = key {
            slot.key_at = u32::try_from(self.keys.len()).expect("a transaction's keys fit u32");
            self.keys.push(key);
        }
        slot.kind = kind;
        slot.value = value;
        slot.version = version;
        slot.account = account;
    }

    /// Any other micro-op, kept in the checker's form.
    pub fn other(&mut self, m: MicroOp, version: Version) {
        let at = self.others.len() as i64;
        self.others.push((m, version));
        self.accesses.push(Access {
            key_at: NO_KEY,
            kind: Kind::Other,
            value: at,
            version: ABSENT,
            account: UNKNOWN_ACCOUNT,
        });
    }

    /// Forgets every access, keeping the room the lists grew into.
    #[inline(always)]
    pub fn clear(&mut self) {
        self.accesses.clear();
        self.keys.clear();
        self.others.clear();
    }

    /// How many micro-ops.
    pub fn len(&self) -> usize {
        self.accesses.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.accesses.is_empty()
    }

    /// The micro-ops in compact form, in order.
    pub fn accesses(&self) -> &[Access] {
        &self.accesses
    }

    /// Whether every micro-op is a simple one on an account kept by its
    /// index (no key kept aside and no other micro-op), as a transfer's
    /// are: the recorder then numbers keys with no test per micro-op.
    #[inline]
    pub fn all_accounts(&self) -> bool {
        let plain = self.keys.is_empty() && self.others.is_empty();
        debug_assert!(
            !plain
                || self
                    .accesses
                    .iter()
                    .all(|a| a.kind != Kind::Other && a.account < ACCOUNTS_BY_INDEX),
            "with no key aside and no other micro-op, every micro-op names an account by index"
        );
        plain
    }

    /// The key kept for `a`: `None` when `account` names it (or `a` is of
    /// `Kind::Other`).
    pub fn stored_key(&self, a: &Access) -> Option<&Key> {
        (a.key_at != NO_KEY).then(|| &self.keys[a.key_at as usize])
    }

    /// The key of `a`, a simple micro-op.
    pub fn key_of(&self, a: &Access) -> Key {
        match a.account {
            UNKNOWN_ACCOUNT => self
                .stored_key(a)
                .expect("a micro-op on no account keeps its key")
                .clone(),
            i => account(u64::from(i)),
        }
    }

    /// The micro-op an `Access` of kind `Other` stands for.
    pub fn other_at(&self, a: &Access) -> &(MicroOp, Version) {
        assert_eq!(a.kind, Kind::Other, "only other micro-ops are kept whole");
        &self.others[usize::try_from(a.value).expect("an index")]
    }

    /// The micro-ops and their versions in the checker's form, in order.
    pub fn micro_ops(&self) -> impl Iterator<Item = (MicroOp, Version)> + '_ {
        self.accesses.iter().map(|a| match a.kind {
            Kind::Other => self.other_at(a).clone(),
            kind => simple_micro_op(Scalar::Str(self.key_of(a)), kind, a.value, a.version),
        })
    }
}

/// The checker's form of a simple micro-op on `key`.
pub fn simple_micro_op(key: Scalar, kind: Kind, value: i64, version: u64) -> (MicroOp, Version) {
    let version = match version {
        ABSENT => Version::Absent,
        OWN => Version::Own,
        s => Version::Seq(s),
    };
    let value = match kind {
        Kind::ReadNull => Scalar::Null,
        Kind::Read | Kind::Write => Scalar::Int(value),
        Kind::Other => unreachable!("other micro-ops are kept whole"),
    };
    let mop = match kind {
        Kind::ReadNull | Kind::Read => MicroOp::Read {
            key,
            value: ReadValue::Scalar(value),
        },
        _ => MicroOp::Write { key, value },
    };
    (mop, version)
}

/// Hashed field by field: the checker's types do not implement `Hash`, and
/// the model checker identifies states by hash alone, so every observed
/// value must enter it.
impl Hash for Observed {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.accesses.hash(h);
        self.keys.hash(h);
        for (m, v) in &self.others {
            hash_micro_op(m, h);
            match v {
                Version::Absent => 0u8.hash(h),
                Version::Seq(s) => (1u8, s).hash(h),
                Version::Own => 2u8.hash(h),
                Version::Range(pairs) => (3u8, pairs).hash(h),
            }
        }
    }
}

fn hash_micro_op<H: Hasher>(m: &MicroOp, h: &mut H) {
    match m {
        MicroOp::Read { key, value } => {
            (0u8, key).hash(h);
            match value {
                ReadValue::Scalar(v) => (0u8, v).hash(h),
                ReadValue::List(l) => (1u8, l).hash(h),
            }
        }
        MicroOp::Write { key, value } => (1u8, key, value).hash(h),
        MicroOp::Append { key, element } => (2u8, key, element).hash(h),
        MicroOp::List(r) => {
            3u8.hash(h);
            match &r.range {
                KeyRange::Prefix(p) => (0u8, p).hash(h),
                KeyRange::Between { from, to } => (1u8, from, to).hash(h),
            }
            r.result.hash(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::RangeRead;

    #[test]
    fn the_checker_form_is_exactly_what_was_observed() {
        let list = MicroOp::List(Box::new(RangeRead {
            range: KeyRange::Prefix("acct/".into()),
            result: Some(vec![(Scalar::from("acct/1"), Scalar::Int(5))]),
        }));
        let mut o = Observed::default();
        o.read(Key::from("a"), None, Version::Absent);
        o.read(Key::from("b"), Some(7), Version::Seq(4));
        o.write(Key::from("a"), 3);
        o.read(Key::from("a"), Some(3), Version::Own);
        o.other(list.clone(), Version::Range(vec![(Scalar::from("acct/1"), 2)]));
        o.read(Key::from("c"), Some(-1), Version::Seq(OWN));
        let got: Vec<(MicroOp, Version)> = o.micro_ops().collect();
        let expected = vec![
            (MicroOp::read("a", Scalar::Null), Version::Absent),
            (MicroOp::read("b", 7), Version::Seq(4)),
            (MicroOp::write("a", 3), Version::Absent),
            (MicroOp::read("a", 3), Version::Own),
            (list, Version::Range(vec![(Scalar::from("acct/1"), 2)])),
            (MicroOp::read("c", -1), Version::Seq(OWN)),
        ];
        assert_eq!(got, expected);
        assert_eq!(o.len(), 6);
        assert_eq!(
            o.accesses().iter().filter(|a| a.kind == Kind::Other).count(),
            2,
            "a range read and a version that does not fit are kept whole"
        );
    }

    #[test]
    fn different_observations_differ() {
        let mut a = Observed::default();
        a.read(Key::from("x"), Some(1), Version::Seq(2));
        let mut b = Observed::default();
        b.read(Key::from("x"), Some(1), Version::Seq(3));
        assert_ne!(a, b);
        let hash = |o: &Observed| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            o.hash(&mut h);
            h.finish()
        };
        assert_ne!(hash(&a), hash(&b));
    }

    /// A micro-op on an account's key is the same micro-op whether the
    /// agent named the account by index or by its key: equal, hashed
    /// alike, the same checker form, and kept by index either way.
    #[test]
    fn an_account_named_by_index_or_by_key_is_the_same_micro_op() {
        let big = u32::MAX - 1;
        let mut by_key = Observed::default();
        by_key.read(account(7), Some(1), Version::Seq(2));
        by_key.write(account(9), 3);
        by_key.read(Key::from("acct/07"), Some(4), Version::Seq(2));
        by_key.read(account(u64::from(big)), None, Version::Absent);
        by_key.read(account(5), Some(6), Version::Seq(OWN));
        let mut by_index = Observed::default();
        by_index.read_account(7, Some(1), Version::Seq(2));
        by_index.write_account(9, 3);
        by_index.read(Key::from("acct/07"), Some(4), Version::Seq(2));
        by_index.read_account(big, None, Version::Absent);
        by_index.read_account(5, Some(6), Version::Seq(OWN));
        assert_eq!(by_key, by_index);
        let hash = |o: &Observed| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            o.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&by_key), hash(&by_index));
        let checker_form = by_index.micro_ops().collect::<Vec<_>>();
        assert_eq!(by_key.micro_ops().collect::<Vec<_>>(), checker_form);
        assert_eq!(
            checker_form,
            vec![
                (MicroOp::read("acct/7", 1), Version::Seq(2)),
                (MicroOp::write("acct/9", 3), Version::Absent),
                (MicroOp::read("acct/07", 4), Version::Seq(2)),
                (
                    MicroOp::read(format!("acct/{big}"), Scalar::Null),
                    Version::Absent
                ),
                (MicroOp::read("acct/5", 6), Version::Seq(OWN)),
            ]
        );
        // "acct/07" is not an account's spelling, and an index past 2^31 is
        // kept by its key; a version too large for an access is kept whole.
        for o in [&by_key, &by_index] {
            let hints: Vec<u32> = o.accesses().iter().map(|a| a.account).collect();
            assert_eq!(hints, [7, 9, UNKNOWN_ACCOUNT, UNKNOWN_ACCOUNT, UNKNOWN_ACCOUNT]);
            assert!(o.accesses()[..2].iter().all(|a| o.stored_key(a).is_none()));
            assert_eq!(o.accesses()[4].kind, Kind::Other);
        }
        let mut other = Observed::default();
        other.read_account(8, Some(1), Version::Seq(2));
        assert_ne!(other.accesses()[0], by_index.accesses()[0]);
    }
}
