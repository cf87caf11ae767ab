//! The write-ahead log's record format: encode, decode, checksum, scan.
//!
//! A commit is written as one record per write followed by a commit-marker
//! record (MiniKV's shape). Every record is self-delimiting and checksummed:
//!
//! ```text
//! record := crc32c(body_len LE ++ body): u32 LE | body_len: u32 LE | body
//! body   := kind: u8 | seq: u64 LE | payload
//! put    := key_len: u32 LE | key | value_len: u32 LE | value      (kind 1)
//! delete := key_len: u32 LE | key                                  (kind 2)
//! marker := write_count: u32 LE                                    (kind 3)
//! ```
//!
//! The checksum covers the length too, so a flipped length bit is caught
//! rather than read as a different record boundary; it comes first so that
//! what it covers is one contiguous run of bytes, checksummed in one pass. A zeroed region never
//! decodes as a record: a body is at least 9 bytes and the checksum of a
//! zero length with a zero body is not zero.

use crate::bytes::copy_small;
use crate::crc;
use crate::limits::{MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::Bytes;

/// Bytes before a record's body: its checksum and its length.
pub const HEADER_LEN: usize = 8;
/// The smallest body: a kind byte and a sequence number.
const MIN_BODY_LEN: usize = 9;
/// The largest body: a put of the largest key and value.
const MAX_BODY_LEN: usize = MIN_BODY_LEN + 4 + MAX_KEY_LEN + 4 + MAX_VALUE_LEN;

const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;
const KIND_MARKER: u8 = 3;

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A write of `value` to `key` by commit `seq`.
    Put {
        /// The commit's sequence number.
        seq: u64,
        /// The key written.
        key: Bytes,
        /// The value written.
        value: Bytes,
    },
    /// A delete of `key` by commit `seq`.
    Delete {
        /// The commit's sequence number.
        seq: u64,
        /// The key deleted.
        key: Bytes,
    },
    /// The end of commit `seq`, which wrote `count` records before this one.
    Marker {
        /// The commit's sequence number.
        seq: u64,
        /// How many write records the commit has.
        count: u32,
    },
}

impl Record {
    /// The sequence number of the commit the record belongs to.
    pub fn seq(&self) -> u64 {
        match self {
            Record::Put { seq, .. } | Record::Delete { seq, .. } | Record::Marker { seq, .. } => *seq,
        }
    }
}

/// Records up to this size are built on the stack and appended in one
/// copy; a transfer's puts are 49 bytes.
const STACK_RECORD_LEN: usize = 64;

/// Appends one write record (`value: None` is a delete) to `buf`.
///
/// The record is laid out in one contiguous piece, each field written at
/// its offset and the checksum computed over them, then appended in one
/// step: a short record is built on the stack, a long one in place.
pub fn encode_write(buf: &mut Vec<u8>, seq: u64, key: &[u8], value: Option<&[u8]>) {
    assert!(seq > 0, "sequence numbers start at 1");
    assert!(key.len() <= MAX_KEY_LEN, "key length was validated at put");
    let value_field = match value {
        Some(v) => {
            assert!(v.len() <= MAX_VALUE_LEN, "value length was validated at put");
            4 + v.len()
        }
        None => 0,
    };
    let len = HEADER_LEN + MIN_BODY_LEN + 4 + key.len() + value_field;
    if len <= STACK_RECORD_LEN {
        let mut record = [0; STACK_RECORD_LEN];
        write_record(&mut record[..len], seq, key, value);
        // All of the stack buffer is appended and the excess cut off: a
        // copy of a constant size is a few vector moves, where one of the
        // record's own length is a call to `memcpy`.
        let end = buf.len() + len;
        buf.extend_from_slice(&record);
        buf.truncate(end);
    } else {
        let start = buf.len();
        buf.resize(start + len, 0);
        write_record(&mut buf[start..], seq, key, value);
    }
}

/// Writes a whole write record into `record`, which has exactly its length.
#[inline(always)]
fn write_record(record: &mut [u8], seq: u64, key: &[u8], value: Option<&[u8]>) {
    let body = &mut record[HEADER_LEN..];
    body[0] = if value.is_some() { KIND_PUT } else { KIND_DELETE };
    body[1..9].copy_from_slice(&seq.to_le_bytes());
    let key_end = 13 + key.len();
    body[9..13].copy_from_slice(&field_len(key).to_le_bytes());
    copy_small(&mut body[13..key_end], key);
    if let Some(v) = value {
        body[key_end..key_end + 4].copy_from_slice(&field_len(v).to_le_bytes());
        copy_small(&mut body[key_end + 4..], v);
    }
    finish_record(record);
}

