//! A counterexample path as a person reads it and as the simulator
//! replays it.
//!
//! Each action is one or more decisions of the simulator's streams, in the
//! order its loop draws them: per step, the crash chance on the faults
//! stream (and, for a crash, which storage call), then the scheduler's pick
//! among the ready agents (by agent id), then a new transaction's workload
//! draws; per recovery, the disk stream's image decisions. Under symmetry
//! the model reorders agents after every action, so the real agent ids are
//! tracked along the path. Past the path the simulator's streams run out
//! and read 0: no more faults, the lowest ready agent, the first workload
//! choice. The model follows that tail to the end of the run too, so the
//! verdict it predicts is the verdict of the replayed run.

use std::path::Path;

use checker::{MicroOp, ReadValue, Scalar, Verdict, Version};
use engine::Mutant;

use super::{crash, Agent, Move, OccModel, State, Store};
use crate::decisions::{Choice, Stream};
use crate::recorder::Completion;
use crate::scenario::Scenario;

/// A forced chance decision that says yes at any probability above 0.
const YES: u64 = 999_999;

/// A violated invariant's shortest counterexample.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// The violated property.
    pub property: &'static str,
    /// Actions on the path to the first violating state.
    pub actions: usize,
    /// The path, one line per action, then the default tail to the end of
    /// the run (prefixed "then").
    pub schedule: Vec<String>,
    /// The simulator decisions that replay the path.
    pub choices: Vec<Choice>,
    /// What the simulator's checks will find at the end of the replayed run.
    pub verdict: Verdict,
}

/// Renders `actions` from the initial state and predicts the replay's verdict.
pub fn counterexample(model: &OccModel, property: &'static str, moves: Vec<Move>) -> Counterexample {
    let mut walk = Walk {
        model,
        state: model.init.clone(),
        ids: (0..model.config.agents).collect(),
        schedule: Vec::new(),
        choices: Vec::new(),
    };
    for mv in &moves {
        walk.take(mv, "");
    }
    while !walk.state.is_terminal() {
        let action = walk.default_action();
        walk.take(&action, "then ");
    }
    Counterexample {
        property,
        actions: moves.len(),
        schedule: walk.schedule,
        verdict: model.verdict(&walk.state),
        choices: walk.choices,
    }
}

/// A walk along a path, tracking real agent ids.
struct Walk<'a> {
    model: &'a OccModel,
    state: State,
    /// The simulator's id of the agent at each position.
    ids: Vec<u32>,
    schedule: Vec<String>,
    choices: Vec<Choice>,
}

impl Walk<'_> {
    fn take(&mut self, action: &Move, prefix: &str) {
        let (next, perm) = self
            .model
            .apply(&self.state, action)
            .expect("every action on a path applies");
        self.record_choices(action);
        let line = self.describe(action, &next, &perm);
        self.schedule.push(format!("{prefix}{line}"));
        self.ids = perm.iter().map(|&i| self.ids[i]).collect();
        self.state = next;
    }

    /// What the simulator does once its forced decisions run out: the
    /// lowest ready agent takes a step, beginning with the first start.
    fn default_action(&self) -> Move {
        let p = (0..self.ids.len())
            .filter(|&p| self.state.agents[p].has_work())
            .min_by_key(|&p| self.ids[p])
            .expect("a run that is not over has a ready agent");
        let start = self.state.agents[p].running.is_none().then_some(0);
        Move::Step {
            agent: p,
            start,
            crash_at: None,
        }
    }

    fn record_choices(&mut self, action: &Move) {
        let c = &mut self.choices;
        match *action {
            Move::Step {
                agent,
                start,
                crash_at,
            } => {
                match crash_at {
                    Some(k) => c.extend([Choice(Stream::Faults, YES), Choice(Stream::Faults, k)]),
                    None => c.push(Choice(Stream::Faults, 0)),
                }
                let me = self.ids[agent];
                let ready = (0..self.ids.len())
                    .filter(|&p| self.state.agents[p].has_work() && self.ids[p] < me)
                    .count();
                c.push(Choice(Stream::Scheduler, ready as u64));
                if let Some(i) = start {
                    let picks = &self.model.starts[i].choices;
                    c.extend(picks.iter().map(|&v| Choice(Stream::Workload, v)));
                }
            }
            Move::Crash => c.extend([Choice(Stream::Faults, YES), Choice(Stream::Faults, 0)]),
            Move::Recover(outcome) => {
                let Store::Down(disk) = &self.state.store else {
                    unreachable!("recovery follows a crash")
                };
                let image = crash::disk_choices(disk, outcome);
                c.extend(image.into_iter().map(|v| Choice(Stream::Disk, v)));
            }
        }
    }

    fn describe(&self, action: &Move, next: &State, perm: &[usize]) -> String {
        let moved = |p: usize| perm.iter().position(|&q| q == p).expect("a permutation");
        match *action {
            Move::Step { agent, crash_at, .. } => {
                let before = &self.state.agents[agent];
                let after = &next.agents[moved(agent)];
                let mut line = format!("agent {} {}", self.ids[agent], step_text(before, after));
                if let Some(k) = crash_at {
                    line.push_str(&format!("; the process crashes at storage call {k} of this step"));
                    line.push_str(&self.orphans(Some(agent)));
                }
                line
            }
            Move::Crash => format!("the process crashes{}", self.orphans(None)),
            Move::Recover(outcome) => {
                let image = outcome.describe();
                match (&next.store, &next.panic) {
                    (_, Some(message)) => format!("recovery with {image}: the engine panics: {message}"),
                    (Store::Up(core), None) => {
                        let r = core.recovery_report();
                        format!(
                            "recovery with {image}: {} commits replayed, last seq {}{}",
                            r.commits_replayed,
                            core.last_seq(),
                            if r.torn_bytes > 0 {
                                format!(", {} torn bytes discarded", r.torn_bytes)
                            } else {
                                String::new()
                            }
                        )
                    }
                    _ => format!("recovery with {image}: the store refuses the image as corrupt"),
                }
            }
        }
    }

    /// The agents (other than `except`) whose open transaction the crash
    /// made indeterminate.
    fn orphans(&self, except: Option<usize>) -> String {
        let ids: Vec<String> = (0..self.ids.len())
            .filter(|&p| Some(p) != except && self.state.agents[p].running.is_some())
            .map(|p| self.ids[p].to_string())
            .collect();
        if ids.is_empty() {
            String::new()
        } else {
            format!(
                " (the open transaction of agent {} becomes indeterminate)",
                ids.join(", ")
            )
        }
    }
}

