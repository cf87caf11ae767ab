//! `occsim run`, `replay` and `mutants` through the real binary: exit
//! codes, report fields, reproduction of failures, divergence detection.

use std::path::Path;
use std::process::{Command, Output};

fn occsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_occsim"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/all-workloads.toml").to_owned()
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_valid_run_writes_a_report_and_replays_to_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = occsim(&["run", "--seed", "5", "--out", out]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("verdict: valid") && text.contains("occsim replay"),
        "{text}"
    );
    let r = report(dir.path());
    for field in [
        "version",
        "build",
        "scenario",
        "seed",
        "swarm",
        "mutant",
        "config",
        "choices",
        "trace_hash",
        "stats",
        "verdict",
        "repro",
    ] {
        assert!(r.get(field).is_some(), "report lacks {field}");
    }
    assert_eq!(r["scenario"], "default");
    assert_eq!(r["verdict"]["valid"], true);
    assert!(r["trace_hash"].as_str().unwrap().len() >= 16);
    for stat in [
        "steps",
        "txns",
        "committed",
        "aborted",
        "indeterminate",
        "crashes",
        "recoveries",
        "fsync_failures",
    ] {
        assert!(r["stats"].get(stat).is_some(), "stats lack {stat}");
    }
    let history = std::fs::read_to_string(dir.path().join("history.jsonl")).unwrap();
    assert!(history.starts_with("{\"type\":\"meta\""));
    let replay = occsim(&["replay", dir.path().join("report.json").to_str().unwrap()]);
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replay.stdout)
    );
    let check = occsim(&["check", dir.path().join("history.jsonl").to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0));
}

#[test]
fn a_failing_run_exits_1_and_its_replay_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = occsim(&[
        "run",
        &fixture(),
        "--seed",
        "0",
        "--mutant",
        "skip-read-validation",
        "--out",
        out,
    ]);
    assert_eq!(run.status.code(), Some(1));
    let r = report(dir.path());
    assert_eq!(r["mutant"], "skip-read-validation");
    assert_eq!(r["verdict"]["valid"], false);
    let path = dir.path().join("report.json");
    let replay = occsim(&["replay", path.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&replay.stdout).contains("reproduced the failure"));

    let mut tampered = r.clone();
    tampered["trace_hash"] = "00000000000000000000000000000000".into();
    std::fs::write(&path, serde_json::to_string(&tampered).unwrap()).unwrap();
    let diverged = occsim(&["replay", path.to_str().unwrap()]);
    assert_eq!(diverged.status.code(), Some(3));
}

#[test]
fn json_output_is_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let run = occsim(&[
        "run",
        "--seed",
        "1",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let printed: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(printed, report(dir.path()));
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[workload]\nagentz = 3\n").unwrap();
    let missing = dir.path().join("missing.toml");
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", bad.to_str().unwrap(), "--seed", "1"],
        vec!["run", missing.to_str().unwrap()],
        vec!["run", "--mutant", "no-such-bug"],
        vec!["run", "--seed", "minus-one"],
        vec!["replay", missing.to_str().unwrap()],
        vec!["run", "--choices", missing.to_str().unwrap()],
    ];
    for args in cases {
        let out = occsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let out = occsim(&["run", bad.to_str().unwrap(), "--seed", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("agentz"), "{err}");
}

#[test]
fn mutants_lists_twelve_named_bugs() {
    let out = occsim(&["mutants"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 12);
    assert!(text.lines().all(|l| l.split_whitespace().count() >= 2));
    assert!(text.contains("ack-before-fsync"));
}

#[test]
fn a_choices_file_drives_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let choices = dir.path().join("choices.json");
    std::fs::write(&choices, "[[\"scheduler\", 0], [\"workload\", 1]]").unwrap();
    let out_dir = dir.path().join("out");
    let run = occsim(&[
        "run",
        "--seed",
        "1",
        "--choices",
        choices.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(report(&out_dir)["choices"], "choices.json");
    let replay = occsim(&["replay", out_dir.join("report.json").to_str().unwrap()]);
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replay.stdout)
    );
}

#[test]
fn bench_measures_each_group_of_figures_in_a_process_of_its_own() {
    let bench = occsim(&[
        "bench",
        "--quick",
        "--json",
        "--only",
        "engine_txn_per_s,fsync_commits_per_s",
    ]);
    let stderr = String::from_utf8_lossy(&bench.stderr);
    assert_eq!(bench.status.code(), Some(0), "{stderr}");
    let figures: serde_json::Value = serde_json::from_slice(&bench.stdout).unwrap();
    for name in ["engine_txn_per_s", "fsync_commits_per_s"] {
        let median = figures[name].as_f64().unwrap_or(0.0);
        let spread = figures[format!("{name}_spread")].as_f64().unwrap_or(0.0);
        assert!(median > 0.0 && spread >= 1.0, "{name}: {figures}");
    }
    assert_eq!(
        figures.as_object().map(|o| o.len()),
        Some(4),
        "only what was asked for: {figures}"
    );
    // Each group was measured by a child `occsim bench` of its own.
    assert_eq!(stderr.matches("a fresh process for").count(), 2, "{stderr}");
    assert_eq!(stderr.matches("occsim bench: measuring").count(), 2, "{stderr}");
}
