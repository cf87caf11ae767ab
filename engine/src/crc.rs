//! CRC32C of WAL records, with a fast path for short inputs.
//!
//! Almost every WAL record is a few dozen bytes (a transfer's put is 41
//! checksummed bytes, a commit marker 17), and the `crc32c` crate spends
//! more instructions per call on setup (splitting the input by alignment,
//! choosing between its parallel strategies) than on the bytes themselves.
//! For short inputs on CPUs with SSE4.2, the checksum is computed here with
//! one `crc32` instruction per 8 bytes; longer inputs, and CPUs without
//! SSE4.2, go to the crate, whose parallel code is faster there. Both give
//! the same CRC32C (tested below against the crate on arbitrary bytes).

/// Inputs up to this length take the short path. The crate itself checksums
/// inputs of this size serially, one 8-byte step at a time, so the short path
/// is never slower than it.
const SHORT_LEN: usize = 256;

/// The CRC32C (Castagnoli) checksum of `bytes`, as `crc32c::crc32c` computes it.
#[inline]
pub fn crc32c(bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if bytes.len() <= SHORT_LEN && std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: `short_sse42` only needs the SSE4.2 instructions, and the
            // CPU running this was just found to support them.
            return unsafe { short_sse42(bytes) };
        }
    }
    crc32c::crc32c(bytes)
}

/// CRC32C with the SSE4.2 `crc32` instruction: 8 bytes a step, then 4, 2
/// and 1 for the remainder. The state starts at all ones and is inverted at
/// the end, as CRC32C specifies.
///
/// # Safety
///
/// The CPU must support SSE4.2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn short_sse42(bytes: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};

    let mut crc = u64::from(u32::MAX);
    let mut rest = bytes;
    while let Some((word, tail)) = rest.split_first_chunk::<8>() {
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(*word));
        rest = tail;
    }
    let mut crc = crc as u32;
    if let Some((four, tail)) = rest.split_first_chunk::<4>() {
        crc = _mm_crc32_u32(crc, u32::from_le_bytes(*four));
        rest = tail;
    }
    if let Some((two, tail)) = rest.split_first_chunk::<2>() {
        crc = _mm_crc32_u16(crc, u16::from_le_bytes(*two));
        rest = tail;
    }
    if let Some(&one) = rest.first() {
        crc = _mm_crc32_u8(crc, one);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(b"123456789"), 0xe306_9283, "the CRC32C check value");
    }

    #[test]
    fn every_short_length_and_alignment_matches_the_crate() {
        let bytes: Vec<u8> = (0..SHORT_LEN as u32 + 80).map(|i| (i * 37 + 11) as u8).collect();
        for start in 0..8 {
            for len in 0..=bytes.len() - start {
                let input = &bytes[start..start + len];
                assert_eq!(crc32c(input), crc32c::crc32c(input), "start {start}, len {len}");
            }
        }
    }

    proptest! {
        #[test]
        fn short_inputs_match_the_crate(bytes in proptest::collection::vec(any::<u8>(), 0..64), start in 0usize..8) {
            let input = &bytes[start.min(bytes.len())..];
            prop_assert_eq!(crc32c(input), crc32c::crc32c(input));
        }

        #[test]
        fn any_input_matches_the_crate(bytes in proptest::collection::vec(any::<u8>(), 0..1024), start in 0usize..8) {
            let input = &bytes[start.min(bytes.len())..];
            prop_assert_eq!(crc32c(input), crc32c::crc32c(input));
        }
    }
}
