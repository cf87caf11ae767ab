//! Unique registrations: insert a key only if a read saw it absent.

use compact_str::format_compact;
use engine::Error;
use smallvec::smallvec;

use super::{next, CoreRef, Ctx, Running, Step};
use crate::decisions::Stream;

/// Begin on a registration key; read it; if absent write this
/// transaction's unique id and commit, else commit read-only.
pub fn step<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    match t.phase {
        0 => {
            let k = ctx
                .d
                .choose(Stream::Workload, u64::from(ctx.scenario.workload.registrations));
            t.keys = smallvec![format_compact!("reg/{k}")];
            t.begin(ctx.core.get());
            next(t)
        }
        1 => {
            let key = t.keys[0].clone();
            t.get(ctx.core.get(), key)?;
            next(t)
        }
        _ => {
            if t.values[0].is_none() {
                let key = t.keys[0].clone();
                t.put(key, t.invoke as i64);
            }
            Ok(Step::Done(t.commit(ctx.core.get_mut())))
        }
    }
}
