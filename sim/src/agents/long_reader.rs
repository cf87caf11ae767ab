//! Long readers: a transaction that stays open across many commits, then
//! writes, which drives snapshot-too-old aborts and reads of old versions.

use engine::Error;
use smallvec::smallvec;

use super::{CoreRef, Ctx, Key, Running, Step};
use crate::decisions::Stream;

/// Begin; read one account; sleep; read another; write a marker; commit.
pub fn step<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    match t.phase {
        0 => {
            let n = u64::from(ctx.scenario.workload.accounts);
            let a = ctx.d.choose(Stream::Workload, n);
            let b = (a + 1 + ctx.d.choose(Stream::Workload, n - 1)) % n;
            t.keys = smallvec![ctx.account(a), ctx.account(b)];
            t.begin(ctx.core.get());
            t.phase = 1;
            Ok(Step::Continue { wake: None })
        }
        1 => {
            let key = t.keys[0].clone();
            t.get(ctx.core.get(), key)?;
            t.phase = 2;
            Ok(Step::Continue {
                wake: Some(ctx.now + ctx.scenario.workload.long_reader_ticks),
            })
        }
        2 => {
            let key = t.keys[1].clone();
            t.get(ctx.core.get(), key)?;
            t.phase = 3;
            Ok(Step::Continue { wake: None })
        }
        _ => {
            t.put(Key::from(format!("lr/{}", ctx.agent)), t.invoke as i64);
            Ok(Step::Done(t.commit(ctx.core.get_mut())))
        }
    }
}
