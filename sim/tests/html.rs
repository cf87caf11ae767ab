//! The HTML report's structure, checked on real simulated runs: one lane per
//! client process, one bar per transaction, crash markers, the cycle graph of
//! each violation, escaping, and windowing of big histories.

use std::collections::BTreeSet;
use std::path::Path;

use checker::{History, OpType, Process};
use engine::Mutant;
use sim::report::Report;
use sim::run::{run, RunResult, RunSpec};
use sim::scenario::Scenario;

fn all_workloads() -> Scenario {
    Scenario::from_toml(include_str!("fixtures/all-workloads.toml")).unwrap()
}

/// A run with a planted bug, its report and its rendered page.
fn failing_run(scenario: Scenario, seed: u64) -> (RunResult, Report, String) {
    let mut spec = RunSpec::new(scenario.clone(), seed);
    spec.mutant = Some(Mutant::SkipReadValidation);
    let result = run(spec);
    let report = Report::new(
        &result,
        &scenario,
        seed,
        false,
        Some("skip-read-validation".into()),
        None,
        Path::new("reports/test"),
    );
    let html = sim::html::render(&report, &result.history);
    (result, report, html)
}

/// The first seed whose failing run both crashed and showed read skew (a
/// cycle), so the tests do not hinge on what one seed happens to do.
fn crashed_with_read_skew() -> (RunResult, Report, String) {
    (0..64)
        .map(|seed| failing_run(all_workloads(), seed))
        .find(|(result, report, _)| {
            result.history.ops.iter().any(|op| op.f.name() == "crash")
                && report.verdict.violations.iter().any(|v| v.kind == "G-single")
        })
        .expect("some seed crashes and shows read skew under skip-read-validation")
}

/// Every start tag (`<name ...>`) whose class list contains `class`.
/// Attribute values are escaped by the renderer, so no `>` occurs inside one.
fn tags<'a>(html: &'a str, class: &str) -> Vec<&'a str> {
    html.match_indices('<')
        .filter_map(|(at, _)| html[at..].find('>').map(|end| &html[at..at + end + 1]))
        .filter(|tag| attr(tag, "class").is_some_and(|c| c.split(' ').any(|x| x == class)))
        .collect()
}

/// The value of attribute `name` in a start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

fn num(tag: &str, name: &str) -> u64 {
    attr(tag, name)
        .unwrap_or_else(|| panic!("{name} in {tag}"))
        .parse()
        .unwrap()
}

/// The HTML of violation card `id` (from its start tag to its end).
fn card<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("card {id}"));
    let len = html[start..].find("</section>").unwrap();
    &html[start..start + len]
}

/// History indices of the completion ops of client transactions.
fn completions(history: &History) -> BTreeSet<u64> {
    history
        .ops
        .iter()
        .filter(|op| op.op_type != OpType::Invoke && matches!(op.process, Process::Client(_)))
        .map(|op| op.index)
        .collect()
}

#[test]
fn a_failing_run_has_a_lane_per_process_a_bar_per_transaction_and_crash_markers() {
    let (result, report, html) = crashed_with_read_skew();
    assert!(!report.verdict.valid, "the mutant is caught");
    let processes: BTreeSet<u64> = result
        .history
        .ops
        .iter()
        .filter_map(|op| match op.process {
            Process::Client(p) => Some(p),
            Process::Nemesis => None,
        })
        .collect();
    let lanes: BTreeSet<u64> = tags(&html, "lane")
        .iter()
        .map(|t| num(t, "data-process"))
        .collect();
    assert_eq!(lanes, processes);
    assert_eq!(
        tags(&html, "lane").len(),
        report.config.workload.agents as usize + 1,
        "agents + setup"
    );

    let bars: Vec<u64> = tags(&html, "bar").iter().map(|t| num(t, "data-txn")).collect();
    let expected = completions(&result.history);
    assert_eq!(bars.len(), expected.len(), "one bar per transaction");
    assert_eq!(bars.iter().copied().collect::<BTreeSet<_>>(), expected);
    for t in tags(&html, "bar") {
        assert!(num(t, "data-start") <= num(t, "data-end"), "{t}");
    }

    let crashes: Vec<u64> = result
        .history
        .ops
        .iter()
        .filter(|op| op.process == Process::Nemesis && op.f.name() == "crash")
        .map(|op| op.index)
        .collect();
    assert!(!crashes.is_empty(), "the run crashed");
    let markers: Vec<u64> = tags(&html, "crash")
        .iter()
        .filter(|t| t.starts_with("<g"))
        .map(|t| num(t, "data-index"))
        .collect();
    assert_eq!(markers, crashes);
    let recoveries = tags(&html, "recover")
        .iter()
        .filter(|t| t.starts_with("<g"))
        .count();
    assert_eq!(recoveries as u64, report.stats.recoveries);
    assert_eq!(attr(tags(&html, "timeline")[0], "data-windowed"), Some("false"));
}