/// Appends the commit-marker record of commit `seq` with `count` writes.
pub fn encode_marker(buf: &mut Vec<u8>, seq: u64, count: u32) {
    assert!(seq > 0, "sequence numbers start at 1");
    let mut record = [0; HEADER_LEN + MIN_BODY_LEN + 4];
    record[HEADER_LEN] = KIND_MARKER;
    record[HEADER_LEN + 1..HEADER_LEN + 9].copy_from_slice(&seq.to_le_bytes());
    record[HEADER_LEN + 9..].copy_from_slice(&count.to_le_bytes());
    finish_record(&mut record);
    buf.extend_from_slice(&record);
}

/// Fills in the header of `record` (one whole record, body written): the
/// body's length, then the checksum over length and body.
fn finish_record(record: &mut [u8]) {
    let body_len = record.len() - HEADER_LEN;
    assert!((MIN_BODY_LEN..=MAX_BODY_LEN).contains(&body_len));
    let len_bytes = u32::try_from(body_len).expect("body fits u32").to_le_bytes();
    record[4..8].copy_from_slice(&len_bytes);
    let crc = crc::crc32c(&record[4..]);
    record[..4].copy_from_slice(&crc.to_le_bytes());
}

/// A key's or value's length as its 4-byte length field.
fn field_len(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).expect("validated length")
}

/// Why the bytes at some offset are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes remain than the header or the body needs.
    Truncated,
    /// The length field is outside what any record can have.
    BadLength(usize),
    /// The checksum does not match the bytes.
    BadChecksum,
    /// The checksum matches but the body does not parse.
    Malformed(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "record truncated"),
            DecodeError::BadLength(n) => write!(f, "impossible record length {n}"),
            DecodeError::BadChecksum => write!(f, "checksum mismatch"),
            DecodeError::Malformed(why) => write!(f, "malformed record: {why}"),
        }
    }
}

/// Decodes the record at `offset`, returning it and the offset after it.
///
/// `verify_checksum` is false only under the `no-checksum` mutant.
pub fn decode_at(bytes: &[u8], offset: usize, verify_checksum: bool) -> Result<(Record, usize), DecodeError> {
    let rest = bytes.get(offset..).ok_or(DecodeError::Truncated)?;
    if rest.len() < HEADER_LEN {
        return Err(DecodeError::Truncated);
    }
    let body_len = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes")) as usize;
    if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&body_len) {
        return Err(DecodeError::BadLength(body_len));
    }
    let body = rest
        .get(HEADER_LEN..HEADER_LEN + body_len)
        .ok_or(DecodeError::Truncated)?;
    let stored_crc = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes"));
    if verify_checksum && stored_crc != crc::crc32c(&rest[4..HEADER_LEN + body_len]) {
        return Err(DecodeError::BadChecksum);
    }
    let record = decode_body(body)?;
    Ok((record, offset + HEADER_LEN + body_len))
}

fn decode_body(body: &[u8]) -> Result<Record, DecodeError> {
    let mut cursor = Cursor { bytes: body, at: 0 };
    let kind = cursor.take(1)?[0];
    let seq = u64::from_le_bytes(cursor.take(8)?.try_into().expect("8 bytes"));
    if seq == 0 {
        return Err(DecodeError::Malformed("sequence number 0"));
    }
    let record = match kind {
        KIND_PUT => {
            let key = Bytes::from(cursor.take_sized(MAX_KEY_LEN)?);
            let value = Bytes::from(cursor.take_sized(MAX_VALUE_LEN)?);
            Record::Put { seq, key, value }
        }
        KIND_DELETE => Record::Delete {
            seq,
            key: Bytes::from(cursor.take_sized(MAX_KEY_LEN)?),
        },
        KIND_MARKER => Record::Marker {
            seq,
            count: u32::from_le_bytes(cursor.take(4)?.try_into().expect("4 bytes")),
        },
        _ => return Err(DecodeError::Malformed("unknown record kind")),
    };
    if cursor.at != body.len() {
        return Err(DecodeError::Malformed("trailing bytes in record"));
    }
    Ok(record)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .ok_or(DecodeError::Malformed("length overflow"))?;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or(DecodeError::Malformed("field past end of record"))?;
        self.at = end;
        Ok(out)
    }

    fn take_sized(&mut self, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize;
        if len > max {
            return Err(DecodeError::Malformed("field longer than its limit"));
        }
        self.take(len)
    }
}

