//! Drives `occsim repl` through pipes: every command and its StrataDB-style reply, the exit codes of
//! piped sessions, auto-rollback at end of input and at `quit`, and durability across restarts.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What one piped session printed.
struct Session {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// Runs `occsim repl --db DIR` with `input` piped in.
fn repl(dir: &Path, input: &str) -> Session {
    let mut child = Command::new(env!("CARGO_BIN_EXE_occsim"))
        .arg("repl")
        .arg("--db")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start occsim repl");
    // A repl that refuses its --db exits before reading: a broken pipe
    // then is its answer, not the test's failure.
    if let Err(e) = child.stdin.take().expect("stdin").write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    let out = child.wait_with_output().expect("wait for occsim repl");
    Session {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

fn temp_db() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Pairs each input line with the reply lines it produced, for readable failures.
fn assert_transcript(dir: &Path, transcript: &[(&str, &str)], code: i32) {
    let input: String = transcript.iter().map(|(cmd, _)| format!("{cmd}\n")).collect();
    let expected: String = transcript
        .iter()
        .filter(|(_, reply)| !reply.is_empty())
        .map(|(_, reply)| format!("{reply}\n"))
        .collect();
    let run = repl(dir, &input);
    assert_eq!(run.stdout, expected, "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(code), "stderr: {}", run.stderr);
}

#[test]
fn every_command_answers_like_stratadb() {
    let dir = temp_db();
    assert_transcript(
        dir.path(),
        &[
            ("kv put name Alice", "(version) 1"),
            ("kv get name", "\"Alice\""),
            ("kv put count 42", "(version) 2"),
            ("kv get count --with-version", "42\n(version) 2"),
            ("kv get missing", "(nil)"),
            ("kv put 'greeting' \"hello world\"", "(version) 3"),
            ("kv get greeting", "\"hello world\""),
            ("kv put list '[1, 2, 3]'", "(version) 4"),
            ("kv get list", "[1, 2, 3]"),
            ("# comments and blank lines are skipped", ""),
            ("", ""),
            ("txn info", "active: false"),
            ("begin", "OK"),
            ("kv get count", "42"),
            ("kv put count 43", "OK"),
            ("kv get count --with-version", "43\n(version) pending"),
            ("kv del name", "OK"),
            ("kv get name", "(nil)"),
            (
                "txn info",
                "active: true\nsnapshot: 4\nreads: 1\nranges: 0\nwrites: 2",
            ),
            ("kv list", "1) count\n2) greeting\n3) list"),
            ("commit", "(version) 5"),
            ("kv list --prefix gr", "1) greeting"),
            ("kv list --limit 1", "1) count"),
            ("kv list --prefix zz", "(empty list)"),
            ("begin", "OK"),
            ("kv get count", "43"),
            ("commit", "OK"),
            ("begin", "OK"),
            ("kv put count 0", "OK"),
            ("rollback", "OK"),
            ("kv get count", "43"),
            ("kv del count", "(version) 6"),
            ("kv get count", "(nil)"),
            ("quit", ""),
            ("kv get never-run", ""),
        ],
        0,
    );
}

#[test]
fn help_lists_every_command() {
    let dir = temp_db();
    let run = repl(dir.path(), "help\n");
    assert_eq!(run.code, Some(0));
    for cmd in [
        "begin",
        "commit",
        "rollback",
        "kv put KEY VALUE",
        "kv get KEY [--with-version]",
        "kv del KEY",
        "kv list [--prefix P] [--limit N]",
        "txn info",
        "help",
        "quit | exit",
    ] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(cmd)),
            "help lacks {cmd}: {}",
            run.stdout
        );
    }
}

#[test]
fn errors_are_answered_and_make_a_piped_session_exit_1() {
    let dir = temp_db();
    assert_transcript(
        dir.path(),
        &[
            ("commit", "(error) no active transaction"),
            ("rollback", "(error) no active transaction"),
            ("begin", "OK"),
            ("begin", "(error) transaction already active"),
            (
                "kv put k",
                "(error) usage: kv put KEY VALUE (quote a value with spaces)",
            ),
            ("kv put k \"open", "(error) unterminated \" quote"),
            ("frobnicate", "(error) unknown command 'frobnicate' (try help)"),
            ("kv frob", "(error) unknown command 'kv frob' (try help)"),
            (
                "kv list --limit lots",
                "(error) --limit wants a non-negative integer, not \"lots\"",
            ),
            ("txn", "(error) usage: txn info"),
            ("commit", "OK"),
        ],
        1,
    );
}

#[test]
fn a_clean_scripted_transaction_exits_0_for_the_shell_retry_loop() {
    let dir = temp_db();
    let script = "begin\nkv get counter\nkv put counter 1\ncommit\n";
    let run = repl(dir.path(), script);
    assert_eq!(run.stdout, "OK\n(nil)\nOK\n(version) 1\n");
    assert_eq!(run.code, Some(0));
}

#[test]
fn end_of_input_and_quit_roll_back_an_open_transaction() {
    let dir = temp_db();
    let run = repl(dir.path(), "begin\nkv put k uncommitted\n");
    assert_eq!(run.stdout, "OK\nOK\n");
    assert_eq!(run.code, Some(0));
    assert!(run.stderr.contains("rolled back"), "stderr: {}", run.stderr);
    let run = repl(dir.path(), "begin\nkv put k also-uncommitted\nquit\n");
    assert!(run.stderr.contains("rolled back"), "stderr: {}", run.stderr);
    let run = repl(dir.path(), "kv get k\nkv list\n");
    assert_eq!(run.stdout, "(nil)\n(empty list)\n", "nothing leaked");
    assert!(!run.stderr.contains("rolled back"));
}

#[test]
fn committed_data_survives_a_restart() {
    let dir = temp_db();
    let run = repl(
        dir.path(),
        "kv put a 1\nbegin\nkv put b two\nkv put c 3\ncommit\n",
    );
    assert_eq!(run.stdout, "(version) 1\nOK\nOK\nOK\n(version) 2\n");
    let run = repl(
        dir.path(),
        "kv get a --with-version\nkv get b\nkv list\nkv put d 4\n",
    );
    assert_eq!(
        run.stdout,
        "1\n(version) 1\n\"two\"\n1) a\n2) b\n3) c\n(version) 3\n"
    );
}

#[test]
fn an_unusable_db_dir_is_a_one_line_error_with_exit_2() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let run = repl(file.path(), "kv get x\n");
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stderr.lines().count(), 1, "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty());
}
