//! Every committed fixture gets the verdict its README table gives (the shared examples too),
//! and every fixture survives a parse / write / parse round trip unchanged.

use std::path::Path;

use checker::{check, parse_str, write_jsonl, CheckOptions, Model};

/// One row of a fixture table: file, model, whether valid, the kinds that must be reported.
struct Row {
    file: String,
    model: Model,
    valid: bool,
    kinds: Vec<String>,
}

/// Reads the `| file | model | valid? | anomaly types | why |` table of a README.
fn rows(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("README.md")).expect("fixture README");
    text.lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|c| c.len() >= 5 && (c[1].ends_with(".json") || c[1].ends_with(".jsonl")))
        .map(|c| Row {
            file: c[1].to_string(),
            model: c[2].parse().expect("model name"),
            valid: c[3] == "yes",
            kinds: c[4]
                .split(',')
                .filter_map(|k| k.split_whitespace().next())
                .filter(|k| *k != "none")
                .map(str::to_string)
                .collect(),
        })
        .collect()
}

fn check_dir(dir: &Path) -> usize {
    let rows = rows(dir);
    for row in &rows {
        let text = std::fs::read_to_string(dir.join(&row.file)).expect("fixture file");
        let history = parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", row.file));
        let options = CheckOptions {
            model: Some(row.model),
            ..CheckOptions::default()
        };
        let verdict = check(&history, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", row.file))
            .verdict;
        assert_eq!(verdict.valid, row.valid, "{}: {verdict:#?}", row.file);
        if row.valid {
            assert!(verdict.anomaly_types.is_empty(), "{}: {verdict:#?}", row.file);
        }
        for kind in &row.kinds {
            assert!(
                verdict.anomaly_types.contains(kind),
                "{}: expected {kind}, got {:?}",
                row.file,
                verdict.anomaly_types
            );
        }
        for v in &verdict.violations {
            assert!(
                !v.explanation.is_empty() && !v.txns.is_empty(),
                "{}: {v:?}",
                row.file
            );
        }
        let mut out = Vec::new();
        write_jsonl(&history, &mut out).expect("write");
        let again = parse_str(std::str::from_utf8(&out).expect("utf8")).expect("reparse");
        assert_eq!(again, history, "{} does not round-trip", row.file);
    }
    rows.len()
}

#[test]
fn fixtures_get_their_verdicts() {
    let n = check_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    assert!(n >= 40, "only {n} fixtures found");
}

#[test]
fn shared_examples_get_their_verdicts() {
    let n = check_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/examples"));
    assert_eq!(n, 5);
}

#[test]
fn every_kind_has_a_violating_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut kinds: Vec<String> = rows(&dir).into_iter().flat_map(|r| r.kinds).collect();
    kinds.extend(rows(&dir.join("examples")).into_iter().flat_map(|r| r.kinds));
    for kind in [
        "G0",
        "G1a",
        "G1b",
        "G1c",
        "G-single",
        "G2-item",
        "G2",
        "lost-update",
        "internal",
        "garbage-read",
        "incompatible-order",
        "duplicate-write",
        "wrong-total",
        "negative-value",
        "first-committer-wins",
        "lost-commit",
        "partial-commit",
        "version-order",
        "stale-read",
        "version-mismatch",
        "snapshot-too-old",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no fixture for {kind}");
    }
}

#[test]
fn realtime_and_process_edges_find_stale_order() {
    // T1 writes x=1 and completes; T3 is invoked afterwards yet reads x absent: serializable
    // (T3 before T1) but not strictly serializable.
    let text = r#"[{"index":0,"process":0,"type":"invoke","f":"txn","value":[["w","x",1]]},
{"index":1,"process":0,"type":"ok","f":"txn","value":[["w","x",1]]},
{"index":2,"process":1,"type":"invoke","f":"txn","value":[["r","x",null]]},
{"index":3,"process":1,"type":"ok","f":"txn","value":[["r","x",null]]}]"#;
    let history = parse_str(text).expect("parse");
    let plain = check(&history, &CheckOptions::default()).expect("check");
    assert!(plain.verdict.valid);
    let strict = CheckOptions {
        realtime_edges: true,
        ..CheckOptions::default()
    };
    let verdict = check(&history, &strict).expect("check").verdict;
    assert_eq!(verdict.anomaly_types, vec!["G-single-realtime".to_string()]);
}
