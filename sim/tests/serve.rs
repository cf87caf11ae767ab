//! Drives `occsim serve` through pipes: the OCC task's sample exchange, every request and reply,
//! the engine spec's conflict table through explicit read versions, Maelstrom's `txn` workload,
//! a burst of malformed lines the node survives, and durability across restarts with `--db`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// What one run of the node printed.
struct Run {
    /// stdout, line by line: only protocol messages.
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

impl Run {
    /// Every stdout line, parsed (each must be JSON).
    fn replies(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line {l:?} is not JSON: {e}")))
            .collect()
    }

    /// The reply bodies, which is what most tests look at.
    fn bodies(&self) -> Vec<Value> {
        self.replies().into_iter().map(|r| r["body"].clone()).collect()
    }
}

/// Feeds `input` (raw bytes, so tests can send non-UTF-8) to `occsim serve [--db DIR]`.
fn serve_bytes(db: Option<&Path>, input: &[u8]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_occsim"));
    cmd.arg("serve");
    if let Some(dir) = db {
        cmd.arg("--db").arg(dir);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start occsim serve");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // Written from another thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for occsim serve");
    // A node that refuses its --db exits before reading: a broken pipe then
    // is its answer, not the test's failure.
    if let Err(e) = writer.join().expect("writer thread") {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// Sends one message per body, from client `c1` to node `n1`.
fn serve(db: Option<&Path>, bodies: &[Value]) -> Run {
    let mut input = String::new();
    for body in bodies {
        input.push_str(&json!({"src": "c1", "dest": "n1", "body": body}).to_string());
        input.push('\n');
    }
    serve_bytes(db, input.as_bytes())
}

fn init(msg_id: u64) -> Value {
    json!({"type": "init", "msg_id": msg_id, "node_id": "n1", "node_ids": ["n1"]})
}

#[test]
fn the_task_sample_exchange_gives_the_expected_replies() {
    let input = r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}
{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}
{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":3,"txn_id":"t1","writes":[{"key":"x","value":"1"}],"read_versions":[]}}
{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":4,"txn_id":"t2","writes":[{"key":"x","value":"new"}],"read_versions":[{"key":"x","version":999}]}}
"#;
    let run = serve_bytes(None, input.as_bytes());
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let replies = run.replies();
    assert_eq!(
        replies,
        vec![
            json!({"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1,"msg_id":0}}),
            json!({"src":"n1","dest":"c1","body":{"type":"occ_begin_ok","txn_id":"t1","in_reply_to":2,"msg_id":1}}),
            json!({"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","committed":true,"new_version":1,
                   "in_reply_to":3,"msg_id":2}}),
            json!({"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","committed":false,"new_version":null,
                   "in_reply_to":4,"msg_id":3}}),
        ]
    );
    // The task's own sample tests each run on a fresh node and expect the init_ok first.
    let second_case = r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}
{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":2,"txn_id":"t1","writes":[{"key":"x","value":"new"}],"read_versions":[{"key":"x","version":999}]}}
"#;
    let replies = serve_bytes(None, second_case.as_bytes()).replies();
    assert_eq!(
        replies[0],
        json!({"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}})
    );
    assert_eq!(replies[1]["body"]["committed"], false);
}

#[test]
fn every_request_gets_its_reply() {
    let run = serve(
        None,
        &[
            init(1),
            json!({"type": "occ_begin", "msg_id": 2}),
            json!({"type": "occ_read", "msg_id": 3, "txn_id": "t1", "key": "x"}),
            json!({"type": "occ_commit", "msg_id": 4, "txn_id": "t1",
                   "writes": [{"key": "x", "value": "42"}], "read_versions": [{"key": "x", "version": null}]}),
            json!({"type": "occ_begin", "msg_id": 5}),
            json!({"type": "occ_read", "msg_id": 6, "txn_id": "t2", "key": "x"}),
            json!({"type": "occ_commit", "msg_id": 7, "txn_id": "t2",
                   "writes": [{"key": "x", "value": "43"}], "read_versions": [{"key": "x", "version": 1}]}),
            json!({"type": "occ_read", "msg_id": 8, "key": "x"}),
            json!({"type": "occ_commit", "msg_id": 9, "writes": [], "read_versions": [{"key": "x", "version": 2}]}),
            json!({"type": "txn", "msg_id": 10, "txn": [["r", 1, null], ["w", 1, 7], ["r", 1, null], ["r", "x", null]]}),
            json!({"type": "txn", "msg_id": 11, "txn": [["r", 1, null]]}),
            json!({"type": "echo", "msg_id": 12, "echo": "hi"}),
        ],
    );
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let expected = [
        json!({"type": "init_ok", "in_reply_to": 1, "msg_id": 0}),
        json!({"type": "occ_begin_ok", "txn_id": "t1", "in_reply_to": 2, "msg_id": 1}),
        json!({"type": "occ_read_ok", "value": null, "version": null, "in_reply_to": 3, "msg_id": 2}),
        json!({"type": "occ_commit_ok", "committed": true, "new_version": 1, "in_reply_to": 4, "msg_id": 3}),
        json!({"type": "occ_begin_ok", "txn_id": "t2", "in_reply_to": 5, "msg_id": 4}),
        json!({"type": "occ_read_ok", "value": "42", "version": 1, "in_reply_to": 6, "msg_id": 5}),
        json!({"type": "occ_commit_ok", "committed": true, "new_version": 2, "in_reply_to": 7, "msg_id": 6}),
        json!({"type": "occ_read_ok", "value": "43", "version": 2, "in_reply_to": 8, "msg_id": 7}),
        // Validation only: nothing written, so no new version.
        json!({"type": "occ_commit_ok", "committed": true, "new_version": null, "in_reply_to": 9, "msg_id": 8}),
        json!({"type": "txn_ok", "txn": [["r", 1, null], ["w", 1, 7], ["r", 1, 7], ["r", "x", "43"]],
               "in_reply_to": 10, "msg_id": 9}),
        json!({"type": "txn_ok", "txn": [["r", 1, 7]], "in_reply_to": 11, "msg_id": 10}),
        json!({"type": "error", "code": 10, "text": "unsupported message type \"echo\"",
               "in_reply_to": 12, "msg_id": 11}),
    ];
    assert_eq!(run.bodies(), expected);
    assert!(run
        .replies()
        .iter()
        .all(|r| r["src"] == "n1" && r["dest"] == "c1"));
}

#[test]
fn values_round_trip_byte_for_byte() {
    let input = concat!(
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":1,"writes":[{"key":"doc","value":{"b": 1,  "a": [1.50, "x\u0041"]}}],"read_versions":[]}}"#,
        "\n",
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":2,"key":"doc"}}"#,
        "\n",
    );
    let run = serve_bytes(None, input.as_bytes());
    let read = run.stdout.lines().nth(1).expect("a reply to the read");
    assert!(
        read.contains(r#""value":{"b": 1,  "a": [1.50, "x\u0041"]}"#),
        "the value comes back as sent: {read}"
    );
}

/// The conflict table of spec/engine.md, through the protocol: setup commits `k` and `j` (version 1;
/// `new` stays absent), two transactions begin and read in their snapshots, the first commits, then
/// the second commits with exactly the versions it read.
#[test]
fn the_conflict_table_holds_through_the_protocol() {
    struct Row {
        name: &'static str,
        first_reads: &'static [&'static str],
        first_writes: &'static [&'static str],
        second_reads: &'static [&'static str],
        second_writes: &'static [&'static str],
        second_commits: bool,
    }
    let rows = [
        Row {
            name: "read k / wrote k",
            first_reads: &[],
            first_writes: &["k"],
            second_reads: &["k"],
            second_writes: &["j"],
            second_commits: false,
        },
        Row {
            name: "read k, wrote k / read k, wrote k",
            first_reads: &["k"],
            first_writes: &["k"],
            second_reads: &["k"],
            second_writes: &["k"],
            second_commits: false,
        },
        Row {
            name: "read k / wrote j",
            first_reads: &[],
            first_writes: &["j"],
            second_reads: &["k"],
            second_writes: &["k"],
            second_commits: true,
        },
        Row {
            name: "wrote k blind / read k, wrote k",
            first_reads: &["k"],
            first_writes: &["k"],
            second_reads: &[],
            second_writes: &["k"],
            second_commits: true,
        },
        Row {
            name: "wrote k blind / wrote k blind",
            first_reads: &[],
            first_writes: &["k"],
            second_reads: &[],
            second_writes: &["k"],
            second_commits: true,
        },
        Row {
            name: "read absent k / created k",
            first_reads: &[],
            first_writes: &["new"],
            second_reads: &["new"],
            second_writes: &["new"],
            second_commits: false,
        },
    ];
    let setup_version = |key: &str| if key == "new" { Value::Null } else { json!(1) };
    for row in rows {
        let writes = |keys: &[&str], v: &str| -> Value {
            keys.iter().map(|k| json!({"key": k, "value": v})).collect()
        };
        let versions = |keys: &[&str]| -> Value {
            keys.iter()
                .map(|k| json!({"key": k, "version": setup_version(k)}))
                .collect()
        };
        let mut bodies = vec![
            json!({"type": "occ_commit", "msg_id": 1, "writes": writes(&["k", "j"], "0"), "read_versions": []}),
            json!({"type": "occ_begin", "msg_id": 2}),
            json!({"type": "occ_begin", "msg_id": 3}),
        ];
        let reads: Vec<(&str, &str)> = row
            .first_reads
            .iter()
            .map(|k| ("t1", *k))
            .chain(row.second_reads.iter().map(|k| ("t2", *k)))
            .collect();
        for (i, (txn, key)) in reads.iter().enumerate() {
            bodies.push(json!({"type": "occ_read", "msg_id": 10 + i, "txn_id": txn, "key": key}));
        }
        bodies.push(json!({"type": "occ_commit", "msg_id": 100, "txn_id": "t1",
                           "writes": writes(row.first_writes, "1"), "read_versions": versions(row.first_reads)}));
        bodies.push(json!({"type": "occ_commit", "msg_id": 101, "txn_id": "t2",
                           "writes": writes(row.second_writes, "2"), "read_versions": versions(row.second_reads)}));
        let out = serve(None, &bodies).bodies();
        assert_eq!(out.len(), bodies.len(), "{}: {out:?}", row.name);
        for (i, (_, key)) in reads.iter().enumerate() {
            assert_eq!(
                out[3 + i]["version"],
                setup_version(key),
                "{}: the snapshot read of {key}",
                row.name
            );
        }
        let n = out.len();
        assert_eq!(
            out[n - 2]["committed"],
            true,
            "{}: the first committer wins: {out:?}",
            row.name
        );
        assert_eq!(
            out[n - 1]["committed"],
            row.second_commits,
            "{}: {out:?}",
            row.name
        );
    }
}

#[test]
fn a_snapshot_read_after_a_concurrent_commit_sees_the_old_version_and_aborts() {
    let run = serve(
        None,
        &[
            json!({"type": "occ_commit", "msg_id": 1, "writes": [{"key": "x", "value": 1}], "read_versions": []}),
            json!({"type": "occ_begin", "msg_id": 2}),
            json!({"type": "occ_commit", "msg_id": 3, "writes": [{"key": "x", "value": 2}], "read_versions": []}),
            json!({"type": "occ_read", "msg_id": 4, "txn_id": "t1", "key": "x"}),
            json!({"type": "occ_commit", "msg_id": 5, "txn_id": "t1", "writes": [{"key": "x", "value": 3}],
                   "read_versions": [{"key": "x", "version": 1}]}),
        ],
    );
    let bodies = run.bodies();
    assert_eq!(
        (bodies[3]["value"].clone(), bodies[3]["version"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(bodies[4]["committed"], false);
}

#[test]
fn a_burst_of_malformed_lines_is_answered_or_reported_and_the_node_keeps_serving() {
    let mut input: Vec<u8> = Vec::new();
    let bad_lines: &[&[u8]] = &[
        b"garbage",
        b"{",
        b"[]",
        b"null",
        b"\"just a string\"",
        b"{\"src\":\"c1\"}",
        b"{\"src\":\"c1\",\"dest\":\"n1\",\"body\":[1,2]}",
        b"{\"src\":\"c1\",\"dest\":\"n1\",\"body\":{\"type\":\"occ_begin\"}}",
        b"{\"src\":\"c1\",\"dest\":\"n1\",\"body\":{\"type\":\"occ_begin\",\"msg_id\":-1}}",
        b"{\"src\":\"c1\",\"dest\":\"n1\",\"body\":{\"type\":\"occ_begin\",\"msg_id\":\"7\"}}",
        b"\xff\xfe not utf-8",
        b"   ",
        b"",
    ];
    for _ in 0..20 {
        for line in bad_lines {
            input.extend_from_slice(line);
            input.push(b'\n');
        }
    }
    // Answerable but malformed: each gets an error reply with the right code.
    let answerable = [
        (json!({"type": 5, "msg_id": 1}), 12),
        (json!({"msg_id": 2}), 12),
        (json!({"type": "occ_read", "msg_id": 3}), 12),
        (
            json!({"type": "occ_read", "msg_id": 4, "key": "x", "txn_id": 9}),
            12,
        ),
        (
            json!({"type": "occ_commit", "msg_id": 5, "writes": [{"key": "x"}]}),
            12,
        ),
        (json!({"type": "occ_commit", "msg_id": 6, "writes": 3}), 12),
        (
            json!({"type": "occ_commit", "msg_id": 7, "read_versions": [{"key": "x", "version": "5"}]}),
            12,
        ),
        (
            json!({"type": "occ_commit", "msg_id": 8, "read_versions": [{"key": "x", "version": -5}]}),
            12,
        ),
        (
            json!({"type": "occ_commit", "msg_id": 9, "writes": [{"key": "x".repeat(3000), "value": 1}]}),
            12,
        ),
        (json!({"type": "init", "msg_id": 10}), 12),
        (json!({"type": "txn", "msg_id": 11, "txn": [["r"]]}), 12),
        (
            json!({"type": "txn", "msg_id": 12, "txn": [["append", 1, 2]]}),
            10,
        ),
        (json!({"type": "nope", "msg_id": 13}), 10),
    ];
    for (body, _) in &answerable {
        input.extend_from_slice(
            json!({"src": "c1", "dest": "n1", "body": body})
                .to_string()
                .as_bytes(),
        );
        input.push(b'\n');
    }
    input.extend_from_slice(
        json!({"src": "c1", "dest": "n1", "body": {"type": "occ_begin", "msg_id": 14}})
            .to_string()
            .as_bytes(),
    );
    // The last line has no newline: it is still a line.
    let run = serve_bytes(None, &input);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let bodies = run.bodies();
    assert_eq!(bodies.len(), answerable.len() + 1, "stdout: {}", run.stdout);
    for (i, (_, code)) in answerable.iter().enumerate() {
        assert_eq!(bodies[i]["type"], "error", "reply {i}: {}", bodies[i]);
        assert_eq!(bodies[i]["code"], *code, "reply {i}: {}", bodies[i]);
        assert_eq!(bodies[i]["in_reply_to"], i as u64 + 1);
        assert_eq!(
            bodies[i]["msg_id"], i as u64,
            "the node's own ids count only what it sent"
        );
    }
    assert_eq!(bodies.last().unwrap()["type"], "occ_begin_ok");
    // Every unanswerable, non-blank line left one stderr line.
    assert_eq!(run.stderr.lines().count(), 20 * 11, "stderr: {}", run.stderr);
    assert!(run.stderr.lines().all(|l| l.starts_with("occsim serve: line ")));
}

#[test]
fn with_db_commits_survive_a_restart_and_without_it_nothing_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let commit = json!({"type": "occ_commit", "msg_id": 1, "writes": [{"key": "x", "value": "kept"}],
                        "read_versions": []});
    let read = json!({"type": "occ_read", "msg_id": 2, "key": "x"});
    let first = serve(Some(dir.path()), std::slice::from_ref(&commit)).bodies();
    assert_eq!(first[0]["new_version"], 1);
    let second = serve(Some(dir.path()), &[read.clone(), commit]).bodies();
    assert_eq!(
        (second[0]["value"].clone(), second[0]["version"].clone()),
        (json!("kept"), json!(1))
    );
    assert_eq!(
        second[1]["new_version"], 2,
        "sequence numbers resume above the recovered ones"
    );
    let in_memory = serve(None, &[read]).bodies();
    assert_eq!(in_memory[0]["value"], Value::Null);
}

#[test]
fn an_unusable_db_dir_is_a_one_line_error_with_exit_2() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let run = serve(Some(file.path()), &[]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stderr.lines().count(), 1, "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty());
}
