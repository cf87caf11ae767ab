//! `occsim repl [--db DIR]`: a line-oriented session on an on-disk store, with StrataDB's commands
//! and Redis-style replies.
//!
//! Outside a transaction every command is its own atomic transaction. Inside one (`begin` ...
//! `commit`), writes are buffered and their version is only known at commit, so `kv put` answers `OK`
//! there and `(version) N` outside. An open transaction is rolled back at `quit`, `exit` or end of
//! input: it was never committed, so nothing it buffered reaches the log. With piped input, the exit
//! code is 1 if any command answered `(error)`, so a shell loop can retry a scripted transaction.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::{Db, KeyRange, ReadSource, SendStorage, Transaction};

use super::bad_input;
use super::values::{display_key, display_value, typed_value};

/// Arguments of `occsim repl`.
#[derive(Args, Debug)]
pub struct ReplArgs {
    /// The store's directory, created if missing; committed data survives a restart.
    #[arg(long, default_value = "occsim-data")]
    pub db: PathBuf,
}

/// The prompt shown when stdin is a terminal.
const PROMPT: &str = "occsim> ";

/// What `help` prints.
const HELP: &[&str] = &[
    "begin                              start a transaction",
    "commit                             commit it: (version) N, or OK when it wrote nothing",
    "rollback                           discard it",
    "kv put KEY VALUE                   write (quote a VALUE with spaces: \"a b\" or 'a b')",
    "kv get KEY [--with-version]        read: the value, or (nil)",
    "kv del KEY                         delete",
    "kv list [--prefix P] [--limit N]   keys in order",
    "txn info                           the open transaction's snapshot, reads and writes",
    "help                               this text",
    "quit | exit                        leave (an open transaction is rolled back)",
];

/// Opens the store and runs the session on stdin/stdout.
pub fn run_cmd(args: &ReplArgs) -> ExitCode {
    let db = match Db::open(&args.db) {
        Ok(db) => db,
        Err(e) => return bad_input(format!("{}: {e}", args.db.display())),
    };
    let interactive = io::stdin().is_terminal();
    match run_session(&db, io::stdin().lock(), io::stdout().lock(), interactive) {
        Ok(any_error) if any_error && !interactive => ExitCode::from(super::EXIT_VIOLATION),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => bad_input(format!("repl: {e}")),
    }
}

/// Runs commands until `quit`, `exit` or end of input, and rolls back a transaction left open.
/// Returns whether any command answered `(error)`; only reading input or writing output fails.
fn run_session<S: SendStorage>(
    db: &Db<S>,
    mut input: impl BufRead,
    mut output: impl Write,
    interactive: bool,
) -> io::Result<bool> {
    let mut session = Session { db, txn: None };
    let mut any_error = false;
    let mut buf = Vec::new();
    loop {
        if interactive {
            output.write_all(PROMPT.as_bytes())?;
            output.flush()?;
        }
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            if interactive {
                // Ctrl-D leaves the cursor after the prompt.
                output.write_all(b"\n")?;
            }
            break;
        }
        let parsed = match std::str::from_utf8(&buf) {
            Ok(line) => parse(line),
            Err(_) => Err(ReplError::NotUtf8),
        };
        let outcome = match parsed {
            Ok(None) => continue,
            Ok(Some(ParsedLine::Quit)) => break,
            Ok(Some(ParsedLine::Command(cmd))) => session.execute(cmd),
            Err(e) => Err(e),
        };
        let reply = outcome.unwrap_or_else(|e| {
            any_error = true;
            Reply::Error(e)
        });
        writeln!(output, "{reply}")?;
        output.flush()?;
    }
    if let Some(txn) = session.txn.take() {
        txn.rollback();
        eprintln!("occsim: rolled back the open transaction");
    }
    Ok(any_error)
}

/// Why a command answered `(error)`.
#[derive(Debug, thiserror::Error)]
enum ReplError {
    /// `commit`, `rollback` without `begin`.
    #[error("no active transaction")]
    NoActiveTransaction,
    /// `begin` inside a transaction.
    #[error("transaction already active")]
    AlreadyActive,
    /// Validation at commit found a newer commit that wrote a key this transaction read.
    #[error("TransactionConflict: {key} was modified by another transaction")]
    Conflict {
        /// The key, as text.
        key: String,
    },
    /// A command word that names no command.
    #[error("unknown command '{0}' (try help)")]
    UnknownCommand(String),
    /// A known command with the wrong arguments.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// A line that is not text.
    #[error("the line is not UTF-8")]
    NotUtf8,
    /// A quote opened and never closed.
    #[error("unterminated {0} quote")]
    UnterminatedQuote(char),
    /// `--limit` with something other than a count.
    #[error("--limit wants a non-negative integer, not {0:?}")]
    BadLimit(String),
    /// Any other refusal or failure of the store.
    #[error("{0}")]
    Engine(engine::Error),
}