/// The records of a log file, and what (if anything) ended the scan early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Every valid record before the first invalid one, with its offset.
    pub records: Vec<(usize, Record)>,
    /// Offset and reason of the first invalid record, when it is a torn tail
    /// (nothing valid follows it).
    pub torn_tail: Option<(usize, DecodeError)>,
}

/// A bad record followed by a valid one: damaged durable data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRecord {
    /// Offset of the bad record.
    pub offset: usize,
    /// What was wrong with it.
    pub error: DecodeError,
    /// Offset of the valid record found after it.
    pub valid_after: usize,
}

/// Reads a log file's records one at a time, in order, so recovery can
/// apply each commit as it comes rather than first collecting every
/// record of a file that may hold a mebibyte of them.
///
/// Records are read until the first one that does not decode. If no valid
/// record starts anywhere after it, the rest is a torn tail (a write that
/// was never acknowledged) and reading ends there. If one does, a record in
/// the middle of durable data was damaged, which is reported rather than
/// silently dropped.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
    verify_checksum: bool,
    torn_tail: Option<(usize, DecodeError)>,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`; `verify_checksum` is false only
    /// under the `no-checksum` mutant.
    pub fn new(bytes: &'a [u8], verify_checksum: bool) -> Self {
        Reader {
            bytes,
            offset: 0,
            verify_checksum,
            torn_tail: None,
        }
    }

    /// The next record with its offset and the offset after it; `None` at
    /// the end of the file or at a torn tail.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<(usize, Record, usize)>, DamagedRecord> {
        if self.offset == self.bytes.len() || self.torn_tail.is_some() {
            return Ok(None);
        }
        assert!(self.offset < self.bytes.len(), "reading stays within the file");
        match decode_at(self.bytes, self.offset, self.verify_checksum) {
            Ok((record, next)) => {
                assert!(next > self.offset, "decoding always advances");
                let at = std::mem::replace(&mut self.offset, next);
                Ok(Some((at, record, next)))
            }
            Err(error) => self.stop(error).map(|()| None),
        }
    }

    /// Ends the reading at an invalid record: a torn tail, or damage when
    /// a valid record follows it.
    #[cold]
    fn stop(&mut self, error: DecodeError) -> Result<(), DamagedRecord> {
        let offset = self.offset;
        if let Some(valid_after) =
            (offset + 1..self.bytes.len()).find(|&at| decode_at(self.bytes, at, true).is_ok())
        {
            return Err(DamagedRecord {
                offset,
                error,
                valid_after,
            });
        }
        self.torn_tail = Some((offset, error));
        Ok(())
    }

    /// Reads the rest of the file, for a caller that stops early but must
    /// still report damage further on before anything else it found.
    pub fn finish(&mut self) -> Result<(), DamagedRecord> {
        while self.next_record()?.is_some() {}
        Ok(())
    }

    /// Where the torn tail starts and why, once reading has reached it.
    pub fn torn_tail(&self) -> Option<&(usize, DecodeError)> {
        self.torn_tail.as_ref()
    }
}

/// Scans a whole log file (see `Reader` for how it ends).
pub fn scan(bytes: &[u8], verify_checksum: bool) -> Result<Scan, DamagedRecord> {
    let mut reader = Reader::new(bytes, verify_checksum);
    let mut records = Vec::new();
    while let Some((offset, record, _)) = reader.next_record()? {
        records.push((offset, record));
    }
    let torn_tail = reader.torn_tail().cloned();
    if torn_tail.is_none() {
        assert_eq!(reader.offset, bytes.len(), "a clean scan ends exactly at the end");
    }
    Ok(Scan { records, torn_tail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_every_short_length_decode_as_encoded() {
        let bytes: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(31).wrapping_add(7)).collect();
        for key_len in 0..40 {
            for value_len in [0, 1, 3, 8, 15, 16, 31, 32, 33, 64] {
                let key = &bytes[..key_len];
                let value = &bytes[80 - value_len..];
                let mut buf = vec![0xaa];
                encode_write(&mut buf, 7, key, Some(value));
                encode_write(&mut buf, 8, key, None);
                encode_marker(&mut buf, 8, 2);
                let (put, next) = decode_at(&buf, 1, true).unwrap();
                let expected = Record::Put {
                    seq: 7,
                    key: Bytes::from(key),
                    value: Bytes::from(value),
                };
                assert_eq!(put, expected);
                let (delete, next) = decode_at(&buf, next, true).unwrap();
                let key = Bytes::from(key);
                assert_eq!(delete, Record::Delete { seq: 8, key });
                let (marker, next) = decode_at(&buf, next, true).unwrap();
                assert_eq!(marker, Record::Marker { seq: 8, count: 2 });
                assert_eq!(next, buf.len());
            }
        }
    }
}
