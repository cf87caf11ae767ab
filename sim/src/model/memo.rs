//! Results that many states share, computed once and kept by exactly what
//! they depend on.
//!
//! Recovery depends only on the crashed disk (and the model's fixed
//! options), and every state that crashed at the same point with different
//! agent observations has the same disk; the checker's verdict depends only
//! on the history, and terminal states that differ only in the store's
//! bytes (after different crash images, say) have the same history. Both
//! are pure functions of their keys, so threads that race to fill an entry
//! compute the same value, and the exploration's results do not depend on
//! which thread won. The tables are hashed with a fixed hasher and only
//! looked up, never iterated.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::sync::{Arc, Mutex};

use engine::Core;

use super::crash::Outcome;
use super::state::{Agent, Shared, State, Store};
use crate::disk::SimDisk;

/// A hasher with fixed keys.
type Fixed = BuildHasherDefault<DefaultHasher>;

/// What recovery from one crash image led to.
#[derive(Debug, Clone)]
pub enum Recovered {
    /// The store opened.
    Up(Shared<Core<SimDisk>>),
    /// The store refused the image as damaged.
    Corrupt,
    /// Recovery failed otherwise or panicked, with this message.
    Failed(String),
}

/// The recoveries a crashed disk allows, one per crash-image outcome.
pub type Recoveries = Arc<[(Outcome, Recovered)]>;

/// What a state's history is built from (see `history`): every agent's
/// work, the crashes, and whether recovery refused the last image.
#[derive(Debug, PartialEq, Eq, Hash)]
struct HistoryKey {
    agents: Vec<Agent>,
    crashes: u8,
    corrupt: bool,
}

/// The tables.
#[derive(Debug, Default)]
pub struct Memo {
    recoveries: Mutex<HashMap<Shared<SimDisk>, Recoveries, Fixed>>,
    verdicts: Mutex<HashMap<HistoryKey, bool, Fixed>>,
}

impl Memo {
    /// The recoveries of `disk`, computed by `compute` the first time.
    pub fn recoveries(&self, disk: &Shared<SimDisk>, compute: impl FnOnce() -> Recoveries) -> Recoveries {
        let known = self
            .recoveries
            .lock()
            .expect("no thread panics holding the memo")
            .get(disk)
            .cloned();
        known.unwrap_or_else(|| {
            let computed = compute();
            self.recoveries
                .lock()
                .expect("no thread panics holding the memo")
                .insert(disk.clone(), computed.clone());
            computed
        })
    }

    /// Whether the checker finds `state`'s history valid, computed by
    /// `compute` the first time the history is seen.
    pub fn verdict(&self, state: &State, compute: impl FnOnce() -> bool) -> bool {
        let key = HistoryKey {
            agents: state.agents.clone(),
            crashes: state.crashes,
            corrupt: matches!(state.store, Store::Corrupt),
        };
        let known = self
            .verdicts
            .lock()
            .expect("no thread panics holding the memo")
            .get(&key)
            .copied();
        known.unwrap_or_else(|| {
            let valid = compute();
            self.verdicts
                .lock()
                .expect("no thread panics holding the memo")
                .insert(key, valid);
            valid
        })
    }
}
