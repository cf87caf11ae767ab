//! Typed errors: a history that cannot be read or that breaks the format's structural rules.
//!
//! Anomalies are not errors; they are [`crate::Violation`]s. An error means the input is not a
//! history the checker can judge at all, so a caller (the `occsim` binary) can report it in one
//! line and exit 2.

use thiserror::Error;

/// Why a history could not be read or judged.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not valid JSON, or a value has the wrong shape; `line` is 1-based.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// Line of the file where the problem was found.
        line: usize,
        /// Column within that line.
        column: usize,
        /// What is wrong, in words.
        message: String,
    },
    /// The JSON is well formed, but an op breaks the history format (names the op's index).
    #[error("op {index}: {message}")]
    Op {
        /// The `index` field of the offending op.
        index: u64,
        /// What is wrong, in words.
        message: String,
    },
    /// The file as a whole is not a history (empty, or an unknown model name).
    #[error("{0}")]
    Format(String),
    /// Reading the input failed.
    #[error("reading history: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Builds an [`Error::Op`] for the op with the given index.
    pub(crate) fn op(index: u64, message: impl Into<String>) -> Self {
        Error::Op {
            index,
            message: message.into(),
        }
    }

    /// Converts a serde_json error found in the text that starts at 1-based `first_line`.
    pub(crate) fn from_json(err: &serde_json::Error, first_line: usize) -> Self {
        let full = err.to_string();
        let message = match full.rfind(" at line ") {
            Some(at) => full[..at].to_string(),
            None => full,
        };
        let message = if err.is_eof() {
            format!("truncated JSON ({message})")
        } else {
            message
        };
        Error::Syntax {
            line: first_line + err.line().saturating_sub(1),
            column: err.column(),
            message,
        }
    }
}
