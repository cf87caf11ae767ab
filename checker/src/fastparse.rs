//! A hand-written parser for the common shape of one JSON Lines op, as the simulator writes it:
//! plain strings, integers, `null`, transaction micro-ops `r`/`w`/`append` with scalar values,
//! and the native fields. It allocates only the op's micro-op and version lists.
//!
//! It accepts a strict subset of what the serde parser in `history.rs` accepts and builds the
//! identical op; anything else (escapes, floats, lists, range reads, unknown or repeated
//! fields, `value` before `f`, meta lines, any error) makes it return `None`, and the line is
//! parsed again by the serde parser, which gives the same result or the precise error.

use compact_str::CompactString;

use crate::history::{Function, MicroOp, Op, OpType, OpValue, Process, ReadValue, Scalar, Version};

/// Parses one trimmed line as an op, or returns `None` when the line is not in the subset.
pub(crate) fn op(line: &str) -> Option<Op> {
    let mut p = Parser {
        text: line,
        bytes: line.as_bytes(),
        at: 0,
    };
    let op = p.op()?;
    p.ws();
    (p.at == p.bytes.len()).then_some(op)
}

/// The most digits [`Parser::uint`] reads: every 19-digit number fits in a u64.
const MAX_DIGITS: usize = 19;

/// The bytes of `word` (eight string bytes, little-endian) that end a plain string or make it
/// one the fast parser leaves to serde: the high bit of each byte that is `"`, `\\` or a
/// control character, and possibly of bytes after the first such one (borrows run upward),
/// so only the lowest set bit is exact.
fn string_stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (quote | backslash | control) & HIGHS
}

/// Parses an op from the start of `text` when it fills the first line (JSON whitespace
/// aside), returning it with the length of that line and its newline, or `None` when the line
/// is not in the subset. Neither whitespace nor strings take a newline here, so the parser
/// never leaves the line: this finds what [`op`] finds in the trimmed line, without searching
/// for the line's end first.
pub(crate) fn op_line(text: &str) -> Option<(Op, usize)> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let op = p.op()?;
    p.ws();
    match p.bytes.get(p.at) {
        None => Some((op, p.at)),
        Some(b'\n') => Some((op, p.at + 1)),
        Some(_) => None,
    }
}

