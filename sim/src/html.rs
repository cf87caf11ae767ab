//! `report.html`: a run's report for a person, as one self-contained file.
//!
//! The page needs no network and no script: styles are inline CSS, pictures
//! are inline SVG, and the small script at the end only adds highlighting on
//! hover. It shows the run's configuration and statistics, a timeline with
//! one lane per client process (each transaction a bar from its invoke to its
//! completion, coloured by outcome, crashes and recoveries as vertical
//! markers), and one card per violation with the anomaly's cycle drawn as a
//! graph beside the checker's explanation.
//!
//! Every string that comes from data (keys, values, explanations, names) is
//! escaped, and the output depends only on its inputs (ordered maps, no
//! clocks), so the same run always gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::PI;
use std::fmt::Write as _;

use checker::{History, MicroOp, Op, OpType, OpValue, Process, Violation};
use serde_json::Value;

use crate::report::Report;

/// Histories with more ops than this are drawn only around their violations;
/// a browser stays responsive with a few thousand SVG bars, not with millions.
const LARGE_HISTORY_OPS: usize = 2000;

/// The most ops the windows of a large history may cover together.
const WINDOW_OPS: usize = 2000;

/// Ticks of context kept on each side of an involved transaction, so that
/// the transactions it raced with are visible too.
const WINDOW_PAD_TICKS: u64 = 30;

/// How many micro-ops a transaction's summary lists before it abbreviates.
const SUMMARY_MOPS: usize = 12;

/// Timeline geometry, in pixels.
const LANE_LABEL_WIDTH: f64 = 96.0;
const TIMELINE_TOP: f64 = 18.0;
const LANE_HEIGHT: f64 = 26.0;
const BAR_TOP: f64 = 11.0;
const BAR_HEIGHT: f64 = 12.0;
const AXIS_HEIGHT: f64 = 26.0;
const TIMELINE_WIDTH: f64 = 1200.0;
const SEGMENT_GAP: f64 = 28.0;
const MIN_BAR_WIDTH: f64 = 2.0;
/// The width of one character of a bar's label (9px bold sans), generously.
const LABEL_CHAR_WIDTH: f64 = 6.0;

/// Cycle-graph geometry, in pixels.
const GRAPH_WIDTH: f64 = 460.0;
const NODE_RADIUS: f64 = 22.0;

/// Appends formatted text to a `String`; writing to a `String` cannot fail,
/// so the `fmt::Result` carries no information.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

/// Renders the report of a run and its history as a self-contained HTML page.
pub fn render(report: &Report, history: &History) -> String {
    let timeline = Timeline::new(history);
    let view = View::new(&timeline, history, &report.verdict.violations);
    let cycles: Vec<Option<Cycle>> = report
        .verdict
        .violations
        .iter()
        .map(|v| parse_cycle(&v.explanation))
        .collect();
    let mut involved: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, v) in report.verdict.violations.iter().enumerate() {
        for t in involved_txns(v, cycles[i].as_ref()) {
            let cards = involved.entry(t).or_default();
            if cards.last() != Some(&i) {
                cards.push(i);
            }
        }
    }

    let mut out = String::with_capacity(64 * 1024 + history.ops.len().min(LARGE_HISTORY_OPS) * 400);
    let verdict = if report.verdict.valid {
        "valid".to_owned()
    } else {
        format!("INVALID: {}", report.verdict.anomaly_types.join(", "))
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    put!(
        out,
        "<title>occsim: {} seed {} \u{2014} {}</title>\n<style>\n{}{}</style>\n</head>\n",
        esc(&report.scenario),
        report.seed,
        esc(&verdict),
        STYLE,
        outcome_style()
    );
    let body_class = if report.verdict.violations.is_empty() {
        ""
    } else {
        " class=\"has-violations\""
    };
    put!(out, "<body{body_class}>\n");
    header(&mut out, report, &verdict);
    tables(&mut out, report);
    timeline_section(&mut out, &timeline, &view, &involved, history.ops.len());
    violations_section(&mut out, report, &cycles, &timeline, &view);
    out.push_str(SCRIPT);
    out.push_str("</body>\n</html>\n");
    out
}

