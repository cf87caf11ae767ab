//! The log of a run's decisions, packed.
//!
//! A long run makes a dozen decisions per transaction, and as `(stream,
//! value)` pairs of 16 bytes the log of a million transactions is 200 MB of
//! fresh memory for the kernel to zero. Nearly every value is small (an
//! agent, an account, an amount, a chance in a million), so an entry is 32
//! bits: the value shifted left by three bits, with the stream's number (1
//! to 5) in the low bits. A value too large for that is kept aside, and its
//! entry holds its position there, with 0 in the low bits. The log reads
//! back as the same `Choice`s, in order.

use crate::decisions::{Choice, Stream};

/// Bits of an entry that hold the stream's number.
const STREAM_BITS: u32 = 3;
/// The low bits of an entry whose value is kept aside.
const WIDE: u64 = 0;

/// Every decision of a run, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionLog {
    entries: Vec<u32>,
    /// Decisions whose values do not fit an entry.
    wide: Vec<Choice>,
}

impl DecisionLog {
    /// Appends a decision.
    #[inline]
    pub fn push(&mut self, choice: Choice) {
        let Choice(stream, value) = choice;
        let entry = if value >> (32 - STREAM_BITS) == 0 {
            (value << STREAM_BITS) | stream.number()
        } else {
            let at = self.wide.len() as u64;
            assert!(at >> (32 - STREAM_BITS) == 0, "fewer than 2^29 wide decisions");
            self.wide.push(choice);
            (at << STREAM_BITS) | WIDE
        };
        let entry = u32::try_from(entry).expect("an entry fits 32 bits");
        self.entries.push(entry);
    }

    /// Makes room for `n` more decisions.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// How many decisions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The decisions, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Choice> + ExactSizeIterator + '_ {
        self.entries
            .iter()
            .map(|&entry| match u64::from(entry) & ((1 << STREAM_BITS) - 1) {
                WIDE => self.wide[usize::try_from(entry >> STREAM_BITS).expect("an index")],
                number => Choice(
                    Stream::from_number(number).expect("entries hold stream numbers"),
                    u64::from(entry >> STREAM_BITS),
                ),
            })
    }

    /// The decisions as a vector (to save, or to replay).
    pub fn to_vec(&self) -> Vec<Choice> {
        self.iter().collect()
    }
}

impl From<Vec<Choice>> for DecisionLog {
    fn from(choices: Vec<Choice>) -> Self {
        let mut log = DecisionLog::default();
        log.reserve(choices.len());
        for c in choices {
            log.push(c);
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stream() -> impl Strategy<Value = Stream> {
        prop_oneof![
            Just(Stream::Scheduler),
            Just(Stream::Workload),
            Just(Stream::Faults),
            Just(Stream::Disk),
            Just(Stream::Swarm),
        ]
    }

    proptest! {
        #[test]
        fn the_log_reads_back_what_was_pushed(
            choices in prop::collection::vec(
                (stream(), prop_oneof![
                    0..1000u64,
                    ((1u64 << 29) - 8)..((1u64 << 29) + 8),
                    any::<u64>(),
                    (u64::MAX >> 3)..=u64::MAX,
                ]),
                0..200,
            )
        ) {
            let choices: Vec<Choice> = choices.into_iter().map(|(s, v)| Choice(s, v)).collect();
            let log = DecisionLog::from(choices.clone());
            prop_assert_eq!(log.len(), choices.len());
            prop_assert_eq!(log.to_vec(), choices.clone());
            let reversed: Vec<Choice> = log.iter().rev().collect();
            prop_assert_eq!(reversed, choices.into_iter().rev().collect::<Vec<_>>());
        }
    }

    #[test]
    fn small_values_take_one_entry_and_large_ones_are_kept_aside() {
        let mut log = DecisionLog::default();
        log.push(Choice(Stream::Disk, 5));
        log.push(Choice(Stream::Swarm, u64::MAX));
        log.push(Choice(Stream::Scheduler, (1 << 29) - 1));
        log.push(Choice(Stream::Workload, 1 << 29));
        log.push(Choice(Stream::Faults, 999_999));
        assert_eq!(log.wide.len(), 2);
        assert_eq!(
            log.to_vec(),
            vec![
                Choice(Stream::Disk, 5),
                Choice(Stream::Swarm, u64::MAX),
                Choice(Stream::Scheduler, (1 << 29) - 1),
                Choice(Stream::Workload, 1 << 29),
                Choice(Stream::Faults, 999_999),
            ]
        );
    }
}
