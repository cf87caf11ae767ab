//! What the model checks: invariants at every state and the coverage
//! the exploration must reach.
//!
//! stateright records a violation again at every violating state it
//! visits, keeping the last; an invariant here reports only the first
//! state that violates it (a claim in the model), which under a
//! single-threaded BFS is a shallowest one.

use stateright::Property;

use super::{Done, OccModel, State, Store};
use crate::agents::{account, decode};
use crate::recorder::Completion;

/// Every property, invariants first.
pub fn all() -> Vec<Property<OccModel>> {
    vec![
        Property::always(names::MONEY, money_conserved),
        Property::always(names::SEQS, seqs_increase),
        Property::always(names::NO_PANIC, no_panic),
        Property::always(names::VERDICT, verdict_valid),
        Property::sometimes(names::COMMIT, committed),
        Property::sometimes(names::CONFLICT, conflict_aborted),
        Property::sometimes(names::TOO_OLD, too_old_aborted),
        Property::sometimes(names::IN_FLIGHT, crashed_in_commit),
        Property::sometimes(names::RECOVERY, recovered),
    ]
}

/// Property names, as reported.
pub mod names {
    /// Money is conserved in the committed state.
    pub const MONEY: &str = "money is conserved";
    /// Sequence numbers increase and are never reused.
    pub const SEQS: &str = "sequence numbers increase";
    /// The engine never panics.
    pub const NO_PANIC: &str = "the engine never panics";
    /// The checker finds nothing in a finished run's history.
    pub const VERDICT: &str = "the checker's verdict is valid";
    /// A commit happens.
    pub const COMMIT: &str = "a commit";
    /// A conflict abort happens.
    pub const CONFLICT: &str = "a conflict abort";
    /// A snapshot-too-old abort happens.
    pub const TOO_OLD: &str = "a snapshot-too-old abort";
    /// A crash interrupts a commit.
    pub const IN_FLIGHT: &str = "a crash with a commit in flight";
    /// The store recovers from a crash.
    pub const RECOVERY: &str = "a recovery";
}

fn money_conserved(m: &OccModel, s: &State) -> bool {
    m.holds(names::MONEY, money_holds(m, s))
}

fn money_holds(m: &OccModel, s: &State) -> bool {
    let Store::Up(core) = &s.store else {
        return true;
    };
    let mut sum = 0i64;
    for i in 0..u64::from(m.config.accounts) {
        match core.read_latest(account(i).as_bytes()) {
            Ok((_, Some(v))) if v.len() == 8 => sum += decode(&v),
            _ => return false,
        }
    }
    sum == m.total
}

fn seqs_increase(m: &OccModel, s: &State) -> bool {
    m.holds(names::SEQS, seqs_hold(m, s))
}

/// Versions never exceed the visible sequence number, which never exceeds
/// the last assigned one; acknowledged commits have distinct numbers above
/// the setup's, increasing along each agent's transactions.
fn seqs_hold(m: &OccModel, s: &State) -> bool {
    if let Store::Up(core) = &s.store {
        if core.visible_seq() > core.last_seq() {
            return false;
        }
        for key in &m.watched {
            if let Ok((Some(v), _)) = core.read_latest(key.as_bytes()) {
                if v > core.visible_seq() {
                    return false;
                }
            }
        }
    }
    let mut seen = vec![1u64];
    for agent in &s.agents {
        let mut last = 1;
        for seq in agent.done.iter().filter_map(Done::commit_seq) {
            if seq <= last || seen.contains(&seq) {
                return false;
            }
            last = seq;
            seen.push(seq);
        }
    }
    true
}

fn no_panic(m: &OccModel, s: &State) -> bool {
    m.holds(names::NO_PANIC, s.panic.is_none())
}

/// The full checker, at the end of a run only: it judges whole histories.
fn verdict_valid(m: &OccModel, s: &State) -> bool {
    let holds = !s.is_terminal() || s.panic.is_some() || m.verdict(s).valid;
    m.holds(names::VERDICT, holds)
}

fn committed(_: &OccModel, s: &State) -> bool {
    s.finished().any(|d| d.commit_seq().is_some())
}

fn conflict_aborted(_: &OccModel, s: &State) -> bool {
    s.finished().any(|d| d.completion == Completion::Fail("conflict"))
}

fn too_old_aborted(_: &OccModel, s: &State) -> bool {
    s.finished()
        .any(|d| d.completion == Completion::Fail("snapshot_too_old"))
}

/// A commit call that the crash interrupted ends indeterminate in the
/// step that crashed, not as an open transaction at the crash.
fn crashed_in_commit(_: &OccModel, s: &State) -> bool {
    s.finished()
        .any(|d| !d.at_crash && d.completion == Completion::Info("crash"))
}

fn recovered(_: &OccModel, s: &State) -> bool {
    s.crashes > 0 && matches!(s.store, Store::Up(_))
}

/// The properties that are invariants (a discovery is a violation).
pub const INVARIANTS: [&str; 4] = [names::MONEY, names::SEQS, names::NO_PANIC, names::VERDICT];

/// The properties that prove coverage (a discovery is an example).
pub const COVERAGE: [&str; 5] = [
    names::COMMIT,
    names::CONFLICT,
    names::TOO_OLD,
    names::IN_FLIGHT,
    names::RECOVERY,
];

/// The check and kind a violated invariant stands for, as the simulator's
/// checks name them.
pub fn property_kind(property: &str) -> (&'static str, &'static str) {
    match property {
        names::MONEY => ("conservation", "wrong-total"),
        names::SEQS => ("version-order", "version-order"),
        names::NO_PANIC => ("engine-assertion", "panic"),
        _ => ("checker", "verdict"),
    }
}
