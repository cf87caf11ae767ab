//! Immutable bytes for keys and values, stored inline when short.
//!
//! Almost every key and value a transactional workload touches is short
//! (account keys, counters, balances). Keeping those inline means a hash
//! table entry holds its key's bytes, so a lookup compares them without
//! chasing a pointer, and reading or copying a value allocates nothing.
//! Longer byte strings are shared behind a reference count, so cloning a
//! whole store stays cheap either way.
//!
//! A `Bytes` is two words: the shared form is a thin pointer (its length
//! lives with the bytes), so the inline form has 14 bytes, enough for keys
//! such as `acct00000042` and for 8-byte numbers. Every table entry, read
//! set, write set and commit summary holding keys and values is a third
//! smaller than with three words, which in the transfer benchmark means
//! fewer cache lines per hash table lookup and per commit log entry.
//!
//! Equality, order and hashing are those of the byte slice, whatever the
//! representation, so a `Bytes` key can be looked up by `&[u8]`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU64;
use std::ops::Deref;
use std::sync::Arc;

/// The longest byte string kept inline: the rest of a 16-byte value.
pub const INLINE_CAPACITY: usize = 14;

/// The first byte of an inline value.
const INLINE: u8 = 1;
/// The first byte of a shared value.
const SHARED: u8 = 2;

/// Immutable bytes: a key or a value.
///
/// The value is two words, so that the compiler copies it as two words.
/// As an enum (a tag byte, a length byte and 14 bytes, or a tag and a
/// pointer) it was copied field by field, in overlapping pieces of odd
/// sizes, and a later load spanning two of those pieces stalled the CPU,
/// which cannot forward one load from two stores: in the transfer
/// benchmark, a tenth of the samples sat on such loads.
///
/// In memory the 16 bytes are, in order: the kind (`INLINE` or `SHARED`),
/// then for an inline value its length and its bytes, zero-padded; for a
/// shared one, in the second word, the address of an `Arc<Vec<u8>>` that
/// this value holds one count of. The kind is never zero, so `head` is
/// never zero and `Option<Bytes>` is no bigger than `Bytes`.
#[repr(C)]
pub struct Bytes {
    head: NonZeroU64,
    tail: u64,
}

impl Bytes {
    /// The bytes as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self.shared() {
            None => {
                let len = usize::from(self.image_byte(1));
                assert!(len <= INLINE_CAPACITY, "an inline length");
                // SAFETY: `Bytes` is `repr(C)`, 16 initialized bytes (two
                // integers, no padding) whose memory order is that of the
                // image (`from_image` stores each word in native byte
                // order); an inline value's bytes are bytes 2 to 2 + len
                // of it, within those 16 and borrowed for as long as `self`.
                unsafe { std::slice::from_raw_parts((self as *const Bytes).cast::<u8>().add(2), len) }
            }
            Some(shared) => shared.as_slice(),
        }
    }

    /// The bytes as an array, if there are exactly `N` of them. An inline
    /// value's array is put together from its two words in registers:
    /// reading its bytes through `as_slice` right after the value was
    /// stored loads across the boundary of the two words' stores, which the
    /// CPU cannot forward, and stalls (decoding a balance just read was
    /// such a load).
    #[inline]
    pub fn to_array<const N: usize>(&self) -> Option<[u8; N]> {
        if self.shared().is_some() {
            return self.as_slice().try_into().ok();
        }
        if usize::from(self.image_byte(1)) != N {
            return None;
        }
        let (head, tail) = (self.head.get().to_ne_bytes(), self.tail.to_ne_bytes());
        Some(std::array::from_fn(
            |i| if i < 6 { head[2 + i] } else { tail[i - 6] },
        ))
    }

    /// Whether the bytes are held inline (no heap allocation of their own).
    #[inline]
    pub fn is_inline(&self) -> bool {
        self.image_byte(0) == INLINE
    }

    /// The bytes as an inline value, if they are short enough: a probe for
    /// lookups that compares by the fast inline path and never allocates.
    #[inline]
    pub fn inline(bytes: &[u8]) -> Option<Bytes> {
        (bytes.len() <= INLINE_CAPACITY).then(|| Bytes::from(bytes))
    }

    /// Byte `at` of the value's memory image (see the type's doc).
    #[inline(always)]
    fn image_byte(&self, at: usize) -> u8 {
        self.head.get().to_ne_bytes()[at]
    }

    /// A value from its image: two words in native byte order, so that the
    /// words' bytes in memory are the image's.
    #[inline(always)]
    fn from_image(image: [u8; 16]) -> Bytes {
        let (head, tail) = image.split_at(8);
        let head = u64::from_ne_bytes(head.try_into().expect("8 bytes"));
        Bytes {
            head: NonZeroU64::new(head).expect("the kind byte is never zero"),
            tail: u64::from_ne_bytes(tail.try_into().expect("8 bytes")),
        }
    }

    /// The shared bytes this value holds a count of, if it is shared.
    #[inline(always)]
    fn shared(&self) -> Option<&Vec<u8>> {
        if self.image_byte(0) == INLINE {
            return None;
        }
        assert_eq!(self.image_byte(0), SHARED, "a value is inline or shared");
        let ptr = std::ptr::with_exposed_provenance::<Vec<u8>>(self.tail as usize);
        // SAFETY: a shared value's second word is the address of an
        // `Arc<Vec<u8>>`'s contents, exposed by `Bytes::shared`, and this
        // value holds one count of it (cloning adds one, dropping removes
        // it), so the vector lives at least as long as `self`.
        Some(unsafe { &*ptr })
    }

    /// Copies long bytes into a shared allocation. Kept out of line so that
    /// the inline case, nearly every key and value, inlines into its
    /// callers as a few moves.
    #[inline(never)]
    fn shared_from(bytes: Vec<u8>) -> Bytes {
        let address = Arc::into_raw(Arc::new(bytes)).expose_provenance();
        let mut image = [0; 16];
        image[0] = SHARED;
        image[8..].copy_from_slice(&(address as u64).to_ne_bytes());
        Bytes::from_image(image)
    }
}

