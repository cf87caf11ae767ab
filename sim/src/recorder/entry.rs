//! An op as the recorder keeps it, in 8 bytes.
//!
//! A run records two ops per transaction, millions of them, and memory
//! written once is memory the kernel zeroed first. An op other than an
//! invoke is its position in its own table, and an invoke is a process
//! (an agent) and a tick, both small; so an op is one word with its kind
//! in the low bits. An invoke whose process or tick does not fit is kept
//! whole aside, and its word holds its position there. Either way it reads
//! back exactly as recorded.

/// The low bits of a word that hold the op's kind.
const TAG_BITS: u32 = 2;
/// Bits of an invoke's process, above the tag; its tick takes the rest.
const PROCESS_BITS: u32 = 20;
/// The kinds.
const INVOKE: u64 = 0;
const COMPLETE: u64 = 1;
const NEMESIS: u64 = 2;
/// An invoke kept aside: the word holds its position there.
const WIDE_INVOKE: u64 = 3;

/// One op, packed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot(u64);

/// One op, unpacked: an invoke whole, anything else by its position in its
/// own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    Invoke { process: u32, time: u64 },
    Complete(u32),
    Nemesis(u32),
}

impl Slot {
    /// An invoke by `process` at `time`, kept aside in `wide` when either
    /// does not fit.
    #[inline]
    pub(super) fn invoke(process: u32, time: u64, wide: &mut Vec<(u32, u64)>) -> Slot {
        if process >> PROCESS_BITS == 0 && time >> (64 - TAG_BITS - PROCESS_BITS) == 0 {
            Slot((time << (TAG_BITS + PROCESS_BITS)) | (u64::from(process) << TAG_BITS) | INVOKE)
        } else {
            let at = wide.len() as u64;
            wide.push((process, time));
            Slot((at << TAG_BITS) | WIDE_INVOKE)
        }
    }

    /// The completion at position `at` of its table.
    #[inline]
    pub(super) fn complete(at: u32) -> Slot {
        Slot((u64::from(at) << TAG_BITS) | COMPLETE)
    }

    /// The nemesis event at position `at` of its table.
    pub(super) fn nemesis(at: u32) -> Slot {
        Slot((u64::from(at) << TAG_BITS) | NEMESIS)
    }

    /// What was recorded, with `wide` the invokes kept aside.
    #[inline]
    pub(super) fn unpack(self, wide: &[(u32, u64)]) -> Entry {
        let above = self.0 >> TAG_BITS;
        let position = || u32::try_from(above).expect("positions fit u32");
        match self.0 & ((1 << TAG_BITS) - 1) {
            INVOKE => Entry::Invoke {
                process: (above & ((1 << PROCESS_BITS) - 1)) as u32,
                time: above >> PROCESS_BITS,
            },
            COMPLETE => Entry::Complete(position()),
            NEMESIS => Entry::Nemesis(position()),
            _ => {
                let (process, time) = wide[usize::try_from(above).expect("an index fits memory")];
                Entry::Invoke { process, time }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_takes_8_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 8);
    }

    #[test]
    fn every_op_reads_back_and_wide_invokes_are_kept_aside() {
        let mut wide = Vec::new();
        let max_time = (1u64 << (64 - TAG_BITS - PROCESS_BITS)) - 1;
        let max_process = (1u32 << PROCESS_BITS) - 1;
        let invokes = [
            (0, 0, false),
            (4, 123_456, false),
            (max_process, max_time, false),
            (max_process + 1, 0, true),
            (0, max_time + 1, true),
            (u32::MAX, u64::MAX, true),
        ];
        for (process, time, kept_aside) in invokes {
            let before = wide.len();
            let slot = Slot::invoke(process, time, &mut wide);
            assert_eq!(wide.len() - before, usize::from(kept_aside), "{process} {time}");
            assert_eq!(slot.unpack(&wide), Entry::Invoke { process, time });
        }
        for at in [0, 7, u32::MAX] {
            assert_eq!(Slot::complete(at).unpack(&wide), Entry::Complete(at));
            assert_eq!(Slot::nemesis(at).unpack(&wide), Entry::Nemesis(at));
        }
    }
}