#[test]
fn each_violation_draws_its_cycle_and_highlights_its_transactions() {
    let (_, report, html) = crashed_with_read_skew();
    let violations = &report.verdict.violations;
    assert_eq!(tags(&html, "violation").len(), violations.len());
    let (i, v) = violations
        .iter()
        .enumerate()
        .find(|(_, v)| v.kind == "G-single")
        .expect("the mutant causes read skew");
    let card = card(&html, &format!("v{}", i + 1));
    assert!(card.contains("data-parsed=\"true\""), "{card}");
    let nodes: BTreeSet<u64> = tags(card, "node").iter().map(|t| num(t, "data-txn")).collect();
    assert_eq!(nodes, v.txns.iter().copied().collect());
    // The explanation's compact cycle: `T307 -rw(acct/5: 191 -> 210)-> T305 -ww(...)-> T307.`
    let compact = v.explanation.split(": ").skip(1).collect::<Vec<_>>().join(": ");
    let arrows = compact.split(". ").next().unwrap().matches(")-> T").count();
    let edges = tags(card, "edge");
    assert_eq!(edges.len(), arrows, "{}", v.explanation);
    let kinds: BTreeSet<&str> = edges.iter().filter_map(|t| attr(t, "data-kind")).collect();
    assert!(kinds.contains("rw"), "G-single has an anti-dependency: {kinds:?}");
    for e in &edges {
        assert!(nodes.contains(&num(e, "data-from")) && nodes.contains(&num(e, "data-to")));
    }
    let after_first = compact.split_once(" -").unwrap().1;
    let first_label = &after_first[..after_first.find(")-> T").unwrap() + 1];
    assert!(
        card.contains(&format!(">{}</text>", first_label.replace('>', "&gt;"))),
        "edge label {first_label} in {card}"
    );

    for t in &v.txns {
        let bar = tags(&html, "bar")
            .into_iter()
            .find(|b| num(b, "data-txn") == *t)
            .unwrap_or_else(|| panic!("bar of T{t}"));
        assert!(attr(bar, "class").unwrap().contains("involved"), "{bar}");
        let cards = attr(bar, "data-violations").unwrap();
        assert!(cards.split(' ').any(|c| c == format!("v{}", i + 1)), "{bar}");
    }
    let involved: BTreeSet<u64> = violations.iter().flat_map(|v| v.txns.iter().copied()).collect();
    let highlighted = tags(&html, "involved")
        .iter()
        .filter(|t| t.starts_with("<rect"))
        .count();
    assert_eq!(highlighted, involved.len());
}

#[test]
fn text_from_data_is_escaped_and_unparsed_explanations_still_show_their_transactions() {
    let (result, mut report, _) = crashed_with_read_skew();
    let (a, b) = {
        let mut c = completions(&result.history).into_iter().skip(3);
        (c.next().unwrap(), c.next().unwrap())
    };
    report.scenario = "<b>bold</b>".into();
    report.verdict.violations.truncate(1);
    report.verdict.violations[0].kind = "G2-item".into();
    report.verdict.violations[0].txns = vec![a, b];
    report.verdict.violations[0].explanation = format!(
        "G2-item (x): T{a} -rw(<k>: \"</p>\" -> 2)-> T{b} -wr(<k>=2)-> T{a}. <script>alert(1)</script>"
    );
    report.verdict.violations.push(checker::Violation {
        check: "conservation".into(),
        kind: "wrong-total".into(),
        txns: vec![b],
        explanation: format!("T{b} read 'a' & \"b\" <i>"),
    });
    let html = sim::html::render(&report, &result.history);
    assert!(!html.contains("<script>alert"), "data is not markup");
    assert!(!html.contains("<b>bold"));
    assert!(!html.contains("<i>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(html.contains(&format!("T{b} read &#39;a&#39; &amp; &quot;b&quot; &lt;i&gt;")));
    let first = card(&html, "v1");
    assert!(
        first.contains("rw(&lt;k&gt;: &quot;&lt;/p&gt;&quot; -&gt; 2)</text>"),
        "{first}"
    );
    assert_eq!(tags(first, "edge").len(), 2);
    let second = card(&html, "v2");
    assert!(second.contains("data-parsed=\"false\""));
    let nodes: Vec<u64> = tags(second, "node").iter().map(|t| num(t, "data-txn")).collect();
    assert_eq!(nodes, vec![b]);
    assert!(tags(second, "edge").is_empty());
}

#[test]
fn a_big_history_is_drawn_only_around_its_violations() {
    let mut scenario = all_workloads();
    scenario.workload.txns_per_agent = 1000;
    // Without faults the run cannot stop early (a damaged store ends a run),
    // so the history is reliably big.
    scenario.faults.crash = 0.0;
    scenario.faults.fsync_failure = 0.0;
    scenario.faults.bit_flip = 0.0;
    let (result, report, html) = failing_run(scenario, 1);
    let ops = result.history.ops.len();
    assert!(ops > 8000, "the history is big: {ops} ops");
    assert!(!report.verdict.valid);
    assert!(html.contains("data-windowed=\"true\""));

    let segments: Vec<(u64, u64)> = tags(&html, "segment")
        .iter()
        .map(|t| (num(t, "data-from"), num(t, "data-to")))
        .collect();
    assert!(!segments.is_empty());
    let bars = tags(&html, "bar");
    let total = completions(&result.history).len();
    assert!(
        !bars.is_empty() && bars.len() < total / 2,
        "{} of {total} bars drawn",
        bars.len()
    );
    for bar in &bars {
        let (start, end) = (num(bar, "data-start"), num(bar, "data-end"));
        assert!(
            segments.iter().any(|&(lo, hi)| start <= hi && end >= lo),
            "bar {bar} lies in a window {segments:?}"
        );
    }
    let drawn: BTreeSet<u64> = bars.iter().map(|b| num(b, "data-txn")).collect();
    for t in &report.verdict.violations[0].txns {
        assert!(drawn.contains(t), "T{t} of the first violation is drawn");
    }
    assert!(html.contains("<th>not shown</th>"), "the rest is summarised");
    assert_eq!(sim::html::render(&report, &result.history), html, "deterministic");
}