impl Clone for Bytes {
    #[inline]
    fn clone(&self) -> Self {
        if let Some(shared) = self.shared() {
            // SAFETY: `shared` points into an `Arc` this value holds a
            // count of (see `shared`); the new value holds the added count.
            unsafe { Arc::increment_strong_count(shared as *const Vec<u8>) };
        }
        Bytes {
            head: self.head,
            tail: self.tail,
        }
    }
}

impl Drop for Bytes {
    #[inline]
    fn drop(&mut self) {
        if let Some(shared) = self.shared() {
            // SAFETY: this value holds one count of the `Arc` (see
            // `shared`) and gives it back here, once, as it goes away.
            drop(unsafe { Arc::from_raw(shared as *const Vec<u8>) });
        }
    }
}

impl From<&[u8]> for Bytes {
    /// Copies the bytes inline, zero-padded (comparisons rely on the
    /// padding), or into a shared allocation when they are long. The
    /// inline image is put together in registers: written to memory piece
    /// by piece and read back as words, it would stall (see the type's doc).
    #[inline(always)]
    fn from(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            let len = u8::try_from(bytes.len()).expect("inline capacity fits u8");
            let image = (padded(bytes) << 16) | (u128::from(len) << 8) | u128::from(INLINE);
            Bytes::from_image(image.to_le_bytes())
        } else {
            Bytes::shared_from(bytes.to_vec())
        }
    }
}

/// Up to 14 bytes as the low bytes of a number, zero above them, read as
/// at most two (overlapping) loads whose halves are joined in registers.
#[inline(always)]
fn padded(bytes: &[u8]) -> u128 {
    #[inline(always)]
    fn ends<const N: usize>(bytes: &[u8], word: fn([u8; N]) -> u128) -> u128 {
        let len = bytes.len();
        let head = word(bytes[..N].try_into().expect("N bytes"));
        let tail = word(bytes[len - N..].try_into().expect("N bytes"));
        // The two pieces overlap on equal bytes, so or-ing them is exact.
        head | (tail << (8 * (len - N)))
    }
    assert!(bytes.len() <= INLINE_CAPACITY, "only short bytes are padded");
    match bytes.len() {
        8.. => ends::<8>(bytes, |b| u128::from(u64::from_le_bytes(b))),
        4.. => ends::<4>(bytes, |b| u128::from(u32::from_le_bytes(b))),
        _ => bytes
            .iter()
            .rev()
            .fold(0, |padded, &byte| (padded << 8) | u128::from(byte)),
    }
}

/// Copies `src` into `dst` (of the same length). Up to 32 bytes are
/// copied as at most two fixed-size, possibly overlapping pieces (the first
/// and last 16, 8 or 4 bytes) rather than through a call to `memcpy`, which
/// costs more than the copy for the dozen bytes of a typical key or value.
#[inline(always)]
pub(crate) fn copy_small(dst: &mut [u8], src: &[u8]) {
    #[inline(always)]
    fn ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
        let len = src.len();
        dst[..N].copy_from_slice(&src[..N]);
        dst[len - N..].copy_from_slice(&src[len - N..]);
    }
    assert_eq!(dst.len(), src.len(), "a copy fills its destination");
    match src.len() {
        len if len > 32 => dst.copy_from_slice(src),
        len if len >= 16 => ends::<16>(dst, src),
        len if len >= 8 => ends::<8>(dst, src),
        len if len >= 4 => ends::<4>(dst, src),
        _ => {
            for (to, from) in dst.iter_mut().zip(src) {
                *to = *from;
            }
        }
    }
}

