//! Checkpoints: the whole state written to a new snapshot file, after which
//! the WAL starts over, so recovery time and disk use stay bounded.
//!
//! The file format is
//!
//! ```text
//! "OCCSNAP1" | seq: u64 LE | count: u64 LE
//!   | count x (key_len: u32 LE | key | version: u64 LE | value_len: u32 LE | value)
//!   | crc32c(everything before): u32 LE
//! ```
//!
//! The steps are ordered so a crash at any point leaves a recoverable
//! directory: the snapshot is written under a temporary name and fsynced,
//! renamed and the directory fsynced (from then on recovery uses it), the
//! next WAL is created and the directory fsynced, and only then are the
//! previous generation's files removed.

use crate::bytes::copy_small;
use crate::error::{Corruption, IoError};
use crate::files;
use crate::limits::{MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::mvcc::Mvcc;
use crate::storage::Storage;
use crate::Bytes;

const MAGIC: &[u8; 8] = b"OCCSNAP1";

/// Encodes the newest version of every live key, as of `seq`.
pub fn encode(mvcc: &Mvcc, seq: u64) -> Vec<u8> {
    // Sized from the number of keys, which the table knows, rather than
    // the number of live ones, which would take a pass over every chain.
    // An entry is 16 bytes of lengths and version plus its key and value;
    // 64 per key covers short keys and values (a bank account's is about
    // 40), so the buffer is not copied whole when it outgrows its room at
    // the end. Room left unused is address space, not memory.
    let mut out = Vec::with_capacity(64 + mvcc.key_count() * 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&seq.to_le_bytes());
    let count_at = out.len();
    out.extend_from_slice(&0u64.to_le_bytes());
    let mut count = 0u64;
    mvcc.for_each_latest(|key, version, value| {
        assert!(version <= seq, "a checkpoint holds no version newer than itself");
        encode_entry(&mut out, key, version, value);
        count += 1;
    });
    out[count_at..count_at + 8].copy_from_slice(&count.to_le_bytes());
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Entries up to this size are written in place after a zero fill of a
/// constant size; a bank account's is 36 bytes.
const SHORT_ENTRY_LEN: usize = 64;

/// Appends one entry: `key_len | key | version | value_len | value`.
///
/// A short entry is written where it ends up: room of a constant size is
/// zero-filled (a few vector stores), its fields are written into it, and
/// it is cut to the entry's length, where five appends of their own
/// lengths would be five calls to `memcpy`. Built on the stack and appended whole, the
/// entry was copied with loads spanning the narrower stores that had just
/// written it, which the CPU cannot forward (perf annotate).
#[inline]
fn encode_entry(out: &mut Vec<u8>, key: &[u8], version: u64, value: &[u8]) {
    let key_len = u32::try_from(key.len()).expect("key limit").to_le_bytes();
    let value_len = u32::try_from(value.len()).expect("value limit").to_le_bytes();
    let len = 16 + key.len() + value.len();
    if len <= SHORT_ENTRY_LEN {
        let start = out.len();
        out.extend_from_slice(&[0u8; SHORT_ENTRY_LEN]);
        let entry: &mut [u8; SHORT_ENTRY_LEN] = (&mut out[start..])
            .try_into()
            .expect("room of the short entries' size");
        let value_at = 16 + key.len();
        entry[..4].copy_from_slice(&key_len);
        copy_small(&mut entry[4..4 + key.len()], key);
        entry[4 + key.len()..12 + key.len()].copy_from_slice(&version.to_le_bytes());
        entry[12 + key.len()..value_at].copy_from_slice(&value_len);
        copy_small(&mut entry[value_at..len], value);
        out.truncate(start + len);
    } else {
        out.extend_from_slice(&key_len);
        out.extend_from_slice(key);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&value_len);
        out.extend_from_slice(value);
    }
}

/// Decodes a checkpoint into `mvcc`, which must be empty, and returns its
/// sequence number. Every length is checked against the bytes present, so
/// any damage is a `Corruption`, never a panic; on one, `mvcc` is
/// half-loaded and the caller drops it. Entries go straight into the state
/// as they are decoded, with no list of them in between.
pub fn decode_into(name: &str, bytes: &[u8], mvcc: &mut Mvcc) -> Result<u64, Corruption> {
    let corrupt = |offset: usize, reason: &str| Corruption {
        file: name.to_owned(),
        offset: offset as u64,
        reason: reason.to_owned(),
    };
    if bytes.len() < MAGIC.len() + 16 + 4 {
        return Err(corrupt(0, "checkpoint shorter than its header"));
    }
    let (body, crc_bytes) = bytes.split_at(bytes.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes(crc_bytes.try_into().expect("4 bytes")) {
        return Err(corrupt(0, "checkpoint checksum mismatch"));
    }
    if &body[..8] != MAGIC {
        return Err(corrupt(0, "not a checkpoint file"));
    }
    let seq = u64::from_le_bytes(body[8..16].try_into().expect("8 bytes"));
    let count = u64::from_le_bytes(body[16..24].try_into().expect("8 bytes"));
    let mut at = 24;
    let take = |n: usize, at: &mut usize| -> Result<&[u8], Corruption> {
        let end = at.checked_add(n).filter(|&e| e <= body.len());
        let end = end.ok_or_else(|| corrupt(*at, "checkpoint entry runs past the end"))?;
        let out = &body[*at..end];
        *at = end;
        Ok(out)
    };
    // Room for `count` entries, but no more than the bytes can hold (an
    // entry is at least 16 bytes), so a damaged count cannot ask for more
    // memory than the file's size.
    let capacity = usize::try_from(count).unwrap_or(usize::MAX).min(body.len() / 16);
    let mut loader = mvcc.loader(capacity);
    for _ in 0..count {
        let key_len = u32::from_le_bytes(take(4, &mut at)?.try_into().expect("4 bytes")) as usize;
        if key_len > MAX_KEY_LEN {
            return Err(corrupt(at, "checkpoint key longer than the limit"));
        }
        let key = Bytes::from(take(key_len, &mut at)?);
        let version = u64::from_le_bytes(take(8, &mut at)?.try_into().expect("8 bytes"));
        let value_len = u32::from_le_bytes(take(4, &mut at)?.try_into().expect("4 bytes")) as usize;
        if value_len > MAX_VALUE_LEN {
            return Err(corrupt(at, "checkpoint value longer than the limit"));
        }
        let value = Bytes::from(take(value_len, &mut at)?);
        if version == 0 || version > seq {
            return Err(corrupt(at, "checkpoint version outside 1..=seq"));
        }
        if !loader.load(key, version, value) {
            return Err(corrupt(at, "checkpoint keys out of order"));
        }
    }
    if at != body.len() {
        return Err(corrupt(at, "trailing bytes after the last checkpoint entry"));
    }
    loader.finish();
    Ok(seq)
}

/// Writes generation `next`'s checkpoint of `mvcc` at `seq`, starts its
/// WAL, and removes generation `previous`'s files. Each step is one storage
/// call, so a crash can fall between any two of them.
pub fn write<S: Storage>(
    storage: &mut S,
    previous: u64,
    next: u64,
    mvcc: &Mvcc,
    seq: u64,
) -> Result<(), IoError> {
    assert!(next > previous, "generations only grow");
    let bytes = encode(mvcc, seq);
    let tmp = files::snapshot_tmp(next);
    storage.create(&tmp)?;
    storage.append_owned(&tmp, bytes)?;
    storage.sync(&tmp)?;
    storage.rename(&tmp, &files::snapshot(next))?;
    storage.sync_dir()?;
    storage.create(&files::wal(next))?;
    storage.sync_dir()?;
    storage.remove(&files::wal(previous))?;
    storage.remove(&files::snapshot(previous))?;
    storage.sync_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint file of `entries` (key, version, value) at `seq`, in
    /// the given order, with a valid checksum.
    fn file(seq: u64, entries: &[(&[u8], u64, &[u8])]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for (key, version, value) in entries {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key);
            out.extend_from_slice(&version.to_le_bytes());
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Entries of every length around the short entries' limit (64 bytes)
    /// encode exactly as the format says, and decode back.
    #[test]
    fn entries_short_and_long_encode_to_the_format() {
        // Keys begin with their two-byte index, so they are in order. For
        // each key length up to 44, three entries are 62, 63 and 64 bytes
        // long (the short entries' limit is 64); longer keys give entries
        // of 63 to 66 bytes; and every key length also has one with a
        // 3-byte value (21 to 68 bytes).
        let lengths: Vec<(usize, usize)> = (0..48)
            .flat_map(|k| {
                [
                    (k, 44 - k.min(44)),
                    (k, 45 - k.min(45)),
                    (k, 46 - k.min(46)),
                    (k, 3),
                ]
            })
            .collect();
        let keys: Vec<Vec<u8>> = (0..lengths.len())
            .map(|i| [&(i as u16).to_be_bytes()[..], &vec![7; lengths[i].0]].concat())
            .collect();
        let values: Vec<Vec<u8>> = lengths.iter().map(|&(k, v)| vec![k as u8; v]).collect();
        let entries: Vec<(&[u8], u64, &[u8])> = keys
            .iter()
            .zip(&values)
            .enumerate()
            .map(|(i, (k, v))| (&k[..], 1 + i as u64, &v[..]))
            .collect();
        assert!(entries
            .iter()
            .any(|(k, _, v)| 16 + k.len() + v.len() == SHORT_ENTRY_LEN));
        assert!(entries
            .iter()
            .any(|(k, _, v)| 16 + k.len() + v.len() == SHORT_ENTRY_LEN + 1));
        let mut mvcc = Mvcc::new();
        let file = file(1000, &entries);
        assert_eq!(decode_into("snap", &file, &mut mvcc).unwrap(), 1000);
        assert_eq!(encode(&mvcc, 1000), file);
    }

    /// Keys out of order or repeated, under a valid checksum, are damage
    /// reported as such (the loader refuses them), never a panic, and
    /// leave the state empty.
    #[test]
    fn keys_out_of_order_or_repeated_are_corruption() {
        for entries in [
            [(&b"b"[..], 1, &b"x"[..]), (&b"a"[..], 1, &b"y"[..])],
            [(&b"a"[..], 1, &b"x"[..]), (&b"a"[..], 1, &b"y"[..])],
        ] {
            let mut mvcc = Mvcc::new();
            let err = decode_into("snap", &file(1, &entries), &mut mvcc).unwrap_err();
            assert_eq!(err.reason, "checkpoint keys out of order");
            assert_eq!(mvcc.key_count(), 0);
        }
    }

    /// Every entry of a checkpoint larger than one region of the table
    /// comes back, whatever order the loader put them in.
    #[test]
    fn a_checkpoint_round_trips_every_entry() {
        let keys: Vec<Vec<u8>> = (0..5_000u32).map(|i| format!("k{i:06}").into_bytes()).collect();
        let entries: Vec<(&[u8], u64, &[u8])> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (&k[..], 1 + i as u64 % 7, &k[1..]))
            .collect();
        let mut mvcc = Mvcc::new();
        assert_eq!(decode_into("snap", &file(9, &entries), &mut mvcc).unwrap(), 9);
        assert_eq!(mvcc.key_count(), keys.len());
        let mut loaded: Vec<(&Bytes, u64, &Bytes)> = Vec::new();
        mvcc.for_each_latest(|key, version, value| loaded.push((key, version, value)));
        assert_eq!(loaded.len(), entries.len());
        for ((key, version, value), (k, v, val)) in loaded.into_iter().zip(&entries) {
            assert_eq!((key.as_slice(), version, value.as_slice()), (*k, *v, *val));
        }
        assert_eq!(
            encode(&mvcc, 9),
            file(9, &entries),
            "it encodes back to the same file"
        );
    }
}
