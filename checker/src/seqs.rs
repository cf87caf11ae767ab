//! Optional sequence numbers per transaction (commits, snapshots), packed.
//!
//! A large native history has one commit and one snapshot per transaction, and every check
//! reads them; as `Option<u64>` each takes 16 bytes, here 8 and a bit, which at a million
//! transactions is 16 MB less memory to fault in.

use crate::txns::TxnId;

/// An optional `u64` per transaction: the numbers, and a bit per transaction saying whether
/// its number is present.
pub(crate) struct OptSeqs {
    /// Each transaction's number (0 where absent).
    values: Vec<u64>,
    /// Bit `t % 64` of word `t / 64`: whether transaction `t` has a number.
    present: Vec<u64>,
}

impl OptSeqs {
    /// `n` transactions, none with a number.
    pub fn absent(n: usize) -> Self {
        OptSeqs {
            values: vec![0; n],
            present: vec![0; n.div_ceil(64)],
        }
    }

    /// Room for `n` transactions, to be added with [`OptSeqs::push`].
    pub fn with_capacity(n: usize) -> Self {
        OptSeqs {
            values: Vec::with_capacity(n),
            present: Vec::with_capacity(n.div_ceil(64)),
        }
    }

    /// Adds the next transaction's number.
    pub fn push(&mut self, v: Option<u64>) {
        let t = self.values.len();
        self.values.push(v.unwrap_or(0));
        if t.is_multiple_of(64) {
            self.present.push(0);
        }
        if v.is_some() {
            self.present[t / 64] |= 1 << (t % 64);
        }
    }

    /// Transaction `t`'s number.
    #[inline]
    pub fn get(&self, t: TxnId) -> Option<u64> {
        let t = t as usize;
        (self.present[t / 64] >> (t % 64) & 1 == 1).then(|| self.values[t])
    }

    /// Gives transaction `t` the number `v`.
    pub fn set(&mut self, t: TxnId, v: u64) {
        let t = t as usize;
        self.values[t] = v;
        self.present[t / 64] |= 1 << (t % 64);
    }

    /// How many transactions there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Every transaction's number, in transaction order.
    pub fn iter(&self) -> impl Iterator<Item = Option<u64>> + '_ {
        (0..self.values.len()).map(|t| self.get(t as TxnId))
    }
}

#[cfg(test)]
mod tests {
    use super::OptSeqs;

    /// Pushed, set and absent numbers read back as they were given, across word boundaries.
    #[test]
    fn numbers_read_back() {
        let given: Vec<Option<u64>> = (0..200u64).map(|i| (i % 3 != 0).then_some(i * 7)).collect();
        let mut pushed = OptSeqs::with_capacity(given.len());
        let mut set = OptSeqs::absent(given.len());
        for (t, v) in given.iter().enumerate() {
            pushed.push(*v);
            if let Some(v) = v {
                set.set(t as u32, *v);
            }
        }
        assert_eq!(pushed.iter().collect::<Vec<_>>(), given);
        assert_eq!(set.iter().collect::<Vec<_>>(), given);
        assert_eq!(pushed.len(), 200);
    }
}