/// An inline value's bytes as two big-endian words, whose order is the
/// order of the zero-padded bytes: two integer compares instead of a
/// `memcmp` call.
#[inline]
fn big_endian_words(b: &Bytes) -> (u64, u64) {
    let mut padded = [0; 16];
    padded[..INLINE_CAPACITY].copy_from_slice(&inline_buf(b));
    (
        u64::from_be_bytes(padded[..8].try_into().expect("8 bytes")),
        u64::from_be_bytes(padded[8..].try_into().expect("8 bytes")),
    )
}

/// An inline value's 14 bytes, zero-padded past its length.
#[inline(always)]
fn inline_buf(b: &Bytes) -> [u8; INLINE_CAPACITY] {
    let mut image = [0; 16];
    image[..8].copy_from_slice(&b.head.get().to_ne_bytes());
    image[8..].copy_from_slice(&b.tail.to_ne_bytes());
    image[2..].try_into().expect("14 bytes")
}

impl<const N: usize> From<&[u8; N]> for Bytes {
    fn from(bytes: &[u8; N]) -> Self {
        Bytes::from(&bytes[..])
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            Bytes::from(bytes.as_slice())
        } else {
            Bytes::shared_from(bytes)
        }
    }
}

impl From<&str> for Bytes {
    fn from(text: &str) -> Self {
        Bytes::from(text.as_bytes())
    }
}

impl Deref for Bytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Bytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Bytes {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Bytes {
    /// Two inline values are compared as their two words (their unused
    /// bytes are always zero), which is two integer compares instead of a
    /// call to `memcmp`. Always inlined: a table lookup and a checkpoint's
    /// walk compare keys, and called, the compare cost more than itself.
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        if self.is_inline() && other.is_inline() {
            self.head == other.head && self.tail == other.tail
        } else {
            self.as_slice() == other.as_slice()
        }
    }
}

impl Eq for Bytes {}

impl PartialEq<[u8]> for Bytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialOrd for Bytes {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    /// Two inline values compare as their zero-padded arrays, then by
    /// length. That is the order of the bytes: where the padded arrays
    /// first differ past the shorter one's end, the longer one has a
    /// nonzero byte there and is greater, as a proper extension is; where
    /// they do not differ at all, the shorter is a prefix of the longer.
    /// Always inlined: for inline values it is a few instructions, fewer
    /// than a call's, and a transaction's writes are kept in key order.
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        if self.is_inline() && other.is_inline() {
            big_endian_words(self)
                .cmp(&big_endian_words(other))
                .then(self.image_byte(1).cmp(&other.image_byte(1)))
        } else {
            self.as_slice().cmp(other.as_slice())
        }
    }
}