/// What one step of an agent did: its new micro-ops and, if it finished,
/// how.
fn step_text(before: &Agent, after: &Agent) -> String {
    let finished = after.done.len() > before.done.len();
    let (ops, snapshot) = match (finished, &after.running) {
        (true, _) => {
            let d = after.done.last().expect("finished");
            (&d.ops, d.snapshot)
        }
        (false, Some(t)) => (&t.ops, t.snapshot),
        (false, None) => unreachable!("a step leaves its transaction running or finished"),
    };
    let seen = before.running.as_ref().map_or(0, |t| t.ops.len());
    let mut parts = Vec::new();
    if let (None, Some(t)) = (&before.running, &after.running) {
        let kind = serde_json::to_value(t.kind).expect("workloads serialize");
        parts.push(format!(
            "begins {} on {} at snapshot {}",
            kind.as_str().unwrap_or("a transaction"),
            {
                let names = t.key_names();
                if names.is_empty() {
                    "-".to_owned()
                } else {
                    names.join(", ")
                }
            },
            snapshot.map_or("-".to_owned(), |s| s.to_string())
        ));
    }
    parts.extend(ops.micro_ops().skip(seen).map(|(m, v)| mop_text(&m, &v)));
    if finished {
        let d = after.done.last().expect("finished");
        parts.push(match d.completion {
            Completion::Ok { commit_seq: Some(s) } => format!("commits at seq {s}"),
            Completion::Ok { commit_seq: None } => "commits read-only".to_owned(),
            Completion::Fail(reason) => format!("aborts ({reason})"),
            Completion::Info(reason) => format!("ends indeterminate ({reason})"),
        });
    }
    parts.join(", ")
}

fn scalar_text(v: &Scalar) -> String {
    match v {
        Scalar::Null => "absent".to_owned(),
        other => other.to_string(),
    }
}

fn mop_text(m: &MicroOp, v: &Version) -> String {
    let version = match v {
        Version::Absent => String::new(),
        Version::Seq(s) => format!(" (version {s})"),
        Version::Own => " (own write)".to_owned(),
        Version::Range(_) => String::new(),
    };
    match m {
        MicroOp::Read {
            key,
            value: ReadValue::Scalar(value),
        } => format!("reads {key}={}{version}", scalar_text(value)),
        MicroOp::Write { key, value } => format!("writes {key}={}", scalar_text(value)),
        MicroOp::List(r) => {
            let items: Vec<String> = r
                .result
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("lists {{{}}}", items.join(", "))
        }
        other => format!("{other:?}"),
    }
}

impl Counterexample {
    /// Writes `choices.json` and `scenario.toml` into `dir` (created) and
    /// returns the `occsim run` command that replays them.
    pub fn write(&self, dir: &Path, scenario: &Scenario, mutant: Option<Mutant>) -> std::io::Result<String> {
        std::fs::create_dir_all(dir)?;
        let choices = dir.join("choices.json");
        std::fs::write(
            &choices,
            serde_json::to_string(&self.choices).expect("choices serialize"),
        )?;
        let toml = toml::to_string(scenario).expect("scenarios serialize");
        let scenario_path = dir.join("scenario.toml");
        std::fs::write(&scenario_path, toml)?;
        let mutant = mutant.map(|m| format!(" --mutant {m}")).unwrap_or_default();
        Ok(format!(
            "occsim run {} --seed 0 --choices {} --out {}{mutant}",
            scenario_path.display(),
            choices.display(),
            dir.join("replay").display()
        ))
    }
}
