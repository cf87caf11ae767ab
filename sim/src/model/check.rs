//! Running stateright over the model and collecting what it found.

use stateright::{Checker, HasDiscoveries, Model};

use super::{names, replay, Config, Counterexample, OccModel, COVERAGE, INVARIANTS};

/// What one exhaustive check found.
#[derive(Debug, Clone)]
pub struct Report {
    /// States generated, including ones reached again.
    pub states: u64,
    /// Distinct states.
    pub unique_states: u64,
    /// The deepest path explored.
    pub max_depth: u64,
    /// Wall-clock seconds of the check (shortening counterexamples included).
    pub seconds: f64,
    /// Whether agents were treated as interchangeable.
    pub symmetry: bool,
    /// Checker threads.
    pub threads: usize,
    /// Each coverage property and whether it was reached.
    pub coverage: Vec<(&'static str, bool)>,
    /// The violated invariants, each with a shortest counterexample: the
    /// checker's verdict and engine panics first (the simulator's checks see
    /// those), then the model's own invariants.
    pub violations: Vec<Counterexample>,
}

/// Explores every state of `config` breadth-first on `threads` threads.
///
/// It stops early once the checker's verdict fails or the engine panics
/// (those replay as simulator failures); a cheap invariant's violation
/// alone does not stop it, so a replayable counterexample is still sought.
/// Each violation found is then shortened by a single-threaded BFS to its
/// depth, whose first violating state is a shallowest one.
pub fn check(config: &Config, threads: usize) -> Report {
    let model = OccModel::new(config.clone());
    let started = std::time::Instant::now();
    let stop = HasDiscoveries::AnyOf([names::VERDICT, names::NO_PANIC].into_iter().collect());
    let checker = model
        .clone()
        .checker()
        .threads(threads)
        .finish_when(stop)
        .spawn_bfs()
        .join();
    let discoveries = checker.discoveries();
    let violations = INVARIANTS
        .iter()
        .rev()
        .filter_map(|&name| {
            let depth = discoveries.get(name)?.clone().into_actions().len();
            Some(shortest(config, name, depth))
        })
        .collect();
    Report {
        states: checker.state_count() as u64,
        unique_states: checker.unique_state_count() as u64,
        max_depth: checker.max_depth() as u64,
        seconds: started.elapsed().as_secs_f64(),
        symmetry: config.symmetric(),
        threads,
        coverage: COVERAGE
            .iter()
            .map(|&name| (name, discoveries.contains_key(name)))
            .collect(),
        violations,
    }
}

/// A shortest counterexample of invariant `name`, known to fail within
/// `depth` actions.
fn shortest(config: &Config, name: &'static str, depth: usize) -> Counterexample {
    let model = OccModel::new(config.clone());
    let checker = model
        .clone()
        .checker()
        .threads(1)
        .target_max_depth(depth + 2)
        .finish_when(HasDiscoveries::AnyOf([name].into_iter().collect()))
        .spawn_bfs()
        .join();
    let path = checker
        .discovery(name)
        .expect("a violation within the depth it was found at");
    let moves = path.into_actions().into_iter().map(|a| a.what).collect();
    replay::counterexample(&model, name, moves)
}
