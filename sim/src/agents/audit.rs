//! Audits: read every account in one transaction (the total must be constant).

use engine::Error;

use super::{next, CoreRef, Ctx, Running, Step};

/// Begin; read each account in turn, one per step; commit (read-only).
pub fn step<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    let accounts = ctx.scenario.workload.accounts;
    if t.phase == 0 {
        t.begin(ctx.core.get());
        return next(t);
    }
    if t.phase <= accounts {
        let key = ctx.account(u64::from(t.phase - 1));
        t.get(ctx.core.get(), key)?;
        return next(t);
    }
    Ok(Step::Done(t.commit(ctx.core.get_mut())))
}
