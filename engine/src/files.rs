//! The names of the store's files, one generation at a time.
//!
//! Generation G has a checkpoint `snapshot-G.snap` (none for G = 0: the
//! empty state) and a log `wal-G.log` of the commits after it. A checkpoint
//! is written as `snapshot-G.tmp` and renamed once durable.

/// The kind of a store file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A finished checkpoint.
    Snapshot,
    /// A checkpoint still being written.
    SnapshotTmp,
    /// A write-ahead log.
    Wal,
}

/// The WAL file of generation `generation`.
pub fn wal(generation: u64) -> String {
    format!("wal-{generation:020}.log")
}

/// The checkpoint file of generation `generation`.
pub fn snapshot(generation: u64) -> String {
    format!("snapshot-{generation:020}.snap")
}

/// The temporary name a checkpoint is written under.
pub fn snapshot_tmp(generation: u64) -> String {
    format!("snapshot-{generation:020}.tmp")
}

/// Parses a store file name; `None` for files that are not the store's.
pub fn parse(name: &str) -> Option<(FileKind, u64)> {
    let (kind, rest) = if let Some(rest) = name.strip_prefix("wal-") {
        (FileKind::Wal, rest.strip_suffix(".log")?)
    } else if let Some(rest) = name.strip_prefix("snapshot-") {
        if let Some(r) = rest.strip_suffix(".snap") {
            (FileKind::Snapshot, r)
        } else {
            (FileKind::SnapshotTmp, rest.strip_suffix(".tmp")?)
        }
    } else {
        return None;
    };
    if rest.len() != 20 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((kind, rest.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        assert_eq!(parse(&wal(7)), Some((FileKind::Wal, 7)));
        assert_eq!(parse(&snapshot(12)), Some((FileKind::Snapshot, 12)));
        assert_eq!(parse(&snapshot_tmp(3)), Some((FileKind::SnapshotTmp, 3)));
        assert_eq!(parse("wal-7.log"), None);
        assert_eq!(parse("notes.txt"), None);
    }
}
