//! Key ranges for `list`: half-open `[start, end)`, or a prefix.

/// A half-open range of keys; `end: None` means no upper bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRange {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

impl KeyRange {
    /// The keys `start <= k < end`.
    pub fn between(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        KeyRange {
            start: start.into(),
            end: Some(end.into()),
        }
    }

    /// Every key from `start` on.
    pub fn from(start: impl Into<Vec<u8>>) -> Self {
        KeyRange {
            start: start.into(),
            end: None,
        }
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let start = prefix.into();
        let end = prefix_successor(&start);
        KeyRange { start, end }
    }

    /// The inclusive lower bound.
    pub fn start(&self) -> &[u8] {
        &self.start
    }

    /// The exclusive upper bound, if any.
    pub fn end(&self) -> Option<&[u8]> {
        self.end.as_deref()
    }

    /// Whether `key` lies inside the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_deref().is_none_or(|end| key < end)
    }

    /// Whether the range holds no key at all.
    pub fn is_empty(&self) -> bool {
        self.end
            .as_deref()
            .is_some_and(|end| end <= self.start.as_slice())
    }
}

/// The smallest key greater than every key with this prefix, or `None` when
/// the prefix is all 0xff bytes (then no such key exists).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges_cover_exactly_the_prefix() {
        let r = KeyRange::prefix("ab");
        assert!(r.contains(b"ab"));
        assert!(r.contains(b"ab\xff\xff"));
        assert!(!r.contains(b"ac"));
        assert!(!r.contains(b"aa\xff"));
        let all = KeyRange::prefix(vec![0xff, 0xff]);
        assert!(all.contains(&[0xff, 0xff, 0x00]));
        assert!(!all.contains(&[0xfe]));
        assert!(KeyRange::prefix("").contains(b"anything"));
    }

    #[test]
    fn between_is_half_open() {
        let r = KeyRange::between("b", "d");
        assert!(r.contains(b"b") && r.contains(b"c\xff"));
        assert!(!r.contains(b"d") && !r.contains(b"a"));
        assert!(KeyRange::between("d", "b").is_empty());
        assert!(!r.is_empty());
    }
}