/// A cursor over the line.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    /// Skips JSON whitespace other than newlines, which end the line (see [`op_line`]; a
    /// line given to [`op`] has none).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Consumes `b` after optional whitespace.
    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.bytes.get(self.at) == Some(&b)).then(|| self.at += 1)
    }

    /// The next non-whitespace byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.at).copied()
    }

    /// Consumes a literal word (`null`, `true`, `false`).
    fn word(&mut self, w: &str) -> Option<()> {
        self.ws();
        self.bytes[self.at..]
            .starts_with(w.as_bytes())
            .then(|| self.at += w.len())
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        // Eight bytes at a time while eight remain, then byte by byte: most strings here
        // (field names, keys) end within the first word.
        while let Some(word) = self.bytes.get(self.at..self.at + 8) {
            let word = u64::from_le_bytes(word.try_into().ok()?);
            let stops = string_stops(word);
            if stops != 0 {
                self.at += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            self.at += 8;
        }
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let s = self.text.get(start..self.at)?;
        self.at += 1;
        Some(s)
    }

    /// A non-negative integer without leading zeros, exponent or fraction, of at most
    /// [`MAX_DIGITS`] digits (so it fits in a u64 without overflow checks on each digit;
    /// longer numbers go to the serde parser).
    fn uint(&mut self) -> Option<u64> {
        self.ws();
        let start = self.at;
        let mut v: u64 = 0;
        while let Some(&d) = self.bytes.get(self.at) {
            let d = d.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            self.at += 1;
        }
        let len = self.at - start;
        if len == 0 || len > MAX_DIGITS || (len > 1 && self.bytes[start] == b'0') {
            return None;
        }
        match self.bytes.get(self.at) {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(v),
        }
    }

    /// `null` or a non-negative integer.
    fn opt_uint(&mut self) -> Option<Option<u64>> {
        if self.peek()? == b'n' {
            self.word("null").map(|()| None)
        } else {
            self.uint().map(Some)
        }
    }

    /// A scalar: `null`, a boolean, an integer that fits in an i64, or a plain string.
    fn scalar(&mut self) -> Option<Scalar> {
        match self.peek()? {
            b'n' => self.word("null").map(|()| Scalar::Null),
            b't' => self.word("true").map(|()| Scalar::Bool(true)),
            b'f' => self.word("false").map(|()| Scalar::Bool(false)),
            b'"' => self.string().map(|s| Scalar::Str(CompactString::from(s))),
            b'-' => {
                self.at += 1;
                let v = self.uint()?;
                if v == 0 {
                    return None;
                }
                0i64.checked_sub_unsigned(v).map(Scalar::Int)
            }
            _ => i64::try_from(self.uint()?).ok().map(Scalar::Int),
        }
    }

    /// One micro-op `[f, key, value]` with `f` one of `r`, `w`, `append` and scalar values.
    fn micro_op(&mut self) -> Option<MicroOp> {
        self.eat(b'[')?;
        let f = self.string()?;
        self.eat(b',')?;
        let key = self.scalar()?;
        self.eat(b',')?;
        let value = self.scalar()?;
        self.eat(b']')?;
        match f {
            "r" => Some(MicroOp::Read {
                key,
                value: ReadValue::Scalar(value),
            }),
            "w" => Some(MicroOp::Write { key, value }),
            "append" => Some(MicroOp::Append { key, element: value }),
            _ => None,
        }
    }

    /// A JSON array, each element read by `item`.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        let mut out = Vec::with_capacity(4);
        if self.peek()? == b']' {
            self.at += 1;
            return Some(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// A transaction's value: `null` or a list of micro-ops.
    fn txn_value(&mut self) -> Option<OpValue> {
        if self.peek()? == b'n' {
            return self.word("null").map(|()| OpValue::Null);
        }
        self.array(Self::micro_op).map(OpValue::Txn)
    }

    /// One entry of `versions`: `null`, a sequence number or `"own"`.
    fn version(&mut self) -> Option<Version> {
        match self.peek()? {
            b'n' => self.word("null").map(|()| Version::Absent),
            b'"' => (self.string()? == "own").then_some(Version::Own),
            _ => self.uint().map(Version::Seq),
        }
    }

    /// The op object, field by field; each field at most once.
    fn op(&mut self) -> Option<Op> {
        self.eat(b'{')?;
        let mut index = None;
        let mut process = None;
        let mut op_type = None;
        let mut f: Option<Function> = None;
        let mut value = None;
        let mut time = None;
        let mut snapshot = None;
        let mut commit_seq = None;
        let mut versions = None;
        let mut error = None;
        if self.peek()? == b'}' {
            return None;
        }
        loop {
            let name = self.string()?;
            self.eat(b':')?;
            match name {
                "index" if index.is_none() => index = Some(self.uint()?),
                "process" if process.is_none() => {
                    process = Some(if self.peek()? == b'"' {
                        (self.string()? == "nemesis").then_some(Process::Nemesis)?
                    } else {
                        Process::Client(self.uint()?)
                    });
                }
                "type" if op_type.is_none() => {
                    op_type = Some(match self.string()? {
                        "invoke" => OpType::Invoke,
                        "ok" => OpType::Ok,
                        "fail" => OpType::Fail,
                        "info" => OpType::Info,
                        _ => return None,
                    });
                }
                "f" if f.is_none() => f = Some(Function::from_name(self.string()?)),
                "value" if value.is_none() && f == Some(Function::Txn) => value = Some(self.txn_value()?),
                "time" if time.is_none() => time = Some(self.opt_uint()?),
                "snapshot" if snapshot.is_none() => snapshot = Some(self.opt_uint()?),
                "commit_seq" if commit_seq.is_none() => commit_seq = Some(self.opt_uint()?),
                "versions" if versions.is_none() => {
                    versions = Some(if self.peek()? == b'n' {
                        self.word("null").map(|()| None)?
                    } else {
                        Some(self.array(Self::version)?)
                    });
                }
                "error" if error.is_none() => {
                    error = Some(if self.peek()? == b'n' {
                        self.word("null").map(|()| None)?
                    } else {
                        Some(self.string()?.to_string())
                    });
                }
                _ => return None,
            }
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    break;
                }
                _ => return None,
            }
        }
        let mut op = Op::new(index?, process?, op_type?, f?, value.unwrap_or(OpValue::Null));
        op.time = time.flatten();
        op.snapshot = snapshot.flatten();
        op.commit_seq = commit_seq.flatten();
        op.versions = versions.flatten();
        op.error = error.flatten();
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::{op, string_stops};
    use crate::history::{MicroOp, Scalar};

    /// The position of the first byte that ends a plain string or rules it out.
    fn first_stop(bytes: &[u8]) -> Option<usize> {
        bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)
    }

    /// The lowest byte [`string_stops`] marks is exactly the first stop, for words of plain,
    /// UTF-8 and stop bytes at every position, and for pseudo-random words.
    #[test]
    fn string_stops_marks_the_first_stop_exactly() {
        let bytes = [
            b'a', b'~', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xc3, 0xff, b'"', b'\\', 0, 0x1f, b'\n',
        ];
        let mut words: Vec<[u8; 8]> = Vec::new();
        for &a in &bytes {
            for &b in &bytes {
                for at in 0..8 {
                    let mut w = [a; 8];
                    w[at] = b;
                    words.push(w);
                    w[(at + 3) % 8] = b'"';
                    words.push(w);
                }
            }
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            words.push(x.to_le_bytes());
        }
        for w in words {
            let stops = string_stops(u64::from_le_bytes(w));
            let got = (stops != 0).then(|| (stops.trailing_zeros() / 8) as usize);
            assert_eq!(got, first_stop(&w), "{w:?}");
        }
    }

    /// A key of each length up to past two words parses to itself; with an escape or a
    /// control character at any position the line is left to the serde parser.
    #[test]
    fn keys_of_every_length_parse_exactly() {
        let line = |key: &str| {
            format!(r#"{{"index":1,"process":0,"type":"invoke","f":"txn","value":[["r","{key}",null]]}}"#)
        };
        let text = "acct/0123456789\u{e9}abcdefgh";
        for (n, _) in text.char_indices() {
            let key = &text[..n];
            let parsed = op(&line(key)).expect("a plain key is in the subset");
            match &parsed.mops()[0] {
                MicroOp::Read { key: k, .. } => assert_eq!(*k, Scalar::from(key)),
                other => panic!("{other:?}"),
            }
            for stop in ["\\n", "\\\"", "\n", "\u{1}"] {
                let odd = format!("{key}{stop}{}", &text[n..]);
                assert!(op(&line(&odd)).is_none(), "{odd:?}");
            }
        }
    }

    /// Numbers of up to 19 digits parse; longer ones, even those that fit in a u64, are left
    /// to the serde parser.
    #[test]
    fn long_numbers_are_left_to_serde() {
        let line = |index: &str| {
            format!(r#"{{"index":{index},"process":0,"type":"invoke","f":"txn","value":null}}"#)
        };
        assert_eq!(
            op(&line("9999999999999999999")).map(|o| o.index),
            Some(9_999_999_999_999_999_999)
        );
        assert!(op(&line("18446744073709551615")).is_none());
        assert!(op(&line("99999999999999999999")).is_none());
        assert!(op(&line("01")).is_none());
        assert_eq!(op(&line("0")).map(|o| o.index), Some(0));
    }
}
