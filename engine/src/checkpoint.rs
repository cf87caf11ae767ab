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
    for (key, version, value) in mvcc.latest_entries() {
        assert!(version <= seq, "a checkpoint holds no version newer than itself");
        out.extend_from_slice(&u32::try_from(key.len()).expect("key limit").to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&u32::try_from(value.len()).expect("value limit").to_le_bytes());
        out.extend_from_slice(value);
        count += 1;
    }
    out[count_at..count_at + 8].copy_from_slice(&count.to_le_bytes());
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
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
        if loader.last().is_some_and(|p| *p >= key) {
            return Err(corrupt(at, "checkpoint keys out of order"));
        }
        loader.load(key, version, value);
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
    storage.append(&tmp, &bytes)?;
    storage.sync(&tmp)?;
    storage.rename(&tmp, &files::snapshot(next))?;
    storage.sync_dir()?;
    storage.create(&files::wal(next))?;
    storage.sync_dir()?;
    storage.remove(&files::wal(previous))?;
    storage.remove(&files::snapshot(previous))?;
    storage.sync_dir()
}