/// The shared styles; outcome colours are appended by [`outcome_style`].
const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif;\
color:#1d2329;margin:0 auto;padding:16px 24px 48px;max-width:1400px;background:#fff}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}\
h3{font-size:14px;margin:0 0 6px}code,.mono{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:12.5px}\
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:13px}\
.badge.valid{background:#e3f4e5;color:#1b6e2a}.badge.invalid{background:#fde4e4;color:#a4161a}\
.sub{color:#5b6670;margin:2px 0}\
.tables{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\
table{border-collapse:collapse;font-size:12.5px}th,td{padding:2px 8px;text-align:left;vertical-align:top}\
.kv th{font-weight:500;color:#5b6670;white-space:nowrap}.kv td{font-family:ui-monospace,\"DejaVu Sans Mono\",monospace;max-width:300px;overflow-wrap:anywhere}\
.kv caption,.counts caption{text-align:left;font-weight:600;padding:0 8px 4px}\
.kv tr:nth-child(even),.counts tbody tr:nth-child(even){background:#f6f7f9}\
.counts th{border-bottom:1px solid #d5d9de}.counts td.n{text-align:right;font-variant-numeric:tabular-nums}\
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0;font-size:12.5px;align-items:center}\
.sw{display:inline-block;width:14px;height:10px;border-radius:2px;vertical-align:-1px;margin-right:4px}\
.sw.pending{border:1px dashed #607d8b;background:#fff}\
.mk{display:inline-block;width:2px;height:12px;vertical-align:-2px;margin-right:4px}\
.mk.crash{background:#c62828}.mk.recover{background:#2e7d32}.mk.other{background:#6a1b9a}\
.scroll{overflow-x:auto;border:1px solid #e3e6ea;border-radius:4px}\
.timeline text{font-size:11px;fill:#37414b}.timeline .axis text{fill:#5b6670;font-size:10px}\
.lane-bg{fill:#fff}.lane:nth-child(even) .lane-bg{fill:#f6f7f9}\
.segment{fill:none}.gap{fill:#eceff1}.gap-text{fill:#78909c;font-size:14px}\
.marker line{stroke-width:1.5}.marker.crash line{stroke:#c62828}.marker.recover line{stroke:#2e7d32;stroke-dasharray:4 2}\
.marker.other line{stroke:#6a1b9a;stroke-dasharray:1 2}.marker.crash path{fill:#c62828}.marker.recover circle{fill:#2e7d32}\
.marker.other rect{fill:#6a1b9a}\
.bar{stroke:#fff;stroke-width:.6}.bar.pending{stroke:#607d8b;stroke-dasharray:3 2}\
.has-violations .bar{opacity:.45}.has-violations .bar.involved{opacity:1;stroke:#111;stroke-width:1.4}\
.bar.focus{opacity:1;stroke:#d50000;stroke-width:3}.txn-label{font-size:9px;font-weight:600}\
.note{color:#5b6670;font-size:12.5px;margin:6px 0}\
.violation{border:1px solid #e3e6ea;border-left:4px solid #c62828;border-radius:4px;padding:10px 12px;margin:12px 0}\
.violation:hover{background:#fffafa}.vbody{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\
.vtext{flex:1 1 480px;min-width:320px}.explanation{margin:0 0 8px;white-space:pre-wrap;overflow-wrap:anywhere}\
.cycle{flex:0 0 auto;border:1px solid #eef0f2;border-radius:4px;background:#fcfcfd;overflow:visible}\
.cycle .node text{font:600 12px ui-monospace,\"DejaVu Sans Mono\",monospace;fill:#111}\
.cycle .node circle{fill-opacity:.28;stroke-width:2}.cycle .edge path{fill:none;stroke-width:1.6}\
.cycle .edge text{font:11px ui-monospace,\"DejaVu Sans Mono\",monospace;paint-order:stroke;stroke:#fcfcfd;stroke-width:4px;stroke-linejoin:round}\
.edge-ww path{stroke:#1565c0}.edge-ww polygon,.edge-ww text{fill:#1565c0}\
.edge-wr path{stroke:#2e7d32}.edge-wr polygon,.edge-wr text{fill:#2e7d32}\
.edge-rw path{stroke:#c62828}.edge-rw polygon,.edge-rw text{fill:#c62828}\
.edge-rw-predicate path{stroke:#ad1457;stroke-dasharray:5 3}.edge-rw-predicate polygon,.edge-rw-predicate text{fill:#ad1457}\
.edge-other path{stroke:#546e7a;stroke-dasharray:2 3}.edge-other polygon,.edge-other text{fill:#546e7a}\
.txns td:nth-child(3){white-space:nowrap}.txns td{font-family:ui-monospace,\"DejaVu Sans Mono\",monospace;font-size:12px}.txns td.ops{overflow-wrap:anywhere}\
a{color:#1565c0}\n";

/// Highlights a violation's transactions on the timeline while the pointer
/// is over its card; the page is complete without it.
const SCRIPT: &str = "<script>\n\
document.querySelectorAll('.violation').forEach(function (card) {\n\
  var txns = card.getAttribute('data-txns').split(' ').filter(function (t) { return t !== ''; });\n\
  card.addEventListener('mouseenter', function () {\n\
    txns.forEach(function (t) {\n\
      document.querySelectorAll('.bar[data-txn=\"' + t + '\"]').forEach(function (b) { b.classList.add('focus'); });\n\
    });\n\
  });\n\
  card.addEventListener('mouseleave', function () {\n\
    document.querySelectorAll('.bar.focus').forEach(function (b) { b.classList.remove('focus'); });\n\
  });\n\
});\n\
</script>\n";

/// How a transaction ended, as the timeline colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Ok,
    Conflict,
    SnapshotTooOld,
    CheckFailed,
    Unavailable,
    OtherFail,
    Info,
    Pending,
}

impl Outcome {
    const ALL: [Outcome; 8] = [
        Outcome::Ok,
        Outcome::Conflict,
        Outcome::SnapshotTooOld,
        Outcome::CheckFailed,
        Outcome::Unavailable,
        Outcome::OtherFail,
        Outcome::Info,
        Outcome::Pending,
    ];

    /// The outcome of a completion op.
    fn of(op: &Op) -> Self {
        match (op.op_type, op.error.as_deref()) {
            (OpType::Ok, _) => Outcome::Ok,
            (OpType::Fail, Some("conflict")) => Outcome::Conflict,
            (OpType::Fail, Some("snapshot_too_old")) => Outcome::SnapshotTooOld,
            (OpType::Fail, Some("check_failed")) => Outcome::CheckFailed,
            (OpType::Fail, Some("unavailable")) => Outcome::Unavailable,
            (OpType::Fail, _) => Outcome::OtherFail,
            (OpType::Info, _) => Outcome::Info,
            (OpType::Invoke, _) => Outcome::Pending,
        }
    }

    /// The CSS class, shared by bars, graph nodes and legend swatches.
    fn class(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Conflict => "conflict",
            Outcome::SnapshotTooOld => "snapshot-too-old",
            Outcome::CheckFailed => "check-failed",
            Outcome::Unavailable => "unavailable",
            Outcome::OtherFail => "fail",
            Outcome::Info => "info",
            Outcome::Pending => "pending",
        }
    }

    /// The name a person reads, matching the history's `type` and `error`.
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Conflict => "fail: conflict",
            Outcome::SnapshotTooOld => "fail: snapshot_too_old",
            Outcome::CheckFailed => "fail: check_failed",
            Outcome::Unavailable => "fail: unavailable",
            Outcome::OtherFail => "fail: other",
            Outcome::Info => "info (unknown)",
            Outcome::Pending => "never completed",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Outcome::Ok => "#43a047",
            Outcome::Conflict => "#fb8c00",
            Outcome::SnapshotTooOld => "#8e24aa",
            Outcome::CheckFailed => "#fdd835",
            Outcome::Unavailable => "#795548",
            Outcome::OtherFail => "#e53935",
            Outcome::Info => "#90a4ae",
            Outcome::Pending => "#ffffff",
        }
    }
}

/// The colour rules of every outcome, generated from one table so that bars,
/// nodes and the legend cannot disagree.
fn outcome_style() -> String {
    let mut css = String::new();
    for o in Outcome::ALL {
        let (class, colour) = (o.class(), o.colour());
        put!(
            css,
            ".{class}{{fill:{colour};stroke:{colour}}}.sw.{class}{{background:{colour}}}\n"
        );
    }
    css.push_str(".node circle.pending{stroke:#607d8b}\n");
    css
}

/// One client transaction: its invoke and completion (either may be missing
/// in a malformed or cut-off history).
struct Txn<'a> {
    /// The client process.
    process: u64,
    /// The history index naming it: its completion's, else its invoke's.
    name: u64,
    /// The first and last tick it spans.
    start: u64,
    end: u64,
    outcome: Outcome,
    invoke: Option<&'a Op>,
    completion: Option<&'a Op>,
}

impl Txn<'_> {
    /// Its micro-ops or parameters, in words; the completion knows what reads
    /// returned, so it is preferred.
    fn summary(&self) -> String {
        match self.completion.or(self.invoke) {
            Some(op) => op_summary(op),
            None => String::new(),
        }
    }

    /// The tooltip of its bar.
    fn title(&self) -> String {
        let named = if self.completion.is_some() {
            ""
        } else {
            " (never completed; named by its invoke)"
        };
        format!(
            "T{}{named}: process {}, {}, ticks {}\u{2013}{}\n{}",
            self.name,
            self.process,
            self.outcome.label(),
            self.start,
            self.end,
            self.summary()
        )
    }
}

/// The history split into transactions and nemesis events, on one time axis.
struct Timeline<'a> {
    txns: Vec<Txn<'a>>,
    /// Position in `txns` by name, since violations name transactions.
    by_name: BTreeMap<u64, usize>,
    /// Nemesis ops and their ticks.
    markers: Vec<(u64, &'a Op)>,
    /// Client processes in order; each gets a lane.
    lanes: Vec<u64>,
    /// Whether x is the ops' logical `time` (else their index).
    uses_time: bool,
    first: u64,
    last: u64,
}

impl<'a> Timeline<'a> {
    fn new(history: &'a History) -> Self {
        let uses_time = !history.ops.is_empty() && history.ops.iter().all(|op| op.time.is_some());
        let at = |op: &Op| {
            if uses_time {
                op.time.unwrap_or(op.index)
            } else {
                op.index
            }
        };
        let first = history.ops.iter().map(at).min().unwrap_or(0);
        let last = history.ops.iter().map(at).max().unwrap_or(0);
        let pending = |op: &'a Op, process: u64| Txn {
            process,
            name: op.index,
            start: at(op),
            end: last,
            outcome: Outcome::Pending,
            invoke: Some(op),
            completion: None,
        };
        let mut txns = Vec::new();
        let mut markers = Vec::new();
        let mut lanes = BTreeSet::new();
        let mut open: BTreeMap<u64, &'a Op> = BTreeMap::new();
        for op in &history.ops {
            let process = match op.process {
                Process::Nemesis => {
                    markers.push((at(op), op));
                    continue;
                }
                Process::Client(p) => p,
            };
            lanes.insert(process);
            if op.op_type == OpType::Invoke {
                if let Some(earlier) = open.insert(process, op) {
                    txns.push(pending(earlier, process));
                }
                continue;
            }
            let invoke = open.remove(&process);
            txns.push(Txn {
                process,
                name: op.index,
                start: invoke.map_or(at(op), at),
                end: at(op),
                outcome: Outcome::of(op),
                invoke,
                completion: Some(op),
            });
        }
        txns.extend(open.into_iter().map(|(process, op)| pending(op, process)));
        let by_name = txns.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
        Timeline {
            txns,
            by_name,
            markers,
            lanes: lanes.into_iter().collect(),
            uses_time,
            first,
            last,
        }
    }

    /// The transaction a history index names.
    fn txn(&self, name: u64) -> Option<&Txn<'a>> {
        self.by_name.get(&name).map(|&i| &self.txns[i])
    }
}

/// A stretch of ticks the timeline draws, inclusive at both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    lo: u64,
    hi: u64,
}

/// What part of the timeline is drawn, and where each tick goes.
struct View {
    segments: Vec<Segment>,
    /// x of each segment's first tick.
    starts: Vec<f64>,
    /// Pixels per tick.
    scale: f64,
    /// The drawing's width, lane labels included.
    width: f64,
    /// Whether the history was too big to draw whole.
    windowed: bool,
    /// Ops inside the segments.
    ops_shown: usize,
}

impl View {
    fn new(timeline: &Timeline<'_>, history: &History, violations: &[Violation]) -> Self {
        let mut ticks: Vec<u64> = history
            .ops
            .iter()
            .map(|op| {
                if timeline.uses_time {
                    op.time.unwrap_or(op.index)
                } else {
                    op.index
                }
            })
            .collect();
        ticks.sort_unstable();
        let windowed = history.ops.len() > LARGE_HISTORY_OPS;
        let segments = if windowed {
            windows(timeline, violations, &ticks)
        } else {
            vec![Segment {
                lo: timeline.first,
                hi: timeline.last,
            }]
        };
        let ops_shown = ops_in(&ticks, &segments);
        let span: u64 = segments.iter().map(|s| s.hi - s.lo + 1).sum();
        let gaps = SEGMENT_GAP * segments.len().saturating_sub(1) as f64;
        let scale = ((TIMELINE_WIDTH - gaps) / span.max(1) as f64).clamp(0.25, 8.0);
        let mut starts = Vec::with_capacity(segments.len());
        let mut x = LANE_LABEL_WIDTH;
        for s in &segments {
            starts.push(x);
            x += (s.hi - s.lo + 1) as f64 * scale + SEGMENT_GAP;
        }
        View {
            segments,
            starts,
            scale,
            width: x - SEGMENT_GAP + 16.0,
            windowed,
            ops_shown,
        }
    }

    /// The x of the start of tick `t` within segment `i`.
    fn x(&self, i: usize, t: u64) -> f64 {
        self.starts[i] + (t - self.segments[i].lo) as f64 * self.scale
    }

    /// The segments a span of ticks overlaps, with the overlap clipped.
    fn pieces(&self, start: u64, end: u64) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
        self.segments
            .iter()
            .enumerate()
            .filter(move |(_, s)| start <= s.hi && end >= s.lo)
            .map(move |(i, s)| (i, start.max(s.lo), end.min(s.hi)))
    }

    fn shows(&self, start: u64, end: u64) -> bool {
        self.pieces(start, end).next().is_some()
    }
}

/// Chooses the windows of a large history: the ticks around each
/// violation's transactions, in report order, until the op budget is spent
/// (the first violation always gets its windows). Without violations that
/// name transactions, the end of the run is shown, since a stuck or
/// panicking run went wrong there.
fn windows(timeline: &Timeline<'_>, violations: &[Violation], ticks: &[u64]) -> Vec<Segment> {
    let mut chosen: Vec<Segment> = Vec::new();
    for v in violations {
        let around: Vec<Segment> = v
            .txns
            .iter()
            .filter_map(|&name| timeline.txn(name))
            .map(|t| Segment {
                lo: t.start.saturating_sub(WINDOW_PAD_TICKS).max(timeline.first),
                hi: (t.end + WINDOW_PAD_TICKS).min(timeline.last),
            })
            .collect();
        if around.is_empty() {
            continue;
        }
        let trial = merge(chosen.iter().chain(&around).copied().collect());
        if !chosen.is_empty() && ops_in(ticks, &trial) > WINDOW_OPS {
            break;
        }
        chosen = trial;
    }
    if chosen.is_empty() {
        let lo = ticks[ticks.len().saturating_sub(WINDOW_OPS / 2)];
        chosen.push(Segment {
            lo,
            hi: timeline.last,
        });
    }
    chosen
}

/// Sorts segments and merges those that overlap or nearly touch (a gap
/// narrower than the padding is not worth a break in the axis).
fn merge(mut segments: Vec<Segment>) -> Vec<Segment> {
    segments.sort_by_key(|s| (s.lo, s.hi));
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments {
        match out.last_mut() {
            Some(last) if s.lo <= last.hi.saturating_add(WINDOW_PAD_TICKS) => last.hi = last.hi.max(s.hi),
            _ => out.push(s),
        }
    }
    out
}

/// How many ops (by sorted tick) fall inside the segments.
fn ops_in(ticks: &[u64], segments: &[Segment]) -> usize {
    segments
        .iter()
        .map(|s| ticks.partition_point(|&t| t <= s.hi) - ticks.partition_point(|&t| t < s.lo))
        .sum()
}

/// The page header: what ran and the verdict.
fn header(out: &mut String, report: &Report, verdict: &str) {
    let badge = if report.verdict.valid { "valid" } else { "invalid" };
    put!(
        out,
        "<header>\n<h1>occsim run: scenario <code>{}</code>, seed {}</h1>\n<p class=\"sub\">\
         <span class=\"badge {badge}\">{}</span> ",
        esc(&report.scenario),
        report.seed,
        esc(verdict)
    );
    if let Some(m) = &report.mutant {
        put!(out, "mutant <code>{}</code> \u{b7} ", esc(m));
    }
    put!(
        out,
        "{} violation(s) \u{b7} reproduce with <code>{}</code></p>\n</header>\n",
        report.verdict.violations.len(),
        esc(&report.repro)
    );
}

/// The run, configuration, statistics and violation-count tables.
fn tables(out: &mut String, report: &Report) {
    out.push_str("<h2>Run</h2>\n<div class=\"tables\">\n");
    let end = serde_json::to_value(&report.end).unwrap_or(Value::Null);
    let run: Vec<(String, String)> = vec![
        ("scenario".into(), report.scenario.clone()),
        ("seed".into(), report.seed.to_string()),
        ("swarm".into(), report.swarm.to_string()),
        (
            "mutant".into(),
            report.mutant.clone().unwrap_or_else(|| "none".into()),
        ),
        ("end".into(), scalar_text(&end)),
        ("decisions".into(), report.decisions.to_string()),
        ("trace hash".into(), report.trace_hash.clone()),
        (
            "choices".into(),
            report.choices.clone().unwrap_or_else(|| "none".into()),
        ),
        ("version".into(), report.version.clone()),
        (
            "build".into(),
            format!(
                "{} ({}, {})",
                report.build.git, report.build.rustc, report.build.profile
            ),
        ),
    ];
    kv_table(out, "run", "Run", &run);
    let mut config = Vec::new();
    flatten(
        "",
        &serde_json::to_value(&report.config).unwrap_or(Value::Null),
        &mut config,
    );
    kv_table(out, "config", "Configuration", &config);
    let mut stats = Vec::new();
    flatten(
        "",
        &serde_json::to_value(&report.stats).unwrap_or(Value::Null),
        &mut stats,
    );
    kv_table(out, "stats", "Statistics", &stats);
    if !report.verdict.violations.is_empty() {
        let mut kinds: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
        for (i, v) in report.verdict.violations.iter().enumerate() {
            kinds.entry((&v.check, &v.kind)).or_insert((0, i)).0 += 1;
        }
        out.push_str(
            "<table class=\"counts\" id=\"kinds\"><caption>Violations</caption>\n\
             <thead><tr><th>check</th><th>kind</th><th>count</th></tr></thead><tbody>\n",
        );
        for ((check, kind), (n, first)) in kinds {
            put!(
                out,
                "<tr><td>{}</td><td><a href=\"#v{}\">{}</a></td><td class=\"n\">{n}</td></tr>\n",
                esc(check),
                first + 1,
                esc(kind)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</div>\n");
}

/// A two-column table of names and values.
fn kv_table(out: &mut String, id: &str, caption: &str, rows: &[(String, String)]) {
    put!(
        out,
        "<table class=\"kv\" id=\"{id}\"><caption>{caption}</caption><tbody>\n"
    );
    for (k, v) in rows {
        put!(out, "<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(v));
    }
    out.push_str("</tbody></table>\n");
}

/// Flattens JSON objects into dotted names, in the order serde gives them
/// (field order, or sorted keys), so the tables follow the structs; objects
/// nested deeper than one level (the workload mix) become one row of
/// `name=value` pairs, which keeps the table short.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() && !prefix.contains('.') => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out);
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar_text(v)))
                .collect();
            out.push((prefix.to_owned(), pairs.join(", ")));
        }
        other => out.push((prefix.to_owned(), scalar_text(other))),
    }
}

/// A JSON value as table text: strings without quotes, the rest as JSON.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The timeline: legend, lanes, bars, markers, axis, and the outcome counts.
fn timeline_section(
    out: &mut String,
    timeline: &Timeline<'_>,
    view: &View,
    involved: &BTreeMap<u64, Vec<usize>>,
    ops: usize,
) {
    out.push_str("<h2 id=\"timeline-title\">Timeline</h2>\n<div class=\"legend\">");
    for o in Outcome::ALL {
        put!(
            out,
            "<span><span class=\"sw {}\"></span>{}</span>",
            o.class(),
            o.label()
        );
    }
    out.push_str(
        "<span><span class=\"mk crash\"></span>crash</span><span><span class=\"mk recover\"></span>recover</span>\
         <span><span class=\"mk other\"></span>other fault</span>",
    );
    if !involved.is_empty() {
        out.push_str("<span>outlined: involved in a violation</span>");
    }
    out.push_str("</div>\n");
    let axis = if timeline.uses_time {
        "logical ticks"
    } else {
        "op index (the history has no time field)"
    };
    if view.windowed {
        put!(
            out,
            "<p class=\"note\">The history has {ops} ops, more than {LARGE_HISTORY_OPS}: the timeline shows only \
             {} window(s) of {} around the violations' transactions ({} of the {ops} ops); the table below \
             counts the rest.</p>\n",
            view.segments.len(),
            axis,
            view.ops_shown
        );
    } else {
        put!(
            out,
            "<p class=\"note\">x: {axis}; one lane per client process; hover a bar for its operations.</p>\n"
        );
    }
    let height = TIMELINE_TOP + timeline.lanes.len() as f64 * LANE_HEIGHT + AXIS_HEIGHT;
    let lanes_bottom = TIMELINE_TOP + timeline.lanes.len() as f64 * LANE_HEIGHT;
    put!(
        out,
        "<div class=\"scroll\"><svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {:.0} {height:.0}\" data-windowed=\"{}\" data-lanes=\"{}\">\n",
        view.width,
        view.width,
        view.windowed,
        timeline.lanes.len()
    );
    let lane_of: BTreeMap<u64, usize> = timeline.lanes.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let mut by_lane: BTreeMap<u64, Vec<&Txn<'_>>> = BTreeMap::new();
    for t in &timeline.txns {
        by_lane.entry(t.process).or_default().push(t);
    }
    for (i, s) in view.segments.iter().enumerate() {
        let x0 = view.x(i, s.lo);
        put!(
            out,
            "<rect class=\"segment\" data-from=\"{}\" data-to=\"{}\" x=\"{x0:.1}\" y=\"{TIMELINE_TOP}\" \
             width=\"{:.1}\" height=\"{:.1}\"/>\n",
            s.lo,
            s.hi,
            (s.hi - s.lo + 1) as f64 * view.scale,
            lanes_bottom - TIMELINE_TOP
        );
        if i + 1 < view.segments.len() {
            let gx = view.x(i, s.hi + 1);
            let next = view.segments[i + 1].lo;
            put!(
                out,
                "<g class=\"gap\"><title>ticks {}\u{2013}{} not shown</title><rect class=\"gap\" x=\"{:.1}\" \
                 y=\"{TIMELINE_TOP}\" width=\"{:.1}\" height=\"{:.1}\"/><text class=\"gap-text\" x=\"{:.1}\" \
                 y=\"{:.1}\" text-anchor=\"middle\">\u{22ef}</text></g>\n",
                s.hi + 1,
                next - 1,
                gx + 4.0,
                SEGMENT_GAP - 8.0,
                lanes_bottom - TIMELINE_TOP,
                gx + SEGMENT_GAP / 2.0,
                TIMELINE_TOP + 12.0
            );
        }
    }
    for (&process, &lane) in &lane_of {
        let y = TIMELINE_TOP + lane as f64 * LANE_HEIGHT;
        put!(
            out,
            "<g class=\"lane\" data-process=\"{process}\"><rect class=\"lane-bg\" x=\"0\" y=\"{y:.1}\" \
             width=\"{:.1}\" height=\"{LANE_HEIGHT}\"/><text x=\"8\" y=\"{:.1}\">process {process}</text>\n",
            view.width,
            y + BAR_TOP + BAR_HEIGHT - 2.0
        );
        let mut label_end = 0.0;
        for t in by_lane.get(&process).into_iter().flatten() {
            bar(out, t, view, y, involved.get(&t.name), &mut label_end);
        }
        out.push_str("</g>\n");
    }
    for &(at, op) in &timeline.markers {
        let Some((i, _, _)) = view.pieces(at, at).next() else {
            continue;
        };
        // A recovery follows its crash within the same tick; drawing it a
        // little later keeps both lines visible.
        let x = match op.f.name() {
            "recover" => view.x(i, at) + (view.scale * 0.75).max(3.0),
            _ => view.x(i, at) + view.scale * 0.25,
        };
        let (class, glyph) = match op.f.name() {
            "crash" => ("crash", format!("<path d=\"M{:.1} 1 h10 l-5 8 z\"/>", x - 5.0)),
            "recover" => ("recover", format!("<circle cx=\"{x:.1}\" cy=\"5\" r=\"3.5\"/>")),
            _ => (
                "other",
                format!("<rect x=\"{:.1}\" y=\"2\" width=\"7\" height=\"7\"/>", x - 3.5),
            ),
        };
        let detail = json(&op.value);
        put!(
            out,
            "<g class=\"marker {class}\" data-index=\"{}\" data-time=\"{at}\"><title>{} at tick {at} (op {}): {}\
             </title><line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{lanes_bottom:.1}\"/>{glyph}</g>\n",
            op.index,
            esc(op.f.name()),
            op.index,
            esc(&detail),
            TIMELINE_TOP - 6.0
        );
    }
    axis_labels(out, view, lanes_bottom);
    out.push_str("</svg></div>\n");
    outcome_counts(out, timeline, view);
}

/// One transaction's bar: a rect per segment it crosses; the first carries
/// its name, so each transaction is counted once. An involved transaction is
/// labelled above its bar unless the lane's previous label (ending at
/// `label_end`) is in the way.
fn bar(
    out: &mut String,
    t: &Txn<'_>,
    view: &View,
    lane_y: f64,
    cards: Option<&Vec<usize>>,
    label_end: &mut f64,
) {
    let title = esc(&t.title());
    for (n, (i, lo, hi)) in view.pieces(t.start, t.end).enumerate() {
        let x0 = view.x(i, lo);
        let width = ((hi - lo + 1) as f64 * view.scale).max(MIN_BAR_WIDTH);
        let involved = if cards.is_some() { " involved" } else { "" };
        let y = lane_y + BAR_TOP;
        if n == 0 {
            put!(
                out,
                "<rect id=\"t{}\" class=\"bar {}{involved}\" data-txn=\"{}\" data-start=\"{}\" data-end=\"{}\"",
                t.name,
                t.outcome.class(),
                t.name,
                t.start,
                t.end
            );
            if let Some(cards) = cards {
                let ids: Vec<String> = cards.iter().map(|c| format!("v{}", c + 1)).collect();
                put!(out, " data-violations=\"{}\"", ids.join(" "));
            }
        } else {
            put!(out, "<rect class=\"bar-cont {}{involved}\"", t.outcome.class());
        }
        put!(
            out,
            " x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{BAR_HEIGHT}\"><title>{title}</title></rect>\n"
        );
        let label = format!("T{}", t.name);
        if n == 0 && cards.is_some() && x0 >= *label_end {
            *label_end = x0 + label.len() as f64 * LABEL_CHAR_WIDTH + 3.0;
            put!(
                out,
                "<text class=\"txn-label\" x=\"{x0:.1}\" y=\"{:.1}\">{label}</text>\n",
                y - 1.5
            );
        }
    }
}

/// Tick labels under the lanes, at round numbers that keep labels apart.
fn axis_labels(out: &mut String, view: &View, y: f64) {
    let step = nice_step(70.0 / view.scale);
    out.push_str("<g class=\"axis\">");
    for (i, s) in view.segments.iter().enumerate() {
        let mut t = s.lo.div_ceil(step) * step;
        if view.windowed || t > s.lo + step / 2 {
            let x = view.x(i, s.lo);
            put!(out, "<text x=\"{x:.1}\" y=\"{:.1}\">{}</text>", y + 14.0, s.lo);
            t = (s.lo + step / 2).div_ceil(step) * step;
        }
        while t <= s.hi {
            let x = view.x(i, t);
            put!(
                out,
                "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#b0bec5\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t}</text>",
                y + 4.0,
                y + 14.0
            );
            t += step;
        }
    }
    out.push_str("</g>\n");
}

/// The smallest of 1, 2, 5 times a power of ten that is at least `raw`.
fn nice_step(raw: f64) -> u64 {
    let mut base = 1u64;
    loop {
        for m in [1, 2, 5] {
            if (base * m) as f64 >= raw {
                return base * m;
            }
        }
        base *= 10;
    }
}

/// Transactions per outcome, and in a windowed view how many are drawn.
fn outcome_counts(out: &mut String, timeline: &Timeline<'_>, view: &View) {
    let mut counts: BTreeMap<Outcome, (u64, u64)> = BTreeMap::new();
    for t in &timeline.txns {
        let c = counts.entry(t.outcome).or_default();
        c.0 += 1;
        c.1 += u64::from(view.shows(t.start, t.end));
    }
    let mut faults: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for &(at, op) in &timeline.markers {
        let c = faults.entry(op.f.name()).or_default();
        c.0 += 1;
        c.1 += u64::from(view.shows(at, at));
    }
    out.push_str("<table class=\"counts\" id=\"outcomes\"><thead><tr><th>transactions</th><th>total</th>");
    if view.windowed {
        out.push_str("<th>drawn</th><th>not shown</th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    let rows = counts
        .iter()
        .map(|(o, &c)| {
            (
                format!("<span class=\"sw {}\"></span>{}", o.class(), o.label()),
                c,
            )
        })
        .chain(faults.iter().map(|(f, &c)| (format!("fault: {}", esc(f)), c)));
    for (label, (total, shown)) in rows {
        put!(out, "<tr><td>{label}</td><td class=\"n\">{total}</td>");
        if view.windowed {
            put!(
                out,
                "<td class=\"n\">{shown}</td><td class=\"n\">{}</td>",
                total - shown
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// One card per violation: the cycle graph beside the explanation and a
/// table of the transactions involved.
fn violations_section(
    out: &mut String,
    report: &Report,
    cycles: &[Option<Cycle>],
    timeline: &Timeline<'_>,
    view: &View,
) {
    let violations = &report.verdict.violations;
    if violations.is_empty() {
        out.push_str("<h2>Violations</h2>\n<p class=\"note\">None: every check passed.</p>\n");
        return;
    }
    put!(out, "<h2>Violations ({})</h2>\n", violations.len());
    for (i, v) in violations.iter().enumerate() {
        let txns = involved_txns(v, cycles[i].as_ref());
        let names: Vec<String> = txns.iter().map(u64::to_string).collect();
        put!(
            out,
            "<section class=\"violation\" id=\"v{}\" data-check=\"{}\" data-kind=\"{}\" data-txns=\"{}\">\n\
             <h3>#{} {} \u{b7} {}</h3>\n<div class=\"vbody\">\n",
            i + 1,
            esc(&v.check),
            esc(&v.kind),
            names.join(" "),
            i + 1,
            esc(&v.check),
            esc(&v.kind)
        );
        cycle_graph(out, v, cycles[i].as_ref(), timeline);
        put!(
            out,
            "<div class=\"vtext\"><p class=\"explanation\">{}</p>\n",
            esc(&v.explanation)
        );
        involved_table(out, &txns, timeline, view);
        out.push_str("</div>\n</div>\n</section>\n");
    }
}

/// The transactions a violation involves: those it lists, then any other
/// that its cycle names, in order and without repeats.
fn involved_txns(v: &Violation, cycle: Option<&Cycle>) -> Vec<u64> {
    let mut seen = BTreeSet::new();
    let from_cycle = cycle.map(|c| c.nodes.as_slice()).unwrap_or_default();
    v.txns
        .iter()
        .chain(from_cycle)
        .copied()
        .filter(|t| seen.insert(*t))
        .collect()
}

/// A table of the involved transactions: process, ticks, outcome and what
/// they did, with a link to the bar when it is drawn.
fn involved_table(out: &mut String, txns: &[u64], timeline: &Timeline<'_>, view: &View) {
    if txns.is_empty() {
        return;
    }
    out.push_str(
        "<table class=\"txns\"><thead><tr><th>txn</th><th>process</th><th>ticks</th><th>outcome</th>\
         <th>operations</th></tr></thead><tbody>\n",
    );
    let mut hidden = 0;
    for &name in txns {
        let Some(t) = timeline.txn(name) else {
            put!(
                out,
                "<tr><td>T{name}</td><td colspan=\"4\">not a transaction of this history</td></tr>\n"
            );
            continue;
        };
        let label = if view.shows(t.start, t.end) {
            format!("<a href=\"#t{name}\">T{name}</a>")
        } else {
            hidden += 1;
            format!("T{name}")
        };
        put!(
            out,
            "<tr><td>{label}</td><td>{}</td><td>{}\u{2013}{}</td><td><span class=\"sw {}\"></span>{}</td>\
             <td class=\"ops\">{}</td></tr>\n",
            t.process,
            t.start,
            t.end,
            t.outcome.class(),
            t.outcome.label(),
            esc(&t.summary())
        );
    }
    out.push_str("</tbody></table>\n");
    if hidden > 0 {
        put!(
            out,
            "<p class=\"note\">{hidden} of these transactions lie outside the drawn timeline windows.</p>\n"
        );
    }
}

/// An op's micro-ops or parameters in words, abbreviated after
/// [`SUMMARY_MOPS`] micro-ops.
fn op_summary(op: &Op) -> String {
    match &op.value {
        OpValue::Txn(mops) => {
            let mut parts: Vec<String> = mops.iter().take(SUMMARY_MOPS).map(mop_summary).collect();
            if mops.len() > SUMMARY_MOPS {
                parts.push(format!("\u{2026} {} more", mops.len() - SUMMARY_MOPS));
            }
            parts.join("; ")
        }
        other => json(other),
    }
}

/// One micro-op in words: `r k=v`, `w k=v`, `append k v`, `list range: n keys`.
fn mop_summary(m: &MicroOp) -> String {
    match m {
        MicroOp::Read { key, value } => format!("r {key}={}", json(value)),
        MicroOp::Write { key, value } => format!("w {key}={}", json(value)),
        MicroOp::Append { key, element } => format!("append {key} {}", json(element)),
        MicroOp::List(r) => match &r.result {
            Some(pairs) => format!("list {}: {} key(s)", r.range, pairs.len()),
            None => format!("list {}", r.range),
        },
    }
}

/// A value as JSON text, as the history file has it (strings quoted, so a
/// string "1" and the number 1 look different).
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A cycle as the checker writes it: `T12 -rw(x: 5 -> 6)-> T17 -wr(y=3)-> T12`.
#[derive(Debug, PartialEq, Eq)]
struct Cycle {
    /// Transactions in order of first appearance.
    nodes: Vec<u64>,
    edges: Vec<CycleEdge>,
}

#[derive(Debug, PartialEq, Eq)]
struct CycleEdge {
    from: u64,
    to: u64,
    /// The whole label, `rw(x: 5 -> 6)`.
    label: String,
    /// The dependency kind, the label up to its parenthesis: `rw`.
    kind: String,
}

/// Finds the first chain of at least one edge in an explanation.
fn parse_cycle(text: &str) -> Option<Cycle> {
    let bytes = text.as_bytes();
    text.match_indices('T')
        .filter(|&(at, _)| at == 0 || !bytes[at - 1].is_ascii_alphanumeric())
        .find_map(|(at, _)| parse_chain(&text[at..]))
}

/// Parses `T<n> -<label>-> T<n> ...` from the start of `s`.
fn parse_chain(s: &str) -> Option<Cycle> {
    let (first, mut rest) = parse_txn(s)?;
    let mut nodes = vec![first];
    let mut edges = Vec::new();
    let mut from = first;
    while let Some(after) = rest.strip_prefix(" -") {
        let Some((label, after)) = split_label(after) else {
            break;
        };
        let Some((to, after)) = parse_txn(after) else {
            break;
        };
        let kind = label.split('(').next().unwrap_or_default().to_owned();
        edges.push(CycleEdge {
            from,
            to,
            label: label.to_owned(),
            kind,
        });
        if !nodes.contains(&to) {
            nodes.push(to);
        }
        from = to;
        rest = after;
    }
    (!edges.is_empty()).then_some(Cycle { nodes, edges })
}

/// `T` and digits, not followed by another word character.
fn parse_txn(s: &str) -> Option<(u64, &str)> {
    let digits = s.strip_prefix('T')?;
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 || digits[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some((digits[..end].parse().ok()?, &digits[end..]))
}

/// Splits an edge's label from `label-> T...`: the first `-> ` outside
/// parentheses and JSON strings, since values such as `x: 5 -> 6` contain
/// arrows too.
fn split_label(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '-' if depth == 0 && i > 0 && s[i..].starts_with("-> ") => return Some((&s[..i], &s[i + 3..])),
            '.' | ';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// A point of the graph drawing.
#[derive(Clone, Copy)]
struct P {
    x: f64,
    y: f64,
}

impl P {
    fn add(self, o: P) -> P {
        P {
            x: self.x + o.x,
            y: self.y + o.y,
        }
    }
    fn sub(self, o: P) -> P {
        P {
            x: self.x - o.x,
            y: self.y - o.y,
        }
    }
    fn mul(self, k: f64) -> P {
        P {
            x: self.x * k,
            y: self.y * k,
        }
    }
    fn len(self) -> f64 {
        self.x.hypot(self.y)
    }
    fn unit(self) -> P {
        let l = self.len();
        if l == 0.0 {
            P { x: 1.0, y: 0.0 }
        } else {
            self.mul(1.0 / l)
        }
    }
    /// Rotated a quarter turn; for an edge along a circle drawn clockwise on
    /// screen, this points outwards.
    fn normal(self) -> P {
        P {
            x: self.y,
            y: -self.x,
        }
    }
}

/// Draws a violation's transactions as nodes on a circle and its cycle's
/// edges as labelled arcs; without a parsed cycle, only the nodes.
fn cycle_graph(out: &mut String, v: &Violation, cycle: Option<&Cycle>, timeline: &Timeline<'_>) {
    let nodes: Vec<u64> = match cycle {
        Some(c) => c.nodes.clone(),
        None => v.txns.clone(),
    };
    if nodes.is_empty() {
        return;
    }
    let n = nodes.len();
    let (width, height, pos) = if cycle.is_some() {
        circle_layout(&nodes)
    } else {
        row_layout(&nodes)
    };
    put!(
        out,
        "<svg class=\"cycle\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" data-parsed=\"{}\" role=\"img\" aria-label=\"{}\">\n",
        cycle.is_some(),
        esc(&format!("{} {}", v.check, v.kind))
    );
    let mut repeats: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for e in cycle.map(|c| c.edges.as_slice()).unwrap_or_default() {
        let k = repeats.entry((e.from, e.to)).or_default();
        edge(out, e, pos[&e.from], pos[&e.to], n, *k);
        *k += 1;
    }
    for &t in &nodes {
        let p = pos[&t];
        let outcome = timeline.txn(t).map_or("unknown", |x| x.outcome.class());
        put!(
            out,
            "<g class=\"node\" data-txn=\"{t}\"><title>{}</title><circle class=\"{outcome}\" cx=\"{:.1}\" \
             cy=\"{:.1}\" r=\"{NODE_RADIUS}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">T{t}</text></g>\n",
            esc(&timeline.txn(t).map_or_else(|| format!("T{t}"), Txn::title)),
            p.x,
            p.y,
            p.x,
            p.y + 4.0
        );
    }
    out.push_str("</svg>\n");
}

/// A cycle's nodes on a circle, the first on the left, in cycle order
/// clockwise: width, height and each node's centre.
fn circle_layout(nodes: &[u64]) -> (f64, f64, BTreeMap<u64, P>) {
    let n = nodes.len();
    let radius = match n {
        1 => 0.0,
        2 => 110.0,
        _ => (28.0 * n as f64).clamp(80.0, 170.0),
    };
    // Beside arcs that run up or down, labels need room to the sides.
    let (width, height) = if n <= 2 {
        (GRAPH_WIDTH, 180.0)
    } else {
        ((2.0 * radius + 360.0).max(GRAPH_WIDTH), 2.0 * radius + 110.0)
    };
    let centre = P {
        x: width / 2.0,
        y: height / 2.0,
    };
    let pos = nodes
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let a = PI + 2.0 * PI * i as f64 / n as f64;
            let offset = P {
                x: radius * a.cos(),
                y: radius * a.sin(),
            };
            (t, centre.add(offset))
        })
        .collect();
    (width, height, pos)
}

/// Transactions without a cycle between them, in rows: a compact picture
/// that still names them and shows their outcomes.
fn row_layout(nodes: &[u64]) -> (f64, f64, BTreeMap<u64, P>) {
    const STEP: f64 = 64.0;
    let per_row = ((GRAPH_WIDTH - 16.0) / STEP) as usize;
    let rows = nodes.len().div_ceil(per_row);
    let width = (nodes.len().min(per_row) as f64 * STEP + 16.0).max(120.0);
    let pos = nodes
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let p = P {
                x: 8.0 + STEP / 2.0 + (i % per_row) as f64 * STEP,
                y: 8.0 + STEP / 2.0 + (i / per_row) as f64 * STEP,
            };
            (t, p)
        })
        .collect();
    (width, rows as f64 * STEP + 16.0, pos)
}

/// One labelled, arrowed edge; the `repeat`th edge between the same pair
/// bows further out so parallel edges stay apart.
fn edge(out: &mut String, e: &CycleEdge, a: P, b: P, nodes: usize, repeat: usize) {
    let class = if ["ww", "wr", "rw", "rw-predicate"].contains(&e.kind.as_str()) {
        e.kind.as_str()
    } else {
        "other"
    };
    let (path, tip, towards, label_at, anchor) = if e.from == e.to {
        let top = a.add(P {
            x: 0.0,
            y: -NODE_RADIUS,
        });
        let c1 = top.add(P { x: -34.0, y: -52.0 });
        let c2 = top.add(P { x: 34.0, y: -52.0 });
        let start = top.add(P { x: -8.0, y: 2.0 });
        let end = top.add(P { x: 8.0, y: 2.0 });
        (
            format!(
                "M{:.1} {:.1} C{:.1} {:.1} {:.1} {:.1} {:.1} {:.1}",
                start.x, start.y, c1.x, c1.y, c2.x, c2.y, end.x, end.y
            ),
            end,
            c2,
            top.add(P { x: 0.0, y: -44.0 }),
            "middle",
        )
    } else {
        let d = b.sub(a);
        let bow = if nodes == 2 { 0.28 } else { 0.16 } * d.len() * (1.0 + 0.7 * repeat as f64);
        let normal = d.normal().unit();
        let control = a.add(d.mul(0.5)).add(normal.mul(bow));
        let start = a.add(control.sub(a).unit().mul(NODE_RADIUS));
        let end = b.sub(b.sub(control).unit().mul(NODE_RADIUS + 1.0));
        let middle = start.mul(0.25).add(control.mul(0.5)).add(end.mul(0.25));
        // Labels sit outside their arc: beside it when the arc runs up or
        // down, above or below it when the arc runs across.
        let anchor = match normal.x {
            x if x > 0.35 => "start",
            x if x < -0.35 => "end",
            _ => "middle",
        };
        let below = if normal.y > 0.3 { 9.0 } else { 0.0 };
        let label_at = middle.add(normal.mul(6.0)).add(P { x: 0.0, y: below });
        (
            format!(
                "M{:.1} {:.1} Q{:.1} {:.1} {:.1} {:.1}",
                start.x, start.y, control.x, control.y, end.x, end.y
            ),
            end,
            control,
            label_at,
            anchor,
        )
    };
    let u = tip.sub(towards).unit();
    let side = u.normal().mul(4.5);
    let back = tip.sub(u.mul(10.0));
    put!(
        out,
        "<g class=\"edge edge-{class}\" data-from=\"{}\" data-to=\"{}\" data-kind=\"{}\"><path d=\"{path}\"/>\
         <polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" \
         text-anchor=\"{anchor}\">{}</text></g>\n",
        e.from,
        e.to,
        esc(&e.kind),
        tip.x,
        tip.y,
        back.add(side).x,
        back.add(side).y,
        back.sub(side).x,
        back.sub(side).y,
        label_at.x,
        label_at.y,
        esc(&e.label)
    );
}

/// Escapes text for HTML element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkers_cycle_notation_parses_into_nodes_and_labelled_edges() {
        let text = "G-single (read skew: a cycle with exactly one anti-dependency (a read of a version)): \
                    T307 -rw(acct/5: 191 -> 210)-> T305 -ww(acct/5: 210 -> 177)-> T307. T307 read acct/5=191";
        let c = parse_cycle(text).unwrap();
        assert_eq!(c.nodes, vec![307, 305]);
        assert_eq!(c.edges.len(), 2);
        assert_eq!(c.edges[0].label, "rw(acct/5: 191 -> 210)");
        assert_eq!(c.edges[0].kind, "rw");
        assert_eq!((c.edges[1].from, c.edges[1].to), (305, 307));
        let c = parse_cycle("x: T1 -wr(k=\"a) -> T9\")-> T2 -process-> T1.").unwrap();
        assert_eq!(c.edges[0].label, "wr(k=\"a) -> T9\")");
        assert_eq!(c.edges[1].kind, "process");
        assert_eq!(c.nodes, vec![1, 2]);
    }

    #[test]
    fn prose_without_a_chain_does_not_parse() {
        assert_eq!(
            parse_cycle("T14 and T18 both read the same version of acct/5"),
            None
        );
        assert_eq!(parse_cycle("aborted read: T5 read x=3, written only by T4"), None);
        assert_eq!(parse_cycle("T5 -rw(x: 1 -> 2) and then nothing"), None);
    }

    #[test]
    fn windows_merge_when_close_and_stay_apart_when_far() {
        let s = |lo, hi| Segment { lo, hi };
        assert_eq!(
            merge(vec![s(100, 120), s(0, 10), s(15, 20)]),
            vec![s(0, 20), s(100, 120)]
        );
        assert_eq!(ops_in(&[0, 5, 10, 50, 100, 101], &[s(0, 10), s(100, 100)]), 4);
        assert_eq!(nice_step(3.0), 5);
        assert_eq!(nice_step(120.0), 200);
    }
}
