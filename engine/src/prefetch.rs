//! A hint that asks the CPU to start loading a cache line that will be needed shortly.
//!
//! A point read's first access to a key's entry in the version table is, on a store larger
//! than the cache, a wait of a whole memory latency. When the caller names several keys at
//! once (`get_batch`, `get_many`), every entry can be asked for before the first is read, so
//! the waits overlap instead of adding up.

/// Asks the CPU to bring the cache line holding `p` into every cache level, without waiting
/// for it and without any effect the program can observe but time. `p` may be any address:
/// one past the end of a value, or one not mapped at all.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads nothing into the program and never faults, whatever the
    // address (Intel SDM, PREFETCHh: "does not affect program behavior"); it is only a hint,
    // and SSE, which the instruction belongs to, is part of every x86_64 CPU.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] for every cache line `value` spans: its first and last byte (a table entry
/// is smaller than two lines, so those are all of them).
#[inline(always)]
pub(crate) fn prefetch_value<T>(value: &T) {
    let first = (value as *const T).cast::<u8>();
    prefetch(first);
    prefetch(first.wrapping_add(std::mem::size_of::<T>().saturating_sub(1)));
}

#[cfg(test)]
mod tests {
    use super::{prefetch, prefetch_value};

    /// Prefetching never faults, whatever the address: live data, one past its end, and
    /// addresses nothing is mapped at. A fault would end the test process, so getting to the
    /// end is what this checks; prefetching has no other effect a test could observe.
    #[test]
    fn prefetch_never_faults() {
        let list = vec![7u64; 3];
        prefetch(&list[0]);
        prefetch(list.as_ptr_range().end);
        prefetch(std::ptr::null::<u64>());
        prefetch(usize::MAX as *const u64);
        prefetch_value(&list);
        prefetch_value(&());
    }
}
