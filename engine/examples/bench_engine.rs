//! The engine benchmark: single-thread transfer transactions per second.
//!
//! Workload: 10,000 accounts, ring of 1,024; each transaction reads two
//! balances and writes both (2 reads + 2 writes). In memory, WAL records are
//! encoded, checksummed and appended to the in-memory disk but not fsynced.
//! Then recoveries and checkpoints of the simulator's typical state. Then
//! the same transfers on a real temporary directory with an fsync per
//! commit, and with group commit from 8 threads.
//!
//! `cargo run --release -p engine --example bench_engine [--quick] [--in-memory]`
//! Prints the median of several repetitions and the spread (max/min);
//! `--in-memory` skips the real-directory figures.

use engine::bench::{checkpoint, in_memory, on_disk, recovery};
use engine::SyncPolicy;

fn median_and_spread(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let spread = xs[xs.len() - 1] / xs[0];
    (xs[xs.len() / 2], spread)
}

fn report(name: &str, reps: usize, mut f: impl FnMut() -> f64) {
    let (median, spread) = median_and_spread((0..reps).map(|_| f()).collect());
    println!("{name:<40} {median:>14.0} /s   (median of {reps}, spread {spread:.2})");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (mem_txns, reps) = if quick { (200_000, 3) } else { (2_000_000, 5) };
    report("in-memory transfers, 1 thread", reps, || in_memory(mem_txns));
    report("recoveries (10,000 keys + 4,400 commits)", reps, || {
        recovery(if quick { 20 } else { 100 })
    });
    report("checkpoints (10,000 keys)", reps, || {
        checkpoint(if quick { 50 } else { 500 })
    });
    if std::env::args().any(|a| a == "--in-memory") {
        return;
    }
    report("real dir, fsync every commit, 1 thread", 3, || {
        on_disk(SyncPolicy::EveryCommit, 1, 300)
    });
    report("real dir, group commit, 8 threads", 3, || {
        on_disk(SyncPolicy::Group, 8, 300)
    });
}
