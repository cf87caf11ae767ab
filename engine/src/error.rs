//! Typed errors for everything a caller of the store can hit.
//!
//! Every variant is something a correct program must be prepared to handle:
//! conflicts and snapshot-too-old aborts are retried, `CheckFailed` is the
//! Deno-style "someone changed it first", `Io` and `Unavailable` come from
//! storage, and `Corrupt` means durable data is damaged. Broken invariants
//! are not errors: they panic.

use std::fmt;

/// A storage error: the operation that failed, its kind and the OS message.
///
/// `std::io::Error` is neither `Clone` nor `Eq`, and the store's state must
/// be both (a model checker clones and compares it), so the parts that matter
/// are copied out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IoError {
    /// The storage call that failed, such as `append wal-3.log`.
    pub op: String,
    /// The error's kind, as `std::io` classifies it.
    pub kind: std::io::ErrorKind,
    /// The message the operating system (or simulated disk) gave.
    pub message: String,
}

impl IoError {
    /// Wraps an OS error with the name of the operation that failed.
    pub fn new(op: impl Into<String>, err: &std::io::Error) -> Self {
        IoError {
            op: op.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    /// An error made up by a simulated disk (no OS error behind it).
    pub fn simulated(op: impl Into<String>, kind: std::io::ErrorKind, message: &str) -> Self {
        IoError {
            op: op.into(),
            kind,
            message: message.to_owned(),
        }
    }
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.message)
    }
}

/// Where in a file damaged data was found, and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Corruption {
    /// The file holding the damaged data.
    pub file: String,
    /// Byte offset of the damaged record or field.
    pub offset: u64,
    /// What was wrong, in words.
    pub reason: String,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}: {}", self.file, self.offset, self.reason)
    }
}

/// Everything the store can report to a caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Validation found a commit newer than the snapshot that wrote a key
    /// this transaction read (or a key inside a range it listed).
    #[error("conflict: key {} was written by commit {seq} after this transaction's snapshot", show_key(.key))]
    Conflict {
        /// The key both transactions touched.
        key: Vec<u8>,
        /// The sequence number of the commit that wrote it.
        seq: u64,
    },
    /// The snapshot is older than the newest commit evicted from the bounded
    /// commit log, so validation cannot see every commit since it.
    #[error("snapshot too old: snapshot {snapshot} is below the commit-log horizon {horizon}")]
    SnapshotTooOld {
        /// The transaction's snapshot sequence number.
        snapshot: u64,
        /// The newest evicted sequence number (H).
        horizon: u64,
    },
    /// A Deno-style `check` did not hold at commit time; nothing was applied.
    #[error("check failed: key {} is not at the expected versionstamp", show_key(.key))]
    CheckFailed {
        /// The first key whose check failed.
        key: Vec<u8>,
    },
    /// A limit or a type rule was broken (key or value too large, too many
    /// checks, a `sum` on a value that is not 8 bytes, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A storage call failed. For a commit this means its outcome is unknown.
    #[error("i/o error: {0}")]
    Io(IoError),
    /// The handle refuses commits since an earlier fsync failed; reopen it.
    #[error("store unavailable: an earlier write failed to become durable; reopen to recover")]
    Unavailable,
    /// Durable data is damaged: recovery refuses to guess.
    #[error("corrupt store: {0}")]
    Corrupt(Corruption),
    /// The transaction was already committed or rolled back.
    #[error("transaction is closed")]
    TransactionClosed,
}

/// Results of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<IoError> for Error {
    fn from(e: IoError) -> Self {
        Error::Io(e)
    }
}

/// Shows a key as text when it is printable, else as hex, for messages.
pub fn show_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => format!("{s:?}"),
        _ => {
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}")
        }
    }
}
