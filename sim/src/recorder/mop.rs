//! A micro-op as the recorder keeps it, in 12 bytes.
//!
//! A long run records four micro-ops per transfer, millions of them, and
//! memory written once is memory the kernel zeroed first (in the
//! simulator's benchmark, zeroing fresh pages is about a twentieth of its
//! time). Nearly every value an agent reads or writes is a balance or a
//! count that fits 32 bits, and every version is a sequence number below
//! 2^29 - 2 (half a billion commits); so a micro-op keeps its key, its value,
//! and its version and kind together, in 32 bits each. One that does not
//! fit is kept whole aside, and its entry holds its position there. Either
//! way it reads back exactly as recorded.

use crate::observed::Kind;

/// The low bits of `word` that hold the tag.
const TAG_BITS: u32 = 3;
/// Tags of the simple kinds (their `Kind` discriminants, so a kind is its
/// tag); the others say where the micro-op is kept.
const READ_NULL: u32 = Kind::ReadNull as u32;
const READ: u32 = Kind::Read as u32;
const WRITE: u32 = Kind::Write as u32;
/// Any other micro-op: `key` is its position in the recorder's others.
const OTHER: u32 = Kind::Other as u32;
/// A simple micro-op too wide for an entry: `key` is its position in the
/// wide ones.
const WIDE: u32 = 4;

/// One recorded micro-op. For a simple one that fits, `key` is its key's
/// number and `value` its value; `word` holds its version's code (see
/// `code`) above the tag.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mop {
    key: u32,
    value: i32,
    word: u32,
}

/// A simple micro-op that does not fit a `Mop`, kept whole.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wide {
    key: u32,
    kind: Kind,
    value: i64,
    version: u64,
}

/// A recorded micro-op, unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unpacked {
    /// A read or a write of an integer: key number, kind, value, version
    /// (`ABSENT`, `OWN` or a sequence number).
    Simple(u32, Kind, i64, u64),
    /// Any other micro-op, by its position in the recorder's others.
    Other(u32),
}

/// A version as a small number: `OWN` is 0, `ABSENT` 1 and a sequence
/// number itself plus 2, so every version the engine hands out is small
/// and the two markers (the largest `u64`s) are too.
#[inline]
fn code(version: u64) -> u64 {
    version.wrapping_add(2)
}

impl Mop {
    /// A simple micro-op (`kind` is not `Other`), kept aside in `wide` when
    /// its value or version does not fit.
    /// Always inlined: a transfer records four, and the test that they fit
    /// is a few instructions once the call is gone.
    #[inline(always)]
    pub(super) fn simple(key: u32, kind: Kind, value: i64, version: u64, wide: &mut Vec<Wide>) -> Mop {
        debug_assert!(kind != Kind::Other, "other micro-ops are recorded with `other`");
        let code = code(version);
        let narrow = value as i32;
        // One test for both: the value survives the round trip through 32
        // bits, and the code leaves the tag's bits free. The fields are
        // chosen one by one and the micro-op built once: built in either
        // branch, it was put together on the stack and copied out with
        // loads wider than the stores that wrote it, which the CPU cannot
        // forward (a stall on every micro-op, perf annotate).
        let fits = (i64::from(narrow) ^ value) as u64 | (code >> (32 - TAG_BITS)) == 0;
        let (key, value, word) = if fits {
            (key, narrow, ((code as u32) << TAG_BITS) | kind as u32)
        } else {
            let w = Wide {
                key,
                kind,
                value,
                version,
            };
            (Mop::aside(w, wide), 0, WIDE)
        };
        Mop { key, value, word }
    }

    /// `w` kept aside in `wide` (rare: out of line); returns its position.
    #[cold]
    #[inline(never)]
    fn aside(w: Wide, wide: &mut Vec<Wide>) -> u32 {
        let at = u32::try_from(wide.len()).expect("wide micro-ops fit u32");
        wide.push(w);
        at
    }

    /// Another micro-op, kept at position `at` of the recorder's others.
    #[inline]
    pub(super) fn other(at: u32) -> Mop {
        Mop {
            key: at,
            value: 0,
            word: OTHER,
        }
    }

    /// What was recorded, with `wide` the wide micro-ops it was recorded
    /// with.
    pub(super) fn unpack(self, wide: &[Wide]) -> Unpacked {
        let version = u64::from(self.word >> TAG_BITS).wrapping_sub(2);
        let value = i64::from(self.value);
        match self.word & ((1 << TAG_BITS) - 1) {
            READ_NULL => Unpacked::Simple(self.key, Kind::ReadNull, value, version),
            READ => Unpacked::Simple(self.key, Kind::Read, value, version),
            WRITE => Unpacked::Simple(self.key, Kind::Write, value, version),
            OTHER => Unpacked::Other(self.key),
            _ => {
                let w = wide[self.key as usize];
                Unpacked::Simple(w.key, w.kind, w.value, w.version)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::{ABSENT, OWN};
    use proptest::prelude::*;

    #[test]
    fn a_micro_op_takes_12_bytes() {
        assert_eq!(std::mem::size_of::<Mop>(), 12);
    }

    #[test]
    fn values_and_versions_that_do_not_fit_are_kept_aside() {
        let mut wide = Vec::new();
        let limit = (1u64 << 29) - 2;
        let cases = [
            (Kind::Read, 1_000, 5, false),
            (Kind::ReadNull, 0, ABSENT, false),
            (Kind::Read, -7, OWN, false),
            (Kind::Write, i64::from(i32::MIN), limit - 1, false),
            (Kind::Write, i64::from(i32::MAX) + 1, 3, true),
            (Kind::Read, i64::MIN, 3, true),
            (Kind::Read, 1, limit, true),
            (Kind::Read, 1, OWN - 1, true),
        ];
        for (key, &(kind, value, version, kept_aside)) in cases.iter().enumerate() {
            let before = wide.len();
            let m = Mop::simple(key as u32, kind, value, version, &mut wide);
            assert_eq!(
                wide.len() - before,
                usize::from(kept_aside),
                "{kind:?} {value} {version}"
            );
            assert_eq!(
                m.unpack(&wide),
                Unpacked::Simple(key as u32, kind, value, version)
            );
        }
        assert_eq!(Mop::other(9).unpack(&wide), Unpacked::Other(9));
    }

    proptest! {
        /// Whatever was recorded reads back.
        #[test]
        fn a_micro_op_reads_back_as_recorded(
            mops in prop::collection::vec(
                (
                    any::<u32>(),
                    prop_oneof![Just(Kind::ReadNull), Just(Kind::Read), Just(Kind::Write)],
                    prop_oneof![-5_000i64..5_000, any::<i64>()],
                    prop_oneof![Just(ABSENT), Just(OWN), 0u64..1 << 31, any::<u64>()],
                ),
                0..50,
            )
        ) {
            let mut wide = Vec::new();
            let packed: Vec<Mop> = mops
                .iter()
                .map(|&(key, kind, value, version)| Mop::simple(key, kind, value, version, &mut wide))
                .collect();
            for (m, &(key, kind, value, version)) in packed.iter().zip(&mops) {
                prop_assert_eq!(m.unpack(&wide), Unpacked::Simple(key, kind, value, version));
            }
        }
    }
}
