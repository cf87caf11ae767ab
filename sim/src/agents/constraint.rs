//! Write-skew bait: two keys whose sum must stay >= 0. Each transaction
//! reads both and withdraws from one if the sum allows, so two concurrent
//! withdrawals from different keys of a pair only stay correct if the
//! store validates reads, not just writes.

use compact_str::format_compact;
use engine::Error;
use smallvec::smallvec;

use super::{next, CoreRef, Ctx, Key, Running, Step};
use crate::decisions::Stream;

/// The keys of constraint pair `p`.
pub fn pair(p: u64) -> [Key; 2] {
    [format_compact!("cons/{p}/a"), format_compact!("cons/{p}/b")]
}

/// Begin on a pair; read a; read b; withdraw from one side if a + b allows.
pub fn step<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    match t.phase {
        0 => {
            let p = ctx.d.choose(
                Stream::Workload,
                u64::from(ctx.scenario.workload.constraint_pairs),
            );
            let side = ctx.d.choose(Stream::Workload, 2) as usize;
            let [a, b] = pair(p);
            t.keys = if side == 0 {
                smallvec![a, b]
            } else {
                smallvec![b, a]
            };
            t.amount = ctx
                .d
                .between(Stream::Workload, 1, ctx.scenario.workload.max_amount) as i64;
            t.begin(ctx.core.get());
            next(t)
        }
        1 | 2 => {
            let key = t.keys[t.phase as usize - 1].clone();
            t.get(ctx.core.get(), key)?;
            next(t)
        }
        _ => {
            let mine = t.values[0].unwrap_or(0);
            let other = t.values[1].unwrap_or(0);
            if mine + other >= t.amount {
                let key = t.keys[0].clone();
                t.put(key, mine - t.amount);
            }
            Ok(Step::Done(t.commit(ctx.core.get_mut())))
        }
    }
}
