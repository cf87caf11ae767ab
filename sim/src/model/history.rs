//! The native history a model state stands for.
//!
//! A state keeps each transaction's observations and outcome and the crash
//! epoch it ran in, not the order in which agents interleaved (that would
//! make every path a different state). The history is rebuilt in a
//! canonical order that every interleaving reaching the state shares: per
//! epoch, each agent's finished transactions in its own order, then the
//! invokes of those open at the crash, the crash, their indeterminate
//! completions, and the recovery (or the refusal to open). The checks that
//! read op order (durability by crash epoch, the ring check by commit
//! sequence numbers) see the same thing as in the simulator's history;
//! real-time and process edges are not checked by the simulator either.

use checker::{BankMeta, Function, History, Meta, Model};

use super::{Done, OccModel, State, Store};
use crate::agents::account;
use crate::recorder::{Completion, Recorder};
use crate::scenario::Scenario;
use crate::trace::Trace;

/// Builds the history of `state`, with the meta line the simulator writes.
pub fn build(model: &OccModel, state: &State) -> History {
    let mut rec = Recorder::new(true);
    let running = state.agents.iter().filter(|a| a.running.is_some()).count();
    rec.reserve(2 + 2 * state.finished().count() + running + 2 * usize::from(state.crashes));
    let mut trace = Trace::default();
    let mut time = 0u64;
    let mut tick = || {
        time += 1;
        time
    };
    let setup_process = state.agents.len() as u64;
    let setup = &model.setup;
    let invoke = rec.invoke(setup_process, tick());
    rec.complete(
        invoke,
        setup_process,
        tick(),
        &setup.ops,
        setup.snapshot,
        &Completion::Ok { commit_seq: Some(1) },
        &mut trace,
    );
    let mut complete = |rec: &mut Recorder, invoke: u64, process: u64, d: &Done, time: u64| {
        rec.complete(
            invoke,
            process,
            time,
            &d.ops,
            d.snapshot,
            &d.completion,
            &mut trace,
        );
    };
    for epoch in 0..=state.crashes {
        for (p, d) in in_order(state, epoch) {
            let invoke = rec.invoke(p as u64, tick());
            complete(&mut rec, invoke, p as u64, d, tick());
        }
        if epoch == state.crashes {
            break;
        }
        let open: Vec<(u64, u64, &Done)> = state
            .agents
            .iter()
            .enumerate()
            .flat_map(|(p, a)| a.done.iter().map(move |d| (p as u64, &**d)))
            .filter(|(_, d)| d.epoch == epoch && d.at_crash)
            .map(|(p, d)| (p, rec.invoke(p, tick()), d))
            .collect();
        rec.nemesis(Function::Crash, tick(), serde_json::json!({}));
        for (p, invoke, d) in open {
            complete(&mut rec, invoke, p, d, tick());
        }
        let refused = epoch + 1 == state.crashes && matches!(state.store, Store::Corrupt);
        let f = if refused {
            Function::Other("corruption-detected".into())
        } else {
            Function::Recover
        };
        rec.nemesis(f, tick(), serde_json::json!({}));
    }
    for (p, agent) in state.agents.iter().enumerate() {
        if agent.running.is_some() {
            rec.invoke(p as u64, tick());
        }
    }
    let mut history = rec.into_history();
    history.meta = Some(model.meta.clone());
    history
}

/// The transactions of `epoch` that finished before its crash, merged
/// from the agents' lists in an order the real run shares: each agent's
/// own order, and acknowledged commits by sequence number (the simulator
/// acknowledges them in that order, and the checker requires it). A head
/// without a sequence number goes first; otherwise the lowest sequence
/// number does, which is the lowest left since each agent's are increasing.
fn in_order(state: &State, epoch: u8) -> Vec<(usize, &Done)> {
    let lists: Vec<Vec<&Done>> = state
        .agents
        .iter()
        .map(|a| {
            a.done
                .iter()
                .filter(|d| d.epoch == epoch && !d.at_crash)
                .map(|d| &**d)
                .collect()
        })
        .collect();
    let mut heads = vec![0usize; lists.len()];
    let mut out = Vec::new();
    loop {
        let next = (0..lists.len())
            .filter_map(|p| {
                lists[p]
                    .get(heads[p])
                    .map(|d| (d.commit_seq().is_some(), d.commit_seq(), p))
            })
            .min();
        let Some((_, _, p)) = next else {
            return out;
        };
        out.push((p, lists[p][heads[p]]));
        heads[p] += 1;
    }
}

/// The meta line of every history of `scenario`: the native model, the
/// ring capacity, the bank holding `total`.
pub fn meta(scenario: &Scenario, total: i64) -> Meta {
    let w = &scenario.workload;
    Meta {
        model: Some(Model::Native),
        ring_capacity: Some(scenario.store.ring_capacity as u64),
        bank: Some(BankMeta {
            accounts: (0..u64::from(w.accounts))
                .map(|i| checker::Scalar::Str(account(i)))
                .collect(),
            total,
        }),
        scenario: Some(scenario.name.clone()),
        ..Meta::default()
    }
}