impl From<engine::Error> for ReplError {
    fn from(e: engine::Error) -> Self {
        match e {
            engine::Error::Conflict { key, .. } => ReplError::Conflict {
                key: display_key(&key),
            },
            other => ReplError::Engine(other),
        }
    }
}

/// A reply, printed Redis-style.
#[derive(Debug)]
enum Reply {
    /// `OK`.
    Ok,
    /// `(version) N`: the commit sequence number a write got.
    Version(u64),
    /// `(nil)`: an absent key.
    Nil,
    /// Lines printed as they are (a value, a list, `txn info`, help).
    Lines(Vec<String>),
    /// `(error) ...`.
    Error(ReplError),
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Ok => write!(f, "OK"),
            Reply::Version(n) => write!(f, "(version) {n}"),
            Reply::Nil => write!(f, "(nil)"),
            Reply::Lines(lines) => write!(f, "{}", lines.join("\n")),
            Reply::Error(e) => write!(f, "(error) {e}"),
        }
    }
}

/// A parsed command.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Begin,
    Commit,
    Rollback,
    Put { key: String, value: String },
    Get { key: String, with_version: bool },
    Del { key: String },
    List { prefix: String, limit: usize },
    TxnInfo,
    Help,
}

/// Parses a line; `None` for a blank line or a `#` comment (so scripts can be annotated).
fn parse(line: &str) -> Result<Option<ParsedLine>, ReplError> {
    let words = split_words(line)?;
    let Some(first) = words.first() else {
        return Ok(None);
    };
    if first.starts_with('#') {
        return Ok(None);
    }
    let args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
    let cmd = match (first.to_ascii_lowercase().as_str(), args.as_slice()) {
        ("quit" | "exit", []) => return Ok(Some(ParsedLine::Quit)),
        ("begin", []) => Command::Begin,
        ("commit", []) => Command::Commit,
        ("rollback", []) => Command::Rollback,
        ("help", _) => Command::Help,
        ("txn", [sub]) if sub.eq_ignore_ascii_case("info") => Command::TxnInfo,
        ("txn", _) => return Err(ReplError::Usage("txn info")),
        ("kv", [sub, rest @ ..]) => parse_kv(sub, rest)?,
        ("kv", []) => return Err(ReplError::Usage("kv put|get|del|list ... (try help)")),
        ("quit" | "exit" | "begin" | "commit" | "rollback", _) => {
            return Err(ReplError::Usage(
                "begin, commit, rollback, quit and exit take no arguments",
            ))
        }
        (other, _) => return Err(ReplError::UnknownCommand(other.to_owned())),
    };
    Ok(Some(ParsedLine::Command(cmd)))
}

/// A line that is not blank: leave, or a command.
enum ParsedLine {
    Quit,
    Command(Command),
}

/// Parses the arguments of a `kv` subcommand.
fn parse_kv(sub: &str, args: &[&str]) -> Result<Command, ReplError> {
    match (sub.to_ascii_lowercase().as_str(), args) {
        ("put", [key, value]) => Ok(Command::Put {
            key: (*key).to_owned(),
            value: (*value).to_owned(),
        }),
        ("put", _) => Err(ReplError::Usage("kv put KEY VALUE (quote a value with spaces)")),
        ("get", [key]) => Ok(Command::Get {
            key: (*key).to_owned(),
            with_version: false,
        }),
        ("get", [key, "--with-version"]) | ("get", ["--with-version", key]) => Ok(Command::Get {
            key: (*key).to_owned(),
            with_version: true,
        }),
        ("get", _) => Err(ReplError::Usage("kv get KEY [--with-version]")),
        ("del", [key]) => Ok(Command::Del {
            key: (*key).to_owned(),
        }),
        ("del", _) => Err(ReplError::Usage("kv del KEY")),
        ("list", flags) => parse_list(flags),
        (other, _) => Err(ReplError::UnknownCommand(format!("kv {other}"))),
    }
}

/// Parses `kv list`'s flags.
fn parse_list(flags: &[&str]) -> Result<Command, ReplError> {
    const USAGE: &str = "kv list [--prefix P] [--limit N]";
    let mut prefix = String::new();
    let mut limit = usize::MAX;
    let mut rest = flags.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(ReplError::Usage(USAGE))?;
        match *flag {
            "--prefix" => prefix = (*value).to_owned(),
            "--limit" => {
                limit = value
                    .parse()
                    .map_err(|_| ReplError::BadLimit((*value).to_owned()))?
            }
            _ => return Err(ReplError::Usage(USAGE)),
        }
    }
    Ok(Command::List { prefix, limit })
}

