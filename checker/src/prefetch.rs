//! A hint that asks the CPU to start loading a cache line that will be needed shortly.
//!
//! Checking a large native history touches, for every written key, the newest entry of the
//! key's version list: with thousands of keys those entries do not stay in cache between two
//! transactions writing the same key, so each is a miss that stalls the check. The keys a
//! transaction touches are known a few transactions ahead, so their entries can be asked for
//! early and arrive while earlier transactions are checked.

/// How many txns (or ops) ahead of the one being checked the checks ask for what they will
/// need (and twice as far for what finds its addresses): a txn takes a few hundred
/// nanoseconds, about one memory access.
pub(crate) const AHEAD: usize = 2;

/// The most keys of one txn that are asked for ahead: a setup txn writing every key would
/// otherwise flood the caches.
pub(crate) const PREFETCHED_KEYS: usize = 8;

/// The most bytes of a txn's micro-ops that are asked for ahead (four lines: a transfer's).
pub(crate) const PREFETCHED_BYTES: usize = 256;

/// Asks the CPU to bring the cache line holding `p` into every cache level, without waiting
/// for it and without any effect the program can observe but time. `p` may be any address:
/// one past the end of a list, or one not mapped at all.
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

/// [`prefetch`] for the first `max_bytes` of `items` (a line at a time).
#[inline(always)]
pub(crate) fn prefetch_slice<T>(items: &[T], max_bytes: usize) {
    let base = items.as_ptr().cast::<u8>();
    for offset in (0..std::mem::size_of_val(items).min(max_bytes)).step_by(64) {
        prefetch(base.wrapping_add(offset));
    }
}

#[cfg(test)]
mod tests {
    use super::{prefetch, prefetch_slice};

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
        prefetch_slice(&list, 256);
        prefetch_slice::<u64>(&[], 256);
    }
}
