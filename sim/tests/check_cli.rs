//! Runs the built `occsim` binary on the checker's fixtures: exit codes 0/1/2, `--json` fields,
//! one-line errors for malformed input and usage errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checker/tests/fixtures")
        .join(name)
}

fn occsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_occsim"))
        .args(args)
        .output()
        .expect("run occsim")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

#[test]
fn valid_history_exits_0() {
    let path = fixture("examples/valid-sequential.json");
    let out = occsim(&["check", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["valid"], true);
    assert_eq!(v["anomaly_types"], serde_json::json!([]));
    assert_eq!(v["violations"], serde_json::json!([]));
}

#[test]
fn violation_exits_1_with_fixed_json_fields() {
    let path = fixture("examples/write-skew-g2-item.json");
    let out = occsim(&[
        "check",
        path.to_str().unwrap(),
        "--model",
        "rw-register",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["valid"], false);
    assert_eq!(v["anomaly_types"], serde_json::json!(["G2-item"]));
    let first = &v["violations"][0];
    assert_eq!(first["check"], "serializability");
    assert_eq!(first["kind"], "G2-item");
    assert_eq!(first["txns"], serde_json::json!([2, 3]));
    assert!(first["explanation"].as_str().unwrap().contains("-rw(oncall-b"));
}

#[test]
fn human_output_puts_the_verdict_first() {
    let path = fixture("examples/native-lost-commit.jsonl");
    let out = occsim(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("INVALID (native model)"), "{text}");
    assert!(text.contains("[durability] lost-commit"), "{text}");
}

#[test]
fn malformed_input_exits_2_with_one_line() {
    let dir = std::env::temp_dir().join(format!("occsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[u8]); 4] = [
        (
            "truncated.json",
            b"[{\"index\":0,\"process\":0,\"type\":\"invoke\"",
        ),
        (
            "wrong-type.jsonl",
            b"{\"index\":\"x\",\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[]}\n",
        ),
        (
            "unknown-type.jsonl",
            b"{\"index\":0,\"process\":0,\"type\":\"maybe\",\"f\":\"txn\",\"value\":[]}\n",
        ),
        ("random.bin", &[0x93, 0xff, 0x00, 0x12, 0x7b, 0xc3, 0x28]),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = occsim(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(occsim(&["check"]).status.code(), Some(2));
    assert_eq!(occsim(&["check", "x", "--model", "bogus"]).status.code(), Some(2));
    assert_eq!(occsim(&["check", "x", "--frobnicate"]).status.code(), Some(2));
    let missing = occsim(&["check", "/nonexistent/history.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8(missing.stderr)
        .unwrap()
        .contains("/nonexistent/history.json"));
}