/// Splits a line into words at whitespace; `"..."` and `'...'` quote a word with spaces, and inside
/// double quotes `\"` and `\\` stand for `"` and `\`.
fn split_words(line: &str) -> Result<Vec<String>, ReplError> {
    let mut words = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' | '"' => loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some(escaped @ ('"' | '\\')) => word.push(escaped),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err(ReplError::UnterminatedQuote(c)),
                        },
                        Some(other) => word.push(other),
                        None => return Err(ReplError::UnterminatedQuote(c)),
                    }
                },
                other => word.push(other),
            }
        }
        words.push(word);
    }
    Ok(words)
}

/// The session: the store and the transaction `begin` opened, if any.
struct Session<'db, S: SendStorage> {
    db: &'db Db<S>,
    txn: Option<Transaction<'db, S>>,
}

impl<'db, S: SendStorage> Session<'db, S> {
    fn execute(&mut self, cmd: Command) -> Result<Reply, ReplError> {
        match cmd {
            Command::Begin => {
                if self.txn.is_some() {
                    return Err(ReplError::AlreadyActive);
                }
                self.txn = Some(self.db.begin());
                Ok(Reply::Ok)
            }
            Command::Commit => {
                let txn = self.txn.take().ok_or(ReplError::NoActiveTransaction)?;
                Ok(txn.commit()?.seq.map_or(Reply::Ok, Reply::Version))
            }
            Command::Rollback => {
                self.txn.take().ok_or(ReplError::NoActiveTransaction)?.rollback();
                Ok(Reply::Ok)
            }
            Command::Put { key, value } => {
                let value = typed_value(&value);
                self.write(|txn| txn.put(key.as_bytes(), &value))
            }
            Command::Del { key } => self.write(|txn| txn.delete(key.as_bytes())),
            Command::Get { key, with_version } => {
                let read = self.read(|txn| txn.get_read(key.as_bytes()))?;
                let Some(value) = read.value else {
                    return Ok(Reply::Nil);
                };
                let mut lines = vec![display_value(&value)];
                if with_version {
                    lines.push(match read.source {
                        ReadSource::Snapshot(Some(seq)) => format!("(version) {seq}"),
                        // The transaction's own write: its version is assigned at commit.
                        _ => "(version) pending".to_owned(),
                    });
                }
                Ok(Reply::Lines(lines))
            }
            Command::List { prefix, limit } => {
                let entries = self.read(|txn| txn.list(&KeyRange::prefix(prefix), limit))?;
                if entries.is_empty() {
                    return Ok(Reply::Lines(vec!["(empty list)".to_owned()]));
                }
                Ok(Reply::Lines(
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, e)| format!("{}) {}", i + 1, display_key(&e.key)))
                        .collect(),
                ))
            }
            Command::TxnInfo => Ok(Reply::Lines(match &self.txn {
                None => vec!["active: false".to_owned()],
                Some(txn) => {
                    let state = txn.state();
                    vec![
                        "active: true".to_owned(),
                        format!("snapshot: {}", state.snapshot()),
                        format!("reads: {}", state.read_set().count()),
                        format!("ranges: {}", state.ranges().len()),
                        format!("writes: {}", state.writes().count()),
                    ]
                }
            })),
            Command::Help => Ok(Reply::Lines(HELP.iter().map(|l| (*l).to_owned()).collect())),
        }
    }

    /// Buffers a write in the open transaction (`OK`: its version comes at commit), or commits it
    /// as a transaction of its own (`(version) N`).
    fn write(
        &mut self,
        op: impl FnOnce(&mut Transaction<'db, S>) -> engine::Result<()>,
    ) -> Result<Reply, ReplError> {
        if let Some(txn) = self.txn.as_mut() {
            op(txn)?;
            return Ok(Reply::Ok);
        }
        let mut txn = self.db.begin();
        op(&mut txn)?;
        Ok(txn.commit()?.seq.map_or(Reply::Ok, Reply::Version))
    }

    /// Reads in the open transaction (recording the read for validation), or in a read-only
    /// transaction of its own, which always commits.
    fn read<T>(
        &mut self,
        op: impl FnOnce(&mut Transaction<'db, S>) -> engine::Result<T>,
    ) -> Result<T, ReplError> {
        if let Some(txn) = self.txn.as_mut() {
            return Ok(op(txn)?);
        }
        let mut txn = self.db.begin();
        let value = op(&mut txn)?;
        txn.commit()?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{MemDisk, Options};

    /// Runs a piped session on an in-memory store and returns its output and error flag.
    fn session(db: &Db<MemDisk>, input: &str) -> (String, bool) {
        let mut out = Vec::new();
        let any_error = run_session(db, input.as_bytes(), &mut out, false).unwrap();
        (String::from_utf8(out).unwrap(), any_error)
    }

    fn mem_db() -> Db<MemDisk> {
        Db::open_with(MemDisk::new(), Options::default()).unwrap()
    }

    #[test]
    fn words_split_at_spaces_and_respect_quotes() {
        assert_eq!(split_words("  kv put k v ").unwrap(), ["kv", "put", "k", "v"]);
        assert_eq!(
            split_words(r#"kv put k "a b \"c\"" '[1, 2]'"#).unwrap(),
            ["kv", "put", "k", "a b \"c\"", "[1, 2]"]
        );
        assert_eq!(split_words(r#"a"b c"d"#).unwrap(), ["ab cd"]);
        assert!(matches!(
            split_words("kv put k \"open"),
            Err(ReplError::UnterminatedQuote('"'))
        ));
        assert!(split_words("").unwrap().is_empty());
    }

    #[test]
    fn commands_parse_and_bad_ones_are_usage_errors() {
        let cmd = |l: &str| match parse(l) {
            Ok(Some(ParsedLine::Command(c))) => Ok(c),
            Ok(_) => panic!("{l} is not a command"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(
            cmd("kv list --limit 2 --prefix a"),
            Ok(Command::List {
                prefix: "a".into(),
                limit: 2
            })
        );
        assert_eq!(
            cmd("KV GET k --with-version"),
            Ok(Command::Get {
                key: "k".into(),
                with_version: true
            })
        );
        assert_eq!(
            cmd("kv put k").unwrap_err(),
            "usage: kv put KEY VALUE (quote a value with spaces)"
        );
        assert_eq!(cmd("frob").unwrap_err(), "unknown command 'frob' (try help)");
        assert!(cmd("kv list --limit x").unwrap_err().contains("--limit"));
        assert!(matches!(parse("# a comment"), Ok(None)));
        assert!(matches!(parse("quit"), Ok(Some(ParsedLine::Quit))));
    }

    #[test]
    fn a_scripted_session_answers_like_stratadb() {
        let db = mem_db();
        let (out, any_error) = session(
            &db,
            "kv put name Alice\nkv get name\nbegin\nkv put n 42\nkv get n --with-version\ncommit\n\
             kv get n --with-version\nkv del name\nkv get name\nkv list\n",
        );
        assert_eq!(
            out,
            "(version) 1\n\"Alice\"\nOK\nOK\n42\n(version) pending\n(version) 2\n42\n(version) 2\n\
             (version) 3\n(nil)\n1) n\n"
        );
        assert!(!any_error);
    }

    /// Two sessions on one store, as two StrataDB clients: the later committer of a read-modify-write
    /// gets StrataDB's conflict reply, and its transaction is over.
    #[test]
    fn a_conflict_at_commit_answers_transaction_conflict() {
        let db = mem_db();
        let mut a = Session { db: &db, txn: None };
        let mut b = Session { db: &db, txn: None };
        let key = || "key".to_owned();
        assert!(matches!(a.execute(Command::Begin), Ok(Reply::Ok)));
        let read = a.execute(Command::Get {
            key: key(),
            with_version: false,
        });
        assert!(matches!(read, Ok(Reply::Nil)));
        let put = |value: &str| Command::Put {
            key: key(),
            value: value.to_owned(),
        };
        assert!(matches!(a.execute(put("mine")), Ok(Reply::Ok)));
        assert!(matches!(b.execute(put("theirs")), Ok(Reply::Version(1))));
        let err = a.execute(Command::Commit).unwrap_err();
        assert_eq!(
            Reply::Error(err).to_string(),
            "(error) TransactionConflict: key was modified by another transaction"
        );
        assert!(a.txn.is_none());
        assert!(matches!(
            a.execute(Command::Commit),
            Err(ReplError::NoActiveTransaction)
        ));
    }

    #[test]
    fn errors_set_the_flag_and_an_open_transaction_is_rolled_back() {
        let db = mem_db();
        let (out, any_error) = session(&db, "commit\nbegin\nbegin\nkv put k v\n");
        assert_eq!(
            out,
            "(error) no active transaction\nOK\n(error) transaction already active\nOK\n"
        );
        assert!(any_error);
        assert_eq!(db.last_seq(), 0);
    }
}
