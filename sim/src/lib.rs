//! The occsim simulator: seeded, single-threaded, deterministic runs of the
//! real engine on a fault-injecting disk, recorded as histories and judged
//! by the checker.
//!
//! [`run::run`] runs one simulation; [`decisions`] is the one interface
//! every random choice goes through (seeded, recorded, or forced);
//! [`disk`] injects crashes, torn writes, fsync failures and bit flips;
//! [`agents`] are the workloads.

pub mod agents;
pub mod bench;
pub mod decision_log;
pub mod decisions;
pub mod disk;
pub mod explore;
pub mod html;
pub mod key_table;
pub mod model;
pub mod observed;
mod panics;
pub mod recorder;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod shrink;
pub mod swarm;
pub mod trace;
