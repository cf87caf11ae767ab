//! Numbers the keys a run's history names, so the recorder keeps each
//! micro-op's key in four bytes instead of a 24-byte string.
//!
//! A long run records millions of micro-ops, and nearly all of them name an
//! account. An account's key (`acct/` and its decimal index) is numbered by
//! its index, parsed back without a table lookup; any other key gets the
//! next number the first time it is seen. Numbers depend only on the keys
//! and the order they first appear, so a seeded run numbers its keys the
//! same way every time (the table is never iterated, so its hasher's order
//! does not matter, and the hasher is a fixed one anyway).

use rustc_hash::FxHashMap;

use crate::agents::{account, Key};

/// The tag of a number that is an account's index.
const ACCOUNT: u32 = 1 << 31;

/// The keys of a run, by number.
#[derive(Debug, Clone, Default)]
pub struct KeyTable {
    /// Keys other than accounts, in the order they were first seen.
    names: Vec<Key>,
    /// The number of each key in `names`.
    numbers: FxHashMap<Key, u32>,
}

impl KeyTable {
    /// The number of `key`, given a new one if it is new.
    #[inline]
    pub fn number(&mut self, key: &Key) -> u32 {
        if let Some(i) = account_index(key) {
            return ACCOUNT | i;
        }
        if let Some(&n) = self.numbers.get(key) {
            return n;
        }
        let n = u32::try_from(self.names.len()).expect("fewer than 2^31 distinct keys");
        assert!(n < ACCOUNT, "fewer than 2^31 distinct keys");
        self.names.push(key.clone());
        self.numbers.insert(key.clone(), n);
        n
    }

    /// The number of `account(i)` for an index `i` below 2^31 (an account
    /// a micro-op keeps by index): `account_number` with nothing to add to
    /// the table.
    #[inline]
    pub fn indexed_account(i: u32) -> u32 {
        assert!(i < ACCOUNT, "an account kept by index is below 2^31");
        ACCOUNT | i
    }

    /// The number of `account(i)`, without parsing it: what `number`
    /// gives for that key.
    #[inline]
    pub fn account_number(&mut self, i: u32) -> u32 {
        if i < ACCOUNT {
            ACCOUNT | i
        } else {
            self.number(&account(u64::from(i)))
        }
    }

    /// The key numbered `n`.
    pub fn key(&self, n: u32) -> Key {
        if n & ACCOUNT != 0 {
            account(u64::from(n & !ACCOUNT))
        } else {
            self.names[n as usize].clone()
        }
    }
}

/// The index of the account whose key is `key`, if it is one below 2^31:
/// exactly the `i` for which `account(i) == key` (no sign, no leading zero).
#[inline]
pub(crate) fn account_index(key: &str) -> Option<u32> {
    let digits = key.strip_prefix("acct/")?.as_bytes();
    if digits.is_empty() || digits.len() > 10 || (digits[0] == b'0' && digits.len() > 1) {
        return None;
    }
    let mut i: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        i = i * 10 + u64::from(d - b'0');
    }
    u32::try_from(i).ok().filter(|&i| i < ACCOUNT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accounts_are_numbered_by_index_and_others_in_order_of_appearance() {
        let mut t = KeyTable::default();
        assert_eq!(t.number(&account(7)), ACCOUNT | 7);
        assert_eq!(t.number(&Key::from("ctr/1")), 0);
        assert_eq!(t.number(&Key::from("acct/07")), 1, "not an account's spelling");
        assert_eq!(t.number(&Key::from("ctr/1")), 0);
        let max = u64::from(ACCOUNT - 1);
        assert_eq!(t.number(&account(max)), ACCOUNT | (ACCOUNT - 1));
        assert_eq!(t.number(&account(max + 1)), 2, "beyond the tag's range");
        for (n, key) in [
            (ACCOUNT | 7, "acct/7"),
            (0, "ctr/1"),
            (1, "acct/07"),
            (2, "acct/2147483648"),
        ] {
            assert_eq!(t.key(n), key);
        }
    }

    #[test]
    fn an_account_is_numbered_by_index_as_by_its_key() {
        let mut by_index = KeyTable::default();
        let mut by_key = KeyTable::default();
        by_index.number(&Key::from("ctr/1"));
        by_key.number(&Key::from("ctr/1"));
        for i in [0, 9, 10, 9_999, ACCOUNT - 1, ACCOUNT, ACCOUNT + 5, u32::MAX - 1] {
            assert_eq!(
                by_index.account_number(i),
                by_key.number(&account(u64::from(i))),
                "account {i}"
            );
        }
        assert_eq!(
            by_index.account_number(ACCOUNT),
            1,
            "beyond the tag's range: numbered by name"
        );
        let n = by_index.account_number(ACCOUNT + 5);
        assert_eq!(by_index.key(n), account(u64::from(ACCOUNT + 5)));
    }

    proptest! {
        /// Whatever the key, its number gives it back.
        #[test]
        fn a_number_gives_back_its_key(
            keys in prop::collection::vec(
                prop_oneof![
                    (0u64..20_000).prop_map(account),
                    any::<u64>().prop_map(account),
                    "acct/[0-9]{0,12}".prop_map(Key::from),
                    "[a-z/]{0,8}[0-9]{0,3}".prop_map(Key::from),
                    any::<String>().prop_map(Key::from),
                ],
                0..40,
            )
        ) {
            let mut t = KeyTable::default();
            let numbers: Vec<u32> = keys.iter().map(|k| t.number(k)).collect();
            for (k, &n) in keys.iter().zip(&numbers) {
                prop_assert_eq!(&t.key(n), k);
                prop_assert_eq!(t.number(k), n, "a key keeps its number");
            }
        }
    }
}
