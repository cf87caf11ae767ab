//! Read-modify-write increments of hot counters, reading the increment
//! back before committing (a read the transaction's own write must serve).

use compact_str::format_compact;
use engine::Error;
use smallvec::smallvec;

use super::{next, CoreRef, Ctx, Running, Step};
use crate::decisions::Stream;

/// Begin on a hot counter; read it (absent = 0); write it plus one and read
/// it back; commit.
pub fn step<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    match t.phase {
        0 => {
            let k = ctx
                .d
                .choose(Stream::Workload, u64::from(ctx.scenario.workload.counters));
            t.keys = smallvec![format_compact!("ctr/{k}")];
            t.begin(ctx.core.get());
            next(t)
        }
        1 => {
            let key = t.keys[0].clone();
            t.get(ctx.core.get(), key)?;
            next(t)
        }
        2 => {
            let key = t.keys[0].clone();
            t.put(key.clone(), t.values[0].unwrap_or(0) + 1);
            t.get(ctx.core.get(), key)?;
            next(t)
        }
        _ => Ok(Step::Done(t.commit(ctx.core.get_mut()))),
    }
}
