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
use std::ops::Deref;
use std::sync::Arc;

/// The longest byte string kept inline: the rest of a 16-byte value.
pub const INLINE_CAPACITY: usize = 14;

/// Immutable bytes: a key or a value.
#[derive(Clone)]
pub struct Bytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        buf: [u8; INLINE_CAPACITY],
    },
    /// Behind one more pointer than `Arc<[u8]>` would be, but a thin one.
    Shared(Arc<Vec<u8>>),
}

impl Bytes {
    /// The bytes as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Shared(shared) => shared.as_slice(),
        }
    }
}

impl Bytes {
    /// Whether the bytes are held inline (no heap allocation of their own).
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// The bytes as an inline value, if they are short enough: a probe for
    /// lookups that compares by the fast inline path and never allocates.
    #[inline]
    pub fn inline(bytes: &[u8]) -> Option<Bytes> {
        (bytes.len() <= INLINE_CAPACITY).then(|| Bytes::from(bytes))
    }
}

impl From<&[u8]> for Bytes {
    /// Copies the bytes inline, zero-padded (comparisons rely on the
    /// padding), or into a shared allocation when they are long.
    #[inline]
    fn from(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            let len = u8::try_from(bytes.len()).expect("inline capacity fits u8");
            let mut buf = [0; INLINE_CAPACITY];
            copy_small(&mut buf[..bytes.len()], bytes);
            Bytes(Repr::Inline { len, buf })
        } else {
            Bytes::shared(bytes)
        }
    }
}

impl Bytes {
    /// Copies long bytes into a shared allocation. Kept out of line so that
    /// the inline case, nearly every key and value, inlines into its
    /// callers as a few moves.
    #[inline(never)]
    fn shared(bytes: &[u8]) -> Bytes {
        Bytes(Repr::Shared(Arc::new(bytes.to_vec())))
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

/// An inline buffer as two big-endian words, whose order is the order of
/// the buffers' bytes: two integer compares instead of a `memcmp` call.
#[inline]
fn big_endian_words(buf: &[u8; INLINE_CAPACITY]) -> (u64, u64) {
    let (head, tail) = buf.split_at(8);
    let mut last = [0; 8];
    last[..tail.len()].copy_from_slice(tail);
    (
        u64::from_be_bytes(head.try_into().expect("8 bytes")),
        u64::from_be_bytes(last),
    )
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
            Bytes(Repr::Shared(Arc::new(bytes)))
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
    /// Two inline values are compared as fixed-size arrays (their unused
    /// bytes are always zero), which compiles to a few word compares
    /// instead of a call to `memcmp`.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Inline { len: a, buf: x }, Repr::Inline { len: b, buf: y }) => a == b && x == y,
            _ => self.as_slice() == other.as_slice(),
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
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Inline { len: a, buf: x }, Repr::Inline { len: b, buf: y }) => {
                big_endian_words(x).cmp(&big_endian_words(y)).then(a.cmp(b))
            }
            _ => self.as_slice().cmp(other.as_slice()),
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

    #[test]
    fn every_inline_length_keeps_its_bytes_and_zero_padding() {
        let source: Vec<u8> = (1..=INLINE_CAPACITY as u8).collect();
        for len in 0..=INLINE_CAPACITY {
            let b = Bytes::from(&source[..len]);
            assert_eq!(&*b, &source[..len]);
            let Repr::Inline { buf, .. } = b.0 else {
                panic!("{len} bytes are kept inline");
            };
            assert!(buf[len..].iter().all(|&x| x == 0), "padding of {len} bytes");
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