impl Hash for Bytes {
    /// Hashes exactly as the slice does, which `Borrow<[u8]>` requires.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for Bytes {
    /// Prints like the byte slice, whatever the representation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut h = DefaultHasher::new();
        value.hash(&mut h);
        h.finish()
    }

    #[test]
    fn short_and_long_bytes_behave_like_their_slices() {
        let short: &[u8] = b"acct00000042";
        let long = [7u8; INLINE_CAPACITY + 1];
        for bytes in [short, &long[..INLINE_CAPACITY], &long[..]] {
            let b = Bytes::from(bytes);
            assert_eq!(&*b, bytes);
            assert_eq!(b, Bytes::from(bytes.to_vec()));
            assert_eq!(hash_of(&b), hash_of(bytes));
            assert_eq!(format!("{b:?}"), format!("{bytes:?}"));
        }
        assert!(Bytes::from(short).is_inline());
        assert!(!Bytes::from(&long[..]).is_inline());
    }

    #[test]
    fn order_is_the_order_of_the_bytes_across_representations() {
        let long = Bytes::from(&[1u8; 40][..]);
        let short = Bytes::from(&[1u8, 2][..]);
        let empty = Bytes::from(&b""[..]);
        assert!(empty < long && long < short);
        assert_eq!(long.cmp(&long.clone()), Ordering::Equal);
        assert_ne!(Bytes::from(&[0u8][..]), empty, "a zero byte is not nothing");
    }

    #[test]
    fn inline_order_and_equality_agree_with_the_slices() {
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![1],
            vec![1, 0],
            vec![1, 0, 0],
            vec![1, 2],
            vec![2],
            vec![0xff; INLINE_CAPACITY],
            vec![0xff; INLINE_CAPACITY + 1],
            b"acct00000009".to_vec(),
            b"acct00000010".to_vec(),
            b"acct0000001".to_vec(),
        ];
        for a in &samples {
            for b in &samples {
                let (x, y) = (Bytes::from(a.as_slice()), Bytes::from(b.as_slice()));
                assert_eq!(x.cmp(&y), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(x == y, a == b, "{a:?} vs {b:?}");
            }
        }
    }

    /// `to_array` gives exactly the slice's bytes when the length is the
    /// array's, inline or shared, and nothing at any other length.
    #[test]
    fn to_array_is_the_slice_at_its_length_and_none_otherwise() {
        fn check<const N: usize>(bytes: &Bytes) {
            let expected: Option<[u8; N]> = bytes.as_slice().try_into().ok();
            assert_eq!(bytes.to_array::<N>(), expected, "length {} as {N}", bytes.len());
        }
        let source: Vec<u8> = (1..=40u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..=40 {
            let bytes = Bytes::from(&source[..len]);
            assert_eq!(bytes.is_inline(), len <= INLINE_CAPACITY);
            check::<0>(&bytes);
            check::<1>(&bytes);
            check::<6>(&bytes);
            check::<7>(&bytes);
            check::<8>(&bytes);
            check::<14>(&bytes);
            check::<15>(&bytes);
            check::<40>(&bytes);
        }
    }

    #[test]
    fn every_inline_length_keeps_its_bytes_and_zero_padding() {
        let source: Vec<u8> = (1..=INLINE_CAPACITY as u8).collect();
        for len in 0..=INLINE_CAPACITY {
            let b = Bytes::from(&source[..len]);
            assert_eq!(&*b, &source[..len]);
            assert!(b.is_inline(), "{len} bytes are kept inline");
            let buf = inline_buf(&b);
            assert!(buf[len..].iter().all(|&x| x == 0), "padding of {len} bytes");
        }
    }

    #[test]
    fn shared_values_outlive_the_clones_they_came_from_and_free_once() {
        let long: Vec<u8> = (0..100).collect();
        let first = Bytes::from(long.clone());
        assert!(!first.is_inline());
        let clones: Vec<Bytes> = (0..1000).map(|_| first.clone()).collect();
        drop(first);
        let threads: Vec<_> = clones
            .chunks(250)
            .map(|chunk| {
                let (chunk, long) = (chunk.to_vec(), long.clone());
                std::thread::spawn(move || chunk.iter().all(|b| *b == long[..]))
            })
            .collect();
        drop(clones);
        for thread in threads {
            assert!(thread.join().expect("no panic"), "every clone reads the bytes");
        }
    }

    #[test]
    fn padding_keeps_every_short_length_exactly() {
        let source: Vec<u8> = (0xf1..=0xfe).collect();
        for len in 0..=INLINE_CAPACITY {
            let mut expected = [0; 16];
            expected[..len].copy_from_slice(&source[..len]);
            assert_eq!(padded(&source[..len]).to_le_bytes(), expected, "{len} bytes");
        }
    }

    #[test]
    fn small_copies_of_every_length_copy_exactly() {
        let source: Vec<u8> = (1..=70).collect();
        for len in 0..=source.len() {
            let mut dst = vec![0; len];
            copy_small(&mut dst, &source[source.len() - len..]);
            assert_eq!(dst, &source[source.len() - len..]);
        }
    }

    proptest::proptest! {
        #[test]
        fn order_equality_and_hash_are_those_of_the_slices(
            a in proptest::collection::vec(proptest::sample::select(vec![0u8, 1, 2, 0xff]), 0..30),
            b in proptest::collection::vec(proptest::sample::select(vec![0u8, 1, 2, 0xff]), 0..30),
        ) {
            let (x, y) = (Bytes::from(a.as_slice()), Bytes::from(b.clone()));
            proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            proptest::prop_assert_eq!(x == y, a == b);
            proptest::prop_assert_eq!(hash_of(&x), hash_of(a.as_slice()));
            proptest::prop_assert_eq!(Bytes::inline(&a).is_some(), a.len() <= INLINE_CAPACITY);
        }
    }

    #[test]
    fn a_value_is_no_bigger_than_an_option_of_it() {
        assert_eq!(std::mem::size_of::<Bytes>(), 16);
        assert_eq!(std::mem::size_of::<Option<Bytes>>(), 16);
    }
}
