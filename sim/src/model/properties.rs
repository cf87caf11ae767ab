//! What the model checks: invariants at every state and the coverage
//! the exploration must reach.
//!
//! stateright records a violation again at every violating state it
//! visits, keeping the last; an invariant here reports only the first
//! state that violates it (a claim in the model), which under a
//! single-threaded BFS is a shallowest one. A coverage property is
//! likewise reported by the first state that reaches it: stateright would
//! otherwise store a new example path for every state where it holds, and
//! the report only says whether it was reached.

use std::sync::atomic::{AtomicBool, Ordering};

use stateright::Property;

use super::{Done, OccModel, State, Store};
use crate::agents::decode;
use crate::recorder::Completion;

/// Every property, invariants first; each claims its own slot in
/// [`Claims`].
pub fn all() -> Vec<Property<OccModel>> {
    vec![
        Property::always(names::MONEY, |m, s| m.claims.holds(0, || money_holds(m, s))),
        Property::always(names::SEQS, |m, s| m.claims.holds(1, || seqs_hold(m, s))),
        Property::always(names::NO_PANIC, |m, s: &State| {
            m.claims.holds(2, || s.panic.is_none())
        }),
        Property::always(names::VERDICT, |m, s| m.claims.holds(3, || verdict_valid(m, s))),
        Property::sometimes(names::COMMIT, |m, s| m.claims.reached(4, || committed(s))),
        Property::sometimes(names::CONFLICT, |m, s| {
            m.claims.reached(5, || conflict_aborted(s))
        }),
        Property::sometimes(names::TOO_OLD, |m, s| m.claims.reached(6, || too_old_aborted(s))),
        Property::sometimes(names::IN_FLIGHT, |m, s| {
            m.claims.reached(7, || crashed_in_commit(s))
        }),
        Property::sometimes(names::RECOVERY, |m, s| m.claims.reached(8, || recovered(s))),
    ]
}

/// The properties already reported, one slot per property of [`all`].
/// Every thread checking the model shares them.
#[derive(Debug, Default)]
pub struct Claims([AtomicBool; 9]);

impl Claims {
    /// Whether to report invariant `slot` as holding: when it holds, or
    /// when another state already reported it violated (then it is not
    /// evaluated again).
    fn holds(&self, slot: usize, holds: impl FnOnce() -> bool) -> bool {
        self.0[slot].load(Ordering::Relaxed) || holds() || self.0[slot].swap(true, Ordering::Relaxed)
    }

    /// Whether to report coverage property `slot` as reached: only by the
    /// first state that reaches it.
    fn reached(&self, slot: usize, reached: impl FnOnce() -> bool) -> bool {
        !self.0[slot].load(Ordering::Relaxed) && reached() && !self.0[slot].swap(true, Ordering::Relaxed)
    }
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

fn money_holds(m: &OccModel, s: &State) -> bool {
    let Store::Up(core) = &s.store else {
        return true;
    };
    let mut sum = 0i64;
    for key in &m.watched[..m.config.accounts as usize] {
        match core.read_latest(key.as_bytes()) {
            Ok((_, Some(v))) if v.len() == 8 => sum += decode(&v),
            _ => return false,
        }
    }
    sum == m.total
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
    let increasing = s.agents.iter().all(|agent| {
        let mut seqs = agent.done.iter().filter_map(|d| d.commit_seq());
        seqs.try_fold(1, |last, seq| (seq > last).then_some(seq))
            .is_some()
    });
    let acknowledged = || s.finished().filter_map(Done::commit_seq);
    increasing
        && acknowledged()
            .enumerate()
            .all(|(i, seq)| !acknowledged().take(i).any(|earlier| earlier == seq))
}

/// The full checker, at the end of a run only: it judges whole histories.
fn verdict_valid(m: &OccModel, s: &State) -> bool {
    !s.is_terminal() || s.panic.is_some() || m.history_valid(s)
}

fn committed(s: &State) -> bool {
    s.finished().any(|d| d.commit_seq().is_some())
}

fn conflict_aborted(s: &State) -> bool {
    s.finished().any(|d| d.completion == Completion::Fail("conflict"))
}

fn too_old_aborted(s: &State) -> bool {
    s.finished()
        .any(|d| d.completion == Completion::Fail("snapshot_too_old"))
}

/// A commit call that the crash interrupted ends indeterminate in the
/// step that crashed, not as an open transaction at the crash.
fn crashed_in_commit(s: &State) -> bool {
    s.finished()
        .any(|d| !d.at_crash && d.completion == Completion::Info("crash"))
}

fn recovered(s: &State) -> bool {
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
