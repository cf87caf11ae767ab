//! Transfers between bank accounts, interactive and Deno-style atomic.
//!
//! An account read as absent counts as a zero balance: only a broken store
//! loses an account (its setup commit), and the checker, not the agent,
//! is the one to judge that.

use checker::Version;
use engine::{AtomicOp, AtomicResult, Error};

use super::{decode, encode, next, outcome, CoreRef, Ctx, Running, Step};
use crate::recorder::Completion;

/// Begin; read both balances in one batch, as the seed's `transferFunds`
/// reads them with one `getMany` (and as the engine benchmark does with
/// `get_batch`); write both and commit, or commit read-only when the
/// sender is short (a refused transfer).
///
/// The two reads are one batch and so one step: `get_batch`'s reads,
/// without its hint, which the transaction gave when it began. Under snapshot reads
/// another agent's commit between them cannot change the value the second
/// returns; what a step between them added was a few rarer cases: the
/// second read failing as snapshot-too-old after the first succeeded (other
/// commits moving the horizon past the snapshot in between) and a crash
/// between the reads. Both still happen around the batched read (a
/// snapshot can be too old by the read or by the commit, and a crash can
/// fall before the read, after it, or inside the commit). The window that
/// matters most, from the snapshot to the commit, keeps a step of other
/// agents' work on each side of the read.
///
/// Always inlined into the simulator's step: called, it saved and restored
/// its registers at each of a transfer's three steps, and inlined the
/// simulator runs about 125 fewer instructions per transfer.
#[inline(always)]
pub fn interactive<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    match t.phase {
        0 => {
            let (from, to, amount) = ctx.pick_transfer();
            t.choose_accounts(from, to);
            t.amount = amount;
            t.begin(ctx.core.get());
            // The balances are read in the agent's next step: their table
            // entries load meanwhile (a hint, with no effect on the run).
            for key in &t.account_keys {
                ctx.core.get().prefetch(key.as_bytes());
            }
            next(t)
        }
        1 => {
            t.get_accounts(ctx.core.get())?;
            next(t)
        }
        _ => {
            let from = t.values[0].unwrap_or(0);
            let to = t.values[1].unwrap_or(0);
            if from >= t.amount {
                t.put_account(0, from - t.amount);
                t.put_account(1, to + t.amount);
            }
            Ok(Step::Done(t.commit(ctx.core.get_mut())))
        }
    }
}

/// The seed's `transferFunds`: `get_many` both balances, refuse if short,
/// then `atomic().check(from).check(to).set(from).set(to).commit()`. In the
/// history the atomic commit is one transaction whose checks are reads at
/// the commit point (snapshot = commit_seq - 1).
pub fn atomic<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    match t.phase {
        0 => {
            let (from, to, amount) = ctx.pick_transfer();
            t.choose_accounts(from, to);
            t.amount = amount;
            let [a, b] = &t.account_keys;
            let entries = ctx.core.get().get_many(&[a.as_bytes(), b.as_bytes()])?;
            t.snapshot = Some(ctx.core.get().visible_seq());
            for (i, entry) in t.accounts.into_iter().zip(&entries) {
                let value = entry.value.as_deref().map(decode);
                t.values.push(value);
                t.stamps.push(entry.versionstamp);
                t.ops.read_account(
                    i,
                    value,
                    entry
                        .versionstamp
                        .map_or(Version::Absent, |v| Version::Seq(v.seq())),
                );
            }
            if t.values[0].unwrap_or(0) < t.amount {
                return Ok(Step::Done(Completion::Ok { commit_seq: None }));
            }
            next(t)
        }
        _ => {
            let from = t.values[0].unwrap_or(0);
            let to = t.values[1].unwrap_or(0);
            let mut op = AtomicOp::new();
            let [a, b] = &t.account_keys;
            op.check(a.as_bytes(), t.stamps[0])
                .check(b.as_bytes(), t.stamps[1])
                .set(a.as_bytes(), &encode(from - t.amount))
                .set(b.as_bytes(), &encode(to + t.amount));
            t.ops.write_account(t.accounts[0], from - t.amount);
            t.ops.write_account(t.accounts[1], to + t.amount);
            match ctx.core.get_mut().atomic_commit(&op) {
                Ok(AtomicResult::Ok { versionstamp }) => {
                    t.snapshot = Some(versionstamp.seq() - 1);
                    Ok(Step::Done(Completion::Ok {
                        commit_seq: Some(versionstamp.seq()),
                    }))
                }
                Ok(AtomicResult::CheckFailed) => Ok(Step::Done(Completion::Fail("check_failed"))),
                Err(e) => Ok(Step::Done(outcome(Err(e)))),
            }
        }
    }
}
